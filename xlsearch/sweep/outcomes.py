"""How each trial of a sweep ended: one classification for the final table, summary.json and the
MLflow tags, so that the three never disagree.

A trial that failed after some rounds is failed, not "stopped early"; a trial is stopped early
only when the scheduler stopped it (ASHA's decision, kept in the sweep folder by
:mod:`xlsearch.sweep.decisions`), not when the sweep's budget or a signal cut it short.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xlsearch import keys

OUTCOMES = ("finished", "stopped_early", "diverged", "failed", "interrupted", "stopped_by_budget")


def trial_outcome(record: dict[str, Any], *, rounds: int, stopped_by_scheduler: set[str],
                  interrupted: bool) -> str:
    """One of :data:`OUTCOMES` for a trial record of :func:`xlsearch.sweep.run.trial_records`.

    ``interrupted``: the sweep was stopped by a signal, so a trial that had not ended will
    continue on resume; otherwise such a trial was ended by the sweep's budget (its device-hour
    cap or wall clock), which Tune does not resume.
    """
    metrics = record["metrics"]
    if record["error"] is not None:
        return "failed"
    if metrics.get(keys.DIVERGED):
        return "diverged"
    if int(metrics.get(keys.ROUND, 0)) >= rounds:
        return "finished"
    if record["trial_id"] in stopped_by_scheduler:
        return "stopped_early"
    return "interrupted" if interrupted else "stopped_by_budget"


def count_outcomes(outcomes: Iterable[str]) -> dict[str, int]:
    outcomes = list(outcomes)
    return {name: outcomes.count(name) for name in OUTCOMES}
