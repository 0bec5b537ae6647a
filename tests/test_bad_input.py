"""A corpus of bad input, each case through the command line: exit 2, exactly one line on stderr
naming what is wrong, no traceback, nothing written.

A case is a spec (the base spec below with some fields changed, or raw YAML text or bytes) and
the data files beside it. Specs and data files go into a fresh folder with ``storage`` inside it;
afterwards that folder holds exactly the files the case wrote, so nothing else was created. The
data cases are also run through ``trial``, ``run`` and ``estimate``, which must refuse them
before any compute (no Ray, no model, no sweep folder).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from xlsearch.cli import main
from shared_data import TEST_DATA

SQUAD_TRAIN = (TEST_DATA / "squad/squad_v1.1_en_train_sample.json").read_text()
SQUAD_DEV = (TEST_DATA / "squad/squad_v1.1_en_val_sample.json").read_text()
XQUAD_DE = (TEST_DATA / "xquad/xquad.de.json").read_text()
MAX_LINE = 600  # a line a terminal shows whole (the longest rules list ~200 language codes' worth)

QA_BASE = {
    "name": "bad",
    "task": "xquad",
    "model": "tiny-mt5",
    "target_languages": ["de"],
    "data": {"en": {"train": {"path": "en_train.json"}, "dev": {"path": "en_dev.json"}},
             "de": {"dev": {"path": "de.json"}}},
    "search": {"algorithm": "grid", "lr": [1e-4], "methods": {"full": {}}},
    "training": {"steps_per_round": 1, "rounds": 1},
    "scheduler": "none",
}
QA_FILES = {"en_train.json": SQUAD_TRAIN, "en_dev.json": SQUAD_DEV, "de.json": XQUAD_DE}


def _jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


SUM_ROWS = [{"id": str(i), "text": f"Article number {i} about the town fair.", "summary": f"Fair {i}."}
            for i in range(6)]
SUM_BASE = {**QA_BASE, "task": "xlsum",
            "data": {"en": {"train": {"path": "en.jsonl"}, "dev": {"path": "en.jsonl"}},
                     "de": {"dev": {"path": "de.jsonl"}}},
            "selection": {"few_shot_examples": 0}}  # 6 German dev examples: none to hold out
SUM_FILES = {"en.jsonl": _jsonl(SUM_ROWS), "de.jsonl": _jsonl(SUM_ROWS)}


@dataclass
class Case:
    id: str
    words: tuple[str, ...]  # what the one line must say (the field first)
    change: dict = field(default_factory=dict)  # dotted path -> value (a tuple of keys where a key has dots)
    text: str | bytes | None = None  # the spec file's raw content instead of the changed base
    files: dict = field(default_factory=dict)  # data files over the base's
    task: str = "xquad"
    data: bool = False  # a bad data file: also through trial, run and estimate

    def base(self):
        return copy.deepcopy(QA_BASE if self.task == "xquad" else SUM_BASE)

    def base_files(self):
        return {**(QA_FILES if self.task == "xquad" else SUM_FILES), **self.files}


def _set(spec: dict, path, value):
    parts = path if isinstance(path, tuple) else path.split(".")
    node = spec
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return spec


def _squad(qas=None, *, context="Berlin ist die Hauptstadt.", article=None):
    qas = qas if qas is not None else [{"id": "q1", "question": "Was ist Berlin?", "answers": [{"text": "Hauptstadt", "answer_start": 14}]}]
    article = article if article is not None else {"title": "t", "paragraphs": [{"context": context, "qas": qas}]}
    return json.dumps({"version": "1.1", "data": [article]})


def _spec_text(extra: str = "", base=QA_BASE) -> str:
    return yaml.safe_dump(base, sort_keys=False) + extra


GOOD_QA = _squad()
HUGE = "x" * 10_000_000

SPEC_CASES = [
    # --- the file itself
    Case("not-utf8", ("(file)", "UTF-8"), text=b"name: bad\ntask: xquad\nmodel: tiny-mt5\n# caf\xe9\n"),
    Case("utf16", ("(file)", "UTF-8"), text=_spec_text().encode("utf-16")),
    Case("deeply-nested-list", ("nested",), text="name: " + "[" * 3000 + "]" * 3000 + "\n"),
    Case("deeply-nested-map", ("nested",), text="a:\n" + "".join(" " * i + "b:\n" for i in range(1, 400))),
    Case("alias-bomb", ("(yaml)", "aliases"), text="a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi"))),
    Case("invalid-yaml", ("(yaml)", "not valid YAML"), text="name: [unclosed\n"),
    Case("tab-indent", ("(yaml)", "not valid YAML"), text="name: bad\nsearch:\n\tlr: [1]\n"),
    Case("empty-file", ("(top level)", "mapping"), text=""),
    Case("top-level-list", ("(top level)", "mapping"), text="- name: bad\n"),
    Case("top-level-scalar", ("(top level)", "mapping"), text="just words\n"),
    Case("duplicate-top-key", ("name", "duplicate key", "line"), text=_spec_text("name: other\n")),
    Case("duplicate-nested-key", ("search.lr", "duplicate key"),
         text=_spec_text().replace("  lr:\n", "  lr: [1.0e-3]\n  lr:\n", 1)),
    Case("non-string-key", ("1", "unknown key"), text=_spec_text("1: one\n")),
    Case("reserved-base-dir", ("base_dir", "reserved"), change={"base_dir": "/"}),
    # --- sizes, seeds, steps, lengths
    Case("seed-huge", ("search.seed", "less than or equal to 4294967295"), change={"search.seed": 10**30}),
    Case("seed-negative", ("search.seed", "greater than or equal to 0"), change={"search.seed": -1}),
    Case("seed-bool", ("search.seed", "integer"), change={"search.seed": True}),
    Case("seed-float", ("search.seed", "integer"), change={"search.seed": 1.5}),
    Case("batch-size-huge", ("training.batch_size", "less than or equal to"), change={"training.batch_size": 10**30}),
    Case("eval-batch-size-bool", ("training.eval_batch_size", "integer"), change={"training.eval_batch_size": True}),
    Case("rounds-bool", ("training.rounds", "integer"), change={"training.rounds": True}),
    Case("rounds-huge", ("training.rounds", "less than or equal to"), change={"training.rounds": 10**9}),
    Case("steps-huge", ("training.steps_per_round", "less than or equal to"), change={"training.steps_per_round": 10**12}),
    Case("grad-accum-huge", ("training.grad_accum", "less than or equal to"), change={"training.grad_accum": 10**12}),
    Case("max-input-length-huge", ("training.max_input_length", "less than or equal to"), change={"training.max_input_length": 10**9}),
    Case("max-output-length-zero", ("training.max_output_length", "greater than"), change={"training.max_output_length": 0}),
    Case("num-beams-huge", ("training.num_beams", "less than or equal to"), change={"training.num_beams": 10**6}),
    Case("sample-generations-negative", ("training.sample_generations", "greater than or equal to 0"),
         change={"training.sample_generations": -3}),
    Case("num-samples-huge", ("search.num_samples", "less than or equal to"), change={"search.num_samples": 10**12}),
    Case("subsample-huge", ("subsample.train", "less than or equal to"), change={"subsample.train": 10**30}),
    Case("subsample-zero", ("subsample.dev", "greater than 0"), change={"subsample.dev": 0}),
    Case("workers-huge", ("resources.workers", "less than or equal to"), change={"resources.workers": 10**9}),
    Case("max-trials-bool", ("budget.max_trials", "integer"), change={"budget.max_trials": True}),
    Case("keep-best-negative", ("checkpoints.keep_best", "greater than or equal to 0"),
         change={"checkpoints.keep_best": -1}),
    Case("keep-best-word", ("checkpoints.keep_best", "integer"), change={"checkpoints.keep_best": "all"}),
    Case("checkpoints-unknown-key", ("checkpoints.keep", "unknown key", "keep_best"), change={"checkpoints.keep": 2}),
    Case("grace-period-huge", ("scheduler.grace_period", "less than or equal to"), change={"scheduler": {"grace_period": 10**20}}),
    # --- the zero-shot-aware search
    Case("stop-wrong-language-zero", ("scheduler.stop_wrong_language_above", "greater than 0"),
         change={"scheduler": {"stop_wrong_language_above": 0}}),
    Case("stop-wrong-language-over-one", ("scheduler.stop_wrong_language_above", "less than or equal to 1"),
         change={"scheduler": {"stop_wrong_language_above": 1.5}}),
    Case("few-shot-over-subsample", ("selection.few_shot_examples", "less than subsample.dev (200)"),
         change={"selection": {"few_shot_examples": 200}}),
    Case("few-shot-over-the-data", ("selection.few_shot_examples", "de dev data", "gives 59 examples"),
         change={"selection": {"few_shot_examples": 59}}, data=True),
    Case("soup-of-one", ("selection.soup_top_k", "full it=none has 1 trial per seed"),
         change={"selection": {"soup_top_k": 3}}),
    Case("soup-of-one-trial-each", ("selection.soup_top_k", "at least 2"), change={"selection": {"soup_top_k": 1}}),
    Case("objectives-of-a-grid", ("search.objectives", "optuna_tpe or random"),
         change={"search.objectives": ["source_score", "wrong_language_rate"]}),
    Case("objectives-without-the-source", ("search.objectives", "source score comes first"),
         change={"search.objectives": ["wrong_language_rate"]}),
    Case("objective-unknown", ("search.objectives[1]", "'source_score' or 'wrong_language_rate'"),
         change={"search.objectives": ["source_score", "target_score"]}),
    Case("pivot-is-a-target", ("pivot_languages[0]", "neither a source nor a target"), change={"pivot_languages": ["de"]}),
    Case("pivot-without-data", ("data.fr.dev", "pivot language"), change={"pivot_languages": ["fr"]}),
    Case("it-steps-huge", ("search.intermediate_tuning[1].steps", "less than or equal to"),
         change={"search.intermediate_tuning": ["none", {"steps": 10**30}]}),
    Case("it-batch-bool", ("search.intermediate_tuning[0].batch_size", "integer"),
         change={"search.intermediate_tuning": [{"batch_size": True}]}),
    Case("it-max-length-huge", ("search.intermediate_tuning[0].max_length", "less than or equal to"),
         change={"search.intermediate_tuning": [{"max_length": 10**30}]}),
    # --- floats: finite, in range, not booleans
    Case("wall-clock-inf", ("budget.wall_clock_hours", "finite"), change={"budget.wall_clock_hours": float("inf")}),
    Case("gpu-hours-nan", ("budget.gpu_hours", "finite"), change={"budget.gpu_hours": float("nan")}),
    Case("weight-decay-inf", ("training.weight_decay", "finite"), change={"training.weight_decay": float("inf")}),
    Case("weight-decay-big", ("training.weight_decay", "less than or equal to 1"), change={"training.weight_decay": 5}),
    Case("max-grad-norm-inf", ("training.max_grad_norm", "finite"), change={"training.max_grad_norm": float("inf")}),
    Case("warmup-bool", ("training.warmup_ratio", "number"), change={"training.warmup_ratio": True}),
    Case("warmup-one", ("training.warmup_ratio", "less than 1"), change={"training.warmup_ratio": 1}),
    Case("reduction-factor-inf", ("scheduler.reduction_factor", "finite"),
         change={"scheduler": {"reduction_factor": float("inf")}}),
    Case("cpus-nan", ("resources.cpus_per_worker", "finite"), change={"resources.cpus_per_worker": float("nan")}),
    Case("gpus-inf", ("resources.gpus_per_worker", "finite"), change={"resources.gpus_per_worker": float("inf")}),
    Case("gpus-word", ("resources.gpus_per_worker", "'auto'"), change={"resources.gpus_per_worker": "lots"}),
    Case("it-lr-inf", ("search.intermediate_tuning[0].lr", "finite"),
         change={"search.intermediate_tuning": [{"lr": float("inf")}]}),
    Case("range-high-inf", ("search.methods.adapters.rank.high", "finite"),
         change={"search.methods": {"adapters": {"rank": {"low": 1, "high": float("inf")}}}}),
    Case("range-log-word", ("search.lr.log", "boolean"), change={"search.lr": {"low": 1e-5, "high": 1e-3, "log": "maybe"}}),
    # --- lists, unions, unknown keys
    Case("lr-word-in-list", ("search.lr[1]", "'fast'", "number"), change={"search.lr": [1e-4, "fast"]}),
    Case("lr-bool-in-list", ("search.lr[0]", "number"), change={"search.lr": [True]}),
    Case("lr-inf-in-list", ("search.lr[0]", "finite"), change={"search.lr": [float("inf")]}),
    Case("lr-range-word", ("search.lr.high", "number"), change={"search.lr": {"low": 1e-5, "high": "fast"}}),
    Case("lr-range-unknown-key", ("search.lr.step", "allowed keys here: high, log, low"),
         change={"search.lr": {"low": 1e-5, "high": 1e-3, "step": 2}}),
    Case("lr-scalar", ("search.lr", "list"), change={"search.lr": "fast"}),
    Case("lr-negative-in-list", ("search.lr[1]", "> 0"), change={"search.lr": [1e-4, -3e-4]}),
    Case("it-unknown-key", ("search.intermediate_tuning[1].stepz", "allowed keys here:", "steps"),
         change={"search.intermediate_tuning": ["none", {"stepz": 10}]}),
    Case("it-bad-word", ("search.intermediate_tuning[0]", "'none'"), change={"search.intermediate_tuning": ["nope"]}),
    Case("it-number", ("search.intermediate_tuning[0]", "'none'"), change={"search.intermediate_tuning": [3]}),
    Case("data-source-unknown-key", ("data.de.dev.paht", "allowed keys here: builtin, config, hub, path, split"),
         change={"data.de.dev": {"paht": "de.json"}}),
    Case("data-unknown-split", ("data.de.test", "'train', 'dev' or 'unlabeled'"),
         change={"data.de.test": {"path": "de.json"}}),
    Case("data-source-list", ("data.de.dev", "mapping"), change={"data.de.dev": ["de.json"]}),
    Case("methods-params-list", ("search.methods.full", "mapping"), change={"search.methods": {"full": [1]}}),
    Case("training-unknown-key", ("training.epochs", "allowed keys here:", "rounds"), change={"training.epochs": 3}),
    Case("search-is-list", ("search", "mapping"), change={"search": [1, 2]}),
    Case("scheduler-word", ("scheduler.type", "'asha' or 'none'"), change={"scheduler": "fast"}),
    Case("source-languages-string", ("source_languages", "list"), change={"source_languages": "en"}),
    Case("name-int", ("name", "string"), change={"name": 5}),
    Case("name-huge", ("name", "…", "names a folder"), change={"name": "bad name " + HUGE}),
    Case("model-huge", ("model", "…"), change={"model": "m" * 100_000}),
    Case("model-nul", ("model", "registry name"), change={"model": "mt5\0base"}),
    Case("tracking-uri-int", ("tracking.mlflow_uri", "string"), change={"tracking.mlflow_uri": 5}),
    # --- languages
    Case("target-is-source", ("target_languages[0]", "'en'", "source"), change={"target_languages": ["en"]}),
    Case("duplicate-target", ("target_languages[1]", "'de'", "duplicate"), change={"target_languages": ["de", "de"]}),
    Case("duplicate-source", ("source_languages[1]", "duplicate"), change={"source_languages": ["en", "en"]}),
    Case("unknown-target", ("target_languages[0]", "'klingon'"), change={"target_languages": ["klingon"]}),
    # --- storage and paths
    Case("storage-is-file", ("storage", "file"), change={"storage": "de.json"}),
    Case("storage-under-file", ("storage", "file"), change={"storage": "de.json/results"}),
    Case("sweep-folder-is-file", ("storage", "file"), change={"storage": ".", "name": "de.json"}),
    Case("storage-nul", ("storage",), change={"storage": "res\0ults"}),
    Case("data-path-nul", ("data.de.dev.path",), change={"data.de.dev": {"path": "de\0.json"}}),
    Case("data-path-huge", ("data.de.dev.path", "…"), change={"data.de.dev": {"path": "d" * 100_000}}),
    Case("data-path-missing", ("data.de.dev.path", "no such file"), change={"data.de.dev": {"path": "absent.json"}}),
]

DATA_CASES = [
    # --- SQuAD v1.1 JSON (xquad)
    Case("qa-empty", ("data.de.dev.path", "de.json", "empty", "SQuAD"), files={"de.json": ""}, data=True),
    Case("qa-blank", ("data.de.dev.path", "empty"), files={"de.json": " \n\n"}, data=True),
    Case("qa-not-json", ("data.de.dev.path", "line 1", "JSON"), files={"de.json": "hello world\n"}, data=True),
    Case("qa-truncated", ("data.de.dev.path", "line", "JSON"), files={"de.json": XQUAD_DE[:5000]}, data=True),
    Case("qa-json-lines", ("data.de.dev.path", "line 2", "SQuAD"),
         files={"de.json": _jsonl([{"id": 1}, {"id": 2}])}, data=True),
    Case("qa-top-list", ("data.de.dev.path", "'data'"), files={"de.json": "[1, 2]"}, data=True),
    Case("qa-no-data-key", ("data.de.dev.path", "'data'"), files={"de.json": '{"version": "1.1"}'}, data=True),
    Case("qa-data-not-list", ("data.de.dev.path", "'data'", "list"), files={"de.json": '{"data": {"a": 1}}'}, data=True),
    Case("qa-article-not-object", ("data.de.dev.path", "article 1"), files={"de.json": '{"data": [5]}'}, data=True),
    Case("qa-paragraphs-not-list", ("data.de.dev.path", "article 1", "paragraphs"),
         files={"de.json": _squad(article={"title": "t", "paragraphs": "oops"})}, data=True),
    Case("qa-no-questions", ("data.de.dev.path", "no questions"),
         files={"de.json": _squad(article={"title": "t", "paragraphs": []})}, data=True),
    Case("qa-no-answers-key", ("data.de.dev.path", "question 1", "answer"),
         files={"de.json": _squad([{"id": "q1", "question": "Was?"}])}, data=True),
    Case("qa-empty-answers", ("data.de.dev.path", "question 2", "'q2'", "at least one non-empty answer"),
         files={"de.json": _squad([json.loads(GOOD_QA)["data"][0]["paragraphs"][0]["qas"][0],
                                   {"id": "q2", "question": "Wo?", "answers": []}])}, data=True),
    Case("qa-empty-answer-text", ("data.de.dev.path", "question 1", "non-empty answer"),
         files={"de.json": _squad([{"id": "q1", "question": "Was?", "answers": [{"text": "", "answer_start": 0}]}])},
         data=True),
    Case("qa-answer-text-number", ("data.de.dev.path", "question 1", "text"),
         files={"de.json": _squad([{"id": "q1", "question": "Was?", "answers": [{"text": 5, "answer_start": 0}]}])},
         data=True),
    Case("qa-no-context", ("data.de.dev.path", "paragraph 1", "context"),
         files={"de.json": _squad(article={"title": "t", "paragraphs": [{"qas": json.loads(GOOD_QA)["data"][0]["paragraphs"][0]["qas"]}]})},
         data=True),
    Case("qa-question-not-string", ("data.de.dev.path", "question 1", "question"),
         files={"de.json": _squad([{"id": "q1", "question": ["Was?"], "answers": [{"text": "a", "answer_start": 0}]}])},
         data=True),
    Case("qa-no-id", ("data.de.dev.path", "question 1", "'id'"),
         files={"de.json": _squad([{"question": "Was?", "answers": [{"text": "Berlin", "answer_start": 0}]}])},
         data=True),
    Case("qa-not-utf8", ("data.de.dev.path", "UTF-8"), files={"de.json": XQUAD_DE.encode("latin-1", "replace")[:100] + b"\xe9\xff"},
         data=True),
    Case("qa-deeply-nested", ("data.de.dev.path", "nested"), files={"de.json": "[" * 100_000 + "]" * 100_000}, data=True),
    Case("qa-folder", ("data.de.dev.path", "a folder, not a file"), change={"data.de.dev": {"path": "folder"}},
         files={"folder/x": "1"}, data=True),
    Case("qa-train-bad", ("data.en.train.path", "en_train.json", "empty"), files={"en_train.json": ""}, data=True),
    # --- JSON Lines (xlsum)
    Case("sum-empty", ("data.de.dev.path", "de.jsonl", "empty", "JSON Lines"), files={"de.jsonl": ""}, task="xlsum",
         data=True),
    Case("sum-bad-line", ("data.de.dev.path", "line 3", "JSON"),
         files={"de.jsonl": _jsonl(SUM_ROWS[:2]) + "{oops\n"}, task="xlsum", data=True),
    Case("sum-line-is-list", ("data.de.dev.path", "line 2", "object"),
         files={"de.jsonl": _jsonl(SUM_ROWS[:1]) + "[1, 2]\n"}, task="xlsum", data=True),
    Case("sum-no-summary", ("data.de.dev.path", "line 2", "'summary'"),
         files={"de.jsonl": _jsonl([SUM_ROWS[0], {"id": "1", "text": "An article."}])}, task="xlsum", data=True),
    Case("sum-empty-summary", ("data.de.dev.path", "line 1", "summary", "non-empty"),
         files={"de.jsonl": _jsonl([{"id": "1", "text": "An article.", "summary": "  "}])}, task="xlsum", data=True),
    Case("sum-text-number", ("data.de.dev.path", "line 1", "text"),
         files={"de.jsonl": _jsonl([{"id": "1", "text": 42, "summary": "A summary."}])}, task="xlsum", data=True),
    Case("sum-squad-file", ("data.de.dev.path", "line 1"), files={"de.jsonl": XQUAD_DE}, task="xlsum", data=True),
    Case("sum-not-utf8", ("data.de.dev.path", "line 2", "UTF-8"),
         files={"de.jsonl": _jsonl(SUM_ROWS[:1]).encode() + b'{"id": "\xff"}\n'}, task="xlsum", data=True),
    Case("sum-unlabeled-bad", ("data.de.unlabeled.path", "de_u.jsonl", "line 1"),
         change={"data.de.unlabeled": {"path": "de_u.jsonl"}}, files={"de_u.jsonl": "nope\n"}, task="xlsum",
         data=True),
    # --- the hub, offline in tests
    Case("hub-unreachable", ("data.de.dev.hub", "google/xquad", "reach"),
         change={"data.de.dev": {"hub": "google/xquad", "config": "xquad.de"}}, data=True),
    Case("hub-default-unreachable", ("data.de.dev", "google/xquad", "reach"), change={"data.de": {}}, data=True),
]

CASES = SPEC_CASES + DATA_CASES


def _write_case(case: Case, folder: Path) -> Path:
    for name, content in case.base_files().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    spec_file = folder / "spec.yaml"
    if case.text is not None:
        spec_file.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
    else:
        raw = _set(case.base(), "storage", str(folder / "results"))
        for path, value in case.change.items():
            _set(raw, path, value)
        spec_file.write_text(yaml.safe_dump(raw, allow_unicode=True, width=10**9))
    return spec_file


def _one_line(capsys, case: Case) -> str:
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, f"{case.id}: {len(lines)} lines on stderr:\n" + "\n".join(lines[-30:])
    line = lines[0]
    assert line.startswith("xlsearch: error: ") and "Traceback" not in line
    assert len(line) <= MAX_LINE, f"{case.id}: a line of {len(line)} characters"
    for word in case.words:
        assert word in line, f"{case.id}: {word!r} not in {line!r}"
    return line


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_refuses_with_one_line(case, tmp_path, capsys):
    spec_file = _write_case(case, tmp_path)
    before = _files(tmp_path)
    assert main(["validate", str(spec_file)]) == 2
    _one_line(capsys, case)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("case", DATA_CASES, ids=[c.id for c in DATA_CASES])
def test_trial_refuses_bad_data_before_compute(case, tmp_path, capsys):
    spec_file = _write_case(case, tmp_path)
    before = _files(tmp_path)
    assert main(["trial", str(spec_file), "--quiet"]) == 2
    _one_line(capsys, case)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("command", ["run", "estimate"])
@pytest.mark.parametrize("case", [c for c in DATA_CASES if c.id in ("qa-empty-answers", "sum-bad-line", "hub-unreachable")],
                         ids=lambda c: c.id)
def test_run_and_estimate_refuse_bad_data_before_ray(command, case, tmp_path, capsys, monkeypatch):
    import ray

    def no_ray(*args, **kwargs):
        raise AssertionError("Ray was started for bad input")

    monkeypatch.setattr(ray, "init", no_ray)
    spec_file = _write_case(case, tmp_path)
    before = _files(tmp_path)
    assert main([command, str(spec_file), "--num-cpus", "1"]) == 2
    _one_line(capsys, case)
    assert _files(tmp_path) == before


def test_the_corpus_is_large():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def test_the_base_specs_are_good(tmp_path, capsys):
    for case in (Case("qa", ()), Case("sum", (), task="xlsum")):
        folder = tmp_path / case.id
        folder.mkdir()
        spec_file = _write_case(case, folder)
        assert main(["validate", str(spec_file)]) == 0, capsys.readouterr().err
        assert not (folder / "results").exists()
