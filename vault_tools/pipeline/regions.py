"""Managed regions: generated text between marker comments, rewritten without touching anything else.

A region looks like this (each line may carry a blockquote or list prefix)::

    <!-- vault-tools:begin model-spec sha256=0123456789ab -->
    …generated Markdown…
    <!-- vault-tools:end model-spec -->

The checksum is the first 12 hex digits of the SHA-256 of the generated text (``"\\n"`` endings, prefix
removed), so a region someone edited by hand is noticed and not overwritten.
"""

from __future__ import annotations

import functools
import operator
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate, islice

from vault_tools.digests import sha256
from vault_tools.pipeline.model import Problem, Rendered
from vault_tools.pipeline.text import NoteSyntaxError, line_body, to_newline
from vault_tools.records import record

_MARKER = re.compile(r"(?P<prefix>[ \t>]*)<!-- vault-tools:(?P<what>begin|end)\b")
_BEGIN = re.compile(r"<!-- vault-tools:begin (?P<id>[^\s]+) sha256=(?P<sum>[0-9a-f]{12}) -->[ \t]*")
_END = re.compile(r"<!-- vault-tools:end (?P<id>[^\s]+) -->[ \t]*")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
# ``_MARKER`` at the start of any line of a text (``[ \t>]*`` cannot cross a line break).
_MARKER_LINE = re.compile(r"^[ \t>]*<!-- vault-tools:(?:begin|end)\b", re.MULTILINE)
_FENCE_TOKENS = ("```", "~~~")


@record
class Region:
    """A managed region: 0-based indices of its marker lines, the stored checksum, the container prefix."""

    region_id: str
    begin: int
    end: int
    checksum: str
    prefix: str


def checksum(text: str) -> str:
    """Return the 12-hex-digit checksum of generated text."""
    return sha256(_normalize(text).encode("utf-8")).hexdigest()[:12]


def _normalize(text: str) -> str:
    """Give generated text ``"\\n"`` endings and a final newline: the form that is checksummed."""
    text = text.replace("\r\n", "\n")
    return text if not text or text.endswith("\n") else text + "\n"


# The engine and the claims processor (which numbers the lines its region will move) ask this of the same
# note text: remember the last few.
@functools.lru_cache(maxsize=8)
def regions_in(text: str) -> tuple[Region, ...]:
    """``find_regions`` of a whole note's text (raises as it does), without splitting it into lines."""
    return tuple(_find(_token_lines(text)))


# A line ``_find`` may act on: one whose text after blockquote markers and indentation starts with a fence
# token (it may open or close a fence; ``_fence_after`` strips the same characters) or a marker (``_MARKER``
# matches there or nowhere).  The first line has no "\n" before it.
_TOKEN_LINE = re.compile(r"\n[ \t>]*(?:```|~~~|<!-- vault-tools:)")
_FIRST_TOKEN_LINE = re.compile(r"[ \t>]*(?:```|~~~|<!-- vault-tools:)")


def _token_lines(text: str) -> list[tuple[int, str]]:
    """(0-based index, line as ``split_lines`` gives it) of every line ``find_regions`` may act on.

    Any other line changes nothing: a line without a fence token or marker right after its prefix neither
    opens nor closes a fence, and ``_MARKER`` does not match it.  Found by one C-level search of the text,
    as a note holds a few dozen of them among hundreds of lines, and a Python test of each line cost more.
    """
    out: list[tuple[int, str]] = []
    if _FIRST_TOKEN_LINE.match(text):
        out.append((0, text[: text.find("\n") + 1 or len(text)]))
    index = previous = 0
    for hit in _TOKEN_LINE.finditer(text):
        start = hit.start() + 1
        index += text.count("\n", previous, start)
        previous = start
        out.append((index, text[start : text.find("\n", start) + 1 or len(text)]))
    return out


def find_regions(lines: Sequence[str]) -> list[Region]:
    """Find the managed regions; unbalanced, nested, duplicated or malformed markers raise."""
    return _find(enumerate(lines))


def _find(lines: Iterable[tuple[int, str]]) -> list[Region]:
    """``find_regions`` of numbered lines; lines it would pass over may be left out (``_token_lines``)."""
    regions: list[Region] = []
    first_line: dict[str, int] = {}
    opened: tuple[str, int, str, str] | None = None  # id, index, checksum, prefix
    fence: str | None = None  # the open code fence: markers shown inside code are examples, not regions
    for index, line in lines:
        # Only a fence line or a marker line can change anything (a fence closes on a fence line).
        if "vault-tools:" not in line and "```" not in line and "~~~" not in line:
            continue
        state = _fence_after(line, fence)
        if state is not _NO_FENCE:
            fence = state
            continue
        if "vault-tools:" not in line:
            continue
        body = line_body(line)
        marker = _MARKER.match(body)
        if marker is None:
            continue
        prefix, rest, here = marker["prefix"], body[marker.end("prefix") :], index + 1
        if marker["what"] == "begin":
            begin = _BEGIN.fullmatch(rest)
            if begin is None:
                raise NoteSyntaxError(
                    "malformed vault-tools:begin marker; expected '<!-- vault-tools:begin ID "
                    "sha256=<12 hex digits> -->' (delete the region to regenerate it)",
                    here,
                )
            if opened is not None:
                raise _unclosed(opened[0], opened[1])
            region_id = begin["id"]
            if region_id in first_line:
                raise NoteSyntaxError(
                    f"managed region {region_id!r} appears twice (first on line {first_line[region_id]}); "
                    "delete one of them",
                    here,
                )
            first_line[region_id] = here
            opened = (region_id, index, begin["sum"], prefix)
            continue
        end = _END.fullmatch(rest)
        if end is None:
            raise NoteSyntaxError(
                "malformed vault-tools:end marker; expected '<!-- vault-tools:end ID -->'", here
            )
        if opened is None:
            raise NoteSyntaxError(
                f"vault-tools:end {end['id']} has no matching begin marker; "
                "delete it or restore the begin line",
                here,
            )
        if end["id"] != opened[0]:
            raise NoteSyntaxError(
                f"vault-tools:end {end['id']} closes region {opened[0]} begun on line {opened[1] + 1}; "
                "make the two ids the same",
                here,
            )
        regions.append(Region(opened[0], opened[1], index, opened[2], opened[3]))
        opened = None
    if opened is not None:
        raise _unclosed(opened[0], opened[1])
    return regions


_FENCE_LINE = re.compile(r"(`{3,}|~{3,})(.*)")


def _lines_holding(lines: Sequence[str], tokens: tuple[str, ...]) -> list[int]:
    """Indices, ascending, of the lines that hold one of ``tokens``, plus possibly a few that do not.

    C-level ``str.find`` over the joined text replaces a Python test of every line.  A hit that runs
    from one line into the next (lines without a final newline) names a line that does not hold the
    token; callers test each line again, so such extras are harmless.
    """
    text = "".join(lines)
    starts = list(accumulate(map(len, lines), initial=0))
    found: set[int] = set()
    for token in tokens:
        pos = text.find(token)
        while pos >= 0:
            index = bisect_right(starts, pos) - 1
            found.add(index)
            pos = text.find(token, starts[index + 1])
    return sorted(found)


def _outside_fences(lines: Sequence[str], anchor: int) -> int | None:
    """``anchor`` (insert after this 1-based line), moved past the code fence it falls in; None if unclosed.

    A region written inside a fence would be code, invisible to the next run, which would add it again.
    """
    # The first line at or after ``anchor``'s (0-based ``first``) after which no fence is open.  Only a
    # line holding a fence token changes that state, so the lines between two such lines share it.
    first = max(anchor - 1, 0)
    fence: str | None = None
    after = 0  # lines[after:index] keep the state ``fence`` had after the last line processed
    for index in _lines_holding(lines, _FENCE_TOKENS):
        if fence is None and max(after, first) < index:
            return _moved(max(after, first), anchor)
        state = _fence_after(lines[index], fence)
        if state is not _NO_FENCE:
            fence = state
        if index >= first and fence is None:
            return _moved(index, anchor)
        after = index + 1
    if fence is None and max(after, first) < len(lines):
        return _moved(max(after, first), anchor)
    return None if fence is not None else anchor


def _moved(index: int, anchor: int) -> int:
    return index + 1 if index + 1 > anchor else anchor


_NO_FENCE = "no fence"  # _fence_after's answer for a line that neither is nor may close a fence


@functools.lru_cache(maxsize=1024)
def _fence_after(line: str, fence: str | None) -> str | None:
    """The fence open after ``line``, or ``_NO_FENCE`` when no fence is open and this is no fence line.

    Cached: fence lines (```` ``` ````, ```` ```python ````) repeat across notes far more than they vary.
    """
    if fence is None and line.lstrip(" \t>")[:3] not in _FENCE_TOKENS:
        return _NO_FENCE
    return _track_fence(line_body(line).lstrip(" \t>"), fence)


def _track_fence(text: str, fence: str | None) -> str | None:
    """The fence open after this line: a CommonMark opening (backtick info without backticks) or closing."""
    if fence is None:
        opening = _FENCE_LINE.match(text)
        if opening is None or (opening[1][0] == "`" and "`" in opening[2]):
            return None
        return opening[1]
    closes = text.startswith(fence) and not text.rstrip(" \t").strip(fence[0])
    return None if closes else fence


def _unclosed(region_id: str, index: int) -> NoteSyntaxError:
    return NoteSyntaxError(
        f"vault-tools:begin {region_id} has no matching end marker; "
        "delete the partial region or restore the end line",
        index + 1,
    )


_LAST = operator.itemgetter(-1)


def _newline_ended(lines: Iterable[str]) -> bool:
    """Whether every line ends with ``"\n"``: their last characters, gathered at C speed, tell."""
    try:
        ends = "".join(map(_LAST, lines))
    except IndexError:  # an empty line
        return False
    return ends.count("\n") == len(ends)


def region_text(lines: Sequence[str], region: Region) -> str:
    """Return a region's current inner text, container prefix removed, with ``"\\n"`` endings."""
    inner = lines[region.begin + 1 : region.end]
    if not region.prefix:
        text = "".join(inner)
        # Each line holding just its own final "\n" makes every "\r\n" a line ending: one replace does.
        if text.count("\n") == len(inner) and _newline_ended(inner):
            return text.replace("\r\n", "\n")
    blank = region.prefix.rstrip()
    out: list[str] = []
    for line in inner:
        body = line_body(line)
        if body.startswith(region.prefix):
            body = body[len(region.prefix) :]
        elif blank.startswith(body.rstrip()):
            body = ""  # a blank line inside a blockquote is written as a bare ">"
        out.append(body + "\n")
    return "".join(out)


def is_hand_edited(lines: Sequence[str], region: Region) -> bool:
    """Whether a region's text no longer matches the checksum the tool wrote with it."""
    return checksum(region_text(lines, region)) != region.checksum


def render_region(region_id: str, text: str, prefix: str, newline: str) -> list[str]:
    """Render a region: marker lines around ``text``, every line in the container ``prefix``."""
    return list(_rendered(region_id, text, prefix, newline))


# Notes built from one template, and notes citing one model, get the same region text: render it once.
@functools.lru_cache(maxsize=256)
def _rendered(region_id: str, text: str, prefix: str, newline: str) -> tuple[str, ...]:
    if not _ID.fullmatch(region_id):
        raise ValueError(f"region id {region_id!r} must be letters, digits, '-', '_', '.' or ':'")
    text = _normalize(text)
    if ("<!-- vault-tools:begin" in text or "<!-- vault-tools:end" in text) and _MARKER_LINE.search(text):
        raise ValueError(f"generated text for region {region_id!r} holds a vault-tools marker line")
    begin = f"{prefix}<!-- vault-tools:begin {region_id} sha256={checksum(text)} -->\n"
    end = f"{prefix}<!-- vault-tools:end {region_id} -->\n"
    blank = prefix.rstrip()
    inner = text.split("\n")[:-1] if text else []
    body = (begin, *(prefix + line + "\n" if line else blank + "\n" for line in inner), end)
    return body if newline == "\n" else tuple(to_newline(line, newline) for line in body)


def _is_blank(line: str) -> bool:
    """Blank, or only a blockquote marker: a paragraph break in Markdown."""
    return not line_body(line).strip(" \t>")


def apply_regions(
    lines: Sequence[str],
    updates: Sequence[Rendered],
    newline: str,
    *,
    force: bool = False,
    found: Sequence[Region] | None = None,
) -> tuple[list[str], list[Problem]]:
    """Write ``updates`` into the note's managed regions, leaving every other line as it is.

    A region with the same id is replaced where it is; a new one goes right after its ``anchor_line``
    (1-based; 0 = end of the note) after one blank line.  Hand-edited regions are kept (with a ``stale``
    problem) unless ``force``.  Regions no longer produced are removed when unmodified, so ``updates`` must
    be everything the note produces.  Applying the same updates to the result changes nothing.
    ``found`` is ``find_regions(lines)`` when the caller has it already.
    """
    regions = find_regions(lines) if found is None else found
    by_id = {region.region_id: region for region in regions}
    problems: list[Problem] = []
    edits: list[tuple[int, int, list[str]]] = []  # replace lines[start:stop] by the new lines
    inserts: dict[int, list[Rendered]] = {}
    produced: set[str] = set()
    removed: set[int] = set()  # lines of orphan regions that go away
    for update in updates:
        if update.region_id in produced:
            raise ValueError(f"two managed regions are named {update.region_id!r}")
        produced.add(update.region_id)
        region = by_id.get(update.region_id)
        if region is None:
            if not 0 <= update.anchor_line <= len(lines):
                raise ValueError(
                    f"region {update.region_id!r}: anchor line {update.anchor_line} is past the note's end"
                )
            anchor = _outside_fences(lines, update.anchor_line or len(lines))
            if anchor is None:
                problems.append(
                    Problem(
                        update.anchor_line or len(lines),
                        f"managed region {update.region_id!r} would land inside a code fence that is never "
                        "closed; close the fence with a ``` line",
                        "stale",
                    )
                )
                continue
            inserts.setdefault(anchor, []).append(update)
            continue
        current = region_text(lines, region)
        if current != _normalize(update.text) and checksum(current) != region.checksum and not force:
            problems.append(
                Problem(
                    region.begin + 1,
                    f"managed region {region.region_id!r} was edited by hand; "
                    "move your text outside the markers, or run refresh --force",
                    "stale",
                )
            )
            continue
        rendered = render_region(region.region_id, update.text, region.prefix, newline)
        if rendered != lines[region.begin : region.end + 1]:  # the usual check of a refreshed note: no edit
            edits.append((region.begin, region.end + 1, rendered))
    for region in regions:
        if region.region_id in produced:
            continue
        if is_hand_edited(lines, region) and not force:
            problems.append(
                Problem(
                    region.begin + 1,
                    f"managed region {region.region_id!r} is no longer generated but was edited by hand; "
                    "delete it, or move your text outside the markers",
                    "warning",
                )
            )
            continue
        start, stop = region.begin, region.end + 1
        # Take back the blank line the region was inserted after, unless that joins two paragraphs or
        # a new region goes in between.
        if (
            start > 0
            and _is_blank(lines[start - 1])
            and (stop == len(lines) or _is_blank(lines[stop]))
            and start not in inserts
        ):
            start -= 1
        edits.append((start, stop, []))
        removed.update(range(start, stop))
    for anchor, group in inserts.items():
        for region in regions:
            if region.begin < anchor <= region.end:
                raise ValueError(
                    f"region {group[0].region_id!r}: anchor line {anchor} is inside "
                    f"managed region {region.region_id!r}"
                )
        new: list[str] = []
        for update in group:
            if new or (anchor > 0 and not _is_blank(lines[anchor - 1])):
                new.append(to_newline(update.prefix.rstrip() + "\n", newline))
            new += render_region(update.region_id, update.text, update.prefix, newline)
        after = next((i for i in range(anchor, len(lines)) if i not in removed), None)
        if after is not None and not _is_blank(lines[after]):
            new.append(to_newline(group[-1].prefix.rstrip() + "\n", newline))
        edits.append((anchor, anchor, new))
    return _splice(lines, edits, newline), problems


def _splice(lines: Sequence[str], edits: list[tuple[int, int, list[str]]], newline: str) -> list[str]:
    if not edits:  # the usual check of a refreshed note
        return list(lines)
    out = list(lines)
    # Bottom-up keeps earlier indices valid; at equal starts an insertion sorts first, so it is applied
    # after a removal that starts at the same line and is not swallowed by it.
    for start, stop, new in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        out[start:stop] = new
    # A note ending in a lone CR ("…parameters.\r", an old Mac editor's ending) ends in a line break as
    # its editor shows it: text put after that line gets a "\n" to make the CR a CRLF (no byte of the
    # note changes, none is doubled), and the note still ends in a line break.
    final_newline = not lines or lines[-1].endswith(("\n", "\r"))
    # Nearly always every line but the last has its newline; one C-level pass tells.
    if not _newline_ended(islice(out, max(len(out) - 1, 0))):
        for index in range(len(out) - 1):
            if not out[index].endswith("\n"):
                # The old last line, now followed by a region.
                out[index] += "\n" if out[index].endswith("\r") else newline
    if out and not final_newline:
        out[-1] = line_body(out[-1])  # keep the note's missing final newline missing
    return out
