"""The string layer: ``process_text`` on whole notes, exact outputs asserted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from vault_tools.claims.processor import ClaimsProcessor
from vault_tools.pipeline.config import Config
from vault_tools.pipeline.engine import Options, Result, process_text
from vault_tools.processors import ModelSpecProcessor

CONFIG = Config(date="2026-11-23")
GPT2 = "model_type: gpt2\nn_embd: 768\nn_layer: 12\nn_head: 12\nvocab_size: 50257\nn_positions: 1024"
PROCESSORS = {"model-spec": ModelSpecProcessor()}

NOTE = """---
title: LLaMA-7B
verification_status: draft  # set by hand
last_reinforced: 2026-05-08
aliases: [LLaMA 7B, "[[llama]]"]
---

# LLaMA-7B

```model-spec
preset: llama-7b
```

Text after the spec.

## 🕓 Changelog
| 날짜 | 변경 |
|---|---|
| 2026-05-08 | Phase 1 |
"""


def run(text: str, **options: object) -> Result:
    return process_text(text, path="n.md", config=CONFIG, processors=PROCESSORS, options=Options(**options))  # type: ignore[arg-type]


def outside_regions(text: str) -> list[str]:
    """The note's lines with managed regions cut out (what refresh must never change)."""
    out, inside = [], False
    for line in text.split("\n"):
        if "<!-- vault-tools:begin" in line:
            inside = True
        elif "<!-- vault-tools:end" in line:
            inside = False
        elif not inside:
            out.append(line)
    return out


def test_refresh_inserts_region_after_the_fence_and_logs_it() -> None:
    result = run(NOTE)
    assert result.changed
    assert result.changes == ("model-spec added (params 6.74B)",)
    lines = result.text.split("\n")
    fence_end = lines.index("preset: llama-7b") + 1
    assert lines[fence_end] == "```"
    assert lines[fence_end + 1] == ""
    assert lines[fence_end + 2].startswith("<!-- vault-tools:begin model-spec sha256=")
    assert lines[fence_end + 3] == '<!-- vault-tools:summary {"params": "6.74B"} -->'
    assert "| **Total** | | **6,738,415,616** | 100.0% |" in lines
    end = lines.index("<!-- vault-tools:end model-spec -->")
    assert lines[end + 1 : end + 3] == ["", "Text after the spec."]
    assert lines[-3:] == [
        "| 2026-05-08 | Phase 1 |",
        "| 2026-11-23 | vault-tools: model-spec added (params 6.74B) |",
        "",
    ]
    # The date key is owned; the comment on another owned-key line and every other byte stay.
    assert "last_reinforced: 2026-11-23" in lines
    assert "verification_status: draft  # set by hand" in lines
    before = outside_regions(NOTE)
    after = outside_regions(result.text)
    after.remove("last_reinforced: 2026-11-23")
    after.remove("| 2026-11-23 | vault-tools: model-spec added (params 6.74B) |")
    before.remove("last_reinforced: 2026-05-08")
    assert [line for line in after if line] == [line for line in before if line]


def test_refresh_is_idempotent() -> None:
    once = run(NOTE).text
    again = run(once)
    assert not again.changed
    assert again.text == once
    assert again.changes == ()


def test_changed_spec_logs_old_and_new_values() -> None:
    once = run(NOTE).text
    edited = once.replace("preset: llama-7b\n", "preset: llama-7b\nnum_hidden_layers: 16\n")
    result = run(edited)
    assert result.changes == ("params 6.74B → 3.50B",)
    assert result.text.endswith(
        "| 2026-11-23 | vault-tools: model-spec added (params 6.74B) |\n"
        "| 2026-11-23 | vault-tools: params 6.74B → 3.50B |\n"
    )


def test_check_reports_missing_and_stale_regions_and_writes_nothing() -> None:
    missing = run(NOTE, check=True)
    assert [(p.line, p.severity, p.message) for p in missing.problems] == [
        (12, "stale", "model-spec: computed tables are missing; run `vault-tools refresh`")
    ]
    fresh = run(NOTE).text
    assert run(fresh, check=True).problems == ()
    stale = fresh.replace("preset: llama-7b\n", "preset: llama-7b\nnum_hidden_layers: 16\n")
    problems = run(stale, check=True).problems
    assert [(p.line, p.message) for p in problems] == [
        (15, "model-spec: managed region is stale; run `vault-tools refresh`")
    ]


def test_bad_spec_leaves_the_note_untouched() -> None:
    bad = NOTE.replace(
        "preset: llama-7b",
        "hidden_size: 4096\nnum_attention_heads: 24\nnum_hidden_layers: 2\n"
        "vocab_size: 8\nintermediate_size: 8",
    )
    result = run(bad)
    assert not result.changed and result.text == bad
    # At the line that sets the key the message names (found in review: it was the opening fence's).
    assert [(p.line, p.severity, p.message) for p in result.problems] == [
        (
            12,
            "error",
            "model-spec: 'num_attention_heads' (24) does not divide 'hidden_size' (4096); "
            "set 'head_dim' if the model uses a custom head size",
        )
    ]


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        ("L: .inf\nh: 768\nV: 100", 2, "'L' must be a whole number, got inf"),
        ("h: 768\nL: .nan\nV: 100", 3, "'L' must be a whole number, got nan"),
        ("preset: llama-7b\npartial_rotary_factor: .inf", 3, "'partial_rotary_factor' must be a number "),
        ("preset: llama-7b\nmemory:\n  batch: .inf", 4, "memory.batch: expected a whole number, got inf"),
        ("preset: llama-7b\nmemory:\n  seq_len: .nan", 4, "memory.seq_len: expected a whole number, got nan"),
    ],
)
def test_infinite_or_nan_spec_value_is_named_at_its_line(lines: str, line: int, message: str) -> None:
    # Found in review: int(inf) and int(nan) escaped the checks, as a crash or a message at the fence.
    note = f"```model-spec\n{lines}\n```\n"
    problems = run(note).problems
    assert [(p.line, p.severity) for p in problems] == [(line, "error")]
    assert problems[0].message.startswith(f"model-spec: {message}")


def test_recursive_frontmatter_alias_is_one_clear_problem_in_refresh_and_check() -> None:
    # Found in review: refresh crashed with a RecursionError, check said the tables were missing.
    note = "---\na: &a [*a]\ntitle: x\n---\n```model-spec\npreset: llama-7b\n```\n"
    refreshed, checked = run(note), run(note, check=True)
    assert not refreshed.changed and refreshed.text == note
    assert refreshed.problems == checked.problems
    assert [(p.line, p.severity) for p in checked.problems] == [(2, "error")]
    assert "holds an alias (*name) of itself" in checked.problems[0].message


@pytest.mark.parametrize(
    "note",
    [
        # Found in review: the row went into the model-spec region's table; the next refresh failed
        # with "managed region 'model-spec' was edited by hand".
        "# A\n\n## Changelog\n\nNotes below.\n\n```model-spec\npreset: llama-7b\n```\n",
        # Found in review: the row went into the user's own table, below prose under a History heading.
        "# A\n\n```model-spec\npreset: llama-7b\n```\n\n## History\n\nGPT-2 was released in 2019.\n\n"
        "| Year | Event |\n| --- | --- |\n| 2019 | release |\n",
    ],
)
def test_no_row_without_a_changelog_table(note: str) -> None:
    first = run(note)
    assert first.problems == () and first.changed
    assert "vault-tools: model-spec added" not in "".join(outside_regions(first.text))
    assert "2026-11-23 |" not in first.text
    again = run(first.text)
    assert again.problems == () and not again.changed


def test_a_lone_cr_under_the_changelog_table_gets_a_warning_not_a_broken_row() -> None:
    note = "# A\n\n```model-spec\npreset: llama-7b\n```\n\n## Changelog\n\n| Date | Change |\n| --- | --- |\n"
    note += "\r## After\n\ntext\n"
    result = run(note)
    cr_line = result.text.split("\n").index("\r## After") + 1  # in the note as written
    assert [(p.line, p.severity) for p in result.problems] == [(cr_line, "warning")]
    assert "lone carriage return" in result.problems[0].message
    assert "2026-11-23" not in result.text and result.text.endswith("| --- | --- |\n\r## After\n\ntext\n")
    assert not run(result.text).changed


def test_a_note_ending_in_a_lone_cr_keeps_its_bytes_and_ends_in_a_line_break() -> None:
    # Found in review: "…parameters.\r" became "…parameters.\r\r\n\r\n<!-- vault-tools:begin" and the
    # note ended without a line break.  The CR now becomes the CRLF the note uses.
    note = "# A\r\n\r\nLLaMA-7B has 6.7B parameters.\r"
    result = process_text(
        note,
        path="n.md",
        config=CONFIG,
        processors={"claims": ClaimsProcessor()},
        newline="\r\n",
    )
    assert result.changed and result.text.startswith(note + "\n\r\n<!-- vault-tools:begin verification")
    assert result.text.endswith("-->\r\n") and "\r\r" not in result.text
    again = process_text(
        result.text, path="n.md", config=CONFIG, processors={"claims": ClaimsProcessor()}, newline="\r\n"
    )
    assert not again.changed


def test_broken_yaml_in_spec_names_the_line() -> None:
    bad = NOTE.replace("preset: llama-7b", "preset: [llama-7b")
    problems = run(bad).problems
    assert len(problems) == 1
    assert problems[0].line == 11 and problems[0].message.startswith("model-spec: invalid YAML: ")


def test_hand_edited_region_is_kept_unless_forced() -> None:
    fresh = run(NOTE).text
    edited = fresh.replace("| **Total** | | **6,738,415,616** |", "| **Total** | | **7,000,000,000** |")
    result = run(edited)
    assert "7,000,000,000" in result.text
    assert [p.severity for p in result.problems] == ["stale"]
    assert "edited by hand" in result.problems[0].message
    forced = run(edited, force=True)
    assert "7,000,000,000" not in forced.text and "6,738,415,616" in forced.text


def test_spec_inside_a_blockquote_gets_a_quoted_region() -> None:
    quoted = "".join(f"> {line}\n" for line in GPT2.split("\n"))
    note = f"# Q\n\n> ```model-spec\n{quoted}> ```\n> after\n"
    text = run(note).text
    region = [line for line in text.split("\n") if line.startswith(">")]
    begin = next(i for i, line in enumerate(region) if "vault-tools:begin" in line)
    assert region[begin - 2 : begin] == ["> ```", ">"]
    assert region[begin].startswith("> <!-- vault-tools:begin model-spec sha256=")
    assert "> | **Total** | | **124,439,808** | 100.0% |" in region
    assert run(text).text == text


def test_example_spec_inside_a_longer_fence_is_left_alone() -> None:
    note = "# Docs\n\n````markdown\n```model-spec\npreset: gpt2\n```\n````\n"
    result = run(note)
    assert not result.changed and result.problems == ()


@pytest.mark.parametrize(
    "note",
    [
        "",
        "---\ntitle: only frontmatter\n---\n",
        "# No spec\n\nJust prose about LLaMA-7B.\n",
        "no final newline",
    ],
)
def test_notes_without_specs_never_change(note: str) -> None:
    result = run(note)
    assert not result.changed and result.text == note and result.problems == ()


def test_note_without_changelog_gets_no_invented_table() -> None:
    note = f"# X\n\n```model-spec\n{GPT2}\n```\n"
    text = run(note).text
    assert "Changelog" not in text and "vault-tools: " not in text.split("<!-- vault-tools:end")[-1]


def test_two_specs_get_two_regions_with_stable_ids() -> None:
    note = f"# X\n\n```model-spec\n{GPT2}\n```\n\n```model-spec\npreset: llama-7b\n```\n"
    text = run(note).text
    assert "<!-- vault-tools:end model-spec -->" in text
    assert "<!-- vault-tools:end model-spec-2 -->" in text
    assert run(text).text == text


def test_markers_shown_in_a_code_fence_are_examples_not_regions() -> None:
    note = (
        "# How vault-tools marks regions\n\n"
        "```markdown\n<!-- vault-tools:begin model-spec sha256=000000000000 -->\n"
        "...generated...\n<!-- vault-tools:end model-spec -->\n```\n\n"
        "```model-spec\npreset: llama-7b\n```\n"
    )
    result = run(note)
    assert result.problems == ()
    assert result.text.startswith(note[: note.index("```model-spec")])
    assert result.text.count("<!-- vault-tools:end model-spec -->") == 2
    assert run(result.text).text == result.text


# A note with both built-in processors' regions: spec tables and the claims' Verification table.
MEMO_NOTE = NOTE.replace("Text after the spec.", "Text after the spec.\n\nLLaMA-7B has 6.7B parameters.")
BOTH = {**PROCESSORS, "claims": ClaimsProcessor()}


def _both(text: str, **options: object) -> Result:
    return process_text(text, path="n.md", config=CONFIG, processors=BOTH, options=Options(**options))  # type: ignore[arg-type]


def _no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any computing or rendering of a region fail the test."""

    def fail(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("a region was computed or rendered again")

    monkeypatch.setattr("vault_tools.processors._compute", fail)
    monkeypatch.setattr("vault_tools.claims.processor._render_rows", fail)


def test_a_region_rendered_from_the_same_inputs_is_taken_from_the_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refreshed = _both(MEMO_NOTE)
    assert refreshed.changed and len(refreshed.memo) == 2 * 16  # spec tables and Verification
    # Edited elsewhere (the pre-commit case): the same regions, read back from the note, nothing rendered.
    edited = refreshed.text.replace("Text after the spec.", "Text after the spec, edited.")
    expected = _both(edited)
    expected_check = _both(edited, check=True)
    _no_rendering(monkeypatch)
    for check, want in ((False, expected), (True, expected_check)):
        got = _both(edited, check=check, memo=refreshed.memo)
        assert (got.text, got.changed, got.problems, got.changes, got.status, got.memo) == (
            want.text,
            want.changed,
            want.problems,
            want.changes,
            want.status,
            want.memo,
        )
    assert not expected.changed and expected.memo == refreshed.memo


@pytest.mark.parametrize(
    ("edit", "what"),
    [
        (lambda text: text.replace("preset: llama-7b", "preset: llama-13b"), "the spec"),
        (lambda text: text.replace("6.7B parameters", "6.9B parameters"), "a claim"),
        (lambda text: text.replace("| embedding |", "| embedding (edited) |", 1), "the region by hand"),
        (lambda text: text.replace("title: LLaMA-7B", "title: LLaMA-7B (old)"), "the title"),
    ],
)
def test_a_region_is_rendered_again_when_its_inputs_or_its_text_changed(
    edit: Callable[[str], str], what: str
) -> None:
    refreshed = _both(MEMO_NOTE)
    edited = edit(refreshed.text)
    assert edited != refreshed.text, what
    for check in (False, True):
        with_memo = _both(edited, check=check, force=True, memo=refreshed.memo)
        without = _both(edited, check=check, force=True)
        assert (with_memo.text, with_memo.problems, with_memo.changes, with_memo.memo) == (
            without.text,
            without.problems,
            without.changes,
            without.memo,
        ), what


@pytest.mark.parametrize(
    ("prepare", "what"),
    [
        (lambda text: text.replace("\n", "\r\n"), "CRLF"),
        (lambda text: "\ufeff" + text, "BOM"),
        (
            lambda text: text.replace(
                "```model-spec\npreset: llama-7b\n```", "> ```model-spec\n> preset: llama-7b\n> ```"
            ),
            "in a quote",
        ),
    ],
)
def test_a_region_is_taken_from_the_note_in_any_container_and_line_ending(
    prepare: Callable[[str], str], what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = prepare(MEMO_NOTE)
    refreshed = _both(source)
    assert refreshed.changed and len(refreshed.memo) == 2 * 16, what
    edited = refreshed.text.replace("Text after the spec.", "Text after the spec, edited.")
    want = _both(edited, check=True)
    _no_rendering(monkeypatch)
    got = _both(edited, check=True, memo=refreshed.memo)
    assert (got.changed, got.problems, got.memo) == (want.changed, want.problems, want.memo), what
    assert not got.changed, what


def test_a_note_with_render_tokens_has_its_regions_found_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from vault_tools.pipeline import regions

    refreshed = _both(MEMO_NOTE)
    edited = refreshed.text.replace("Text after the spec.", "Text after the spec, edited.")
    calls: list[int] = []
    real = regions._token_lines

    def counted(text: Any) -> Any:
        calls.append(1)
        return real(text)

    monkeypatch.setattr(regions, "_token_lines", counted)
    got = _both(edited, check=True, memo=refreshed.memo)
    assert not got.changed and len(calls) == 1  # the processors' reuse and the engine share one search


def test_claim_lines_are_right_when_an_example_region_is_shown_above_the_claims() -> None:
    """Markers shown in a code fence are no region: the claims below them are cited at their own lines."""
    note = (
        "---\ntitle: Example\n---\n\nHow the region looks:\n\n```markdown\n"
        "<!-- vault-tools:begin verification sha256=0123456789ab -->\n"
        "<!-- vault-tools:end verification -->\n```\n\n"
        "- BERT-base (2018): 110M.\n- GPT-3 (2020): 175B.\n\n## Changelog\n| 날짜 | 변경 |\n|---|---|\n"
    )
    refreshed = _both(note)
    lines = refreshed.text.split("\n")
    cited = [row.split("|")[1].strip() for row in lines if row.startswith("| ") and "`" in row]
    assert cited == [
        str(lines.index("- BERT-base (2018): 110M.") + 1),
        str(lines.index("- GPT-3 (2020): 175B.") + 1),
    ]
    assert not _both(refreshed.text).changed
    assert not _both(refreshed.text, check=True).problems


def test_aliases_that_blow_up_a_spec_block_are_one_problem_at_their_line() -> None:
    """Found in review: the frontmatter's alias guard did not cover spec blocks: 14 lines of nested aliases
    wrote a 1.7 GB cache and printed a 5 MB message; deeper ones ran out of memory."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 7)]
    text = "# B\n\n```model-spec\npreset: llama-7b\n" + "\n".join(levels) + "\nh: *a6\n```\n"
    result = run(text)
    assert [(p.line, p.message) for p in result.problems] == [
        (9, "model-spec: invalid YAML: its aliases (*name) repeat this value into more than 100,000 values; "
         "write the values out instead"),
    ]  # fmt: skip
    assert not result.changed


def test_a_problem_message_quoting_a_huge_value_is_cut() -> None:
    from vault_tools.pipeline.problem import MAX_MESSAGE, Problem

    message = Problem(1, "'h' must be a whole number, got " + "[x, " * 10_000).message
    assert len(message) <= MAX_MESSAGE and message.endswith("(40,032 characters, cut)")


ALL = {"model-spec": ModelSpecProcessor(), "claims": ClaimsProcessor()}


def _refresh_all(text: str) -> str:
    return process_text(text, path="model-spec.md", config=CONFIG, processors=ALL).text


@pytest.mark.parametrize(
    "changelog",
    [
        # A setext heading, which the line scan does not read as one:
        "Changelog\n---------\n\n| Date | Change |\n| --- | --- |\n",
        "## Changelog\n\nOlder entries:\n\n- 2019\n  ## Archive\n\n| Date | Change |\n| --- | --- |\n",
        "## History\n[src]: https://example.com\n\n| Date | Change |\n| --- | --- |\n",
    ],
)
def test_the_rows_the_tool_appends_are_never_read_as_claims(changelog: str) -> None:
    """Found in review: where the claims scan and the writer's Markdown parse disagree on the changelog
    section, the row the tool wrote ("model-spec added (params 6.74B)", in the note named model-spec)
    was read as a claim: refresh was not idempotent and check failed on the tool's own words."""
    text = "# model-spec\n\n```model-spec\npreset: llama-7b\n```\n\n" + changelog
    once = _refresh_all(text)
    assert "| 2026-11-23 | vault-tools: model-spec added (params 6.74B)" in once
    edited = once.replace("preset: llama-7b", "preset: llama-13b")
    twice = _refresh_all(edited)
    assert _refresh_all(twice) == twice
    check = process_text(
        twice, path="model-spec.md", config=CONFIG, processors=ALL, options=Options(check=True)
    )
    assert not check.changed and check.problems == ()


def test_a_changelog_table_in_a_list_item_gets_no_broken_row() -> None:
    """Found in review: "- | Date | Change |" got a row at column 0 without a leading pipe, outside the
    table; each later row went above the one before."""
    text = "# C\n\n```model-spec\npreset: llama-7b\n```\n\n## Changelog\n\n"
    text += "- | Date | Change |\n  | --- | --- |\n"
    result = run(text)
    assert result.text.endswith("- | Date | Change |\n  | --- | --- |\n")
    assert [p.message for p in result.problems] == [
        "changelog: the changelog table sits in a list item; no row was added: move the table out of the list"
    ]


def test_an_indented_heading_in_a_quote_is_code_not_a_changelog() -> None:
    """Found in review: ">     ## Changelog" (indented code in a quote) made the scan skip every claim
    after it."""
    from vault_tools.claims.evaluate import evaluate_claims
    from vault_tools.pipeline.engine import note_context

    text = "# A\n\n> x\n>     ## Changelog\n\nLLaMA-7B has 9B parameters.\n"
    context = note_context(text, path="a.md", config=CONFIG, kinds=("claims",), options=Options())
    assert [(r.line, r.verdict) for r in evaluate_claims(context)] == [(6, "wrong")]


def test_a_lone_cr_in_the_frontmatter_is_named_not_taken_for_a_duplicate_key() -> None:
    """Found in review: "title: A\\rverification_status: draft" (YAML reads the CR as a line break, the
    line model does not) gave a false "duplicate key 'verification_status'" warning at a wrong line."""
    text = "---\ntitle: A\rverification_status: draft\n---\n# A\n\n```model-spec\npreset: llama-7b\n```\n"
    result = run(text)
    warnings = [(p.line, p.message) for p in result.problems]
    assert len(warnings) == 1 and warnings[0][0] == 2
    assert warnings[0][1].startswith("frontmatter: a lone carriage return (CR) on this line")
    assert result.text.startswith("---\ntitle: A\rverification_status: draft\n---\n")
