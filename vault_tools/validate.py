"""``vault-tools validate``: every claim the notes make, with its verdict; confident-but-wrong notes first."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from vault_tools.records import record

if TYPE_CHECKING:  # claims and the pipeline are imported when the command runs
    from vault_tools.claims.evaluate import ClaimResult


@record
class NoteClaims:
    path: str
    confident: bool
    claims: tuple[ClaimResult, ...]

    @property
    def wrong(self) -> int:
        return sum(c.verdict == "wrong" for c in self.claims)


def _resolver(index: Mapping[str, Mapping[str, Any]]) -> Callable[[str], Mapping[str, Any] | None]:
    from vault_tools.pipeline.batch import reference_key

    def resolve(name: str) -> Mapping[str, Any] | None:
        return index.get(reference_key(name))

    return resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="notes or folders (default: the current one)"
    )
    parser.add_argument("--json", action="store_true", help="print {claims: [...]} as JSON")
    parser.add_argument("--strict", action="store_true", help="fail on wrong implicit claims too")


def run(args: argparse.Namespace) -> int:
    from vault_tools.claims.evaluate import evaluate_claims, high_confidence
    from vault_tools.pipeline import batch, files
    from vault_tools.pipeline.engine import Options, note_context
    from vault_tools.pipeline.registry import processors
    from vault_tools.pipeline.runner import display_path, iter_notes
    from vault_tools.pipeline.text import decode_note

    # A check pass first: it fills the cache, and with it the index of notes that hold a model-spec.
    checked = batch.run(args.paths, mode="check", indexes=True)
    indexes = checked.indexes
    kinds = tuple(kind for proc in processors().values() for kind in proc.kinds)
    notes: list[NoteClaims] = []
    errors = list(checked.errors)
    for item in iter_notes(args.paths):
        if isinstance(item, str):
            continue
        path, config = item
        index = indexes.get(config.root, {})
        try:
            note = decode_note(files.read_note(path)[0])
            options = Options(resolve_model=_resolver(index))
            context = note_context(
                note.text, path=display_path(path), config=config, kinds=kinds, options=options
            )
        except (OSError, ValueError) as exc:
            errors.append(f"{display_path(path)}:{getattr(exc, 'line', None) or 1}: {exc}")
            continue
        try:
            claims = tuple(evaluate_claims(context))
        except Exception as exc:  # a bug or a plug-in's: this note is reported, the others still are
            errors.append(f"{display_path(path)}:1: cannot read its claims: {type(exc).__name__}: {exc}")
            continue
        if claims:
            notes.append(NoteClaims(context.path, high_confidence(context.frontmatter), claims))
    # What a vault owner fixes first: notes that claim high confidence but hold wrong numbers.
    notes.sort(key=lambda n: (not (n.confident and n.wrong), not n.wrong, n.path))
    failing = any(
        c.verdict == "wrong" and (args.strict or c.kind == "explicit") for n in notes for c in n.claims
    )
    if args.json:
        print(json.dumps(_json(notes, errors), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(_text(notes, errors))
    return 1 if failing or errors else 0


def _json(notes: list[NoteClaims], errors: list[str]) -> Mapping[str, Any]:
    return {
        "claims": [
            {
                "path": n.path,
                "line": c.line,
                "text": c.text,
                "stated": c.stated,
                "computed": c.computed,
                "computed_full": c.computed_full,
                "verdict": c.verdict,
                "kind": c.kind,
                "message": c.message,
                "high_confidence_note": n.confident,
            }
            for n in notes
            for c in n.claims
        ],
        "errors": errors,
    }


def _text(notes: list[NoteClaims], errors: list[str]) -> str:
    from vault_tools.pipeline.text import display_width

    out: list[str] = [f"{e}\n" for e in errors]
    for n in notes:
        flag = " — high confidence, but wrong claims" if n.confident and n.wrong else ""
        out.append(f"\n{n.path}{flag}\n")
        rows = [("line", "claim", "stated", "computed", "verdict")]
        for c in n.claims:
            computed = c.computed or "—"
            if c.computed_full and c.computed_full != c.computed:
                computed += f" ({c.computed_full})"
            verdict = c.verdict + (f": {c.message}" if c.message else "")
            rows.append((str(c.line), _short(c.text), c.stated, computed, verdict))
        widths = [max(display_width(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            cells = "  ".join(t + " " * (w - display_width(t)) for t, w in zip(r[:4], widths, strict=True))
            out.append(f"  {cells}  {r[4]}\n")
    total = sum(len(n.claims) for n in notes)
    wrong = sum(n.wrong for n in notes)
    unverified = sum(c.verdict == "unverified" for n in notes for c in n.claims)
    ok = total - wrong - unverified
    out.append(
        f"\nvault-tools validate: {total} claims in {len(notes)} notes: "
        f"{ok} ok, {wrong} wrong, {unverified} unverified\n"
    )
    return "".join(out)


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
