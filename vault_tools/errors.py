"""The one error type that reaches users: a message with the place it is about."""

from __future__ import annotations


class VaultToolsError(Exception):
    """An error about an input, printed as ``path:line: message``.

    Low layers raise plain ``ValueError``; the layer that knows the file and line wraps it in this.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class SpecError(ValueError):
    """A model spec that cannot be counted; the message names the field and what to do."""
