"""Datasets xlsearch generates itself, so a demo runs with no hub and no downloaded files.

A builtin dataset is a function ``(task, lang, split) -> rows`` that writes its rows in the
columns of the task's hub dataset (``id, text, summary`` for xlsum; ``id, context, question,
answers`` for xquad), so a task turns them into Examples exactly as it does a file's or the
hub's. A new builtin dataset is one module and one line in :data:`BUILTIN_DATASETS`. These
modules import nothing else of xlsearch: the lab's builder reads its world from here.
"""
from __future__ import annotations

from typing import Any, Callable

from xlsearch.tasks.builtin.lab_world import lab_rows
from xlsearch.tasks.builtin.toy import toy_rows

BUILTIN_DATASETS: dict[str, Callable[[str, str, str], list[dict[str, Any]]]] = {
    "toy": toy_rows,
    "lab": lab_rows,
}

# Builtin datasets that write every example in every language (the same id, the same facts): a
# perfect translation of their training data exists (``translation.model: perfect-translation``).
PARALLEL_DATASETS = frozenset({"lab"})


def builtin_rows(name: str, task: str, lang: str, split: str) -> list[dict[str, Any]]:
    """The rows of builtin dataset ``name``. Raises ValueError (naming what exists) for an
    unknown dataset, or a task, language or split it does not have."""
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"unknown builtin dataset {name!r}; builtin datasets: {', '.join(sorted(BUILTIN_DATASETS))}")
    return BUILTIN_DATASETS[name](task, lang, split)
