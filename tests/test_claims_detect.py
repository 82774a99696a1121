"""Where claims are looked for (scan) and how model names are recognised (catalog)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.claims import detect
from vault_tools.claims import scan as scan_module
from vault_tools.claims.detect import ImplicitCandidate, find_claims
from vault_tools.claims.models import (
    ModelCatalog,
    ModelEntry,
    names_matter,
    preset_catalog,
    spelled_names,
    text_pieces,
)
from vault_tools.claims.scan import cell_spans, scan, split_comment
from vault_tools.names import normalize_name
from vault_tools.pipeline.config import DEFAULT_HEADINGS
from vault_tools.pipeline.text import split_lines

NOTE = """\
---
claims:
  - params(LLaMA-7B) ≈ 6.7B
aliases: [LLaMA-7B: 6.9B]
---
# LLaMA-7B: 6.7B

```python
x = "LLaMA-7B: 9B"  # LLaMA-7B: 6.7B
y = 7e9
```

```claims
params(LLaMA-7B) ≈ 6.7B
# a comment line in the block
```

```model-spec
preset: llama-7b  # 7B
```

| Model | Params |
|---|---|
| LLaMA-7B | 6.7B |

<!-- vault-tools:begin verification sha256=000000000000 -->
| 3 | `LLaMA-7B: 6.9B` | 6.9B | 6.7B | wrong |
<!-- vault-tools:end verification -->

## Changelog
| 2026-05-10 | LLaMA-7B: 6.5B → 6.7B |

## After the changelog
LLaMA-7B has 6.74B parameters.
"""


def test_scan_finds_prose_comments_claims_and_rows_only() -> None:
    segments, fences = scan(NOTE, body_start_line=6)
    found = [(s.line, s.kind, s.text) for s in segments]
    assert found == [
        (6, "prose", "# LLaMA-7B: 6.7B"),
        (9, "comment", "LLaMA-7B: 6.7B"),
        (14, "claims", "params(LLaMA-7B) ≈ 6.7B"),
        (24, "row", "| LLaMA-7B | 6.7B |"),
        (34, "prose", "LLaMA-7B has 6.74B parameters."),
    ]
    assert [(f.lang, f.line, f.end_line) for f in fences] == [
        ("python", 8, 11),
        ("claims", 13, 16),
        ("model-spec", 18, 20),
    ]
    assert segments[3].header == ("Model", "Params")


def test_line_numbers_follow_the_pipeline_for_crlf_and_lone_cr() -> None:
    text = "a\r\nLLaMA-7B: 6.7B\r\nb\rLLaMA-7B: 6.8B\n"
    segments, _ = scan(text)
    # A lone CR does not end a line for the pipeline (it splits on \n only), so both claims keep their lines.
    assert [(s.line, s.text) for s in segments] == [(2, "LLaMA-7B: 6.7B"), (3, "b\rLLaMA-7B: 6.8B")]


def test_the_scan_counts_the_lines_the_engine_counts() -> None:
    # CRLF fences close, and a last line that is a lone CR is a line (the scan reads the engine's lines).
    text = "```py\r\nn = 1  # 7B\r\n```\r\nx 5\r\n```\r\ny\n\r"
    segments, fences = scan(text)
    assert [(s.line, s.kind, s.text) for s in segments] == [(2, "comment", "7B"), (4, "prose", "x 5")]
    assert [(f.line, f.end_line) for f in fences] == [(1, 3), (5, 7)]
    assert len(split_lines(text)) == 7


def test_blockquote_and_unclosed_fence() -> None:
    text = "> LLaMA-7B: 6.7B\n> ```python\n> n = 8  # GPT-3: 175B\n"
    segments, fences = scan(text)
    assert [(s.line, s.kind, s.text) for s in segments] == [
        (1, "prose", "LLaMA-7B: 6.7B"),
        (3, "comment", "GPT-3: 175B"),
    ]
    assert [(f.line, f.end_line, f.prefix) for f in fences] == [(2, 3, "> ")]


def test_scan_reads_lines_whose_only_digit_is_not_ascii() -> None:
    segments, _ = scan("a \u0663\nb \uff13\nc \U0001d7d8 x\nd \U0001f553\n")
    assert [(s.line, s.text) for s in segments] == [(1, "a \u0663"), (2, "b \uff13"), (3, "c \U0001d7d8 x")]


def test_scan_skip_patterns_find_every_digit_and_trigger() -> None:
    # The scan jumps between lines with these patterns; a character they miss would hide its line.
    prose, changelog = scan_module._triggers()
    for code in range(0x10000):
        char = chr(code)
        assert (prose.match(char) is not None) == (char.isdecimal() or char in "#|`~<"), hex(code)
        assert (changelog.match(char) is not None) == (char in "#`~<"), hex(code)
    assert prose.match("\U0001d7d8") and prose.match("\U0001f553")


def test_fences_close_on_a_long_enough_marker_of_their_own_kind() -> None:
    text = (
        "~~~~\n```\nn = 1  # 7B\n~~~\n~~~~~\n```py`x\n"
        "> ````python\n> x = 2  # 8B\n>  ``` \n> ````\ny = 3  # 9B\n"
    )
    segments, fences = scan(text)
    assert [(s.line, s.kind, s.text) for s in segments] == [
        (3, "comment", "7B"),
        (8, "comment", "8B"),
        (11, "prose", "y = 3  # 9B"),
    ]
    assert [(f.lang, f.line, f.end_line, f.prefix) for f in fences] == [
        ("", 1, 5, ""),
        ("python", 7, 10, "> "),
    ]


def test_changelog_ends_at_a_heading_of_its_level_outside_regions() -> None:
    text = (
        "## \U0001f553 Changelog\n```python\nx = 1  # 7B\n```\n"
        "<!-- vault-tools:begin a sha256=0123456789ab -->\n# After 1\n<!-- vault-tools:end a -->\n"
        "v 2\n### Sub 3\n# After 4\nv 5\n<!-- vault-tools:begin b --> 6 <!-- vault-tools:end b -->\n"
        "v 7\n<!-- vault-tools:begin c\nv 8\n"
    )
    segments, _ = scan(text)
    # Code in the changelog still counts; a region's lines (even a heading) are skipped, unclosed too.
    assert [(s.line, s.text) for s in segments] == [(3, "7B"), (10, "# After 4"), (11, "v 5"), (13, "v 7")]


@pytest.mark.parametrize(
    ("heading", "headings", "skipped"),
    [
        ("## History", DEFAULT_HEADINGS, True),  # a default changelog name the old scan did not know
        ("## 변경 로그", DEFAULT_HEADINGS, True),
        ("## Change-Log ##", DEFAULT_HEADINGS, True),  # folded as the changelog writer folds it
        ("## History", ("Journal",), False),  # a vault that calls its changelog otherwise
        ("## 📓 journal", ("Journal",), True),
        ("## Changelog", ("Journal",), True),  # a changelog by its name in any vault
        ("## Changelog notes", DEFAULT_HEADINGS, False),  # a heading that mentions it is none
        ("## History\n", DEFAULT_HEADINGS, True),  # blank lines may stand between heading and table
        ("## History\nThe 7B table:", DEFAULT_HEADINGS, False),  # prose first: a history of the model
        ("## Changelog\nThe 7B table:", DEFAULT_HEADINGS, True),  # titled so: a changelog whatever follows
    ],
)
def test_the_changelog_is_the_section_the_vault_names(
    heading: str, headings: tuple[str, ...], skipped: bool
) -> None:
    """The scan skips the section the changelog writer appends to (``changelog_headings``, a table right
    under the heading), so a note whose changelog is "## History" does not have its rows checked as claims;
    a "## History" of prose is the note's own text."""
    text = (
        f"# N\nLLaMA-7B has 6.7B parameters.\n{heading}\n| date | change |\n|---|---|\n| 1 | 7B |\n# Next 9\n"
    )
    segments, _ = scan(text, 1, headings)
    lines = text.split("\n")
    row, after = lines.index("| 1 | 7B |") + 1, len(lines) - 1
    prose = [k + 1 for k in range(3, row) if "7B table" in lines[k]]
    assert [s.line for s in segments] == ([2, after] if skipped else [2, *prose, row, after])


@pytest.mark.parametrize(
    ("heading", "skipped"),
    [
        ("Changelog\n---------", True),
        ("🕓 Changelog\n===", True),
        ("History\n-------", True),  # a table right under it: the changelog the row writer appends to
        ("History\n-------\nThe 7B table:", False),  # prose first: a history of the model
        ("Notes\n-----", False),
        ("> Changelog\n> ---", True),  # in a quote too, as "> ## Changelog" is (and the writer reads it)
    ],
)
def test_a_setext_changelog_is_skipped_as_an_atx_one(heading: str, skipped: bool) -> None:
    """Found in review: the rows a user keeps under "Changelog" over a dashed line were checked as claims,
    where the same table under "## Changelog" is not (the tool's own rows were already never claims)."""
    text = f"# N\nLLaMA-7B has 6.7B parameters.\n\n{heading}\n\n| date | change |\n|---|---|\n| 1 | 7B |\n"
    segments, _ = scan(text)
    lines = text.split("\n")
    row = lines.index("| 1 | 7B |") + 1
    prose = [k + 1 for k in range(3, row) if "7B table" in lines[k]]
    assert [s.line for s in segments] == ([2] if skipped else [2, *prose, row])


def test_a_heading_in_an_html_comment_opens_no_changelog() -> None:
    """Found in review: a commented-out "## Changelog" made the scan skip every claim after it."""
    text = (
        "<!--\n## Changelog\nold 1\n-->\nLLaMA-7B has 13B parameters.\n<!-- one line -->\n## Changelog\nv 8\n"
    )
    segments, _ = scan(text)
    assert [(s.line, s.text) for s in segments] == [(3, "old 1"), (5, "LLaMA-7B has 13B parameters.")]


_SCAN_LINES = [
    "text 7B", "plain", "", "# H", "## Changelog", "### sub", "# Top", "| a | 7 |", "|---|---|", "| 1 | 2 |",
    "```python", "# 7B comment", "x = 1  # 13B", "```", "~~~", "```claims", "LLaMA-7B: 6.7B", "> quote 5",
    "<!-- vault-tools:begin a sha256=0123456789ab -->", "| r | 9 |", "<!-- vault-tools:end a -->", "> ```",
    "- item 3", "<!-- c 4 -->", "매 12억", "`inline` 8", "```model-spec", "## History", "# 2 Part", "<!--",
    "old 3 -->",
]  # fmt: skip
_EDITS = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 3), st.lists(st.sampled_from(_SCAN_LINES), max_size=5)),
    min_size=1,
    max_size=3,
)


@given(
    st.lists(st.sampled_from(_SCAN_LINES), max_size=30),
    _EDITS,
    st.sampled_from(["\n", "\r\n"]),
    st.integers(1, 3),
    st.integers(-1, 1),
)
@settings(max_examples=500)
def test_a_scan_that_takes_over_an_earlier_one_is_the_full_scan(
    lines: list[str], edits: list[tuple[int, int, list[str]]], newline: str, body_start: int, moved: int
) -> None:
    """Refresh scans the note it is about to write, made from the one it read by a few edits: the scan of
    the read note serves the lines before and after them, and must give exactly what a full scan gives."""
    edited = list(lines)
    for at, removed, inserted in edits:
        edited[at : at + removed] = inserted
    before, after = newline.join(lines), newline.join(edited)
    scan_module._SCANNED.clear()
    base = scan_module._scan(before, body_start)
    taken_over = scan_module._scan(after, max(1, body_start + moved), base)
    full = scan_module._scan(after, max(1, body_start + moved))
    assert (taken_over.rows, taken_over.fences) == (full.rows, full.fences)
    # So that a scan of a further edit may take over this one:
    assert (taken_over.positions, taken_over.sections) == (full.positions, full.sections)


def test_a_taken_over_scan_reads_again_the_line_a_paragraph_looked_ahead_to() -> None:
    """A row with pipes is a table's header only if the next line is a delimiter row: when an edit turns
    that next line into one, the line before it must be read again, not taken from the earlier scan."""
    before = "| a | 7 |\n|---|---| x 1\nmore 2\n"
    after = "| a | 7 |\n|---|---|\nmore 2\n"
    scan_module._SCANNED.clear()
    base = scan_module._scan(before, 1)
    assert [row[:2] for row in base.rows] == [(1, "prose"), (2, "prose"), (3, "prose")]
    taken_over = scan_module._scan(after, 1, base)
    assert (
        [row[:2] for row in taken_over.rows]
        == [(3, "prose")]
        == [row[:2] for row in scan_module._scan(after, 1).rows]
    )


def test_a_refresh_scans_the_lines_it_did_not_edit_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan of the note refresh writes starts after the lines it shares with the note it read."""
    from vault_tools.claims.scan import scan_rows

    note = "".join(f"Line {k}: LLaMA-7B has 6.7B parameters.\n\n" for k in range(200))
    edited = note + "<!-- vault-tools:begin v sha256=0123456789ab -->\n| 7 |\n<!-- vault-tools:end v -->\n"
    scan_module._SCANNED.clear()
    scan_rows.cache_clear()
    rows, _ = scan_rows(note, 1)
    searched: list[int] = []
    prose, changelog = scan_module._triggers()

    class Counted:
        def __init__(self, pattern: Any) -> None:
            self.pattern = pattern

        def search(self, text: str, pos: int) -> Any:
            searched.append(pos)
            return self.pattern.search(text, pos)

    monkeypatch.setattr(scan_module, "_triggers", lambda: (Counted(prose), Counted(changelog)))
    again, _ = scan_rows(edited, 1, note)
    assert again == rows and len(searched) <= 3


@pytest.mark.parametrize(
    ("line", "lang", "split"),
    [
        (
            "optimizer = n * 8  # Adam: 2 states × fp32",
            "python",
            ("optimizer = n * 8  ", "Adam: 2 states × fp32"),
        ),
        ('s = "#not" + x  # yes', "python", ('s = "#not" + x  ', "yes")),
        ("const n = 7e9; // GPT-3: 175B", "js", ("const n = 7e9; ", "GPT-3: 175B")),
        ("x = 1", "python", None),
        ("SELECT 1 -- 7B", "sql", ("SELECT 1 ", "7B")),
        ("n = 8 # hash", "", ("n = 8 ", "hash")),
        # Strings hide markers; a backslash escapes the quote after it; an unclosed string hides the rest.
        ('s = "a\\"#b"  # 7B', "python", ('s = "a\\"#b"  ', "7B")),
        ("s = 'x # 7B", "python", None),
        ("s = '\\", "python", None),
        ("a = `#` // 9", "", ("a = `#` ", "9")),
        ("x = '#' -- 3", "sql", ("x = '#' ", "3")),
    ],
)
def test_split_comment(line: str, lang: str, split: tuple[str, str] | None) -> None:
    assert split_comment(line, lang) == split


def test_cell_spans_keep_escaped_pipes_and_wikilinks() -> None:
    row = r"| [[A|b]] | `x|y` | a \| b | |"
    assert [row[a:b].strip() for a, b in cell_spans(row)] == ["[[A|b]]", "`x|y`", r"a \| b", ""]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("LLaMA-7B, llama 7b, LLaMA7B and llama_7b", ["llama-7b"] * 4),
        ("Llama 3.1 405B and Llama 3.1 8B", ["llama-3.1-405b", "llama-3.1-8b"]),
        ("LLaMA-7B를 예로 들면", ["llama-7b"]),
        ("Mixtral 8x7B vs Mixtral 8x22B", ["mixtral-8x7b", "mixtral-8x22b"]),
        ("Falcon 180B and T5 11B are not in the catalog", []),  # a family alias + a size: another model
        ("GPT-3.5 is not GPT-3", ["gpt3-175b"]),
        ("LLaMA-7B 6.7B", ["llama-7b"]),
    ],
)
def test_catalog_finds_preset_names_in_any_spelling(text: str, names: list[str]) -> None:
    assert [ref.name for ref in preset_catalog().find(text)] == names


def test_catalog_with_extra_models_and_own_names() -> None:
    catalog = ModelCatalog([(("Tiny",), ModelEntry("tiny", "Tiny", {"L": 2, "h": 128, "V": 32000}))])
    bigger = catalog.with_models(
        {"Small Net": {"aliases": ["small-net"], "config": {"L": 4, "h": 256, "V": 1000}}}
    )
    assert [r.name for r in bigger.find("Tiny and small net and SmallNet")] == [
        "tiny",
        "Small Net",
        "Small Net",
    ]
    refs = catalog.find("My Model: 4.5M", extra={"mymodel": "My Model"})
    assert [(r.source, r.name) for r in refs] == [("note", "My Model")]
    entry = bigger.lookup("small-net")
    assert entry is not None
    spec_and_count = bigger.spec_and_count(entry)
    assert not isinstance(spec_and_count, str)
    assert spec_and_count[1].total == 4 * (12 * 256 * 256 + 4 * 256) + 1000 * 256 + 2 * 256


def test_find_claims_skips_frontmatter_code_managed_regions_and_changelog() -> None:
    found = find_claims(
        NOTE,
        body_start_line=6,
        catalog=preset_catalog(),
        frontmatter_claims=[(3, "params(LLaMA-7B) ≈ 6.7B")],
    )
    assert [(c.line, type(c).__name__) for c in found] == [
        (3, "ExplicitCandidate"),
        (6, "ImplicitCandidate"),
        (9, "ImplicitCandidate"),
        (14, "ExplicitCandidate"),
        (24, "ImplicitCandidate"),
        (34, "ImplicitCandidate"),
    ]


def test_qualifiers() -> None:
    text = "Mixtral 8x7B: 47B total, ~13B active per token; LLaMA-7B has over 6B and Llama 3 8B 80억 개 이상."
    found = find_claims(text, catalog=preset_catalog())
    implicit = [c for c in found if isinstance(c, ImplicitCandidate)]
    assert [(c.stated.text, c.measure, c.op) for c in implicit] == [
        ("47B", "total", "="),
        ("~13B", "active", "≈"),
        ("over 6B", "total", ">"),
        ("80억 개 이상", "total", "≥"),
    ]


def test_a_repeated_segment_is_detected_once_and_placed_at_each_line() -> None:
    """Detection is remembered per distinct segment; the candidates still carry each occurrence's line."""
    paragraph = "LLaMA-7B has 6.7B parameters.\nplain words\n7B × 2 bytes = 14 GB\n"
    found = find_claims(paragraph * 3, catalog=preset_catalog())
    assert [(c.line, type(c).__name__) for c in found] == [
        (line + offset, kind)
        for offset in (0, 3, 6)
        for line, kind in ((1, "ImplicitCandidate"), (3, "ArithmeticCandidate"))
    ]


def test_own_names_change_detection_only_where_a_name_could_start() -> None:
    text = "Mini-LM 2 has 22M parameters in total.\n"
    names = {"minilm2": "Mini-LM 2"}
    plain = find_claims(text, catalog=preset_catalog())
    named = find_claims(text, catalog=preset_catalog(), note_names=names)
    assert plain == [] and [c.ref.source for c in named if isinstance(c, ImplicitCandidate)] == ["note"]


_WORDS = [
    "LLaMA",
    "7B",
    "llama-7b",
    "Mini",
    "LM",
    "2",
    "mini-lm",
    "GPT",
    "3.5",
    "has",
    "6.7B",
    "-",
    " ",
    ".",
    "LMs",
    "Mini2",
]


@given(
    words=st.lists(st.sampled_from(_WORDS), max_size=12),
    names=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3),
)
def test_names_that_cannot_start_a_match_change_nothing(words: list[str], names: list[str]) -> None:
    """The detection memo ignores the note's own names when names_matter says so: that must be sound."""
    text = " ".join(words)
    extra = {normalize_name(name): name for name in names if normalize_name(name)}
    catalog = preset_catalog()
    spelled = spelled_names(text_pieces(text), extra)
    assert names_matter(text_pieces(text), extra) == bool(spelled)
    assert catalog.find(text, extra) == catalog.find(text, {name: extra[name] for name in spelled})
    if not spelled:
        assert catalog.find(text, extra) == catalog.find(text, None)


def test_a_name_only_started_in_the_text_does_not_matter() -> None:
    """``Weights`` starts the alias ``Weight`` but never spells it: detection is the plain one."""
    assert not names_matter(text_pieces("Weights (W, b) hold 7B values"), {"weight": "Topic 1"})
    assert names_matter(text_pieces("the weight, bias"), {"weight": "Topic 1"})


def test_the_same_line_in_two_notes_refers_to_each_note_by_its_own_title() -> None:
    """Detection with the note's names is remembered across notes: each still gets its own title."""
    text = "Mini-LM 2 has 22M parameters in total.\n"
    for title in ("Note A", "Note B", "Note A"):
        found = find_claims(text, catalog=preset_catalog(), note_names={"minilm2": title, "other": title})
        assert [(c.ref.source, c.ref.name) for c in found if isinstance(c, ImplicitCandidate)] == [
            ("note", title)
        ]


_RUMOUR_PIECES = [
    "rumor", "Rumoured", "RUMOURS", "reportedly", "Allegedly", "unconfirmed", "Speculated", "ſpeculation",
    "leaked", "Unofficial", "소문", "루머", "비공식", "카더라", "x", " ", "7B", "rum", "lea", "공식", "카더",
]  # fmt: skip


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_RUMOUR_PIECES), max_size=8))
def test_the_rumour_words_first_letter_test_finds_what_the_words_find(pieces: list[str]) -> None:
    import re

    from vault_tools.claims import detect

    text = "".join(pieces)
    words = re.compile(detect._RUMOUR_WORDS, re.IGNORECASE)
    found, plain = detect._RUMOUR_RE.search(text), words.search(text)
    assert (found and found.span()) == (plain and plain.span())


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("LLaMA-7B has **6.7B** parameters.", "LLaMA-7B has 6.7B parameters."),
        ("*7B* and __13B__ and ==6.7B==", "7B and 13B and 6.7B"),
        ("**_6.7B_**", "6.7B"),
        ("2**30 bytes = 1 GiB", "2**30 bytes = 1 GiB"),  # a power
        ("7B * 2 bytes * 3", "7B * 2 bytes * 3"),  # spaced operators open nothing
        ("n*8 and dtype_bytes_2", "n*8 and dtype_bytes_2"),
        ("a == b", "a == b"),
    ],
)
def test_unemphasized_drops_only_emphasis_delimiters(text: str, plain: str) -> None:
    assert detect.unemphasized(text) == plain


def test_a_setext_changelog_titled_so_is_one_in_any_vault() -> None:
    """As for "## Changelog": a vault naming its changelog "Journal" still has "Changelog" over a dashed line
    skipped (the re-read of the session's diff found the setext rule asked the vault's names first)."""
    text = "# N\nLLaMA-7B has 6.7B parameters.\n\nChangelog\n---------\nOld 7B figure fixed.\n"
    segments, _ = scan(text, 1, ("Journal",))
    assert [s.line for s in segments] == [2]
