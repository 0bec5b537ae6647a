"""The names of every metric a trial reports: one place to spell them, read them and filter them.

The names are stable and flat, as MLflow and Tune want them; the sweep directory's
``result.json`` files, the MLflow runs and the analysis frames all use them as they are.

Each eval round of a trial reports (the trial loop, :mod:`xlsearch.training.evaluate`):

- ``round``: the eval round, 1 to the spec's ``training.rounds`` (ASHA's time attribute, the
  MLflow step);
- ``step``: optimizer steps done so far;
- ``diverged``: 1 when the loss became non-finite in this round (the trial ends there and is
  not evaluated: its objective is reported as 0.0), else 0;
- ``train/loss``: mean training loss of the round; ``train/lr``: the learning rate at its end;
- ``time/train_s``, ``time/eval_s``: seconds spent training and evaluating in the round;
- ``source_dev/<metric>``: each task metric, averaged over the source languages' dev sets (the
  search objective is ``source_dev/rougeL`` or ``source_dev/f1``), and
  ``source_dev/wrong_language_rate``;
- ``target/<lang>/<metric>`` for the task metrics of each target language;
- ``target/<lang>/<signal>`` for the **label-free signals** of each target language, computed
  from the model's outputs and their inputs only, never from a reference (the ones a zero-shot
  rule may read; :data:`LABEL_FREE`), ``<signal>`` one of:

  - ``wrong_language_rate``: share of outputs in another language than the input's (another
    script, or confidently identified as another language; an output copied from its input is
    in the input's language; see ``xlsearch.metrics.judge_outputs``),
  - ``empty_rate``: share of empty outputs,
  - ``undetermined_rate``: share of outputs whose language cannot be decided (a bare number, a
    short or degenerate text),
  - ``rudiment_rate``: share of outputs that still hold mT5 pretraining sentinels,
  - ``length_ratio``: characters of the outputs over characters of their inputs,
  - ``lid_n``: how many outputs the language rates were computed on,
  - ``examples``: how many of the language's dev examples the round scored (a fixed sample
    before the last round, all of them in the last; ``training.target_eval_sample``);

- ``target/<lang>/ref_wrong_language_rate`` and ``ref_lid_n`` (QA only): the study's rate,
  over the examples whose **reference** answer is itself identifiably in the language. It reads
  target labels: for reporting, never for a zero-shot rule;

  task metrics and signals are NaN where a language cannot be scored. When the spec holds out
  ``selection.few_shot_examples`` labeled examples per target language, every ``target/``
  metric is computed on the other dev examples only;
- ``target_mean/<name>``: the mean over the target languages (NaN skipped) of each task metric
  and each signal;
- ``few_shot/<lang>/<metric>`` and ``few_shot_mean/<metric>``: the task metrics on the
  ``selection.few_shot_examples`` labeled target examples held out for the ``few_shot_target``
  rule (they read target labels, a few);
- ``pivot/<lang>/<metric>`` and ``pivot_mean/<metric>``: the task metrics on the dev data of
  the spec's ``pivot_languages``, labeled languages that are neither source nor target (read
  no target label).

Once per trial, when its MLflow run is made (not per round): ``lr``, the trial's learning rate
as a number, and ``log10_lr`` (MLflow params are strings, which sort 1e-05 after 0.001, and its
charts have no log axis).

Results sent to Tune also carry ``samples_json``: a few outputs of each language with their
inputs and references, as JSON (logged to MLflow as an artifact, never as a metric), and
Tune's own entries, of which the sweep reads ``trial_id``, ``training_iteration`` and
``time_total_s``.
"""
from __future__ import annotations

from typing import Iterable

# Prefixes of the metric families (a key is ``<prefix><rest>``).
SOURCE_DEV_PREFIX = "source_dev/"
TARGET_PREFIX = "target/"
TARGET_MEAN_PREFIX = "target_mean/"
FEW_SHOT_PREFIX = "few_shot/"
FEW_SHOT_MEAN_PREFIX = "few_shot_mean/"
PIVOT_PREFIX = "pivot/"
PIVOT_MEAN_PREFIX = "pivot_mean/"
TRAIN_PREFIX = "train/"
TIME_PREFIX = "time/"
METRIC_PREFIXES = (SOURCE_DEV_PREFIX, TARGET_PREFIX, TARGET_MEAN_PREFIX, FEW_SHOT_PREFIX, FEW_SHOT_MEAN_PREFIX,
                   PIVOT_PREFIX, PIVOT_MEAN_PREFIX, TRAIN_PREFIX, TIME_PREFIX)

# Per round, outside the families.
ROUND = "round"
STEP = "step"
DIVERGED = "diverged"
TRAIN_LOSS = TRAIN_PREFIX + "loss"
TRAIN_LR = TRAIN_PREFIX + "lr"
TIME_TRAIN_S = TIME_PREFIX + "train_s"
TIME_EVAL_S = TIME_PREFIX + "eval_s"

# The label-free signals of the outputs, per language (``target/<lang>/<signal>``) and averaged
# (``target_mean/<signal>``; the wrong-language rate also ``source_dev/...``).
WRONG_LANGUAGE_RATE = "wrong_language_rate"
EMPTY_RATE = "empty_rate"
UNDETERMINED_RATE = "undetermined_rate"
RUDIMENT_RATE = "rudiment_rate"
LENGTH_RATIO = "length_ratio"
LID_N = "lid_n"
LANGUAGE_RATES = (WRONG_LANGUAGE_RATE, EMPTY_RATE, UNDETERMINED_RATE, RUDIMENT_RATE, LENGTH_RATIO, LID_N)
# ``target/<lang>/examples``: how many of the language's dev examples the round scored (a fixed
# sample before the last round, all of them in the last; ``training.target_eval_sample``).
EXAMPLES = "examples"
# What a rule that reads no target label may read of ``target/`` and ``target_mean/``: these alone.
LABEL_FREE = (*LANGUAGE_RATES, EXAMPLES)
# The study's QA wrong-language rate, filtered by the reference answers: reads target labels.
REF_WRONG_LANGUAGE_RATE = "ref_wrong_language_rate"
REF_LID_N = "ref_lid_n"

# In results sent to Tune only: the round's sample outputs, as JSON.
SAMPLES = "samples_json"

# A trial's constants, logged once as MLflow metrics (numbers to sort, filter and plot by).
LR = "lr"
LOG10_LR = "log10_lr"

# What a trial trained on (a trial parameter, in configs, MLflow params and analysis frames):
# the source languages' training data (zero-shot transfer), or that data and its machine
# translation into every target language (translate-train: not zero-shot, never chosen by the
# zero-shot rule).
TRAIN_DATA = "train_data"
SOURCE_DATA = "source"
TRANSLATE_TRAIN = "translate_train"
TRAIN_DATA_CHOICES = (SOURCE_DATA, TRANSLATE_TRAIN)

# A trial's seed where the sweep repeats each configuration over seeds (``search.seeds``): a
# trial parameter; trials that differ only in it are one configuration, compared by their mean.
SEED = "seed"
# Columns the selection's per-configuration rows add: how many seeds, and each metric's
# standard deviation over them (``sd:<metric>``).
SEEDS = "seeds"
SD_PREFIX = "sd:"

# A trial the wrong-language stopper ended (``scheduler.stop_wrong_language_above``): its outcome's
# name, and the 0/1 column of selection frames that keeps it from ever being chosen.
STOPPED_WRONG_LANGUAGE = "stopped_wrong_language"

# Tune's own entries of a result that the sweep reads.
TRIAL_ID = "trial_id"
TRAINING_ITERATION = "training_iteration"
TIME_TOTAL_S = "time_total_s"


def source_dev(metric: str) -> str:
    """``source_dev/<metric>``: the mean over the source languages' dev sets."""
    return f"{SOURCE_DEV_PREFIX}{metric}"


def target(lang: str, metric: str) -> str:
    """``target/<lang>/<metric>``: a task metric or a language rate of one target language."""
    return f"{TARGET_PREFIX}{lang}/{metric}"


def target_mean(metric: str) -> str:
    """``target_mean/<metric>``: the mean over the target languages."""
    return f"{TARGET_MEAN_PREFIX}{metric}"


def few_shot(lang: str, metric: str) -> str:
    """``few_shot/<lang>/<metric>``: a task metric on the labeled target examples held out for
    the few_shot_target rule."""
    return f"{FEW_SHOT_PREFIX}{lang}/{metric}"


def few_shot_mean(metric: str) -> str:
    return f"{FEW_SHOT_MEAN_PREFIX}{metric}"


def pivot(lang: str, metric: str) -> str:
    """``pivot/<lang>/<metric>``: a task metric on a pivot language's dev data."""
    return f"{PIVOT_PREFIX}{lang}/{metric}"


def pivot_mean(metric: str) -> str:
    return f"{PIVOT_MEAN_PREFIX}{metric}"


# What a key reads of the target languages' labels, from least to most: nothing; the few labeled
# examples held out for few_shot_target; the target dev labels (task scores, the reference-filtered
# QA rate: what only the oracle and the tables may read).
NO_TARGET_LABEL, FEW_TARGET_LABELS, TARGET_LABELS = "no target label", "few target labels", "target labels"
LABEL_LEVELS = (NO_TARGET_LABEL, FEW_TARGET_LABELS, TARGET_LABELS)


def target_labels_read(key: str) -> str:
    """Which of :data:`LABEL_LEVELS` the metric ``key`` reads. Every ``target/`` and
    ``target_mean/`` key reads target labels unless its name is one of :data:`LABEL_FREE`, so a
    new task metric is never mistaken for a label-free signal."""
    key = str(key)
    if key.startswith((FEW_SHOT_PREFIX, FEW_SHOT_MEAN_PREFIX)):
        return FEW_TARGET_LABELS
    if key.startswith((TARGET_PREFIX, TARGET_MEAN_PREFIX)) and metric_of(key) not in LABEL_FREE:
        return TARGET_LABELS
    return NO_TARGET_LABEL


def readable_with(columns: Iterable[str], level: str) -> list[str]:
    """The columns a reader allowed ``level`` (one of :data:`LABEL_LEVELS`) may see."""
    allowed = LABEL_LEVELS[: LABEL_LEVELS.index(level) + 1]
    return [c for c in columns if target_labels_read(c) in allowed]


def metric_of(key: str) -> str:
    """The metric a key names: ``source_dev/rougeL`` -> ``rougeL``, ``target/de/f1`` -> ``f1``."""
    return key.rsplit("/", 1)[-1]


def is_metric(key: str) -> bool:
    """Whether ``key`` is in one of the metric families (source_dev, target, target_mean,
    few_shot, pivot, train, time); ``round``, ``step`` and ``diverged`` are not and are named on
    their own."""
    return key.startswith(METRIC_PREFIXES)


def headline(objective: str) -> dict[str, str]:
    """The names a user reads first about a trial (``xlsearch.tracking.view.Headline``'s
    fields): the objective, the mean target wrong-language rate, the mean target score of the
    objective's metric, and the LR."""
    return {"objective": objective, "wrong_rate": target_mean(WRONG_LANGUAGE_RATE),
            "target_score": target_mean(metric_of(objective)), "lr": LR, "log10_lr": LOG10_LR}


def target_languages(keys: Iterable[str]) -> list[str]:
    """The languages that appear in ``target/<lang>/<metric>`` keys, sorted."""
    return sorted({k.split("/")[1] for k in keys if k.startswith(TARGET_PREFIX) and k.count("/") == 2})
