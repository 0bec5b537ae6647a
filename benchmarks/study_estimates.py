"""What the study's specs cost: trials, rounds, GPU-hours and wall-clock of each file in
search_spaces/study/ (or of the specs given), as a Markdown table for docs/study.md.

    python benchmarks/study_estimates.py [SPEC ...] [--gpus 8] [--details]

Nothing runs: each spec is read with ``xlsearch.checks.load_spec`` (checked against the
registries; no data is read, no model loaded, no Ray started) and costed with
``xlsearch.sweep.budget.estimate`` from step times measured on one NVIDIA H200
(benchmarks/h200_step_times.json) and the assumptions stated in that file:

- A step. ``estimate`` takes one step time, and the methods' steps differ (prompt tuning's is
  10-35% shorter than full finetuning's, mix_target's longer), so each spec is split into one
  sub-spec per method setting (the spec with that one method and parameter setting, the
  method's own ``lr`` and ``train_data`` kept), each costed with its own step time, and the
  sub-specs are summed. A method's LR does not change its step; nor does its training data: a
  translate-train trial trains on the source data plus its translation into every target, a
  larger pool drawn into the same batches, so it runs the same steps at the same step time. A measured step (batch 16 x
  (512 + 64) tokens) is scaled by the spec's tokens per step, batch_size x grad_accum x
  (max_input_length + max_output_length), over 16 x 576, and divided among ``resources.workers``;
  prompt tuning's by its prompt's tokens too. mix_target and multi_source were not measured:
  see ``not_measured`` in the JSON.
- A round's evaluation: greedy (or beam) generation of max_output_length tokens for every batch
  of ``training.eval_batch_size`` dev examples (every source example; the targets' fixed sample
  before the last round, all of them in the last), at an assumed cost per decoder step, plus an
  assumed scoring cost per example. Not measured: generation was not timed on the GPU.
- Trials: a grid's are its sub-specs' own (``planned_trials``: the method's setting times its
  own LRs, training data and the intermediate tuning); an Optuna or random search's
  ``planned_trials`` are assumed spread evenly over the methods, and over each method's settings
  (a range stands for its middle; a log range for its geometric middle).
- Once per sweep, besides the trials (and not counted by ``budget.gpu_hours``, whose stopper
  counts trials only): intermediate tuning (``budget.intermediate_tuning_seconds``, from the full
  step) and, when a method trains on ``translate_train``, the translation of ``subsample.train`` source examples into
  every target language (assumed tokens per example, decoder steps at the assumed cost). A
  translation is cached under the storage by translator, task, source data and seed, so the
  three files of a task share it when they run on one storage: the total row counts it once per
  task.
- Wall-clock: the once-per-sweep work, then the trials in waves of ``--gpus`` / GPUs per trial.

The table's numbers are estimates for planning, not measurements of a sweep.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from xlsearch.checks import load_spec  # noqa: E402
from xlsearch.lm_objectives import resolve_objective  # noqa: E402
from xlsearch.methods import METHODS  # noqa: E402
from xlsearch.models import resolve_model  # noqa: E402
from xlsearch.space import (  # noqa: E402
    METHOD_OVERRIDES,
    method_params,
    planned_trials,
    setting_choices,
    uses_train_data,
)
from xlsearch.spec import Range, SweepSpec  # noqa: E402
from xlsearch.sweep.budget import estimate, intermediate_tuning_seconds  # noqa: E402

STEP_TIMES = REPO / "benchmarks" / "h200_step_times.json"
STUDY_DIR = REPO / "search_spaces" / "study"
DEFAULT_GPUS = 8  # one 8-GPU node
# The first line of the output, and the line docs/study.md holds above the pasted table.
MARKER = "<!-- study-estimates: the output of `python benchmarks/study_estimates.py` -->"


def load_times(path: Path = STEP_TIMES) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Part:
    """One method setting of a spec: its trials and one trial's expected seconds."""

    method: str
    params: dict[str, Any]
    trials: float
    trial_seconds: float
    rounds_per_trial: float
    step_seconds: float


@dataclass(frozen=True)
class SpecCost:
    name: str
    path: Path
    task: str
    model: str
    algorithm: str
    scheduler: str
    parts: list[Part]
    once_it_seconds: float
    devices_per_trial: float
    concurrency: int
    # Each target's translation seconds, keyed by what makes two specs' translations the same
    # cached one (translator and its settings, task, source data, subsample, seed, storage, target).
    translations: dict[tuple, float]

    @property
    def trials(self) -> float:
        return sum(p.trials for p in self.parts)

    @property
    def trial_seconds_total(self) -> float:
        return sum(p.trials * p.trial_seconds for p in self.parts)

    @property
    def rounds_per_trial(self) -> float:
        return sum(p.trials * p.rounds_per_trial for p in self.parts) / self.trials

    @property
    def gpu_hours(self) -> float:
        """Trials only, start-up included: what ``budget.gpu_hours`` caps."""
        return self.trial_seconds_total * self.devices_per_trial / 3600

    @property
    def once_translation_seconds(self) -> float:
        return sum(self.translations.values())

    @property
    def once_gpu_hours(self) -> float:
        return (self.once_it_seconds + self.once_translation_seconds) / 3600

    @property
    def wall_clock_hours(self) -> float:
        mean = self.trial_seconds_total / self.trials
        waves = math.ceil(round(self.trials, 6) / self.concurrency)
        return (self.once_it_seconds + self.once_translation_seconds + waves * mean) / 3600


# ---------------------------------------------------------------------------------------------
# Step, evaluation and one-off times


def measured_steps(spec: SweepSpec, times: dict[str, Any]) -> dict[str, float]:
    """The measured ms per step of the spec's model, by method (a KeyError names the models)."""
    step_ms = times["step_ms"]
    if spec.model not in step_ms:
        raise KeyError(f"model {spec.model!r}: no measured step times; measured: {', '.join(step_ms)}")
    return step_ms[spec.model]


def token_scale(spec: SweepSpec, times: dict[str, Any]) -> float:
    """The spec's tokens per optimizer step (per worker) over the measured batch's."""
    cfg, shape = spec.training, times["measured_shape"]
    ours = cfg.batch_size * cfg.grad_accum * (cfg.max_input_length + cfg.max_output_length) / spec.resources.workers
    return ours / (shape["batch_size"] * (shape["max_input_length"] + shape["max_output_length"]))


def step_seconds(spec: SweepSpec, method: str, params: dict[str, Any], times: dict[str, Any]) -> float:
    """Seconds per optimizer step of ``method`` with ``params`` (measured or assumed; see the JSON)."""
    measured = measured_steps(spec, times)
    scale = token_scale(spec, times)
    full = measured["full"] / 1000 * scale
    cfg = spec.training
    if method == "prompt_tuning":
        measured_len = times["measured_with"]["prompt_tuning"]["prompt_length"]
        length = METHODS[method].resolved_params(params)["prompt_length"]
        task_tokens = cfg.max_input_length + cfg.max_output_length
        return measured[method] / 1000 * scale * (task_tokens + length) / (task_tokens + measured_len)
    if method in ("freeze_dec_emb", "adapters"):
        return measured[method] / 1000 * scale
    if method == "mix_target":
        ratio = METHODS[method].target_lm_ratio(params)
        objective = resolve_objective("auto", resolve_model(spec.model).family)
        lm_tokens = cfg.max_input_length * times["assumptions"]["lm_tokens_per_input_token"][objective]
        return full * (1 + ratio * lm_tokens / (cfg.max_input_length + cfg.max_output_length))
    if method in ("full", "multi_source"):
        return full
    raise KeyError(f"method {method!r}: no step time, measured or assumed")


def decode_step_seconds(num_beams: int, times: dict[str, Any]) -> float:
    a = times["assumptions"]
    return a["decode_step_s"] * (1 + a["beam_step_factor_per_extra_beam"] * (num_beams - 1))


def eval_seconds(spec: SweepSpec, times: dict[str, Any], *, final: bool) -> float:
    """One round's evaluation: generation over the dev examples, and their scoring (assumed)."""
    cfg = spec.training
    dev = spec.subsample.dev
    if dev is None:
        raise ValueError(f"{spec.name}: subsample.dev is not set; the estimate needs the dev examples per language")
    per_target = dev if final or cfg.target_eval_sample == 0 else min(cfg.target_eval_sample, dev)
    counts = [dev] * len(spec.source_languages) + [per_target] * len(spec.target_languages)
    batches = sum(math.ceil(n / cfg.eval_batch_size) for n in counts)
    per_batch = (cfg.max_output_length + 1) * decode_step_seconds(cfg.num_beams, times)
    return batches * per_batch + sum(counts) * times["assumptions"]["scoring_s_per_example"]


def translation_seconds(spec: SweepSpec, times: dict[str, Any]) -> dict[tuple, float]:
    """Translate-train's one-off translation of the source training data into each target
    language, keyed as the translation cache is (empty when no method trains on ``translate_train``)."""
    if not uses_train_data(spec, "translate_train"):
        return {}
    if spec.subsample.train is None:
        raise ValueError(f"{spec.name}: subsample.train is not set; the estimate needs the examples translated")
    a, t = times["assumptions"], spec.translation
    tokens = spec.subsample.train * a["translation_tokens_per_example"][spec.task] * a["translation_output_ratio"]
    seconds = tokens / t.batch_size * decode_step_seconds(t.num_beams, times)
    source = spec.source_languages[0]
    key = (spec.task, source, t.model_dump_json(), repr(spec.data.get(source, {}).get("train")), spec.subsample.train,
           spec.search.seed, str(Path(spec.storage).expanduser()))
    return {(*key, target): seconds for target in spec.target_languages}


# ---------------------------------------------------------------------------------------------
# Settings and sub-specs


def _middle(domain: Range, kind: str) -> float:
    mid = math.sqrt(domain.low * domain.high) if domain.log else (domain.low + domain.high) / 2
    return round(mid) if kind == "int" else mid


def method_settings(method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Each parameter setting of a method as a dict of single values (a range: its middle); the
    method's own parameters only (``method_params``: without its ``lr`` and ``train_data``)."""
    names = list(params)
    values = []
    for name in names:
        kind = METHODS[method].params[name].kind
        domain = params[name]
        values.append([_middle(domain, kind)] if isinstance(domain, Range) else setting_choices(domain, kind))
    settings = [{}]
    for name, choices in zip(names, values):
        settings = [{**s, name: v} for s in settings for v in choices]
    return settings


def with_one_setting(spec: SweepSpec, method: str, setting: dict[str, Any]) -> SweepSpec:
    """The spec searching ``method`` with this one setting only (languages stay one setting),
    and the method's own ``lr`` and ``train_data``, where it has them, as they are: a grid's
    sub-spec counts its trials over them."""
    kinds = METHODS[method].params
    own = {k: v for k, v in spec.search.methods[method].items() if k in METHOD_OVERRIDES}
    params = {**own, **{k: ([v] if kinds[k].kind == "languages" else v) for k, v in setting.items()}}
    search = spec.search.model_copy(update={"methods": {method: params}})
    return spec.model_copy(update={"search": search})


def cost(path: Path, times: dict[str, Any], gpus: int = DEFAULT_GPUS) -> SpecCost:
    spec = load_spec(path)
    a = times["assumptions"]
    devices = spec.resources.workers * (1 if spec.resources.gpus_per_worker == "auto" else spec.resources.gpus_per_worker)
    if devices <= 0:
        raise ValueError(f"{spec.name}: the estimate is for GPU trials; resources.gpus_per_worker is 0")
    total_trials = planned_trials(spec)
    concurrency = max(1, min(int(gpus // devices), total_trials))
    eval_s, final_eval_s = eval_seconds(spec, times, final=False), eval_seconds(spec, times, final=True)
    parts = []
    methods = spec.search.methods
    for method in methods:
        settings = method_settings(method, method_params(spec, method))
        for setting in settings:
            sub = with_one_setting(spec, method, setting)
            step = step_seconds(spec, method, setting, times)
            est = estimate(sub, step_seconds=step, eval_seconds=eval_s, final_eval_seconds=final_eval_s,
                           concurrency=concurrency, devices_per_trial=devices, device_kind="GPU",
                           startup_seconds=a["startup_s"])
            trials = planned_trials(sub) if spec.search.algorithm == "grid" else \
                total_trials / len(methods) / len(settings)
            parts.append(Part(method, setting, trials, est.trial_seconds, est.rounds_per_trial, step))
    full_step = step_seconds(spec, "full", {}, times)
    return SpecCost(spec.name, Path(path), spec.task, spec.model, spec.search.algorithm, spec.scheduler.type, parts,
                    intermediate_tuning_seconds(spec, full_step), devices, concurrency,
                    translation_seconds(spec, times))


# ---------------------------------------------------------------------------------------------
# The table


def _num(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _trials(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def table(costs: list[SpecCost], gpus: int = DEFAULT_GPUS) -> list[str]:
    """The Markdown table: the marker line, the header, one row per spec and the total."""
    lines = [
        MARKER,
        "",
        ("| spec | task | model | search | trials | rounds/trial | GPU-hours, trials | GPU-hours once "
         f"(intermediate tuning + translation) | wall-clock at {gpus} GPUs |"),
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in costs:
        search = c.algorithm + (" + ASHA" if c.scheduler == "asha" else "")
        once = f"{_num(c.once_it_seconds / 3600, 2)} + {_num(c.once_translation_seconds / 3600, 2)}"
        lines.append(f"| `{_display_path(c.path)}` | {c.task} | {c.model} | {search} | {_trials(c.trials)} | "
                     f"{c.rounds_per_trial:.2f} | {_num(c.gpu_hours)} | {once} | {_num(c.wall_clock_hours)} h |")
    shared = {key: seconds for c in costs for key, seconds in c.translations.items()}
    translations = sum(shared.values())
    its = sum(c.once_it_seconds for c in costs)
    wall = sum(c.wall_clock_hours for c in costs) - sum(c.once_translation_seconds for c in costs) / 3600 \
        + translations / 3600
    lines.append(f"| **total** (each translation once) | | | | {_trials(sum(c.trials for c in costs))} | | "
                 f"{_num(sum(c.gpu_hours for c in costs))} | {_num(its / 3600, 2)} + {_num(translations / 3600, 2)} | "
                 f"{_num(wall)} h, one after another |")
    return lines


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def details(c: SpecCost) -> list[str]:
    lines = [f"{_display_path(c.path)}: concurrency {c.concurrency}, {c.devices_per_trial:g} GPU(s) a trial"]
    for p in c.parts:
        setting = ", ".join(f"{k} {v}" for k, v in p.params.items())
        lines.append(f"  {p.method}{' (' + setting + ')' if setting else ''}: {_trials(p.trials)} trials x "
                     f"{p.trial_seconds / 3600:.3f} h, step {p.step_seconds * 1000:.1f} ms, "
                     f"{p.rounds_per_trial:.2f} rounds")
    lines.append(f"  once: intermediate tuning {c.once_it_seconds / 3600:.2f} h, "
                 f"translation {c.once_translation_seconds / 3600:.2f} h")
    return lines


def study_specs() -> list[Path]:
    return sorted(STUDY_DIR.glob("*.yaml"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="*", type=Path, help="spec files (default: every file in search_spaces/study/)")
    parser.add_argument("--gpus", type=int, default=DEFAULT_GPUS,
                        help=f"GPUs the sweep's cluster has, for the wall-clock (default {DEFAULT_GPUS})")
    parser.add_argument("--details", action="store_true", help="after the table, each spec's method settings")
    parser.add_argument("--step-times", type=Path, default=STEP_TIMES, help="the measured step times and assumptions")
    args = parser.parse_args(argv)
    if args.gpus < 1:
        parser.error("--gpus must be >= 1")
    times = load_times(args.step_times)
    costs = [cost(p, times, args.gpus) for p in (args.specs or study_specs())]
    print("\n".join(table(costs, args.gpus)))
    if args.details:
        for c in costs:
            print()
            print("\n".join(details(c)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
