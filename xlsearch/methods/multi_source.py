"""`multi_source`: full finetuning on labelled data of several source languages, balanced.

Best for mT5 in the study. Languages beyond the sweep's source languages need `train` data.
"""
from __future__ import annotations

from typing import Any

from xlsearch.methods.base import AdaptationMethod, Param


class MultiSource(AdaptationMethod):
    name = "multi_source"
    description = "full finetuning on task data of several source languages"
    params = {
        "source_languages": Param(
            "languages", None, "source languages whose task data is mixed, balanced; "
            "default: the sweep's source languages"
        ),
    }

    def training_languages(self, params: dict[str, Any], source_languages: list[str]) -> list[str]:
        chosen = self.resolved_params(params)["source_languages"]
        return list(chosen) if chosen else list(source_languages)
