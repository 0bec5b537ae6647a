"""Optimizer, LR schedule, precision and the one optimizer step that every loop shares."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable

import torch
from torch import nn


def make_optimizer(params: Iterable[nn.Parameter], name: str, lr: float, weight_decay: float = 0.0):
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adafactor":
        from transformers.optimization import Adafactor

        # A fixed LR, so that the searched LR means the same as for AdamW.
        return Adafactor(params, lr=lr, weight_decay=weight_decay, relative_step=False,
                         scale_parameter=False, warmup_init=False)
    raise ValueError(f"unknown optimizer {name!r}; known: adamw, adafactor")


def linear_schedule(optimizer, total_steps: int, warmup_steps: int):
    """Linear warmup from 0 over ``warmup_steps``, then linear decay to 0 at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on a GPU that supports it ("auto" or "bf16"); None means fp32."""
    if precision == "fp32" or device.type != "cuda":
        return None
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device_type=device.type, dtype=dtype) if dtype else contextlib.nullcontext()


def optimizer_step(model: nn.Module, optimizer, schedule, micro_batches: list[dict[str, torch.Tensor]], *,
                   device: torch.device, dtype: torch.dtype | None, max_grad_norm: float,
                   extra_loss: Callable[[], torch.Tensor] | None = None) -> float:
    """One optimizer step over ``micro_batches`` (gradient accumulation); returns the mean loss.

    ``extra_loss``, when given, is added once per step (the target-language denoising loss of
    `mix_target`). A non-finite loss returns before the weights are touched.
    """
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for batch in micro_batches:
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast(device, dtype):
            loss = model(**batch).loss / len(micro_batches)
            if extra_loss is not None:
                loss = loss + extra_loss() / len(micro_batches)
        if not torch.isfinite(loss):
            return float("nan")
        loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], max_grad_norm)
    optimizer.step()
    schedule.step()
    return total
