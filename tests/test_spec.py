"""Spec validation: every shipped spec passes; every bad spec exits 2 with one line naming the
field, the value and what is allowed, and writes nothing."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xlsearch.cli import main
from xlsearch.checks import load_spec, parse_spec
from xlsearch.space import planned_trials
from xlsearch.spec import SpecError
from shared_data import TEST_DATA

REPO = Path(__file__).resolve().parents[1]
SPECS = sorted((REPO / "search_spaces").glob("*.yaml"))

GOOD = {
    "name": "t",
    "task": "xquad",
    "model": "tiny-mt5",
    "target_languages": ["de", "zh"],
    "data": {
        "en": {"train": {"path": str(TEST_DATA / "squad/squad_v1.1_en_train_sample.json")},
               "dev": {"path": str(TEST_DATA / "squad/squad_v1.1_en_val_sample.json")}},
        "de": {"dev": {"path": str(TEST_DATA / "xquad/xquad.de.json")}},
        "zh": {"dev": {"path": str(TEST_DATA / "xquad/xquad.zh.json")}},
    },
    "search": {"algorithm": "grid", "lr": [1e-4, 3e-4],
               "methods": {"full": {}, "adapters": {"rank": [4, 8]}}},
    "budget": {"max_trials": 10},
}


def with_change(path: str, value):
    """GOOD with one dotted path set (``None`` as value deletes the key)."""
    spec = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = spec
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return spec


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_shipped_specs_are_valid(path):
    spec = load_spec(path)
    assert planned_trials(spec) > 0


def test_good_spec_parses_with_defaults():
    spec = parse_spec(GOOD)
    assert spec.source_languages == ["en"]
    assert spec.scheduler.type == "asha" and spec.training.rounds == 5
    assert planned_trials(spec) == 2 * (1 + 2)  # 2 LRs x (full + adapters with 2 ranks)


BAD = [
    # (change, field, value shown, words of the rule)
    (("surprise", 1), "surprise", "1", "unknown key; allowed keys here:"),
    (("search.lr", {"low": -1e-5, "high": 1e-3}), "search.lr.low", "-1e-05", "> 0"),
    (("search.lr", {"low": 0, "high": 1e-3}), "search.lr.low", "0.0", "> 0"),
    (("search.lr", {"low": 1e-2, "high": 1e-3}), "search.lr.low", "0.01", "<= search.lr.high"),
    (("search.lr", [1e-4, -3e-4]), "search.lr[1]", "-0.0003", "> 0"),
    (("search.methods", {"lora": {}}), "search.methods", "'lora'", "known: full, prompt_tuning"),
    (("search.methods", {"adapters": {"rank": 0}}), "search.methods.adapters.rank", "0", "an integer >= 1"),
    (("search.methods", {"adapters": {"size": 4}}), "search.methods.adapters.size", "4", "known: rank"),
    (("search.methods", {"mix_target": {"mix_ratio": 1.5}}), "search.methods.mix_target.mix_ratio", "1.5", "<= 1"),
    (("search.methods", {"multi_source": {"source_languages": ["en", "xx"]}}),
     "search.methods.multi_source.source_languages", "'xx'", "supported ISO 639-1 codes"),
    (("target_languages", ["de", "klingon"]), "target_languages[1]", "'klingon'", "supported ISO 639-1 codes"),
    (("task", "xnli"), "task", "'xnli'", "'xlsum' or 'xquad'"),
    (("model", "mt6-base"), "model", "'mt6-base'", "registry name"),
    (("training.rounds", "many"), "training.rounds", "'many'", "integer"),
    (("budget.gpu_hours", -1), "budget.gpu_hours", "-1", "greater than 0"),
    (("budget.max_trials", 3), "budget.max_trials", "3", "the grid has 6 trials"),
    (("data.de.dev", {"path": "/nonexistent/xquad.de.json"}), "data.de.dev.path", "'/nonexistent/xquad.de.json'", "no such file"),
    (("data.de.dev", {"path": "a.json", "hub": "google/xquad"}), "data.de.dev", None, "exactly one of path, hub or builtin"),
    (("search.algorithm", "grid_search"), "search.algorithm", "'grid_search'", "'optuna_tpe', 'random' or 'grid'"),
    (("scheduler.grace_period", 9), "scheduler.grace_period", "9", "<= training.rounds"),
    (("name", "my sweep/1"), "name", "'my sweep/1'", "names a folder"),
    (("resources.gpus_per_worker", -1), "resources.gpus_per_worker", None, ">= 0"),
]


@pytest.mark.parametrize("change,field,value,rule", BAD, ids=[b[1] + "|" + str(b[0][1])[:20] for b in BAD])
def test_bad_spec_names_field_value_and_rule(change, field, value, rule, tmp_path, capsys):
    raw = with_change(*change)
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    err = info.value
    assert err.field == field
    if value is not None:
        assert repr(err.value) == value or str(err.value) == value
    assert rule in err.allowed

    # Through the CLI: exit 2, exactly one line on stderr, nothing written.
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text(yaml.safe_dump({**raw, "storage": str(tmp_path / "results")}))
    before = set(tmp_path.rglob("*"))
    assert main(["validate", str(spec_file)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]
    assert set(tmp_path.rglob("*")) == before


def test_language_without_model_token_is_refused():
    # Greek has no mBART-50 language token.
    with pytest.raises(SpecError) as info:
        parse_spec(with_change("model", "tiny-mbart") | {"target_languages": ["el"]})
    assert info.value.field == "target_languages[0]"
    assert "mbart supports:" in info.value.allowed


def test_relative_paths_resolve_from_the_spec_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "dev.json").write_text((TEST_DATA / "xquad/xquad.de.json").read_text())
    raw = with_change("data.de.dev", {"path": "data/dev.json"})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw))
    assert load_spec(tmp_path / "s.yaml").resolve_path("data/dev.json") == data / "dev.json"
    with pytest.raises(SpecError, match="no such file"):
        parse_spec(raw, base_dir=REPO)


def test_invalid_yaml_and_missing_file(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(tmp_path / "broken.yaml")
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "absent.yaml")


def test_console_script_validates_every_shipped_spec():
    # --no-data: three shipped specs read the hub, which tests cannot reach (see test_datacheck.py).
    out = subprocess.run([sys.executable, "-m", "xlsearch", "validate", "--no-data", *map(str, SPECS)],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(": ok (") == len(SPECS)


def test_console_script_reads_the_data_of_every_shipped_spec():
    """Without --no-data the data is read too: builtin data is counted, and offline (the tests'
    HF_HUB_OFFLINE) each hub spec gives one line saying its model or data is not in the cache."""
    out = subprocess.run([sys.executable, "-m", "xlsearch", "validate", *map(str, SPECS)],
                         capture_output=True, text=True, cwd=REPO)
    local = [p for p in SPECS if p.name in ("demo.yaml", "lab.yaml", "lab_ceiling.yaml", "lab_full.yaml")]
    assert out.returncode == 2
    assert out.stdout.count(": ok (") == len(local) and out.stdout.count("  examples: ") == len(local)
    errors = out.stderr.strip().splitlines()
    assert len(errors) == len(SPECS) - len(local), out.stderr
    assert all("not in the local hub cache and HF_HUB_OFFLINE is set" in line for line in errors), out.stderr


def test_builtin_data_without_the_language_is_refused():
    raw = with_change("data.zh.dev", {"builtin": "toy"})
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    assert info.value.field == "data.zh.dev.builtin" and "has no language 'zh'" in info.value.allowed
