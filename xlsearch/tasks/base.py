"""What every task shares: the Example a task yields, where its data comes from, and how it is loaded.

A task turns rows of a dataset (a local file, a Hugging Face hub dataset, or a builtin generated
dataset) into ``Example``s with one text input and the outputs accepted for it, and scores a
model's predictions against them. A new task subclasses ``Task``, says how a row becomes an
Example and how a local file is read, and is registered in ``xlsearch/tasks/__init__.py``.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Sequence

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
        if not rows:
            raise DataError(f"{source.describe()}: no rows")
        checked = check_rows(rows, self.required_fields, source, problem=self.row_problem)
        examples = [self.example_from_row(row, lang) for row in checked]
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

    def translation_parts(self, example: Example) -> tuple[str, ...]:
        """The texts of a training example that translate-train translates, each on its own:
        by default the input and the training target."""
        return (example.input_text, example.targets[0])

    def from_translation(self, example: Example, parts: Sequence[str], lang: str) -> Example:
        """``example`` rebuilt in ``lang`` from its translated :meth:`translation_parts`."""
        return Example(id=example.id, lang=lang, input_text=parts[0], targets=(parts[1],))

    def reference_language_mask(self, examples: Sequence[Example], lang: str) -> list[bool] | None:
        """For a task whose study filters the wrong-language rate by the reference (QA), which
        examples' references are identifiably in ``lang``; None for other tasks. Reads target
        labels: the rate it gives is for reporting only (``ref_wrong_language_rate``)."""
        return None

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

    def row_problem(self, row: dict[str, Any]) -> str | None:
        """What is wrong with a row that has every required field, in words (what was found and
        what was expected), or None. Rows are checked before ``example_from_row`` sees them."""
        return None

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


class Records(list):
    """Rows read from a file, with where each came from (``line 3``) for error messages."""

    def __init__(self, rows: Iterable[dict[str, Any]] = (), where: Iterable[str] = ()):
        super().__init__(rows)
        self.where = list(where)


def kind_of(value: Any) -> str:
    """A JSON value's kind in words, for messages: 'a list', 'a number', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_rows(rows: list[dict[str, Any]], required: tuple[str, ...], source: DataSource,
               problem: Callable[[dict[str, Any]], str | None] | None = None) -> list[dict[str, Any]]:
    """``rows`` unchanged when each is an object with every ``required`` field set and, given
    ``problem``, ``problem(row)`` finds nothing; a DataError naming the row (and, for rows read
    from a file, its line or place) otherwise."""
    where = getattr(rows, "where", None)
    for i, row in enumerate(rows):
        at = f" ({where[i]})" if where and i < len(where) else ""
        if not isinstance(row, dict):
            raise DataError(f"{source.describe()}: row {i}{at} is {kind_of(row)}; expected an object with fields "
                            f"{', '.join(required)}")
        missing = [f for f in required if row.get(f) is None]
        if missing:
            raise DataError(f"{source.describe()}: row {i} has no {', '.join(map(repr, missing))}{at}; "
                            f"each row needs fields {', '.join(required)}")
        found = problem(row) if problem is not None else None
        if found:
            raise DataError(f"{source.describe()}: row {i}{at}: {found}")
    return rows


JSON_LINES = "JSON Lines, one object a line"


def _unreadable(path: Path, shape: str, detail: str) -> DataError:
    return DataError(f"data file {path} could not be read as {shape}: {detail}")


def _read_text(path: Path, shape: str) -> str:
    """A local file's text (UTF-8; .gz, .bz2 and .xz are decompressed)."""
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix)
    try:
        is_dir = path.is_dir()
    except (OSError, ValueError):
        is_dir = False
    if is_dir:
        raise _unreadable(path, shape, "a folder, not a file")
    try:
        if opener is not None:
            with opener(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"data file {path} does not exist (expected {shape})") from None
    except (OSError, EOFError, ValueError, lzma.LZMAError) as err:
        raise _unreadable(path, shape, str(getattr(err, "strerror", None) or err)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _unreadable(path, shape, f"line {line}: byte 0x{data[err.start]:02x} is not UTF-8 text") from None


def _parse_json(text: str, path: Path, shape: str, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        at = f"line {line}, column {err.colno}" if line is not None else f"line {err.lineno}, column {err.colno}"
        raise _unreadable(path, shape, f"{at}: not valid JSON ({err.msg})") from None
    except RecursionError:
        raise _unreadable(path, shape, f"{f'line {line}: ' if line else ''}JSON nested too deeply") from None


def read_json_rows(path: Path, *, field: str | None = None, expected: str | None = None) -> list[dict[str, Any]]:
    """The records of a local JSON Lines file (or of a JSON list of objects), or, with
    ``field``, the list ``field`` of a JSON file's object. ``expected`` names the format in
    messages.

    Records come back as :class:`Records`, which know the line each came from. Raises
    DataError naming the file, the line and what was expected.
    """
    path = Path(path)
    if field is not None:
        shape = f"a JSON object with a list {field!r}" + (f" ({expected})" if expected else "")
        text = _read_text(path, shape)
        if not text.strip():
            raise _unreadable(path, shape, "empty file")
        document = _parse_json(text, path, shape)
        if not isinstance(document, dict):
            raise _unreadable(path, shape, f"{kind_of(document)} at the top")
        if field not in document:
            raise _unreadable(path, shape, f"no {field!r} key")
        rows = document[field]
        if not isinstance(rows, list):
            raise _unreadable(path, shape, f"{field!r} is {kind_of(rows)}")
        return Records(rows, (f"{field}[{i}]" for i in range(len(rows))))
    shape = expected or JSON_LINES
    text = _read_text(path, shape)
    if not text.strip():
        raise _unreadable(path, shape, "empty file")
    if text.lstrip().startswith("["):  # one JSON list of objects
        document = _parse_json(text, path, shape)
        if not isinstance(document, list):
            raise _unreadable(path, shape, f"{kind_of(document)} at the top")
        for i, row in enumerate(document):
            if not isinstance(row, dict):
                raise _unreadable(path, shape, f"record {i + 1} is {kind_of(row)}, not an object")
        return Records(document, (f"record {i + 1}" for i in range(len(document))))
    rows, where = [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        row = _parse_json(line, path, shape, line=number)
        if not isinstance(row, dict):
            raise _unreadable(path, shape, f"line {number} is {kind_of(row)}, not an object")
        rows.append(row)
        where.append(f"line {number}")
    return Records(rows, where)


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

