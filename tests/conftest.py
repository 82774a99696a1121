from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

# No time limit per example: Hypothesis's default deadline (200 ms) made property tests fail when the
# machine was busy, which is a timed test in disguise; speed lives in benchmarks/.
settings.register_profile("vault-tools", deadline=None)
settings.load_profile("vault-tools")

MakeVault = Callable[..., Path]


@pytest.fixture
def make_vault(tmp_path: Path) -> MakeVault:
    """Build a vault under ``tmp_path``: ``make_vault({"a.md": "...", "sub/b.md": b"..."}) -> root``.

    Text is written as UTF-8 bytes exactly (no newline translation), bytes as given.  The root gets an
    ``.obsidian/`` folder, as a real vault has, unless ``obsidian=False``.  Each call makes a new vault.
    """
    made = 0

    def make(files: Mapping[str, str | bytes], *, obsidian: bool = True) -> Path:
        nonlocal made
        made += 1
        root = tmp_path / ("vault" if made == 1 else f"vault{made}")
        root.mkdir()
        if obsidian:
            (root / ".obsidian").mkdir()
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return root

    return make
