"""The trial loop: one trial from its parameters to per-language scores.

Reads top to bottom: data, model (+ intermediate tuning, + method), optimizer, then rounds of
``steps_per_round`` optimizer steps, each followed by an evaluation, a checkpoint and a report.
Ray stays at the edges: a Ray Train worker passes its own ``report``, ``wrap_model`` (DDP) and
``resume_from``; run alone (``xlsearch trial``) the defaults need no Ray.
"""
from __future__ import annotations

import math
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from xlsearch.lm_objectives import lm_examples, objective_for_family
from xlsearch.methods import get_method
from xlsearch.models import load_model
from xlsearch.spec import SweepSpec
from xlsearch.tasks import get_task
from xlsearch.training.batches import Encoded, encode_examples, training_batches
from xlsearch.training.checkpoint import load_trainable, load_training_state, read_meta, save_checkpoint
from xlsearch.training.data import TrialData, load_trial_data
from xlsearch.training.evaluate import generate, sample_generations, score_round
from xlsearch.training.intermediate import ensure_intermediate_checkpoint
from xlsearch.training.optim import autocast_dtype, linear_schedule, make_optimizer, optimizer_step
from xlsearch.training.params import TrialParams

# report(metrics, checkpoint_dir, samples): called once per round; the checkpoint directory is
# only valid during the call (copy it to keep it).
Report = Callable[[dict[str, Any], Path, list[dict[str, str]]], None]


@dataclass
class TrialResult:
    status: str  # "completed" or "diverged"
    rounds_done: int
    history: list[dict[str, Any]] = field(default_factory=list)


def objective_name(spec: SweepSpec) -> str:
    """The metric the search maximises: the task's score on source-language dev data."""
    return f"source_dev/{get_task(spec.task).objective_metric}"


def run_trial(spec: SweepSpec, params: TrialParams, *, report: Report | None = None,
              resume_from: Path | None = None, device: torch.device | None = None,
              wrap_model: Callable[[torch.nn.Module], torch.nn.Module] | None = None,
              rank: int = 0, is_main: bool = True, data: TrialData | None = None,
              progress: bool = False, log: Callable[[str], None] = print) -> TrialResult:
    """Train and evaluate one trial; ``report`` receives each round's metrics and checkpoint."""
    torch.set_flush_denormal(True)  # denormals made high-LR CPU trials ~2x slower (DESIGN.md)
    seed = spec.search.seed
    random.seed(seed + rank)
    torch.manual_seed(seed + rank)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    task, method, cfg = get_task(spec.task), get_method(params.method), spec.training

    # Data
    train_langs = method.training_languages(params.method_params, spec.source_languages)
    mix_ratio = method.target_lm_ratio(params.method_params)
    if data is None:
        data = load_trial_data(spec, train_langs, with_unlabeled=mix_ratio > 0)

    # Model: base or intermediate-tuned, then the adaptation method
    it_path = None
    if params.intermediate_tuning != "none":
        it_path = ensure_intermediate_checkpoint(spec, params.intermediate_tuning, device=device,
                                                 progress=progress, log=log).path
    model, codec = load_model(spec.model, checkpoint=it_path, seed=seed)
    model = method.prepare_model(model, codec.family, params.method_params).to(device)
    model.train()
    train = {lang: encode_examples(data.train[lang], lang, codec, cfg.max_input_length, cfg.max_output_length)
             for lang in train_langs}
    target_lm = {}
    if mix_ratio > 0:
        objective = objective_for_family(codec.family)
        lm_rng = random.Random(seed)
        for lang, texts in data.unlabeled.items():
            pairs = lm_examples(texts, lang, codec, objective, cfg.max_input_length, lm_rng)
            target_lm[lang] = Encoded(lang, [p[0] for p in pairs], [p[1] for p in pairs])

    # Optimizer
    total_steps = cfg.rounds * cfg.steps_per_round
    optimizer = make_optimizer(model.parameters(), cfg.optimizer, params.lr, cfg.weight_decay)
    schedule = linear_schedule(optimizer, total_steps, int(cfg.warmup_ratio * total_steps))
    start_round = 0
    if resume_from is not None:
        meta = read_meta(resume_from)
        start_round = int(meta["round"])
        if start_round >= cfg.rounds:
            # The trial had finished when its driver died: say its last round again, so that
            # Tune sees the trial's result, and train nothing.
            log(f"{params.label()} had already finished all {cfg.rounds} rounds")
            if report is not None:
                with tempfile.TemporaryDirectory(prefix="xlsearch-ckpt-") as tmp:
                    report(meta["metrics"], Path(tmp), [])
            return TrialResult(meta.get("status", "completed"), start_round, [meta["metrics"]])
        load_trainable(model, resume_from)
        load_training_state(resume_from, optimizer, schedule)
        log(f"resumed {params.label()} from round {start_round}")
    train_model = wrap_model(model) if wrap_model else model
    dtype = autocast_dtype(cfg.precision, device)

    # Batch streams are deterministic, so a resumed trial skips what it already saw.
    skip = start_round * cfg.steps_per_round * cfg.grad_accum
    batches = training_batches(train, cfg.batch_size, seed + rank, codec.pad_token_id, skip=skip)
    lm_batches = (training_batches(target_lm, cfg.batch_size, seed + rank + 1, codec.pad_token_id)
                  if target_lm else None)
    mix_rng = random.Random(seed + rank + 2)
    for _ in range(start_round * cfg.steps_per_round):
        mix_rng.random()

    result = TrialResult("completed", start_round)
    for round_index in range(start_round, cfg.rounds):
        started = time.time()
        losses = []
        steps = range(cfg.steps_per_round)
        if progress and is_main:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=f"round {round_index + 1}/{cfg.rounds}", unit="step", leave=False)
        for _ in steps:
            extra = None
            if lm_batches is not None and mix_rng.random() < mix_ratio:
                lm_batch = next(lm_batches)
                extra = lambda: train_model(**{k: v.to(device) for k, v in lm_batch.items()}).loss  # noqa: E731
            micro = [next(batches) for _ in range(cfg.grad_accum)]
            loss = optimizer_step(train_model, optimizer, schedule, micro, device=device, dtype=dtype,
                                  max_grad_norm=cfg.max_grad_norm, extra_loss=extra)
            if not math.isfinite(loss):
                result.status = "diverged"
                break
            losses.append(loss)
            if progress and is_main:
                steps.set_postfix(loss=f"{loss:.3f}")
        train_seconds = time.time() - started

        metrics: dict[str, Any] = {
            "round": round_index + 1,
            "step": (round_index + 1) * cfg.steps_per_round,
            "train/loss": sum(losses) / len(losses) if losses else math.nan,
            "train/lr": schedule.get_last_lr()[0],
            "time/train_s": train_seconds,
            "diverged": int(result.status == "diverged"),
        }
        samples: list[dict[str, str]] = []
        if result.status == "diverged":
            # A diverged model is not evaluated: it scores the floor, so no search prefers it.
            metrics[objective_name(spec)] = 0.0
            log(f"{params.label()}: loss became non-finite in round {round_index + 1}; trial ended as diverged")
        elif is_main:
            eval_started = time.time()
            metrics.update(evaluate(model, codec, task, spec, data, device, dtype, samples))
            metrics["time/eval_s"] = time.time() - eval_started
        result.history.append(metrics)
        result.rounds_done = round_index + 1
        if report is not None:
            with tempfile.TemporaryDirectory(prefix="xlsearch-ckpt-") as tmp:
                meta = {"round": round_index + 1, "params": params.flat(), "model": spec.model,
                        "intermediate_tuning": str(it_path) if it_path else "none", "status": result.status,
                        "metrics": metrics}
                if result.status != "diverged":
                    save_checkpoint(Path(tmp), model, optimizer, schedule, meta)
                report(metrics, Path(tmp), samples)
        if result.status == "diverged":
            break
    return result


def evaluate(model, codec, task, spec: SweepSpec, data: TrialData, device, dtype,
             samples_out: list[dict[str, str]] | None = None) -> dict[str, float]:
    """Generate on every language's dev examples and score the round."""
    cfg = spec.training
    gen = dict(max_input_length=cfg.max_input_length, max_new_tokens=cfg.max_output_length,
               batch_size=cfg.eval_batch_size, num_beams=cfg.num_beams, device=device, autocast_dtype=dtype)
    source = [generate(model, codec, data.dev[lang], lang, **gen) for lang in spec.source_languages]
    targets = [generate(model, codec, data.dev[lang], lang, **gen) for lang in spec.target_languages]
    if samples_out is not None:
        samples_out.extend(sample_generations(source + targets, cfg.sample_generations))
    return score_round(task, source, targets)
