from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.pipeline.model import Problem, Rendered
from vault_tools.pipeline.regions import (
    Region,
    apply_regions,
    checksum,
    find_regions,
    is_hand_edited,
    region_text,
    render_region,
)
from vault_tools.pipeline.text import NoteSyntaxError, split_lines

TABLE = "| params | 6.74B |\n|---|---|\n"
SUM = hashlib.sha256(TABLE.encode()).hexdigest()[:12]


def _lines(text: str) -> list[str]:
    return split_lines(text)


def test_checksum_is_sha256_of_the_generated_text() -> None:
    assert checksum(TABLE) == SUM
    assert checksum(TABLE.replace("\n", "\r\n")) == SUM
    assert checksum(TABLE.rstrip("\n")) == SUM


@pytest.mark.parametrize(
    ("prefix", "newline", "expected"),
    [
        (
            "",
            "\n",
            [
                f"<!-- vault-tools:begin model-spec sha256={SUM} -->\n",
                "| params | 6.74B |\n",
                "|---|---|\n",
                "<!-- vault-tools:end model-spec -->\n",
            ],
        ),
        (
            "> ",
            "\r\n",
            [
                f"> <!-- vault-tools:begin model-spec sha256={SUM} -->\r\n",
                "> | params | 6.74B |\r\n",
                "> |---|---|\r\n",
                "> <!-- vault-tools:end model-spec -->\r\n",
            ],
        ),
    ],
)
def test_render_region(prefix: str, newline: str, expected: list[str]) -> None:
    assert render_region("model-spec", TABLE, prefix, newline) == expected


def test_blank_lines_inside_containers() -> None:
    text = "a\n\nb\n"
    quoted = render_region("x", text, "> ", "\n")
    assert quoted[1:4] == ["> a\n", ">\n", "> b\n"]
    listed = render_region("x", text, "   ", "\n")
    assert listed[1:4] == ["   a\n", "\n", "   b\n"]
    for rendered in (quoted, listed):
        region = find_regions(rendered)[0]
        assert region_text(rendered, region) == text
        assert not is_hand_edited(rendered, region)


@pytest.mark.parametrize(
    ("region_id", "text", "message"),
    [
        ("model spec", "x", "region id 'model spec' must be letters, digits, '-', '_', '.' or ':'"),
        ("", "x", "region id '' must be letters, digits, '-', '_', '.' or ':'"),
        (
            "a",
            "x\n<!-- vault-tools:end a -->\n",
            "generated text for region 'a' holds a vault-tools marker line",
        ),
    ],
)
def test_render_region_rejects(region_id: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        render_region(region_id, text, "", "\n")
    assert str(info.value) == message


def test_find_regions() -> None:
    lines = _lines(
        "# T\n"
        f"<!-- vault-tools:begin model-spec sha256={SUM} -->\n"
        + TABLE
        + "<!-- vault-tools:end model-spec -->\n"
        + "> <!-- vault-tools:begin model-spec-2 sha256=000000000000 -->  \r\n"
        + "> <!-- vault-tools:end model-spec-2 -->\r\n"
        + "text mentioning <!-- vault-tools:begin x --> inline\n"
    )
    regions = find_regions(lines)
    assert regions == [
        Region("model-spec", 1, 4, SUM, ""),
        Region("model-spec-2", 5, 6, "000000000000", "> "),
    ]
    assert region_text(lines, regions[0]) == TABLE
    assert not is_hand_edited(lines, regions[0])
    assert region_text(lines, regions[1]) == ""
    assert is_hand_edited(lines, regions[1])


B = "<!-- vault-tools:begin {} sha256=0123456789ab -->\n"
E = "<!-- vault-tools:end {} -->\n"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (
            "a\n" + B.format("model-spec") + "x\n",
            "vault-tools:begin model-spec has no matching end marker; "
            "delete the partial region or restore the end line",
            2,
        ),
        (
            B.format("a") + B.format("b") + E.format("b") + E.format("a"),
            "vault-tools:begin a has no matching end marker; "
            "delete the partial region or restore the end line",
            1,
        ),
        (
            "x\n" + E.format("a"),
            "vault-tools:end a has no matching begin marker; delete it or restore the begin line",
            2,
        ),
        (
            B.format("a") + E.format("b"),
            "vault-tools:end b closes region a begun on line 1; make the two ids the same",
            2,
        ),
        (
            B.format("a") + E.format("a") + "\n" + B.format("a") + E.format("a"),
            "managed region 'a' appears twice (first on line 1); delete one of them",
            4,
        ),
        (
            "<!-- vault-tools:begin a -->\n",
            "malformed vault-tools:begin marker; expected "
            "'<!-- vault-tools:begin ID sha256=<12 hex digits> -->' (delete the region to regenerate it)",
            1,
        ),
        (
            B.format("a") + "<!-- vault-tools:end -->\n",
            "malformed vault-tools:end marker; expected '<!-- vault-tools:end ID -->'",
            2,
        ),
    ],
)
def test_marker_errors(text: str, message: str, line: int) -> None:
    with pytest.raises(NoteSyntaxError) as info:
        find_regions(_lines(text))
    assert (info.value.message, info.value.line) == (message, line)


def _region(region_id: str, text: str, prefix: str = "") -> str:
    return "".join(render_region(region_id, text, prefix, "\n"))


NOTE = "# Llama\n\n```model-spec\nL: 32\n```\n\n## Next\n"


@pytest.mark.parametrize(
    ("text", "update", "expected"),
    [
        # New region right after the fence, one blank line between them.
        (
            NOTE,
            Rendered("model-spec", 5, TABLE),
            "# Llama\n\n```model-spec\nL: 32\n```\n\n" + _region("model-spec", TABLE) + "\n## Next\n",
        ),
        # The fence is followed directly by text: a blank line goes on both sides.
        (
            "```model-spec\nL: 1\n```\ntext\n",
            Rendered("m", 3, "t\n"),
            "```model-spec\nL: 1\n```\n\n" + _region("m", "t\n") + "\ntext\n",
        ),
        # Inside a blockquote the region and its separator carry the quote.
        (
            "> ```model-spec\n> L: 1\n> ```\n",
            Rendered("m", 3, "a\n\nb\n", prefix="> "),
            "> ```model-spec\n> L: 1\n> ```\n>\n" + _region("m", "a\n\nb\n", "> "),
        ),
        # Anchor 0: the end of the note; a missing final newline stays missing.
        ("text", Rendered("m", 0, "t\n"), "text\n\n" + _region("m", "t\n").rstrip("\n")),
        ("text\n\n", Rendered("m", 0, "t\n"), "text\n\n" + _region("m", "t\n")),
        ("", Rendered("m", 0, "t\n"), _region("m", "t\n")),
        # The fence is the last line and has no newline.
        (
            "```model-spec\n```",
            Rendered("m", 2, "t"),
            "```model-spec\n```\n\n" + _region("m", "t").rstrip("\n"),
        ),
        # CRLF notes get CRLF regions.
        (
            "```model-spec\r\n```\r\n",
            Rendered("m", 2, "t\n"),
            "```model-spec\r\n```\r\n\r\n" + _region("m", "t\n").replace("\n", "\r\n"),
        ),
        # An existing region is replaced where it is, whatever the anchor says.
        (
            "top\n" + _region("m", "old\n") + "\n" + NOTE,
            Rendered("m", 5, "new\n"),
            "top\n" + _region("m", "new\n") + "\n" + NOTE,
        ),
        # ... keeping its own container prefix.
        (
            "> x\n" + _region("m", "old\n", "> ") + "> y\n",
            Rendered("m", 0, "new\n"),
            "> x\n" + _region("m", "new\n", "> ") + "> y\n",
        ),
        # ... and its missing final newline.
        (
            "x\n" + _region("m", "old\n").rstrip("\n"),
            Rendered("m", 0, "new\n"),
            "x\n" + _region("m", "new\n").rstrip("\n"),
        ),
    ],
)
def test_apply_regions(text: str, update: Rendered, expected: str) -> None:
    newline = "\r\n" if "\r\n" in text else "\n"
    out, problems = apply_regions(_lines(text), [update], newline)
    assert "".join(out) == expected
    assert problems == []
    again, problems = apply_regions(out, [update], newline)
    assert again == out
    assert problems == []


def test_two_new_regions_at_one_anchor_keep_their_order() -> None:
    text = "```model-spec\n```\nnext\n"
    out, _ = apply_regions(_lines(text), [Rendered("a", 2, "1\n"), Rendered("b", 2, "2\n")], "\n")
    assert (
        "".join(out)
        == "```model-spec\n```\n\n" + _region("a", "1\n") + "\n" + _region("b", "2\n") + "\nnext\n"
    )


HAND = "top\n\n" + _region("m", "old\n").replace("old", "mine") + "\nbottom\n"


def test_hand_edited_region_is_kept_and_reported() -> None:
    lines = _lines(HAND)
    out, problems = apply_regions(lines, [Rendered("m", 0, "new\n")], "\n")
    assert out == lines
    assert problems == [
        Problem(
            3,
            "managed region 'm' was edited by hand; "
            "move your text outside the markers, or run refresh --force",
            "stale",
        )
    ]


def test_force_overwrites_a_hand_edited_region() -> None:
    out, problems = apply_regions(_lines(HAND), [Rendered("m", 0, "new\n")], "\n", force=True)
    assert "".join(out) == "top\n\n" + _region("m", "new\n") + "\nbottom\n"
    assert problems == []


def test_hand_edit_that_matches_the_new_text_only_refreshes_the_checksum() -> None:
    out, problems = apply_regions(_lines(HAND), [Rendered("m", 0, "mine\n")], "\n")
    assert "".join(out) == "top\n\n" + _region("m", "mine\n") + "\nbottom\n"
    assert problems == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```model-spec\n```\n\n" + _region("m", "t\n") + "\nnext\n", "```model-spec\n```\n\nnext\n"),
        ("```model-spec\n```\n\n" + _region("m", "t\n"), "```model-spec\n```\n"),
        ("para\n\n" + _region("m", "t\n") + "next\n", "para\n\nnext\n"),
        ("para\n" + _region("m", "t\n") + "\nnext\n", "para\n\nnext\n"),
        ("> a\n>\n" + _region("m", "t\n", "> ") + ">\n> b\n", "> a\n>\n> b\n"),
    ],
)
def test_orphan_regions_are_removed(text: str, expected: str) -> None:
    out, problems = apply_regions(_lines(text), [], "\n")
    assert "".join(out) == expected
    assert problems == []


def test_hand_edited_orphan_is_kept() -> None:
    lines = _lines(HAND)
    out, problems = apply_regions(lines, [], "\n")
    assert out == lines
    assert problems == [
        Problem(
            3,
            "managed region 'm' is no longer generated but was edited by hand; "
            "delete it, or move your text outside the markers",
            "warning",
        )
    ]
    forced, _ = apply_regions(lines, [], "\n", force=True)
    assert "".join(forced) == "top\n\nbottom\n"


@pytest.mark.parametrize(
    ("text", "updates", "message"),
    [
        ("x\n", [Rendered("a", 0, ""), Rendered("a", 0, "")], "two managed regions are named 'a'"),
        ("x\n", [Rendered("a", 2, "")], "region 'a': anchor line 2 is past the note's end"),
        (
            _region("m", "a\nb\n"),
            [Rendered("n", 2, "")],
            "region 'n': anchor line 2 is inside managed region 'm'",
        ),
    ],
)
def test_apply_regions_rejects(text: str, updates: list[Rendered], message: str) -> None:
    with pytest.raises(ValueError) as info:
        apply_regions(_lines(text), updates, "\n")
    assert str(info.value) == message


# Property tests over notes assembled from the shapes real notes have.
_TEXTS = ["t\n", "| a | b |\n|---|---|\n", "a\n\nb\n", "", "no newline"]
_segments = st.sampled_from(
    [
        "para\n",
        "\n",
        "```model-spec\nL: 1\n```\n",
        "> quote\n",
        "r0",
        "r1",
        "r2",
        "q1",
        "hand",
        "crlf\r\n",
    ]
)


def _build(segments: list[str], final_newline: bool) -> str:
    out: list[str] = []
    used: set[str] = set()
    for segment in segments:
        if segment in ("r0", "r1", "r2", "q1", "hand"):
            region_id = {"q1": "r1", "hand": "r3"}.get(segment, segment)
            if region_id in used:
                continue
            used.add(region_id)
            prefix = "> " if segment == "q1" else ""
            region = _region(region_id, "old\n", prefix)
            out.append(region.replace("old", "edited") if segment == "hand" else region)
        else:
            out.append(segment)
    text = "".join(out)
    return text if final_newline else text.rstrip("\n")


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[str], list[Rendered], bool]:
    lines = _lines(_build(draw(st.lists(_segments, max_size=12)), draw(st.booleans())))
    regions = find_regions(lines)
    free = [a for a in range(len(lines) + 1) if not any(r.begin < a <= r.end for r in regions)]
    ids = draw(st.lists(st.sampled_from(["r0", "r1", "r2", "r3", "r4"]), unique=True, max_size=4))
    updates = [
        Rendered(region_id, draw(st.sampled_from(free)), draw(st.sampled_from(_TEXTS)), prefix=draw(
            st.sampled_from(["", "> "])))
        for region_id in ids
    ]  # fmt: skip
    return lines, updates, draw(st.booleans())


@given(_cases())
def test_apply_regions_is_idempotent(case: tuple[list[str], list[Rendered], bool]) -> None:
    lines, updates, force = case
    once, problems = apply_regions(lines, updates, "\n", force=force)
    twice, again = apply_regions(once, updates, "\n", force=force)
    assert twice == once
    assert [p.message for p in again] == [p.message for p in problems]  # lines may have moved
    find_regions(once)  # still well-formed
    if once and lines:  # the final line break, present or missing, is kept (a lone CR is one too)
        assert once[-1].endswith(("\n", "\r")) == lines[-1].endswith(("\n", "\r"))


def _outside(lines: list[str]) -> list[str]:
    inside: set[int] = set()
    for region in find_regions(lines):
        inside.update(range(region.begin, region.end + 1))
    return [line for i, line in enumerate(lines) if i not in inside]


@given(_cases())
def test_bytes_outside_regions_never_change(case: tuple[list[str], list[Rendered], bool]) -> None:
    lines, updates, force = case
    present = {region.region_id for region in find_regions(lines)}
    # Updating every existing region (no insertions, no orphans): only region lines change.
    replace = [Rendered(region_id, 0, "new\n") for region_id in sorted(present)]
    out, _ = apply_regions(lines, replace, "\n", force=force)
    assert _outside(out) == _outside(lines)
    # Inserting: the old lines all survive, in order; what is new is region lines or blank separators.
    insert = [update for update in updates if update.region_id not in present]
    out, _ = apply_regions(lines, [*insert, *replace], "\n", force=force)
    old = iter(line.rstrip("\n") for line in _outside(lines))
    extra = []
    expected = next(old, None)
    for line in _outside(out):
        if expected is not None and line.rstrip("\n") == expected:
            expected = next(old, None)
        else:
            extra.append(line)
    assert expected is None
    assert all(not line.strip(" >\n") for line in extra)


def test_orphan_removal_keeps_the_blank_line_a_new_region_is_inserted_after() -> None:
    text = "\n" + _region("old", "t\n")
    out, _ = apply_regions(_lines(text), [Rendered("new", 1, "n\n")], "\n")
    assert "".join(out) == "\n" + _region("new", "n\n")


def test_new_region_never_lands_inside_a_code_fence() -> None:
    from vault_tools.pipeline.model import Rendered
    from vault_tools.pipeline.regions import apply_regions, find_regions

    lines = ["# X\n", "```python\n", "x = 1\n", "```\n", "after\n"]
    out, problems = apply_regions(lines, [Rendered("r", 2, "t\n")], "\n")
    assert problems == []
    assert [r.region_id for r in find_regions(out)] == ["r"]
    assert out[:4] == lines[:4]  # moved past the fence's closing line
    assert apply_regions(out, [Rendered("r", 2, "t\n")], "\n")[0] == out
    unclosed = ["# X\n", "```python\n", "x = 1\n"]
    out, problems = apply_regions(unclosed, [Rendered("r", 0, "t\n")], "\n")
    assert out == unclosed
    assert [(p.line, p.severity) for p in problems] == [(3, "stale")]
    assert "inside a code fence that is never closed" in problems[0].message


_BEGIN_A = "<!-- vault-tools:begin a sha256=0123456789ab -->"
_END_A = "<!-- vault-tools:end a -->"


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (["x\r\n", "y\rz\r\n"], "x\ny\rz\n"),  # only a line's own CRLF ending becomes "\n"
        (["x", "y\n"], "x\ny\n"),  # a line without an ending (not split_lines' output) still gets one
        (["x\ny\n"], "x\ny\n"),
        ([""], "\n"),
        ([], ""),
    ],
)
def test_region_text_of_unusual_lines(inner: list[str], expected: str) -> None:
    lines = [_BEGIN_A + "\n", *inner, _END_A + "\n"]
    assert region_text(lines, find_regions(lines)[0]) == expected


def test_unchanged_region_still_gives_earlier_lines_their_newline() -> None:
    lines = ["intro", "\n", _BEGIN_A + "\n", "x\n", _END_A + "\n", "tail"]
    new, problems = apply_regions(lines, [Rendered("a", 0, "x\n")], "\n")
    assert problems == []
    begin = f"<!-- vault-tools:begin a sha256={checksum('x')} -->\n"
    assert new == ["intro\n", "\n", begin, "x\n", _END_A + "\n", "tail"]


def test_unchanged_region_returns_the_lines_as_they_are() -> None:
    lines = _lines(f"a\n\n<!-- vault-tools:begin a sha256={checksum('x')} -->\r\nx\r\n{_END_A}\r\ntail")
    assert apply_regions(lines, [Rendered("a", 0, "x\n")], "\r\n") == (lines, [])


@pytest.mark.parametrize(
    ("lines", "anchors"),
    [
        (
            ["```\n", "a\n", "```\n", "b\n", "~~~~\n", "c\n", "~~~~~\n", "d\n"],
            [3, 3, 3, 3, 4, 7, 7, 7, 8, 9],
        ),
        (["```\n", "a\n", "~~~\n", "b\n"], [None] * 6),
        (["a\n", "b ``` c\n", "d\n"], [1, 1, 2, 3, 4]),
    ],
)
def test_outside_fences_between_fence_lines(lines: list[str], anchors: list[int | None]) -> None:
    from vault_tools.pipeline.regions import _outside_fences

    assert [_outside_fences(lines, anchor) for anchor in range(len(anchors))] == anchors


_REGION_LINES = [
    f"<!-- vault-tools:begin a sha256={SUM} -->", "<!-- vault-tools:end a -->",
    f"> <!-- vault-tools:begin b sha256={SUM} -->", "> <!-- vault-tools:end b -->",
    "<!-- vault-tools:begin bad -->", "```", "~~~", "````", "```python", "```x`", " > ```x", "\t~~~",
    "a ``` b", "text", "", "vault-tools:", "\ufeff```", "매 ``` 한", "``` <!-- vault-tools:end a -->",
]  # fmt: skip


@settings(max_examples=1500)  # many pieces: the awkward pairs need many tries
@given(
    st.lists(st.sampled_from(_REGION_LINES), max_size=20),
    st.lists(st.sampled_from(["\n", "\r\n", "\r", "\n\n"]), min_size=1),
    st.booleans(),
)
def test_regions_of_a_text_are_those_of_its_lines(pieces: list[str], endings: list[str], last: bool) -> None:
    """``regions_in`` searches the text for the lines that matter instead of testing every line."""
    from vault_tools.pipeline.regions import regions_in

    text = "".join(piece + endings[k % len(endings)] for k, piece in enumerate(pieces))
    if last:
        text = text.rstrip("\r\n")

    def found(find: Any) -> Any:
        try:
            return list(find())
        except NoteSyntaxError as exc:
            return (exc.message, exc.line)

    assert found(lambda: regions_in.__wrapped__(text)) == found(lambda: find_regions(split_lines(text)))


_REGION_LINES = [
    "```", "~~~", "````", "```python", "> ```", "  ```", " > > ~~~", "``` ```", "```` ``` ````", "plain", "",
    "<!-- vault-tools:begin a sha256=0123456789ab -->", "<!-- vault-tools:end a -->",
    "> <!-- vault-tools:end a -->", "\t<!-- vault-tools:begin b sha256=0123456789ab -->",
    "<!-- vault-tools:end b -->  ", "<!-- vault-tools:begin x -->",
    "x <!-- vault-tools:begin a sha256=0123456789ab -->", "text vault-tools: y", "\r",
]  # fmt: skip


@given(st.lists(st.sampled_from(_REGION_LINES), max_size=14), st.sampled_from(["\n", "\r\n"]), st.booleans())
@settings(max_examples=1000)
def test_regions_in_reads_only_the_lines_that_matter(lines: list[str], newline: str, final: bool) -> None:
    """``regions_in`` searches the text for the lines after whose prefix a fence token or a marker stands:
    it finds what ``find_regions`` finds reading every line, errors included."""
    from vault_tools.pipeline.regions import regions_in

    text = newline.join(lines) + (newline if final and lines else "")

    def found(search: Any) -> Any:
        try:
            return list(search())
        except NoteSyntaxError as exc:
            return (str(exc), exc.line)

    assert found(lambda: regions_in.__wrapped__(text)) == found(lambda: find_regions(split_lines(text)))
