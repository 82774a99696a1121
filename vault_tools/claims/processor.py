"""The ``claims`` processor: a "Verification" region with each claim's verdict, for notes that make claims."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from vault_tools.claims.evaluate import ClaimResult, changelog_headings, claim_lines, evaluate_claims
from vault_tools.claims.scan import bare_line, ended_lines, scan_rows
from vault_tools.pipeline.model import NoteContext, Problem, Rendered
from vault_tools.pipeline.regions import regions_in
from vault_tools.pipeline.render import render

REGION_ID = "verification"
TEMPLATE = "verification.md.j2"
_DIGIT_RE = re.compile(r"\d")


class ClaimsProcessor:
    """Check every claim of a note and write the verdicts after its ```claims block (or at its end)."""

    name: str = "claims"
    kinds: tuple[str, ...] = ("claims",)
    cites_lines: bool = True  # the verdict table quotes each claim's line

    def wants(self, text: str) -> bool:
        """Cheap prefilter: a note without a digit states no number."""
        return bool(_DIGIT_RE.search(text))

    def cited_lines(self, note: NoteContext) -> list[int]:
        """The lines this note's Verification table would cite (``Rendered.cites``), found cheaply."""
        return claim_lines(note)

    def process(self, note: NoteContext) -> Sequence[Rendered | Problem]:
        """The Verification region, then a problem per wrong claim and per claims line that does not parse."""
        results = evaluate_claims(note)
        if not results:
            return ()
        anchor, prefix = _anchor(note)
        rows = [_row(result) for result in results]
        text, key = _render(note, results, rows)
        # The region shifts the claims written after it; number them as they will read once it is written.
        shift, after = _shift(note, anchor, text.count("\n") + 1)
        shown = [r.line + shift if shift and r.line > after else r.line for r in results]
        if shift:
            rows = [_row(r, line) for r, line in zip(results, shown, strict=True)]
            text, key = _render(note, results, rows)
        region = Rendered(
            region_id=REGION_ID,
            anchor_line=anchor,
            text=text,
            summary=MappingProxyType({"claims": summary(results)}),
            status=status(results),
            prefix=prefix,
            cites=tuple(zip((r.line for r in results), shown, strict=True)),
            memo_key=key,
        )
        # Problems cite the lines of the text as given: what `check` reports, before anything is written.
        return (region, *(problem for problem in map(_problem, results) if problem is not None))


def summary(results: Sequence[ClaimResult]) -> str:
    """Verdict counts for the changelog: ``3 ok, 1 wrong`` (``ok`` always, the others when present)."""
    counts = _counts(results)
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n or verdict == "ok")


def status(results: Sequence[ClaimResult]) -> str | None:
    """``failed`` when a claim is wrong, ``verified`` when at least one holds, else no opinion."""
    counts = _counts(results)
    if counts["wrong"]:
        return "failed"
    if counts["ok"]:
        return "verified"
    return None


def _counts(results: Sequence[ClaimResult]) -> dict[str, int]:
    counts = dict.fromkeys(("ok", "wrong", "unverified"), 0)
    for result in results:
        counts[result.verdict] += 1
    return counts


def headline(results: Sequence[ClaimResult]) -> tuple[str, str]:
    """The callout type and its title."""
    total = len(results)
    counts = _counts(results)
    wrong, unverified = counts["wrong"], counts["unverified"]
    noun = "claim" if total == 1 else "claims"
    if wrong:
        return "failure", f"{wrong} of {total} {noun} {'is' if wrong == 1 else 'are'} wrong"
    if unverified == total:
        return "question", f"No claim could be checked ({total} unverified)"
    if unverified:
        checked = total - unverified
        held = "claim holds" if checked == 1 else "claims hold"
        return "success", f"All {checked} checked {held} ({unverified} unverified)"
    return "success", "The claim holds" if total == 1 else f"All {total} claims hold"


def _row(result: ClaimResult, line: int | None = None) -> dict[str, Any]:
    computed = result.computed or "—"
    if result.computed_full and result.computed_full != result.computed:
        computed = f"{computed} ({result.computed_full})"
    return {
        "line": result.line if line is None else line,
        "claim": _code(result.text),
        "stated": result.stated or "—",
        "computed": computed,
        "verdict": result.verdict,
        "message": result.message,
    }


def _code(text: str) -> str:
    """``text`` as a code span (keeps wikilinks in claims from adding links to the vault's graph)."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _render(note: NoteContext, results: Sequence[ClaimResult], rows: list[dict[str, Any]]) -> tuple[str, str]:
    """The region's text for ``rows`` and its memo key (the text comes from the note when it holds it)."""
    callout, title = headline(results)
    # JSON of the values (ints and strings): as exact as a repr of the rows, in half the time.
    values = [list(row.values()) for row in rows]
    memo_key = json.dumps([REGION_ID, callout, title, values], ensure_ascii=False)
    reused = note.reuse(REGION_ID, memo_key)
    if reused is not None:
        return reused[0], memo_key
    return _render_rows(note.options.get("templates"), memo_key, callout, title, rows), memo_key


# Notes built from one template say the same things on the same lines: render each table once.
_RENDERED: dict[tuple[Any, str], str] = {}
_RENDERED_MAX = 256


def _render_rows(templates: Any, memo_key: str, callout: str, title: str, rows: list[dict[str, Any]]) -> str:
    """The region's text for ``rows``, remembered by ``memo_key`` (which the rows determine)."""
    text = _RENDERED.get((templates, memo_key))
    if text is None:
        wrong = [row for row in rows if row["verdict"] == "wrong"]
        text = render(TEMPLATE, templates, callout=callout, title=title, rows=rows, wrong=wrong)
        if len(_RENDERED) >= _RENDERED_MAX:
            del _RENDERED[next(iter(_RENDERED))]  # the oldest
        _RENDERED[templates, memo_key] = text
    return text


def _problem(result: ClaimResult) -> Problem | None:
    if result.kind == "explicit" and result.message.startswith(("cannot parse", "cannot compute")):
        return Problem(result.line, f"claims: {result.message}", "warning")
    if result.verdict != "wrong":
        return None
    full = f"; in full {result.computed_full}" if result.computed_full else ""
    message = f"wrong {result.kind} claim: {result.text}: {result.message}{full}"
    return Problem(result.line, message, "wrong" if result.kind == "explicit" else "warning")


def _anchor(note: NoteContext) -> tuple[int, str]:
    """After the first ```claims block (the pipeline's, else our own scan), or the end of the note."""
    for block in note.blocks:
        if block.kind == "claims":
            return block.end_line, block.prefix
    _rows, fences = scan_rows(note.text, note.body_start_line, note.edited_from, changelog_headings(note))
    for fence in fences:
        if fence.lang == "claims":
            return fence.end_line, fence.prefix
    return 0, ""


def _shift(note: NoteContext, anchor: int, inner: int) -> tuple[int, int]:
    """How far claims after the region move when it is written, and the line after which they move.

    ``inner`` counts the region's lines between its markers (the pipeline adds one summary line to the
    text).  An existing region is replaced in place; a new one is inserted after ``anchor`` with a blank
    line on each side where the neighbouring line is not blank (``pipeline.regions.apply_regions``).
    """
    try:
        # The regions the engine will find: markers shown inside a code fence are examples, not regions.
        existing = next((r for r in regions_in(note.text) if r.region_id == REGION_ID), None)
    except ValueError:  # broken markers: the engine reports them and writes nothing
        return 0, 0
    if existing is not None:
        return inner - (existing.end - existing.begin - 1), existing.end + 1
    lines = ended_lines(note.text)
    if anchor == 0 or anchor >= len(lines):
        return 0, 0
    blank_before = 0 if _blank(bare_line(lines[anchor - 1])) else 1
    blank_after = 0 if _blank(bare_line(lines[anchor])) else 1
    return blank_before + inner + 2 + blank_after, anchor


def _blank(line: str) -> bool:
    return not line.strip(" \t>")
