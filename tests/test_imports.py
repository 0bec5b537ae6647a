"""The package's import graph has no cycles: not between modules, and not between rooms (a
top-level module, a subpackage of xlsearch, or the analysis package), counting imports inside
functions too. A cycle means two places each need the other, which is where a newcomer's change
goes wrong."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("xlsearch", "analysis")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest known module that ``name`` (a.b.c, possibly a.b.c.attr) is or lies in."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in its body, functions included)."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import mod` imports the module pkg.mod when there is one.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
            for target in targets:
                found = _resolve(target, known)
                if found and found != module:
                    graph[module].add(found)
    return graph


def room_of(module: str) -> str:
    """``xlsearch.tasks.qa`` -> ``xlsearch.tasks``; ``xlsearch.spec`` -> itself; ``analysis.*`` -> analysis."""
    parts = module.split(".")
    if parts[0] != "xlsearch":
        return parts[0]
    if len(parts) >= 2 and (REPO / "xlsearch" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def room_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = rooms.setdefault(room_of(module), set())
        edges.update(room_of(t) for t in targets if room_of(t) != room_of(module))
    return rooms


def test_no_cycle_between_modules():
    assert find_cycle(import_graph()) is None


def test_no_cycle_between_rooms():
    assert find_cycle(room_graph(import_graph())) is None


def test_the_spec_schema_imports_nothing_of_xlsearch():
    assert import_graph()["xlsearch.spec"] == set()


def test_only_the_cli_imports_analysis():
    # analysis reads what xlsearch writes; only the command line at the top calls into it.
    graph = import_graph()
    users = {m for m, targets in graph.items() if m.startswith("xlsearch") and any(t.startswith("analysis") for t in targets)}
    assert users <= {"xlsearch.cli"}


def test_the_check_finds_a_cycle_through_a_function_local_import(tmp_path):
    # The walker must see imports inside functions, as in the cycles it exists to catch.
    source = "def f():\n    from xlsearch.lab import pretrain\n"
    found = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
    assert found and found[0].module == "xlsearch.lab"
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_a_one_worker_trial_keeps_torch_to_its_worker(tmp_path):
    """Torch is the Train worker's: a one-worker trial's Tune process (which builds the trainer)
    and Train's controller (which unpickles the trainer's backend config and callbacks) run
    without it, ~2 s of CPU and ~190 MB each per trial on the development machine. A DDP trial
    (2 workers) does import it there: its process group needs torch's backend."""
    build = (
        "import sys, ray.cloudpickle as cp, ray.train\n"
        "from xlsearch.sweep.trainable import _trainer_class, trial_config\n"
        "trial_config({'lr': 1e-3, 'method': 'full', 'intermediate_tuning': 'none'})\n"
        "workers = int(sys.argv[1])\n"
        "trainer = _trainer_class(workers)(lambda config: None, scaling_config=ray.train.ScalingConfig(num_workers=workers))\n"
        "open(sys.argv[2], 'wb').write(cp.dumps((trainer.backend_config, trainer._create_default_callbacks())))\n"
        "print('torch' in sys.modules)\n")
    load = "import sys, pickle; pickle.loads(open(sys.argv[1], 'rb').read()); print('torch' in sys.modules)"
    env = {**os.environ, "RAY_TRAIN_V2_ENABLED": "1"}
    seen = {}
    for workers in (1, 2):
        blob = tmp_path / f"controller-{workers}.pkl"
        built = subprocess.run([sys.executable, "-c", build, str(workers), str(blob)], capture_output=True, text=True, env=env)
        assert built.returncode == 0, built.stderr[-3000:]
        loaded = subprocess.run([sys.executable, "-c", load, str(blob)], capture_output=True, text=True, env=env)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        seen[workers] = (built.stdout.split()[-1], loaded.stdout.split()[-1])
    assert seen[1] == ("False", "False"), f"torch imported by a one-worker trial's (Tune process, controller): {seen}"
    assert seen[2] == ("True", "True"), seen  # the check can see torch where it is imported


def test_scoring_leaves_out_what_nltk_imports_only_when_installed():
    """rouge_score imports NLTK, whose package pulls in scipy.stats and scikit-learn (installed
    for MLflow) for parts ROUGE never calls: a process that scores, each trial's worker among
    them, goes without both (1.3 s and ~145 MB each), can still import them itself, and gets
    the same ROUGE as rouge_score imported plainly (stemming and rougeLsum's sentence split
    included)."""
    texts = ("The cats were running quickly.\nThey stopped.", "the cat runs quick\nit stops")
    score = ("from rouge_score import rouge_scorer\n"
             "s = rouge_scorer.RougeScorer(['rouge1', 'rouge2', 'rougeL', 'rougeLsum'], use_stemmer=True)\n"
             f"r = s.score(*{texts!r})\n"
             "print(json.dumps({k: v.fmeasure for k, v in r.items()}))\n")
    ours = subprocess.run([sys.executable, "-c", "import json, sys\nimport xlsearch.metrics\n"
                           "print(json.dumps(['scipy.stats' in sys.modules, 'sklearn' in sys.modules]))\n" + score
                           + "import scipy.stats, sklearn\nprint(scipy.stats.norm.cdf(0.0))\n"],
                          capture_output=True, text=True)
    assert ours.returncode == 0, ours.stderr[-3000:]
    plain = subprocess.run([sys.executable, "-c", "import json\n" + score], capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-3000:]
    loaded, ours_scores, later = ours.stdout.splitlines()
    assert json.loads(loaded) == [False, False], "scoring imported scipy.stats / scikit-learn"
    assert json.loads(ours_scores) == json.loads(plain.stdout.splitlines()[-1])
    assert float(later) == 0.5  # imported later, as usual
