"""Building the lab: the world's files, the tokenizer, and the pretrained ``lab-mt5``.

Pretraining is mT5's own objective (span corruption) on the world's paragraphs in all its
languages, balanced across languages, for ``steps`` optimizer steps. The result is saved with
:func:`xlsearch.models.save_model` into ``DIR/model`` (written to a staging folder first, so a
cancelled build leaves no half model behind), next to ``DIR/meta.json`` and ``DIR/data/``.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from xlsearch.lab import world
from xlsearch.lab.tokenizer import world_tokenizer
from xlsearch.lm_objectives import lm_examples
from xlsearch.models import Seq2SeqCodec, save_model
from xlsearch.training.batches import Encoded, pad_batch, training_batches
from xlsearch.training.optim import linear_schedule, make_optimizer, optimizer_step

HELDOUT_PARAGRAPHS = 250  # per build, kept out of pretraining to measure the loss on


@dataclass(frozen=True)
class PretrainConfig:
    """Model size and pretraining schedule. The defaults are the lab's model (7.3M parameters,
    1200 steps: ~6 min on 2 CPUs); tests use a much smaller one through the same code."""

    steps: int = 1200
    batch_size: int = 32
    lr: float = 1e-3
    d_model: int = 256
    d_ff: int = 1024
    d_kv: int = 64
    num_heads: int = 4
    num_layers: int = 3  # encoder and decoder each
    max_length: int = 96  # tokens, input and target of a span-corruption pair
    paragraphs_per_person: int = 2  # per language
    seed: int = world.LAB_SEED


def new_model(config: PretrainConfig, tokenizer):
    from transformers import MT5Config, MT5ForConditionalGeneration

    torch.manual_seed(config.seed)
    return MT5ForConditionalGeneration(MT5Config(
        vocab_size=len(tokenizer), d_model=config.d_model, d_ff=config.d_ff, d_kv=config.d_kv,
        num_heads=config.num_heads, num_layers=config.num_layers, num_decoder_layers=config.num_layers,
        dropout_rate=0.0, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id))


def span_corruption_data(paragraphs: list[tuple[str, str]], codec: Seq2SeqCodec, max_length: int,
                         seed: int) -> dict[str, Encoded]:
    """Span-corruption pairs of ``(language, paragraph)`` items, grouped by language."""
    rng = random.Random(seed)
    data = {}
    for lang in dict.fromkeys(lang for lang, _ in paragraphs):
        pairs = lm_examples([p for l, p in paragraphs if l == lang], lang, codec, "span_corruption", max_length, rng)
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
            rows = [{"id": e.id, "text": e.input_text, "summary": e.targets[0]}
                    for e in world.lab_examples("xlsum", lang, split, seed)]
            (directory / lang / f"{split}.jsonl").write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        (directory / lang / "unlabeled.txt").write_text("".join(p + "\n" for l, p in paragraphs if l == lang))


def build_lab(directory: str | Path, config: PretrainConfig = PretrainConfig(), *, progress: bool = True,
              log: Callable[[str], None] = print) -> dict:
    """Generate the world, pretrain ``lab-mt5`` and save both under ``directory``; returns the
    build's record (also in ``directory/meta.json``): losses, seconds, sizes."""
    torch.set_flush_denormal(True)  # see DESIGN.md: denormals double CPU step times
    directory = Path(directory).expanduser()
    started = time.time()
    paragraphs = world.pretraining_paragraphs(config.seed, config.paragraphs_per_person)
    heldout, train_paragraphs = paragraphs[:HELDOUT_PARAGRAPHS], paragraphs[HELDOUT_PARAGRAPHS:]
    codec = Seq2SeqCodec(world_tokenizer(config.seed), "mt5")
    train = span_corruption_data(train_paragraphs, codec, config.max_length, config.seed)
    heldout_data = span_corruption_data(heldout, codec, config.max_length, config.seed + 1)
    model = new_model(config, codec.tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"lab: {len(train_paragraphs)} paragraphs in {', '.join(world.LAB_LANGUAGES)}, vocabulary "
        f"{len(codec.tokenizer)} words, model {n_params / 1e6:.1f}M parameters; pretraining "
        f"{config.steps} steps x {config.batch_size}")
    initial_loss = span_corruption_loss(model, codec, heldout_data)

    model.train()
    optimizer = make_optimizer(model.parameters(), "adamw", config.lr, 0.01)
    schedule = linear_schedule(optimizer, config.steps, max(1, config.steps // 20))
    batches = training_batches(train, config.batch_size, config.seed, codec.pad_token_id)
    steps = range(config.steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="pretraining lab-mt5 (span corruption)", unit="step")
    recent: list[float] = []
    for step in steps:
        loss = optimizer_step(model, optimizer, schedule, [next(batches)], device=torch.device("cpu"),
                              dtype=None, max_grad_norm=1.0)
        if not math.isfinite(loss):
            raise FloatingPointError(f"lab pretraining diverged at step {step}; lower --lr ({config.lr:g})")
        recent = (recent + [loss])[-50:]
        if progress:
            steps.set_postfix(loss=f"{sum(recent) / len(recent):.3f}")
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
