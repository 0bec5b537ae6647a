"""Models: the registry of names, loading, and the text <-> token-id conventions of each family.

A model is named by
- a registry name (``mt5-base``, ``mbart-50``, ``nllb-600m``, ...) that maps to a hub id,
- any hub id (``org/name``) or local directory, loaded with the real ``from_pretrained``,
- ``tiny-mt5`` / ``tiny-mbart`` / ``tiny-nllb``: the same architectures from small configs with
  random weights and a byte-level tokenizer that needs no files (tests, the offline demo),
- ``random-mt5-base`` / ``random-mbart-50`` / ``random-nllb-600m``: the real architectures'
  sizes with random weights, for benchmarks of a real-sized step without a hub.

Every family goes through one code path: :class:`Seq2SeqCodec` writes inputs as
``[src_lang] text </s>`` and targets as ``[tgt_lang] text </s>`` for mBART-50 and NLLB (the
layout of their own tokenizers), ``text </s>`` for mT5, and gives the forced BOS token that makes
mBART and NLLB generate in the target language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from xlsearch.languages import LANGUAGES, model_language_code

FAMILIES = ("mt5", "mbart", "nllb")
# config.model_type -> family; NLLB-200 is an M2M100 architecture.
MODEL_TYPE_FAMILY = {"mt5": "mt5", "t5": "mt5", "mbart": "mbart", "m2m_100": "nllb"}

HUB_MODELS = {
    "mt5-small": ("google/mt5-small", "mt5"),
    "mt5-base": ("google/mt5-base", "mt5"),
    "mt5-large": ("google/mt5-large", "mt5"),
    "mt5-xl": ("google/mt5-xl", "mt5"),
    "mbart-50": ("facebook/mbart-large-50", "mbart"),
    "nllb-600m": ("facebook/nllb-200-distilled-600M", "nllb"),
    "nllb-1.3b": ("facebook/nllb-200-distilled-1.3B", "nllb"),
    "nllb-3.3b": ("facebook/nllb-200-3.3B", "nllb"),
}

_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


class ModelError(ValueError):
    pass


@dataclass(frozen=True)
class ModelRef:
    """A resolved model name: where its weights come from and which family it belongs to."""

    name: str
    kind: str  # "hub", "local", "tiny" or "random"
    family: str
    location: str | None = None  # hub id or directory


def _random_config_sizes(family: str, size: str) -> dict[str, Any]:
    """Hyperparameters of the published checkpoints (their config.json on the hub)."""
    if family == "mt5":
        tiny = dict(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2, num_heads=4)
        base = dict(d_model=768, d_kv=64, d_ff=2048, num_layers=12, num_decoder_layers=12,
                    num_heads=12, vocab_size=250112)
        return tiny if size == "tiny" else base
    tiny = dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
                max_position_embeddings=1024)
    big = dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
               decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
               max_position_embeddings=1024, scale_embedding=True,
               vocab_size=250054 if family == "mbart" else 256206)
    return tiny if size == "tiny" else big


_CONFIG_MODELS: dict[str, tuple[str, str]] = {
    "tiny-mt5": ("mt5", "tiny"),
    "tiny-mbart": ("mbart", "tiny"),
    "tiny-nllb": ("nllb", "tiny"),
    "random-mt5-base": ("mt5", "base"),
    "random-mbart-50": ("mbart", "large"),
    "random-nllb-600m": ("nllb", "large"),
}

# Extra registries (e.g. the miniature lab's models) add name -> ModelRef factories here.
EXTRA_MODELS: dict[str, Callable[[], ModelRef]] = {}


def _lab_model_ref() -> ModelRef:
    from xlsearch.lab import lab_model_ref  # imported when asked for, so the registry stays light

    return lab_model_ref()


EXTRA_MODELS["lab-mt5"] = _lab_model_ref


def known_model_names() -> list[str]:
    return sorted([*HUB_MODELS, *_CONFIG_MODELS, *EXTRA_MODELS])


def resolve_model(name: str) -> ModelRef:
    """Resolve a model name without loading anything. Raises :class:`ModelError`."""
    if name in HUB_MODELS:
        hub_id, family = HUB_MODELS[name]
        return ModelRef(name, "hub", family, hub_id)
    if name in _CONFIG_MODELS:
        family, size = _CONFIG_MODELS[name]
        return ModelRef(name, "tiny" if size == "tiny" else "random", family)
    if name in EXTRA_MODELS:
        return EXTRA_MODELS[name]()
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelRef(name, "local", _family_of_directory(path), str(path.resolve()))
    if _HUB_ID.fullmatch(name) and not path.exists():
        return ModelRef(name, "hub", _family_of_hub_id(name), name)
    raise ModelError(
        f"not a registry name ({', '.join(known_model_names())}), a hub id (org/name) or an existing directory"
    )


def _family_of_directory(path: Path) -> str:
    import json

    config = path / "config.json"
    if not config.is_file():
        raise ModelError(f"directory {path} has no config.json (not a saved model)")
    model_type = json.loads(config.read_text()).get("model_type")
    if model_type not in MODEL_TYPE_FAMILY:
        raise ModelError(f"model_type {model_type!r} in {config} is not one of {', '.join(MODEL_TYPE_FAMILY)}")
    return MODEL_TYPE_FAMILY[model_type]


def _family_of_hub_id(hub_id: str) -> str:
    """Family from the hub id's name, so a spec can be checked without reaching the hub."""
    lowered = hub_id.lower()
    for key, family in (("mt5", "mt5"), ("t5", "mt5"), ("mbart", "mbart"), ("nllb", "nllb"), ("m2m", "nllb")):
        if key in lowered:
            return family
    raise ModelError(f"cannot tell the family (mt5, mbart, nllb) of hub id {hub_id!r} from its name; "
                     "download it and give the local directory")


# ---------------------------------------------------------------------------------------------
# Tokenizers and models


def _byte_tokenizer(family: str):
    """A byte-level tokenizer that needs no files; mBART/NLLB get their language tokens and a
    ``<mask>`` token added, mT5 keeps ByT5's ``<extra_id_N>`` sentinels."""
    from transformers import ByT5Tokenizer

    tokenizer = ByT5Tokenizer()
    if family != "mt5":
        codes = sorted({model_language_code(c, family) for c in LANGUAGES if getattr(LANGUAGES[c], family)})
        tokenizer.add_special_tokens({"additional_special_tokens": codes, "mask_token": "<mask>"})
    return tokenizer


def _config_model(family: str, size: str, tokenizer):
    from transformers import (M2M100Config, M2M100ForConditionalGeneration, MBartConfig,
                              MBartForConditionalGeneration, MT5Config, MT5ForConditionalGeneration)

    sizes = _random_config_sizes(family, size)
    sizes.setdefault("vocab_size", len(tokenizer))
    ids = dict(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if family == "mt5":
        config = MT5Config(**sizes, **ids, decoder_start_token_id=tokenizer.pad_token_id)
        return MT5ForConditionalGeneration(config)
    # mBART-50 and NLLB start decoding from </s>, then the forced target-language token.
    ids.update(bos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id)
    if family == "mbart":
        return MBartForConditionalGeneration(MBartConfig(**sizes, **ids))
    return M2M100ForConditionalGeneration(M2M100Config(**sizes, **ids))


def load_model(name_or_ref: str | ModelRef, *, checkpoint: str | Path | None = None, seed: int = 0):
    """Load (model, codec) for a model name; ``checkpoint`` is a saved directory that replaces
    the weights and tokenizer (e.g. an intermediate-tuned model)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    ref = resolve_model(name_or_ref) if isinstance(name_or_ref, str) else name_or_ref
    location = str(checkpoint) if checkpoint is not None else ref.location
    if ref.kind == "lab" and checkpoint is None and not (Path(location) / "config.json").is_file():
        from xlsearch.lab import not_built_message

        raise ModelError(not_built_message(location))
    if location is not None:
        try:
            tokenizer = AutoTokenizer.from_pretrained(location)
            model = AutoModelForSeq2SeqLM.from_pretrained(location)
        except OSError as err:
            raise ModelError(f"could not load {location!r}: {err}".splitlines()[0]) from err
    else:
        torch.manual_seed(seed)  # random-weight models are reproducible per seed
        tokenizer = _byte_tokenizer(ref.family)
        model = _config_model(ref.family, _CONFIG_MODELS[ref.name][1], tokenizer)
    return model, Seq2SeqCodec(tokenizer, ref.family)


def save_model(model, codec: "Seq2SeqCodec", directory: str | Path) -> None:
    """Save weights and tokenizer so that :func:`load_model` can read them back."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # save_pretrained prints bars otherwise (DESIGN.md)
    model.save_pretrained(directory)
    codec.tokenizer.save_pretrained(directory)


class Seq2SeqCodec:
    """Turns texts into token ids and back, the same way for every family."""

    def __init__(self, tokenizer, family: str):
        if family not in FAMILIES:
            raise ModelError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
        self.tokenizer = tokenizer
        self.family = family

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id

    @property
    def eos_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    def language_token_id(self, lang: str) -> int | None:
        code = model_language_code(lang, self.family)
        if code is None:
            return None
        token_id = self.tokenizer.convert_tokens_to_ids(code)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise ModelError(f"the tokenizer has no language token {code!r} for {lang!r}")
        return token_id

    def encode(self, texts: list[str], lang: str, max_length: int) -> list[list[int]]:
        """Token ids of each text: ``[lang] ids </s>`` (no lang token for mT5), truncated to
        ``max_length`` tokens in all."""
        lang_id = self.language_token_id(lang)
        prefix = [] if lang_id is None else [lang_id]
        room = max_length - len(prefix) - 1
        bodies = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [prefix + body[:room] + [self.eos_token_id] for body in bodies]

    def forced_bos_token_id(self, lang: str) -> int | None:
        """The first generated token for mBART/NLLB (their target language); None for mT5."""
        return self.language_token_id(lang)

    def decode(self, ids_batch) -> list[str]:
        return [t.strip() for t in self.tokenizer.batch_decode(ids_batch, skip_special_tokens=True)]

    def decode_keep_sentinels(self, ids_batch) -> list[str]:
        """Like :meth:`decode`, but mT5's ``<extra_id_N>`` sentinels stay visible, so that the
        pretraining-rudiment rate can see them."""
        special = set(self.tokenizer.all_special_ids)
        sentinel_ids = {i for i in special if re.fullmatch(r"<extra_id_\d+>", self.tokenizer.convert_ids_to_tokens(i) or "")}
        drop = special - sentinel_ids
        cleaned = [[int(t) for t in ids if int(t) not in drop] for ids in ids_batch]
        return [t.strip() for t in self.tokenizer.batch_decode(cleaned, skip_special_tokens=False)]

