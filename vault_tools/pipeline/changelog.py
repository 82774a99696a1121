"""The note's changelog table: found under its heading, appended to in the table's own style.

A changelog section is one under a heading the vault's ``changelog_headings`` name that either reads
Changelog (or 변경 이력, …: ``titled_changelog``), the row going to its first table, or opens with a table
(only blank lines between), the row going to that table; a "## History" of prose is the note's text.
The claims scan skips these sections by the same rule.  The tool never invents a changelog table: a note
without one gets no row, and no row goes into a managed region.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vault_tools.lazyre import lazy_compile
from vault_tools.pipeline.blocks import one_line_comment, parse
from vault_tools.pipeline.text import (
    NoteSyntaxError,
    common_length,
    display_width,
    first_lone_cr,
    line_body,
    line_ending,
)
from vault_tools.records import record

if TYPE_CHECKING:
    from markdown_it.token import Token

_CELL_SPLIT = lazy_compile(r"(?<!\\)\|")
# A heading that is a changelog in any vault ("Changelog", "🕓 Changelog", "변경 이력"), not one naming it.
_CHANGELOG_TITLE = lazy_compile(r"[^\w]*(?:change\s?log|변경\s?(?:이력|내역|기록))\s*", re.IGNORECASE)
_REGION_BEGIN, _REGION_END = "<!-- vault-tools:begin", "<!-- vault-tools:end"
# What may open around a table that opens a section ("> | a |", "- | a |"): the table still opens it.
_CONTAINER_OPENS = frozenset({"blockquote_open", "bullet_list_open", "ordered_list_open", "list_item_open"})
_LIST_OPENS = frozenset({"bullet_list_open", "ordered_list_open"})
_LIST_CLOSES = frozenset({"bullet_list_close", "ordered_list_close"})
_CONTAINER = lazy_compile(r"[ \t>]*")


@functools.lru_cache(maxsize=4096)
def heading_key(text: str) -> str:
    """Fold a heading for comparison: letters and digits only (no emoji, punctuation), case-folded.

    Remembered: a vault repeats its headings ("## 개요", "## Changelog") in note after note.
    """
    kept = "".join(
        char if unicodedata.category(char)[0] in "LN" else " " for char in unicodedata.normalize("NFC", text)
    )
    return " ".join(kept.casefold().split())


def titled_changelog(title: str) -> bool:
    """Whether a heading's ``title`` reads Changelog, 변경 이력, 변경 내역 or 변경 기록 (emoji aside).

    Such a section is a changelog whatever it holds; a heading only ``changelog_headings`` name
    ("History") opens one when a table opens its section.
    """
    return _CHANGELOG_TITLE().fullmatch(title) is not None


@record
class _Table:
    first: int  # 0-based line of the header row
    last: int  # 0-based line of the last row (the delimiter row when the table has no body)
    columns: int
    heading: int  # 0-based line of the heading of its section


def _find_table(lines: Sequence[str], heading_names: Sequence[str], body_start: int) -> _Table | None:
    # Parse from the changelog heading when a line scan can place it exactly; the whole body otherwise.
    start = _heading_fast(lines, heading_names, body_start)
    if start is None:
        return None
    if start >= 0:
        table = _table_fast(lines, start)
        if table is not None:
            return table
    begin = body_start if start < 0 else start
    names = {heading_key(name) for name in heading_names}
    section: int | None = None  # heading level of the changelog section we are in
    heading = 0  # and its heading's line
    in_region = False  # a generated table (a managed region's) is never the changelog
    # A heading in a list item ("- ## Changelog") is none to the claims scan, which reads lines, not
    # containers: it neither opens nor ends a changelog section here either.
    lists = 0
    tokens = parse("".join(lines[begin:]))
    for index, token in enumerate(tokens):
        if token.type in _LIST_OPENS:
            lists += 1
        elif token.type in _LIST_CLOSES:
            lists -= 1
        elif token.type == "html_block":
            marker = token.content.lstrip(" \t")
            if marker.startswith(_REGION_BEGIN):
                in_region = True
            elif marker.startswith(_REGION_END):
                in_region = False
        elif token.type == "heading_open" and not lists:
            level = int(token.tag[1:])
            if section is not None and level <= section:
                section = None
            title = tokens[index + 1].content
            if (
                section is None
                and heading_key(title) in names
                and (titled_changelog(title) or _opens_with_table(tokens, index + 3, lines, begin))
            ):
                section, heading = level, (token.map[0] if token.map else 0) + begin
        elif (
            token.type == "table_open"
            and section is not None
            and not in_region
            and _is_table(token, lines, begin)
        ):
            assert token.map is not None
            first, end = token.map
            return _Table(first + begin, end - 1 + begin, _row_cells(lines[first + begin + 1]), heading)
    return None


def setext_changelogs(
    lines: Sequence[str], heading_names: Sequence[str], body_start: int
) -> list[tuple[int, int]]:
    """The 0-based (heading, last) lines of each changelog section whose heading is a setext one
    ("Changelog" over a "---------" line), as markdown-it reads the body, by the claims scan's rule.

    The claims scan reads ATX headings itself and asks this only of a note with such an underline
    below a changelog name, so a user's rows under it are the changelog's, not claims.
    """
    names = {heading_key(name) for name in heading_names}
    tokens = parse("".join(lines[body_start:]))
    out: list[tuple[int, int]] = []
    section: tuple[int, int] | None = None  # level and heading line of the section open
    lists = 0
    for index, token in enumerate(tokens):
        if token.type in _LIST_OPENS:
            lists += 1
        elif token.type in _LIST_CLOSES:
            lists -= 1
        elif token.type == "heading_open" and not lists and token.map is not None:
            level, line = int(token.tag[1:]), token.map[0] + body_start
            if section is not None and level <= section[0]:
                out.append((section[1], line - 1))
                section = None
            title = tokens[index + 1].content
            # As the claims scan reads an ATX heading (``scan._section_heading``): titled Changelog in any
            # vault, or named by the vault's changelog_headings with a table right under it.
            if (
                section is None
                and token.markup in ("=", "-")
                and (
                    titled_changelog(title)
                    or (
                        heading_key(title) in names
                        and _opens_with_table(tokens, index + 3, lines, body_start)
                    )
                )
            ):
                section = (level, line)
    if section is not None:
        out.append((section[1], len(lines) - 1))
    return out


def _opens_with_table(tokens: Sequence[Token], index: int, lines: Sequence[str], begin: int) -> bool:
    """Whether the first block from ``tokens[index]`` on (the one after a heading) is a table, maybe in a
    quote or list item: only blank lines stand between them, as markdown-it skips those."""
    while index < len(tokens) and tokens[index].type in _CONTAINER_OPENS:
        index += 1
    return index < len(tokens) and _is_table(tokens[index], lines, begin)


def _is_table(token: Token, lines: Sequence[str], begin: int) -> bool:
    """Whether ``token`` opens a table whose delimiter row has a pipe, as the claims scan requires: a
    one-column "| x |" over "---" is a table to markdown-it only."""
    return token.type == "table_open" and token.map is not None and "|" in lines[token.map[0] + begin + 1]


# A GFM delimiter row with outer pipes, cells such as ---, :--, --: or :-: (markdown-it's test per cell).
_DELIMITER_ROW = lazy_compile(r"\|(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*")


def _table_fast(lines: Sequence[str], heading: int) -> _Table | None:
    """The table right under the changelog heading at line ``heading``, when a line scan is sure of it.

    Sure means: only blank lines between the heading and a header row, that row and the delimiter row
    start at column 0 with a pipe, agree on their number of cells (no escapes or code spans to count
    around), and every following line up to a blank line or the end starts with a pipe.  Such lines can
    only be table rows in markdown-it (no block starts with "|"), so its parse would find this very table;
    anything else (prose first, an indented or quoted table, a row that is not a pipe row) returns None
    and the caller parses.  The parse took half of a refresh's changelog work.
    """
    n = len(lines)
    first = heading + 1
    while first < n and not lines[first].strip():
        first += 1
    if first + 1 >= n:
        return None
    header, delimiter = line_body(lines[first]), line_body(lines[first + 1])
    if not (header.startswith("|") and delimiter.startswith("|")) or "\\" in header or "`" in header:
        return None
    if _DELIMITER_ROW().fullmatch(delimiter) is None:
        return None
    # Cells as markdown-it counts them: the empty pieces outside the outer pipes do not count.
    cells = header.strip().split("|")
    if len(cells) - 1 - (cells[-1] == "") != delimiter.count("|") - 1:
        return None
    last = first + 1
    while last + 1 < n and lines[last + 1].startswith("|"):
        last += 1
    if last + 1 < n and lines[last + 1].strip():
        return None
    return _Table(first, last, _row_cells(lines[first + 1]), heading)


_ATX = lazy_compile(r"(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
# What may stand before a heading inside containers (quote, list item, indented continuation):
# indentation, quote markers, list markers.  markdown-it reports such headings too.
_CONTAINERS = lazy_compile(r"(?:[ \t]|>|[*+-](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$))+")
_SETEXT_UNDERLINE = lazy_compile(r" {0,3}(?:=+|-+)[ \t]*")
_FENCE = lazy_compile(r"(`{3,}|~{3,})(.*)")
_NOT_SIMPLE_LINE = lazy_compile(r" {0,3}<(?!!-- vault-tools:)|[ \t]+(?:`{3}|~{3})")
_SIGNIFICANT = frozenset("`~ \t<=-*+>#0123456789")
# Lines starting with these can matter only by holding a "#" (a heading in a container) or, for "-", by
# being a setext underline: most of a note's lines are list items, passed over without a regex.
_ITEM_STARTS = frozenset("-*+>0123456789")
# The first characters _SETEXT_UNDERLINE and _CONTAINERS can match at: other lines need not be tried.
_UNDERLINE_STARTS = frozenset(" =-")
_CONTAINER_STARTS = frozenset(" \t>*+-0123456789")


def _heading_fast(lines: Sequence[str], heading_names: Sequence[str], body_start: int) -> int | None:
    """The 0-based line of the changelog's ATX heading found by a line scan; None when the note has none.

    Returns -1 when the scan cannot be sure (HTML, indented fences, lone CR, setext headings): the caller
    then parses the whole body.  A column-0 ATX heading outside top-level fences is a heading in any
    CommonMark reading (it ends lists, quotes and paragraphs), and parsing from it gives the same tokens.

    Refresh asks this of a note (to place regions above the heading) and then of the note with its
    regions in (to append the row): the scan of the last lines asked about serves the lines they share.
    """
    global _LAST_SCAN
    if first_lone_cr(lines, body_start) is not None:
        return -1
    frozen, names = tuple(lines), tuple(heading_names)
    start, fence, changes = body_start, None, []
    last = _LAST_SCAN
    if last is not None and last.names == names and last.body_start == body_start:
        # The engine's edits keep the other lines as the same objects: the slices compare at once.
        same = common_length(last.lines, frozen, min(len(last.lines), len(frozen)))
        if last.found is not None and same > last.found:
            return last.found  # the lines up to the heading are the same: so is what they say
        if same == len(frozen) == len(last.lines):
            return last.found
        if same > body_start:  # the scan read the shared lines and found no heading in them
            changes = [change for change in last.fence_changes if change[0] < same]
            start, fence = same, changes[-1][1] if changes else None
    found = _scan_headings(frozen, names, body_start, start, fence, changes)
    _LAST_SCAN = _HeadingScan(frozen, names, body_start, found, changes) if found != -1 else None
    return found


@record
class _HeadingScan:
    """A ``_heading_fast`` answer that is sure, and the fence state changes on the way (line, fence after)."""

    lines: tuple[str, ...]
    names: tuple[str, ...]
    body_start: int
    found: int | None
    fence_changes: list[tuple[int, str | None]]


_LAST_SCAN: _HeadingScan | None = None


def _scan_headings(
    lines: Sequence[str],
    heading_names: tuple[str, ...],
    body_start: int,
    start: int,
    fence: str | None,
    changes: list[tuple[int, str | None]],
) -> int | None:
    """``_heading_fast`` from line ``start`` on, ``fence`` open there; fence changes go on ``changes``."""
    names = {heading_key(name) for name in heading_names}
    not_simple, fence_line, atx = _NOT_SIMPLE_LINE().match, _FENCE().match, _ATX().fullmatch
    underline = _SETEXT_UNDERLINE().fullmatch
    # Only a line starting with one of these characters can be a fence, a heading, a setext underline,
    # a container or HTML: plain prose lines are passed over without a regex.
    for index in range(start, len(lines)):
        line = lines[index]
        first = line[:1]
        if first not in _SIGNIFICANT:
            continue
        if first in _ITEM_STARTS and "#" not in line and (first != "-" or line.strip("- \t\r\n")):
            continue  # a list item or quote line without "#" and not a "---" underline: nothing to do
        line = line_body(line)
        if (first in " \t<") and not_simple(line) and not one_line_comment(line):
            return -1  # HTML or an indented fence, anywhere: leave it to markdown-it
        if fence is not None:
            if line.rstrip(" \t").startswith(fence) and not line.strip(fence[0] + " \t"):
                fence = None
                changes.append((index, fence))
            continue
        opening = fence_line(line) if first in "`~" else None
        if opening is not None and not (opening[1][0] == "`" and "`" in opening[2]):
            fence = opening[1]
            changes.append((index, fence))
            continue
        if first == "#":  # a heading at column 0: no underline or container can start with "#"
            heading = atx(line)
            if heading is not None and heading_key(heading[2] or "") in names:
                return index
            continue
        if first in _UNDERLINE_STARTS and underline(line):
            # After a blank line (or first in the body) "---" is a thematic break and "===" a paragraph:
            # neither makes a heading.  After any other line it may underline one: leave it to markdown-it.
            if index > body_start and lines[index - 1].strip():
                return -1
            continue
        if first in _CONTAINER_STARTS and "#" in line and _contained_changelog(line, names):
            return -1  # what may be the changelog heading in a container: leave it to markdown-it
    # Every line was read with certainty and none is the changelog heading: the note has none.  (This
    # returned -1, so a note without a changelog was parsed whole, twice a refresh, to learn just that.)
    return None


def _contained_changelog(line: str, names: set[str]) -> bool:
    """Whether ``line``, once its containers (indentation, quote and list markers) are set aside, has the
    shape of an ATX heading whose text is a changelog name.

    Only such a line can be a changelog heading markdown-it finds in a container; any other line with a
    "#" in a list item or quote (an Obsidian #tag, "#123", "C#") is passed over, not a reason to parse.
    """
    prefix = _CONTAINERS().match(line)  # none: a column-0 heading, which the scan reads itself
    heading = _ATX().fullmatch(line, prefix.end()) if prefix else None
    return heading is not None and heading_key(heading[2] or "") in names


def changelog_heading(
    lines: Sequence[str], heading_names: Sequence[str], *, body_start: int = 0
) -> int | None:
    """The 0-based line of the heading note-level regions go just above: that of the section whose table
    the changelog row goes to, else the first changelog heading; None when the note has no changelog.

    A note may hold a section of prose under a changelog name ("## History", mid-note) before its real
    changelog: the regions go above the one with the table, at the note's end, not above the prose.
    """
    table = _find_table(lines, heading_names, body_start)
    return table.heading if table is not None else heading_line(lines, heading_names, body_start=body_start)


def heading_line(lines: Sequence[str], heading_names: Sequence[str], *, body_start: int = 0) -> int | None:
    """Return the 0-based line of the first changelog heading, or None."""
    fast = _heading_fast(lines, heading_names, body_start)
    if fast is None or fast >= 0:
        return fast
    names = {heading_key(name) for name in heading_names}
    tokens = parse("".join(lines[body_start:]))
    for index, token in enumerate(tokens):
        if (
            token.type == "heading_open"
            and token.map is not None
            and heading_key(tokens[index + 1].content) in names
        ):
            return token.map[0] + body_start
    return None


def _split_row(line: str) -> tuple[str, list[str], bool, bool]:
    """Split a table row into its container prefix, raw cells, and whether it has outer pipes."""
    body = line_body(line)
    prefix = _CONTAINER().match(body)
    assert prefix is not None
    row = body[prefix.end() :].rstrip()
    leading = row.startswith("|")
    trailing = len(row) > int(leading) and row.endswith("|") and not row.endswith("\\|")
    inner = row[int(leading) : len(row) - int(trailing)]
    return prefix.group(), _CELL_SPLIT().split(inner), leading, trailing


def _row_cells(line: str) -> int:
    return len(_split_row(line)[1])


def last_row(lines: Sequence[str], heading_names: Sequence[str], *, body_start: int = 0) -> list[str] | None:
    """Return the cells of the changelog's last row, unescaped; None without a table or without rows."""
    table = _find_table(lines, heading_names, body_start)
    if table is None or table.last <= table.first + 1:
        return None
    return [cell.strip().replace("\\|", "|") for cell in _split_row(lines[table.last])[1]]


def append_row(
    lines: Sequence[str],
    heading_names: Sequence[str],
    cells: Sequence[str],
    newline: str,
    *,
    body_start: int = 0,
) -> list[str] | None:
    """Append a row after the changelog table's last row, in its style; None when there is no table.

    ``body_start`` is the 0-based first body line, so frontmatter comments are not taken for headings.
    """
    table = _find_table(lines, heading_names, body_start)
    if table is None:
        # A lone CR may have cut the table's delimiter row ("| --- |\r## After"): say why no row came.
        heading = heading_line(lines, heading_names, body_start=body_start)
        if heading is not None and first_lone_cr(lines, heading) is not None:
            _refuse_lone_cr(lines, heading, len(lines))
        return None
    # markdown-it reads "\r## After" under a table as one more row (the pipeline keeps a lone CR inside
    # its line), and a row written in that line's style would have no pipes: write none.
    _refuse_lone_cr(lines, table.first, table.last + 1)
    if len(cells) > table.columns:
        # A narrower table ("| change |") gets the cells it has no column for in its last one.
        last = max(table.columns, 1) - 1
        cells = [*cells[:last], " ".join(cells[last:])]
    # The header row sets the style when the table has no body rows yet.
    model = lines[table.last] if table.last > table.first + 1 else lines[table.first]
    prefix, old, leading, trailing = _split_row(model)
    if not leading and _split_row(lines[table.first + 1])[2]:
        # "- | Date | Change |" over "  | --- | --- |": a table in a list item, whose marker no row repeats;
        # a row in the header's style would be a paragraph after the list.
        raise NoteSyntaxError(
            "changelog: the changelog table sits in a list item; no row was added: move the table out "
            "of the list",
            table.first + 1,
        )
    pad = " " if any(cell.startswith(" ") for cell in old) else ""
    # A hand-aligned table pads cells to the previous row's widths; keep it aligned where the text fits.
    delimited = old if trailing else old[:-1]
    aligned = any(cell.endswith(pad + " ") for cell in delimited if cell.strip())
    texts = [_escape(cell) for cell in cells] + [""] * (table.columns - len(cells))
    if aligned:
        texts = [
            text + " " * max(0, display_width(old[column]) - 2 * len(pad) - display_width(text))
            if column < len(old)
            else text
            for column, text in enumerate(texts)
        ]
    row = f"{pad}|{pad}".join(texts)
    if leading:
        row = f"|{pad}{row}"
    row = f"{row}{pad}|" if trailing else row.rstrip()
    row = prefix + row
    out = list(lines)
    ending = line_ending(out[table.last])
    if not ending:
        out[table.last] += newline  # the table ended the note: the new row keeps the missing final newline
    out.insert(table.last + 1, row + ending)
    return out


def _refuse_lone_cr(lines: Sequence[str], start: int, stop: int) -> None:
    """Raise ``NoteSyntaxError`` at the first line in ``lines[start:stop]`` holding a lone CR."""
    index = first_lone_cr(lines, start, stop)
    if index is not None:
        raise NoteSyntaxError(
            "changelog: a lone carriage return (CR) on this line, which editors show as a line break; "
            "no row was added: save the note with LF or CRLF line endings",
            index + 1,
        )


def _escape(cell: str) -> str:
    return " ".join(cell.split()).replace("|", "\\|")
