"""A sweep's disk without Ray: the size a checkpoint is estimated at against the files the trial
loop writes, which trials' weights stay, a finished trial resuming from its weights alone, and
the free-space check. The sweep itself is checked after a real run in test_sweep.py."""
from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import pytest

from xlsearch.checks import parse_spec
from xlsearch.selection import best_trial
from xlsearch.sweep.budget import estimate
from xlsearch.sweep.disk import DiskNeed, disk_need, free_bytes, keep_and_drop, keep_weights_only, prune
from xlsearch.sweep.trainable import train_run_dir
from xlsearch.training.checkpoint import META_FILE, STATE_FILE, TRAINABLE_FILE, save_checkpoint
from xlsearch.training.loop import run_trial, setup_trial
from xlsearch.training.params import TrialParams

OBJECTIVE = "source_dev/rougeL"


def spec_with(tmp_path, methods: dict, optimizer: str = "adamw", **changes):
    raw = {
        "name": "disk", "task": "xlsum", "model": "tiny-mt5", "target_languages": ["de"],
        "data": {lang: {"train": {"builtin": "toy"}, "dev": {"builtin": "toy"}} for lang in ("en", "de")},
        "subsample": {"train": 16, "dev": 4}, "selection": {"few_shot_examples": 0},
        "search": {"lr": [1e-3], "methods": methods},
        "training": {"steps_per_round": 1, "rounds": 1, "batch_size": 4, "eval_batch_size": 4,
                     "max_input_length": 64, "max_output_length": 8, "optimizer": optimizer},
        "storage": str(tmp_path / "results"),
        **changes,
    }
    return parse_spec(raw)


def files_size(folder: Path, names) -> int:
    return sum((folder / name).stat().st_size for name in names)


@pytest.mark.parametrize("optimizer", ["adamw", "adafactor"])
@pytest.mark.parametrize("method, params", [("full", {}), ("adapters", {"rank": [2, 8]}),
                                            ("prompt_tuning", {"prompt_length": {"low": 2, "high": 20}}),
                                            ("freeze_dec_emb", {})])
def test_the_estimated_checkpoint_is_what_the_trial_loop_writes(method, params, optimizer, tmp_path):
    spec = spec_with(tmp_path, {method: params}, optimizer)
    need = disk_need(spec, concurrency=1)
    # The largest setting of the method, trained one step and saved as the trial loop saves it.
    largest = {"adapters": {"rank": 8}, "prompt_tuning": {"prompt_length": 20}}.get(method, {})
    trial = setup_trial(spec, TrialParams(lr=1e-3, method=method, method_params=largest), log=lambda _: None)
    trial.engine.run(trial.batches(), 1)
    folder = save_checkpoint(tmp_path / "ckpt", trial.model, trial.engine.optimizer, trial.engine.schedule,
                             {"round": 1, "metrics": {OBJECTIVE: 1.0}})
    written = files_size(folder, [TRAINABLE_FILE, STATE_FILE, META_FILE])
    weights = files_size(folder, [TRAINABLE_FILE, META_FILE])
    # An upper bound, and a close one: within 10% and the per-file allowance.
    assert written <= need.checkpoint <= 1.1 * written + 32 * 1024, (written, need.checkpoint)
    assert weights <= need.weights <= 1.1 * weights + 16 * 1024, (weights, need.weights)


def test_the_need_counts_running_trials_kept_weights_and_untrained_intermediate_tuning(tmp_path):
    it = {"steps": 2, "batch_size": 2, "max_length": 32, "examples_per_language": 4, "name": "lm2"}
    spec = spec_with(tmp_path, {"full": {}, "adapters": {"rank": 4}},
                     search={"lr": [1e-3, 1e-2], "methods": {"full": {}, "adapters": {"rank": 4}},
                             "intermediate_tuning": ["none", it]},
                     checkpoints={"keep_best": 2})
    need = disk_need(spec, concurrency=3)
    assert need.kept == 2 and need.concurrency == 3 and need.intermediate > 0
    assert need.total == 2 * 3 * need.checkpoint + 2 * need.weights + need.intermediate
    # full trains every parameter: it sets the size (AdamW: weights + two moments).
    assert 2.9 * need.weights < need.checkpoint < 3.1 * need.weights
    one = spec_with(tmp_path, {}, search={"algorithm": "grid", "lr": [1e-3], "methods": {"full": {}}},
                    checkpoints={"keep_best": 5})
    assert disk_need(one, concurrency=1).kept == 1  # a grid of one trial


def record(trial_id, round_, score, lr=1e-3, diverged=0):
    metrics = {"round": round_, "diverged": diverged, OBJECTIVE: score, "trial_id": trial_id}
    return {"trial_id": trial_id, "config": {"lr": lr, "method": "full", "intermediate_tuning": "none"},
            "metrics": metrics}


def test_the_best_finished_trials_are_kept_by_the_zero_shot_rule():
    records = [record("a", 3, 40.0), record("b", 3, 55.0), record("c", 3, 55.0, lr=1e-2),  # c ties b at a higher LR
               record("d", 2, 90.0),  # stopped early by ASHA: scored at a lower fidelity
               record("e", 3, math.nan, diverged=1), record("f", 3, 20.0),
               {"trial_id": "g", "config": {"lr": 1e-3}, "metrics": {}}]  # ended without a round
    keep, drop = keep_and_drop(records, OBJECTIVE, keep_best=2)
    assert keep == {"b", "c"} and drop == {"a", "d", "e", "f", "g"}
    assert best_trial(records, OBJECTIVE)["trial_id"] in keep
    assert keep_and_drop(records, OBJECTIVE, keep_best=0) == (set(), {r["trial_id"] for r in records})
    # While no trial has finished, the furthest round is compared: the sweep keeps its best so far.
    assert keep_and_drop([record("d", 2, 90.0), record("h", 1, 95.0)], OBJECTIVE, 1) == ({"d"}, {"h"})


def test_a_trial_that_may_join_a_soup_keeps_its_weights_before_its_groups_other_trials_end():
    """With soups, the first trial of a group to end is kept though its group has no second
    trial yet: the soup is made at the sweep's end, from the group's best trials then."""
    def grouped(trial_id, score, lr, method="full", seed=0):
        r = record(trial_id, 3, score, lr)
        r["config"].update(method=method, seed=seed)
        return r

    first = [grouped("a", 50.0, 1e-3), grouped("x", 60.0, 1e-3, method="freeze_dec_emb"), grouped("y", 70.0, 1e-4,
             method="freeze_dec_emb"), grouped("z", 10.0, 1e-2, method="freeze_dec_emb")]
    keep, drop = keep_and_drop(first, OBJECTIVE, keep_best=0, soup_top_k=2)
    assert keep == {"a", "x", "y"} and drop == {"z"}  # a: alone in its group so far; z: third of three
    later = [*first, grouped("b", 40.0, 1e-4)]
    assert keep_and_drop(later, OBJECTIVE, keep_best=0, soup_top_k=2)[0] == {"a", "b", "x", "y"}
    assert keep_and_drop(first, OBJECTIVE, keep_best=0, soup_top_k=0)[0] == set()


def test_a_finished_trial_resumes_from_its_weights_alone(tmp_path):
    """A kept trial's checkpoint loses its optimizer state; if Tune starts the trial again (its
    driver died in the second after it ended), the trial says its last round again from there."""
    spec = spec_with(tmp_path, {"full": {}})
    sweep_dir = tmp_path / "sweep"
    run_dir = train_run_dir(sweep_dir, "t1")
    reports = []

    def keep(metrics, checkpoint, samples):
        reports.append(metrics)
        if any(checkpoint.iterdir()):
            shutil.copytree(checkpoint, run_dir / "checkpoint_1")

    run_trial(spec, TrialParams(lr=1e-3), report=keep, log=lambda _: None)
    prune(sweep_dir, keep={"t1"}, drop=set())
    assert sorted(p.name for p in (run_dir / "checkpoint_1").iterdir()) == [TRAINABLE_FILE, META_FILE]
    again = run_trial(spec, TrialParams(lr=1e-3), report=lambda m, c, s: reports.append(m),
                      resume_from=run_dir / "checkpoint_1", log=lambda _: None)
    assert again.rounds_done == 1 and len(reports) == 2 and reports[1] == reports[0]
    prune(sweep_dir, keep=set(), drop={"t1"})
    assert not run_dir.exists() and run_dir.parent.is_dir()


def test_keep_weights_only_leaves_folders_that_are_not_checkpoints(tmp_path):
    (tmp_path / "checkpoint_a").mkdir()
    (tmp_path / "checkpoint_a" / STATE_FILE).write_text("x")  # no meta: not one of ours, left alone
    keep_weights_only(tmp_path)
    assert (tmp_path / "checkpoint_a" / STATE_FILE).exists()


def test_a_storage_with_less_free_space_than_the_need_is_refused(tmp_path):
    free = free_bytes(tmp_path / "not" / "made" / "yet")  # the filesystem of its nearest folder
    assert free == free_bytes(tmp_path) > 0 and not (tmp_path / "not").exists()

    def need(checkpoint):
        return DiskNeed(checkpoint=checkpoint, weights=checkpoint // 3, intermediate=0, concurrency=2, kept=3, free=free)

    assert need(1024**2).shortage(str(tmp_path)) is None
    problem = need(free).shortage(str(tmp_path))  # 4 checkpoints of the free space: more than there is
    assert problem.startswith(f"storage = '{tmp_path}': the sweep needs ") and "free" in problem
    assert "2 running trial(s) x 2 checkpoints" in problem and "\n" not in problem


def test_the_estimate_reports_the_disk_and_a_shortage_as_a_problem(tmp_path):
    spec = spec_with(tmp_path, {"full": {}})
    timed = estimate(spec, step_seconds=1.0, eval_seconds=1.0, concurrency=1, devices_per_trial=1, device_kind="worker")
    short = DiskNeed(checkpoint=10 * 1024**3, weights=1024**3, intermediate=0, concurrency=1, kept=1, free=1024**3)
    est = dataclasses.replace(timed, disk=short)
    assert any(line.startswith("disk: up to 21.0 GB") for line in est.lines())
    assert [p for p in est.over_budget(spec) if p.startswith("storage = ")]
    roomy = DiskNeed(checkpoint=1024, weights=1024, intermediate=0, concurrency=1, kept=1, free=1024**3)
    assert not dataclasses.replace(timed, disk=roomy).over_budget(spec)
