"""What running a trial through Ray costs, against the same trial run alone.

Runs, alternately and --repeats times each (whole processes, wall-clock):
  A  `xlsearch trial`  one trial in-process, no Ray (the baseline), with as many torch threads
                       as the sweep's worker gets (its CPUs: Ray sets OMP_NUM_THREADS to them,
                       where a process of its own would use every core);
  B  `xlsearch run`    the same single trial as a sweep: local Ray, Tune, a Train V2 worker,
                       MLflow; with RAY_TRAIN_HEALTH_CHECK_INTERVAL_S=0.2 (xlsearch's setting);
  C  `xlsearch run`    the same with Ray's default interval of 2.0 s.
and prints the medians and the ratios B/A, C/A and C/B measured in this run; and the training
time of a round (the trial's own `time/train_s`, the optimizer steps only) inside the sweep
against alone: what the sweep's other processes cost the training itself.

    python benchmarks/trial_overhead.py [--repeats 3] [--rounds 3] [--steps 15]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def spec(folder: Path, rounds: int, steps: int) -> Path:
    raw = yaml.safe_load((REPO / "search_spaces" / "demo.yaml").read_text())
    raw.update(name="overhead", storage=str(folder / "results"))
    raw["search"].update(algorithm="grid", lr=[3e-3], methods={"full": {}}, intermediate_tuning=["none"])
    raw["training"].update(rounds=rounds, steps_per_round=steps)
    raw["scheduler"] = "none"
    raw["budget"] = {"max_trials": 1}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def train_seconds(folder: Path) -> list[float]:
    """``time/train_s`` of each round reported under ``folder`` (a `xlsearch trial` output's
    metrics.jsonl, or the result.json files of a sweep's Tune trials)."""
    found = []
    for path in [*folder.rglob("metrics.jsonl"), *folder.rglob("result.json")]:
        for line in path.read_text().splitlines():
            if line.strip():
                value = json.loads(line).get("time/train_s")
                if value is not None:
                    found.append(float(value))
    return found


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{out.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args()
    xl = [sys.executable, "-m", "xlsearch"]
    times: dict[str, list[float]] = {"A": [], "B": [], "C": []}
    train: dict[str, list[float]] = {"A": [], "B": [], "C": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec_file = spec(folder, args.rounds, args.steps)
        token = folder / "ray_token"
        token.write_text(os.urandom(32).hex())
        base_env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(token)}
        for i in range(args.repeats):
            threads = str(max(1, int(yaml.safe_load(spec_file.read_text())["resources"]["cpus_per_worker"])))
            times["A"].append(timed([*xl, "trial", str(spec_file), "--quiet", "--output", str(folder / f"a{i}")],
                                    {**base_env, "OMP_NUM_THREADS": threads}))
            train["A"] += train_seconds(folder / f"a{i}")
            for name, interval in (("B", "0.2"), ("C", "2.0")):
                storage = folder / f"{name}{i}"
                env = {**base_env, "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": interval}
                times[name].append(timed([*xl, "run", str(spec_file), "--num-cpus", "2", "--storage", str(storage)],
                                         env))
                train[name] += train_seconds(storage)
            print(f"repeat {i + 1}: " + "  ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\none trial of {args.rounds} rounds x {args.steps} steps (tiny-mt5, 2 CPUs), median of {args.repeats}:")
    print(f"  A trial alone          {med['A']:6.1f} s")
    print(f"  B sweep, interval 0.2  {med['B']:6.1f} s   B/A = {med['B'] / med['A']:.2f}")
    print(f"  C sweep, interval 2.0  {med['C']:6.1f} s   C/A = {med['C'] / med['A']:.2f}   C/B = {med['C'] / med['B']:.2f}")
    tr = {k: statistics.median(v) for k, v in train.items() if v}
    if len(tr) == 3:
        print(f"training time of a round ({args.steps} steps), median over rounds and repeats: alone {tr['A']:.2f} s, "
              f"in the sweep {tr['B']:.2f} s (B/A = {tr['B'] / tr['A']:.2f}), {tr['C']:.2f} s at interval 2.0 "
              f"(C/A = {tr['C'] / tr['A']:.2f})")


if __name__ == "__main__":
    main()
