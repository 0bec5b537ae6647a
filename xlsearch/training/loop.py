"""The trial loop: one trial from its parameters to per-language scores.

``run_trial`` reads top to bottom: set the trial up (data, model + intermediate tuning + method,
step engine), resume if asked, then rounds of ``steps_per_round`` optimizer steps, each followed
by an evaluation, a checkpoint and a report. Ray stays at the edges: a Ray Train worker passes
its own ``report``, ``wrap_model`` (DDP) and ``resume_from``; run alone (``xlsearch trial``) the
defaults need no Ray. On a DDP group of ``world_size`` ranks each rank trains on its slice of
every global batch; rank 0 (``is_main``) alone evaluates and writes the checkpoint, and every
rank reports (Ray Train's report waits for all of them, so the others wait there while rank 0
evaluates, outside any torch collective). :func:`setup_trial` is also what the budget's calibration times, so the
estimate measures the steps trials take.
"""
from __future__ import annotations

import dataclasses
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from xlsearch import keys
from xlsearch.families import get_family
from xlsearch.lm_objectives import lm_examples
from xlsearch.methods import get_method
from xlsearch.models import Seq2SeqCodec, load_model
from xlsearch.spec import SweepSpec
from xlsearch.tasks import Task, get_task
from xlsearch.training.batches import Encoded, encode_examples, training_batches
from xlsearch.training.checkpoint import read_meta, restore_checkpoint, save_checkpoint
from xlsearch.training.data import TrialData, load_trial_data
from xlsearch.training.engine import LOSS_WEIGHT, ExtraLoss, StepEngine, Steps, new_engine
from xlsearch.training.evaluate import fixed_sample, generate, sample_generations, score_round
from xlsearch.training.intermediate import ensure_intermediate_checkpoint
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
    return keys.source_dev(get_task(spec.task).objective_metric)


def run_trial(spec: SweepSpec, params: TrialParams, *, report: Report | None = None,
              resume_from: Path | None = None, device: torch.device | None = None,
              wrap_model: Callable[[torch.nn.Module], torch.nn.Module] | None = None,
              rank: int = 0, world_size: int = 1, is_main: bool = True, data: TrialData | None = None,
              progress: bool = False, log: Callable[[str], None] = print) -> TrialResult:
    """Train and evaluate one trial; ``report`` receives each round's metrics and checkpoint."""
    cfg = spec.training
    trial = setup_trial(spec, params, device=device, rank=rank, world_size=world_size, data=data,
                        progress=progress, log=log)
    start_round = 0
    if resume_from is not None:
        meta = read_meta(resume_from)
        start_round = int(meta[keys.ROUND])
        if start_round >= cfg.rounds:
            # The trial had finished when its driver died: say its last round again, so that
            # Tune sees the trial's result, and train nothing. (A finished trial's checkpoint
            # may hold its weights only: the sweep drops the optimizer state of kept trials.)
            log(f"{params.label()} had already finished all {cfg.rounds} rounds")
            if report is not None:
                with tempfile.TemporaryDirectory(prefix="xlsearch-ckpt-") as tmp:
                    report(meta["metrics"], Path(tmp), [])
            return TrialResult(meta.get("status", "completed"), start_round, [meta["metrics"]])
        # Every rank loads rank 0's checkpoint, its generator state too: on a DDP group the ranks
        # then draw dropout from the same state, each on its own slice of the batch.
        restore_checkpoint(resume_from, trial.model, trial.engine.optimizer, trial.engine.schedule)
        log(f"resumed {params.label()} from round {start_round}")
    if wrap_model is not None:
        trial.engine.model = wrap_model(trial.model)
        trial.engine.ranks = world_size

    # Batch streams are deterministic, so a resumed trial skips what it already saw.
    batches = trial.batches(skip_steps=start_round * cfg.steps_per_round)
    extra_loss = trial.extra_loss(skip_steps=start_round * cfg.steps_per_round)
    result = TrialResult("completed", start_round)
    for round_index in range(start_round, cfg.rounds):
        title = f"round {round_index + 1}/{cfg.rounds}" if progress and is_main else None
        steps = trial.engine.run(batches, cfg.steps_per_round, extra_loss=extra_loss, progress=title)
        metrics = round_metrics(round_index + 1, cfg.steps_per_round, steps, trial.engine.lr)
        samples: list[dict[str, str]] = []
        if steps.diverged:
            # A diverged model is not evaluated: it scores the floor, so no search prefers it.
            result.status = "diverged"
            metrics[objective_name(spec)] = 0.0
            log(f"{params.label()}: loss became non-finite in round {round_index + 1}; trial ended as diverged")
        elif is_main:
            eval_started = time.time()
            metrics.update(evaluate(trial.model, trial.codec, trial.task, spec, trial.data, trial.engine, samples,
                                    final=round_index + 1 == cfg.rounds, trained_on=list(trial.train)))
            metrics[keys.TIME_EVAL_S] = time.time() - eval_started
        result.history.append(metrics)
        result.rounds_done = round_index + 1
        if report is not None:
            with tempfile.TemporaryDirectory(prefix="xlsearch-ckpt-") as tmp:
                meta = {keys.ROUND: round_index + 1, "params": params.flat(), "model": spec.model,
                        "intermediate_tuning": str(trial.it_path) if trial.it_path else "none",
                        "status": result.status, "metrics": metrics}
                if not steps.diverged and is_main:
                    save_checkpoint(Path(tmp), trial.model, trial.engine.optimizer, trial.engine.schedule, meta)
                report(metrics, Path(tmp), samples)
        if steps.diverged:
            break
    return result


@dataclass
class Trial:
    """A trial ready to train: its data, its prepared model and the engine that steps it."""

    spec: SweepSpec
    task: Task
    codec: Seq2SeqCodec
    model: torch.nn.Module  # unwrapped (what is checkpointed and evaluated)
    engine: StepEngine
    data: TrialData
    train: dict[str, Encoded]
    target_lm: dict[str, Encoded]  # denoising pairs on target text (mix_target); else empty
    mix_ratio: float
    seed: int  # the data order's: the same on every rank, which each takes its slice of
    it_path: Path | None
    rank: int = 0
    world_size: int = 1

    def batches(self, skip_steps: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        cfg = self.spec.training
        return training_batches(self.train, cfg.batch_size, self.seed, self.codec.pad_token_id,
                                skip=skip_steps * cfg.grad_accum, rank=self.rank, world_size=self.world_size)

    def extra_loss(self, skip_steps: int = 0) -> ExtraLoss | None:
        """Each step, with probability ``mix_ratio``, the loss of a target-text denoising batch."""
        if not self.target_lm:
            return None
        lm_batches = training_batches(self.target_lm, self.spec.training.batch_size, self.seed + 1,
                                      self.codec.pad_token_id, rank=self.rank, world_size=self.world_size)
        mix_rng = random.Random(self.seed + 2)
        for _ in range(skip_steps):
            mix_rng.random()
        device = self.engine.device

        def draw():
            if mix_rng.random() >= self.mix_ratio:
                return None
            batch = dict(next(lm_batches))
            weight = batch.pop(LOSS_WEIGHT, 1.0)
            return lambda: weight * self.engine.model(**{k: v.to(device) for k, v in batch.items()}).loss

        return draw


def setup_trial(spec: SweepSpec, params: TrialParams, *, device: torch.device | None = None, rank: int = 0,
                world_size: int = 1, data: TrialData | None = None, progress: bool = False,
                log: Callable[[str], None] = print) -> Trial:
    """Data, the model (base or intermediate-tuned, then the adaptation method) and its engine.

    The data order is seeded alike on every rank (each takes its slice of the same global
    batches); Python's and torch's generators (dropout) per rank."""
    torch.set_flush_denormal(True)  # denormals made high-LR CPU trials ~2x slower, same loss
    seed = spec.search.seed if params.seed is None else params.seed  # the data sample and eval sample keep search.seed
    random.seed(seed + rank)
    torch.manual_seed(seed + rank)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    method, cfg = get_method(params.method), spec.training
    train_langs = method.training_languages(params.method_params, spec.source_languages)
    mix_ratio = method.target_lm_ratio(params.method_params)
    if data is None:
        data = load_trial_data(spec, train_langs, with_unlabeled=mix_ratio > 0)
    if params.translate_train:
        # Translate-train: the source data and its translation into every target language (made
        # once per sweep, before the trials: xlsearch.training.translate).
        from xlsearch.training.translate import source_language, translated_examples

        extra = [lang for lang in spec.target_languages if lang not in train_langs]
        loaded = data.train.get(source_language(spec))  # the source data, already loaded for training
        data = dataclasses.replace(data, train={**data.train, **{lang: translated_examples(spec, lang, loaded)
                                                                 for lang in extra}})
        train_langs = train_langs + extra

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
        objective, lm_rng = get_family(codec.family).lm_objective, random.Random(seed)
        for lang, texts in data.unlabeled.items():
            pairs = lm_examples(texts, lang, codec, objective, cfg.max_input_length, lm_rng)
            target_lm[lang] = Encoded(lang, [p[0] for p in pairs], [p[1] for p in pairs])
    total_steps = cfg.rounds * cfg.steps_per_round
    engine = new_engine(model, lr=params.lr, total_steps=total_steps, warmup_steps=int(cfg.warmup_ratio * total_steps),
                        device=device, optimizer=cfg.optimizer, weight_decay=cfg.weight_decay,
                        precision=cfg.precision, max_grad_norm=cfg.max_grad_norm, grad_accum=cfg.grad_accum)
    return Trial(spec, get_task(spec.task), codec, model, engine, data, train, target_lm, mix_ratio, seed, it_path,
                 rank, world_size)


def round_metrics(round_number: int, steps_per_round: int, steps: Steps, lr: float) -> dict[str, Any]:
    """The training side of a round's metrics (evaluation adds the scores)."""
    return {keys.ROUND: round_number, keys.STEP: round_number * steps_per_round, keys.TRAIN_LOSS: steps.mean_loss,
            keys.TRAIN_LR: lr, keys.TIME_TRAIN_S: steps.seconds, keys.DIVERGED: int(steps.diverged)}


def evaluate(model, codec, task, spec: SweepSpec, data: TrialData, engine: StepEngine,
             samples_out: list[dict[str, str]] | None = None, *, final: bool = True,
             trained_on: list[str] = ()) -> dict[str, float]:
    """Generate on the dev examples and score the round: every source example and every
    few-shot example; every target and pivot example in the ``final`` round, else the fixed
    sample of ``training.target_eval_sample``. A pivot language the model ``trained_on`` (a
    second source language of multi_source) is no pivot for it and is not scored."""
    cfg = spec.training
    gen = dict(max_input_length=cfg.max_input_length, max_new_tokens=cfg.max_output_length,
               batch_size=cfg.eval_batch_size, num_beams=cfg.num_beams, device=engine.device,
               autocast_dtype=engine.dtype)
    sample = 0 if final else cfg.target_eval_sample

    def sampled(lang: str):
        return generate(model, codec, fixed_sample(data.dev[lang], sample, spec.search.seed), lang, **gen)

    source = [generate(model, codec, data.dev[lang], lang, **gen) for lang in spec.source_languages]
    targets = [sampled(lang) for lang in spec.target_languages]
    few_shot = [generate(model, codec, examples, lang, **gen) for lang, examples in data.few_shot.items()]
    pivots = [sampled(lang) for lang in spec.pivot_languages if lang not in trained_on]
    if samples_out is not None:
        samples_out.extend(sample_generations(source + targets, cfg.sample_generations, task))
    return score_round(task, source, targets, few_shot, pivots)
