"""`xlsearch run` and `xlsearch estimate`: from a checked spec to a finished (or resumed) sweep."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from xlsearch import keys
from xlsearch.space import planned_trials
from xlsearch.spec import SweepSpec


class BudgetExceeded(RuntimeError):
    """The estimate is over a budget and the user did not allow it (one line, exit 2)."""


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
                     verbose: bool = False, log: Callable[[str], None] = print):
    import ray

    from xlsearch.sweep.tuner import estimate_sweep, init_ray, placement

    init_ray(address, num_cpus, verbose)
    try:
        place = placement(spec, ray.cluster_resources())
        log(f"calibrating: a few optimizer steps and one eval batch of {spec.model} "
            f"({place.device_kind}, {place.cpus_per_worker:g} CPU per worker)...")
        est = estimate_sweep(spec, place)
    finally:
        if not address:
            ray.shutdown()
    for line in est.lines():
        log(line)
    for problem in est.over_budget(spec):
        log(f"over budget: {problem}")
    return est


def run_sweep(spec: SweepSpec, *, spec_path: Path | None = None, address: str | None = None,
              allow_over_budget: bool = False, num_cpus: int | None = None, verbose: bool = False,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the sweep; returns the summary written to ``SWEEP_DIR/summary.json``."""
    import ray

    from xlsearch.selection import best_trial
    from xlsearch.sweep.callbacks import MLflowTracking, ProgressLines
    from xlsearch.sweep.tuner import (TUNE_DIR_NAME, build_tuner, estimate_sweep, init_ray, placement,
                                      prepare_intermediate_tuning, write_summary)
    from xlsearch.tracking import Headline, SweepTracker
    from xlsearch.tracking.secrets import aws_credentials_in_a_private_file, redact
    from xlsearch.training.loop import objective_name

    sweep_dir = spec.sweep_dir
    resuming = (sweep_dir / TUNE_DIR_NAME).is_dir()
    init_ray(address, num_cpus, verbose)
    started = time.time()
    created_dir = False
    try:
        place = placement(spec, ray.cluster_resources())
        log(f"sweep '{spec.name}': {spec.search.algorithm}, up to {place.concurrency} trials at a time, "
            f"{place.num_workers} worker(s) per trial, {place.gpus_per_worker:g} GPU per worker")
        if not resuming and (spec.budget.gpu_hours or spec.budget.wall_clock_hours):
            est = estimate_sweep(spec, place)
            log("estimate: " + "; ".join(est.lines()))
            problems = est.over_budget(spec)
            if problems and not allow_over_budget:
                raise BudgetExceeded(f"{problems[0]}; shrink the sweep, raise the budget, or pass --allow-over-budget "
                                     "(the budget then still stops the sweep at its cap)")
        created_dir = not sweep_dir.exists()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        spec_copy = sweep_dir / "spec.yaml"
        spec_copy.write_text(redact(yaml.safe_dump(spec.model_dump(), sort_keys=False, allow_unicode=True)))
        objective = objective_name(spec)
        uri = tracking_uri(spec)
        tracker = SweepTracker(uri, spec.tracking.experiment or spec.name, sweep_dir)
        parent = tracker.start_sweep(spec.name, spec.model_dump(), spec_copy, planned_trials=planned_trials(spec),
                                     headline=Headline(**keys.headline(objective)))
        prepare_intermediate_tuning(spec, place, log)
        callbacks = [MLflowTracking(uri, spec.tracking.experiment or spec.name, str(sweep_dir), parent,
                                    spec.training.rounds),
                     ProgressLines(objective, spec.training.rounds, planned_trials(spec))]
        tuner, restored = build_tuner(spec, place, callbacks, sweep_dir)
        if restored:
            log(f"resuming the sweep in {sweep_dir}: finished trials are kept, unfinished ones continue")
        with aws_credentials_in_a_private_file():  # else Tune copies them into Ray's logs
            trials = trial_records(tuner.fit())
        best = best_trial(trials, objective)  # the zero-shot choice, as `xlsearch analyze` makes it
        summary = {
            "sweep": spec.name, "sweep_dir": str(sweep_dir), "objective": objective,
            "trials": len(trials), "errors": sum(t["error"] is not None for t in trials),
            "stopped_early": sum(0 < t["metrics"].get(keys.ROUND, 0) < spec.training.rounds for t in trials),
            "best": best, "results": [{"config": t["config"], "metrics": t["metrics"]} for t in trials
                                      if t["error"] is None and t["metrics"]],
            "wall_clock_s": time.time() - started, "tracking_uri": uri, "parent_run_id": parent,
        }
        tracker.end_sweep("FINISHED", {"trial_id": best["trial_id"], "config": best["config"],
                                       objective: best["metrics"][objective]} if best else None)
        write_summary(sweep_dir, summary)
        bad_inputs = [t["bad_input"] for t in trials if t["bad_input"] is not None]
        if best is None and bad_inputs:  # every trial failed, on input: the user gets that one line
            raise bad_inputs[0]
        return summary
    except BudgetExceeded:
        if created_dir:
            shutil.rmtree(sweep_dir, ignore_errors=True)
        raise
    finally:
        if not address:
            ray.shutdown()


def trial_records(results) -> list[dict[str, Any]]:
    """``{"trial_id", "config", "metrics", "error", "bad_input"}`` of each trial, from Tune's results (each
    trial's last result, without its sample outputs)."""
    from xlsearch.sweep.trainable import trial_config
    from xlsearch.sweep.tuner import input_error

    trials = []
    for result in results:
        config = trial_config(result.config)
        metrics = {k: v for k, v in (result.metrics or {}).items() if k != keys.SAMPLES}
        bad_input = input_error(result.error)  # a spec or data error: its one line, not Ray's traceback
        trials.append({"trial_id": metrics.get(keys.TRIAL_ID), "config": config, "metrics": metrics,
                       "error": str(bad_input or result.error) if result.error else None,
                       "bad_input": bad_input})
    return trials


def final_table(spec: SweepSpec, summary: dict[str, Any]) -> str:
    from xlsearch.report import language_table, trials_table
    from xlsearch.tasks import get_task
    from xlsearch.training.params import TrialParams

    best = summary["best"]
    lines = [f"\nsweep '{spec.name}' done in {summary['wall_clock_s'] / 60:.1f} min: {summary['trials']} trials, "
             f"{summary['stopped_early']} stopped early by ASHA, {summary['errors']} failed"]
    metric_names = get_task(spec.task).metric_names
    if summary.get("results"):
        lines.append("every trial, by method, intermediate tuning (it) and LR; src = source-language dev; "
                     "wrong = share of outputs in another language than the input's")
        lines.append(trials_table(summary["results"], spec.target_languages, metric_names, summary["objective"]))
    if best is None:
        lines.append("no trial produced a score (all diverged or failed)")
    else:
        params = TrialParams.from_flat(best["config"])
        score = best["metrics"][summary["objective"]]
        lines.append(f"best by {summary['objective']} (the zero-shot choice): trial {best['trial_id']}, "
                     f"{params.label()}  -> {score:.1f}")
        lines.append(language_table(best["metrics"], spec.source_languages, spec.target_languages, metric_names))
    lines.append(f"results: {summary['sweep_dir']}")
    lines.append(f"MLflow: {summary['tracking_uri']}  (browse with: xlsearch ui {summary['sweep_dir']})")
    return "\n".join(lines)
