"""Tasks: what a model is finetuned and evaluated on.

A task class carries every fact of its task: its name, hub datasets and default sources per
language and role, how rows become Examples, its objective and metrics. A new task is one
module and one line in :data:`TASKS` (or :func:`register_task` from outside the package).
"""
from __future__ import annotations

from xlsearch.tasks.base import ROLE_SPLITS, DataError, DataSource, Example, Task
from xlsearch.tasks.qa import QATask
from xlsearch.tasks.xlsum import XLSumTask

TASKS: dict[str, Task] = {
    "xlsum": XLSumTask(),
    "xquad": QATask(),
}


def get_task(name: str) -> Task:
    """The task registered as ``name``; an unknown name lists the known tasks."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


def register_task(task: Task) -> Task:
    """Add a task to the registry under ``task.name`` (a name already taken is refused)."""
    if task.name in TASKS and TASKS[task.name] is not task:
        raise ValueError(f"a task named {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def load_builtin(name: str, task: str, lang: str, split: str) -> list[Example]:
    """Every example of builtin dataset ``name`` for ``task`` in ``lang`` and ``split``."""
    return get_task(task).load(DataSource(builtin=name, split=split), lang)


__all__ = ["ROLE_SPLITS", "TASKS", "DataError", "DataSource", "Example", "Task", "get_task", "load_builtin",
           "register_task"]
