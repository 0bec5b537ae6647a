"""Loading a sweep into a DataFrame: one row per (trial, round), one column per metric.

Two sources hold the same results: the sweep directory (Tune's ``result.json`` of each trial,
written as the sweep runs) and the MLflow experiment (one child run per trial). Notebooks:

    from analysis import load_sweep
    df = load_sweep("~/xlsearch_results/demo")
"""
from __future__ import annotations

import json
import re
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


def _decided_rows(sweep_dir: Path, have: set[tuple[str, int]]) -> list[dict]:
    """Rounds the scheduler judged (its decisions file, written before Tune acts) that Tune's
    ``result.json`` files lack: a driver killed right after a round's report loses the round
    there, not in the decisions file. Each trial's config comes from its Tune folder's
    ``params.json``."""
    from xlsearch.sweep.decision_log import DECISIONS_FILE, read_decisions
    from xlsearch.sweep.trainable import trial_config

    records = [r for r in read_decisions(sweep_dir / DECISIONS_FILE)
               if r.get("event") == "result" and keys.ROUND in (r.get("result") or {})]
    missing = [r for r in records if (str(r["trial_id"]), int(r["result"][keys.ROUND])) not in have]
    if not missing:
        return []
    configs = {}
    for params in (sweep_dir / "tune").glob("*/params.json"):
        found = re.search(r"([0-9a-f]{5}_\d{5})", params.parent.name)
        if found:
            configs[found.group(1)] = trial_config(json.loads(params.read_text()))
    rows = {}
    for r in missing:
        result, trial_id = r["result"], str(r["trial_id"])
        row = {keys.TRIAL_ID: trial_id, **configs.get(trial_id, {})}
        row.update({k: v for k, v in result.items() if keys.is_metric(k) or k in (keys.ROUND, keys.DIVERGED)})
        rows[(trial_id, int(result[keys.ROUND]))] = row  # a round judged twice (a restart): its last
    return list(rows.values())


def _saved_spec(sweep_dir: Path) -> dict:
    spec_file = Path(sweep_dir) / "spec.yaml"
    return yaml.safe_load(spec_file.read_text()) if spec_file.is_file() else {}


def sweep_rounds(sweep_dir: Path) -> int | None:
    """Rounds per trial from the sweep's saved spec (None when it is not there)."""
    rounds = _saved_spec(sweep_dir).get("training", {}).get("rounds")
    return None if rounds is None else int(rounds)


def load_sweep_dir(sweep_dir: str | Path) -> pd.DataFrame:
    """All rounds of all trials of the sweep in ``sweep_dir`` (STORAGE/NAME), each flagged when
    the wrong-language stopper ended it (the scheduler's decisions file); its soups, if any, in
    ``frame.attrs["soups"]`` (:func:`soups_frame`)."""
    from xlsearch.sweep.decision_log import wrong_language_stops_in
    from xlsearch.sweep.soups import read_soups

    sweep_dir = Path(sweep_dir).expanduser()
    files = sorted((sweep_dir / "tune").glob("*/result.json"))
    if not files:
        raise SweepNotFound(f"{sweep_dir}: no trial results (expected tune/*/result.json in a sweep directory)")
    rows = [row for f in files for row in _trial_rows(f)]
    rows += _decided_rows(sweep_dir, {(str(r[keys.TRIAL_ID]), int(r[keys.ROUND])) for r in rows})
    frame = pd.DataFrame(rows)
    stopped = wrong_language_stops_in(sweep_dir)
    frame[keys.STOPPED_WRONG_LANGUAGE] = frame[keys.TRIAL_ID].astype(str).isin(stopped).astype(int)
    frame = _finish(frame, sweep_rounds(sweep_dir), sweep_dir.name)
    frame.attrs["soups"] = soups_frame(read_soups(sweep_dir), frame.attrs["rounds"])
    frame.attrs["lid_threshold"] = (_saved_spec(sweep_dir).get("selection") or {}).get("lid_threshold")
    return frame


def soups_frame(soups: list[dict], rounds: int) -> pd.DataFrame:
    """One row per soup (``{"soup_id", "config", "members", "metrics"}``): its group's config
    columns, its metrics, ``round`` the sweep's last, ``soup_of`` its members; no LR."""
    rows = [{keys.TRIAL_ID: s["soup_id"], **s["config"], **s["metrics"], keys.ROUND: rounds, keys.DIVERGED: 0,
             "lr": float("nan"), "soup_of": ",".join(s["members"])} for s in soups]
    return pd.DataFrame(rows)


def load_mlflow_experiment(tracking_uri: str, experiment: str) -> pd.DataFrame:
    """The same frame from an MLflow experiment's child runs (metric histories by round)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SweepNotFound(f"experiment {experiment!r} not found in {tracking_uri}")
    rows = _run_rows(client, exp.experiment_id, "trial")
    frame = pd.DataFrame(rows)
    if "lr" in frame:
        frame["lr"] = frame["lr"].astype(float)
    frame = _finish(frame, None, experiment)
    soups = pd.DataFrame(_run_rows(client, exp.experiment_id, "soup"))
    if not soups.empty:
        soups = soups.assign(lr=float("nan"), **{keys.DIVERGED: 0, keys.STOPPED_WRONG_LANGUAGE: 0})
    frame.attrs["soups"] = soups
    return frame


def _run_rows(client, experiment_id: str, role: str) -> list[dict]:
    """One row per eval round of each run of ``role`` (``trial`` or ``soup``): its params, its
    metrics at that step, and whether the wrong-language stopper ended it (its outcome tag)."""
    runs = client.search_runs([experiment_id], f"tags.`xlsearch.role` = '{role}'", max_results=10000)
    rows = []
    for run in runs:
        params = dict(run.data.params)
        if keys.SEED in params:
            params[keys.SEED] = int(params[keys.SEED])
        stopped = int(run.data.tags.get("xlsearch.outcome") == keys.STOPPED_WRONG_LANGUAGE)
        by_round: dict[int, dict] = {}
        for key in run.data.metrics:
            for m in client.get_metric_history(run.info.run_id, key):
                by_round.setdefault(int(m.step), {})[key] = m.value
        for rnd, metrics in by_round.items():
            if rnd < 1:  # step 0 holds the trial's constants (lr, log10_lr), not an eval round
                continue
            rows.append({keys.TRIAL_ID: run.data.tags.get("xlsearch.trial_id"), **params, **metrics, keys.ROUND: rnd,
                         keys.STOPPED_WRONG_LANGUAGE: stopped})
    return rows


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
