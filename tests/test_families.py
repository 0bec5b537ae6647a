"""The family records and the language table hold each model family's real language set, and
validation refuses exactly what a model cannot write, naming what it can."""
from __future__ import annotations

import pytest

from xlsearch.checks import parse_spec
from xlsearch.families import FAMILIES, MT5_LANGUAGES, get_family
from xlsearch.languages import LANGUAGES
from xlsearch.spec import SpecError


def test_mbart50_tokens_are_exactly_the_tokenizers_52():
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES

    tokens = get_family("mbart").language_tokens
    assert len(tokens) == 52 and set(tokens.values()) == set(FAIRSEQ_LANGUAGE_CODES)


def test_nllb200_tokens_are_exactly_the_tokenizers_202():
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    tokens = get_family("nllb").language_tokens
    assert len(tokens) == 202 and set(tokens.values()) == set(FAIRSEQ_LANGUAGE_CODES)


def test_mt5_has_its_101_pretraining_languages_and_every_code_is_in_the_table():
    assert len(MT5_LANGUAGES) == 101
    for family in FAMILIES.values():
        assert family.pretrained_languages <= set(LANGUAGES), family.name
        if family.language_tokens is not None:
            assert set(family.language_tokens) <= set(LANGUAGES)


def test_codes_are_iso_639_1_where_one_exists():
    nllb = get_family("nllb").language_tokens
    assert nllb["ar"] == "arb_Arab" and nllb["fa"] == "pes_Arab" and nllb["ms"] == "zsm_Latn"
    assert nllb["zh"] == "zho_Hans" and nllb["zh-Hant"] == "zho_Hant" and nllb["ka"] == "kat_Geor"
    assert nllb["ceb"] == "ceb_Latn"  # Cebuano has no ISO 639-1 code
    assert all(len(code.split("-")[0]) in (2, 3) for code in LANGUAGES)


def test_fasttext_labels_are_lid176_labels():
    import fasttext

    from xlsearch.langid import default_model_path

    model = fasttext.load_model(str(default_model_path()))
    labels, _ = model.predict("a", k=-1, threshold=-1.0)
    known = {label.replace("__label__", "") for label in labels}
    assert len(known) == 176
    assert {row.fasttext for row in LANGUAGES.values() if row.fasttext} <= known
    assert LANGUAGES["sq"].fasttext == "sq" and LANGUAGES["ka"].fasttext == "ka"


SPEC = {
    "name": "langs", "task": "xquad", "model": "tiny-mbart",
    "source_languages": ["en"], "target_languages": ["de"],
    "data": {"en": {"train": {"builtin": "toy"}, "dev": {"builtin": "toy"}}},
}


@pytest.mark.parametrize("model", ["tiny-mt5", "tiny-mbart", "tiny-nllb"])
def test_georgian_is_accepted_by_every_family(model, tmp_path):
    ka = tmp_path / "ka.json"
    ka.write_text('{"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [{"id": "1", "question": '
                  '"q", "answers": [{"text": "c", "answer_start": 0}]}]}]}]}')
    spec = parse_spec({**SPEC, "model": model, "target_languages": ["ka"],
                       "data": {**SPEC["data"], "ka": {"dev": {"path": str(ka)}}}})
    assert spec.target_languages == ["ka"]


def test_a_language_mbart_lacks_is_refused_listing_all_52():
    with pytest.raises(SpecError) as info:
        parse_spec({**SPEC, "target_languages": ["el"]})
    listed = info.value.allowed.split("mbart supports: ")[1].split(", ")
    assert info.value.field == "target_languages[0]" and len(listed) == 52 and "ka" in listed


@pytest.mark.parametrize("name, parameters", [
    # The architectures built from the published configs; the hub's pages give the same sizes
    # rounded (582 M, 611 M, 615 M). mT5-base has its own output layer (tied it would be 390 M).
    ("random-mt5-base", 582_401_280),
    ("random-mbart-50", 610_879_488),
    ("random-nllb-600m", 615_073_792),
])
def test_a_random_weight_model_has_its_published_checkpoints_size(name, parameters):
    from xlsearch.models import model_skeleton

    model = model_skeleton(name)
    assert sum(p.numel() for p in model.parameters()) == parameters
