"""The search space of a spec, in the two forms the searchers take.

- Optuna (TPE or random sampling) gets a define-by-run function: the method is chosen first and
  its own parameters exist only in trials of that method.
- A grid is the explicit list of every combination (for replicating the study's grids).

Both give flat trial configs that :meth:`TrialParams.from_flat` reads back; :func:`planned_trials`
says how many trials a spec starts. No Ray here.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

from xlsearch.methods import METHODS
from xlsearch.spec import Range, SweepSpec

LANG_JOIN = "+"  # a list of languages travels through Optuna as one categorical string
# Keys of a method's settings that override a searched dimension for that method alone
# (``methods: {prompt_tuning: {lr: [1e-2, 1e-1]}, full: {train_data: [source, translate_train]}}``).
METHOD_OVERRIDES = ("lr", "train_data")


def method_params(spec: SweepSpec, method: str) -> dict[str, Any]:
    """The method's own parameters' domains (its settings without the overrides)."""
    return {k: v for k, v in spec.search.methods[method].items() if k not in METHOD_OVERRIDES}


def method_lr(spec: SweepSpec, method: str) -> Range | list[float]:
    """The learning rates searched for ``method``: its own ``lr``, else ``search.lr``."""
    own = spec.search.methods[method].get("lr")
    if own is None:
        return spec.search.lr
    return own if isinstance(own, (Range, list)) else [own]


def method_train_data(spec: SweepSpec, method: str) -> list[str]:
    """The training data searched for ``method``: its own ``train_data``, else ``search.train_data``."""
    own = spec.search.methods[method].get("train_data")
    if own is None:
        return list(spec.search.train_data)
    return list(own) if isinstance(own, list) else [own]


def uses_train_data(spec: SweepSpec, data: str) -> bool:
    """Whether any method's trials train on ``data`` (``translate_train``: the sweep translates)."""
    return any(data in method_train_data(spec, m) for m in spec.search.methods)


def _alias(dimension: str, method: str) -> str:
    """The name Optuna knows a per-method override by (a parameter's distribution is fixed per
    name in a study): ``lr_prompt_tuning``; :func:`decode_config` maps it back to ``lr``."""
    return f"{dimension}_{method}"


def intermediate_labels(spec: SweepSpec) -> list[str]:
    return ["none" if o == "none" else o.label for o in spec.search.intermediate_tuning]


def _encode_choice(value: Any) -> Any:
    return LANG_JOIN.join(value) if isinstance(value, list) else value


def decode_config(config: dict[str, Any]) -> dict[str, Any]:
    """Undo the categorical encoding of language lists (``"en+de"`` -> ``["en", "de"]``) and the
    per-method names of overridden dimensions (``lr_prompt_tuning`` -> ``lr``)."""
    out = dict(config)
    method = config.get("method")
    for dimension in METHOD_OVERRIDES:
        if isinstance(method, str) and _alias(dimension, method) in out:
            out[dimension] = out.pop(_alias(dimension, method))
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


def first_setting(domain: Any, kind: str) -> Any:
    """A searched value's first choice: a list's first, a range's middle (geometric on a log
    scale; an integer for an integer parameter), a constant itself."""
    if isinstance(domain, Range):
        middle = math.sqrt(domain.low * domain.high) if domain.log else (domain.low + domain.high) / 2
        return round(middle) if kind == "int" else middle
    return setting_choices(domain, kind)[0]


class OptunaSpace:
    """A define-by-run space for Ray Tune's OptunaSearch: suggests, and returns constants.

    A class rather than a closure: Tune pickles the searcher with the sweep's state.
    """

    def __init__(self, spec: SweepSpec):
        self.labels = intermediate_labels(spec)
        self.methods = {m: method_params(spec, m) for m in spec.search.methods}
        self.lr = {m: method_lr(spec, m) for m in spec.search.methods}
        self.train_data = {m: method_train_data(spec, m) for m in spec.search.methods}
        self.own = {m: [d for d in METHOD_OVERRIDES if d in spec.search.methods[m]] for m in spec.search.methods}

    def __call__(self, trial) -> dict[str, Any]:
        constants: dict[str, Any] = {}
        methods, labels = self.methods, self.labels
        method = trial.suggest_categorical("method", list(methods)) if len(methods) > 1 else next(iter(methods))
        constants["method"] = method
        lr = self.lr[method]
        lr_name = _alias("lr", method) if "lr" in self.own[method] else "lr"
        if isinstance(lr, Range):
            trial.suggest_float(lr_name, lr.low, lr.high, log=lr.log)
        elif len(lr) > 1:
            trial.suggest_categorical(lr_name, list(lr))
        else:
            constants["lr"] = lr[0]
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
        data = self.train_data[method]
        if len(data) > 1:
            trial.suggest_categorical(_alias("train_data", method) if "train_data" in self.own[method] else "train_data",
                                      data)
        else:
            constants["train_data"] = data[0]
        return constants


def trial_seeds(spec: SweepSpec) -> list[int]:
    """The seeds every configuration runs with: ``search.seed`` and the ``search.seeds - 1`` after it."""
    return [spec.search.seed + i for i in range(spec.search.seeds)]


def grid_configs(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of LR, method (with its parameter choices), intermediate tuning and
    training data (a method's own ``lr`` and ``train_data`` where it has them), once per seed:
    the whole grid with the first seed, then with the next, so a sweep cut short has whole grids."""
    configurations = grid_configurations(spec)
    if spec.search.seeds == 1:  # no seed key: the configs of sweeps from before seeds, which a resume matches
        return configurations
    return [dict(config, seed=seed) for seed in trial_seeds(spec) for config in configurations]


def grid_configurations(spec: SweepSpec) -> list[dict[str, Any]]:
    configs = []
    for method in spec.search.methods:
        params, lr = method_params(spec, method), method_lr(spec, method)
        if isinstance(lr, Range):
            raise ValueError("a grid needs an explicit list of learning rates")
        names = list(params)
        value_lists = [setting_choices(params[n], METHODS[method].params[n].kind) for n in names]
        for values in itertools.product(*value_lists):
            for rate in lr:
                for label in intermediate_labels(spec):
                    for data in method_train_data(spec, method):
                        config = {"lr": rate, "method": method, "intermediate_tuning": label, "train_data": data}
                        config.update({f"{method}.{n}": _encode_choice(v) for n, v in zip(names, values)})
                        configs.append(config)
    return configs


def grid_size(spec: SweepSpec) -> int | None:
    """Trials of the full grid (its configurations times the seeds), or None when a dimension
    is a continuous range."""
    total = 0
    for name in spec.search.methods:
        lr = method_lr(spec, name)
        if isinstance(lr, Range):
            return None
        n = len(lr) * len(method_train_data(spec, name))
        for key, domain in method_params(spec, name).items():
            if isinstance(domain, Range):
                return None
            n *= len(setting_choices(domain, METHODS[name].params[key].kind))
        total += n
    return total * len(spec.search.intermediate_tuning) * spec.search.seeds


def planned_trials(spec: SweepSpec) -> int:
    """How many trials the sweep will start: the grid size, or ``num_samples`` configurations
    times the seeds, capped by the budget (to whole configurations: every seed of each)."""
    if spec.search.algorithm == "grid":
        return grid_size(spec)  # type: ignore[return-value]  # a checked spec's grid has no ranges
    seeds, cap = spec.search.seeds, spec.budget.max_trials
    trials = spec.search.num_samples * seeds
    return min(trials, cap - cap % seeds) if cap else trials
