"""`xlsearch analyze --study`: study tables across sweeps, from hand-built sweep directories whose
right cells are known. No Ray, no training: spec.yaml and tune/<trial>/result.json as a sweep
leaves them, read the way `xlsearch analyze` reads them."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import analyze, build_studies, load_study_sweep, study_table
from analysis.frame import load_sweep_dir
from analysis.report import choice_table
from xlsearch.cli import main

ROUNDS = 3


def trial(trial_id, lr, source, scores, wrong=None, *, method="full", it="none", train_data=None,
          rounds_done=ROUNDS, metric="rougeL"):
    """A trial's Tune results, one per round; the last round scores what is given (``scores``:
    lang -> target score, ``wrong``: lang -> wrong-language rate). ``train_data`` None: the
    config has no such key (trials from before translate-train)."""
    config = {"lr": lr, "method": method, "intermediate_tuning": it}
    if train_data is not None:
        config["train_data"] = train_data
    results = []
    for rnd in range(1, rounds_done + 1):
        scale = rnd / rounds_done
        result = {"trial_id": trial_id, "training_iteration": rnd, "round": rnd, "step": 10 * rnd, "diverged": 0,
                  "train/loss": 1.0 / rnd, f"source_dev/{metric}": source * scale, "samples_json": "[]",
                  "config": config}
        result.update({f"target/{lang}/{metric}": v * scale for lang, v in scores.items()})
        result.update({f"target/{lang}/wrong_language_rate": v for lang, v in (wrong or {}).items()})
        results.append(result)
    return results


def write_sweep(folder: Path, task: str, model: str, trials) -> Path:
    (folder / "tune").mkdir(parents=True)
    (folder / "spec.yaml").write_text(yaml.safe_dump({"name": folder.name, "task": task, "model": model,
                                                      "training": {"rounds": ROUNDS}}))
    for results in trials:
        tid = results[0]["trial_id"]
        (folder / "tune" / f"trial_driver_{tid}").mkdir()
        lines = [json.dumps(r) for r in results] + [json.dumps({"trial_id": tid, "done": True})]
        (folder / "tune" / f"trial_driver_{tid}" / "result.json").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweeps")
    de_es = lambda de, es: {"de": de, "es": es}
    a = write_sweep(root / "xlsum-mt5", "xlsum", "mt5-base", [
        # zero-shot full/none: source_dev picks a_hi, the best target score is a_lo's, a_stop
        # (stopped by ASHA at round 1) scores highest of all but is not compared
        trial("a_hi", 1e-3, 40, de_es(5, 7), de_es(0.9, 0.8), train_data="source"),
        trial("a_lo", 1e-4, 20, de_es(24, 26), de_es(0.0, 0.05)),  # no train_data: zero-shot
        trial("a_stop", 3e-4, 90, de_es(60, 60), de_es(0.0, 0.0), rounds_done=1, train_data="source"),
        trial("a_ad", 1e-3, 30, de_es(10, 15), de_es(0.1, 0.2), method="adapters", train_data="source"),
        trial("a_ad2", 1e-4, 25, de_es(12, 13), de_es(0.0, 0.0), method="adapters", train_data="source"),
        # translate-train: tt_a has the best source dev score of the sweep (it would win full/none
        # were it mixed in); source_dev picks it among translate-train trials, tt_b has the best targets
        trial("tt_a", 1e-3, 45, de_es(40, 42), de_es(0.0, 0.1), train_data="translate_train"),
        trial("tt_b", 1e-4, 30, de_es(50, 52), de_es(0.0, 0.0), train_data="translate_train"),
    ])
    b = write_sweep(root / "xlsum-mbart", "xlsum", "mbart-50", [  # a sweep from before translate-train
        trial("b1", 1e-4, 33, {"de": 20, "es": 30, "fr": 25}, {"de": 0.1, "es": 0.0, "fr": 0.2}),
        trial("b2", 3e-4, 31, {"de": 18, "es": 16, "fr": 14}, {"de": 0.0, "es": 0.0, "fr": 0.0}, it="sc"),
        trial("b3", 1e-3, 20, {"de": 25, "es": 35, "fr": 30}, {"de": 0.0, "es": 0.0, "fr": 0.0}),
    ])
    c = write_sweep(root / "xlsum-mbart-tt", "xlsum", "mbart-50", [  # the same model's translate-train sweep
        trial("c1", 1e-4, 36, {"de": 30, "es": 31, "fr": 32}, train_data="translate_train"),
        trial("c2", 1e-3, 34, {"de": 33, "es": 35, "fr": 37}, train_data="translate_train"),
    ])
    d = write_sweep(root / "xquad-lab", "xquad", str(root / "models" / "lab-mt5"), [
        trial("d1", 1e-4, 70, {"de": 50, "zh": 40}, metric="f1", train_data="source"),
        trial("d2", 1e-3, 60, {"de": 55, "zh": 45}, metric="f1", train_data="source"),
    ])
    return [a, b, c, d]


def cells(table: pd.DataFrame, row) -> list[float]:
    return [float(v) for v in table.loc[row].tolist()]


def test_each_cell_is_the_source_dev_choice_of_its_group_and_translate_train_is_its_own_row(sweeps):
    studies = build_studies([load_study_sweep(s) for s in sweeps])
    assert list(studies) == ["xlsum", "xquad"]
    xlsum = studies["xlsum"]
    assert xlsum.langs == ["de", "es", "fr"]
    score = study_table(xlsum, "score")
    assert list(score.index) == [
        ("mt5-base", "adapters", "none"), ("mt5-base", "full", "none"), ("mt5-base", "translate-train", "-"),
        ("mbart-50", "full", "none"), ("mbart-50", "full", "sc"), ("mbart-50", "translate-train", "-")]
    assert list(score.columns) == ["de", "es", "fr", "avg"]
    nan = math.nan
    # source_dev's choices, by hand: not a_lo (best targets), a_stop (stopped early) or tt_a (translate-train)
    assert cells(score, ("mt5-base", "full", "none")) == pytest.approx([5, 7, nan, 6], nan_ok=True)
    assert cells(score, ("mt5-base", "adapters", "none")) == pytest.approx([10, 15, nan, 12.5], nan_ok=True)
    assert cells(score, ("mt5-base", "translate-train", "-")) == pytest.approx([40, 42, nan, 41], nan_ok=True)
    assert cells(score, ("mbart-50", "full", "none")) == pytest.approx([20, 30, 25, 25])  # b1, not b3
    assert cells(score, ("mbart-50", "full", "sc")) == pytest.approx([18, 16, 14, 16])
    assert cells(score, ("mbart-50", "translate-train", "-")) == pytest.approx([30, 31, 32, 31])  # c1, not c2
    wrong = study_table(xlsum, "wrong_language")
    assert cells(wrong, ("mt5-base", "full", "none")) == pytest.approx([90, 80, nan, 85], nan_ok=True)
    assert cells(wrong, ("mbart-50", "full", "none")) == pytest.approx([10, 0, 20, 10])
    for table in (score, wrong):  # avg is the mean of the language columns present
        pd.testing.assert_series_equal(table["avg"], table[["de", "es", "fr"]].mean(axis=1), check_names=False)
    chosen = {(r.model, r.method, r.intermediate_tuning): (Path(r.sweep).name, r.choice.trial_id.split("/")[1])
              for r in xlsum.rows}
    assert chosen[("mt5-base", "full", "none")] == ("xlsum-mt5", "a_hi")
    assert chosen[("mt5-base", "translate-train", "-")] == ("xlsum-mt5", "tt_a")
    assert chosen[("mbart-50", "translate-train", "-")] == ("xlsum-mbart-tt", "c1")
    xquad = study_table(studies["xquad"], "score")  # F1; a local model directory is named by its folder
    assert list(xquad.index) == [("lab-mt5", "full", "none")]
    assert cells(xquad, ("lab-mt5", "full", "none")) == pytest.approx([50, 40, 45])


def test_a_single_sweep_gives_the_per_sweep_reports_source_dev_cells(sweeps):
    study = build_studies([load_study_sweep(sweeps[1])])["xlsum"]
    report = choice_table(analyze(load_sweep_dir(sweeps[1])), "source_dev", "score")
    ours = study_table(study, "score").droplevel("model")
    pd.testing.assert_frame_equal(ours, report.drop(columns="lr"), check_names=False)


def _md_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


def _tex_rows(text: str) -> list[list[str]]:
    body = text.split("\\midrule", 1)[1].split("\\bottomrule", 1)[0]
    return [[c.strip() for c in line.rstrip("\\ ").split("&")] for line in body.strip().splitlines()]


def _num(text: str) -> float:
    return math.nan if text in ("–", "--", "") else float(text)


def test_the_command_writes_markdown_csv_and_latex_with_the_same_numbers(sweeps, tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["analyze", "--study", str(out), *map(str, sweeps)]) == 0
    printed = capsys.readouterr().out
    assert f"xlsum: score table in {out / 'xlsum_score'}.{{md,csv,tex}}" in printed
    assert f"xquad: wrong_language table in {out / 'xquad_wrong_language'}.{{md,csv,tex}}" in printed
    assert f"chosen trials in {out / 'xlsum_choices.csv'}" in printed
    for task, value in [("xlsum", "score"), ("xlsum", "wrong_language"), ("xquad", "score")]:
        csv = pd.read_csv(out / f"{task}_{value}.csv", index_col=[0, 1, 2])
        expected = [[*map(str, key), *(round(v, 1) for v in row)] for key, row in zip(csv.index, csv.to_numpy())]
        for rows in (_md_rows((out / f"{task}_{value}.md").read_text()),
                     _tex_rows((out / f"{task}_{value}.tex").read_text())):
            assert [r[:3] for r in rows] == [e[:3] for e in expected]
            numbers = [_num(c) for r in rows for c in r[3:]]
            assert numbers == pytest.approx([v for e in expected for v in e[3:]], nan_ok=True)
    assert "intermediate\\_tuning" in (out / "xlsum_score.tex").read_text()  # LaTeX-escaped
    assert re.search(r"^# xlsum: target ROUGE-L of the source_dev choice", (out / "xlsum_score.md").read_text())
    assert "# xquad: target F1" in (out / "xquad_score.md").read_text()
    choices = pd.read_csv(out / "xlsum_choices.csv", index_col=[0, 1, 2])
    row = choices.loc[("mt5-base", "translate-train", "-")]
    assert (row["train_data"], row["trial_id"], row["lr"], row["source_dev/rougeL"]) == ("translate_train", "tt_a", 1e-3, 45)
    assert Path(row["sweep"]).name == "xlsum-mt5"


def test_without_study_the_per_sweep_report_is_written_as_before(sweeps, tmp_path, capsys):
    assert main(["analyze", str(sweeps[1]), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.md").is_file() and "report in" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["empty folder", "no folder", "no task", "mlflow", "out is a file", "with --out"])
def test_bad_input_is_one_line_and_exit_2(case, sweeps, tmp_path, capsys):
    out, sources, extra, words = tmp_path / "study", [str(sweeps[0])], [], []
    if case == "empty folder":
        (tmp_path / "empty").mkdir()
        sources, words = [str(sweeps[0]), str(tmp_path / "empty")], ["empty", "no trial results"]
    elif case == "no folder":
        sources, words = [str(tmp_path / "nowhere")], ["nowhere", "not a sweep directory"]
    elif case == "no task":
        bare = write_sweep(tmp_path / "bare", "xlsum", "mt5-base", [trial("x", 1e-4, 1, {"de": 1})])
        (bare / "spec.yaml").write_text(yaml.safe_dump({"name": "bare", "training": {"rounds": ROUNDS}}))
        sources, words = [str(bare)], ["spec.yaml", "no task and no model"]
    elif case == "mlflow":
        sources, words = [f"sqlite:///{tmp_path}/mlflow.db#demo"], ["sweep directories", "task and model"]
    elif case == "out is a file":
        out.write_text("")
        words = ["--study", "a file, not a folder"]
    else:
        extra, words = ["--out", str(tmp_path / "r")], ["--out", "--study"]
    assert main(["analyze", "--study", str(out), *extra, *sources]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xlsearch: error: ") and "Traceback" not in lines[0]
    assert all(w in lines[0] for w in words), lines[0]
    assert not (tmp_path / "mlflow.db").exists()  # an MLflow source is refused before it is opened
    assert not (out.is_dir() and any(out.iterdir()))  # nothing half-written
