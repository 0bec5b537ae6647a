"""The study's sweeps as shipped spec files (search_spaces/study/) and their cost estimate
(benchmarks/study_estimates.py): every file validates, the grids cover the study's design (each
method at its own learning rates, translate-train for full finetuning only), the budgeted
variants are budgeted searches over per-method LR ranges, and docs/study.md's table is the estimate
script's output. No Ray started, no network, no model loaded, no data read."""
from __future__ import annotations

import importlib.util
import itertools
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xlsearch.checks import load_spec
from xlsearch.methods import METHODS
from xlsearch.scripts import language_scripts
from xlsearch.space import method_lr, method_train_data, planned_trials, uses_train_data
from xlsearch.spec import Range

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "search_spaces" / "study"
SPECS = sorted(STUDY.glob("*.yaml"))
GRIDS = [f"{task}_{model}.yaml" for task in ("xlsum", "xquad") for model in ("mt5-base", "mbart-50", "nllb-600m")]
BUDGETED = ["xlsum_mt5-base_budgeted.yaml", "xquad_mt5-base_budgeted.yaml"]
# Full finetuning on other data or with a part frozen: searched at full finetuning's LRs.
FULL_LIKE = ("full", "freeze_dec_emb", "mix_target", "multi_source")


def _raw_search(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["search"]


def _load_script():
    path = REPO / "benchmarks" / "study_estimates.py"
    module_spec = importlib.util.spec_from_file_location("study_estimates", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module  # its dataclasses look their module up there
    module_spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def estimates():
    return _load_script()


@pytest.fixture(scope="module")
def costs(estimates):
    times = estimates.load_times()
    return {c.path.name: c for c in (estimates.cost(p, times) for p in SPECS)}


def test_the_study_folder_holds_the_six_grids_and_two_budgeted_variants():
    assert sorted(p.name for p in SPECS) == sorted(GRIDS + BUDGETED)
    assert not (STUDY / "README.md").exists()


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_study_spec_validates(path):
    spec = load_spec(path)  # the registries, languages, translation model; no data read
    task, _, model = path.stem.removesuffix("_budgeted").partition("_")
    assert (spec.task, spec.model) == (task, model)
    assert spec.source_languages == ["en"]
    assert spec.training.precision == "bf16" and spec.resources.gpus_per_worker == 1 and spec.resources.workers == 1
    assert spec.budget.gpu_hours is not None and spec.budget.max_trials == planned_trials(spec)
    # Zero-shot: no target language is trained on by multi_source.
    extra = spec.search.methods["multi_source"]["source_languages"]
    extra = extra[0] if isinstance(extra[0], list) else extra
    assert not set(extra) & set(spec.target_languages)


@pytest.mark.parametrize("name", GRIDS)
def test_each_grid_crosses_the_study_design(name):
    spec = load_spec(STUDY / name)
    s = spec.search
    assert s.algorithm == "grid" and spec.scheduler.type == "none"
    assert set(s.methods) == set(METHODS)
    assert "none" in s.intermediate_tuning and any(o != "none" for o in s.intermediate_tuning)
    # Every method has its own LRs and the spec none of its own; zero-shot data by default.
    raw = _raw_search(STUDY / name)
    assert "lr" not in raw and "train_data" not in raw
    assert all("lr" in raw["methods"][m] for m in METHODS)
    # Translate-train (the upper baseline) for full finetuning only.
    assert method_train_data(spec, "full") == ["source", "translate_train"]
    assert all(method_train_data(spec, m) == ["source"] for m in METHODS if m != "full")
    assert uses_train_data(spec, "translate_train") and spec.translation.model == "nllb-600m"
    lrs = {m: method_lr(spec, m) for m in METHODS}
    for method, lr in lrs.items():
        assert isinstance(lr, list) and 4 <= len(lr) <= 5, (method, lr)
        # Increasing in half-decades (x 3 or x 3.33).
        assert all(2.9 <= b / a <= 3.4 for a, b in itertools.pairwise(lr)), (method, lr)
    assert all(lrs[m] == lrs["full"] for m in FULL_LIKE)
    # LoRA above full finetuning, prompt tuning above both.
    assert min(lrs["adapters"]) > min(lrs["full"]) and max(lrs["adapters"]) > max(lrs["full"])
    assert min(lrs["prompt_tuning"]) > max(lrs["full"])
    assert min(lrs["prompt_tuning"]) >= max(lrs["adapters"])
    assert planned_trials(spec) == len(s.intermediate_tuning) * sum(
        len(lrs[m]) * len(method_train_data(spec, m)) for m in METHODS)
    scripts = {language_scripts(lang)[0] for lang in spec.target_languages}
    assert len(scripts) >= 3, scripts


def test_the_bart_style_families_finetune_at_lower_lrs_than_mt5():
    for task in ("xlsum", "xquad"):
        mt5 = load_spec(STUDY / f"{task}_mt5-base.yaml")
        for model in ("mbart-50", "nllb-600m"):
            spec = load_spec(STUDY / f"{task}_{model}.yaml")
            for method in ("full", "adapters"):
                assert max(method_lr(spec, method)) < max(method_lr(mt5, method)), (task, model, method)
            # A soft prompt trains from scratch whatever the family: the same LRs.
            assert method_lr(spec, "prompt_tuning") == method_lr(mt5, "prompt_tuning")


def test_the_grids_of_a_task_share_targets_where_the_families_allow():
    targets = {name: load_spec(STUDY / name).target_languages for name in GRIDS}
    assert targets["xlsum_mt5-base.yaml"] == targets["xlsum_mbart-50.yaml"] == targets["xlsum_nllb-600m.yaml"]
    assert targets["xquad_mt5-base.yaml"] == targets["xquad_nllb-600m.yaml"]
    # mBART-50 has no Greek: its XQuAD targets are the others' less el.
    assert targets["xquad_mbart-50.yaml"] == [t for t in targets["xquad_mt5-base.yaml"] if t != "el"]


@pytest.mark.parametrize("name", BUDGETED)
def test_the_budgeted_variants_are_tpe_with_asha_under_a_gpu_hour_cap(name):
    spec = load_spec(STUDY / name)
    s = spec.search
    assert s.algorithm == "optuna_tpe" and spec.scheduler.type == "asha"
    assert spec.budget.gpu_hours is not None
    assert set(s.methods) == set(METHODS)
    assert "lr" not in _raw_search(STUDY / name)
    lrs = {m: method_lr(spec, m) for m in METHODS}
    assert all(isinstance(lr, Range) and lr.log for lr in lrs.values()), lrs
    # The grid's range for each method.
    grid = load_spec(STUDY / name.replace("_budgeted", ""))
    for method, lr in lrs.items():
        assert (lr.low, lr.high) == (min(method_lr(grid, method)), max(method_lr(grid, method))), method
    assert "none" in s.intermediate_tuning and any(o != "none" for o in s.intermediate_tuning)
    assert not uses_train_data(spec, "translate_train")  # a zero-shot recipe
    # N is stated in a comment too.
    assert f"within {spec.budget.gpu_hours:g} GPU-hours" in (STUDY / name).read_text()


def test_the_estimate_splits_each_spec_into_its_methods_trials(costs):
    for name, c in costs.items():
        spec = load_spec(STUDY / name)
        assert math.isclose(c.trials, planned_trials(spec)), name
        assert {p.method for p in c.parts} == set(METHODS)
        if spec.search.algorithm == "grid":  # each method's trials: its own LRs and training data
            for method in METHODS:
                trials = sum(p.trials for p in c.parts if p.method == method)
                assert trials == len(method_lr(spec, method)) * len(method_train_data(spec, method)) * \
                    len(spec.search.intermediate_tuning), (name, method)


def test_a_methods_sub_spec_keeps_its_own_lr_and_train_data(estimates):
    spec = load_spec(STUDY / "xlsum_mt5-base.yaml")
    sub = estimates.with_one_setting(spec, "full", {})
    assert list(sub.search.methods) == ["full"]
    assert method_lr(sub, "full") == method_lr(spec, "full")
    assert method_train_data(sub, "full") == ["source", "translate_train"]
    assert planned_trials(sub) == 5 * 2 * 2
    sub = estimates.with_one_setting(spec, "prompt_tuning", {"prompt_length": 50})
    assert method_lr(sub, "prompt_tuning") == method_lr(spec, "prompt_tuning")
    assert not uses_train_data(sub, "translate_train")


def test_the_estimate_uses_the_measured_step_at_the_measured_shape(estimates):
    times = estimates.load_times()
    spec = load_spec(STUDY / "xlsum_mt5-base.yaml").model_copy()
    training = spec.training.model_copy(update={"max_output_length": 64})
    spec = spec.model_copy(update={"training": training})
    for method in ("full", "freeze_dec_emb", "adapters", "prompt_tuning"):
        params = {"prompt_length": 50} if method == "prompt_tuning" else {}
        assert math.isclose(estimates.step_seconds(spec, method, params, times),
                            times["step_ms"]["mt5-base"][method] / 1000)
    assert estimates.step_seconds(spec, "multi_source", {}, times) == estimates.step_seconds(spec, "full", {}, times)
    assert estimates.step_seconds(spec, "mix_target", {"mix_ratio": 0.5}, times) > \
        estimates.step_seconds(spec, "full", {}, times)


def test_every_estimate_is_positive_and_finite_and_fits_the_specs_budget(costs):
    for name, c in costs.items():
        spec = load_spec(STUDY / name)
        for value in (c.trials, c.rounds_per_trial, c.gpu_hours, c.wall_clock_hours, c.once_it_seconds):
            assert value > 0 and math.isfinite(value), (name, value)
        assert c.once_translation_seconds > 0 if uses_train_data(spec, "translate_train") \
            else c.once_translation_seconds == 0
        assert c.gpu_hours <= spec.budget.gpu_hours, (name, c.gpu_hours, spec.budget.gpu_hours)
        if spec.search.algorithm == "grid":  # a grid's budget leaves room, not a second grid
            assert spec.budget.gpu_hours <= 1.5 * c.gpu_hours, name


def test_the_script_prints_the_table_with_a_row_per_spec(estimates, capsys):
    assert estimates.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == estimates.MARKER
    rows = [line for line in out if line.startswith("| `search_spaces/study/")]
    assert [r.split("`")[1] for r in rows] == [f"search_spaces/study/{p.name}" for p in SPECS]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        trials, rounds, hours, wall = float(cells[4]), float(cells[5]), float(cells[6].replace(",", "")), \
            float(cells[8].removesuffix(" h").replace(",", ""))
        assert all(v > 0 and math.isfinite(v) for v in (trials, rounds, hours, wall)), row
    assert out[-1].startswith("| **total**")


def test_the_console_command_validates_a_study_spec():
    # --no-data: the study's data is on the hub, which tests cannot reach (see test_spec.py).
    out = subprocess.run([sys.executable, "-m", "xlsearch.cli", "validate", "--no-data",
                          str(STUDY / "xlsum_mt5-base.yaml")], check=False, capture_output=True, text=True,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert ": ok (xlsum, mt5-base, grid, 68 trials" in out.stdout
