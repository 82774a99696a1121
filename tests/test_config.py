from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

import pytest

from vault_tools.pipeline.config import DEFAULT_HEADINGS, Config, find_vault_root, load_config

MakeVault = Callable[..., Path]
KNOWN = "changelog_headings, date, date_key, exclude, include, status_key, status_map, templates, workers"


def test_defaults(make_vault: MakeVault) -> None:
    root = make_vault({})
    config = load_config(root)
    assert config == Config(root=root, date=dt.date.today().isoformat())
    assert config.changelog_headings == DEFAULT_HEADINGS
    assert dict(config.status_map) == {"verified": "verified", "failed": "failed", "unverified": "unverified"}
    assert (config.status_key, config.date_key, config.workers, config.templates) == (
        "verification_status",
        "last_reinforced",
        0,
        None,
    )


FULL = """\
include = ["10_Wiki/**"]
exclude = ["Templates/", "*.excalidraw.md"]
templates = "_tpl"
changelog_headings = ["Log"]
date = 2026-11-23
status_key = "status"
date_key = "updated"
status_map = { verified = "검증됨", failed = "틀림" }
workers = 4
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".vault-tools.toml", FULL),
        (".vault-tools.toml", "[tool.vault-tools]\n" + FULL),
        ("pyproject.toml", "[project]\nname = 'x'\n\n[tool.vault-tools]\n" + FULL),
    ],
)
def test_every_key(make_vault: MakeVault, name: str, text: str) -> None:
    root = make_vault({name: text, "_tpl/x.j2": ""})
    assert load_config(root) == Config(
        root=root,
        source=root / name,
        include=("10_Wiki/**",),
        exclude=("Templates/", "*.excalidraw.md"),
        templates=root / "_tpl",
        changelog_headings=("Log",),
        date="2026-11-23",
        status_key="status",
        date_key="updated",
        status_map=MappingProxyType({"verified": "검증됨", "failed": "틀림", "unverified": "unverified"}),
        workers=4,
    )


def test_dot_file_wins_over_pyproject(make_vault: MakeVault) -> None:
    root = make_vault(
        {".vault-tools.toml": "workers = 1\n", "pyproject.toml": "[tool.vault-tools]\nworkers = 2\n"}
    )
    assert load_config(root).workers == 1


def test_pyproject_without_the_table_is_ignored(make_vault: MakeVault) -> None:
    root = make_vault({"pyproject.toml": "[tool.ruff]\nline-length = 1\n"})
    assert load_config(root).source is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            ".vault-tools.toml",
            "exlcude = []\n",
            f"unknown key 'exlcude'; known keys: {KNOWN}",
        ),
        (
            ".vault-tools.toml",
            "[tool.vault-tools]\nexlcude = []\n",
            f"unknown key 'exlcude' in [tool.vault-tools]; known keys: {KNOWN}",
        ),
        (
            "pyproject.toml",
            "[tool.vault-tools]\nexlcude = []\n",
            f"unknown key 'exlcude' in [tool.vault-tools]; known keys: {KNOWN}",
        ),
        (".vault-tools.toml", "exclude = [\n", None),
        ("pyproject.toml", "[tool]\nvault-tools = 3\n", "[tool.vault-tools] must be a table of settings"),
        (".vault-tools.toml", "exclude = [1]\n", "'exclude' must be a list of strings"),
        (".vault-tools.toml", "include = {}\n", "'include' must be a list of strings"),
        (".vault-tools.toml", "status_key = ''\n", "'status_key' must be a non-empty string"),
        (".vault-tools.toml", "date_key = 1\n", "'date_key' must be a non-empty string"),
        (".vault-tools.toml", "date = 'tomorrow'\n", "'date' must be a date like 2026-11-23"),
        (".vault-tools.toml", "date = '2026-02-30'\n", "'date' must be a date like 2026-11-23"),
        (
            ".vault-tools.toml",
            "date = 2026-11-23T10:00:00\n",
            "'date' must be a date like 2026-11-23",
        ),
        (
            ".vault-tools.toml",
            "templates = 'nowhere'\n",
            "templates folder 'nowhere' does not exist",
        ),
        (
            ".vault-tools.toml",
            "status_map = { ok = 'x' }\n",
            "'status_map' has unknown status 'ok'; known statuses: verified, failed, unverified",
        ),
        (
            ".vault-tools.toml",
            "status_map = { verified = 1 }\n",
            """'status_map' must be a table of status = "text" pairs""",
        ),
        (
            ".vault-tools.toml",
            "workers = -1\n",
            "'workers' must be a whole number of worker processes (0 lets vault-tools choose)",
        ),
        (
            ".vault-tools.toml",
            "workers = true\n",
            "'workers' must be a whole number of worker processes (0 lets vault-tools choose)",
        ),
    ],
)
def test_config_errors(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch, name: str, text: str, message: str | None
) -> None:
    root = make_vault({name: text})
    monkeypatch.chdir(root)
    with pytest.raises(ValueError) as info:
        load_config(root)
    if message is None:  # tomllib's own wording varies between versions
        assert str(info.value).startswith(".vault-tools.toml: invalid TOML: ")
    else:
        assert str(info.value) == f"{name}: {message}"


def test_messages_name_the_file_by_its_full_path_outside_the_working_folder(make_vault: MakeVault) -> None:
    root = make_vault({".vault-tools.toml": "exlcude = 1\n"})
    with pytest.raises(ValueError) as info:
        load_config(root)
    assert str(info.value).startswith(f"{root / '.vault-tools.toml'}: unknown key 'exlcude'")


@pytest.mark.parametrize(
    ("files", "start", "expected"),
    [
        ({"a/b/n.md": ""}, "a/b/n.md", ""),
        ({"a/b/n.md": ""}, "a/b", ""),
        ({"a/.vault-tools.toml": "", "a/b/n.md": ""}, "a/b/n.md", "a"),
        ({"a/pyproject.toml": "[tool.vault-tools]\n", "a/b/n.md": ""}, "a/b", "a"),
        ({"a/pyproject.toml": "[tool.vault-tools\n", "a/b/n.md": ""}, "a/b", "a"),
        ({"a/pyproject.toml": "[tool.ruff]\n", "a/.obsidian/x": "", "a/b/n.md": ""}, "a/b", "a"),
        ({"a/pyproject.toml": "# vault-tools\n[tool.ruff]\n", "a/b/n.md": ""}, "a/b/n.md", ""),
        # A configuration governs the Obsidian vault below it (found in review: a note named alone got
        # the nearest .obsidian folder's defaults, the walk of the whole tree the configuration).
        ({".vault-tools.toml": "", "notes/.obsidian/x": "", "notes/n.md": ""}, "notes/n.md", ""),
        ({"notes/.obsidian/x": "", "notes/.vault-tools.toml": "", "notes/n.md": ""}, "notes/n.md", "notes"),
    ],
)
def test_find_vault_root(make_vault: MakeVault, files: dict[str, str], start: str, expected: str) -> None:
    root = make_vault(files)
    assert find_vault_root(root / start) == root / expected


def test_find_vault_root_without_markers_is_the_folder_itself(make_vault: MakeVault) -> None:
    root = make_vault({"a/n.md": ""}, obsidian=False)
    assert find_vault_root(root / "a" / "n.md") == root / "a"
    assert find_vault_root(root / "a") == root / "a"


def test_a_git_work_tree_without_obsidian_is_one_vault(make_vault: MakeVault) -> None:
    """Found in review: a vault whose .obsidian is not committed, checked out for CI or a pre-commit run,
    made every folder a vault of its own (a cache in each, references across folders lost)."""
    root = make_vault({".git/HEAD": "ref: refs/heads/main\n", "a/n.md": "", "b/c/m.md": ""}, obsidian=False)
    assert find_vault_root(root / "a" / "n.md") == find_vault_root(root / "b" / "c") == root
    linked = make_vault({".git": "gitdir: /elsewhere\n", "a/n.md": ""}, obsidian=False)  # a linked work tree
    assert find_vault_root(linked / "a" / "n.md") == linked


@pytest.mark.parametrize(
    ("exclude", "path", "excluded"),
    [
        (["Templates"], "Templates/x.md", True),
        (["Templates"], "a/Templates/x.md", True),
        (["Templates"], "Templates.md", False),
        (["Templates/"], "Templates/x.md", True),
        (["Templates/"], "a/Templates", False),  # a file named Templates
        (["/Templates"], "a/Templates/x.md", False),
        (["/Templates"], "Templates/x.md", True),
        (["Templates/**"], "Templates/a/b.md", True),
        (["*.excalidraw.md"], "a/b/c.excalidraw.md", True),
        (["*.excalidraw.md"], "a/b/c.md", False),
        (["10_Wiki/*.md"], "10_Wiki/a.md", True),
        (["10_Wiki/*.md"], "10_Wiki/sub/a.md", False),
        (["10_Wiki/**/*.md"], "10_Wiki/a.md", True),
        (["10_Wiki/**/*.md"], "10_Wiki/sub/a.md", True),
        (["draft-?.md"], "draft-1.md", True),
        (["draft-[!0-9].md"], "draft-1.md", False),
        (["draft-[!0-9].md"], "draft-x.md", True),
        (["a+b (1).md"], "a+b (1).md", True),
        ([], "x.md", False),
    ],
)
def test_exclude_globs(exclude: list[str], path: str, excluded: bool) -> None:
    config = Config(exclude=tuple(exclude))
    assert config.is_excluded(path) is excluded
    assert config.is_included(path) is not excluded


@pytest.mark.parametrize(
    ("include", "path", "included"),
    [
        (["10_Wiki"], "10_Wiki/a/b.md", True),
        (["10_Wiki"], "20_Raw/a.md", False),
        (["**/*.md"], "a.md", True),
        (["*.md"], "a/b.md", True),
    ],
)
def test_include_globs(include: list[str], path: str, included: bool) -> None:
    assert Config(include=tuple(include)).is_included(path) is included


def test_folders_can_be_excluded_before_descending() -> None:
    config = Config(exclude=("Templates/", "/Archive/**"))
    assert config.is_excluded("Templates", is_dir=True)
    assert config.is_excluded("Archive/2024", is_dir=True)
    assert not config.is_excluded("Archive", is_dir=True)  # its files are, one by one
    assert config.is_excluded("Archive/a.md")


@pytest.mark.parametrize(
    ("templates", "path", "excluded"),
    [
        ("_templates/vault-tools", "_templates/vault-tools/head.md", True),
        ("_templates/vault-tools", "_templates/vault-tools/sub/x.md", True),
        ("_templates/vault-tools", "_templates/vault-tools", True),
        ("_templates/vault-tools", "_templates/other.md", False),
        ("_templates/vault-tools", "_templates/vault-tools-notes/a.md", False),
        ("../shared", "shared/a.md", False),  # a folder outside the vault excludes nothing in it
        (".", "a.md", False),  # the vault itself is no templates folder to leave out
    ],
)
def test_the_templates_folder_holds_no_notes(templates: str, path: str, excluded: bool) -> None:
    root = Path("/vault")
    config = Config(root=root, templates=Path(os.path.normpath(root / templates)))
    assert config.is_excluded(path) == excluded
    assert config.is_included(path) == (not excluded)
