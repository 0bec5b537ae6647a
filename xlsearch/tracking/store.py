"""Where a sweep's MLflow data is stored: the tracking URI and the artifact root.

MLflow 3.17 refuses a ``file:`` store, so the default store is SQLite inside the sweep
directory, with the experiment's artifact location set explicitly (otherwise artifacts land in
``./mlruns`` of whatever directory the driver runs in).
"""
from __future__ import annotations

from pathlib import Path


def default_tracking_uri(sweep_dir: Path) -> str:
    """The SQLite store of one sweep: ``sqlite:///<abs sweep_dir>/mlflow.db``."""
    return f"sqlite:///{Path(sweep_dir).expanduser().resolve() / 'mlflow.db'}"


def default_artifact_root(sweep_dir: Path) -> str:
    """Where a sweep's artifacts go with a SQLite store: ``<sweep_dir>/mlartifacts`` as a file URI."""
    return (Path(sweep_dir).expanduser().resolve() / "mlartifacts").as_uri()


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative paths are relative to the cwd)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    return Path(tracking_uri[len(prefix):].split("?", 1)[0]).resolve()


def is_remote(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` is a tracking server (``http(s)://``) rather than a local store."""
    return tracking_uri.startswith(("http://", "https://"))
