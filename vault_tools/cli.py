"""The ``vault-tools`` command line: argument parsing and exit codes, nothing else."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from vault_tools import __version__
from vault_tools.errors import VaultToolsError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so ``main`` maps every outcome to an exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vault-tools", description="Keep the numbers in an ML knowledge vault true.")
    parser.add_argument("--version", action="version", version=f"vault-tools {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    from vault_tools import calc, commands, validate

    commands.add_arguments(
        sub.add_parser("refresh", help="recompute and rewrite managed regions, changelog, status"),
        command="refresh",
    )
    commands.add_arguments(
        sub.add_parser("check", help="like refresh, but write nothing; fail if stale"), command="check"
    )
    validate.add_arguments(
        sub.add_parser("validate", help="report every claim the notes make, with its verdict")
    )
    calc.add_arguments(sub.add_parser("calc", help="the core on one model: parameters, memory, compute"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 problems found, 2 bad input or usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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
