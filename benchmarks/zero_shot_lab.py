"""The zero-shot-aware search measured on the lab: `search_spaces/lab_full.yaml` (48 trials, 3 seeds)
run as it is and with the wrong-language stopper, then every selection rule's choice, target
score and regret on each, as the docs' tables print them.

    xlsearch lab build                                   # once
    python benchmarks/zero_shot_lab.py [--storage DIR] [--stop-above 0.5] [--reuse] [--only SWEEP] [--num-cpus N]

The two sweeps run one after the other, each a whole `xlsearch run` (its own local Ray): first
the spec as it is (``lab-full``), then the same spec with ``scheduler.stop_wrong_language_above``
(``lab-full-stop``), in ``--storage`` (default ``~/xlsearch_results/zero-shot-lab``). ``--reuse``
reads sweeps already there instead of running them (a finished sweep's tables again).

Printed, in markdown:

- per sweep: trials, trial-rounds trained (summary.json's ``trial_rounds``), wall-clock, soups;
- per sweep and rule, across the whole sweep: each seed is a replication (every rule chooses
  among that seed's trials); the configuration each rule chose in each seed, its mean target
  ROUGE-L (on the held-out target dev examples) and its regret against the oracle, mean ± sd over
  the seeds (``xlsearch.selection.regret_over_seeds``).

Nothing here is a timed test: the wall-clock depends on the machine and on what else runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SPEC = REPO / "search_spaces" / "lab_full.yaml"


def write_specs(storage: Path, stop_above: float) -> dict[str, Path]:
    """``lab_full.yaml`` as it is and with the stopper, both pointed at ``storage``."""
    storage.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load(SPEC.read_text())
    specs = {}
    for name, scheduler in (("lab-full", raw["scheduler"]),
                            ("lab-full-stop", {"type": "none", "stop_wrong_language_above": stop_above})):
        spec = {**raw, "name": name, "scheduler": scheduler, "storage": str(storage)}
        path = storage / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        specs[name] = path
    return specs


def run(spec: Path, num_cpus: int | None) -> float:
    command = [sys.executable, "-m", "xlsearch", "run", str(spec)] + (["--num-cpus", str(num_cpus)] if num_cpus else [])
    started = time.time()
    print(f"$ {' '.join(command)}", flush=True)
    subprocess.run(command, check=True, cwd=REPO)
    return time.time() - started


def mean_sd(values) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def rule_rows(sweep_dir: Path) -> list[dict]:
    """Per rule, across the sweep: the configurations it chose per seed, mean target score and
    regret, mean ± sd over the seeds."""
    from analysis import analyze, load_sweep
    from analysis.report import trial_label
    from xlsearch import keys

    frame = load_sweep(sweep_dir)
    a = analyze(frame, frame.attrs.get("lid_threshold") or 0.2)
    table = a.regrets[a.regrets["method"] == "all"]
    labels = {}
    for _, row in frame.drop_duplicates(keys.TRIAL_ID).iterrows():
        labels[str(row[keys.TRIAL_ID])] = trial_label(row).rsplit(" seed=", 1)[0]
    for _, row in a.soups.iterrows():
        labels[str(row[keys.TRIAL_ID])] = f"soup of {row.get('soup_of', '').count(',') + 1} ({row.get('method')}, it={row.get('intermediate_tuning')})"
    rows = []
    for rule, part in table.groupby("rule", sort=False):
        part = part.sort_values("seed")
        chosen = [labels.get(str(t), "none") if t is not None else "none" for t in part["trial_id"]]
        rows.append({"rule": rule, "chosen (per seed)": "; ".join(chosen),
                     "target ROUGE-L": mean_sd(part["mean_target"].astype(float)),
                     "regret": mean_sd(part["regret"].astype(float))})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", default="~/xlsearch_results/zero-shot-lab")
    parser.add_argument("--stop-above", type=float, default=0.5, help="the stopper's threshold (default 0.5)")
    parser.add_argument("--reuse", action="store_true", help="analyze sweeps already in --storage, run nothing")
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument("--only", choices=["lab-full", "lab-full-stop"], default=None,
                        help="run this one sweep (the other is read from --storage as --reuse does)")
    args = parser.parse_args(argv)
    storage = Path(args.storage).expanduser()
    specs = write_specs(storage, args.stop_above)
    walls = {}
    for name, spec in specs.items():
        if not args.reuse and args.only in (None, name):
            walls[name] = run(spec, args.num_cpus)
    print("\n| sweep | trials | trial-rounds trained | wall-clock (min) | soups |")
    print("|---|---|---|---|---|")
    for name in specs:
        summary = json.loads((storage / name / "summary.json").read_text())
        wall = walls.get(name, summary["wall_clock_s"])
        print(f"| {name} | {summary['trials']} | {summary['trial_rounds']} | {wall / 60:.1f} | "
              f"{len(summary.get('soups', []))} |")
    for name in specs:
        print(f"\n{name}: each rule across the sweep, per seed a replication (mean ± sd over the seeds)\n")
        rows = rule_rows(storage / name)
        print("| " + " | ".join(rows[0]) + " |")
        print("|" + "---|" * len(rows[0]))
        for row in rows:
            print("| " + " | ".join(str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
