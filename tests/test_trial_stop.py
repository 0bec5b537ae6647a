"""A trial that Tune stops (ASHA, a budget, the end of a sweep) gives its worker group's resources
back as part of its stop, not whenever Ray's State API gets round to reporting its Train
controller dead."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from test_spec import REPO

SCRIPT = textwrap.dedent("""
    import json, sys, time
    import ray
    from ray import tune
    from ray.util.placement_group import placement_group_table
    from xlsearch.sweep.trainable import _trainer_class, trial_trainable
    from xlsearch.sweep.tuner import DRIVER_MEMORY_BYTES

    def loop(config):
        import time
        import ray.train
        for i in range(240):
            ray.train.report({"i": i})
            time.sleep(0.25)

    def driver(config):
        import ray.train
        from ray.tune.integration.ray_train import TuneReportCallback
        trainer = _trainer_class(1)(
            loop, scaling_config=ray.train.ScalingConfig(num_workers=1),
            run_config=ray.train.RunConfig(name="run", storage_path=tune.get_context().get_trial_dir(),
                                           callbacks=[TuneReportCallback()]))
        trainer.fit()

    # No dashboard, so no State API: Train's own cleaner can never see the controller dead, and
    # only the trial's stop can give the worker group's CPU back.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    tuner = tune.Tuner(tune.with_resources(trial_trainable(driver), {"cpu": 0, "memory": DRIVER_MEMORY_BYTES}),
                       run_config=tune.RunConfig(storage_path=sys.argv[1], stop={"training_iteration": 3},
                                                 verbose=0))
    started = time.time()
    result = tuner.fit()[0]
    groups = [{"cpus": sum(b.get("CPU", 0) for b in g["bundles"].values()), "state": g["state"]}
              for g in placement_group_table().values()]
    print(json.dumps({"last": result.metrics.get("i"), "seconds": time.time() - started,
                      "name": result.path.rsplit("/", 1)[-1], "groups": groups}))
""")


@pytest.mark.slow
def test_a_stopped_trial_removes_its_worker_group_before_its_stop_ends(tmp_path):
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "results")], capture_output=True,
                         text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr[-4000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["last"] == 2, out  # stopped by Tune after its third report, 57 s before its loop's end
    assert out["name"].startswith("driver_"), out  # trials keep the function's name: sweeps resume
    groups = [g for g in out["groups"] if g["cpus"] > 0]
    assert groups, out
    assert all(g["state"] == "REMOVED" for g in groups), f"a stopped trial kept its worker group: {out['groups']}"


LOST = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    import ray
    from ray import tune
    from xlsearch.sweep.trainable import _trainer_class, trial_trainable
    from xlsearch.sweep.tuner import DRIVER_MEMORY_BYTES
    from xlsearch.sweep.worker_groups import freeing_lost_worker_groups

    pids = Path(sys.argv[1])
    pids.mkdir(parents=True, exist_ok=True)

    def loop(config):
        import time
        import ray.train
        for i in range(config["reports"]):
            ray.train.report({"i": i})
            time.sleep(0.25)

    def driver(config):
        import os
        import ray.train
        from ray.tune.integration.ray_train import TuneReportCallback
        (pids / tune.get_context().get_trial_id()).write_text(str(os.getpid()))
        trainer = _trainer_class(1, record_worker_groups=True)(
            loop, train_loop_config=config, scaling_config=ray.train.ScalingConfig(num_workers=1),
            run_config=ray.train.RunConfig(name="run", storage_path=tune.get_context().get_trial_dir(),
                                           callbacks=[TuneReportCallback()]))
        trainer.fit()

    class KillTheLongTrial(tune.Callback):
        # Its process killed, as when Ray's memory monitor or a lost node takes it: no stop runs.
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if trial.config["reports"] > 3 and result.get("i") == 1:
                os.kill(int((pids / trial.trial_id).read_text()), signal.SIGKILL)

    # One CPU: the short trial's worker can start only once the killed trial's group is gone. No
    # dashboard: Train's own cleaner, which asks the State API, can never see the controller dead.
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    tuner = tune.Tuner(tune.with_resources(trial_trainable(driver), {"cpu": 0, "memory": DRIVER_MEMORY_BYTES}),
                       param_space={"reports": tune.grid_search([400, 3])},
                       # A guard against a hang (the node never given back), not a measure: the
                       # outcome below says whether the second trial ran; 600 s holds on a loaded machine.
                       tune_config=tune.TuneConfig(max_concurrent_trials=1, time_budget_s=600),
                       run_config=tune.RunConfig(storage_path=sys.argv[2], callbacks=[KillTheLongTrial()], verbose=0,
                                                 failure_config=tune.FailureConfig(max_failures=0)))
    with freeing_lost_worker_groups():
        results = tuner.fit()
    print(json.dumps(sorted([r.config["reports"], r.metrics.get("i"), r.error is not None] for r in results)))
""")


@pytest.mark.slow
def test_the_node_of_a_trial_whose_process_died_goes_to_the_next_trial(tmp_path):
    run = subprocess.run([sys.executable, "-c", LOST, str(tmp_path / "pids"), str(tmp_path / "results")],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr[-4000:]
    short, killed = json.loads(run.stdout.strip().splitlines()[-1])
    assert killed[0] == 400 and killed[2], killed  # the long trial died with its process
    assert short == [3, 2, False], f"the next trial never got the node: {short}"
