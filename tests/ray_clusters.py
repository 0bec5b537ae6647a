"""Multi-node Ray clusters on one machine, for rehearsing the cluster path.

:func:`rehearsal_cluster` (xlsearch's own, ``python -m xlsearch.rehearsal``) is Ray's
``ray.cluster_utils.Cluster``: a head and worker nodes, each a raylet with its own resources. :class:`AutoscalingRehearsal` is a
head started by ``ray start`` with Ray's fake multi-node provider behind its autoscaler, which
brings worker nodes up (as local raylets) when there is demand and takes them down when idle.
Neither stops any other Ray on the machine.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from xlsearch.rehearsal import _free_port, forget_address, rehearsal_cluster  # noqa: F401 (re-exported)


def train_workers(gcs_address: str, state: str | None = None) -> list:
    """Ray Train's worker actors on the cluster (``state``: "ALIVE", "DEAD" or any), read through
    the State API as a user's `ray list actors` would."""
    from ray.util.state import list_actors

    filters = [("class_name", "=", "RayTrainWorker")] + ([("state", "=", state)] if state else [])
    return list_actors(address=gcs_address, filters=filters, detail=True, raise_on_missing_output=False)


def worker_group_waits(gcs_address: str) -> list[float | None]:
    """For each placement group that held CPUs (a Ray Train worker group's; Tune's per-trial
    groups hold none), in the order they were asked for: the seconds it waited from the request
    until it was placed, or None for one removed before it was ever placed (a worker-group start
    that gave up waiting and was retried)."""
    from ray.util.state import list_placement_groups

    groups = list_placement_groups(address=gcs_address, detail=True, limit=10_000, raise_on_missing_output=False)
    waits = []
    for group in groups:
        if not any(b.get("unit_resources", {}).get("CPU", 0) > 0 for b in group.bundles or []):
            continue
        stats = group.stats or {}
        waited_us = int(stats.get("end_to_end_creation_latency_us", 0))  # 0 for a group never placed
        placed = stats.get("scheduling_state") == "FINISHED" or waited_us > 0
        waits.append((int(stats.get("creation_request_received_ns", 0)), waited_us / 1e6 if placed else None))
    return [wait for _, wait in sorted(waits)]


def _node_ip() -> str:
    from ray._private.services import get_node_ip_address

    return get_node_ip_address()



class AutoscalingRehearsal:
    """A head started by `ray start`, with an autoscaler whose node provider is Ray's fake multi-node
    one (no worker types: a plain head).

    ``worker_types`` are the autoscaler's node types (``{"cpu1": {"resources": {"CPU": 1},
    "min_workers": 0, "max_workers": 2}}``). The head runs ``ray start --head --block`` in a
    session of its own, and the nodes the autoscaler adds are processes under it, so
    :meth:`shutdown` ends exactly this cluster.
    """

    def __init__(self, worker_types: dict, head_cpus: int = 0, idle_timeout_minutes: float = 0.2):
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="xlas-"))
        ip = _node_ip()
        self.address = f"{ip}:{self.port}"
        node_types = {"ray.head.default": {"resources": {"CPU": head_cpus}, "node_config": {}, "max_workers": 0}}
        for name, node_type in worker_types.items():
            node_types[name] = {"node_config": {}, **node_type}
        config = {
            "cluster_name": "xlsearch-rehearsal",
            "max_workers": sum(t["max_workers"] for t in worker_types.values()),
            "provider": {"type": "fake_multinode", "use_node_id_as_ip": True, "disable_node_updaters": True,
                         "disable_launch_config_check": True, "gcs_address": self.address},
            "available_node_types": node_types, "head_node_type": "ray.head.default", "auth": {},
            "upscaling_speed": 1.0, "idle_timeout_minutes": idle_timeout_minutes, "docker": {},
            "initialization_commands": [], "setup_commands": [], "head_setup_commands": [],
            "worker_setup_commands": [], "head_start_ray_commands": [], "worker_start_ray_commands": [],
            "file_mounts": {}, "cluster_synced_files": [], "file_mounts_sync_continuously": False,
            "rsync_exclude": [], "rsync_filter": [],
        }
        self.config_file = self.folder / "autoscaling.json"
        self.config_file.write_text(json.dumps(config))
        self.head_cpus = head_cpus
        self.proc: subprocess.Popen | None = None

    def start(self, env: dict, timeout: float = 60) -> None:
        ray_cli = str(Path(sys.executable).with_name("ray"))
        # The cluster launcher's autoscaler (v1). Ray's v2 with this provider needs a file the
        # ray wheel does not ship (fake_multi_node/example.yaml).
        # Token authentication on, as on a real cluster (``env`` brings the token).
        env = {**env, "RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1", "RAY_AUTH_MODE": "token"}
        self.log = open(self.folder / "head.log", "w")
        self.proc = subprocess.Popen(
            [ray_cli, "start", "--head", "--block", f"--port={self.port}", f"--node-ip-address={self.address.split(':')[0]}",
             f"--num-cpus={self.head_cpus}", f"--autoscaling-config={self.config_file}", "--include-dashboard=true",
             "--dashboard-host=127.0.0.1", "--dashboard-port=0", "--disable-usage-stats"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited: {(self.folder / 'head.log').read_text()[-3000:]}")
            if "Node status" in self.status(env):
                return
            time.sleep(1)
        self.shutdown()
        raise RuntimeError(f"the rehearsal head did not come up in {timeout} s")

    def status(self, env: dict) -> str:
        ray_cli = str(Path(sys.executable).with_name("ray"))
        return subprocess.run([ray_cli, "status", f"--address={self.address}"], env={**env, "RAY_AUTH_MODE": "token"},
                              capture_output=True, text=True).stdout

    def shutdown(self) -> None:
        """SIGKILL to `ray start --block` and every process under it, the autoscaler's nodes and
        their workers included (a graceful stop drains for 30 s; nothing here needs saving)."""
        if self.proc is None:
            return
        try:
            tree = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for process in tree:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None
        forget_address(self.address)
        self.log.close()
