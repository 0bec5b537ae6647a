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
