"""The lab's levers, measured: build `lab-mt5` in several worlds (pretraining mixes) and finetune
each as the quickstart does, without and with intermediate tuning, so that a lever is kept for
what it was measured to do.

    python benchmarks/lab_worlds.py [--worlds now,sc_dn,sc_only] [--storage DIR] [--threads 2]
                                    [--probes full:1e-4:plm60lo,...]

Each world is built into ``--storage/WORLD`` (``xlsearch lab build``'s code, in this process,
torch with ``--threads`` threads), then probed with `xlsearch trial` (one process per trial, no
Ray, ``--threads`` threads too) on `search_spaces/lab.yaml`'s data and training, on one seed:

- ``full`` at lr 1e-4 (the quickstart's choice) without intermediate tuning, with 60 steps of
  span corruption (mT5's pretraining objective, the lab's intermediate tuning until now) and
  with 60 steps of ``prefix_lm`` (language modelling: write the rest of a paragraph from its
  start, on the target languages' text);
- ``full`` at lr 1e-4 after a gentler ``prefix_lm`` (``plm60lo``: 60 steps at lr 1e-4);
- ``full`` at 1e-3 (where the study's model answers in the source language), ``freeze_dec_emb``
  at 1e-3, and ``adapters`` (LoRA rank 16) at 1e-3 without and with ``prefix_lm``.

Printed: per world, the build's seconds and held-out loss, and per probe the source ROUGE-L,
the mean target ROUGE-L (de, es, fr, ru), mean target exact match and wrong-language rate.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Shares of the paragraphs per pretraining objective (the rest: span corruption).
WORLDS = {
    "now": {"denoising_share": 0.4, "gap_sentence_share": 0.4},  # the lab until now
    "sc_dn": {"denoising_share": 0.4, "gap_sentence_share": 0.0},
    "sc_gsg": {"denoising_share": 0.0, "gap_sentence_share": 0.4},
    "sc_only": {"denoising_share": 0.0, "gap_sentence_share": 0.0},  # mT5's own pretraining
    "sc_light": {"denoising_share": 0.15, "gap_sentence_share": 0.15},
}


def it_setting(name: str, objective: str, lr: float) -> dict:
    """One intermediate tuning of the probes: 60 steps on 300 texts per target language."""
    return {"objective": objective, "steps": 60, "lr": lr, "batch_size": 16, "max_length": 64,
            "examples_per_language": 300, "name": name}


IT = {name: it_setting(name, objective, lr) for name, objective, lr in
      [("sc60", "span_corruption", 3e-4), ("plm60", "prefix_lm", 3e-4), ("plm60lo", "prefix_lm", 1e-4)]}
PROBES = [("full", 1e-4, "none"), ("full", 1e-4, "sc60"), ("full", 1e-4, "plm60"), ("full", 1e-4, "plm60lo"),
          ("full", 1e-3, "none"),
          ("freeze_dec_emb", 1e-3, "none"), ("adapters", 1e-3, "none"), ("adapters", 1e-3, "plm60")]


def probe_spec(folder: Path) -> Path:
    raw = yaml.safe_load((REPO / "search_spaces" / "lab.yaml").read_text())
    for lang in raw["target_languages"]:
        raw["data"][lang]["unlabeled"] = {"builtin": "lab"}
    raw["search"]["methods"] = {"full": {}, "freeze_dec_emb": {}, "adapters": {"rank": 16}}
    raw["search"]["intermediate_tuning"] = ["none", *IT.values()]
    raw["subsample"]["unlabeled"] = 300
    raw["budget"] = {"max_trials": 100}
    raw["storage"] = str(folder / "runs")
    path = folder / "probe.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_probe(spec: Path, world_dir: Path, method: str, lr: float, it: str, threads: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="probe-", dir=world_dir))
    env = {**os.environ, "XLSEARCH_LAB_DIR": str(world_dir), "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "xlsearch", "trial", str(spec), "--set", f"method={method}", "--set", f"lr={lr}",
               "--set", f"it={it}", "--output", str(out), "--quiet"]
    subprocess.run(command, env=env, check=True, cwd=REPO, capture_output=True, text=True)
    last = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()][-1]
    return {"source": last["source_dev/rougeL"], "target": last["target_mean/rougeL"],
            "em": last["target_mean/exact_match"], "wrong": last["target_mean/wrong_language_rate"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", default=",".join(WORLDS), help=f"of: {', '.join(WORLDS)}")
    parser.add_argument("--storage", default="~/xlsearch_results/lab-worlds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--probes", help="only these, as METHOD:LR:IT[,...] (default: all of PROBES)")
    args = parser.parse_args(argv)
    import torch

    from xlsearch.lab.pretrain import PretrainConfig, build_lab

    torch.set_num_threads(args.threads)
    storage = Path(args.storage).expanduser()
    print("| world | build s | held-out loss | probe | source ROUGE-L | target ROUGE-L | target EM | wrong language |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.worlds.split(","):
        world_dir = storage / name
        meta = world_dir / "meta.json"
        if not meta.is_file():
            build_lab(world_dir, replace(PretrainConfig(), **WORLDS[name]), progress=False, log=lambda _: None)
        record = json.loads(meta.read_text())
        spec = probe_spec(world_dir)
        probes = PROBES if not args.probes else [(m, float(lr), it) for m, lr, it in
                                                 (p.split(":") for p in args.probes.split(","))]
        for method, lr, it in probes:
            found = run_probe(spec, world_dir, method, lr, it, args.threads)
            print(f"| {name} | {record['seconds']:.0f} | {record['heldout_loss']:.2f} | {method} {lr:g} it={it} | "
                  f"{found['source']:.1f} | {found['target']:.1f} | {found['em']:.1f} | {100 * found['wrong']:.0f}% |",
                  flush=True)


if __name__ == "__main__":
    main()
