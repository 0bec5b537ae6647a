"""The examples one trial needs, loaded through the tasks and subsampled as the spec says."""
from __future__ import annotations

from dataclasses import dataclass, field

from xlsearch.sources import task_source, text_role
from xlsearch.spec import SweepSpec
from xlsearch.tasks import get_task
from xlsearch.tasks.base import DataError, Example


@dataclass
class TrialData:
    train: dict[str, list[Example]]  # labelled task data per training language
    dev: dict[str, list[Example]]  # dev examples per source and target language
    unlabeled: dict[str, list[str]] = field(default_factory=dict)  # target text, inputs only


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


def load_trial_data(spec: SweepSpec, training_languages: list[str], with_unlabeled: bool) -> TrialData:
    train = {lang: load_split(spec, lang, "train") for lang in training_languages}
    dev = {lang: load_split(spec, lang, "dev") for lang in spec.all_languages}
    unlabeled = {}
    if with_unlabeled:
        unlabeled = {lang: unlabeled_texts(spec, lang, spec.subsample.unlabeled) for lang in spec.target_languages}
    return TrialData(train, dev, unlabeled)
