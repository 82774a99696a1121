"""Cut a note's body into the pieces claims can live in: prose lines, table rows, code comments, claims lines.

Fenced code is skipped except its comments (``# Mixtral 8x7B: 47B total`` is a claim); ``model-spec`` and
other data fences are skipped whole; managed regions (the tool's own output) and the changelog section are
skipped so the tool never checks what it wrote.  Lines without a digit are dropped early: that one test keeps
a large vault fast.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

SegmentKind = Literal["prose", "row", "comment", "claims"]

_QUOTE_PREFIX_RE = re.compile(r"^[ \t]*(?:>[ \t]?)*")
_QUOTE_STARTS = (" ", "\t", ">")  # the first character of any line _QUOTE_PREFIX_RE strips something from
_FENCE_RE = re.compile(r"^(?P<prefix>[ \t]*(?:>[ \t]?)*[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*)$")
# A heading that is the changelog ("Changelog", "🕓 Changelog", "변경 이력"), not one that mentions it.
_CHANGELOG_RE = re.compile(r"^[^\w]*(?:change\s?log|변경\s?(?:이력|내역|기록))\s*$", re.IGNORECASE)
_SEPARATOR_ROW_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$|^\s*\|\s*:?-+:?\s*\|\s*$")
_DIGIT_RE = re.compile(r"\d")
_REGION_BEGIN = "<!-- vault-tools:begin"
_REGION_END = "<!-- vault-tools:end"
# Fences whose content is data or generated text, never prose with comments.
_SKIP_FENCES = frozenset({"model-spec", "json", "csv", "tsv", "text", "txt", "math", "mermaid", "dataview"})
_HASH_COMMENTS = frozenset({"python", "py", "bash", "sh", "shell", "zsh", "yaml", "yml", "toml", "r", "ruby"})
_SLASH_COMMENTS = frozenset({"js", "javascript", "ts", "typescript", "c", "cpp", "c++", "cuda", "java", "go"})
_SLASH_COMMENTS |= {"rust", "rs", "swift", "kotlin", "scala", "jsonc"}
_DASH_COMMENTS = frozenset({"sql", "lua", "haskell", "hs"})


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of a note that may hold claims.

    ``text`` is the line without its blockquote prefix (prose, rows, claims lines) or the comment's text
    (comments, where ``code`` is the code before the comment).  Rows carry their cells as spans of ``text``
    and the header cells of their table.
    """

    line: int  # 1-based line in the note
    kind: SegmentKind
    text: str
    code: str = ""
    cells: tuple[tuple[int, int], ...] = ()
    header: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fence:
    """A fenced block: its info word, opening and closing lines (1-based), and its container prefix."""

    lang: str
    line: int
    end_line: int
    prefix: str


def split_lines(text: str) -> Sequence[str]:
    """Lines as the pipeline numbers them: split on ``\\n`` only; ``\\r`` endings and a BOM dropped.

    A final newline ends the last line; it does not start an empty one.  The claims code asks this of
    the same note several times (scan, frontmatter claims, own spec, region shift): it is remembered.
    """
    return _split_lines(text)


@functools.lru_cache(maxsize=4)
def _split_lines(text: str) -> tuple[str, ...]:
    body = text.removeprefix("\ufeff")
    lines = body.split("\n")
    if "\r" in body:
        lines = [line.removesuffix("\r") for line in lines]
    return tuple(lines[:-1] if len(lines) > 1 and not lines[-1] else lines)


def scan(text: str, body_start_line: int = 1) -> tuple[list[Segment], list[Fence]]:
    """The segments of the body that may hold claims, and every fenced block found on the way."""
    segments, fences = _scan_once(text, body_start_line)
    return list(segments), list(fences)


# The claims processor scans a note for its claims and again to place its region: scan it once.
@functools.lru_cache(maxsize=8)
def _scan_once(text: str, body_start_line: int) -> tuple[tuple[Segment, ...], tuple[Fence, ...]]:
    segments, fences = _scan(text, body_start_line)
    return tuple(segments), tuple(fences)


def _scan(text: str, body_start_line: int) -> tuple[list[Segment], list[Fence]]:
    lines = split_lines(text)
    segments: list[Segment] = []
    fences: list[Fence] = []
    i = max(body_start_line, 1) - 1
    skip_level = 0  # inside a changelog section: the heading level that ends it
    # Most lines are plain prose: cheap substring tests decide before any regex runs.
    n = len(lines)
    while i < n:
        raw = lines[i]
        body = _unquote(raw) if raw[:1] in _QUOTE_STARTS else raw
        stripped = body.strip()
        if not stripped:
            i += 1
            continue
        fence = _FENCE_RE.match(raw) if ("```" in raw or "~~~" in raw) else None
        if fence is not None and not (fence["fence"][0] == "`" and "`" in fence["info"]):
            i = _fence(lines, i, fence, segments, fences)
            continue
        if stripped.startswith(_REGION_BEGIN):
            while i < len(lines) and _REGION_END not in lines[i]:
                i += 1
            i += 1
            continue
        heading = _HEADING_RE.match(stripped) if stripped[0] == "#" else None
        if heading is not None:
            level = len(heading.group(1))
            if skip_level and level <= skip_level:
                skip_level = 0
            if _CHANGELOG_RE.match(heading.group(2)):
                skip_level = level
        if skip_level:
            i += 1
            continue
        if "|" in stripped and i + 1 < len(lines) and _SEPARATOR_ROW_RE.match(_unquote(lines[i + 1])):
            i = _table(lines, i, segments)
            continue
        if _DIGIT_RE.search(body) and not stripped.startswith("<!--"):
            segments.append(Segment(i + 1, "prose", body))
        i += 1
    return segments, fences


def _unquote(line: str) -> str:
    return line[_QUOTE_PREFIX_RE.match(line).end() :]  # type: ignore[union-attr]  # matches ""


def _fence(
    lines: Sequence[str], i: int, fence: re.Match[str], segments: list[Segment], fences: list[Fence]
) -> int:
    """Consume the fenced block opening at line ``i``; return the index of the line after it."""
    marker = fence["fence"]
    lang = (fence["info"].strip().split() or [""])[0].lower()
    closing = re.compile(rf"^[ \t]*(?:>[ \t]?)*[ \t]*{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
    j = i + 1
    while j < len(lines) and not closing.match(lines[j]):
        j += 1
    end = min(j, len(lines) - 1)
    fences.append(Fence(lang, i + 1, end + 1, fence["prefix"]))
    for k in range(i + 1, min(j, len(lines))):
        content = _unquote(lines[k])
        if lang == "claims":
            if content.strip() and not content.lstrip().startswith(("#", "//")):
                segments.append(Segment(k + 1, "claims", content.strip()))
        elif lang not in _SKIP_FENCES and _DIGIT_RE.search(content):
            split = split_comment(content, lang)
            if split is not None and _DIGIT_RE.search(split[1]):
                segments.append(Segment(k + 1, "comment", split[1], code=split[0]))
    return j + 1


def split_comment(line: str, lang: str) -> tuple[str, str] | None:
    """``(code, comment text)`` of a code line, or ``None`` when it has no comment (strings respected)."""
    if lang in _HASH_COMMENTS:
        markers: tuple[str, ...] = ("#",)
    elif lang in _SLASH_COMMENTS:
        markers = ("//",)
    elif lang in _DASH_COMMENTS:
        markers = ("--",)
    else:
        markers = ("#", "//")
    first = min((k for k in (line.find(marker) for marker in markers) if k >= 0), default=-1)
    if first < 0:
        return None
    if not any(q in line[:first] for q in "\"'`"):
        marker = next(m for m in markers if line.startswith(m, first))
        return line[:first], line[first + len(marker) :].strip()
    quote = ""
    k = 0
    while k < len(line):
        char = line[k]
        if quote:
            if char == "\\":
                k += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        else:
            for marker in markers:
                if line.startswith(marker, k):
                    return line[:k], line[k + len(marker) :].strip()
        k += 1
    return None


def _table(lines: Sequence[str], i: int, segments: list[Segment]) -> int:
    """Consume a GFM table whose header is line ``i``; return the index of the line after it."""
    header_text = _unquote(lines[i])
    header = tuple(header_text[a:b].strip() for a, b in cell_spans(header_text))
    j = i + 2
    while j < len(lines):
        row = _unquote(lines[j])
        if not row.strip() or "|" not in row:
            break
        if _DIGIT_RE.search(row):
            segments.append(Segment(j + 1, "row", row, cells=tuple(cell_spans(row)), header=header))
        j += 1
    return j


def cell_spans(row: str) -> list[tuple[int, int]]:
    """Spans of a table row's cells; ``\\|`` and pipes inside ``[[...]]`` or code spans do not split."""
    if "\\" not in row and "`" not in row and "[[" not in row:
        # Nothing can hide a pipe: every pipe splits.
        bounds = []
        k = row.find("|")
        while k >= 0:
            bounds.append(k)
            k = row.find("|", k + 1)
        return _spans(row, bounds)
    depth = 0
    code = False
    k = 0
    bounds = []
    while k < len(row):
        char = row[k]
        if char == "\\":
            k += 2
            continue
        if char == "`":
            code = not code
        elif row.startswith("[[", k):
            depth += 1
            k += 1
        elif row.startswith("]]", k) and depth:
            depth -= 1
            k += 1
        elif char == "|" and not code and not depth:
            bounds.append(k)
        k += 1
    return _spans(row, bounds)


def _spans(row: str, bounds: list[int]) -> list[tuple[int, int]]:
    edges = [-1, *bounds, len(row)]
    spans = [(a + 1, b) for a, b in itertools.pairwise(edges)]
    # The outer pipes are optional in GFM: drop the empty pieces outside them, keep empty inner cells.
    if spans and not row[spans[0][0] : spans[0][1]].strip():
        spans = spans[1:]
    if spans and not row[spans[-1][0] : spans[-1][1]].strip():
        spans = spans[:-1]
    return spans
