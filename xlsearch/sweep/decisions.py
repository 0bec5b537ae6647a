"""The scheduler's decisions, written to the sweep folder the moment they are made.

Why: Tune saves which trials ended in its experiment state at most every
``TUNE_GLOBAL_CHECKPOINT_S`` and copies it to the sweep folder in a background thread (a copy
still running makes the next one wait), and it never saves the scheduler: ASHA's rungs start
empty after a restart. A driver killed about a second after ASHA stopped a trial therefore
restored that trial as unfinished; it continued from its last checkpoint, ASHA with empty
rungs let it run to the end, and its MLflow tags changed from stopped to finished.

The schedulers below append every result they judge (its scalar values), their decision (with
its reason when the wrong-language stopper made it), and every trial that completes to
:data:`DECISIONS_FILE`, flushed and fsynced before Tune acts on the decision.

**The wrong-language stopper** (``scheduler.stop_wrong_language_above``) comes first: a result
whose mean label-free wrong-language rate over the target languages is above the threshold
(:func:`answers_in_the_wrong_language`) stops its trial, with or without ASHA, whatever the
source score. Such a trial leaves ASHA's rungs (its source score, high as it may be, says
nothing of a model that answers in another language and would only raise the bar for the
others), is never the zero-shot choice, and its outcome is ``stopped_wrong_language``. After a restart they rebuild ASHA's rungs from it, and a trial it says had ended
is ended again, through Tune's own ``stop_trial``, before it can start: with its last result
as recorded (Tune's saved state may hold an older one), so its MLflow run gets the same end
tags and summary.json the same last round, and no round is trained twice.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from xlsearch.sweep.decision_log import (  # noqa: F401 (re-exported: the scheduler's file, read here too)
    DECISIONS_FILE,
    WRONG_LANGUAGE,
    answers_in_the_wrong_language,
    ended_trials,
    read_decisions,
    wrong_language_stops,
    wrong_language_stops_in,
)


class _DecisionsKept:
    """Mixed into a Tune scheduler: keeps its decisions in ``decisions`` (see the module)."""

    def __init__(self, decisions: Path, skip_keys: tuple[str, ...] = (), stop_wrong_language_above: float | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self._decisions_path = str(decisions)
        self._skip_keys = skip_keys  # result values not worth keeping (large sample outputs)
        self._stop_above = stop_wrong_language_above
        self._records: list[dict[str, Any]] | None = None  # read once, after a restart

    def __getstate__(self):
        return {**self.__dict__, "_records": None}

    def _kept(self) -> list[dict[str, Any]]:
        if self._records is None:
            self._records = read_decisions(Path(self._decisions_path))
        return self._records

    def _append(self, record: dict[str, Any]) -> None:
        self._kept().append(record)
        with open(self._decisions_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def on_trial_add(self, tune_controller, trial: Trial):
        super().on_trial_add(tune_controller, trial)
        if trial.trial_id in wrong_language_stops(self._kept()):
            return  # out of the rungs
        for record in self._kept():  # after a restart: the rungs as they were
            if record["trial_id"] == trial.trial_id and record.get("event") == "result":
                super().on_trial_result(tune_controller, trial, record["result"])

    def on_trial_result(self, tune_controller, trial: Trial, result: dict) -> str:
        reason = None
        if answers_in_the_wrong_language(result, self._stop_above):
            decision, reason = TrialScheduler.STOP, WRONG_LANGUAGE
            self._leave_rungs(trial.trial_id)
        else:
            decision = super().on_trial_result(tune_controller, trial, result)
        kept = {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool, type(None)))
                and k not in self._skip_keys and not k.startswith("config/")}
        self._append({"trial_id": trial.trial_id, "event": "result", "decision": decision, "result": kept,
                      **({"reason": reason} if reason else {})})
        return decision

    def on_trial_complete(self, tune_controller, trial: Trial, result: dict):
        self._append({"trial_id": trial.trial_id, "event": "complete"})
        if trial.trial_id in wrong_language_stops(self._kept()):
            super().on_trial_remove(tune_controller, trial)  # its last result stays out of the rungs
        else:
            super().on_trial_complete(tune_controller, trial, result)

    def _leave_rungs(self, trial_id: str) -> None:
        """Forget the trial's earlier rounds in the scheduler's rungs (ASHA); FIFO has none."""

    def choose_trial_to_run(self, tune_controller):
        ended = ended_trials(self._kept())
        for trial in tune_controller.get_trials():
            if trial.status == Trial.PENDING and trial.trial_id in ended:  # restored as unfinished
                last = [r["result"] for r in self._kept() if r["trial_id"] == trial.trial_id and r.get("result")]
                if last:  # its config too: Tune saved none for a trial stopped at its first report
                    trial.update_last_result({"config": trial.config, **trial.last_result, **last[-1]})
                tune_controller.stop_trial(trial)
        return super().choose_trial_to_run(tune_controller)


class KeptASHA(_DecisionsKept, ASHAScheduler):
    """ASHA whose stops survive a driver crash."""

    def _leave_rungs(self, trial_id: str) -> None:
        for bracket in self._brackets:  # Ray's private bookkeeping (Ray is pinned)
            for _, recorded in bracket._rungs:
                recorded.pop(trial_id, None)


class KeptFIFO(_DecisionsKept, FIFOScheduler):
    """No early stopping; trials that completed stay completed after a driver crash."""
