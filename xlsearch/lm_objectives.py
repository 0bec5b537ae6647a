"""Pretraining-style objectives on unlabeled text: (input_ids, labels) pairs for intermediate
tuning and for `mix_target`'s denoising loss on target-language text.

- ``span_corruption`` (mT5's own pretraining): about 15% of the tokens, in spans of about 3, are
  cut out; each span leaves one sentinel ``<extra_id_N>`` in the input, and the target lists
  every sentinel followed by the tokens it stands for, then a closing sentinel.
- ``denoising`` (mBART-50's text infilling, also used for NLLB-200): about 35% of the tokens,
  in spans of Poisson(3.5) lengths, are each replaced by one ``<mask>``; the target is the
  original text.
- ``prefix_lm`` (language modelling as an encoder-decoder does it, T5's "LM adaptation"): the
  input is the text's first part, cut at a random point between a quarter and three quarters
  of its length, and the target is the rest. A model pretrained to fill spans learns from it
  to write text that continues its input (Lester et al., EMNLP 2021, arXiv 2104.08691, LM-adapted
  T5; Vu et al., EMNLP 2022, arXiv 2205.12647, for mT5 and zero-shot cross-lingual generation).
  Any family can take it: it needs no special token.

The objectives are pure functions of token-id lists and an explicit ``random.Random``, so one
seed fixes every example; :func:`lm_examples` is the one place that touches a tokenizer.
"""
from __future__ import annotations

import math
import random
from typing import Sequence

from xlsearch.families import get_family

OBJECTIVES = ("span_corruption", "denoising", "prefix_lm")
PREFIX_SHARES = (0.25, 0.75)  # where prefix_lm cuts a text, as shares of its length
# The published pretraining settings (mT5: Xue et al. 2021; mBART: Liu et al. 2020).
NOISE_DENSITY, MEAN_SPAN_LENGTH = 0.15, 3.0
MASK_RATIO, POISSON_LAMBDA = 0.35, 3.5


def resolve_objective(objective: str, family: str) -> str:
    """``objective`` itself, or the family's own pretraining objective for ``"auto"``."""
    if objective == "auto":
        return get_family(family).lm_objective
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r} is not one of auto, {', '.join(OBJECTIVES)}")
    return objective


def sentinel_ids(tokenizer, n: int = 100) -> list[int]:
    """Token ids of ``<extra_id_0>`` .. ``<extra_id_{n-1}>``, in that order (mT5 numbers them
    downwards from the end of the vocabulary, so the order is by name, not by id)."""
    ids = [tokenizer.convert_tokens_to_ids(f"<extra_id_{i}>") for i in range(n)]
    present = [i for i in ids if i is not None and i != tokenizer.unk_token_id]
    if len(present) < n:
        raise ValueError(f"the tokenizer has {len(present)} of the {n} sentinels <extra_id_0>.."
                         f"<extra_id_{n - 1}> that span_corruption needs (mT5/T5 tokenizers have them)")
    return ids


def mask_token_id(tokenizer) -> int:
    """Token id of ``<mask>``, the one token that stands for each span in ``denoising``."""
    if tokenizer.mask_token is None or tokenizer.mask_token_id is None:
        raise ValueError("the tokenizer has no <mask> token, which denoising needs "
                         "(mBART-50/NLLB tokenizers have it; use span_corruption for mT5)")
    return tokenizer.mask_token_id


# ---------------------------------------------------------------------------------------------
# Where the noise goes (shared by both objectives)


def _noise_token_count(length: int, ratio: float) -> int:
    """Tokens to corrupt: ``round(length * ratio)``, but at least 1 and never all of them, so a
    text of 2 or more tokens always has something to predict and something to read."""
    if length < 2 or ratio <= 0:
        return 0
    return min(max(round(length * ratio), 1), length - 1)


def _random_composition(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` split into ``parts`` positive integers in order, uniformly over all such splits."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [end - start for start, end in zip([0, *cuts], [*cuts, total])]


def _place_spans(length: int, span_lengths: Sequence[int], rng: random.Random) -> list[tuple[int, int]]:
    """``[start, end)`` positions of spans with the given lengths, in that order, placed uniformly
    at random in a text of ``length`` tokens with at least one kept token between two spans (so
    neighbours never merge). Needs ``len(span_lengths) <= kept tokens + 1``."""
    if not span_lengths:
        return []
    kept = length - sum(span_lengths)
    # k spans leave k+1 gaps of kept tokens: the inner ones at least 1, the outer two possibly
    # empty so that a span can start or end the text. Split kept+2 positively, then take 1 back.
    gaps = _random_composition(kept + 2, len(span_lengths) + 1, rng)
    gaps[0] -= 1
    gaps[-1] -= 1
    spans, pos = [], 0
    for gap, span in zip(gaps, span_lengths):
        pos += gap
        spans.append((pos, pos + span))
        pos += span
    return spans


def _replace_spans(ids: list[int], spans: list[tuple[int, int]], markers: Sequence[int]) -> list[int]:
    """``ids`` with the i-th span replaced by the single token ``markers[i]``."""
    out, pos = [], 0
    for marker, (start, end) in zip(markers, spans):
        out += ids[pos:start] + [marker]
        pos = end
    return out + ids[pos:]


# ---------------------------------------------------------------------------------------------
# Span corruption (mT5)


def _span_plan(length: int, noise_density: float, mean_span_length: float, max_spans: int) -> tuple[int, int]:
    """(noise tokens, noise spans) for a body of ``length`` tokens; depends on the length only,
    so :func:`lm_examples` can size a body whose target fits before drawing anything."""
    n_noise = _noise_token_count(length, noise_density)
    if n_noise == 0:
        return 0, 0
    n_spans = max(1, round(n_noise / mean_span_length))
    # No more spans than noise tokens, than gaps of kept tokens, or than sentinels to name them.
    return n_noise, min(n_spans, n_noise, length - n_noise + 1, max_spans)


def span_corruption(ids: Sequence[int], sentinel_ids: Sequence[int], eos_id: int, rng: random.Random,
                    noise_density: float = NOISE_DENSITY,
                    mean_span_length: float = MEAN_SPAN_LENGTH) -> tuple[list[int], list[int]]:
    """T5/mT5 span corruption of a body (no eos) -> (input ids, target ids), both ending in eos.

    ``round(len * noise_density)`` tokens (at least 1, never all, when len >= 2) are noise,
    split uniformly at random into ``round(noise / mean_span_length)`` positive spans (at
    least 1; capped by the sentinels and the kept tokens), placed uniformly at random with kept
    tokens between them. Input: the kept tokens, span i replaced by ``sentinel_ids[i]``, then
    eos. Target: ``sentinel_ids[i]`` + span i for each span, the next sentinel, then eos.
    ``ids`` must not contain the sentinels, or the pair cannot be read back unambiguously.
    """
    if not 0 <= noise_density < 1 or mean_span_length <= 0:
        raise ValueError(f"noise_density {noise_density} must be in [0, 1) and mean_span_length "
                         f"{mean_span_length} > 0")
    if len(sentinel_ids) < 2:
        raise ValueError(f"span_corruption needs at least 2 sentinel ids, got {len(sentinel_ids)}")
    ids = list(ids)
    n_noise, n_spans = _span_plan(len(ids), noise_density, mean_span_length, len(sentinel_ids) - 1)
    lengths = _random_composition(n_noise, n_spans, rng) if n_spans else []
    spans = _place_spans(len(ids), lengths, rng)
    inputs = _replace_spans(ids, spans, sentinel_ids) + [eos_id]
    targets = [t for sentinel, (start, end) in zip(sentinel_ids, spans) for t in [sentinel, *ids[start:end]]]
    return inputs, targets + [sentinel_ids[len(spans)], eos_id]


def _span_corruption_body_length(length: int, room: int, max_spans: int) -> int:
    """The longest prefix (<= ``length``) of a body whose span-corruption input and target both
    fit in ``room`` tokens (input <= body + 1; target = noise + spans + 2)."""
    body = min(length, room - 1)
    while body > 0:
        n_noise, n_spans = _span_plan(body, NOISE_DENSITY, MEAN_SPAN_LENGTH, max_spans)
        if n_noise + n_spans + 2 <= room:
            return body
        body -= 1
    return 0


# ---------------------------------------------------------------------------------------------
# Denoising (mBART-50, NLLB-200)


def _poisson(lam: float, rng: random.Random) -> int:
    """One Poisson(lam) draw (Knuth's product of uniforms; fine for the small lam used here)."""
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _poisson_span_lengths(total: int, lam: float, max_spans: int, rng: random.Random) -> list[int]:
    """Poisson(lam) span lengths, zeros skipped, drawn until they cover ``total`` tokens; the last
    one is cut so they sum to exactly ``total``, and spans past ``max_spans`` merge into the
    last allowed one."""
    lengths, remaining = [], total
    while remaining > 0:
        length = min(_poisson(lam, rng), remaining)
        if length:
            lengths.append(length)
            remaining -= length
    if len(lengths) > max_spans:
        lengths = lengths[:max_spans - 1] + [sum(lengths[max_spans - 1:])]
    rng.shuffle(lengths)  # so the cut span is not always the last in the text
    return lengths


def denoising(ids: Sequence[int], mask_id: int, rng: random.Random, mask_ratio: float = MASK_RATIO,
              poisson_lambda: float = POISSON_LAMBDA) -> tuple[list[int], list[int]]:
    """mBART text infilling of a body (no language token, no eos) -> (noised body, original body).

    ``round(len * mask_ratio)`` tokens (at least 1, never all, when len >= 2) are covered by
    spans of Poisson(``poisson_lambda``) lengths (zeros skipped, the last cut to fit), placed
    uniformly at random with kept tokens between them; each span becomes one ``mask_id``.
    """
    if not 0 <= mask_ratio < 1 or poisson_lambda <= 0:
        raise ValueError(f"mask_ratio {mask_ratio} must be in [0, 1) and poisson_lambda {poisson_lambda} > 0")
    ids = list(ids)
    n_mask = _noise_token_count(len(ids), mask_ratio)
    lengths = _poisson_span_lengths(n_mask, poisson_lambda, len(ids) - n_mask + 1, rng)
    spans = _place_spans(len(ids), lengths, rng)
    return _replace_spans(ids, spans, [mask_id] * len(spans)), ids


def prefix_lm(ids: Sequence[int], rng: random.Random, shares: tuple[float, float] = PREFIX_SHARES
              ) -> tuple[list[int], list[int]]:
    """A body (no language token, no eos) cut in two -> (its first part, the rest). The cut is
    uniform between ``shares`` of its length, and leaves at least one token on each side (a
    body of one token: all of it is the target)."""
    ids = list(ids)
    if len(ids) < 2:
        return [], ids
    low = max(1, math.ceil(shares[0] * len(ids)))
    high = min(len(ids) - 1, max(low, math.floor(shares[1] * len(ids))))
    cut = rng.randint(low, high)
    return ids[:cut], ids[cut:]


# ---------------------------------------------------------------------------------------------
# Texts -> model-ready pairs


def lm_examples(texts: Sequence[str], lang: str, codec, objective: str, max_length: int,
                rng: random.Random) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) for each non-empty text, ready to pad and train on.

    mBART/NLLB: input ``[lang] noised </s>``, labels ``[lang] original </s>``. mT5: input and
    labels are span corruption's pair (no language token). Bodies are truncated so both sides
    fit in ``max_length`` tokens; the objective's own marker tokens (sentinels, ``<mask>``)
    are dropped from the text first so they only ever mean "a span was here".
    ``prefix_lm``: input ``[lang] first part </s>``, labels ``[lang] the rest </s>``.
    ``objective`` is ``"auto"`` (the family's), ``"span_corruption"``, ``"denoising"`` or ``"prefix_lm"``.
    """
    objective = resolve_objective(objective, codec.family)
    lang_id = codec.language_token_id(lang)
    prefix = [] if lang_id is None else [lang_id]
    room = max_length - len(prefix)
    if room < 2:
        raise ValueError(f"max_length {max_length} leaves no room for text; "
                         f"it must be at least {len(prefix) + 2}")
    eos = codec.eos_token_id
    if objective == "span_corruption":
        sentinels = sentinel_ids(codec.tokenizer)
        markers = set(sentinels)
    elif objective == "denoising":
        mask = mask_token_id(codec.tokenizer)
        markers = {mask}
    else:
        markers = set()
    bodies = codec.tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    pairs = []
    for body in bodies:
        body = [t for t in body if t not in markers]
        if not body:
            continue
        if objective == "span_corruption":
            body = body[:_span_corruption_body_length(len(body), room, len(sentinels) - 1)]
            inputs, labels = span_corruption(body, sentinels, eos, rng)
        elif objective == "prefix_lm":
            first, rest = prefix_lm(body[:room - 1], rng)
            inputs, labels = first + [eos], rest + [eos]
        else:
            body = body[:room - 1]
            noised, _ = denoising(body, mask, rng)
            inputs, labels = noised + [eos], body + [eos]
        pairs.append((prefix + inputs, prefix + labels))
    return pairs
