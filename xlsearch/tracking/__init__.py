"""MLflow tracking of a sweep, one module per concern:

- ``runs``: :class:`SweepTracker`, a parent run per sweep and a nested child run per trial
- ``secrets``: which names are secrets; :func:`scrub` and ``redact`` keep them out of MLflow
- ``store``: where a sweep's runs and artifacts are stored (SQLite in the sweep directory)
- ``ui``: the command line that ``xlsearch ui`` runs
"""
from xlsearch.tracking.runs import TAG_ROLE, TAG_SWEEP, TAG_TRIAL_ID, SweepTracker
from xlsearch.tracking.secrets import is_secret_name, scrub
from xlsearch.tracking.store import default_artifact_root, default_tracking_uri
from xlsearch.tracking.ui import ui_command

__all__ = [
    "TAG_ROLE",
    "TAG_SWEEP",
    "TAG_TRIAL_ID",
    "SweepTracker",
    "default_artifact_root",
    "default_tracking_uri",
    "is_secret_name",
    "scrub",
    "ui_command",
]
