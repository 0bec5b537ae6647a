"""A real MLflow server for integration tests, started with the command line of ``xlsearch ui``."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Iterator

from xlsearch.tracking import ui_command


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def serve(tracking_uri: str, port: int | None = None, host: str = "127.0.0.1",
          timeout_s: float = 90.0) -> Iterator[str]:
    """Run an MLflow server on ``tracking_uri`` for the duration of the block; yields its base
    URL (``http://127.0.0.1:<port>``) once ``/health`` answers. The server and its workers run
    in their own process group, which is terminated on exit."""
    port = port or _free_port(host)
    argv, env = ui_command(tracking_uri, host=host, port=port)
    url = f"http://{host}:{port}"
    with tempfile.TemporaryFile("w+b") as log:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_healthy(url, proc, log, timeout_s)
            yield url
        finally:
            _stop(proc)


def _log_tail(log, chars: int = 3000) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-chars:]


def _wait_healthy(url: str, proc: subprocess.Popen, log, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with code {proc.returncode} before "
                               f"answering at {url}; its output ends:\n{_log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"mlflow server did not answer at {url}/health within "
                               f"{timeout_s:.0f} s; its output ends:\n{_log_tail(log)}")
        time.sleep(0.25)


def _stop(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate the server's process group (uvicorn workers included), then kill it if needed."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    # Workers may outlive the leader briefly; make sure none of the group is left.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
