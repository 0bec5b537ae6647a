"""`freeze_dec_emb`: the decoder and every embedding are frozen; only the encoder body trains.

The study found this best for mBART: a decoder that is not moved keeps generating in the
language it is asked for (its forced language token) instead of drifting to the source language.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xlsearch.methods.base import AdaptationMethod

if TYPE_CHECKING:
    from torch import nn


def is_encoder_body(param_name: str) -> bool:
    """True for encoder weights other than embeddings (token and position embeddings)."""
    name = param_name.removeprefix("model.")
    return name.startswith("encoder.") and "embed" not in name


class FreezeDecoderEmbeddings(AdaptationMethod):
    name = "freeze_dec_emb"
    description = "encoder only: decoder and all embeddings frozen"

    def prepare_model(self, model: nn.Module, family: str, params: dict[str, Any]) -> nn.Module:
        for name, param in model.named_parameters():
            param.requires_grad = is_encoder_body(name)
        return model
