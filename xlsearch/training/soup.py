"""Model soups: the uniform average of the final weights of several trials of one group (the same
model, method with the same parameters, and intermediate tuning; their LRs differ), evaluated as
a model of its own (Schmidt, Vulić and Glavaš, "Free Lunch: Robust Cross-Lingual Transfer via
Model Checkpoint Averaging", ACL 2023: averaging runs makes zero-shot transfer less sensitive to
the choice among them).

What is averaged is what each trial trained (its checkpoint's ``trainable.pt``): the whole model
for ``full``, the encoder for ``freeze_dec_emb``, the LoRA matrices for ``adapters`` (averaged as
adapters, A with A and B with B, not as merged weights), the prompt for ``prompt_tuning``; the
frozen rest is the same base (or intermediate-tuned) model in every member.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from xlsearch.spec import SweepSpec
from xlsearch.training.checkpoint import META_FILE, TRAINABLE_FILE, load_trainable
from xlsearch.training.params import TrialParams

SOUP_META = "soup.json"


def average_trainable(directories: Sequence[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the checkpoints' trained weights (in float32, cast back to each
    tensor's type). The checkpoints must hold the same tensors with the same shapes."""
    if len(directories) < 2:
        raise ValueError(f"a soup averages at least 2 checkpoints, got {len(directories)}")
    states = [torch.load(Path(d) / TRAINABLE_FILE, map_location="cpu", weights_only=True) for d in directories]
    first = states[0]
    for directory, state in zip(directories[1:], states[1:]):
        if set(state) != set(first) or any(state[n].shape != first[n].shape for n in first):
            raise ValueError(f"checkpoint {directory} holds other tensors than {directories[0]}: a soup averages "
                             "trials of one method with the same parameters")
    return {name: torch.stack([s[name].float() for s in states]).mean(dim=0).to(first[name].dtype)
            for name in first}


def final_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint of a trial's Train run with the highest round (its final weights), or None."""
    found = []
    for meta in Path(run_dir).glob(f"*/{META_FILE}"):
        if (meta.parent / TRAINABLE_FILE).is_file():
            found.append((int(json.loads(meta.read_text()).get("round", 0)), meta.parent))
    return max(found)[1] if found else None


def make_soup(spec: SweepSpec, params: TrialParams, members: Sequence[Path], out_dir: Path, *,
              device: torch.device | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Average ``members`` (checkpoint folders of trials with ``params``' method, method parameters
    and intermediate tuning), keep the average in ``out_dir`` (``trainable.pt``, ``soup.json``) and
    evaluate it as the final round of a trial is evaluated: every source, target and pivot dev
    example. Returns ``{"metrics", "samples"}``."""
    from xlsearch.training.loop import evaluate, setup_trial

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = average_trainable(members)
    torch.save(state, out_dir / TRAINABLE_FILE)
    (out_dir / SOUP_META).write_text(json.dumps({"params": params.flat(), "members": [str(m) for m in members]},
                                                indent=2, default=str))
    trial = setup_trial(spec, params, device=device, log=log)
    load_trainable(trial.model, out_dir)
    samples: list[dict[str, str]] = []
    metrics = evaluate(trial.model, trial.codec, trial.task, spec, trial.data, trial.engine, samples, final=True,
                       trained_on=list(trial.train))
    return {"metrics": metrics, "samples": samples}
