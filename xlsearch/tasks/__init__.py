"""Tasks: what a model is finetuned and evaluated on. A new task is one module and one line in TASKS."""
from __future__ import annotations

from xlsearch.tasks.base import DataError, DataSource, Example, Task
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
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


__all__ = ["TASKS", "DataError", "DataSource", "Example", "Task", "get_task"]
