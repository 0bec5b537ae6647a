"""Evaluation metrics for zero-shot cross-lingual transfer: ROUGE, QA F1/EM and the
language-of-output rates (how often a model answers in the wrong language).

Each metric follows the field's reference scorer for the language (see docs/reference/metrics.md):
- ROUGE: English as Google's rouge-score tokenizes it; every other language as XL-Sum's
  multilingual scorer does (csebuetnlp/xl-sum ``multilingual_rouge_scoring``): Thai words by
  pythainlp, Burmese syllables, other scripts by its default path (letters of every script,
  letter/number runs split, CJK ideographs one by one); Japanese kana split like ideographs.
- QA: SQuAD v1.1's official script for English; the official MLQA script for ar, de, es, hi,
  vi, zh; the same rules extended to the other languages (NFKC, Turkish i, Romanian s/t with
  comma, words of unspaced scripts by a segmenter, whole-word articles).
- Language rates: an output in letters the target language is not written in is wrong language;
  otherwise fastText's lid.176 decides, when it is confident.

All functions are pure: the same inputs give the same figures. Language id uses the
``identifier`` passed in, or the process-wide one from ``xlsearch.langid.get_identifier()``.

Scales: ``rouge_scores`` and ``qa_scores`` return 0-100; the language rates return shares in [0, 1].
"""
from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from xlsearch.langid import LanguageIdentifier, get_identifier
from xlsearch.languages import fasttext_label, get_language
from xlsearch.scripts import (
    burmese_syllables,
    could_be_in,
    has_unspaced,
    in_language_script,
    language_scripts,
    nfkc,
    segment_unspaced,
    thai_words,
)


def _import_rouge_score():
    """rouge_score's scorer and default tokenizer, imported without NLTK's optional extras.

    rouge_score imports ``nltk`` (for the Porter stemmer and the sentence splitter of
    ``rougeLsum``), and NLTK's package imports all its submodules, which import scipy.stats and
    scikit-learn when they are installed (MLflow installs both) for collocation measures and
    classifiers that ROUGE never calls: 1.3 s of the import's 1.8 s and ~145 MB in every process
    that scores, each trial's worker included (measured on the 2-CPU development machine). NLTK
    imports both inside ``try/except ImportError`` and falls back to its own code, so they are
    hidden for the length of this import only; whatever imports them later gets them as usual.
    (NLTK's Fisher exact test then raises NotImplementedError in this process; nothing here
    uses it.)
    """
    hidden = [name for name in ("scipy.stats", "sklearn") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import name` now raises ImportError
    try:
        from rouge_score import rouge_scorer, tokenizers
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return rouge_scorer, tokenizers.DefaultTokenizer


rouge_scorer, DefaultTokenizer = _import_rouge_score()

Reference = str | Sequence[str]

_ASCII_PUNCTUATION = frozenset(string.punctuation)


def _is_punctuation(ch: str) -> bool:
    """MLQA's PUNCT: every Unicode P* character and string.punctuation (which holds symbols,
    $ + < = > ^ ` | ~, that Unicode files under S*)."""
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch).startswith("P")


# ---------------------------------------------------------------------------------------------
# A language-agnostic tokenizer, for telling degenerate output from text (``is_degenerate``).
# ---------------------------------------------------------------------------------------------
def is_unsegmented_char(ch: str) -> bool:
    """True for a character of a script written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar)."""
    return has_unspaced(ch)


def multilingual_tokenize(text: str) -> list[str]:
    """Language-agnostic words: NFKC, lowercase, runs of letters/digits/combining marks, and each
    character of an unsegmented script as its own token. ``is_degenerate`` counts these; scoring
    uses the per-language ``rouge_tokenize`` and ``answer_tokens``.

    Combining marks (Unicode M*) stay inside words because Indic vowel signs are marks. On ASCII
    text the tokens equal rouge_score's default tokenizer without stemming (runs of [a-z0-9]).
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


# ---------------------------------------------------------------------------------------------
# ROUGE tokenization, per language, as the reference scorers do it.
# ---------------------------------------------------------------------------------------------
_ROUGE_SCORE_TOKENIZER = DefaultTokenizer(use_stemmer=False)


def _xlsum_punctuation(ch: str) -> bool:
    # XL-Sum tokenizers._is_punctuation: every non-alphanumeric printable ASCII character, and P*.
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(ch)[0] == "P"


def _xlsum_words(text: str) -> list[str]:
    """XL-Sum's BasicTokenizer: drop NUL, U+FFFD and control/format characters (C*, but tabs and
    newlines are spaces), split on whitespace and on punctuation, which goes."""
    out = []
    for ch in text:
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs" or _xlsum_punctuation(ch):
            out.append(" ")
        elif ch != "\0" and ch != "\ufffd" and unicodedata.category(ch)[0] != "C":
            out.append(ch)
    return "".join(out).split()


def _is_xlsum_cjk(ch: str) -> bool:
    # XL-Sum BasicTokenizer._is_chinese_char: the CJK ideograph blocks it names, so that Chinese
    # text scores as XL-Sum's default path scores it.
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _pretokenize(words: list[str]) -> list[str]:
    """XL-Sum's default path after sanitizing: OpenNMT's aggressive tokenizer (runs of letters and
    runs of numbers are tokens, a change between them splits, every other character (a symbol)
    is a token alone, combining marks stay with what precedes; a mark opening a word other than
    the first sticks to pyonmttok's escaped space), then each CJK ideograph alone."""
    tokens: list[str] = []
    for index, word in enumerate(words):
        kind = None
        for ch in word:
            category = unicodedata.category(ch)[0]
            if category == "M" and kind is not None:
                tokens[-1] += ch
                continue
            new_kind = category if category in "LNM" else "O"
            if new_kind == "M" and index > 0:
                tokens.append("\uff050020" + ch)
            elif new_kind == "O" or new_kind != kind:
                tokens.append("_" if ch == "\u2581" else ch)  # pyonmttok writes its space marker as "_"
            else:
                tokens[-1] += ch
            kind = new_kind
    return "".join(f" {ch} " if _is_xlsum_cjk(ch) else ch for ch in " ".join(tokens)).split()


def rouge_tokenize(text: str, lang: str) -> list[str]:
    """The tokens ROUGE counts for ``lang``, after NFKC (NFC for Thai and Lao letters):

    - ``en``: rouge-score's own tokenizer (lowercase runs of [a-z0-9]), no stemming;
    - ``th``: XL-Sum's Thai rule: lowercase, punctuation dropped, pythainlp newmm words, with the
      spaces between Thai phrases as tokens (XL-Sum keeps pythainlp's whitespace tokens);
    - ``my``: XL-Sum's Burmese rule: syllables (``xlsearch.scripts.burmese_syllables``);
    - every other language: XL-Sum's default path: lowercase, punctuation dropped, letters of
      every script kept, runs of letters and of digits split apart, each symbol and each CJK
      ideograph a token; for ``ja`` kana are split like ideographs too, and for languages in Lao
      or Khmer script their words come from LaoNLP or khmer-nltk.
    """
    text = nfkc(text)
    if lang == "en":
        return _ROUGE_SCORE_TOKENIZER.tokenize(text)
    words = _xlsum_words(text.lower().strip())
    if lang == "th":
        tokens = thai_words(" ".join(words), keep_whitespace=True)
    elif lang == "my":
        tokens = burmese_syllables(" ".join(words))
    else:
        tokens = _pretokenize(words)
        if lang == "ja" or {"Laoo", "Khmr"} & set(language_scripts(lang)):
            tokens = [piece for token in tokens
                      for piece in (segment_unspaced(token) if has_unspaced(token) else [token])]
    return [token for token in tokens if token]


class _LanguageTokenizer:
    """The object rouge_score's RougeScorer wants: anything with ``tokenize(text)``."""

    def __init__(self, lang: str):
        self.lang = lang

    def tokenize(self, text: str) -> list[str]:
        return rouge_tokenize(text, self.lang)


_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@functools.lru_cache(maxsize=None)
def _rouge_scorer(lang: str) -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(list(_ROUGE_TYPES), tokenizer=_LanguageTokenizer(lang))


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
    (per ROUGE type, as rouge_score's ``score_multi`` does). Tokens per language: ``rouge_tokenize``.
    No stemming in any language (XL-Sum's scorer stems with Snowball and language stemmers when
    asked to; the figures here are its unstemmed ones).
    """
    _check_corpus(predictions, references, lang)
    scorer = _rouge_scorer(lang)
    totals = dict.fromkeys(_ROUGE_TYPES, 0.0)
    for i, (prediction, reference) in enumerate(zip(predictions, references)):
        scores = scorer.score_multi(_answers(reference, i), prediction)
        for rouge_type in _ROUGE_TYPES:
            totals[rouge_type] += scores[rouge_type].fmeasure
    return {rouge_type: 100.0 * total / len(predictions) for rouge_type, total in totals.items()}


# ---------------------------------------------------------------------------------------------
# Extractive QA: SQuAD v1.1 for English, the MLQA script for its languages, extended to the others.
# ---------------------------------------------------------------------------------------------
# The official MLQA script's remove_articles (facebookresearch/MLQA mlqa_evaluation_v1.py); Arabic
# there replaces every "ال" with a space, Hindi and Chinese remove nothing.
_MLQA_ARTICLE_RES = {
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
}
MLQA_LANGUAGES = frozenset({"ar", "de", "es", "hi", "vi", "zh"})  # plus en, scored by SQuAD v1.1's script
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MLQA_HAN = re.compile(r"([\u4e00-\u9fa5])")  # mixed_segmentation's ideograph range

# Whole-word articles of languages outside MLQA, removed as tokens (never inside a word).
# Elided forms (French/Italian/Catalan l') are not listed: punctuation goes first, so "l'homme"
# is one word, as SQuAD and MLQA treat it.
ARTICLES: dict[str, frozenset[str]] = {lang: frozenset(words) for lang, words in {
    "fr": ("le", "la", "les", "un", "une", "des"),
    "it": ("il", "lo", "la", "i", "gli", "le", "un", "uno", "una"),
    "pt": ("o", "a", "os", "as", "um", "uma", "uns", "umas"),
    "ro": ("un", "o", "niște", "unui", "unei", "unor"),
    "el": ("ο", "η", "το", "οι", "τα", "του", "της", "των", "τον", "την", "τους", "τις",
           "ένας", "μια", "μία", "ένα", "ενός", "μιας", "έναν"),
    "ca": ("el", "la", "els", "les", "un", "una", "uns", "unes"),
    "nl": ("de", "het", "een"),
}.items()}
TURKIC_I = frozenset({"tr", "az"})  # I/ı and İ/i are two letters, cased in pairs
_ROMANIAN_COMMA = str.maketrans({"ş": "ș", "ţ": "ț"})  # cedilla forms, as old fonts wrote them


def _squad_normalize(text: str) -> str:
    # Exactly the official SQuAD v1.1 evaluate script, so English figures match it.
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
    text = _SQUAD_ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _mlqa_normalize(text: str, lang: str) -> str:
    # Exactly the official MLQA script's normalize_answer: lower, punctuation, articles, whitespace
    # (Chinese: each ideograph of U+4E00..U+9FA5 a token of its own).
    text = "".join(ch for ch in text.lower() if not _is_punctuation(ch))
    if lang in _MLQA_ARTICLE_RES:
        text = _MLQA_ARTICLE_RES[lang].sub(" ", text)
    elif lang == "ar":
        text = text.replace("ال", " ")
    if lang == "zh":
        text = _MLQA_HAN.sub(r" \1 ", text)
    return " ".join(text.split())


def _extended_tokens(text: str, lang: str) -> list[str]:
    if lang in TURKIC_I:
        text = text.replace("I", "ı").replace("İ", "i")
    text = text.lower()
    if lang == "ro":
        text = text.translate(_ROMANIAN_COMMA)
    text = "".join(ch for ch in text if not _is_punctuation(ch))
    tokens = [piece for word in text.split()
              for piece in (segment_unspaced(word) if has_unspaced(word) else [word])]
    articles = ARTICLES.get(lang, frozenset())
    return [token for token in tokens if token not in articles]


def normalize_answer(text: str, lang: str) -> str:
    """An answer as QA scoring compares it, tokens joined by single spaces. First NFKC (NFC for
    Thai and Lao letters), then:

    - ``en``: the official SQuAD v1.1 script (lowercase, ASCII punctuation, a/an/the);
    - ``ar de es hi vi zh``: the official MLQA script (lowercase, Unicode punctuation, its
      per-language articles and stop words, whitespace tokens; Chinese ideographs one by one);
    - every other language, the same rules extended: Turkish and Azerbaijani case I/ı and İ/i
      in pairs, Romanian ş/ţ (cedilla) are ș/ț (comma), lowercase, Unicode punctuation goes,
      whitespace tokens with unspaced scripts segmented (``xlsearch.scripts.segment_unspaced``:
      Han and kana by character, Thai, Lao, Khmer by word, Burmese by syllable), then the
      language's articles (``ARTICLES``) removed as whole tokens.
    """
    text = nfkc(text)
    if lang == "en":
        return _squad_normalize(text)
    if lang in MLQA_LANGUAGES:
        return _mlqa_normalize(text, lang)
    return " ".join(_extended_tokens(text, lang))


def answer_tokens(text: str, lang: str) -> list[str]:
    """The tokens QA F1 counts: the normalized answer split on spaces."""
    return normalize_answer(text, lang).split()


def _answer_f1(prediction: list[str], reference: list[str]) -> float:
    common = Counter(prediction) & Counter(reference)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction)
    recall = num_same / len(reference)
    return 2 * precision * recall / (precision + recall)


def qa_scores(predictions: Sequence[str], references: Sequence[Reference], lang: str) -> dict[str, float]:
    """Corpus F1 and exact match, 0-100, as SQuAD v1.1 and MLQA compute them: per example the best
    over its accepted answers (one string or a list), then the mean over examples. Exact match is
    equality of the normalized answers (``normalize_answer``), so "北京 大学" matches "北京大学"."""
    _check_corpus(predictions, references, lang)
    f1_total = exact_total = 0.0
    for i, (prediction, reference) in enumerate(zip(predictions, references)):
        normalized = normalize_answer(prediction, lang)
        golds = [normalize_answer(answer, lang) for answer in _answers(reference, i)]
        f1_total += max(_answer_f1(normalized.split(), gold.split()) for gold in golds)
        exact_total += max(float(normalized == gold) for gold in golds)
    return {"f1": 100.0 * f1_total / len(predictions), "exact_match": 100.0 * exact_total / len(predictions)}


# ---------------------------------------------------------------------------------------------
# Language of the outputs.
# ---------------------------------------------------------------------------------------------
_SENTINEL_RE = re.compile(r"<extra_id_\d+>")


def is_degenerate(text: str) -> bool:
    """True for text no language can be read from, so it is "undetermined", never "wrong language".

    Rule (on ``multilingual_tokenize`` tokens, NFKC-lowercased):
    - at most 2 distinct letters (``eeeeee``, ``ababab``, ``1999``, ``!!``), unless the text holds a
      letter of an unsegmented script, where one character can be a word (``北京``);
    - or at least 3 tokens of which at most one third are distinct (``the the the``,
      ``北北北``). Note that a sentence repeated three times or more also matches.
    """
    normalized = unicodedata.normalize("NFKC", text).lower()
    letters = {ch for ch in normalized if ch.isalpha()}
    if len(letters) <= 2 and not any(is_unsegmented_char(ch) for ch in letters):
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


@dataclass(frozen=True)
class OutputLanguage:
    """The verdict on one generated output (see :func:`judge_outputs`)."""

    verdict: str  # "empty", "undetermined", "wrong" or "right"
    language: str | None  # lid.176's top label for the readable text (None: empty or degenerate)
    confidence: float  # its probability (0.0 where fastText was not asked)
    by_script: bool  # wrong because its letters are all of scripts the language is not written in
    copied: bool = False  # right because it is copied from its input (which is in the language)

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "detected_language": self.language,
                "confidence": round(self.confidence, 4), "wrong_by_script": self.by_script,
                "copied_from_input": self.copied}


def _copy_tokens(text: str) -> str:
    """``text`` as a string of :func:`multilingual_tokenize` tokens, each between separators, so
    that containment is containment of whole tokens (``"Gaga"`` is in ``"Lady Gaga sang"``,
    ``"ga"`` is not)."""
    return "\x1f" + "\x1f".join(multilingual_tokenize(text)) + "\x1f"


def copied_from(output: str, source: str) -> bool:
    """Whether ``output`` holds a letter and its words occur, in order and adjacent, in
    ``source`` (NFKC, case and punctuation ignored): an answer copied from its context."""
    if not any(ch.isalpha() for ch in output):
        return False
    tokens = _copy_tokens(output)
    return tokens != "\x1f\x1f" and tokens in _copy_tokens(source)


def _possible_label(ranked: list[tuple[str, float]], text: str) -> tuple[str | None, float]:
    """The most likely of fastText's labels that the text's scripts allow (Han without kana is not
    Japanese: :func:`xlsearch.scripts.could_be_in`), or (None, 0.0)."""
    return next(((label, prob) for label, prob in ranked if could_be_in(text, label)), (None, 0.0))


def judge_outputs(
    texts: Sequence[str],
    lang: str,
    *,
    inputs: Sequence[str] | None = None,
    identifier: LanguageIdentifier | None = None,
    min_confidence: float = 0.5,
) -> list[OutputLanguage]:
    """Whether each generated text is in the target language ``lang``, from the outputs and, when
    given, the ``inputs`` they answer (one per text, in ``lang``), never from a reference.
    In this order (mT5 sentinels ``<extra_id_N>`` removed first):

    1. empty when blank; undetermined when nothing is left, or it is degenerate (``is_degenerate``),
       or it holds no letter of any script (a bare number or date is in no language);
    2. right when it is copied from its input (:func:`copied_from`): an answer copied from the
       target-language context is in the context's language whatever its script (a Latin-script
       name in a Greek text);
    3. wrong language when its letters are all of scripts ``lang`` is not written in (Latin
       letters for a Thai, Hindi, Russian, Arabic or Chinese target), whatever its length and
       whatever fastText says (``xlsearch.scripts.in_language_script``);
    4. otherwise fastText's lid.176 decides, with the most likely label the text's scripts allow
       (Han text without kana is not Japanese, whatever fastText says): wrong language when it
       is another language with probability >= ``min_confidence``, right when it is ``lang``,
       else undetermined.

    fastText's label and confidence are given for every readable text, the ones judged by
    script or copy included, so that a sample shows what the output looks like to language id.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of outputs, not a single str")
    if inputs is not None and (isinstance(inputs, str) or len(inputs) != len(texts)):
        raise ValueError("inputs must be a list with one input text per output")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence={min_confidence} is outside [0, 1]")
    target = _target_label(lang)
    identifier = identifier if identifier is not None else get_identifier()
    scripted = bool(language_scripts(lang))
    verdicts: list[OutputLanguage | None] = []
    readable: list[tuple[int, str, bool | None, bool]] = []  # (index, text, in the language's script, copied)
    for i, text in enumerate(texts):
        if not text.strip():
            verdicts.append(OutputLanguage("empty", None, 0.0, False))
            continue
        # Sentinels are mT5's pre-training rudiments, not language: judge what surrounds them.
        stripped = " ".join(_SENTINEL_RE.sub(" ", text).split())
        if not stripped or is_degenerate(stripped) or not any(ch.isalpha() for ch in stripped):
            verdicts.append(OutputLanguage("undetermined", None, 0.0, False))
            continue
        text = nfkc(stripped)
        in_script = in_language_script(text, lang) if scripted else True
        copied = inputs is not None and copied_from(text, inputs[i])
        verdicts.append(None)
        readable.append((i, text, in_script, copied))
    ranked_all = identifier.identify_ranked([t for _, t, _, _ in readable], k=3)
    for (i, text, in_script, copied), ranked in zip(readable, ranked_all):
        label, prob = _possible_label(ranked, text)
        if copied:
            verdicts[i] = OutputLanguage("right", label, prob, False, copied=True)
        elif in_script is False:
            verdicts[i] = OutputLanguage("wrong", label, prob, True)
        elif in_script is None or label is None or prob < min_confidence:
            verdicts[i] = OutputLanguage("undetermined", label, prob, False)
        else:
            verdicts[i] = OutputLanguage("right" if label == target else "wrong", label, prob, False)
    return verdicts


def generation_language_rates(
    texts: Sequence[str],
    lang: str,
    *,
    inputs: Sequence[str] | None = None,
    identifier: LanguageIdentifier | None = None,
    min_confidence: float = 0.5,
) -> dict:
    """How often generated ``texts`` are not in the target language ``lang``; each output is
    judged by :func:`judge_outputs` (with its input, when ``inputs`` are given). Reads no
    reference.

    Returns shares in [0, 1]:
    - ``empty_rate``: blank outputs, over all outputs;
    - ``rudiment_rate``: outputs holding an mT5 sentinel, over all outputs;
    - ``wrong_language_rate``: outputs wrong by script or by fastText, over non-empty outputs
      (0.0 if there are none);
    - ``wrong_script_rate``: the part of it decided by script alone, over non-empty outputs;
    - ``undetermined_rate``: non-empty outputs neither right nor wrong, over non-empty outputs;
    - ``copied_rate``: outputs right because copied from their input, over non-empty outputs;
    and ``language_counts`` (lid.176 label -> count of the outputs fastText decided) and ``n``.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of outputs, not a single str")
    if len(texts) == 0:
        raise ValueError("empty corpus: texts has no outputs")
    verdicts = judge_outputs(texts, lang, inputs=inputs, identifier=identifier, min_confidence=min_confidence)
    rudiments = sum(1 for text in texts if _SENTINEL_RE.search(text))
    n_non_empty = sum(v.verdict != "empty" for v in verdicts)
    n_wrong = sum(v.verdict == "wrong" for v in verdicts)
    n_wrong_script = sum(v.by_script for v in verdicts)
    n_undetermined = sum(v.verdict == "undetermined" for v in verdicts)
    n_copied = sum(v.copied for v in verdicts)
    language_counts = Counter(v.language for v in verdicts
                              if v.verdict in ("right", "wrong") and not v.by_script and not v.copied)

    def share(n: int) -> float:
        return n / n_non_empty if n_non_empty else 0.0

    return {
        "wrong_language_rate": share(n_wrong),
        "wrong_script_rate": share(n_wrong_script),
        "empty_rate": (len(texts) - n_non_empty) / len(texts),
        "undetermined_rate": share(n_undetermined),
        "copied_rate": share(n_copied),
        "rudiment_rate": rudiments / len(texts),
        "language_counts": dict(language_counts),
        "n": len(texts),
    }


def wrong_language_rate(texts: Sequence[str], lang: str, **kwargs) -> float:
    """Share of non-empty ``texts`` in another script or confidently identified as another language, in [0, 1]."""
    return generation_language_rates(texts, lang, **kwargs)["wrong_language_rate"]


def qa_reference_mask(
    references: Sequence[Reference],
    lang: str,
    *,
    identifier: LanguageIdentifier | None = None,
    min_confidence: float = 0.5,
) -> list[bool]:
    """The study's filter (Chirkova & Nikoulina, 2024): which QA examples to language-check, those
    whose first reference answer holds no digit and is itself identified as ``lang`` with
    probability >= ``min_confidence``. It **reads the references**, so a rate filtered by it is
    not label-free; :func:`judge_outputs` with the questions and contexts as ``inputs`` is.
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


def qa_reference_filtered_rates(
    predictions: Sequence[str],
    references: Sequence[Reference],
    lang: str,
    *,
    identifier: LanguageIdentifier | None = None,
    min_confidence: float = 0.5,
) -> dict:
    """``generation_language_rates`` over the predictions that ``qa_reference_mask`` keeps, plus
    ``n_kept``. Reads the references: for reporting, never for a zero-shot choice.

    The filter looks at the reference answers only: a kept example's prediction in another script
    is wrong language by script whatever its length (an English name for a Thai question).

    Raises ValueError when no example is kept: a rate over nothing would read as 0% wrong.
    """
    _check_corpus(predictions, references, lang)
    mask = qa_reference_mask(references, lang, identifier=identifier, min_confidence=min_confidence)
    kept = [prediction for prediction, keep in zip(predictions, mask) if keep]
    if not kept:
        raise ValueError(
            f"no {lang!r} reference answer passed the language filter (no digits, identified as {lang!r}), "
            f"out of {len(references)}; evaluate on more examples or lower min_confidence"
        )
    rates = generation_language_rates(kept, lang, identifier=identifier, min_confidence=min_confidence)
    return {**rates, "n_kept": len(kept)}
