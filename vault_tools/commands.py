"""``refresh`` and ``check``: the vault pipeline from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pipeline is imported when a command runs, not when the parser is built
    from vault_tools.pipeline.runner import RunReport


def add_arguments(parser: argparse.ArgumentParser, *, command: str) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="notes or folders (default: the current one)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    parser.add_argument(
        "--workers", type=_positive, default=None, help="worker processes (default: the CPU count)"
    )
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not update .vault-tools/cache")
    if command == "refresh":
        parser.add_argument("--force", action="store_true", help="overwrite managed regions edited by hand")
        parser.add_argument("--diff", action="store_true", help="show what would change; write nothing")


def _positive(text: str) -> int:
    """A count of at least 1 (a usage error otherwise, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def run_refresh(args: argparse.Namespace) -> int:
    from vault_tools.pipeline.batch import run

    report = run(
        args.paths,
        mode="diff" if args.diff else "refresh",
        force=args.force,
        workers=args.workers,
        use_cache=not args.no_cache,
    )
    if args.json:
        _print_json(report, "refresh")
    else:
        for message in _messages(report):
            print(message)
        for file in report.files:
            if file.diff:
                sys.stdout.write(file.diff)
        verb = "would change" if args.diff else "changed"
        print(
            f"vault-tools refresh: {report.scanned} notes scanned, {report.changed} {verb}, "
            f"{report.failed} failed"
        )
    return 1 if report.failed else 0


def run_check(args: argparse.Namespace) -> int:
    from vault_tools.pipeline.batch import run

    report = run(args.paths, mode="check", workers=args.workers, use_cache=not args.no_cache)
    bad = [
        f
        for f in report.files
        if f.failed or any(p.severity in ("stale", "wrong", "error") for p in f.problems)
    ]
    if args.json:
        _print_json(report, "check")
    else:
        for message in _messages(report):
            print(message)
        if bad or report.errors:
            # Paths that are no notes (missing, not Markdown, a bad config) are said apart from the notes.
            others = f"; {len(report.errors)} paths could not be checked" if report.errors else ""
            print(f"vault-tools check: {len(bad)} of {report.scanned} notes need attention{others}")
    return 1 if bad or report.errors else 0


def _messages(report: RunReport) -> list[str]:
    out = list(report.errors)
    for file in report.files:
        out += file.messages()
    return out


def _print_json(report: RunReport, command: str) -> None:
    payload: dict[str, Any] = {
        "command": command,
        "scanned": report.scanned,
        "changed": report.changed,
        "failed": report.failed,
        "errors": report.errors,
        "notes": [
            {
                "path": f.path,
                "changed": f.changed,
                "written": f.written,
                "failed": f.failed,
                "changes": list(f.changes),
                "status": f.status,
                "problems": [
                    {"line": p.line, "message": p.message, "severity": p.severity} for p in f.problems
                ],
            }
            for f in report.files
        ],
    }
    print(json.dumps(payload, indent=2, ensure_ascii=False))
