"""A real-sized training step on a GPU: xlsearch's step engine against transformers' Seq2SeqTrainer.

For each model (random weights at the published checkpoints' sizes: random-mt5-base = mT5-base,
random-mbart-50 = mBART-large-50, random-nllb-600m = NLLB-200-distilled-600M), on the same
batches (random token ids, --batch examples of --src-len input and --tgt-len label tokens, no
padding), with AdamW, transformers' linear schedule, gradient clipping at 1.0 and bf16 autocast
on every side:

  A  `Seq2SeqTrainer.train()` with its defaults (fused AdamW on torch >= 2.8), the baseline;
  B  xlsearch's `StepEngine`, as a trial, intermediate tuning and the budget calibration run it;
  C  the same engine with torch's default (foreach) AdamW, xlsearch's optimizer before it used
     the fused one on CUDA.

Each side takes --warmup steps, then --steps timed steps (between CUDA synchronisations), and
the order A, B, C is repeated --repeats times; the medians are printed. Model FLOPs per step are
counted by torch's FlopCounterMode on one forward + backward (every matrix product, attention's
included; no recomputation), and MFU is those FLOPs per second over the GPU's dense bf16 peak
(NVIDIA's datasheet figure for H100/H200 SXM, 989 TFLOP/s; --peak-tflops for another GPU) and
over the bf16 matrix-product rate this GPU reaches in the same run (an 8192^3 product).

Then xlsearch's engine alone for each of --methods (the model prepared as a trial prepares it:
frozen parts, LoRA or a prompt through peft): the step times a study's GPU-hours come from.
And for the first model, generation of --gen-examples inputs of mixed lengths: xlsearch's
`generate` (length-sorted batches of --gen-batch) against one input at a time.

    python benchmarks/gpu_step.py [--models random-mt5-base,random-mbart-50,random-nllb-600m]
        [--batch 16] [--src-len 512] [--tgt-len 64] [--steps 20] [--warmup 5] [--repeats 2]

Needs torch, transformers and accelerate (for Seq2SeqTrainer); nothing of Ray or MLflow.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xlsearch.methods import get_method  # noqa: E402
from xlsearch.models import load_model  # noqa: E402
from xlsearch.tasks.base import Example  # noqa: E402
from xlsearch.training.batches import Encoded, training_batches  # noqa: E402
from xlsearch.training.engine import new_engine  # noqa: E402

# Dense bf16 tensor-core peak, TFLOP/s: NVIDIA H100 and H200 SXM datasheets (989.4; the 1979
# figure there is with 2:4 sparsity).
DATASHEET_PEAK = {"H100": 989.4, "H200": 989.4}
LR = 1e-4


def random_data(vocab: int, n: int, src_len: int, tgt_len: int, seed: int = 0) -> Encoded:
    rng = random.Random(seed)
    low = 10  # clear of the special tokens
    return Encoded("xx", [[rng.randrange(low, vocab) for _ in range(src_len)] for _ in range(n)],
                   [[rng.randrange(low, vocab) for _ in range(tgt_len)] for _ in range(n)])


def build(name: str, device: torch.device):
    with torch.device(device):  # initialise on the GPU: seconds instead of minutes on the CPU
        model, codec = load_model(name, seed=0)
    return model.to(device).train(), codec


def flops_per_step(model, batch: dict[str, torch.Tensor], device: torch.device) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    batch = {k: v.to(device) for k, v in batch.items()}
    counter = FlopCounterMode(display=False)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    with counter, autocast:
        model(**batch).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def time_engine(model, data: Encoded, pad_id: int, args, device, fused: bool) -> float:
    """Seconds per step of xlsearch's engine (median of nothing: one timed run)."""
    total = args.warmup + args.steps
    engine = new_engine(model, lr=LR, total_steps=total, warmup_steps=0, device=device, precision="bf16")
    if not fused:  # the optimizer xlsearch used before: torch's default AdamW (foreach)
        engine.optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
        from xlsearch.training.optim import linear_schedule

        engine.schedule = linear_schedule(engine.optimizer, total, 0)
    batches = training_batches({"xx": data}, args.batch, seed=0, pad_id=pad_id)
    engine.run(batches, args.warmup)  # synchronises at its end
    steps = engine.run(batches, args.steps)
    del engine
    return steps.seconds / args.steps


def time_trainer(model, data: Encoded, args, device) -> float:
    """Seconds per step of Seq2SeqTrainer over the timed steps (after the warm-up ones)."""
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback

    marks: dict[int, float] = {}

    class Clock(TrainerCallback):
        def on_step_end(self, targs, state, control, **kwargs):
            if state.global_step in (args.warmup, args.warmup + args.steps):
                sync(device)
                marks[state.global_step] = time.perf_counter()

    rows = [{"input_ids": torch.tensor(x), "attention_mask": torch.ones(len(x), dtype=torch.long),
             "labels": torch.tensor(y)} for x, y in zip(data.input_ids, data.labels)]
    with tempfile.TemporaryDirectory() as out:
        targs = Seq2SeqTrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch, max_steps=args.warmup + args.steps,
            learning_rate=LR, lr_scheduler_type="linear", warmup_steps=0, max_grad_norm=1.0, bf16=device.type == "cuda",
            use_cpu=device.type != "cuda",
            logging_strategy="no", save_strategy="no", report_to=[], dataloader_num_workers=0, seed=0)
        trainer = Seq2SeqTrainer(model=model, args=targs, train_dataset=rows, callbacks=[Clock()])
        trainer.train()
        del trainer
    return (marks[args.warmup + args.steps] - marks[args.warmup]) / args.steps


def matmul_tflops(device) -> float:
    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize(device)
    return 10 * 2 * 8192 ** 3 / (time.perf_counter() - started) / 1e12


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free(device) -> None:
    import gc

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_gib(device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")


def bench_generation(model, codec, args, device) -> dict[str, float]:
    from xlsearch.training.evaluate import generate  # needs the scorers' packages (rouge-score, fasttext)

    rng = random.Random(1)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    examples = [Example(f"g{i}", "de", " ".join(rng.choice(words) for _ in range(rng.randint(5, 120))), ("x",))
                for i in range(args.gen_examples)]
    gen = dict(max_input_length=args.src_len, max_new_tokens=args.gen_tokens, num_beams=1, device=device,
               autocast_dtype=torch.bfloat16 if device.type == "cuda" else None)
    sync(device)
    started = time.perf_counter()
    batched = generate(model, codec, examples, "de", batch_size=args.gen_batch, **gen)
    sync(device)
    t_batched = time.perf_counter() - started
    started = time.perf_counter()
    single = generate(model, codec, examples, "de", batch_size=1, **gen)
    sync(device)
    t_single = time.perf_counter() - started
    same = sum(a == b for a, b in zip(batched.predictions, single.predictions))
    return {"batched_s": t_batched, "one_by_one_s": t_single, "speedup": t_single / t_batched,
            "same_outputs": same, "examples": len(examples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="random-mt5-base,random-mbart-50,random-nllb-600m")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--src-len", type=int, default=512)
    parser.add_argument("--tgt-len", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--methods", default="freeze_dec_emb,adapters,prompt_tuning",
                        help="methods timed on the engine alone after A/B/C (full is B)")
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--gen-examples", type=int, default=64)
    parser.add_argument("--gen-batch", type=int, default=32)
    parser.add_argument("--gen-tokens", type=int, default=32)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (a check of the script, e.g. with "
                        "--models tiny-mt5 --src-len 32 --tgt-len 8; fp32, no MFU)")
    args = parser.parse_args()
    if not args.cpu and not torch.cuda.is_available():
        raise SystemExit("gpu_step.py: no CUDA device here; this benchmark times a GPU step (--cpu to check it)")
    device = torch.device("cpu" if args.cpu else "cuda")
    name = "CPU" if args.cpu else torch.cuda.get_device_name(device)
    peak = args.peak_tflops or next((v for k, v in DATASHEET_PEAK.items() if k in name), None)
    reached = matmul_tflops(device) if device.type == "cuda" else float("nan")
    import transformers

    print(f"{name}; torch {torch.__version__}, transformers {transformers.__version__}; "
          f"batch {args.batch} x ({args.src_len} in + {args.tgt_len} out) tokens, bf16 autocast, "
          f"{args.steps} timed steps after {args.warmup}, {args.repeats} repeats" + (" (fp32 on the CPU)" if args.cpu else ""))
    print(f"bf16 8192^3 matrix product: {reached:.0f} TFLOP/s; datasheet peak: {peak or '?'} TFLOP/s")
    tokens = args.batch * (args.src_len + args.tgt_len)
    results: dict = {"device": name, "torch": torch.__version__, "transformers": transformers.__version__,
                     "matmul_tflops": reached, "peak_tflops": peak, "args": vars(args) | {"json": None}, "models": {}}
    for i, model_name in enumerate(m for m in args.models.split(",") if m):
        model, codec = build(model_name, device)
        params = sum(p.numel() for p in model.parameters())
        data = random_data(model.config.vocab_size, args.batch * (args.warmup + args.steps) * 2,
                           args.src_len, args.tgt_len)
        first = next(training_batches({"xx": data}, args.batch, seed=0, pad_id=codec.pad_token_id))
        flops = flops_per_step(model, first, device)
        init = {k: v.detach().clone() for k, v in model.state_dict().items()}
        secs: dict[str, list[float]] = {"A": [], "B": [], "C": []}
        memory: dict[str, float] = {}
        for _ in range(args.repeats):
            for side in "ABC":
                model.load_state_dict(init)
                free(device)
                if side == "A":
                    secs[side].append(time_trainer(model, data, args, device))
                else:
                    secs[side].append(time_engine(model, data, codec.pad_token_id, args, device, fused=side == "B"))
                memory[side] = peak_memory_gib(device)
        row = {"params": params, "flops_per_step": flops, "memory_gib": memory}
        for side in "ABC":
            s = statistics.median(secs[side])
            row[side] = {"step_s": s, "tokens_per_s": tokens / s, "mfu_datasheet": flops / s / 1e12 / peak if peak else None,
                         "mfu_matmul": flops / s / 1e12 / reached, "runs": secs[side]}
        results["models"][model_name] = row
        print(f"\n{model_name}: {params / 1e6:.0f} M parameters, {flops / 1e12:.2f} TFLOP per step (model FLOPs)")
        labels = {"A": "Seq2SeqTrainer", "B": "xlsearch engine", "C": "engine, foreach AdamW"}
        for side in "ABC":
            r = row[side]
            mfu = f"{100 * r['mfu_datasheet']:.1f}%" if r["mfu_datasheet"] is not None else "?"
            print(f"  {side} {labels[side]:<22} {1000 * r['step_s']:7.1f} ms/step  {r['tokens_per_s']:9.0f} tokens/s  "
                  f"MFU {mfu} of peak, {100 * r['mfu_matmul']:.1f}% of the matrix-product rate  "
                  f"peak memory {memory[side]:.1f} GiB")
        print(f"  tokens/s B/A = {row['A']['step_s'] / row['B']['step_s']:.3f}   "
              f"C/A = {row['A']['step_s'] / row['C']['step_s']:.3f}   B/C = {row['C']['step_s'] / row['B']['step_s']:.3f}")
        row["methods"] = {}
        for method_name in (m for m in args.methods.split(",") if m):
            method = get_method(method_name)
            model.load_state_dict(init)
            free(device)
            prepared = method.prepare_model(model, codec.family, {}).to(device)
            trainable = sum(p.numel() for p in prepared.parameters() if p.requires_grad)
            step_s = time_engine(prepared, data, codec.pad_token_id, args, device, fused=True)
            row["methods"][method_name] = {"step_s": step_s, "trainable": trainable,
                                           "memory_gib": peak_memory_gib(device)}
            print(f"  {method_name:<24} {1000 * step_s:7.1f} ms/step  {tokens / step_s:9.0f} tokens/s  "
                  f"{trainable / 1e6:.1f} M trainable  peak memory {peak_memory_gib(device):.1f} GiB  "
                  f"(full: {1000 * row['B']['step_s']:.1f} ms)")
            if method.uses_peft:  # peft changed the model in place: start the next from a fresh one
                del prepared
                model, codec = build(model_name, device)
            for p in model.parameters():
                p.requires_grad_(True)
        g = None
        if i == 0 and args.gen_examples:
            model.load_state_dict(init)
            try:
                g = bench_generation(model, codec, args, device)
            except ImportError as err:
                print(f"  generation skipped: {err} (install xlsearch's dependencies to time it)")
                g = None
            row["generation"] = g
        if g:
            print(f"  generation of {g['examples']} inputs ({args.gen_tokens} new tokens at most): "
                  f"length-sorted batches of {args.gen_batch} {g['batched_s']:.2f} s, one by one "
                  f"{g['one_by_one_s']:.2f} s: {g['speedup']:.1f}x; {g['same_outputs']} identical outputs")
        del model, init
        free(device)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
