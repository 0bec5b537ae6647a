"""The sweep spec's schema: one YAML file describes one search.

This module is the schema alone: pydantic checks the shape of a spec (unknown keys, types,
bounds of single fields) and imports nothing else of xlsearch. What involves several fields or
the registries (tasks, models, methods, languages, data files) is checked by
:mod:`xlsearch.checks`, whose ``load_spec`` / ``parse_spec`` are what the rest of the package
calls. Every failure is a :class:`SpecError` that renders as one line: the field path, the bad
value and what is allowed. Nothing here starts compute or writes a file.
"""
from __future__ import annotations

import math
import re
import reprlib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (AfterValidator, AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field,
                      Strict, StrictBool, Tag, ValidationError, field_validator, model_validator)

DEFAULT_STORAGE = "~/xlsearch_results"
MAX_SEED = 2**32 - 1  # what numpy, torch and Optuna's samplers take
VALUE_CHARS = 80  # a bad value is shown up to this many characters, then "…"
RULE_CHARS = 400  # the rule part of a message likewise
FIELD_CHARS = 120  # and the field path (keys are the user's too)
MAX_YAML_DEPTH = 32  # a spec nests 6 levels deep at most
MAX_YAML_VALUES = 100_000  # after aliases are expanded; a spec has a few hundred
SLUG = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"


def is_uri(text: str) -> bool:
    """Whether ``text`` is a URI (``s3://...``, ``gs://...``, ``file://...``) rather than a path."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text) is not None


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 4 * VALUE_CHARS  # reprlib's own "..." lies past the cut
_REPR.maxlevel = 4
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 12


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to :data:`VALUE_CHARS` characters (a 10 MB string stays one short line)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value's own __repr__ may fail; the message must not
        text = f"<{type(value).__name__}>"
    text = " ".join(text.splitlines())
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "…"


def _one_line(text: Any, limit: int = RULE_CHARS) -> str:
    """``text`` on one short line: line breaks become spaces, other unprintable characters
    escapes (``\\x1e``), and it is cut to ``limit`` characters."""
    text = str(text).replace("\r\n", " ").replace("\n", " ")
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


class SpecError(ValueError):
    """A bad spec: ``field`` is a dotted path, ``value`` what was given, ``allowed`` the rule.

    The message is one line: long values and rules are cut (``value`` keeps the whole value).
    """

    def __init__(self, field: str, value: Any, allowed: str, source: str | None = None):
        self.field, self.value, self.allowed, self.source = field, value, allowed, source
        where = f"{_one_line(source, 10 * RULE_CHARS)}: " if source else ""
        super().__init__(f"{where}{_one_line(field, FIELD_CHARS)} = {short_repr(value)}: {_one_line(allowed)}")

    def __reduce__(self):
        # Pickle rebuilds an exception as ``cls(*self.args)``, and args holds the message alone,
        # which this __init__ cannot take: Ray then hands back an UnserializableException. Rebuild
        # it from its fields instead, so it crosses Ray's serialization whole.
        return type(self), (self.field, self.value, self.allowed, self.source)


# ---------------------------------------------------------------------------------------------
# Field types: integers are integers (not true/false, not 2.5), numbers are finite.


def _finite_number(value: Any) -> Any:
    """True/false and infinite or NaN numbers refused before any bound is checked."""
    if isinstance(value, bool):
        raise ValueError("a number, not true/false")
    try:
        number = float(value) if isinstance(value, (int, float, str)) else None
    except (ValueError, OverflowError):
        number = None
    if number is not None and not math.isfinite(number):
        raise ValueError("input should be a finite number")
    return value


Int = Annotated[int, Strict()]
Number = Annotated[float, BeforeValidator(_finite_number), AllowInfNan(False)]

# A union's branches are chosen by the shape the user wrote (a mapping, a list, a word or a
# number), so an error is the error of that branch. The tags appear in pydantic's error
# locations and are dropped when a field path is shown.
_TAGS = {"<range>", "<list>", "<value>", "<none>", "<settings>", "<auto>", "<number>"}


def _shape(mapping: str | None = None, listing: str | None = None, other: str | None = None,
           word: str | None = None, model: type | None = None):
    def choose(value: Any) -> str | None:
        if isinstance(value, dict) or (model is not None and isinstance(value, model)):
            return mapping
        if isinstance(value, list):
            return listing
        if isinstance(value, str) and word is not None:
            return word
        return other
    return choose


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSourceSpec(_Strict):
    """Exactly one of a local file, a hub dataset, or a dataset xlsearch generates."""

    path: str | None = Field(None, min_length=1, max_length=4096, description=(
        "A local file, relative to the spec's folder: JSON Lines with id, text and summary (xlsum) or SQuAD v1.1 "
        "JSON (xquad)."))
    hub: str | None = Field(None, min_length=1, max_length=200, description=(
        "A Hugging Face hub dataset id, e.g. csebuetnlp/xlsum; give split too."))
    config: str | None = Field(None, min_length=1, max_length=200, description=(
        "The hub dataset's configuration, e.g. english for XL-Sum (with hub)."))
    split: str | None = Field(None, min_length=1, max_length=200, description=(
        "The hub or builtin dataset's split; without one the task's default split is used (test for xlsum, "
        "validation for xquad)."))
    builtin: str | None = Field(None, min_length=1, max_length=200, description=(
        "A dataset xlsearch generates: toy (the demo's) or lab (the miniature lab's world)."))


class Range(_Strict):
    """A numeric range a searched value is drawn from."""

    low: Number = Field(description="The lowest value (inclusive).")
    high: Number = Field(description="The highest value (inclusive); at least low.")
    log: StrictBool = Field(False, description="Sample on a log scale (as for learning rates).")


def _scalar(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("a number or a word, a list of choices, or a range {low, high, log}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a finite number")
    return value


# A searched value: a constant, a list of choices, or a numeric range.
Domain = Annotated[
    Union[Annotated[Range, Tag("<range>")], Annotated[list[Any], Tag("<list>")],
          Annotated[Any, AfterValidator(_scalar), Tag("<value>")]],
    Discriminator(_shape(mapping="<range>", listing="<list>", other="<value>", model=Range)),
]
LearningRates = Annotated[
    Union[Annotated[Range, Tag("<range>")], Annotated[list[Number], Tag("<list>")]],
    Discriminator(_shape(mapping="<range>", listing="<list>", model=Range), custom_error_type="lr_shape",
                  custom_error_message="a range {low, high, log} or a list of learning rates"),
]


class IntermediateTuningSpec(_Strict):
    """Language-model training of the pretrained model on unlabeled text, before the task."""

    objective: Literal["auto", "span_corruption", "denoising", "prefix_lm"] = Field("auto", description=(
        "The language-modelling objective: auto is the model family's own pretraining objective (span corruption "
        "for mT5, denoising for mBART and NLLB); prefix_lm (write the rest of a text from its start) fits every "
        "family."))
    steps: Int = Field(1000, gt=0, le=10_000_000, description="Optimizer steps of intermediate tuning.")
    lr: Number = Field(1e-4, gt=0, le=1, description="Learning rate of intermediate tuning.")
    batch_size: Int = Field(8, gt=0, le=65_536, description="Batch size of intermediate tuning.")
    max_length: Int = Field(256, gt=8, le=65_536, description="Tokens of one unlabeled text.")
    languages: list[str] | None = Field(None, description=(  # default: source and target languages
        "Languages whose unlabeled text is read; default: the source and target languages."))
    examples_per_language: Int = Field(2000, gt=0, le=100_000_000, description=(
        "Unlabeled texts drawn per language."))
    name: str | None = Field(None, pattern=f"^{SLUG}$", description=(  # it names a cache folder
        "The setting's label in tables and MLflow; default <objective>-<steps>."))

    @property
    def label(self) -> str:
        return self.name or f"{self.objective}-{self.steps}"


IntermediateTuningOption = Annotated[
    Union[Annotated[Literal["none"], Tag("<none>")], Annotated[IntermediateTuningSpec, Tag("<settings>")]],
    Discriminator(_shape(mapping="<settings>", word="<none>", model=IntermediateTuningSpec),
                  custom_error_type="intermediate_tuning_shape",
                  custom_error_message="'none' or a mapping of language-model settings (objective, steps, ...)"),
]


def _number_or_as_is(value: Any) -> Any:
    """A numeric string (YAML reads ``1e-2`` as one) as the number, as pydantic's float fields
    take it; anything else unchanged, for the checks to name."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


class SearchSpec(_Strict):
    """What the search chooses from, and how it samples."""

    algorithm: Literal["optuna_tpe", "random", "grid"] = Field("optuna_tpe", description=(
        "The searcher: Optuna's TPE, random sampling, or a grid of every combination (lists only, no ranges)."))
    num_samples: Int = Field(8, gt=0, le=100_000, description=(
        "Configurations optuna_tpe or random sample (a grid runs every point)."))
    seed: Int = Field(0, ge=0, le=MAX_SEED, description=(
        "Seed of the sampler, the data subsamples, the evaluation sample and random-weight models."))
    # Every configuration runs once per seed: seed, seed + 1, ..., seed + seeds - 1 (the trial's
    # data order and the initialisation of new parameters). The data subsample, the evaluation
    # sample, intermediate tuning and the searcher keep ``seed``. Tables show mean ± sd over the
    # seeds, and selection compares configurations by their mean.
    seeds: Int = Field(1, gt=0, le=100, description=(
        "Runs of every configuration, with seeds seed, seed+1, ...; trials = configurations x seeds."))
    lr: LearningRates = Field(Range(low=1e-5, high=1e-3, log=True), description=(
        "Learning rates: a range {low, high, log} or a list of numbers."))
    methods: dict[str, dict[str, Domain]] = Field({"full": {}}, description=(
        "Adaptation methods to search (full, freeze_dec_emb, adapters, prompt_tuning, mix_target, multi_source), "
        "each with its parameters: a constant, a list of choices or a range; a method may set its own lr and "
        "train_data."))
    # What the searcher optimises: the source dev score (maximised), and optionally the mean
    # label-free target wrong-language rate (minimised), as a multi-objective search.
    objectives: list[Literal["source_score", "wrong_language_rate"]] = Field(["source_score"], description=(
        "What the searcher optimises: the source dev score, and optionally the mean label-free target "
        "wrong-language rate (a multi-objective search; not with a grid). ASHA ranks trials by the source score "
        "alone in either case."))

    @field_validator("methods")
    @classmethod
    def _method_lr_numbers(cls, methods: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """A method's own ``lr`` read like ``search.lr``: ``1e-2`` is a number there too."""
        out = {}
        for name, settings in methods.items():
            lr = settings.get("lr")
            if isinstance(lr, list):
                settings = {**settings, "lr": [_number_or_as_is(v) for v in lr]}
            elif lr is not None and not isinstance(lr, Range):
                settings = {**settings, "lr": _number_or_as_is(lr)}
            out[name] = settings
        return out
    intermediate_tuning: list[IntermediateTuningOption] = Field(["none"], description=(
        "Intermediate-tuning settings the search chooses from: none, or language-model training settings "
        "(trained once per sweep and cached)."))
    # What trials train on: ``source`` (zero-shot transfer) and/or ``translate_train`` (the source
    # training data and its translation into every target language; see ``translation``).
    train_data: list[Literal["source", "translate_train"]] = Field(["source"], description=(
        "What trials train on: source (zero-shot) and/or translate_train (the source data and its machine "
        "translation into every target: not zero-shot)."))


# ``translation.model``'s name for the perfect translation a parallel builtin dataset (the lab's
# world) can write: a ceiling for translate-train, not an MT system.
PERFECT_TRANSLATION = "perfect-translation"


class TranslationSpec(_Strict):
    """The machine translation behind ``translate_train`` and ``xlsearch translate``: the source
    training data translated into each target language once (cached under the storage)."""

    # An MT model of a family with language tokens (registry name, hub id or directory), or
    # PERFECT_TRANSLATION.
    model: str = Field("nllb-600m", min_length=1, max_length=4096, description=(
        "The MT model (a family with language tokens: NLLB-200, mBART-50 many-to-many): registry name, hub id "
        "or directory; or perfect-translation (the lab's world only: a ceiling, not MT)."))
    batch_size: Int = Field(16, gt=0, le=65_536, description="Sentences per generation batch.")
    max_input_length: Int = Field(256, gt=8, le=65_536,  # tokens of one translated segment
                                  description="Tokens of one translated sentence.")
    max_new_tokens: Int = Field(320, gt=1, le=65_536, description="Tokens generated per sentence at most.")
    num_beams: Int = Field(1, gt=0, le=64, description="Beams of the translation's search (1: greedy).")


class TrainingSpec(_Strict):
    """How each trial trains and evaluates."""

    steps_per_round: Int = Field(100, gt=0, le=10_000_000, description="Optimizer steps between two evaluations.")
    rounds: Int = Field(5, gt=0, le=10_000, description="Evaluation rounds of a trial (ASHA's rungs).")
    batch_size: Int = Field(8, gt=0, le=65_536, description=(
        "The global batch; with resources.workers > 1 split evenly across the workers (a multiple of them)."))
    eval_batch_size: Int = Field(32, gt=0, le=65_536, description="Inputs per generation batch in evaluation.")
    grad_accum: Int = Field(1, gt=0, le=4096, description="Batches whose gradients are accumulated per step.")
    max_input_length: Int = Field(512, gt=8, le=65_536, description="Tokens of an input; longer ones are cut.")
    max_output_length: Int = Field(64, gt=1, le=65_536, description=(
        "Tokens of a label, and the generation limit."))
    warmup_ratio: Number = Field(0.1, ge=0, lt=1, description=(
        "Share of the steps with a linear warm-up; then linear decay to 0."))
    optimizer: Literal["adamw", "adafactor"] = Field("adamw", description=(
        "AdamW, or Adafactor with a fixed learning rate."))
    weight_decay: Number = Field(0.0, ge=0, le=1, description="The optimizer's weight decay.")
    max_grad_norm: Number = Field(1.0, gt=0, le=1e6, description="Gradients are clipped to this norm.")
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description=(
        "auto: bf16 on a GPU that supports it, else fp32."))
    num_beams: Int = Field(1, gt=0, le=64, description="Beams of evaluation's decoding (1: greedy).")
    sample_generations: Int = Field(5, ge=0, le=10_000, description=(
        "Outputs per language saved each round (MLflow's samples artifact)."))
    # Target-language dev examples scored in each round before the last: a fixed sample (the same
    # in every round and trial); the last round scores them all. 0: all of them in every round.
    target_eval_sample: Int = Field(200, ge=0, le=10_000_000, description=(
        "Target-language dev examples scored in each round before the last (a fixed sample); the last round "
        "scores them all; 0: all in every round."))


class SchedulerSpec(_Strict):
    """Which trials stop early; ``scheduler: asha`` or ``scheduler: none`` is shorthand for the type."""

    type: Literal["asha", "none"] = Field("asha", description=(
        "asha: stop weak trials at evaluation rounds by the source score; none: run every trial to the end."))
    grace_period: Int = Field(1, gt=0, le=10_000, description=(  # eval rounds
        "Rounds before ASHA may stop a trial; at most training.rounds."))
    reduction_factor: Number = Field(2.0, gt=1, le=1000, description=(
        "ASHA's eta: about 1/eta of the trials reach each next rung."))
    # End a trial after any round whose mean label-free wrong-language rate on the target
    # languages is above this share (0 < x <= 1), with ASHA or without it; None: never.
    stop_wrong_language_above: Number | None = Field(None, gt=0, le=1, description=(
        "End a trial after a round whose mean label-free target wrong-language rate is above this share, with "
        "ASHA or without it; unset: never."))


class SelectionSpec(_Strict):
    """How a sweep's trials are chosen besides the source dev score (the analysis' rules)."""

    # lid_aware: the highest mean target wrong-language rate a chosen trial may have.
    lid_threshold: Number = Field(0.2, gt=0, le=1, description=(
        "lid_aware rule: the highest mean target wrong-language rate a chosen trial may have."))
    # few_shot_target: labeled dev examples per target language drawn once (search.seed) and held
    # out from every target/ score; 0: none held out, and no few_shot_target rule.
    few_shot_examples: Int = Field(20, ge=0, le=1_000_000, description=(
        "Labeled dev examples per target language held out of every target score for the few_shot_target "
        "rule; 0: none and no such rule."))
    # soup: average the final weights of the best k trials of each group by source dev score
    # and evaluate the average as a trial of its own; 0: no soup.
    soup_top_k: Int = Field(0, ge=0, le=1000, description=(
        "soup rule: average the final weights of each group's best k trials by source score and evaluate the "
        "average; 0: no soup."))


def _gpus(value: float) -> float:
    if not 0 <= value <= 64:
        raise ValueError("must be 'auto' or a number >= 0 and <= 64")
    return value


GpusPerWorker = Annotated[
    Union[Annotated[Literal["auto"], Tag("<auto>")], Annotated[Number, AfterValidator(_gpus), Tag("<number>")]],
    Discriminator(_shape(word="<auto>", other="<number>")),
]


class ResourcesSpec(_Strict):
    """Where one trial runs: ``workers`` Train workers (a DDP group above 1; ``training.batch_size``
    is the global batch, split evenly across them), each with these devices. A trial whose worker
    group fails (a worker process or its node lost) is restarted from its last checkpoint up to
    ``max_restarts`` times, then ends as failed."""

    workers: Int = Field(1, gt=0, le=4096, description=(
        "Ray Train workers per trial; above 1 a DDP group (gloo on CPUs, NCCL on GPUs)."))
    gpus_per_worker: GpusPerWorker = Field("auto", description=(
        "GPUs per worker, 0 to 64; auto: 1 if the cluster has GPUs when the sweep starts, else 0."))
    cpus_per_worker: Number = Field(1.0, gt=0, le=4096, description="CPUs per worker.")
    max_restarts: Int = Field(2, ge=0, le=1000, description=(
        "Times a trial's worker group is restarted from its last checkpoint after a lost worker, before the "
        "trial fails."))


class BudgetSpec(_Strict):
    """Caps on a sweep's size and cost; every field optional."""

    max_trials: Int | None = Field(None, gt=0, le=1_000_000, description=(
        "Caps num_samples x seeds; a larger grid is refused."))
    wall_clock_hours: Number | None = Field(None, gt=0, le=100_000, description=(
        "Tune's time budget for the sweep; checked against the estimate before it starts."))
    gpu_hours: Number | None = Field(None, gt=0, le=10_000_000, description=(
        "Device-hours of the trials (worker-hours without GPUs): estimated up front, and the sweep stops when "
        "they are used."))


class TrackingSpec(_Strict):
    """Where the sweep is tracked in MLflow."""

    mlflow_uri: str | None = Field(None, min_length=1, max_length=4096,  # default: SQLite store inside the sweep directory
                                   description="MLflow store or server; default: sqlite:///<storage>/<name>/mlflow.db.")
    experiment: str | None = Field(None, min_length=1, max_length=500,  # default: the sweep's name
                                   description="MLflow experiment; default: the sweep's name.")


class CheckpointsSpec(_Strict):
    """What a sweep keeps on disk once a trial has ended. A running trial always keeps its last
    checkpoint (resume needs it) and a failed one keeps it too (resume retries it from there)."""

    keep_best: Int = Field(3, ge=0, le=1_000_000, description=(  # finished trials whose final weights stay, best first
        "Ended trials whose final weights stay on disk, best source-dev score first; 0 keeps none."))


class SubsampleSpec(_Strict):
    """Examples drawn per language and split (with search.seed); unset: all of them."""

    train: Int | None = Field(None, gt=0, le=1_000_000_000, description=(
        "Training examples per language; default: all."))
    dev: Int | None = Field(200, gt=0, le=1_000_000_000, description=(
        "Dev examples per language (a target's few-shot hold-out comes out of these)."))
    unlabeled: Int | None = Field(1000, gt=0, le=1_000_000_000, description=(
        "Unlabeled texts per language, for intermediate tuning and mix_target."))


class SweepSpec(_Strict):
    """One search: a task, a model, its languages and data, what to search and how to run it."""

    name: str = Field(description="The sweep's name: letters, digits, _ . - (it names the sweep folder).")
    task: str = Field(max_length=200, description=(  # a name in xlsearch.tasks.TASKS (checked there)
        "The task: xlsum (summarization) or xquad (question answering)."))
    model: str = Field(min_length=1, max_length=4096, description=(  # a registry name, hub id or directory
        "A registry name (mt5-base, mbart-50, nllb-600m, tiny-mt5, lab-mt5, ...), a hub id (org/name) or a "
        "local model directory."))
    source_languages: list[str] = Field(["en"], description="The languages with task labels, trained on.")
    target_languages: list[str] = Field(description="The languages evaluated zero-shot (never trained on).")
    # Languages with labeled dev data that are neither source nor target: the pivot_dev rule
    # chooses by their score (Chen and Ritter, EMNLP 2021).
    pivot_languages: list[str] = Field([], description=(
        "Languages with labeled dev data that are neither source nor target, for the pivot_dev rule."))
    data: dict[str, dict[Literal["train", "dev", "unlabeled"], DataSourceSpec]] = Field({}, description=(
        "Where each language's train, dev and unlabeled data come from; anything not given falls back to the "
        "task's hub default."))
    subsample: SubsampleSpec = Field(SubsampleSpec(), description="Examples drawn per language and split.")
    search: SearchSpec = Field(SearchSpec(), description="The search space and the searcher.")
    training: TrainingSpec = Field(TrainingSpec(), description="How each trial trains and evaluates.")
    scheduler: SchedulerSpec = Field(SchedulerSpec(), description=(
        "Early stopping: ASHA on the source score, and the wrong-language stopper."))
    selection: SelectionSpec = Field(SelectionSpec(), description=(
        "Settings of the selection rules besides the source dev score."))
    resources: ResourcesSpec = Field(ResourcesSpec(), description="Where one trial runs.")
    budget: BudgetSpec = Field(BudgetSpec(), description="Caps on the sweep's size and cost.")
    tracking: TrackingSpec = Field(TrackingSpec(), description="MLflow tracking.")
    checkpoints: CheckpointsSpec = Field(CheckpointsSpec(), description=(
        "What stays on disk once a trial has ended."))
    translation: TranslationSpec = Field(TranslationSpec(), description=(
        "Machine translation for translate_train and xlsearch translate."))
    # A relative storage is resolved from the spec file's folder when the spec is read.
    storage: str = Field(DEFAULT_STORAGE, min_length=1, max_length=4096, description=(
        "Where sweeps are written (STORAGE/NAME); relative to the spec's folder; on a cluster a folder every "
        "node mounts."))

    # Where relative data paths are resolved from: the spec file's folder.
    base_dir: str = Field(".", exclude=True, description=(
        "Internal: the spec file's folder, set when the spec is read (not a spec key)."))

    @model_validator(mode="before")
    @classmethod
    def _storage_from_spec_folder(cls, data: Any) -> Any:
        storage = data.get("storage") if isinstance(data, dict) else None
        if (isinstance(storage, str) and storage and not storage.startswith("~") and not Path(storage).is_absolute()
                and not is_uri(storage)):  # a URI stays as given, for the check to name it
            data = {**data, "storage": str(Path(str(data.get("base_dir", "."))) / storage)}
        return data

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(SLUG, v):
            raise ValueError("must be 1 to 100 letters, digits, '_', '.' or '-' (it names a folder)")
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
    def source_and_target_languages(self) -> list[str]:
        return list(dict.fromkeys(self.source_languages + self.target_languages))

    @property
    def all_languages(self) -> list[str]:
        """Source, target and pivot languages: every language with dev data."""
        return list(dict.fromkeys(self.source_languages + self.target_languages + self.pivot_languages))

    @property
    def multi_objective(self) -> bool:
        return len(self.search.objectives) > 1


# ---------------------------------------------------------------------------------------------
# Loading


def field_path(loc: tuple, raw: Any) -> str:
    """A pydantic error location as the user wrote it: ``search.lr[1]``, with union tags dropped
    (list indices in brackets where ``raw`` has a list there)."""
    out, node = "", raw
    for part in loc:
        if part in _TAGS or part == "[key]":
            continue
        if isinstance(part, int) and isinstance(node, list):
            out += f"[{part}]"
            node = node[part] if 0 <= part < len(node) else None
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _unwrap(tp: Any) -> Any:
    """``tp`` without Annotated and without the None of an Optional."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class found by walking ``loc`` from ``model`` through fields, dict
    values, list items and tagged union branches (for error messages)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if get_origin(current) in (Union, types.UnionType):
            branch = [a for a in get_args(current) if get_origin(a) is Annotated
                      and any(isinstance(m, Tag) and m.tag == part for m in a.__metadata__)]
            if not branch:
                return None
            current = branch[0]
        elif _is_model(current):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) is list:
            current = get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if _is_model(current) else None


def _keys(model: type[BaseModel]) -> str:
    return ", ".join(sorted(k for k in model.model_fields if k != "base_dir"))


def _format_validation_error(err: ValidationError, raw: Any, source: str | None) -> SpecError:
    first = err.errors()[0]
    loc = tuple(first["loc"])
    field = field_path(loc, raw)
    value = first.get("input")
    kind = first["type"]
    if kind in ("extra_forbidden", "invalid_key"):
        parent = _model_at(SweepSpec, loc[:-1])
        allowed = f"unknown key; allowed keys here: {_keys(parent)}" if parent else "unknown key"
        return SpecError(field, value, allowed, source)
    if kind == "missing":
        return SpecError(field, None, "required field is missing", source)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(SweepSpec, loc)
        return SpecError(field, value, f"a mapping of keys ({_keys(model)})" if model else "a mapping of keys", source)
    msg = first["msg"].removeprefix("Value error, ")
    return SpecError(field, value, msg[:1].lower() + msg[1:], source)


def shape_spec(raw: Any, *, base_dir: str | Path = ".", source: str | None = None) -> SweepSpec:
    """The spec's shape checked (pydantic only; see :func:`xlsearch.checks.parse_spec` for the
    full check). Raises :class:`SpecError`."""
    if raw is None:
        raise SpecError("(top level)", None, "the spec is empty; a spec is a YAML mapping of keys", source)
    if not isinstance(raw, dict):
        raise SpecError("(top level)", type(raw).__name__, "a spec is a YAML mapping of keys", source)
    if "base_dir" in raw:
        raise SpecError("base_dir", raw["base_dir"], "reserved; relative paths are resolved from the spec file's folder", source)
    try:
        return SweepSpec.model_validate({**raw, "base_dir": str(base_dir)})
    except ValidationError as err:
        raise _format_validation_error(err, raw, source) from None
    except RecursionError:
        raise SpecError("(top level)", "…", f"nested deeper than {MAX_YAML_DEPTH} levels", source) from None


# ---------------------------------------------------------------------------------------------
# Reading a spec file


class _Refused(yaml.YAMLError):
    """A YAML document refused by :class:`SpecLoader`: where, and why."""

    def __init__(self, node_or_mark: Any, reason: str, field: str = "(yaml)"):
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        self.line = mark.line + 1 if mark is not None else None
        self.reason, self.field = reason, field
        super().__init__(reason)


_MERGE_TAG = "tag:yaml.org,2002:merge"


class SpecLoader(yaml.SafeLoader):
    """Safe YAML that refuses what no spec needs: a key given twice in one mapping (plain YAML
    keeps the last), nesting deeper than :data:`MAX_YAML_DEPTH`, aliases that refer to their own
    container or expand to more than :data:`MAX_YAML_VALUES` values."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._paths: dict[int, str] = {}

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(self.peek_event(), f"nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):
        self._measure(node, "", 1, {}, set())
        return super().construct_document(node)

    def _measure(self, node, path: str, depth: int, sizes: dict, open_: set) -> int:
        """Values under ``node`` with aliases expanded; records each mapping's path."""
        key = id(node)
        if key in open_:
            raise _Refused(node, "an alias refers to a node that contains it")
        if key in sizes:
            size, height = sizes[key]
            if depth + height > MAX_YAML_DEPTH:
                raise _Refused(node, f"aliases nest deeper than {MAX_YAML_DEPTH} levels")
            return size
        if depth > MAX_YAML_DEPTH:
            raise _Refused(node, f"aliases nest deeper than {MAX_YAML_DEPTH} levels")
        self._paths.setdefault(key, path)
        open_.add(key)
        size, height = 1, 0
        if isinstance(node, yaml.SequenceNode):
            children = [(f"{path}[{i}]", child) for i, child in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            children = []
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                children += [(path, key_node), (f"{path}.{name}" if path else str(name), value_node)]
        else:
            children = []
        for child_path, child in children:
            size += self._measure(child, child_path, depth + 1, sizes, open_)
            height = max(height, 1 + sizes[id(child)][1])
            if size > MAX_YAML_VALUES:
                raise _Refused(node, f"aliases expand to more than {MAX_YAML_VALUES} values")
        open_.discard(key)
        sizes[key] = (size, height)
        return size

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            path = self._paths.get(id(node), "")
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue  # merged keys may be overridden; other keys fail in SafeLoader
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:
                    continue
                if first is not None:
                    name = f"{path}.{key}" if path else str(key)
                    raise _Refused(key_node, f"duplicate key (first given at line {first}); give each key once",
                                   field=name)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(err: yaml.YAMLError, text: str) -> tuple[str, str]:
    """(where, what) of a YAML error, each on one line."""
    if isinstance(err, yaml.reader.ReaderError):
        line = text[: err.position].count("\n") + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        return f"line {line}", f"character #x{code:04x} is not allowed in YAML"
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or str(err)
    return (f"line {mark.line + 1}" if mark else "file"), " ".join(str(problem).split())


def read_spec_file(path: str | Path) -> Any:
    """The YAML document of a spec file. Raises :class:`SpecError` (also for I/O problems)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise SpecError("spec", str(path), "a folder, not a spec file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("spec", str(path), "no such file") from None
    except (OSError, ValueError) as err:
        raise SpecError("spec", str(path), f"cannot be read: {getattr(err, 'strerror', None) or err}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SpecError("(file)", f"line {line}", f"byte 0x{data[err.start]:02x} is not UTF-8; save the spec as UTF-8 "
                        "text", str(path)) from None
    loader = None
    try:
        loader = SpecLoader(text)
        return loader.get_single_data()
    except _Refused as err:
        where = f"line {err.line}" if err.line else "file"
        raise SpecError(err.field, where, err.reason if err.field != "(yaml)" else f"not accepted: {err.reason}",
                        str(path)) from None
    except yaml.YAMLError as err:
        where, what = _yaml_problem(err, text)
        raise SpecError("(yaml)", where, f"not valid YAML: {what}", str(path)) from None
    except RecursionError:
        raise SpecError("(yaml)", "file", f"nested deeper than {MAX_YAML_DEPTH} levels", str(path)) from None
    finally:
        if loader is not None:
            loader.dispose()
