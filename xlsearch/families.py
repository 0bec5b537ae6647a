"""Model families: one record per family of multilingual seq2seq models xlsearch trains.

Everything that differs between mT5, mBART-50 and NLLB-200 is a field of its
:class:`ModelFamily` record, kept in this one module the way peft keeps its per-model tables:

- how a checkpoint names the family (``config.model_type``; words in a hub id),
- the language token of each language (mBART-50's ``de_DE``, NLLB's FLORES-200 ``deu_Latn``;
  mT5 has none) and so whether generation starts with a forced target-language token,
- the pretraining objective that intermediate tuning continues,
- the attention projections LoRA adapts (peft knows T5's names but, under transformers 5, not
  mBART's or M2M100's, so they are named here for every family),
- the architecture hyperparameters of a tiny test model and of the published checkpoint.

A new family is one record in :data:`FAMILIES`; nothing else in the package branches on a
family's name. Sources: mBART-50 codes from the facebook/mbart-large-50 tokenizer's language
list; NLLB codes from the FLORES-200 list in the NLLB-200 model card; sizes from the published
checkpoints' config.json (google/mt5-base, facebook/mbart-large-50,
facebook/nllb-200-distilled-600M).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from xlsearch.languages import UnknownLanguageError, get_language


class UnknownFamilyError(ValueError):
    pass


@dataclass(frozen=True)
class ModelFamily:
    name: str
    description: str
    model_types: tuple[str, ...]  # config.model_type values of this family's checkpoints
    hub_id_words: tuple[str, ...]  # a hub id containing one of these names this family
    lm_objective: str  # the pretraining objective ("span_corruption" or "denoising")
    lora_targets: tuple[str, ...]  # module names peft's LoRA wraps
    config_class: str  # transformers classes that build the architecture from a config
    model_class: str
    tiny_sizes: Mapping[str, Any]  # a test-sized model: trains in milliseconds on a CPU
    published_sizes: Mapping[str, Any]  # the real checkpoint's sizes (random-weight benchmarks)
    # ISO code -> the family's language token; None for a family without language tokens.
    language_tokens: Mapping[str, str] | None = field(default=None)

    @property
    def forces_language_token(self) -> bool:
        """Whether inputs and outputs carry a language token (the first generated token)."""
        return self.language_tokens is not None

    def language_token(self, code: str) -> str | None:
        """The language token for ISO code ``code`` (None for a family without them). Raises
        :class:`UnknownLanguageError` for a code unknown to xlsearch or to this family."""
        get_language(code)
        if self.language_tokens is None:
            return None
        token = self.language_tokens.get(code)
        if token is None:
            raise UnknownLanguageError(
                f"language {code!r} has no {self.name} language token; {self.name} supports: "
                f"{', '.join(sorted(self.language_tokens))}")
        return token

    def supports(self, code: str) -> bool:
        return self.language_tokens is None or code in self.language_tokens

    def new_model(self, sizes: Mapping[str, Any], tokenizer):
        """A model of this architecture with random weights, sized by ``sizes``, for ``tokenizer``."""
        import transformers

        config_kwargs = dict(sizes)
        config_kwargs.setdefault("vocab_size", len(tokenizer))
        ids = dict(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        if self.forces_language_token:
            # mBART-50 and NLLB start decoding from </s>, then the forced target-language token.
            ids.update(bos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id)
        else:
            ids.update(decoder_start_token_id=tokenizer.pad_token_id)
        config = getattr(transformers, self.config_class)(**config_kwargs, **ids)
        return getattr(transformers, self.model_class)(config)


_BART_TINY = dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                  decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
                  max_position_embeddings=1024)
_BART_LARGE = dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                   decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
                   max_position_embeddings=1024, scale_embedding=True)

MBART50_TOKENS = {
    "ar": "ar_AR", "az": "az_AZ", "bn": "bn_IN", "de": "de_DE", "en": "en_XX", "es": "es_XX",
    "fa": "fa_IR", "fr": "fr_XX", "gu": "gu_IN", "hi": "hi_IN", "id": "id_ID", "ja": "ja_XX",
    "ko": "ko_KR", "mr": "mr_IN", "my": "my_MM", "ne": "ne_NP", "ps": "ps_AF", "pt": "pt_XX",
    "ro": "ro_RO", "ru": "ru_RU", "si": "si_LK", "sw": "sw_KE", "ta": "ta_IN", "te": "te_IN",
    "th": "th_TH", "tl": "tl_XX", "tr": "tr_TR", "uk": "uk_UA", "ur": "ur_PK", "vi": "vi_VN",
    "zh": "zh_CN",
}

NLLB200_TOKENS = {
    "am": "amh_Ethi", "ar": "arb_Arab", "az": "azj_Latn", "bn": "ben_Beng", "cy": "cym_Latn",
    "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "fa": "pes_Arab",
    "fr": "fra_Latn", "gd": "gla_Latn", "gu": "guj_Gujr", "ha": "hau_Latn", "hi": "hin_Deva",
    "id": "ind_Latn", "ig": "ibo_Latn", "ja": "jpn_Jpan", "ko": "kor_Hang", "ky": "kir_Cyrl",
    "mr": "mar_Deva", "my": "mya_Mymr", "ne": "npi_Deva", "om": "gaz_Latn", "pa": "pan_Guru",
    "ps": "pbt_Arab", "pt": "por_Latn", "rn": "run_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl",
    "si": "sin_Sinh", "so": "som_Latn", "sr": "srp_Cyrl", "sw": "swh_Latn", "ta": "tam_Taml",
    "te": "tel_Telu", "th": "tha_Thai", "ti": "tir_Ethi", "tl": "tgl_Latn", "tr": "tur_Latn",
    "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn", "vi": "vie_Latn", "yo": "yor_Latn",
    "zh": "zho_Hans",
}

FAMILIES: dict[str, ModelFamily] = {f.name: f for f in (
    ModelFamily(
        name="mt5", description="mT5 (T5 architecture, 101 languages, no language tokens)",
        model_types=("mt5", "t5"), hub_id_words=("mt5", "t5"),
        lm_objective="span_corruption", lora_targets=("q", "v"),
        config_class="MT5Config", model_class="MT5ForConditionalGeneration",
        tiny_sizes=MappingProxyType(dict(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2,
                                         num_heads=4)),
        published_sizes=MappingProxyType(dict(d_model=768, d_kv=64, d_ff=2048, num_layers=12,
                                              num_decoder_layers=12, num_heads=12, vocab_size=250112)),
    ),
    ModelFamily(
        name="mbart", description="mBART-50 (language tokens such as de_DE)",
        model_types=("mbart",), hub_id_words=("mbart",),
        lm_objective="denoising", lora_targets=("q_proj", "v_proj"),
        config_class="MBartConfig", model_class="MBartForConditionalGeneration",
        tiny_sizes=MappingProxyType(_BART_TINY),
        published_sizes=MappingProxyType({**_BART_LARGE, "vocab_size": 250054}),
        language_tokens=MappingProxyType(MBART50_TOKENS),
    ),
    ModelFamily(
        name="nllb", description="NLLB-200 (an M2M100 architecture; FLORES-200 language tokens)",
        model_types=("m2m_100",), hub_id_words=("nllb", "m2m"),
        lm_objective="denoising", lora_targets=("q_proj", "v_proj"),
        config_class="M2M100Config", model_class="M2M100ForConditionalGeneration",
        tiny_sizes=MappingProxyType(_BART_TINY),
        published_sizes=MappingProxyType({**_BART_LARGE, "vocab_size": 256206}),
        language_tokens=MappingProxyType(NLLB200_TOKENS),
    ),
)}


def get_family(name: str) -> ModelFamily:
    """The family record for ``name``; an unknown name lists the known families."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise UnknownFamilyError(f"family {name!r} is not one of {', '.join(FAMILIES)}") from None


def family_of_model_type(model_type: str | None) -> ModelFamily | None:
    return next((f for f in FAMILIES.values() if model_type in f.model_types), None)


def family_of_hub_id(hub_id: str) -> ModelFamily | None:
    """The family a hub id names (``google/mt5-base`` -> mt5), or None when its name does not say."""
    lowered = hub_id.lower()
    return next((f for f in FAMILIES.values() if any(w in lowered for w in f.hub_id_words)), None)
