"""The sweep spec: one YAML file describes one search.

Loading is two passes. Pydantic checks the shape (unknown keys, types, bounds of single
fields); :func:`check_spec` then checks what involves several fields or the outside world
(languages a model supports, low <= high, grid size against the trial budget, local data files).
Every failure is a :class:`SpecError` that renders as one line: the field path, the bad value and
what is allowed. Nothing here starts compute or writes a file.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from xlsearch.lm_objectives import objective_for_family
from xlsearch.languages import LANGUAGES, UnknownLanguageError, get_language, model_language_code
from xlsearch.methods import METHODS

DEFAULT_STORAGE = "~/xlsearch_results"


class SpecError(ValueError):
    """A bad spec: ``field`` is a dotted path, ``value`` what was given, ``allowed`` the rule."""

    def __init__(self, field: str, value: Any, allowed: str, source: str | None = None):
        self.field, self.value, self.allowed, self.source = field, value, allowed, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field} = {value!r}: {allowed}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSourceSpec(_Strict):
    """Exactly one of a local file, a hub dataset, or a dataset xlsearch generates."""

    path: str | None = None
    hub: str | None = None
    config: str | None = None
    split: str | None = None
    builtin: str | None = None


class Range(_Strict):
    low: float
    high: float
    log: bool = False


# A searched value: a constant, a list of choices, or a numeric range.
Domain = Union[Range, list[Any], float, int, str]


class IntermediateTuningSpec(_Strict):
    """Language-model training of the pretrained model on unlabeled text, before the task."""

    objective: Literal["auto", "span_corruption", "denoising"] = "auto"
    steps: int = Field(1000, gt=0)
    lr: float = Field(1e-4, gt=0)
    batch_size: int = Field(8, gt=0)
    max_length: int = Field(256, gt=8)
    languages: list[str] | None = None  # default: source and target languages
    examples_per_language: int = Field(2000, gt=0)
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.objective}-{self.steps}"


class SearchSpec(_Strict):
    algorithm: Literal["optuna_tpe", "random", "grid"] = "optuna_tpe"
    num_samples: int = Field(8, gt=0)
    seed: int = 0
    lr: Union[Range, list[float]] = Range(low=1e-5, high=1e-3, log=True)
    methods: dict[str, dict[str, Domain]] = {"full": {}}
    intermediate_tuning: list[Union[Literal["none"], IntermediateTuningSpec]] = ["none"]


class TrainingSpec(_Strict):
    steps_per_round: int = Field(100, gt=0)
    rounds: int = Field(5, gt=0)
    batch_size: int = Field(8, gt=0)
    eval_batch_size: int = Field(32, gt=0)
    grad_accum: int = Field(1, gt=0)
    max_input_length: int = Field(512, gt=8)
    max_output_length: int = Field(64, gt=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    optimizer: Literal["adamw", "adafactor"] = "adamw"
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    num_beams: int = Field(1, gt=0)
    sample_generations: int = Field(5, ge=0)


class SchedulerSpec(_Strict):
    type: Literal["asha", "none"] = "asha"
    grace_period: int = Field(1, gt=0)  # eval rounds
    reduction_factor: float = Field(2.0, gt=1)


class ResourcesSpec(_Strict):
    workers: int = Field(1, gt=0)
    gpus_per_worker: Union[Literal["auto"], float] = "auto"
    cpus_per_worker: float = Field(1.0, gt=0)

    @field_validator("gpus_per_worker")
    @classmethod
    def _non_negative(cls, v):
        if v != "auto" and v < 0:
            raise ValueError("must be 'auto' or a number >= 0")
        return v


class BudgetSpec(_Strict):
    max_trials: int | None = Field(None, gt=0)
    wall_clock_hours: float | None = Field(None, gt=0)
    gpu_hours: float | None = Field(None, gt=0)


class TrackingSpec(_Strict):
    mlflow_uri: str | None = None  # default: SQLite store inside the sweep directory
    experiment: str | None = None  # default: the sweep's name


class SubsampleSpec(_Strict):
    train: int | None = Field(None, gt=0)
    dev: int | None = Field(200, gt=0)
    unlabeled: int | None = Field(1000, gt=0)


class SweepSpec(_Strict):
    name: str
    task: Literal["xlsum", "xquad"]
    model: str
    source_languages: list[str] = ["en"]
    target_languages: list[str]
    data: dict[str, dict[Literal["train", "dev", "unlabeled"], DataSourceSpec]] = {}
    subsample: SubsampleSpec = SubsampleSpec()
    search: SearchSpec = SearchSpec()
    training: TrainingSpec = TrainingSpec()
    scheduler: SchedulerSpec = SchedulerSpec()
    resources: ResourcesSpec = ResourcesSpec()
    budget: BudgetSpec = BudgetSpec()
    tracking: TrackingSpec = TrackingSpec()
    storage: str = DEFAULT_STORAGE

    # Where relative data paths are resolved from: the spec file's folder.
    base_dir: str = Field(".", exclude=True)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", v):
            raise ValueError("must be letters, digits, '_', '.' or '-' (it names a folder)")
        return v

    @field_validator("scheduler", mode="before")
    @classmethod
    def _scheduler_shorthand(cls, v):
        return {"type": v} if isinstance(v, str) else v

    @property
    def sweep_dir(self) -> Path:
        return Path(self.storage).expanduser() / self.name

    def resolve_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def all_languages(self) -> list[str]:
        return list(dict.fromkeys(self.source_languages + self.target_languages))


# ---------------------------------------------------------------------------------------------
# Loading


def _format_validation_error(err: ValidationError, source: str | None) -> SpecError:
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        parent = _model_at(SweepSpec, first["loc"][:-1])
        allowed = sorted(parent.model_fields) if parent else []
        allowed = [a for a in allowed if a != "base_dir"]
        return SpecError(field, value, f"unknown key; allowed keys here: {', '.join(allowed)}", source)
    if first["type"] == "missing":
        return SpecError(field, None, "required field is missing", source)
    msg = first["msg"].removeprefix("Value error, ")
    return SpecError(field, value, msg[:1].lower() + msg[1:], source)


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class found by walking ``loc`` from ``model`` (for error messages)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def parse_spec(raw: Any, *, base_dir: str | Path = ".", source: str | None = None) -> SweepSpec:
    """Parse and fully check a spec given as a dict. Raises :class:`SpecError`."""
    if not isinstance(raw, dict):
        raise SpecError("(top level)", type(raw).__name__, "a spec is a YAML mapping of keys", source)
    if "base_dir" in raw:
        raise SpecError("base_dir", raw["base_dir"], "reserved; relative paths are resolved from the spec file's folder", source)
    try:
        spec = SweepSpec.model_validate({**raw, "base_dir": str(base_dir)})
    except ValidationError as err:
        raise _format_validation_error(err, source) from None
    try:
        check_spec(spec)
    except SpecError as err:
        raise SpecError(err.field, err.value, err.allowed, source) from None
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read, parse and check a spec file. Raises :class:`SpecError` (also for I/O problems)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("spec", str(path), "no such file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise SpecError("(yaml)", where, f"not valid YAML: {getattr(err, 'problem', err)}", str(path)) from None
    return parse_spec(raw, base_dir=path.resolve().parent, source=str(path))


# ---------------------------------------------------------------------------------------------
# Checks across fields


def check_spec(spec: SweepSpec) -> None:
    """Everything pydantic's per-field checks cannot see. Raises :class:`SpecError`."""
    from xlsearch.models import ModelError, resolve_model

    try:
        model = resolve_model(spec.model)
    except ModelError as err:
        raise SpecError("model", spec.model, str(err)) from None

    _check_languages(spec, model.family)
    _check_lr(spec.search.lr)
    method_langs = _check_methods(spec, model.family)
    _check_intermediate_tuning(spec, model.family)
    _check_data(spec, extra_train_languages=method_langs)
    _check_grid_and_budget(spec)
    if spec.scheduler.type == "asha" and spec.scheduler.grace_period > spec.training.rounds:
        raise SpecError("scheduler.grace_period", spec.scheduler.grace_period,
                        f"must be <= training.rounds ({spec.training.rounds})")


def _check_language(field: str, code: Any, family: str) -> None:
    if not isinstance(code, str):
        raise SpecError(field, code, "an ISO 639-1 language code")
    try:
        get_language(code)
        model_language_code(code, family)
    except UnknownLanguageError as err:
        raise SpecError(field, code, str(err).split("; ", 1)[1]) from None


def _check_languages(spec: SweepSpec, family: str) -> None:
    if not spec.source_languages:
        raise SpecError("source_languages", [], "at least one source language")
    if not spec.target_languages:
        raise SpecError("target_languages", [], "at least one target language")
    for group in ("source_languages", "target_languages"):
        for i, code in enumerate(getattr(spec, group)):
            _check_language(f"{group}.{i}", code, family)
    for code in spec.data:
        if code not in LANGUAGES:
            raise SpecError(f"data.{code}", code, f"unknown language; supported: {', '.join(sorted(LANGUAGES))}")


def _check_lr(lr: Range | list[float]) -> None:
    if isinstance(lr, Range):
        for bound in ("low", "high"):
            v = getattr(lr, bound)
            if not (v > 0 and math.isfinite(v)):
                raise SpecError(f"search.lr.{bound}", v, "a learning rate must be a finite number > 0")
        if lr.low > lr.high:
            raise SpecError("search.lr.low", lr.low, f"must be <= search.lr.high ({lr.high:g})")
    else:
        if not lr:
            raise SpecError("search.lr", [], "a non-empty list of learning rates or {low, high, log}")
        for i, v in enumerate(lr):
            if not (v > 0 and math.isfinite(v)):
                raise SpecError(f"search.lr.{i}", v, "a learning rate must be a finite number > 0")


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


def _check_methods(spec: SweepSpec, family: str) -> set[str]:
    """Check method names and sub-parameters; returns extra languages methods train on."""
    if not spec.search.methods:
        raise SpecError("search.methods", {}, f"at least one of: {', '.join(METHODS)}")
    extra_langs: set[str] = set()
    for name, params in spec.search.methods.items():
        if name not in METHODS:
            raise SpecError("search.methods", name, f"unknown method; known: {', '.join(METHODS)}")
        method = METHODS[name]
        for key, domain in params.items():
            field = f"search.methods.{name}.{key}"
            if key not in method.params:
                known = ", ".join(method.params) or "none (this method has no parameters)"
                raise SpecError(field, domain, f"unknown parameter of {name}; known: {known}")
            param = method.params[key]
            if param.kind == "languages":
                # A list of codes is one setting; a list of lists is a choice between settings.
                choices = domain if isinstance(domain, list) and domain and isinstance(domain[0], list) else [domain]
                for choice in choices:
                    if not param.is_valid(choice):
                        raise SpecError(field, choice, param.allowed())
                    for code in choice:
                        _check_language(field, code, family)
                        extra_langs.add(code)
                continue
            values = _domain_values(field, domain)
            if isinstance(values, Range):
                if param.kind == "int" and not (float(values.low).is_integer() and float(values.high).is_integer()):
                    raise SpecError(field, domain.model_dump(), "an integer range")
                values = [values.low, values.high]
            for v in values:
                if not param.is_valid(v):
                    raise SpecError(field, v, param.allowed())
    return extra_langs


def _check_intermediate_tuning(spec: SweepSpec, family: str) -> None:
    options = spec.search.intermediate_tuning
    if not options:
        raise SpecError("search.intermediate_tuning", [], "a non-empty list of 'none' and/or LM settings")
    labels = set()
    for i, option in enumerate(options):
        label = option if option == "none" else option.label
        if label in labels:
            raise SpecError(f"search.intermediate_tuning.{i}", label, "duplicate setting; give it a distinct name")
        labels.add(label)
        if option == "none":
            continue
        expected = objective_for_family(family)
        if option.objective not in ("auto", expected):
            raise SpecError(f"search.intermediate_tuning.{i}.objective", option.objective,
                            f"the {family} family pretrains with '{expected}' (or 'auto')")
        for j, code in enumerate(option.languages or []):
            _check_language(f"search.intermediate_tuning.{i}.languages.{j}", code, family)


def _check_data(spec: SweepSpec, extra_train_languages: set[str]) -> None:
    from xlsearch.tasks.base import DataError
    from xlsearch.tasks.builtin import BUILTIN_DATASETS, load_builtin

    for lang, splits in spec.data.items():
        for split, src in splits.items():
            field = f"data.{lang}.{split}"
            given = [k for k in ("path", "hub", "builtin") if getattr(src, k) is not None]
            if len(given) != 1:
                raise SpecError(field, src.model_dump(exclude_none=True), "exactly one of path, hub or builtin")
            if src.path is not None and not spec.resolve_path(src.path).is_file():
                raise SpecError(f"{field}.path", src.path,
                                f"no such file (relative paths start at {spec.base_dir})")
            if src.builtin is not None:
                if src.builtin not in BUILTIN_DATASETS:
                    raise SpecError(f"{field}.builtin", src.builtin, f"known: {', '.join(BUILTIN_DATASETS)}")
                try:  # generated in memory in a blink: a language or split it lacks is caught now
                    load_builtin(src.builtin, spec.task, lang, task_source(spec, lang, split).split)
                except DataError as err:
                    raise SpecError(f"{field}.builtin", src.builtin, str(err)) from None
            if src.hub is None and src.config:
                raise SpecError(f"{field}.config", src.config, "config goes with hub only")
            if src.path is not None and src.split:
                raise SpecError(f"{field}.split", src.split, "split goes with hub or builtin only")
    for lang in spec.source_languages + sorted(extra_train_languages):
        for split in ("train", "dev") if lang in spec.source_languages else ("train",):
            if not _has_data(spec, lang, split):
                raise SpecError(f"data.{lang}.{split}", None, _missing_data_hint(spec, lang, split))
    for lang in spec.target_languages:
        if not _has_data(spec, lang, "dev"):
            raise SpecError(f"data.{lang}.dev", None, _missing_data_hint(spec, lang, "dev"))
    if "mix_target" in spec.search.methods:
        for lang in spec.target_languages:
            if not any(_has_data(spec, lang, s) for s in ("unlabeled", "train")):
                raise SpecError(f"data.{lang}.unlabeled", None,
                                "mix_target needs unlabeled target-language text: give data.<lang>.unlabeled or .train")


def default_hub_source(task: str, lang: str, split: str) -> DataSourceSpec | None:
    """Where the hub has the data when the spec names none (None: the hub has no such split)."""
    row = get_language(lang)
    hub_split = {"train": "train", "dev": "validation", "unlabeled": "train"}[split]
    if task == "xlsum":
        return DataSourceSpec(hub="csebuetnlp/xlsum", config=row.xlsum, split=hub_split) if row.xlsum else None
    if lang == "en" and split in ("train", "dev"):
        return DataSourceSpec(hub="rajpurkar/squad", split=hub_split)
    if row.xquad and split == "dev":
        return DataSourceSpec(hub="google/xquad", config=f"xquad.{lang}", split="validation")
    return None


def data_source(spec: SweepSpec, lang: str, split: str) -> DataSourceSpec | None:
    """The spec's source for (language, split), falling back to the hub's default."""
    given = spec.data.get(lang, {}).get(split)
    return given if given is not None else default_hub_source(spec.task, lang, split)


# The builtin datasets' split that serves each spec split when the spec names none: training
# and unlabeled text never come from the examples that are scored.
_BUILTIN_SPLIT = {"train": "train", "dev": "validation", "unlabeled": "train"}


def task_source(spec: SweepSpec, lang: str, split: str):
    """The tasks' DataSource for (language, split), paths resolved; None where there is none."""
    from xlsearch.tasks.base import DataSource

    src = data_source(spec, lang, split)
    if src is None:
        return None
    if src.path is not None:
        return DataSource(path=str(spec.resolve_path(src.path)))
    if src.builtin is not None:
        return DataSource(builtin=src.builtin, split=src.split or _BUILTIN_SPLIT[split])
    # A hub source without a split reads the split that matches its role, not the task default.
    return DataSource(hub=src.hub, config=src.config,
                      split=src.split or {"train": "train", "dev": "validation", "unlabeled": "train"}[split])


def _has_data(spec: SweepSpec, lang: str, split: str) -> bool:
    return data_source(spec, lang, split) is not None


def _missing_data_hint(spec: SweepSpec, lang: str, split: str) -> str:
    return f"no {split} data for '{lang}' and the {spec.task} hub default has none; give a path, hub or builtin source"


def _grid_size(spec: SweepSpec) -> int | None:
    """Trials of a full grid, or None when a dimension is a continuous range."""
    s = spec.search
    if isinstance(s.lr, Range):
        return None
    per_method = 0
    for name, params in s.methods.items():
        n = 1
        for key, domain in params.items():
            if isinstance(domain, Range):
                return None
            kind = METHODS[name].params[key].kind
            is_choice = isinstance(domain, list) and (kind != "languages" or (domain and isinstance(domain[0], list)))
            n *= len(domain) if is_choice else 1
        per_method += n
    return len(s.lr) * per_method * len(s.intermediate_tuning)


def planned_trials(spec: SweepSpec) -> int:
    """How many trials the sweep will start: the grid size, or num_samples capped by the budget."""
    if spec.search.algorithm == "grid":
        return _grid_size(spec)  # type: ignore[return-value]  # checked in _check_grid_and_budget
    cap = spec.budget.max_trials
    return min(spec.search.num_samples, cap) if cap else spec.search.num_samples


def _check_grid_and_budget(spec: SweepSpec) -> None:
    if spec.search.algorithm != "grid":
        return
    size = _grid_size(spec)
    if size is None:
        raise SpecError("search.algorithm", "grid",
                        "a grid needs explicit lists of values (search.lr and method parameters), not ranges")
    cap = spec.budget.max_trials
    if cap is not None and size > cap:
        raise SpecError("budget.max_trials", cap, f"the grid has {size} trials; raise the budget or shrink the grid")
