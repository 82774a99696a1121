"""A note as text: bytes in, lines out, and back to the very same bytes.

Nothing here normalises line endings.  A note is split on ``"\\n"`` only, so a ``"\\r\\n"`` ending stays
inside its line and every edit elsewhere in the pipeline works on whole original lines; joining the lines
gives back the original text.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import operator
import unicodedata
from collections.abc import Sequence

from vault_tools.records import record

_BOM = codecs.BOM_UTF8
# Git and grep call a file binary when a NUL byte appears early; Markdown never holds one.
_BINARY_PROBE = 8192


class NoteSyntaxError(ValueError):
    """A problem in a note's text, at a 1-based ``line`` when one is known.

    ``str()`` is the bare message; the layer that knows the path prints ``path:line: message``.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@record
class NoteText:
    """A decoded note.

    ``newline`` is the note's dominant line ending (``"\\n"`` or ``"\\r\\n"``); it is used only for lines
    the tool generates, never to rewrite the note's own lines.
    """

    text: str
    bom: bool
    newline: str


def decode_note(data: bytes) -> NoteText:
    """Decode a note's bytes, remembering its BOM and dominant line ending."""
    if data.find(b"\0", 0, _BINARY_PROBE) != -1:  # not "in data[:8192]": that copies the bytes
        raise NoteSyntaxError("binary file, not a Markdown note")
    bom = data.startswith(_BOM)
    if bom:
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise NoteSyntaxError(
            f"not valid UTF-8 at line {line} (byte 0x{data[exc.start]:02x}); save the note as UTF-8", line
        ) from None
    return NoteText(text, bom, dominant_newline(text))


def encode_note(note: NoteText) -> bytes:
    """Encode a note exactly as it was read (the inverse of ``decode_note``)."""
    data = note.text.encode("utf-8")
    return _BOM + data if note.bom else data


def dominant_newline(text: str) -> str:
    """Return ``"\\r\\n"`` when most line breaks are CRLF, else ``"\\n"`` (also for a single-line note)."""
    if "\r" not in text:  # one scan instead of two counts for the usual note
        return "\n"
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"


def split_lines(text: str) -> list[str]:
    """Split on ``"\\n"`` only, keeping each line's ending; ``"".join`` is the inverse.

    Not ``str.splitlines``: that also breaks on ``\\r``, ``\\x0c``, ``\\u2028`` …, which would renumber
    lines relative to what editors, git and markdown-it report for such notes.
    """
    # str.splitlines breaks at every "\n" too (after a "\r\n", as here), and a break at the very end adds no
    # line: it gives the same lines exactly when it gives as many, which is nearly always, and in C.
    lines = text.splitlines(keepends=True)
    if len(lines) == text.count("\n") + (not text.endswith("\n") and text != ""):
        return lines
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# The engine, the claims scan and the claims processor each read the lines of the same note text.
@functools.lru_cache(maxsize=8)
def note_lines(text: str) -> tuple[str, ...]:
    """``split_lines`` of ``text`` as a tuple, remembered for the last few texts."""
    return tuple(split_lines(text))


def line_body(line: str) -> str:
    """Return a line without its ending (``"\\n"`` or ``"\\r\\n"``)."""
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    return line


def line_ending(line: str) -> str:
    """Return the ending of a line: ``"\\r\\n"``, ``"\\n"`` or ``""`` for a last line without one."""
    return line[len(line_body(line)) :]


def to_newline(generated: str, newline: str) -> str:
    """Convert generated ``"\\n"`` text to the note's ``newline``."""
    if newline == "\n":
        return generated
    # Generated text should hold bare "\n" only; folding stray "\r\n" first avoids writing "\r\r\n".
    return generated.replace("\r\n", "\n").replace("\n", newline)


def display_width(text: str) -> int:
    """Columns a monospace editor or terminal gives ``text``: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


_CHUNK = 4096


def common_length(
    a: Sequence[object],
    b: Sequence[object],
    limit: int,
    a_at: int = 0,
    b_at: int = 0,
    *,
    backwards: bool = False,
) -> int:
    """How many items ``a`` and ``b`` share reading on from ``a_at``/``b_at`` (or backwards from those
    ends), at most ``limit``: slices compared at C speed, halved around the first difference.

    Strings compare by characters; lists of lines that keep the same line objects compare at once.
    """

    def same(lo: int, hi: int) -> bool:
        if backwards:
            return a[a_at - hi : a_at - lo] == b[b_at - hi : b_at - lo]
        return a[a_at + lo : a_at + hi] == b[b_at + lo : b_at + hi]

    lo = 0
    while lo < limit:
        hi = min(lo + _CHUNK, limit)
        if same(lo, hi):
            lo = hi
            continue
        while hi - lo > 1:  # the first difference is in [lo, hi)
            mid = (lo + hi) // 2
            if same(lo, mid):
                lo = mid
            else:
                hi = mid
        return lo
    return limit


def first_lone_cr(lines: Sequence[str], start: int = 0, stop: int | None = None) -> int | None:
    """The index of the first line in ``lines[start:stop]`` holding a CR that does not end it as part of
    CRLF (YAML and markdown-it break lines there; the pipeline's line model does not), or None.

    Lines are tested, not their join: joining Korean lines costs more than this.
    """
    if not any(map(operator.contains, itertools.islice(lines, start, stop), itertools.repeat("\r"))):
        return None
    end = len(lines) if stop is None else stop
    return next((k for k in range(start, end) if lines[k].count("\r") != lines[k].count("\r\n")), None)
