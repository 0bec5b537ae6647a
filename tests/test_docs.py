"""The documentation: a README a newcomer reads in one screen, a site that builds with `mkdocs
build --strict` (a broken link or anchor, or a page outside the nav, fails it), references
generated from the code that match the committed pages, and every spec the docs show valid."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from test_schema import YAML12Loader
from xlsearch import docgen, spec as spec_module
from xlsearch.spec import shape_spec
from xlsearch.spec_schema import SCHEMA_FILE

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = REPO / "README.md"


def test_the_readme_is_one_screen_of_a_newcomers_way_in():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; the site holds the rest"
    text = "\n".join(lines)
    # The two set-up commands, the test command being the line CI runs.
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert re.search(r"```bash\npython3 -m venv \.venv && \. \.venv/bin/activate && " + re.escape(ci) + r"\n```", text)
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . && " \
           "xlsearch lab build && xlsearch run search_spaces/lab.yaml && xlsearch analyze " \
           "~/xlsearch_results/lab-sweep" in text
    assert "Chromium" in text and "skipped" in text


def _slug(heading: str) -> str:
    from markdown.extensions.toc import slugify

    return slugify(re.sub(r"\s*\{#[^}]*\}\s*$", "", heading).replace("`", ""), "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    anchors = set()
    for line in text.splitlines():
        if line.startswith("#"):
            explicit = re.search(r"\{#([^}]+)\}\s*$", line)
            anchors.add(explicit.group(1) if explicit else _slug(line.lstrip("#").strip()))
    return anchors


def test_the_readmes_links_reach_pages_and_headings_that_exist():
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text(encoding="utf-8"))
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert len(local) >= 10
    for link in local:
        path, _, anchor = link.partition("#")
        target = REPO / path
        assert target.is_file(), f"README.md links to {link}: no such file"
        if anchor:
            assert anchor in _anchors(target), f"README.md links to {link}: {path} has no heading #{anchor}"


def test_the_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                         cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, ("`mkdocs build --strict` failed (pip install -e '.[test]' brings mkdocs):\n"
                                 + out.stdout[-3000:] + out.stderr[-5000:])
    for page in ("index", "getting-started", "reference/spec", "reference/cli", "zero-shot-search"):
        assert (tmp_path / "site" / f"{page}.html").is_file()
    assert (tmp_path / "site" / SCHEMA_FILE.removeprefix("docs/")).is_file()


# ---------------------------------------------------------------------------------------------
# The references generated from the code


def test_the_generated_references_are_what_the_code_makes_now():
    assert docgen.stale() == [], "run `python -m xlsearch.docgen` and commit the pages it writes"


def test_every_spec_field_has_a_description():
    assert docgen.undescribed_fields() == [], "give each field Field(..., description=...) in xlsearch/spec.py"


def test_a_field_without_a_description_fails_the_generator(monkeypatch):
    class ExtraSpec(BaseModel):
        described: int = 0

    ExtraSpec.__module__ = spec_module.__name__
    ExtraSpec.model_fields["described"].description = None
    monkeypatch.setattr(spec_module, "ExtraSpec", ExtraSpec, raising=False)
    assert docgen.undescribed_fields() == ["ExtraSpec.described"]
    with pytest.raises(docgen.DocgenError, match="ExtraSpec.described"):
        docgen.spec_reference()


def test_a_command_without_exit_codes_fails_the_generator(monkeypatch):
    monkeypatch.delitem(docgen.EXIT_CODES, "new")
    with pytest.raises(docgen.DocgenError, match="new"):
        docgen.cli_reference()


def test_the_references_name_every_field_and_every_command():
    from xlsearch.cli import build_parser

    spec_page = (REPO / docgen.SPEC_PAGE).read_text()
    for field in spec_module.TrainingSpec.model_fields:
        assert f"| `{field}` |" in spec_page
    assert "| `target_eval_sample` | integer | `200` | >= 0, <= 10 000 000 |" in spec_page
    cli_page = (REPO / docgen.CLI_PAGE).read_text()
    for name, _, _ in docgen._commands(build_parser()):
        assert f"## `xlsearch {name}`" in cli_page


# ---------------------------------------------------------------------------------------------
# What the pages show


def _yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_every_spec_the_docs_show_is_valid():
    schema = json.loads((REPO / SCHEMA_FILE).read_text())
    shown = 0
    for page in [README, *sorted(DOCS.rglob("*.md"))]:
        for block in _yaml_blocks(page):
            raw = yaml.load(block, Loader=YAML12Loader)  # noqa: S506 - a SafeLoader
            if not isinstance(raw, dict) or "task" not in raw:
                continue
            shown += 1
            errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(raw)]
            assert not errors, f"{page.relative_to(REPO)}: {raw.get('name')}: {errors}"
            shape_spec(raw)
    assert shown >= 4


def _load_estimates():
    path = REPO / "benchmarks" / "study_estimates.py"
    module_spec = importlib.util.spec_from_file_location("study_estimates_docs", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


def test_the_study_page_table_is_the_estimates_scripts_output():
    estimates = _load_estimates()
    page = (DOCS / "study.md").read_text(encoding="utf-8").splitlines()
    assert estimates.MARKER in page, "docs/study.md lost the output of `python benchmarks/study_estimates.py`"
    times = estimates.load_times()
    specs = sorted((REPO / "search_spaces" / "study").glob("*.yaml"))
    expected = estimates.table([estimates.cost(p, times) for p in specs])
    start = page.index(estimates.MARKER)
    assert page[start:start + len(expected)] == expected, \
        "docs/study.md's table differs from `python benchmarks/study_estimates.py`; paste its output again"
