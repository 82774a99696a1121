"""Cut a note's body into the pieces claims can live in: prose lines, table rows, code comments, claims lines.

Fenced code is skipped except its comments (``# Mixtral 8x7B: 47B total`` is a claim); ``model-spec`` and
other data fences are skipped whole; managed regions (the tool's own output) and the changelog section are
skipped so the tool never checks what it wrote.  The changelog is the section under a heading the
vault's ``changelog_headings`` name (compared as ``pipeline.changelog`` compares them when it appends a
row) or one that reads Changelog, 변경 이력, 변경 내역 or 변경 기록.  Lines without a digit are dropped
early: that one test keeps a large vault fast.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
from collections.abc import Callable, Sequence
from typing import Literal

from vault_tools.pipeline.changelog import heading_key, setext_changelogs, titled_changelog
from vault_tools.pipeline.config import DEFAULT_HEADINGS
from vault_tools.pipeline.text import common_length, note_lines
from vault_tools.records import record

SegmentKind = Literal["prose", "row", "comment", "claims"]

_QUOTE_PREFIX_RE = re.compile(r"^[ \t]*(?:>[ \t]?)*")
_QUOTE_STARTS = (" ", "\t", ">")  # the first character of any line _QUOTE_PREFIX_RE strips something from
_FENCE_RE = re.compile(r"^(?P<prefix>[ \t]*(?:>[ \t]?)*[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*)$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_SEPARATOR_ROW_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$|^\s*\|\s*:?-+:?\s*\|\s*$")
_DIGIT_RE = re.compile(r"\d")
_REGION_BEGIN = "<!-- vault-tools:begin"
# The change cell of a changelog row the tool wrote (``pipeline.engine``): never a claim, wherever the
# section rules of the scan and the writer's Markdown parse part ways (setext headings, list items).
_OWN_ROW = "vault-tools: "
_REGION_END = "<!-- vault-tools:end"
# Fences whose content is data or generated text, never prose with comments.
_SKIP_FENCES = frozenset({"model-spec", "json", "csv", "tsv", "text", "txt", "math", "mermaid", "dataview"})
_HASH_COMMENTS = frozenset({"python", "py", "bash", "sh", "shell", "zsh", "yaml", "yml", "toml", "r", "ruby"})
_SLASH_COMMENTS = frozenset({"js", "javascript", "ts", "typescript", "c", "cpp", "c++", "cuda", "java", "go"})
_SLASH_COMMENTS |= {"rust", "rs", "swift", "kotlin", "scala", "jsonc"}
_DASH_COMMENTS = frozenset({"sql", "lua", "haskell", "hs"})


@record
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


@record
class Fence:
    """A fenced block: its info word, opening and closing lines (1-based), and its container prefix."""

    lang: str
    line: int
    end_line: int
    prefix: str


def split_lines(text: str) -> Sequence[str]:
    """Lines as the pipeline numbers them: split on ``\\n`` only; ``\\r`` endings and a BOM dropped.

    A final newline ends the last line; it does not start an empty one.
    """
    return tuple(map(bare_line, ended_lines(text))) or ("",)


def ended_lines(text: str) -> Sequence[str]:
    """The lines ``split_lines`` gives, each with its ending (``bare_line`` takes it off): the engine's
    lines of the same text, so one split serves the engine and the claims code."""
    return note_lines(text.removeprefix("\ufeff"))


def bare_line(line: str) -> str:
    """A line without its ``\\n`` and then one ``\\r``: what ``split_lines`` gives for it."""
    return line.removesuffix("\n").removesuffix("\r")


def scan(
    text: str, body_start_line: int = 1, changelog_headings: tuple[str, ...] = DEFAULT_HEADINGS
) -> tuple[list[Segment], list[Fence]]:
    """The segments of the body that may hold claims, and every fenced block found on the way.

    ``changelog_headings``: the vault's (``Config.changelog_headings``); their sections are skipped.
    """
    rows, fences = scan_rows(text, body_start_line, changelog_headings=changelog_headings)
    return [Segment(*row) for row in rows], list(fences)


# A segment as a plain tuple, its line first and then what detection reads of it (``detect.SegmentKey``):
# the claims code reads every note's segments this way, without building a Segment for each.
Row = tuple[int, SegmentKind, str, str, tuple[tuple[int, int], ...], tuple[str, ...]]


# The claims processor scans a note for its claims and again to place its region: scan it once.
@functools.lru_cache(maxsize=8)
def scan_rows(
    text: str,
    body_start_line: int = 1,
    edited_from: str = "",
    changelog_headings: tuple[str, ...] = DEFAULT_HEADINGS,
) -> tuple[tuple[Row, ...], tuple[Fence, ...]]:
    """``scan`` as rows ``(line, kind, text, code, cells, header)``, the fields of a ``Segment``.

    ``edited_from``: a text this one was made from by a few edits (refresh's own, checked on the note it
    wrote).  When it was scanned lately, its scan serves the parts before and after the edits.
    """
    names = _heading_keys(changelog_headings)
    base = _SCANNED.get((edited_from, names)) if edited_from else None
    scanned = _scan(text, body_start_line, base, names)
    if len(_SCANNED) >= 4:
        del _SCANNED[next(iter(_SCANNED))]  # the oldest
    _SCANNED[text, names] = scanned
    rows: Sequence[Row] = scanned.rows
    if not scanned.sections and _setext_changelog_named(scanned, names):
        # A changelog under a setext heading: its rows are the changelog's, as the row writer reads it.
        lines = ended_lines(text)
        skipped = setext_changelogs(lines, changelog_headings, scanned.first)
        rows = [row for row in rows if not any(first < row[0] <= last + 1 for first, last in skipped)]
    return tuple(rows), tuple(scanned.fences)


# A setext heading's underline, and the line above it: the scan reads ATX headings only.
_SETEXT_UNDERLINE_RE = re.compile(r"\n[ \t>]*(?:=+|-+)[ \t]*\r?(?=\n|$)")


def _setext_changelog_named(scanned: _Scanned, names: frozenset[str]) -> bool:
    """Whether a changelog name stands right above a setext underline in the scanned body (then
    markdown-it says whether it is a heading)."""
    body = scanned.body
    for underline in _SETEXT_UNDERLINE_RE.finditer(body, max(scanned.start - 1, 0)):
        above = body[body.rfind("\n", 0, underline.start()) + 1 : underline.start()]
        title = _QUOTE_PREFIX_RE.sub("", above, count=1).strip()
        if title and (titled_changelog(title) or heading_key(title) in names):
            return True
    return False


@record
class _Scanned:
    """A scan, with what a scan of an edited copy of the text needs to take over parts of it.

    ``positions`` holds the offset (from ``start``) of every line where the scan loop started an
    iteration, and ``sections`` the offset of each heading line that changed the changelog section level
    (with the new level).  From such a line the scan depends on nothing but the text from there on and
    its state: the changelog level, found in ``sections``, and the rows and fences so far, those of the
    lines above it.  Recording a position is all a scan spends for this.
    """

    body: str  # the text as scanned (without a BOM)
    start: int  # offset of the first scanned line in ``body``
    first: int  # 0-based index of that line
    rows: list[Row]
    fences: list[Fence]
    positions: list[int]
    sections: list[tuple[int, int]]

    def state(self, offset: int) -> tuple[int, int, int, int]:
        """At the line starting at ``offset`` (not the text's end): its index from ``first``, the
        changelog level, the rows and fences before it."""
        line = self.body.count("\n", self.start, self.start + offset)
        k = bisect.bisect_left(self.sections, (offset, -1))
        level = self.sections[k - 1][1] if k else 0
        # Rows and fences are in line order; those before the line are numbered up to its index.
        rows = bisect.bisect_right(self.rows, self.first + line, key=_ROW_LINE)
        fences = bisect.bisect_right(self.fences, self.first + line, key=_FENCE_LINE)
        return line, level, rows, fences


_ROW_LINE = operator.itemgetter(0)
_FENCE_LINE = operator.attrgetter("line")
_SCANNED: dict[tuple[str, frozenset[str]], _Scanned] = {}  # the last few scans, by text and changelog names


@functools.lru_cache(maxsize=16)
def _heading_keys(headings: tuple[str, ...]) -> frozenset[str]:
    """The changelog heading names as ``heading_key`` folds them."""
    return frozenset(map(heading_key, headings))


# What a heading says of its section: nothing, a changelog by its title, or a changelog if a table opens it.
_PLAIN, _TITLED, _NAMED = 0, 1, 2


@functools.lru_cache(maxsize=4096)
def _section_heading(line: str, changelog: frozenset[str]) -> tuple[int, int] | None:
    """The level of the heading ``line`` (a stripped line) and what it says of its section (``_PLAIN``,
    ``_TITLED``, ``_NAMED``); None for a line that is no heading.

    A heading titled Changelog or 변경 이력 (``titled_changelog``) opens a changelog in any vault.  A heading
    only the vault's ``changelog_headings`` name ("History" by default) opens one when a table stands right
    under it, the table the changelog writer appends to; a "History" section of prose is the note's text.
    The writer (``pipeline.changelog``) goes by the same rule, within the vault's ``changelog_headings``.
    Remembered: a vault's notes repeat their section headings.
    """
    heading = _HEADING_RE.match(line)
    if heading is None:
        return None
    title = _CLOSING_HASHES.sub("", heading.group(2))  # "# Changelog #" is titled Changelog
    if titled_changelog(title):
        return len(heading.group(1)), _TITLED
    return len(heading.group(1)), _NAMED if heading_key(title) in changelog else _PLAIN


def _scan(
    text: str,
    body_start_line: int,
    base: _Scanned | None = None,
    changelog_names: frozenset[str] | None = None,
) -> _Scanned:
    # Offsets below are into the string split into lines, so counting "\n" turns an offset into a line.
    body = text.removeprefix("\ufeff")
    lines = ended_lines(text)  # the lines of ``body``, as the engine has them: one split serves both
    segments: list[Row] = []
    fences: list[Fence] = []
    n = len(lines)
    first = i = max(body_start_line, 1) - 1
    start = pos = _advance(body, 0, i)  # where line i starts
    prose, changelog = _triggers()
    if changelog_names is None:
        changelog_names = _heading_keys(DEFAULT_HEADINGS)
    has_digit = _digit_test()
    skip_level = 0  # inside a changelog section: the heading level that ends it
    positions: list[int] = []
    sections: list[tuple[int, int]] = []
    scanned = _Scanned(body, start, first, segments, fences, positions, sections)
    same_from = len(body) + 1  # from this offset on the text is the base's (shifted): take its scan over
    base_positions: set[int] = set()
    moved = 0  # how much longer the scanned part is than the base's
    if base is not None:
        prefix, suffix = _common_ends(base.body, base.start, body, start)
        same_from = len(body) - suffix
        moved = (len(body) - start) - (len(base.body) - base.start)
        resume = _resume_point(base, prefix)
        if resume is not None:
            offset, (line_offset, skip_level, row_count, fence_count) = resume
            segments.extend(_shifted_rows(base.rows[:row_count], first - base.first))
            fences.extend(_shifted_fences(base.fences[:fence_count], first - base.first))
            positions.extend(itertools.takewhile(lambda at: at < offset, base.positions))
            sections.extend(itertools.takewhile(lambda change: change[0] < offset, base.sections))
            i, pos = first + line_offset, start + offset
        base_positions = set(base.positions)
    # After a _NAMED heading: its level, and where its line ends, until the next line read tells whether a
    # table opens its section.  Meanwhile the scan's state is more than a checkpoint records: none is made.
    pending = pending_end = 0
    # Where the HTML comment the scan is in closes ("-->"): a heading inside it is no heading.  Until then,
    # too, the state is more than a checkpoint records.
    comment_end = -1
    # Most lines can change nothing: one C-level search jumps to the next line holding a trigger character.
    while True:
        if not pending and pos > comment_end:
            positions.append(pos - start)
            if same_from <= pos < len(body):  # (at the end there is nothing to take over)
                assert base is not None
                mapped = pos - start - moved
                if mapped in base_positions and base.state(mapped)[1] == skip_level:
                    positions.pop()  # _take_over adds the base's, from this one on
                    _take_over(scanned, base, mapped, i - first)
                    return scanned
        hit = (changelog if skip_level else prose).search(body, pos)
        if hit is None:
            break
        at = hit.start()
        i += body.count("\n", pos, at)
        pos = body.find("\n", at) + 1 or len(body)  # where line i + 1 starts
        raw = lines[i]
        # _unquote, in line: this runs for every line a trigger is on.
        line = raw if raw[:1] not in _QUOTE_STARTS else raw[_QUOTE_PREFIX_RE.match(raw).end() :]  # type: ignore[union-attr]
        # The trigger is the line's first, and only a blockquote prefix or spaces can come before a fence,
        # region marker or heading: the trigger alone says which of them the line can be.
        char = hit[0]
        if pending:
            # The first line read after a _NAMED heading: the section is a changelog when this line opens a
            # table and only blank lines stand between them (the lines not read hold no trigger, not "|").
            opened = body.rfind("\n", 0, at) + 1
            if (
                not body[pending_end:opened].strip()
                and "|" in line
                and i + 1 < n
                and _SEPARATOR_ROW_RE.match(_unquote(lines[i + 1]))
            ):
                skip_level = pending
                sections.append((opened - start, skip_level))
            pending = 0
        if char in "`~":
            opening = _opening(raw)
            if opening is not None:
                i, pos = _fence(lines, body, i, pos, opening, segments, fences)
                continue
        elif char == "<" and line.strip().startswith(_REGION_BEGIN):
            end = body.find(_REGION_END, body.rfind("\n", 0, at) + 1)
            if end < 0:
                break
            i, pos = i + 1 + body.count("\n", at, end), body.find("\n", end) + 1 or len(body)
            continue
        elif char == "<" and (comment := line.lstrip()).startswith("<!--") and "-->" not in comment[2:]:
            # An HTML comment over several lines (a commented-out section): shown to no reader.
            comment_end = body.find("-->", at + 4)
            if comment_end < 0:
                comment_end = len(body)
        elif (
            char == "#"
            and at > comment_end
            and not (raw[:1] in _QUOTE_STARTS and _indented_code(raw))
            and (heading := _section_heading(line.strip(), changelog_names)) is not None
        ):
            (level, says), was = heading, skip_level
            if skip_level and level <= skip_level:
                skip_level = 0
            if says == _TITLED and not skip_level:  # (a Changelog inside one does not end it sooner)
                skip_level = level
            elif says == _NAMED and not skip_level:
                pending, pending_end = level, pos
            if skip_level != was:
                sections.append((body.rfind("\n", 0, at) + 1 - start, skip_level))
        i += 1
        if skip_level:
            continue
        if "|" in line and i < n and _SEPARATOR_ROW_RE.match(_unquote(lines[i])):
            end = _table(lines, i - 1, segments)
            i, pos = end, _advance(body, pos, end - i)
            continue
        if (
            (char.isdecimal() or has_digit(line))
            and not (char == "<" and line.strip().startswith("<!--"))
            and not (_OWN_ROW in line and "|" in line)
        ):
            segments.append((i, "prose", bare_line(line), "", (), ()))
    return scanned


def _indented_code(raw: str) -> bool:
    """Whether ``raw`` is indented code (four spaces or a tab in, after any quote markers): no heading."""
    if raw[:1] == ">" or raw.lstrip(" ")[:1] == ">":
        raw = raw[_QUOTE_MARKERS_RE.match(raw).end() :]  # type: ignore[union-attr]  # matches ""
    return raw.startswith(("    ", "\t"))


# Quote markers as CommonMark strips them: up to three spaces, ">", and one optional space, repeated.
_QUOTE_MARKERS_RE = re.compile(r"(?: {0,3}> ?)*")


def _resume_point(base: _Scanned, prefix: int) -> tuple[int, tuple[int, int, int, int]] | None:
    """The last checkpoint of ``base`` a scan of a text sharing its first ``prefix`` characters (from the
    first scanned line) can start from: everything the scan read before it (the line there too: a table
    or paragraph looks one line ahead) lies in the shared part."""
    k = bisect.bisect_left(base.positions, prefix)
    while k > 0:
        k -= 1
        end = base.body.find("\n", base.start + base.positions[k])
        if 0 <= end < base.start + prefix:
            return base.positions[k], base.state(base.positions[k])
    return None


def _take_over(scanned: _Scanned, base: _Scanned, offset: int, line: int) -> None:
    """Finish ``scanned`` with ``base``'s scan from its checkpoint at ``offset``: the rest of the two texts
    is the same, and the scan there is at ``line`` (from the first scanned line) in the same state."""
    base_line, _level, base_rows, base_fences = base.state(offset)
    moved = (len(scanned.body) - scanned.start) - (len(base.body) - base.start)  # characters
    shift = scanned.first + line - (base.first + base_line)  # lines
    scanned.rows.extend(_shifted_rows(base.rows[base_rows:], shift))
    scanned.fences.extend(_shifted_fences(base.fences[base_fences:], shift))
    k = bisect.bisect_left(base.positions, offset)
    scanned.positions.extend(at + moved for at in base.positions[k:])
    k = bisect.bisect_left(base.sections, (offset, -1))
    scanned.sections.extend((at + moved, level) for at, level in base.sections[k:])


def _shifted_rows(rows: Sequence[Row], shift: int) -> list[Row]:
    return list(rows) if not shift else [(row[0] + shift, *row[1:]) for row in rows]


def _shifted_fences(fences: Sequence[Fence], shift: int) -> list[Fence]:
    if not shift:
        return list(fences)
    return [Fence(f.lang, f.line + shift, f.end_line + shift, f.prefix) for f in fences]


def _common_ends(a: str, a_start: int, b: str, b_start: int) -> tuple[int, int]:
    """How many characters ``a[a_start:]`` and ``b[b_start:]`` share at their start, and then at their
    end (the two not overlapping)."""
    limit = min(len(a) - a_start, len(b) - b_start)
    prefix = common_length(a, b, limit, a_start, b_start)
    suffix = common_length(a, b, limit - prefix, len(a), len(b), backwards=True)
    return prefix, suffix


@functools.cache
def _digit_test() -> Callable[[str], bool]:
    """``bool(_DIGIT_RE.search(text))``, without ``\\d``'s category test of every character: the
    decimal ranges below U+10000 (see ``_triggers``), and ``\\d`` itself only on a text with an astral
    character."""
    decimal = re.compile(f"[{_decimal_ranges()}]").search
    astral = re.compile("[\U00010000-\U0010ffff]").search

    def has_digit(text: str) -> bool:
        return decimal(text) is not None or (astral(text) is not None and _DIGIT_RE.search(text) is not None)

    return has_digit


@functools.cache
def _triggers() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns for the next line that may matter: outside a changelog section, and inside one.

    A line can change nothing unless it holds a heading's "#", a table's "|", a fence's "`" or "~", a region
    marker's "<" or (outside the changelog) a digit.  Astral characters (emoji) count too, so a line whose
    only digit is astral is still read; the digit test there is the exact one.

    ``\\d`` is slow to scan for (a category test per character); the same characters spelled out as ranges
    is a table lookup, several times faster over Korean text.
    """
    return re.compile(f"[{_decimal_ranges()}#|`~<\U00010000-\U0010ffff]"), re.compile("[#`~<]")


def _decimal_ranges() -> str:
    """Every decimal digit below U+10000 as character-class ranges, from this Python's Unicode tables.

    Unicode encodes decimal digits in runs of ten (0 to 9), so every run holds a multiple of ten: testing
    those and growing each hit to its run finds them all, in a tenth of the time a test of every
    character takes (which a one-note pre-commit check would feel).
    """
    ranges: list[str] = []
    end = -1
    for k in range(0, 0x10000, 10):
        if k <= end or not chr(k).isdecimal():
            continue
        start = k
        while start > 0 and chr(start - 1).isdecimal():
            start -= 1
        end = k
        while end + 1 < 0x10000 and chr(end + 1).isdecimal():
            end += 1
        ranges.append(f"{chr(start)}-{chr(end)}")
    return "".join(ranges)


def _advance(text: str, pos: int, count: int) -> int:
    """The offset of the line ``count`` lines below the one holding ``pos``; ``len(text)`` past the last."""
    for _ in range(count):
        pos = text.find("\n", pos) + 1
        if not pos:
            return len(text)
    return pos


def _unquote(line: str) -> str:
    if line[:1] not in _QUOTE_STARTS:
        return line  # the prefix pattern can strip nothing: save the regex call
    return line[_QUOTE_PREFIX_RE.match(line).end() :]  # type: ignore[union-attr]  # matches ""


@functools.lru_cache(maxsize=32)
def _closing_fence(marker: str) -> re.Pattern[str]:
    """The line that closes a fence opened by ``marker``: as many marker characters or more, alone."""
    return re.compile(rf"^[ \t]*(?:>[ \t]?)*[ \t]*{re.escape(marker[0])}{{{len(marker)},}}[ \t]*\r?$")


@functools.lru_cache(maxsize=1024)
def _opening(line: str) -> tuple[str, str, str] | None:
    """``(marker, lang, prefix)`` when ``line`` opens a fenced block, else None.

    Remembered: a vault's fence lines are few and repeat (```` ```python ````, ```` ``` ````).
    """
    fence = _FENCE_RE.match(line)
    if fence is None or (fence["fence"][0] == "`" and "`" in fence["info"]):
        return None  # a backtick fence's info string holds no backtick: this is inline code
    return fence["fence"], (fence["info"].strip().split() or [""])[0].lower(), fence["prefix"]


def _fence(
    lines: Sequence[str],
    body: str,
    i: int,
    pos: int,
    opening: tuple[str, str, str],
    segments: list[Row],
    fences: list[Fence],
) -> tuple[int, int]:
    """Consume the fenced block opening at line ``i`` (``pos``: where the next line starts).

    Return the line after the block and where it starts.
    """
    marker, lang, prefix = opening
    closing = _closing_fence(marker)
    n = len(lines)
    j = i + 1
    start = end = pos  # the block's content: body[start:end]
    # A closing line holds the whole marker: test only the lines that do.
    while (at := body.find(marker, pos)) >= 0:
        j += body.count("\n", pos, at)
        end = body.rfind("\n", 0, at) + 1
        pos = body.find("\n", at) + 1 or len(body)
        if closing.match(lines[j]):
            break
        j += 1
    else:
        j, pos, end = n, len(body), len(body)
    fences.append(Fence(lang, i + 1, min(j, n - 1) + 1, prefix))
    if lang == "claims":
        for k in range(i + 1, min(j, n)):
            content = _unquote(lines[k])
            if content.strip() and not content.lstrip().startswith(("#", "//")):
                segments.append((k + 1, "claims", content.strip(), "", (), ()))
    elif lang not in _SKIP_FENCES:
        # Only a line holding a comment marker can hold a comment: jump from one such line to the next.
        markers = _marker_search(lang)
        has_digit = _digit_test()
        k, cursor = i + 1, start
        while (hit := markers(body, cursor, end)) is not None:
            k += body.count("\n", cursor, hit.start())
            cursor = body.find("\n", hit.start(), end) + 1 or end
            line = lines[k]
            # The prefix holds no digit: test the raw line.
            if has_digit(line):
                split = split_comment(_unquote(line), lang)
                if split is not None and _DIGIT_RE.search(split[1]):
                    segments.append((k + 1, "comment", split[1], split[0], (), ()))
            k += 1
    return j + 1, pos


@functools.lru_cache(maxsize=64)
def _marker_search(lang: str) -> Callable[[str, int, int], re.Match[str] | None]:
    """``search`` for the next comment marker of ``lang``'s code."""
    return re.compile("|".join(map(re.escape, dict.fromkeys(_comment_markers(lang))))).search


def _comment_markers(lang: str) -> tuple[str, str]:
    """What starts a comment in ``lang``'s code (both common markers for a language not known)."""
    if lang in _HASH_COMMENTS:
        return ("#", "#")
    if lang in _SLASH_COMMENTS:
        return ("//", "//")
    if lang in _DASH_COMMENTS:
        return ("--", "--")
    return ("#", "//")


def split_comment(line: str, lang: str) -> tuple[str, str] | None:
    """``(code, comment text)`` of a code line, or ``None`` when it has no comment (strings respected)."""
    # Jump from quote to marker to quote instead of walking the line a character at a time.
    tokens = _code_tokens(lang)
    k = 0
    while (token := tokens.search(line, k)) is not None:
        if token[0] not in _QUOTES:
            return line[: token.start()], line[token.end() :].strip()
        string = _STRING_TAILS[token[0]].match(line, token.end())
        if string is None:
            return None  # an unclosed string runs to the end of the line
        k = string.end()
    return None


_QUOTES = "\"'`"
# The rest of a string after its opening quote: a backslash escapes the character after it.
_STRING_TAILS = {q: re.compile(rf"(?:[^{q}\\]|\\.)*{q}", re.DOTALL) for q in _QUOTES}


@functools.lru_cache(maxsize=64)
def _code_tokens(lang: str) -> re.Pattern[str]:
    """A quote opening a string, or one of ``lang``'s comment markers (the first listed wins a tie)."""
    return re.compile("|".join(["[\"'`]", *map(re.escape, dict.fromkeys(_comment_markers(lang)))]))


def _table(lines: Sequence[str], i: int, segments: list[Row]) -> int:
    """Consume a GFM table whose header is line ``i``; return the index of the line after it."""
    header_text = _unquote(lines[i])
    header = tuple(header_text[a:b].strip() for a, b in cell_spans(header_text))
    j = i + 2
    has_digit = _digit_test()
    while j < len(lines):
        row = _unquote(bare_line(lines[j]))
        if not row.strip() or "|" not in row:
            break
        if has_digit(row) and _OWN_ROW not in row:
            segments.append((j + 1, "row", row, "", tuple(cell_spans(row)), header))
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
