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
family's name. Sources: mBART-50's 52 and NLLB-200's 202 language tokens are the lists in
transformers' own tokenizers (``FAIRSEQ_LANGUAGE_CODES`` of ``tokenization_mbart50`` and
``tokenization_nllb``; a test holds the tables to them), keyed by the codes of
:mod:`xlsearch.languages`; mT5's languages from the google/mt5-base model card; sizes from the
published checkpoints' config.json (google/mt5-base, facebook/mbart-large-50,
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
    # Codes of the languages the published checkpoints were pretrained on.
    pretrained_languages: frozenset[str] = frozenset()
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
        """Whether the family can be asked to write ``code``: any language of the table for a
        family without language tokens (mT5 finetunes on languages beyond its 101, as XL-Sum did
        for Oromo or Pidgin), else a language it has a token for."""
        return self.language_tokens is None or code in self.language_tokens

    def new_model(self, sizes: Mapping[str, Any], tokenizer):
        """A model of this architecture with random weights, sized by ``sizes``, for ``tokenizer``."""
        import transformers

        config_kwargs = dict(sizes)
        config_kwargs.setdefault("vocab_size", len(tokenizer))
        tied = config_kwargs.pop("tie_word_embeddings", True)
        ids = dict(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        if self.forces_language_token:
            # mBART-50 and NLLB start decoding from </s>, then the forced target-language token.
            ids.update(bos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id)
        else:
            ids.update(decoder_start_token_id=tokenizer.pad_token_id)
        config = getattr(transformers, self.config_class)(**config_kwargs, **ids)
        model = getattr(transformers, self.model_class)(config)
        output = model.get_output_embeddings()
        if not tied and output.weight is model.get_input_embeddings().weight:
            # transformers 5's MT5Config ties the output layer whatever it is told (a checkpoint
            # with its own lm_head still loads untied); a random model untied is the real size.
            import torch

            output.weight = torch.nn.Parameter(output.weight.detach().clone())
            model.config.tie_word_embeddings = False
        return model


_BART_TINY = dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                  decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
                  max_position_embeddings=1024)
_BART_LARGE = dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                   decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
                   max_position_embeddings=1024, scale_embedding=True)

MBART50_TOKENS = {
    "af": "af_ZA", "ar": "ar_AR", "az": "az_AZ", "bn": "bn_IN", "cs": "cs_CZ", "de": "de_DE",
    "en": "en_XX", "es": "es_XX", "et": "et_EE", "fa": "fa_IR", "fi": "fi_FI", "fr": "fr_XX",
    "gl": "gl_ES", "gu": "gu_IN", "he": "he_IL", "hi": "hi_IN", "hr": "hr_HR", "id": "id_ID",
    "it": "it_IT", "ja": "ja_XX", "ka": "ka_GE", "kk": "kk_KZ", "km": "km_KH", "ko": "ko_KR",
    "lt": "lt_LT", "lv": "lv_LV", "mk": "mk_MK", "ml": "ml_IN", "mn": "mn_MN", "mr": "mr_IN",
    "my": "my_MM", "ne": "ne_NP", "nl": "nl_XX", "pl": "pl_PL", "ps": "ps_AF", "pt": "pt_XX",
    "ro": "ro_RO", "ru": "ru_RU", "si": "si_LK", "sl": "sl_SI", "sv": "sv_SE", "sw": "sw_KE",
    "ta": "ta_IN", "te": "te_IN", "th": "th_TH", "tl": "tl_XX", "tr": "tr_TR", "uk": "uk_UA",
    "ur": "ur_PK", "vi": "vi_VN", "xh": "xh_ZA", "zh": "zh_CN",
}

# mT5's pretraining languages (mC4's 101, from the google/mt5-base model card; Filipino is
# ``tl`` and Hebrew ``he`` here).
MT5_LANGUAGES = frozenset("""
    af am ar az be bg bn ca ceb co cs cy da de el en eo es et eu fa fi fr fy ga gd gl gu ha haw he
    hi hmn ht hu hy id ig is it ja jv ka kk km kn ko ku ky la lb lo lt lv mg mi mk ml mn mr ms mt my
    ne nl no ny pa pl ps pt ro ru sd si sk sl sm sn so sq sr st su sv sw ta te tg th tl tr uk ur uz
    vi xh yi yo zh zu
""".split())

NLLB200_TOKENS = {
    "ace": "ace_Latn", "ace-Arab": "ace_Arab", "acm": "acm_Arab", "acq": "acq_Arab", "aeb": "aeb_Arab",
    "af": "afr_Latn", "ajp": "ajp_Arab", "ak": "aka_Latn", "am": "amh_Ethi", "apc": "apc_Arab",
    "ar": "arb_Arab", "ars": "ars_Arab", "ary": "ary_Arab", "arz": "arz_Arab", "as": "asm_Beng",
    "ast": "ast_Latn", "awa": "awa_Deva", "ay": "ayr_Latn", "az": "azj_Latn", "azb": "azb_Arab",
    "ba": "bak_Cyrl", "ban": "ban_Latn", "be": "bel_Cyrl", "bem": "bem_Latn", "bg": "bul_Cyrl",
    "bho": "bho_Deva", "bjn": "bjn_Latn", "bjn-Arab": "bjn_Arab", "bm": "bam_Latn", "bn": "ben_Beng",
    "bo": "bod_Tibt", "bs": "bos_Latn", "bug": "bug_Latn", "ca": "cat_Latn", "ceb": "ceb_Latn",
    "cjk": "cjk_Latn", "ckb": "ckb_Arab", "crh": "crh_Latn", "cs": "ces_Latn", "cy": "cym_Latn",
    "da": "dan_Latn", "de": "deu_Latn", "dik": "dik_Latn", "dyu": "dyu_Latn", "dz": "dzo_Tibt",
    "ee": "ewe_Latn", "el": "ell_Grek", "en": "eng_Latn", "eo": "epo_Latn", "es": "spa_Latn",
    "et": "est_Latn", "eu": "eus_Latn", "fa": "pes_Arab", "ff": "fuv_Latn", "fi": "fin_Latn",
    "fj": "fij_Latn", "fo": "fao_Latn", "fon": "fon_Latn", "fr": "fra_Latn", "fur": "fur_Latn",
    "ga": "gle_Latn", "gd": "gla_Latn", "gl": "glg_Latn", "gn": "grn_Latn", "gu": "guj_Gujr",
    "ha": "hau_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hne": "hne_Deva", "hr": "hrv_Latn",
    "ht": "hat_Latn", "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn", "ig": "ibo_Latn",
    "ilo": "ilo_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "jv": "jav_Latn",
    "ka": "kat_Geor", "kab": "kab_Latn", "kac": "kac_Latn", "kam": "kam_Latn", "kbp": "kbp_Latn",
    "kea": "kea_Latn", "kg": "kon_Latn", "ki": "kik_Latn", "kk": "kaz_Cyrl", "km": "khm_Khmr",
    "kmb": "kmb_Latn", "kn": "kan_Knda", "ko": "kor_Hang", "kr": "knc_Latn", "kr-Arab": "knc_Arab",
    "ks": "kas_Arab", "ks-Deva": "kas_Deva", "ku": "kmr_Latn", "ky": "kir_Cyrl", "lb": "ltz_Latn",
    "lg": "lug_Latn", "li": "lim_Latn", "lij": "lij_Latn", "lmo": "lmo_Latn", "ln": "lin_Latn",
    "lo": "lao_Laoo", "lt": "lit_Latn", "ltg": "ltg_Latn", "lua": "lua_Latn", "luo": "luo_Latn",
    "lus": "lus_Latn", "lv": "lvs_Latn", "mag": "mag_Deva", "mai": "mai_Deva", "mg": "plt_Latn",
    "mi": "mri_Latn", "min": "min_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl",
    "mni": "mni_Beng", "mos": "mos_Latn", "mr": "mar_Deva", "ms": "zsm_Latn", "mt": "mlt_Latn",
    "my": "mya_Mymr", "nb": "nob_Latn", "ne": "npi_Deva", "nl": "nld_Latn", "nn": "nno_Latn",
    "nso": "nso_Latn", "nus": "nus_Latn", "ny": "nya_Latn", "oc": "oci_Latn", "om": "gaz_Latn",
    "or": "ory_Orya", "pa": "pan_Guru", "pag": "pag_Latn", "pap": "pap_Latn", "pl": "pol_Latn",
    "prs": "prs_Arab", "ps": "pbt_Arab", "pt": "por_Latn", "qu": "quy_Latn", "rn": "run_Latn",
    "ro": "ron_Latn", "ru": "rus_Cyrl", "rw": "kin_Latn", "sa": "san_Deva", "sat": "sat_Beng",
    "sc": "srd_Latn", "scn": "scn_Latn", "sd": "snd_Arab", "sg": "sag_Latn", "shn": "shn_Mymr",
    "si": "sin_Sinh", "sk": "slk_Latn", "sl": "slv_Latn", "sm": "smo_Latn", "sn": "sna_Latn",
    "so": "som_Latn", "sq": "als_Latn", "sr": "srp_Cyrl", "ss": "ssw_Latn", "st": "sot_Latn",
    "su": "sun_Latn", "sv": "swe_Latn", "sw": "swh_Latn", "szl": "szl_Latn", "ta": "tam_Taml",
    "taq": "taq_Latn", "taq-Tfng": "taq_Tfng", "te": "tel_Telu", "tg": "tgk_Cyrl", "th": "tha_Thai",
    "ti": "tir_Ethi", "tk": "tuk_Latn", "tl": "tgl_Latn", "tn": "tsn_Latn", "tpi": "tpi_Latn",
    "tr": "tur_Latn", "ts": "tso_Latn", "tt": "tat_Cyrl", "tum": "tum_Latn", "tw": "twi_Latn",
    "tzm": "tzm_Tfng", "ug": "uig_Arab", "uk": "ukr_Cyrl", "umb": "umb_Latn", "ur": "urd_Arab",
    "uz": "uzn_Latn", "vec": "vec_Latn", "vi": "vie_Latn", "war": "war_Latn", "wo": "wol_Latn",
    "xh": "xho_Latn", "yi": "ydd_Hebr", "yo": "yor_Latn", "yue": "yue_Hant", "zh": "zho_Hans",
    "zh-Hant": "zho_Hant", "zu": "zul_Latn",
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
                                              num_decoder_layers=12, num_heads=12, vocab_size=250112,
                                              # its own output layer, as google/mt5-base's (582 M
                                              # parameters; tied, 390 M)
                                              tie_word_embeddings=False)),
        pretrained_languages=MT5_LANGUAGES,
    ),
    ModelFamily(
        name="mbart", description="mBART-50 (language tokens such as de_DE)",
        model_types=("mbart",), hub_id_words=("mbart",),
        lm_objective="denoising", lora_targets=("q_proj", "v_proj"),
        config_class="MBartConfig", model_class="MBartForConditionalGeneration",
        tiny_sizes=MappingProxyType(_BART_TINY),
        published_sizes=MappingProxyType({**_BART_LARGE, "vocab_size": 250054}),
        pretrained_languages=frozenset(MBART50_TOKENS), language_tokens=MappingProxyType(MBART50_TOKENS),
    ),
    ModelFamily(
        name="nllb", description="NLLB-200 (an M2M100 architecture; FLORES-200 language tokens)",
        model_types=("m2m_100",), hub_id_words=("nllb", "m2m"),
        lm_objective="denoising", lora_targets=("q_proj", "v_proj"),
        config_class="M2M100Config", model_class="M2M100ForConditionalGeneration",
        # NLLB-200's checkpoints turn M2M100's layer drop off (its config.json: 0); left at the
        # class default (0.05), a 2-layer test model skips whole layers at random.
        tiny_sizes=MappingProxyType({**_BART_TINY, "encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0}),
        published_sizes=MappingProxyType({**_BART_LARGE, "vocab_size": 256206, "encoder_layerdrop": 0.0,
                                          "decoder_layerdrop": 0.0}),
        pretrained_languages=frozenset(NLLB200_TOKENS), language_tokens=MappingProxyType(NLLB200_TOKENS),
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
