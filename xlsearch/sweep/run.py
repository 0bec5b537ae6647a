"""`xlsearch run` and `xlsearch estimate`: from a checked spec to a finished (or resumed) sweep."""
from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from xlsearch import keys
from xlsearch.space import planned_trials
from xlsearch.spec import SweepSpec


# The parent run's tag for how the sweep ended: finished, failed or interrupted.
TAG_STATUS = "xlsearch.status"
# A trial's tag: "true" when it is on the Pareto front of source score and wrong-language rate.
TAG_PARETO = "xlsearch.pareto_front"
# How long a sweep on a cluster (--address) waits for worker nodes by default: cloud GPU nodes
# take minutes to boot and pull the image.
DEFAULT_WAIT_FOR_NODES_S = 20 * 60


class BudgetExceeded(RuntimeError):
    """The estimate is over a budget and the user did not allow it (one line, exit 2)."""


class DiskShortage(BudgetExceeded):
    """The storage's filesystem has less free space than the sweep needs (one line, exit 2);
    ``--allow-over-budget`` does not lift it: nothing would stop the sweep before the disk fills."""


def disk_need_or_none(spec: SweepSpec, concurrency: int, log: Callable[[str], None]):
    """The disk a new sweep needs (:func:`xlsearch.sweep.disk.disk_need`), or None when the
    model's config cannot be read here (the trials will say why)."""
    from xlsearch.models import ModelError
    from xlsearch.sweep.disk import disk_need

    try:
        return disk_need(spec, concurrency)
    except ModelError as err:
        log(f"disk: not estimated ({err})")
        return None


def check_disk(spec: SweepSpec, concurrency: int, log: Callable[[str], None]) -> None:
    """Log the disk a new sweep needs; :class:`DiskShortage` when its storage lacks it."""
    need = disk_need_or_none(spec, concurrency, log)
    if need is None:
        return
    for line in need.lines():
        log(line)
    problem = need.shortage(spec.storage)
    if problem:
        raise DiskShortage(problem)


def with_overrides(spec: SweepSpec, storage: str | None = None, tracking_uri: str | None = None) -> SweepSpec:
    update: dict[str, Any] = {}
    if storage:
        update["storage"] = storage
    if tracking_uri:
        update["tracking"] = spec.tracking.model_copy(update={"mlflow_uri": tracking_uri})
    return spec.model_copy(update=update) if update else spec


def tracking_uri(spec: SweepSpec) -> str:
    from xlsearch.tracking import default_tracking_uri

    return spec.tracking.mlflow_uri or default_tracking_uri(spec.sweep_dir)


def estimate_command(spec: SweepSpec, *, address: str | None, num_cpus: int | None = None,
                     verbose: bool = False, wait_for_nodes_s: float = DEFAULT_WAIT_FOR_NODES_S,
                     log: Callable[[str], None] = print):
    from xlsearch.sweep.tuner import cluster_placement, estimate_sweep, ray_session

    with ray_session(address, num_cpus, verbose, log):
        place = cluster_placement(spec, on_cluster=bool(address), wait_s=wait_for_nodes_s, log=log)
        log(f"calibrating: a few optimizer steps and one eval batch of {spec.model} "
            f"({place.device_kind}, {place.cpus_per_worker:g} CPU per worker)...")
        est = dataclasses.replace(estimate_sweep(spec, place, local=not address),
                                  disk=disk_need_or_none(spec, place.concurrency, log))
    for line in est.lines():
        log(line)
    for problem in est.over_budget(spec):
        log(f"over budget: {problem}")
    return est


def run_sweep(spec: SweepSpec, *, spec_path: Path | None = None, address: str | None = None,
              allow_over_budget: bool = False, num_cpus: int | None = None, verbose: bool = False,
              wait_for_nodes_s: float = DEFAULT_WAIT_FOR_NODES_S, log: Callable[[str], None] = print
              ) -> dict[str, Any]:
    """Run (or resume) the sweep; returns the summary written to ``SWEEP_DIR/summary.json``.

    SIGINT and SIGTERM stop it cleanly (:mod:`xlsearch.sweep.stops`): trials stop and their
    MLflow runs end KILLED, the parent run ends KILLED with ``xlsearch.status`` = interrupted,
    summary.json says so and declares no best, and :class:`SweepInterrupted` is raised.
    """
    from xlsearch.sweep.callbacks import MLflowTracking, ProgressLines
    from xlsearch.sweep.stops import StopSignals, SweepInterrupted
    from xlsearch.sweep.disk import CheckpointPruning
    from xlsearch.sweep.tuner import (TUNE_DIR_NAME, build_tuner, cluster_placement, estimate_sweep,
                                      prepare_intermediate_tuning, prepare_translations, ray_session)
    from xlsearch.sweep.worker_groups import freeing_lost_worker_groups
    from xlsearch.tracking import Headline, SweepTracker
    from xlsearch.tracking.secrets import redact
    from xlsearch.training.loop import objective_name

    sweep_dir = spec.sweep_dir
    resuming = (sweep_dir / TUNE_DIR_NAME).is_dir()
    stop = StopSignals()
    started = time.time()
    created_dir = False
    tracker = None
    try:
        with ray_session(address, num_cpus, verbose, log):
            stop.install()  # after ray.init, whose own SIGTERM handler aborts the process
            try:
                place = cluster_placement(spec, on_cluster=bool(address), wait_s=wait_for_nodes_s, log=log)
                log(f"sweep '{spec.name}': {spec.search.algorithm}, up to {place.concurrency} trials at a time, "
                    f"{place.num_workers} worker(s) per trial, {place.gpus_per_worker:g} GPU per worker")
                if not resuming:
                    check_disk(spec, place.concurrency, log)
                # The estimate exists to refuse an over-budget sweep; told to start anyway, the sweep
                # spends no calibration trial on it (`xlsearch estimate` prints it), and the budget still
                # stops the sweep at its cap.
                if not resuming and (spec.budget.gpu_hours or spec.budget.wall_clock_hours) and not allow_over_budget:
                    est = estimate_sweep(spec, place, local=not address)
                    log("estimate: " + "; ".join(est.lines()))
                    problems = est.over_budget(spec)
                    if problems:
                        raise BudgetExceeded(f"{problems[0]}; shrink the sweep, raise the budget, or pass "
                                             "--allow-over-budget (the budget then still stops the sweep at its cap)")
                created_dir = not sweep_dir.exists()
                sweep_dir.mkdir(parents=True, exist_ok=True)
                spec_copy = sweep_dir / "spec.yaml"
                spec_copy.write_text(redact(yaml.safe_dump(spec.model_dump(), sort_keys=False, allow_unicode=True)))
                objective = objective_name(spec)
                uri = tracking_uri(spec)
                tracker = SweepTracker(uri, spec.tracking.experiment or spec.name, sweep_dir)
                parent = tracker.start_sweep(spec.name, spec.model_dump(), spec_copy,
                                             planned_trials=planned_trials(spec),
                                             headline=Headline(**keys.headline(objective)))
                prepare_intermediate_tuning(spec, place, log)
                prepare_translations(spec, place, log)
                callbacks = [MLflowTracking(uri, spec.tracking.experiment or spec.name, str(sweep_dir), parent,
                                            spec.training.rounds),
                             ProgressLines(objective, spec.training.rounds, planned_trials(spec),
                                           spec.scheduler.stop_wrong_language_above),
                             CheckpointPruning(str(sweep_dir), objective, spec.checkpoints.keep_best,
                                               spec.selection.soup_top_k)]
                tuner, restored = build_tuner(spec, place, callbacks, sweep_dir)
                if restored:
                    log(f"resuming the sweep in {sweep_dir}: finished trials are kept, unfinished ones continue")
                with stop.tune_running(), freeing_lost_worker_groups():
                    results = tuner.fit()
                trials = trial_records(results)
                soups = []
                if stop.received is None:
                    from xlsearch.sweep.outcomes import classify
                    from xlsearch.sweep.soups import make_soups

                    soups = make_soups(spec, place, tracker, classify(spec, trials, interrupted=False), log)
                summary = _end_sweep(spec, tracker, trials, started, interrupted_by=stop.received, soups=soups)
            except SweepInterrupted:  # before Tune ran, after it, or a second signal: no results to keep
                if tracker is not None and tracker.sweep_run_id is not None:
                    _close_open_trial_runs(tracker, "interrupted")
                    tracker.end_sweep("KILLED", tags={TAG_STATUS: "interrupted"})
                raise
            except BudgetExceeded:
                if created_dir:
                    shutil.rmtree(sweep_dir, ignore_errors=True)
                raise
    finally:
        stop.restore()  # after Ray's shutdown (the session's end)
    if summary["status"] == "interrupted":
        raise SweepInterrupted(stop.received, summary)
    bad_inputs = [t["bad_input"] for t in trials if t["bad_input"] is not None]
    if summary["best"] is None and bad_inputs:  # every trial failed, on input: the user gets that one line
        raise bad_inputs[0]
    return summary


def _end_sweep(spec: SweepSpec, tracker, trials: list[dict[str, Any]], started: float,
               interrupted_by: int | None, soups: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Classify the trials, close what MLflow still has open, choose the best (unless the sweep
    was interrupted), tag the Pareto front's trials and write summary.json; returns the summary."""
    import signal

    from xlsearch.selection import best_trial, configuration_of
    from xlsearch.sweep.outcomes import classify, count_outcomes
    from xlsearch.sweep.tuner import write_summary
    from xlsearch.training.loop import objective_name

    objective = objective_name(spec)
    classify(spec, trials, interrupted=interrupted_by is not None)
    counts = count_outcomes(t["outcome"] for t in trials)
    if interrupted_by is not None:
        status, best = "interrupted", None  # a partial sweep's best is no answer
    else:
        status = "failed" if trials and counts["failed"] == len(trials) else "finished"
        best = best_trial(trials, objective)  # the zero-shot choice, as `xlsearch analyze` makes it
    translate_best = best_trial(trials, objective, translate_train=True) if interrupted_by is None else None
    best_mean = configuration_of(trials, best) if best is not None and spec.search.seeds > 1 else None
    # Trials a signal or the budget cut short got no end from Tune's callbacks.
    _close_open_trial_runs(tracker, "interrupted" if interrupted_by is not None else "stopped_by_budget")
    summary = {
        "sweep": spec.name, "sweep_dir": str(spec.sweep_dir), "status": status, "objective": objective,
        "trials": len(trials), "counts": counts, "errors": counts["failed"], "stopped_early": counts["stopped_early"],
        # Rounds trained, over every trial: what the sweep cost in trial-rounds (ASHA and the
        # wrong-language stopper save them).
        "trial_rounds": sum(int(t["metrics"].get(keys.ROUND, 0)) for t in trials),
        "best": best, "best_over_seeds": best_mean, "translate_train_best": translate_best, "results": [{"config": t["config"], "metrics": t["metrics"], "outcome": t["outcome"]}
                                              for t in trials if t["error"] is None and t["metrics"]],
        "failed": [{"trial_id": t["trial_id"], "config": t["config"], "rounds_done": int(t["metrics"].get(keys.ROUND, 0)),
                    "reason": t["reason"]} for t in trials if t["outcome"] == "failed"],
        "wall_clock_s": time.time() - started, "tracking_uri": tracker.tracking_uri,
        "parent_run_id": tracker.sweep_run_id,
    }
    if soups:
        summary["soups"] = [{"soup_id": soup["soup_id"], "config": soup["config"], "members": soup["members"],
                             "metrics": soup["metrics"]} for soup in soups]
    if interrupted_by is None:
        summary["pareto_front"] = _tag_pareto_front(tracker, trials, objective)
    if interrupted_by is not None:
        summary["interrupted_by"] = signal.Signals(interrupted_by).name
    first_error = next((t for t in trials if t["error"] is not None), None)
    if status == "failed" and first_error is not None:
        summary["first_error_log"] = first_error["error_log"]
    parent_status = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}[status]
    tracker.end_sweep(parent_status, {"trial_id": best["trial_id"], "config": best["config"],
                                     objective: best["metrics"][objective]} if best else None,
                      tags={TAG_STATUS: status})
    write_summary(spec.sweep_dir, summary)
    return summary


def _tag_pareto_front(tracker, trials: list[dict[str, Any]], objective: str) -> list[str]:
    """The trials on the Pareto front of the source score (high) and the mean label-free target
    wrong-language rate (low), among the comparable zero-shot trials (configurations, over
    seeds: each of their seeds' trials); their MLflow runs get ``xlsearch.pareto_front`` =
    ``true``. Returns their ids."""
    from xlsearch.selection import comparable, config_columns, pareto_front, trials_frame, zero_shot_part

    frame = zero_shot_part(trials_frame(trials))
    if frame.empty:
        return []
    rows = comparable(frame)
    front = set(pareto_front(rows, objective))
    if keys.SEEDS in rows:  # a configuration's row is named by its first seed: tag every seed
        names = config_columns(frame)
        chosen = rows[rows[keys.TRIAL_ID].astype(str).isin(front)][names]
        key = frame[names].astype(str).apply(tuple, axis=1)
        front = set(frame[key.isin(set(chosen.astype(str).apply(tuple, axis=1)))][keys.TRIAL_ID].astype(str))
    ids = sorted(front)
    for trial_id in ids:
        try:
            tracker.tag_trial(trial_id, {TAG_PARETO: "true"})
        except KeyError:  # a trial without a run (none was started for it)
            pass
    return ids


def _close_open_trial_runs(tracker, outcome: str) -> None:
    from xlsearch.sweep.callbacks import TAG_OUTCOME

    tracker.end_open_trials("KILLED", tags={TAG_OUTCOME: outcome})


def trial_records(results) -> list[dict[str, Any]]:
    """``{"trial_id", "config", "metrics", "error", "reason", "bad_input", "error_log"}`` of each
    trial, from Tune's results (each trial's last result, without its sample outputs); ``reason``
    is a failed trial's error in one line."""
    from xlsearch.sweep.outcomes import failure_reason
    from xlsearch.sweep.trainable import trial_config
    from xlsearch.sweep.tuner import input_error

    trials = []
    for result in results:
        config = trial_config(result.config)
        metrics = {k: v for k, v in (result.metrics or {}).items() if k != keys.SAMPLES}
        bad_input = input_error(result.error)  # a spec or data error: its one line, not Ray's traceback
        error_log = None
        if result.error and result.path:
            error_log = str(Path(result.path) / "error.txt") if (Path(result.path) / "error.txt").is_file() \
                else str(result.path)
        trials.append({"trial_id": metrics.get(keys.TRIAL_ID), "config": config, "metrics": metrics,
                       "error": str(bad_input or result.error) if result.error else None,
                       "reason": failure_reason(bad_input or result.error),
                       "bad_input": bad_input, "error_log": error_log})
    return trials


def final_table(spec: SweepSpec, summary: dict[str, Any]) -> str:
    import dataclasses
    import math

    from xlsearch.report import configurations_table, language_table, trials_table, zero_shot_vs_translate_train
    from xlsearch.selection import comparable, trials_frame
    from xlsearch.sweep.soups import soup_label
    from xlsearch.tasks import get_task
    from xlsearch.training.params import TrialParams

    best = summary["best"]
    minutes = f"{summary['wall_clock_s'] / 60:.1f} min"
    how = {"finished": f"done in {minutes}", "failed": f"failed after {minutes}",
           "interrupted": f"interrupted by {summary.get('interrupted_by')} after {minutes}"}[summary["status"]]
    lines = [f"\nsweep '{spec.name}' {how}: {summary['trials']} trials, {count_line(summary['counts'])}"]
    metric_names = get_task(spec.task).metric_names
    if summary.get("results") and spec.search.seeds > 1:
        lines.append(f"every configuration, by method, intermediate tuning (it) and LR: mean ± sd over its seeds "
                     f"(of {spec.search.seeds}) at the round compared; src = source-language dev; wrong = share of "
                     "outputs in another language than the input's")
        lines.append(configurations_table(comparable(trials_frame(summary["results"])), metric_names,
                                          summary["objective"]))
    elif summary.get("results"):
        lines.append("every trial, by method, intermediate tuning (it) and LR; src = source-language dev; "
                     "wrong = share of outputs in another language than the input's")
        lines.append(trials_table(summary["results"], spec.target_languages, metric_names, summary["objective"]))
    for failed in summary.get("failed", []):
        label = TrialParams.from_flat(failed["config"]).label() if failed["config"] else "?"
        lines.append(f"failed: trial {failed['trial_id'] or '?'} ({label}) after {failed['rounds_done']} "
                     f"rounds: {failed['reason']}")
    if summary["status"] == "interrupted":
        lines.append("no best trial for an interrupted sweep: run the same command to resume it")
    elif best is None:
        lines.append("no trial produced a score (all diverged or failed)")
    else:
        params = TrialParams.from_flat(best["config"])
        mean = summary.get("best_over_seeds")
        if mean:  # the configuration chosen by its mean over the seeds; its first seed's trial
            params = dataclasses.replace(params, seed=None)
            lines.append(f"best by mean {summary['objective']} over {mean['seeds']} seeds (the zero-shot choice): "
                         f"{params.label()}  -> {mean['metrics'][summary['objective']]:.1f} ± "
                         f"{mean['sd'].get(summary['objective'], math.nan):.1f} (first seed's trial {best['trial_id']})")
            lines.append(language_table(mean["metrics"], spec.source_languages, spec.target_languages, metric_names))
        else:
            score = best["metrics"][summary["objective"]]
            lines.append(f"best by {summary['objective']} (the zero-shot choice): trial {best['trial_id']}, "
                         f"{params.label()}  -> {score:.1f}")
            lines.append(language_table(best["metrics"], spec.source_languages, spec.target_languages, metric_names))
    for soup in summary.get("soups", []):
        metrics = soup["metrics"]
        lines.append(f"{soup_label(soup['config'], soup['members'])} ({soup['soup_id']}): {summary['objective']} "
                     f"{metrics.get(summary['objective'], math.nan):.1f}, target "
                     f"{keys.metric_of(summary['objective'])} {metrics.get(keys.target_mean(keys.metric_of(summary['objective'])), math.nan):.1f}, "
                     f"wrong language {100 * metrics.get(keys.target_mean(keys.WRONG_LANGUAGE_RATE), math.nan):.0f}%")
    ceiling = summary.get("translate_train_best")
    if ceiling is not None:
        params = TrialParams.from_flat(ceiling["config"])
        lines.append(f"translate-train, not zero-shot (trained on target-language translations), best by "
                     f"{summary['objective']}: trial {ceiling['trial_id']}, {params.label()}")
        if best is not None:
            lines.append(zero_shot_vs_translate_train(best["metrics"], ceiling["metrics"], spec.target_languages,
                                                      keys.metric_of(summary["objective"])))
    lines.append(f"results: {summary['sweep_dir']}")
    lines.append(f"MLflow: {summary['tracking_uri']}  (browse with: xlsearch ui {summary['sweep_dir']})")
    return "\n".join(lines)


def count_line(counts: dict[str, int]) -> str:
    """``3 finished, 2 stopped early by ASHA, 1 failed, 0 diverged``, then the cut-short kinds
    when there are any."""
    parts = [f"{counts['finished']} finished", f"{counts['stopped_early']} stopped early by ASHA",
             f"{counts['failed']} failed", f"{counts['diverged']} diverged"]
    if counts.get(keys.STOPPED_WRONG_LANGUAGE):
        parts.insert(2, f"{counts[keys.STOPPED_WRONG_LANGUAGE]} stopped for answering in the wrong language")
    if counts["interrupted"]:
        parts.append(f"{counts['interrupted']} interrupted (they continue on resume)")
    if counts["stopped_by_budget"]:
        parts.append(f"{counts['stopped_by_budget']} stopped by the budget")
    return ", ".join(parts)
