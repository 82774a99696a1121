from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.pipeline.blocks import find_blocks, has_candidate
from vault_tools.pipeline.model import Block

KINDS = ("model-spec",)


def _one(text: str, **kwargs: int) -> Block:
    blocks = find_blocks(text, KINDS, **kwargs)
    assert len(blocks) == 1, blocks
    return blocks[0]


def test_top_level_block() -> None:
    text = "# Llama\n\n```model-spec\npreset: llama-7b\nL: 32\n```\nafter\n"
    assert _one(text) == Block("model-spec", "model-spec", "preset: llama-7b\nL: 32\n", 3, 6)


@pytest.mark.parametrize(
    ("text", "content", "line", "end_line", "prefix"),
    [
        ("> ```model-spec\n> L: 32\n>\n> h: 4096\n> ```\n", "L: 32\n\nh: 4096\n", 1, 5, "> "),
        ("> > ```model-spec\n> > L: 1\n> > ```\n", "L: 1\n", 1, 3, "> > "),
        (">```model-spec\n>L: 1\n>```\n", "L: 1\n", 1, 3, ">"),
        ("- item\n  ```model-spec\n  L: 1\n  ```\n", "L: 1\n", 2, 4, "  "),
        ("- ```model-spec\n  L: 1\n  ```\n", "L: 1\n", 1, 3, "  "),
        ("1. ```model-spec\n   L: 1\n   ```\n", "L: 1\n", 1, 3, "   "),
        ("10) x\n    ```model-spec\n    L: 1\n    ```\n", "L: 1\n", 2, 4, "    "),
        ("> - ```model-spec\n>   L: 1\n>   ```\n", "L: 1\n", 1, 3, ">   "),
        ("   ```model-spec\n   L: 1\n   ```\n", "L: 1\n", 1, 3, "   "),
        ("~~~model-spec\n```\nL: 1\n~~~\n", "```\nL: 1\n", 1, 4, ""),
        ("````model-spec\n```\n````\n", "```\n", 1, 3, ""),
        ("```model-spec\r\nL: 1\r\n```\r\n", "L: 1\n", 1, 3, ""),
        ("```model-spec\nL: 1\n```", "L: 1\n", 1, 3, ""),
        ("```model-spec\n```\n", "", 1, 2, ""),
    ],
)
def test_blocks_in_containers(text: str, content: str, line: int, end_line: int, prefix: str) -> None:
    block = _one(text)
    assert (block.content, block.line, block.end_line, block.prefix, block.closed) == (
        content,
        line,
        end_line,
        prefix,
        True,
    )


@pytest.mark.parametrize(
    "text",
    [
        # An example of a block, shown inside a longer fence, is code.
        "````markdown\n```model-spec\nL: 1\n```\n````\n",
        "~~~\n```model-spec\nL: 1\n```\n~~~\n",
        # Indented code, not a fence.
        "text\n\n    ```model-spec\n    L: 1\n    ```\n",
        # Other kinds, or the kind not as the first word.
        "```yaml\nL: 1\n```\n",
        "```python model-spec\nL: 1\n```\n",
        "```model-specs\nL: 1\n```\n",
        "``model-spec``\n",
        "<!--\n```model-spec\nL: 1\n```\n-->\n",
    ],
)
def test_not_a_block(text: str) -> None:
    assert find_blocks(text, KINDS) == []


@pytest.mark.parametrize(
    ("text", "end_line", "content"),
    [
        ("```model-spec\nL: 1\n", 2, "L: 1\n"),
        ("```model-spec\nL: 1", 2, "L: 1"),
        ("```model-spec\n", 1, ""),
        ("```model-spec", 1, ""),
        # In a blockquote the fence ends with the quote.
        ("> ```model-spec\n> L: 1\n\nafter\n", 2, "L: 1\n"),
        ("- ```model-spec\n  L: 1\n\n  h: 2\nout\n", 4, "L: 1\n\nh: 2\n"),
        # A shorter or different closing fence does not close.
        ("````model-spec\nL: 1\n```\n", 3, "L: 1\n```\n"),
        ("```model-spec\nL: 1\n~~~\n", 3, "L: 1\n~~~\n"),
    ],
)
def test_unclosed_fence(text: str, end_line: int, content: str) -> None:
    block = _one(text)
    assert (block.line, block.end_line, block.content, block.closed) == (1, end_line, content, False)


def test_info_index_and_offset() -> None:
    text = (
        "```model-spec title=base\nL: 1\n```\n\n"
        "```python\nx = 1\n```\n\n"
        "```model-spec\nL: 2\n```\n\n"
        "```other\n```\n"
    )
    blocks = find_blocks(text, ("model-spec", "other"), line_offset=10)
    assert [(b.kind, b.info, b.index, b.line, b.end_line) for b in blocks] == [
        ("model-spec", "model-spec title=base", 0, 11, 13),
        ("model-spec", "model-spec", 1, 19, 21),
        ("other", "other", 0, 23, 24),
    ]


def test_no_kinds_finds_nothing() -> None:
    assert find_blocks("```model-spec\n```\n", ()) == []


def test_line_numbers_follow_newline_only_splitting() -> None:
    # A lone "\r" and a form feed are not line breaks for the pipeline; markdown-it must agree.
    text = "a\rb\x0cc\n```model-spec\nL:\r1\n```\n"
    block = _one(text)
    assert (block.line, block.end_line, block.content) == (2, 4, "L:\r1\n")


def test_block_in_the_seed_table_layout() -> None:
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n```model-spec\nL: 1\n```\n"
    assert _one(text).line == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```model-spec\n```", True),
        ("see model-spec", True),
        ("<!-- vault-tools:end x -->", True),
        ("```yaml\n```", False),
        ("", False),
    ],
)
def test_has_candidate(text: str, expected: bool) -> None:
    assert has_candidate(text, KINDS) is expected


@pytest.mark.parametrize(
    "text",
    [
        "```model-spec\nL: 1\n```\n",
        "> ~~~ model-spec\n> x\n",
        "- item\n\n  ```model-spec\n  L: 1\n  ```\n",
    ],
)
def test_has_candidate_never_misses_a_block(text: str) -> None:
    assert find_blocks(text, KINDS)
    assert has_candidate(text, KINDS)


_FRAGMENTS = [
    "```model-spec",
    "```model-spec extra",
    "``` model-spec",
    "```claims",
    "```",
    "````",
    "````markdown",
    "~~~",
    "~~~model-spec",
    "```python",
    "``` `x`",
    "L: 1",
    "",
    "- item",
    "1. item",
    "  ```model-spec",
    "   ```",
    "> ```model-spec",
    "> quote",
    "<div>",
    "text with ```model-spec inside",
    "    indented code",
    "\t```",
    "# heading",
    "| a | b |",
    "|---|---|",
    "<!-- vault-tools:begin model-spec sha256=000000000000 -->",
    "<!-- a note -->",
    "  <!-- indented note --> and text",
    "<!-- opens",
    "closes -->",
    "<!-->",
    "<!--->",
    "<!-- ```model-spec -->",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14), st.booleans(), st.booleans())
@settings(max_examples=3000, deadline=None)
def test_fast_path_agrees_with_markdown_it(lines: list[str], final_newline: bool, crlf: bool) -> None:
    """Whenever the line scan answers, it answers exactly what markdown-it does."""
    from vault_tools.pipeline.blocks import _parsed_blocks, _top_level_blocks

    newline = "\r\n" if crlf else "\n"
    text = newline.join(lines) + (newline if final_newline and lines else "")
    kinds = ("model-spec", "claims")
    fast = _top_level_blocks(text, kinds, 3)
    if fast is not None:
        assert fast == _parsed_blocks(text, kinds, 3)


@pytest.mark.parametrize(
    "text",
    [
        "model-spec is named here\n```\ncode\n```\n",
        "```\x0cmodel-spec\nL: 1\n```\n",  # any whitespace the info string strips
        "```\u00a0model-spec\nL: 1\n```\n",
        "> ```model-spec\nL: 1\n> ```\n",
        "   <p>\n```model-spec\nL: 1\n```\n",
        "    <p>\n\n```model-spec\nL: 1\n```\n",
        "<!-- vault-tools:begin model-spec sha256=000000000000 -->\n```model-spec\nL: 1\n```",
        "```model-spec\r\nL: 1\r\n",
        "```model-spec",
    ],
)
def test_line_scan_and_prefilter_agree_with_markdown_it(text: str) -> None:
    from vault_tools.pipeline.blocks import _parsed_blocks

    kinds = ("model-spec", "claims")
    assert find_blocks(text, kinds, line_offset=2) == _parsed_blocks(text, kinds, 2)


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14), st.booleans())
@settings(max_examples=1000, deadline=None)
def test_kind_prefilter_never_misses_a_block(lines: list[str], final_newline: bool) -> None:
    """A note the prefilter turns away holds no block for markdown-it either."""
    from vault_tools.pipeline.blocks import _kind_after_fence, _parsed_blocks

    text = "\n".join(lines) + ("\n" if final_newline and lines else "")
    kinds = ("model-spec", "claims")
    if not _kind_after_fence(text, kinds):
        assert _parsed_blocks(text, kinds, 0) == []


def test_a_one_line_comment_does_not_send_a_note_to_markdown_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from vault_tools.pipeline import blocks

    def no_parse(_text: str) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(blocks, "parse", no_parse)
    text = "<!-- a note -->\n# Title\n  <!-- another --> text\n\n```model-spec\nL: 1\n```\n"
    found = blocks.find_blocks(text, ("model-spec",))
    assert [(b.kind, b.line, b.end_line, b.content) for b in found] == [("model-spec", 5, 7, "L: 1\n")]
