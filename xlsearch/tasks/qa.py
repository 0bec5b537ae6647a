"""Extractive QA done generatively (SQuAD, XQuAD): question + context -> answer text, scored by F1/EM.

Hub datasets ``rajpurkar/squad`` and ``google/xquad`` (configuration ``xquad.<lang>``, split
``validation``) are flat, with columns ``id, context, question, answers{text, answer_start}``.
Local files are SQuAD v1.1 JSON (articles -> paragraphs -> qas) and are flattened into those
columns, so one function turns a row of either into an Example.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsearch.tasks.base import ROLE_SPLITS, DataError, DataSource, Example, Records, Task, kind_of, read_json_rows

SQUAD_HUB_ID = "rajpurkar/squad"  # English training and dev data
XQUAD_HUB_ID = "google/xquad"  # dev data of every XQuAD language (Artetxe et al. 2020)
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
SQUAD_FORMAT = "SQuAD v1.1 JSON: articles -> paragraphs (context) -> qas (id, question, answers)"
QUESTION_PREFIX = "question: "
CONTEXT_SEPARATOR = " context: "


def qa_input(question: str, context: str) -> str:
    """The model input for one question, in the T5 ``question: ... context: ...`` format."""
    return f"{QUESTION_PREFIX}{question}{CONTEXT_SEPARATOR}{context}"


def flatten_squad(articles: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """SQuAD v1.1 articles as flat rows with the hub's columns (answers as lists of text/start).

    Returns :class:`Records` that name each question's place (``article 2, paragraph 1,
    question 3 (id '...')``); a part of the wrong shape raises DataError naming its place.
    """
    rows, where = [], []

    def expect(value: Any, kind: type, at: str, what: str) -> Any:
        if not isinstance(value, kind):
            raise DataError(f"data file {path}: {at} is {kind_of(value)}; expected {what}")
        return value

    for a, article in enumerate(articles, 1):
        at = f"article {a}"
        expect(article, dict, at, 'an object with "paragraphs"')
        for p, paragraph in enumerate(expect(article.get("paragraphs", []), list, f"{at}, 'paragraphs'",
                                             "a list of paragraphs"), 1):
            at_p = f"{at}, paragraph {p}"
            expect(paragraph, dict, at_p, 'an object with "context" and "qas"')
            for q, qa in enumerate(expect(paragraph.get("qas", []), list, f"{at_p}, 'qas'",
                                          "a list of questions"), 1):
                at_q = f"{at_p}, question {q}"
                expect(qa, dict, at_q, 'an object with "id", "question" and "answers"')
                if isinstance(qa.get("id"), (str, int)) and not isinstance(qa.get("id"), bool):
                    at_q += f", id {str(qa['id'])[:40]!r}"
                answers = qa.get("answers")
                if answers is not None:
                    for n, ans in enumerate(expect(answers, list, f"{at_q}, 'answers'", "a list of answers"), 1):
                        expect(ans, dict, f"{at_q}, answer {n}", 'an object with "text" and "answer_start"')
                    answers = {"text": [ans.get("text") for ans in answers],
                               "answer_start": [ans.get("answer_start") for ans in answers]}
                rows.append({
                    "id": qa.get("id"),
                    "title": article.get("title"),
                    "context": paragraph.get("context"),
                    "question": qa.get("question"),
                    "answers": answers,
                })
                where.append(at_q)
    if not rows:
        raise DataError(f"data file {path}: no questions found; expected {SQUAD_FORMAT}")
    return Records(rows, where)


def qa_row_problem(row: dict[str, Any]) -> str | None:
    """What is wrong with a QA row (hub columns), or None: ids are strings or numbers, question
    and context non-empty text, and at least one answer has non-empty text."""
    if isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)):
        return f"'id' is {kind_of(row['id'])}; expected a string or a number"
    for key in ("question", "context"):
        if not isinstance(row[key], str) or not row[key].strip():
            return f"{key!r} is {kind_of(row[key])}; expected non-empty text"
    answers = row["answers"]
    texts = answers.get("text") if isinstance(answers, dict) else None
    if not isinstance(texts, list):
        return f"'answers' is {kind_of(answers)}; expected answers with text"
    for n, text in enumerate(texts, 1):
        if not isinstance(text, str):
            return f"answer {n}'s 'text' is {kind_of(text)}; expected a string"
    if not any(text.strip() for text in texts):
        return "no answer with text; each question needs at least one non-empty answer"
    return None


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
        return flatten_squad(read_json_rows(path, field="data", expected=SQUAD_FORMAT), path)

    def row_problem(self, row: dict[str, Any]) -> str | None:
        return qa_row_problem(row)

    def example_from_row(self, row: dict[str, Any], lang: str) -> Example:
        # Several annotators often give the same span; one copy of each is enough for max-over-refs.
        targets = tuple(dict.fromkeys(text for text in row["answers"]["text"] if text and text.strip()))
        if not targets:
            raise DataError(f"question {row['id']!r} has no answer text; each question needs one")
        return Example(
            id=str(row["id"]), lang=lang, input_text=qa_input(row["question"], row["context"]), targets=targets
        )

    def reference_language_mask(self, examples, lang: str) -> list[bool]:
        """The study's filter: only examples whose reference answer holds no digits and is itself
        identified as ``lang`` count. Reads the references (the label-free rate judges each answer
        with its question and context instead)."""
        from xlsearch.metrics import qa_reference_mask

        return qa_reference_mask([list(ex.targets) for ex in examples], lang)

    def unlabeled_text(self, example: Example) -> str:
        """Question and context without the English ``question:``/``context:`` markers.

        The markers are the same English words in every language; a language-modelling objective
        on target-language text should not spend itself on them.
        """
        question, _, context = example.input_text.removeprefix(QUESTION_PREFIX).partition(CONTEXT_SEPARATOR)
        return f"{question}\n{context}" if context else question

    def translation_parts(self, example: Example) -> tuple[str, ...]:
        """Question, context and answer, translated each on its own (the answer is generated, so
        it need not stay a span of the translated context)."""
        question, _, context = example.input_text.removeprefix(QUESTION_PREFIX).partition(CONTEXT_SEPARATOR)
        return (question, context, example.targets[0])

    def from_translation(self, example: Example, parts, lang: str) -> Example:
        return Example(id=example.id, lang=lang, input_text=qa_input(parts[0], parts[1]), targets=(parts[2],))

    def metric_scores(self, predictions: list[str], examples: list[Example], lang: str) -> dict[str, float]:
        from xlsearch.metrics import qa_scores  # lazy: keeps loading data free of metric imports

        return qa_scores(predictions, [list(ex.targets) for ex in examples], lang)
