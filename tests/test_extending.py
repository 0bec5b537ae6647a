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
        "selection": {"few_shot_examples": 0},  # 3 German dev examples: none to hold out
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


# --- the other recipes of docs/development.md's "Extending" section, each tried once ----------------------

def test_a_method_defined_here_validates_and_trains_what_it_says(tmp_path, monkeypatch):
    from torch import nn

    from xlsearch.methods import METHODS, AdaptationMethod, Param

    class DecoderOnly(AdaptationMethod):
        name = "decoder_only"
        description = "train the decoder only"
        params = {"unused": Param("int", 1, "an example parameter", low=1)}

        def prepare_model(self, model: nn.Module, family: str, params) -> nn.Module:
            for name, p in model.named_parameters():
                p.requires_grad = name.startswith("decoder.")
            return model

    monkeypatch.setitem(METHODS, "decoder_only", DecoderOnly())  # the one registry line
    raw = _spec(tmp_path) | {"task": "xlsum", "search": {"algorithm": "grid", "lr": [1e-3],
                                                        "methods": {"decoder_only": {"unused": [1, 2]}}}}
    raw["data"] = {"en": {"train": {"builtin": "toy"}, "dev": {"builtin": "toy"}}, "de": {"dev": {"builtin": "toy"}}}
    spec = parse_spec(raw)
    from xlsearch.space import planned_trials

    assert planned_trials(spec) == 2
    with pytest.raises(SpecError, match="an integer >= 1"):
        parse_spec(raw | {"search": {"lr": [1e-3], "methods": {"decoder_only": {"unused": 0}}}})
    result = run_trial(spec.model_copy(update={"subsample": spec.subsample.model_copy(update={"dev": 4}),
                                               "selection": spec.selection.model_copy(update={"few_shot_examples": 0})}),
                       TrialParams(lr=1e-3, method="decoder_only"), log=lambda _: None)
    assert result.status == "completed" and result.rounds_done == 1


def test_a_builtin_dataset_defined_here_feeds_a_spec(tmp_path, monkeypatch):
    from xlsearch.tasks import load_builtin
    from xlsearch.tasks.builtin import BUILTIN_DATASETS

    def counting(task, lang, split):
        if task != "xlsum" or lang not in ("en", "de"):
            raise ValueError(f"builtin dataset 'counting' has no {task}/{lang}")
        words = {"en": ["one", "two", "three"], "de": ["eins", "zwei", "drei"]}[lang]
        return [{"id": i, "text": " ".join(words[: i % 3 + 1]), "summary": words[i % 3]} for i in range(12)]

    monkeypatch.setitem(BUILTIN_DATASETS, "counting", counting)  # the one registry line
    raw = _spec(tmp_path) | {"task": "xlsum"}
    raw["data"] = {lang: {split: {"builtin": "counting"} for split in ("train", "dev")} for lang in ("en", "de")}
    assert parse_spec(raw).data["de"]["dev"].builtin == "counting"
    assert [ex.targets[0] for ex in load_builtin("counting", "xlsum", "de", "train")[:3]] == ["eins", "zwei", "drei"]
    raw["target_languages"] = ["fr"]
    raw["data"]["fr"] = {"dev": {"builtin": "counting"}}
    with pytest.raises(SpecError, match="has no xlsum/fr"):
        parse_spec(raw)


def test_a_named_model_is_one_registry_line(monkeypatch):
    from xlsearch.models import NAMED_MODELS, ModelRef, resolve_model

    monkeypatch.setitem(NAMED_MODELS, "mt5-small-local", lambda name: ModelRef(name, "hub", "mt5", "google/mt5-small"))
    ref = resolve_model("mt5-small-local")
    assert (ref.kind, ref.family, ref.location) == ("hub", "mt5", "google/mt5-small")


def test_a_selection_rule_is_one_function_and_one_line(monkeypatch):
    import pandas as pd

    from xlsearch.selection import SELECTION_RULES, Rule, select_all

    def lowest_lr(rows, setting):
        return -rows["lr"]

    monkeypatch.setitem(SELECTION_RULES, "lowest_lr", Rule(lowest_lr))  # the one registry line
    rows = pd.DataFrame({"trial_id": ["a", "b"], "lr": [1e-3, 1e-5], "diverged": [0, 0],
                         "source_dev/f1": [50.0, 10.0], "target/de/f1": [5.0, 9.0]})
    choices = select_all(rows, "source_dev/f1", "f1", ["de"], threshold=0.2)
    assert choices["source_dev"].trial_id == "a" and choices["lowest_lr"].trial_id == "b"
