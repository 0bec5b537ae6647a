"""`mix_target`: full finetuning where steps also train a denoising objective on unlabeled
target-language text (inputs only, never target labels), so the model keeps producing it."""
from __future__ import annotations

from typing import Any

from xlsearch.methods.base import AdaptationMethod, Param


class MixTarget(AdaptationMethod):
    name = "mix_target"
    description = "full finetuning mixed with denoising on unlabeled target-language text"
    trains_on_target_text = True
    params = {
        "mix_ratio": Param(
            "float", 0.5, "share of steps that add a target-language denoising batch",
            low=0, high=1, low_exclusive=True,
        ),
    }

    def target_lm_ratio(self, params: dict[str, Any]) -> float:
        return float(self.resolved_params(params)["mix_ratio"])
