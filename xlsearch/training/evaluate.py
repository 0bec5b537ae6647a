"""One eval round: generate on each language's dev examples and score what came out.

What is evaluated when: the source languages' dev sets in full every round (the objective, which
ASHA compares); the target languages' on a fixed sample (:func:`fixed_sample`, the spec's
``training.target_eval_sample``) in each round before the last, and in full in the last round.

The metrics of a round and their names are listed in :mod:`xlsearch.keys`.
"""
from __future__ import annotations

import contextlib
import math
import random
import re
from dataclasses import dataclass
from typing import Sequence

import torch

from xlsearch import keys
from xlsearch import metrics as M
from xlsearch.languages import fasttext_label
from xlsearch.models import Seq2SeqCodec
from xlsearch.tasks.base import Example, Task
from xlsearch.training.batches import length_sorted_batches, pad_batch

SENTINEL = re.compile(r"<extra_id_\d+>")  # mT5 pretraining sentinels


@dataclass
class Generations:
    lang: str
    examples: list[Example]
    predictions: list[str]  # special tokens removed: what is scored
    raw: list[str]  # mT5 sentinels kept: what the rudiment rate looks at


@torch.no_grad()
def generate(model, codec: Seq2SeqCodec, examples: Sequence[Example], lang: str, *, max_input_length: int,
             max_new_tokens: int, batch_size: int, num_beams: int = 1, device: torch.device | str = "cpu",
             autocast_dtype: torch.dtype | None = None) -> Generations:
    """Greedy or beam generation in ``lang``, in length-sorted batches; outputs in input order."""
    inputs = codec.encode([ex.input_text for ex in examples], lang, max_input_length)
    forced_bos = codec.forced_bos_token_id(lang)
    predictions: list[str] = [""] * len(inputs)
    raw: list[str] = [""] * len(inputs)
    was_training = model.training
    model.eval()
    autocast = (torch.autocast(device_type=torch.device(device).type, dtype=autocast_dtype)
                if autocast_dtype is not None else contextlib.nullcontext())
    try:
        for idx in length_sorted_batches(inputs, batch_size):
            batch = {k: v.to(device) for k, v in pad_batch([inputs[i] for i in idx], None, codec.pad_token_id).items()}
            kwargs = dict(max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False)
            if forced_bos is not None:
                kwargs["forced_bos_token_id"] = forced_bos
            with autocast:
                out = model.generate(**batch, **kwargs)
            out = out.cpu().tolist()
            for i, text, text_raw in zip(idx, codec.decode(out), codec.decode_keep_sentinels(out)):
                predictions[i], raw[i] = text, text_raw
    finally:
        model.train(was_training)
    return Generations(lang, list(examples), predictions, raw)


def fixed_sample(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """``n`` of ``examples`` drawn with ``seed``, in their order: the same ones for the same
    (examples, n, seed), so that rounds and trials are compared on one sample. All of them when
    ``n`` is 0 or not smaller than their number."""
    if n == 0 or len(examples) <= n:
        return list(examples)
    return [examples[i] for i in sorted(random.Random(seed).sample(range(len(examples)), n))]


def language_rates(task: Task, gens: Generations) -> dict[str, float]:
    """The label-free signals of one language's outputs (:data:`xlsearch.keys.LABEL_FREE`), from
    the outputs and their inputs only: no reference is read.

    Empty and rudiment rates count every output. The wrong-language and undetermined rates
    judge each output with its input (``Task.unlabeled_text``: for QA the question and context,
    which say the language the answer must be in; ``xlsearch.metrics.judge_outputs``): an output
    copied from its input is in the input's language, one in a script the language is not
    written in is wrong, a bare number is undetermined; they need a fastText label for the
    language (NaN otherwise). The length ratio is the outputs' characters over the inputs'.
    """
    n = len(gens.raw)
    inputs = [task.unlabeled_text(ex) for ex in gens.examples]
    input_chars = sum(len(text) for text in inputs)
    rates = {
        keys.EMPTY_RATE: sum(not t.strip() for t in gens.raw) / n if n else math.nan,
        keys.RUDIMENT_RATE: sum(bool(SENTINEL.search(t)) for t in gens.raw) / n if n else math.nan,
        keys.WRONG_LANGUAGE_RATE: math.nan,
        keys.UNDETERMINED_RATE: math.nan,
        keys.LENGTH_RATIO: sum(len(t.strip()) for t in gens.predictions) / input_chars if input_chars else math.nan,
        keys.LID_N: 0.0,
    }
    if fasttext_label(gens.lang) is None or not n:
        return rates
    found = M.generation_language_rates(gens.raw, gens.lang, inputs=inputs)
    rates[keys.WRONG_LANGUAGE_RATE] = float(found[keys.WRONG_LANGUAGE_RATE])
    rates[keys.UNDETERMINED_RATE] = float(found[keys.UNDETERMINED_RATE])
    rates[keys.LID_N] = float(n)
    return rates


def reference_language_rates(task: Task, gens: Generations) -> dict[str, float]:
    """The study's wrong-language rate for tasks that filter by the reference (QA: only examples
    whose reference answer is itself identifiably in the language count), as
    ``ref_wrong_language_rate`` and ``ref_lid_n``; {} for other tasks. It reads target labels:
    for reporting only."""
    mask = task.reference_language_mask(gens.examples, gens.lang) if fasttext_label(gens.lang) else None
    if mask is None:
        return {}
    kept = [r for r, keep in zip(gens.raw, mask) if keep]
    rate = M.generation_language_rates(kept, gens.lang)[keys.WRONG_LANGUAGE_RATE] if kept else math.nan
    return {keys.REF_WRONG_LANGUAGE_RATE: float(rate), keys.REF_LID_N: float(len(kept))}


def score_round(task: Task, source: list[Generations], targets: list[Generations],
                few_shot: Sequence[Generations] = (), pivots: Sequence[Generations] = ()) -> dict[str, float]:
    """The flat metrics dict of one eval round (the names: :mod:`xlsearch.keys`): ``targets`` are
    the target languages' measured examples, ``few_shot`` their held-out labeled few (if any),
    ``pivots`` the pivot languages' dev examples."""
    out: dict[str, float] = {}
    per_source = [task.score(g.predictions, g.examples) for g in source]
    for name in task.metric_names:
        out[keys.source_dev(name)] = _mean([s[name] for s in per_source])
    source_rates = [language_rates(task, g) for g in source]
    out[keys.source_dev(keys.WRONG_LANGUAGE_RATE)] = _mean([r[keys.WRONG_LANGUAGE_RATE] for r in source_rates])
    averaged: dict[str, list[float]] = {}
    for g in targets:
        found = {**task.score(g.predictions, g.examples), **language_rates(task, g),
                 **reference_language_rates(task, g), keys.EXAMPLES: float(len(g.examples))}
        for name, value in found.items():
            out[keys.target(g.lang, name)] = value
            if name not in (keys.LID_N, keys.REF_LID_N, keys.EXAMPLES):
                averaged.setdefault(name, []).append(value)
    for name, values in averaged.items():
        out[keys.target_mean(name)] = _mean(values)
    for gens, per_lang, mean in ((few_shot, keys.few_shot, keys.few_shot_mean), (pivots, keys.pivot, keys.pivot_mean)):
        scores = [task.score(g.predictions, g.examples) for g in gens if g.examples]
        for g, found in zip([g for g in gens if g.examples], scores):
            for name, value in found.items():
                out[per_lang(g.lang, name)] = value
        for name in task.metric_names if scores else ():
            out[mean(name)] = _mean([found[name] for found in scores])
    return out


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def sample_generations(gens: Sequence[Generations], n: int, task: Task | None = None) -> list[dict]:
    """The first ``n`` outputs of each language with their inputs and references, for a look,
    and how language id judged each output: its verdict (right, wrong, undetermined or empty
    language), the language lid.176 detected and its confidence (``metrics.judge_outputs``, with
    each output's input when ``task`` is given, as the round's rates judge it; null for a
    language lid.176 has no label for)."""
    samples = []
    for g in gens:
        shown = list(zip(g.examples, g.raw))[:n]
        inputs = [task.unlabeled_text(ex) for ex, _ in shown] if task is not None else None
        verdicts = (M.judge_outputs([raw for _, raw in shown], g.lang, inputs=inputs)
                    if fasttext_label(g.lang) is not None else [None] * len(shown))
        for (ex, raw), verdict in zip(shown, verdicts):
            judged = verdict.as_dict() if verdict is not None else dict.fromkeys(
                ("verdict", "detected_language", "confidence", "wrong_by_script"))
            samples.append({"lang": g.lang, "id": ex.id, "input": ex.input_text[:300],
                            "reference": ex.targets[0], "output": raw, **judged})
    return samples
