"""The ``vault-tools`` command line: argument parsing and exit codes, nothing else."""

from __future__ import annotations

import argparse
import json
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

    calc = sub.add_parser("calc", help="the parameter core on one model")
    calc.add_argument("target", nargs="?", help="preset name (llama-7b), or a config.json / YAML spec path")
    calc.add_argument("--json", action="store_true", help="print JSON instead of a table")
    calc.add_argument("--list", action="store_true", help="list the built-in presets")
    calc.add_argument(
        "--exact", action="store_true", help="also count with transformers on the meta device (needs [oracle])"
    )
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
        if args.command == "calc":
            return _calc(args)
    except VaultToolsError as exc:
        print(f"vault-tools: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command!r}")


def _calc(args: argparse.Namespace) -> int:
    from vault_tools.calc import calc_json, load_target, render_params_text
    from vault_tools.core.params import count_params

    if args.list:
        from vault_tools.core.presets import presets

        for key, preset in presets().items():
            aliases = f"  (aliases: {', '.join(preset.aliases)})" if preset.aliases else ""
            print(f"{key:24} {preset.title}{aliases}")
        return EXIT_OK
    if args.target is None:
        raise VaultToolsError("calc needs a TARGET: a preset name such as 'llama-7b', or a config.json path")
    spec = load_target(args.target)
    exact = None
    if args.exact:
        from vault_tools.exact import meta_device_count

        exact = meta_device_count(spec)
    if args.json:
        payload = calc_json(spec)
        if exact is not None:
            payload["params"]["exact_meta_device"] = exact
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return EXIT_OK
    sys.stdout.write(render_params_text(spec, count_params(spec)))
    if exact is not None:
        total = count_params(spec).total
        verdict = "matches" if exact == total else f"differs by {exact - total:+,}"
        print(f"transformers meta-device count: {exact:,} ({verdict})")
    return EXIT_OK
