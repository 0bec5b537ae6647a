"""The data a spec names is read and checked before any compute: every local file is opened, its
records checked against the task, and examples counted per language and split."""
from __future__ import annotations

import json
import os

import pytest
import yaml

from xlsearch.checks import load_spec, parse_spec
from xlsearch.cli import main
from xlsearch.spec import SpecError
from xlsearch.tasks import DataError, DataSource, get_task
from shared_data import TEST_DATA
from test_spec import GOOD, REPO, with_change


def check_data(spec):
    from xlsearch.datacheck import check_data

    return check_data(spec)


def test_counts_per_language_and_split():
    counts = check_data(parse_spec(GOOD))
    got = {(c.lang, c.role): c.examples for c in counts}
    assert got == {("en", "train"): 245, ("en", "dev"): 81, ("de", "dev"): 59, ("zh", "dev"): 59}


def test_validate_prints_the_counts(tmp_path, capsys):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump({**GOOD, "storage": str(tmp_path / "results")}))
    assert main(["validate", str(spec_file)]) == 0
    out = capsys.readouterr().out
    assert f"{spec_file}: ok (xquad" in out
    assert "examples: en train 245, dev 81; de dev 59; zh dev 59" in out


def test_validate_counts_builtin_data_of_the_demo(capsys):
    assert main(["validate", str(REPO / "search_spaces" / "demo.yaml")]) == 0
    out = capsys.readouterr().out
    assert "examples: en train 400, dev 400 (uses 40); de dev 400 (uses 40), unlabeled 400 (uses 200);" in out


def test_mix_target_needs_readable_unlabeled_text(tmp_path):
    bad = tmp_path / "de_text.json"
    bad.write_text("{}")
    raw = with_change("search.methods", {"mix_target": {}}) | {"target_languages": ["de"], "data": {
        "en": GOOD["data"]["en"], "de": {"dev": GOOD["data"]["de"]["dev"], "unlabeled": {"path": str(bad)}}}}
    spec = parse_spec(raw)
    with pytest.raises(SpecError) as info:
        check_data(spec)
    assert info.value.field == "data.de.unlabeled.path" and "'data'" in info.value.allowed


def test_intermediate_tuning_languages_need_text():
    # Russian has no data in the spec and XQuAD's hub default has no unlabeled/train split for it:
    # only its dev split, which the check reaches for (offline: unreachable) before any training.
    raw = with_change("search.intermediate_tuning", ["none", {"languages": ["en", "ru"]}])
    raw["budget"]["max_trials"] = 20
    with pytest.raises(SpecError) as info:
        check_data(parse_spec(raw))
    assert info.value.field == "data.ru.dev" and "google/xquad" in info.value.allowed


def test_a_file_removed_after_validation_is_one_line_in_trial(tmp_path, capsys, monkeypatch):
    """The trial's own loading (after the pre-check) also ends in one line and exit 2."""
    import xlsearch.datacheck as datacheck

    dev = tmp_path / "de.json"
    dev.write_text((TEST_DATA / "xquad/xquad.de.json").read_text())
    spec_file = tmp_path / "s.yaml"
    raw = with_change("data.de.dev", {"path": "de.json"}) | {"storage": str(tmp_path / "results")}
    spec_file.write_text(yaml.safe_dump(raw))
    real = datacheck.check_data

    def check_then_remove(spec):
        counts = real(spec)
        dev.unlink()
        return counts

    monkeypatch.setattr(datacheck, "check_data", check_then_remove)
    assert main(["trial", str(spec_file), "--quiet", "--set", "method=full"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "de.json" in lines[0] and "does not exist" in lines[0], lines
    assert not (tmp_path / "results").exists()


def test_load_names_the_record_and_what_was_expected(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "t", "summary": "s"}) + "\n\n" + json.dumps({"id": "b", "text": "t"}) + "\n")
    with pytest.raises(DataError) as info:
        get_task("xlsum").load(DataSource(path=str(path)), "en")
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "line 3" in message and "'summary'" in message


def test_json_lines_and_json_arrays_load_for_xlsum(tmp_path):
    rows = [{"id": i, "text": f"text {i}", "summary": f"sum {i}", "url": None} for i in range(3)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "b.json").write_text(json.dumps(rows))
    for name in ("a.jsonl", "b.json"):
        examples = get_task("xlsum").load(DataSource(path=str(tmp_path / name)), "en")
        assert [e.targets for e in examples] == [("sum 0",), ("sum 1",), ("sum 2",)]


def test_squad_rows_keep_their_shape():
    examples = get_task("xquad").load(DataSource(path=str(TEST_DATA / "xquad/xquad.de.json")), "de")
    assert len(examples) == 59 and all(e.targets and all(e.targets) for e in examples)
    assert examples[0].input_text.startswith("question: ")


def test_storage_is_resolved_from_the_spec_folder(tmp_path, monkeypatch):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "s.yaml").write_text(yaml.safe_dump({**GOOD, "storage": "results"}))
    monkeypatch.chdir(tmp_path)
    spec = load_spec(folder / "s.yaml")
    assert spec.sweep_dir == folder / "results" / GOOD["name"]
    assert parse_spec(spec.model_dump(), base_dir="/elsewhere").sweep_dir == spec.sweep_dir  # workers agree


def test_storage_flag_is_resolved_from_the_current_folder(tmp_path, monkeypatch):
    from xlsearch.cli import storage_override

    monkeypatch.chdir(tmp_path)
    assert storage_override("out") == str(tmp_path / "out")
    assert storage_override(None) is None


def test_storage_that_is_a_file_is_refused_with_the_flag_too(tmp_path, capsys):
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump({**GOOD, "storage": str(tmp_path / "results")}))
    (tmp_path / "plain").write_text("x")
    assert main(["estimate", str(spec_file), "--storage", str(tmp_path / "plain")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "storage" in lines[0] and "file" in lines[0]


def test_hub_source_offline_is_one_line():
    assert os.environ.get("HF_DATASETS_OFFLINE") == "1"
    raw = with_change("data.de.dev", {"hub": "google/xquad", "config": "xquad.de", "split": "validation"})
    with pytest.raises(SpecError) as info:
        check_data(parse_spec(raw))
    assert info.value.field == "data.de.dev.hub" and "not in the local hub cache" in info.value.allowed
    assert "HF_HUB_OFFLINE is set" in info.value.allowed and "\n" not in str(info.value)
