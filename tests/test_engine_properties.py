"""Properties of refresh on generated notes: idempotent, and nothing outside what it owns ever changes."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.pipeline.config import Config
from vault_tools.pipeline.engine import process_text
from vault_tools.pipeline.registry import processors

CONFIG = Config(date="2026-11-23")
OWNED_KEYS = ("verification_status", "last_reinforced")

_PROSE = st.sampled_from(
    [
        "Plain prose about transformers.",
        "- BERT-base (2018): 110M.",
        "- GPT-3 has 175B parameters.",
        "12 * 32 * 4096² + 32000 * 4096 ≈ 6.55B",
        "| model | params |",
        "> a quote with 7B × 2 bytes = 14 GB",
        "```python\nx = 1  # LLaMA-7B: 6.7B\n```",
        "```model-spec\nL: 2\nh: 64\nV: 100\n```",
        "```model-spec\npreset: gpt2\n```",
        "```claims\nparams(LLaMA-7B) ≈ 6.7B\n```",
        "",
        "# Heading",
        "Ünïcödé · 한국어 문장 ✓",
    ]
)
_FRONTMATTER = st.sampled_from(
    [
        "",
        "---\ntitle: Note\n---\n",
        "---\ntitle: Note\nverification_status: draft  # mine\nlast_reinforced: 2026-05-10\n"
        "aliases: [a, '[[b]]']\n---\n",
        "---\ntags: [x]\nconfidence_score: 0.95\n---\n",
    ]
)
_CHANGELOG = st.sampled_from(
    ["", "\n## 🕓 Changelog\n| 날짜 | 변경 |\n|---|---|\n| 2026-05-08 | Phase 1 |\n"]
)


def _owned_removed(text: str) -> list[str]:
    """The lines refresh does not own: regions, tool changelog rows and owned frontmatter keys cut out."""
    text = re.sub(r"(?ms)^[> ]*<!-- vault-tools:begin .*?<!-- vault-tools:end [^\n]*\n?", "", text)
    return [
        line
        for line in text.split("\n")
        if line.strip() not in ("", ">")
        and not line.startswith("| 2026-11-23 | vault-tools:")
        and not line.startswith(OWNED_KEYS)
    ]


@given(_FRONTMATTER, st.lists(_PROSE, max_size=10), _CHANGELOG, st.sampled_from(["\n", "\r\n"]))
@settings(max_examples=150, deadline=None)
def test_refresh_is_idempotent_and_keeps_every_other_byte(
    frontmatter: str, body: list[str], changelog: str, newline: str
) -> None:
    note = (frontmatter + "\n".join(body) + "\n" + changelog).replace("\n", newline)
    once = process_text(note, path="n.md", config=CONFIG, processors=processors(), newline=newline)
    assert not once.failed
    twice = process_text(once.text, path="n.md", config=CONFIG, processors=processors(), newline=newline)
    assert twice.text == once.text and not twice.changed
    assert _owned_removed(once.text.replace("\r\n", "\n")) == _owned_removed(note.replace("\r\n", "\n"))
    if newline == "\r\n":
        assert once.text.count("\n") == once.text.count("\r\n")
