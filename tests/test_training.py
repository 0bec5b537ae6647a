"""The trial loop on tiny models: methods train exactly what they say, losses fall, every
metric key is there for every language, checkpoints load back, intermediate tuning is cached,
divergence ends a trial."""
from __future__ import annotations

import copy
import math

import pytest
import torch

from xlsearch.methods import METHODS, get_method
from xlsearch.methods.freeze_dec_emb import is_encoder_body
from xlsearch.models import load_model
from xlsearch.checks import parse_spec
from xlsearch.tasks import get_task
from xlsearch.tasks.base import DataSource
from xlsearch.training.batches import Encoded, bucketed_batches, encode_examples, pad_batch, training_batches
from xlsearch.training.checkpoint import load_trainable
from xlsearch.training.data import load_trial_data
from xlsearch.training.evaluate import generate
from xlsearch.training.intermediate import ensure_intermediate_checkpoint
from xlsearch.training.loop import run_trial
from xlsearch.training.params import TrialParams



def toy_spec(tmp_path, **overrides):
    raw = {
        "name": "unit",
        "task": "xlsum",
        "model": "tiny-mt5",
        "source_languages": ["en"],
        "target_languages": ["de", "es"],
        "data": {lang: {"train": {"builtin": "toy"}, "dev": {"builtin": "toy"}} for lang in ("en", "de", "es")},
        "subsample": {"train": 64, "dev": 8, "unlabeled": 32},
        "selection": {"few_shot_examples": 0},
        "search": {"lr": [1e-3], "methods": {"full": {}, "prompt_tuning": {"prompt_length": 4},
                                              "adapters": {"rank": 2}, "freeze_dec_emb": {},
                                              "mix_target": {"mix_ratio": 1.0},
                                              "multi_source": {"source_languages": ["en", "de"]}},
                   "intermediate_tuning": ["none", {"steps": 3, "batch_size": 4, "max_length": 64,
                                                    "examples_per_language": 16, "name": "lm3"}]},
        "training": {"steps_per_round": 2, "rounds": 2, "batch_size": 4, "eval_batch_size": 8,
                     "max_input_length": 96, "max_output_length": 12},
        "storage": str(tmp_path / "results"),
    }
    for key, value in overrides.items():
        raw[key] = value
    return parse_spec(raw)


def fixed_batch(spec, codec, lang="en", n=8):
    examples = load_trial_data(spec, [lang], with_unlabeled=False).train[lang][:n]
    enc = encode_examples(examples, lang, codec, 96, 16)
    return pad_batch(enc.input_ids, enc.labels, codec.pad_token_id)


def prepared(family_model: str, method: str, params: dict):
    torch.manual_seed(0)
    model, codec = load_model(family_model)
    return get_method(method).prepare_model(model, codec.family, params), codec


EXPECTED_TRAINABLE = {
    "full": lambda name: True,
    "mix_target": lambda name: True,
    "multi_source": lambda name: True,
    "freeze_dec_emb": lambda name: is_encoder_body(name),
    "prompt_tuning": lambda name: "prompt_encoder" in name,
    "adapters": lambda name: "lora_" in name,
}


@pytest.mark.parametrize("model_name", ["tiny-mt5", "tiny-mbart", "tiny-nllb"])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_one_step_moves_exactly_what_the_method_trains(method, model_name, tmp_path):
    spec = toy_spec(tmp_path, model=model_name)
    model, codec = prepared(model_name, method, {"prompt_tuning": {"prompt_length": 4}, "adapters": {"rank": 2}}.get(method, {}))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    model(**fixed_batch(spec, codec)).loss.backward()
    optimizer.step()
    moved = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}
    should = {n for n, _ in model.named_parameters() if EXPECTED_TRAINABLE[method](n)}
    assert moved, "nothing moved"
    assert moved <= should, f"moved but frozen by {method}: {sorted(moved - should)[:3]}"
    # Every parameter the method trains got a gradient and moved (LoRA's B starts at zero, so
    # its A matrices move only from the second step: allow those).
    unmoved = {n for n in should - moved if not (method == "adapters" and "lora_A" in n)}
    assert not unmoved, f"{method} should train but did not move: {sorted(unmoved)[:3]}"
    if method == "freeze_dec_emb":
        assert not any(n.startswith(("decoder.", "model.decoder.", "lm_head", "shared", "model.shared")) for n in moved)
        assert not any("embed" in n for n in moved)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_loss_falls_on_a_fixed_batch(method, tmp_path):
    spec = toy_spec(tmp_path)
    params = {"prompt_tuning": {"prompt_length": 32}, "adapters": {"rank": 8}}.get(method, {})
    model, codec = prepared("tiny-mt5", method, params)
    # Prompt tuning and LoRA move few weights: they need a larger LR to show progress quickly.
    lr = {"prompt_tuning": 0.3, "adapters": 1e-2}.get(method, 3e-3)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    batch = fixed_batch(spec, codec)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], f"{method}: {losses[0]:.2f} -> {losses[-1]:.2f}"


def test_round_metrics_have_every_key_for_every_language(tmp_path):
    spec = toy_spec(tmp_path)
    history = []
    result = run_trial(spec, TrialParams(lr=1e-3), report=lambda m, c, s: history.append((m, sorted(p.name for p in c.iterdir()), s)),
                       log=lambda _: None)
    assert result.status == "completed" and len(history) == spec.training.rounds
    for metrics, files, samples in history:
        for name in ("source_dev/rouge1", "source_dev/rouge2", "source_dev/rougeL", "source_dev/wrong_language_rate",
                     "train/loss", "train/lr", "round", "target_mean/rougeL", "target_mean/wrong_language_rate"):
            assert name in metrics, name
        for lang in spec.target_languages:
            for name in ("rouge1", "rouge2", "rougeL", "wrong_language_rate", "empty_rate",
                         "undetermined_rate", "rudiment_rate", "lid_n"):
                assert f"target/{lang}/{name}" in metrics, f"target/{lang}/{name}"
            assert metrics[f"target/{lang}/lid_n"] + 0 <= spec.subsample.dev
            assert 0 <= metrics[f"target/{lang}/empty_rate"] <= 1
        assert files == ["trainable.pt", "training_state.pt", "trial.json"]
        assert {s["lang"] for s in samples} == {"en", "de", "es"}
    assert [m["round"] for m, _, _ in history] == [1, 2]


def test_target_languages_are_scored_on_a_fixed_sample_until_the_last_round_which_scores_them_all(tmp_path):
    from xlsearch.training.evaluate import fixed_sample

    spec = toy_spec(tmp_path, training={"steps_per_round": 1, "rounds": 3, "batch_size": 4, "eval_batch_size": 8,
                                        "max_input_length": 96, "max_output_length": 12,
                                        "target_eval_sample": 3, "sample_generations": 8})
    history = []
    run_trial(spec, TrialParams(lr=1e-3), report=lambda m, c, s: history.append((m, s)), log=lambda _: None)
    dev = load_trial_data(spec, ["en", "de", "es"], with_unlabeled=False).dev
    assert len(dev["de"]) == 8
    for number, (metrics, samples) in enumerate(history, start=1):
        last = number == spec.training.rounds
        for lang in spec.target_languages:
            scored = {s["id"] for s in samples if s["lang"] == lang}
            expected = dev[lang] if last else fixed_sample(dev[lang], 3, spec.search.seed)
            assert metrics[f"target/{lang}/examples"] == len(expected), (number, lang)
            assert scored == {ex.id for ex in expected}, (number, lang)
        assert {s["id"] for s in samples if s["lang"] == "en"} == {ex.id for ex in dev["en"]}  # the source: all
    assert fixed_sample(dev["de"], 3, 0) == fixed_sample(dev["de"], 3, 0) != fixed_sample(dev["de"], 3, 1)


@pytest.mark.parametrize("method", ["full", "prompt_tuning", "adapters", "freeze_dec_emb"])
def test_checkpoint_loads_back_to_the_same_outputs(method, tmp_path):
    spec = toy_spec(tmp_path)
    params = TrialParams(lr=3e-3, method=method, method_params={"prompt_tuning": {"prompt_length": 4},
                                                                "adapters": {"rank": 2}}.get(method, {}))
    saved = {}

    def keep(metrics, checkpoint, samples):
        import shutil
        shutil.copytree(checkpoint, tmp_path / "ckpt", dirs_exist_ok=True)
        saved["samples"] = samples

    run_trial(spec, params, report=keep, log=lambda _: None)
    model, codec = prepared("tiny-mt5", method, params.method_params)
    examples = load_trial_data(spec, ["en"], with_unlabeled=False).dev["de"]
    batch = fixed_batch(spec, codec)
    model.eval()
    with torch.no_grad():
        fresh_logits = model(**batch).logits
    load_trainable(model, tmp_path / "ckpt")
    with torch.no_grad():
        restored_logits = model(**batch).logits
    # The checkpoint changed the model, so the comparison below means something.
    assert not torch.allclose(fresh_logits, restored_logits)
    restored = generate(model, codec, examples, "de", max_input_length=96, max_new_tokens=12, batch_size=8).raw
    from_trial = [s["output"] for s in saved["samples"] if s["lang"] == "de"]
    assert len(from_trial) == 5 and restored[: len(from_trial)] == from_trial
    if method in ("prompt_tuning", "adapters"):
        size = (tmp_path / "ckpt" / "trainable.pt").stat().st_size
        assert size < 0.1 * sum(p.numel() * 4 for p in model.parameters())


def test_intermediate_tuning_is_computed_once(tmp_path):
    spec = toy_spec(tmp_path)
    first = ensure_intermediate_checkpoint(spec, "lm3", log=lambda _: None)
    second = ensure_intermediate_checkpoint(spec, "lm3", log=lambda _: None)
    assert first.trained and not second.trained
    assert first.path == second.path and (first.path / "config.json").is_file()
    # The tuned weights differ from the base model's, and load like any model directory.
    base, _ = load_model("tiny-mt5")
    tuned, codec = load_model("tiny-mt5", checkpoint=first.path)
    assert codec.family == "mt5"
    assert any(not torch.equal(a, b) for a, b in zip(base.state_dict().values(), tuned.state_dict().values()))
    # Another setting (more steps) is another cache entry.
    other = copy.deepcopy(spec.model_dump())
    other["search"]["intermediate_tuning"][1]["steps"] = 4
    spec2 = parse_spec({k: v for k, v in other.items()}, base_dir=spec.base_dir)
    assert ensure_intermediate_checkpoint(spec2, "lm3", log=lambda _: None).path != first.path


def test_trial_with_intermediate_tuning_and_mix_target_runs(tmp_path):
    spec = toy_spec(tmp_path)
    params = TrialParams(lr=1e-3, method="mix_target", method_params={"mix_ratio": 1.0}, intermediate_tuning="lm3")
    result = run_trial(spec, params, log=lambda _: None)
    assert result.status == "completed"
    assert all(math.isfinite(m["train/loss"]) for m in result.history)


def test_multi_source_trains_on_every_listed_language(tmp_path):
    spec = toy_spec(tmp_path)
    method = get_method("multi_source")
    langs = method.training_languages({"source_languages": ["en", "de"]}, spec.source_languages)
    data = load_trial_data(spec, langs, with_unlabeled=False)
    _, codec = load_model("tiny-mt5")
    enc = {lang: encode_examples(data.train[lang], lang, codec, 96, 12) for lang in langs}
    first = next(training_batches(enc, 8, seed=0, pad_id=codec.pad_token_id))
    en_inputs = {tuple(x) for x in enc["en"].input_ids}
    rows = [tuple(r[r != codec.pad_token_id].tolist()) for r in first["input_ids"]]
    assert sum(r in en_inputs for r in rows) == 4  # balanced: half English, half German


def test_divergence_ends_the_trial_with_a_status(tmp_path):
    spec = toy_spec(tmp_path)
    reports = []
    result = run_trial(spec, TrialParams(lr=1e12), report=lambda m, c, s: reports.append(m), log=lambda _: None)
    assert result.status == "diverged"
    assert reports[-1]["diverged"] == 1 and reports[-1]["source_dev/rougeL"] == 0.0
    assert len(reports) == 1  # nothing trained on garbage after it


def test_resume_continues_where_the_checkpoint_stopped(tmp_path):
    spec = toy_spec(tmp_path)
    full_run = run_trial(spec, TrialParams(lr=1e-3), log=lambda _: None)
    import shutil
    kept = tmp_path / "round1"

    def keep_first(metrics, checkpoint, samples):
        if metrics["round"] == 1:
            shutil.copytree(checkpoint, kept)

    run_trial(spec, TrialParams(lr=1e-3), report=keep_first, log=lambda _: None)
    resumed = run_trial(spec, TrialParams(lr=1e-3), resume_from=kept, log=lambda _: None)
    assert [m["round"] for m in resumed.history] == [2]
    assert resumed.history[0]["train/loss"] == pytest.approx(full_run.history[1]["train/loss"], rel=1e-4)
    assert resumed.history[0]["source_dev/rougeL"] == pytest.approx(full_run.history[1]["source_dev/rougeL"])


@pytest.mark.parametrize("model_name,token", [("tiny-mbart", "de_DE"), ("tiny-nllb", "deu_Latn")])
def test_generation_starts_with_the_target_language_token(model_name, token):
    model, codec = load_model(model_name)
    examples = get_task("xlsum").load(DataSource(builtin="toy", split="validation"), "de", limit=3)
    inputs = pad_batch(codec.encode([e.input_text for e in examples], "de", 64), None, codec.pad_token_id)
    out = model.generate(**inputs, max_new_tokens=4, forced_bos_token_id=codec.forced_bos_token_id("de"))
    # Decoding starts from </s>, then the forced language token: the model writes German.
    assert out[:, 0].tolist() == [codec.eos_token_id] * 3
    assert out[:, 1].tolist() == [codec.tokenizer.convert_tokens_to_ids(token)] * 3
    g = generate(model, codec, examples, "de", max_input_length=64, max_new_tokens=4, batch_size=2)
    assert len(g.predictions) == 3 and token not in " ".join(g.raw)  # language tokens never leak into text


def test_adafactor_and_gradient_accumulation_train(tmp_path):
    spec = toy_spec(tmp_path, training={"steps_per_round": 3, "rounds": 1, "batch_size": 2, "grad_accum": 2,
                                         "optimizer": "adafactor", "eval_batch_size": 8,
                                         "max_input_length": 96, "max_output_length": 12})
    result = run_trial(spec, TrialParams(lr=1e-3), log=lambda _: None)
    assert result.status == "completed" and math.isfinite(result.history[0]["train/loss"])


def test_bucketed_batches_cover_every_example_once_per_epoch_with_less_padding():
    import random

    rng = random.Random(0)
    # Each example's first input token is its own number, so the epoch can be checked item by item.
    sizes = {"de": 300, "en": 340}
    offsets = {"de": 1, "en": 1 + sizes["de"]}
    data = {lang: Encoded(lang, [[offsets[lang] + i] + [5] * rng.randint(2, 90) for i in range(n)],
                          [[7] * rng.randint(2, 30) for _ in range(n)]) for lang, n in sizes.items()}
    stream = bucketed_batches(data, 16, seed=1, pad_id=0, pool_batches=8)
    epoch = [next(stream) for _ in range(640 // 16)]  # 5 pools of 8 full batches
    seen = sorted(int(x) for b in epoch for x in b["input_ids"][:, 0])
    assert seen == list(range(1, 1 + sum(sizes.values())))  # every example exactly once
    padded = sum(b["input_ids"].numel() for b in epoch)
    random_batches = training_batches(data, 16, seed=1, pad_id=0)
    random_padded = sum(next(random_batches)["input_ids"].numel() for _ in range(len(epoch)))
    assert padded < 0.8 * random_padded


def test_a_pivot_language_a_trial_trains_on_is_no_pivot_for_it(tmp_path):
    """multi_source trained on French has no French pivot score (it would be its own dev score);
    full finetuning on English has one."""
    data = {lang: {"train": {"builtin": "toy"}, "dev": {"builtin": "toy"}} for lang in ("en", "de", "es", "fr")}
    spec = toy_spec(tmp_path, data=data, pivot_languages=["fr"])
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"rounds": 1})})
    full = run_trial(spec, TrialParams(lr=1e-3), log=lambda _: None).history[-1]
    multi = run_trial(spec, TrialParams(lr=1e-3, method="multi_source", method_params={"source_languages": ["en", "fr"]}),
                      log=lambda _: None).history[-1]
    assert "pivot/fr/rougeL" in full and "pivot_mean/rougeL" in full
    assert not any(k.startswith("pivot") for k in multi)
