"""Where a spec's data comes from: for each (language, role), the source the spec names, or
else the task's default on the hub (:meth:`xlsearch.tasks.Task.default_source`).

Roles are ``train`` (labelled task data), ``dev`` (scored each round) and ``unlabeled`` (text for
language-modelling objectives). Paths are resolved from the spec file's folder.
"""
from __future__ import annotations

from xlsearch.spec import DataSourceSpec, SweepSpec
from xlsearch.tasks import ROLE_SPLITS, DataSource, get_task


def task_source(spec: SweepSpec, lang: str, role: str) -> DataSource | None:
    """The tasks' DataSource for (language, role), paths resolved; None where there is none."""
    given = spec.data.get(lang, {}).get(role)
    if given is None:
        return get_task(spec.task).default_source(lang, role)
    return _from_spec(spec, given, role)


def _from_spec(spec: SweepSpec, src: DataSourceSpec, role: str) -> DataSource:
    if src.path is not None:
        return DataSource(path=str(spec.resolve_path(src.path)))
    if src.builtin is not None:
        return DataSource(builtin=src.builtin, split=src.split or ROLE_SPLITS[role])
    # A hub source without a split reads the split that matches its role, not the task default.
    return DataSource(hub=src.hub, config=src.config, split=src.split or ROLE_SPLITS[role])


def has_data(spec: SweepSpec, lang: str, role: str) -> bool:
    return task_source(spec, lang, role) is not None


# Where unlabeled text in a language comes from, in order of preference: never the labels.
UNLABELED_PREFERENCE = ("unlabeled", "train", "dev")


def text_role(spec: SweepSpec, lang: str) -> str | None:
    """The role whose task inputs serve as unlabeled text in ``lang``: ``unlabeled``, else
    ``train``, else ``dev``, the sources the spec names first (a spec with local files never
    reaches the hub); None when the language has no data at all."""
    given = spec.data.get(lang, {})
    roles = [r for r in UNLABELED_PREFERENCE if r in given] + [r for r in UNLABELED_PREFERENCE if r not in given]
    return next((r for r in roles if has_data(spec, lang, r)), None)
