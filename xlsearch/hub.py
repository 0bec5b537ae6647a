"""Whether the Hugging Face hub can be used, asked once and answered at once.

The hub's clients retry a hub they cannot reach, with back-off (1, 2, 4, 8, 8 s, a log line each):
a spec checked on a machine without a route to the hub took 25 s and printed a dozen lines
before its own. So before any hub call, xlsearch asks here:

- the hub's offline switch (``HF_HUB_OFFLINE``, or ``HF_DATASETS_OFFLINE``) is set: only the
  local cache is used, and the clients fail at once on what it lacks;
- else one TCP connection to the hub's endpoint (``HF_ENDPOINT``, default huggingface.co),
  its name looked up and connected within :data:`PROBE_S` seconds; a failure is the answer,
  in words, for the process (it does not change while a command checks its input).

Plain Python and the standard library: the clients are not imported here.
"""
from __future__ import annotations

import functools
import os
import socket
import threading
from urllib.parse import urlparse

PROBE_S = 1.5  # the hub answers a TCP connection in milliseconds where it is reachable
OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
WHAT_TO_DO = ("give a local `path:` (or a local model directory) instead, check the spec alone with "
              "`xlsearch validate --no-data`, or set HF_HUB_OFFLINE=1 to use what the local cache holds")


def offline_switch() -> str | None:
    """The name of the hub's offline switch that is on, or None."""
    return next((name for name in OFFLINE_SWITCHES
                 if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")), None)


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


@functools.lru_cache(maxsize=None)
def _probe(url: str, timeout_s: float) -> str | None:
    parsed = urlparse(url)
    host = parsed.hostname or url
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                outcome.append(None)
        except socket.gaierror as err:
            outcome.append(f"{host}: name lookup failed ({err.strerror or err})")
        except OSError as err:
            outcome.append(f"{host}:{port}: {err.strerror or type(err).__name__}")

    # A name lookup has no timeout of its own: it runs in a thread that is not waited for longer.
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout_s + 0.2)
    if not outcome:
        return f"{host}:{port}: no answer within {timeout_s:g} s"
    return outcome[0]


def unreachable() -> str | None:
    """Why the hub cannot be reached now, in a few words, or None when it can (or when only the
    local cache is used: see :func:`offline_switch`)."""
    if offline_switch():
        return None
    return _probe(endpoint(), PROBE_S)


def cached_file(repo_id: str, filename: str, repo_type: str = "model") -> bool:
    """Whether the local hub cache holds ``filename`` of ``repo_id`` (no network)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, repo_type=repo_type)
    return isinstance(found, str)
