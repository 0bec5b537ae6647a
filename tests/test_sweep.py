"""Sweeps on a real local Ray (2 CPUs), launched the way users launch them: `xlsearch run`.

The slow tests share one finished sweep; MLflow is read back through a real `mlflow server`.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
import yaml

from xlsearch.checks import parse_spec
from xlsearch.space import planned_trials
from xlsearch.sweep.budget import DeviceHourStopper, asha_rounds_per_trial, asha_share_finishing, estimate
from xlsearch.space import OptunaSpace, decode_config, grid_configs
from xlsearch.sweep.tuner import ResourcesError, placement
from xlsearch.training.params import TrialParams

REPO = Path(__file__).resolve().parents[1]
XLSEARCH = [sys.executable, "-m", "xlsearch"]


def sweep_spec(storage: Path, **changes) -> dict:
    raw = yaml.safe_load((REPO / "search_spaces" / "demo.yaml").read_text())
    raw.update({"name": "it-sweep", "storage": str(storage)})
    raw["subsample"] = {"train": 400, "dev": 16, "unlabeled": 64}
    raw["selection"] = {"few_shot_examples": 0}
    # Two methods that both learn on a random tiny model (adapters there tie at a score of 0, and
    # ties give ASHA nothing to cut); mix_target has a parameter of its own for Optuna to sample.
    raw["search"]["methods"] = {"full": {}, "mix_target": {"mix_ratio": [0.5, 1.0]}}
    raw["search"]["intermediate_tuning"] = ["none", {"objective": "span_corruption", "steps": 8, "batch_size": 4,
                                                     "max_length": 96, "examples_per_language": 32, "name": "sc8"}]
    raw["training"].update({"steps_per_round": 15, "rounds": 3, "eval_batch_size": 16})
    # One rung, at round 2, when LRs from 1e-4 to 1e-2 have spread the scores apart.
    raw["scheduler"] = {"type": "asha", "grace_period": 2, "reduction_factor": 2}
    raw["budget"] = {"max_trials": 6}
    for key, value in changes.items():
        raw[key] = value
    return raw


@pytest.fixture(scope="module")
def ray_env(tmp_path_factory):
    """Environment for CLI runs: a private Ray auth token, no hub."""
    folder = tmp_path_factory.mktemp("ray")
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(token), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONUNBUFFERED": "1"}
    return env


def run_cli(args, env, timeout=600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*XLSEARCH, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, **kw)


# ---------------------------------------------------------------------------------------------
# Pure parts: no Ray


def test_optuna_space_samples_method_parameters_only_for_their_method(tmp_path):
    spec = parse_spec(sweep_spec(tmp_path), base_dir=REPO / "search_spaces")
    define = OptunaSpace(spec)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        trial = study.ask()
        constants = define(trial)
        config = {**trial.params, **constants}
        params = TrialParams.from_flat(decode_config(config))
        seen.add(params.method)
        assert ("mix_target.mix_ratio" in config) == (params.method == "mix_target")
        assert 1e-4 <= params.lr <= 1e-2
        study.tell(trial, 0.0)
    assert seen == {"full", "mix_target"}


def test_grid_has_every_combination(tmp_path):
    raw = sweep_spec(tmp_path)
    raw["search"].update({"algorithm": "grid", "lr": [1e-4, 1e-3, 1e-2]})
    raw["budget"] = {"max_trials": 100}
    spec = parse_spec(raw, base_dir=REPO / "search_spaces")
    configs = grid_configs(spec)
    assert len(configs) == planned_trials(spec) == 3 * (1 + 2) * 2
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == len(configs)
    assert all(("mix_target.mix_ratio" in c) == (c["method"] == "mix_target") for c in configs)


def test_asha_expected_rounds():
    assert asha_rounds_per_trial(3, 1, 2) == pytest.approx(1 + 0.5 * 1 + 0.25 * 1)
    assert asha_rounds_per_trial(3, 2, 2) == pytest.approx(2 + 0.5 * 1)
    assert asha_rounds_per_trial(9, 1, 3) == pytest.approx(1 + 2 / 3 + 6 / 9)
    assert asha_rounds_per_trial(4, 4, 2) == 4  # no rung before the end: every trial runs fully
    assert asha_share_finishing(3, 1, 2) == 0.25 and asha_share_finishing(9, 1, 3) == pytest.approx(1 / 9)
    assert asha_share_finishing(4, 4, 2) == 1


def test_device_hour_stopper_counts_device_seconds():
    stopper = DeviceHourStopper(cap_hours=1.0, devices_per_trial=2)
    stopper("a", {"time_total_s": 900})
    stopper("b", {"time_total_s": 600})
    assert stopper.used_hours == pytest.approx((900 + 600) * 2 / 3600) and not stopper.stop_all()
    stopper("a", {"time_total_s": 1200})  # a trial's later round replaces its earlier count
    assert stopper.used_hours == pytest.approx(1.0) and stopper.stop_all()


def test_placement_caps_concurrency_by_what_workers_need(tmp_path):
    spec = parse_spec(sweep_spec(tmp_path), base_dir=REPO / "search_spaces")
    assert placement(spec, {"CPU": 2.0}).concurrency == 2
    assert placement(spec, {"CPU": 5.0}).concurrency == 5
    gpu_spec = parse_spec({**sweep_spec(tmp_path), "resources": {"gpus_per_worker": "auto", "workers": 2}},
                          base_dir=REPO / "search_spaces")
    on_gpus = placement(gpu_spec, {"CPU": 32.0, "GPU": 4.0})
    assert (on_gpus.gpus_per_worker, on_gpus.concurrency, on_gpus.devices_per_trial) == (1.0, 2, 2)
    with pytest.raises(ResourcesError, match="resources.cpus_per_worker"):
        placement(spec, {"CPU": 0.5})


def test_estimate_flags_each_exceeded_budget(tmp_path):
    raw = sweep_spec(tmp_path)
    raw["budget"] = {"max_trials": 6, "gpu_hours": 0.01, "wall_clock_hours": 1}
    spec = parse_spec(raw, base_dir=REPO / "search_spaces")
    est = estimate(spec, step_seconds=1.0, eval_seconds=10.0, concurrency=2, devices_per_trial=1, device_kind="worker")
    # ASHA with a rung at round 2 of 3: 2.5 rounds expected per trial.
    # 6 trials x (11 s + 2.5 rounds x (15 steps x 1 s + 10 s)) = 441 s = 0.1225 worker-hours
    assert est.device_hours == pytest.approx(6 * (11 + 2.5 * 25) / 3600)
    # The last round scores every target example (40 s here): half of the trials reach it.
    full_last = estimate(spec, step_seconds=1.0, eval_seconds=10.0, final_eval_seconds=40.0, concurrency=2,
                         devices_per_trial=1, device_kind="worker")
    assert full_last.trial_seconds == pytest.approx(11 + 2.5 * 15 + 2 * 10 + 0.5 * 40)
    # Measured start-up (20 s a trial, 30 CPU-seconds of it): on 2 CPUs the trials' processes
    # share, their CPU seconds set the pace (6 x (30 + 62.5) / 2 = 277.5 s > 3 waves x 82.5 s);
    # the sweep's own start (10 s measured + 6 s) and its intermediate tuning come on top.
    from xlsearch.sweep.budget import SWEEP_OVERHEAD_S, intermediate_tuning_seconds

    measured = estimate(spec, step_seconds=1.0, eval_seconds=10.0, concurrency=2, devices_per_trial=1,
                        device_kind="worker", startup_seconds=20.0, startup_cpu_seconds=30.0, fixed_seconds=10.0)
    assert measured.trial_seconds == pytest.approx(20 + 2.5 * 25)
    it_s = intermediate_tuning_seconds(spec, 1.0)
    assert it_s > 0
    assert measured.wall_clock_hours * 3600 == pytest.approx(10 + SWEEP_OVERHEAD_S + it_s + 6 * (30 + 62.5) / 2)
    on_gpus = estimate(spec, step_seconds=1.0, eval_seconds=10.0, concurrency=2, devices_per_trial=1,
                       device_kind="GPU", startup_seconds=20.0, startup_cpu_seconds=30.0, fixed_seconds=10.0)
    assert on_gpus.wall_clock_hours * 3600 == pytest.approx(10 + SWEEP_OVERHEAD_S + it_s + 3 * (20 + 62.5))
    problems = est.over_budget(spec)
    assert len(problems) == 1 and problems[0].startswith("budget.gpu_hours = 0.01")


def test_estimate_under_asha_also_says_what_the_sweep_costs_if_asha_stops_no_trial(tmp_path):
    """ASHA stops trials by comparing them at its rungs; trials that tie there (a model that has
    learned nothing yet scores 0 everywhere) all run to the end. The estimate says both."""
    raw = sweep_spec(tmp_path)
    raw["budget"] = {"max_trials": 6}
    spec = parse_spec(raw, base_dir=REPO / "search_spaces")
    est = estimate(spec, step_seconds=1.0, eval_seconds=10.0, concurrency=2, devices_per_trial=1,
                   device_kind="worker", startup_seconds=20.0, startup_cpu_seconds=30.0, fixed_seconds=10.0)
    whole = est.without_stops
    assert est.rounds_per_trial == 2.5 and whole.rounds_per_trial == 3
    assert whole.trial_seconds == pytest.approx(20 + 3 * 25)
    assert whole.wall_clock_hours > est.wall_clock_hours and whole.device_hours > est.device_hours
    line = next(line for line in est.lines() if line.startswith("if the scheduler stops no trial:"))
    assert f"({60 * whole.wall_clock_hours:.1f} min)" in line
    raw["scheduler"] = {"type": "none"}
    assert estimate(parse_spec(raw, base_dir=REPO / "search_spaces"), step_seconds=1.0, eval_seconds=10.0,
                    concurrency=2, devices_per_trial=1, device_kind="worker").without_stops is None


# ---------------------------------------------------------------------------------------------
# Real Ray, real MLflow


FINISHED_TRIALS = 4


@pytest.fixture(scope="module")
def sweep_ray_dir():
    """The finished sweep's Ray session folders (RAY_TMPDIR; short: Ray's socket paths)."""
    folder = Path(tempfile.mkdtemp(prefix="xls-ray-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory, ray_env, sweep_ray_dir):
    folder = tmp_path_factory.mktemp("sweep")
    spec_file = folder / "spec.yaml"
    # Four trials, two at a time: with this seed ASHA stops the fourth at its rung (round 2).
    spec_file.write_text(yaml.safe_dump(sweep_spec(folder / "results", budget={"max_trials": FINISHED_TRIALS})))
    # Relative data references in the demo spec resolve from the spec's folder: none here.
    out = run_cli(["run", str(spec_file), "--num-cpus", "2"], {**ray_env, "RAY_TMPDIR": str(sweep_ray_dir)})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    sweep_dir = folder / "results" / "it-sweep"
    return out, sweep_dir, json.loads((sweep_dir / "summary.json").read_text())


def asha_replayed(records: list[dict], spec) -> dict[str, str]:
    """The decision a fresh ASHA makes on each result, fed the sweep's results in the order they
    came (the decisions file's order): trial id and round -> CONTINUE or STOP."""
    from types import SimpleNamespace

    from ray.tune.schedulers import ASHAScheduler

    asha = ASHAScheduler(time_attr="round", metric=OBJECTIVE, mode="max", max_t=spec.training.rounds,
                         grace_period=spec.scheduler.grace_period, reduction_factor=spec.scheduler.reduction_factor)
    trials, decisions = {}, {}
    for record in records:
        if record.get("event") != "result":
            continue
        trial_id = record["trial_id"]
        if trial_id not in trials:
            trials[trial_id] = SimpleNamespace(trial_id=trial_id)
            asha.on_trial_add(None, trials[trial_id])
        decisions[f"{trial_id}@{record['result']['round']}"] = asha.on_trial_result(None, trials[trial_id],
                                                                                    record["result"])
    return decisions


@pytest.mark.slow
def test_sweep_completes_and_asha_decides_as_asha_does_whatever_the_order_of_arrival(finished_sweep):
    from xlsearch.sweep.decision_log import DECISIONS_FILE, read_decisions

    out, sweep_dir, summary = finished_sweep
    assert summary["trials"] == FINISHED_TRIALS and summary["errors"] == 0
    # Which trial ASHA stops depends on the order the trials reach its rung in (the first one at
    # a rung is never stopped): the sweep's decisions are checked against ASHA's own on that order.
    spec = parse_spec(yaml.safe_load((sweep_dir / "spec.yaml").read_text()), base_dir=REPO / "search_spaces")
    records = read_decisions(sweep_dir / DECISIONS_FILE)
    kept = {f"{r['trial_id']}@{r['result']['round']}": r["decision"] for r in records if r.get("event") == "result"}
    assert kept and kept == asha_replayed(records, spec)
    assert summary["stopped_early"] == sum(d == "STOP" for key, d in kept.items()
                                           if not key.endswith(f"@{spec.training.rounds}")), out.stdout[-3000:]
    assert summary["best"]["metrics"]["round"] == 3
    assert "best by source_dev/rougeL" in out.stdout and "target mean" in out.stdout
    assert re.search(r"\[trial \w+\] round 1/3", out.stdout)  # live progress lines
    # The per-trial table: one row per trial, LR ascending within a method/IT group.
    assert len(summary["results"]) == FINISHED_TRIALS
    header = next(line for line in out.stdout.splitlines() if line.startswith("method "))
    assert "src rougeL" in header and "de wrong" in header and "mean wrong" in header
    rows = out.stdout.split(header)[1].splitlines()[2:2 + FINISHED_TRIALS]
    assert sorted(float(r.split()[2]) for r in rows) == sorted(float(f"{t['config']['lr']:.1e}") for t in summary["results"])
    # Intermediate tuning ran once, as a shared stage, and was cached.
    assert len(list((sweep_dir.parent / "intermediate_tuning").glob("*/model/config.json"))) == 1


@pytest.mark.slow
def test_a_trial_starts_only_the_ray_actors_it_uses(finished_sweep, sweep_ray_dir):
    """Each Ray actor is a process of its own (~2 s of CPU to start on the development machine):
    a trial starts none it has no use for. Ray writes each actor's class name at the top of its
    worker's log."""
    _, _, summary = finished_sweep
    started: dict[str, int] = {}
    for log in sweep_ray_dir.rglob("worker-*.out"):
        found = re.search(r"^:actor_name:(\w+)", log.read_text(errors="replace"), re.MULTILINE)
        if found:
            started[found.group(1)] = started.get(found.group(1), 0) + 1
    assert started.get("RayTrainWorker") == summary["trials"], started  # the logs were read
    # Train's placement-group cleaner too: the sweep's driver frees a dead trial's worker group.
    unused = {"DatasetManager", "PreemptionWatcher", "PlacementGroupCleaner"} & set(started)
    assert not unused, f"trials started actors they do not use: {sorted(unused)} (all: {started})"


@pytest.mark.slow
def test_mlflow_holds_one_parent_and_one_child_per_trial_seen_through_a_server(finished_sweep):
    from mlflow_server import serve
    from xlsearch.tracking import default_tracking_uri

    _, sweep_dir, summary = finished_sweep
    with serve(default_tracking_uri(sweep_dir)) as url:
        def post(path, body):
            req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            return json.load(urllib.request.urlopen(req, timeout=30))

        experiments = post("/api/2.0/mlflow/experiments/search", {"max_results": 10})["experiments"]
        exp_id = next(e["experiment_id"] for e in experiments if e["name"] == "it-sweep")
        runs = post("/api/2.0/mlflow/runs/search", {"experiment_ids": [exp_id], "max_results": 100})["runs"]
        tags = [{t["key"]: t.get("value", "") for t in r["data"].get("tags", [])} for r in runs]
        parents = [r for r, t in zip(runs, tags) if t.get("xlsearch.role") == "sweep"]
        children = [(r, t) for r, t in zip(runs, tags) if t.get("xlsearch.role") == "trial"]
        assert len(parents) == 1
        parent_id = parents[0]["info"]["run_id"]
        assert len(children) == summary["trials"] == FINISHED_TRIALS
        assert all(t["mlflow.parentRunId"] == parent_id for _, t in children)
        assert len({t["xlsearch.trial_id"] for _, t in children}) == FINISHED_TRIALS
        for run, _ in children:
            params = {p["key"]: p.get("value", "") for p in run["data"]["params"]}
            assert ("mix_target.mix_ratio" in params) == (params["method"] == "mix_target")
            history = json.load(urllib.request.urlopen(
                f"{url}/api/2.0/mlflow/metrics/get-history?run_id={run['info']['run_id']}&metric_key=target/de/wrong_language_rate",
                timeout=30))["metrics"]
            assert [m["step"] for m in history] == list(range(1, len(history) + 1)) and history


def best_finished(summary: dict, rounds: int, n: int) -> set[str]:
    """The ids of the n best trials that ran every round, by the objective (ties: lower LR)."""
    finished = [r for r in summary["results"] if r["metrics"]["round"] == rounds and not r["metrics"]["diverged"]]
    best_first = sorted(finished, key=lambda r: (-r["metrics"][OBJECTIVE], r["config"]["lr"], r["metrics"]["trial_id"]))
    return {r["metrics"]["trial_id"] for r in best_first[:n]}


@pytest.mark.slow
def test_the_sweep_keeps_the_best_trials_final_weights_and_nothing_of_the_others(finished_sweep):
    from xlsearch.sweep.disk import disk_need
    from xlsearch.training.checkpoint import META_FILE, TRAINABLE_FILE

    _, sweep_dir, summary = finished_sweep
    spec = parse_spec(yaml.safe_load((sweep_dir / "spec.yaml").read_text()), base_dir=REPO / "search_spaces")
    rounds, keep_best = spec.training.rounds, spec.checkpoints.keep_best
    kept = best_finished(summary, rounds, keep_best)
    assert summary["best"]["trial_id"] in kept and len(summary["results"]) > len(kept)  # some trials go
    runs = sweep_dir / "train_runs"
    assert {p.name for p in runs.iterdir()} == {f"trial-{t}" for t in kept}
    for trial_id in kept:
        checkpoints = [p for p in (runs / f"trial-{trial_id}").iterdir() if p.is_dir()]
        assert len(checkpoints) == 1, checkpoints  # Train keeps the last one only
        assert sorted(p.name for p in checkpoints[0].iterdir()) == [TRAINABLE_FILE, META_FILE]  # no optimizer state
        assert json.loads((checkpoints[0] / META_FILE).read_text())["round"] == rounds
    # The bound docs/sweeps.md states per kept trial: its final weights as estimated, and Train's
    # record of the run (the last round's metrics and sample outputs), under 64 kB here.
    weights = disk_need(spec, concurrency=2).weights
    used = sum(f.stat().st_size for f in runs.rglob("*") if f.is_file())
    assert used <= len(kept) * (weights + 64 * 1024), (used, weights)


@pytest.mark.slow
def test_a_sweep_needing_more_disk_than_is_free_is_refused_before_anything_is_written(tmp_path, ray_env):
    from xlsearch.sweep.disk import disk_need, free_bytes

    # 100,000 trials of a 582M-parameter mT5 (random weights: no hub), each kept: ~150 TB.
    raw = sweep_spec(tmp_path / "results", model="random-mt5-base", checkpoints={"keep_best": 1_000_000},
                     budget={"max_trials": 100_000})
    raw["search"].update({"num_samples": 100_000, "intermediate_tuning": ["none"]})
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    need = disk_need(parse_spec(raw, base_dir=tmp_path), concurrency=2)
    assert need.total > free_bytes(tmp_path), "this machine has the room: the test cannot refuse"
    proc = subprocess.Popen([*XLSEARCH, "run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"], env=ray_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # it started the sweep instead: stop it and its Ray
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    error_lines = [line for line in err.splitlines() if line.startswith("xlsearch: error:")]
    assert len(error_lines) == 1 and f"storage = '{tmp_path / 'results'}': the sweep needs" in error_lines[0]
    assert "free" in error_lines[0] and "checkpoints.keep_best" in error_lines[0]
    assert not (tmp_path / "results" / "it-sweep").exists()


@pytest.mark.slow
def test_over_budget_sweep_is_refused_before_anything_is_written(tmp_path, ray_env):
    raw = sweep_spec(tmp_path / "results", budget={"max_trials": 6, "gpu_hours": 0.0001})
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    out = run_cli(["run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"], ray_env)
    assert out.returncode == 2
    error_lines = [line for line in out.stderr.splitlines() if line.startswith("xlsearch: error:")]
    assert len(error_lines) == 1 and "budget.gpu_hours = 0.0001" in error_lines[0]
    assert not (tmp_path / "results" / "it-sweep").exists()


@pytest.mark.slow
def test_gpu_hour_stopper_ends_the_sweep_at_its_cap(tmp_path, ray_env):
    # 0.004 worker-hours = 14.4 s of trial time: the first two trials' rounds use it up.
    raw = sweep_spec(tmp_path / "results", budget={"max_trials": 6, "gpu_hours": 0.004})
    raw["scheduler"] = "none"
    raw["search"]["intermediate_tuning"] = ["none"]  # not counted by the stopper; saves CI time
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    out = run_cli(["run", str(tmp_path / "spec.yaml"), "--num-cpus", "2", "--allow-over-budget"], ray_env)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads((tmp_path / "results" / "it-sweep" / "summary.json").read_text())
    started = len(re.findall(r"\] start \(", out.stdout))
    assert started < 6, out.stdout[-2000:]
    assert summary["trials"] == started


@pytest.mark.slow
def test_analyze_the_sweep_writes_the_report_and_logs_it_to_mlflow(finished_sweep, ray_env):
    from xlsearch.tracking import SweepTracker, default_tracking_uri

    _, sweep_dir, summary = finished_sweep
    out = run_cli(["analyze", str(sweep_dir)], ray_env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = (sweep_dir / "analysis" / "report.md").read_text()
    assert f"{summary['trials']} trials; {summary['stopped_early']} stopped early by ASHA" in report
    for name in ("score_vs_lr.png", "wrong_language_vs_lr.png", "learning_curves.png"):
        assert (sweep_dir / "analysis" / name).stat().st_size > 5000
    assert "\\begin{tabular}" in (sweep_dir / "analysis" / "table_source_dev_score.tex").read_text()
    tracker = SweepTracker(default_tracking_uri(sweep_dir), "it-sweep", sweep_dir)
    logged = {a.path for a in tracker.client.list_artifacts(summary["parent_run_id"], "analysis")}
    assert "analysis/report.md" in logged and "analysis/score_vs_lr.png" in logged
    # The notebook API reads the same sweep from MLflow as from the sweep directory.
    from analysis import load_sweep

    from_dir = load_sweep(sweep_dir)
    from_mlflow = load_sweep(f"{default_tracking_uri(sweep_dir)}#it-sweep")
    assert len(from_dir) == len(from_mlflow) and from_dir["trial_id"].nunique() == FINISHED_TRIALS
    assert sorted(from_dir[OBJECTIVE].round(6)) == sorted(from_mlflow[OBJECTIVE].round(6))


OBJECTIVE = "source_dev/rougeL"
