"""The miniature lab: its world, tokenizer, the lab-mt5 registry entry and a tiny build."""
import math
from dataclasses import replace
from pathlib import Path

import pytest

from xlsearch.lab import LAB_DIR_ENV_VAR, lab_model_dir
from xlsearch.tasks.builtin import lab_world as world
from xlsearch.lab.tokenizer import world_tokenizer
from xlsearch.models import ModelError, Seq2SeqCodec, load_model, resolve_model
from xlsearch.tasks import load_builtin

SPEC = Path(__file__).resolve().parents[1] / "search_spaces" / "lab.yaml"
# A model small enough to pretrain in seconds through the same code path as the real build.
TINY = dict(steps=200, batch_size=32, lr=1e-2, d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=1)


def test_world_is_a_function_of_its_seed():
    world.lab_people.cache_clear()
    first = world.lab_people(7)
    world.lab_people.cache_clear()
    assert world.lab_people(7) == first
    assert world.lab_people(8) != first
    assert world.pretraining_paragraphs(7)[:50] == world.pretraining_paragraphs(7)[:50]


def test_builtin_lab_splits_hold_different_people_and_parallel_facts():
    train = load_builtin("lab", "xlsum", "en", "train")
    dev = load_builtin("lab", "xlsum", "en", "validation")
    assert len(train) == world.SPLIT_SIZES["train"] and len(dev) == world.SPLIT_SIZES["validation"]
    names = lambda examples: {e.targets[0].split()[0] for e in examples}  # noqa: E731
    assert not names(train) & names(dev)
    de = load_builtin("lab", "xlsum", "de", "validation")
    assert de[0].targets[0].split()[0] == dev[0].targets[0].split()[0]  # same person, same name
    assert all(3 <= e.input_text.count(".") <= 5 for e in train)


def test_held_out_summaries_never_appear_in_pretraining_text():
    corpus = " ".join(p for _, p in world.pretraining_paragraphs())
    for lang in world.LAB_LANGUAGES:
        for example in load_builtin("lab", "xlsum", lang, "validation")[:50]:
            assert example.targets[0] not in corpus


def test_fasttext_identifies_every_language_of_the_task():
    from xlsearch.langid import get_identifier

    identifier = get_identifier()
    for lang in world.LAB_LANGUAGES:
        examples = load_builtin("lab", "xlsum", lang, "validation")
        for texts in ([e.input_text for e in examples], [e.targets[0] for e in examples]):
            labels = [label for label, _ in identifier.identify(texts)]
            assert sum(label == lang for label in labels) / len(labels) >= 0.95, lang


def test_tokenizer_round_trips_the_world_after_save_and_load(tmp_path):
    from transformers import AutoTokenizer

    world_tokenizer(world.LAB_SEED).save_pretrained(tmp_path)
    codec = Seq2SeqCodec(AutoTokenizer.from_pretrained(tmp_path), "mt5")
    assert (codec.pad_token_id, codec.eos_token_id, codec.tokenizer.unk_token_id) == (0, 1, 2)
    for lang in world.LAB_LANGUAGES:
        for split in ("train", "validation"):
            examples = load_builtin("lab", "xlsum", lang, split)
            texts = [e.input_text for e in examples] + [e.targets[0] for e in examples]
            ids = codec.encode(texts, lang, max_length=512)
            assert all(codec.tokenizer.unk_token_id not in row for row in ids)
            assert codec.decode(ids) == texts
    summary = load_builtin("lab", "xlsum", "en", "train")[0].targets[0]
    # One token per word and per "."; the name, the city and the instrument in syllable pieces
    # (cognates share some: Copenhagen, Kopenhagen, Copenhague); then </s>.
    assert len(codec.encode([summary], "en", 512)[0]) <= len(summary.split()) + 14
    pieces = {lang: codec.tokenizer.tokenize(city) for lang, city in
              (("en", "Copenhagen"), ("de", "Kopenhagen"), ("fr", "Copenhague"))}
    assert len(set(pieces["en"]) & set(pieces["de"])) >= 3 and len(set(pieces["en"]) & set(pieces["fr"])) >= 3
    # As mT5's tokenizer does, a plain call ends the text with </s> (code written for mT5 relies on
    # it to teach the model to stop); truncation keeps it.
    plain = codec.tokenizer(summary)["input_ids"]
    assert plain == codec.encode([summary], "en", 512)[0]
    assert codec.tokenizer(summary, truncation=True, max_length=4)["input_ids"][-1] == codec.eos_token_id


def test_span_corruption_works_with_the_lab_tokenizer():
    import random

    from xlsearch.lm_objectives import lm_examples

    codec = Seq2SeqCodec(world_tokenizer(world.LAB_SEED), "mt5")
    text = load_builtin("lab", "xlsum", "fr", "train")[0].input_text
    [(inputs, labels)] = lm_examples([text], "fr", codec, "span_corruption", 64, random.Random(0))
    masked, target = codec.decode_keep_sentinels([inputs])[0], codec.decode_keep_sentinels([labels])[0]
    assert "<extra_id_0>" in masked and target.startswith("<extra_id_0>")


def test_pretraining_mixes_three_objectives_and_gap_sentences_pick_the_lead():
    from xlsearch.lab.pretrain import gap_sentence_pairs, pretraining_data

    codec = Seq2SeqCodec(world_tokenizer(world.LAB_SEED), "mt5")
    person = world.split_people("train")[0]
    lead = world.summary_sentence(person, "de")
    paragraph = " ".join([lead, *(world.fact_sentence(person, "de", f) for f in world.FACTS)])
    [(inputs, labels)] = gap_sentence_pairs([paragraph], codec, 96)
    assert codec.decode([labels]) == [lead]  # the lead names the city and the instrument: principal
    assert codec.tokenizer.decode(inputs).startswith("<mask> ")

    texts = [("es", e.input_text) for e in load_builtin("lab", "xlsum", "es", "train")[:10]]
    data = pretraining_data(texts, codec, 96, seed=0, denoising_share=0.4, gap_sentence_share=0.2)["es"]
    mask, sentinel = codec.tokenizer.mask_token_id, codec.tokenizer.convert_tokens_to_ids("<extra_id_0>")
    kinds = [("denoising" if mask in x and len(y) > len(x) - 3 else "gap" if mask in x else
              "span" if sentinel in x else "?") for x, y in zip(data.input_ids, data.labels)]
    assert kinds == ["denoising"] * 4 + ["gap"] * 2 + ["span"] * 4


# The recipe of `xlsearch lab build`, written out: every lab figure in the docs (the quickstart's
# table, the lab's findings, the zero-shot rules' tables) comes from a model built with it, so a
# change of objective mix, size or schedule must show in review beside the figures it changes
# (re-measure them: benchmarks/lab_worlds.py, benchmarks/lab_findings.py, zero_shot_lab.py).
LAB_RECIPE = {"steps": 500, "batch_size": 32, "lr": 1e-3, "d_model": 256, "d_ff": 1024, "d_kv": 64, "num_heads": 4,
              "num_layers": 3, "max_length": 96, "paragraphs_per_person": 2, "denoising_share": 0.4,
              "gap_sentence_share": 0.4, "summary_share": 0.9, "mixed_share": 0.0, "entity_pieces": True, "seed": 0}


def test_the_labs_pretraining_recipe_is_the_one_its_figures_were_measured_with():
    from dataclasses import asdict

    from xlsearch.lab.pretrain import PretrainConfig

    assert asdict(PretrainConfig()) == LAB_RECIPE, (
        "the lab's pretraining recipe changed: re-measure the lab's figures in the docs, then update LAB_RECIPE")


def test_lab_model_resolves_unbuilt_but_loading_says_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv(LAB_DIR_ENV_VAR, str(tmp_path / "nothing"))
    ref = resolve_model("lab-mt5")
    assert (ref.kind, ref.family, ref.location) == ("lab", "mt5", str(tmp_path / "nothing" / "model"))
    with pytest.raises(ModelError, match="xlsearch lab build"):
        load_model("lab-mt5")


def test_lab_spec_validates_without_a_built_lab(tmp_path, monkeypatch, capsys):
    from xlsearch.cli import main

    monkeypatch.setenv(LAB_DIR_ENV_VAR, str(tmp_path / "nothing"))
    assert main(["validate", str(SPEC)]) == 0
    assert "4 trials" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--steps", "0"], "--steps 0"),
    (["--denoising-share", "-0.1"], "--denoising-share -0.1: a share of the paragraphs, from 0 to 1"),
    (["--gap-sentence-share", "nan"], "--gap-sentence-share nan: a share"),
    (["--gap-sentence-share", "0.7"], "--denoising-share 0.4 and --gap-sentence-share 0.7: together at most 1"),
])
def test_lab_build_refuses_a_bad_step_count_or_mix_in_one_line(tmp_path, capsys, args, words):
    from xlsearch.cli import main

    assert main(["lab", "build", "--storage", str(tmp_path / "lab"), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "lab").exists()


def test_lab_build_pretrains_with_the_mix_asked_for(tmp_path, monkeypatch):
    """`--denoising-share 0 --gap-sentence-share 0`: mT5's recipe, span corruption alone."""
    import xlsearch.lab.pretrain as pretrain
    from xlsearch.cli import main

    built = []
    monkeypatch.setattr(pretrain, "build_lab", lambda directory, config, progress: built.append(config))
    assert main(["lab", "build", "--storage", str(tmp_path), "--denoising-share", "0", "--gap-sentence-share", "0"]) == 0
    assert replace(pretrain.PretrainConfig(), denoising_share=0.0, gap_sentence_share=0.0) == built[0]


@pytest.fixture(scope="module")
def tiny_lab(tmp_path_factory):
    from xlsearch.lab.pretrain import PretrainConfig, build_lab

    directory = tmp_path_factory.mktemp("lab")
    record = build_lab(directory, replace(PretrainConfig(), **TINY), progress=False, log=lambda _: None)
    return directory, record


def test_tiny_build_loads_through_the_registry_and_learned_to_fill_spans(tiny_lab, monkeypatch):
    from xlsearch.lab.pretrain import HELDOUT_PARAGRAPHS, pretraining_data, span_corruption_loss

    directory, record = tiny_lab
    monkeypatch.setenv(LAB_DIR_ENV_VAR, str(directory))
    assert (lab_model_dir() / "config.json").is_file()
    model, codec = load_model("lab-mt5")
    assert codec.family == "mt5" and model.config.d_model == TINY["d_model"]
    # The paragraphs the build held out of pretraining, span-corrupted with a new seed, per language.
    held_out = world.pretraining_paragraphs(world.LAB_SEED)[:HELDOUT_PARAGRAPHS]
    chance = math.log(len(codec.tokenizer))
    for lang in world.LAB_LANGUAGES:
        data = pretraining_data([(l, p) for l, p in held_out if l == lang], codec, 96, seed=123)
        loss = span_corruption_loss(model, codec, data)
        assert loss < chance - 2.0, lang  # well below a uniform guess, in every language
        assert loss < record["heldout_loss_initial"] / 2, lang
    assert (directory / "data" / "ru" / "validation.jsonl").is_file()
