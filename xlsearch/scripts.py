"""Writing systems: the scripts each language is written in, which script a text's letters are
in, Unicode normalization that keeps Thai and Lao intact, and word segmentation for the scripts
written without spaces between words.

Scripts are ISO 15924 codes as Unicode's Script property names them (``Latn``, ``Cyrl``,
``Hani`` ...); a character's script comes from Unicode's own data through the ``regex`` module's
``\\p{sc=...}``, never from hand-written code-point ranges. Unicode does not tell Simplified from
Traditional Chinese (both are ``Hani``); Japanese is ``Jpan`` = Hani + Hira + Kana and Korean
``Kore`` = Hang + Hani, as ISO 15924 defines them.
"""
from __future__ import annotations

import functools
import logging
import os
import unicodedata

import regex

from xlsearch.families import NLLB200_TOKENS

# Language (ISO 639-1, or 639-3 where it has none) -> the scripts its text is written in, as
# Unicode CLDR's language data lists them (unicode.org/cldr, supplemental languageData and
# likelySubtags), narrowed to the scripts in current use. A language written in two scripts lists
# both (Serbian, Uzbek). Codes beyond xlsearch's language table are here so a language added
# there finds its row; test_scripts checks that every language of the table has one.
LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    **{code: ("Latn",) for code in (
        "af", "az", "bs", "ca", "ceb", "co", "cs", "cy", "da", "de", "en", "eo", "es", "et", "eu", "fi", "fil", "fy",
        "haw", "hmn",
        "fr", "ga", "gd", "gl", "ha", "hr", "ht", "hu", "id", "ig", "is", "it", "jv", "ku", "la", "lb",
        "lt", "lv", "mg", "mi", "ms", "mt", "nb", "nl", "nn", "no", "ny", "om", "pcm", "pl", "pt", "rn",
        "ro", "rw", "sk", "sl", "sm", "sn", "so", "sq", "st", "su", "sv", "sw", "tk", "tl", "tr", "vi",
        "wo", "xh", "yo", "zu")},
    **{code: ("Cyrl",) for code in ("be", "bg", "kk", "ky", "mk", "mn", "ru", "tg", "tt", "uk")},
    **{code: ("Arab",) for code in ("ar", "ckb", "fa", "ps", "sd", "ug", "ur")},
    **{code: ("Deva",) for code in ("hi", "mai", "mr", "ne", "sa")},
    **{code: ("Beng",) for code in ("as", "bn")},
    **{code: ("Ethi",) for code in ("am", "ti")},
    **{code: ("Hebr",) for code in ("he", "yi")},
    "sr": ("Cyrl", "Latn"), "uz": ("Latn", "Cyrl"),
    "el": ("Grek",), "hy": ("Armn",), "ka": ("Geor",), "gu": ("Gujr",), "pa": ("Guru",),
    "ta": ("Taml",), "te": ("Telu",), "kn": ("Knda",), "ml": ("Mlym",), "or": ("Orya",),
    "si": ("Sinh",), "dv": ("Thaa",), "bo": ("Tibt",), "my": ("Mymr",), "km": ("Khmr",),
    "lo": ("Laoo",), "th": ("Thai",),
    "zh": ("Hani",), "ja": ("Hani", "Hira", "Kana"), "ko": ("Hang", "Hani"),
}


# FLORES-200 script subtags that stand for several Unicode scripts.
_SCRIPT_SUBTAGS = {"Hans": ("Hani",), "Hant": ("Hani",), "Jpan": ("Hani", "Hira", "Kana"), "Kore": ("Hang", "Hani")}


def language_scripts(lang: str) -> tuple[str, ...]:
    """The scripts ``lang`` is written in: the table above, else the script NLLB-200's language
    token names (FLORES-200 codes carry an ISO 15924 script: ``ace_Arab``); ``()`` for a
    language neither knows."""
    if lang in LANGUAGE_SCRIPTS:
        return LANGUAGE_SCRIPTS[lang]
    token = NLLB200_TOKENS.get(lang)
    if token is None:
        return ()
    subtag = token.rpartition("_")[2]
    return _SCRIPT_SUBTAGS.get(subtag, (subtag,))


# Letters and marks of a script, not of Common or Inherited (digits, punctuation, symbols,
# spaces and shared combining accents are script-neutral).
@functools.lru_cache(maxsize=None)
def _letters_in(scripts: tuple[str, ...]) -> regex.Pattern:
    inside = "".join(rf"\p{{sc={s}}}" for s in scripts)
    return regex.compile(rf"(?V1)[[\p{{L}}\p{{M}}]&&[{inside}]]")


@functools.lru_cache(maxsize=None)
def _letters_outside(scripts: tuple[str, ...]) -> regex.Pattern:
    excluded = "".join(rf"\p{{sc={s}}}" for s in ("Zyyy", "Zinh", *scripts))
    return regex.compile(rf"(?V1)[[\p{{L}}\p{{M}}]--[{excluded}]]")


def script_letter_counts(text: str, lang: str) -> tuple[int, int]:
    """(letters and marks of ``lang``'s scripts, letters and marks of any other script) in ``text``."""
    scripts = language_scripts(lang)
    inside = len(_letters_in(scripts).findall(text)) if scripts else 0
    return inside, len(_letters_outside(scripts).findall(text))


def in_language_script(text: str, lang: str) -> bool | None:
    """True when ``text`` holds a letter of a script ``lang`` is written in; False when it holds
    letters, none of them in such a script (an answer in Latin letters for a Thai question);
    None when it holds no letter of any script (digits, punctuation, symbols) or ``lang`` has no
    row in ``LANGUAGE_SCRIPTS``."""
    if not language_scripts(lang):
        return None
    inside, outside = script_letter_counts(text, lang)
    if inside:
        return True
    return False if outside else None


# Scripts without which a language is never written: Japanese text holds kana, Korean text
# Hangul. A text holding none of them is not in that language, whatever language id says
# (lid.176 reads short Chinese phrases, even of 14 characters, as Japanese).
DISTINCTIVE_SCRIPTS: dict[str, tuple[str, ...]] = {"ja": ("Hira", "Kana"), "ko": ("Hang",)}


def could_be_in(text: str, lang: str) -> bool:
    """False when ``lang`` is always written with one of :data:`DISTINCTIVE_SCRIPTS`' scripts and
    ``text`` holds none of them (Han text without kana is not Japanese); True otherwise."""
    needed = DISTINCTIVE_SCRIPTS.get(lang)
    return needed is None or _letters_in(needed).search(text) is not None


# ---------------------------------------------------------------------------------------------
# Normalization.
# ---------------------------------------------------------------------------------------------
# NFKC splits Thai SARA AM (U+0E33) into NIKHAHIT + SARA AA and Lao AM (U+0EB3), HO NO and HO MO
# likewise: spellings the Thai and Lao word lists do not hold. Those scripts get NFC instead.
_NFKC_EXEMPT = regex.compile(r"([\p{sc=Thai}\p{sc=Laoo}]+)")


def nfkc(text: str) -> str:
    """Unicode NFKC (compatibility forms folded, canonical composition), but NFC for Thai and Lao runs."""
    if not _NFKC_EXEMPT.search(text):
        return unicodedata.normalize("NFKC", text)
    parts = _NFKC_EXEMPT.split(text)  # odd positions are the Thai/Lao runs
    return "".join(unicodedata.normalize("NFC" if i % 2 else "NFKC", part) for i, part in enumerate(parts))


# ---------------------------------------------------------------------------------------------
# Segmentation of scripts written without spaces.
# ---------------------------------------------------------------------------------------------
# One alternative per rule: a Han or kana character alone; a run of Thai, Lao, Khmer or Myanmar.
_UNSPACED = regex.compile(
    r"(?V1)(?P<char>[[\p{scx=Hani}\p{scx=Hira}\p{scx=Kana}]&&[\p{L}\p{M}\p{N}]])"
    r"|(?P<Thai>\p{sc=Thai}+)|(?P<Laoo>\p{sc=Laoo}+)|(?P<Khmr>\p{sc=Khmr}+)|(?P<Mymr>\p{sc=Mymr}+)"
)


def has_unspaced(text: str) -> bool:
    """True when ``text`` holds a character of a script written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar)."""
    return _UNSPACED.search(text) is not None


def segment_unspaced(text: str) -> list[str]:
    """Words of one whitespace-free chunk: each Han or kana character alone (as MLQA and XL-Sum
    score Chinese), Thai words by pythainlp's newmm, Lao words by LaoNLP, Khmer words by
    khmer-nltk, Burmese syllables by XL-Sum's rule; text of other scripts between them stays whole."""
    words: list[str] = []
    last = 0
    for match in _UNSPACED.finditer(text):
        if match.start() > last:
            words.append(text[last:match.start()])
        run, kind = match.group(), match.lastgroup
        if kind == "char":
            words.append(run)
        elif kind == "Thai":
            words.extend(thai_words(run))
        elif kind == "Laoo":
            words.extend(lao_words(run))
        elif kind == "Khmr":
            words.extend(khmer_words(run))
        else:
            words.extend(burmese_syllables(run))
        last = match.end()
    if last < len(text):
        words.append(text[last:])
    return [w for w in words if w.strip()]


def _pythainlp_read_only() -> None:
    # PyThaiNLP creates ~/pythainlp-data at import unless read-only, and fails where the home
    # folder cannot be written (a Ray worker's, a container's). Only the dictionaries inside the
    # wheels are used here, so nothing needs writing; a user's own setting wins.
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")


@functools.lru_cache(maxsize=1)
def _thai_tokenizer():
    _pythainlp_read_only()
    from pythainlp.tokenize import word_tokenize  # ~1.5 s to import: only when Thai is scored

    return word_tokenize


def thai_words(text: str, keep_whitespace: bool = False) -> list[str]:
    """Thai words by PyThaiNLP's ``newmm`` (dictionary maximal matching; the dictionary ships in
    the wheel). ``keep_whitespace=True`` returns the spaces between words as tokens of their own,
    as XL-Sum's scorer counts them."""
    return _thai_tokenizer()(text, engine="newmm", keep_whitespace=keep_whitespace)


def lao_words(text: str) -> list[str]:
    """Lao words by LaoNLP (PyThaiNLP's maximal matching on its Lao word list)."""
    _pythainlp_read_only()
    from laonlp.tokenize import word_tokenize

    return [w for w in word_tokenize(text) if w.strip()]


def khmer_words(text: str) -> list[str]:
    """Khmer words by khmer-nltk (a CRF segmenter whose model ships in the wheel)."""
    from khmernltk import word_tokenize

    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)  # its import sets DEBUG and announces the model
    return [w for w in word_tokenize(text) if w.strip()]


# Burmese: XL-Sum's scorer splits syllables (csebuetnlp/xl-sum multilingual_rouge_scoring,
# tokenizers.py BurmeseTokenizer, after Ding et al., ACM TALLIP 2019, doi 10.1145/3325885).
_MY_ASAT, _MY_DOT_BELOW, _MY_VIRAMA = "\u103a", "\u1037", "\u1039"
_MY_DEPENDENT = frozenset(
    [chr(c) for c in range(0x102B, 0x1033)] + ["\u1036", "\u1037", "\u1038"]
    + [chr(c) for c in range(0x103B, 0x103F)] + [_MY_ASAT]
)


def burmese_syllables(text: str) -> list[str]:
    """Burmese syllables by XL-Sum's rule: spaces dropped; dependent vowel and medial signs join
    the character before them; a unit of fewer than 4 characters holding an asat (U+103A) joins
    the unit before it (checked left to right, so after a join the next unit joins the emptied
    slot, as in XL-Sum); a virama (U+1039) glues the units on both sides. Characters of other
    scripts come out one by one, as there."""
    text = text.replace("\u200c", " ").replace(_MY_DOT_BELOW + _MY_ASAT, _MY_ASAT + _MY_DOT_BELOW)
    units: list[str] = []
    for ch in "".join(text.lower().split()):
        if ch in _MY_DEPENDENT and units:
            units[-1] += ch
        else:
            units.append(ch)
    for i in range(1, len(units)):
        if _MY_ASAT in units[i] and len(units[i]) < 4:
            units[i - 1] += units[i]
            units[i] = ""
    units = [u for u in units if u]
    return " ".join(units).replace(f" {_MY_VIRAMA} ", _MY_VIRAMA).split()
