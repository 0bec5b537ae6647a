"""LR selection on hand-built result sets whose right answers are known, and the report files."""
from __future__ import annotations

import math

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from analysis import analyze, final_rows, write_report
from xlsearch.selection import regret, select_all

OBJ = "source_dev/rougeL"
LANGS = ["de", "es"]


def trial(trial_id, lr, source, de, es, wrong_de=0.0, wrong_es=0.0, method="full", it="none",
          rounds_done=3, diverged=0):
    """One trial's rounds; the scores given are its final round's, earlier rounds score lower."""
    rows = []
    for rnd in range(1, rounds_done + 1):
        scale = rnd / rounds_done
        rows.append({"trial_id": trial_id, "lr": lr, "method": method, "intermediate_tuning": it, "round": rnd,
                     OBJ: source * scale if not diverged else 0.0,
                     "target/de/rougeL": de * scale, "target/es/rougeL": es * scale,
                     "target/de/wrong_language_rate": wrong_de, "target/es/wrong_language_rate": wrong_es,
                     "diverged": diverged if rnd == rounds_done else 0})
    return rows


def frame(*trials, rounds=3) -> pd.DataFrame:
    df = pd.DataFrame([row for t in trials for row in t])
    df["rounds_done"] = df.groupby("trial_id")["round"].transform("max")
    df.attrs.update(rounds=rounds, name="hand")
    return df


def choose(df, threshold=0.2):
    return select_all(final_rows(df), OBJ, "rougeL", LANGS, threshold)


def test_the_three_rules_pick_what_they_should_and_regret_is_the_gap():
    df = frame(
        trial("hi", 1e-3, source=40, de=5, es=7, wrong_de=0.9, wrong_es=0.8),   # best on English, answers in English
        trial("mid", 3e-4, source=35, de=20, es=22, wrong_de=0.1, wrong_es=0.1),
        trial("lo", 1e-4, source=20, de=24, es=26, wrong_de=0.0, wrong_es=0.05),  # best on targets
    )
    c = choose(df)
    assert (c["source_dev"].trial_id, c["lid_aware"].trial_id, c["oracle"].trial_id) == ("hi", "mid", "lo")
    assert c["source_dev"].mean_target == pytest.approx(6)
    assert regret(c["source_dev"], c["oracle"]) == pytest.approx(25 - 6)
    assert regret(c["lid_aware"], c["oracle"]) == pytest.approx(25 - 21)
    assert regret(c["oracle"], c["oracle"]) == 0


def test_ties_go_to_the_lower_learning_rate_whatever_the_row_order():
    a = trial("a", 1e-3, source=30, de=10, es=10)
    b = trial("b", 1e-4, source=30, de=10, es=10)
    for order in ((a, b), (b, a)):
        c = choose(frame(*order))
        assert c["source_dev"].lr == 1e-4 and c["oracle"].lr == 1e-4


def test_missing_language_is_averaged_over_the_languages_present():
    df = frame(trial("x", 1e-4, source=30, de=10, es=20), trial("y", 1e-3, source=20, de=18, es=20))
    df.loc[df["trial_id"] == "y", "target/es/rougeL"] = math.nan  # es not scored for y
    c = choose(df)
    assert c["oracle"].trial_id == "y"  # 18 (de only) beats 15 (mean of 10 and 20)
    assert math.isnan(c["oracle"].target_scores["es"]) and c["oracle"].mean_target == 18


def test_asha_stopped_trials_are_not_compared_with_finished_ones():
    df = frame(trial("done", 1e-4, source=10, de=5, es=5),
               trial("stopped", 1e-3, source=90, de=50, es=50, rounds_done=1))  # high, but at round 1
    final = final_rows(df)
    assert set(final["trial_id"]) == {"done"}
    assert choose(df)["source_dev"].trial_id == "done"


def test_a_group_where_every_trial_diverged_gets_no_choice():
    df = frame(trial("d1", 1e-2, source=0, de=0, es=0, diverged=1, rounds_done=1),
               trial("d2", 3e-2, source=0, de=0, es=0, diverged=1, rounds_done=2))
    c = choose(df)
    assert all(choice.trial_id is None and choice.note == "every trial diverged" for choice in c.values())
    assert math.isnan(regret(c["source_dev"], c["oracle"]))


def test_diverged_trials_are_never_chosen_beside_working_ones():
    df = frame(trial("ok", 1e-4, source=10, de=5, es=5),
               trial("boom", 1e-2, source=0, de=0, es=0, diverged=1, rounds_done=1))
    assert choose(df)["source_dev"].trial_id == "ok"


def test_lid_aware_without_any_trial_under_the_threshold_says_so():
    df = frame(trial("a", 1e-3, source=30, de=10, es=10, wrong_de=0.5, wrong_es=0.5))
    c = choose(df, threshold=0.2)
    assert c["lid_aware"].trial_id is None and "under 0.2" in c["lid_aware"].note


def test_report_files_tables_and_plots(tmp_path):
    df = frame(
        trial("f1", 1e-3, source=40, de=5, es=7, wrong_de=0.9, wrong_es=0.8),
        trial("f2", 1e-4, source=20, de=24, es=26),
        trial("a1", 1e-3, source=30, de=10, es=10, method="adapters"),
        trial("a2", 1e-4, source=10, de=12, es=8, method="adapters", it="sc"),
        trial("s", 3e-3, source=50, de=1, es=1, rounds_done=1),
    )
    result = analyze(df, threshold=0.2)
    files = write_report(result, tmp_path, "hand")
    names = {f.name for f in files}
    assert {"report.md", "score_vs_lr.png", "wrong_language_vs_lr.png", "learning_curves.png", "regret.csv",
            "table_source_dev_score.csv", "table_source_dev_score.tex", "table_oracle_wrong_language.csv"} <= names
    table = pd.read_csv(tmp_path / "table_source_dev_score.csv", index_col=[0, 1])
    assert list(table.columns) == ["lr", "de", "es", "avg"]
    assert table.loc[("full", "none"), "avg"] == pytest.approx(6)
    assert table.loc[("adapters", "sc"), "de"] == pytest.approx(12)
    wrong = pd.read_csv(tmp_path / "table_source_dev_wrong_language.csv", index_col=[0, 1])
    assert wrong.loc[("full", "none"), "de"] == pytest.approx(90)
    tex = (tmp_path / "table_source_dev_score.tex").read_text()
    assert "\\begin{tabular}" in tex and "adapters" in tex
    report = (tmp_path / "report.md").read_text()
    assert "1 stopped early by ASHA" in report and "not zero-shot" in report
    for png in ("score_vs_lr.png", "wrong_language_vs_lr.png", "learning_curves.png"):
        image = matplotlib.image.imread(tmp_path / png)
        assert image.shape[0] > 200 and image.shape[1] > 300
        assert np.std(image[..., :3]) > 0.05  # something is drawn, not a blank canvas


def test_the_html_report_holds_its_tables_and_plots(tmp_path):
    import base64
    import re

    df = frame(trial("f1", 1e-3, source=40, de=5, es=7, wrong_de=0.9, wrong_es=0.8),
               trial("f2", 1e-4, source=20, de=24, es=26))
    write_report(analyze(df), tmp_path, "hand")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<h1>hand: choosing the learning rate zero-shot</h1>" in page
    assert "![" not in page and "**" not in page and "<strong>Zero-shot choice" in page
    assert page.count("<table>") == (tmp_path / "report.md").read_text().count("\n|---") == 5
    # Each plot is inside the page (MLflow's viewer shows the page alone), byte for byte.
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(i) for i in images] == [
        (tmp_path / name).read_bytes()
        for name in ("score_vs_lr.png", "wrong_language_vs_lr.png", "learning_curves.png", "pareto_front.png")]


def test_an_mlflow_experiment_loads_one_row_per_eval_round(tmp_path):
    """Step 0 of a trial's run holds its constants (lr, log10_lr as numbers), not an eval round."""
    from analysis.frame import load_mlflow_experiment
    from xlsearch.tracking import SweepTracker, default_tracking_uri

    tracker = SweepTracker(default_tracking_uri(tmp_path), "exp", tmp_path)
    tracker.start_sweep("exp", {"task": "xlsum"})
    for trial, lr in (("a", 1e-4), ("b", 1e-3)):
        tracker.start_trial(trial, {"lr": lr, "method": "full", "intermediate_tuning": "none"},
                            metrics={"lr": lr, "log10_lr": math.log10(lr)})
        for rnd in (1, 2):
            tracker.log_round(trial, {OBJ: 10.0 * rnd, "round": rnd}, step=rnd)
    frame = load_mlflow_experiment(default_tracking_uri(tmp_path), "exp")
    assert sorted(zip(frame["trial_id"], frame["round"])) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert sorted(frame["lr"].unique()) == [1e-4, 1e-3]


def test_plot_axes_are_labelled(tmp_path):
    from analysis.report import plot_learning_curves, plot_vs_lr

    df = frame(trial("f1", 1e-3, source=40, de=5, es=7), trial("f2", 1e-4, source=20, de=24, es=26))
    result = analyze(df)
    fig = plot_vs_lr(result, "wrong_language_rate", "wrong-language rate", tmp_path / "w.png")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_xscale()) == ("learning rate", "wrong-language rate", "log")
    assert len(ax.get_lines()) == 2  # de and es
    fig = plot_learning_curves(result, tmp_path / "c.png")
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("eval round", OBJ)
    assert len(fig.axes[0].get_lines()) == 2
