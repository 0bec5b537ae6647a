"""The hand-wired way: Ray Tune around Hugging Face's Seq2SeqTrainer, as a user writes it without xlsearch.

One Ray Tune function trainable per grid point (learning rate x method x intermediate tuning).
Each trial loads the model, runs its intermediate tuning itself (span corruption on unlabeled
target-language text: redone in every trial that asks for it), applies the method (full
finetuning, the decoder and embeddings frozen, or LoRA through peft), finetunes with
Seq2SeqTrainer, then evaluates once at the end: greedy generation on each language's dev set,
ROUGE-L from rouge-score. No early stopping, no checkpoints. The trial reports its scores to
Tune; the pick is the trial with the best source-language dev ROUGE-L.

The job (model, data files, grid, settings) comes from a JSON file that
``benchmarks/end_to_end.py`` writes from an xlsearch spec, so that both ways run the same job:

    python benchmarks/handwired.py JOB.json [--out RESULTS.json]

It imports nothing from xlsearch: the span-corrupted examples are in the job's files, made by
the driver with xlsearch's span corruption so that both ways train the same objective.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def trial(config: dict, job: dict) -> None:
    import torch
    from ray import tune
    from rouge_score import rouge_scorer
    from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, DataCollatorForSeq2Seq, Seq2SeqTrainer,
                              Seq2SeqTrainingArguments, set_seed)

    started = time.time()
    torch.set_num_threads(job["threads"])
    set_seed(job["seed"])
    tokenizer = AutoTokenizer.from_pretrained(job["model"])
    model = AutoModelForSeq2SeqLM.from_pretrained(job["model"])
    collator = DataCollatorForSeq2Seq(tokenizer, model=model)
    out_dir = f"/tmp/handwired-{os.getpid()}"

    def args(**kw):
        return Seq2SeqTrainingArguments(output_dir=out_dir, report_to=[], save_strategy="no", logging_strategy="no",
                                        disable_tqdm=True, dataloader_num_workers=0, seed=job["seed"],
                                        use_cpu=not torch.cuda.is_available(), **kw)

    # Intermediate tuning: span corruption on target-language text, in this trial.
    it = job["intermediate_tuning"].get(config["it"])
    if it is not None:
        pairs = [{"input_ids": r["input_ids"], "labels": r["labels"]} for r in read_jsonl(it["file"])]
        Seq2SeqTrainer(model=model, args=args(max_steps=it["steps"], learning_rate=it["lr"],
                                              per_device_train_batch_size=it["batch_size"],
                                              warmup_steps=max(1, it["steps"] // 10), lr_scheduler_type="linear"),
                       train_dataset=pairs, data_collator=collator).train()

    # The method.
    if config["method"] == "freeze_dec_emb":
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("encoder.") and "embed" not in name
    elif config["method"] == "adapters":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=8, lora_alpha=16,
                                                 lora_dropout=0.05, target_modules=job["lora_targets"]))
    elif config["method"] != "full":
        raise ValueError(f"the hand-wired baseline has no method {config['method']!r}")

    # Finetuning on the source language.
    def tokenize(rows):
        return [{"input_ids": tokenizer(r["input"], truncation=True, max_length=job["max_input_length"])["input_ids"],
                 "labels": tokenizer(r["target"], truncation=True, max_length=job["max_output_length"])["input_ids"]}
                for r in rows]

    train = tokenize(read_jsonl(job["train"]))
    Seq2SeqTrainer(model=model, args=args(max_steps=job["steps"], learning_rate=config["lr"],
                                          per_device_train_batch_size=job["batch_size"],
                                          warmup_steps=int(job["warmup_ratio"] * job["steps"]),
                                          lr_scheduler_type="linear",
                                          max_grad_norm=1.0, weight_decay=0.0),
                   train_dataset=train, data_collator=collator).train()
    trained = time.time()

    # One evaluation at the end: every language's dev set.
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    model.eval()
    scores = {}
    for lang, path in job["dev"].items():
        rows = read_jsonl(path)
        predictions = []
        for i in range(0, len(rows), job["eval_batch_size"]):
            batch = tokenizer([r["input"] for r in rows[i:i + job["eval_batch_size"]]], truncation=True,
                              max_length=job["max_input_length"], padding=True, return_tensors="pt")
            with torch.no_grad():
                out = model.generate(**batch, max_new_tokens=job["max_output_length"], num_beams=1, do_sample=False)
            predictions += tokenizer.batch_decode(out, skip_special_tokens=True)
        scores[lang] = 100 * sum(scorer.score(r["target"], p)["rougeL"].fmeasure
                                 for r, p in zip(rows, predictions)) / len(rows)
    source = job["source_languages"]
    targets = [lang for lang in scores if lang not in source]
    tune.report({"source_rougeL": sum(scores[lang] for lang in source) / len(source),
                 "target_mean_rougeL": sum(scores[lang] for lang in targets) / max(1, len(targets)),
                 **{f"rougeL_{lang}": s for lang, s in scores.items()},
                 "train_s": trained - started, "eval_s": time.time() - trained})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    cli = parser.parse_args()
    job = json.loads(cli.job.read_text())

    import ray
    from ray import tune

    ray.init(num_cpus=job["num_cpus"], include_dashboard=False)
    space = {"lr": tune.grid_search(job["grid"]["lr"]), "method": tune.grid_search(job["grid"]["method"]),
             "it": tune.grid_search(job["grid"]["it"])}
    tuner = tune.Tuner(tune.with_resources(tune.with_parameters(trial, job=job), {"cpu": job["threads"]}),
                       param_space=space,
                       tune_config=tune.TuneConfig(metric="source_rougeL", mode="max", num_samples=1),
                       run_config=tune.RunConfig(storage_path=job["storage"], name="handwired", verbose=0))
    results = tuner.fit()
    failed = [r for r in results if r.error is not None]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(results)} trials failed; the first: {failed[0].error}")
    best = results.get_best_result()
    rows = [{"config": r.config, "metrics": {k: v for k, v in r.metrics.items()
                                             if k.startswith(("source_", "target_", "rougeL_", "train_s", "eval_s"))}}
            for r in results]
    summary = {"best": {"config": best.config, "metrics": rows[[r.config for r in results].index(best.config)]["metrics"]},
               "trials": rows, "errors": sum(r.error is not None for r in results)}
    print(json.dumps(summary["best"]))
    if cli.out:
        cli.out.write_text(json.dumps(summary, indent=1))
    ray.shutdown()


if __name__ == "__main__":
    main()
