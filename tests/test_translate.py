"""Translate-train: `xlsearch translate` (cached, resumable, refuses bad input), trials that train
on translations, the zero-shot choice that never picks them, per-method search dimensions, and a
lab sweep with the perfect-translation ceiling on a real local Ray.

Offline: the MT model is `tiny-nllb` (random weights: the machinery, not the quality).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from xlsearch import keys
from xlsearch.checks import parse_spec
from xlsearch.selection import best_trial
from xlsearch.space import OptunaSpace, decode_config, grid_configs, planned_trials
from xlsearch.training.params import TrialParams

REPO = Path(__file__).resolve().parents[1]
XLSEARCH = [sys.executable, "-m", "xlsearch"]
# `xlsearch translate` with chunks of 2 examples, so that a kill lands between chunks.
SMALL_CHUNKS = ("import sys; import xlsearch.training.translate as t; t.CHUNK_EXAMPLES = 2; "
                "from xlsearch.cli import main; sys.exit(main(sys.argv[1:]))")
# The same, killed (SIGKILL, as the OOM killer or a lost node kills) as soon as its third chunk
# is on disk: the kill lands between chunks 3 and 4 whatever the machine's load.
KILLED_AFTER_THIRD_CHUNK = (
    "import os, signal, sys; import xlsearch.training.translate as t; t.CHUNK_EXAMPLES = 2\n"
    "write, written = t._write_whole, []\n"
    "def counted(path, text):\n"
    "    write(path, text)\n"
    "    written.append(path)\n"
    "    if len(written) == 3: os.kill(os.getpid(), signal.SIGKILL)\n"
    "t._write_whole = counted\n"
    "from xlsearch.cli import main; sys.exit(main(sys.argv[1:]))")


def lab_spec(storage: Path, **changes) -> dict:
    raw = {
        "name": "tt", "task": "xlsum", "model": "tiny-mt5", "source_languages": ["en"],
        "target_languages": ["de", "ru"],
        "data": {"en": {"train": {"builtin": "lab"}, "dev": {"builtin": "lab"}},
                 "de": {"dev": {"builtin": "lab"}}, "ru": {"dev": {"builtin": "lab"}}},
        "subsample": {"train": 16, "dev": 8},
        "selection": {"few_shot_examples": 0},
        "search": {"algorithm": "grid", "lr": [1e-3], "methods": {"full": {}},
                   "train_data": ["source", "translate_train"]},
        "translation": {"model": "tiny-nllb", "batch_size": 8, "max_new_tokens": 8},
        "training": {"steps_per_round": 2, "rounds": 1, "batch_size": 4, "max_input_length": 64,
                     "max_output_length": 12},
        "scheduler": "none", "resources": {"workers": 1, "gpus_per_worker": 0, "cpus_per_worker": 1},
        "storage": str(storage),
    }
    raw.update(changes)
    return raw


def write_spec(folder: Path, raw: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def translate(args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SMALL_CHUNKS, "translate", *args], env=env(), capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def chunks(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("chunk-*.jsonl"))}


def translation_folders(storage: Path) -> list[Path]:
    return sorted(p for p in (storage / "translations").glob("*") if p.is_dir())


# ---------------------------------------------------------------------------------------------
# xlsearch translate


def test_translate_writes_each_target_once_and_resumes_a_killed_run_where_it_stopped(tmp_path):
    # The uninterrupted run, for reference.
    ref = write_spec(tmp_path / "ref", lab_spec(tmp_path / "ref" / "store", target_languages=["de"]))
    out = translate([str(ref), "--quiet"])
    assert out.returncode == 0, out.stderr[-2000:]
    [ref_folder] = translation_folders(tmp_path / "ref" / "store")
    assert (ref_folder / "done.json").is_file() and len(chunks(ref_folder)) == 8  # 16 examples, 2 per chunk
    # The same job killed after its third chunk: every chunk on disk is whole, none is marked done.
    spec = write_spec(tmp_path / "run", lab_spec(tmp_path / "run" / "store", target_languages=["de"]))
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_THIRD_CHUNK, "translate", str(spec), "--quiet"],
                            env=env(), capture_output=True, text=True, cwd=REPO, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    [folder] = translation_folders(tmp_path / "run" / "store")
    written = chunks(folder)
    stamps_before = {n: (folder / n).stat().st_mtime_ns for n in written}
    assert not (folder / "done.json").exists() and len(written) == 3
    for name, text in written.items():
        rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == 2 and all(len(r["parts"]) == 2 for r in rows), name  # whole, or absent
    # The same command again: it resumes, and ends with what the uninterrupted run wrote.
    again = translate([str(spec)])
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"resuming, {len(written)} of 8 chunks already written" in again.stdout
    assert (folder / "done.json").is_file()
    assert chunks(folder) == chunks(ref_folder)
    assert {n: stamps_before[n] for n in written} == {n: (folder / n).stat().st_mtime_ns for n in written}  # not redone
    # A third time: found in the cache, nothing rewritten.
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("chunk-*.jsonl")}
    third = translate([str(spec), "--quiet"])
    assert third.returncode == 0 and "found in cache" in third.stdout
    assert stamps == {p.name: p.stat().st_mtime_ns for p in folder.glob("chunk-*.jsonl")}


@pytest.mark.parametrize("changes, args, expected", [
    ({}, ["--model", "acme/unknown-model"], "--model = 'acme/unknown-model': cannot tell the family"),
    ({}, ["--model", "tiny-mt5"], "--model = 'tiny-mt5': a mt5 model has no language tokens"),
    ({}, ["--to", "fr"], "--to = 'fr': not a target language of the spec"),
    ({"target_languages": ["el"], "data": {"en": {"train": {"builtin": "lab"}, "dev": {"builtin": "lab"}},
                                            "el": {"dev": {"path": "el_dev.jsonl"}}},
      "model": "tiny-mt5", "translation": {"model": "tiny-mbart"}},
     [], "translation.model = 'tiny-mbart': cannot translate en -> el: mbart has no language token for 'el'"),
    ({"translation": {"model": "perfect-translation"}, "task": "xlsum",
      "data": {"en": {"train": {"builtin": "toy"}, "dev": {"builtin": "toy"}},
               "de": {"dev": {"builtin": "toy"}}, "ru": {"dev": {"builtin": "toy"}}}},
     [], "translation.model = 'perfect-translation': the perfect translation exists only for builtin datasets"),
])
def test_translate_refuses_bad_input_in_one_line_before_any_work(tmp_path, capsys, changes, args, expected):
    from xlsearch.cli import main

    (tmp_path / "el_dev.jsonl").write_text(json.dumps({"id": "1", "text": "Γεια", "summary": "Γεια"}) + "\n")
    spec = write_spec(tmp_path, lab_spec(tmp_path / "store", **changes))
    assert main(["translate", str(spec), *args]) == 2  # the console command's main, in this process
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert not (tmp_path / "store").exists()


# ---------------------------------------------------------------------------------------------
# Trials on translations; the zero-shot choice


def test_a_translate_train_trial_trains_on_the_perfect_translation_and_a_zero_shot_one_does_not(tmp_path):
    from xlsearch.training.loop import setup_trial
    from xlsearch.training.translate import ensure_translations

    spec = parse_spec(lab_spec(tmp_path, translation={"model": "perfect-translation"}))
    ensure_translations(spec, log=lambda line: None)
    trial = setup_trial(spec, TrialParams(lr=1e-3, train_data="translate_train"), log=lambda line: None)
    assert sorted(trial.train) == ["de", "en", "ru"]
    en, de = trial.data.train["en"], trial.data.train["de"]
    assert [e.id for e in en] == [e.id for e in de] and len(de) == 16
    # The lab world's own German text of the same person: the article and its summary.
    assert " wohnt in " in de[0].input_text and " aus " in de[0].targets[0] and de[0].lang == "de"
    zero_shot = setup_trial(spec, TrialParams(lr=1e-3), log=lambda line: None)
    assert sorted(zero_shot.train) == ["en"]


def test_the_zero_shot_choice_never_picks_a_translate_train_trial():
    def record(trial_id, data, source, target):
        return {"trial_id": trial_id, "config": {"lr": 1e-3, "method": "full", "intermediate_tuning": "none",
                                                   keys.TRAIN_DATA: data},
                "metrics": {keys.ROUND: 2, keys.source_dev("rougeL"): source, keys.target("de", "rougeL"): target}}
    trials = [record("a", "source", 40.0, 10.0), record("b", "translate_train", 60.0, 50.0),
              record("c", "source", 45.0, 12.0), record("d", "translate_train", 55.0, 52.0)]
    assert best_trial(trials, keys.source_dev("rougeL"))["trial_id"] == "c"
    assert best_trial(trials, keys.source_dev("rougeL"), translate_train=True)["trial_id"] == "b"
    # Sweeps from before translate-train have no train_data: every trial is zero-shot.
    for t in trials:
        del t["config"][keys.TRAIN_DATA]
    assert best_trial(trials, keys.source_dev("rougeL"))["trial_id"] == "b"
    assert best_trial(trials, keys.source_dev("rougeL"), translate_train=True) is None


# ---------------------------------------------------------------------------------------------
# Per-method search dimensions: a method's own lr and train_data


def per_method_spec(tmp_path, algorithm: str) -> dict:
    lr = [1e-4, 1e-3] if algorithm == "grid" else {"low": 1e-5, "high": 1e-3, "log": True}
    prompt_lr = [3e-2, 1e-1] if algorithm == "grid" else {"low": 1e-2, "high": 3e-1, "log": True}
    return lab_spec(tmp_path, search={
        "algorithm": algorithm, "num_samples": 40, "lr": lr,
        "methods": {"full": {"train_data": ["source", "translate_train"]},
                    "prompt_tuning": {"lr": prompt_lr, "prompt_length": [4, 8]}},
        "intermediate_tuning": ["none"]}, translation={"model": "perfect-translation"})


def test_a_grid_takes_each_methods_own_learning_rates_and_training_data(tmp_path):
    spec = parse_spec(per_method_spec(tmp_path, "grid"))
    configs = grid_configs(spec)
    full = [c for c in configs if c["method"] == "full"]
    prompt = [c for c in configs if c["method"] == "prompt_tuning"]
    assert sorted((c["lr"], c["train_data"]) for c in full) == [
        (1e-4, "source"), (1e-4, "translate_train"), (1e-3, "source"), (1e-3, "translate_train")]
    assert sorted((c["lr"], c["prompt_tuning.prompt_length"]) for c in prompt) == [
        (3e-2, 4), (3e-2, 8), (1e-1, 4), (1e-1, 8)]
    assert {c["train_data"] for c in prompt} == {"source"}
    assert planned_trials(spec) == len(configs) == 8


def test_optuna_samples_each_methods_own_learning_rate_range(tmp_path):
    spec = parse_spec(per_method_spec(tmp_path, "optuna_tpe"))
    space = OptunaSpace(spec)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    seen = set()
    for _ in range(40):
        trial = study.ask()
        config = decode_config({**space(trial), **trial.params})
        params = TrialParams.from_flat(config)
        seen.add((params.method, params.train_data))
        low, high = (1e-2, 3e-1) if params.method == "prompt_tuning" else (1e-5, 1e-3)
        assert low <= params.lr <= high, config
        study.tell(trial, 0.0)
    assert seen == {("full", "source"), ("full", "translate_train"), ("prompt_tuning", "source")}


@pytest.mark.parametrize("methods, field, expected", [
    ({"full": {"lr": []}}, "search.methods.full.lr", "a non-empty list of learning rates"),
    ({"full": {"lr": [-1.0]}}, "search.methods.full.lr[0]", "a learning rate must be a finite number > 0"),
    ({"full": {"train_data": ["source", "mt"]}}, "search.methods.full.train_data[1]", "'source' or 'translate_train'"),
    ({"full": {"rank": 4}}, "search.methods.full.rank", "known: lr, train_data"),
])
def test_a_bad_per_method_setting_is_refused_naming_its_field(tmp_path, methods, field, expected):
    from xlsearch.spec import SpecError

    raw = lab_spec(tmp_path)
    raw["search"]["methods"] = methods
    with pytest.raises(SpecError) as err:
        parse_spec(raw)
    assert err.value.field == field and expected in str(err.value)


# ---------------------------------------------------------------------------------------------
# A lab sweep with the translate-train ceiling, on a real local Ray


@pytest.mark.slow
def test_a_lab_sweep_sets_the_perfect_translation_ceiling_beside_the_zero_shot_choice(tmp_path):
    import secrets

    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    raw = lab_spec(tmp_path / "store", name="lab-ceiling", translation={"model": "perfect-translation"})
    raw["search"]["lr"] = [1e-3]
    raw["training"].update({"steps_per_round": 4, "rounds": 1})
    spec = write_spec(tmp_path, raw)
    out = subprocess.run([*XLSEARCH, "run", str(spec), "--num-cpus", "2"], env={**env(), "RAY_AUTH_TOKEN_PATH": str(token)},
                         capture_output=True, text=True, timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    summary = json.loads((tmp_path / "store" / "lab-ceiling" / "summary.json").read_text())
    assert summary["best"]["config"][keys.TRAIN_DATA] == "source"
    assert summary["translate_train_best"]["config"][keys.TRAIN_DATA] == "translate_train"
    # Translated once per target, before the trials, by the sweep itself.
    assert out.stdout.count("translated now") == 2 and len(translation_folders(tmp_path / "store")) == 2
    assert "full (translate-train)" in out.stdout and "zero-shot / translate-train" in out.stdout
    # MLflow marks the arm on the trial's run.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=summary["tracking_uri"])
    experiment = client.get_experiment_by_name("lab-ceiling")
    runs = client.search_runs([experiment.experiment_id], "tags.`xlsearch.role` = 'trial'")
    marks = sorted((r.data.tags[keys.TRAIN_DATA], "translate-train" in r.info.run_name) for r in runs)
    assert marks == [("source", False), ("translate_train", True)]


def test_the_sweep_keeps_the_translate_train_choices_weights_beside_the_best_zero_shot_ones():
    from xlsearch.sweep.disk import keep_and_drop

    def record(trial_id, data, source):
        return {"trial_id": trial_id, "config": {"lr": 1e-3, "method": "full", "intermediate_tuning": "none",
                                                   keys.TRAIN_DATA: data},
                "metrics": {keys.ROUND: 1, keys.source_dev("rougeL"): source}}
    records = [record("a", "source", 40.0), record("b", "translate_train", 60.0), record("c", "source", 45.0),
               record("d", "translate_train", 55.0), record("e", "source", 30.0)]
    keep, drop = keep_and_drop(records, keys.source_dev("rougeL"), keep_best=2)
    assert keep == {"c", "a", "b"} and drop == {"d", "e"}
    # Translate-train trials that end before any zero-shot one: their choice stays all the same.
    assert keep_and_drop(records[1::2][:2], keys.source_dev("rougeL"), keep_best=2) == ({"b"}, {"d"})
    assert keep_and_drop(records, keys.source_dev("rougeL"), keep_best=0) == (set(), {"a", "b", "c", "d", "e"})


def test_the_report_of_a_sweep_whose_translate_train_trials_ran_further_names_the_zero_shot_choice():
    """Each arm is compared at its own furthest round: a zero-shot trial at round 2 is the
    zero-shot choice even when a translate-train trial already reached round 3."""
    import pandas as pd

    from analysis.frame import _finish
    from analysis.report import analyze, choice_table, zero_shot_line

    rows = []
    for trial, data, rounds, source in (("A", "source", 2, 40.0), ("B", "translate_train", 3, 70.0)):
        for r in range(1, rounds + 1):
            rows.append({keys.TRIAL_ID: trial, "lr": 1e-3, "method": "full", "intermediate_tuning": "none",
                         keys.TRAIN_DATA: data, keys.ROUND: r, keys.source_dev("rougeL"): source + r,
                         keys.target("de", "rougeL"): 10.0 * r, keys.target("de", keys.WRONG_LANGUAGE_RATE): 0.1})
    result = analyze(_finish(pd.DataFrame(rows), 3, "two-arms"))
    assert result.zero_shot.trial_id == "A" and "trial A" in zero_shot_line(result)
    table = choice_table(result, "source_dev", "score")
    assert table.loc[("full", "none"), "de"] == 20.0 and table.loc[("full (translate-train)", "none"), "de"] == 30.0


def test_a_methods_own_lr_reads_1e_2_as_yaml_writes_it(tmp_path):
    """YAML 1.1 reads ``1e-2`` (no dot) as a string: search.lr takes it as a number, and so does a
    method's own lr."""
    text = yaml.safe_dump(lab_spec(tmp_path)).replace("methods:\n    full: {}", "methods:\n    full: {}\n"
                                                        "    prompt_tuning: {lr: [1e-2, 1e-1]}")
    raw = yaml.safe_load(text)
    assert raw["search"]["methods"]["prompt_tuning"]["lr"] == ["1e-2", "1e-1"]
    spec = parse_spec(raw)
    assert sorted({c["lr"] for c in grid_configs(spec) if c["method"] == "prompt_tuning"}) == [1e-2, 1e-1]


def test_a_sweep_with_no_zero_shot_trial_or_a_ceiling_the_world_cannot_write_is_refused(tmp_path):
    from xlsearch.spec import SpecError

    raw = lab_spec(tmp_path)
    raw["search"]["train_data"] = ["translate_train"]
    with pytest.raises(SpecError) as err:
        parse_spec(raw)
    assert err.value.field == "search.train_data" and "no method trains on 'source'" in str(err.value)
    raw = lab_spec(tmp_path, translation={"model": "perfect-translation"}, target_languages=["de", "el"])
    raw["data"]["el"] = {"dev": {"path": str(tmp_path / "el.jsonl")}}
    (tmp_path / "el.jsonl").write_text(json.dumps({"id": "1", "text": "Γεια", "summary": "Γεια"}) + "\n")
    with pytest.raises(SpecError) as err:
        parse_spec(raw)
    assert err.value.field == "translation.model" and "no perfect translation into 'el'" in str(err.value)
