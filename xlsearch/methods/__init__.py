"""The adaptation methods of the study, by name. Adding a method: one module, one line below."""
from __future__ import annotations

from xlsearch.methods.adapters import Adapters
from xlsearch.methods.base import AdaptationMethod, Param
from xlsearch.methods.freeze_dec_emb import FreezeDecoderEmbeddings
from xlsearch.methods.full import Full
from xlsearch.methods.mix_target import MixTarget
from xlsearch.methods.multi_source import MultiSource
from xlsearch.methods.prompt_tuning import PromptTuning

METHODS: dict[str, AdaptationMethod] = {
    m.name: m
    for m in (Full(), PromptTuning(), Adapters(), FreezeDecoderEmbeddings(), MixTarget(), MultiSource())
}


def get_method(name: str) -> AdaptationMethod:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown adaptation method {name!r}; known: {', '.join(METHODS)}") from None


__all__ = ["METHODS", "AdaptationMethod", "Param", "get_method"]
