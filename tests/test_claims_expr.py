"""The safe arithmetic evaluator: exact values, byte dimensions, bounds, and nothing but ValueError."""

from __future__ import annotations

import contextlib
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_tools.claims.expr import Value, evaluate


@pytest.mark.parametrize(
    ("text", "value", "dim"),
    [
        ("12 * 32 * 4096² + 32000 * 4096", 6_573_522_944, 0),
        ("7B * 4바이트", 28 * 10**9, 1),
        ("7B × 2 bytes", 14 * 10**9, 1),
        ("7B · 2 bytes", 14 * 10**9, 1),
        ("2 states × fp32", 8, 1),
        ("7B params × 2 bytes/param", 14 * 10**9, 1),
        ("13.5 GB / 2 bytes", 6_750_000_000, 0),
        ("2^10", 1024, 0),
        ("2**10", 1024, 0),
        ("2^3^2", 512, 0),  # right-associative, as in mathematics
        ("-2^2", -4, 0),
        ("(1 + 2) * 3", 9, 0),
        ("10 - 4 - 3", 3, 0),
        ("1/3 + 1/6", Fraction(1, 2), 0),
        ("4096³", 4096**3, 0),
        ("67억 × 2", 134 * 10**8, 0),
        ("1.5 trillion / 1,000", 1_500_000_000, 0),
        ("6.74B × int4", 3_370_000_000, 1),
    ],
)
def test_evaluate(text: str, value: Fraction, dim: int) -> None:
    assert evaluate(text) == Value(Fraction(value), dim)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2^100", "exponent 100 is beyond"),
        ("2^64^2", "exponent 4096 is beyond"),
        ("1000000000^10", "too large"),
        ("1000000000^60", "power too large"),
        ("1/0", "division by zero"),
        ("7B + 2 bytes", "cannot add bytes"),
        ("(1 + 2", "never closed"),
        ("3h", "column 2: unexpected 'h'"),
        ("2^0.5", "whole plain numbers"),
        ("", "expected an expression"),
        ("1T * 1T * 1T * 1T", "too large"),
        ("2 GB bytes", "'bytes' after a size in bytes"),
    ],
)
def test_evaluate_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(text)


_OPERATORS = st.sampled_from(["+", "-", "*"])


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 3) -> tuple[str, int]:
    """A random integer expression and its value computed by Python itself."""
    if depth == 0 or draw(st.booleans()):
        number = draw(st.integers(min_value=0, max_value=10**6))
        return str(number), number
    left_text, left = draw(_expressions(depth - 1))
    right_text, right = draw(_expressions(depth - 1))
    op = draw(_OPERATORS)
    value = {"+": left + right, "-": left - right, "*": left * right}[op]
    return f"({left_text} {op} {right_text})", value


@given(_expressions())
def test_evaluate_matches_python_arithmetic(case: tuple[str, int]) -> None:
    text, value = case
    assert evaluate(text) == Value(Fraction(value))


@given(st.text(alphabet="0123456789+-*/^()²³.,eEBMKT억 ×·~=bytesGiB", max_size=40))
def test_evaluate_fails_only_with_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        evaluate(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7B × 4 bits", 3_500_000_000),
        ("7B × 4-bit", 3_500_000_000),
        ("7B × 4 bits / 8", 3_500_000_000),  # the bits divided by 8 bits a byte, not bytes divided again
        ("7B × 4 bits / 2", 1_750_000_000),
        ("70B × 4.5 bits", 39_375_000_000),
        ("7B * (2 + 2 + 12) bytes", 112_000_000_000),
        ("(1 + 1) 바이트", 2),
        ("7B × 4 bits per param", 3_500_000_000),
    ],
)
def test_units_after_a_number_or_a_parenthesis(text: str, value: int) -> None:
    """Found in review: ``7B × 4 bits = 3.5 GB`` and ``7B * (2 + 2 + 12) bytes = 112 GB`` were no claims."""
    result = evaluate(text)
    assert (result.value, result.dim) == (value, 1)
