"""Property-based: a valid spec with some fields set to arbitrary values (wrong types, huge,
negative, NaN or infinite numbers, long strings, nested junk, unicode) either validates, or is
refused with one :class:`SpecError` line and exit code 2; nothing else is ever raised and
nothing is written. The same for arbitrary bytes as a spec file."""
from __future__ import annotations

import copy
import math
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from xlsearch.checks import parse_spec
from xlsearch.cli import main
from xlsearch.spec import SpecError
from test_spec import GOOD

MAX_LINE = 600
MAX_EXAMPLES = int(os.environ.get("XLSEARCH_FUZZ_EXAMPLES", 200))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Every field of the spec, as dotted paths into GOOD (a path may not exist in GOOD yet).
FIELDS = [
    "name", "task", "model", "source_languages", "target_languages", "storage", "data", "data.en",
    "data.en.train", "data.en.train.path", "data.de.dev.hub", "data.de.dev.config", "data.de.dev.split",
    "data.de.dev.builtin", "data.de.unlabeled", "subsample", "subsample.train", "subsample.dev",
    "subsample.unlabeled", "search", "search.algorithm", "search.num_samples", "search.seed", "search.lr",
    "search.lr.low", "search.methods", "search.methods.full", "search.methods.adapters",
    "search.methods.adapters.rank", "search.methods.adapters.alpha", "search.methods.prompt_tuning",
    "search.methods.mix_target.mix_ratio", "search.methods.multi_source.source_languages",
    "search.intermediate_tuning", "training", "training.steps_per_round", "training.rounds",
    "training.batch_size", "training.eval_batch_size", "training.grad_accum", "training.max_input_length",
    "training.max_output_length", "training.warmup_ratio", "training.optimizer", "training.weight_decay",
    "training.max_grad_norm", "training.precision", "training.num_beams", "training.sample_generations",
    "scheduler", "scheduler.type", "scheduler.grace_period", "scheduler.reduction_factor", "resources",
    "resources.workers", "resources.gpus_per_worker", "resources.cpus_per_worker", "budget",
    "budget.max_trials", "budget.wall_clock_hours", "budget.gpu_hours", "tracking", "tracking.mlflow_uri",
    "tracking.experiment", "unknown_key", "search.unknown_key", "data.de.dev.unknown_key",
]

numbers = st.one_of(
    st.integers(), st.integers(min_value=-2, max_value=20), st.sampled_from([0, -1, 2**31, 2**32, 2**64, 10**30]),
    # Subnormals off: training tests in the same process turn on torch's flush-to-zero, which
    # Hypothesis refuses to draw subnormal floats under.
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False), st.sampled_from([0.0, -0.0, 0.5, 1.0, 1e-4, 1e308])
)
texts = st.one_of(
    st.text(max_size=40), st.sampled_from(["", "none", "auto", "grid", "en", "de", "full", "1e-4", ".inf", "xx"]),
    st.builds(lambda c, n: c * n, st.characters(), st.integers(min_value=100, max_value=5000)),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
junk = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.one_of(texts, st.integers()), children, max_size=4)),
    max_leaves=12)
# Plausible shapes too, so that checks past the schema are reached.
plausible = st.one_of(
    st.lists(st.sampled_from(["en", "de", "zh", "es", "xx", "none", 3, None]), max_size=4),
    st.fixed_dictionaries({"low": numbers, "high": numbers}, optional={"log": scalars}),
    st.lists(numbers, min_size=1, max_size=3),
    st.lists(st.one_of(st.just("none"), st.dictionaries(
        st.sampled_from(["objective", "steps", "lr", "batch_size", "max_length", "languages", "name", "x"]),
        scalars, max_size=3)), max_size=3),
)
values = st.one_of(junk, plausible)
# Values a field takes, so that a fair share of mutated specs is valid and goes on to the data.
GOOD_VALUES = {
    "search.seed": [0, 7, 2**32 - 1], "search.num_samples": [1, 4], "search.algorithm": ["grid"],
    "training.rounds": [1, 7], "training.steps_per_round": [1, 50], "training.batch_size": [1, 16],
    "training.eval_batch_size": [4], "training.grad_accum": [2], "training.max_input_length": [9, 128],
    "training.max_output_length": [2, 16], "training.warmup_ratio": [0, 0.5, "0.2"], "training.optimizer": ["adafactor"],
    "training.weight_decay": [0.01, 1], "training.max_grad_norm": [0.5], "training.precision": ["fp32", "bf16"],
    "training.num_beams": [1, 4], "training.sample_generations": [0, 3], "scheduler": ["none", "asha"],
    "scheduler.reduction_factor": [3, 1.5], "resources.workers": [2], "resources.gpus_per_worker": [0, 0.5, "auto"],
    "resources.cpus_per_worker": [0.5, 2], "budget.max_trials": [6, 100], "budget.wall_clock_hours": [0.5, 1e-3],
    "budget.gpu_hours": [2], "subsample.train": [5, None], "subsample.dev": [3], "subsample.unlabeled": [10],
    "target_languages": [["de"], ["zh"]], "source_languages": [["en"]], "name": ["x-1.2_3"],
    "tracking.experiment": ["exp"], "search.lr": [[1e-3, 3e-4], [5e-5]], "storage": ["results", "a/b"],
    "search.methods.adapters.rank": [[2, 4], [16]], "search.methods.adapters.alpha": [8, 32.0],
}
GOOD_FIELDS = sorted(GOOD_VALUES)
mutation = st.one_of(
    st.tuples(st.sampled_from(FIELDS), values),
    st.sampled_from(GOOD_FIELDS).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(GOOD_VALUES[f]))),
)
mutations = st.lists(mutation, min_size=1, max_size=3)


def _mutate(changes) -> dict:
    spec = copy.deepcopy(GOOD)
    for path, value in changes:
        node = spec
        *parents, last = path.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = copy.deepcopy(value)
    return spec


def _check_error(err: SpecError) -> None:
    line = str(err)
    assert "\n" not in line and len(line) <= MAX_LINE, line[:2000]
    assert isinstance(err.field, str) and err.field


@SETTINGS
@given(mutations)
def test_parse_spec_validates_or_raises_one_spec_error(changes):
    raw = _mutate(changes)
    try:
        spec = parse_spec(raw)
    except SpecError as err:
        _check_error(err)
        event(f"refused at {err.field.split('.')[0].split('[')[0]}")
        return
    event("valid")
    # What validates is sane: bounded, finite, consistent.
    assert 0 <= spec.search.seed < 2**32
    assert math.isfinite(spec.training.weight_decay) and math.isfinite(spec.training.max_grad_norm)
    assert not set(spec.source_languages) & set(spec.target_languages)


@SETTINGS
@given(mutations)
def test_validate_command_exits_0_or_2_with_one_line(changes):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = _mutate(changes)
        if "storage" not in dict(changes):
            raw["storage"] = str(folder / "results")
        try:
            text = yaml.safe_dump(raw, allow_unicode=True)
        except yaml.YAMLError:
            return  # not representable as YAML
        (folder / "spec.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        before = set(folder.rglob("*"))
        err, out = io.StringIO(), io.StringIO()
        with redirect_stderr(err), redirect_stdout(out):
            code = main(["validate", str(folder / "spec.yaml")])
        assert code in (0, 2)
        if code == 2:
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("xlsearch: error: "), err.getvalue()[-3000:]
            assert len(lines[0]) <= MAX_LINE
        assert set(folder.rglob("*")) == before


@SETTINGS
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 st.sampled_from([b"\xff\xfe", b"a: b\na: c\n", b"[" * 5000, b"{a: !!python/object:os.system x}",
                                  b"name: !!binary aGVsbG8=\n", b"name: &x [*x]\n", b"*x\n", b"%YAML 9.9\n---\n"])))
def test_arbitrary_bytes_as_a_spec_file_exit_2_with_one_line(content):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_bytes(content)
        err = io.StringIO()
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            code = main(["validate", str(path)])
        assert code == 2  # never a whole valid spec
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("xlsearch: error: "), err.getvalue()[-3000:]
        assert len(lines[0]) <= MAX_LINE
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["spec.yaml"]
