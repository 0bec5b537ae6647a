"""Tasks load real data (the shipped slices, the optional XL-Sum samples) and the builtin toy data
into Examples, and fail clearly."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from xlsearch.languages import UnknownLanguageError
from xlsearch.tasks import TASKS, DataError, DataSource, Example, get_task
from xlsearch.tasks.builtin.toy import TOY_LANGUAGES, TOY_LEXICON, TOY_SIZE, TOY_SPLITS
from shared_data import TEST_DATA, XLSUM_NOT_SHIPPED, shared

XQUAD = TEST_DATA / "xquad"
SQUAD_TRAIN = TEST_DATA / "squad" / "squad_v1.1_en_train_sample.json"

qa = get_task("xquad")
xlsum = get_task("xlsum")


def squad_qas(path: Path) -> list[tuple[str, dict]]:
    """(context, qa) for every question of a SQuAD-format file, read with the json module."""
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [(p["context"], q) for a in articles for p in a["paragraphs"] for q in p["qas"]]


# --- registry -----------------------------------------------------------------------------

def test_registry_names_and_objectives():
    assert set(TASKS) == {"xlsum", "xquad"}
    assert get_task("xlsum").objective_metric == "rougeL"
    assert get_task("xquad").objective_metric == "f1"
    for task in TASKS.values():
        assert task.objective_metric in task.metric_names


def test_unknown_task_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown task 'squad'.*xlsum, xquad"):
        get_task("squad")


# --- XQuAD / SQuAD ------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["de", "zh"])
def test_xquad_file_gives_one_example_per_question(lang):
    path = XQUAD / f"xquad.{lang}.json"
    qas = squad_qas(path)
    examples = qa.load(DataSource(path=str(path)), lang)
    assert len(examples) == len(qas) == 59
    context, first = qas[0]
    ex = examples[0]
    assert ex.id == first["id"] and ex.lang == lang
    assert ex.input_text == f"question: {first['question']} context: {context}"
    assert ex.targets == tuple(dict.fromkeys(a["text"] for a in first["answers"]))
    # Every example keeps all distinct answers of its question, first answer first.
    by_id = {q["id"]: q for _, q in qas}
    for ex in examples:
        answers = [a["text"] for a in by_id[ex.id]["answers"]]
        assert ex.targets[0] == answers[0] and set(ex.targets) == set(answers)
        assert len(ex.targets) == len(set(ex.targets))


def test_duplicate_answers_are_kept_once_in_order(tmp_path):
    # The XQuAD/SQuAD files here have one answer per question; SQuAD dev-style files have several.
    answers = [{"text": t, "answer_start": 0} for t in ["Wien", "in Wien", "Wien"]]
    doc = {"data": [{"title": "T", "paragraphs": [
        {"context": "Saru wohnt in Wien.", "qas": [{"id": "q1", "question": "Wo wohnt Saru?", "answers": answers}]},
    ]}]}
    path = tmp_path / "multi.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    (ex,) = qa.load(DataSource(path=str(path)), "de")
    assert ex == Example("q1", "de", "question: Wo wohnt Saru? context: Saru wohnt in Wien.", ("Wien", "in Wien"))


def test_subsample_is_seeded_and_nested():
    source = DataSource(path=str(SQUAD_TRAIN))
    a = qa.load(source, "en", limit=50, seed=0)
    b = qa.load(source, "en", limit=50, seed=0)
    c = qa.load(source, "en", limit=50, seed=1)
    assert len(a) == 50 and a == b
    assert [ex.id for ex in a] != [ex.id for ex in c]
    # A larger sample with the same seed contains the smaller one.
    assert {ex.id for ex in a} <= {ex.id for ex in qa.load(source, "en", limit=200, seed=0)}
    everything = qa.load(source, "en")
    assert len(everything) == len(squad_qas(SQUAD_TRAIN)) == 245
    assert qa.load(source, "en", limit=10_000, seed=3) == everything
    # The subsample keeps file order.
    position = {ex.id: i for i, ex in enumerate(everything)}
    assert [position[ex.id] for ex in a] == sorted(position[ex.id] for ex in a)


def test_unlabeled_text_drops_markers_and_answer():
    ex = Example("q1", "de", "question: Wo wohnt Saru? context: Saru wohnt in Wien.", ("Wien",))
    assert qa.unlabeled_text(ex) == "Wo wohnt Saru?\nSaru wohnt in Wien."
    article = Example("a1", "id", "Artikel teks.", ("Ringkasan.",))
    assert xlsum.unlabeled_text(article) == "Artikel teks."


# --- XL-Sum -------------------------------------------------------------------------------

@pytest.mark.parametrize("lang,count", [("id", 100), ("ta", 100), ("tl", 100), ("en", 300)])
def test_xlsum_jsonl_maps_text_and_summary(lang, count):
    path = shared("xlsum", XLSUM_NOT_SHIPPED) / f"{lang}_test.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    examples = xlsum.load(DataSource(path=str(path)), lang)
    assert len(examples) == len(rows) == count
    for ex, row in zip(examples, rows):
        assert ex == Example(id=str(row["id"]), lang=lang, input_text=row["text"], targets=(row["summary"],))


# --- builtin toy data ---------------------------------------------------------------------

def test_toy_lexicon_lists_are_parallel():
    for key in ("cities", "instruments", "pets"):
        assert len({len(block[key]) for block in TOY_LEXICON.values()}) == 1, key


@pytest.mark.parametrize("lang", TOY_LANGUAGES)
def test_toy_qa_answer_is_in_context(lang):
    examples = qa.load(DataSource(builtin="toy", split="train"), lang)
    assert len(examples) == TOY_SIZE
    assert len({ex.id for ex in examples}) == TOY_SIZE
    for ex in examples:
        assert ex.input_text.startswith("question: ") and ex.lang == lang
        context = ex.input_text.split(" context: ", 1)[1]
        for target in ex.targets:
            assert target and target in context


@pytest.mark.parametrize("lang", TOY_LANGUAGES)
def test_toy_summaries_name_the_city(lang):
    examples = xlsum.load(DataSource(builtin="toy", split="train"), lang)
    assert len(examples) == TOY_SIZE
    for ex in examples:
        (summary,) = ex.targets
        assert summary and summary != ex.input_text
        name = ex.input_text.split(" ", 1)[0]
        assert summary.startswith(name)


def test_toy_examples():
    en = qa.load(DataSource(builtin="toy", split="train"), "en")
    de = qa.load(DataSource(builtin="toy", split="train"), "de")
    # Parallel: same people, questions and ids, in different words.
    assert [ex.id for ex in en] == [ex.id for ex in de]
    assert sum(a.input_text != b.input_text for a, b in zip(en, de)) == TOY_SIZE
    by_city = [ex for ex in en if ex.input_text.startswith("question: Where does")]
    assert by_city, "some questions ask for the city"
    ex = by_city[0]
    name = ex.input_text.removeprefix("question: Where does ").split(" ", 1)[0]
    assert f"{name} lives in {ex.targets[0]}." in ex.input_text
    de_ex = de[en.index(ex)]
    assert de_ex.input_text.startswith(f"question: Wo wohnt {name}?")
    # The bare noun is the training target; the phrase the article uses is accepted as well.
    instrument_questions = [ex for ex in en if "What instrument does" in ex.input_text]
    assert instrument_questions
    assert all(ex.targets == (ex.targets[0], "the " + ex.targets[0]) for ex in instrument_questions)


def test_toy_is_deterministic_and_splits_are_disjoint():
    names = {}
    for split in TOY_SPLITS:
        first = xlsum.load(DataSource(builtin="toy", split=split), "fr")
        assert first == xlsum.load(DataSource(builtin="toy", split=split), "fr")
        names[split] = {ex.input_text.split(" ", 1)[0] for ex in first}
        assert len(names[split]) == TOY_SIZE
    assert not names["train"] & names["validation"]
    assert not names["train"] & names["test"]
    sample = xlsum.load(DataSource(builtin="toy", split="train"), "es", limit=20, seed=5)
    assert sample == xlsum.load(DataSource(builtin="toy", split="train"), "es", limit=20, seed=5)
    assert sample != xlsum.load(DataSource(builtin="toy", split="train"), "es", limit=20, seed=6)


def test_toy_default_split_is_the_task_default():
    assert qa.load(DataSource(builtin="toy"), "en")[0].id == "toy-validation-0"
    assert xlsum.load(DataSource(builtin="toy"), "en")[0].id == "toy-test-0"


def test_toy_rejects_unknown_language_split_and_name():
    with pytest.raises(DataError, match=r"no language 'zh'.*en, de"):
        qa.load(DataSource(builtin="toy"), "zh")
    with pytest.raises(DataError, match=r"no split 'dev'.*train, validation, test"):
        qa.load(DataSource(builtin="toy", split="dev"), "en")
    with pytest.raises(DataError, match=r"unknown builtin dataset 'tiny'.*toy"):
        qa.load(DataSource(builtin="tiny"), "en")


# --- errors -------------------------------------------------------------------------------

def test_data_source_needs_exactly_one_origin():
    with pytest.raises(ValueError, match="exactly one of path, hub, builtin.*'path', 'hub'"):
        DataSource(path="a.json", hub="google/xquad")
    with pytest.raises(ValueError, match="exactly one of path, hub, builtin; got none"):
        DataSource()
    with pytest.raises(ValueError, match="config='xquad.de' applies only to a hub dataset"):
        DataSource(path="a.json", config="xquad.de")
    assert DataSource(hub="google/xquad", config="xquad.de", split="validation").config == "xquad.de"


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(DataError, match=f"data file {missing} does not exist"):
        xlsum.load(DataSource(path=str(missing)), "en")
    with pytest.raises(DataError, match="nope.jsonl does not exist"):
        qa.load(DataSource(path=str(missing)), "en")


def test_jsonl_without_summary_names_the_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "text": "An article."}\n{"id": "2", "text": "Another."}\n')
    with pytest.raises(DataError, match=r"bad.jsonl: row 0 has no 'summary'"):
        xlsum.load(DataSource(path=str(path)), "en")


def test_squad_file_without_answers_names_the_field(tmp_path):
    path = tmp_path / "bad.json"
    doc = {"data": [{"title": "T", "paragraphs": [{"context": "C.", "qas": [{"id": "x", "question": "Q?"}]}]}]}
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"bad.json: row 0 has no 'answers'"):
        qa.load(DataSource(path=str(path)), "en")


def test_unreadable_file_says_what_was_expected(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text("not json at all")
    with pytest.raises(DataError, match=r"notes.json could not be read as a JSON object with a list 'data'"):
        qa.load(DataSource(path=str(path)), "en")


def test_unknown_language_stops_before_reading():
    with pytest.raises(UnknownLanguageError, match="unknown language 'xx'"):
        qa.load(DataSource(path="/does/not/matter.json"), "xx")


def test_hub_language_without_config_is_explained():
    with pytest.raises(DataError, match=r"XL-Sum has no configuration for language 'tl'"):
        xlsum.load(DataSource(hub="csebuetnlp/xlsum"), "tl")
    with pytest.raises(DataError, match=r"XQuAD has no language 'fr'"):
        qa.load(DataSource(hub="google/xquad"), "fr")


def test_hub_offline_error_suggests_a_local_path(monkeypatch, tmp_path):
    import datasets
    import huggingface_hub

    # datasets reads these at import time, so the module attributes are patched as well.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    # An empty cache: a copy cached earlier would otherwise be used offline.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))
    with pytest.raises(DataError) as err:
        qa.load(DataSource(hub="google/xquad"), "de")
    message = str(err.value)
    assert "hub dataset 'google/xquad' (config 'xquad.de', split 'validation') could not be loaded" in message
    assert "give a local `path:`" in message
    assert "\n" not in message


# --- scoring ------------------------------------------------------------------------------

def test_score_delegates_to_the_metrics():
    pytest.importorskip("xlsearch.metrics")
    examples = [
        Example("1", "en", "question: Where? context: In Paris.", ("Paris", "in Paris")),
        Example("2", "en", "question: Who? context: Ada did.", ("Ada",)),
    ]
    scores = qa.score(["in Paris", "Bob"], examples)
    assert set(scores) == set(qa.metric_names)
    assert scores == {"f1": 50.0, "exact_match": 50.0}

    summaries = [Example("1", "en", "article", ("the cat sat on the mat",))]
    rouge = xlsum.score(["the cat sat on the mat"], summaries)
    assert set(rouge) == set(xlsum.metric_names)
    assert rouge["rougeL"] == pytest.approx(100.0)
    assert xlsum.score(["dogs bark"], summaries)["rouge1"] == 0.0


def test_score_refuses_mixed_languages():
    examples = [Example("1", "en", "a", ("x",)), Example("2", "de", "b", ("y",))]
    with pytest.raises(ValueError, match="one language; got de, en"):
        qa.score(["x", "y"], examples)
