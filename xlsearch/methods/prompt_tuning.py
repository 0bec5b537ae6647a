"""`prompt_tuning`: only a soft prompt prepended to the encoder input trains (peft PromptTuning)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xlsearch.methods.base import AdaptationMethod, Param

if TYPE_CHECKING:
    from torch import nn


class PromptTuning(AdaptationMethod):
    name = "prompt_tuning"
    description = "soft prompt only (peft PromptTuning)"
    uses_peft = True
    params = {
        "prompt_length": Param("int", 50, "number of virtual prompt tokens", low=1, high=1000),
    }

    def prepare_model(self, model: nn.Module, family: str, params: dict[str, Any]) -> nn.Module:
        from peft import PromptTuningConfig, TaskType, get_peft_model

        config = PromptTuningConfig(
            task_type=TaskType.SEQ_2_SEQ_LM,
            num_virtual_tokens=int(self.resolved_params(params)["prompt_length"]),
            # Random init: text init needs the tokenizer by hub name, which offline runs lack.
            prompt_tuning_init="RANDOM",
        )
        return get_peft_model(model, config)
