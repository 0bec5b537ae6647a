"""What Ray runs for one trial: a Tune function (the trial's driver) that builds and fits a Ray
Train ``TorchTrainer`` whose workers run the trial loop.

This is Train V2's pattern: a ``Tuner(TorchTrainer(...))`` fails, ``tune.report`` inside a Train
worker is silently dropped; workers call ``ray.train.report`` and Train's ``TuneReportCallback``
hands rank 0's reports to Tune. The Train run is named after the Tune
trial and kept under the sweep directory, so a trial started again after the driver died finds
its last checkpoint through ``ray.train.get_checkpoint()`` and continues from there. Train keeps
that last checkpoint only: it records the new one before it deletes the one before, and never
deletes the latest. What stays once a trial has ended is :mod:`xlsearch.sweep.disk`'s business.

With ``resources.workers`` > 1 the workers are a DDP group (gloo on CPUs, NCCL on GPUs). When a
worker dies (its process killed, its node lost) Train stops the group and starts a new one, up to
``resources.max_restarts`` times, and the new group resumes from the last reported checkpoint
through the same ``ray.train.get_checkpoint()``: the rounds after it are trained and reported
again, the ones before are not.

A trial that Tune stops (ASHA, a budget, the end of the sweep) aborts its Train run as part of
its stop (:func:`trial_trainable`), so the node it held is free when Tune starts the next trial.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsearch import keys

log = logging.getLogger(__name__)

TRAIN_RUNS_DIR = "train_runs"


def train_run_dir(sweep_dir: str | Path, trial_id: str) -> Path:
    """Where the Train run of trial ``trial_id`` keeps its checkpoints."""
    return Path(sweep_dir) / TRAIN_RUNS_DIR / f"trial-{trial_id}"


@dataclass(frozen=True)
class SweepContext:
    """What every trial of one sweep shares, shipped to trials with ``tune.with_parameters``."""

    spec: dict[str, Any]  # the spec as parsed, JSON-safe
    base_dir: str
    sweep_dir: str
    num_workers: int
    gpus_per_worker: float
    cpus_per_worker: float
    max_restarts: int
    # The driver frees the worker groups of trials whose controller died (sweep.worker_groups);
    # else Train's cleaner actor does, one per trial.
    record_worker_groups: bool = False


def trial_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """The flat trial config, whether it came from Optuna (flat) or a grid (under "grid"); ``{}``
    for a trial stopped before its first report (Tune's Result then has no config)."""
    from xlsearch.space import decode_config

    if config is None:
        return {}
    return decode_config(config.get("grid", config))


def train_worker(loop_config: dict[str, Any]) -> None:
    """Runs on every Ray Train worker: the trial loop with Ray's report, device and DDP."""
    import ray.train
    import ray.train.torch

    from xlsearch.checks import parse_spec
    from xlsearch.training.loop import run_trial
    from xlsearch.training.params import TrialParams

    spec = parse_spec(loop_config["spec"], base_dir=loop_config["base_dir"])
    params = TrialParams.from_flat(loop_config["params"])
    context = ray.train.get_context()
    rank, world_size = context.get_world_rank(), context.get_world_size()

    def report(metrics: dict[str, Any], checkpoint_dir: Path, samples: list[dict[str, str]]) -> None:
        checkpoint = None
        if rank == 0:
            metrics = {**metrics, keys.SAMPLES: json.dumps(samples, ensure_ascii=False)}
            if any(checkpoint_dir.iterdir()):
                checkpoint = ray.train.Checkpoint.from_directory(str(checkpoint_dir))
        ray.train.report(metrics, checkpoint=checkpoint)

    kwargs = dict(report=report, device=ray.train.torch.get_device(), rank=rank, world_size=world_size,
                  is_main=rank == 0, wrap_model=ray.train.torch.prepare_model if world_size > 1 else None)
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        run_trial(spec, params, **kwargs)
    else:
        with checkpoint.as_directory() as resume_dir:
            run_trial(spec, params, resume_from=Path(resume_dir), **kwargs)


def _trainer_class(num_workers: int, record_worker_groups: bool = False):
    """The Train trainer a trial runs under: ``TorchTrainer`` for a DDP group of
    ``num_workers`` > 1, Train's plain ``DataParallelTrainer`` for one worker; either without
    the Ray Data plumbing a trial does not use.

    A one-worker trial needs no process group (the trial loop touches ``torch.distributed`` only
    with more than one rank), and ``TorchTrainer`` costs torch's import twice per trial outside
    the worker: in the trial's Tune process, which builds the trainer, and in Train's controller,
    which unpickles its backend config (~2 s of CPU and ~190 MB each, measured on the 2-CPU
    development machine). The worker itself imports torch either way, and
    ``ray.train.torch.get_device`` reads the devices Train assigned, whatever the backend.

    Train gives every run a ``DatasetsCallback``, which starts a ``DatasetManager`` actor (a
    process that imports Ray Data, ~2 s of CPU) even when the run has no datasets; a trial reads
    its data itself. Dropped only when ``datasets`` is empty, so a trainer given datasets is
    unchanged. ``_create_default_callbacks`` is private to Ray: Ray is pinned in pyproject.toml,
    and ``tests/test_sweep.py`` reads which actors a sweep's trials started, so an upgrade that
    renames it fails there instead of silently starting the actor again.

    With ``record_worker_groups`` (a sweep whose driver frees lost worker groups:
    :mod:`xlsearch.sweep.worker_groups`), Train's placement-group cleaner, a detached actor per
    run, gives way to a record of the worker group's placement group for the driver.
    """
    from ray.train.v2._internal.callbacks import DatasetsCallback
    from ray.train.v2._internal.callbacks.placement_group_callback import PlacementGroupCleanerCallback

    if num_workers > 1:
        from ray.train.torch import TorchTrainer as Base
    else:
        from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer as Base

    class TrialTrainer(Base):
        def _create_default_callbacks(self):
            callbacks = super()._create_default_callbacks()
            if record_worker_groups:
                from xlsearch.sweep.worker_groups import RecordWorkerGroup

                callbacks = [RecordWorkerGroup() if isinstance(c, PlacementGroupCleanerCallback) else c
                             for c in callbacks]
            if self.datasets:
                return callbacks
            return [c for c in callbacks if not isinstance(c, DatasetsCallback)]

        def _initialize_and_run_controller(self, **controller_init_kwargs):
            # Ray 2.60's own, less the SIGINT handler (Ray registers it only on the main thread,
            # and Tune runs fit() on another), keeping the controller's handle in this process
            # for the trial's stop to abort the run (see trial_trainable).
            global _controller
            import ray
            from ray._common.constants import RAY_WARN_BLOCKING_GET_INSIDE_ASYNC_ENV_VAR
            from ray.train.v2._internal.constants import (
                DEFAULT_RAY_WARN_BLOCKING_GET_INSIDE_ASYNC_VALUE, get_env_vars_to_propagate)
            from ray.train.v2._internal.execution.controller import TrainController

            env_vars = get_env_vars_to_propagate()
            env_vars.setdefault(RAY_WARN_BLOCKING_GET_INSIDE_ASYNC_ENV_VAR,
                                DEFAULT_RAY_WARN_BLOCKING_GET_INSIDE_ASYNC_VALUE)
            controller_class = ray.remote(num_cpus=0, runtime_env={"env_vars": env_vars},
                                          label_selector={ray._raylet.RAY_NODE_ID_KEY:
                                                          ray.get_runtime_context().get_node_id()})(TrainController)
            controller = controller_class.remote(**controller_init_kwargs)
            _controller = controller
            try:
                ray.get(controller.run.remote())
                return ray.get(controller.get_result.remote())
            finally:
                if _controller is controller:
                    _controller = None

    return TrialTrainer


# The Train controller of the run this process's trial is in, while it runs (a Tune trial actor
# runs one trial at a time): what a trial's stop aborts.
_controller = None


def abort_train_run(timeout_s: float = 60.0) -> bool:
    """Abort the Train run of the trial this process runs, if one is running; whether one was.

    Train's abort (what Ctrl-C does to a ``fit()`` on a main thread) stops the worker group and
    removes its placement group before the controller exits, so a trial that Tune stops frees
    its node at once (why that is needed: :mod:`xlsearch.sweep.worker_groups`, which frees the
    node of a trial process killed without a stop).
    """
    global _controller
    controller, _controller = _controller, None
    if controller is None:
        return False
    import ray

    try:
        ray.get(controller.abort.remote(), timeout=timeout_s)
    except ray.exceptions.RayActorError:
        pass  # the abort ends by exiting the controller: its call fails with the actor gone
    except ray.exceptions.GetTimeoutError:
        log.warning("the trial's Train run did not abort within %.0f s; its placement group is freed "
                    "once its controller is seen gone", timeout_s)
    return True


def trial_trainable(driver, **parameters):
    """``driver`` (a Tune function trainable) with ``parameters`` as ``tune.with_parameters``
    passes them, as a Tune trainable class whose stop aborts the trial's Train run
    (:func:`abort_train_run`) once Tune's own cleanup is done. Tune names trials after
    ``driver`` as it would the function, so a sweep started before resumes."""
    from ray import tune
    from ray.tune.trainable.function_trainable import wrap_function

    base = wrap_function(tune.with_parameters(driver, **parameters))

    class TrialTrainable(base):
        def cleanup(self):
            try:
                super().cleanup()
            finally:
                abort_train_run()

    TrialTrainable.__name__ = TrialTrainable.__qualname__ = driver.__name__
    return TrialTrainable


def trial_driver(config: dict[str, Any], sweep: SweepContext) -> None:
    """The Tune trainable: one Train run per trial, reporting to Tune through the callback."""
    import ray.train
    from ray import tune
    from ray.tune.integration.ray_train import TuneReportCallback

    run_dir = train_run_dir(sweep.sweep_dir, tune.get_context().get_trial_id())
    use_gpu = sweep.gpus_per_worker > 0
    resources = {"CPU": sweep.cpus_per_worker}
    if use_gpu:
        resources["GPU"] = sweep.gpus_per_worker
    trainer = _trainer_class(sweep.num_workers, sweep.record_worker_groups)(
        train_worker,
        train_loop_config={"spec": sweep.spec, "base_dir": sweep.base_dir, "params": trial_config(config)},
        scaling_config=ray.train.ScalingConfig(num_workers=sweep.num_workers, use_gpu=use_gpu,
                                               resources_per_worker=resources),
        run_config=ray.train.RunConfig(
            name=run_dir.name,
            storage_path=str(run_dir.parent),
            callbacks=[TuneReportCallback()],
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
            failure_config=ray.train.FailureConfig(max_failures=sweep.max_restarts),
        ),
    )
    trainer.fit()
