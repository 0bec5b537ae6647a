"""The miniature lab: a generated multilingual world, a word-level tokenizer and a small mT5
pretrained on it once, so that the study's effects (wrong-language output at high learning
rates) show up on a laptop CPU in minutes.

``xlsearch lab build`` writes the lab to :func:`lab_dir` (``$XLSEARCH_LAB_DIR``, else
``~/xlsearch_results/lab``); the model registry then loads ``lab-mt5`` from ``lab_dir()/model``.
Rebuilding the lab in the same directory keeps ``lab-mt5``'s location; the intermediate-tuning
cache key includes when the model was written, so a rebuild gets fresh checkpoints.

This module stays import-light: the registry imports it on every ``resolve_model``.
"""
from __future__ import annotations

import os
from pathlib import Path

LAB_MODEL_NAME = "lab-mt5"
LAB_DIR_ENV_VAR = "XLSEARCH_LAB_DIR"
DEFAULT_LAB_DIR = "~/xlsearch_results/lab"


def lab_dir() -> Path:
    """Where the lab lives: ``$XLSEARCH_LAB_DIR``, else ``~/xlsearch_results/lab``."""
    return Path(os.environ.get(LAB_DIR_ENV_VAR) or DEFAULT_LAB_DIR).expanduser()


def lab_model_dir(directory: str | os.PathLike | None = None) -> Path:
    return (Path(directory).expanduser() if directory else lab_dir()) / "model"


def lab_model_ref():
    """The registry entry of ``lab-mt5``. It resolves whether or not the lab is built (so a spec
    validates anywhere); ``load_model`` is what fails, saying how to build it."""
    from xlsearch.models import ModelRef

    return ModelRef(LAB_MODEL_NAME, "lab", "mt5", str(lab_model_dir()))


def not_built_message(location: str | os.PathLike) -> str:
    return (f"the lab model is not built yet (no {Path(location) / 'config.json'}); run `xlsearch lab build` "
            f"(or point {LAB_DIR_ENV_VAR} at a built lab)")
