"""Loading a sweep into a DataFrame: one row per (trial, round), one column per metric.

Two sources hold the same results: the sweep directory (Tune's ``result.json`` of each trial,
written as the sweep runs) and the MLflow experiment (one child run per trial). Notebooks:

    from analysis import load_sweep
    df = load_sweep("~/xlsearch_results/demo")
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from xlsearch import keys
from xlsearch.selection import comparable

GROUP_COLUMNS = ("method", "intermediate_tuning")


class SweepNotFound(ValueError):
    pass


def _trial_rows(result_file: Path) -> list[dict]:
    from xlsearch.sweep.trainable import trial_config

    rows = []
    for line in result_file.read_text().splitlines():
        if not line.strip():
            continue
        result = json.loads(line)
        if keys.ROUND not in result:  # Tune's closing record of a trial carries no metrics
            continue
        config = trial_config(result.get("config", {}))
        row = {keys.TRIAL_ID: result[keys.TRIAL_ID], **config}
        row.update({k: v for k, v in result.items() if keys.is_metric(k) or k in (keys.ROUND, keys.DIVERGED)})
        rows.append(row)
    return rows


def sweep_rounds(sweep_dir: Path) -> int | None:
    """Rounds per trial from the sweep's saved spec (None when it is not there)."""
    spec_file = Path(sweep_dir) / "spec.yaml"
    if not spec_file.is_file():
        return None
    return int(yaml.safe_load(spec_file.read_text())["training"]["rounds"])


def load_sweep_dir(sweep_dir: str | Path) -> pd.DataFrame:
    """All rounds of all trials of the sweep in ``sweep_dir`` (STORAGE/NAME)."""
    sweep_dir = Path(sweep_dir).expanduser()
    files = sorted((sweep_dir / "tune").glob("*/result.json"))
    if not files:
        raise SweepNotFound(f"{sweep_dir}: no trial results (expected tune/*/result.json in a sweep directory)")
    rows = [row for f in files for row in _trial_rows(f)]
    return _finish(pd.DataFrame(rows), sweep_rounds(sweep_dir), sweep_dir.name)


def load_mlflow_experiment(tracking_uri: str, experiment: str) -> pd.DataFrame:
    """The same frame from an MLflow experiment's child runs (metric histories by round)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SweepNotFound(f"experiment {experiment!r} not found in {tracking_uri}")
    runs = client.search_runs([exp.experiment_id], "tags.`xlsearch.role` = 'trial'", max_results=10000)
    rows = []
    for run in runs:
        params = dict(run.data.params)
        by_round: dict[int, dict] = {}
        for key in run.data.metrics:
            for m in client.get_metric_history(run.info.run_id, key):
                by_round.setdefault(int(m.step), {})[key] = m.value
        for rnd, metrics in by_round.items():
            if rnd < 1:  # step 0 holds the trial's constants (lr, log10_lr), not an eval round
                continue
            rows.append({keys.TRIAL_ID: run.data.tags.get("xlsearch.trial_id"), **params, **metrics, keys.ROUND: rnd})
    frame = pd.DataFrame(rows)
    if "lr" in frame:
        frame["lr"] = frame["lr"].astype(float)
    return _finish(frame, None, experiment)


def _finish(frame: pd.DataFrame, rounds: int | None, name: str) -> pd.DataFrame:
    if frame.empty:
        raise SweepNotFound(f"{name}: the sweep has no reported rounds yet")
    frame[keys.ROUND] = frame[keys.ROUND].astype(int)
    if keys.DIVERGED not in frame:
        frame[keys.DIVERGED] = 0
    frame[keys.DIVERGED] = frame[keys.DIVERGED].fillna(0).astype(int)
    frame["rounds_done"] = frame.groupby(keys.TRIAL_ID)[keys.ROUND].transform("max")
    frame.attrs["rounds"] = rounds or int(frame[keys.ROUND].max())
    frame.attrs["name"] = name
    return frame.sort_values([keys.TRIAL_ID, keys.ROUND]).reset_index(drop=True)


def load_sweep(source: str | Path) -> pd.DataFrame:
    """A sweep directory, or ``TRACKING_URI#EXPERIMENT`` for an MLflow experiment."""
    text = str(source)
    if "#" in text and ("://" in text or text.startswith("sqlite:")):
        uri, _, experiment = text.rpartition("#")
        return load_mlflow_experiment(uri, experiment)
    return load_sweep_dir(text)


def final_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows selection compares: each trial's last round, for the trials that reached the
    furthest round any trial that did not diverge reached (normally the sweep's last), and the
    diverged trials, flagged (:func:`xlsearch.selection.comparable`)."""
    return comparable(frame)


def target_languages(frame: pd.DataFrame) -> list[str]:
    return keys.target_languages(frame.columns)
