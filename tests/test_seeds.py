"""Seeds as a dimension (``search.seeds``): every configuration runs once per seed, trials and
MLflow carry the seed, tables show mean ± sd, and selection compares configurations by their mean."""
from __future__ import annotations

import json
import math
import os
import secrets
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from xlsearch.checks import parse_spec
from xlsearch.selection import comparable, zero_shot_choice
from xlsearch.space import OptunaSpace, grid_configs, planned_trials
from xlsearch.spec import SpecError
from xlsearch.training.params import TrialParams

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "search_spaces" / "demo.yaml"
OBJECTIVE = "source_dev/rougeL"


def demo(tmp_path, **search) -> dict:
    raw = yaml.safe_load(DEMO.read_text())
    raw["storage"] = str(tmp_path / "results")
    raw["search"].update(search)
    return raw


def test_a_grid_runs_every_configuration_once_per_seed_whole_grid_by_whole_grid(tmp_path):
    raw = demo(tmp_path, algorithm="grid", lr=[1e-4, 1e-3], methods={"full": {}}, intermediate_tuning=["none"],
               seed=5, seeds=3)
    raw["budget"] = {"max_trials": 6}
    spec = parse_spec(raw, base_dir=REPO / "search_spaces")
    configs = grid_configs(spec)
    assert [c["seed"] for c in configs] == [5, 5, 6, 6, 7, 7]
    assert [c["lr"] for c in configs] == [1e-4, 1e-3] * 3
    assert planned_trials(spec) == 6
    assert TrialParams.from_flat(configs[2]).seed == 6 and "seed 6" in TrialParams.from_flat(configs[2]).run_name()
    # One seed: the configs carry no seed (a sweep from before seeds resumes with the same ones).
    assert all("seed" not in c for c in grid_configs(parse_spec(dict(raw, search={**raw["search"], "seeds": 1}),
                                                                base_dir=REPO / "search_spaces")))


def test_a_searched_sweep_counts_configurations_times_seeds_capped_to_whole_configurations(tmp_path):
    raw = demo(tmp_path, num_samples=4, seeds=3)
    raw["budget"] = {"max_trials": 10}
    assert planned_trials(parse_spec(raw, base_dir=REPO / "search_spaces")) == 9  # three whole configurations
    raw["budget"] = {"max_trials": 100}
    assert planned_trials(parse_spec(raw, base_dir=REPO / "search_spaces")) == 12


@pytest.mark.parametrize("search,budget,words", [
    ({"seeds": 0}, {"max_trials": 10}, "search.seeds"),
    ({"seeds": 4}, {"max_trials": 3}, "budget.max_trials = 3: every configuration runs search.seeds (4) trials"),
    ({"seed": 2**32 - 1, "seeds": 2}, {"max_trials": 10}, "search.seeds = 2: search.seed (4294967295) + seeds - 1"),
])
def test_impossible_seed_settings_are_refused_naming_the_field(tmp_path, search, budget, words):
    raw = demo(tmp_path, **search)
    raw["budget"] = budget
    with pytest.raises(SpecError) as err:
        parse_spec(raw, base_dir=REPO / "search_spaces")
    assert words in str(err.value)


def test_the_seed_repeater_gives_each_suggestion_every_seed_and_survives_a_save_and_restore(tmp_path):
    from ray.tune.search.optuna import OptunaSearch

    from xlsearch.sweep.repeat import SeedRepeater

    spec = parse_spec(demo(tmp_path, seeds=2, num_samples=3), base_dir=REPO / "search_spaces")

    def searcher():
        inner = OptunaSearch(space=OptunaSpace(spec), metric=OBJECTIVE, mode="max",
                             sampler=optuna.samplers.RandomSampler(seed=0))
        repeater = SeedRepeater(inner, [0, 1])
        repeater.set_search_properties(OBJECTIVE, "max", {})
        return repeater

    first = searcher()
    a, b = first.suggest("t1"), first.suggest("t2")
    assert {k: v for k, v in a.items() if k != "seed"} == {k: v for k, v in b.items() if k != "seed"}
    assert (a["seed"], b["seed"]) == (0, 1) and "__trial_index__" not in a
    first.on_trial_complete("t1", {OBJECTIVE: 10.0})
    first.save(str(tmp_path / "searcher.pkl"))
    # A resumed sweep: the second seed of the group completes after the restore.
    second = searcher()
    second.restore(str(tmp_path / "searcher.pkl"))
    second.on_trial_complete("t2", {OBJECTIVE: 20.0})  # Tune's own Repeater raised KeyError here
    told = [t for t in second.searcher._ot_study.trials if t.value is not None]
    assert [t.value for t in told] == [15.0]  # the searcher learns the mean over the seeds
    c = second.suggest("t3")
    assert c["seed"] == 0 and c != a


def _trial(tid, lr, seed, score, target, method="full"):
    return {"trial_id": tid, "lr": lr, "method": method, "intermediate_tuning": "none", "seed": seed, "round": 2,
            "diverged": 0, OBJECTIVE: score, "target/de/rougeL": target, "target_mean/rougeL": target}


def test_selection_compares_configurations_by_their_mean_over_seeds():
    # lr 1e-3 has the single best seed (90) but the lower mean (60 against 70).
    frame = pd.DataFrame([_trial("a", 1e-3, 0, 90, 10), _trial("b", 1e-3, 1, 30, 12),
                          _trial("c", 1e-4, 0, 72, 20), _trial("d", 1e-4, 1, 68, 24)])
    rows = comparable(frame)
    assert len(rows) == 2 and set(rows["seeds"]) == {2}
    choice = zero_shot_choice(frame, OBJECTIVE)
    assert (choice.lr, choice.trial_id, choice.source_score) == (1e-4, "c", 70.0)
    assert choice.target_scores == {"de": 22.0}
    chosen = rows[rows["trial_id"] == "c"].iloc[0]
    assert math.isclose(chosen["sd:" + OBJECTIVE], math.sqrt(8))  # sd of 72 and 68
    # A method parameter that is a list (multi_source's languages) still groups by configuration.
    listed = pd.DataFrame([dict(_trial(t, 1e-4, seed, 50, 10, "multi_source"), **{"multi_source.source_languages": ["en", "es"]})
                           for t, seed in (("m0", 0), ("m1", 1))])
    both = comparable(pd.concat([frame, listed], ignore_index=True))
    assert len(both) == 3 and both[both["trial_id"] == "m0"].iloc[0]["multi_source.source_languages"] == ["en", "es"]
    # A seed that diverged makes its configuration never chosen.
    frame.loc[frame["trial_id"] == "d", "diverged"] = 1
    assert zero_shot_choice(frame, OBJECTIVE).lr == 1e-3


@pytest.mark.slow
def test_a_sweep_over_seeds_end_to_end(tmp_path):
    """A real sweep (Optuna random sampling, 2 configurations x 2 seeds on a local Ray), its
    MLflow runs, the run's table and `xlsearch analyze`'s report."""
    raw = demo(tmp_path, algorithm="random", num_samples=2, seeds=2, seed=3, methods={"full": {}},
               intermediate_tuning=["none"])
    raw.update(name="seeds", scheduler="none", budget={"max_trials": 4})
    raw["subsample"] = {"train": 200, "dev": 8, "unlabeled": 32}
    raw["selection"] = {"few_shot_examples": 0}
    raw["training"].update({"steps_per_round": 10, "rounds": 1, "eval_batch_size": 8})
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(raw))
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(token), "PYTHONUNBUFFERED": "1"}
    out = subprocess.run([sys.executable, "-m", "xlsearch", "run", str(spec_file), "--num-cpus", "2"], env=env,
                         capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    sweep_dir = tmp_path / "results" / "seeds"
    summary = json.loads((sweep_dir / "summary.json").read_text())
    results = summary["results"]
    assert len(results) == 4
    by_lr: dict[float, list] = {}
    for r in results:
        by_lr.setdefault(r["config"]["lr"], []).append(r)
    assert len(by_lr) == 2 and all(sorted(r["config"]["seed"] for r in rs) == [3, 4] for rs in by_lr.values())
    # The seed changes the training (data order): the two seeds of a configuration differ.
    for rs in by_lr.values():
        assert rs[0]["metrics"]["train/loss"] != rs[1]["metrics"]["train/loss"]
    # The choice is by the mean over the seeds, and the run prints it with its spread.
    best = summary["best_over_seeds"]
    chosen = by_lr[summary["best"]["config"]["lr"]]
    assert best["seeds"] == 2
    assert math.isclose(best["metrics"][OBJECTIVE], sum(r["metrics"][OBJECTIVE] for r in chosen) / 2)
    assert max(sum(r["metrics"][OBJECTIVE] for r in rs) for rs in by_lr.values()) / 2 == \
        pytest.approx(best["metrics"][OBJECTIVE])
    assert "best by mean source_dev/rougeL over 2 seeds" in out.stdout
    header = next(line for line in out.stdout.splitlines() if line.startswith("method "))
    assert "seeds" in header and " ± " in out.stdout.split(header)[1]
    # MLflow: each trial's run carries its seed as a parameter and a tag, and in its name.
    from xlsearch.tracking import SweepTracker, default_tracking_uri

    tracker = SweepTracker(default_tracking_uri(sweep_dir), "seeds", sweep_dir)
    runs = tracker.client.search_runs([tracker.experiment_id], "tags.`xlsearch.role` = 'trial'")
    assert sorted(r.data.params["seed"] for r in runs) == ["3", "3", "4", "4"]
    assert sorted(r.data.tags["seed"] for r in runs) == ["3", "3", "4", "4"]
    assert all(f"seed {r.data.params['seed']}" in r.info.run_name for r in runs)
    # The analysis: configurations by their mean, with a mean ± sd table.
    out = subprocess.run([sys.executable, "-m", "xlsearch", "analyze", str(sweep_dir)], env=env,
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    report = (sweep_dir / "analysis" / "report.md").read_text()
    assert "## Every configuration over its seeds: mean ± sd" in report
    section = report.split("## Every configuration over its seeds")[1].split("## Plots")[0]
    assert section.count(" ± ") >= 2 * 4  # two configurations, source dev and three target languages each
