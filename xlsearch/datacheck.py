"""The data a spec names, read before any compute: every local file is opened and each record
checked against the task (for QA: every question has a non-empty answer), builtin data is
generated, and hub datasets are reached (their metadata only: nothing is downloaded). Examples
are counted per language and split.

``check_data`` is what ``xlsearch validate``, ``trial``, ``run`` and ``estimate`` call after the
spec itself is checked (:func:`xlsearch.checks.load_spec`). A problem is a
:class:`~xlsearch.spec.SpecError` naming the spec's field, the file (or hub dataset), the record or
line, and what was expected, on one line. Nothing here writes a file.
"""
from __future__ import annotations

from dataclasses import dataclass

from xlsearch.checks import method_languages
from xlsearch.methods import METHODS
from xlsearch.sources import task_source, text_role
from xlsearch.spec import SweepSpec, SpecError
from xlsearch.tasks import DataError, DataSource, Task, get_task


@dataclass(frozen=True)
class SplitCount:
    """How many examples the source of one language's split holds (None: a hub split whose size
    the hub's metadata does not give)."""

    lang: str
    role: str  # train, dev or unlabeled
    source: DataSource
    examples: int | None


def check_data(spec: SweepSpec) -> list[SplitCount]:
    """Check that the spec's hub models can be had (:func:`check_models`), then read and check
    every source the spec names or a trial will load; the counts, in the order of the spec's
    languages. Raises :class:`SpecError` (one line)."""
    check_models(spec)
    task = get_task(spec.task)
    counted: dict[tuple[DataSource, str], int | None] = {}
    counts = []
    for lang, role in _wanted(spec):
        source = task_source(spec, lang, role)
        if source is None:
            continue  # a split no trial loads (xlsearch.checks refuses a missing one that is needed)
        key = (source, lang)
        if key not in counted:
            counted[key] = _count(spec, task, lang, role, source)
        counts.append(SplitCount(lang, role, source, counted[key]))
    _check_few_shot(spec, counts)
    return counts


def _check_few_shot(spec: SweepSpec, counts: list[SplitCount]) -> None:
    """``selection.few_shot_examples`` leaves dev examples to measure on in every target language."""
    k = spec.selection.few_shot_examples
    for c in counts:
        if not k or c.role != "dev" or c.lang not in spec.target_languages or c.examples is None:
            continue
        used = c.examples if spec.subsample.dev is None else min(c.examples, spec.subsample.dev)
        if k >= used:
            raise SpecError("selection.few_shot_examples", k,
                            f"the {c.lang} dev data ({c.source.describe()}) gives {used} examples: hold out fewer, "
                            "so that some are left to measure every rule on")


def format_counts(counts: list[SplitCount], spec: SweepSpec | None = None) -> str:
    """``en train 245, dev 400 (uses 200); de dev 59``: the examples in each source (``?`` for a
    hub split of unknown size), and how many trials use where ``spec.subsample`` takes fewer."""
    by_lang: dict[str, list[str]] = {}
    for c in counts:
        n = "?" if c.examples is None else str(c.examples)
        limit = getattr(spec.subsample, c.role, None) if spec is not None else None
        used = f" (uses {limit})" if limit is not None and (c.examples is None or limit < c.examples) else ""
        by_lang.setdefault(c.lang, []).append(f"{c.role} {n}{used}")
    return "; ".join(f"{lang} {', '.join(parts)}" for lang, parts in by_lang.items())


def check_models(spec: SweepSpec) -> None:
    """The spec's model, and the translation model where translate-train uses one, when they are
    hub ids: in the local hub cache, or the hub reachable (:mod:`xlsearch.hub`). Otherwise one
    line, at once, naming the field: the hub clients would retry for half a minute."""
    from xlsearch.space import uses_train_data
    from xlsearch import keys

    fields = [("model", spec.model)]
    if uses_train_data(spec, keys.TRANSLATE_TRAIN):
        fields.append(("translation.model", spec.translation.model))
    for field, name in fields:
        check_hub_model(field, name)


def check_hub_model(field: str, name: str) -> None:
    """One model name of the spec (``field``): nothing to do unless it is a hub id; a hub id
    must be in the local cache when the hub's offline switch is on, and else the hub must
    answer, or the cache hold it. Raises :class:`SpecError`."""
    from xlsearch import hub
    from xlsearch.models import ModelError, resolve_model

    try:
        ref = resolve_model(name)
    except (ModelError, OSError, ValueError):
        return  # not a model name here (perfect-translation) or one the spec's checks refuse
    if ref.kind != "hub":
        return
    cached = hub.cached_file(ref.location, "config.json")
    switch = hub.offline_switch()
    if switch and not cached:
        raise SpecError(field, name, f"hub model {ref.location!r} is not in the local hub cache and {switch} is set "
                        "(only the cache is used): download it where the hub can be reached, give a local model "
                        "directory, or unset the switch")
    problem = None if switch else hub.unreachable()
    if problem:
        hint = ("it is in the local cache: set HF_HUB_OFFLINE=1 to use it" if cached else hub.WHAT_TO_DO)
        raise SpecError(field, name, f"hub model {ref.location!r}: the hub cannot be reached ({problem}); {hint}")


def _wanted(spec: SweepSpec) -> list[tuple[str, str]]:
    """(language, role) pairs to check: every split the spec gives, and every split a trial,
    the intermediate tuning or a method reads, in a stable order."""
    wanted: dict[tuple[str, str], None] = {}
    train_langs = list(spec.source_languages) + sorted(method_languages(spec) - set(spec.source_languages))
    for lang in spec.all_languages + [lang for lang in train_langs if lang not in spec.all_languages]:
        if lang in train_langs:
            wanted[(lang, "train")] = None
        wanted[(lang, "dev")] = None
        for role in spec.data.get(lang, {}):
            wanted[(lang, role)] = None
    for lang, roles in spec.data.items():
        for role in roles:
            wanted[(lang, role)] = None
    text_langs: list[str] = []
    if any(METHODS[name].trains_on_target_text for name in spec.search.methods if name in METHODS):
        text_langs += spec.target_languages
    for option in spec.search.intermediate_tuning:
        if option != "none":
            text_langs += option.languages or spec.source_and_target_languages
    for lang in dict.fromkeys(text_langs):
        role = text_role(spec, lang)
        if role is None:
            raise SpecError(f"data.{lang}.unlabeled", None, "no text at all for this language (intermediate "
                            "tuning or a method trains on it); give data.<lang>.unlabeled, .train or .dev")
        wanted[(lang, role)] = None
    return list(wanted)


def _count(spec: SweepSpec, task: Task, lang: str, role: str, source: DataSource) -> int | None:
    given = spec.data.get(lang, {}).get(role)
    if given is None:  # the task's hub default
        field, value = f"data.{lang}.{role}", source.hub or source.builtin or source.path
    else:
        kind = "path" if given.path is not None else "hub" if given.hub is not None else "builtin"
        field, value = f"data.{lang}.{role}.{kind}", getattr(given, kind)
    if source.hub is not None:
        return _hub_split_size(task, lang, source, field, value, default=given is None)
    try:
        return len(task.load(source, lang))
    except DataError as err:
        raise SpecError(field, value, _without_prefix(str(err), source)) from None
    except Exception as err:  # noqa: BLE001 - a task's own reader may raise anything; the user gets one line
        raise SpecError(field, value, f"could not be read: {type(err).__name__}: {err}") from None


def _without_prefix(message: str, source: DataSource) -> str:
    """The message without the file's name in front: the spec's field and value name it."""
    if source.path is not None:
        for prefix in (f"data file {source.path}: ", f"data file {source.path} ", f"{source.describe()}: "):
            if message.startswith(prefix):
                return message[len(prefix):]
    return message


def _hub_split_size(task: Task, lang: str, source: DataSource, field: str, value: object, *,
                    default: bool) -> int | None:
    """Reach the hub dataset (its metadata only) and check its configuration and split; its
    size where the metadata gives one."""
    import datasets

    what = f"the {task.name} hub default {source.hub!r}" if default else f"hub dataset {source.hub!r}"
    try:
        config = source.config or task.hub_config(source.hub, lang)
    except DataError as err:
        raise SpecError(field, value, str(err)) from None
    from xlsearch import hub

    split = source.split or task.default_split
    where = f"{what} ({f'config {config!r}, ' if config else ''}split {split!r})"
    problem = hub.unreachable()  # at once, before the hub client's retries
    if problem:
        raise SpecError(field, value, f"{where}: the hub cannot be reached ({problem}); {hub.WHAT_TO_DO}")
    try:
        builder = datasets.load_dataset_builder(source.hub, config)
    except ConnectionError as err:  # offline mode: only the local cache, which lacks it
        switch = hub.offline_switch()
        if switch:
            raise SpecError(field, value, f"{where} is not in the local hub cache and {switch} is set (only the "
                            "cache is used): download it where the hub can be reached and give a local `path:`, "
                            "or unset the switch") from None
        raise SpecError(field, value, f"{where} cannot be reached ({_first_line(err)}); {hub.WHAT_TO_DO}") from None
    except FileNotFoundError as err:  # DatasetNotFoundError and its kin
        raise SpecError(field, value, f"{where} was not found on the hub: {_first_line(err)}") from None
    except Exception as err:  # noqa: BLE001 - a bad config, a gated dataset, an unexpected hub answer
        raise SpecError(field, value, f"{where} could not be opened: {_first_line(err)}") from None
    splits = builder.info.splits or {}
    if splits and split not in splits:
        raise SpecError(field, value, f"{where}: no split {split!r}; it has {', '.join(sorted(splits))}")
    info = splits.get(split) if splits else None
    return info.num_examples if info is not None and info.num_examples else None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
