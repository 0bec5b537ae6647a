"""Seeds as a dimension of a searched sweep: Tune's ``Repeater`` runs each configuration the
searcher suggests once per seed, and reports the mean over the seeds back to the searcher.

Two things are added to Tune's class: the trial gets its seed (``config["seed"]``, not an index),
and the groups of repeated trials are saved with the searcher, so a resumed sweep still knows
which seeds of which configuration it has run (Tune's ``Repeater.save`` keeps the wrapped
searcher only; a resumed trial it did not know raised ``KeyError`` when it completed).
"""
from __future__ import annotations

import os
import pickle
import tempfile
from typing import Any

from ray.tune.search import Repeater
from ray.tune.search.repeater import TRIAL_INDEX


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
