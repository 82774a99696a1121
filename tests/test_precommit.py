"""The real pre-commit, running this repository's hooks with ``pre-commit try-repo`` on a scratch vault."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vault_tools.cli import main

REPO = Path(__file__).resolve().parents[1]
STALE = "# Stale\n\n```model-spec\nL: 2\nh: 64\nV: 100\n```\n"
FRESH_SRC = "# Fresh\n\n```model-spec\nL: 4\nh: 64\nV: 100\n```\n"

pytestmark = pytest.mark.slow


def _pre_commit() -> list[str]:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed (pip install '.[test]')")
    return [exe]


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One hook environment for the module: try-repo installs this repository into it once.
    return tmp_path_factory.mktemp("pre-commit-home")


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, env=env, capture_output=True)


def _vault(tmp_path: Path) -> Path:
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "stale.md").write_text(STALE)
    (vault / "fresh.md").write_text(FRESH_SRC)
    assert main(["refresh", str(vault / "fresh.md")]) == 0
    _git(vault, "init", "-q")
    _git(vault, "add", "-A")
    return vault


def _try_repo(vault: Path, home: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(REPO), hook, "--files", *files],
        cwd=vault,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_check_hook_fails_on_stale_note_and_passes_on_fresh(
    tmp_path: Path, pre_commit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vault = _vault(tmp_path)
    capsys.readouterr()
    bad = _try_repo(vault, pre_commit_home, "vault-tools-check", "stale.md", "fresh.md")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "stale.md:7: model-spec: computed tables are missing; run `vault-tools refresh`" in bad.stdout
    assert "fresh.md" not in bad.stdout.split("- hook id")[-1].replace("vault-tools check", "")
    good = _try_repo(vault, pre_commit_home, "vault-tools-check", "fresh.md")
    assert good.returncode == 0, good.stdout + good.stderr
    assert (vault / "stale.md").read_text() == STALE
    # A note in a dot-folder (Obsidian's .trash) is none of the vault's: a whole-vault run skips it, and
    # the hooks do not check or rewrite it when it is staged (found in review).
    (vault / ".trash").mkdir()
    (vault / ".trash" / "old.md").write_text(STALE)
    _git(vault, "add", "-A")
    trash = _try_repo(vault, pre_commit_home, "vault-tools-check", ".trash/old.md", "fresh.md")
    assert trash.returncode == 0, trash.stdout + trash.stderr


def test_refresh_hook_rewrites_and_fails_so_the_user_restages(
    tmp_path: Path, pre_commit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vault = _vault(tmp_path)
    capsys.readouterr()
    fixed = _try_repo(vault, pre_commit_home, "vault-tools-refresh", "stale.md", "fresh.md")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "files were modified by this hook" in fixed.stdout
    assert "vault-tools:begin model-spec" in (vault / "stale.md").read_text()
    assert main(["check", str(vault)]) == 0
