"""The shipped XQuAD/SQuAD slices in tests/data: well formed, parallel, licensed, and (when the
full files are at hand) exactly what make_slices.py cuts from them."""
import importlib.util
import json

import pytest

from shared_data import TEST_DATA, shared

XQUAD_LANGUAGES = ["ar", "de", "en", "es", "ru", "zh"]
SQUAD_FILES = ["squad_v1.1_en_train_sample.json", "squad_v1.1_en_val_sample.json"]
SHIPPED = [f"xquad/xquad.{lang}.json" for lang in XQUAD_LANGUAGES] + [f"squad/{name}" for name in SQUAD_FILES]


def read(path):
    return json.loads(path.read_text(encoding="utf-8"))


def qas(document):
    return [(p["context"], q) for a in document["data"] for p in a["paragraphs"] for q in p["qas"]]


def load_make_slices():
    spec = importlib.util.spec_from_file_location("make_slices", TEST_DATA / "make_slices.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SHIPPED)
def test_slice_is_squad_v1_1_with_answers_in_context(name):
    document = read(TEST_DATA / name)
    assert document["version"] == "1.1"
    for context, qa in qas(document):
        assert qa["id"] and qa["question"] and qa["answers"]
        for answer in qa["answers"]:
            start = answer["answer_start"]
            assert context[start:start + len(answer["text"])] == answer["text"], qa["id"]


def test_xquad_slices_are_parallel():
    ids = {lang: [qa["id"] for _, qa in qas(read(TEST_DATA / "xquad" / f"xquad.{lang}.json"))]
           for lang in XQUAD_LANGUAGES}
    assert len(ids["en"]) == 59 and len(set(ids["en"])) == 59
    assert all(ids[lang] == ids["en"] for lang in XQUAD_LANGUAGES)


def test_squad_train_and_val_share_no_paragraph_and_nothing_with_xquad():
    train, val = ({context for context, _ in qas(read(TEST_DATA / "squad" / name))} for name in SQUAD_FILES)
    assert train and val and not train & val
    squad_ids = {qa["id"] for name in SQUAD_FILES for _, qa in qas(read(TEST_DATA / "squad" / name))}
    assert not squad_ids & {qa["id"] for _, qa in qas(read(TEST_DATA / "xquad" / "xquad.en.json"))}


@pytest.mark.parametrize("folder", ["xquad", "squad"])
def test_each_folder_says_where_its_data_came_from(folder):
    assert (TEST_DATA / folder / "LICENSE").read_text().startswith("Creative Commons Attribution-ShareAlike 4.0")
    assert "CC BY-SA 4.0" in (TEST_DATA / folder / "SOURCE.md").read_text()


@pytest.mark.parametrize("name", SHIPPED)
def test_slice_is_what_make_slices_cuts_from_the_full_file(name):
    folder, file = name.split("/")
    full = read(shared(folder, "the full XQuAD/SQuAD files the slices were cut from") / file)
    make_slices = load_make_slices()
    step = make_slices.XQUAD_STEP if folder == "xquad" else make_slices.SQUAD_STEPS[file.split("_")[-2]]
    assert make_slices.cut(full, step) == read(TEST_DATA / name)
