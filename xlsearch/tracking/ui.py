"""``xlsearch ui``: the MLflow UI on a sweep's store, started and stopped as one program.

The server runs in a process group of its own (``mlflow ui`` starts uvicorn workers), so that
the signals a user sends to ``xlsearch ui`` (Ctrl-C, SIGTERM) stop all of it and free the port,
instead of leaving the server running behind a dead parent.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Callable

from xlsearch.tracking.store import default_artifact_root, sqlite_path


def ui_command(tracking_uri: str, host: str = "127.0.0.1", port: int = 5000) -> tuple[list[str], dict[str, str]]:
    """``(argv, env)`` that start the MLflow UI on ``tracking_uri``; ``env`` holds the variables
    to add to the current environment. One worker and no job runner: the default starts 4
    workers and a job runner of 7 processes (~2 GB), too much beside a sweep on a small machine."""
    argv = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri,
            "--host", host, "--port", str(port), "--workers", "1"]
    db = sqlite_path(tracking_uri)
    if db is not None:
        # Experiments made by the tracker carry their own artifact location; these only matter
        # for experiments created through the UI, and keep ./mlartifacts out of the cwd.
        root = default_artifact_root(db.parent)
        argv += ["--default-artifact-root", root, "--artifacts-destination", root]
    return argv, {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (with SO_REUSEADDR, as servers bind:
    connections a stopped server left in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class _Stop(Exception):
    """A signal asked ``xlsearch ui`` to stop."""


def _raise_stop(signum, frame):
    raise _Stop(signum)


def serve(tracking_uri: str, host: str, port: int, on_ready: Callable[[str, int], None],
          timeout_s: float = 120.0) -> int:
    """Run the MLflow UI until it exits or this process gets SIGINT or SIGTERM, which stop the
    server's whole process group. ``on_ready(base_url, server_pid)`` is called once the server
    answers. Returns the server's exit code, or 0 when a signal stopped it."""
    argv, env = ui_command(tracking_uri, host=host, port=port)
    base_url = f"http://{host}:{port}"
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    proc = None
    try:
        # ui_command's variables are added to the user's environment, not a replacement for it.
        proc = subprocess.Popen(argv, env={**os.environ, **env}, start_new_session=True)
        if _wait_healthy(base_url, proc, timeout_s):
            on_ready(base_url, proc.pid)
        return proc.wait()
    except (_Stop, KeyboardInterrupt):
        return 0
    finally:
        # A second Ctrl-C or SIGTERM must not cut the stop short and leave the server running.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        if proc is not None:
            stop_group(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_healthy(base_url: str, proc: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    return False


def stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate the server's process group (its workers too), then kill what is left."""
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
    try:  # workers may outlive the leader briefly
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
