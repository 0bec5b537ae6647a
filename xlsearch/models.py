"""Models: the registry of names, loading, and the text <-> token-id conventions of each family.

A model is named by
- a registry name (``mt5-base``, ``mbart-50``, ``nllb-600m``, ...) that maps to a hub id,
- any hub id (``org/name``) or local directory, loaded with the real ``from_pretrained``,
- ``tiny-mt5`` / ``tiny-mbart`` / ``tiny-nllb``: the same architectures from small configs with
  random weights and a byte-level tokenizer that needs no files (tests, the offline demo),
- ``random-mt5-base`` / ``random-mbart-50`` / ``random-nllb-600m``: the real architectures'
  sizes with random weights, for benchmarks of a real-sized step without a hub,
- ``lab-mt5``: the miniature lab's model, a local directory that ``xlsearch lab build`` writes.

Every family goes through one code path: :class:`Seq2SeqCodec` writes inputs as
``[src_lang] text </s>`` and targets as ``[tgt_lang] text </s>`` for families with language
tokens (mBART-50, NLLB: the layout of their own tokenizers), ``text </s>`` for the others (mT5),
and gives the forced BOS token that makes mBART and NLLB generate in the target language. What
differs between families is read from their records in :mod:`xlsearch.families`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from xlsearch.families import FAMILIES, ModelFamily, family_of_hub_id, family_of_model_type, get_family
from xlsearch.paths import LAB_DIR_ENV_VAR, lab_model_dir

_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


class ModelError(ValueError):
    pass


@dataclass(frozen=True)
class ModelRef:
    """A resolved model name: where its weights come from and which family it belongs to.

    ``kind`` is ``"hub"`` (a hub id), ``"local"`` (a saved directory), ``"lab"`` (the miniature
    lab's saved directory, which may not be built yet: ``build_hint`` says how) or ``"config"``
    (random weights built from the family's ``size`` config: ``"tiny"`` or ``"published"``).
    """

    name: str
    kind: Literal["hub", "local", "lab", "config"]
    family: str
    location: str | None = None  # hub id or directory
    size: Literal["tiny", "published"] | None = None
    build_hint: str | None = None


def _hub(hub_id: str, family: str) -> Callable[[str], ModelRef]:
    return lambda name: ModelRef(name, "hub", family, hub_id)


def _config(family: str, size: str) -> Callable[[str], ModelRef]:
    return lambda name: ModelRef(name, "config", family, size=size)


def _lab(name: str) -> ModelRef:
    # Resolved whether or not the lab is built (so a spec validates anywhere); loading says how.
    return ModelRef(name, "lab", "mt5", str(lab_model_dir()),
                    build_hint=f"run `xlsearch lab build` (or point {LAB_DIR_ENV_VAR} at a built lab)")


# Registry names -> how to resolve them. A new named model is one line here.
NAMED_MODELS: dict[str, Callable[[str], ModelRef]] = {
    "mt5-small": _hub("google/mt5-small", "mt5"),
    "mt5-base": _hub("google/mt5-base", "mt5"),
    "mt5-large": _hub("google/mt5-large", "mt5"),
    "mt5-xl": _hub("google/mt5-xl", "mt5"),
    "mbart-50": _hub("facebook/mbart-large-50", "mbart"),
    "nllb-600m": _hub("facebook/nllb-200-distilled-600M", "nllb"),
    "nllb-1.3b": _hub("facebook/nllb-200-distilled-1.3B", "nllb"),
    "nllb-3.3b": _hub("facebook/nllb-200-3.3B", "nllb"),
    "tiny-mt5": _config("mt5", "tiny"),
    "tiny-mbart": _config("mbart", "tiny"),
    "tiny-nllb": _config("nllb", "tiny"),
    "random-mt5-base": _config("mt5", "published"),
    "random-mbart-50": _config("mbart", "published"),
    "random-nllb-600m": _config("nllb", "published"),
    "lab-mt5": _lab,
}


def known_model_names() -> list[str]:
    return sorted(NAMED_MODELS)


def resolve_model(name: str) -> ModelRef:
    """Resolve a model name without loading anything. Raises :class:`ModelError`."""
    if name in NAMED_MODELS:
        return NAMED_MODELS[name](name)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelRef(name, "local", _family_of_directory(path).name, str(path.resolve()))
    if _HUB_ID.fullmatch(name) and not path.exists():
        family = family_of_hub_id(name)
        if family is None:
            raise ModelError(f"cannot tell the family ({', '.join(FAMILIES)}) of hub id {name!r} from "
                             "its name; download it and give the local directory")
        return ModelRef(name, "hub", family.name, name)
    raise ModelError(
        f"not a registry name ({', '.join(known_model_names())}), a hub id (org/name) or an existing directory"
    )


def _family_of_directory(path: Path) -> ModelFamily:
    config = path / "config.json"
    if not config.is_file():
        raise ModelError(f"directory {path} has no config.json (not a saved model)")
    model_type = json.loads(config.read_text()).get("model_type")
    family = family_of_model_type(model_type)
    if family is None:
        known = ", ".join(t for f in FAMILIES.values() for t in f.model_types)
        raise ModelError(f"model_type {model_type!r} in {config} is not one of {known}")
    return family


# ---------------------------------------------------------------------------------------------
# Tokenizers and models


def _byte_tokenizer(family: ModelFamily):
    """A byte-level tokenizer that needs no files; families with language tokens get them and a
    ``<mask>`` token added, mT5 keeps ByT5's ``<extra_id_N>`` sentinels."""
    from transformers import ByT5Tokenizer

    tokenizer = ByT5Tokenizer()
    if family.forces_language_token:
        codes = sorted(set(family.language_tokens.values()))
        tokenizer.add_special_tokens({"additional_special_tokens": codes, "mask_token": "<mask>"})
    return tokenizer


def load_model(name_or_ref: str | ModelRef, *, checkpoint: str | Path | None = None, seed: int = 0):
    """Load (model, codec) for a model name; ``checkpoint`` is a saved directory that replaces
    the weights and tokenizer (e.g. an intermediate-tuned model)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    ref = resolve_model(name_or_ref) if isinstance(name_or_ref, str) else name_or_ref
    location = str(checkpoint) if checkpoint is not None else ref.location
    if ref.build_hint and checkpoint is None and not (Path(location) / "config.json").is_file():
        raise ModelError(f"{ref.name} is not built yet (no {Path(location) / 'config.json'}); {ref.build_hint}")
    if location is not None:
        try:
            tokenizer = AutoTokenizer.from_pretrained(location)
            model = AutoModelForSeq2SeqLM.from_pretrained(location)
        except OSError as err:
            raise ModelError(f"could not load {location!r}: {err}".splitlines()[0]) from err
    else:
        torch.manual_seed(seed)  # random-weight models are reproducible per seed
        family = get_family(ref.family)
        tokenizer = _byte_tokenizer(family)
        model = family.new_model(family.tiny_sizes if ref.size == "tiny" else family.published_sizes, tokenizer)
    return model, Seq2SeqCodec(tokenizer, ref.family)


def model_skeleton(name_or_ref: str | ModelRef):
    """The model's architecture without its weights (on torch's meta device): its parameters'
    shapes and types for the cost of reading its config, not of its weights."""
    import torch
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    ref = resolve_model(name_or_ref) if isinstance(name_or_ref, str) else name_or_ref
    if ref.build_hint and not (Path(ref.location) / "config.json").is_file():
        raise ModelError(f"{ref.name} is not built yet (no {Path(ref.location) / 'config.json'}); {ref.build_hint}")
    family = get_family(ref.family)
    if ref.location is None:
        tokenizer = _byte_tokenizer(family)  # the vocabulary size comes from the tokenizer
        with torch.device("meta"):
            return family.new_model(family.tiny_sizes if ref.size == "tiny" else family.published_sizes, tokenizer)
    try:
        config = AutoConfig.from_pretrained(ref.location)
    except OSError as err:
        raise ModelError(f"could not read the config of {ref.location!r}: {err}".splitlines()[0]) from err
    with torch.device("meta"):
        return AutoModelForSeq2SeqLM.from_config(config)


def save_model(model, codec: "Seq2SeqCodec", directory: str | Path) -> None:
    """Save weights and tokenizer so that :func:`load_model` can read them back."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # transformers 5's save_pretrained prints progress bars otherwise
    model.save_pretrained(directory)
    codec.tokenizer.save_pretrained(directory)


class Seq2SeqCodec:
    """Turns texts into token ids and back, the same way for every family."""

    def __init__(self, tokenizer, family: str):
        if family not in FAMILIES:
            raise ModelError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
        self.tokenizer = tokenizer
        self.family = family
        self._record = FAMILIES[family]

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id

    @property
    def eos_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    def language_token_id(self, lang: str) -> int | None:
        code = self._record.language_token(lang)
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

