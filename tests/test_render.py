"""Rendering once for every title (``render_untitled``) must give exactly what ``render`` gives per title."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault_tools import processors
from vault_tools.pipeline.model import Block, NoteContext, Rendered
from vault_tools.pipeline.render import render, render_untitled

SPEC = "preset: llama-7b\n"
TITLES = ["LLaMA-7B", "", "a | b [[x|y]]", "two\nlines\r", "\x00vault-tools:title\x01", "  spaced  "]


def _context(content: str = SPEC) -> dict[str, object]:
    computed = processors._context(content, content.count("\n") + 1)
    assert not isinstance(computed, tuple)
    return dict(computed.context)


@pytest.mark.parametrize("title", TITLES)
def test_shipped_templates_fill_the_title_as_render_does(title: str) -> None:
    context = _context()
    untitled = render_untitled("model-spec.md.j2", None, **context)
    assert untitled is not None
    assert untitled.fill(title) == render("model-spec.md.j2", None, **{**context, "title": title})


@pytest.mark.parametrize(
    "source",
    [
        "{{ title | upper }}\n",
        "{% if title == 'LLaMA-7B' %}seven{% endif %}{{ title | cell }}\n",
        "{% set t = title %}{{ t }}\n",
        "{{ title }}\n",
        "{% for c in title %}{{ c | cell }}{% endfor %}\n",
        "{% include 'other-' ~ family %}\n",
    ],
)
def test_templates_that_read_the_title_otherwise_render_per_title(tmp_path: Path, source: str) -> None:
    (tmp_path / "model-spec.md.j2").write_text(source, encoding="utf-8")
    assert render_untitled("model-spec.md.j2", str(tmp_path), **_context()) is None


def test_an_included_template_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "model-spec.md.j2").write_text(
        "{{ title | cell }}\n{% include 'part.j2' %}", encoding="utf-8"
    )
    (tmp_path / "part.j2").write_text("{{ title | upper }}\n", encoding="utf-8")
    assert render_untitled("model-spec.md.j2", str(tmp_path), **_context()) is None


def test_data_holding_the_stand_in_renders_per_title() -> None:
    context = {**_context(), "family": "\x00vault-tools:title\x01"}
    assert render_untitled("model-spec.md.j2", None, **context) is None


def _process(title: str, templates: str | None = None) -> str:
    block = Block(kind="model-spec", info="model-spec", content=SPEC, line=1, end_line=3)
    note = NoteContext(
        path=f"{title}.md",
        title=title,
        frontmatter={},
        body_start_line=1,
        text=f"```model-spec\n{SPEC}```\n",
        blocks=(block,),
        options={"templates": templates} if templates else {},
    )
    (rendered,) = processors.ModelSpecProcessor().process(note)
    assert isinstance(rendered, Rendered)
    return rendered.text


def test_notes_sharing_a_spec_each_get_their_own_title(tmp_path: Path) -> None:
    assert _process("Alpha").startswith("**Alpha**") and _process("Beta").startswith("**Beta**")
    (tmp_path / "model-spec.md.j2").write_text("{{ title | upper }} {{ total }}\n", encoding="utf-8")
    assert _process("Alpha", str(tmp_path)).startswith("ALPHA ")
    assert _process("Beta", str(tmp_path)).startswith("BETA ")


def test_a_spec_met_once_renders_plainly_and_again_once_for_every_title() -> None:
    """A one-note run (pre-commit) skips the templates' title check; the tables are the same either way."""
    from unittest import mock

    from vault_tools.pipeline import render as render_mod

    processors._SEEN.clear()
    processors._compute.cache_clear()
    processors._untitled.cache_clear()
    with mock.patch.object(processors, "render_untitled", wraps=render_mod.render_untitled) as untitled:
        first = _process("Gamma")
        assert untitled.call_count == 0
        second = _process("Delta")
        assert untitled.call_count == 1
    assert first == render("model-spec.md.j2", None, **{**_context(), "title": "Gamma"})
    assert second == render("model-spec.md.j2", None, **{**_context(), "title": "Delta"})
