"""The sweep's own choice (the table printed at the end of `xlsearch run`, summary.json's
``best``, the parent run's ``best.*`` tags) and `xlsearch analyze`'s whole-sweep zero-shot
choice name the same trial: ties, ASHA-stopped trials, diverged trials and a sweep cut short.

Each case is one set of trial histories, seen both ways: as the Tune results the sweep's end
reads, and as the ``tune/*/result.json`` files `xlsearch analyze` reads.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import yaml

from analysis import analyze, write_report
from analysis.frame import load_sweep_dir
from analysis.report import zero_shot_line
from xlsearch.selection import best_trial
from xlsearch.sweep.run import trial_records

OBJ = "source_dev/rougeL"
LANGS = ["de", "es"]
ROUNDS = 3


def history(trial_id, lr, final_score, *, rounds_done=ROUNDS, method="full", it="none", diverged=False):
    """A trial's Tune config and its results, one per round; the last round scores
    ``final_score`` (a diverged trial reports the floor, 0.0, in its last round, as the loop does)."""
    config = {"lr": lr, "method": method, "intermediate_tuning": it}
    results = []
    for rnd in range(1, rounds_done + 1):
        last = rnd == rounds_done
        score = 0.0 if (diverged and last) else final_score * rnd / rounds_done
        result = {"trial_id": trial_id, "training_iteration": rnd, "round": rnd, "step": 10 * rnd,
                  "diverged": int(diverged and last), "train/loss": 1.0 / rnd, OBJ: score,
                  "samples_json": "[]", "config": config}
        if not (diverged and last):
            result.update({f"target/{lang}/rougeL": score / 2 for lang in LANGS})
            result.update({f"target/{lang}/wrong_language_rate": 0.1 for lang in LANGS})
        results.append(result)
    return config, results


def sweep_choice(histories):
    """The sweep's best, as its end computes it from Tune's results (each trial's last one)."""
    results = [SimpleNamespace(config=config, metrics=dict(rs[-1]), error=None) for config, rs in histories]
    best = best_trial(trial_records(results), OBJ)
    return None if best is None else best["trial_id"]


def analysis_choice(sweep_dir: Path):
    """`xlsearch analyze`'s zero-shot choice for the whole sweep, from the sweep directory."""
    return analyze(load_sweep_dir(sweep_dir)).zero_shot.trial_id


def write_sweep_dir(tmp_path: Path, histories) -> Path:
    """A sweep directory as Tune leaves it: spec.yaml and tune/<trial>/result.json."""
    sweep_dir = tmp_path / "sweep"
    (sweep_dir / "tune").mkdir(parents=True)
    (sweep_dir / "spec.yaml").write_text(yaml.safe_dump({"name": "sweep", "training": {"rounds": ROUNDS}}))
    for config, results in histories:
        folder = sweep_dir / "tune" / f"trial_driver_{results[0]['trial_id']}"
        folder.mkdir()
        lines = [json.dumps(r) for r in results] + [json.dumps({"trial_id": results[0]["trial_id"], "done": True})]
        (folder / "result.json").write_text("\n".join(lines) + "\n")
    return sweep_dir


def test_ties_stopped_and_diverged_trials_give_one_choice(tmp_path):
    histories = [  # in the order Tune might list them
        history("a0001", 1e-3, 40.0),                      # ties on score, higher LR
        history("b0002", 1e-4, 40.0),                      # ties on score and LR, later trial id
        history("b0001", 1e-4, 40.0, method="adapters"),   # the choice: tie, lower LR, first trial id
        history("s0001", 3e-4, 90.0, rounds_done=1),       # stopped by ASHA at round 1, scored higher
        history("d0001", 1e-2, 50.0, rounds_done=2, diverged=True),
        history("c0001", 3e-5, 30.0),
    ]
    sweep_dir = write_sweep_dir(tmp_path, histories)
    assert sweep_choice(histories) == analysis_choice(sweep_dir) == "b0001"
    # ... and analyze says so, in its printed line and in the report.
    result = analyze(load_sweep_dir(sweep_dir))
    assert "trial b0001, adapters lr=0.0001 it=none  -> 40.0" in zero_shot_line(result)
    write_report(result, tmp_path / "report", "sweep")
    assert "trial b0001, adapters lr=0.0001 it=none" in (tmp_path / "report" / "report.md").read_text()


def test_a_sweep_cut_short_still_gets_the_same_choice(tmp_path):
    # A time budget ended the sweep before any trial reached the spec's last round.
    histories = [
        history("x0001", 1e-3, 20.0, rounds_done=2),
        history("x0002", 1e-4, 25.0, rounds_done=2),
        history("x0003", 3e-4, 60.0, rounds_done=1),       # stopped by ASHA at round 1
        history("x0004", 1e-2, 70.0, rounds_done=3, diverged=True),
    ]
    sweep_dir = write_sweep_dir(tmp_path, histories)
    assert sweep_choice(histories) == analysis_choice(sweep_dir) == "x0002"


def test_only_diverged_trials_give_no_choice_either_way(tmp_path):
    histories = [history("d0001", 1e-2, 10.0, rounds_done=1, diverged=True),
                 history("d0002", 3e-2, 10.0, rounds_done=2, diverged=True)]
    sweep_dir = write_sweep_dir(tmp_path, histories)
    assert sweep_choice(histories) is None and analysis_choice(sweep_dir) is None
