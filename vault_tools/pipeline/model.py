"""Records the pipeline passes between its stages, and the ``Processor`` protocol plugins implement."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

# Part of the records plug-ins import from here (``from vault_tools.pipeline.model import Problem``).
from vault_tools.pipeline.problem import Problem as Problem
from vault_tools.pipeline.problem import Severity as Severity
from vault_tools.records import field, record


@record
class Block:
    """A fenced block found by markdown-it-py.

    ``line`` is the 1-based line of the opening fence and ``end_line`` that of the closing fence (or the
    last line of the note when the fence is never closed).  ``prefix`` is what precedes the fence on its
    line when it sits in a blockquote or list item (``"> "``, ``"   "``), so generated text can be placed
    in the same container.
    """

    kind: str
    info: str
    content: str
    line: int
    end_line: int
    prefix: str = ""
    index: int = 0  # 0-based position among blocks of the same kind in the note
    closed: bool = True  # False when the fence is never closed (it then runs to the end of its container)


@record
class NoteContext:
    """What a processor may read about the note and the vault (never the file system directly)."""

    path: str
    title: str
    frontmatter: Mapping[str, Any]
    body_start_line: int  # 1-based line where the Markdown body starts (after frontmatter)
    text: str
    blocks: Sequence[Block] = ()
    # Resolves a model reference (preset name, note title/alias, [[wikilink]]) to a spec mapping, or None.
    resolve_model: Callable[[str], Mapping[str, Any] | None] = field(default=lambda _name: None)
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    aliases: tuple[str, ...] = ()  # the frontmatter's aliases, as strings
    # ``reuse(region_id, key)``: the region as the note holds it, ``(text, summary)``, when an earlier run
    # rendered exactly that text from an output with this ``memo_key`` (see ``Rendered``); else None.
    reuse: Callable[[str, str], tuple[str, Mapping[str, str]] | None] = field(
        default=lambda _region_id, _key: None
    )
    # The text this one was made from by the engine's own edits (refresh reading the note it is about to
    # write): work done on that text may serve this one where the two are the same.
    edited_from: str = ""


@record
class Rendered:
    """A processor's output for one managed region.

    ``anchor_line`` is the 1-based line after which the region goes (a fence's closing line; 0 means the end
    of the note).  ``region_id`` names the region uniquely within the note (``model-spec``, ``model-spec-2``).
    ``text`` is Markdown with ``\\n`` line ends (the writer converts to the note's own).  ``summary`` holds
    the few headline values whose change is worth a changelog row (``{"params": "6.74B"}``); ``status`` is
    this region's vote for the note's verification status (``verified`` / ``failed`` / None for no opinion).
    ``cites`` pairs each note line the text quotes (1-based, as read) with the number the text shows for it
    once the note is written.  A processor that cites lines and offers ``cited_lines(note)`` lets the engine
    check those numbers on the written note instead of re-running it; otherwise it re-runs until the text
    stops moving.

    ``memo_key`` is a string that determines ``text`` and ``summary`` entirely, given the tool's version,
    templates and config (a changed one of those empties the cache).  The cache remembers which text each
    key gave, so the next run of this note can take the region from the note itself (``NoteContext.reuse``)
    instead of computing and rendering it again: the pre-commit case of a note edited elsewhere.
    """

    region_id: str
    anchor_line: int
    text: str
    summary: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    status: str | None = None
    problems: tuple[Problem, ...] = ()
    prefix: str = ""
    cites: tuple[tuple[int, int], ...] | None = None
    memo_key: str | None = None


@runtime_checkable
class Processor(Protocol):
    """A pipeline plugin: turns a note (usually its fenced blocks of one kind) into managed regions.

    Registered under the ``vault_tools.processors`` entry-point group; the built-in ``model-spec`` processor
    goes through the same mechanism.  ``kinds`` are the fence info strings it owns (may be empty for a
    note-level processor such as claim validation).  ``process`` must be pure: no I/O, no printing.  It
    raises nothing for bad input in a note: it returns ``Problem`` records instead (severity ``error``
    leaves the whole note untouched).
    """

    name: str
    kinds: tuple[str, ...]

    def process(self, note: NoteContext) -> Sequence[Rendered | Problem]: ...


# Optional processor attributes the engine reads with getattr (not part of the Protocol, so plugins need
# not define them): ``wants(text) -> bool``, a cheap prefilter; ``cites_lines = True`` when the output
# quotes line numbers of the note, so refresh re-runs it until inserted regions stop moving them.
