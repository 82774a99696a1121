"""What the pipeline reports about a note: its own module, so a run the cache answers loads nothing more."""

from __future__ import annotations

from typing import Literal

from vault_tools.records import record

Severity = Literal["error", "stale", "wrong", "warning"]


@record
class Problem:
    """Something to report about a note, at a 1-based source line (``path:line: message``)."""

    line: int
    message: str
    severity: Severity = "error"
