"""``xlsearch new``: a commented starter spec for a task, a model and languages given as flags.

The spec is composed as text (so that it carries its comments), checked as ``xlsearch validate
--no-data`` checks a spec (its shape, the model and the languages it can write, the methods, every
split a trial needs having a source), and only then written. Data that the flags do not name
comes from the task's hub default, which the file says beside each language; ``xlsearch
validate`` then reads the data itself. Every problem is one line (:class:`StarterError`), and
nothing is written.
"""
from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("train", "dev", "unlabeled")
# Learning rates of the starter's grid per model family: the study's sweeps' full-finetuning
# range (search_spaces/study/: 1e-5 to 1e-3 for mT5; 3e-6 to 3e-4 for mBART-50 and NLLB-200).
FAMILY_LRS = {"mt5": [1.0e-5, 1.0e-4, 1.0e-3], "mbart": [3.0e-6, 3.0e-5, 3.0e-4], "nllb": [3.0e-6, 3.0e-5, 3.0e-4]}
# Tokens of an answer (xquad) or a one-sentence summary (xlsum).
OUTPUT_TOKENS = {"xquad": 32, "xlsum": 64}


class StarterError(ValueError):
    """A bad flag or a spec that would not validate: one line."""


@dataclass
class Starter:
    """What the flags ask for, checked."""

    task: str
    model: str
    sources: list[str]
    targets: list[str]
    output: Path
    name: str
    pivots: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=lambda: ["full"])
    data: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> role -> "path" or "builtin:NAME"
    force: bool = False


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``xlsearch new``."""
    p.add_argument("--task", required=True, help="the task: xlsum (summarization) or xquad (question answering)")
    p.add_argument("--model", required=True, help="registry name (mt5-base, mbart-50, nllb-600m, tiny-mt5, lab-mt5, ...), "
                   "hub id (org/name) or local model directory")
    p.add_argument("--source", default="en", metavar="LANGS",
                   help="source language(s), comma-separated: trained on, with labels (default: en)")
    p.add_argument("--targets", metavar="LANGS", required=True, help="target languages, comma-separated: evaluated zero-shot")
    p.add_argument("--pivots", metavar="LANGS", help="pivot languages, comma-separated: labeled dev data that is "
                   "neither source nor target, for the pivot_dev rule (optional)")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the spec file to write")
    p.add_argument("--name", help="the sweep's name (default: the output file's name without .yaml)")
    p.add_argument("--train", metavar="FILE", help="the source language's training data: a local file")
    p.add_argument("--dev", metavar="FILE", help="the source language's dev data: a local file")
    p.add_argument("--data", action="append", metavar="LANG:ROLE=FILE",
                   help="a language's train, dev or unlabeled data: a local file or builtin:NAME, e.g. "
                   "de:dev=xquad.de.json (repeatable); what is not given comes from the task's hub default")
    p.add_argument("--methods", default="full", metavar="LIST",
                   help="adaptation methods to compare, comma-separated (default: full)")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")


def _langs(flag: str, text: str | None) -> list[str]:
    items = [item.strip() for item in (text or "").split(",")]
    if not text or not all(items):
        raise StarterError(f"{flag} {text!r}: language codes separated by commas, e.g. de,th")
    return items


def starter_from_args(args: argparse.Namespace) -> Starter:
    """The flags checked one by one; :class:`StarterError` names the first bad one."""
    for flag, value in (("--task", args.task), ("--model", args.model), ("--targets", args.targets),
                        ("-o/--output", args.output)):
        if not value:
            raise StarterError(f"{flag}: required, e.g. xlsearch new --task xquad --model mt5-base --source en "
                               "--targets de,th -o my.yaml")
    output = Path(args.output).expanduser()
    if output.suffix not in (".yaml", ".yml"):
        raise StarterError(f"-o {args.output}: a spec file ends in .yaml")
    if output.is_dir():
        raise StarterError(f"-o {args.output}: a folder, not a file")
    if not output.parent.is_dir():
        raise StarterError(f"-o {args.output}: no folder {str(output.parent)!r}; create it first")
    if output.exists() and not args.force:
        raise StarterError(f"-o {args.output}: the file exists; give --force to overwrite it")
    name = args.name or re.sub(r"[^A-Za-z0-9_.-]+", "-", output.stem).strip("-_.") or "sweep"
    sources = _langs("--source", args.source)
    starter = Starter(task=args.task, model=args.model, sources=sources, targets=_langs("--targets", args.targets),
                      output=output, name=name, pivots=_langs("--pivots", args.pivots) if args.pivots else [],
                      methods=[m.strip() for m in args.methods.split(",") if m.strip()] or ["full"],
                      force=args.force)
    given: list[tuple[str, str, str, str]] = []  # (flag, lang, role, where)
    for role in ("train", "dev"):
        value = getattr(args, role)
        if value is not None:
            if len(sources) > 1:
                raise StarterError(f"--{role} {value}: with several source languages give each one's file as "
                                   f"--data LANG:{role}=FILE")
            given.append((f"--{role}", sources[0], role, value))
    for item in args.data or []:
        match = re.fullmatch(r"([A-Za-z-]+):([a-z]+)=(.+)", item)
        if match is None:
            raise StarterError(f"--data {item!r}: LANG:ROLE=FILE, e.g. de:dev=xquad.de.json")
        lang, role, where = match.groups()
        if role not in ROLES:
            raise StarterError(f"--data {item!r}: the role is one of {', '.join(ROLES)}")
        given.append((f"--data {item}", lang, role, where))
    for flag, lang, role, where in given:
        if role in starter.data.get(lang, {}):
            raise StarterError(f"{flag}: {lang} {role} data is given twice")
        if not where.startswith("builtin:"):
            path = Path(where).expanduser()
            if not path.is_file():
                raise StarterError(f"{flag}: no file {where!r}")
            where = _relative(path, output.parent)
        starter.data.setdefault(lang, {})[role] = where
    return starter


def _relative(path: Path, folder: Path) -> str:
    """``path`` as the spec will name it: relative to the spec's folder (where relative paths start)
    when it lies in that folder, else absolute."""
    try:
        relative = os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())
    return str(path.resolve()) if relative.split(os.sep)[0] == os.pardir else relative


def _c(text: str, comment: str, column: int = 34) -> str:
    """``text`` and its comment, the comments of a block aligned."""
    return f"{text:<{column - 1}} # {comment}" if text else f"{'':<{column - 1}} # {comment}"


def _flow(values: list[Any]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _source_entry(where: str) -> str:
    if where.startswith("builtin:"):
        return "{builtin: " + where.removeprefix("builtin:") + "}"
    return "{path: " + _quoted(where) + "}"


def _quoted(text: str) -> str:
    import json

    return text if re.fullmatch(r"[A-Za-z0-9_./-]+", text) and not text[0].isdigit() else json.dumps(text)


def _phrase(source: Any) -> str:
    """A hub default as the comment names it: ``google/xquad (config xquad.de, split validation)``."""
    if source.hub is None:
        return source.describe()
    parts = [f"config {source.config}" if source.config else None, f"split {source.split}" if source.split else None]
    details = ", ".join(p for p in parts if p)
    return f"{source.hub} ({details})" if details else source.hub


def _schema_line(output: Path) -> str:
    """The editors' ``$schema`` line: the checkout's committed schema, relative to the spec; or how
    to get one where xlsearch is installed without its repository."""
    from xlsearch.spec_schema import SCHEMA_FILE

    root = Path(__file__).resolve().parents[1]
    schema = root / SCHEMA_FILE
    if schema.is_file():
        folder = output.parent.resolve()
        where = os.path.relpath(schema, folder) if folder.is_relative_to(root) else schema.as_uri()
        return f"# yaml-language-server: $schema={where}"
    return ("# For completion in editors: `xlsearch schema -o spec.schema.json`, then make this line\n"
            "# yaml-language-server: $schema=spec.schema.json")


def spec_text(s: Starter) -> str:
    """The starter spec, with its comments."""
    from xlsearch.families import get_family
    from xlsearch.models import ModelError, resolve_model
    from xlsearch.tasks import TASKS

    if s.task not in TASKS:
        raise StarterError(f"--task {s.task!r}: one of {', '.join(sorted(TASKS))}")
    task = TASKS[s.task]
    try:
        family = get_family(resolve_model(s.model).family)
    except ModelError as err:
        raise StarterError(f"--model {s.model!r}: {err}") from None
    except (OSError, ValueError) as err:
        raise StarterError(f"--model {s.model!r}: not a registry name, a hub id or a readable model directory "
                           f"({err})") from None
    lrs = FAMILY_LRS.get(family.name, FAMILY_LRS["mt5"])
    trials = len(lrs) * len(s.methods)
    lines = [
        _schema_line(s.output),
        f"# A starter spec written by `xlsearch new`: {s.task} with {s.model}, trained on "
        f"{', '.join(s.sources)} and evaluated zero-shot on {', '.join(s.targets)}.",
        "# Every key is described in the spec reference (docs/reference/spec.md); edit freely, then",
        f"#   xlsearch validate {s.output.name}    # the spec and the data it names",
        f"#   xlsearch estimate {s.output.name}    # time and disk, from a real short trial",
        f"#   xlsearch run {s.output.name}         # the sweep",
        _c(f"name: {_quoted(s.name)}", "names the sweep's folder: STORAGE/NAME"),
        _c(f"task: {s.task}", "xlsum | xquad"),
        _c(f"model: {_quoted(s.model)}", "registry name, hub id (org/name) or local directory"),
        _c(f"source_languages: {_flow(s.sources)}", "trained on, with task labels"),
        _c(f"target_languages: {_flow(s.targets)}", "evaluated zero-shot: never trained on"),
        _c(f"pivot_languages: {_flow(s.pivots)}" if s.pivots else "# pivot_languages: [es]",
           "labeled dev data in another language, for the pivot_dev rule"),
        "",
        "# Where each language's data comes from, per role (train | dev | unlabeled): a local file",
        "# ({path: ...}, relative to this file's folder), a hub dataset ({hub: ..., config: ..., split: ...})",
        "# or a builtin one ({builtin: toy}). What is not given here comes from the task's hub default:",
    ]
    needed = [(lang, "train") for lang in s.sources] + [(lang, "dev") for lang in s.sources + s.targets + s.pivots]
    for lang, role in needed:
        if role in s.data.get(lang, {}):
            continue
        default = task.default_source(lang, role)
        where = _phrase(default) if default is not None else f"none: give it (--data {lang}:{role}=FILE)"
        lines.append(f"#   {lang} {role}: {where}")
    if all(role in s.data.get(lang, {}) for lang, role in needed):
        lines.append("#   (none: every split a trial reads is given below)")
    if s.data:
        lines.append("data:")
        for lang, roles in s.data.items():
            lines.append(f"  {lang}:")
            lines += [f"    {role}: {_source_entry(where)}" for role, where in roles.items()]
    else:
        lines.append("data: {}")
    lines += [
        "",
        _c("subsample:", "examples per language, drawn with search.seed"),
        _c("  train: 20000", "training examples per source language (all if it has fewer)"),
        _c("  dev: 200", "dev examples per language; selection.few_shot_examples of each"),
        _c("", "  target's are held out for the few_shot_target rule"),
        "",
        "search:",
        _c("  algorithm: grid", "every combination of the lists (optuna_tpe samples num_samples)"),
        _c(f"  lr: {_flow([f'{lr:.1e}' for lr in lrs])}", f"the {family.name} family's usual range"),
        _c("  methods:", "full, freeze_dec_emb, adapters, prompt_tuning, mix_target, multi_source"),
        *[f"    {method}: {{}}" for method in s.methods],
        _c("  intermediate_tuning: [none]", "or language-model training settings (see the guide)"),
        "  seed: 0",
        "",
        "training:",
        _c("  steps_per_round: 100", "optimizer steps between two evaluations"),
        _c("  rounds: 3", "evaluations of each trial"),
        "  batch_size: 8",
        _c("  max_input_length: 512", "tokens of an input"),
        _c(f"  max_output_length: {OUTPUT_TOKENS.get(s.task, 64)}", "tokens of an output"),
        "",
        _c("scheduler: none", "every trial runs to the end; asha stops weak ones early"),
        "selection:",
        _c("  few_shot_examples: 20", "labeled dev examples per target held out (few_shot_target)"),
        "budget:",
        _c(f"  max_trials: {trials}", f"the grid: {len(lrs)} LRs x {len(s.methods)} method(s)"),
        _c("storage: ~/xlsearch_results", "sweeps are written to STORAGE/NAME"),
        "",
    ]
    return "\n".join(lines)


def write_starter(s: Starter) -> tuple[str, Any]:
    """The spec checked, then written; ``(text, the parsed spec)``. Raises :class:`StarterError`."""
    import yaml

    from xlsearch.checks import parse_spec
    from xlsearch.spec import SpecError, SpecLoader

    text = spec_text(s)
    raw = yaml.load(text, Loader=SpecLoader)  # noqa: S506 - SpecLoader is a SafeLoader
    try:
        spec = parse_spec(raw, base_dir=s.output.parent.resolve(), source=str(s.output))
    except SpecError as err:
        hint = ""
        if err.value is None and re.fullmatch(r"data\.[A-Za-z-]+\.(train|dev|unlabeled)", err.field):
            _, lang, role = err.field.split(".")
            hint = f" (xlsearch new --data {lang}:{role}=FILE)"
        raise StarterError(f"{err}{hint}") from None
    tmp = s.output.with_name(f".{s.output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, s.output)
    return text, spec


def next_steps(s: Starter, spec: Any) -> str:
    """What ``xlsearch new`` prints once the file is written."""
    from xlsearch.space import planned_trials

    out = str(s.output)
    return "\n".join([
        f"wrote {out}: {spec.task}, {spec.model}, {', '.join(spec.source_languages)} -> "
        f"{', '.join(spec.target_languages)}, {spec.search.algorithm} of {planned_trials(spec)} trials "
        f"(methods: {', '.join(spec.search.methods)})",
        "checked: the spec (its keys, the model and its languages, every split having a source); next:",
        f"  xlsearch validate {out}    # reads the data it names (hub defaults: metadata only)",
        f"  xlsearch estimate {out}    # the sweep's time and disk, from a real short trial",
        f"  xlsearch run {out}         # the sweep; then: xlsearch analyze {spec.sweep_dir}",
    ])
