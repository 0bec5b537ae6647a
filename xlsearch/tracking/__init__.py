"""MLflow tracking of a sweep, one module per concern:

- ``runs``: :class:`SweepTracker`, a parent run per sweep and a nested child run per trial
- ``secrets``: which names are secrets; :func:`scrub` and ``redact`` keep them out of MLflow
- ``store``: where a sweep's runs and artifacts are stored (SQLite in the sweep directory), and
  re-rooting the artifacts of a sweep folder that was moved or copied
- ``view``: what the MLflow UI shows first (a saved view of the runs, and its address)
- ``ui``: ``xlsearch ui``'s server, started and stopped as one program
"""
from xlsearch.tracking.runs import TAG_ROLE, TAG_SWEEP, TAG_TRIAL_ID, SweepTracker, save_view
from xlsearch.tracking.secrets import is_secret_name, scrub
from xlsearch.tracking.store import default_artifact_root, default_tracking_uri, reroot_artifacts
from xlsearch.tracking.ui import serve, ui_command
from xlsearch.tracking.view import VIEW_TAG, Headline, runs_address

__all__ = [
    "TAG_ROLE",
    "TAG_SWEEP",
    "TAG_TRIAL_ID",
    "VIEW_TAG",
    "Headline",
    "SweepTracker",
    "default_artifact_root",
    "default_tracking_uri",
    "is_secret_name",
    "reroot_artifacts",
    "runs_address",
    "save_view",
    "scrub",
    "serve",
    "ui_command",
]
