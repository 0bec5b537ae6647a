"""The miniature lab: a generated multilingual world, a word-level tokenizer and a small mT5
pretrained on it once, so that the study's effects (wrong-language output at high learning
rates) show up on a laptop CPU in minutes.

The world itself is a builtin dataset (:mod:`xlsearch.tasks.builtin.lab_world`); this package
builds the tokenizer and the model. ``xlsearch lab build`` writes the lab to
:func:`xlsearch.paths.lab_dir`; the model registry loads ``lab-mt5`` from ``lab_dir()/model``.
Rebuilding the lab in the same directory keeps ``lab-mt5``'s location; the intermediate-tuning
cache key includes when the model was written, so a rebuild gets fresh checkpoints.
"""
from xlsearch.paths import LAB_DIR_ENV_VAR, lab_dir, lab_model_dir

__all__ = ["LAB_DIR_ENV_VAR", "lab_dir", "lab_model_dir"]
