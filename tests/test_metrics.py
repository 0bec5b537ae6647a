"""Metrics against hand-computed values, the official SQuAD v1.1 script and rouge_score itself."""
import json
import re
import string
import unicodedata
from collections import Counter

import pytest
from rouge_score import rouge_scorer

from xlsearch.langid import get_identifier
from xlsearch.languages import UnknownLanguageError
from xlsearch.metrics import (
    generation_language_rates,
    is_degenerate,
    multilingual_tokenize,
    qa_reference_mask,
    qa_scores,
    qa_reference_filtered_rates,
    rouge_scores,
    rouge_tokenize,
    wrong_language_rate,
)
from shared_data import TEST_DATA, XLSUM_NOT_SHIPPED, shared



@pytest.fixture(scope="module")
def identifier():
    return get_identifier()


def load_squad(path):
    """(context, question id, answers) per question of a SQuAD-format file."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [
        (paragraph["context"], qa["id"], [a["text"] for a in qa["answers"]])
        for article in data
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


# --- the official SQuAD v1.1 evaluate script, copied here as the reference ---------------------
def official_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def official_f1_score(prediction, ground_truth):
    prediction_tokens = official_normalize_answer(prediction).split()
    ground_truth_tokens = official_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def official_exact_match_score(prediction, ground_truth):
    return official_normalize_answer(prediction) == official_normalize_answer(ground_truth)


def official_metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def official_evaluate(predictions, ground_truths):
    f1 = exact_match = 0
    for prediction, truths in zip(predictions, ground_truths):
        exact_match += official_metric_max_over_ground_truths(official_exact_match_score, prediction, truths)
        f1 += official_metric_max_over_ground_truths(official_f1_score, prediction, truths)
    return {"exact_match": 100.0 * exact_match / len(predictions), "f1": 100.0 * f1 / len(predictions)}


# --- QA: hand-computed values --------------------------------------------------------------------
def test_article_is_ignored_in_english_exact_match():
    assert qa_scores(["the Denver Broncos"], ["Denver Broncos"], "en") == {"f1": 100.0, "exact_match": 100.0}


def test_partial_overlap_f1_is_harmonic_mean_of_precision_and_recall():
    # P = 1/2 ("broncos" of "broncos won"), R = 1/2 ("broncos" of "denver broncos").
    scores = qa_scores(["Broncos won"], ["Denver Broncos"], "en")
    assert scores["f1"] == pytest.approx(50.0)
    assert scores["exact_match"] == 0.0


def test_list_of_references_takes_the_best_answer():
    scores = qa_scores(["Broncos won"], [["Denver Broncos", "Broncos won", "Carolina"]], "en")
    assert scores == {"f1": 100.0, "exact_match": 100.0}


def test_corpus_score_is_mean_over_examples():
    scores = qa_scores(["Denver Broncos", "Broncos won", "Panthers"], ["Denver Broncos"] * 3, "en")
    assert scores["f1"] == pytest.approx((100 + 50 + 0) / 3)
    assert scores["exact_match"] == pytest.approx(100 / 3)


def test_german_articles_and_unicode_quotes_are_removed():
    assert qa_scores(["der Vertrag von Paris"], ["Vertrag von Paris"], "de")["exact_match"] == 100.0
    assert qa_scores(["„Faust“"], ["Faust"], "de")["exact_match"] == 100.0
    # English keeps the official script's rules: "der" is a word and curly quotes are not removed.
    assert qa_scores(["der Vertrag von Paris"], ["Vertrag von Paris"], "en")["exact_match"] == 0.0
    assert qa_scores(["„Faust“"], ["Faust"], "en")["exact_match"] == 0.0


def test_articles_of_other_languages():
    assert qa_scores(["la Revolución Francesa"], ["Revolución Francesa"], "es")["exact_match"] == 100.0
    assert qa_scores(["η Ελληνική Δημοκρατία"], ["Ελληνική Δημοκρατία"], "el")["exact_match"] == 100.0
    # Articles only as whole words: "Laos" keeps its "la".
    assert qa_scores(["Laos"], ["os"], "es")["exact_match"] == 0.0


def test_chinese_f1_is_character_level():
    # P = 2/4, R = 2/2, F1 = 2 * 0.5 * 1 / 1.5.
    scores = qa_scores(["北京大学"], ["北京"], "zh")
    assert scores["f1"] == pytest.approx(200 / 3)
    assert scores["exact_match"] == 0.0
    # Full-width punctuation is Unicode punctuation; spaces between characters do not matter.
    assert qa_scores(["北京。"], ["北 京"], "zh") == {"f1": 100.0, "exact_match": 100.0}


def test_qa_bad_input_stops_early():
    with pytest.raises(ValueError, match="empty corpus"):
        qa_scores([], [], "en")
    with pytest.raises(ValueError, match="length mismatch"):
        qa_scores(["a"], ["a", "b"], "en")
    with pytest.raises(UnknownLanguageError, match="'xx'"):
        qa_scores(["a"], ["a"], "xx")
    with pytest.raises(ValueError, match="reference 0"):
        qa_scores(["a"], [[]], "en")


def perturb(i, context, answers, all_answers):
    """A plausible model answer: exact, truncated, extended, punctuated, or another question's answer."""
    answer = answers[0]
    kind = i % 5
    if kind == 0:
        return answer
    if kind == 1:
        words = answer.split()
        return " ".join(words[: max(1, len(words) // 2)])
    if kind == 2:
        end = context.find(answer) + len(answer)
        return answer + " " + " ".join(context[end:].split()[:3])
    if kind == 3:
        return f"The {answer}!"
    return all_answers[(i * 7) % len(all_answers)][0]


def test_english_qa_equals_official_squad_script_on_real_data():
    examples = load_squad(TEST_DATA / "squad" / "squad_v1.1_en_val_sample.json")
    assert len(examples) == 81
    all_answers = [answers for _, _, answers in examples]
    predictions = [perturb(i, context, answers, all_answers) for i, (context, _, answers) in enumerate(examples)]
    ours = qa_scores(predictions, all_answers, "en")
    official = official_evaluate(predictions, all_answers)
    assert ours["f1"] == pytest.approx(official["f1"], abs=1e-9)
    assert ours["exact_match"] == pytest.approx(official["exact_match"], abs=1e-9)
    # The perturbations must make the comparison non-trivial.
    assert 20 < official["exact_match"] < 80
    assert official["exact_match"] < official["f1"] < 95


# --- ROUGE ---------------------------------------------------------------------------------------
def is_plain_ascii(text):
    """No letter, digit or mark outside ASCII, before or after NFKC: where rouge_score's default tokenizer applies as is."""
    return all(
        ord(ch) < 128 or unicodedata.category(ch)[0] not in "LNM"
        for t in (text, unicodedata.normalize("NFKC", text))
        for ch in t
    )


def first_sentence(text):
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def test_tokenizer_equals_rouge_default_on_english():
    default = rouge_scorer.RougeScorer(["rouge1"])._tokenizer
    text = "The ex-Reading defender, 37, denied £5m fraud_charges (2008-2014) at the Old Bailey!"
    assert multilingual_tokenize(text) == default.tokenize(text)
    assert multilingual_tokenize(text)[:4] == ["the", "ex", "reading", "defender"]
    # English ROUGE tokens are rouge-score's own, non-ASCII letters included, after NFKC.
    for text in (text, "Zürich's Café: 5m, naïve"):
        assert rouge_tokenize(text, "en") == default.tokenize(text)
    assert rouge_tokenize("5m²", "en") == ["5m2"]  # NFKC: ² is 2 (rouge-score alone drops it)


def test_tokenizer_keeps_indic_words_and_splits_unspaced_scripts():
    # Tamil vowel signs and virama are combining marks: a plain \w+ would cut these words apart.
    assert multilingual_tokenize("தமிழ் நாடு") == ["தமிழ்", "நாடு"]
    assert multilingual_tokenize("北京大学 OK") == ["北", "京", "大", "学", "ok"]
    assert multilingual_tokenize("ｶﾀｶﾅ Café") == ["カ", "タ", "カ", "ナ", "café"]


def test_rouge_equals_rouge_score_on_real_xsum():
    path = shared("xlsum", XLSUM_NOT_SHIPPED) / "en_test.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    pairs = [(first_sentence(r["text"]), r["summary"]) for r in rows]
    pairs = [(p, s) for p, s in pairs if is_plain_ascii(p) and is_plain_ascii(s)]
    assert len(pairs) >= 290  # of 300: the comparison covers nearly all of them
    predictions, references = zip(*pairs)
    reference_scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    expected = {
        key: 100 * sum(reference_scorer.score(s, p)[key].fmeasure for p, s in pairs) / len(pairs)
        for key in ("rouge1", "rouge2", "rougeL")
    }
    ours = rouge_scores(list(predictions), list(references), "en")
    for key in expected:
        assert ours[key] == pytest.approx(expected[key], abs=1e-9)
    # Lead sentence vs XSum summary: near the LEAD baseline of Narayan et al. 2018 (16.30 / 1.60 / 11.95).
    assert 14 < ours["rouge1"] < 18
    assert 1 < ours["rouge2"] < 2.5
    assert 10 < ours["rougeL"] < 14


def test_correct_chinese_summary_scores_100():
    summary = "北京大学今天举行了毕业典礼。"
    assert rouge_scores([summary], [summary], "zh") == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    # rouge_score's default tokenizer drops every Chinese character: the reason for our tokenizer.
    assert rouge_scorer.RougeScorer(["rouge1"]).score(summary, summary)["rouge1"].fmeasure == 0.0


def test_chinese_half_overlap_scores_in_between():
    # Unigrams: 2 of 4 shared -> 50; bigrams: 1 of 3 shared ("北京") -> 33.3; LCS 2 of 4 -> 50.
    scores = rouge_scores(["北京大学"], ["北京天气"], "zh")
    assert scores["rouge1"] == pytest.approx(50.0)
    assert scores["rouge2"] == pytest.approx(100 / 3)
    assert scores["rougeL"] == pytest.approx(50.0)


def test_rouge_takes_best_reference_and_averages_examples():
    scores = rouge_scores(["the cat sat", "a b"], [["a dog ran", "the cat sat"], "a x"], "en")
    assert scores["rouge1"] == pytest.approx((100 + 50) / 2)


def test_rouge_bad_input_stops_early():
    with pytest.raises(ValueError, match="empty corpus"):
        rouge_scores([], [], "en")
    with pytest.raises(ValueError, match="length mismatch"):
        rouge_scores(["a"], [], "en")
    with pytest.raises(TypeError):
        rouge_scores("a summary", "a summary", "en")


# --- language of the outputs ----------------------------------------------------------------------
class FixedIdentifier:
    """Stands in for lid.176 with fixed answers, to test thresholds exactly."""

    def __init__(self, answers):
        self.answers = answers

    def identify(self, texts):
        return [self.answers[text] for text in texts]

    def identify_ranked(self, texts, k=3):
        return [[answer] for answer in self.identify(texts)]


def test_generation_rates_on_hand_made_outputs(identifier):
    texts = ["", "Das ist ein Haus.", "This is a house.", "eeeeee", "<extra_id_0> Das ist gut."]
    rates = generation_language_rates(texts, "de", identifier=identifier)
    assert rates == {
        "wrong_language_rate": 1 / 4,  # English, of 4 non-empty
        "wrong_script_rate": 0.0,  # German and English share the Latin script: fastText decides
        "empty_rate": 1 / 5,
        "undetermined_rate": 1 / 4,  # "eeeeee"
        "rudiment_rate": 1 / 5,
        "copied_rate": 0.0,  # no inputs given
        "language_counts": {"de": 2, "en": 1},
        "n": 5,
    }
    assert wrong_language_rate(texts, "de", identifier=identifier) == 0.25


def test_samples_say_which_language_each_output_was_identified_as():
    from xlsearch.tasks.base import Example
    from xlsearch.training.evaluate import Generations, sample_generations

    outputs = ["Das ist ein Haus in Berlin.", "This is a house in Berlin.", "", "Это дом в Берлине."]
    examples = [Example(f"q{i}", "de", "input", ("Das Haus",)) for i in range(len(outputs))]
    samples = sample_generations([Generations("de", examples, outputs, outputs)], n=4)
    judged = [(s["output"], s["verdict"], s["detected_language"], s["wrong_by_script"]) for s in samples]
    assert judged == [(outputs[0], "right", "de", False), (outputs[1], "wrong", "en", False),
                      ("", "empty", None, False), (outputs[3], "wrong", "ru", True)]
    assert samples[0]["confidence"] > 0.5 and samples[2]["confidence"] == 0.0
    # The samples' verdicts are the ones the rates count.
    rates = generation_language_rates(outputs, "de")
    assert rates["wrong_language_rate"] == sum(s["verdict"] == "wrong" for s in samples) / 3
    # A language lid.176 has no label for: outputs are kept, verdicts are null.
    hausa = sample_generations([Generations("ha", examples[:1], ["Ina kwana"], ["Ina kwana"])], n=1)
    assert hausa[0]["output"] == "Ina kwana" and hausa[0]["detected_language"] is None


def test_all_empty_outputs(identifier):
    rates = generation_language_rates(["", "  ", "\n"], "de", identifier=identifier)
    assert rates["wrong_language_rate"] == 0.0
    assert rates["empty_rate"] == 1.0
    assert rates["undetermined_rate"] == 0.0
    assert rates["language_counts"] == {}


def test_garbage_is_undetermined_not_wrong(identifier):
    texts = ["eeeeee", "the the the the", "<extra_id_0>", "<extra_id_0> <extra_id_1>", "1999", "!!!"]
    rates = generation_language_rates(texts, "de", identifier=identifier)
    assert rates["wrong_language_rate"] == 0.0
    assert rates["undetermined_rate"] == 1.0
    assert rates["rudiment_rate"] == pytest.approx(2 / 6)


def test_low_confidence_is_undetermined():
    fake = FixedIdentifier({"Das ist ein Haus.": ("de", 0.9), "Kirche Paris": ("en", 0.49), "Rome Paris": ("en", 0.5)})
    rates = generation_language_rates(list(fake.answers), "de", identifier=fake)
    assert rates["wrong_language_rate"] == pytest.approx(1 / 3)  # only the 0.5 one counts
    assert rates["undetermined_rate"] == pytest.approx(1 / 3)
    strict = generation_language_rates(list(fake.answers), "de", identifier=fake, min_confidence=0.95)
    assert strict["undetermined_rate"] == 1.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("eeeeee", True),
        ("ababab abab", True),  # 2 distinct letters
        ("the the the", True),  # 3 tokens, 1 distinct
        ("ja nein ja nein ja nein", True),  # 6 tokens, 2 distinct = one third
        ("1999", True),
        ("", True),
        ("北北北", True),
        ("Das ist ein Haus.", False),
        ("the cat the cat", False),  # 4 tokens, 2 distinct: more than one third
        ("abc", False),
        ("北京", False),  # one ideograph can be a word
        ("தமிழ் நாடு", False),
    ],
)
def test_is_degenerate(text, expected):
    assert is_degenerate(text) is expected


def test_language_without_fasttext_label_raises(identifier):
    with pytest.raises(ValueError, match="'ha'"):
        generation_language_rates(["Ina kwana"], "ha", identifier=identifier)
    with pytest.raises(UnknownLanguageError):
        generation_language_rates(["x"], "xx", identifier=identifier)


# --- QA language filter ---------------------------------------------------------------------------
def test_qa_mask_drops_digits_and_unidentified_short_answers(identifier):
    references = [
        "die Französische Revolution",  # German, identified as de
        ["1999", "im Jahr 1999"],  # first answer holds digits
        "Kirche 1517",  # German but digits
        "Martin Luther",  # a name: lid.176 cannot place it
        "Denver Broncos",  # identified as something other than de
        "the French Revolution",  # English
    ]
    assert qa_reference_mask(references, "de", identifier=identifier) == [True, False, False, False, False, False]


def test_qa_mask_keep_rate_on_real_xquad_german(identifier):
    examples = load_squad(TEST_DATA / "xquad" / "xquad.de.json")
    references = [answers for _, _, answers in examples]
    mask = qa_reference_mask(references, "de", identifier=identifier)
    assert len(mask) == 59
    # Measured: 25 of the slice's 59 (42.4%) kept, 544 of the full file's 1190 (45.7%);
    # names, numbers and one-word answers go.
    assert 0.40 < sum(mask) / len(mask) < 0.52
    assert not any(any(ch.isdigit() for ch in refs[0]) for refs, keep in zip(references, mask) if keep)


def test_qa_reference_filtered_rates_on_real_xquad(identifier):
    german = load_squad(TEST_DATA / "xquad" / "xquad.de.json")
    english = {qid: answers for _, qid, answers in load_squad(TEST_DATA / "xquad" / "xquad.en.json")}
    references = [answers for _, _, answers in german]
    # German gold answers as predictions: none is in the wrong language.
    own = qa_reference_filtered_rates([a[0] for a in references], references, "de", identifier=identifier)
    assert own["wrong_language_rate"] == 0.0
    assert own["n_kept"] == own["n"] == 25
    # English gold answers for the same questions: a model that answers in English.
    english_predictions = [english[qid][0] for _, qid, _ in german]
    rates = qa_reference_filtered_rates(english_predictions, references, "de", identifier=identifier)
    assert rates["n_kept"] == 25
    assert rates["wrong_language_rate"] > 0.5
    assert rates["language_counts"].get("en", 0) > rates["language_counts"].get("de", 0)


def test_qa_reference_filtered_rates_with_nothing_kept_raises(identifier):
    with pytest.raises(ValueError, match="no 'de' reference"):
        qa_reference_filtered_rates(["x", "y"], ["1999", "2000"], "de", identifier=identifier)
