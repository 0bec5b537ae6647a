"""What every task shares: the Example a task yields, where its data comes from, and how it is loaded.

A task turns rows of a dataset (a local file, a Hugging Face hub dataset, or a builtin generated
dataset) into ``Example``s with one text input and the outputs accepted for it, and scores a
model's predictions against them. A new task subclasses ``Task``, says how a row becomes an
Example and how a local file is read, and is registered in ``xlsearch/tasks/__init__.py``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Sequence

from xlsearch.languages import get_language
from xlsearch.tasks.builtin import builtin_rows

# The split of a hub or builtin dataset that serves each role of a spec's data when the spec
# names none: training and unlabeled text never come from the examples that are scored.
ROLE_SPLITS = {"train": "train", "dev": "validation", "unlabeled": "train"}


@dataclass(frozen=True)
class Example:
    """One input text and the outputs accepted for it; ``targets[0]`` is the training target."""

    id: str
    lang: str
    input_text: str
    targets: tuple[str, ...]


class DataError(ValueError):
    """Data that is missing or not of the shape a task expects; the message names the source."""


@dataclass(frozen=True)
class DataSource:
    """Where a task's examples come from: exactly one of a local file, a hub dataset or a builtin.

    ``config`` and ``split`` choose the hub dataset's configuration and split (a task fills in its
    default when they are None); ``split`` also chooses the part of a builtin dataset.
    """

    path: str | None = None
    hub: str | None = None
    builtin: str | None = None
    config: str | None = None
    split: str | None = None

    def __post_init__(self) -> None:
        given = [f for f in ("path", "hub", "builtin") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(
                f"DataSource needs exactly one of path, hub, builtin; got {given or 'none'}"
            )
        if self.config is not None and self.hub is None:
            raise ValueError(f"DataSource config={self.config!r} applies only to a hub dataset")

    def describe(self) -> str:
        """The source in one phrase, for error messages."""
        if self.path is not None:
            return f"file {self.path}"
        if self.hub is not None:
            return f"hub dataset {self.hub!r} (config {self.config!r}, split {self.split!r})"
        return f"builtin dataset {self.builtin!r} (split {self.split!r})"


class Task:
    """A text-to-text task: loads Examples from a DataSource and scores predictions on them.

    Subclasses set the class attributes and implement ``example_from_row`` (one row, in the hub
    dataset's column layout, to an Example), ``read_local_rows`` (a local file to rows in that
    same layout) and ``metric_scores``.
    """

    name: ClassVar[str]
    objective_metric: ClassVar[str]  # the metric of source-language dev data that the search maximises
    metric_names: ClassVar[tuple[str, ...]]
    metric_labels: ClassVar[dict[str, str]] = {}  # display names in reports ("rougeL" -> "ROUGE-L")
    default_split: ClassVar[str]  # hub or builtin split used when the DataSource names none
    required_fields: ClassVar[tuple[str, ...]]  # columns every row needs

    def load(
        self, source: DataSource, lang: str, *, limit: int | None = None, seed: int = 0
    ) -> list[Example]:
        """The examples of ``source`` in language ``lang``, at most ``limit`` of them.

        The subsample is drawn with ``seed`` and kept in the source's order, so the same seed
        gives the same examples and a smaller limit's sample is part of a larger one's. A limit
        at least the size of the data returns everything, the same as ``limit=None``.
        """
        get_language(lang)  # an unknown code stops here, naming the supported ones
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be None or >= 0, got {limit}")
        split = source.split or self.default_split
        if source.builtin is not None:
            try:
                rows = builtin_rows(source.builtin, self.name, lang, split)
            except ValueError as err:
                raise DataError(str(err)) from None
        elif source.path is not None:
            rows = self.read_local_rows(Path(source.path))
        else:
            config = source.config or self.hub_config(source.hub, lang)
            rows = read_hub_rows(source.hub, config, split)
        examples = [self.example_from_row(row, lang) for row in check_rows(rows, self.required_fields, source)]
        return subsample(examples, limit, seed)

    def score(self, predictions: Sequence[str], examples: Sequence[Example]) -> dict[str, float]:
        """Metric name -> value (0-100) of ``predictions[i]`` against ``examples[i].targets``.

        The metrics themselves live in ``xlsearch.metrics``; length checks happen there.
        """
        langs = sorted({ex.lang for ex in examples})
        if len(langs) != 1:  # metrics tokenize and normalize per language
            raise ValueError(f"score() takes examples of one language; got {', '.join(langs) or 'none'}")
        return {k: float(v) for k, v in self.metric_scores(list(predictions), list(examples), langs[0]).items()}

    def unlabeled_text(self, example: Example) -> str:
        """The example's input text alone, for language-modelling objectives on target text."""
        return example.input_text

    def language_id_mask(self, examples: Sequence[Example], lang: str) -> list[bool]:
        """Which examples' outputs language id can judge; all of them unless a task says less."""
        return [True] * len(examples)

    def metric_label(self, metric: str) -> str:
        return self.metric_labels.get(metric, metric)

    # --- what a task implements ---------------------------------------------------------

    def default_source(self, lang: str, role: str) -> DataSource | None:
        """Where the hub has ``lang``'s data for ``role`` (``train``, ``dev`` or ``unlabeled``) when
        a spec names none; None when it has none (the spec must then give a source)."""
        return None

    def hub_config(self, hub: str, lang: str) -> str | None:
        """The hub configuration for ``lang`` when the DataSource names none (None: the default)."""
        return None

    def read_local_rows(self, path: Path) -> list[dict[str, Any]]:
        raise NotImplementedError

    def example_from_row(self, row: dict[str, Any], lang: str) -> Example:
        raise NotImplementedError

    def metric_scores(self, predictions: list[str], examples: list[Example], lang: str) -> dict[str, float]:
        raise NotImplementedError


def subsample(examples: list[Example], limit: int | None, seed: int) -> list[Example]:
    """``limit`` examples chosen with ``seed``, in their original order (all when limit is None)."""
    if limit is None or limit >= len(examples):
        return list(examples)
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    return [examples[i] for i in sorted(order[:limit])]


def check_rows(rows: list[dict[str, Any]], required: tuple[str, ...], source: DataSource) -> list[dict[str, Any]]:
    """``rows`` unchanged when each has every ``required`` field set; a DataError otherwise."""
    for i, row in enumerate(rows):
        missing = [f for f in required if row.get(f) is None]
        if missing:
            raise DataError(
                f"{source.describe()}: row {i} has no {', '.join(map(repr, missing))}; "
                f"each row needs fields {', '.join(required)}"
            )
    return rows


def read_json_rows(path: Path, *, field: str | None = None) -> list[dict[str, Any]]:
    """The records of a local JSON Lines file (or, with ``field``, of a JSON file's list ``field``)."""
    import datasets

    if not path.is_file():
        raise DataError(f"data file {path} does not exist (expected a JSON{'' if field else ' Lines'} file)")
    try:
        dataset = datasets.load_dataset("json", data_files=str(path), field=field, split="train")
    except (datasets.exceptions.DatasetGenerationError, OSError, ValueError) as err:
        expected = f"a JSON object with a list {field!r}" if field else "JSON Lines, one object a line"
        raise DataError(f"data file {path} could not be read as {expected}: {err}") from err
    return dataset.to_list()


def read_hub_rows(hub: str, config: str | None, split: str) -> list[dict[str, Any]]:
    """The rows of one split of a Hugging Face hub dataset (downloaded once, then cached)."""
    import datasets

    try:
        dataset = datasets.load_dataset(hub, config, split=split)
    except (OSError, ValueError) as err:  # ConnectionError and hub errors are OSErrors
        raise DataError(
            f"hub dataset {hub!r} (config {config!r}, split {split!r}) could not be loaded: "
            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}; if the hub cannot be "
            f"reached from here, download the data and give a local `path:` instead"
        ) from err
    return dataset.to_list()

