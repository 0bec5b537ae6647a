"""The cluster path, rehearsed on one machine: multi-node Ray with a head that offers no CPUs
(as cluster.yaml's), an autoscaler that adds nodes on demand, and worker nodes that are lost.

Every slow test starts its own cluster (Ray's ``ray.cluster_utils.Cluster``, or ``ray start``
with the fake multi-node provider behind the autoscaler) and launches `xlsearch run --address`
the way a user does on a real cluster's head.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from ray_clusters import AutoscalingRehearsal, rehearsal_cluster, train_workers
from test_sweep import REPO, XLSEARCH, ray_env, run_cli, sweep_spec  # noqa: F401  (ray_env: a fixture)
from xlsearch.checks import parse_spec
from xlsearch.sweep.tuner import ResourcesError, placement


@pytest.fixture(scope="module")
def cluster_env(ray_env):
    """Token authentication on, as on a real cluster (cluster.yaml): for the clusters this process
    starts, for the State API it queries, and for the `xlsearch run` it launches."""
    from ray._raylet import Config

    keys = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")
    before = {key: os.environ.get(key) for key in keys}
    os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": ray_env["RAY_AUTH_TOKEN_PATH"]})
    Config.initialize("")
    yield {**ray_env, "RAY_AUTH_MODE": "token"}
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    Config.initialize("")


def cluster_spec(storage: Path, name: str, lrs: list[float], *, rounds: int = 2, steps: int = 10,
                 it: bool = False, asha: bool = False) -> dict:
    """A grid of full finetuning at ``lrs`` (in that order), one 1-CPU worker per trial."""
    raw = sweep_spec(storage, name=name)
    raw["search"] = {"algorithm": "grid", "lr": lrs, "methods": {"full": {}},
                     "intermediate_tuning": [raw["search"]["intermediate_tuning"][1]] if it else ["none"]}
    raw["training"].update({"steps_per_round": steps, "rounds": rounds})
    raw["scheduler"] = {"type": "asha", "grace_period": 1, "reduction_factor": 2} if asha else {"type": "none"}
    raw["budget"] = {"max_trials": len(lrs)}
    raw["resources"] = {"workers": 1, "gpus_per_worker": 0, "cpus_per_worker": 1}
    return raw


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


class Driver:
    """`xlsearch run ... --address` with its output read line by line, each line timed."""

    def __init__(self, args: list[str], env: dict):
        self.proc = subprocess.Popen([*XLSEARCH, *args], env=env, cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.time(), line))

    @property
    def output(self) -> str:
        return "".join(line for _, line in self.lines)

    def wait_for(self, pattern: str, timeout: float = 300) -> tuple[float, re.Match]:
        deadline, seen = time.time() + timeout, 0
        while time.time() < deadline:
            for at, line in self.lines[seen:]:
                seen += 1
                found = re.search(pattern, line)
                if found:
                    return at, found
            if self.proc.poll() is not None and seen == len(self.lines):
                break
            time.sleep(0.1)
        self.proc.kill()
        pytest.fail(f"no line matching {pattern!r}; output:\n{self.output[-4000:]}")

    def first(self, pattern: str) -> dict[str, float]:
        """{trial id: when its first line matching ``pattern`` (with ``{id}`` for the id) came}."""
        seen: dict[str, float] = {}
        for at, line in self.lines:
            found = re.search(pattern.replace("{id}", r"\[trial (\w+)\]"), line)
            if found and found.group(1) not in seen:
                seen[found.group(1)] = at
        return seen

    def wait(self, timeout: float = 300) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"the sweep did not end within {timeout} s; output:\n{self.output[-4000:]}")
        self._reader.join(timeout=10)
        return code


def rounds_in_mlflow(sweep_dir: Path, name: str) -> dict[str, tuple[str, list[int]]]:
    """{trial_id: (run status, the rounds its source-dev metric was logged at)}."""
    from mlflow.tracking import MlflowClient

    from xlsearch.tracking import default_tracking_uri

    client = MlflowClient(default_tracking_uri(sweep_dir))
    exp = client.get_experiment_by_name(name)
    out = {}
    for run in client.search_runs([exp.experiment_id], max_results=1000):
        if run.data.tags.get("xlsearch.role") != "trial":
            continue
        history = client.get_metric_history(run.info.run_id, "source_dev/rougeL")
        out[run.data.tags["xlsearch.trial_id"]] = (run.info.status, sorted(m.step for m in history))
    return out


# ---------------------------------------------------------------------------------------------
# Pure: how many trials a cluster that can grow runs at once


def test_placement_counts_the_nodes_the_autoscaler_can_add(tmp_path):
    spec = parse_spec(cluster_spec(tmp_path, "s", [1e-3, 2e-3, 3e-3]), base_dir=REPO / "search_spaces")
    ceiling = {"CPU": 4.0}  # up to four 1-CPU worker nodes
    assert placement(spec, {"CPU": 1.0}, ceiling).concurrency == 3  # capped by the three trials
    assert placement(spec, {"CPU": 1.0}).concurrency == 1  # without an autoscaler: what is up now
    with pytest.raises(ResourcesError, match=r"resources.cpus_per_worker = 1: a trial needs 1 CPUs and the cluster has 0"):
        placement(spec, {"CPU": 0.0}, ceiling)  # nothing up yet: the caller waits for nodes
    gpu = parse_spec({**cluster_spec(tmp_path, "s", [1e-3]), "resources": {"gpus_per_worker": "auto"}},
                     base_dir=REPO / "search_spaces")
    # `auto` means a GPU when the cluster can grow GPU nodes, even before the first is up.
    with pytest.raises(ResourcesError, match="gpus_per_worker = auto: a trial needs 1 GPUs and the cluster has 0"):
        placement(gpu, {"CPU": 0.0}, {"CPU": 32.0, "GPU": 4.0})
    assert placement(gpu, {"CPU": 8.0, "GPU": 1.0}, {"CPU": 32.0, "GPU": 4.0}).concurrency == 1


# ---------------------------------------------------------------------------------------------
# Real multi-node Ray


@pytest.mark.slow
def test_a_sweep_on_a_three_node_cluster_matches_the_same_sweep_on_one_node(tmp_path, cluster_env):
    """Head with 0 CPUs + two 1-CPU worker nodes: every trial's worker runs on a worker node,
    intermediate tuning is trained once and read by both trials (one per node), and the table
    is the one-node sweep's, score for score."""
    lrs = [1e-3, 4e-3]
    on_cluster = write(tmp_path, cluster_spec(tmp_path / "results", "on-cluster", lrs, it=True))
    on_one_node = write(tmp_path, cluster_spec(tmp_path / "results", "on-one-node", lrs, it=True))
    with rehearsal_cluster(1, 1) as cluster:
        out = run_cli(["run", str(on_cluster), "--address", cluster.address], cluster_env)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert "up to 2 trials at a time" in out.stdout
        assert out.stdout.count("intermediate tuning 'sc8': trained") == 1, out.stdout
        workers = train_workers(cluster.address)
        head = cluster.head_node.node_id
        nodes = {w.node_id for w in workers}
        assert len(workers) == 2 and head not in nodes and len(nodes) == 2, (head, workers)
    local = run_cli(["run", str(on_one_node), "--num-cpus", "2"], cluster_env)
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]

    def table(name):
        summary = json.loads((tmp_path / "results" / name / "summary.json").read_text())
        assert summary["status"] == "finished" and summary["trials"] == 2
        return {r["config"]["lr"]: {k: v for k, v in r["metrics"].items() if "/" in k and "time" not in k
                                    and not k.startswith("train/")} for r in summary["results"]}

    assert table("on-cluster") == table("on-one-node")
    assert set(table("on-cluster")) == set(lrs)


@pytest.mark.slow
def test_a_cluster_that_never_gets_a_node_for_a_trial_ends_in_one_line_after_the_wait(tmp_path, cluster_env):
    spec = write(tmp_path, cluster_spec(tmp_path / "results", "no-nodes", [1e-3]))
    with rehearsal_cluster() as cluster:  # the head alone, with no CPU for a worker
        started = time.time()
        out = run_cli(["run", str(spec), "--address", cluster.address, "--wait-for-nodes", "4"], cluster_env)
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr[-3000:]
    assert "waiting up to 4 s" in out.stdout, out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("xlsearch:")]
    assert len(errors) == 1 and "resources.cpus_per_worker = 1: a trial needs 1 CPUs and the cluster has 0" in errors[0]
    assert "--wait-for-nodes" in errors[0], errors
    assert time.time() - started < 60
    assert not (tmp_path / "results").exists()  # nothing half-written


@pytest.mark.slow
def test_an_empty_autoscaling_cluster_gets_nodes_for_the_sweep_and_runs_trials_side_by_side(tmp_path, cluster_env):
    """Worker nodes at min_workers 0: the sweep asks the autoscaler, waits with a line, and runs
    as many trials at once as the autoscaler can grow nodes for."""
    spec = write(tmp_path, cluster_spec(tmp_path / "results", "autoscaled", [1e-3, 4e-3]))
    cluster = AutoscalingRehearsal({"cpu1": {"resources": {"CPU": 1}, "min_workers": 0, "max_workers": 2}})
    cluster.start(cluster_env)
    # The driver runs on the head, where `ray up` leaves the autoscaler's config in the home folder.
    home = tmp_path / "head-home"
    home.mkdir()
    (home / "ray_bootstrap_config.yaml").write_text(cluster.config_file.read_text())
    try:
        assert "cpu1" not in cluster.status(cluster_env).split("Pending:")[0].split("Active:")[1]
        driver = Driver(["run", str(spec), "--address", cluster.address], {**cluster_env, "HOME": str(home)})
        driver.wait_for(r"asked the autoscaler for 1 x \{'CPU': 1")
        driver.wait_for(r"the cluster holds a trial now", timeout=120)
        driver.wait_for(r"up to 2 trials at a time")
        code = driver.wait(timeout=400)
        assert code == 0, driver.output[-4000:]
        workers = train_workers(cluster.address)
        assert len({w.node_id for w in workers}) == 2, workers  # the second trial got a node of its own
        finished, first_round = driver.first("{id} finished"), driver.first("{id} round 1/2")
        assert len(finished) == 2 and max(first_round.values()) < min(finished.values()), driver.output  # side by side
    finally:
        cluster.shutdown()


@pytest.mark.slow
def test_a_worker_node_lost_mid_trial_moves_the_trial_to_another_node(tmp_path, cluster_env):
    """The node that runs a trial's worker is removed in round 2: the trial restarts its worker
    on the other node from round 1's checkpoint and finishes; MLflow has each round once."""
    spec = write(tmp_path, cluster_spec(tmp_path / "results", "lost-node", [2e-3], rounds=3, steps=40))
    with rehearsal_cluster(1, 1) as cluster:
        driver = Driver(["run", str(spec), "--address", cluster.address], cluster_env)
        driver.wait_for(r"\[trial \w+\] round 1/3")
        (worker,) = train_workers(cluster.address, "ALIVE")
        lost = next(n for n in cluster.worker_nodes if n.node_id == worker.node_id)
        removed = time.time()
        cluster.remove_node(lost)
        at, _ = driver.wait_for(r"\[trial \w+\] round 2/3", timeout=240)
        print(f"node removed -> round 2 reported: {at - removed:.1f} s")
        driver.wait_for(r"\[trial \w+\] finished")
        assert driver.wait() == 0, driver.output[-4000:]
        moved = [w for w in train_workers(cluster.address) if w.node_id != lost.node_id]
        assert moved, "no worker started on the other node"
    runs = rounds_in_mlflow(tmp_path / "results" / "lost-node", "lost-node")
    assert list(runs.values()) == [("FINISHED", [1, 2, 3])], runs


@pytest.mark.slow
def test_the_trial_asha_stops_gives_its_node_to_the_next_trial_within_seconds(tmp_path, cluster_env):
    """One 1-CPU worker node: trials run one at a time. ASHA stops the second trial (a far lower
    LR, scored below the first at round 1); the third trial's worker starts seconds later."""
    spec = write(tmp_path, cluster_spec(tmp_path / "results", "asha-gives-back", [3e-3, 1e-5, 2e-3], rounds=2,
                                        steps=15, asha=True))
    with rehearsal_cluster(1) as cluster:
        driver = Driver(["run", str(spec), "--address", cluster.address], cluster_env)
        stopped_at, stopped = driver.wait_for(r"\[trial (\w+)\] stopped after round 1")
        code = driver.wait()
        assert code == 0, driver.output[-4000:]
        assert len(train_workers(cluster.address)) == 3
    started, first_round = driver.first("{id} start"), driver.first("{id} round 1/2")
    order = sorted(started, key=started.get)
    assert len(order) == 3 and stopped.group(1) == order[1], driver.output
    # The third trial waits for nothing the stopped one held: its first round takes what the
    # first trial's took (a kept placement group would hold it for Train's 60 s retry, or for ever).
    first_trial, third_trial = (first_round[t] - started[t] for t in (order[0], order[2]))
    print(f"start -> round 1: first trial {first_trial:.1f} s, the one after the ASHA stop {third_trial:.1f} s; "
          f"ASHA stop -> its round 1: {first_round[order[2]] - stopped_at:.1f} s")
    assert third_trial < first_trial + 10, driver.output[-3000:]
