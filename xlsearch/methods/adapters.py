"""`adapters`: only low-rank adapter weights train (peft LoRA on the attention projections)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xlsearch.families import get_family
from xlsearch.methods.base import AdaptationMethod, Param

if TYPE_CHECKING:
    from torch import nn


class Adapters(AdaptationMethod):
    name = "adapters"
    description = "LoRA adapter weights only (peft)"
    uses_peft = True
    params = {
        "rank": Param("int", 8, "LoRA rank r", low=1, high=1024),
        "alpha": Param("float", 16.0, "LoRA scaling alpha", low=0, low_exclusive=True),
        "dropout": Param("float", 0.05, "dropout on the LoRA input", low=0, high=0.9),
    }

    def prepare_model(self, model: nn.Module, family: str, params: dict[str, Any]) -> nn.Module:
        from peft import LoraConfig, TaskType, get_peft_model

        p = self.resolved_params(params)
        config = LoraConfig(
            task_type=TaskType.SEQ_2_SEQ_LM,
            r=int(p["rank"]),
            lora_alpha=float(p["alpha"]),
            lora_dropout=float(p["dropout"]),
            target_modules=list(get_family(family).lora_targets),  # each family's record names them
        )
        return get_peft_model(model, config)
