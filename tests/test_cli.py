"""The command line as a user meets it: `xlsearch trial` end to end, and bad input refused."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "search_spaces" / "demo.yaml"


def xlsearch(*args, **kw):
    return subprocess.run([sys.executable, "-m", "xlsearch", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=600, **kw)


@pytest.mark.slow
def test_trial_on_the_demo_spec_prints_the_language_table(tmp_path):
    out = xlsearch("trial", str(DEMO), "--set", "lr=3e-3", "--set", "method=full", "--output", str(tmp_path / "t"),
                   "--quiet")
    assert out.returncode == 0, out.stderr[-3000:]
    rounds = [json.loads(line) for line in (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rounds] == [1, 2, 3]
    for lang in ("de", "es", "fr"):
        assert f"target/{lang}/wrong_language_rate" in rounds[-1]
        assert any(line.startswith(lang + " ") for line in out.stdout.splitlines())
    assert "en (source dev)" in out.stdout and "status: completed after 3 rounds" in out.stdout
    assert (tmp_path / "t" / "checkpoint" / "trainable.pt").is_file()


@pytest.mark.parametrize("sets,words", [
    (["lr=-1"], "lr = -1.0"),
    (["method=lora"], "known methods: full"),
    (["adapters.rank=0", "method=adapters"], "an integer >= 1"),
    (["it=bogus"], "the spec's settings are: none"),
    (["prompt_length"], "expected KEY=VALUE"),
    (["full.rank=3"], "not a parameter of this trial"),
])
def test_bad_trial_settings_exit_2_with_one_line(sets, words, tmp_path):
    args = [a for s in sets for a in ("--set", s)]
    out = xlsearch("trial", str(DEMO), *args, "--output", str(tmp_path / "t"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], out.stderr
    assert not (tmp_path / "t").exists()


def test_ui_refuses_a_folder_without_a_store(tmp_path):
    out = xlsearch("ui", str(tmp_path))
    assert out.returncode == 2 and "no mlflow.db there" in out.stderr


def test_ui_keeps_the_users_environment(tmp_path, monkeypatch):
    import subprocess

    from xlsearch.cli import main

    seen = {}

    class ExitedServer:  # the server's process, as if it had exited at once
        pid = 0

        def __init__(self, argv, env, **kw):
            seen.update(argv=argv, env=env, **kw)

        def poll(self):
            return 0

        def wait(self, timeout=None):
            return 0

    # The stop first: it imports mlflow, whose import runs a real subprocess (platform.processor).
    monkeypatch.setattr("xlsearch.tracking.ui.stop_group", lambda proc: None)
    monkeypatch.setattr(subprocess, "Popen", ExitedServer)
    monkeypatch.setenv("MLFLOW_SOMETHING", "kept")
    (tmp_path / "mlflow.db").write_bytes(b"")
    assert main(["ui", str(tmp_path), "--port", "5999", "--no-browser"]) == 0
    assert seen["env"]["MLFLOW_SOMETHING"] == "kept" and "PATH" in seen["env"]
    assert seen["env"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert seen["start_new_session"]  # its own process group, which xlsearch ui stops as a whole


def test_trial_settings_not_given_take_the_specs_first_choice_for_the_chosen_method(tmp_path):
    from xlsearch.checks import parse_spec
    from xlsearch.cli import trial_params_from_sets

    raw = yaml.safe_load(DEMO.read_text())
    raw["search"]["methods"] = {"full": {}, "adapters": {"rank": [16, 4], "dropout": {"low": 0.0, "high": 0.2},
                                                         "lr": {"low": 1e-4, "high": 1e-2, "log": True}}}
    spec = parse_spec(raw, base_dir=DEMO.parent)
    params = trial_params_from_sets(spec, ["method=adapters"])
    assert params.method_params == {"rank": 16, "dropout": 0.1} and abs(params.lr - 1e-3) < 1e-12
    assert trial_params_from_sets(spec, ["method=adapters", "adapters.rank=8"]).method_params["rank"] == 8
    assert trial_params_from_sets(spec, []).method_params == {}
