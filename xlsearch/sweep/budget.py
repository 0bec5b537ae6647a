"""Budgets: what a sweep is expected to cost before it starts (time, device-hours and, from
:mod:`xlsearch.sweep.disk`, disk), and a stopper that ends it at its GPU-hour cap while it runs.

Units: seconds of wall-clock time, device-hours (GPU-hours; worker-hours on a machine without
GPUs, where each worker's CPUs are the device).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ray.tune import Stopper

from xlsearch.space import planned_trials
from xlsearch.spec import SweepSpec
from xlsearch.sweep.disk import DiskNeed

# A trial's start-up and teardown when nothing measured them (an estimate from given step and
# eval times); the sweep's calibration measures them on the cluster (``tuner.calibrate``).
TRIAL_OVERHEAD_S = 11.0
# What a sweep spends besides Ray's start, its checks and its trials: opening the MLflow store,
# starting Tune, the final summary (measured on the 2-CPU development machine, Ray 2.60).
SWEEP_OVERHEAD_S = 6.0


def asha_rounds_per_trial(rounds: int, grace_period: int, reduction_factor: float) -> float:
    """Expected eval rounds a trial runs under ASHA: a share 1/eta of the trials passes each rung
    (grace, grace*eta, grace*eta^2, ... < rounds)."""
    return _asha(rounds, grace_period, reduction_factor)[0]


def asha_share_finishing(rounds: int, grace_period: int, reduction_factor: float) -> float:
    """The expected share of trials that ASHA lets reach the last round."""
    return _asha(rounds, grace_period, reduction_factor)[1]


def _asha(rounds: int, grace_period: int, reduction_factor: float) -> tuple[float, float]:
    rungs = []
    milestone = grace_period
    while milestone < rounds:
        rungs.append(milestone)
        milestone = math.ceil(milestone * reduction_factor)
    expected, surviving, previous = 0.0, 1.0, 0
    for rung in rungs:
        expected += surviving * (rung - previous)
        surviving /= reduction_factor
        previous = rung
    return expected + surviving * (rounds - previous), surviving


@dataclass(frozen=True)
class Estimate:
    trials: int
    rounds_per_trial: float  # expected, under the scheduler
    trial_seconds: float  # expected wall-clock of one trial, overhead included
    concurrency: int
    devices_per_trial: float
    device_kind: str  # "GPU" or "worker" (CPU-only)
    step_seconds: float
    eval_seconds: float  # a round's evaluation before the last (targets on their fixed sample)
    final_eval_seconds: float  # the last round's (every target example)
    startup_seconds: float = TRIAL_OVERHEAD_S  # a trial's start-up and teardown
    # Wall-clock of the trials when the machine's CPUs, not the trials' latency, set the pace
    # (every process of every trial sharing the CPUs; local CPU-only Ray), else 0.
    cpu_bound_seconds: float = 0.0
    fixed_seconds: float = 0.0  # the sweep's own: Ray's start, checks, MLflow, Tune, intermediate tuning
    disk: DiskNeed | None = None  # None when not measured
    # The same sweep with every trial running every round: what it costs if the scheduler stops
    # none (ASHA compares scores at its rungs, and a sweep whose trials tie there, as trials that
    # have learned nothing yet do, runs whole). None without an early-stopping scheduler.
    without_stops: Estimate | None = None

    @property
    def device_hours(self) -> float:
        return self.trials * self.trial_seconds * self.devices_per_trial / 3600

    @property
    def wall_clock_hours(self) -> float:
        waves = math.ceil(self.trials / self.concurrency) * self.trial_seconds
        return (self.fixed_seconds + max(waves, self.cpu_bound_seconds)) / 3600

    def over_budget(self, spec: SweepSpec) -> list[str]:
        """Lines naming each budget the estimate exceeds (empty when it fits)."""
        problems = []
        b = spec.budget
        if b.gpu_hours is not None and self.device_hours > b.gpu_hours:
            problems.append(f"budget.gpu_hours = {b.gpu_hours:g}: the sweep is expected to take "
                            f"{self.device_hours:.2f} {self.device_kind}-hours")
        if b.wall_clock_hours is not None and self.wall_clock_hours > b.wall_clock_hours:
            problems.append(f"budget.wall_clock_hours = {b.wall_clock_hours:g}: the sweep is expected to take "
                            f"{self.wall_clock_hours:.2f} hours at concurrency {self.concurrency}")
        shortage = self.disk.shortage(spec.storage) if self.disk else None
        if shortage:
            problems.append(shortage)
        return problems

    def lines(self) -> list[str]:
        return [
            f"trials: {self.trials} (at most {self.concurrency} at a time)",
            f"eval rounds per trial: {self.rounds_per_trial:.2f} expected",
            f"one optimizer step: {self.step_seconds:.3f} s; one evaluation: {self.eval_seconds:.1f} s "
            f"({self.final_eval_seconds:.1f} s in the last round, on every target example)",
            f"one trial: {self.trial_seconds:.0f} s expected ({self.startup_seconds:.0f} s of it start-up and teardown)",
            *([f"besides the trials: {self.fixed_seconds:.0f} s (Ray's start, the checks, this calibration, "
               f"MLflow, Tune, intermediate tuning)"] if self.fixed_seconds else []),
            *([f"the machine's CPUs set the pace: {self.cpu_bound_seconds / 60:.1f} min of trials when every "
               f"trial's processes share them"]
              if self.cpu_bound_seconds > math.ceil(self.trials / self.concurrency) * self.trial_seconds else []),
            f"wall-clock: {self.wall_clock_hours:.2f} h ({60 * self.wall_clock_hours:.1f} min); "
            f"{self.device_kind}-hours: {self.device_hours:.2f}",
            *([f"if the scheduler stops no trial: {w.wall_clock_hours:.2f} h ({60 * w.wall_clock_hours:.1f} min); "
               f"{w.device_kind}-hours: {w.device_hours:.2f}"] if (w := self.without_stops) else []),
            *(self.disk.lines() if self.disk else []),
        ]


def estimate(spec: SweepSpec, *, step_seconds: float, eval_seconds: float, concurrency: int,
             devices_per_trial: float, device_kind: str, final_eval_seconds: float | None = None,
             startup_seconds: float = TRIAL_OVERHEAD_S, startup_cpu_seconds: float | None = None,
             cpus_per_trial: float = 1.0, fixed_seconds: float = 0.0) -> Estimate:
    """Expected cost of a sweep from measured times: a step, an evaluation (``final_eval_seconds``:
    the last round's, by default the same), a trial's start-up and teardown, and the sweep's own
    ``fixed_seconds`` so far. ``startup_cpu_seconds`` (the CPU a trial's start-up takes from the
    machine, all its processes together) adds a CPU-bound pace on a machine without GPUs: the
    trials' CPU seconds over the CPUs the trials hold."""
    cfg = spec.training
    final = eval_seconds if final_eval_seconds is None else final_eval_seconds
    trials = planned_trials(spec)
    fixed = fixed_seconds + (SWEEP_OVERHEAD_S if fixed_seconds else 0.0) + intermediate_tuning_seconds(spec, step_seconds)

    def with_rounds(rounds: float, finishing: float, without_stops: Estimate | None = None) -> Estimate:
        evals = (rounds - finishing) * eval_seconds + finishing * final
        work = rounds * cfg.steps_per_round * step_seconds + evals
        cpu_bound = 0.0
        if startup_cpu_seconds is not None and device_kind != "GPU":
            cpu_bound = trials * (startup_cpu_seconds + work * cpus_per_trial) / (concurrency * cpus_per_trial)
        return Estimate(trials, rounds, startup_seconds + work, concurrency, devices_per_trial, device_kind,
                        step_seconds, eval_seconds, final, startup_seconds, cpu_bound, fixed,
                        without_stops=without_stops)

    whole = with_rounds(float(cfg.rounds), 1.0)
    if spec.scheduler.type != "asha":
        return whole
    rounds, finishing = _asha(cfg.rounds, spec.scheduler.grace_period, spec.scheduler.reduction_factor)
    return with_rounds(rounds, finishing, without_stops=whole)


def intermediate_tuning_seconds(spec: SweepSpec, step_seconds: float) -> float:
    """The intermediate-tuning stage, from a finetuning step's time scaled by its batch's tokens
    (an LM batch is inputs and labels of up to ``max_length`` each)."""
    cfg = spec.training
    task_tokens = cfg.batch_size * (cfg.max_input_length + cfg.max_output_length)
    return sum(it.steps * step_seconds * it.batch_size * 2 * it.max_length / task_tokens
               for it in spec.search.intermediate_tuning if it != "none")


class DeviceHourStopper(Stopper):
    """Stops the whole sweep once the trials have held ``cap_hours`` device-hours.

    Each trial counts ``time_total_s`` (Tune's wall-clock of the trial, reported every round) times
    the devices it holds; a running trial is counted up to its latest round.
    """

    def __init__(self, cap_hours: float, devices_per_trial: float):
        if cap_hours <= 0:
            raise ValueError(f"cap_hours = {cap_hours!r}: must be > 0")
        self.cap_hours = cap_hours
        self.devices_per_trial = devices_per_trial
        self.seconds_by_trial: dict[str, float] = {}

    @property
    def used_hours(self) -> float:
        return sum(self.seconds_by_trial.values()) * self.devices_per_trial / 3600

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        self.seconds_by_trial[trial_id] = float(result.get("time_total_s", 0.0))
        return False

    def stop_all(self) -> bool:
        return self.used_hours >= self.cap_hours
