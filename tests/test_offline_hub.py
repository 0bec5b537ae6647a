"""A hub that cannot be reached is answered in one line, at once, by every command that checks a
spec: no line of the hub client's retries, the field named, and what to do. The hub is made
unreachable for the commands here whatever the machine's network: its endpoint is a name that
never resolves (RFC 6761's `.invalid`), or a local port nothing listens on."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
XLSEARCH = [sys.executable, "-m", "xlsearch"]
SHIPPED = sorted(str(p.relative_to(REPO)) for p in (REPO / "search_spaces").rglob("*.yaml"))
HUB_SPEC = "search_spaces/xquad_mt5_grid.yaml"  # the hub's mT5 and SQuAD/XQuAD


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nothing listens there


def environment(**changes) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_ENDPOINT")}
    return {**env, "HF_ENDPOINT": "https://hub.invalid", **changes}


def xlsearch(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*XLSEARCH, *args], env=env or environment(), capture_output=True, text=True, cwd=REPO,
                          timeout=600)


def test_validate_says_in_one_line_per_spec_that_the_hub_cannot_be_reached():
    out = xlsearch("validate", *SHIPPED)
    lines = out.stderr.splitlines()
    assert out.returncode == 2 and "Retry" not in out.stderr and "Retry" not in out.stdout, out.stderr[-3000:]
    refused = [line for line in lines if line.startswith("xlsearch: error:")]
    assert len(refused) == len(lines), lines  # nothing but the one line per refused spec
    assert len(refused) >= 8  # the study's hub-backed specs and the hub examples
    for line in refused:
        assert "the hub cannot be reached (hub.invalid: name lookup failed" in line, line
        assert "--no-data" in line and "HF_HUB_OFFLINE=1" in line, line
    ok = [spec for spec in SHIPPED if f"{spec}: ok" in out.stdout]
    assert len(ok) + len(refused) == len(SHIPPED)


def test_a_refused_connection_is_named_too():
    out = xlsearch("validate", HUB_SPEC, env=environment(HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}"))
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    assert "model = 'mt5-base'" in out.stderr and "the hub cannot be reached (127.0.0.1:" in out.stderr


def test_with_the_offline_switch_the_local_cache_is_what_is_checked(tmp_path):
    env = environment(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))  # an empty cache
    out = xlsearch("validate", HUB_SPEC, env=env)
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr
    assert "not in the local hub cache and HF_HUB_OFFLINE is set" in out.stderr
    assert "--no-data" not in out.stderr
    spec_alone = xlsearch("validate", HUB_SPEC, "--no-data", env=env)
    assert spec_alone.returncode == 0, spec_alone.stderr


@pytest.mark.parametrize("command", [["trial", HUB_SPEC], ["estimate", HUB_SPEC, "--num-cpus", "1"],
                                     ["run", HUB_SPEC, "--num-cpus", "1"],
                                     ["translate", "search_spaces/study/xquad_mt5-base.yaml"]])
def test_every_command_that_checks_a_spec_says_it_in_the_same_line_before_any_compute(command):
    out = xlsearch(*command)
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert len(out.stderr.splitlines()) == 1 and "the hub cannot be reached" in out.stderr, out.stderr[-2000:]
    assert "Retry" not in out.stdout + out.stderr and "Ray" not in out.stdout + out.stderr
