"""Stated quantities: value, unit kind, the precision the author used, and display at that precision."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.claims.numbers import find_quantities, format_full, format_like, parse_quantity

B, M, T = 10**9, 10**6, 10**12


@pytest.mark.parametrize(
    ("text", "value", "kind", "step", "approximate", "binary"),
    [
        ("6.7B", Fraction(67, 10) * B, "count", B // 10, False, None),
        ("110M", 110 * M, "count", 10 * M, False, None),  # trailing zeros of a whole number: not significant
        ("1.5 trillion", Fraction(3, 2) * T, "count", T // 10, False, None),
        ("175 billion", 175 * B, "count", B, False, None),
        ("1.7T", Fraction(17, 10) * T, "count", T // 10, False, None),
        ("67억", 67 * 10**8, "count", 10**8, False, None),
        ("70억 개", 70 * 10**8, "count", B, False, None),
        ("1조 5천억", Fraction(3, 2) * T, "count", 10**11, False, None),
        ("6,738,415,616", 6_738_415_616, "count", 1, False, None),
        ("13.5 GB", Fraction(27, 2) * B, "bytes", B // 10, False, False),
        ("12.55 GiB", Fraction(1255, 100) * 2**30, "bytes", Fraction(2**30, 100), False, True),
        ("14GB", 14 * B, "bytes", B, False, False),
        ("28 GB", 28 * B, "bytes", B, False, False),
        ("4바이트", 4, "bytes", 1, False, None),
        ("2 bytes", 2, "bytes", 1, False, None),
        ("1 GiB", 2**30, "bytes", 2**30, False, True),
        ("~13B", 13 * B, "count", B, True, None),
        ("≈ 6.55B", Fraction(655, 100) * B, "count", B // 100, True, None),
        ("about 7B", 7 * B, "count", B, True, None),
        ("약 650억 개", 650 * 10**8, "count", B, True, None),
        ("1.2e21", Fraction(12, 10) * 10**21, "count", 10**20, False, None),
        ("4k", 4000, "count", 1000, False, None),
    ],
)
def test_parse_quantity(
    text: str, value: Fraction, kind: str, step: Fraction, approximate: bool, binary: bool | None
) -> None:
    stated = parse_quantity(text)
    assert (stated.value, stated.kind, stated.step) == (value, kind, step)
    assert (stated.approximate, stated.binary) == (approximate, binary)
    assert stated.text == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  ~13B ", "~13B"),
        ("\u3000약 70억 개\xa0", "약 70억 개"),
        ("\t13.5 GB\n", "13.5 GB"),
        ("\u3000\u30007B", "7B"),
    ],
)
def test_parse_quantity_allows_whitespace_around(text: str, expected: str) -> None:
    # Whole-quantity parsing reuses QUANTITY_RE on stripped text: every Unicode space must go.
    stated = parse_quantity(text)
    assert stated.text == expected
    assert stated == parse_quantity(expected)


@pytest.mark.parametrize("text", ["", "B", "six billion", "7B7", "13.5 GBs", "1조 2조"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a quantity|decrease"):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("stated", "value", "shown"),
    [
        ("6.7B", 6_738_415_616, "6.7B"),
        ("6.55B", 6_573_522_944, "6.57B"),
        ("110M", 109_514_298, "110M"),
        ("175 billion", 174_604_259_328, "175 billion"),
        ("67억", 6_738_415_616, "67억"),
        ("70억 개", 6_738_415_616, "70억"),
        ("1조 5천억", 1_234_000_000_000, "1조 2000억"),
        ("6,738,415,616", 6_738_415_616, "6,738,415,616"),
        ("13.5 GB", 13_476_831_232, "13.5 GB"),
        ("12.55 GiB", 13_476_831_232, "12.55 GiB"),
        ("14GB", 14 * B, "14GB"),
        ("1 GiB", 2**30, "1 GiB"),
        ("1.2e21", 4 * 10**22, "40.0e21"),
        ("6.7B", 6_750_000_000, "6.8B"),  # halves round away from zero, as people round
    ],
)
def test_format_like_uses_the_authors_unit_and_precision(stated: str, value: int, shown: str) -> None:
    assert format_like(value, parse_quantity(stated)) == shown


def test_format_full() -> None:
    assert format_full(6_738_415_616, "count") == "6,738,415,616"
    assert format_full(13_476_831_232, "bytes") == "13,476,831,232 bytes = 13.48 GB = 12.55 GiB"
    assert format_full(8, "bytes") == "8 bytes"
    assert format_full(Fraction(1, 2), "count") == "0.5"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Mixtral 8x7B: 47B total, ~13B active", ["8", "47B", "~13B"]),
        ("Q4_K_M v2 Falcon-180B $7B ₩5억", []),
        ("LLaMA-7B 모델에는 약 70억 개의 파라미터", ["약 70억 개"]),
        ("= 28GB입니다", ["28GB"]),
        ("(2018): 110M.", ["2018", "110M"]),
    ],
)
def test_find_quantities_skips_numbers_glued_to_names(text: str, found: list[str]) -> None:
    assert [stated.text for _, _, stated in find_quantities(text)] == found


_QUANTITY_PIECES = [
    "7", "13", "6.7", "1,000", ".5", "B", "bn", "M", "K", "GB", "GiB", "bytes", "바이트", "e9", " ", "\t",
    "~", "≈", "∼", "about", "approximately", "approx.", "around", "roughly", "nearly", "almost", "About",
    "약", "대략", "거의", "억", "조", "만", "천", "개", "명", "x", "Q4", "-", "8x7B", "a", "$", ".", ",",
    "billion", "FLOPs", "×", "=", "가", "٣", "१२",
]  # fmt: skip


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(_QUANTITY_PIECES), max_size=12))
def test_the_first_character_test_leaves_every_quantity_found(pieces: list[str]) -> None:
    """QUANTITY_RE and the tokenizer test a match's first character before anything else, for speed:
    without that test they must find the very same matches."""
    import re

    from vault_tools.claims import expr, numbers

    text = "".join(pieces)
    plain = re.compile(numbers.QUANTITY_RE.pattern.removeprefix(numbers._FIRST))
    assert [(m.span(), m.groups()) for m in numbers.QUANTITY_RE.finditer(text)] == [
        (m.span(), m.groups()) for m in plain.finditer(text)
    ]
    core = numbers.CORE_PATTERN.removeprefix(r"(?=[.\d])")
    assert core != numbers.CORE_PATTERN
    tokens = re.compile(expr._TOKEN_RE.pattern.replace(numbers.CORE_PATTERN, core), re.DOTALL)
    assert [(m.span(), m.lastgroup) for m in expr._TOKEN_RE.finditer(text)] == [
        (m.span(), m.lastgroup) for m in tokens.finditer(text)
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("3 mbps link", [("3", "count")]),  # a unit glued to more letters is none
        ("기가막힌 28기가막", [("28", "count")]),
        ("10 pb of data", [("10 pb", "bytes")]),
        ("128 kb", [("128 kb", "bytes")]),
    ],
)
def test_byte_unit_spellings_stop_at_word_ends(text: str, found: list[tuple[str, str]]) -> None:
    assert [(text[s:e], q.kind) for s, e, q in find_quantities(text)] == found


_ABOUT_AFTER = [
    ("450억 개 정도", 45 * 10**9, "억"),
    ("450억여 개", 45 * 10**9, "억"),
    ("45B 정도", 45 * 10**9, "B"),
    ("14 GB 가량", 14 * 10**9, " GB"),
    ("3.5B쯤", 35 * 10**8, "B"),
    ("450억 내외", 45 * 10**9, "억"),
]


@pytest.mark.parametrize(("text", "value", "suffix"), _ABOUT_AFTER)
def test_korean_about_after_the_number(text: str, value: int, suffix: str) -> None:
    """Found in review: "450억 개 정도" (가량, 쯤, 내외, 450억여) was read as exact and judged wrong for
    46.7B; with 약 before it, it held."""
    stated = parse_quantity(text)
    assert (stated.value, stated.approximate, stated.suffix) == (value, True, suffix)
    assert not parse_quantity("450억 개").approximate
