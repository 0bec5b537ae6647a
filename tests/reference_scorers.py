"""The field's reference scorers, re-stated for the tests from their published code, so that
xlsearch's metrics can be checked against them without installing them.

- MLQA: the official evaluation script ``mlqa_evaluation_v1.py`` of facebookresearch/MLQA
  (normalize_answer, f1_score, exact_match_score), for its languages en, es, hi, vi, de, ar, zh.
- XL-Sum: csebuetnlp/xl-sum ``multilingual_rouge_scoring`` (tokenizers.py: BasicTokenizer,
  ThaiTokenizer, BurmeseTokenizer; rouge_scorer.py: MultiTokenizer; tokenization_wrapper.py),
  as called by its seq2seq/utils.py ``calculate_rouge(..., rouge_lang=lang)``, without stemming.
  Its default path pre-tokenizes with OpenNMT's ``pyonmttok.Tokenizer('aggressive')``, whose rule
  is re-stated in ``aggressive_split`` (checked against pyonmttok itself where that is installed).

Each function follows the order of operations of its source; the pointers name the function.
"""
from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter

# --- MLQA ------------------------------------------------------------------------------------
# PUNCT: every code point of a Unicode P* category, plus string.punctuation (MLQA's PUNCT).
MLQA_PUNCT = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")} | set(string.punctuation)
MLQA_ARTICLES = {  # remove_articles, per language
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
}
MLQA_LANGUAGES = ("en", "es", "hi", "vi", "de", "ar", "zh")


def mlqa_mixed_segmentation(text):
    """MLQA mixed_segmentation: each character of U+4E00..U+9FA5 (or punctuation) alone, other runs split on whitespace."""
    out, run = [], ""
    for ch in text:
        if re.search(r"[\u4e00-\u9fa5]", ch) or ch in MLQA_PUNCT:
            out.extend(run.split())
            run = ""
            out.append(ch)
        else:
            run += ch
    out.extend(run.split())
    return out


def mlqa_normalize(s, lang):
    """MLQA normalize_answer: lower, remove punctuation, remove articles, fix whitespace."""
    text = s.lower()
    text = "".join(ch for ch in text if ch not in MLQA_PUNCT)
    if lang in MLQA_ARTICLES:
        text = re.sub(MLQA_ARTICLES[lang], " ", text)
    elif lang == "ar":
        text = re.sub("\\sال^|ال", " ", text)
    elif lang not in ("hi", "zh"):
        raise ValueError(f"MLQA has no language {lang!r}")
    tokens = mlqa_mixed_segmentation(text) if lang == "zh" else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def mlqa_f1(prediction, ground_truth, lang):
    p = mlqa_normalize(prediction, lang).split()
    g = mlqa_normalize(ground_truth, lang).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def mlqa_exact(prediction, ground_truth, lang):
    return mlqa_normalize(prediction, lang) == mlqa_normalize(ground_truth, lang)


def mlqa_evaluate(predictions, ground_truths, lang):
    """MLQA evaluate: per question the max over its answers, then 100 x the mean."""
    f1 = sum(max(mlqa_f1(p, g, lang) for g in gts) for p, gts in zip(predictions, ground_truths))
    em = sum(max(mlqa_exact(p, g, lang) for g in gts) for p, gts in zip(predictions, ground_truths))
    return {"f1": 100.0 * f1 / len(predictions), "exact_match": 100.0 * em / len(predictions)}


# --- XL-Sum multilingual ROUGE ----------------------------------------------------------------
def _xlsum_is_punctuation(ch):
    """tokenizers._is_punctuation: all non-alphanumeric printable ASCII, and Unicode P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _xlsum_is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _xlsum_is_control(ch):
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def xlsum_basic_tokenizer(text):
    """tokenizers.BasicTokenizer.__call__: _clean_text, whitespace split, split on (and drop) punctuation."""
    cleaned = []
    for ch in text:
        if ord(ch) == 0 or ord(ch) == 0xFFFD or _xlsum_is_control(ch):
            continue
        cleaned.append(" " if _xlsum_is_whitespace(ch) else ch)
    split_tokens = []
    for token in "".join(cleaned).strip().split():
        pieces, start_new = [], True
        for ch in token:
            if _xlsum_is_punctuation(ch):
                start_new = True
            else:
                if start_new:
                    pieces.append([])
                start_new = False
                pieces[-1].append(ch)
        split_tokens.extend("".join(p) for p in pieces)
    return " ".join(split_tokens).split()


def xlsum_is_chinese_char(cp):
    """tokenizers.BasicTokenizer._is_chinese_char: the CJK ideograph blocks it lists."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


# pyonmttok's own marker characters, which it writes as other characters in its output.
_ONMT_RESERVED = {"\u2581": "_", "\uffe8": "\u2502", "\uffed": "\u25a0"}


def aggressive_split(text):
    """OpenNMT Tokenizer in 'aggressive' mode with default options, on space-separated text:
    runs of letters (L*) and runs of numbers (N*) are tokens, a change of type starts a new one,
    every other character is a token of its own, combining marks (M*) stay with what precedes."""
    tokens = []
    for index, word in enumerate(text.split()):
        kind = None
        for ch in word:
            cat = unicodedata.category(ch)[0]
            if cat == "M" and tokens and kind is not None:
                tokens[-1] += ch
                continue
            new_kind = "M" if cat == "M" else "L" if cat == "L" else "N" if cat == "N" else "O"
            if new_kind == "M" and index > 0:
                # A mark that opens a word (not the first) sticks to the space before it, which
                # pyonmttok writes as its protected-space escape.
                tokens.append("\uff050020" + ch)
            elif new_kind == "O" or new_kind != kind:
                tokens.append(_ONMT_RESERVED.get(ch, ch))
            else:
                tokens[-1] += ch
            kind = new_kind
    return tokens


def _thai_words(text):
    from pythainlp.tokenize import word_tokenize

    return word_tokenize(text, engine="newmm")  # as XL-Sum calls it: whitespace tokens kept


_MY_ASAT, _MY_DOT, _MY_STACK = "\u103a", "\u1037", "\u1039"
_MY_DEPENDENT = ({chr(0x102B + x) for x in range(8)} | {chr(0x1036 + x) for x in range(3)}
                 | {chr(0x103B + x) for x in range(4)} | {_MY_ASAT})


def _burmese_syllables(text):
    """tokenizers.BurmeseTokenizer (syllables after Ding et al., TALLIP 2019), step by step."""
    text = text.replace("\u200c", " ").replace(_MY_DOT + _MY_ASAT, _MY_ASAT + _MY_DOT)
    units = list("".join(text.lower().strip().split()))
    units.reverse()
    for i in range(len(units) - 1):  # dependent signs join the character before them
        if units[i][0] in _MY_DEPENDENT:
            units[i + 1] += units[i]
            units[i] = ""
    units.reverse()
    units = " ".join(units).split()
    for i in range(1, len(units)):  # short units with an asat join the unit before
        if _MY_ASAT in units[i] and len(units[i]) < 4:
            units[i - 1] += units[i]
            units[i] = ""
    units = " ".join(units).split()
    return " ".join(units).replace(" " + _MY_STACK + " ", _MY_STACK).split()


def xlsum_tokenize(text, lang=None, pretokenize=aggressive_split):
    """tokenization_wrapper.tokenize with MultiTokenizer(lang) and no stemmer: lower, sanitize,
    the language's segmenter (thai, burmese) or else the aggressive pre-tokenizer and CJK split."""
    text = " ".join(xlsum_basic_tokenizer(text.lower().strip()))
    tokens = []
    if lang == "thai":
        tokens = _thai_words(text)
    elif lang == "burmese":
        tokens = _burmese_syllables(text)
    if not tokens and text:
        text = " ".join(pretokenize(text))
        text = "".join(f" {ch} " if xlsum_is_chinese_char(ord(ch)) else ch for ch in text)
        tokens = text.split()
    return [t for t in tokens if t]


def ngram_f(target, prediction, n):
    t = Counter(tuple(target[i:i + n]) for i in range(len(target) - n + 1))
    p = Counter(tuple(prediction[i:i + n]) for i in range(len(prediction) - n + 1))
    hits = sum(min(c, p[g]) for g, c in t.items())
    precision, recall = hits / max(sum(p.values()), 1), hits / max(sum(t.values()), 1)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def lcs_f(target, prediction):
    if not target or not prediction:
        return 0.0
    row = [0] * (len(prediction) + 1)
    for t in target:
        prev_diag, row = 0, row[:]
        for j, p in enumerate(prediction, start=1):
            prev_diag, row[j] = row[j], prev_diag + 1 if t == p else max(row[j], row[j - 1])
    lcs = row[-1]
    precision, recall = lcs / len(prediction), lcs / len(target)
    return 0.0 if lcs == 0 else 2 * precision * recall / (precision + recall)


def xlsum_rouge(predictions, references, lang=None):
    """Corpus ROUGE-1/2/L F (0-100) as the mean over pairs of XL-Sum's per-pair scores.

    (XL-Sum's calculate_rouge reports the bootstrap 'mid' of the same per-pair scores.)"""
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for prediction, reference in zip(predictions, references):
        p, t = xlsum_tokenize(prediction, lang), xlsum_tokenize(reference, lang)
        totals["rouge1"] += ngram_f(t, p, 1)
        totals["rouge2"] += ngram_f(t, p, 2)
        totals["rougeL"] += lcs_f(t, p)
    return {k: 100.0 * v / len(predictions) for k, v in totals.items()}
