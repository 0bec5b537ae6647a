"""Assembling and running one sweep: Ray, budgets, shared intermediate tuning, the Tuner, MLflow.

Everything Ray Tune needs is put together in :func:`build_tuner`; the trainable
(:mod:`xlsearch.sweep.trainable`) knows nothing of the search algorithm.
"""
from __future__ import annotations

import json
import math
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from xlsearch import keys
from xlsearch.space import OptunaSpace, grid_configs, planned_trials, trial_seeds, uses_train_data
from xlsearch.spec import PERFECT_TRANSLATION, SweepSpec
from xlsearch.sweep.budget import DeviceHourStopper, Estimate, estimate
from xlsearch.sweep.trainable import SweepContext, trial_driver, trial_trainable
from xlsearch.tracking.secrets import redact_values
from xlsearch.training.loop import objective_name

TUNE_DIR_NAME = "tune"
DRIVER_MEMORY_BYTES = 64 * 1024 * 1024
# Train V2 checks worker health every 2 s by default, and each ray.train.report waits for the
# next check (~1.2 s measured on 2 CPUs); at 0.2 s a report takes ~9 ms.
# Train starts a PreemptionWatcher actor per worker group to log node drains for
# ``ray.train.get_preemption_info``, which the trial loop does not read (a lost node is handled by
# the restart from the last checkpoint): one process fewer per trial.
# These are defaults: a value the user set in their environment wins (and the run says which
# defaults it applied). Train V2 itself is required: the trials are built for it.
RAY_ENV = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.2", "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}
RAY_REQUIRED_ENV = {"RAY_TRAIN_V2_ENABLED": "1"}
# Tune saves the sweep's state (which trials finished) every ~10 s by default; a driver killed
# in between re-runs trials that had finished. One second costs little next to trials of minutes.
# A local Ray's log monitor (a process this driver starts) lists its log folder again every 0.1 s
# until the folder holds 1000 files, then every 0.5 s, for logs a sweep shows only with --verbose.
# With the threshold at 0 it lists every 0.5 s from the start (a new worker's log reaches the
# terminal up to 0.5 s later): 6% less CPU and wall-clock for a small sweep on 2 cores
# (benchmarks/sweep_cpu.py, docs/benchmarks.md).
DRIVER_ENV = {"TUNE_GLOBAL_CHECKPOINT_S": "1", "RAY_LOG_MONITOR_MANY_FILES_THRESHOLD": "0"}


class ResourcesError(ValueError):
    """The cluster cannot hold one trial as the spec's ``resources`` ask (one line, exit 2)."""


@dataclass(frozen=True)
class Placement:
    """How trials sit on the cluster."""

    gpus_per_worker: float
    cpus_per_worker: float
    num_workers: int
    concurrency: int
    device_kind: str  # "GPU" or "worker"

    @property
    def devices_per_trial(self) -> float:
        return self.num_workers * (self.gpus_per_worker if self.device_kind == "GPU" else 1)


def placement(spec: SweepSpec, cluster: dict[str, float], ceiling: dict[str, float] | None = None) -> Placement:
    """Workers' resources and how many trials fit at once, from the cluster's totals.

    Trial drivers hold no CPU, so concurrency is capped by what the workers need: with a CPU
    each, two trial drivers on a 2-CPU machine wait for ever for workers that cannot be placed.
    ``ceiling`` is what the cluster's autoscaler can grow to (:func:`autoscaler_ceiling`): trials
    are then as many as fit the grown cluster, and those that do not fit yet wait while their
    placement groups make the autoscaler add nodes.
    """
    r = spec.resources
    grown = _grown(cluster, ceiling)
    gpus = _gpus_per_worker(spec, grown)
    short = _shortfall(spec, gpus, cluster, "the cluster has")
    if short:
        raise ResourcesError(short)
    per_trial = {"CPU": r.cpus_per_worker * r.workers, "GPU": gpus * r.workers}
    fit = min(math.floor(grown.get(key, 0.0) / need) for key, need in per_trial.items() if need > 0)
    concurrency = max(1, min(fit, planned_trials(spec)))
    return Placement(gpus, r.cpus_per_worker, r.workers, concurrency, "GPU" if gpus > 0 else "worker")


def _grown(cluster: dict[str, float], ceiling: dict[str, float] | None) -> dict[str, float]:
    if not ceiling:
        return dict(cluster)
    return {key: max(cluster.get(key, 0.0), ceiling.get(key, 0.0)) for key in {*cluster, *ceiling}}


def _gpus_per_worker(spec: SweepSpec, cluster: dict[str, float]) -> float:
    """``gpus_per_worker: auto`` is 1 on a cluster that has (or can grow) GPUs, else 0."""
    asked = spec.resources.gpus_per_worker
    return (1.0 if cluster.get("GPU", 0.0) > 0 else 0.0) if asked == "auto" else float(asked)


def _shortfall(spec: SweepSpec, gpus: float, cluster: dict[str, float], has: str) -> str | None:
    """What one trial needs that ``cluster`` lacks, as the one line the user reads, or None."""
    r = spec.resources
    if gpus > 0 and cluster.get("GPU", 0.0) < gpus * r.workers:
        return (f"resources.gpus_per_worker = {r.gpus_per_worker}: a trial needs {gpus * r.workers:g} GPUs "
                f"and {has} {cluster.get('GPU', 0.0):g}")
    if cluster.get("CPU", 0.0) < r.cpus_per_worker * r.workers:
        return (f"resources.cpus_per_worker = {r.cpus_per_worker:g}: a trial needs {r.cpus_per_worker * r.workers:g} "
                f"CPUs and {has} {cluster.get('CPU', 0.0):g}")
    return None


def autoscaler_ceiling() -> dict[str, float] | None:
    """The most of each resource the cluster's autoscaler may bring up, or None when it is not
    known (no autoscaler, or one that does not say).

    Autoscaler v2 (KubeRay's) publishes its node types in the GCS; Ray Train reads the same figure
    to refuse a worker group that can never be placed. The cluster launcher's autoscaler (v1)
    publishes nothing, but on the head of a `ray up` cluster its config is
    ``~/ray_bootstrap_config.yaml``: node types with their resources and ``max_workers``.
    """
    from ray._private.state import state

    try:
        published = state.get_max_resources_from_cluster_config()
    except Exception:  # noqa: BLE001 - a private API: without it, the launcher's file or nothing
        published = None
    return published or launcher_ceiling(Path("~/ray_bootstrap_config.yaml").expanduser())


def launcher_ceiling(config_file: Path) -> dict[str, float] | None:
    """Resources of the head plus every worker node type at its ``max_workers``, from a cluster
    launcher config; None when a worker type leaves its resources to auto-detection (unknown)."""
    import yaml

    try:
        config = yaml.safe_load(config_file.read_text())
        node_types = config["available_node_types"]
        head = config["head_node_type"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    total: dict[str, float] = {}
    for name, node_type in node_types.items():
        count = 1 if name == head else int(node_type.get("max_workers", 0))
        if count and not node_type.get("resources") and name != head:
            return None
        for key, amount in (node_type.get("resources") or {}).items():
            total[key] = total.get(key, 0.0) + count * float(amount)
    return total or None


def cluster_placement(spec: SweepSpec, *, on_cluster: bool, wait_s: float, log: Callable[[str], None],
                      poll_s: float = 2.0, line_every_s: float = 30.0) -> Placement:
    """The sweep's :func:`placement` on the Ray it started (``on_cluster`` False: what it has is
    all it gets) or joined.

    A cluster that cannot hold one trial now (its worker nodes not up yet, or scaled to zero)
    is asked through the autoscaler for one trial's resources, and the sweep waits for them up to
    ``wait_s`` seconds with a progress line, then ends with one line (:class:`ResourcesError`).
    The request is withdrawn when the wait ends: from then on the trials' own placement groups
    are the cluster's demand. A cluster whose autoscaler can never hold a trial is refused at once.
    """
    import ray

    if not on_cluster:
        return placement(spec, ray.cluster_resources())
    ceiling = autoscaler_ceiling()
    if ceiling is not None:
        short = _shortfall(spec, _gpus_per_worker(spec, ceiling), ceiling, "the cluster's autoscaler can add at most")
        if short:
            raise ResourcesError(f"{short} (its node types and max_workers)")
    try:
        return placement(spec, ray.cluster_resources(), ceiling)
    except ResourcesError as err:
        if wait_s <= 0:
            raise
        log(f"the cluster cannot hold one trial yet: {err}")
    from ray.autoscaler.sdk import request_resources

    r = spec.resources
    gpus = _gpus_per_worker(spec, _grown(ray.cluster_resources(), ceiling))
    bundle = {"CPU": r.cpus_per_worker, **({"GPU": gpus} if gpus > 0 else {})}
    request_resources(bundles=[bundle] * r.workers)
    started = time.monotonic()
    log(f"asked the autoscaler for {r.workers} x {bundle}; waiting up to {wait_s:g} s for the nodes "
        f"(--wait-for-nodes; Ctrl-C stops)" if ceiling is not None else
        f"this cluster has no autoscaler: waiting up to {wait_s:g} s for worker nodes to join "
        f"(`ray start --address ...` on them; --wait-for-nodes; Ctrl-C stops)")
    try:
        next_line = started + line_every_s
        while True:
            time.sleep(poll_s)
            now = time.monotonic()
            try:
                place = placement(spec, ray.cluster_resources(), ceiling)
            except ResourcesError as err:
                if now - started >= wait_s:
                    raise ResourcesError(f"{err} after waiting {wait_s:g} s for nodes (--wait-for-nodes): "
                                         "check `ray status` and the autoscaler's log "
                                         "(/tmp/ray/session_latest/logs/monitor.*)") from None
                if now >= next_line:
                    log(f"still waiting for nodes ({now - started:.0f} s): {err}")
                    next_line += line_every_s
                continue
            log(f"the cluster holds a trial now (after {now - started:.0f} s of waiting)")
            return place
    finally:
        request_resources(bundles=[])


@contextmanager
def ray_session(address: str | None, num_cpus: int | None = None, verbose: bool = False,
                log: Callable[[str], None] = print):
    """Ray for one command, the only way xlsearch starts or joins one: :func:`init_ray` with the
    environment's secrets kept from Ray (:func:`xlsearch.tracking.secrets.secrets_kept_from_ray`:
    none while Ray starts, the AWS keys out for the whole block, what trials need through
    private files), and a local Ray shut down at the end."""
    import ray

    from xlsearch.tracking.secrets import secrets_kept_from_ray

    with secrets_kept_from_ray(lambda: init_ray(address, num_cpus, verbose, log)):
        try:
            yield
        finally:
            if not address:
                ray.shutdown()


def ray_settings(log: Callable[[str], None] = print) -> dict[str, str]:
    """Set xlsearch's Ray, Train and Tune settings in this process's environment where the user
    has not set them (the user's own values win), say once which defaults were applied, and
    return the settings Ray's workers get (their effective values)."""
    applied = {k: v for k, v in {**RAY_ENV, **DRIVER_ENV}.items() if k not in os.environ}
    for key, value in RAY_REQUIRED_ENV.items():
        if os.environ.get(key, value) != value:
            log(f"{key}={os.environ[key]} in the environment: xlsearch's trials run on Ray Train V2, so {key}={value}")
        os.environ[key] = value
    os.environ.update(applied)
    if applied:
        log("Ray settings: xlsearch's defaults " + ", ".join(f"{k}={v}" for k, v in applied.items())
            + " (a value set in the environment wins)")
    return {k: os.environ[k] for k in (*RAY_ENV, *RAY_REQUIRED_ENV)}


def init_ray(address: str | None, num_cpus: int | None = None, verbose: bool = False,
             log: Callable[[str], None] = print) -> None:
    """Join ``address`` (``auto`` = the running cluster), or start a local Ray.

    The dashboard stays on: Train V2's ``PlacementGroupCleaner`` actors (the calibration trial's,
    and every trial's under Ray Client, where the driver cannot free lost worker groups itself:
    :mod:`xlsearch.sweep.worker_groups`) ask its State API whether a trial's controller is dead,
    and without an answer its CPUs stay reserved. That query finds the cluster by scanning the
    host unless ``RAY_ADDRESS`` says which: with a second Ray on the machine (another sweep, a
    notebook) the scan fails, the cleaners die and the sweep deadlocks. So every worker is told
    its own cluster's address (a local Ray gets a GCS port chosen here, so that it is known in
    advance).

    A local Ray is for this machine only: every port it opens, metrics exporters included, is
    bound to 127.0.0.1 (:func:`_loopback_only`).

    Workers' own logs reach the terminal only with ``verbose``: Ray Train logs every report
    in full; the sweep prints one line per round instead, and failures name their log file.

    Commands call it through :func:`ray_session`, which keeps the environment's secrets from Ray.
    """
    import ray

    env_vars = ray_settings(log)
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env_vars}, "log_to_driver": verbose}
    if address:
        own = _bootstrap_address(address)
        if own:
            env_vars["RAY_ADDRESS"] = own
        ray.init(address=address, **kwargs)
        return
    port = _free_port()
    env_vars["RAY_ADDRESS"] = f"127.0.0.1:{port}"
    with _loopback_only(), _scoped_env("RAY_GCS_SERVER_PORT", str(port)):
        # "local": a Ray of its own even when this machine has a cluster started by `ray start`,
        # which a plain ray.init() would join (it reads /tmp/ray/ray_current_cluster).
        ray.init(address="local", num_cpus=num_cpus, **kwargs)


def _bootstrap_address(address: str) -> str | None:
    """``host:port`` of the cluster's GCS for ``address`` (``auto`` resolved), or None for a Ray
    Client address (``ray://``), whose workers live on a cluster that knows itself."""
    if "://" in address:
        return None
    from ray._private.services import canonicalize_bootstrap_address_or_die

    return canonicalize_bootstrap_address_or_die(address)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _scoped_env(key: str, value: str):
    before = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


@contextmanager
def _loopback_only():
    """Start a local Ray that listens on 127.0.0.1 only.

    Ray binds its servers and its three Prometheus exporters (dashboard, autoscaler, each node's
    agent) to the loopback address when the node's IP is the loopback address, which it is when
    multi-node clusters are off (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, Ray's own setting for
    laptops). Ray's processes read that variable when they start; this driver read it when it
    imported Ray, so the module's constant is switched for the start too, and both are put back.
    """
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        with _scoped_env(ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR, "0"):
            yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def calibrate(spec: SweepSpec, placement_: Placement, steps: int = 3, *, local: bool = True) -> Calibration:
    """Time a real short trial: a one-trial Tune run whose Ray Train worker sets the trial up as
    trials do (full finetuning, the lowest LR), takes ``steps`` optimizer steps after a warm-up
    step and generates one eval batch, on one worker's resources (a GPU when trials get one).

    Measured: the step and evaluation times, the trial's start-up (from the Tune trial's start
    until its first step could be taken: Tune's and Train's processes, imports, data and model)
    and its teardown; on a ``local`` Ray, the CPU seconds the whole run took from the machine."""
    import tempfile

    from ray import tune

    cpu_before = _machine_cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="xlsearch-calibration-") as tmp:
        trainable = tune.with_resources(
            trial_trainable(_calibration_driver, spec_dict=spec.model_dump(), base_dir=spec.base_dir,
                            steps=steps, gpus_per_worker=placement_.gpus_per_worker,
                            cpus_per_worker=placement_.cpus_per_worker),
            {"cpu": 0, "memory": DRIVER_MEMORY_BYTES})
        tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(num_samples=1),
                           run_config=tune.RunConfig(name="calibration", storage_path=tmp, verbose=0))
        started = time.time()
        with _scoped_env("TUNE_PRINT_ALL_TRIAL_ERRORS", "0"):  # its error comes back below, in one line
            result = tuner.fit()[0]
        ended = time.time()
    if result.error is not None:
        found = input_error(result.error)
        if found is not None:
            raise found from None
        raise RuntimeError(f"the calibration trial failed: {str(result.error).strip().splitlines()[-1]}")
    m = result.metrics
    work = m["work_s"]  # the steps and the eval batch: not start-up
    cpu = _machine_cpu_seconds() - cpu_before if local else None
    return Calibration(step_seconds=m["step_s"], eval_seconds=m["eval_s"], final_eval_seconds=m["final_eval_s"],
                       startup_seconds=max(0.0, ended - started - work),
                       startup_cpu_seconds=None if cpu is None else max(0.0, cpu - work * placement_.cpus_per_worker))


@dataclass(frozen=True)
class Calibration:
    step_seconds: float
    eval_seconds: float  # an evaluation before the last round
    final_eval_seconds: float  # the last round's
    startup_seconds: float  # a trial's wall-clock besides its steps and evaluations
    startup_cpu_seconds: float | None  # the CPU it took from the machine (local Ray only)


def seconds_so_far() -> float:
    """Seconds since this process started: the part of a sweep's wall-clock before its trials,
    measured rather than guessed."""
    import psutil

    return max(0.0, time.time() - psutil.Process().create_time())


def _machine_cpu_seconds() -> float:
    import psutil

    t = psutil.cpu_times()
    return t.user + t.system + getattr(t, "nice", 0.0)


def _calibration_driver(config: dict[str, Any], spec_dict: dict[str, Any], base_dir: str, steps: int,
                        gpus_per_worker: float, cpus_per_worker: float) -> None:
    """The calibration's Tune trainable: one Train run of :func:`_calibration_worker`, built as
    :func:`xlsearch.sweep.trainable.trial_driver` builds a trial's."""
    import ray.train
    from ray.tune.integration.ray_train import TuneReportCallback

    from xlsearch.sweep.trainable import _trainer_class

    use_gpu = gpus_per_worker > 0
    resources = {"CPU": cpus_per_worker, **({"GPU": gpus_per_worker} if use_gpu else {})}
    storage = ray.tune.get_context().get_trial_dir()
    trainer = _trainer_class(1)(
        _calibration_worker, train_loop_config={"spec": spec_dict, "base_dir": base_dir, "steps": steps},
        scaling_config=ray.train.ScalingConfig(num_workers=1, use_gpu=use_gpu, resources_per_worker=resources),
        run_config=ray.train.RunConfig(name="train", storage_path=storage, callbacks=[TuneReportCallback()]))
    trainer.fit()


def _calibration_worker(config: dict[str, Any]) -> None:
    """Set a trial up exactly as trials do, time ``steps`` optimizer steps after one warm-up step
    and one eval batch of source dev data; scale the latter to what a round evaluates
    (``xlsearch.training.loop.evaluate``): every source example and the target languages' fixed
    sample, or every target example in the last round."""
    import ray.train
    import ray.train.torch

    from xlsearch.checks import parse_spec
    from xlsearch.training.evaluate import fixed_sample, generate
    from xlsearch.training.loop import setup_trial
    from xlsearch.training.params import TrialParams

    spec = parse_spec(config["spec"], base_dir=config["base_dir"])
    steps, cfg = config["steps"], spec.training
    trial = setup_trial(spec, TrialParams(lr=1e-5), device=ray.train.torch.get_device(), log=lambda _: None)
    work_started = time.perf_counter()
    batches = trial.batches()
    warm = trial.engine.run(batches, 1)  # allocations, kernels
    step_seconds = trial.engine.run(batches, steps).seconds / steps
    lang = spec.source_languages[0]
    dev = trial.data.dev
    sample = dev[lang][: cfg.eval_batch_size]
    started = time.perf_counter()
    generate(trial.model, trial.codec, sample, lang, max_input_length=cfg.max_input_length,
             max_new_tokens=cfg.max_output_length, batch_size=cfg.eval_batch_size, num_beams=cfg.num_beams,
             device=trial.engine.device, autocast_dtype=trial.engine.dtype)
    per_example = (time.perf_counter() - started) / max(1, len(sample))
    # Every round scores the source dev data and the few-shot examples in full, the target and
    # pivot languages on their fixed sample (all of them in the last round).
    source = sum(len(dev[lang]) for lang in spec.source_languages) + sum(map(len, trial.data.few_shot.values()))
    targets = [dev[lang] for lang in (*spec.target_languages, *spec.pivot_languages)]
    sampled = sum(len(fixed_sample(d, cfg.target_eval_sample, spec.search.seed)) for d in targets)
    # The warm-up step counts as a step: a trial pays it too.
    work = time.perf_counter() - work_started - warm.seconds + step_seconds
    ray.train.report({"step_s": step_seconds, "eval_s": per_example * (source + sampled),
                      "final_eval_s": per_example * (source + sum(map(len, targets))), "work_s": work})


def ray_get(refs):
    """``ray.get``, but a bad-input error raised in the task (a spec or data problem) comes back
    as itself, one line, rather than inside Ray's wrapper with the worker's traceback."""
    import ray

    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as err:
        found = input_error(err)
        if found is not None:
            raise found from None
        raise


def input_error(err: BaseException | None) -> BaseException | None:
    """The spec or data error (SpecError, DataError) at the root of an error from a Ray task, a
    Tune trial or a Train worker, or None. These exceptions survive Ray's serialization, so the
    user gets their one line instead of the wrappers' tracebacks."""
    import ray

    from xlsearch.spec import SpecError
    from xlsearch.sweep.outcomes import error_chain
    from xlsearch.tasks import DataError

    return next((e for e in error_chain(err)
                 if isinstance(e, (SpecError, DataError)) and not isinstance(e, ray.exceptions.RayTaskError)), None)


def estimate_sweep(spec: SweepSpec, placement_: Placement, *, local: bool = True) -> Estimate:
    """The sweep's expected cost from a real short trial (:func:`calibrate`), plus what this
    process has spent so far (Python's imports, Ray's start, the checks, the calibration)."""
    c = calibrate(spec, placement_, local=local)
    fixed_seconds = seconds_so_far()
    return estimate(spec, step_seconds=c.step_seconds, eval_seconds=c.eval_seconds,
                    final_eval_seconds=c.final_eval_seconds, concurrency=placement_.concurrency,
                    devices_per_trial=placement_.devices_per_trial, device_kind=placement_.device_kind,
                    startup_seconds=c.startup_seconds, startup_cpu_seconds=c.startup_cpu_seconds,
                    cpus_per_trial=placement_.cpus_per_worker * placement_.num_workers,
                    fixed_seconds=fixed_seconds)


def prepare_intermediate_tuning(spec: SweepSpec, placement_: Placement, log: Callable[[str], None]) -> None:
    """Train each intermediate-tuning setting once, before any trial, in Ray tasks with a
    worker's resources; trials then load the cached checkpoints."""
    import ray

    labels = [o.label for o in spec.search.intermediate_tuning if o != "none"]
    if not labels:
        return
    task = ray.remote(num_cpus=placement_.cpus_per_worker, num_gpus=placement_.gpus_per_worker)(_intermediate_task)
    for label, trained in zip(labels, ray_get([task.remote(spec.model_dump(), spec.base_dir, name) for name in labels])):
        log(f"intermediate tuning '{label}': {'trained' if trained else 'found in cache'}")


def prepare_translations(spec: SweepSpec, placement_: Placement, log: Callable[[str], None]) -> None:
    """Translate-train's data made once, before any trial: one Ray task per target language with
    a worker's resources (a GPU each when trials get one), side by side as the cluster allows;
    each target's lines are printed as its task ends. Trials then read the cached translations."""
    import ray

    if not uses_train_data(spec, keys.TRANSLATE_TRAIN):
        return
    log(f"translate-train: translating the {spec.source_languages[0]} training data into "
        f"{', '.join(spec.target_languages)} with {spec.translation.model} (once; cached under the storage)")
    if spec.translation.model == PERFECT_TRANSLATION:  # no model: the data writes itself, here
        from xlsearch.training.translate import ensure_translations

        ensure_translations(spec, log=log)
        return
    task = ray.remote(num_cpus=placement_.cpus_per_worker, num_gpus=placement_.gpus_per_worker)(_translation_task)
    pending = [task.remote(spec.model_dump(), spec.base_dir, lang) for lang in spec.target_languages]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for line in ray_get(done[0]):
            log(line)


def _translation_task(spec_dict: dict[str, Any], base_dir: str, target: str) -> list[str]:
    from xlsearch.checks import parse_spec
    from xlsearch.training.translate import ensure_translations

    lines: list[str] = []
    ensure_translations(parse_spec(spec_dict, base_dir=base_dir), [target], log=lines.append)
    return lines


def _intermediate_task(spec_dict: dict[str, Any], base_dir: str, label: str) -> bool:
    from xlsearch.checks import parse_spec
    from xlsearch.training.intermediate import ensure_intermediate_checkpoint

    return ensure_intermediate_checkpoint(parse_spec(spec_dict, base_dir=base_dir), label).trained


def build_tuner(spec: SweepSpec, placement_: Placement, callbacks: list, sweep_dir: Path):
    """The Tuner for a new sweep, or the restored one when ``sweep_dir`` holds an unfinished one."""
    import optuna
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    from xlsearch.sweep.decisions import DECISIONS_FILE, KeptASHA, KeptFIFO
    from xlsearch.sweep.worker_groups import driver_can_free

    objective = objective_name(spec)
    # Trials get the spec without the value of any secret in the environment: Tune and Train
    # keep what trials get in their files (the sweep folder), and trials never need a secret from
    # the spec (they read tokens from their environment).
    context = SweepContext(spec=redact_values(spec.model_dump()), base_dir=spec.base_dir, sweep_dir=str(sweep_dir),
                           num_workers=placement_.num_workers, gpus_per_worker=placement_.gpus_per_worker,
                           cpus_per_worker=placement_.cpus_per_worker, max_restarts=spec.resources.max_restarts,
                           record_worker_groups=driver_can_free())
    # The driver holds no CPU, only a token amount of memory (Ray refuses an empty request):
    # the workers' resources are what limits concurrency, so drivers never starve workers.
    trainable = tune.with_resources(trial_trainable(trial_driver, sweep=context),
                                    {"cpu": 0, "memory": DRIVER_MEMORY_BYTES})
    param_space: dict[str, Any] = {}
    if spec.search.algorithm == "grid":
        param_space = {"grid": tune.grid_search(grid_configs(spec))}
    tune_dir = sweep_dir / TUNE_DIR_NAME
    if tune.Tuner.can_restore(str(tune_dir)):
        return tune.Tuner.restore(str(tune_dir), trainable, resume_unfinished=True, resume_errored=True,
                                  param_space=param_space or None), True

    search_alg = None
    if spec.search.algorithm != "grid":
        # multivariate + group: TPE models the parameters that occur together (a method and its
        # own LR and parameters) jointly, instead of one LR preference shared by every method.
        # (``group`` is marked experimental in Optuna 5; its warning is silenced here.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            tpe = optuna.samplers.TPESampler(seed=spec.search.seed, multivariate=True, group=True)
        sampler = (tpe if spec.search.algorithm == "optuna_tpe"
                   else optuna.samplers.RandomSampler(seed=spec.search.seed))
        metrics, modes = searched_metrics(spec)
        # One objective: a name and a mode; several: lists (Optuna's multi-objective TPE or random).
        search_alg = OptunaSearch(space=OptunaSpace(spec), metric=metrics if spec.multi_objective else metrics[0],
                                  mode=modes if spec.multi_objective else modes[0], sampler=sampler)
        if spec.search.seeds > 1:
            from xlsearch.sweep.repeat import SeedRepeater

            search_alg = SeedRepeater(search_alg, trial_seeds(spec))
        if spec.scheduler.stop_wrong_language_above is not None and not spec.multi_objective:
            from xlsearch.sweep.repeat import WrongLanguageFloor

            search_alg = WrongLanguageFloor(search_alg, spec.scheduler.stop_wrong_language_above)
    # The schedulers keep their decisions in the sweep folder: an ASHA stop survives a driver crash.
    # ASHA ranks by the source score alone, in a multi-objective search too; the wrong-language
    # stopper, when set, stops on the target side.
    decisions = sweep_dir / DECISIONS_FILE
    kept = dict(skip_keys=(keys.SAMPLES,), stop_wrong_language_above=spec.scheduler.stop_wrong_language_above)
    if spec.scheduler.type == "asha":
        scheduler = KeptASHA(decisions, **kept, time_attr=keys.ROUND, metric=objective,
                             mode="max", max_t=spec.training.rounds, grace_period=spec.scheduler.grace_period,
                             reduction_factor=spec.scheduler.reduction_factor)
    else:
        scheduler = KeptFIFO(decisions, **kept)
    stop = None
    if spec.budget.gpu_hours is not None:
        stop = DeviceHourStopper(spec.budget.gpu_hours, placement_.devices_per_trial)
    tune_config = tune.TuneConfig(
        search_alg=search_alg,
        scheduler=scheduler,
        num_samples=1 if spec.search.algorithm == "grid" else planned_trials(spec),
        max_concurrent_trials=placement_.concurrency,
        time_budget_s=spec.budget.wall_clock_hours * 3600 if spec.budget.wall_clock_hours else None,
        # ASHA needs metric/mode on itself only; the Tuner's are for get_best_result.
    )
    run_config = tune.RunConfig(name=TUNE_DIR_NAME, storage_path=str(sweep_dir), stop=stop, callbacks=callbacks,
                                verbose=0, failure_config=tune.FailureConfig(max_failures=0))
    return tune.Tuner(trainable, param_space=param_space, tune_config=tune_config, run_config=run_config), False


def searched_metrics(spec: SweepSpec) -> tuple[list[str], list[str]]:
    """The metrics the searcher optimises and their modes, in ``search.objectives``' order: the
    source dev score (max), the mean label-free target wrong-language rate (min)."""
    names = {"source_score": (objective_name(spec), "max"),
             "wrong_language_rate": (keys.target_mean(keys.WRONG_LANGUAGE_RATE), "min")}
    pairs = [names[o] for o in spec.search.objectives]
    return [m for m, _ in pairs], [mode for _, mode in pairs]


def write_summary(sweep_dir: Path, summary: dict[str, Any]) -> Path:
    path = sweep_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str, ensure_ascii=False))
    return path
