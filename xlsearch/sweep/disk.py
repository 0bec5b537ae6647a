"""A sweep's disk: what it keeps of each trial, how much that is, and whether the storage holds it.

What stays (the spec's ``checkpoints``), per trial:

- **running**: its last checkpoint, which resume needs: the trained parameters and the optimizer
  state (Train keeps one; for a moment, while a round's new checkpoint is written, two);
- **ended, among the best** ``keep_best`` by the zero-shot rule (:func:`xlsearch.selection.
  zero_shot_ranking`: source-dev score over the comparable zero-shot trials), or the
  translate-train arm's choice beside them: its final trained parameters, without the
  optimizer state;
- **ended otherwise** (stopped early by ASHA or by a budget, diverged, or pushed out of the
  best): nothing; its Train run folder goes, so that a trial Tune starts again (a driver
  killed in the second after the trial ended) starts from scratch instead of meeting a
  half-deleted run;
- **failed**: its last checkpoint, as it is: running the sweep again retries it from there.

The driver prunes (:class:`CheckpointPruning`, a Tune callback): a few seconds after a trial
ends (:data:`SETTLE_S`: by then Tune has saved that it ended) and again when the sweep stops
(after Tune's last save and its clean-up of every trial's processes), over every ended trial,
including those a resumed sweep restored.
Tune's own trial folders (``tune/``: results, which ``xlsearch analyze`` reads) and MLflow's
are never touched.

:func:`disk_need` says what the sweep needs at its peak, from the model's parameter shapes (on
torch's meta device: no weights are read) and the largest setting of each method.
"""
from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ray.tune import Callback

from xlsearch.spec import SweepSpec
from xlsearch.sweep.trainable import train_run_dir, trial_config
from xlsearch.training.checkpoint import META_FILE, STATE_FILE

# Seconds between a trial's end and its pruning: Tune saves which trials ended every second
# (TUNE_GLOBAL_CHECKPOINT_S in tuner.py), and a trial it stopped has time to stop writing. The
# trial that takes the freed place needs longer than this (~11 s of start-up, then a round) to
# write its first checkpoint, so the peak stays two checkpoints per place.
SETTLE_S = 5.0
# torch.save's zip container: headers and alignment per tensor, and per file (measured on
# tiny-mt5's checkpoints: 300-350 bytes per tensor, about 1.3 kB per file, 5 kB of RNG state).
TENSOR_OVERHEAD = 512
FILE_OVERHEAD = 16 * 1024
GB = 1024**3
# An intermediate-tuned model is saved with its tokenizer and config: an allowance for them (a
# 250k-token vocabulary's files take tens of MB; the tiny models' 30 kB).
MODEL_FILES = 32 * 1024**2


def _size(n: float) -> str:
    for unit, scale in (("TB", 1024 * GB), ("GB", GB), ("MB", 1024**2), ("kB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


# ---------------------------------------------------------------------------------------------
# How much


@dataclass(frozen=True)
class CheckpointSize:
    """Bytes of one trial checkpoint (:mod:`xlsearch.training.checkpoint`)."""

    weights: int  # the trained parameters (trainable.pt)
    state: int  # the optimizer state, schedule and RNG (training_state.pt)

    @property
    def total(self) -> int:
        return self.weights + self.state


def checkpoint_size(model, optimizer: str) -> CheckpointSize:
    """What a checkpoint of ``model`` (prepared by its method) holds, from its parameters' shapes:
    the trained ones, and AdamW's two moments of each, or Adafactor's factored second moment
    (a row and a column per matrix) and its RMS."""
    trained = [p for p in model.parameters() if p.requires_grad]
    weights = sum(p.numel() * p.element_size() for p in trained)
    if optimizer == "adamw":
        state = sum(2 * p.numel() * p.element_size() for p in trained)
        tensors = 3 * len(trained)  # exp_avg, exp_avg_sq, step
    else:
        state = sum(4 * (math.prod(p.shape[:-1]) + math.prod(p.shape[:-2]) * p.shape[-1] if p.dim() >= 2
                         else p.numel()) for p in trained)
        tensors = 2 * len(trained)  # the factored (or whole) second moment, RMS
    return CheckpointSize(weights + TENSOR_OVERHEAD * len(trained) + FILE_OVERHEAD,
                          state + TENSOR_OVERHEAD * tensors + FILE_OVERHEAD)


def largest_settings(spec: SweepSpec) -> dict[str, dict[str, Any]]:
    """Each method's parameters at their largest: the highest number of a list or range (a
    method's size grows with its numbers: LoRA rank, prompt length), the first of a choice of
    language sets (they do not change its size)."""
    from xlsearch.methods import METHODS
    from xlsearch.space import method_params, setting_choices
    from xlsearch.spec import Range

    out = {}
    for method in spec.search.methods:
        values = {}
        for name, domain in method_params(spec, method).items():
            kind = METHODS[method].params[name].kind
            if kind == "languages":
                values[name] = setting_choices(domain, kind)[0]
            else:
                high = domain.high if isinstance(domain, Range) else max(setting_choices(domain, kind))
                values[name] = int(high) if kind == "int" else high
        out[method] = values
    return out


@dataclass(frozen=True)
class DiskNeed:
    """What a sweep writes to its storage at its peak."""

    checkpoint: int  # the largest checkpoint of a running trial: trained parameters + optimizer state
    weights: int  # the largest final weights of a kept trial
    intermediate: int  # the intermediate-tuning models not in the storage's cache yet
    concurrency: int
    kept: int  # final weights that stay: keep_best trials (or fewer), and soups' members and soups
    free: int  # free bytes on the storage's filesystem when measured

    @property
    def total(self) -> int:
        return 2 * self.concurrency * self.checkpoint + self.kept * self.weights + self.intermediate

    def shortage(self, storage: str) -> str | None:
        """The one-line problem when the storage has less free space than the sweep needs."""
        if self.total <= self.free:
            return None
        return (f"storage = {storage!r}: the sweep needs {_size(self.total)} on disk ({self.breakdown()}) and its "
                f"filesystem has {_size(self.free)} free; free some space, choose another storage, or lower "
                "checkpoints.keep_best or the trials that run at once (--num-cpus, resources)")

    def breakdown(self) -> str:
        parts = [f"{self.concurrency} running trial(s) x 2 checkpoints of {_size(self.checkpoint)}",
                 f"{self.kept} kept x final weights of {_size(self.weights)}"]
        if self.intermediate:
            parts.append(f"intermediate tuning {_size(self.intermediate)}")
        return "; ".join(parts)

    def lines(self) -> list[str]:
        return [f"disk: up to {_size(self.total)} ({self.breakdown()}); {_size(self.free)} free on the storage's "
                "filesystem"]


def free_bytes(path: Path) -> int:
    """Free bytes for an unprivileged writer on the filesystem that will hold ``path`` (its
    nearest existing folder)."""
    path = Path(path).expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def disk_need(spec: SweepSpec, concurrency: int) -> DiskNeed:
    """The sweep's peak disk: ``concurrency`` running trials with two checkpoints each (the
    round being written and the one before), the kept trials' final weights, and the
    intermediate-tuning models still to train. Reads the model's config, not its weights."""
    import torch

    from xlsearch.methods import get_method
    from xlsearch.models import model_skeleton, resolve_model
    from xlsearch import keys
    from xlsearch.space import planned_trials, uses_train_data

    ref = resolve_model(spec.model)
    sizes = []
    for method, params in largest_settings(spec).items():
        with torch.device("meta"):  # the method's own parameters (adapters, prompts) too
            model = get_method(method).prepare_model(model_skeleton(ref), ref.family, params)
        sizes.append(checkpoint_size(model, spec.training.optimizer))
    base = model_skeleton(ref)
    model_bytes = sum(p.numel() * p.element_size() for p in base.parameters())
    return DiskNeed(checkpoint=max(s.total for s in sizes), weights=max(s.weights for s in sizes),
                    intermediate=(model_bytes + MODEL_FILES) * len(_untrained_intermediate(spec)),
                    concurrency=concurrency,
                    kept=min(spec.checkpoints.keep_best + uses_train_data(spec, keys.TRANSLATE_TRAIN),
                             planned_trials(spec)) + soup_kept(spec),
                    free=free_bytes(spec.sweep_dir))


def soup_kept(spec: SweepSpec) -> int:
    """The final weights soups (``selection.soup_top_k``) keep at most: their members' (``top_k``
    per group and seed) and each soup's own; in a searched space, where the groups are not known
    in advance, every trial's and a soup per two trials."""
    top_k = spec.selection.soup_top_k
    if not top_k:
        return 0
    if spec.search.algorithm == "grid":
        from xlsearch.checks import soup_group_sizes

        return len(soup_group_sizes(spec)) * spec.search.seeds * (top_k + 1)
    from xlsearch.space import planned_trials

    return planned_trials(spec) + planned_trials(spec) // 2


def _untrained_intermediate(spec: SweepSpec) -> list[str]:
    """Labels of the spec's intermediate-tuning settings that the storage's cache lacks."""
    from xlsearch.training.intermediate import cache_dir, cache_key

    settings = [o for o in spec.search.intermediate_tuning if o != "none"]
    return [o.label for o in settings if not (cache_dir(spec, o, cache_key(spec, o)) / "model" / "config.json").is_file()]


# ---------------------------------------------------------------------------------------------
# Pruning


def keep_and_drop(records: Iterable[dict[str, Any]], objective: str, keep_best: int,
                  soup_top_k: int = 0) -> tuple[set[str], set[str]]:
    """Of ended trials (``{"trial_id", "config", "metrics"}``, each with its last result), the
    ids whose final weights stay (the zero-shot rule's first ``keep_best``, and with soups the
    best ``soup_top_k`` of each group so far, which the soups made at the sweep's end may
    average: :func:`xlsearch.selection.soup_plans`) and those whose checkpoints go."""
    from xlsearch.selection import soup_plans, trials_frame, translate_train_choice, zero_shot_ranking

    records = list(records)
    ids = {str(r["trial_id"]) for r in records}
    frame = trials_frame(records)
    keep = set(zero_shot_ranking(frame, objective)[:keep_best]) if not frame.empty and keep_best else set()
    if keep_best:  # and the translate-train arm's choice, the baseline beside them
        keep |= {translate_train_choice(frame, objective).trial_id} - {None}
    if soup_top_k and not frame.empty:  # a group's first trials to end, before the others can join them
        keep |= {member for plan in soup_plans(frame, objective, soup_top_k, min_members=1) for member in plan["members"]}
    return keep, ids - keep


def keep_weights_only(run_dir: Path) -> None:
    """Drop the optimizer state from a Train run's checkpoints; the trained parameters and the
    meta (round, metrics) stay."""
    for meta in run_dir.glob(f"*/{META_FILE}"):
        (meta.parent / STATE_FILE).unlink(missing_ok=True)


def prune(sweep_dir: Path, keep: Iterable[str], drop: Iterable[str]) -> None:
    for trial_id in keep:
        keep_weights_only(train_run_dir(sweep_dir, trial_id))
    for trial_id in drop:
        shutil.rmtree(train_run_dir(sweep_dir, trial_id), ignore_errors=True)


def _ended(trials) -> list:
    from ray.tune.experiment import Trial

    return [t for t in trials if t.status == Trial.TERMINATED]


def _record(trial) -> dict[str, Any]:
    return {"trial_id": trial.trial_id, "config": trial_config(trial.config), "metrics": trial.last_result or {}}


class CheckpointPruning(Callback):
    """Prunes the Train runs of ended trials to what the spec keeps (see the module's text).

    Pickled with the Tuner's state like the other callbacks: it holds plain settings, and the
    ends it has seen, which a resumed sweep does not need (restored trials ended long ago).
    """

    def __init__(self, sweep_dir: str, objective: str, keep_best: int, soup_top_k: int = 0):
        self.sweep_dir, self.objective, self.keep_best = sweep_dir, objective, keep_best
        self.soup_top_k = soup_top_k
        self._ended_at: dict[str, float] = {}
        self._pruned: frozenset[str] = frozenset()

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._ended_at[trial.trial_id] = time.monotonic()

    def on_step_end(self, iteration, trials, **info):
        now = time.monotonic()
        settled = [t for t in _ended(trials) if now - self._ended_at.get(t.trial_id, -math.inf) >= SETTLE_S]
        if frozenset(t.trial_id for t in settled) != self._pruned:
            self._prune(settled)

    def on_experiment_end(self, trials, **info):
        # Tune has saved its state and stopped every trial's processes; running trials (an
        # interrupted sweep) are not ended and keep their checkpoints.
        self._prune(_ended(trials))

    def _prune(self, ended: list) -> None:
        keep, drop = keep_and_drop((_record(t) for t in ended), self.objective, self.keep_best,
                                   getattr(self, "soup_top_k", 0))
        prune(Path(self.sweep_dir), keep, drop)
        self._pruned = frozenset(t.trial_id for t in ended)
