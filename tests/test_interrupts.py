"""A sweep under interruption and failure, on a real local Ray, launched as users launch it.

Ctrl-C (SIGINT to the process group, as a terminal sends it) and SIGTERM stop a sweep cleanly
and the same command resumes it; a sweep whose trials all fail says so; a trial ASHA stopped
stays stopped when the driver is killed right after the decision.
"""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from test_sweep import REPO, XLSEARCH, ray_env, run_cli, sweep_spec  # noqa: F401 (ray_env: a fixture)

NAME = "it-sweep"
ALL_OUTCOMES = ("finished", "stopped_early", "stopped_wrong_language", "diverged", "failed", "interrupted",
                "stopped_by_budget")


class Driver:
    """`xlsearch run` in a session of its own; its output is read line by line as it comes, so a
    signal can follow a line within milliseconds."""

    def __init__(self, spec_file: Path, env: dict, log: Path):
        self.proc = subprocess.Popen([*XLSEARCH, "run", str(spec_file), "--num-cpus", "2"], env=env, cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        self._log = open(log, "w")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            self._log.write(line)
            self._log.flush()
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 400) -> re.Match:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                break
            if line is None:
                break
            found = re.search(pattern, line)
            if found:
                return found
        self.kill()
        pytest.fail(f"no line matching {pattern!r}; output:\n{self.output[-4000:]}")

    def wait(self, timeout: float = 120) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the driver did not exit within {timeout} s; output:\n{self.output[-4000:]}")
        self._reader.join(timeout=10)
        self._log.close()
        return code

    def kill(self) -> None:
        """SIGKILL to the driver's session: the driver and the local Ray it started, nothing else."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        kill_session_leftovers(self.proc.pid)


def kill_session_leftovers(sid: int) -> None:
    """Ray's processes die with their parent; any of this session that did not, die now."""
    for _ in range(20):
        ps = subprocess.run(["ps", "-eo", "pid=,sid="], capture_output=True, text=True).stdout.split()
        left = [int(pid) for pid, s in zip(ps[::2], ps[1::2]) if int(s) == sid]
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)


def write_spec(tmp_path: Path, **changes) -> tuple[Path, dict]:
    raw = sweep_spec(tmp_path / "results", **changes)
    raw["search"]["intermediate_tuning"] = ["none"]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    return tmp_path / "spec.yaml", raw


def mlflow_runs(sweep_dir: Path):
    """(parent, {trial_id: child}) read straight from the sweep's store, changing nothing."""
    from mlflow.tracking import MlflowClient

    from xlsearch.tracking import default_tracking_uri

    client = MlflowClient(default_tracking_uri(sweep_dir))
    exp = client.get_experiment_by_name(NAME)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("xlsearch.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("xlsearch.role") == "trial"]
    ids = [r.data.tags["xlsearch.trial_id"] for r in children]
    assert len(parents) == 1 and len(ids) == len(set(ids)), (len(parents), ids)
    return parents[0], {r.data.tags["xlsearch.trial_id"]: r for r in children}


def assert_stopped_cleanly(driver: Driver, code: int, expected_code: int, sweep_dir: Path) -> None:
    out = driver.output
    assert code == expected_code, out[-4000:]
    assert "best by" not in out and " done in " not in out, out[-4000:]
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["best"] is None
    assert summary["counts"]["interrupted"] >= 1 and summary["counts"]["failed"] == 0, summary["counts"]
    parent, children = mlflow_runs(sweep_dir)
    assert parent.info.status == "KILLED" and parent.data.tags["xlsearch.status"] == "interrupted"
    assert not [k for k in parent.data.tags if k.startswith("best.")]
    statuses = {tid: r.info.status for tid, r in children.items()}
    assert "RUNNING" not in statuses.values() and "KILLED" in statuses.values(), statuses
    for tid, run in children.items():  # a trial cut short is KILLED; one that had ended keeps its status
        ended = run.data.tags.get("xlsearch.outcome")
        assert (run.info.status == "KILLED") == (ended == "interrupted"), (tid, run.info.status, ended)


# ---------------------------------------------------------------------------------------------
# Pure: how a trial ended


def test_trial_outcome_tells_failed_diverged_stopped_and_interrupted_apart():
    from xlsearch.sweep.outcomes import OUTCOMES, trial_outcome

    def outcome(rounds_done, *, error=None, diverged=False, stopped=False, interrupted=False):
        record = {"trial_id": "t", "error": error,
                  "metrics": {"round": rounds_done, "diverged": diverged} if rounds_done else {}}
        return trial_outcome(record, rounds=3, stopped_by_scheduler={"t"} if stopped else set(),
                             interrupted=interrupted)

    assert outcome(3, stopped=True) == outcome(3) == "finished"
    assert outcome(2, stopped=True) == "stopped_early"
    assert outcome(2, error="boom") == outcome(0, error="boom") == "failed"  # never "stopped early"
    assert outcome(1, diverged=True, stopped=True) == "diverged"
    assert outcome(1, interrupted=True) == outcome(0, interrupted=True) == "interrupted"
    assert outcome(1) == "stopped_by_budget"
    assert OUTCOMES == ALL_OUTCOMES


def test_a_trial_cut_off_before_its_first_report_is_recorded_as_interrupted(tmp_path):
    """A signal right after Tune started a trial: its Result has no config and no metrics (seen in
    CI: the sweep's end then crashed on ``None.get`` and exited 1 instead of 130)."""
    from ray.tune import Result

    from xlsearch.sweep.outcomes import trial_outcome
    from xlsearch.sweep.run import trial_records

    started = Result(metrics=None, checkpoint=None, error=None, path=str(tmp_path))
    assert started.config is None
    (record,) = trial_records([started])
    assert record["config"] == {} and record["metrics"] == {} and record["error"] is None
    assert trial_outcome(record, rounds=3, stopped_by_scheduler=set(), interrupted=True) == "interrupted"


# ---------------------------------------------------------------------------------------------
# Real Ray


@pytest.mark.slow
def test_ctrl_c_and_sigterm_stop_the_sweep_cleanly_and_the_same_command_resumes_it(tmp_path, ray_env):
    spec_file, raw = write_spec(tmp_path, scheduler="none", budget={"max_trials": 3})
    raw["training"]["rounds"] = 2
    spec_file.write_text(yaml.safe_dump(raw))
    sweep_dir = tmp_path / "results" / NAME
    first = Driver(spec_file, ray_env, tmp_path / "first.log")
    finished = first.wait_for(r"\[trial (\w+)\] finished").group(1)  # one ended
    # ... and the third started in its place and reported a round, so that a trial is running
    # (not starting) when the signal comes: the second may end at the same moment as the first
    # (it did with TPE's seed-0 choices), and a trial stopped while its workers start takes
    # longer to stop (52 s once, under load).
    third = re.search(r"\[trial (\w+)\] start \(3/3\)", first.output)
    third = (third or first.wait_for(r"\[trial (\w+)\] start \(3/3\)")).group(1)
    if not re.search(rf"\[trial {third}\] round 1/2", first.output):
        first.wait_for(rf"\[trial {third}\] round 1/2")
    signalled = time.time()
    os.killpg(first.proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    code = first.wait()
    seconds = time.time() - signalled
    print(f"SIGINT to exit: {seconds:.1f} s")
    kill_session_leftovers(first.proc.pid)
    assert_stopped_cleanly(first, code, 130, sweep_dir)  # through Tune's clean stop, however long the machine took
    _, children = mlflow_runs(sweep_dir)
    assert children[finished].info.status == "FINISHED"
    interrupted = {tid for tid, r in children.items() if r.info.status == "KILLED"}

    # The same command resumes it; SIGTERM to the xlsearch process only (as `kill PID` does) stops
    # the resumed sweep as Ctrl-C did, once a trial runs again; the same command again ends it.
    second = Driver(spec_file, ray_env, tmp_path / "second.log")
    second.wait_for("resuming the sweep")
    resumed = second.wait_for(r"\[trial \w+\] start \((\d+)/3\)")
    assert int(resumed.group(1)) >= 2, resumed.group(0)  # the trial that finished counts as started
    second.proc.send_signal(signal.SIGTERM)
    code = second.wait()
    kill_session_leftovers(second.proc.pid)
    assert_stopped_cleanly(second, code, 143, sweep_dir)

    third = run_cli(["run", str(spec_file), "--num-cpus", "2"], ray_env)
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert "resuming the sweep" in third.stdout
    restarted = set(re.findall(r"\[trial (\w+)\] start", second.output + third.stdout))
    assert finished not in restarted and interrupted <= restarted, (finished, interrupted, restarted)
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["best"] is not None
    assert summary["trials"] == 3 and summary["counts"]["finished"] == 3
    parent, children = mlflow_runs(sweep_dir)
    assert parent.info.status == "FINISHED" and parent.data.tags["xlsearch.status"] == "finished"
    assert "best.config.lr" in parent.data.tags
    assert len(children) == 3 and {r.info.status for r in children.values()} == {"FINISHED"}


@pytest.mark.slow
def test_a_sweep_whose_trials_all_fail_ends_failed(tmp_path, ray_env):
    spec_file, _ = write_spec(tmp_path, scheduler="none", budget={"max_trials": 2})
    sweep_dir = tmp_path / "results" / NAME
    sweep_dir.mkdir(parents=True)
    (sweep_dir / "train_runs").write_text("a file where Ray Train keeps its runs: every trial fails\n")
    out = run_cli(["run", str(spec_file), "--num-cpus", "2"], ray_env)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("xlsearch: ")]
    assert len(lines) == 1 and "all 2 trials failed" in lines[0], out.stderr[-3000:]
    log = Path(re.search(r"see (\S+)", lines[0]).group(1))
    assert log.is_file() and log.stat().st_size > 0
    assert "0 stopped early by ASHA, 2 failed" in out.stdout
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["best"] is None
    assert summary["counts"] == {**dict.fromkeys(ALL_OUTCOMES, 0), "failed": 2}
    parent, children = mlflow_runs(sweep_dir)
    assert parent.info.status == "FAILED" and parent.data.tags["xlsearch.status"] == "failed"
    assert {r.info.status for r in children.values()} == {"FAILED"}


@pytest.mark.slow
def test_a_trial_asha_stopped_stays_stopped_when_the_driver_dies_right_after(tmp_path, ray_env):
    # ASHA's rung at round 2 of 3 (sweep_spec's): the first trial it stops early is the one. A
    # grid of three trials, two at a time: two LRs that learn, then one too small to (0 at the
    # rung, measured), which meets the rung after both others and is below their median; or the
    # second is stopped first, if it falls below the first.
    spec_file, raw = write_spec(tmp_path)
    raw["search"].update(algorithm="grid", lr=[1.3e-3, 1.4e-3, 1.7e-4], methods={"full": {}})
    raw["budget"] = {"max_trials": 3}
    spec_file.write_text(yaml.safe_dump(raw))
    sweep_dir = tmp_path / "results" / NAME
    first = Driver(spec_file, ray_env, tmp_path / "first.log")
    stopped = first.wait_for(r"\[trial (\w+)\] stopped after round (\d)").groups()
    first.kill()  # the driver dies within milliseconds of ASHA's decision, with its local Ray
    trial_id, rounds_done = stopped[0], int(stopped[1])

    second = run_cli(["run", str(spec_file), "--num-cpus", "2"], ray_env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming the sweep" in second.stdout
    assert f"[trial {trial_id}] start" not in second.stdout, second.stdout[-3000:]
    # A killed driver's finished trials are not run again either.
    finished = set(re.findall(r"\[trial (\w+)\] finished", first.output))
    restarted = set(re.findall(r"\[trial (\w+)\] start", second.stdout))
    assert not (finished & restarted), f"finished trials ran again: {finished & restarted}"
    _, children = mlflow_runs(sweep_dir)
    assert len(children) == 3
    run = children[trial_id]
    assert run.info.status == "FINISHED"
    assert run.data.tags["xlsearch.stopped_early"] == "True"
    assert run.data.tags["xlsearch.rounds_done"] == str(rounds_done)
    assert run.data.metrics["round"] == rounds_done
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["counts"]["stopped_early"] >= 1
    assert next(r for r in summary["results"] if r["metrics"]["trial_id"] == trial_id)["metrics"]["round"] == rounds_done
