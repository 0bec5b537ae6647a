"""Optimizer, LR schedule and precision: the choices a step engine is built from."""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn


def make_optimizer(params: Iterable[nn.Parameter], name: str, lr: float, weight_decay: float = 0.0):
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if name == "adamw":
        # On a GPU, torch's fused AdamW: one kernel for all the parameters instead of a few per
        # tensor (what Seq2SeqTrainer uses by default on torch >= 2.8; benchmarks/gpu_step.py).
        fused = True if all(p.is_cuda for p in params) else None
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused)
    if name == "adafactor":
        from transformers.optimization import Adafactor

        # A fixed LR, so that the searched LR means the same as for AdamW.
        return Adafactor(params, lr=lr, weight_decay=weight_decay, relative_step=False,
                         scale_parameter=False, warmup_init=False)
    raise ValueError(f"unknown optimizer {name!r}; known: adamw, adafactor")


def linear_schedule(optimizer, total_steps: int, warmup_steps: int):
    """Linear warm-up from 0 over ``warmup_steps``, then linear decay to 0 at ``total_steps``:
    transformers' schedule, the one ``Seq2SeqTrainer`` uses by default."""
    from transformers import get_linear_schedule_with_warmup

    return get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on a GPU that supports it ("auto" or "bf16"); None means fp32."""
    if precision == "fp32" or device.type != "cuda":
        return None
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None
