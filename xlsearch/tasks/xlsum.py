"""XL-Sum: abstractive news summarization, article -> one-sentence summary, scored by ROUGE.

Rows have the XL-Sum columns ``id, url, title, summary, text``, both in local JSON Lines files
and in the hub dataset ``csebuetnlp/xlsum`` (one configuration per language, e.g. ``english``;
the names below are the dataset's configurations, Hasan et al. 2021).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsearch.tasks.base import ROLE_SPLITS, DataError, DataSource, Example, Task, kind_of, read_json_rows

HUB_ID = "csebuetnlp/xlsum"
# Language code -> XL-Sum's configuration on the hub.
HUB_CONFIGS = {
    "am": "amharic", "ar": "arabic", "az": "azerbaijani", "bn": "bengali", "cy": "welsh", "en": "english",
    "es": "spanish", "fa": "persian", "fr": "french", "gd": "scottish_gaelic", "gu": "gujarati",
    "ha": "hausa", "hi": "hindi", "id": "indonesian", "ig": "igbo", "ja": "japanese", "ko": "korean",
    "ky": "kyrgyz", "mr": "marathi", "my": "burmese", "ne": "nepali", "om": "oromo", "pa": "punjabi",
    "pcm": "pidgin", "ps": "pashto", "pt": "portuguese", "rn": "kirundi", "ru": "russian", "si": "sinhala",
    "so": "somali", "sr": "serbian_cyrillic", "sw": "swahili", "ta": "tamil", "te": "telugu", "th": "thai",
    "ti": "tigrinya", "tr": "turkish", "uk": "ukrainian", "ur": "urdu", "uz": "uzbek", "vi": "vietnamese",
    "yo": "yoruba", "zh": "chinese_simplified",
}


class XLSumTask(Task):
    name = "xlsum"
    objective_metric = "rougeL"
    metric_names = ("rouge1", "rouge2", "rougeL", "exact_match")
    metric_labels = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", "exact_match": "exact match"}
    default_split = "test"
    required_fields = ("id", "text", "summary")

    def default_source(self, lang: str, role: str) -> DataSource | None:
        """Every role reads XL-Sum on the hub, where it has the language."""
        config = HUB_CONFIGS.get(lang)
        return DataSource(hub=HUB_ID, config=config, split=ROLE_SPLITS[role]) if config else None

    def hub_config(self, hub: str, lang: str) -> str | None:
        """XL-Sum's configuration for ``lang`` (``en`` -> ``english``)."""
        config = HUB_CONFIGS.get(lang)
        if config is None:
            known = ", ".join(sorted(HUB_CONFIGS))
            raise DataError(
                f"XL-Sum has no configuration for language {lang!r} on {hub!r}; give `config:` "
                f"or a local `path:`, or use one of: {known}"
            )
        return config

    def read_local_rows(self, path: Path) -> list[dict[str, Any]]:
        return read_json_rows(path, expected='JSON Lines, one object a line with "id", "text" and "summary"')

    def row_problem(self, row: dict[str, Any]) -> str | None:
        """Ids are strings or numbers; article and summary are non-empty text."""
        if isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)):
            return f"'id' is {kind_of(row['id'])}; expected a string or a number"
        for key in ("text", "summary"):
            if not isinstance(row[key], str) or not row[key].strip():
                return f"{key!r} is {kind_of(row[key])}; expected non-empty text"
        return None

    def example_from_row(self, row: dict[str, Any], lang: str) -> Example:
        return Example(id=str(row["id"]), lang=lang, input_text=row["text"], targets=(row["summary"],))

    def metric_scores(self, predictions: list[str], examples: list[Example], lang: str) -> dict[str, float]:
        from xlsearch.metrics import rouge_scores  # lazy: metrics pulls in tokenizers for ROUGE

        references = [ex.targets[0] for ex in examples]
        scores = rouge_scores(predictions, references, lang)
        # Whole summary right, up to whitespace: ~0 on real news, the lab's headline figure.
        exact = sum(" ".join(p.split()) == " ".join(r.split()) for p, r in zip(predictions, references))
        return {**scores, "exact_match": 100.0 * exact / len(predictions)}
