"""Intermediate tuning: language-model training of the pretrained model on unlabeled
multilingual text before the task (span corruption for mT5, denoising for mBART and NLLB).

It is computed once per (model, setting, data) and cached under the sweep storage, in a folder
named by a hash of everything that produced it; every trial that asks for it loads it. A file
lock makes concurrent trials on one machine wait for the first instead of training it twice.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from filelock import FileLock

from xlsearch.lm_objectives import lm_examples, resolve_objective
from xlsearch.models import load_model, resolve_model, save_model
from xlsearch.paths import safe_name
from xlsearch.sources import task_source
from xlsearch.spec import IntermediateTuningSpec, SweepSpec
from xlsearch.training.batches import Encoded, training_batches
from xlsearch.training.data import unlabeled_texts
from xlsearch.training.engine import new_engine

CACHE_VERSION = 1  # bump when the procedure changes, so old checkpoints are not reused


@dataclass(frozen=True)
class IntermediateCheckpoint:
    path: Path  # a saved model directory, loadable with load_model(..., checkpoint=path)
    key: str
    trained: bool  # False when it came from the cache


def setting(spec: SweepSpec, label: str) -> IntermediateTuningSpec:
    for option in spec.search.intermediate_tuning:
        if option != "none" and option.label == label:
            return option
    known = [o.label for o in spec.search.intermediate_tuning if o != "none"]
    raise ValueError(f"intermediate_tuning {label!r} is not in the spec; known: {', '.join(known) or 'none'}")


def languages(spec: SweepSpec, it: IntermediateTuningSpec) -> list[str]:
    return list(it.languages or spec.source_and_target_languages)


def cache_key(spec: SweepSpec, it: IntermediateTuningSpec) -> str:
    """A hash of everything that determines the checkpoint: model, setting, data, seed."""
    ref = resolve_model(spec.model)
    sources = {lang: [repr(task_source(spec, lang, s)) for s in ("unlabeled", "train", "dev")]
               for lang in languages(spec, it)}
    # A model directory rebuilt in place (the lab's) must not reuse checkpoints of the old one.
    config = Path(ref.location) / "config.json" if ref.location else None
    built = config.stat().st_mtime_ns if config is not None and config.is_file() else None
    payload = {
        "version": CACHE_VERSION,
        "model": [ref.name, ref.kind, ref.location, built],
        "task": spec.task,
        "setting": it.model_dump(exclude={"name"}),
        "sources": sources,
        "seed": spec.search.seed,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def cache_dir(spec: SweepSpec, it: IntermediateTuningSpec, key: str) -> Path:
    return Path(spec.storage).expanduser() / "intermediate_tuning" / f"{safe_name(spec.model)}-{it.label}-{key[:12]}"


def ensure_intermediate_checkpoint(spec: SweepSpec, label: str, *, device: torch.device | None = None,
                                   progress: bool = False,
                                   log: Callable[[str], None] = print) -> IntermediateCheckpoint:
    """The intermediate-tuned model for setting ``label``: from the cache, or trained now."""
    it = setting(spec, label)
    key = cache_key(spec, it)
    folder = cache_dir(spec, it, key)
    done = folder / "model" / "config.json"
    if done.is_file():
        return IntermediateCheckpoint(folder / "model", key, trained=False)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(folder.parent / f"{folder.name}.lock"):  # a second process waits here, then finds it done
        if done.is_file():
            return IntermediateCheckpoint(folder / "model", key, trained=False)
        log(f"intermediate tuning '{label}' of {spec.model}: {it.steps} steps on {', '.join(languages(spec, it))}")
        started = time.time()
        model, codec = train_intermediate(spec, it, device=device, progress=progress)
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        save_model(model, codec, staging / "model")
        (staging / "meta.json").write_text(json.dumps(
            {"model": spec.model, "setting": it.model_dump(), "key": key, "seconds": time.time() - started},
            indent=2, default=str))
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)  # the cache entry appears whole or not at all
        log(f"intermediate tuning '{label}' done in {time.time() - started:.0f} s -> {folder}")
    return IntermediateCheckpoint(folder / "model", key, trained=True)


def train_intermediate(spec: SweepSpec, it: IntermediateTuningSpec, *, device: torch.device | None = None,
                       progress: bool = False):
    """Train the LM objective for ``it.steps`` optimizer steps; returns (model, codec)."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(spec.search.seed)
    model, codec = load_model(spec.model, seed=spec.search.seed)
    model.to(device).train()
    objective = resolve_objective(it.objective, codec.family)
    rng = random.Random(spec.search.seed)
    data = {}
    for lang in languages(spec, it):
        pairs = lm_examples(unlabeled_texts(spec, lang, it.examples_per_language), lang, codec,
                            objective, it.max_length, rng)
        data[lang] = Encoded(lang, [p[0] for p in pairs], [p[1] for p in pairs])
    engine = new_engine(model, lr=it.lr, total_steps=it.steps, warmup_steps=max(1, it.steps // 10), device=device,
                        precision=spec.training.precision, max_grad_norm=spec.training.max_grad_norm)
    batches = training_batches(data, it.batch_size, spec.search.seed, codec.pad_token_id)
    steps = engine.run(batches, it.steps, progress=f"intermediate tuning ({objective})" if progress else None)
    if steps.diverged:
        raise FloatingPointError(f"intermediate tuning diverged at step {len(steps.losses)}; "
                                 f"lower its lr ({it.lr:g})")
    return model.cpu(), codec
