"""Trial checkpoints: only what the trial trained (the whole model for `full`, the adapter or
prompt for peft methods, the encoder body for `freeze_dec_emb`), plus the optimizer state and
position needed to resume. The frozen rest is rebuilt from the base (or intermediate-tuned)
model, so a prompt-tuning checkpoint is kilobytes, not gigabytes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

TRAINABLE_FILE = "trainable.pt"
STATE_FILE = "training_state.pt"
META_FILE = "trial.json"


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in unwrap(model).named_parameters() if p.requires_grad}


def save_checkpoint(directory: Path, model: nn.Module, optimizer, schedule, meta: dict[str, Any]) -> Path:
    """Write a checkpoint into ``directory`` (created); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(trainable_state(model), directory / TRAINABLE_FILE)
    # The RNG state too: dropout draws from it, and a resumed trial should take the same steps.
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    torch.save({"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "rng": rng},
               directory / STATE_FILE)
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    return directory


def read_meta(directory: Path) -> dict[str, Any]:
    return json.loads((Path(directory) / META_FILE).read_text())


def load_trainable(model: nn.Module, directory: Path) -> None:
    """Put a checkpoint's trained weights into a model prepared the same way (same method)."""
    state = torch.load(Path(directory) / TRAINABLE_FILE, map_location="cpu", weights_only=True)
    target = unwrap(model)
    names = {n for n, _ in target.named_parameters()}
    unknown = sorted(set(state) - names)
    if unknown:
        raise ValueError(f"checkpoint {directory} holds {unknown[0]!r}, which this model does not have "
                         "(was it trained with another method or model?)")
    target.load_state_dict(state, strict=False)


def load_training_state(directory: Path, optimizer, schedule) -> None:
    state = torch.load(Path(directory) / STATE_FILE, map_location="cpu", weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"]["cpu"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["rng"]["cuda"])


def restore_checkpoint(directory: Path, model: nn.Module, optimizer, schedule) -> dict[str, Any]:
    """Resume from a checkpoint: its trained weights into ``model`` (prepared with the same
    method), its optimizer, schedule and RNG state; returns its meta (``round``, ``metrics``...)."""
    meta = read_meta(directory)
    load_trainable(model, directory)
    load_training_state(directory, optimizer, schedule)
    return meta
