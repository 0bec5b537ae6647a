"""The study's findings, read off a finished `search_spaces/lab_full.yaml` sweep (every
configuration over its seeds): one markdown row per finding, with mean ± sd over the seeds.

    python benchmarks/lab_findings.py ~/xlsearch_results/lab-full

Each configuration is compared by its mean over the seeds (xlsearch.selection.comparable); a
method's LR is the one the zero-shot rule (source dev score) picks in its group, as a user
without target labels would pick it. The verdicts are printed beside the numbers for a reader to
check, not decided by a threshold: a difference smaller than the seeds' spread is marked so.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.frame import load_sweep  # noqa: E402
from xlsearch import keys  # noqa: E402
from xlsearch.report import row_mean_sd as cell  # noqa: E402
from xlsearch.selection import comparable  # noqa: E402


def findings(sweep_dir: str) -> list[list[str]]:
    rows = comparable(load_sweep(sweep_dir))
    rows = rows[rows[keys.DIVERGED] == 0]
    objective = next(c for c in rows.columns if c.startswith("source_dev/") and c.endswith("rougeL"))
    score, wrong = keys.target_mean("rougeL"), keys.target_mean(keys.WRONG_LANGUAGE_RATE)
    no_es = [keys.target(lang, "rougeL") for lang in ("de", "fr", "ru")]
    rows = rows.assign(_no_es=rows[no_es].mean(axis=1))

    def group(method: str, it: str):
        return rows[(rows["method"] == method) & (rows["intermediate_tuning"] == it)].sort_values("lr")

    def chosen(method: str, it: str):
        g = group(method, it)
        return g.sort_values([objective, "lr"], ascending=[False, True]).iloc[0]

    def spread_note(a, b, column: str) -> str:
        diff = a[column] - b[column]
        sds = [x.get(keys.SD_PREFIX + column, math.nan) for x in (a, b)]
        sd = max(s for s in sds if not math.isnan(s)) if any(not math.isnan(s) for s in sds) else math.nan
        return f"{diff:+.1f}" + (" (within the seeds' spread)" if not math.isnan(sd) and abs(diff) <= sd else "")

    its = sorted(rows["intermediate_tuning"].unique(), key=lambda v: v != "none")
    it_on = next((v for v in its if v != "none"), None)
    out = []
    # 1. LR -> wrong language, full finetuning.
    full = group("full", "none")
    out.append(["a high LR makes full finetuning answer in the wrong language",
                "; ".join(f"lr {r['lr']:.0e}: {cell(r, wrong, 100)}% wrong" for _, r in full.iterrows())])
    # 2. Intermediate tuning, each method at its chosen LR.
    if it_on:
        parts = []
        for method in sorted(rows["method"].unique()):
            a, b = chosen(method, it_on), chosen(method, "none")
            parts.append(f"{method}: {cell(b, score)} -> {cell(a, score)} ({spread_note(a, b, score)})")
        out.append([f"intermediate tuning ({it_on}) helps (target ROUGE-L, none -> with, each at its chosen LR)",
                    "; ".join(parts)])
    # 3. Tuned full finetuning against the other methods (no intermediate tuning, chosen LRs).
    base = chosen("full", "none")
    parts = [f"full (lr {base['lr']:.0e}): {cell(base, score)}"]
    for method in sorted(m for m in rows["method"].unique() if m != "full"):
        other = chosen(method, "none")
        parts.append(f"{method} (lr {other['lr']:.0e}): {cell(other, score)} ({spread_note(other, base, score)})")
    out.append(["full finetuning with a tuned LR is a strong baseline (target ROUGE-L, chosen LRs)", "; ".join(parts)])
    # 4. Freezing the decoder and embeddings, at the highest LR.
    top = rows["lr"].where(rows["method"] == "full").max()
    f_hi, d_hi = group("full", "none"), group("freeze_dec_emb", "none")
    f_hi, d_hi = f_hi[f_hi["lr"] == top].iloc[0], d_hi[d_hi["lr"] == top].iloc[0]
    out.append([f"freezing decoder and embeddings keeps the language (lr {top:.0e})",
                f"full {cell(f_hi, wrong, 100)}% wrong, ROUGE-L {cell(f_hi, score)}; freeze_dec_emb "
                f"{cell(d_hi, wrong, 100)}% wrong, ROUGE-L {cell(d_hi, score)}"])
    # 5. Multiple source languages (Spanish becomes a source: compared on de, fr, ru).
    if "multi_source" in set(rows["method"]):
        m, f = chosen("multi_source", "none"), chosen("full", "none")
        out.append(["a second source language (en+es) helps (mean ROUGE-L on de, fr, ru)",
                    f"full {f['_no_es']:.1f}, multi_source {m['_no_es']:.1f} ({m['_no_es'] - f['_no_es']:+.1f})"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir")
    args = parser.parse_args()
    print("| finding (study) | the lab, mean ± sd over seeds |")
    print("| --- | --- |")
    for finding, figures in findings(args.sweep_dir):
        print(f"| {finding} | {figures} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
