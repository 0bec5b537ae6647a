"""Evaluation metrics for zero-shot cross-lingual transfer: ROUGE, SQuAD-style QA F1/EM and
the language-of-output rates (how often a model answers in the wrong language).

All functions are pure: the same inputs give the same figures. Language id uses the
``identifier`` passed in, or the process-wide one from ``xlsearch.langid.get_identifier()``.

Scales: ``rouge_scores`` and ``qa_scores`` return 0-100; the language rates return shares in [0, 1].
"""
from __future__ import annotations

import bisect
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

from rouge_score import rouge_scorer

from xlsearch.langid import LanguageIdentifier, get_identifier
from xlsearch.languages import fasttext_label, get_language

Reference = str | Sequence[str]

# ---------------------------------------------------------------------------------------------
# Scripts written without spaces between words. Their characters are scored one by one: without
# that, a whole Chinese sentence is one "word" and a summary with one wrong character scores 0.
# ---------------------------------------------------------------------------------------------
_UNSEGMENTED_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK ideographs, extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width katakana (QA text is not NFKC-normalised)
    (0x20000, 0x3134F),  # CJK ideographs, extensions B-H and compatibility supplement
)
_RANGE_STARTS = [lo for lo, _ in _UNSEGMENTED_RANGES]


def is_unsegmented_char(ch: str) -> bool:
    """True for a character of a script written without spaces (CJK, kana, Thai, Lao, Khmer, Myanmar)."""
    i = bisect.bisect_right(_RANGE_STARTS, ord(ch)) - 1
    return i >= 0 and ord(ch) <= _UNSEGMENTED_RANGES[i][1]


def multilingual_tokenize(text: str) -> list[str]:
    """Words for ROUGE in any language: NFKC, lowercase, runs of letters/digits/combining marks,
    and each character of an unsegmented script as its own token.

    Combining marks (Unicode M*) stay inside words because Indic vowel signs are marks: splitting
    on them would cut Tamil or Hindi words into pieces. On ASCII text the tokens equal
    rouge_score's default tokenizer without stemming (runs of [a-z0-9]).
    """
    tokens: list[str] = []
    word: list[str] = []
    for ch in unicodedata.normalize("NFKC", text).lower():
        if is_unsegmented_char(ch):
            if word:
                tokens.append("".join(word))
                word = []
            tokens.append(ch)
        elif unicodedata.category(ch)[0] in "LNM":
            word.append(ch)
        elif word:
            tokens.append("".join(word))
            word = []
    if word:
        tokens.append("".join(word))
    return tokens


class _MultilingualTokenizer:
    """The object rouge_score's RougeScorer wants: anything with ``tokenize(text)``."""

    def tokenize(self, text: str) -> list[str]:
        return multilingual_tokenize(text)


_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_ROUGE_SCORER = rouge_scorer.RougeScorer(list(_ROUGE_TYPES), tokenizer=_MultilingualTokenizer())


def _check_corpus(predictions: Sequence[str], references: Sequence[Reference], lang: str) -> None:
    get_language(lang)  # an unknown code stops here, naming the supported ones
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError("predictions and references must be lists (one entry per example), not a single str")
    if len(predictions) == 0:
        raise ValueError("empty corpus: predictions has no examples")
    if len(predictions) != len(references):
        raise ValueError(
            f"length mismatch: {len(predictions)} predictions vs {len(references)} references; one reference entry per prediction"
        )


def _answers(reference: Reference, index: int) -> list[str]:
    answers = [reference] if isinstance(reference, str) else list(reference)
    if not answers:
        raise ValueError(f"reference {index} is an empty list; give at least one reference text")
    return answers


def rouge_scores(predictions: Sequence[str], references: Sequence[Reference], lang: str) -> dict[str, float]:
    """Corpus ROUGE-1/2/L F-measure, 0-100: the mean over examples of each example's F-measure.

    A reference may be one string or a list of strings; each example takes its best reference
    (per ROUGE type, as rouge_score's ``score_multi`` does). The tokenizer works for every
    language (see ``multilingual_tokenize``); ``lang`` is checked against the language table.
    """
    _check_corpus(predictions, references, lang)
    totals = dict.fromkeys(_ROUGE_TYPES, 0.0)
    for i, (prediction, reference) in enumerate(zip(predictions, references)):
        scores = _ROUGE_SCORER.score_multi(_answers(reference, i), prediction)
        for rouge_type in _ROUGE_TYPES:
            totals[rouge_type] += scores[rouge_type].fmeasure
    return {rouge_type: 100.0 * total / len(predictions) for rouge_type, total in totals.items()}


# ---------------------------------------------------------------------------------------------
# Extractive QA: SQuAD v1.1 for English, MLQA-style normalisation for other languages.
# ---------------------------------------------------------------------------------------------
# Whole-word articles removed before comparing answers. Elided forms (French/Italian/Catalan l')
# are not listed: punctuation is removed first, as in SQuAD and MLQA, so "l'homme" is one word.
# Arabic's "ال" is a prefix, not a word, and stays (removing it mid-word would corrupt answers).
ARTICLES: dict[str, tuple[str, ...]] = {
    "en": ("a", "an", "the"),
    "de": ("der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "eines", "einer"),
    "es": ("el", "la", "los", "las", "un", "una", "unos", "unas"),
    "fr": ("le", "la", "les", "un", "une", "des"),
    "it": ("il", "lo", "la", "i", "gli", "le", "un", "uno", "una"),
    "pt": ("o", "a", "os", "as", "um", "uma", "uns", "umas"),
    "ro": ("un", "o", "niște", "unui", "unei", "unor"),
    "el": ("ο", "η", "το", "οι", "τα", "του", "της", "των", "τον", "την", "τους", "τις",
           "ένας", "μια", "μία", "ένα", "ενός", "μιας", "έναν"),
    "ca": ("el", "la", "els", "les", "un", "una", "uns", "unes"),
    "nl": ("de", "het", "een"),
}
_ARTICLE_RES = {lang: re.compile(rf"\b({'|'.join(words)})\b") for lang, words in ARTICLES.items()}
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def _squad_normalize(text: str) -> str:
    # Exactly the official SQuAD v1.1 evaluate script, so English figures match it.
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
    text = _ARTICLE_RES["en"].sub(" ", text)
    return " ".join(text.split())


def _is_punctuation(ch: str) -> bool:
    # string.punctuation holds symbols ($ + < = > ^ ` | ~) that Unicode files under S*, not P*.
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch).startswith("P")


def normalize_answer(text: str, lang: str) -> str:
    """An answer as QA scoring compares it: SQuAD v1.1 for ``en``; otherwise lowercase, drop
    Unicode and ASCII punctuation, drop the language's whole-word articles, collapse whitespace."""
    if lang == "en":
        return _squad_normalize(text)
    text = "".join(ch for ch in text.lower() if not _is_punctuation(ch))
    if lang in _ARTICLE_RES:
        text = _ARTICLE_RES[lang].sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str, lang: str) -> list[str]:
    """The tokens QA F1 counts: whitespace tokens of the normalised answer; outside English,
    characters of unsegmented scripts are single tokens (so Chinese F1 is character-level)."""
    words = normalize_answer(text, lang).split()
    if lang == "en":
        return words
    tokens: list[str] = []
    for word in words:
        run = ""
        for ch in word:
            if is_unsegmented_char(ch):
                if run:
                    tokens.append(run)
                    run = ""
                tokens.append(ch)
            else:
                run += ch
        if run:
            tokens.append(run)
    return tokens


def _answer_f1(prediction: list[str], reference: list[str]) -> float:
    common = Counter(prediction) & Counter(reference)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction)
    recall = num_same / len(reference)
    return 2 * precision * recall / (precision + recall)


def _answer_exact(prediction: str, reference: str, lang: str) -> float:
    if lang == "en":
        return float(_squad_normalize(prediction) == _squad_normalize(reference))
    # Token equality rather than string equality: "北京 大学" and "北京大学" have F1 100, so EM 100 too.
    return float(answer_tokens(prediction, lang) == answer_tokens(reference, lang))


def qa_scores(predictions: Sequence[str], references: Sequence[Reference], lang: str) -> dict[str, float]:
    """Corpus F1 and exact match, 0-100, as in SQuAD v1.1: per example the best over its accepted
    answers (one string or a list), then the mean over examples."""
    _check_corpus(predictions, references, lang)
    f1_total = exact_total = 0.0
    for i, (prediction, reference) in enumerate(zip(predictions, references)):
        answers = _answers(reference, i)
        prediction_tokens = answer_tokens(prediction, lang)
        f1_total += max(_answer_f1(prediction_tokens, answer_tokens(a, lang)) for a in answers)
        exact_total += max(_answer_exact(prediction, a, lang) for a in answers)
    return {"f1": 100.0 * f1_total / len(predictions), "exact_match": 100.0 * exact_total / len(predictions)}


# ---------------------------------------------------------------------------------------------
# Language of the outputs.
# ---------------------------------------------------------------------------------------------
_SENTINEL_RE = re.compile(r"<extra_id_\d+>")


def is_degenerate(text: str) -> bool:
    """True for text no language can be read from, so it is "undetermined", never "wrong language".

    Rule (on ``multilingual_tokenize`` tokens, NFKC-lowercased):
    - at most 2 distinct letters (``eeeeee``, ``ababab``, ``1999``, ``!!``), unless the text holds a
      character of an unsegmented script, where one character can be a word (``北京``);
    - or at least 3 tokens of which at most one third are distinct (``the the the``,
      ``北北北``). Note that a sentence repeated three times or more also matches.
    """
    normalized = unicodedata.normalize("NFKC", text).lower()
    letters = {ch for ch in normalized if ch.isalpha()}
    if len(letters) <= 2 and not any(is_unsegmented_char(ch) for ch in normalized):
        return True
    tokens = multilingual_tokenize(normalized)
    return len(tokens) >= 3 and 3 * len(set(tokens)) <= len(tokens)


def _target_label(lang: str) -> str:
    label = fasttext_label(lang)  # an unknown code raises UnknownLanguageError (a ValueError)
    if label is None:
        raise ValueError(
            f"language {lang!r} has no lid.176 label, so its wrong-language rate cannot be measured"
        )
    return label


def generation_language_rates(
    texts: Sequence[str],
    lang: str,
    *,
    identifier: LanguageIdentifier | None = None,
    min_confidence: float = 0.5,
) -> dict:
    """How often generated ``texts`` are not in the target language ``lang``.

    Returns shares in [0, 1]:
    - ``empty_rate``: blank outputs, over all outputs;
    - ``rudiment_rate``: outputs holding an mT5 sentinel ``<extra_id_N>``, over all outputs;
    - ``wrong_language_rate``: non-empty outputs confidently identified (top lid.176 probability
      >= ``min_confidence``) as another language, over non-empty outputs (0.0 if there are none);
    - ``undetermined_rate``: non-empty outputs that are blank once sentinels are removed,
      degenerate (``is_degenerate``) or below ``min_confidence``, over non-empty outputs;
    and ``language_counts`` (lid.176 label -> count over confidently identified outputs) and ``n``.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of outputs, not a single str")
    if len(texts) == 0:
        raise ValueError("empty corpus: texts has no outputs")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence={min_confidence} is outside [0, 1]")
    target = _target_label(lang)
    identifier = identifier if identifier is not None else get_identifier()

    non_empty = [text for text in texts if text.strip()]
    rudiments = sum(1 for text in texts if _SENTINEL_RE.search(text))
    # Sentinels are mT5's pre-training rudiments, not language: identify what surrounds them.
    stripped = [" ".join(_SENTINEL_RE.sub(" ", text).split()) for text in non_empty]
    readable = [text for text in stripped if text and not is_degenerate(text)]
    language_counts: Counter[str] = Counter(
        label for label, prob in identifier.identify(readable) if label is not None and prob >= min_confidence
    )
    n_confident = sum(language_counts.values())
    n_wrong = n_confident - language_counts.get(target, 0)
    n_non_empty = len(non_empty)
    return {
        "wrong_language_rate": n_wrong / n_non_empty if n_non_empty else 0.0,
        "empty_rate": (len(texts) - n_non_empty) / len(texts),
        "undetermined_rate": (n_non_empty - n_confident) / n_non_empty if n_non_empty else 0.0,
        "rudiment_rate": rudiments / len(texts),
        "language_counts": dict(language_counts),
        "n": len(texts),
    }


def wrong_language_rate(texts: Sequence[str], lang: str, **kwargs) -> float:
    """Share of non-empty ``texts`` confidently identified as a language other than ``lang``, in [0, 1]."""
    return generation_language_rates(texts, lang, **kwargs)["wrong_language_rate"]


def qa_language_mask(
    references: Sequence[Reference],
    lang: str,
    *,
    identifier: LanguageIdentifier | None = None,
    min_confidence: float = 0.5,
) -> list[bool]:
    """Which QA examples can be language-checked: the first reference answer holds no digit and
    is itself identified as ``lang`` with probability >= ``min_confidence``.

    Language id is unreliable on short answers (Chirkova & Nikoulina, 2024): an answer that
    lid.176 cannot place in its own language says nothing about the prediction's language.
    """
    if isinstance(references, str):
        raise TypeError("references must be a list (one entry per example), not a single str")
    target = _target_label(lang)
    identifier = identifier if identifier is not None else get_identifier()
    firsts = [_answers(reference, i)[0] for i, reference in enumerate(references)]
    identified = identifier.identify(firsts)
    return [
        not any(ch.isdigit() for ch in answer) and label == target and prob >= min_confidence
        for answer, (label, prob) in zip(firsts, identified)
    ]


def qa_wrong_language_rates(
    predictions: Sequence[str],
    references: Sequence[Reference],
    lang: str,
    *,
    identifier: LanguageIdentifier | None = None,
    min_confidence: float = 0.5,
) -> dict:
    """``generation_language_rates`` over the predictions that ``qa_language_mask`` keeps, plus ``n_kept``.

    Raises ValueError when no example is kept: a rate over nothing would read as 0% wrong.
    """
    _check_corpus(predictions, references, lang)
    mask = qa_language_mask(references, lang, identifier=identifier, min_confidence=min_confidence)
    kept = [prediction for prediction, keep in zip(predictions, mask) if keep]
    if not kept:
        raise ValueError(
            f"no {lang!r} reference answer passed the language filter (no digits, identified as {lang!r}), "
            f"out of {len(references)}; evaluate on more examples or lower min_confidence"
        )
    rates = generation_language_rates(kept, lang, identifier=identifier, min_confidence=min_confidence)
    return {**rates, "n_kept": len(kept)}
