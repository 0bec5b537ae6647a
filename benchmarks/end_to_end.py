"""End to end: `xlsearch run` against the hand-wired way (benchmarks/handwired.py) on the same job.

From one xlsearch spec with a grid search (methods full, freeze_dec_emb and/or adapters with
their default parameters), the driver exports the job for the hand-wired way: the same model
(a saved directory; a random-weight model is saved with the spec's seed), the same training and
dev examples (JSON lines), the same span-corrupted intermediate-tuning examples, the same grid,
steps, batch size, lengths, warm-up and concurrency. Then it runs, one after the other, as whole
processes with a fresh local Ray each:

  H  the hand-wired way: Ray Tune over Seq2SeqTrainer trials, intermediate tuning in every trial
     that asks for it, one evaluation at the end, no early stopping;
  X  `xlsearch run SPEC`: Ray Tune + Ray Train trials, intermediate tuning once per setting, an
     evaluation every round, and the spec's scheduler (ASHA if it says so).

It prints the wall-clock of each and X/H, the peak memory summed over each run's processes
(RSS and PSS, sampled every second), the trial-rounds each trained, each side's pick (the best
source-language dev ROUGE-L) and that pick's mean target ROUGE-L, and, unless --no-estimate,
what `xlsearch estimate` predicted for X against what X took.

    python benchmarks/end_to_end.py SPEC [--num-cpus 2] [--repeats 1] [--no-estimate] [--json OUT]

The lab's sweep is a real-signal job: `xlsearch lab build` first, then
`python benchmarks/end_to_end.py search_spaces/lab.yaml`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HANDWIRED_METHODS = {"full", "freeze_dec_emb", "adapters"}


class PeakMemory:
    """Samples, every ``interval`` seconds, the RSS and PSS summed over a process and all its
    descendants (Ray's GCS, raylet and workers included), and keeps the peaks."""

    def __init__(self, pid: int, interval: float = 1.0):
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.rss = self.pss = 0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            rss = pss = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            self.processes = max(self.processes, len(procs))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(argv: list[str], env: dict[str, str], log: Path) -> dict:
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        memory = PeakMemory(proc.pid)
        code = proc.wait()
        memory.stop()
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {code}); its output: {log}\n{log.read_text()[-3000:]}")
    return {"seconds": seconds, "rss_gb": memory.rss / 1e9, "pss_gb": memory.pss / 1e9, "processes": memory.processes}


def export_job(spec, folder: Path, num_cpus: int) -> dict:
    """The hand-wired way's job file and data, from the spec."""
    from xlsearch.families import get_family
    from xlsearch.lm_objectives import lm_examples, resolve_objective
    from xlsearch.models import load_model, resolve_model, save_model
    from xlsearch.training.data import load_trial_data, unlabeled_texts
    from xlsearch.training.intermediate import languages

    s, cfg = spec.search, spec.training
    if s.algorithm != "grid":
        raise SystemExit(f"search.algorithm = {s.algorithm!r}: the comparison needs a grid (both ways run the same grid)")
    for method, params in s.methods.items():
        if method not in HANDWIRED_METHODS or params:
            raise SystemExit(f"search.methods.{method} = {params!r}: the hand-wired baseline runs "
                             f"{', '.join(sorted(HANDWIRED_METHODS))} with their default parameters")
    if cfg.grad_accum != 1 or spec.resources.workers != 1:
        raise SystemExit("the hand-wired baseline runs one worker without gradient accumulation")
    ref = resolve_model(spec.model)
    model, codec = load_model(spec.model, seed=s.seed)
    if ref.location is None:  # a random-weight model: the hand-wired way loads the same weights from disk
        save_model(model, codec, folder / "model")
        model_dir = str(folder / "model")
    else:
        model_dir = ref.location
    data = load_trial_data(spec, spec.source_languages, with_unlabeled=False)

    def write(name: str, rows: list[dict]) -> str:
        path = folder / name
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return str(path)

    train = [{"input": ex.input_text, "target": ex.targets[0]} for lang in spec.source_languages
             for ex in data.train[lang]]
    dev = {lang: write(f"dev_{lang}.jsonl", [{"input": ex.input_text, "target": ex.targets[0]} for ex in data.dev[lang]])
           for lang in spec.all_languages}
    its = {}
    for option in s.intermediate_tuning:
        if option == "none":
            continue
        # The examples xlsearch's intermediate tuning trains on (training/intermediate.py).
        rng, objective = random.Random(s.seed), resolve_objective(option.objective, codec.family)
        pairs = []
        for lang in languages(spec, option):
            pairs += [{"input_ids": a, "labels": b} for a, b in lm_examples(
                unlabeled_texts(spec, lang, option.examples_per_language), lang, codec, objective, option.max_length, rng)]
        its[option.label] = {"file": write(f"it_{option.label}.jsonl", pairs), "steps": option.steps, "lr": option.lr,
                             "batch_size": option.batch_size}
    lrs = s.lr if isinstance(s.lr, list) else None
    if lrs is None:
        raise SystemExit("search.lr must be a list of values for a grid comparison")
    job = {
        "model": model_dir, "seed": s.seed, "threads": max(1, int(spec.resources.cpus_per_worker)), "num_cpus": num_cpus,
        "train": write("train.jsonl", train), "dev": dev, "source_languages": spec.source_languages,
        "grid": {"lr": list(lrs), "method": list(s.methods), "it": [o if o == "none" else o.label
                                                                     for o in s.intermediate_tuning]},
        "intermediate_tuning": its, "lora_targets": list(get_family(codec.family).lora_targets),
        "steps": cfg.rounds * cfg.steps_per_round, "batch_size": cfg.batch_size, "eval_batch_size": cfg.eval_batch_size,
        "max_input_length": cfg.max_input_length, "max_output_length": cfg.max_output_length,
        "warmup_ratio": cfg.warmup_ratio, "storage": str(folder / "handwired_runs"),
    }
    (folder / "job.json").write_text(json.dumps(job, indent=1))
    return job


def pick(config: dict) -> str:
    it = config.get("it", config.get("intermediate_tuning"))
    return f"{config['method']} lr {config['lr']:g} it {it}"


def estimate_minutes(spec_file: Path, env: dict, num_cpus: int, log: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "xlsearch", "estimate", str(spec_file), "--num-cpus", str(num_cpus)],
                         env=env, capture_output=True, text=True, cwd=REPO)
    log.write_text(out.stdout + out.stderr)
    found = re.search(r"wall-clock: [\d.]+ h \(([\d.]+) min\)", out.stdout)
    if out.returncode not in (0, 3) or not found:
        raise SystemExit(f"xlsearch estimate failed (exit {out.returncode}); its output: {log}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-estimate", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (logs, results)")
    args = parser.parse_args()

    from xlsearch.checks import parse_spec

    raw = yaml.safe_load(args.spec.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        raw.pop("budget", None)  # both ways run the whole grid
        for splits in (raw.get("data") or {}).values():  # the spec is rewritten elsewhere: paths made absolute
            for source in (splits or {}).values():
                if isinstance(source, dict) and isinstance(source.get("path"), str):
                    source["path"] = str((args.spec.resolve().parent / Path(source["path"]).expanduser()).resolve())
        raw["storage"] = str(folder / "xlsearch_results")
        spec_file = folder / "spec.yaml"
        spec_file.write_text(yaml.safe_dump(raw))
        spec = parse_spec(raw, base_dir=args.spec.resolve().parent)
        print(f"exporting the job for the hand-wired way: {spec.model}, {spec.task}, "
              f"{len(spec.all_languages)} languages", flush=True)
        export_job(spec, folder, args.num_cpus)
        token = folder / "ray_token"
        token.write_text(os.urandom(32).hex())
        env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(token), "PYTHONUNBUFFERED": "1"}
        estimated = None
        if not args.no_estimate:
            estimated = estimate_minutes(spec_file, env, args.num_cpus, folder / "estimate.log")
            print(f"xlsearch estimate: {estimated:.1f} min", flush=True)
        runs: dict[str, list[dict]] = {"H": [], "X": []}
        for i in range(args.repeats):
            h = run_measured([sys.executable, str(REPO / "benchmarks" / "handwired.py"), str(folder / "job.json"),
                              "--out", str(folder / f"handwired_{i}.json")], env, folder / f"handwired_{i}.log")
            h["summary"] = json.loads((folder / f"handwired_{i}.json").read_text())
            runs["H"].append(h)
            print(f"repeat {i + 1}: hand-wired {h['seconds']:.0f} s", flush=True)
            raw["storage"] = str(folder / f"xlsearch_results_{i}")
            spec_file.write_text(yaml.safe_dump(raw))
            x = run_measured([sys.executable, "-m", "xlsearch", "run", str(spec_file), "--num-cpus", str(args.num_cpus)],
                             env, folder / f"xlsearch_{i}.log")
            x["summary"] = json.loads((Path(raw["storage"]) / spec.name / "summary.json").read_text())
            runs["X"].append(x)
            print(f"repeat {i + 1}: xlsearch {x['seconds']:.0f} s", flush=True)

    h_s = statistics.median(r["seconds"] for r in runs["H"])
    x_s = statistics.median(r["seconds"] for r in runs["X"])
    grid = len(runs["H"][0]["summary"]["trials"])
    rounds = spec.training.rounds
    x_sum = runs["X"][-1]["summary"]
    x_rounds = sum(int(r["metrics"].get("round", 0)) for r in x_sum["results"])
    h_best, x_best = runs["H"][-1]["summary"]["best"], x_sum["best"]
    objective = x_sum["objective"]
    target_key = "target_mean/" + objective.rsplit("/", 1)[-1]
    print(f"\n{spec.name}: {grid} trials of {rounds} x {spec.training.steps_per_round} steps, "
          f"{args.num_cpus} CPUs, median of {args.repeats}")
    print(f"  wall-clock       hand-wired {h_s:7.1f} s   xlsearch {x_s:7.1f} s   X/H = {x_s / h_s:.2f}")
    for key, name in (("rss_gb", "peak RSS"), ("pss_gb", "peak PSS")):
        h_m, x_m = max(r[key] for r in runs["H"]), max(r[key] for r in runs["X"])
        print(f"  {name:<16} hand-wired {h_m:7.2f} GB  xlsearch {x_m:7.2f} GB  X/H = {x_m / h_m:.2f}")
    print(f"  processes (most) hand-wired {max(r['processes'] for r in runs['H']):7d}     "
          f"xlsearch {max(r['processes'] for r in runs['X']):7d}")
    print(f"  trial-rounds     hand-wired {grid * rounds:7d}     xlsearch {x_rounds:7d}   "
          f"({x_sum['stopped_early']} stopped early by the scheduler)")
    print(f"  pick (best source dev) hand-wired: {pick(h_best['config'])} (source {h_best['metrics']['source_rougeL']:.1f}, "
          f"target mean {h_best['metrics']['target_mean_rougeL']:.1f})")
    print(f"                         xlsearch:   {pick(x_best['config'])} (source {x_best['metrics'][objective]:.1f}, "
          f"target mean {x_best['metrics'].get(target_key, math.nan):.1f})")
    same = pick(h_best["config"]) == pick(x_best["config"])
    print(f"  same pick: {'yes' if same else 'no'}")
    if not same:  # each pick as the other way scored it: a disagreement within noise, or not
        h_rows = {pick(r["config"]): r["metrics"] for r in runs["H"][-1]["summary"]["trials"]}
        x_rows = {pick(r["config"]): r["metrics"] for r in x_sum["results"]}
        x_of_h = x_rows.get(pick(h_best["config"]), {})
        print(f"  the hand-wired pick in xlsearch's run: source {x_of_h.get(objective, math.nan):.1f} "
              f"(round {x_of_h.get('round', '?')}); xlsearch's pick in the hand-wired run: source "
              f"{h_rows.get(pick(x_best['config']), {}).get('source_rougeL', math.nan):.1f}")
    if estimated is not None:
        print(f"  estimate         {estimated:.1f} min for xlsearch, measured {x_s / 60:.1f} min: "
              f"{100 * (estimated * 60 / x_s - 1):+.0f}%")
    if args.json:
        args.json.write_text(json.dumps({"spec": str(args.spec), "runs": runs, "estimate_min": estimated}, indent=1,
                                        default=str))


if __name__ == "__main__":
    main()
