"""Wrappers around the sweep's searcher (Optuna through Tune's ``OptunaSearch``).

- :class:`SeedRepeater`: seeds as a dimension of a searched sweep. Tune's ``Repeater`` runs each
  configuration the searcher suggests once per seed, and reports the mean over the seeds back
  to the searcher. Three things are added to Tune's class: the trial gets its seed
  (``config["seed"]``, not an index); the groups of repeated trials are saved with the searcher,
  so a resumed sweep still knows which seeds of which configuration it has run (Tune's
  ``Repeater.save`` keeps the wrapped searcher only; a resumed trial it did not know raised
  ``KeyError`` when it completed); and a multi-objective searcher gets the mean of each
  objective (Tune's averages one metric).
- :class:`WrongLanguageFloor`: the searcher is told that a trial the wrong-language stopper
  ended scored the floor on the source score, as a diverged trial does, so that TPE learns to
  avoid the region (its source score, often high, would otherwise draw more trials there).
"""
from __future__ import annotations

import os
import pickle
import tempfile
import warnings
from typing import Any

import numpy as np
from ray.tune.search import Repeater, Searcher
from ray.tune.search.repeater import TRIAL_INDEX

from xlsearch.sweep.decision_log import answers_in_the_wrong_language


class SeedRepeater(Repeater):
    def __init__(self, searcher, seeds: list[int]):
        super().__init__(searcher, repeat=len(seeds), set_index=True)
        self.seeds = list(seeds)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        config = super().suggest(trial_id)
        if isinstance(config, dict) and TRIAL_INDEX in config:
            config = dict(config)
            config["seed"] = self.seeds[config.pop(TRIAL_INDEX)]
        return config

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, **kwargs) -> None:
        metrics = self.searcher.metric if isinstance(self.searcher.metric, list) else [self.searcher.metric]
        group = self._trial_id_to_group[trial_id]
        group.report(trial_id, [float(result.get(m, np.nan)) if result else np.nan for m in metrics])
        if group.finished_reporting():
            with warnings.catch_warnings():  # a seed that reported nothing is NaN, skipped
                warnings.simplefilter("ignore", RuntimeWarning)
                means = np.nanmean(np.array(group.scores(), dtype=float), axis=0)
            self.searcher.on_trial_complete(group.primary_trial_id,
                                            result={m: float(v) for m, v in zip(metrics, means)}, **kwargs)

    def save(self, checkpoint_path: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            inner = os.path.join(tmp, "searcher.pkl")
            self.searcher.save(inner)
            blob = open(inner, "rb").read()
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"searcher": blob, "groups": self.get_state()}, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        with tempfile.TemporaryDirectory() as tmp:
            inner = os.path.join(tmp, "searcher.pkl")
            with open(inner, "wb") as f:
                f.write(state["searcher"])
            self.searcher.restore(inner)
        self.set_state(state["groups"])


class WrongLanguageFloor(Searcher):
    """``searcher`` (single-objective) told the floor, 0, as the source score of a trial whose last
    result is above the wrong-language stopper's ``threshold``
    (:func:`xlsearch.sweep.decisions.answers_in_the_wrong_language`); everything else passes."""

    def __init__(self, searcher: Searcher, threshold: float):
        self.searcher, self.threshold = searcher, threshold
        super().__init__(metric=searcher.metric, mode=searcher.mode)

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str):
        return self.searcher.suggest(trial_id)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if result and not error and answers_in_the_wrong_language(result, self.threshold):
            result = {**result, self.searcher.metric: 0.0}
        self.searcher.on_trial_complete(trial_id, result=result, error=error)

    def save(self, checkpoint_path: str) -> None:
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)

    def get_state(self) -> dict:
        return self.searcher.get_state()

    def set_state(self, state: dict) -> None:
        self.searcher.set_state(state)
