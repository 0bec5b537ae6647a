"""The command line that ``xlsearch ui`` runs: the MLflow UI on a sweep's store."""
from __future__ import annotations

import sys

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
