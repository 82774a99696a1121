from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.pipeline.changelog import append_row, heading_key, last_row
from vault_tools.pipeline.config import DEFAULT_HEADINGS
from vault_tools.pipeline.text import NoteSyntaxError, first_lone_cr, split_lines

# The end of seeds/000 as it is in the vault.
SEED_END = """\
## 🧪 검증 / 중복
- Verified (PyTorch docs, Kaplan 2020 / Hoffmann 2022 scaling laws).
- 신뢰도 A.

## 🕓 Changelog
| 날짜 | 변경 |
|---|---|
| 2026-05-08 | Phase 1 |
| 2026-05-10 | Manual cleanup — parameter vs hyperparameter, modern scale, memory math |
"""

ROW = ["2026-11-23", "vault-tools: params 6.74B"]


def _append(text: str, cells: list[str] = ROW, newline: str = "\n") -> str | None:
    out = append_row(split_lines(text), DEFAULT_HEADINGS, cells, newline)
    return None if out is None else "".join(out)


def test_seed_changelog_gets_one_row() -> None:
    assert _append(SEED_END) == SEED_END + "| 2026-11-23 | vault-tools: params 6.74B |\n"
    assert last_row(split_lines(SEED_END), DEFAULT_HEADINGS) == [
        "2026-05-10",
        "Manual cleanup — parameter vs hyperparameter, modern scale, memory math",
    ]


def test_the_seed_changelog_table_is_found_without_a_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual shape (heading, blank line, pipe rows to the end) takes the line scan, not markdown-it."""
    from vault_tools.pipeline import changelog

    def no_parse(_text: str) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(changelog, "parse", no_parse)
    assert _append(SEED_END) == SEED_END + "| 2026-11-23 | vault-tools: params 6.74B |\n"


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("🕓 Changelog", "changelog"),
        ("CHANGE LOG", "change log"),
        ("Change-Log", "change log"),
        ("📜 변경 이력", "변경 이력"),
        ("  History:  ", "history"),
        ("v2 History", "v2 history"),
    ],
)
def test_heading_key(heading: str, key: str) -> None:
    assert heading_key(heading) == key


@pytest.mark.parametrize(
    ("text", "row"),
    [
        # Table style is copied from the last row.
        ("# Changelog\n|a|b|\n|-|-|\n|x|y|\n", "|D|T|\n"),
        ("# Changelog\na | b\n--|--\nx | y\n", "D | T\n"),
        ("# Changelog\n| a | b\n|---|---\n| x | y\n", "| D | T\n"),
        # Without body rows, the header row sets the style.
        ("## 변경 이력\n| 날짜 | 변경 |\n|---|---|\n", "| D | T |\n"),
        # A hand-aligned table stays aligned where the text fits (Hangul takes two columns).
        (
            "# History\n| 날짜 | 변경     |\n|------|----------|\n| 1    | first    |\n",
            "| D    | T        |\n",
        ),
        ("# History\n| 날짜 | 변경   |\n|------|--------|\n", "| D    | T      |\n"),
        # The row goes right after the table, before what follows; CRLF rows stay CRLF.
        ("# Changelog\r\n| a | b |\r\n|---|---|\r\n| x | y |\r\n\r\nafter\r\n", "| D | T |\r\n"),
        # In a blockquote.
        ("> # Changelog\n> | a | b |\n> |---|---|\n", "> | D | T |\n"),
        # Under a sub-heading of the changelog section, after a paragraph.
        ("## Changelog\nNotes.\n\n### 2026\n| a | b |\n|---|---|\n", "| D | T |\n"),
        # Setext heading.
        ("Changelog\n---------\n| a | b |\n|---|---|\n", "| D | T |\n"),
    ],
)
def test_append_row_matches_the_table(text: str, row: str) -> None:
    lines = split_lines(text)
    end = max(i for i, line in enumerate(lines) if "|" in line) + 1
    assert _append(text, ["D", "T"]) == "".join([*lines[:end], row, *lines[end:]])


def test_a_table_that_ends_the_note_still_has_no_final_newline() -> None:
    text = "# Changelog\n| a | b |\n|---|---|\n| x | y |"
    assert _append(text, ["D", "T"]) == text + "\n| D | T |"


@pytest.mark.parametrize(
    "text",
    [
        "# Notes\n| a | b |\n|---|---|\n",
        # The table belongs to the next section, not the changelog.
        "## Changelog\nnone yet\n## Other\n| a | b |\n|---|---|\n",
        # A "# Changelog" comment inside code is not a heading.
        "```python\n# Changelog\n```\n| a | b |\n|---|---|\n",
        "## Changelogs\n| a | b |\n|---|---|\n",
        "",
    ],
)
def test_no_changelog_table(text: str) -> None:
    assert _append(text) is None
    assert last_row(split_lines(text), DEFAULT_HEADINGS) is None


REGION = "<!-- vault-tools:begin model-spec sha256=0123456789ab -->\n| x | y |\n|:-|-:|\n| 1 | 2 |\n"
REGION += "<!-- vault-tools:end model-spec -->\n"


@pytest.mark.parametrize(
    ("text", "after"),
    [
        # Found in review: the row went into the region's table (a hand edit on the next refresh).
        ("## Changelog\n\nNotes below.\n\n" + REGION, None),
        ("## Changelog\n\n" + REGION + "\n| Date | Change |\n|---|---|\n", "|---|---|\n"),
        # Found in review: a "History" of prose is the note's text (the claims scan checks it), and so is
        # a table further down its section; only a section a table opens is a changelog.
        ("## History\n\nGPT-2 was released in 2019.\n\n| Year | Event |\n|---|---|\n| 2019 | r |\n", None),
        ("## History\n\n\n| Year | Event |\n|---|---|\n| 2019 | r |\n", "| 2019 | r |\n"),
        ("## History\n\n> | Year | Event |\n> |---|---|\n", "> |---|---|\n"),
        ("## History\n\nprose\n\n### Changelog\n| a | b |\n|---|---|\n", "|---|---|\n"),
        # A section titled Changelog is one whatever it opens with: the row goes to its first table.
        ("## 🕓 Changelog\n\nSome prose.\n\n| Year | Event |\n|---|---|\n", "|---|---|\n"),
    ],
)
def test_the_row_goes_to_the_table_of_a_changelog_section_only(text: str, after: str | None) -> None:
    out = _append(text)
    if after is None:
        assert out is None
    else:
        assert text.count(after) == 1
        row = ("> " if after.startswith(">") else "") + "| 2026-11-23 | vault-tools: params 6.74B |\n"
        assert out == text.replace(after, after + row)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # Found in review: markdown-it reads "\r## After" as one more row, and the row was written after it
        # in its style, without pipes; with the CR in the delimiter row no row came, and no word why.
        ("## Changelog\n\n| Date | Change |\n| --- | --- |\n\r## After\n\ntext\n", 5),
        ("## Changelog\n\n| Date | Change |\n| --- | --- |\r## After\n\ntext\n", 4),
    ],
)
def test_a_lone_cr_in_the_changelog_table_refuses_the_row(text: str, line: int) -> None:
    with pytest.raises(NoteSyntaxError) as info:
        _append(text)
    assert info.value.line == line and "lone carriage return (CR)" in info.value.message


def test_a_lone_cr_elsewhere_does_not_stop_the_row() -> None:
    text = "Intro\r with a CR\n\n## Changelog\n\n| Date | Change |\n| --- | --- |\n"
    assert _append(text) == text + "| 2026-11-23 | vault-tools: params 6.74B |\n"


def test_cells_are_escaped_and_padded() -> None:
    text = "# Changelog\n| a | b | c |\n|---|---|---|\n"
    assert _append(text, ["x|y", "two\nlines"]) == text + "| x\\|y | two lines |  |\n"
    out = append_row(split_lines(text), DEFAULT_HEADINGS, ["x|y", "z"], "\n")
    assert out is not None
    assert last_row(out, DEFAULT_HEADINGS) == ["x|y", "z", ""]


def test_a_narrower_table_gets_the_extra_cells_in_its_last_column() -> None:
    """A one-column changelog ("| change |") raised here, and the run with it (found in review)."""
    assert _append("# Changelog\n| a |\n|---|\n", ["1", "2"]).endswith("|---|\n| 1 2 |\n")
    assert _append("# Changelog\n| a | b |\n|---|---|\n", ["1", "2", "3"]).endswith("| 1 | 2 3 |\n")


def test_header_only_table_has_no_last_row() -> None:
    assert last_row(split_lines("# Changelog\n| a | b |\n|---|---|\n"), DEFAULT_HEADINGS) is None


def test_custom_heading_names_and_body_start() -> None:
    text = "---\n# Changelog: a YAML comment\n---\n## Log\n| a |\n|---|\n"
    lines = split_lines(text)
    assert append_row(lines, ["log"], ["x"], "\n", body_start=3) == [*lines, "| x |\n"]
    assert append_row(lines, DEFAULT_HEADINGS, ["x"], "\n", body_start=3) is None


_FRAGMENTS = [
    "## 🕓 Changelog",
    "# Changelog #",
    "### History",
    "## Other",
    "| 날짜 | 변경 |",
    "|---|---|",
    "| 2026-05-08 | Phase 1 |",
    "",
    "text",
    "```",
    "````",
    "~~~",
    "```python",
    "- item",
    "> quote",
    "> ## Changelog",
    "  indented",
    "---",
    "Changelog",
    "=====",
    "<div>",
    "    ## Changelog",
    # Tables the line scan must take as markdown-it does, or leave to it.
    "| a | b | c |",
    "|:-:|--:|",
    "|---|---|  ",
    "| x \\| y | z |",
    "| `a|b` | c |",
    "   | indented | row |",
    "| only |",
    "|",
    "||",
    "text | with | pipe",
    "> | 날짜 | 변경 |",
    "   ",
    "  ---",
    "- - -",
    "<!-- a note -->",
    " <!-- ## Changelog -->",
    "<!-- opens",
    "closes -->",
    "<!-->",
    "- item #tag",
    "- #tag",
    "> see #1",
    "1. step #2",
    "- ## Changelog",
    "> ## Notes",
    "  - ## 🕓 Changelog",
    "1) ## Changelog ##",
    "-\t## Changelog",
    "- ```python # comment",
    "    ## Changelog",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14))
@settings(max_examples=3000, deadline=None)
def test_line_scan_agrees_with_a_full_parse(parts: list[str]) -> None:
    """Where the line scan places the heading, the table found from it is the full parse's table."""
    from vault_tools.pipeline import changelog

    lines = [f"{part}\n" for part in parts]
    names = DEFAULT_HEADINGS
    wanted = {changelog.heading_key(name) for name in names}
    tokens = changelog.parse("".join(lines))
    full_heading = next(
        (
            token.map[0]
            for index, token in enumerate(tokens)
            if token.type == "heading_open"
            and token.map is not None
            and changelog.heading_key(tokens[index + 1].content) in wanted
        ),
        None,
    )
    assert changelog.heading_line(lines, names) == full_heading
    fast = changelog._heading_fast(lines, names, 0)
    if fast is not None and fast >= 0:
        assert fast == full_heading


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14))
@settings(max_examples=6000, deadline=None)
def test_appending_with_the_line_scan_equals_appending_after_a_full_parse(parts: list[str]) -> None:
    from unittest import mock

    from vault_tools.pipeline import changelog

    lines = [f"{part}\n" for part in parts]
    names = DEFAULT_HEADINGS

    def append() -> object:
        try:
            return changelog.append_row(lines, names, ["2026-11-23", "row"], "\n")
        except ValueError as exc:  # a one-column table: both ways must refuse it alike
            return str(exc)

    fast = append()
    with mock.patch.object(changelog, "_heading_fast", return_value=-1):
        full = append()
    assert fast == full


@given(st.lists(st.sampled_from([*_FRAGMENTS, "## History", "## Changelog", "7B", REGION]), max_size=14))
@settings(max_examples=2000, deadline=None)
def test_the_claims_scan_skips_the_row_the_writer_appends(parts: list[str]) -> None:
    """The row the tool appends (it has digits) is never a claim: where the scan's line rules and the
    writer's Markdown parse disagree on the section (setext headings, HTML blocks, list items), its
    "vault-tools: " cell still marks it."""
    from vault_tools.claims.scan import scan

    lines = split_lines("".join(f"{part}\n" for part in parts))
    try:
        out = append_row(lines, DEFAULT_HEADINGS, ["2026-11-23", "vault-tools: params 6.74B"], "\n")
    except ValueError:
        return
    if out is None:
        return
    row = next(index for index, (a, b) in enumerate(zip([*lines, ""], out, strict=False)) if a != b)
    assert "6.74B" in out[row]
    assert row + 1 not in {segment.line for segment in scan("".join(out))[0]}


_EDIT = st.tuples(st.integers(0, 14), st.integers(0, 2), st.lists(st.sampled_from(_FRAGMENTS), max_size=3))


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=14), st.lists(st.lists(_EDIT, max_size=3), max_size=3))
@settings(max_examples=1000, deadline=None)
def test_a_scan_of_edited_lines_answers_as_a_scan_of_them_alone(
    parts: list[str], rounds: list[list[tuple[int, int, list[str]]]]
) -> None:
    """Refresh places its regions above the heading, then appends the row to the note with them: the
    second scan starts where the lines differ, and must answer as a scan from the start does."""
    from vault_tools.pipeline import changelog

    names = DEFAULT_HEADINGS
    lines = [f"{part}\n" for part in parts]
    changelog._LAST_SCAN = None
    asked = [lines]
    for edits in rounds:
        edited = list(asked[-1])  # the lines kept are the same objects, as in the engine's edits
        for at, removed, inserted in edits:
            edited[at : at + removed] = [f"{part}\n" for part in inserted]
        asked.append(edited)
    for body_start in (0, 1):
        for edited in asked:
            remembered = changelog._heading_fast(edited, names, body_start)
            alone = changelog._scan_headings(edited, tuple(names), body_start, body_start, None, [])
            assert remembered == (-1 if first_lone_cr(edited, body_start) is not None else alone)
            assert remembered == -1 or remembered == changelog.heading_line(
                edited, names, body_start=body_start
            )


def test_a_note_without_a_changelog_is_not_parsed_to_learn_that(monkeypatch: pytest.MonkeyPatch) -> None:
    """The line scan read every line with certainty: it says there is no heading, no parse needed."""
    from vault_tools.pipeline import changelog

    def no_parse(_text: str) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(changelog, "parse", no_parse)
    lines = split_lines(
        "# Note\n\n<!-- a note -->\n- item #tag, C#, #123\n\n```python\n## Changelog\n```\n\n---\n\n"
        "## Other\n| a | b |\n|---|---|\n"
    )
    assert changelog.heading_line(lines, DEFAULT_HEADINGS) is None
    assert append_row(lines, DEFAULT_HEADINGS, ["2026-11-23", "row"], "\n") is None


def test_the_line_scan_tries_each_pattern_only_where_it_can_match() -> None:
    """The scan tries the setext-underline and container patterns only on lines starting with one of
    the characters they can match at: no other first character of the lines it reads lets either match.
    (A line starting with any other character, a Unicode digit among them, is passed over before.)"""
    from vault_tools.pipeline import changelog

    tails = ["", "-", "=", "--", "==", " -", " =", "  --", " ", "\t", ". x", ") x", "1. # Changelog"]
    tails += [" # Changelog", "# Changelog", "> ## Changelog", "\t## Changelog", "  - # Changelog"]
    for first in changelog._SIGNIFICANT:
        for tail in tails:
            line = first + tail
            if changelog._SETEXT_UNDERLINE().fullmatch(line):
                assert first in changelog._UNDERLINE_STARTS, line
            if changelog._CONTAINERS().match(line):
                assert first in changelog._CONTAINER_STARTS, line
