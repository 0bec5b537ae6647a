"""From examples to padded tensors: tokenized datasets, the training batch stream, and
length-sorted batches for generation."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch

from xlsearch.models import Seq2SeqCodec
from xlsearch.tasks.base import Example
from xlsearch.training.engine import LOSS_WEIGHT

IGNORE_INDEX = -100  # label positions the loss skips


@dataclass
class Encoded:
    """Token ids of one language's examples: inputs, and the first target as labels."""

    lang: str
    input_ids: list[list[int]]
    labels: list[list[int]]

    def __len__(self) -> int:
        return len(self.input_ids)


def encode_examples(examples: Sequence[Example], lang: str, codec: Seq2SeqCodec,
                    max_input_length: int, max_output_length: int) -> Encoded:
    return Encoded(
        lang,
        codec.encode([ex.input_text for ex in examples], lang, max_input_length),
        codec.encode([ex.targets[0] for ex in examples], lang, max_output_length),
    )


def pad_batch(inputs: Sequence[list[int]], labels: Sequence[list[int]] | None, pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids``/``attention_mask`` (and ``labels`` padded with -100)."""
    width = max(len(x) for x in inputs)
    input_ids = torch.full((len(inputs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(inputs), width), dtype=torch.long)
    for i, ids in enumerate(inputs):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        attention[i, : len(ids)] = 1
    batch = {"input_ids": input_ids, "attention_mask": attention}
    if labels is not None:
        lwidth = max(len(y) for y in labels)
        label_ids = torch.full((len(labels), lwidth), IGNORE_INDEX, dtype=torch.long)
        for i, ids in enumerate(labels):
            label_ids[i, : len(ids)] = torch.tensor(ids)
        batch["labels"] = label_ids
    return batch


def balanced_index_stream(sizes: dict[str, int], batch_size: int, seed: int) -> Iterator[list[tuple[str, int]]]:
    """Endless batches of (language, example index), languages in equal shares.

    Each language's examples are visited in a fresh seeded shuffle per epoch; the slots of the
    stream cycle over the languages, so several source languages are balanced whatever their
    data sizes. Deterministic for (sizes, batch_size, seed), so a resumed trial can skip ahead.
    """
    langs = sorted(lang for lang, n in sizes.items() if n > 0)
    if not langs:
        raise ValueError("no training examples in any language")
    rng = random.Random(seed)
    orders = {lang: [] for lang in langs}
    slot = 0
    while True:
        batch = []
        for _ in range(batch_size):
            lang = langs[slot % len(langs)]
            slot += 1
            if not orders[lang]:
                orders[lang] = list(range(sizes[lang]))
                rng.shuffle(orders[lang])
            batch.append((lang, orders[lang].pop()))
        yield batch


def training_batches(data: dict[str, Encoded], batch_size: int, seed: int, pad_id: int,
                     skip: int = 0, rank: int = 0, world_size: int = 1) -> Iterator[dict[str, torch.Tensor]]:
    """Padded training batches from :func:`balanced_index_stream`, after skipping ``skip``.

    ``batch_size`` is the global batch. On a DDP group every rank draws the same global batches
    (the same ``seed``) and keeps its contiguous slice, ``batch_size / world_size`` examples,
    with its weight for the loss (:data:`xlsearch.training.engine.LOSS_WEIGHT`): the model's loss
    is a mean over the slice's label tokens, slices hold different numbers of them, and DDP
    averages the ranks' gradients; weighted, that average is the gradient of the mean over the
    global batch's tokens, as one worker computes it."""
    if batch_size % world_size:
        raise ValueError(f"a global batch of {batch_size} cannot be split evenly across {world_size} ranks")
    stream = balanced_index_stream({lang: len(enc) for lang, enc in data.items()}, batch_size, seed)
    for _ in range(skip):
        next(stream)
    share = batch_size // world_size
    for batch in stream:
        mine = batch[rank * share:(rank + 1) * share]
        padded = pad_batch([data[lang].input_ids[i] for lang, i in mine],
                           [data[lang].labels[i] for lang, i in mine], pad_id)
        if world_size > 1:
            tokens = lambda items: sum(len(data[lang].labels[i]) for lang, i in items)  # noqa: E731
            padded[LOSS_WEIGHT] = world_size * tokens(mine) / max(1, tokens(batch))
        yield padded


def length_sorted_batches(inputs: Sequence[list[int]], batch_size: int) -> Iterator[list[int]]:
    """Index lists of similar-length inputs, longest first: less padding in generation, and an
    out-of-memory error, if any, comes on the first batch."""
    order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def bucketed_batches(data: dict[str, Encoded], batch_size: int, seed: int, pad_id: int,
                     pool_batches: int = 50) -> Iterator[dict[str, torch.Tensor]]:
    """Endless padded batches of similar-length examples from all languages together.

    Each epoch shuffles every example, sorts pools of ``pool_batches`` batches by length, cuts
    them into batches and shuffles the batches: every example once per epoch, in random
    company of its length, with far less padding than random batches when lengths vary.
    """
    rng = random.Random(seed)
    items = [(lang, i) for lang, enc in sorted(data.items()) for i in range(len(enc))]
    if not items:
        raise ValueError("no training examples in any language")
    size = lambda item: len(data[item[0]].input_ids[item[1]]) + len(data[item[0]].labels[item[1]])  # noqa: E731
    while True:
        rng.shuffle(items)
        pool = pool_batches * batch_size
        batches = []
        for start in range(0, len(items), pool):
            chunk = sorted(items[start:start + pool], key=size)
            batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        for batch in batches:
            yield pad_batch([data[lang].input_ids[i] for lang, i in batch],
                            [data[lang].labels[i] for lang, i in batch], pad_id)
