"""Translate-train's data: the source training data translated into each target language.

``xlsearch translate SPEC`` (and a sweep whose ``search.train_data`` holds ``translate_train``,
before its first trial) translates the first source language's training examples, as the spec
subsamples them, into every target language with ``translation.model``: a seq2seq MT model of a
family with language tokens (NLLB-200 by default, mBART-50's many-to-many checkpoints too), by
registry name, hub id or directory. A task says which texts of an example are translated
(:meth:`xlsearch.tasks.Task.translation_parts`: an article and its summary; a question, its
context and its answer), each on its own and sentence by sentence (Wikimedia's sentencex), in
length-sorted batches, on a GPU when there is one.

Each (translator, data, target) is cached once under ``STORAGE/translations/``, in a folder
named by a hash of everything that produced it. The examples are translated in chunks, each
written whole (a temporary file renamed) or not at all, so a killed run resumes at the first
missing chunk; ``done.json`` marks a finished translation, and only a finished one is trained on.

``perfect-translation`` is not an MT system: for a builtin dataset whose every language states
the same facts (the lab's world) it writes each training example in the target language as the
dataset itself does, so translate-train with it is a ceiling, the perfect translation.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from filelock import FileLock

from xlsearch.checks import check_translation
from xlsearch.models import load_model, resolve_model
from xlsearch.paths import safe_name
from xlsearch.sources import task_source
from xlsearch.spec import PERFECT_TRANSLATION, SweepSpec
from xlsearch.tasks import get_task
from xlsearch.tasks.base import DataError, Example
from xlsearch.training.data import load_split

CACHE_VERSION = 1  # bump when the procedure changes, so old translations are not reused
CHUNK_EXAMPLES = 128  # examples per chunk file: what a kill can lose
DONE_FILE = "done.json"


@dataclass(frozen=True)
class Translation:
    target: str
    path: Path
    examples: int
    translated_now: int  # examples translated by this call (0: all from the cache)


def source_language(spec: SweepSpec) -> str:
    """The language translated from: the first source language."""
    return spec.source_languages[0]


def cache_key(spec: SweepSpec, target: str) -> str:
    """A hash of everything that determines the translation into ``target``: the translator (and
    when its directory was written), the task, the source data as the spec subsamples it, the
    generation settings and this module's procedure."""
    name = spec.translation.model
    translator: list = [name]
    if name != PERFECT_TRANSLATION:
        ref = resolve_model(name)
        translator = [ref.name, ref.kind, ref.location, _directory_fingerprint(ref.location)]
    source = source_language(spec)
    data = task_source(spec, source, "train")
    payload = {
        "version": CACHE_VERSION,
        "translator": translator,
        "settings": spec.translation.model_dump(exclude={"model"}) if name != PERFECT_TRANSLATION else None,
        "task": spec.task,
        "source": [source, repr(data), _file_hash(data.path) if data and data.path else None,
                   spec.subsample.train, spec.search.seed],
        "target": target,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _directory_fingerprint(location: str | None) -> str | None:
    """A model directory's config and its files' names and sizes (the same on every node that
    holds a copy; a rebuilt model differs), or None for a hub id."""
    folder = Path(location) if location else None
    if folder is None or not folder.is_dir():
        return None
    files = sorted((p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file())
    config = folder / "config.json"
    digest = hashlib.sha256(config.read_bytes() if config.is_file() else b"")
    digest.update(json.dumps(files).encode())
    return digest.hexdigest()


def _file_hash(path: str) -> str | None:
    """A local data file's content hash: an edited file is translated again. Read once per
    state of the file (its size and time) in a process: a trial asks once per target."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _content_hash(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _content_hash(path: str, size: int, mtime_ns: int) -> str | None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def cache_dir(spec: SweepSpec, target: str, key: str | None = None) -> Path:
    """The translation's folder; ``key``: its :func:`cache_key`, when already computed."""
    key = key or cache_key(spec, target)
    return (Path(spec.storage).expanduser() / "translations"
            / f"{safe_name(spec.translation.model)}-{spec.task}-{source_language(spec)}-{target}-{key[:12]}")


def translated_examples(spec: SweepSpec, target: str, source_examples: list[Example] | None = None
                        ) -> list[Example]:
    """The finished translation of the source training data into ``target``, in the source
    data's order (``source_examples``: that data, when the caller has loaded it already).
    Raises DataError when it has not been made (``xlsearch translate``)."""
    folder = cache_dir(spec, target)
    if not (folder / DONE_FILE).is_file():
        raise DataError(f"no finished translation of the {source_language(spec)} training data into {target!r} "
                        f"by {spec.translation.model!r} in {folder}; run `xlsearch translate SPEC` (a sweep "
                        "makes it before its first trial)")
    examples = source_examples if source_examples is not None else load_split(spec, source_language(spec), "train")
    parts = _read_chunks(folder)
    task = get_task(spec.task)
    missing = [ex.id for ex in examples if ex.id not in parts]
    if missing:
        raise DataError(f"translation cache {folder} lacks example {missing[0]!r}; delete the folder and translate again")
    return [task.from_translation(ex, parts[ex.id], target) for ex in examples]


def _read_chunks(folder: Path) -> dict[str, list[str]]:
    parts: dict[str, list[str]] = {}
    for chunk in sorted(folder.glob("chunk-*.jsonl")):
        for line in chunk.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                parts[row["id"]] = row["parts"]
    return parts


def _write_whole(path: Path, text: str) -> None:
    """``path`` written whole or not at all: a temporary file beside it, flushed to the disk,
    then renamed (a kill or a power loss leaves the old state or the new, never half a file)."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def ensure_translations(spec: SweepSpec, targets: Sequence[str] | None = None, *, device=None,
                        progress: bool = False, log: Callable[[str], None] = print) -> list[Translation]:
    """Each target language's translation, from the cache or made now (resuming a killed run at
    its first missing chunk). A file lock per target makes a second process wait, then read it."""
    targets = list(spec.target_languages if targets is None else targets)
    check_translation(spec, targets)
    source = source_language(spec)
    examples = load_split(spec, source, "train")
    task = get_task(spec.task)
    translator = None
    done = []
    for target in targets:
        key = cache_key(spec, target)
        folder = cache_dir(spec, target, key)
        if (folder / DONE_FILE).is_file():
            done.append(Translation(target, folder, len(examples), 0))
            log(f"translation {source} -> {target}: found in cache ({folder})")
            continue
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(folder.parent / f"{folder.name}.lock"):
            if (folder / DONE_FILE).is_file():
                done.append(Translation(target, folder, len(examples), 0))
                continue
            for stale in folder.glob("*.tmp*"):  # a killed run's unfinished file; never read
                stale.unlink(missing_ok=True)
            if translator is None:
                translator = _translator(spec, device)
            started = time.time()
            now = _translate_chunks(spec, task, examples, target, folder, translator, progress, log)
            seconds = time.time() - started
            _write_whole(folder / DONE_FILE, json.dumps(
                {"translator": spec.translation.model, "task": spec.task, "source": source, "target": target,
                 "examples": len(examples), "key": key, "seconds_last_run": seconds},
                indent=2))
            log(f"translation {source} -> {target}: {len(examples)} examples ({now} translated now, "
                f"{seconds:.0f} s) -> {folder}")
            done.append(Translation(target, folder, len(examples), now))
    return done


def _translate_chunks(spec, task, examples: list[Example], target: str, folder: Path, translate,
                      progress: bool, log) -> int:
    from tqdm.auto import tqdm

    chunks = [examples[i:i + CHUNK_EXAMPLES] for i in range(0, len(examples), CHUNK_EXAMPLES)]
    todo = [(i, c) for i, c in enumerate(chunks) if not (folder / f"chunk-{i:06d}.jsonl").is_file()]
    if len(todo) < len(chunks):
        log(f"translation {source_language(spec)} -> {target}: resuming, {len(chunks) - len(todo)} of "
            f"{len(chunks)} chunks already written")
    bar = tqdm(total=len(examples), initial=len(examples) - sum(len(c) for _, c in todo), unit="ex",
               desc=f"translating {source_language(spec)}->{target}", disable=not progress)
    translated = 0
    try:
        for index, chunk in todo:
            parts = translate(chunk, target, task)
            lines = [json.dumps({"id": ex.id, "parts": list(p)}, ensure_ascii=False) for ex, p in zip(chunk, parts)]
            _write_whole(folder / f"chunk-{index:06d}.jsonl", "\n".join(lines) + "\n")
            translated += len(chunk)
            bar.update(len(chunk))
    finally:
        bar.close()
    return translated


def _translator(spec: SweepSpec, device):
    """``(examples, target, task) -> translated parts per example``."""
    if spec.translation.model == PERFECT_TRANSLATION:
        return _PerfectTranslation(spec)
    return _ModelTranslation(spec, device)


class _PerfectTranslation:
    """The builtin dataset's own text of each example in the target language (same id)."""

    def __init__(self, spec: SweepSpec):
        self.source = task_source(spec, source_language(spec), "train")
        self.rows: dict[str, dict[str, Example]] = {}

    def __call__(self, examples: list[Example], target: str, task) -> list[tuple[str, ...]]:
        if target not in self.rows:
            self.rows[target] = {ex.id: ex for ex in task.load(self.source, target)}
        out = []
        for ex in examples:
            twin = self.rows[target].get(ex.id)
            if twin is None:
                raise DataError(f"{self.source.describe()} has no {target} text for example {ex.id!r}")
            out.append(task.translation_parts(twin))
        return out


class _ModelTranslation:
    """An MT model of a family with language tokens: the source language's token on the input,
    the target's forced as the first generated token; greedy or beam search."""

    def __init__(self, spec: SweepSpec, device):
        import torch

        self.spec, self.cfg = spec, spec.translation
        self.device = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model, self.codec = load_model(self.cfg.model)
        self.model.to(self.device).eval()

    def sentences(self, text: str) -> list[str]:
        """``text`` cut at sentence ends (sentencex's rules for the source language, or the
        fallback languages it names for one it lacks)."""
        from sentencex import segment

        return [p.strip() for p in segment(source_language(self.spec), text) if p.strip()]

    def __call__(self, examples: list[Example], target: str, task) -> list[tuple[str, ...]]:
        import torch

        from xlsearch.training.batches import length_sorted_batches, pad_batch

        source = source_language(self.spec)
        # Every sentence of every part of every example, translated as one list.
        layout = [[self.sentences(part) for part in task.translation_parts(ex)] for ex in examples]
        flat = [s for parts in layout for part in parts for s in part]
        inputs = self.codec.encode(flat, source, self.cfg.max_input_length)
        outputs: list[str] = [""] * len(flat)
        forced = self.codec.forced_bos_token_id(target)
        autocast = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
            for idx in length_sorted_batches(inputs, self.cfg.batch_size):
                batch = {k: v.to(self.device)
                         for k, v in pad_batch([inputs[i] for i in idx], None, self.codec.pad_token_id).items()}
                out = self.model.generate(**batch, forced_bos_token_id=forced, max_new_tokens=self.cfg.max_new_tokens,
                                          num_beams=self.cfg.num_beams, do_sample=False)
                for i, text in zip(idx, self.codec.decode(out.cpu().tolist())):
                    outputs[i] = text
        translated, at = [], 0
        for parts in layout:
            joined = []
            for part in parts:
                joined.append(" ".join(outputs[at:at + len(part)]))
                at += len(part)
            translated.append(tuple(joined))
        return translated


__all__ = ["Translation", "ensure_translations", "translated_examples", "cache_dir"]
