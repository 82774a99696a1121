"""Fenced blocks (```` ```model-spec ````) found the way a Markdown reader sees them.

markdown-it-py does the finding, so a fence shown as an example inside a longer ```` ```` ```` fence, a
``~~~`` fence holding ```` ``` ```` lines, or indented code is never taken for a block, and fences inside
blockquotes and list items are found with their container's prefix.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from markdown_it import MarkdownIt
from markdown_it.token import Token

from vault_tools.pipeline.model import Block

# markdown-it treats a lone "\r" as a line break, but the pipeline splits lines on "\n" only; a stand-in
# character keeps both line numberings equal and is turned back into "\r" in block contents.
_LONE_CR = re.compile(r"\r(?!\n)")
_CR_STAND_IN = "\ue000"

# What can precede a fence on its line: blockquote markers, indentation and list markers.
_LIST_MARKERS = re.compile(r"[^>\s]")


@functools.cache
def _parser() -> MarkdownIt:
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
        index = counts.get(kind, 0)
        counts[kind] = index + 1
        blocks.append(
            Block(
                kind=kind,
                info=info,
                content=content,
                line=start + 1 + line_offset,
                end_line=end + line_offset,
                prefix=prefix,
                index=index,
                # A closed fence spends one line on each fence; an unclosed one only on the opening.
                closed=end - start - 2 == content_lines,
            )
        )
    return blocks


def has_candidate(text: str, kinds: Collection[str]) -> bool:
    """Cheaply tell whether ``find_blocks`` could find anything or a managed-region marker exists.

    A plain substring test: a fence's info string spells its kind literally (markdown-it does not decode
    entities in it), so a note without the word holds no such block.
    """
    return "vault-tools:" in text or any(kind in text for kind in kinds)
