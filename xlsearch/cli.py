"""The ``xlsearch`` command line.

Every subcommand checks its input first: a bad spec or argument prints one line naming the
field, the value and what is allowed, and exits with code 2 before any compute starts.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad command-line input; rendered as one line, exit code 2."""


def _fail(message: str) -> int:
    print(f"xlsearch: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_validate(args: argparse.Namespace) -> int:
    from xlsearch.spec import SpecError, load_spec, planned_trials

    status = 0
    for path in args.specs:
        try:
            spec = load_spec(path)
        except SpecError as err:
            print(f"xlsearch: error: {err}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        methods = ", ".join(spec.search.methods)
        print(f"{path}: ok ({spec.task}, {spec.model}, {spec.search.algorithm}, "
              f"{planned_trials(spec)} trials, methods: {methods})")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlsearch",
        description="Hyperparameter search for zero-shot cross-lingual transfer in generative tasks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check sweep specs; exit 2 on the first problem of each")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.set_defaults(func=cmd_validate)
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
