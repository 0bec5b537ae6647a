"""Tune callbacks that run in the sweep's driver process: MLflow tracking and progress lines.

MLflow is written from the driver only: one writer for the SQLite store, however many trials
run at once, and nothing MLflow-specific inside the workers. Both callbacks are pickled with the
Tuner's state (that is how Tune restores a sweep), so they hold only plain settings and open
their MLflow client lazily.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from ray.tune import Callback

from xlsearch import keys
from xlsearch.sweep.trainable import trial_config
from xlsearch.training.params import TrialParams

# How the trial ended: one of xlsearch.sweep.outcomes.OUTCOMES.
TAG_OUTCOME = "xlsearch.outcome"
# Why a failed trial failed, one line (xlsearch.sweep.outcomes.failure_reason).
TAG_ERROR = "xlsearch.error"
# Logged besides the metric families (keys.is_metric).
LOGGED_KEYS = (keys.ROUND, keys.STEP, keys.DIVERGED, keys.TIME_TOTAL_S)


def numeric_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The result's numeric metrics (per-round names of the trial loop, plus Tune's timers)."""
    keep = {}
    for key, value in result.items():
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, (int, float)) and (keys.is_metric(key) or key in LOGGED_KEYS):
            keep[key] = float(value)
    return keep


class MLflowTracking(Callback):
    """One child run per trial under the sweep's parent run: params, per-round metrics, samples.

    Each round is logged once: a trial whose worker group was restarted, or that was started
    again after the driver died, reports again the rounds after its checkpoint, and a finished
    trial says its last round again; a round at or below the last one logged is not logged.
    """

    def __init__(self, tracking_uri: str, experiment: str, sweep_dir: str, parent_run_id: str, rounds: int):
        self.tracking_uri, self.experiment, self.sweep_dir = tracking_uri, experiment, sweep_dir
        self.parent_run_id, self.rounds = parent_run_id, rounds
        self._tracker = None
        self._logged_rounds: dict[str, int] = {}  # trial id -> last round logged

    def __getstate__(self):
        return {**self.__dict__, "_tracker": None}

    @property
    def tracker(self):
        if self._tracker is None:
            from xlsearch.tracking import SweepTracker

            self._tracker = SweepTracker(self.tracking_uri, self.experiment, Path(self.sweep_dir))
            self._tracker.attach(self.parent_run_id)  # opened by the driver before fit()
        return self._tracker

    def on_trial_start(self, iteration, trials, trial, **info):
        config = trial_config(trial.config)
        params = TrialParams.from_flat(config)
        # Method, intermediate tuning and training data (translate-train is not zero-shot) as tags
        # to group by; the LR as numbers to sort and plot by.
        self.tracker.start_trial(trial.trial_id, config, run_name=params.run_name(),
                                 tags={"method": params.method, "intermediate_tuning": params.intermediate_tuning,
                                       keys.TRAIN_DATA: params.train_data,
                                       **({keys.SEED: str(params.seed)} if params.seed is not None else {})},
                                 metrics={keys.LR: params.lr, keys.LOG10_LR: math.log10(params.lr)})

    def on_trial_result(self, iteration, trials, trial, result, **info):
        step = int(result.get(keys.ROUND, result.get(keys.TRAINING_ITERATION, 0)))
        logged = getattr(self, "_logged_rounds", None)
        if logged is None:  # restored from a sweep saved before rounds were counted here
            logged = self._logged_rounds = {}
        if step <= logged.get(trial.trial_id, 0):
            return
        logged[trial.trial_id] = step
        self.tracker.log_round(trial.trial_id, numeric_metrics(result), step=step)
        if result.get(keys.SAMPLES):
            self.tracker.log_samples(trial.trial_id, json.loads(result[keys.SAMPLES]), step=step)

    def on_trial_complete(self, iteration, trials, trial, **info):
        # Tune calls this only for a trial that ended: completed its rounds, diverged, or was
        # stopped by the scheduler. Trials a signal or the budget cut short get no call; the
        # sweep's end closes their runs (xlsearch.sweep.run.close_open_trial_runs).
        from xlsearch.sweep.decision_log import wrong_language_stops_in

        last = trial.last_result or {}
        rounds_done = int(last.get(keys.ROUND, 0))
        diverged = bool(last.get(keys.DIVERGED))
        stopped_early = rounds_done < self.rounds and not diverged
        outcome = "diverged" if diverged else "stopped_early" if stopped_early else "finished"
        if not diverged and trial.trial_id in wrong_language_stops_in(self.sweep_dir):
            outcome = keys.STOPPED_WRONG_LANGUAGE
        tags = {"xlsearch.rounds_done": str(rounds_done), "xlsearch.stopped_early": str(stopped_early),
                "xlsearch.diverged": str(diverged), TAG_OUTCOME: outcome}
        self.tracker.end_trial(trial.trial_id, "FINISHED", tags=tags)

    def on_trial_error(self, iteration, trials, trial, **info):
        from xlsearch.sweep.outcomes import failure_reason

        last = trial.last_result or {}
        tags = {"xlsearch.rounds_done": str(int(last.get(keys.ROUND, 0))), TAG_OUTCOME: "failed"}
        reason = failure_reason(trial_error(trial))
        if reason:
            tags[TAG_ERROR] = reason
        self.tracker.end_trial(trial.trial_id, "FAILED", tags=tags)


class ProgressLines(Callback):
    """One line per trial start, round and end: readable in a terminal and in a log file."""

    def __init__(self, objective: str, rounds: int, total_trials: int, stop_wrong_language_above: float | None = None):
        self.objective, self.rounds, self.total_trials = objective, rounds, total_trials
        self.stop_above = stop_wrong_language_above
        self.started = 0

    def _print(self, text: str) -> None:
        print(text, file=sys.stdout, flush=True)

    def _label(self, trial) -> str:
        return TrialParams.from_flat(trial_config(trial.config)).label()

    def on_trial_start(self, iteration, trials, trial, **info):
        # Trials a resumed sweep had already started count too: "start (11/48)", not "(1/48)".
        self.started = max(self.started + 1, sum(t.status != "PENDING" for t in trials))
        self._print(f"[trial {trial.trial_id}] start ({self.started}/{self.total_trials}): {self._label(trial)}")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        score = result.get(self.objective, math.nan)
        wrong = result.get(keys.target_mean(keys.WRONG_LANGUAGE_RATE), math.nan)
        flag = "  DIVERGED" if result.get(keys.DIVERGED) else ""
        self._print(f"[trial {trial.trial_id}] round {result.get(keys.ROUND)}/{self.rounds}: "
                    f"{self.objective} {score:.1f}  target wrong-language {wrong:.2f}  "
                    f"loss {result.get(keys.TRAIN_LOSS, math.nan):.3f}{flag}")

    def on_trial_complete(self, iteration, trials, trial, **info):
        from xlsearch.sweep.decision_log import answers_in_the_wrong_language

        last = trial.last_result or {}
        done = last.get(keys.ROUND, 0)
        how = ("finished" if done >= self.rounds else f"diverged in round {done}" if last.get(keys.DIVERGED)
               else f"stopped after round {done}")
        if not last.get(keys.DIVERGED) and answers_in_the_wrong_language(last, getattr(self, "stop_above", None)):
            rate = last[keys.target_mean(keys.WRONG_LANGUAGE_RATE)]
            how = (f"stopped after round {done}: answers in the wrong language (mean rate {rate:.2f} > "
                   f"{self.stop_above:g}, scheduler.stop_wrong_language_above)")
        self._print(f"[trial {trial.trial_id}] {how}")

    def on_trial_error(self, iteration, trials, trial, **info):
        from xlsearch.sweep.outcomes import failure_reason

        reason = failure_reason(trial_error(trial))
        self._print(f"[trial {trial.trial_id}] FAILED{': ' + reason if reason else ''} "
                    f"(see {trial.local_path or 'the trial folder'})")


def trial_error(trial):
    """The error a Tune trial ended with, read from the trial's local folder, where Tune writes
    it just before calling ``on_trial_error`` (the storage copy that ``Trial.get_pickled_error``
    reads comes later): the exception, else its text, else None."""
    import cloudpickle

    pickled, text = trial.pickled_error_file, trial.error_file
    if pickled and Path(pickled).is_file():
        try:
            with open(pickled, "rb") as f:
                return cloudpickle.load(f)
        except Exception:  # noqa: BLE001 - an error that does not unpickle here: its text will do
            pass
    if text and Path(text).is_file():
        return Path(text).read_text()
    return None
