"""vault-tools: keep the numbers in an ML knowledge vault true."""

from __future__ import annotations

__version__ = "0.1.0"
