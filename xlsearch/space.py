"""The search space of a spec, in the two forms the searchers take.

- Optuna (TPE or random sampling) gets a define-by-run function: the method is chosen first and
  its own parameters exist only in trials of that method.
- A grid is the explicit list of every combination (for replicating the study's grids).

Both give flat trial configs that :meth:`TrialParams.from_flat` reads back; :func:`planned_trials`
says how many trials a spec starts. No Ray here.
"""
from __future__ import annotations

import itertools
from typing import Any

from xlsearch.methods import METHODS
from xlsearch.spec import Range, SweepSpec

LANG_JOIN = "+"  # a list of languages travels through Optuna as one categorical string


def intermediate_labels(spec: SweepSpec) -> list[str]:
    return ["none" if o == "none" else o.label for o in spec.search.intermediate_tuning]


def _encode_choice(value: Any) -> Any:
    return LANG_JOIN.join(value) if isinstance(value, list) else value


def decode_config(config: dict[str, Any]) -> dict[str, Any]:
    """Undo the categorical encoding of language lists (``"en+de"`` -> ``["en", "de"]``)."""
    out = dict(config)
    for key, value in config.items():
        method, _, param = key.partition(".")
        if param and method in METHODS and METHODS[method].params.get(param) and \
                METHODS[method].params[param].kind == "languages" and isinstance(value, str):
            out[key] = value.split(LANG_JOIN)
    return out


def setting_choices(domain: Any, kind: str) -> list[Any]:
    """A method parameter's domain as a list of settings (lists of languages stay one setting)."""
    if kind == "languages":
        return domain if isinstance(domain, list) and domain and isinstance(domain[0], list) else [domain]
    return domain if isinstance(domain, list) else [domain]


class OptunaSpace:
    """A define-by-run space for Ray Tune's OptunaSearch: suggests, and returns constants.

    A class rather than a closure: Tune pickles the searcher with the sweep's state.
    """

    def __init__(self, spec: SweepSpec):
        self.labels = intermediate_labels(spec)
        self.lr = spec.search.lr
        self.methods = spec.search.methods
        self.train_data = list(spec.search.train_data)

    def __call__(self, trial) -> dict[str, Any]:
        constants: dict[str, Any] = {}
        lr, methods, labels = self.lr, self.methods, self.labels
        if isinstance(lr, Range):
            trial.suggest_float("lr", lr.low, lr.high, log=lr.log)
        elif len(lr) > 1:
            trial.suggest_categorical("lr", list(lr))
        else:
            constants["lr"] = lr[0]
        method = trial.suggest_categorical("method", list(methods)) if len(methods) > 1 else next(iter(methods))
        constants["method"] = method
        for name, domain in methods[method].items():
            key = f"{method}.{name}"
            kind = METHODS[method].params[name].kind
            if isinstance(domain, Range):
                if kind == "int":
                    trial.suggest_int(key, int(domain.low), int(domain.high), log=domain.log)
                else:
                    trial.suggest_float(key, domain.low, domain.high, log=domain.log)
                continue
            options = [_encode_choice(v) for v in setting_choices(domain, kind)]
            if len(options) > 1:
                trial.suggest_categorical(key, options)
            else:
                constants[key] = options[0]
        if len(labels) > 1:
            trial.suggest_categorical("intermediate_tuning", labels)
        else:
            constants["intermediate_tuning"] = labels[0]
        if len(self.train_data) > 1:
            trial.suggest_categorical("train_data", self.train_data)
        else:
            constants["train_data"] = self.train_data[0]
        return constants


def grid_configs(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of LR, method (with its parameter choices), intermediate tuning and
    training data."""
    lr = spec.search.lr
    if isinstance(lr, Range):
        raise ValueError("a grid needs an explicit list of learning rates")
    configs = []
    for method, params in spec.search.methods.items():
        names = list(params)
        value_lists = [setting_choices(params[n], METHODS[method].params[n].kind) for n in names]
        for values in itertools.product(*value_lists):
            for rate in lr:
                for label in intermediate_labels(spec):
                    for data in spec.search.train_data:
                        config = {"lr": rate, "method": method, "intermediate_tuning": label, "train_data": data}
                        config.update({f"{method}.{n}": _encode_choice(v) for n, v in zip(names, values)})
                        configs.append(config)
    return configs


def grid_size(spec: SweepSpec) -> int | None:
    """Trials of the full grid, or None when a dimension is a continuous range."""
    s = spec.search
    if isinstance(s.lr, Range):
        return None
    per_method = 0
    for name, params in s.methods.items():
        n = 1
        for key, domain in params.items():
            if isinstance(domain, Range):
                return None
            n *= len(setting_choices(domain, METHODS[name].params[key].kind))
        per_method += n
    return len(s.lr) * per_method * len(s.intermediate_tuning) * len(s.train_data)


def planned_trials(spec: SweepSpec) -> int:
    """How many trials the sweep will start: the grid size, or num_samples capped by the budget."""
    if spec.search.algorithm == "grid":
        return grid_size(spec)  # type: ignore[return-value]  # a checked spec's grid has no ranges
    cap = spec.budget.max_trials
    return min(spec.search.num_samples, cap) if cap else spec.search.num_samples
