"""`xlsearch new` as a newcomer uses it: a starter spec for their own files that `xlsearch validate`
accepts, hub defaults named where no file is given, an existing file kept, and every bad flag one
line, exit 2, nothing written. No model is loaded and no hub is reached."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import jsonschema
import pytest
import yaml

from test_schema import YAML12Loader
from xlsearch.spec_schema import SCHEMA_FILE

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SQUAD_TRAIN = DATA / "squad" / "squad_v1.1_en_train_sample.json"
SQUAD_DEV = DATA / "squad" / "squad_v1.1_en_val_sample.json"


def xlsearch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlsearch", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_a_starter_for_ones_own_qa_files_validates_with_its_data(tmp_path):
    for f in (SQUAD_TRAIN, SQUAD_DEV, DATA / "xquad" / "xquad.de.json"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    out = xlsearch("new", "--task", "xquad", "--model", "tiny-mt5", "--source", "en", "--targets", "de",
                   "--train", SQUAD_TRAIN.name, "--dev", SQUAD_DEV.name, "--data", "de:dev=xquad.de.json",
                   "-o", "my.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    # What it printed: what it wrote, then the next commands.
    assert out.stdout.startswith("wrote my.yaml: xquad, tiny-mt5, en -> de, grid of 3 trials"), out.stdout
    for command in ("xlsearch validate my.yaml", "xlsearch estimate my.yaml", "xlsearch run my.yaml"):
        assert command in out.stdout
    text = (tmp_path / "my.yaml").read_text()
    raw = yaml.load(text, Loader=YAML12Loader)
    # The user's files, named relative to the spec (where relative paths start), and no hub.
    assert raw["data"] == {"en": {"train": {"path": SQUAD_TRAIN.name}, "dev": {"path": SQUAD_DEV.name}},
                           "de": {"dev": {"path": "xquad.de.json"}}}
    assert raw["name"] == "my" and raw["search"]["algorithm"] == "grid" and len(raw["search"]["lr"]) == 3
    assert text.count("\n#") >= 5, "the starter explains itself in comments"
    jsonschema.validate(raw, json.loads((REPO / SCHEMA_FILE).read_text()))
    # Outside the checkout the editors' schema line names the committed schema by its absolute address.
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=file://"), first
    assert Path(unquote(urlparse(first.split("$schema=", 1)[1]).path)) == REPO / SCHEMA_FILE
    # `xlsearch validate` reads the files it names: 245 SQuAD training questions, 81 dev, 59 German.
    check = xlsearch("validate", "my.yaml", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "examples: en train 245, dev 81; de dev 59" in check.stdout, check.stdout


def test_hub_defaults_are_named_where_no_file_is_given(tmp_path):
    out = xlsearch("new", "--task", "xquad", "--model", "mt5-base", "--source", "en", "--targets", "de,th",
                   "-o", "qa.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "qa.yaml").read_text()
    assert "#   en train: rajpurkar/squad (split train)" in text
    assert "#   th dev: google/xquad (config xquad.th, split validation)" in text
    assert yaml.load(text, Loader=YAML12Loader)["data"] == {}
    check = xlsearch("validate", "--no-data", "qa.yaml", cwd=tmp_path)
    assert check.returncode == 0 and "qa.yaml: ok (xquad, mt5-base, grid, 3 trials, methods: full)" in check.stdout


def test_in_the_checkout_the_schema_line_is_relative(tmp_path):
    folder = Path(__import__("tempfile").mkdtemp(dir=REPO / "tests"))
    try:
        out = xlsearch("new", "--task", "xlsum", "--model", "lab-mt5", "--targets", "de", "--data",
                       "en:train=builtin:lab", "--data", "en:dev=builtin:lab", "--data", "de:dev=builtin:lab",
                       "--methods", "full,freeze_dec_emb", "-o", str(folder / "lab.yaml"), cwd=REPO)
        assert out.returncode == 0, out.stderr
        text = (folder / "lab.yaml").read_text()
        first = text.splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../../{SCHEMA_FILE}", first
        raw = yaml.load(text, Loader=YAML12Loader)
        assert raw["data"]["de"] == {"dev": {"builtin": "lab"}}
        assert list(raw["search"]["methods"]) == ["full", "freeze_dec_emb"] and raw["budget"]["max_trials"] == 6
    finally:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    (tmp_path / "my.yaml").write_text("mine\n")
    args = ["new", "--task", "xquad", "--model", "mt5-base", "--targets", "de", "-o", "my.yaml"]
    out = xlsearch(*args, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "xlsearch: error: -o my.yaml: the file exists; give --force to overwrite it"]
    assert (tmp_path / "my.yaml").read_text() == "mine\n"
    out = xlsearch(*args, "--force", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "task: xquad" in (tmp_path / "my.yaml").read_text()


BASE = ["--task", "xquad", "--model", "mt5-base", "--targets", "de", "-o", "new.yaml"]


@pytest.mark.parametrize("args, words", [
    (["--task", "qa", *BASE[2:]], "--task 'qa': one of xlsum, xquad"),
    (["--task", "xquad", "--model", "mt5-bass", *BASE[4:]], "--model 'mt5-bass': not a registry name"),
    (["--task", "xquad", "--model", "mbart-50", "--targets", "gd", "-o", "new.yaml"],
     "target_languages[0] = 'gd': mbart supports: af, ar"),
    (["--task", "xlsum", "--model", "mt5-base", "--targets", "de", "-o", "new.yaml"],
     "data.de.dev = None: no dev data for 'de' and the xlsum hub default has none"),
    (["--task", "xquad", "--model", "mt5-base", "--targets", "de,", "-o", "new.yaml"], "--targets 'de,'"),
    ([*BASE, "--data", "de-dev.json"], "--data 'de-dev.json': LANG:ROLE=FILE"),
    ([*BASE, "--data", "de:test=x.json"], "the role is one of train, dev, unlabeled"),
    ([*BASE, "--train", "missing.json"], "--train: no file 'missing.json'"),
    ([*BASE, "--methods", "full,lora"], "search.methods = 'lora': unknown method"),
    ([*BASE[:-1], "new.json"], "-o new.json: a spec file ends in .yaml"),
    ([*BASE[:-1], "nofolder/new.yaml"], "no folder 'nofolder'"),
    ([*BASE, "--bogus"], "new: unrecognized arguments: --bogus"),
    (BASE[2:], "new: the following arguments are required: --task"),
    ([*BASE, "--data"], "new: argument --data: expected one argument"),
])
def test_a_bad_flag_is_one_line_and_writes_nothing(tmp_path, args, words):
    out = xlsearch("new", *args, cwd=tmp_path)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stdout + out.stderr
    assert len(lines) == 1 and lines[0].startswith("xlsearch: error: ") and words in lines[0], out.stderr
    assert list(tmp_path.iterdir()) == [], "nothing is written"
    assert out.stdout == ""


def test_the_schema_command_prints_the_committed_schema(tmp_path):
    out = xlsearch("schema", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (REPO / SCHEMA_FILE).read_text()
    written = xlsearch("schema", "-o", "s.json", cwd=tmp_path)
    assert written.returncode == 0 and json.loads((tmp_path / "s.json").read_text()) == json.loads(out.stdout)
    assert re.search(r"\$schema=s\.json", written.stdout) or "s.json" in written.stdout
