"""The spec's JSON Schema (`xlsearch schema`, docs/reference/spec.schema.json) against the specs
that ship: every one names it on its first line for editors and is valid under it; a misspelled
key or a value out of bounds is invalid under it, as `xlsearch validate` refuses it too."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from xlsearch.spec import SpecError, SpecLoader, shape_spec
from xlsearch.spec_schema import SCHEMA_FILE, schema_text, spec_json_schema

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*REPO.glob("search_spaces/**/*.yaml"), *REPO.glob("benchmarks/*.yaml")])
SCHEMA_LINE = "# yaml-language-server: $schema="


class YAML12Loader(SpecLoader):
    """A spec read as editors read it (YAML 1.2's core schema): ``1e-4`` is a number, as it is
    for pydantic (PyYAML's YAML 1.1 reads it as a string, which the spec's number fields accept)."""


YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"),
    list("-+0123456789."))


def load(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=YAML12Loader)  # noqa: S506 - a SafeLoader


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((REPO / SCHEMA_FILE).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_what_the_code_makes():
    assert (REPO / SCHEMA_FILE).read_text() == schema_text(), "run python -m xlsearch.docgen"


def test_there_are_shipped_specs():
    assert len(SHIPPED) >= 10 and any("study" in p.parts for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_spec_names_the_schema_and_is_valid_under_it(path, validator):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(SCHEMA_LINE), f"{path.name}: the first line is not the editors' schema line"
    assert (path.parent / first.removeprefix(SCHEMA_LINE)).resolve() == REPO / SCHEMA_FILE
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in validator.iter_errors(load(path))]
    assert not errors, errors


LAB = REPO / "search_spaces" / "lab.yaml"


def _spelled(raw: dict) -> dict:
    """The lab's spec with ``training`` misspelled."""
    raw = copy.deepcopy(raw)
    raw["trainig"] = raw.pop("training")
    return raw


@pytest.mark.parametrize("change, where", [
    (_spelled, "'trainig' was unexpected"),
    (lambda raw: {**raw, "search": {**raw["search"], "algorithm": "bayes"}}, "'bayes' is not one of"),
    (lambda raw: {**raw, "training": {**raw["training"], "rounds": 0}}, "less than or equal to the minimum of 0"),
    (lambda raw: {**raw, "scheduler": "hyperband"}, "'hyperband'"),
    (lambda raw: {**raw, "data": {"de": {"test": {"builtin": "lab"}}}}, "'test'"),
    (lambda raw: {**raw, "name": "my sweep"}, "does not match"),
    (lambda raw: {k: v for k, v in raw.items() if k != "model"}, "'model' is a required property"),
], ids=["misspelled key", "unknown algorithm", "zero rounds", "unknown scheduler", "unknown split", "bad name",
        "missing model"])
def test_a_bad_spec_is_invalid_under_the_schema_and_refused_by_the_spec(change, where, validator):
    raw = load(LAB)
    assert not list(validator.iter_errors(raw))
    bad = change({k: v for k, v in raw.items()})
    messages = [e.message for e in validator.iter_errors(bad)]
    assert any(where in m for m in messages), messages
    with pytest.raises(SpecError):
        shape_spec(bad)


def test_the_schema_keeps_what_the_spec_accepts(validator):
    """The shorthand, ranges and constants of searched values, numbers in YAML's `1e-4` form."""
    raw = load(LAB)
    raw.update(scheduler="asha", search={**raw["search"], "lr": {"low": 1e-5, "high": 1e-3, "log": True},
                                          "methods": {"adapters": {"rank": [4, 8], "alpha": 16,
                                                                   "dropout": {"low": 0.0, "high": 0.2}}}})
    assert not list(validator.iter_errors(raw))
    shape_spec(raw)
    assert "base_dir" not in spec_json_schema()["properties"]
