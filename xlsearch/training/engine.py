"""The one step engine: every loop that trains a model takes its optimizer steps here — a
trial's rounds, intermediate tuning, the lab's pretraining and the budget's calibration — so a
change to how a step is taken (precision, clipping, accumulation, divergence) reaches them all.

An engine owns the model's optimizer and LR schedule. ``run`` takes a number of steps from a
batch stream, stops at the first non-finite loss (the weights are not touched by that step),
and can show a progress bar with the running loss.

On a DDP group (``ranks`` > 1) each rank steps on its shard of every global batch
(:func:`xlsearch.training.batches.training_batches`), weighted by its share of the global batch's
label tokens, so that DDP's gradient average equals the one-worker gradient of the global batch;
each micro-batch's loss is summed across the ranks before anything is decided, so that every rank
sees the global batch's loss and all stop together on a non-finite one.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

from xlsearch.training.optim import autocast_dtype, linear_schedule, make_optimizer

Batch = dict[str, torch.Tensor]
# A shard's batch carries its weight under this key: (world size) x (its label tokens) / (the
# global batch's label tokens). The engine takes it out before calling the model.
LOSS_WEIGHT = "loss_weight"
# Called before each step; returns the step's extra loss (e.g. mix_target's denoising loss on
# target-language text) or None.
ExtraLoss = Callable[[], "Callable[[], torch.Tensor] | None"]


@dataclass
class Steps:
    """What a run of steps did: the loss of each step taken, and whether it stopped on a
    non-finite loss."""

    losses: list[float] = field(default_factory=list)
    diverged: bool = False
    seconds: float = 0.0

    @property
    def mean_loss(self) -> float:
        return sum(self.losses) / len(self.losses) if self.losses else math.nan


@dataclass
class StepEngine:
    model: nn.Module  # the module to call (DDP-wrapped on several workers)
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    dtype: torch.dtype | None = None  # autocast dtype; None is fp32
    max_grad_norm: float = 1.0
    grad_accum: int = 1  # micro-batches per optimizer step
    ranks: int = 1  # DDP ranks stepping together (torch.distributed's group); 1 alone

    def step(self, batches: Iterator[Batch], extra_loss: Callable[[], torch.Tensor] | None = None) -> float:
        """One optimizer step over ``grad_accum`` micro-batches from ``batches``; returns the mean
        loss (NaN, with the weights untouched, when a loss is not finite). ``extra_loss`` is
        added once per step."""
        micro_batches = [next(batches) for _ in range(self.grad_accum)]
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for batch in micro_batches:
            weight = batch.get(LOSS_WEIGHT, 1.0)
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items() if k != LOSS_WEIGHT}
            with self._autocast():
                loss = weight * self.model(**batch).loss / len(micro_batches)
                if extra_loss is not None:
                    loss = loss + extra_loss() / len(micro_batches)
            value = self._across_ranks(loss.detach())
            if not torch.isfinite(value):
                return float("nan")
            loss.backward()
            total += value.item()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], self.max_grad_norm)
        self.optimizer.step()
        self.schedule.step()
        return total

    def run(self, batches: Iterator[Batch], steps: int, *, extra_loss: ExtraLoss | None = None,
            progress: str | None = None, smooth: int = 1) -> Steps:
        """Take ``steps`` steps (fewer if one diverges). ``progress`` is a progress bar's title
        (None: no bar); the bar shows the mean loss of the last ``smooth`` steps."""
        done = Steps()
        started = time.perf_counter()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, desc=progress, unit="step", leave=False)
        try:
            for _ in range(steps):
                loss = self.step(batches, extra_loss() if extra_loss else None)
                if not math.isfinite(loss):
                    done.diverged = True
                    break
                done.losses.append(loss)
                if bar is not None:
                    recent = done.losses[-smooth:]
                    bar.update()
                    bar.set_postfix(loss=f"{sum(recent) / len(recent):.3f}")
        finally:
            if bar is not None:
                bar.close()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        done.seconds = time.perf_counter() - started
        return done

    def _across_ranks(self, loss: torch.Tensor) -> torch.Tensor:
        """The micro-batch's loss over the global batch: the mean of the ranks' weighted losses."""
        if self.ranks == 1:
            return loss
        import torch.distributed as dist

        total = loss.float().clone()
        dist.all_reduce(total)
        return total / self.ranks

    @property
    def lr(self) -> float:
        return self.schedule.get_last_lr()[0]

    def _autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)


def new_engine(model: nn.Module, *, lr: float, total_steps: int, warmup_steps: int, device: torch.device,
               optimizer: str = "adamw", weight_decay: float = 0.0, precision: str = "fp32",
               max_grad_norm: float = 1.0, grad_accum: int = 1,
               parameters: Iterable[nn.Parameter] | None = None) -> StepEngine:
    """An engine with a fresh optimizer over the model's trainable parameters and a linear
    warm-up/decay schedule over ``total_steps``. ``model`` is what the engine calls; pass the
    unwrapped model's ``parameters`` when ``model`` is a DDP wrapper."""
    opt = make_optimizer(parameters if parameters is not None else model.parameters(), optimizer, lr, weight_decay)
    return StepEngine(model, opt, linear_schedule(opt, total_steps, warmup_steps), device,
                      autocast_dtype(precision, device), max_grad_norm, grad_accum)
