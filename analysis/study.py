"""Study tables across sweeps (`xlsearch analyze --study OUT SWEEP...`): per task, one table of
the target score and one of the wrong-language rate, rows model x method x intermediate tuning
(and one translate-train row per model), columns the target languages and their average.

Each cell is the value of the trial the ``source_dev`` rule chooses in its row's group — the
same choice as the per-sweep report's ``table_source_dev_*`` (:func:`analysis.report.analyze`):
per sweep, each trial's last round among the comparable trials
(:func:`xlsearch.selection.comparable`); per (model, method, intermediate tuning), the rules of
:func:`xlsearch.selection.select_all` over those rows, pooled over every sweep of the task and
model. Trials trained on translated target data (``train_data`` = ``translate_train``) are not
zero-shot: they never enter those groups, and make one row per model of their own, chosen by
``source_dev`` among all of the model's translate-train trials.

A sweep's task and model come from its saved ``SWEEP_DIR/spec.yaml`` (keys ``task`` and
``model``); an MLflow experiment's trial runs do not name them, so --study takes sweep
directories only.

    from analysis.study import load_study_sweep, build_studies, write_study
    studies = build_studies([load_study_sweep(d) for d in ("runs/mt5", "runs/mbart")])
    files = write_study(studies["xlsum"], Path("study"))
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analysis.frame import GROUP_COLUMNS, load_sweep_dir, target_languages
from analysis.report import _md_table, trial_label
from xlsearch import keys
from xlsearch.selection import (
    ZERO_SHOT_RULE,
    Choice,
    by_train_data,
    comparable,
    select_all,
)
from xlsearch.tasks import get_task

VALUES = ("score", "wrong_language")  # the two tables of a task
INDEX = ("model", *GROUP_COLUMNS)
NOT_A_GROUP = "-"  # a translate-train row's intermediate tuning: its trials are pooled


class StudyError(ValueError):
    """A source --study cannot use; one line."""


@dataclass
class StudySweep:
    source: str  # as given on the command line
    task: str
    model: str
    frame: pd.DataFrame  # every round of every trial (analysis.frame.load_sweep)


@dataclass
class StudyRow:
    model: str
    method: str  # a method, or "translate-train"
    intermediate_tuning: str
    train_data: str  # keys.SOURCE_DATA or keys.TRANSLATE_TRAIN
    choice: Choice  # the source_dev rule's; trial_id is "<sweep position, 4 digits>/<trial id>"
    sweep: str | None = None  # the chosen trial's sweep, as given
    trial: str = ""  # its label (method, LR, intermediate tuning)


@dataclass
class Study:
    task: str
    metric: str  # e.g. rougeL
    metric_label: str  # e.g. ROUGE-L
    langs: list[str]
    rows: list[StudyRow] = field(default_factory=list)


def model_label(model: str) -> str:
    """The model as a row names it: a registry name or hub id as is, a local directory by its name."""
    return Path(model).name if model.startswith(("/", "~", ".")) else model


def _looks_like_mlflow(source: str) -> bool:
    return "#" in source and ("://" in source or source.startswith("sqlite:"))


def load_study_sweep(source: str | Path) -> StudySweep:
    """A sweep directory's frame, task and model (from its spec.yaml). StudyError or
    :class:`analysis.frame.SweepNotFound`, one line, when it is not a usable sweep."""
    source = str(source)
    if _looks_like_mlflow(source):
        raise StudyError(f"{source}: --study takes sweep directories: an MLflow experiment's trial runs "
                         "do not name the sweep's task and model (SWEEP_DIR/spec.yaml does)")
    sweep_dir = Path(source).expanduser()
    if not sweep_dir.is_dir():
        raise StudyError(f"{source}: not a sweep directory (no such folder)")
    frame = load_sweep_dir(sweep_dir)
    spec_file = sweep_dir / "spec.yaml"
    if not spec_file.is_file():
        raise StudyError(f"{source}: no spec.yaml, where --study reads the sweep's task and model")
    try:
        spec = yaml.safe_load(spec_file.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise StudyError(f"{spec_file}: not readable YAML ({type(err).__name__})") from None
    spec = spec if isinstance(spec, dict) else {}
    missing = [k for k in ("task", "model") if not isinstance(spec.get(k), str) or not spec[k]]
    if missing:
        raise StudyError(f"{spec_file}: no {' and no '.join(missing)} (--study groups sweeps by task and model)")
    try:
        task = get_task(spec["task"])
    except ValueError as err:
        raise StudyError(f"{spec_file}: {err}") from None
    objective = keys.source_dev(task.objective_metric)
    if objective not in frame:
        raise StudyError(f"{source}: the spec's task is {task.name}, but no trial reports {objective}")
    return StudySweep(source, task.name, spec["model"], frame)


def _pooled_rows(sweeps: Sequence[tuple[int, StudySweep]]) -> dict[str, pd.DataFrame]:
    """Per training data, the comparable rows of these sweeps together; trial ids become
    ``<position, 4 digits>/<trial id>`` (unique across sweeps) and ``_sweep`` holds the position."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for position, sweep in sweeps:
        for data, frame in by_train_data(sweep.frame).items():
            rows = comparable(frame)
            rows = rows.assign(**{keys.TRIAL_ID: f"{position:04d}/" + rows[keys.TRIAL_ID].astype(str), "_sweep": position})
            parts.setdefault(data, []).append(rows)
    return {data: pd.concat(frames, ignore_index=True) for data, frames in parts.items()}


def _row(model: str, method: str, it: str, data: str, rows: pd.DataFrame, study: Study, objective: str,
         threshold: float, sources: dict[int, str]) -> StudyRow:
    choice = select_all(rows, objective, study.metric, study.langs, threshold)[ZERO_SHOT_RULE]
    row = StudyRow(model, method, it, data, choice)
    if choice.trial_id is not None:
        chosen = rows[rows[keys.TRIAL_ID] == choice.trial_id].iloc[0]
        row.sweep = sources[int(chosen["_sweep"])]
        row.trial = trial_label(chosen)
    return row


def build_studies(sweeps: Sequence[StudySweep], threshold: float = 0.2) -> dict[str, Study]:
    """One :class:`Study` per task among ``sweeps``, in the order the tasks first appear; its
    models in the order they first appear, each model's zero-shot groups sorted by method and
    intermediate tuning, then its translate-train row."""
    sources = {position: sweep.source for position, sweep in enumerate(sweeps)}
    studies: dict[str, Study] = {}
    for task_name in dict.fromkeys(s.task for s in sweeps):
        task = get_task(task_name)
        objective = keys.source_dev(task.objective_metric)
        of_task = [(i, s) for i, s in enumerate(sweeps) if s.task == task_name]
        langs = sorted(set().union(*(target_languages(s.frame) for _, s in of_task)))
        study = Study(task_name, task.objective_metric, task.metric_label(task.objective_metric), langs)
        for model in dict.fromkeys(s.model for _, s in of_task):
            label = model_label(model)
            pooled = _pooled_rows([(i, s) for i, s in of_task if s.model == model])
            if keys.SOURCE_DATA in pooled:
                for (method, it), rows in pooled[keys.SOURCE_DATA].groupby(list(GROUP_COLUMNS), sort=True):
                    study.rows.append(_row(label, str(method), str(it), keys.SOURCE_DATA, rows, study, objective,
                                           threshold, sources))
            for data in sorted(set(pooled) - {keys.SOURCE_DATA}):
                study.rows.append(_row(label, data.replace("_", "-"), NOT_A_GROUP, data, pooled[data], study,
                                       objective, threshold, sources))
        studies[task_name] = study
    return studies


def study_table(study: Study, value: str) -> pd.DataFrame:
    """Rows model x method x intermediate tuning; columns the target languages and ``avg`` (their
    mean, NaN skipped). ``value``: "score" (the task metric) or "wrong_language" (rate, %)."""
    records = []
    for row in study.rows:
        c = row.choice
        values = c.target_scores if value == "score" else {k: 100 * v for k, v in c.wrong_language.items()}
        record = {"model": row.model, "method": row.method, "intermediate_tuning": row.intermediate_tuning}
        record.update({lang: values.get(lang, math.nan) for lang in study.langs})
        record["avg"] = pd.Series([record[lang] for lang in study.langs], dtype=float).mean()
        records.append(record)
    columns = [*INDEX, *study.langs, "avg"]
    return pd.DataFrame(records, columns=columns).set_index(list(INDEX))


def choices_table(study: Study) -> pd.DataFrame:
    """Which trial each row's cells come from: its sweep, trial id, label and LR, its source dev
    score, and the note of a row without a choice."""
    records = []
    for row in study.rows:
        c = row.choice
        records.append({"model": row.model, "method": row.method, "intermediate_tuning": row.intermediate_tuning,
                        "train_data": row.train_data, "sweep": row.sweep or "",
                        "trial_id": c.trial_id.partition("/")[2] if c.trial_id else "", "trial": row.trial,
                        "lr": c.lr if c.lr is not None else math.nan,
                        f"source_dev/{study.metric}": c.source_score, "note": c.note})
    return pd.DataFrame(records).set_index(list(INDEX))


def _title(study: Study, value: str) -> str:
    what = f"target {study.metric_label}" if value == "score" else "wrong-language rate (%)"
    return f"{study.task}: {what} of the {ZERO_SHOT_RULE} choice"


def write_study(study: Study, out: Path) -> list[Path]:
    """``<task>_score`` and ``<task>_wrong_language`` as .md, .csv and .tex, and
    ``<task>_choices.csv``, into ``out``; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for value in VALUES:
        table = study_table(study, value)
        stem = out / f"{study.task}_{value}"
        md, csv, tex = (stem.with_name(f"{stem.name}.{ext}") for ext in ("md", "csv", "tex"))
        md.write_text(f"# {_title(study, value)}\n\n"
                      f"Per model, method and intermediate tuning, the trial chosen by source-language dev "
                      f"score (`source_dev/{study.metric}`); translate-train rows are not zero-shot.\n\n"
                      + _md_table(table) + "\n")
        table.to_csv(csv, float_format="%.4g")
        tex.write_text(table.reset_index().to_latex(index=False, float_format="%.1f", na_rep="--", escape=True))
        files += [md, csv, tex]
    choices = out / f"{study.task}_choices.csv"
    choices_table(study).to_csv(choices, float_format="%.4g")
    files.append(choices)
    return files


def summary_lines(study: Study, files: Sequence[Path]) -> list[str]:
    """What `xlsearch analyze --study` prints for a task: where its tables are, and the score table."""
    models = len(dict.fromkeys(r.model for r in study.rows))
    stems = sorted({str(f.with_suffix("")) for f in files if f.suffix in (".md", ".tex")})
    lines = [f"{study.task}: {models} model(s), {len(study.rows)} rows, target languages {', '.join(study.langs)}",
             *(f"{study.task}: {Path(stem).name.removeprefix(study.task + '_')} table in {stem}.{{md,csv,tex}}"
               for stem in stems),
             f"{study.task}: chosen trials in {next(f for f in files if f.name.endswith('_choices.csv'))}",
             "", f"{_title(study, 'score')}:", _md_table(study_table(study, "score")), ""]
    return lines
