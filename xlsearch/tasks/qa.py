"""Extractive QA done generatively (SQuAD, XQuAD): question + context -> answer text, scored by F1/EM.

Hub datasets ``rajpurkar/squad`` and ``google/xquad`` (configuration ``xquad.<lang>``, split
``validation``) are flat, with columns ``id, context, question, answers{text, answer_start}``.
Local files are SQuAD v1.1 JSON (articles -> paragraphs -> qas) and are flattened into those
columns, so one function turns a row of either into an Example.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsearch.tasks.base import ROLE_SPLITS, DataError, DataSource, Example, Task, read_json_rows

SQUAD_HUB_ID = "rajpurkar/squad"  # English training and dev data
XQUAD_HUB_ID = "google/xquad"  # dev data of every XQuAD language (Artetxe et al. 2020)
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
QUESTION_PREFIX = "question: "
CONTEXT_SEPARATOR = " context: "


def qa_input(question: str, context: str) -> str:
    """The model input for one question, in the T5 ``question: ... context: ...`` format."""
    return f"{QUESTION_PREFIX}{question}{CONTEXT_SEPARATOR}{context}"


def flatten_squad(articles: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """SQuAD v1.1 articles as flat rows with the hub's columns (answers as lists of text/start)."""
    rows = []
    for article in articles:
        for paragraph in article.get("paragraphs") or []:
            for qa in paragraph.get("qas") or []:
                answers = qa.get("answers") or []
                rows.append({
                    "id": qa.get("id"),
                    "title": article.get("title"),
                    "context": paragraph.get("context"),
                    "question": qa.get("question"),
                    "answers": {
                        "text": [ans.get("text") for ans in answers],
                        "answer_start": [ans.get("answer_start") for ans in answers],
                    } if answers else None,
                })
    if not rows:
        raise DataError(f"{path}: no questions found (expected SQuAD v1.1 JSON: data -> paragraphs -> qas)")
    return rows


class QATask(Task):
    name = "xquad"
    objective_metric = "f1"
    metric_names = ("f1", "exact_match")
    metric_labels = {"f1": "F1", "exact_match": "EM"}
    default_split = "validation"
    required_fields = ("id", "context", "question", "answers")

    def default_source(self, lang: str, role: str) -> DataSource | None:
        """SQuAD for English training and dev data; XQuAD for the dev data of its languages."""
        if lang == "en" and role in ("train", "dev"):
            return DataSource(hub=SQUAD_HUB_ID, split=ROLE_SPLITS[role])
        if lang in XQUAD_LANGUAGES and role == "dev":
            return DataSource(hub=XQUAD_HUB_ID, config=f"xquad.{lang}", split="validation")
        return None

    def hub_config(self, hub: str, lang: str) -> str | None:
        """``xquad.<lang>`` for google/xquad; None (the dataset's only configuration) otherwise."""
        if hub != XQUAD_HUB_ID:
            return None
        if lang not in XQUAD_LANGUAGES:
            known = ", ".join(XQUAD_LANGUAGES)
            raise DataError(f"XQuAD has no language {lang!r}; XQuAD languages: {known}")
        return f"xquad.{lang}"

    def read_local_rows(self, path: Path) -> list[dict[str, Any]]:
        return flatten_squad(read_json_rows(path, field="data"), path)

    def example_from_row(self, row: dict[str, Any], lang: str) -> Example:
        # Several annotators often give the same span; one copy of each is enough for max-over-refs.
        targets = tuple(dict.fromkeys(text for text in row["answers"]["text"] if text))
        if not targets:
            raise DataError(f"question {row['id']!r} has no answer text; each question needs one")
        return Example(
            id=str(row["id"]), lang=lang, input_text=qa_input(row["question"], row["context"]), targets=targets
        )

    def language_id_mask(self, examples, lang: str) -> list[bool]:
        """Language id is unreliable on short answers: as in the study, only examples whose
        reference answer holds no digits and is itself identified as ``lang`` count."""
        from xlsearch.metrics import qa_language_mask

        return qa_language_mask([list(ex.targets) for ex in examples], lang)

    def unlabeled_text(self, example: Example) -> str:
        """Question and context without the English ``question:``/``context:`` markers.

        The markers are the same English words in every language; a language-modelling objective
        on target-language text should not spend itself on them.
        """
        question, _, context = example.input_text.removeprefix(QUESTION_PREFIX).partition(CONTEXT_SEPARATOR)
        return f"{question}\n{context}" if context else question

    def metric_scores(self, predictions: list[str], examples: list[Example], lang: str) -> dict[str, float]:
        from xlsearch.metrics import qa_scores  # lazy: keeps loading data free of metric imports

        return qa_scores(predictions, [list(ex.targets) for ex in examples], lang)
