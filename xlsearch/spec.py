"""The sweep spec's schema: one YAML file describes one search.

This module is the schema alone: pydantic checks the shape of a spec (unknown keys, types,
bounds of single fields) and imports nothing else of xlsearch. What involves several fields or
the registries (tasks, models, methods, languages, data files) is checked by
:mod:`xlsearch.checks`, whose ``load_spec`` / ``parse_spec`` are what the rest of the package
calls. Every failure is a :class:`SpecError` that renders as one line: the field path, the bad
value and what is allowed. Nothing here starts compute or writes a file.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
    task: str  # a name in xlsearch.tasks.TASKS (checked there)
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


def shape_spec(raw: Any, *, base_dir: str | Path = ".", source: str | None = None) -> SweepSpec:
    """The spec's shape checked (pydantic only; see :func:`xlsearch.checks.parse_spec` for the
    full check). Raises :class:`SpecError`."""
    if not isinstance(raw, dict):
        raise SpecError("(top level)", type(raw).__name__, "a spec is a YAML mapping of keys", source)
    if "base_dir" in raw:
        raise SpecError("base_dir", raw["base_dir"], "reserved; relative paths are resolved from the spec file's folder", source)
    try:
        return SweepSpec.model_validate({**raw, "base_dir": str(base_dir)})
    except ValidationError as err:
        raise _format_validation_error(err, source) from None


def read_spec_file(path: str | Path) -> Any:
    """The YAML document of a spec file. Raises :class:`SpecError` (also for I/O problems)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("spec", str(path), "no such file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise SpecError("(yaml)", where, f"not valid YAML: {getattr(err, 'problem', err)}", str(path)) from None
    return raw
