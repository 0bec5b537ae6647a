"""What a small sweep costs in CPU seconds, with xlsearch's setting for Ray's log monitor and
with Ray's default: the CPU a 2-core machine (a laptop, CI) spends beside the trials.

Runs, alternately and --repeats times each, the same `xlsearch run` (a local Ray on --num-cpus):
  A  Ray's default: the log monitor lists its log folder every 0.1 s below 1000 files
     (RAY_LOG_MONITOR_MANY_FILES_THRESHOLD=1000, the baseline);
  B  xlsearch's setting: every 0.5 s from the start (RAY_LOG_MONITOR_MANY_FILES_THRESHOLD=0).
Each run's CPU is the machine's busy CPU time over the run (/proc/stat: every process, Ray's
daemons and workers included, which the run's own rusage does not count: Ray's workers are not
its children). So run it on a quiet machine: another job's load counts too. Prints every run,
the medians and the ratios B/A measured in this run.

The default sweep is the test suite's shape (tests/test_sweep.py's spec: the demo's tiny random
mT5, 6 trials of Optuna + ASHA, one intermediate tuning); --spec runs another.

    python benchmarks/sweep_cpu.py [--repeats 2] [--num-cpus 2] [--spec SPEC]

Linux only (/proc/stat).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SETTING = "RAY_LOG_MONITOR_MANY_FILES_THRESHOLD"
VARIANTS = {"A ray default": "1000", "B xlsearch": "0"}


def suite_spec(folder: Path) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from test_sweep import sweep_spec

    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(sweep_spec(folder / "results")))
    return path


def busy_seconds() -> float:
    """CPU seconds the machine has spent busy since boot, all cores (/proc/stat's first line:
    everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def one_run(spec: Path, storage: Path, value: str, num_cpus: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `xlsearch run` into a fresh ``storage``."""
    shutil.rmtree(storage, ignore_errors=True)
    env = {**os.environ, SETTING: value, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    before = busy_seconds()
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "xlsearch", "run", str(spec), "--storage", str(storage),
                          "--num-cpus", str(num_cpus)], env=env, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = busy_seconds() - before
    if out.returncode != 0:
        sys.exit(f"xlsearch run failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--spec", help="a spec to run (default: the test suite's 6-trial sweep)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="sweep-cpu-"))
    spec = Path(args.spec) if args.spec else suite_spec(folder)
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for repeat in range(args.repeats):
        for name, value in VARIANTS.items():
            wall, cpu = one_run(spec, folder / "storage", value, args.num_cpus)
            found[name].append((wall, cpu))
            print(f"run {repeat + 1} {name:14s} wall {wall:6.1f} s  CPU {cpu:6.1f} s", flush=True)
    medians = {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
               for name, runs in found.items()}
    (wall_a, cpu_a), (wall_b, cpu_b) = medians.values()
    print(f"medians: A wall {wall_a:.1f} s CPU {cpu_a:.1f} s; B wall {wall_b:.1f} s CPU {cpu_b:.1f} s")
    print(f"B/A: wall {wall_b / wall_a:.2f}, CPU {cpu_b / cpu_a:.2f}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
