"""A third-party processor installed through the entry-point group runs through refresh and check."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MakeVault
from vault_tools.cli import main
from vault_tools.pipeline import registry
from vault_tools.pipeline.model import Processor

PLUGIN = '''
from vault_tools.pipeline.model import Problem, Rendered


class WordCount:
    """Count the words of every ```wordcount block (a toy processor with its own compute and template)."""

    name = "wordcount"
    kinds = ("wordcount",)

    def process(self, note):
        out = []
        for block in note.blocks:
            if block.kind != "wordcount":
                continue
            words = len(block.content.split())
            if words == 0:
                out.append(Problem(block.line, "wordcount: the block is empty; write some words in it"))
                continue
            from vault_tools.pipeline.render import render

            text = render("wordcount.md.j2", note.options.get("templates"), words=words)
            out.append(Rendered(region_id=f"wordcount-{block.index + 1}", anchor_line=block.end_line,
                                text=text, summary={"words": str(words)}, prefix=block.prefix))
        return out
'''


@pytest.fixture
def toy_plugin(tmp_path: Path) -> Iterator[None]:
    """Install ``toy_wordcount`` as a distribution whose entry point registers the processor."""
    site = tmp_path / "site"
    (site / "toy_wordcount").mkdir(parents=True)
    (site / "toy_wordcount" / "__init__.py").write_text(PLUGIN)
    dist = site / "toy_wordcount-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-wordcount\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vault_tools.processors]\nwordcount = toy_wordcount:WordCount\n")
    sys.path.insert(0, str(site))
    registry.processors.cache_clear()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("toy_wordcount", None)
        registry.processors.cache_clear()


def test_toy_plugin_refresh_and_check(
    toy_plugin: None, make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    assert isinstance(registry.processors()["wordcount"], Processor)
    root = make_vault(
        {
            "a.md": "# A\n\n```wordcount\none two three\n```\n",
            "_tpl/wordcount.md.j2": "**{{ words }} words**\n",
            ".vault-tools.toml": 'templates = "_tpl"\ndate = "2026-11-23"\n',
        }
    )
    assert main(["check", str(root), "--no-cache"]) == 1
    assert f"{root}/a.md:5: wordcount-1: computed tables are missing" in capsys.readouterr().out
    assert main(["refresh", str(root)]) == 0
    text = (root / "a.md").read_text()
    assert "<!-- vault-tools:begin wordcount-1 sha256=" in text
    assert "**3 words**" in text
    assert main(["check", str(root)]) == 0
    (root / "a.md").write_text(text.replace("one two three", "one two"))
    assert main(["check", str(root)]) == 1
    assert "wordcount-1: managed region is stale" in capsys.readouterr().out
    assert main(["refresh", str(root)]) == 0
    assert "**2 words**" in (root / "a.md").read_text()


def test_plugin_problem_is_reported_with_its_line(
    toy_plugin: None, make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_vault({"b.md": "# B\n\n```wordcount\n```\n", "_tpl/wordcount.md.j2": "{{ words }}\n"})
    assert main(["refresh", str(root)]) == 1
    assert f"{root}/b.md:3: wordcount: the block is empty; write some words in it" in capsys.readouterr().out


def test_broken_plugin_is_a_clear_error_not_a_traceback(
    tmp_path: Path, make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "broken-site"
    dist = site / "broken_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vault_tools.processors]\nbroken = no_such_module:Nothing\n")
    sys.path.insert(0, str(site))
    registry.processors.cache_clear()
    try:
        root = make_vault({"a.md": "# A\n\nText.\n"})
        assert main(["check", str(root), "--no-cache"]) == 2
        err = capsys.readouterr().err
        assert err == (
            "vault-tools: processor plug-in 'broken' (no_such_module:Nothing) failed to load: "
            "ModuleNotFoundError: No module named 'no_such_module'; fix or uninstall it\n"
        )
    finally:
        sys.path.remove(str(site))
        registry.processors.cache_clear()


def _entry_point_names() -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group=registry.GROUP)}


def test_the_quick_look_agrees_with_importlib_metadata() -> None:
    """When the quick look says "built-ins only", importlib.metadata finds nothing else (this install)."""
    if registry._only_builtins():
        assert _entry_point_names() <= set(registry._BUILTIN)
    else:  # some plug-in is installed here: the registry asked importlib.metadata
        assert _entry_point_names() - set(registry._BUILTIN)


def test_a_plugin_distribution_sends_discovery_to_importlib_metadata(toy_plugin: None) -> None:
    assert not registry._only_builtins()
    assert "wordcount" in _entry_point_names()


def test_vault_tools_with_other_entry_points_is_not_taken_on_trust(tmp_path: Path) -> None:
    """A vault-tools whose entry points differ from the built-in table (a fork) is read properly."""
    dist = tmp_path / "vault_tools-9.9.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("[vault_tools.processors]\nclaims = fork.claims:Claims\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert not registry._only_builtins()
        (dist / "entry_points.txt").write_text(
            "[console_scripts]\nvault-tools = vault_tools.cli:main\n\n[vault_tools.processors]\n"
            + "".join(f"{name} = {target}\n" for name, target in registry._BUILTIN.items())
        )
        assert registry._only_builtins() == _only_builtins_without(tmp_path)
    finally:
        sys.path.remove(str(tmp_path))


def _only_builtins_without(path: Path) -> bool:
    sys.path.remove(str(path))
    try:
        return registry._only_builtins()
    finally:
        sys.path.insert(0, str(path))


def test_a_zip_on_sys_path_is_not_looked_into(tmp_path: Path) -> None:
    archive = tmp_path / "plugins.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip archive
    sys.path.insert(0, str(archive))
    try:
        assert not registry._only_builtins()
    finally:
        sys.path.remove(str(archive))


def test_a_processor_that_raises_fails_its_note_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch, make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ValueError out of a processor (a plug-in's, or a refusal of the tool's own) is that note's
    failure with its message, not a traceback that ends the run before the other notes are written."""
    from vault_tools.claims.processor import ClaimsProcessor

    class Refusing(ClaimsProcessor):
        def process(self, note: Any) -> Any:
            if "refuse" in note.text:
                raise ValueError("3: cannot do this one")
            if "crash" in note.text:
                raise RuntimeError("kaboom")
            return super().process(note)

    monkeypatch.setattr(registry, "processors", lambda: {"claims": Refusing()})
    claim = "LLaMA-7B has 6.7B parameters.\n"
    files = {"a.md": claim + "refuse\n", "b.md": claim, "c.md": claim + "crash\n"}
    root = make_vault({**files, ".vault-tools.toml": 'date = "2026-11-23"\n'})
    assert main(["refresh", str(root), "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"{root}/a.md:3: cannot do this one",
        f"{root}/c.md:1: cannot process the note: RuntimeError: kaboom",
        "vault-tools refresh: 3 notes scanned, 1 changed, 2 failed",
    ]
    assert "vault-tools:begin verification" in (root / "b.md").read_text()
