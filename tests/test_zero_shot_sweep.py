"""The zero-shot-aware search on a real local Ray, launched as users launch it.

One grid sweep uses everything at once: the wrong-language stopper (its driver killed right
after the stopper's decision, then resumed), few-shot target examples held out, a pivot
language, and soups; a second, Optuna's multi-objective search. Tiny random mT5 on the toy
data: at lr 5e-3 it answers in English (a mean wrong-language rate of 0.4 and more after one
round, measured), at lower LRs it writes nothing fastText can place (0.0).
"""
from __future__ import annotations

import json
import re

import pytest
import yaml

from test_interrupts import Driver, mlflow_runs
from test_sweep import REPO, ray_env, run_cli, sweep_spec  # noqa: F401 (ray_env: a fixture)
from xlsearch import keys

THRESHOLD = 0.25
WRONG = keys.target_mean(keys.WRONG_LANGUAGE_RATE)


def zero_shot_spec(storage, **changes) -> dict:
    raw = sweep_spec(storage, **changes)
    raw["target_languages"] = ["de", "es"]
    raw["pivot_languages"] = ["fr"]
    raw["data"]["fr"] = {"dev": {"builtin": "toy"}}
    raw["subsample"] = {"train": 400, "dev": 24, "unlabeled": 64}
    raw["selection"] = {"few_shot_examples": 8, "soup_top_k": 2}
    raw["search"].update(algorithm="grid", lr=[5e-3, 1e-3, 1e-4], methods={"full": {}}, intermediate_tuning=["none"])
    raw["training"].update(rounds=2, target_eval_sample=8)
    raw["scheduler"] = {"type": "none", "stop_wrong_language_above": THRESHOLD}
    raw["budget"] = {"max_trials": 3}
    raw.update(changes)
    return raw


def rounds_of(sweep_dir, trial_id):
    """A trial's reported rounds as `xlsearch analyze` reads them (Tune's result.json, and the
    rounds the scheduler judged that a killed driver did not write there)."""
    from analysis.frame import load_sweep_dir

    frame = load_sweep_dir(sweep_dir)
    return frame[frame["trial_id"] == trial_id].sort_values("round").to_dict("records")


@pytest.fixture(scope="module")
def resumed_sweep(tmp_path_factory, ray_env):
    folder = tmp_path_factory.mktemp("zs")
    spec_file = folder / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(zero_shot_spec(folder / "results")))
    first = Driver(spec_file, ray_env, folder / "first.log")
    stop = first.wait_for(r"\[trial (\w+)\] stopped after round (\d): answers in the wrong language").groups()
    first.kill()  # the driver dies right after the stopper's decision, with its local Ray
    second = run_cli(["run", str(spec_file), "--num-cpus", "2"], ray_env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    sweep_dir = folder / "results" / "it-sweep"
    return stop, first, second, sweep_dir, json.loads((sweep_dir / "summary.json").read_text())


@pytest.mark.slow
def test_the_stopper_ends_exactly_the_trials_above_it_and_its_decision_survives_a_killed_driver(resumed_sweep):
    (stopped_id, stopped_round), first, second, sweep_dir, summary = resumed_sweep
    assert "resuming the sweep" in second.stdout
    assert f"[trial {stopped_id}] start" not in second.stdout, second.stdout[-3000:]
    outcomes = {}
    for result in summary["results"]:
        trial_id = result["metrics"]["trial_id"]
        history = rounds_of(sweep_dir, trial_id)
        above = [r["round"] for r in history if r[WRONG] > THRESHOLD]
        # Ended after the first round above the threshold, and only then.
        assert (above[:1] == [history[-1]["round"]]) if above else history[-1]["round"] == 2, (trial_id, history)
        outcomes[trial_id] = bool(above)
    assert outcomes[stopped_id] and sorted(outcomes.values()) == [False, False, True], outcomes
    assert summary["counts"][keys.STOPPED_WRONG_LANGUAGE] == 1 and summary["counts"]["finished"] == 2
    assert {r["metrics"]["trial_id"]: r["outcome"] for r in summary["results"]}[stopped_id] == keys.STOPPED_WRONG_LANGUAGE
    assert summary["trial_rounds"] == 2 + 2 + int(stopped_round)
    assert summary["best"]["trial_id"] != stopped_id
    assert "1 stopped for answering in the wrong language" in second.stdout
    _, children = mlflow_runs(sweep_dir)
    assert children[stopped_id].data.tags["xlsearch.outcome"] == keys.STOPPED_WRONG_LANGUAGE
    assert {children[t].data.tags["xlsearch.outcome"] for t in children if t != stopped_id} == {"finished"}


@pytest.mark.slow
def test_few_shot_and_pivot_scores_are_reported_and_target_scores_leave_the_few_shot_examples_out(resumed_sweep):
    _, _, _, sweep_dir, summary = resumed_sweep
    last = rounds_of(sweep_dir, summary["best"]["trial_id"])[-1]
    assert last["target/de/examples"] == 24 - 8  # the few-shot examples are held out of every target score
    for key in ("few_shot/de/rougeL", "few_shot_mean/rougeL", "pivot/fr/rougeL", "pivot_mean/rougeL"):
        assert key in last, key
    assert "target/fr/rougeL" not in last  # a pivot is not a target


@pytest.mark.slow
def test_the_soup_averages_the_finished_trials_is_evaluated_and_logged(resumed_sweep):
    (stopped_id, _), _, second, sweep_dir, summary = resumed_sweep
    from xlsearch.training.soup import SOUP_META

    assert len(summary["soups"]) == 1
    soup = summary["soups"][0]
    finished = {r["metrics"]["trial_id"] for r in summary["results"]} - {stopped_id}
    assert set(soup["members"]) == finished  # the stopped trial is never a member
    folder = sweep_dir / "soups" / soup["soup_id"]
    assert (folder / "trainable.pt").stat().st_size > 1000 and json.loads((folder / SOUP_META).read_text())["members"]
    assert soup["metrics"]["target/de/examples"] == 16 and "source_dev/rougeL" in soup["metrics"]
    assert f"soup {soup['soup_id']}" in second.stdout
    from mlflow.tracking import MlflowClient

    from xlsearch.tracking import default_tracking_uri

    client = MlflowClient(default_tracking_uri(sweep_dir))
    exp = client.get_experiment_by_name("it-sweep")
    runs = client.search_runs([exp.experiment_id], "tags.`xlsearch.role` = 'soup'")
    assert len(runs) == 1 and runs[0].data.params["soup_of"] == ",".join(soup["members"])
    assert runs[0].data.metrics["source_dev/rougeL"] == pytest.approx(soup["metrics"]["source_dev/rougeL"])


@pytest.mark.slow
def test_analyze_lists_every_rule_the_stop_and_the_soup(resumed_sweep, ray_env):
    _, _, _, sweep_dir, summary = resumed_sweep
    out = run_cli(["analyze", str(sweep_dir)], ray_env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = (sweep_dir / "analysis" / "report.md").read_text()
    assert "1 stopped for answering in the wrong language" in report
    for rule in ("source_dev", "lid_aware", "pivot_dev", "soup", "few_shot_target", "oracle"):
        assert f"**{rule}**" in report, rule
    assert summary["soups"][0]["soup_id"] in report
    by_seed = (sweep_dir / "analysis" / "regret_by_seed.csv").read_text()
    assert "soup" in by_seed and "pivot_dev" in by_seed


@pytest.mark.slow
def test_a_multi_objective_search_completes_and_tags_its_pareto_front(tmp_path, ray_env):
    raw = zero_shot_spec(tmp_path / "results")
    raw["search"].update(algorithm="optuna_tpe", num_samples=3, lr={"low": 1e-4, "high": 1e-2, "log": True},
                         objectives=["source_score", "wrong_language_rate"])
    raw["scheduler"] = {"type": "asha", "grace_period": 1, "reduction_factor": 2}
    raw["selection"] = {"few_shot_examples": 0}
    raw["pivot_languages"] = []
    raw["subsample"] = {"train": 200, "dev": 12, "unlabeled": 64}
    raw["training"].update(rounds=1, steps_per_round=8)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    out = run_cli(["run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"], ray_env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    sweep_dir = tmp_path / "results" / "it-sweep"
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["trials"] == 3 and summary["pareto_front"], summary
    points = {r["metrics"]["trial_id"]: (r["metrics"]["source_dev/rougeL"], r["metrics"][WRONG])
              for r in summary["results"]}
    for trial_id in summary["pareto_front"]:  # nothing dominates a member of the front
        score, wrong = points[trial_id]
        assert not any(s >= score and w <= wrong and (s > score or w < wrong) for s, w in points.values())
    _, children = mlflow_runs(sweep_dir)
    assert {t for t, run in children.items() if run.data.tags.get("xlsearch.pareto_front") == "true"} == \
        set(summary["pareto_front"])
    assert re.search(r"\[trial \w+\] round 1/1", out.stdout)
