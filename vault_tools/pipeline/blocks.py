"""Fenced blocks (```` ```model-spec ````) found the way a Markdown reader sees them.

markdown-it-py does the finding, so a fence shown as an example inside a longer ```` ```` ```` fence, a
``~~~`` fence holding ```` ``` ```` lines, or indented code is never taken for a block, and fences inside
blockquotes and list items are found with their container's prefix.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from vault_tools.pipeline.model import Block

if TYPE_CHECKING:  # markdown-it is imported only for notes the line scan cannot answer
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# markdown-it treats a lone "\r" as a line break, but the pipeline splits lines on "\n" only; a stand-in
# character keeps both line numberings equal and is turned back into "\r" in block contents.
_LONE_CR = re.compile(r"\r(?!\n)")
_CR_STAND_IN = "\ue000"

# What can precede a fence on its line: blockquote markers, indentation and list markers.
_LIST_MARKERS = re.compile(r"[^>\s]")


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # Only block structure matters here; skipping inline parsing roughly halves the cost per note.
    return MarkdownIt("commonmark").enable("table").disable("inline")


def parse(text: str) -> list[Token]:
    """Return markdown-it's block tokens; ``token.map`` holds 0-based ``[start, end)`` lines of ``text``."""
    if "\r" in text:
        text = _LONE_CR.sub(_CR_STAND_IN, text)
    return _parser().parse(text)


def find_blocks(text: str, kinds: Collection[str], *, line_offset: int = 0) -> list[Block]:
    """Find the fenced blocks whose info string's first word is one of ``kinds``.

    ``line_offset`` is added to the line numbers (pass the body's 0-based start line when ``text`` is the
    body below the frontmatter).  A fence that is never closed runs to the end of its container, as
    Markdown readers show it; its ``Block.closed`` is False and ``end_line`` is its last line.
    """
    if not kinds or not _kind_after_fence(text, kinds):
        return []
    fast = _top_level_blocks(text, kinds, line_offset)
    return fast if fast is not None else _parsed_blocks(text, kinds, line_offset)


def _kind_after_fence(text: str, kinds: Collection[str]) -> bool:
    """Whether some kind follows a backtick or tilde and only whitespace on its line: a block needs that.

    Both finders take the kind from the info string, which starts right after the fence's run of marker
    characters; most notes fail this test and need no fence scan at all.
    """
    for kind in kinds:
        pos = text.find(kind)
        while pos >= 0:
            start = text.rfind("\n", 0, pos) + 1
            if text[start:pos].rstrip().endswith(("`", "~")):
                return True
            pos = text.find(kind, pos + 1)
    return False


def _parsed_blocks(text: str, kinds: Collection[str], line_offset: int) -> list[Block]:
    """``find_blocks`` by markdown-it: any container, any nesting."""
    blocks: list[Block] = []
    counts: dict[str, int] = {}
    lines: list[str] | None = None
    for token in parse(text):
        if token.type != "fence" or token.map is None:
            continue
        info = token.info.strip()
        kind = info.split(maxsplit=1)[0] if info else ""
        if kind not in kinds:
            continue
        start, end = token.map
        if lines is None:
            lines = text.split("\n")
        opening = lines[start]
        prefix = _LIST_MARKERS.sub(" ", opening[: opening.index(token.markup[0])])
        content = token.content
        if _CR_STAND_IN in content and "\r" in text:
            content = content.replace(_CR_STAND_IN, "\r")
        content_lines = content.count("\n") + (1 if content and not content.endswith("\n") else 0)
        _append(
            blocks,
            counts,
            kind=kind,
            info=info,
            content=content,
            line=start + 1 + line_offset,
            end_line=end + line_offset,
            prefix=prefix,
            # A closed fence spends one line on each fence; an unclosed one only on the opening.
            closed=end - start - 2 == content_lines,
        )
    return blocks


# The fast path: when every fence of a wanted kind opens at column 0, no HTML block or indented fence
# exists and no lone CR, the blocks are exactly what a line scan of top-level fences finds.  A column-0
# line ends any list item, blockquote or indented code before it (a fence cannot be a lazy continuation
# line), so only top-level fences need tracking.  Anything else goes to markdown-it (a few ms a note).
# The scan visits only lines holding a fence token or a "<", found with C-level ``str.find``: a per-line
# Python loop cost more than the rest of the work.
_FENCE_OPEN = re.compile(r"(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)")
_INDENTED_FENCE = re.compile(r"[ \t]+(?:`{3}|~{3})")
_HTML_OPENER = "<"
_NOT_HTML = "!-- vault-tools:"  # a managed-region marker line is not an HTML block


def _top_level_blocks(text: str, kinds: Collection[str], line_offset: int) -> list[Block] | None:
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None
    marked = _fence_lines(text)
    if marked is None or _has_html_start(text):
        return None
    kind_fence = _kind_fence(tuple(kinds))
    blocks: list[Block] = []
    counts: dict[str, int] = {}
    # No lone CR exists, so a "\r" can only end a line: dropping it is removesuffix("\r") on the line.
    ends = [end - 1 if text.startswith("\r", end - 1) and end > start else end for _, start, end in marked]
    k = 0
    while k < len(marked):
        i, start, _ = marked[k]
        stop = ends[k]
        if kind_fence.search(text, start, stop) and not kind_fence.match(text, start, stop):
            return None  # a wanted fence inside a container or after text: leave it to markdown-it
        match = _FENCE_OPEN.match(text, start, stop)
        if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
            k += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        closing = _closing_fence(fence[0], len(fence))
        k += 1
        while k < len(marked) and not closing.fullmatch(text, marked[k][1], ends[k]):
            k += 1
        kind = info.split(maxsplit=1)[0] if info else ""
        if kind in kinds:
            inner_start = _next_line(text, start)
            if k < len(marked):
                j, inner_stop = marked[k][0], marked[k][1]
                content = text[inner_start:inner_stop].replace("\r\n", "\n")
                end_line, closed = j + 1, True
            else:
                # Unclosed: it runs to the note's end, and an unterminated last line gets no newline.
                content = text[inner_start:].replace("\r\n", "\n")
                end_line, closed = _line_count(text), False
            _append(
                blocks,
                counts,
                kind=kind,
                info=info,
                content=content,
                line=i + 1 + line_offset,
                end_line=end_line + line_offset,
                prefix="",
                closed=closed,
            )
        k += 1
    return blocks


def _next_line(text: str, start: int) -> int:
    """Offset of the line after the one starting at ``start`` (``len(text)`` for the last line)."""
    newline = text.find("\n", start)
    return len(text) if newline < 0 else newline + 1


def _line_count(text: str) -> int:
    """Lines in ``text`` as ``text.split("\n")`` gives them, less an empty piece after a final newline."""
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


def _fence_lines(text: str) -> list[tuple[int, int, int]] | None:
    """(0-based index, start, end before "\n") of each line holding ``` or ~~~; None if one is indented."""
    starts: set[int] = set()
    for token in ("```", "~~~"):
        pos = text.find(token)
        while pos >= 0:
            start = text.rfind("\n", 0, pos) + 1
            starts.add(start)
            pos = _next_line(text, pos)
            pos = text.find(token, pos)
    out: list[tuple[int, int, int]] = []
    index = previous = 0
    for start in sorted(starts):
        index += text.count("\n", previous, start)
        previous = start
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if _INDENTED_FENCE.match(text, start, end):
            return None
        out.append((index, start, end))
    return out


def _has_html_start(text: str) -> bool:
    """Whether a line opens an HTML block: up to three spaces, then "<" (a region marker does not count).

    Nor does a comment that closes on its own line (``<!-- note -->``): an HTML block that ends where it
    starts changes no other line, as markdown-it reads it too.
    """
    pos = text.find(_HTML_OPENER)
    while pos >= 0:
        start = text.rfind("\n", 0, pos) + 1
        indent = pos - start
        if indent <= 3 and text.count(" ", start, pos) == indent and not text.startswith(_NOT_HTML, pos + 1):
            end = text.find("\n", pos)
            if not one_line_comment(text[start:] if end < 0 else text[start:end]):
                return True
        pos = text.find(_HTML_OPENER, pos + 1)
    return False


def one_line_comment(line: str) -> bool:
    """An HTML comment that closes on its own line: an HTML block of that line alone (markdown-it's rule,
    whose end test is "the line contains -->"), which changes no other line."""
    body = line.lstrip(" ")
    return len(line) - len(body) <= 3 and body.startswith("<!--") and "-->" in body


def _append(blocks: list[Block], counts: dict[str, int], *, kind: str, **fields: Any) -> None:
    """Add a block, numbering it among the blocks of its kind (``Block.index``)."""
    index = counts.get(kind, 0)
    counts[kind] = index + 1
    blocks.append(Block(kind=kind, index=index, **fields))


@functools.lru_cache(maxsize=64)
def _kind_fence(kinds: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(map(re.escape, kinds))
    return re.compile(r"(?:`{3,}|~{3,})[ \t]*(?:" + names + r")(?![^\s`])")


@functools.lru_cache(maxsize=64)
def _closing_fence(char: str, length: int) -> re.Pattern[str]:
    return re.compile(r" {0,3}" + re.escape(char) + "{" + str(length) + r",}[ \t]*")


def has_candidate(text: str, kinds: Collection[str]) -> bool:
    """Cheaply tell whether ``find_blocks`` could find anything or a managed-region marker exists.

    A plain substring test: a fence's info string spells its kind literally (markdown-it does not decode
    entities in it), so a note without the word holds no such block.
    """
    return "vault-tools:" in text or any(kind in text for kind in kinds)
