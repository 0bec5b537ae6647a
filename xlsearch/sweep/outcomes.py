"""How each trial of a sweep ended: one classification for the final table, summary.json and the
MLflow tags, so that the three never disagree.

A trial that failed after some rounds is failed, not "stopped early"; a trial is stopped early
only when the scheduler stopped it (ASHA's decision, kept in the sweep folder by
:mod:`xlsearch.sweep.decisions`), not when the sweep's budget or a signal cut it short; a
trial the wrong-language stopper ended (``scheduler.stop_wrong_language_above``) has that as
its own outcome, whichever round it was in.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xlsearch import keys

REASON_CHARS = 300  # a failed trial's reason, one line, in MLflow and the final table

OUTCOMES = ("finished", "stopped_early", keys.STOPPED_WRONG_LANGUAGE, "diverged", "failed", "interrupted",
            "stopped_by_budget")


def trial_outcome(record: dict[str, Any], *, rounds: int, stopped_by_scheduler: set[str],
                  interrupted: bool, stopped_wrong_language: set[str] = frozenset()) -> str:
    """One of :data:`OUTCOMES` for a trial record of :func:`xlsearch.sweep.run.trial_records`.

    ``interrupted``: the sweep was stopped by a signal, so a trial that had not ended will
    continue on resume; otherwise such a trial was ended by the sweep's budget (its device-hour
    cap or wall clock), which Tune does not resume. ``stopped_wrong_language``: the trials the
    wrong-language stopper ended.
    """
    metrics = record["metrics"]
    if record["error"] is not None:
        return "failed"
    if metrics.get(keys.DIVERGED):
        return "diverged"
    if record["trial_id"] in stopped_wrong_language:
        return keys.STOPPED_WRONG_LANGUAGE
    if int(metrics.get(keys.ROUND, 0)) >= rounds:
        return "finished"
    if record["trial_id"] in stopped_by_scheduler:
        return "stopped_early"
    return "interrupted" if interrupted else "stopped_by_budget"


def classify(spec, trials: list[dict[str, Any]], *, interrupted: bool) -> list[dict[str, Any]]:
    """Set each trial record's ``outcome`` (:func:`trial_outcome`), from the scheduler's decisions
    kept in the sweep folder; returns the records."""
    from xlsearch.sweep.decision_log import DECISIONS_FILE, ended_trials, read_decisions, wrong_language_stops

    records = read_decisions(spec.sweep_dir / DECISIONS_FILE)
    stopped, wrong_language = ended_trials(records), wrong_language_stops(records)
    for t in trials:
        t["outcome"] = trial_outcome(t, rounds=spec.training.rounds, stopped_by_scheduler=stopped,
                                     interrupted=interrupted, stopped_wrong_language=wrong_language)
    return trials


def count_outcomes(outcomes: Iterable[str]) -> dict[str, int]:
    outcomes = list(outcomes)
    return {name: outcomes.count(name) for name in OUTCOMES}


def failure_reason(error: BaseException | str | None) -> str | None:
    """A failed trial's reason, one line.

    Ray wraps a trial's error several times (Tune's RayTaskError, Train's WorkerGroupError with
    each failing rank's error); what says what happened is inside. When a Train worker died (its
    process killed, its node lost) the survivors fail too, with collateral errors (gloo's
    "connection reset"): the dead worker is named first, ``Train worker rank 1 died
    (ActorDiedError: ...)``; else the first failing rank's error; else the error's first line.
    """
    if error is None:
        return None
    failures = _worker_failures(error)
    text = None
    for rank, failure in sorted(failures.items()):
        died = _dead_actor(failure)
        if died is not None:
            text = f"Train worker rank {rank} died ({_first_line(died)})"
            break
    if text is None and failures:
        rank = min(failures)
        text = f"Train worker rank {rank}: {_first_line(failures[rank])}"
    text = text or _first_line(error)
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS] + "…"


def error_chain(error: BaseException | None):
    """``error`` and everything it wraps: causes and contexts, Ray's ``cause``, Train's
    health-check and controller failures, and a worker group's failures (rank -> error)."""
    stack, seen = [error], set()
    while stack:
        e = stack.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        failures = getattr(e, "worker_failures", None)
        stack += [e.__context__, e.__cause__, getattr(e, "cause", None), getattr(e, "health_check_failure", None),
                  getattr(e, "controller_failure", None), *(failures.values() if isinstance(failures, dict) else ())]


def _worker_failures(error: BaseException | str) -> dict:
    """Train's WorkerGroupError's ``rank -> error`` found in ``error``'s chain, or {}."""
    if isinstance(error, BaseException):
        for e in error_chain(error):
            failures = getattr(e, "worker_failures", None)
            if isinstance(failures, dict) and failures:
                return failures
    return {}


def _dead_actor(error: BaseException) -> BaseException | None:
    from ray.exceptions import RayActorError

    return next((e for e in error_chain(error) if isinstance(e, RayActorError)), None)


def _first_line(error: BaseException | str) -> str:
    """The error's type and first line; of a text (Tune's error file), the first line that is not
    Tune's ``Failure # n`` header."""
    lines = [line.strip() for line in str(error).splitlines()
             if line.strip() and not line.startswith("Failure # ")]
    body = lines[0] if lines else ""
    return body if isinstance(error, str) else f"{type(error).__name__}: {body}"
