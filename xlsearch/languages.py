"""The language table: one row per language code that a task or model of xlsearch knows.

A row holds what is a fact of the language itself: its ISO 639-1 code (ISO 639-3 where it has
none, e.g. ``pcm``, Nigerian Pidgin, as XL-Sum writes it), its English name, and the label
fastText's lid.176 uses for it (None where lid.176 has no label; from the fastText
language-identification page). What a model family or a task knows of a language lives with
the family (:mod:`xlsearch.families`: language tokens) or the task (:mod:`xlsearch.tasks`:
hub configurations).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    fasttext: str | None


_L = Language
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in [
        _L("am", "Amharic", "am"),
        _L("ar", "Arabic", "ar"),
        _L("az", "Azerbaijani", "az"),
        _L("bn", "Bengali", "bn"),
        _L("cy", "Welsh", "cy"),
        _L("de", "German", "de"),
        _L("el", "Greek", "el"),
        _L("en", "English", "en"),
        _L("es", "Spanish", "es"),
        _L("fa", "Persian", "fa"),
        _L("fr", "French", "fr"),
        _L("gd", "Scottish Gaelic", "gd"),
        _L("gu", "Gujarati", "gu"),
        _L("ha", "Hausa", None),
        _L("hi", "Hindi", "hi"),
        _L("id", "Indonesian", "id"),
        _L("ig", "Igbo", None),
        _L("ja", "Japanese", "ja"),
        _L("ko", "Korean", "ko"),
        _L("ky", "Kyrgyz", "ky"),
        _L("mr", "Marathi", "mr"),
        _L("my", "Burmese", "my"),
        _L("ne", "Nepali", "ne"),
        _L("om", "Oromo", None),
        _L("pa", "Punjabi", "pa"),
        _L("pcm", "Nigerian Pidgin", None),
        _L("ps", "Pashto", "ps"),
        _L("pt", "Portuguese", "pt"),
        _L("rn", "Kirundi", None),
        _L("ro", "Romanian", "ro"),
        _L("ru", "Russian", "ru"),
        _L("si", "Sinhala", "si"),
        _L("so", "Somali", "so"),
        _L("sr", "Serbian (Cyrillic)", "sr"),
        _L("sw", "Swahili", "sw"),
        _L("ta", "Tamil", "ta"),
        _L("te", "Telugu", "te"),
        _L("th", "Thai", "th"),
        _L("ti", "Tigrinya", None),
        _L("tl", "Tagalog (Filipino)", "tl"),
        _L("tr", "Turkish", "tr"),
        _L("uk", "Ukrainian", "uk"),
        _L("ur", "Urdu", "ur"),
        _L("uz", "Uzbek", "uz"),
        _L("vi", "Vietnamese", "vi"),
        _L("yo", "Yoruba", "yo"),
        _L("zh", "Chinese (Simplified)", "zh"),
    ]
}


class UnknownLanguageError(ValueError):
    pass


def get_language(code: str) -> Language:
    """The table row for a language code; an unknown code names every supported one."""
    try:
        return LANGUAGES[code]
    except (KeyError, TypeError):
        raise UnknownLanguageError(
            f"unknown language {code!r}; supported ISO 639-1 codes: {', '.join(sorted(LANGUAGES))}"
        ) from None


def fasttext_label(code: str) -> str | None:
    return get_language(code).fasttext
