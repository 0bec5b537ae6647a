"""LM objectives: span corruption reads back exactly, denoising masks about 35%, and the tiny
models of every family learn from the pairs that lm_examples builds."""
from __future__ import annotations

import math
import random
from statistics import mean

import pytest
import torch

from xlsearch.lm_objectives import (denoising, lm_examples, mask_token_id,
                                    resolve_objective, sentinel_ids, span_corruption)
from xlsearch.families import get_family
from xlsearch.models import load_model

SENTINELS = list(range(1000, 1100))  # stand-ins for <extra_id_0..99>, apart from body ids
EOS, MASK = 1, 999
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Zero-shot transfer trains on English and tests on other languages.",
    "A short one.",
    "",
    "Pretraining objectives keep the model producing the target language.",
    "Sentinels mark the spans that the decoder has to fill in again.",
]


def body(length: int, seed: int = 0) -> list[int]:
    r = random.Random(seed)
    return [r.randrange(3, 900) for _ in range(length)]


def reconstruct(inputs: list[int], targets: list[int], sentinels: list[int], eos: int = EOS) -> list[int]:
    """The original body from a span-corruption pair, using only the sentinels and eos."""
    assert inputs[-1] == eos and targets[-1] == eos
    spans, current = {}, None
    for t in targets[:-1]:
        if t in sentinels:
            current = spans.setdefault(t, [])
        else:
            current.append(t)
    out = []
    for t in inputs[:-1]:
        out += spans[t] if t in sentinels else [t]
    return out


# --- span corruption ---------------------------------------------------------------------------

def test_span_corruption_known_example():
    inputs, targets = span_corruption(list(range(10, 30)), SENTINELS, EOS, random.Random(0))
    # 20 tokens: 3 noise tokens in 1 span, so input keeps 17 + one sentinel + eos.
    assert len(inputs) == 19 and len(targets) == 1 + 3 + 2
    assert targets[0] == 1000 and targets[-2:] == [1001, EOS]
    start = inputs.index(1000)
    assert targets[1:4] == list(range(10 + start, 13 + start))


def test_span_corruption_is_deterministic_per_seed():
    ids = body(120)
    first = span_corruption(ids, SENTINELS, EOS, random.Random(7))
    assert span_corruption(ids, SENTINELS, EOS, random.Random(7)) == first
    assert span_corruption(ids, SENTINELS, EOS, random.Random(8)) != first


def test_span_corruption_round_trips_exactly():
    r = random.Random(123)
    for seed in range(400):
        ids = body(r.randint(1, 200), seed)
        inputs, targets = span_corruption(ids, SENTINELS, EOS, random.Random(seed))
        assert reconstruct(inputs, targets, SENTINELS) == ids, seed


def test_span_corruption_sentinels_in_order_and_eos_last():
    for seed in range(50):
        inputs, targets = span_corruption(body(150, seed), SENTINELS, EOS, random.Random(seed))
        in_sentinels = [t for t in inputs if t in SENTINELS]
        out_sentinels = [t for t in targets if t in SENTINELS]
        assert in_sentinels == SENTINELS[:len(in_sentinels)]
        assert out_sentinels == SENTINELS[:len(in_sentinels) + 1]  # plus the closing sentinel
        assert inputs[-1] == EOS and targets[-1] == EOS
        assert EOS not in inputs[:-1] + targets[:-1]


def test_span_corruption_noise_fraction_and_span_length():
    fractions, span_lengths = [], []
    for seed in range(100):
        ids = body(500, seed)
        inputs, targets = span_corruption(ids, SENTINELS, EOS, random.Random(seed))
        n_spans = sum(t in SENTINELS for t in inputs)
        n_noise = len(targets) - n_spans - 2
        fractions.append(n_noise / len(ids))
        span_lengths.append(n_noise / n_spans)
    assert abs(mean(fractions) - 0.15) < 0.01
    assert abs(mean(span_lengths) - 3.0) < 0.1


def test_span_corruption_short_bodies():
    assert span_corruption([5], SENTINELS, EOS, random.Random(0)) == ([5, EOS], [1000, EOS])
    # Two tokens: exactly one is noise, and the span may sit at either end.
    pairs = {str(span_corruption([5, 6], SENTINELS, EOS, random.Random(seed))) for seed in range(20)}
    assert pairs == {str(([1000, 6, EOS], [1000, 5, 1001, EOS])), str(([5, 1000, EOS], [1000, 6, 1001, EOS]))}


def test_span_corruption_uses_at_most_the_sentinels_given():
    inputs, targets = span_corruption(body(400), SENTINELS[:4], EOS, random.Random(0))
    assert sum(t in SENTINELS for t in inputs) == 3
    assert reconstruct(inputs, targets, SENTINELS[:4]) == body(400)
    with pytest.raises(ValueError, match="at least 2 sentinel"):
        span_corruption(body(10), SENTINELS[:1], EOS, random.Random(0))


# --- denoising -----------------------------------------------------------------------------------

def test_denoising_masks_about_35_percent_in_poisson_spans():
    fractions, span_lengths = [], []
    for seed in range(100):
        ids = body(400, seed)
        noised, original = denoising(ids, MASK, random.Random(seed))
        assert original == ids
        n_masks = noised.count(MASK)
        n_masked = len(ids) - (len(noised) - n_masks)
        assert n_masks >= 1
        fractions.append(n_masked / len(ids))
        span_lengths.append(n_masked / n_masks)
    assert abs(mean(fractions) - 0.35) < 0.01
    # Poisson(3.5) without zeros averages 3.5 / (1 - e^-3.5) = 3.61, a little less once cut.
    assert 3.2 < mean(span_lengths) < 3.8


def test_denoising_keeps_unmasked_tokens_in_order():
    ids = list(range(10, 110))
    noised, _ = denoising(ids, MASK, random.Random(3))
    kept = [t for t in noised if t != MASK]
    assert kept == sorted(kept) and set(kept) < set(ids)
    assert all(not (a == b == MASK) for a, b in zip(noised, noised[1:]))  # spans never merge


def test_denoising_is_deterministic_and_leaves_input_alone():
    ids = body(80)
    copy = list(ids)
    first = denoising(ids, MASK, random.Random(1))
    assert denoising(ids, MASK, random.Random(1)) == first
    assert denoising(ids, MASK, random.Random(2)) != first
    assert ids == copy


def test_denoising_merges_spans_when_few_tokens_are_kept():
    # 18 of 20 tokens masked in spans of mostly 1: only 2 kept tokens can separate 3 spans.
    for seed in range(20):
        noised, _ = denoising(body(20, seed), MASK, random.Random(seed), mask_ratio=0.9, poisson_lambda=0.5)
        assert len(noised) - noised.count(MASK) == 2
        assert 1 <= noised.count(MASK) <= 3
        assert all(not (a == b == MASK) for a, b in zip(noised, noised[1:]))


def test_denoising_short_bodies():
    assert denoising([5], MASK, random.Random(0)) == ([5], [5])
    noised, _ = denoising([5, 6], MASK, random.Random(0))
    assert noised in ([MASK, 6], [5, MASK])


# --- names and tokenizers ----------------------------------------------------------------------

def test_objective_names():
    assert get_family("mt5").lm_objective == "span_corruption"
    assert get_family("nllb").lm_objective == get_family("mbart").lm_objective == "denoising"
    assert resolve_objective("auto", "mbart") == "denoising"
    assert resolve_objective("span_corruption", "mbart") == "span_corruption"
    with pytest.raises(ValueError, match="'mlm' is not one of auto, span_corruption, denoising"):
        resolve_objective("mlm", "mt5")
    with pytest.raises(ValueError, match="family 'bert'"):
        get_family("bert")


@pytest.fixture(scope="module")
def tiny():
    return {name: load_model(f"tiny-{name}", seed=0) for name in ("mt5", "mbart", "nllb")}


def test_sentinel_and_mask_ids_from_tokenizers(tiny):
    tokenizer = tiny["mt5"][1].tokenizer
    ids = sentinel_ids(tokenizer, n=3)
    assert tokenizer.convert_ids_to_tokens(ids) == ["<extra_id_0>", "<extra_id_1>", "<extra_id_2>"]
    with pytest.raises(ValueError, match="has 125 of the 200 sentinels"):
        sentinel_ids(tokenizer, n=200)
    mbart_tokenizer = tiny["mbart"][1].tokenizer
    assert mbart_tokenizer.convert_ids_to_tokens(mask_token_id(mbart_tokenizer)) == "<mask>"
    with pytest.raises(ValueError, match="no <mask> token"):
        mask_token_id(tokenizer)


# --- model-ready pairs and training ------------------------------------------------------------

@pytest.mark.parametrize("family", ["mt5", "mbart", "nllb"])
def test_lm_examples_layout(tiny, family):
    codec = tiny[family][1]
    pairs = lm_examples(TEXTS, "de", codec, "auto", 32, random.Random(0))
    assert len(pairs) == len(TEXTS) - 1  # the empty text is skipped
    lang = codec.language_token_id("de")
    bodies = codec.tokenizer(TEXTS, add_special_tokens=False)["input_ids"]
    for (inputs, labels), text_ids in zip(pairs, [b for b in bodies if b]):
        assert len(inputs) <= 32 and len(labels) <= 32
        assert inputs[-1] == labels[-1] == codec.eos_token_id
        if family == "mt5":
            sentinels = sentinel_ids(codec.tokenizer)
            assert labels[0] == sentinels[0]
            # 31 body tokens + eos fill the input; the target (5 noise + 2 spans + 2) is shorter.
            assert reconstruct(inputs, labels, sentinels, codec.eos_token_id) == text_ids[:31]
        else:
            assert inputs[0] == labels[0] == lang
            assert labels[1:-1] == text_ids[:30]
            assert codec.tokenizer.mask_token_id in inputs


def test_lm_examples_fits_tight_lengths_and_rejects_impossible_ones(tiny):
    codec = tiny["mt5"][1]
    for max_length in (2, 3, 4, 5, 8):
        pairs = lm_examples(TEXTS, "en", codec, "span_corruption", max_length, random.Random(0))
        assert len(pairs) == 5
        for inputs, labels in pairs:
            assert len(inputs) <= max_length and len(labels) <= max_length
    with pytest.raises(ValueError, match="max_length 2 leaves no room"):
        lm_examples(TEXTS, "de", tiny["nllb"][1], "denoising", 2, random.Random(0))
    with pytest.raises(ValueError, match="no <mask> token"):
        lm_examples(TEXTS, "en", codec, "denoising", 32, random.Random(0))


def test_lm_examples_drops_marker_tokens_from_text(tiny):
    codec = tiny["mt5"][1]
    [(inputs, labels)] = lm_examples(["ab<extra_id_0>cd"], "en", codec, "auto", 32, random.Random(0))
    abcd = codec.tokenizer("abcd", add_special_tokens=False)["input_ids"]
    assert reconstruct(inputs, labels, sentinel_ids(codec.tokenizer), codec.eos_token_id) == abcd


def batch_tensors(pairs, pad_id):
    """Inputs padded with the pad id, labels with -100 (ignored by the loss)."""
    width_in = max(len(i) for i, _ in pairs)
    width_out = max(len(l) for _, l in pairs)
    input_ids = torch.tensor([i + [pad_id] * (width_in - len(i)) for i, _ in pairs])
    labels = torch.tensor([l + [-100] * (width_out - len(l)) for _, l in pairs])
    return dict(input_ids=input_ids, attention_mask=(input_ids != pad_id).long(), labels=labels)


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from threads, and with other processes on the same cores the
    threads' waits made a 30-step run take 40 s instead of 0.4 s."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("family", ["mt5", "mbart", "nllb"])
def test_tiny_models_learn_the_objective(family, one_thread):
    torch.manual_seed(0)
    model, codec = load_model(f"tiny-{family}", seed=0)
    batch = batch_tensors(lm_examples(TEXTS, "fr", codec, "auto", 48, random.Random(0)), codec.pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for _ in range(30):
        loss = model(**batch).loss
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # Random weights: mBART/NLLB start near ln(vocab) = 6, tiny mT5 (tied, unscaled) near 31;
    # measured after 30 steps: 0.58, 0.60 and 0.07 of the first loss.
    assert math.isfinite(losses[0]) and losses[0] > 3.0
    assert losses[-1] < 0.7 * losses[0], losses


def test_prefix_lm_cuts_a_text_in_two_between_a_quarter_and_three_quarters():
    import random

    from xlsearch.lm_objectives import prefix_lm

    rng = random.Random(0)
    cuts = set()
    for _ in range(200):
        first, rest = prefix_lm(list(range(20)), rng)
        assert first + rest == list(range(20)) and 5 <= len(first) <= 15
        cuts.add(len(first))
    assert len(cuts) > 5  # uniform over the range, not one point
    assert prefix_lm([7], rng) == ([], [7]) and prefix_lm([1, 2], rng) == ([1], [2])


def test_prefix_lm_pairs_for_every_family_need_no_special_token():
    import random

    from xlsearch.lm_objectives import lm_examples
    from xlsearch.models import load_model

    for name in ("tiny-mt5", "tiny-mbart", "tiny-nllb"):
        _, codec = load_model(name)
        [(inputs, labels)] = lm_examples(["Das ist ein Haus am See, und es ist rot."], "de", codec, "prefix_lm", 64,
                                         random.Random(0))
        assert inputs[-1] == labels[-1] == codec.eos_token_id
        lang = codec.language_token_id("de")
        body = inputs[:-1] + labels[:-1] if lang is None else inputs[1:-1] + labels[1:-1]
        text = codec.tokenizer.decode(body, skip_special_tokens=True)
        assert text.replace(" ", "") == "DasisteinHausamSee,undesistrot."
