"""A small safe evaluator for arithmetic in notes: ``12 * 32 * 4096² + 32000 * 4096``, ``7B × 2 bytes``.

Its own tokenizer and Pratt parser over exact fractions; nothing is ever handed to ``eval``.  Numbers carry
scale suffixes (``7B``, ``67억``) and byte units (``4 bytes``, ``2바이트``, ``13.5 GB``); dtype names
(``fp32``, ``bf16``, ``int4``) stand for their size in bytes.  A value tracks its byte dimension so that
``7B × 2 bytes`` is bytes and ``13.5 GB / 2 bytes`` is a count.  Exponents and magnitudes are bounded: a
``ValueError`` says which bound was crossed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

from vault_tools.claims.numbers import CORE_PATTERN, Stated, stated_from_match
from vault_tools.records import record

TokenKind = Literal["num", "op", "lpar", "rpar", "sup", "rel", "label", "word", "sep", "unit"]

MAX_EXPONENT = 64
MAX_MAGNITUDE = Fraction(10) ** 40
_MAX_BITS = 512  # numerator/denominator size a fraction may reach on the way
MAX_TOKENS = 200

# Bytes per element of the dtype names notes use inside arithmetic ("2 states × fp32").
DTYPE_BYTES: dict[str, Fraction] = {
    "fp64": Fraction(8),
    "float64": Fraction(8),
    "fp32": Fraction(4),
    "float32": Fraction(4),
    "tf32": Fraction(4),
    "fp16": Fraction(2),
    "float16": Fraction(2),
    "bf16": Fraction(2),
    "bfloat16": Fraction(2),
    "half": Fraction(2),
    "fp8": Fraction(1),
    "int8": Fraction(1),
    "int4": Fraction(1, 2),
    "nf4": Fraction(1, 2),
    "fp4": Fraction(1, 2),
}
# Words that name what a number counts ("7B params × 2 bytes", "2 states × fp32"); they do not change it.
LABELS = frozenset(
    {"param", "params", "parameter", "parameters", "state", "states", "layer", "layers", "head", "heads"}
    | {"token", "tokens", "gpu", "gpus", "copy", "copies", "expert", "experts", "weights", "개", "명"}
    | {"kv", "dim", "dims", "seq", "batch", "context", "positions", "values", "elements", "vocab", "hidden"}
)
# Units written after a number or a parenthesis, not joined to it by the quantity pattern: ``4 bits``,
# ``4-bit``, ``(2 + 2 + 12) bytes``; in bytes.
UNITS: dict[str, Fraction] = {"bit": Fraction(1, 8), "bits": Fraction(1, 8)}
UNITS |= dict.fromkeys(("byte", "bytes", "바이트"), Fraction(1))
_OPS = {"*": "*", "×": "*", "·": "*", "⋅": "*", "/": "/", "÷": "/", "+": "+", "-": "-", "−": "-", "^": "^"}
# One pass over the line: a quantity (numbers.CORE_PATTERN, with its guard against "Q4", "8x7B"), else the
# first alternative that fits; the last one takes any character, so every position is covered.
_TOKEN_RE = re.compile(
    rf"(?P<number>{CORE_PATTERN})"
    r"|(?P<space>\s+)"
    r"|(?P<dtype>(?<![A-Za-z0-9])(?i:fp64|float64|fp32|float32|tf32|fp16|float16|bf16|bfloat16|fp8|int8|int4"
    r"|nf4|fp4)(?![A-Za-z0-9]))"
    r"|(?P<sup>[²³])"
    r"|(?P<rel>==|~=|≈|≃|≒|=|~|∼)"
    r"|(?P<pow>\*\*)"
    r"|(?P<op>[*×·⋅/÷+\-−^])"
    r"|(?P<lpar>\()|(?P<rpar>\))"
    r"|(?P<text>[^\W_]+)"
    r"|(?P<sep>.)",
    re.DOTALL,
)


@record
class Token:
    """One lexical piece of a line, with its span."""

    kind: TokenKind
    text: str
    start: int
    end: int
    stated: Stated | None = None  # numbers: the quantity as written
    value: Fraction = Fraction(0)  # numbers and dtypes: in base units; units: bytes per unit
    dim: int = 0  # numbers and dtypes: 1 when the value is bytes


@record
class Value:
    """A computed quantity: a count (``dim`` 0) or bytes (``dim`` 1)."""

    value: Fraction
    dim: int = 0
    # Bytes counted in bits, not yet divided by 8: the ``/ 8`` of ``7B × 4 bits / 8`` turns bits into
    # bytes, which the value already is, and a second division would count them twice.
    bits: bool = False


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; anything that is not arithmetic becomes ``word`` or ``sep``."""
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        kind, piece, start, end = match.lastgroup, match.group(0), match.start(), match.end()
        if kind == "number":
            stated = stated_from_match(match)
            tokens.append(
                Token("num", piece, start, end, stated, stated.value, 1 if stated.kind == "bytes" else 0)
            )
        elif kind == "dtype":
            tokens.append(Token("num", piece, start, end, None, DTYPE_BYTES[piece.lower()], 1))
        elif kind == "pow":
            tokens.append(Token("op", "^", start, end))
        elif kind == "op":
            tokens.append(Token("op", _OPS[piece], start, end))
        elif kind == "text" and piece.lower() in UNITS:
            if (
                len(tokens) >= 2
                and tokens[-1].text == "-"
                and tokens[-2].end == start - 1 == tokens[-1].start
            ):
                tokens.pop()  # "4-bit": a hyphenated unit, not a subtraction
            tokens.append(Token("unit", piece, start, end, None, UNITS[piece.lower()], 1))
        elif (
            kind == "text" and piece in ("x", "X") and tokens and tokens[-1].kind in ("num", "rpar", "label")
        ):
            # "7B x 2 = 14GB": a spaced x between operands multiplies ("8x7B" is one name, never split)
            spaced = text[start - 1 : start].isspace() and text[end : end + 1].isspace()
            tokens.append(Token("op", "*", start, end) if spaced else Token("word", piece, start, end))
        elif kind == "text":
            tokens.append(Token("label" if piece.lower() in LABELS else "word", piece, start, end))
        elif kind != "space":
            assert kind in ("sup", "rel", "lpar", "rpar", "sep")
            tokens.append(Token(kind, piece, start, end))  # type: ignore[arg-type]
    return tokens


def evaluate(text: str) -> Value:
    """Evaluate a whole arithmetic expression such as ``7B × 2 bytes``."""
    return evaluate_tokens(tokenize(text))


def evaluate_tokens(tokens: Sequence[Token]) -> Value:
    """Evaluate a token slice that must be exactly one expression."""
    if not tokens:
        raise ValueError("expected an expression")
    if len(tokens) > MAX_TOKENS:
        raise ValueError(f"expression longer than {MAX_TOKENS} tokens")
    parser = _Parser(tokens)
    result = parser.expression(0)
    if parser.pos != len(tokens):
        extra = tokens[parser.pos]
        raise ValueError(f"column {extra.start + 1}: unexpected {extra.text!r}")
    return result


def count_operators(tokens: Sequence[Token]) -> int:
    """Binary operators and powers in a token slice (an expression needs at least one to be arithmetic)."""
    return sum(1 for t in tokens if t.kind in ("op", "sup"))


# Binding powers: the usual precedence, ``^`` right-associative, ``²``/``³`` tightest.
_INFIX = {"+": 10, "-": 10, "*": 20, "/": 20, "^": 30}


class _Parser:
    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def expression(self, min_power: int) -> Value:
        left = self._prefix()
        while True:
            token = self._peek()
            if token is None:
                return left
            if token.kind == "sup":
                self.pos += 1
                left = _power(left, Value(Fraction(2 if token.text == "²" else 3)))
                continue
            if token.kind == "unit":
                if left.dim:
                    raise ValueError(f"column {token.start + 1}: {token.text!r} after a size in bytes")
                self.pos += 1
                bits = token.value != 1
                left = _checked(Value(left.value * token.value, 1, bits))
                self._skip_labels()  # "4 bits per param"
                continue
            if token.kind != "op":
                return left
            power = _INFIX[token.text]
            if power < min_power or (power == min_power and token.text != "^"):
                return left
            if left.bits and token.text == "/" and self._bits_per_byte():
                self.pos += 2  # "× 4 bits / 8": bits over 8 bits a byte, the bytes the value already is
                left = Value(left.value, left.dim)
                continue
            self.pos += 1
            right = self.expression(power + (0 if token.text == "^" else 1))
            left = _apply(token.text, left, right)

    def _prefix(self) -> Value:
        token = self._peek()
        if token is None:
            raise ValueError("expected a number or '(' at the end of the expression")
        self.pos += 1
        if token.kind == "op" and token.text in "+-":
            operand = self.expression(25)
            return operand if token.text == "+" else _checked(Value(-operand.value, operand.dim))
        if token.kind == "lpar":
            inner = self.expression(0)
            closing = self._peek()
            if closing is None or closing.kind != "rpar":
                raise ValueError(f"column {token.start + 1}: '(' is never closed")
            self.pos += 1
            return inner
        if token.kind == "num":
            self._skip_labels()
            return _checked(Value(token.value, token.dim))
        raise ValueError(f"column {token.start + 1}: expected a number, got {token.text!r}")

    def _bits_per_byte(self) -> bool:
        """Whether a plain 8 follows the ``/`` at the current token: no unit, no label ("/ 8 GPUs")."""
        eight, after = self._peek(1), self._peek(2)
        return (
            eight is not None
            and eight.kind == "num"
            and eight.stated is not None
            and eight.stated.kind == "count"
            and eight.value == 8
            and not (after is not None and (after.kind in ("label", "unit") or after.text in ("per",)))
        )

    def _skip_labels(self) -> None:
        """Drop what a number counts: ``7B params``, ``2 bytes/param``, ``4 bytes per param``."""
        while True:
            token, after = self._peek(), self._peek(1)
            if token is not None and token.kind == "label":
                self.pos += 1
            elif (
                token is not None
                and token.text in ("/", "per")
                and after is not None
                and after.kind == "label"
            ):
                self.pos += 2
            else:
                return


def _checked(value: Value) -> Value:
    if abs(value.value) > MAX_MAGNITUDE:
        raise ValueError("value too large (over 10^40)")
    fraction = value.value
    if fraction.numerator.bit_length() > _MAX_BITS or fraction.denominator.bit_length() > _MAX_BITS:
        raise ValueError("value too precise to be a stated quantity")
    return value


def _apply(op: str, left: Value, right: Value) -> Value:
    if op in "+-":
        if left.dim != right.dim:
            raise ValueError("cannot add bytes and plain numbers")
        total = left.value + right.value if op == "+" else left.value - right.value
        return _checked(Value(total, left.dim, left.bits and right.bits))
    if op == "*":
        return _checked(Value(left.value * right.value, left.dim + right.dim, left.bits or right.bits))
    if op == "/":
        if right.value == 0:
            raise ValueError("division by zero")
        return _checked(Value(left.value / right.value, left.dim - right.dim, left.bits))
    return _power(left, right)


def _power(base: Value, exponent: Value) -> Value:
    if exponent.dim or exponent.value.denominator != 1:
        raise ValueError("exponents must be whole plain numbers")
    power = exponent.value.numerator
    if abs(power) > MAX_EXPONENT:
        raise ValueError(f"exponent {power} is beyond ±{MAX_EXPONENT}")
    bits = max(base.value.numerator.bit_length(), base.value.denominator.bit_length())
    if bits * abs(power) > _MAX_BITS:
        raise ValueError("power too large")
    if base.value == 0 and power < 0:
        raise ValueError("division by zero")
    return _checked(Value(base.value**power, base.dim * power))
