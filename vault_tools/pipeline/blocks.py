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
    if not kinds:
        return []
    fast = _top_level_blocks(text, kinds, line_offset)
    return fast if fast is not None else _parsed_blocks(text, kinds, line_offset)


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
_FENCE_OPEN = re.compile(r"(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)")
_INDENTED_FENCE = re.compile(r"[ \t]+(?:`{3}|~{3})")
_HTML_START = re.compile(r" {0,3}<(?!!-- vault-tools:)")


def _top_level_blocks(text: str, kinds: Collection[str], line_offset: int) -> list[Block] | None:
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # Only lines holding a fence marker matter below; find them (and any HTML start) in one cheap pass.
    marked: list[int] = []
    for index, line in enumerate(lines):
        if "```" in line or "~~~" in line:
            if _INDENTED_FENCE.match(line):
                return None
            marked.append(index)
        if "<" in line[:4] and _HTML_START.match(line):
            return None
    kind_fence = _kind_fence(tuple(kinds))
    blocks: list[Block] = []
    counts: dict[str, int] = {}
    n = len(lines)
    k = 0
    while k < len(marked):
        i = marked[k]
        line = lines[i].removesuffix("\r")
        if kind_fence.search(line) and not kind_fence.match(line):
            return None  # a wanted fence inside a container or after text: leave it to markdown-it
        match = _FENCE_OPEN.match(line)
        if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
            k += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        closing = _closing_fence(fence[0], len(fence))
        k += 1
        while k < len(marked) and not closing.fullmatch(lines[marked[k]].removesuffix("\r")):
            k += 1
        j = marked[k] if k < len(marked) else n
        kind = info.split(maxsplit=1)[0] if info else ""
        if kind in kinds:
            _append(
                blocks,
                counts,
                kind=kind,
                info=info,
                content=_content(lines[i + 1 : j], last=j >= n and not text.endswith("\n")),
                line=i + 1 + line_offset,
                end_line=(j + 1 if j < n else n) + line_offset,
                prefix="",
                closed=j < n,
            )
        k += 1
    return blocks


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


def _content(inner: list[str], *, last: bool) -> str:
    """Fence content as markdown-it gives it: CRLF as LF, no newline after a note's unterminated last line."""
    text = "".join(f"{line.removesuffix(chr(13))}\n" for line in inner)
    return text[:-1] if last and text else text


def has_candidate(text: str, kinds: Collection[str]) -> bool:
    """Cheaply tell whether ``find_blocks`` could find anything or a managed-region marker exists.

    A plain substring test: a fence's info string spells its kind literally (markdown-it does not decode
    entities in it), so a note without the word holds no such block.
    """
    return "vault-tools:" in text or any(kind in text for kind in kinds)
