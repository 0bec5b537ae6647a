"""A new task is one class and one registry line: defined here, registered, it validates in a
spec, loads its data and trains a trial through the same code as the built-in tasks."""
from __future__ import annotations

import json

import pytest

from xlsearch.checks import parse_spec
from xlsearch.spec import SpecError
from xlsearch.tasks import TASKS, Example, Task, get_task, register_task
from xlsearch.tasks.base import read_json_rows
from xlsearch.training.loop import run_trial
from xlsearch.training.params import TrialParams


class ReverseTask(Task):
    """Write the input's words in reverse order; scored by exact match."""

    name = "reverse_words"
    objective_metric = "exact_match"
    metric_names = ("exact_match",)
    metric_labels = {"exact_match": "EM"}
    default_split = "validation"
    required_fields = ("id", "words")

    def read_local_rows(self, path):
        return read_json_rows(path)

    def example_from_row(self, row, lang):
        return Example(str(row["id"]), lang, row["words"], (" ".join(reversed(row["words"].split())),))

    def metric_scores(self, predictions, examples, lang):
        right = sum(p == ex.targets[0] for p, ex in zip(predictions, examples))
        return {"exact_match": 100.0 * right / len(examples)}


@pytest.fixture
def reverse_task():
    task = register_task(ReverseTask())  # the one registry line a new task needs
    yield task
    del TASKS[task.name]


def _write(path, words):
    path.write_text("".join(json.dumps({"id": i, "words": w}) + "\n" for i, w in enumerate(words)))
    return str(path)


def _spec(tmp_path):
    en = ["one two three", "red green", "a b c d", "sun moon"] * 4
    de = ["eins zwei drei", "rot grün", "Sonne Mond"]
    return {
        "name": "reverse", "task": "reverse_words", "model": "tiny-mt5",
        "source_languages": ["en"], "target_languages": ["de"],
        "data": {"en": {"train": {"path": _write(tmp_path / "en.jsonl", en)},
                        "dev": {"path": _write(tmp_path / "en_dev.jsonl", en[:4])}},
                 "de": {"dev": {"path": _write(tmp_path / "de.jsonl", de)}}},
        "search": {"algorithm": "grid", "lr": [1e-3]},
        "training": {"steps_per_round": 2, "rounds": 1, "batch_size": 4, "max_input_length": 32,
                     "max_output_length": 8, "sample_generations": 0},
        "scheduler": "none", "storage": str(tmp_path / "results"),
    }


def test_unregistered_task_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(SpecError) as info:
        parse_spec(_spec(tmp_path))
    assert info.value.field == "task" and "'xlsum' or 'xquad'" in info.value.allowed


def test_a_task_defined_here_validates_loads_and_trains(reverse_task, tmp_path):
    spec = parse_spec(_spec(tmp_path))
    assert get_task("reverse_words") is reverse_task

    result = run_trial(spec, TrialParams(lr=1e-3), log=lambda _: None)
    metrics = result.history[-1]
    assert result.status == "completed" and result.rounds_done == 1
    # The task's own objective and metrics name the round's scores.
    assert 0.0 <= metrics["source_dev/exact_match"] <= 100.0
    assert "target/de/exact_match" in metrics and "target/de/wrong_language_rate" in metrics


def test_the_new_task_has_no_hub_default_so_missing_data_is_named(reverse_task, tmp_path):
    raw = _spec(tmp_path)
    del raw["data"]["de"]
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    assert info.value.field == "data.de.dev" and "reverse_words hub default has none" in info.value.allowed
