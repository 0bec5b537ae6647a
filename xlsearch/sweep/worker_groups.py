"""The nodes a dead trial held: its Train worker group's placement group, freed by the sweep's
driver when the trial's Train controller died without removing it.

Ray removes a placement group with its creator only once the job has ended too, and a sweep is
one job: a worker group's placement group outlives a Train controller that dies without
removing it, and its CPUs and GPUs stay reserved for the rest of the sweep. A trial that Tune
stops aborts its Train run, which removes the group (:func:`xlsearch.sweep.trainable.abort_train_run`);
this module is the fallback for a controller that dies otherwise (its trial's process killed,
the node under it lost).

Train's own fallback is a detached cleaner actor per trial that asks Ray's State API (the
dashboard) every second whether the controller is alive: one more process per trial (~1-2 s of
CPU to start) and a stream of queries through the dashboard. Here each controller instead
records its worker group's placement group in Ray's key-value store, and the sweep's driver,
which lives as long as the sweep, reads the records every few seconds and removes the groups of
controllers the GCS reports dead. A record is dropped once its controller has shut its group
down, or is dead and its group removed.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ray.train.v2._internal.execution.callback import ControllerCallback, WorkerGroupCallback

if TYPE_CHECKING:
    from ray.train.v2._internal.execution.context import TrainRunContext
    from ray.train.v2._internal.execution.worker_group import WorkerGroup

log = logging.getLogger(__name__)

NAMESPACE = "xlsearch_worker_groups"
CHECK_INTERVAL_S = 2.0


def _prefix(job_id: str) -> str:
    return f"{job_id}/"


def driver_can_free() -> bool:
    """Whether this driver reads the GCS itself (not through Ray Client), as freeing needs."""
    import ray.util.client

    return not ray.util.client.ray.is_connected()


class RecordWorkerGroup(ControllerCallback, WorkerGroupCallback):
    """Runs in a trial's Train controller (in place of Train's ``PlacementGroupCleanerCallback``):
    records each worker group's placement group under the controller's actor id, and drops the
    record once the controller has shut the group down itself."""

    def __init__(self):
        self._key: str | None = None

    def after_controller_start(self, train_run_context: TrainRunContext):
        import ray

        context = ray.get_runtime_context()
        self._key = _prefix(context.get_job_id()) + context.get_actor_id()

    def after_worker_group_start(self, worker_group: WorkerGroup):
        from ray.experimental.internal_kv import _internal_kv_put

        group = worker_group.get_worker_group_state().placement_group_handle.placement_group
        if self._key is not None:  # a restarted group replaces the one before (removed by then)
            _internal_kv_put(self._key, group.id.hex(), namespace=NAMESPACE)

    def after_worker_group_shutdown(self, worker_group_context):
        self._forget()

    def after_worker_group_abort(self, worker_group_context):
        self._forget()

    def _forget(self):
        from ray.experimental.internal_kv import _internal_kv_del

        if self._key is not None:
            _internal_kv_del(self._key, namespace=NAMESPACE)


def free_lost_worker_groups() -> list[str]:
    """Remove the placement group of every recorded controller of this job that is dead; drop
    those records. Returns the ids of the groups removed."""
    import ray
    from ray._private.state import actors
    from ray._raylet import PlacementGroupID
    from ray.experimental.internal_kv import _internal_kv_del, _internal_kv_get, _internal_kv_list
    from ray.util.placement_group import PlacementGroup, remove_placement_group

    prefix = _prefix(ray.get_runtime_context().get_job_id())
    removed = []
    for key in _internal_kv_list(prefix, namespace=NAMESPACE):
        controller = key.decode()[len(prefix):]
        if actors(actor_id=controller).get("State", "DEAD") != "DEAD":
            continue
        group_id = _internal_kv_get(key, namespace=NAMESPACE)
        if group_id:
            group = PlacementGroup(PlacementGroupID(bytes.fromhex(group_id.decode())))
            if ray.util.placement_group_table(group).get("state") not in (None, "REMOVED"):
                remove_placement_group(group)
                removed.append(group_id.decode())
        _internal_kv_del(key, namespace=NAMESPACE)
    return removed


@contextmanager
def freeing_lost_worker_groups(interval_s: float = CHECK_INTERVAL_S):
    """While the block runs (a sweep's ``tuner.fit()``), free dead trials' worker groups every
    ``interval_s`` from a thread of this driver; nothing under Ray Client (its trials keep
    Train's cleaner: ``SweepContext.record_worker_groups``)."""
    if not driver_can_free():
        yield
        return
    done = threading.Event()

    def loop():
        while not done.wait(interval_s):
            try:
                for group in free_lost_worker_groups():
                    log.warning("removed placement group %s: its trial's Train controller died without removing it",
                                group)
            except Exception as err:  # a GCS hiccup: try again at the next check
                log.debug("freeing lost worker groups failed: %s", err)

    thread = threading.Thread(target=loop, name="xlsearch-free-worker-groups", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
