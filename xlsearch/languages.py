"""The language table: one row per ISO 639-1 code that a task or model of xlsearch knows.

Each row maps the code to what the rest of the system needs:
- ``mbart``: the mBART-50 language token (None where mBART-50 has none),
- ``nllb``: the NLLB-200 language token (FLORES-200 code),
- ``fasttext``: the label lid.176 uses for it (None where lid.176 has no label),
- ``xlsum``: the XL-Sum hub config name (None where XL-Sum has no such language),
- ``xquad``: whether XQuAD has the language.

Sources: mBART-50 codes from the facebook/mbart-large-50 tokenizer's language list, NLLB codes
from the FLORES-200 list in the NLLB-200 model card, lid.176 labels from the fastText
language-identification page, XL-Sum config names from csebuetnlp/xlsum, XQuAD languages from
google-deepmind/xquad. ``pcm`` (Nigerian Pidgin) has no ISO 639-1 code; XL-Sum's ISO 639-3 code
is kept for it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    mbart: str | None
    nllb: str | None
    fasttext: str | None
    xlsum: str | None
    xquad: bool = False


_L = Language
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in [
        _L("am", "Amharic", None, "amh_Ethi", "am", "amharic"),
        _L("ar", "Arabic", "ar_AR", "arb_Arab", "ar", "arabic", xquad=True),
        _L("az", "Azerbaijani", "az_AZ", "azj_Latn", "az", "azerbaijani"),
        _L("bn", "Bengali", "bn_IN", "ben_Beng", "bn", "bengali"),
        _L("cy", "Welsh", None, "cym_Latn", "cy", "welsh"),
        _L("de", "German", "de_DE", "deu_Latn", "de", None, xquad=True),
        _L("el", "Greek", None, "ell_Grek", "el", None, xquad=True),
        _L("en", "English", "en_XX", "eng_Latn", "en", "english", xquad=True),
        _L("es", "Spanish", "es_XX", "spa_Latn", "es", "spanish", xquad=True),
        _L("fa", "Persian", "fa_IR", "pes_Arab", "fa", "persian"),
        _L("fr", "French", "fr_XX", "fra_Latn", "fr", "french"),
        _L("gd", "Scottish Gaelic", None, "gla_Latn", "gd", "scottish_gaelic"),
        _L("gu", "Gujarati", "gu_IN", "guj_Gujr", "gu", "gujarati"),
        _L("ha", "Hausa", None, "hau_Latn", None, "hausa"),
        _L("hi", "Hindi", "hi_IN", "hin_Deva", "hi", "hindi", xquad=True),
        _L("id", "Indonesian", "id_ID", "ind_Latn", "id", "indonesian"),
        _L("ig", "Igbo", None, "ibo_Latn", None, "igbo"),
        _L("ja", "Japanese", "ja_XX", "jpn_Jpan", "ja", "japanese"),
        _L("ko", "Korean", "ko_KR", "kor_Hang", "ko", "korean"),
        _L("ky", "Kyrgyz", None, "kir_Cyrl", "ky", "kyrgyz"),
        _L("mr", "Marathi", "mr_IN", "mar_Deva", "mr", "marathi"),
        _L("my", "Burmese", "my_MM", "mya_Mymr", "my", "burmese"),
        _L("ne", "Nepali", "ne_NP", "npi_Deva", "ne", "nepali"),
        _L("om", "Oromo", None, "gaz_Latn", None, "oromo"),
        _L("pa", "Punjabi", None, "pan_Guru", "pa", "punjabi"),
        _L("pcm", "Nigerian Pidgin", None, None, None, "pidgin"),
        _L("ps", "Pashto", "ps_AF", "pbt_Arab", "ps", "pashto"),
        _L("pt", "Portuguese", "pt_XX", "por_Latn", "pt", "portuguese"),
        _L("rn", "Kirundi", None, "run_Latn", None, "kirundi"),
        _L("ro", "Romanian", "ro_RO", "ron_Latn", "ro", None, xquad=True),
        _L("ru", "Russian", "ru_RU", "rus_Cyrl", "ru", "russian", xquad=True),
        _L("si", "Sinhala", "si_LK", "sin_Sinh", "si", "sinhala"),
        _L("so", "Somali", None, "som_Latn", "so", "somali"),
        _L("sr", "Serbian (Cyrillic)", None, "srp_Cyrl", "sr", "serbian_cyrillic"),
        _L("sw", "Swahili", "sw_KE", "swh_Latn", "sw", "swahili"),
        _L("ta", "Tamil", "ta_IN", "tam_Taml", "ta", "tamil"),
        _L("te", "Telugu", "te_IN", "tel_Telu", "te", "telugu"),
        _L("th", "Thai", "th_TH", "tha_Thai", "th", "thai", xquad=True),
        _L("ti", "Tigrinya", None, "tir_Ethi", None, "tigrinya"),
        _L("tl", "Tagalog (Filipino)", "tl_XX", "tgl_Latn", "tl", None),
        _L("tr", "Turkish", "tr_TR", "tur_Latn", "tr", "turkish", xquad=True),
        _L("uk", "Ukrainian", "uk_UA", "ukr_Cyrl", "uk", "ukrainian"),
        _L("ur", "Urdu", "ur_PK", "urd_Arab", "ur", "urdu"),
        _L("uz", "Uzbek", None, "uzn_Latn", "uz", "uzbek"),
        _L("vi", "Vietnamese", "vi_VN", "vie_Latn", "vi", "vietnamese", xquad=True),
        _L("yo", "Yoruba", None, "yor_Latn", "yo", "yoruba"),
        _L("zh", "Chinese (Simplified)", "zh_CN", "zho_Hans", "zh", "chinese_simplified", xquad=True),
    ]
}

class UnknownLanguageError(ValueError):
    pass


def get_language(code: str) -> Language:
    """The table row for an ISO 639-1 code; an unknown code names every supported one."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise UnknownLanguageError(
            f"unknown language {code!r}; supported ISO 639-1 codes: {', '.join(sorted(LANGUAGES))}"
        ) from None


def model_language_code(code: str, family: str) -> str | None:
    """The language token a model family uses for ``code`` (None for mT5, which has none)."""
    lang = get_language(code)
    if family == "mt5":
        return None
    token = {"mbart": lang.mbart, "nllb": lang.nllb}[family]
    if token is None:
        supported = sorted(c for c, row in LANGUAGES.items() if getattr(row, family))
        raise UnknownLanguageError(
            f"language {code!r} has no {family} language token; {family} supports: {', '.join(supported)}"
        )
    return token


def fasttext_label(code: str) -> str | None:
    return get_language(code).fasttext
