"""Errors about the user's input survive Ray's serialization: raised inside a Ray task, they come
back as the same exception, and the command line prints the same one line (no traceback)."""
from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest
import yaml
from ray import cloudpickle  # what Ray serializes exceptions with

from xlsearch.spec import SpecError
from xlsearch.tasks import DataError
from shared_data import TEST_DATA
from test_spec import REPO, with_change

ERRORS = [
    SpecError("data.de.dev.path", "de.json", "no such file (relative paths start at /x)", "spec.yaml"),
    SpecError("search.seed", 10**30, "input should be less than or equal to 4294967295"),
    SpecError("name", "n" * 1000, "must be letters, digits"),
    DataError("file /x/de.json: line 3: no 'summary'; each record needs fields id, text, summary"),
]


def _same(a, b) -> bool:
    return type(a) is type(b) and str(a) == str(b) and vars(a) == vars(b)


@pytest.mark.parametrize("err", ERRORS, ids=lambda e: type(e).__name__)
def test_round_trip_through_pickle_and_cloudpickle(err):
    assert _same(pickle.loads(pickle.dumps(err)), err)
    assert _same(cloudpickle.loads(cloudpickle.dumps(err)), err)


def test_long_values_are_cut_in_the_message_only():
    err = SpecError("name", "n" * 1000, "must be letters")
    assert err.value == "n" * 1000
    assert len(str(err)) < 120 and "…" in str(err)


@pytest.mark.slow
def test_errors_raised_in_a_ray_task_come_back_whole():
    import ray

    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        @ray.remote
        def fail(err):
            raise err

        for err in ERRORS:
            with pytest.raises(type(err)) as info:
                ray.get(fail.remote(err))
            cause = info.value.cause  # the RayTaskError's cause: the exception itself, not UnserializableException
            assert _same(cause, err)
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_estimate_when_data_vanishes_before_calibration_prints_one_line(tmp_path):
    """The pre-check passes, the file is removed, the calibration task in Ray fails: one line."""
    dev = tmp_path / "de.json"
    dev.write_text((TEST_DATA / "xquad/xquad.de.json").read_text())
    spec_file = tmp_path / "s.yaml"
    raw = with_change("data.de.dev", {"path": "de.json"}) | {"storage": str(tmp_path / "results")}
    spec_file.write_text(yaml.safe_dump(raw))
    script = textwrap.dedent(f"""
        import os, sys
        import xlsearch.datacheck as datacheck
        real = datacheck.check_data
        def check_then_remove(spec):
            counts = real(spec)
            os.remove({str(dev)!r})
            return counts
        datacheck.check_data = check_then_remove
        from xlsearch.cli import main
        sys.exit(main(["estimate", {str(spec_file)!r}, "--num-cpus", "1"]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 2, out.stderr[-3000:]
    assert "Traceback" not in out.stderr and "UnserializableException" not in out.stderr, out.stderr[-3000:]
    ours = [line for line in out.stderr.splitlines() if line.startswith("xlsearch: error: ")]
    assert len(ours) == 1 and "data.de.dev.path" in ours[0] and "no such file" in ours[0], out.stderr[-3000:]


def test_the_input_error_is_found_inside_trial_failures():
    """What Tune hands back for a failed trial: Ray's wrapper around Train's WorkerGroupError,
    whose worker failures hold the worker's error (itself wrapped)."""
    from ray.exceptions import RayTaskError
    from ray.train import WorkerGroupError

    from xlsearch.sweep.tuner import input_error

    ours = SpecError("data.de.dev.path", "de.json", "no such file")
    in_worker = RayTaskError("train_worker", "Traceback ...", ours).as_instanceof_cause()
    group = WorkerGroupError("rank 0 failed", {0: in_worker})
    in_driver = RayTaskError("trial_driver", "Traceback ...", group).as_instanceof_cause()
    found = input_error(in_driver)
    assert _same(found, ours) and str(found) == "data.de.dev.path = 'de.json': no such file"
    assert input_error(RayTaskError("f", "tb", RuntimeError("CUDA out of memory")).as_instanceof_cause()) is None
    assert input_error(None) is None


@pytest.mark.slow
def test_run_when_data_vanishes_before_the_trials_prints_one_line(tmp_path):
    """The pre-check passes, the file is removed, every trial fails on it inside Ray Train:
    exit 2 and the same one line as the check would print."""
    dev = tmp_path / "de.json"
    dev.write_text((TEST_DATA / "xquad/xquad.de.json").read_text())
    spec_file = tmp_path / "s.yaml"
    raw = {"name": "vanish", "task": "xquad", "model": "tiny-mt5", "target_languages": ["de"],
           "data": {"en": {"train": {"path": str(TEST_DATA / "squad/squad_v1.1_en_train_sample.json")},
                           "dev": {"path": str(TEST_DATA / "squad/squad_v1.1_en_val_sample.json")}},
                    "de": {"dev": {"path": "de.json"}}},
           "search": {"algorithm": "grid", "lr": [1e-4]},
           "training": {"steps_per_round": 1, "rounds": 1, "batch_size": 2, "max_input_length": 32,
                        "max_output_length": 4},
           "subsample": {"train": 4, "dev": 2}, "selection": {"few_shot_examples": 0}, "scheduler": "none",
           # No restarts: the worker group would be started again for an error that stays (CI time).
           "resources": {"workers": 1, "gpus_per_worker": 0, "cpus_per_worker": 1, "max_restarts": 0},
           "storage": "results"}
    spec_file.write_text(yaml.safe_dump(raw))
    script = textwrap.dedent(f"""
        import os, sys
        import xlsearch.datacheck as datacheck
        real = datacheck.check_data
        def check_then_remove(spec):
            counts = real(spec)
            os.remove({str(dev)!r})
            return counts
        datacheck.check_data = check_then_remove
        from xlsearch.cli import main
        sys.exit(main(["run", {str(spec_file)!r}, "--num-cpus", "2"]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=900)
    assert out.returncode == 2, out.stderr[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("xlsearch: error: data.de.dev.path = 'de.json': no such file"), out.stderr[-3000:]
    assert (tmp_path / "results" / "vanish").is_dir()  # the sweep had started: its folder stays
