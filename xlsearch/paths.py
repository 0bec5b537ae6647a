"""Where xlsearch keeps files that outlive a sweep: the miniature lab's built model and data.

``xlsearch lab build`` writes the lab to :func:`lab_dir` (``$XLSEARCH_LAB_DIR``, else
``~/xlsearch_results/lab``); the model registry loads ``lab-mt5`` from ``lab_dir()/model``. This
module imports nothing, so that both the registry and the lab's builder can read it.
"""
from __future__ import annotations

import os
from pathlib import Path

LAB_DIR_ENV_VAR = "XLSEARCH_LAB_DIR"
DEFAULT_LAB_DIR = "~/xlsearch_results/lab"


def safe_name(text: str, limit: int = 60) -> str:
    """``text`` as part of a folder name: letters, digits, ``-_.`` kept, anything else ``_``, the
    last ``limit`` characters (a model's hub id or directory names a cache folder)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[-limit:]


def lab_dir() -> Path:
    """Where the lab lives: ``$XLSEARCH_LAB_DIR``, else ``~/xlsearch_results/lab``."""
    return Path(os.environ.get(LAB_DIR_ENV_VAR) or DEFAULT_LAB_DIR).expanduser()


def lab_model_dir(directory: str | os.PathLike | None = None) -> Path:
    return (Path(directory).expanduser() if directory else lab_dir()) / "model"
