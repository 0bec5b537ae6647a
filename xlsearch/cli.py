"""The ``xlsearch`` command line.

Every subcommand checks its input first: a bad spec or argument prints one line naming the
field, the value and what is allowed, and exits with code 2 before any compute starts.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

EXIT_BAD_INPUT = 2
DEFAULT_LID_THRESHOLD = 0.2  # lid_aware's, where neither --lid-threshold nor the sweep's spec says


class UsageError(ValueError):
    """Bad command-line input; rendered as one line, exit code 2."""


def _fail(message: str) -> int:
    print(f"xlsearch: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def one_line(err: BaseException) -> str:
    """An error's message on one line; a Ray wrapper around one of ours gives our message (its
    cause), not the worker's traceback."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException) and type(err).__name__.startswith("RayTaskError"):
        err = cause
    return " ".join(str(err).splitlines())


def cmd_validate(args: argparse.Namespace) -> int:
    from xlsearch.checks import load_spec
    from xlsearch.space import planned_trials
    from xlsearch.spec import SpecError

    status = 0
    for path in args.specs:
        try:
            spec = load_spec(path)
            counts = None if args.no_data else _check_data(spec, path)
        except (SpecError, UsageError) as err:
            print(f"xlsearch: error: {err}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        methods = ", ".join(spec.search.methods)
        print(f"{path}: ok ({spec.task}, {spec.model}, {spec.search.algorithm}, "
              f"{planned_trials(spec)} trials, methods: {methods})")
        if counts is not None:
            from xlsearch.datacheck import format_counts

            print(f"  examples: {format_counts(counts, spec)}")
    return status


def _load_spec_or_fail(path: str):
    from xlsearch.checks import load_spec
    from xlsearch.spec import SpecError

    try:
        return load_spec(path)
    except SpecError as err:
        raise UsageError(str(err)) from None


def _check_data(spec, path: str):
    """Every source the spec names read and checked (no compute); the counts, or UsageError."""
    from xlsearch import datacheck
    from xlsearch.spec import SpecError

    try:
        return datacheck.check_data(spec)
    except SpecError as err:
        raise UsageError(str(SpecError(err.field, err.value, err.allowed, path))) from None


def storage_override(storage: str | None) -> str | None:
    """``--storage`` as an absolute path: a path on the command line starts at the current folder
    (the spec's own ``storage`` starts at the spec's folder). A URI stays as given, for the storage
    check to refuse by name."""
    from pathlib import Path

    from xlsearch.spec import is_uri

    if not storage or is_uri(storage):
        return storage or None
    return str(Path(storage).expanduser().absolute())


def _checked_for_compute(args: argparse.Namespace, tracking_uri: str | None = None):
    """The spec with the command line's overrides, its storage and data checked: all before Ray."""
    from xlsearch.checks import check_storage
    from xlsearch.spec import SpecError
    from xlsearch.sweep.run import with_overrides

    spec = with_overrides(_load_spec_or_fail(args.spec), storage_override(args.storage), tracking_uri)
    try:
        check_storage(spec)
    except SpecError as err:
        field = "--storage" if args.storage else err.field
        raise UsageError(str(SpecError(field, err.value, err.allowed, None if args.storage else args.spec))) from None
    _check_data(spec, args.spec)
    return spec


def trial_params_from_sets(spec, sets: list[str]):
    """TrialParams from ``--set key=value`` pairs; unset values default to the spec's first
    choice (the geometric middle of an LR range)."""
    import math

    import yaml

    from xlsearch.methods import METHODS
    from xlsearch.space import first_setting, method_lr, method_train_data
    from xlsearch.space import method_params as method_params_of
    from xlsearch.spec import MAX_SEED, Range, SpecLoader, short_repr
    from xlsearch.training.params import TrialParams

    values: dict = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {short_repr(item)}: expected KEY=VALUE, e.g. lr=3e-4")
        key = "intermediate_tuning" if key == "it" else key
        try:
            values[key] = yaml.load(raw, Loader=SpecLoader)  # noqa: S506 - SpecLoader is a SafeLoader
        except (yaml.YAMLError, RecursionError):
            raise UsageError(f"--set {short_repr(item)}: the value is not valid YAML") from None
    method = values.pop("method", next(iter(spec.search.methods)))
    if not isinstance(method, str) or method not in METHODS:
        raise UsageError(f"--set method={short_repr(method)}: known methods: {', '.join(METHODS)}")
    lr = method_lr(spec, method) if method in spec.search.methods else spec.search.lr
    default_lr = math.sqrt(lr.low * lr.high) if isinstance(lr, Range) else lr[0]
    labels = ["none" if o == "none" else o.label for o in spec.search.intermediate_tuning]
    it = values.pop("intermediate_tuning", labels[0])
    if it not in labels:
        raise UsageError(f"--set intermediate_tuning={short_repr(it)}: the spec's settings are: {', '.join(labels)}")
    choices = method_train_data(spec, method) if method in spec.search.methods else list(spec.search.train_data)
    data = values.pop("train_data", choices[0])
    if data not in choices:
        raise UsageError(f"--set train_data={short_repr(data)}: the spec searches for {method}: {', '.join(choices)}")
    try:
        lr_value = float(values.pop("lr", default_lr))
    except (TypeError, ValueError, OverflowError):
        raise UsageError("--set lr: expected a number, e.g. lr=3e-4") from None
    if not math.isfinite(lr_value):
        raise UsageError(f"--set lr = {lr_value}: a learning rate must be a finite number > 0")
    seed = values.pop("seed", None)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise UsageError(f"--set seed={short_repr(seed)}: an integer from 0 to {MAX_SEED}")
    method_params = {}
    for key, value in values.items():
        name, _, param = key.partition(".")
        if name != method or param not in METHODS[method].params:
            known = ", ".join(f"{method}.{p}" for p in METHODS[method].params)
            raise UsageError(f"--set {key}: not a parameter of this trial; known: lr, method, "
                             f"intermediate_tuning, train_data, seed{', ' + known if known else ''}")
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--set {key}={short_repr(value)}: a finite number")
        if not METHODS[method].params[param].is_valid(value):
            raise UsageError(f"--set {key}={short_repr(value)}: {METHODS[method].params[param].allowed()}")
        method_params[param] = value
    # A parameter not set takes the spec's first choice for it (the middle of a range), as the LR does.
    searched = method_params_of(spec, method) if method in spec.search.methods else {}
    for param, domain in searched.items():
        if param not in method_params:
            method_params[param] = first_setting(domain, METHODS[method].params[param].kind)
    try:
        return TrialParams(lr=lr_value, method=method, method_params=method_params, intermediate_tuning=it,
                           train_data=data, seed=seed)
    except ValueError as err:
        raise UsageError(f"--set: {err}") from None


def cmd_trial(args: argparse.Namespace) -> int:
    import json
    import shutil
    import time
    from pathlib import Path

    from xlsearch import keys
    from xlsearch.report import language_table
    from xlsearch.spec import SpecError
    from xlsearch.tasks import DataError, get_task

    spec = _load_spec_or_fail(args.spec)
    params = trial_params_from_sets(spec, args.set or [])
    out = Path(args.output) if args.output else spec.sweep_dir / "manual_trials" / time.strftime("%Y%m%d-%H%M%S")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {out}: a file, not a folder")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--output {out}: folder exists and is not empty")
    _check_data(spec, args.spec)

    from xlsearch.training.loop import objective_name, run_trial

    objective = objective_name(spec)
    print(f"trial: {params.label()} on {spec.model}, {spec.task} "
          f"({spec.training.rounds} rounds x {spec.training.steps_per_round} steps)")

    def report(metrics, checkpoint, samples):
        out.mkdir(parents=True, exist_ok=True)  # at the first round: a trial that fails earlier writes nothing
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(metrics) + "\n")
        (out / "samples.json").write_text(json.dumps(samples, ensure_ascii=False, indent=1))
        if any(checkpoint.iterdir()):
            shutil.rmtree(out / "checkpoint", ignore_errors=True)
            shutil.copytree(checkpoint, out / "checkpoint")
        wrong = metrics.get(keys.target_mean(keys.WRONG_LANGUAGE_RATE), float("nan"))
        print(f"round {metrics[keys.ROUND]}/{spec.training.rounds}: loss {metrics[keys.TRAIN_LOSS]:.3f}  "
              f"{objective} {metrics.get(objective, float('nan')):.1f}  "
              f"target wrong-language {wrong:.2f}", flush=True)

    try:
        if params.translate_train:
            from xlsearch.training.translate import ensure_translations

            ensure_translations(spec, progress=not args.quiet)
        result = run_trial(spec, params, report=report, progress=not args.quiet)
    except (SpecError, DataError) as err:  # data that changed since the check, or a hub split's rows
        raise UsageError(one_line(err)) from None
    last = result.history[-1] if result.history else {}
    print()
    print(language_table(last, spec.source_languages, spec.target_languages, get_task(spec.task).metric_names))
    print(f"\nstatus: {result.status} after {result.rounds_done} rounds; metrics, samples and checkpoint in {out}")
    return 0 if result.status == "completed" else 1


def cmd_run(args: argparse.Namespace) -> int:
    from xlsearch.spec import SpecError
    from xlsearch.sweep.run import BudgetExceeded, final_table, run_sweep
    from xlsearch.sweep.stops import SweepInterrupted
    from xlsearch.sweep.tuner import ResourcesError
    from xlsearch.tasks import DataError

    wait = _wait_for_nodes(args)
    spec = _checked_for_compute(args, args.tracking_uri)
    note = tracking_off_storage(spec) if args.address else None
    if note:
        print(f"xlsearch: note: {note}", file=sys.stderr)
    try:
        summary = run_sweep(spec, spec_path=args.spec, address=args.address,
                            allow_over_budget=args.allow_over_budget, num_cpus=args.num_cpus,
                            verbose=args.verbose, **wait)
    except (BudgetExceeded, ResourcesError, SpecError, DataError) as err:
        raise UsageError(one_line(err)) from None
    except SweepInterrupted as err:
        if err.summary is not None:
            print(final_table(spec, err.summary), flush=True)
        print(f"xlsearch: interrupted by {err.signal_name}; run the same command to resume the sweep",
              file=sys.stderr)
        return err.exit_code
    print(final_table(spec, summary))
    if summary["status"] == "failed":
        print(f"xlsearch: all {summary['trials']} trials failed; the first error: see "
              f"{summary.get('first_error_log', summary['sweep_dir'])}", file=sys.stderr)
        return 1
    return 0 if summary["best"] is not None else 1


def tracking_off_storage(spec) -> str | None:
    """On a cluster, a SQLite MLflow store outside the shared storage lives on the driver's node
    alone: a sweep resumed from another node (a new head, a retried KubeRay job) starts a new
    store there. One line saying so, or None. Only the driver writes MLflow, so it still works."""
    from pathlib import Path

    from xlsearch.tracking.store import sqlite_path

    db = sqlite_path(spec.tracking.mlflow_uri or "")
    storage = Path(spec.storage).expanduser().resolve()
    if db is None or db.is_relative_to(storage):
        return None
    return (f"tracking.mlflow_uri = {spec.tracking.mlflow_uri!r} is a SQLite file outside storage ({storage}): "
            "on a cluster only this node sees it, and a sweep resumed from another node starts a new MLflow "
            "store; leave tracking.mlflow_uri unset (SQLite in the sweep folder) or use an MLflow server")


def cmd_estimate(args: argparse.Namespace) -> int:
    from xlsearch.spec import SpecError
    from xlsearch.sweep.run import estimate_command
    from xlsearch.sweep.tuner import ResourcesError
    from xlsearch.tasks import DataError

    wait = _wait_for_nodes(args)
    spec = _checked_for_compute(args)
    try:
        est = estimate_command(spec, address=args.address, num_cpus=args.num_cpus, verbose=args.verbose, **wait)
    except (ResourcesError, SpecError, DataError) as err:
        raise UsageError(one_line(err)) from None
    return 0 if not est.over_budget(spec) else 3


def cmd_translate(args: argparse.Namespace) -> int:
    from xlsearch.checks import check_translation
    from xlsearch.datacheck import check_hub_model
    from xlsearch.spec import SpecError
    from xlsearch.tasks import DataError

    spec = _load_spec_or_fail(args.spec)
    if args.model:
        spec = spec.model_copy(update={"translation": spec.translation.model_copy(update={"model": args.model})})
    targets = args.to or spec.target_languages
    unknown = [t for t in targets if t not in spec.target_languages]
    if unknown:
        raise UsageError(f"--to = {unknown[0]!r}: not a target language of the spec; its targets: "
                         f"{', '.join(spec.target_languages)}")
    try:
        check_translation(spec, targets)
        check_hub_model("translation.model", spec.translation.model)
    except SpecError as err:
        field = "--model" if args.model and err.field == "translation.model" else err.field
        raise UsageError(str(SpecError(field, err.value, err.allowed, None if args.model else args.spec))) from None
    _check_data(spec, args.spec)

    from xlsearch.training.translate import ensure_translations, source_language

    print(f"translating the {source_language(spec)} training data of {spec.name} into {', '.join(targets)} "
          f"with {spec.translation.model}", flush=True)
    try:
        done = ensure_translations(spec, targets, progress=not args.quiet)
    except (SpecError, DataError) as err:
        raise UsageError(one_line(err)) from None
    for t in done:
        print(f"{t.target}: {t.examples} examples in {t.path}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from pathlib import Path

    from xlsearch.tracking import default_tracking_uri, reroot_artifacts, serve
    from xlsearch.tracking.ui import port_is_free

    sweep_dir = None
    if args.tracking_uri:
        uri = args.tracking_uri
    else:
        target = Path(args.sweep).expanduser()
        if target.is_file():  # a spec: its sweep directory
            target = _load_spec_or_fail(str(target)).sweep_dir
        if not (target / "mlflow.db").is_file():
            raise UsageError(f"sweep {str(target)!r}: no mlflow.db there; give a sweep directory "
                             "(STORAGE/NAME), its spec, or --tracking-uri")
        sweep_dir, uri = target, default_tracking_uri(target)
    if not port_is_free(args.host, args.port):
        raise UsageError(f"--port = {args.port}: in use on {args.host}; give a free port (--port 5001)")
    if sweep_dir is not None:
        for old in reroot_artifacts(sweep_dir):
            print(f"the sweep was moved or copied: its artifacts are now read from this folder, "
                  f"not {old}", flush=True)
    experiments = _study_experiments(uri)

    def ready(base_url: str, pid: int) -> None:
        from xlsearch.tracking import runs_address

        print(f"MLflow UI for {uri} (server pid {pid}; Ctrl-C stops it)", flush=True)
        if not experiments:
            print(f"runs: {base_url}", flush=True)
        for name, exp_id in experiments:
            print(f"runs of {name}: {runs_address(base_url, exp_id)}", flush=True)
            print(f"charts of {name}: {runs_address(base_url, exp_id, charts=True)}", flush=True)
        if not args.no_browser and _has_browser():
            import webbrowser

            webbrowser.open(runs_address(base_url, experiments[0][1]) if experiments else base_url)

    return serve(uri, args.host, args.port, ready)


def _study_experiments(uri: str) -> list[tuple[str, str]]:
    """``(name, id)`` of the store's experiments that hold an xlsearch sweep; each gets the saved
    view the UI opens with if it lacks one (sweeps made before xlsearch wrote it)."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    from xlsearch import keys
    from xlsearch.tasks import TASKS
    from xlsearch.tracking import TAG_ROLE, Headline, save_view

    client = MlflowClient(tracking_uri=uri)
    found = []
    for exp in client.search_experiments(view_type=ViewType.ACTIVE_ONLY):
        parents = client.search_runs([exp.experiment_id], f"tags.`{TAG_ROLE}` = 'sweep'", max_results=1)
        task = parents[0].data.params.get("task") if parents else None
        if task in TASKS:
            save_view(client, exp.experiment_id, Headline(**keys.headline(keys.source_dev(TASKS[task].objective_metric))))
            found.append((exp.name, exp.experiment_id))
    return found


def _has_browser() -> bool:
    """Whether a graphical browser can open: a desktop session, or macOS / Windows. A terminal
    browser (w3m, lynx) would take over the terminal the server prints to."""
    import os

    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _analyze_study(args: argparse.Namespace) -> int:
    """`xlsearch analyze --study OUT SWEEP...`: the study tables across the sweeps (analysis.study)."""
    from pathlib import Path

    from analysis.frame import SweepNotFound
    from analysis.study import StudyError, build_studies, load_study_sweep, summary_lines, write_study

    if args.out:
        raise UsageError(f"--out {args.out}: --study writes the study tables only, into its own folder; "
                         "run analyze without --study for the per-sweep reports")
    out = Path(args.study).expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--study {args.study}: a file, not a folder")
    try:
        studies = build_studies([load_study_sweep(source) for source in args.sweeps],
                                args.lid_threshold if args.lid_threshold is not None else DEFAULT_LID_THRESHOLD)
    except (SweepNotFound, StudyError) as err:
        raise UsageError(one_line(err)) from None
    for study in studies.values():
        print("\n".join(summary_lines(study, write_study(study, out))))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from analysis import analyze, load_sweep, write_report
    from analysis.frame import SweepNotFound
    from analysis.report import zero_shot_line

    if args.lid_threshold is not None and not 0 <= args.lid_threshold <= 1:
        raise UsageError(f"--lid-threshold = {args.lid_threshold}: a wrong-language rate in [0, 1]")
    if args.study:
        return _analyze_study(args)
    frames = []
    for source in args.sweeps:
        try:
            frames.append((source, load_sweep(source)))
        except SweepNotFound as err:
            raise UsageError(str(err)) from None
    for source, frame in frames:
        sweep_dir = Path(source).expanduser()
        name = frame.attrs["name"]
        if args.out:
            out = Path(args.out) / name if len(frames) > 1 else Path(args.out)
        elif sweep_dir.is_dir():
            out = sweep_dir / "analysis"
        else:
            raise UsageError(f"{source}: give --out for an MLflow experiment")
        threshold = args.lid_threshold
        if threshold is None:
            threshold = frame.attrs.get("lid_threshold") or DEFAULT_LID_THRESHOLD
        result = analyze(frame, threshold)
        files = write_report(result, out, name)
        print(f"{name}: {zero_shot_line(result)}")
        print(f"{name}: report in {files[0]} ({len(files)} files)")
        summary = sweep_dir / "summary.json" if sweep_dir.is_dir() else None
        if summary is not None and summary.is_file():
            from xlsearch.tracking import SweepTracker, default_tracking_uri, reroot_artifacts

            info = json.loads(summary.read_text())
            uri = info["tracking_uri"]
            if (sweep_dir / "mlflow.db").is_file():  # the folder's own store, wherever it was moved
                reroot_artifacts(sweep_dir)
                uri = default_tracking_uri(sweep_dir)
            tracker = SweepTracker(uri, name, sweep_dir)
            tracker.sweep_run_id = info["parent_run_id"]
            tracker.log_artifacts("sweep", out, "analysis")
            print(f"{name}: logged to the sweep's MLflow run {info['parent_run_id']} under analysis/")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from pathlib import Path

    from xlsearch.lab import LAB_DIR_ENV_VAR, lab_dir
    from xlsearch.lab.pretrain import PretrainConfig, build_lab

    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps {args.steps}: a positive number of pretraining steps")
    changes = {name: value for name, value in (("steps", args.steps), ("denoising_share", args.denoising_share),
                                               ("gap_sentence_share", args.gap_sentence_share)) if value is not None}
    for name in ("denoising_share", "gap_sentence_share"):
        value = changes.get(name)
        if value is not None and not 0 <= value <= 1:
            raise UsageError(f"--{name.replace('_', '-')} {value:g}: a share of the paragraphs, from 0 to 1")
    default = PretrainConfig()
    denoising, gap = (changes.get(name, getattr(default, name)) for name in ("denoising_share", "gap_sentence_share"))
    if denoising + gap > 1:
        raise UsageError(f"--denoising-share {denoising:g} and --gap-sentence-share {gap:g}: together at most 1 "
                         "(the rest of the paragraphs get span corruption)")
    config = replace(default, **changes)
    directory = Path(args.storage).expanduser() if args.storage else lab_dir()
    build_lab(directory, config, progress=not args.quiet)
    if directory.resolve() != lab_dir().resolve():
        print(f"to use this lab, set {LAB_DIR_ENV_VAR}={directory}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from pathlib import Path

    from xlsearch.spec_schema import schema_text

    if not args.output:
        sys.stdout.write(schema_text())
        return 0
    out = Path(args.output).expanduser()
    if out.is_dir() or not out.parent.is_dir():
        raise UsageError(f"--output {args.output}: a file in an existing folder")
    out.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {out}; make a spec's first line `# yaml-language-server: $schema={out}` (a path relative "
          "to the spec, or a URL) for editors to complete and check its keys")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from xlsearch.starter import StarterError, next_steps, starter_from_args, write_starter

    try:
        starter = starter_from_args(args)
        _, spec = write_starter(starter)
    except StarterError as err:
        raise UsageError(str(err)) from None
    print(next_steps(starter, spec))
    return 0


class _OneLineErrors(argparse.ArgumentParser):
    """A subcommand's parser whose bad flags (unknown, missing a value, ...) are one line and exit 2,
    as every other problem of its input is."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"xlsearch: error: {self.prog.removeprefix('xlsearch ')}: {message}\n")

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def _wait_for_nodes(args: argparse.Namespace) -> dict[str, float]:
    if args.wait_for_nodes is None:
        return {}
    if not args.wait_for_nodes >= 0:  # NaN too
        raise UsageError(f"--wait-for-nodes {args.wait_for_nodes:g}: seconds to wait, 0 or more")
    return {"wait_for_nodes_s": args.wait_for_nodes}


def _add_cluster_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--address", help="join a Ray cluster ('auto' for the one this node belongs to); "
                   "default: start a local Ray")
    p.add_argument("--storage", help="override the spec's storage path (shared by all nodes on a cluster)")
    p.add_argument("--num-cpus", type=int, help="CPUs of a local Ray (default: all)")
    p.add_argument("--wait-for-nodes", type=float, default=None, metavar="SECONDS",
                   help="with --address: how long to wait for worker nodes (the autoscaler is asked for one "
                   "trial's resources) when the cluster cannot hold a trial yet; 0: refuse at once "
                   "(default: 1200)")
    p.add_argument("--verbose", action="store_true", help="show the Ray workers' own logs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlsearch",
        description="Hyperparameter search for zero-shot cross-lingual transfer in generative tasks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check sweep specs and the data they name; exit 2 on the first problem of each")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.add_argument("--no-data", action="store_true",
                   help="check the specs only: open no data file and reach no hub (e.g. on a machine without the data)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("trial", help="run one trial without Ray and print its per-language table")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="lr=3e-4, method=adapters, adapters.rank=8, intermediate_tuning=none (repeatable)")
    p.add_argument("--output", metavar="DIR", help="where metrics, samples and the last checkpoint go "
                   "(default: SWEEP_DIR/manual_trials/TIMESTAMP)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_trial)

    p = sub.add_parser("run", help="run (or resume) a sweep on Ray; the main job")
    p.add_argument("spec", metavar="SPEC")
    _add_cluster_args(p)
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default: SQLite in the sweep directory)")
    p.add_argument("--allow-over-budget", action="store_true",
                   help="start even when the estimate exceeds the budget (the budget still stops the sweep)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("estimate", help="time a short calibration and print the sweep's expected cost")
    p.add_argument("spec", metavar="SPEC")
    _add_cluster_args(p)
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("translate", help="translate the source training data into the target languages "
                       "(translate-train's data; cached, resumable)")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--model", help="MT model: registry name, hub id or directory (default: the spec's "
                   "translation.model, else nllb-600m)")
    p.add_argument("--to", action="append", metavar="LANG", help="only this target language (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("analyze", help="choose the LR the zero-shot way; report, tables and plots")
    p.add_argument("sweeps", nargs="+", metavar="SWEEP",
                   help="a sweep directory (STORAGE/NAME) or TRACKING_URI#EXPERIMENT")
    p.add_argument("--out", help="report folder (default: SWEEP/analysis)")
    p.add_argument("--lid-threshold", type=float, default=None,
                   help="lid_aware rule: highest mean wrong-language rate a trial may have (default: the sweep "
                        "spec's selection.lid_threshold, 0.2 unless set)")
    p.add_argument("--study", metavar="OUT",
                   help="instead of per-sweep reports, study tables across the sweeps into OUT: per task, rows "
                        "model x method x intermediate tuning (and translate-train), columns the target "
                        "languages; score and wrong-language rate of the source_dev choice (.md, .csv, .tex)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("lab", help="the offline miniature lab: build its world and pretrained lab-mt5")
    lab_sub = p.add_subparsers(dest="lab_command", required=True, metavar="LAB_COMMAND")
    q = lab_sub.add_parser("build", help="generate the world and pretrain lab-mt5 (minutes on a CPU)")
    q.add_argument("--storage", metavar="DIR", help="where the lab goes (default: $XLSEARCH_LAB_DIR, "
                   "else ~/xlsearch_results/lab); lab-mt5 is read from DIR/model via XLSEARCH_LAB_DIR")
    q.add_argument("--steps", type=int, help="pretraining steps (default: the lab's schedule)")
    q.add_argument("--denoising-share", type=float, metavar="SHARE",
                   help="share of the pretraining paragraphs given mBART's denoising (default: 0.4)")
    q.add_argument("--gap-sentence-share", type=float, metavar="SHARE",
                   help="share given PEGASUS's gap sentences (default: 0.4); the rest get span corruption, "
                        "so 0 and 0 pretrain as mT5 does (docs/lab.md: what each mix was measured to do)")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_lab)

    p = sub.add_parser("ui", help="the MLflow UI for a sweep's store: prints (and opens) the address of "
                       "its runs, sorted, with the columns and charts a user reads first")
    p.add_argument("sweep", nargs="?", default=".", metavar="SWEEP", help="sweep directory or spec")
    p.add_argument("--tracking-uri", help="any MLflow store instead of a sweep's")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--no-browser", action="store_true", help="print the address only")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("new", help="write a commented starter spec for a task, a model and languages, check it, "
                       "and print the next commands",
                       description="Write a commented starter spec, e.g. `xlsearch new --task xquad --model "
                       "mt5-base --source en --targets de,th -o my.yaml`: a grid of 3 learning rates, data from the "
                       "files given or else from the task's hub defaults. The spec is checked before it is written "
                       "(exit 2 and nothing written on a problem); an existing file is kept unless --force.")
    p.__class__ = _OneLineErrors  # argparse makes every subparser of its parser's class
    from xlsearch.starter import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("schema", help="print the spec's JSON Schema (for editors and validators)",
                       description="Print the JSON Schema of a sweep spec: every key with its type, default, "
                       "bounds and description. Editors that read `# yaml-language-server: $schema=PATH` on a "
                       "spec's first line complete and check its keys with it.")
    p.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of printing it")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        print("xlsearch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
