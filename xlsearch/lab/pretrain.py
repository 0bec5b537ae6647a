"""Building the lab: the world's files, the tokenizer, and the pretrained ``lab-mt5``.

Pretraining mixes three objectives on the world's paragraphs in all its languages, each on its
own share of every language's paragraphs: mT5's span corruption (predict the cut-out spans),
mBART's denoising (write the whole paragraph back from a masked copy) and PEGASUS's gap-sentence
generation (write the paragraph's principal sentence, here the lead where there is one, from
the rest). Span corruption alone taught the model to fill gaps from memory but not to copy:
finetuned on English, it wrote names of training people instead of the article's (English exact
match 21% at best); with denoising it copies (84-94% at lr 1e-4), and with gap sentences its
zero-shot outputs in the other languages take the summary's form more often. Batches group
paragraphs of similar length (a third faster than random batches on 2 CPUs).

The result is saved with :func:`xlsearch.models.save_model` into ``DIR/model`` (written to a
staging folder first, so a cancelled build leaves no half model behind), next to
``DIR/meta.json`` and ``DIR/data/``.
"""
from __future__ import annotations

import json
import math
import random
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from xlsearch.families import get_family
from xlsearch.lab.tokenizer import world_tokenizer
from xlsearch.lm_objectives import lm_examples
from xlsearch.models import Seq2SeqCodec, save_model
from xlsearch.tasks.builtin import lab_world as world
from xlsearch.training.batches import Encoded, bucketed_batches, pad_batch
from xlsearch.training.engine import new_engine

SENTENCE_END = re.compile(r"(?<=\.) ")  # the world's sentences end in "." followed by a space
HELDOUT_PARAGRAPHS = 250  # per build, kept out of pretraining to measure the loss on


@dataclass(frozen=True)
class PretrainConfig:
    """Model size and pretraining schedule. The defaults are the lab's model (7.3M parameters,
    500 steps: about 5 min on 2 CPUs); tests use a much smaller one through the same code."""

    steps: int = 500
    batch_size: int = 32
    lr: float = 1e-3
    d_model: int = 256
    d_ff: int = 1024
    d_kv: int = 64
    num_heads: int = 4
    num_layers: int = 3  # encoder and decoder each
    max_length: int = 96  # tokens, input and target of a span-corruption pair
    paragraphs_per_person: int = 2  # per language
    # Shares of the paragraphs per objective; the rest (0.2) get span corruption.
    denoising_share: float = 0.4  # mBART's denoising: teaches copying
    gap_sentence_share: float = 0.4  # PEGASUS's gap sentences: writing a lead in each language
    summary_share: float = world.SUMMARY_SHARE
    mixed_share: float = 0.0  # code-switched paragraphs (see lab_world.pretraining_paragraphs)
    entity_pieces: bool = True  # cities and instruments in syllable pieces (lab.tokenizer.world_tokenizer)
    seed: int = world.LAB_SEED

    def __post_init__(self) -> None:
        shares = (self.denoising_share, self.gap_sentence_share)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError(f"denoising_share {self.denoising_share} and gap_sentence_share "
                             f"{self.gap_sentence_share} must be >= 0 and sum to at most 1")


def new_model(config: PretrainConfig, tokenizer):
    torch.manual_seed(config.seed)
    return get_family("mt5").new_model(dict(
        d_model=config.d_model, d_ff=config.d_ff, d_kv=config.d_kv, num_heads=config.num_heads,
        num_layers=config.num_layers, num_decoder_layers=config.num_layers, dropout_rate=0.0), tokenizer)


def principal_sentence(sentences: list[str]) -> int:
    """Index of the sentence with the highest unigram F1 against the rest of the paragraph:
    PEGASUS's "principal" gap sentence (Zhang et al. 2020, "Ind-Orig" selection)."""
    words = [set(w.strip(".,").lower() for w in s.split()) for s in sentences]

    def f1(i: int) -> float:
        rest = set().union(*(w for j, w in enumerate(words) if j != i))
        common = len(words[i] & rest)
        return 0.0 if not common else 2 * common / (len(words[i]) + len(rest))

    return max(range(len(sentences)), key=lambda i: (f1(i), -i))


def gap_sentence_pairs(texts: list[str], codec: Seq2SeqCodec, max_length: int) -> list[tuple[list[int], list[int]]]:
    """PEGASUS's gap-sentence generation: the principal sentence becomes one ``<mask>`` in the
    input, and the target is that sentence."""
    pairs = []
    for text in texts:
        sentences = SENTENCE_END.split(text)
        if len(sentences) < 2:
            continue
        gap = principal_sentence(sentences)
        masked = " ".join(codec.tokenizer.mask_token if i == gap else s for i, s in enumerate(sentences))
        source = codec.tokenizer(masked, add_special_tokens=False)["input_ids"][:max_length - 1]
        target = codec.tokenizer(sentences[gap], add_special_tokens=False)["input_ids"][:max_length - 1]
        pairs.append((source + [codec.eos_token_id], target + [codec.eos_token_id]))
    return pairs


def pretraining_data(paragraphs: list[tuple[str, str]], codec: Seq2SeqCodec, max_length: int,
                     seed: int, denoising_share: float = 0.0, gap_sentence_share: float = 0.0) -> dict[str, Encoded]:
    """Pretraining pairs of ``(language, paragraph)`` items, grouped by language: span corruption,
    except that ``denoising_share`` of each language's paragraphs get mBART's denoising and
    ``gap_sentence_share`` PEGASUS's gap-sentence generation."""
    rng = random.Random(seed)
    data = {}
    for lang in dict.fromkeys(lang for lang, _ in paragraphs):
        texts = [p for l, p in paragraphs if l == lang]
        cut = round(len(texts) * denoising_share)
        gap_cut = cut + round(len(texts) * gap_sentence_share)
        pairs = (lm_examples(texts[:cut], lang, codec, "denoising", max_length, rng)
                 + gap_sentence_pairs(texts[cut:gap_cut], codec, max_length)
                 + lm_examples(texts[gap_cut:], lang, codec, "span_corruption", max_length, rng))
        data[lang] = Encoded(lang, [p[0] for p in pairs], [p[1] for p in pairs])
    return data


@torch.no_grad()
def span_corruption_loss(model, codec: Seq2SeqCodec, data: dict[str, Encoded], batch_size: int = 64) -> float:
    """Mean cross-entropy (nats per target token) of ``model`` on span-corruption pairs."""
    model.eval()
    total, tokens = 0.0, 0
    for encoded in data.values():
        for start in range(0, len(encoded), batch_size):
            batch = pad_batch(encoded.input_ids[start:start + batch_size], encoded.labels[start:start + batch_size],
                              codec.pad_token_id)
            n = int((batch["labels"] != -100).sum())
            total += float(model(**batch).loss) * n
            tokens += n
    model.train()
    return total / tokens


def write_world(directory: Path, seed: int, paragraphs: list[tuple[str, str]]) -> None:
    """The task's splits (``data/LANG/SPLIT.jsonl``) and the unlabeled text, for reading and reuse."""
    for lang in world.LAB_LANGUAGES:
        (directory / lang).mkdir(parents=True, exist_ok=True)
        for split in world.SPLIT_SIZES:
            rows = world.lab_rows("xlsum", lang, split, seed)
            (directory / lang / f"{split}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        (directory / lang / "unlabeled.txt").write_text("".join(p + "\n" for l, p in paragraphs if l == lang))


def build_lab(directory: str | Path, config: PretrainConfig = PretrainConfig(), *, progress: bool = True,
              log: Callable[[str], None] = print) -> dict:
    """Generate the world, pretrain ``lab-mt5`` and save both under ``directory``; returns the
    build's record (also in ``directory/meta.json``): losses, seconds, sizes."""
    torch.set_flush_denormal(True)  # denormals double CPU step times at high learning rates
    directory = Path(directory).expanduser()
    started = time.time()
    paragraphs = world.pretraining_paragraphs(config.seed, config.paragraphs_per_person,
                                              summary_share=config.summary_share,
                                              mixed_share=config.mixed_share)
    heldout, train_paragraphs = paragraphs[:HELDOUT_PARAGRAPHS], paragraphs[HELDOUT_PARAGRAPHS:]
    codec = Seq2SeqCodec(world_tokenizer(config.seed, config.entity_pieces), "mt5")
    train = pretraining_data(train_paragraphs, codec, config.max_length, config.seed, config.denoising_share,
                             config.gap_sentence_share)
    heldout_data = pretraining_data(heldout, codec, config.max_length, config.seed + 1)
    model = new_model(config, codec.tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"lab: {len(train_paragraphs)} paragraphs in {', '.join(world.LAB_LANGUAGES)}, vocabulary "
        f"{len(codec.tokenizer)} words, model {n_params / 1e6:.1f}M parameters; pretraining "
        f"{config.steps} steps x {config.batch_size} (span corruption, denoising, gap sentences: "
        f"{1 - config.denoising_share - config.gap_sentence_share:.0%} / {config.denoising_share:.0%} / "
        f"{config.gap_sentence_share:.0%} of the paragraphs)")
    initial_loss = span_corruption_loss(model, codec, heldout_data)

    model.train()
    engine = new_engine(model, lr=config.lr, total_steps=config.steps, warmup_steps=max(1, config.steps // 20),
                        device=torch.device("cpu"), weight_decay=0.01)
    batches = bucketed_batches(train, config.batch_size, config.seed, codec.pad_token_id)
    steps = engine.run(batches, config.steps, progress="pretraining lab-mt5" if progress else None, smooth=50)
    if steps.diverged:
        raise FloatingPointError(f"lab pretraining diverged at step {len(steps.losses)}; lower --lr ({config.lr:g})")
    recent = steps.losses[-50:]
    pretrain_seconds = time.time() - started
    heldout_loss = span_corruption_loss(model, codec, heldout_data)

    record = {"config": asdict(config), "parameters": n_params, "vocab_size": len(codec.tokenizer),
              "train_paragraphs": len(train_paragraphs), "train_loss_last50": sum(recent) / max(1, len(recent)),
              "heldout_loss_initial": initial_loss, "heldout_loss": heldout_loss,
              "uniform_loss": math.log(len(codec.tokenizer)), "seconds": pretrain_seconds}
    staging = directory / "model.partial"
    shutil.rmtree(staging, ignore_errors=True)
    save_model(model, codec, staging)
    shutil.rmtree(directory / "model", ignore_errors=True)
    staging.rename(directory / "model")
    write_world(directory / "data", config.seed, paragraphs)
    (directory / "meta.json").write_text(json.dumps(record, indent=2))
    log(f"lab built in {time.time() - started:.0f} s: held-out span-corruption loss {initial_loss:.2f} -> "
        f"{heldout_loss:.2f} nats/token (uniform {record['uniform_loss']:.2f}); model in {directory / 'model'}")
    return record
