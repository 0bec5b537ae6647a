"""XL-Sum: abstractive news summarization, article -> one-sentence summary, scored by ROUGE.

Rows have the XL-Sum columns ``id, url, title, summary, text``, both in local JSON Lines files
and in the hub dataset ``csebuetnlp/xlsum`` (one configuration per language, e.g. ``english``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsearch.languages import LANGUAGES, get_language
from xlsearch.tasks.base import DataError, Example, Task, read_json_rows

HUB_ID = "csebuetnlp/xlsum"


class XLSumTask(Task):
    name = "xlsum"
    objective_metric = "rougeL"
    metric_names = ("rouge1", "rouge2", "rougeL", "exact_match")
    default_split = "test"
    required_fields = ("id", "text", "summary")

    def hub_config(self, hub: str, lang: str) -> str | None:
        """XL-Sum's configuration for ``lang`` (``en`` -> ``english``) from the language table."""
        config = get_language(lang).xlsum
        if config is None:
            known = ", ".join(sorted(code for code, row in LANGUAGES.items() if row.xlsum))
            raise DataError(
                f"XL-Sum has no configuration for language {lang!r} on {hub!r}; give `config:` "
                f"or a local `path:`, or use one of: {known}"
            )
        return config

    def read_local_rows(self, path: Path) -> list[dict[str, Any]]:
        return read_json_rows(path)

    def example_from_row(self, row: dict[str, Any], lang: str) -> Example:
        return Example(id=str(row["id"]), lang=lang, input_text=row["text"], targets=(row["summary"],))

    def metric_scores(self, predictions: list[str], examples: list[Example], lang: str) -> dict[str, float]:
        from xlsearch.metrics import rouge_scores  # lazy: metrics pulls in tokenizers for ROUGE

        references = [ex.targets[0] for ex in examples]
        scores = rouge_scores(predictions, references, lang)
        # Whole summary right, up to whitespace: ~0 on real news, the lab's headline figure.
        exact = sum(" ".join(p.split()) == " ".join(r.split()) for p, r in zip(predictions, references))
        return {**scores, "exact_match": 100.0 * exact / len(predictions)}
