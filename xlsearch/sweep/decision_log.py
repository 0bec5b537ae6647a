"""The scheduler's decisions file (``SWEEP/scheduler_decisions.jsonl``, written by
:mod:`xlsearch.sweep.decisions`) read back, and the wrong-language stopper's rule: plain Python,
no Ray, so that `xlsearch analyze` and the sweep's end read the same facts the scheduler wrote.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xlsearch import keys

DECISIONS_FILE = "scheduler_decisions.jsonl"
WRONG_LANGUAGE = "wrong_language"  # a decision's reason when the stopper made it
STOP = "STOP"  # Tune's TrialScheduler.STOP, as the file holds it


def answers_in_the_wrong_language(result: dict[str, Any], threshold: float | None) -> bool:
    """Whether a round's ``result`` is above the stopper's ``threshold``: its mean label-free
    wrong-language rate on the target languages (``target_mean/wrong_language_rate``) is a
    number greater than it. None (no stopper), a missing or NaN rate: False."""
    rate = result.get(keys.target_mean(keys.WRONG_LANGUAGE_RATE))
    return (threshold is not None and isinstance(rate, (int, float)) and not isinstance(rate, bool)
            and rate == rate and rate > threshold)


def read_decisions(path: Path) -> list[dict[str, Any]]:
    """The records in ``path``, oldest first; a line torn by a crash mid-write is skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def ended_trials(records: list[dict[str, Any]]) -> set[str]:
    """Trials the scheduler stopped or that completed."""
    return {r["trial_id"] for r in records
            if r.get("event") == "complete" or r.get("decision") == STOP}


def wrong_language_stops(records: list[dict[str, Any]]) -> set[str]:
    """Trials the wrong-language stopper ended."""
    return {r["trial_id"] for r in records if r.get("reason") == WRONG_LANGUAGE}


def wrong_language_stops_in(sweep_dir: str | Path) -> set[str]:
    """:func:`wrong_language_stops` of the sweep folder's decisions file (empty when it has none)."""
    return wrong_language_stops(read_decisions(Path(sweep_dir) / DECISIONS_FILE))
