"""``vault-tools calc``: the core on one model, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_tools.errors import SpecError, VaultToolsError
from vault_tools.fmt import grouped, human_count, percent, share, text_table

if TYPE_CHECKING:  # the core is imported when a command runs, not when the parser is built
    from vault_tools.core.params import ParamCount
    from vault_tools.core.spec import ModelSpec

_FILE_SUFFIXES = (".json", ".yaml", ".yml")


def load_target(target: str) -> ModelSpec:
    """A spec from a preset name, a ``config.json`` / YAML spec file, or a model folder holding a
    ``config.json``."""
    from vault_tools.core.presets import get_preset, spec_from_mapping

    if not target.strip():
        raise VaultToolsError("no model given; name a preset (see --list) or a config.json / YAML spec")
    path = Path(target)
    if path.is_dir():
        # A downloaded model's folder (./gpt2/, as HF names them) holds its config.json; a folder without
        # one is no spec, and a preset of that name is what was meant.
        if (path / "config.json").is_file():
            return _spec_from_file(path / "config.json")
    elif path.suffix.lower() in _FILE_SUFFIXES or path.exists():
        return _spec_from_file(path)
    try:
        preset = get_preset(target)
        return spec_from_mapping({"preset": preset.key})
    except SpecError as exc:
        raise VaultToolsError(str(exc)) from None


def _spec_from_file(path: Path) -> ModelSpec:
    import yaml

    from vault_tools.core.presets import spec_from_mapping

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise VaultToolsError(
            "no such file; give a preset name or a config.json / YAML spec", str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VaultToolsError(f"cannot read: {exc}", str(path)) from None
    try:
        # YAML is a superset of JSON, but JSON's own parser gives better messages for JSON files.
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise VaultToolsError(f"invalid JSON: {exc.msg}", str(path), exc.lineno) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise VaultToolsError(f"invalid YAML: {getattr(exc, 'problem', exc)}", str(path), line) from None
    try:
        return spec_from_mapping(raw, name=path.stem if path.name != "config.json" else path.parent.name)
    except SpecError as exc:
        raise VaultToolsError(f"model-spec: {exc}", str(path)) from None


def params_json(count: ParamCount) -> dict[str, Any]:
    """The ``params`` section of ``calc --json``."""
    return {
        "total": count.total,
        "active": count.active,
        "breakdown": count.breakdown,
        "formulas": count.formulas,
        "symbols": count.symbols,
        "approximations": [
            {
                "label": a.label,
                "formula": a.formula,
                "value": a.value,
                "error": a.error,
                "relative_error": round(a.relative_error, 6),
            }
            for a in count.approximations
        ],
    }


def model_json(spec: ModelSpec, count: ParamCount) -> dict[str, Any]:
    return {
        "name": spec.name,
        "model_type": spec.model_type,
        "architecture": spec.architecture,
        "head": count.head,
        "generic": spec.generic,
        "hidden_size": spec.hidden_size,
        "num_layers": spec.num_layers,
        "decoder_layers": spec.decoder_layers,
        "num_heads": spec.num_heads,
        "num_kv_heads": spec.num_kv_heads,
        "head_dim": spec.head_dim,
        "intermediate_size": spec.intermediate_size,
        "vocab_size": spec.vocab_size,
        "tie_word_embeddings": spec.tie_word_embeddings,
    }


def calc_json(spec: ModelSpec, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``calc --json``: model, params, and the ``memory`` / ``compute`` sections under ``options``."""
    from vault_tools.core.params import count_params
    from vault_tools.core.report import memory_json, memory_report

    count = count_params(spec)
    payload = {"model": model_json(spec, count), "params": params_json(count), "notes": list(spec.notes)}
    return payload | memory_json(memory_report(spec, count, options))


def render_params_text(spec: ModelSpec, count: ParamCount) -> str:
    """A plain-text table: components with formula, count and share; approximations; totals."""
    from vault_tools.core.formulas import describe_symbols

    total = count.total
    rows = [("component", "formula", "parameters", "share")]
    formulas = count.formulas
    for component, value in count.breakdown.items():
        rows.append((component, formulas[component], grouped(value), share(value, total)))
    rows.append(("total", "", grouped(total), "100.0%"))
    lines = [f"{spec.name or spec.model_type} ({spec.family.label}, head: {count.head})", ""]
    lines += text_table(rows, right=(2, 3), rule=True)
    lines.append(describe_symbols(count.symbols))
    lines.append("")
    lines.append(f"total:  {grouped(total)} ({human_count(total)})")
    lines.append(f"active: {grouped(count.active)} ({human_count(count.active)}) per token")
    lines.append("")
    approx_rows = [("seed approximation", "formula", "estimate", "error")]
    for a in count.approximations:
        approx_rows.append((a.label, a.formula, f"{a.value / 1e9:.2f}B", percent(a.relative_error)))
    lines += text_table(approx_rows, right=(2, 3), rule=True)
    for note in spec.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``vault-tools calc``."""
    parser.add_argument("target", nargs="?", help="preset name (llama-7b), or a config.json / YAML spec path")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--list", action="store_true", help="list the built-in presets")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="also count with transformers on the meta device (needs [oracle])",
    )
    from vault_tools.calc_memory import add_memory_arguments

    add_memory_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run ``calc``; bad input raises ``VaultToolsError`` (exit 2 in the CLI)."""
    if args.list:
        from vault_tools.core.presets import presets

        for key, preset in presets().items():
            aliases = f"  (aliases: {', '.join(preset.aliases)})" if preset.aliases else ""
            print(f"{key:24} {preset.title}{aliases}")
        return 0
    if args.target is None:
        raise VaultToolsError("calc needs a TARGET: a preset name such as 'llama-7b', or a config.json path")
    spec = load_target(args.target)
    from vault_tools.calc_memory import memory_options, render_memory_text
    from vault_tools.core.params import count_params

    count = count_params(spec)
    from vault_tools.core.report import memory_report

    options = memory_options(args, args.target)
    try:
        report = memory_report(spec, count, options)
    except ValueError as exc:
        raise VaultToolsError(str(exc)) from None
    exact = None
    if args.exact:
        from vault_tools.exact import explain_difference, meta_device_count

        exact = meta_device_count(spec)
    if args.json:
        payload = calc_json(spec, options)
        if exact is not None:
            payload["params"]["exact_meta_device"] = exact
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    sys.stdout.write(render_params_text(spec, count))
    if exact is not None:
        verdict = "matches" if exact == count.total else f"differs by {exact - count.total:+,}"
        verdict += explain_difference(spec, exact - count.total)
        print(f"transformers meta-device count: {exact:,} ({verdict})")
    sys.stdout.write(render_memory_text(report, count.total))
    return 0
