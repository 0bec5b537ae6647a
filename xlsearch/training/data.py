"""The examples one trial needs, loaded through the tasks and subsampled as the spec says."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from xlsearch.sources import task_source, text_role
from xlsearch.spec import SweepSpec
from xlsearch.tasks import get_task
from xlsearch.tasks.base import DataError, Example


@dataclass
class TrialData:
    train: dict[str, list[Example]]  # labelled task data per training language
    # Dev examples per source, target and pivot language; a target language's without its
    # few-shot examples (what every target/ score is measured on).
    dev: dict[str, list[Example]]
    unlabeled: dict[str, list[str]] = field(default_factory=dict)  # target text, inputs only
    # Per target language, the labeled dev examples held out for the few_shot_target rule.
    few_shot: dict[str, list[Example]] = field(default_factory=dict)


def load_split(spec: SweepSpec, lang: str, split: str) -> list[Example]:
    source = task_source(spec, lang, split)
    if source is None:
        raise DataError(f"no {split} data for language {lang!r}")
    limit = getattr(spec.subsample, split)
    return get_task(spec.task).load(source, lang, limit=limit, seed=spec.search.seed)


def unlabeled_texts(spec: SweepSpec, lang: str, limit: int | None) -> list[str]:
    """Unlabeled text in ``lang``: the task inputs of its `unlabeled` split, else of `train`,
    else of `dev`; never the labels."""
    task = get_task(spec.task)
    role = text_role(spec, lang)
    if role is not None:
        examples = task.load(task_source(spec, lang, role), lang, limit=limit, seed=spec.search.seed)
        return [text for text in map(task.unlabeled_text, examples) if text.strip()]
    raise DataError(f"no text at all for language {lang!r}")


def split_few_shot(examples: list[Example], k: int, seed: int) -> tuple[list[Example], list[Example]]:
    """(the ``k`` few-shot examples, the rest), each in the examples' order: drawn with ``seed``,
    the same for every trial of a sweep. Nothing is held out when ``k`` is 0."""
    if k <= 0:
        return [], list(examples)
    if k >= len(examples):
        raise DataError(f"selection.few_shot_examples = {k}: the {examples[0].lang if examples else '?'} dev data "
                        f"has {len(examples)} examples; hold out fewer, so that some are left to measure on")
    chosen = set(random.Random(f"few-shot {seed}").sample(range(len(examples)), k))
    return ([ex for i, ex in enumerate(examples) if i in chosen],
            [ex for i, ex in enumerate(examples) if i not in chosen])


def load_trial_data(spec: SweepSpec, training_languages: list[str], with_unlabeled: bool) -> TrialData:
    train = {lang: load_split(spec, lang, "train") for lang in training_languages}
    dev = {lang: load_split(spec, lang, "dev") for lang in spec.all_languages}
    few_shot = {}
    for lang in spec.target_languages:
        few_shot[lang], dev[lang] = split_few_shot(dev[lang], spec.selection.few_shot_examples, spec.search.seed)
    unlabeled = {}
    if with_unlabeled:
        unlabeled = {lang: unlabeled_texts(spec, lang, spec.subsample.unlabeled) for lang in spec.target_languages}
    return TrialData(train, dev, unlabeled, few_shot if spec.selection.few_shot_examples else {})
