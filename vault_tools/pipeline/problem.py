"""What the pipeline reports about a note: its own module, so a run the cache answers loads nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from vault_tools.records import record

Severity = Literal["error", "stale", "wrong", "warning"]


@record
class Problem:
    """Something to report about a note, at a 1-based source line (``path:line: message``)."""

    line: int
    message: str
    severity: Severity = "error"

    def __post_init__(self) -> None:
        # A message quoting a value (``got [[[…`` for a spec value YAML aliases blew up) stays one line a
        # reader can take in.
        if len(self.message) > MAX_MESSAGE:
            cut = f"{self.message[: MAX_MESSAGE - 60]} … ({len(self.message):,} characters, cut)"
            object.__setattr__(self, "message", cut)


MAX_MESSAGE = 500


def leaves_stale(problems: Iterable[Problem]) -> bool:
    """Whether a refresh that reported ``problems`` left the note stale (a region edited by hand, kept; a
    region with nowhere to go): such a note is not processed, and a refresh says so in its exit code."""
    return any(p.severity == "stale" for p in problems)
