"""A sweep on a shared machine: other Rays beside it, secrets in the environment, open ports.

Real local Ray throughout. The slow tests launch `xlsearch run` the way users do.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from test_sweep import XLSEARCH, REPO, run_cli, sweep_spec  # noqa: F401  (ray_env is a fixture)
from test_sweep import ray_env  # noqa: F401
from test_secrets import leaks_in

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def _start_a_ray(tmp_path: Path, num_cpus: int, env: dict | None = None):
    """A Ray started by a Python process, as a notebook starts one; yields its address, then stops
    it (its processes share the starter's process group; `ray stop` would stop every Ray here)."""
    script = tmp_path / "a_ray.py"
    script.write_text(textwrap.dedent(f"""
        import time, ray
        ray.init(address="local", num_cpus={num_cpus}, log_to_driver=False)
        print(ray.get_runtime_context().gcs_address, flush=True)
        time.sleep(1800)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    address = proc.stdout.readline().strip()
    assert address, "the other Ray did not start"
    try:
        yield address
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def another_ray(tmp_path):
    """A second Ray on this machine, as a colleague's notebook would start one."""
    yield from _start_a_ray(tmp_path, num_cpus=1)


# In a process of its own, as `xlsearch run` is (Ray caches the node's address in-process, and a
# test before this one in the same process may have started a cluster on the network).
LOCAL_RAY_PROBE = textwrap.dedent("""
    import json, time, ray, psutil
    from xlsearch.sweep.tuner import init_ray
    init_ray(None, num_cpus=1)
    time.sleep(3)  # the dashboard's agent opens its metrics port after start-up
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            found += [(proc.name(), c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="tcp")
                      if c.status == psutil.CONN_LISTEN]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    gcs = ray.get_runtime_context().gcs_address
    ray.shutdown()
    print("GCS", gcs)
    print("LISTENING", json.dumps(found))
""")


def test_train_finds_its_own_cluster_beside_another_ray(another_ray):
    """Train V2's placement-group cleaner asks the State API whether a trial's controller is
    alive; with two Rays on the host it scanned for 'the' cluster, failed, and left the trial's
    CPUs reserved for ever (two sweeps deadlocked each other)."""
    import ray

    from xlsearch.sweep.tuner import init_ray

    @ray.remote(num_cpus=0)
    def ask_state_api() -> str:
        from ray.util.state import list_nodes

        return list_nodes()[0].node_ip

    init_ray(None, num_cpus=1)
    try:
        assert ray.get(ask_state_api.remote(), timeout=120) in LOOPBACK
    finally:
        ray.shutdown()


def _small_sweep(storage: Path, name: str) -> dict:
    raw = sweep_spec(storage)
    raw["name"] = name
    raw["search"]["intermediate_tuning"] = ["none"]
    raw["search"]["num_samples"] = 2
    raw["budget"] = {"max_trials": 2}
    raw["training"].update({"steps_per_round": 6, "rounds": 2})
    raw["scheduler"] = {"type": "asha", "grace_period": 1, "reduction_factor": 2}
    return raw


def _child_trial_ids(sweep_dir: Path, name: str) -> list[str]:
    from xlsearch.tracking import SweepTracker, default_tracking_uri

    tracker = SweepTracker(default_tracking_uri(sweep_dir), name, sweep_dir)
    tracker.start_sweep(name, {})
    return [r.data.tags["xlsearch.trial_id"] for r in tracker.child_runs()]


def _plant_secrets() -> dict[str, str]:
    planted = {name: "s3cr3t" + secrets.token_hex(12) for name in
               ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "HF_TOKEN", "WANDB_API_KEY",
                "MLFLOW_TRACKING_PASSWORD", "GITHUB_TOKEN")}
    planted["AWS_ACCESS_KEY_ID"] = "AKIA" + secrets.token_hex(8).upper()
    return planted


def _files_holding(planted: dict[str, str], folders: list[Path]) -> list[str]:
    assert any("runtime_env" in p.name for folder in folders for p in folder.rglob("*"))  # Ray's logs searched too
    return leaks_in(planted, folders, {})


@pytest.mark.slow
def test_two_sweeps_started_together_both_finish_and_no_secret_reaches_a_file(tmp_path, ray_env):
    """Two `xlsearch run`, each with its own local Ray, started 3 s apart, with secrets in their
    environment: both finish with every trial once, and no secret's value is in any file under
    the sweep folders or the Rays' session folders."""
    planted = _plant_secrets()
    ray_tmp = Path(tempfile.mkdtemp(prefix="xls-ray-", dir="/tmp"))  # short: Ray's socket paths
    env = {**ray_env, **planted, "RAY_TMPDIR": str(ray_tmp)}
    procs = []
    try:
        for name in ["sweep-a", "sweep-b"]:
            spec_file = tmp_path / f"{name}.yaml"
            spec_file.write_text(yaml.safe_dump(_small_sweep(tmp_path / name, name)))
            log = open(tmp_path / f"{name}.log", "w")
            procs.append(subprocess.Popen([*XLSEARCH, "run", str(spec_file), "--num-cpus", "1"], env=env,
                                          stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True))
            time.sleep(3)
        try:
            codes = [p.wait(timeout=480) for p in procs]  # alone: ~150 s on 2 CPUs
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
        for name, code in zip(["sweep-a", "sweep-b"], codes):
            log = (tmp_path / f"{name}.log").read_text()
            assert code == 0, f"{name} exited {code}:\n{log[-3000:]}"
            summary = json.loads((tmp_path / name / name / "summary.json").read_text())
            assert summary["trials"] == 2 and summary["errors"] == 0, log[-3000:]
            trial_ids = _child_trial_ids(tmp_path / name / name, name)
            assert len(trial_ids) == len(set(trial_ids)) == 2
            assert not any(value in log for value in planted.values())
        leaks = _files_holding(planted, [tmp_path, ray_tmp])
        assert not leaks, "\n".join(leaks[:20])
    finally:
        subprocess.run(["rm", "-rf", str(ray_tmp)])


def test_a_local_sweeps_ray_is_its_own_beside_a_ray_start_cluster_and_listens_on_loopback_only(ray_env):
    """`ray start --head` on the machine (a colleague's cluster, a notebook server) leaves its
    address in /tmp/ray/ray_current_cluster, which a plain ``ray.init()`` joins: a sweep without
    --address would land on that cluster (or fail, its --num-cpus refused there). The sweep's own
    Ray is for this machine only: every port it opens is on the loopback address."""
    from ray_clusters import AutoscalingRehearsal

    theirs = AutoscalingRehearsal({}, head_cpus=1)
    theirs.start(ray_env)
    try:
        out = subprocess.run([sys.executable, "-c", LOCAL_RAY_PROBE], env=ray_env, capture_output=True, text=True,
                             timeout=180)
    finally:
        theirs.shutdown()
    assert out.returncode == 0, out.stderr[-3000:]
    ours = out.stdout.split("GCS ")[1].split()[0]
    assert ours != theirs.address and ours.startswith("127.0.0.1:"), (ours, theirs.address)
    listening = json.loads(out.stdout.split("LISTENING ", 1)[1])
    assert listening, "no Ray process found listening"
    exposed = [s for s in listening if s[1] not in LOOPBACK]
    assert not exposed, f"listening on other interfaces than loopback: {exposed}"