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


def reroot_artifacts(sweep_dir: Path) -> list[str]:
    """Point the artifact locations in a sweep's store at the sweep's own ``mlartifacts``.

    MLflow records absolute artifact locations (the experiment's and every run's), so a sweep
    folder that was copied or moved would show the original folder's artifacts, or none once
    it is gone. Locations of this store that end in another folder's ``mlartifacts`` are
    rewritten; any other location is left alone. Returns the roots that were replaced."""
    from mlflow.store.tracking.dbmodels.models import SqlExperiment, SqlRun
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    sweep_dir = Path(sweep_dir).expanduser().resolve()
    new_root = default_artifact_root(sweep_dir)
    if not (sweep_dir / "mlflow.db").is_file():
        return []
    store = SqlAlchemyStore(default_tracking_uri(sweep_dir), new_root)
    replaced = []
    with store.ManagedSessionMaker(read_only=False) as session:
        for exp in session.query(SqlExperiment).all():
            old = (exp.artifact_location or "").rstrip("/")
            if old == new_root or not old.startswith("file:") or not old.endswith("/mlartifacts"):
                continue
            for run in session.query(SqlRun).filter(SqlRun.experiment_id == exp.experiment_id).all():
                if run.artifact_uri and run.artifact_uri.startswith(old + "/"):
                    run.artifact_uri = new_root + run.artifact_uri[len(old):]
            exp.artifact_location = new_root
            replaced.append(old)
    return sorted(set(replaced))
