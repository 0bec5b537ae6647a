"""Checks of a spec against everything outside its schema: the registries of tasks, models,
methods and languages, the data it names, and rules across fields (low <= high, the grid against
the trial budget). ``parse_spec`` and ``load_spec`` are how the package reads a spec.

Every failure is a :class:`~xlsearch.spec.SpecError`: one line naming the field, the bad value
and what is allowed. Nothing here starts compute or writes a file.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from xlsearch import keys
from xlsearch.families import ModelFamily, get_family
from xlsearch.languages import LANGUAGES, UnknownLanguageError
from xlsearch.methods import METHODS
from xlsearch.models import ModelError, resolve_model
from xlsearch.sources import has_data, task_source
from xlsearch.space import (METHOD_OVERRIDES, grid_configurations, grid_size, method_params, setting_choices,
                             uses_train_data)
from xlsearch.spec import MAX_SEED, PERFECT_TRANSLATION, Range, SpecError, SweepSpec, is_uri, read_spec_file, shape_spec
from xlsearch.tasks import TASKS, DataError, get_task
from xlsearch.tasks.builtin import BUILTIN_DATASETS, PARALLEL_DATASETS

CLOUD_STORAGE_REFUSED = (
    "a folder path, not a URI: the sweep folder (Tune's state, checkpoints, the intermediate-tuning cache, "
    "summary.json, the SQLite MLflow store) is written with plain file I/O; on a cluster give a folder every "
    "node mounts at the same path (EFS, NFS, a ReadWriteMany volume), e.g. /shared/xlsearch")


def parse_spec(raw: Any, *, base_dir: str | Path = ".", source: str | None = None) -> SweepSpec:
    """Parse and fully check a spec given as a dict. Raises :class:`SpecError`."""
    spec = shape_spec(raw, base_dir=base_dir, source=source)
    try:
        check_spec(spec)
    except SpecError as err:
        raise SpecError(err.field, err.value, err.allowed, source) from None
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read, parse and check a spec file. Raises :class:`SpecError` (also for I/O problems).

    The data it names is read by :func:`xlsearch.datacheck.check_data`, which the commands call
    before any compute."""
    raw = read_spec_file(path)
    return parse_spec(raw, base_dir=Path(path).resolve().parent, source=str(path))


def check_spec(spec: SweepSpec) -> None:
    """Everything pydantic's per-field checks cannot see. Raises :class:`SpecError`."""
    if spec.task not in TASKS:
        raise SpecError("task", spec.task, f"input should be {_one_of(sorted(TASKS))}")
    try:
        family = get_family(resolve_model(spec.model).family)
    except ModelError as err:
        raise SpecError("model", spec.model, str(err)) from None
    except (OSError, ValueError) as err:  # a name no file system takes (too long, a NUL byte), a bad config.json
        detail = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise SpecError("model", spec.model, "not a registry name, a hub id (org/name) or a readable model "
                        f"directory ({detail[:100]})") from None

    _check_languages(spec, family)
    _check_lr(spec.search.lr)
    _check_methods(spec, family)
    _check_intermediate_tuning(spec, family)
    _check_train_data(spec)
    _check_data(spec, extra_train_languages=method_languages(spec))
    _check_grid_and_budget(spec)
    if spec.training.batch_size % spec.resources.workers:
        raise SpecError("training.batch_size", spec.training.batch_size,
                        f"the global batch, split evenly across resources.workers ({spec.resources.workers}): "
                        "must be a multiple of it")
    if spec.scheduler.type == "asha" and spec.scheduler.grace_period > spec.training.rounds:
        raise SpecError("scheduler.grace_period", spec.scheduler.grace_period,
                        f"must be <= training.rounds ({spec.training.rounds})")
    _check_objectives(spec)
    _check_selection(spec)
    check_storage(spec)


def _check_objectives(spec: SweepSpec) -> None:
    objectives = spec.search.objectives
    if not objectives or objectives[0] != "source_score":
        raise SpecError("search.objectives", objectives, "the source score comes first: ['source_score'] or "
                        "['source_score', 'wrong_language_rate']")
    if len(set(objectives)) < len(objectives):
        raise SpecError("search.objectives", objectives, "give each objective once")
    if spec.multi_objective and spec.search.algorithm == "grid":
        raise SpecError("search.objectives", objectives, "a grid runs every configuration and optimises nothing: "
                        "a multi-objective search needs algorithm optuna_tpe or random")


def _check_selection(spec: SweepSpec) -> None:
    """Pivot languages, the few-shot hold-out and the soup, against the rest of the spec."""
    for i, code in enumerate(spec.pivot_languages):
        field = f"pivot_languages[{i}]"
        if code in spec.source_languages or code in spec.target_languages:
            raise SpecError(field, code, "a pivot language is neither a source nor a target language: its labeled "
                            "dev data chooses for the targets")
        if not has_data(spec, code, "dev"):
            raise SpecError(f"data.{code}.dev", None, _missing_data_hint(spec, code, "dev") + " (a pivot language "
                            "is chosen by its labeled dev data)")
    k, dev = spec.selection.few_shot_examples, spec.subsample.dev
    if k and dev is not None and k >= dev:
        raise SpecError("selection.few_shot_examples", k, f"must be less than subsample.dev ({dev}): the few-shot "
                        "examples are held out of each target language's dev data and the rest measure every rule")
    top_k = spec.selection.soup_top_k
    if top_k == 1:
        raise SpecError("selection.soup_top_k", 1, "0 (no soup) or at least 2: a soup averages several trials")
    if top_k and spec.search.algorithm == "grid":
        for group, size in soup_group_sizes(spec).items():
            if size < 2:
                raise SpecError("selection.soup_top_k", top_k, f"the group {group} has 1 trial per seed: a soup "
                                "averages at least 2; search more LRs there or set 0")


def soup_group_sizes(spec: SweepSpec) -> dict[str, int]:
    """In a grid, the zero-shot trials of each soup group (method and its parameters, intermediate
    tuning) per seed, by the group's label (``adapters(rank=16) it=none``)."""
    sizes: dict[str, int] = {}
    for config in grid_configurations(spec):
        if config["train_data"] != keys.SOURCE_DATA:
            continue
        method = config["method"]
        extra = ",".join(f"{k.partition('.')[2]}={v}" for k, v in sorted(config.items()) if k.startswith(f"{method}."))
        label = f"{method}{'(' + extra + ')' if extra else ''} it={config['intermediate_tuning']}"
        sizes[label] = sizes.get(label, 0) + 1
    return sizes


def check_storage(spec: SweepSpec) -> None:
    """The sweep folder (``storage/name``) can be a folder: nothing on its way is a file. Creates
    nothing. Raises :class:`SpecError`.

    Cloud storage (``s3://``, ``gs://``) is refused: Ray Tune could write its own state there,
    but xlsearch writes the rest of the sweep folder with plain file I/O."""
    if is_uri(spec.storage):
        raise SpecError("storage", spec.storage, CLOUD_STORAGE_REFUSED)
    storage = Path(spec.storage).expanduser()
    for path in (storage / spec.name, storage, *storage.parents):
        kind = _path_kind(path)
        if kind == "folder":
            return
        if kind in ("file", "special"):
            what = "is a file" if path == storage else f"cannot be made: {path} is a file"
            if path == storage / spec.name:
                what = f"holds a file {spec.name} where the sweep folder goes"
            raise SpecError("storage", spec.storage, f"{what}; storage is the folder that holds sweep folders")
        if kind == "bad":
            raise SpecError("storage", spec.storage, "not a path this machine can use (too long or a NUL byte)")


def _path_kind(path: Path) -> str:
    """'folder', 'file' (a regular one), 'special' (a device, a pipe...), 'absent' or 'bad' (a
    name no file system takes), without raising."""
    if "\0" in str(path):
        return "bad"  # pathlib answers False for these: the file system takes no such name
    try:
        if path.is_dir():
            return "folder"
        if path.is_file():
            return "file"
        return "special" if path.exists() else "absent"
    except (OSError, ValueError):
        return "bad"


def _one_of(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _check_language(field: str, code: Any, family: ModelFamily) -> None:
    if not isinstance(code, str):
        raise SpecError(field, code, "an ISO 639-1 language code")
    try:
        family.language_token(code)
    except UnknownLanguageError as err:
        raise SpecError(field, code, str(err).split("; ", 1)[1]) from None


def _check_languages(spec: SweepSpec, family: ModelFamily) -> None:
    if not spec.source_languages:
        raise SpecError("source_languages", [], "at least one source language")
    if not spec.target_languages:
        raise SpecError("target_languages", [], "at least one target language")
    for group in ("source_languages", "target_languages", "pivot_languages"):
        for i, code in enumerate(getattr(spec, group)):
            _check_language(f"{group}[{i}]", code, family)
            if code in getattr(spec, group)[:i]:
                raise SpecError(f"{group}[{i}]", code, "duplicate language; give each once")
    for i, code in enumerate(spec.target_languages):
        if code in spec.source_languages:
            raise SpecError(f"target_languages[{i}]", code,
                            "also a source language; zero-shot targets are languages without task labels")
    for code in spec.data:
        if code not in LANGUAGES:
            raise SpecError(f"data.{code}", code, f"unknown language; supported: {', '.join(sorted(LANGUAGES))}")


def _check_lr(lr: Any, field: str = "search.lr") -> None:
    if isinstance(lr, Range):
        for bound in ("low", "high"):
            v = getattr(lr, bound)
            if not (v > 0 and math.isfinite(v)):
                raise SpecError(f"{field}.{bound}", v, "a learning rate must be a finite number > 0")
        if lr.low > lr.high:
            raise SpecError(f"{field}.low", lr.low, f"must be <= {field}.high ({lr.high:g})")
    else:
        if isinstance(lr, list) and not lr:
            raise SpecError(field, [], "a non-empty list of learning rates or {low, high, log}")
        for i, v in enumerate(lr if isinstance(lr, list) else [lr]):
            where = f"{field}[{i}]" if isinstance(lr, list) else field
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v)):
                raise SpecError(where, v, "a learning rate must be a finite number > 0")


def _check_train_data_choices(choices: Any, field: str) -> None:
    allowed = " or ".join(repr(c) for c in keys.TRAIN_DATA_CHOICES)
    choices = choices if isinstance(choices, list) else [choices]
    if not choices:
        raise SpecError(field, [], f"a non-empty list of {allowed}")
    for i, value in enumerate(choices):
        if value not in keys.TRAIN_DATA_CHOICES:
            raise SpecError(f"{field}[{i}]" if len(choices) > 1 else field, value, allowed)
    if len(set(choices)) < len(choices):
        raise SpecError(field, choices, f"give each of {allowed} once")


def _domain_values(field: str, domain: Any) -> list[Any] | Range:
    """The values a method sub-parameter may take: a list of choices, or a numeric range."""
    if isinstance(domain, Range):
        if domain.low > domain.high:
            raise SpecError(f"{field}.low", domain.low, f"must be <= {field}.high ({domain.high:g})")
        if domain.log and domain.low <= 0:
            raise SpecError(f"{field}.low", domain.low, "a log range needs low > 0")
        return domain
    if isinstance(domain, list):
        if not domain:
            raise SpecError(field, [], "a non-empty list of choices")
        return domain
    return [domain]


def _check_methods(spec: SweepSpec, family: ModelFamily) -> None:
    """Check method names and sub-parameters."""
    if not spec.search.methods:
        raise SpecError("search.methods", {}, f"at least one of: {', '.join(METHODS)}")
    for name, params in spec.search.methods.items():
        if name not in METHODS:
            raise SpecError("search.methods", name, f"unknown method; known: {', '.join(METHODS)}")
        method = METHODS[name]
        for key, domain in params.items():
            field = f"search.methods.{name}.{key}"
            if key == "lr":
                _check_lr(domain, field)
                continue
            if key == "train_data":
                _check_train_data_choices(domain, field)
                continue
            if key not in method.params:
                known = ", ".join([*method.params, *METHOD_OVERRIDES])
                raise SpecError(field, domain, f"unknown parameter of {name}; known: {known} (lr and train_data "
                                "override search.lr and search.train_data for this method)")
            param = method.params[key]
            if param.kind == "languages":
                # A list of codes is one setting; a list of lists is a choice between settings.
                for choice in setting_choices(domain, param.kind):
                    if not param.is_valid(choice):
                        raise SpecError(field, choice, param.allowed())
                    for code in choice:
                        _check_language(field, code, family)
                continue
            values = _domain_values(field, domain)
            if isinstance(values, Range):
                if param.kind == "int" and not (float(values.low).is_integer() and float(values.high).is_integer()):
                    raise SpecError(field, domain.model_dump(), "an integer range")
                values = [values.low, values.high]
            for v in values:
                if isinstance(v, float) and not math.isfinite(v):
                    raise SpecError(field, v, "a finite number")
                if not param.is_valid(v):
                    raise SpecError(field, v, param.allowed())


def method_languages(spec: SweepSpec) -> set[str]:
    """The languages methods train on besides the sources (multi_source's language sets)."""
    langs: set[str] = set()
    for name in spec.search.methods:
        method = METHODS.get(name)
        for key, domain in method_params(spec, name).items():
            param = method.params.get(key) if method else None
            if param is None or param.kind != "languages":
                continue
            langs.update(code for choice in setting_choices(domain, param.kind) if isinstance(choice, list) for code in choice
                         if isinstance(code, str))
    return langs


def _check_intermediate_tuning(spec: SweepSpec, family: ModelFamily) -> None:
    options = spec.search.intermediate_tuning
    if not options:
        raise SpecError("search.intermediate_tuning", [], "a non-empty list of 'none' and/or LM settings")
    labels = set()
    for i, option in enumerate(options):
        label = option if option == "none" else option.label
        if label in labels:
            raise SpecError(f"search.intermediate_tuning[{i}]", label, "duplicate setting; give it a distinct name")
        labels.add(label)
        if option == "none":
            continue
        expected = family.lm_objective
        if option.objective not in ("auto", expected, "prefix_lm"):
            raise SpecError(f"search.intermediate_tuning[{i}].objective", option.objective,
                            f"the {family.name} family pretrains with '{expected}' (or 'auto'); 'prefix_lm' fits "
                            "every family")
        for j, code in enumerate(option.languages or []):
            _check_language(f"search.intermediate_tuning[{i}].languages[{j}]", code, family)


def _check_train_data(spec: SweepSpec) -> None:
    _check_train_data_choices(spec.search.train_data, "search.train_data")
    if not uses_train_data(spec, keys.SOURCE_DATA):
        raise SpecError("search.train_data", spec.search.train_data,
                        "no method trains on 'source': a sweep needs zero-shot trials to choose from "
                        "(translate-train is the baseline set beside them)")
    if uses_train_data(spec, keys.TRANSLATE_TRAIN):
        check_translation(spec)


def check_translation(spec: SweepSpec, targets: list[str] | None = None) -> None:
    """Whether ``translation.model`` can translate the first source language's training data into
    ``targets`` (default: every target language), loading nothing. Raises :class:`SpecError`."""
    name, source = spec.translation.model, spec.source_languages[0]
    targets = list(spec.target_languages if targets is None else targets)
    if name == PERFECT_TRANSLATION:
        src = task_source(spec, source, "train")
        if src is None or src.builtin not in PARALLEL_DATASETS:
            raise SpecError("translation.model", name,
                            f"the perfect translation exists only for builtin datasets that write every example in "
                            f"every language ({', '.join(sorted(PARALLEL_DATASETS))}); the {source} training data "
                            f"here is {src.describe() if src else 'missing'}")
        for lang in targets:
            try:  # generated in memory in a blink: a language the world does not write is caught now
                get_task(spec.task).load(src, lang, limit=1)
            except DataError as err:
                raise SpecError("translation.model", name, f"no perfect translation into {lang!r}: {err}") from None
        return
    try:
        family = get_family(resolve_model(name).family)
    except ModelError as err:
        raise SpecError("translation.model", name, str(err)) from None
    except (OSError, ValueError) as err:
        raise SpecError("translation.model", name, f"not a registry name, a hub id or a readable model directory "
                        f"({str(err)[:100]})") from None
    if not family.forces_language_token:
        raise SpecError("translation.model", name,
                        f"a {family.name} model has no language tokens to be told which language to write; give an "
                        f"MT model of a family that has them (NLLB-200, mBART-50 many-to-many) or "
                        f"{PERFECT_TRANSLATION!r} for the lab")
    for lang in [source, *targets]:
        if not family.supports(lang):
            raise SpecError("translation.model", name, f"cannot translate {source} -> {lang}: {family.name} has no "
                            f"language token for {lang!r}")


def _check_data(spec: SweepSpec, extra_train_languages: set[str]) -> None:
    for lang, splits in spec.data.items():
        for split, src in splits.items():
            field = f"data.{lang}.{split}"
            given = [k for k in ("path", "hub", "builtin") if getattr(src, k) is not None]
            if len(given) != 1:
                raise SpecError(field, src.model_dump(exclude_none=True), "exactly one of path, hub or builtin")
            if src.path is not None:
                kind = _path_kind(spec.resolve_path(src.path))
                if kind != "file":
                    problem = {"folder": "a folder, not a file", "special": "not a regular file",
                               "bad": "not a path this machine can use (too long or a NUL byte)"}.get(kind, "no such file")
                    raise SpecError(f"{field}.path", src.path, f"{problem} (relative paths start at {spec.base_dir})")
            if src.builtin is not None:
                if src.builtin not in BUILTIN_DATASETS:
                    raise SpecError(f"{field}.builtin", src.builtin, f"known: {', '.join(BUILTIN_DATASETS)}")
                try:  # generated in memory in a blink: a language or split it lacks is caught now
                    get_task(spec.task).load(task_source(spec, lang, split), lang)
                except DataError as err:
                    raise SpecError(f"{field}.builtin", src.builtin, str(err)) from None
            if src.hub is None and src.config:
                raise SpecError(f"{field}.config", src.config, "config goes with hub only")
            if src.path is not None and src.split:
                raise SpecError(f"{field}.split", src.split, "split goes with hub or builtin only")
    for lang in spec.source_languages + sorted(extra_train_languages):
        for split in ("train", "dev") if lang in spec.source_languages else ("train",):
            if not has_data(spec, lang, split):
                raise SpecError(f"data.{lang}.{split}", None, _missing_data_hint(spec, lang, split))
    for lang in spec.target_languages:
        if not has_data(spec, lang, "dev"):
            raise SpecError(f"data.{lang}.dev", None, _missing_data_hint(spec, lang, "dev"))
    for name in spec.search.methods:
        if not METHODS[name].trains_on_target_text:
            continue
        for lang in spec.target_languages:
            if not any(has_data(spec, lang, s) for s in ("unlabeled", "train")):
                raise SpecError(f"data.{lang}.unlabeled", None,
                                f"{name} needs unlabeled target-language text: give data.<lang>.unlabeled or .train")


def _missing_data_hint(spec: SweepSpec, lang: str, split: str) -> str:
    return f"no {split} data for '{lang}' and the {spec.task} hub default has none; give a path, hub or builtin source"


def _check_grid_and_budget(spec: SweepSpec) -> None:
    seeds = spec.search.seeds
    if spec.search.seed + seeds - 1 > MAX_SEED:
        raise SpecError("search.seeds", seeds, f"search.seed ({spec.search.seed}) + seeds - 1 must be <= {MAX_SEED}")
    cap = spec.budget.max_trials
    if cap is not None and cap < seeds:
        raise SpecError("budget.max_trials", cap, f"every configuration runs search.seeds ({seeds}) trials: "
                        f"must be >= {seeds}")
    if spec.search.algorithm != "grid":
        return
    size = grid_size(spec)
    if size is None:
        raise SpecError("search.algorithm", "grid",
                        "a grid needs explicit lists of values (search.lr, a method's lr and its parameters), not "
                        "ranges")
    cap = spec.budget.max_trials
    if cap is not None and size > cap:
        raise SpecError("budget.max_trials", cap, f"the grid has {size} trials; raise the budget or shrink the grid")
