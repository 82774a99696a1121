"""``vault_sample/`` stays refreshed: check passes, refresh changes nothing, CRLF and BOM kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vault_tools.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "vault_sample"


def test_check_passes_on_the_sample_vault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLE), "--no-cache"]) == 0
    out = capsys.readouterr().out
    # The seed article's own mistakes are reported (implicit claims), without failing the check.
    assert "12 * 32 * 4096² + 32000 * 4096 ≈ 6.55B: computed 6.57B is not ≈ stated 6.55B" in out


def test_refresh_of_the_sample_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "vault"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".vault-tools"))
    before = {p: p.read_bytes() for p in copy.rglob("*.md")}
    assert main(["refresh", str(copy)]) == 0
    assert capsys.readouterr().out.endswith("9 notes scanned, 0 changed, 0 failed\n")
    assert {p: p.read_bytes() for p in copy.rglob("*.md")} == before


def test_sample_keeps_crlf_and_bom_note() -> None:
    data = (SAMPLE / "10_Wiki/Models/GPT-2.md").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"vault-tools:begin model-spec" in data
