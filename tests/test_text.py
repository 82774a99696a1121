from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_tools.pipeline.text import (
    NoteSyntaxError,
    NoteText,
    decode_note,
    dominant_newline,
    encode_note,
    line_body,
    line_ending,
    split_lines,
    to_newline,
)

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", NoteText("", False, "\n")),
        (b"one line", NoteText("one line", False, "\n")),
        (b"a\nb\n", NoteText("a\nb\n", False, "\n")),
        (b"a\r\nb\r\n", NoteText("a\r\nb\r\n", False, "\r\n")),
        (b"a\r\nb\r\nc\n", NoteText("a\r\nb\r\nc\n", False, "\r\n")),
        (b"a\r\nb\nc\n", NoteText("a\r\nb\nc\n", False, "\n")),
        (b"a\r\nb\n", NoteText("a\r\nb\n", False, "\n")),  # a tie keeps "\n"
        (b"a\rb\r", NoteText("a\rb\r", False, "\n")),
        (BOM + b"# T\r\n", NoteText("# T\r\n", True, "\r\n")),
        (BOM + BOM + b"x", NoteText("\ufeffx", True, "\n")),
        ("제목 🕓\n".encode(), NoteText("제목 🕓\n", False, "\n")),
    ],
)
def test_decode_note(data: bytes, expected: NoteText) -> None:
    assert decode_note(data) == expected
    assert encode_note(expected) == data


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (b"ab\0cd", "binary file, not a Markdown note", None),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary file, not a Markdown note", None),
        (b"a\nb\nc\xffd\n", "not valid UTF-8 at line 3 (byte 0xff); save the note as UTF-8", 3),
        (b"caf\xe9\n", "not valid UTF-8 at line 1 (byte 0xe9); save the note as UTF-8", 1),
        (BOM + b"x\n\xc3", "not valid UTF-8 at line 2 (byte 0xc3); save the note as UTF-8", 2),
        (b"\xed\xa0\x80\n", "not valid UTF-8 at line 1 (byte 0xed); save the note as UTF-8", 1),
    ],
)
def test_decode_note_rejects(data: bytes, message: str, line: int | None) -> None:
    with pytest.raises(NoteSyntaxError) as info:
        decode_note(data)
    assert str(info.value) == message
    assert info.value.line == line
    assert isinstance(info.value, ValueError)


def test_nul_after_the_probe_is_text() -> None:
    data = b"x" * 8192 + b"\0"
    assert encode_note(decode_note(data)) == data


# Bytes that decode: text built from pieces that stress line endings, BOMs and multi-byte characters.
_pieces = st.sampled_from(
    ["\n", "\r\n", "\r", "a", " ", "\ufeff", "한", "🕓", "\x0c", "\u2028", "\x85", "---"]
)
_texts = st.lists(_pieces, max_size=40).map("".join)


@given(_texts, st.booleans())
def test_round_trip_is_exact(text: str, bom: bool) -> None:
    data = (BOM if bom else b"") + text.encode("utf-8")
    note = decode_note(data)
    assert encode_note(note) == data
    assert "".join(split_lines(note.text)) == note.text


@given(st.binary(max_size=64))
def test_round_trip_any_decodable_bytes(data: bytes) -> None:
    try:
        note = decode_note(data)
    except ValueError:
        return
    assert encode_note(note) == data


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", []),
        ("a", ["a"]),
        ("a\n", ["a\n"]),
        ("a\r\nb", ["a\r\n", "b"]),
        ("a\rb\n", ["a\rb\n"]),
        ("a\x0cb\u2028c\x85d\n\n", ["a\x0cb\u2028c\x85d\n", "\n"]),
    ],
)
def test_split_lines_on_newline_only(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines


@given(_texts)
def test_split_lines_breaks_after_each_newline_and_nowhere_else(text: str) -> None:
    lines = split_lines(text)
    assert "".join(lines) == text
    assert all(line.endswith("\n") for line in lines[:-1])
    assert all("\n" not in line[:-1] for line in lines)
    assert "" not in lines


@pytest.mark.parametrize(
    ("text", "newline"),
    [("", "\n"), ("a\rb\n", "\n"), ("a\r\nb\n", "\n"), ("a\r\nb\r\nc\n", "\r\n"), ("a\r\n", "\r\n")],
)
def test_dominant_newline(text: str, newline: str) -> None:
    assert dominant_newline(text) == newline


@pytest.mark.parametrize(
    ("line", "body", "ending"),
    [("a\r\n", "a", "\r\n"), ("a\n", "a", "\n"), ("a", "a", ""), ("a\r", "a\r", ""), ("\n", "", "\n")],
)
def test_line_body_and_ending(line: str, body: str, ending: str) -> None:
    assert line_body(line) == body
    assert line_ending(line) == ending


@pytest.mark.parametrize(
    ("generated", "newline", "expected"),
    [
        ("a\nb\n", "\n", "a\nb\n"),
        ("a\nb\n", "\r\n", "a\r\nb\r\n"),
        ("a\r\nb", "\r\n", "a\r\nb"),
        ("", "\r\n", ""),
    ],
)
def test_to_newline(generated: str, newline: str, expected: str) -> None:
    assert to_newline(generated, newline) == expected


@given(st.text(alphabet="ab\n", max_size=40), st.text(alphabet="ab\n", max_size=40), st.booleans())
def test_common_length_is_the_shared_run_of_items(a: str, b: str, backwards: bool) -> None:
    from vault_tools.pipeline.text import common_length

    limit = min(len(a), len(b))
    pairs = zip(reversed(a), reversed(b), strict=False) if backwards else zip(a, b, strict=False)
    expected = next((k for k, (x, y) in enumerate(pairs) if x != y), limit)
    at_a, at_b = (len(a), len(b)) if backwards else (0, 0)
    assert common_length(a, b, limit, at_a, at_b, backwards=backwards) == expected
    lines_a, lines_b = a.split("\n"), b.split("\n")  # sequences of strings work alike
    shared = common_length(lines_a, lines_b, min(len(lines_a), len(lines_b)))
    assert lines_a[:shared] == lines_b[:shared]
    assert shared == min(len(lines_a), len(lines_b)) or lines_a[shared] != lines_b[shared]
