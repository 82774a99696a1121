"""The ``vault-tools`` command line: argument parsing and exit codes, nothing else."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from vault_tools import __version__
from vault_tools.errors import VaultToolsError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, without importing shutil (and bz2, lzma) on every run for the width.

    argparse builds a formatter for each ``add_argument`` to check its arguments, and the stock one asks
    ``shutil.get_terminal_size`` for its width: the same rule is written out here (``COLUMNS``, else the
    terminal's width, else 80, less 2 as argparse takes).
    """

    def __init__(self, prog: str, **options: Any) -> None:
        if options.get("width") is None:
            options["width"] = _terminal_columns() - 2
        super().__init__(prog, **options)


def _terminal_columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so ``main`` maps every outcome to an exit code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


_COMMANDS = {
    "refresh": "recompute and rewrite managed regions, changelog, status",
    "check": "like refresh, but write nothing; fail if stale",
    "validate": "report every claim the notes make, with its verdict",
    "calc": "the core on one model: parameters, memory, compute",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, only that command gets its arguments (other modules stay unimported)."""
    parser = _Parser(prog="vault-tools", description="Keep the numbers in an ML knowledge vault true.")
    parser.add_argument("--version", action="version", version=f"vault-tools {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in _COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if only is not None and name != only:
            continue
        if name in ("refresh", "check"):
            from vault_tools import commands

            commands.add_arguments(command, command=name)
        elif name == "validate":
            from vault_tools import validate

            validate.add_arguments(command)
        else:
            from vault_tools import calc

            calc.add_arguments(command)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv`` names (its first word that is not an option), if it is one."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return word if word in _COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 problems found, 2 bad input or usage)."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_in(words))
    try:
        args = parser.parse_args(words)
    except _UsageError as exc:
        parser.print_usage(sys.stderr)
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    try:
        if args.command in ("refresh", "check"):
            from vault_tools import commands

            return commands.run_refresh(args) if args.command == "refresh" else commands.run_check(args)
        if args.command == "validate":
            from vault_tools import validate

            return validate.run(args)
        if args.command == "calc":
            from vault_tools.calc import run

            return run(args)
    except VaultToolsError as exc:
        print(f"vault-tools: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `vault-tools calc llama-7b | head`: the reader left; say nothing more, like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    raise AssertionError(f"unhandled command {args.command!r}")
