"""Arithmetic claims: an expression and the result stated after ``=``/``≈`` (``7B × 2 bytes = 14 GB``), and
code literals explained by a comment (``optimizer = n * 8  # Adam: 2 states × fp32``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from vault_tools.claims.expr import Token, Value, count_operators, evaluate_tokens, tokenize
from vault_tools.claims.grammar import Op
from vault_tools.claims.numbers import Stated, parse_quantity
from vault_tools.claims.scan import Segment
from vault_tools.claims.verdict import holds
from vault_tools.lazyre import lazy_compile
from vault_tools.records import record, replace

# The literal a code line multiplies by, or assigns to a bytes-named variable: "n * 8", "dtype_bytes=2".
_CODE_LITERAL_RE = re.compile(r"(?:\w*bytes?\w*\s*=\s*|\*\s*)(\d+(?:\.\d+)?)\s*[):,]*\s*$", re.IGNORECASE)
_OPERATOR_HINT_RE = re.compile(r"[\w)²³]\s*(?:[*×·⋅/÷+^²³]|\s-\s|−|\s[xX]\s)")
_COMMENT_LABEL_RE = re.compile(r"^[A-Za-z][\w\s-]{0,30}:\s*")


@record
class ArithmeticCandidate:
    """An expression and its stated result; ``value`` is what the expression evaluates to."""

    line: int
    text: str
    expression: str
    value: Value
    stated: Stated
    op: Op = "="
    rumour: bool = False


_EXPRESSION_KINDS = frozenset({"num", "op", "lpar", "rpar", "sup", "label", "unit"})
_BIT_UNIT_RE = re.compile(
    r"[KMGTPkmgtp]?(?:b|bits?)|(?:kilo|mega|giga|tera|peta)bits?|(?:Kib|Mib|Gib|Tib)(?:it)?", re.I
)
# Words after a relation that make its result approximate, as numbers.py reads them before a quantity.
_ABOUT_WORDS = frozenset({"about", "approximately", "approx", "around", "roughly", "nearly", "almost"})
_ABOUT_WORDS |= {"약", "대략", "거의"}
_RESULT_FOLLOWERS = frozenset({"word", "sep", "rel", "rpar", "lpar"})  # "= 140 GB (fp16)"


def find_arithmetic(line: int, text: str) -> list[tuple[int, int, ArithmeticCandidate]]:
    """Every ``expression = result`` in ``text``, with the span it covers.

    The expression is the longest run of numbers, operators and parentheses before the relation that
    evaluates and holds at least one operator; the result is a single quantity right after it.
    """
    if not any(c in text for c in "=≈~≃≒∼") or not _OPERATOR_HINT_RE.search(text):  # cheap prefilters
        return []
    tokens = tokenize(text)
    # A line's "- " is its list marker, never a minus sign ("- 7B × 2 bytes = 14 GB" states 14 GB).
    body = text.lstrip()
    marker = len(text) - len(body) if body[:2] in ("- ", "-\t") else -1
    out: list[tuple[int, int, ArithmeticCandidate]] = []
    # The last result found: its token's index, its expression and value, and whether it was approximate.
    # "7B × 2 bytes = 14 GB = 13.04 GiB" states the same value again after it.
    last: _Result | None = None
    for r, token in enumerate(tokens):
        if token.kind != "rel" or r == 0:
            continue
        k = r + 1
        approximate = token.text in ("≈", "~", "~=", "≃", "≒", "∼")
        if k < len(tokens) and tokens[k].kind == "rel" and tokens[k].text in ("~", "∼", "≈"):
            approximate, k = True, k + 1
        if k < len(tokens) and tokens[k].kind == "word" and tokens[k].text.lower() in _ABOUT_WORDS:
            approximate, k = True, k + 1  # "= about 14 GB"
            if tokens[k - 1].text.lower() == "approx" and k < len(tokens) and tokens[k].text == ".":
                k += 1
        if k >= len(tokens) or tokens[k].kind != "num" or tokens[k].stated is None:
            continue
        following = tokens[k + 1] if k + 1 < len(tokens) else None
        if following is not None and (
            following.kind not in _RESULT_FOLLOWERS or _BIT_UNIT_RE.fullmatch(following.text)
        ):
            continue  # ("= 28 Gbit": a size in bits, which the tool does not state)
        # A share in percent ("1/4 = 25%"), a share per device or item ("= 70 GB per GPU" after a total)
        # or a date ("07/2023 = 5 months"): another amount than the expression's, unless it is the value
        # ("(4.2M / 6.7B) × 100 = 0.063%", "140 GB / 2 = 70 GB per GPU", "2000/4 = 500").
        other = (
            following is not None and (following.text == "%" or following.text.lower() in _PERCENT_WORDS)
        ) or (_QUALIFIED_RE().match(text, tokens[k].end) is not None)
        stated = tokens[k].stated
        assert stated is not None
        found = _left_expression(tokens, r, marker, stated.value >= 0)
        restated = found is None and last is not None and _restated(last, tokens[r], r, stated, following)
        if restated:
            assert last is not None
            found, approximate = (last[1], last[2]), approximate or last[3]
        if found is None:
            continue
        left, value = found
        if _counted_thing(left, stated, following):
            continue
        if not restated:  # (a restated value is the last one, already read in its unit)
            value = _in_result_unit(left, value, stated)
        if approximate and not stated.approximate:
            stated = replace(stated, approximate=True)
        op: Op = "≈" if approximate else "="
        if (other or _DATE_RE().search(text, left[0].start, left[-1].end)) and not holds(
            stated, value.value, op
        ):
            continue
        last = (k, left, value, approximate, stated.kind)
        start, end = left[0].start, tokens[k].end
        expression = text[start : left[-1].end]
        out.append((start, end, ArithmeticCandidate(line, text[start:end], expression, value, stated, op)))
    return out


# The last result of a line: its token's index, its expression and value, whether it was approximate, and
# what it states (bytes or a count).
_Result = tuple[int, Sequence[Token], Value, bool, str]
# A month and year with a slash ("07/2023", "2023/07"): a date, not a division.
# Years from 1990 to 2039 only: 2048 is a sequence length ("2048/8 = 256").
_DATE_RE = lazy_compile(
    r"(?<![\d.])(?:0?[1-9]|1[0-2])/(?:199\d|20[0-3]\d)(?![\d.])"
    r"|(?<![\d.])(?:199\d|20[0-3]\d)/(?:0?[1-9]|1[0-2])(?![\d.])"
)
_PERCENT_WORDS = frozenset({"percent", "퍼센트", "프로"})  # ("25 per cent": "per" below)
# Words right after a result that make it an amount of something else than the expression's: a share of
# it per device or per item.  ("with FP16", "across all GPUs", "sharded" describe the same amount, and "per
# the paper", "per Hugging Face" say where it is from.)
_QUALIFIED_RE = lazy_compile(
    r"\s*\(?\s*(?:per(?!\s+(?:the|its|their|our|(?-i:[A-Z][a-z])))(?![A-Za-z])|each(?![A-Za-z])"
    r"|(?:on|for)\s+each(?![A-Za-z])|[A-Za-z0-9가-힣]+당(?![가-힣]))",
    re.IGNORECASE,
)


def _restated(last: _Result, relation: Token, r: int, stated: Stated, following: Token | None) -> bool:
    """Whether ``stated``, after the ``relation`` at token ``r`` and before ``following``, states ``last``'s
    value again: right after
    it, with "=" or "≈" (a "~" there joins a range, "14 GB ~ 16 GB"), of the same kind (bytes again, in GiB
    say), and then only another relation or the end of the sentence: anything else may make it another
    amount ("= 7 GB per GPU", "= 7 GB (per GPU)", "= 7 GB, split over 2 GPUs", "= 2 H100s").  (Words
    after a sentence's end are another sentence's: "= 130 GiB. Next, the KV cache.")"""
    return (
        last[0] == r - 1
        and relation.text in ("=", "≈")
        and stated.kind == last[4]
        and (following is None or following.kind == "rel" or following.text in ".!?")
    )


def _counted_thing(left: Sequence[Token], stated: Stated, following: Token | None) -> bool:
    """A bare number followed by a word, after an expression with a scale or a unit: a count of something
    else ("7B × 2 = around 2 A100s"), not the expression's value.  Plain numbers on both sides are
    arithmetic ("2048 × 8 = 16384 tokens")."""
    if stated.kind != "count" or stated.scaled or following is None or following.kind != "word":
        return False
    return any(t.kind == "unit" or _not_plain(t) for t in left)


def _not_plain(token: Token) -> bool:
    """A number that is not a bare count: a dtype, a scaled figure ("7B") or a size in bytes."""
    stated = token.stated
    return token.kind == "num" and (stated is None or stated.scaled or stated.kind != "count")


def _in_result_unit(left: Sequence[Token], value: Value, stated: Stated) -> Value:
    """``70 × 2 = 140 GB``: plain numbers counted in the unit of the byte size they are said to make.

    Read so when the expression is all plain numbers and that reading is nearer the stated size than
    bytes are (``2 × 4096 = 8 KB`` is 8,192 bytes).
    """
    if value.dim or value.value <= 0 or stated.kind != "bytes" or stated.scale <= 1 or stated.value <= 0:
        return value
    if any(map(_not_plain, left)):
        return value
    scaled = value.value * stated.scale
    if _distance(scaled, stated.value) < _distance(value.value, stated.value):
        return Value(scaled, 1)
    return value


def _distance(a: Fraction, b: Fraction) -> Fraction:
    """How many times apart two positive values are (1 when equal)."""
    return max(a / b, b / a)


def _left_expression(
    tokens: Sequence[Token], r: int, marker: int = -1, positive: bool = False
) -> tuple[Sequence[Token], Value] | None:
    """The longest numeric expression ending just before the relation at ``r``, evaluated; it starts after
    the list marker at offset ``marker`` (-1: none).

    ``positive``: the stated result is not negative.  Then a negative reading comes from a dash that
    separates a label from the expression (``fp16 - 7B × 2 bytes = 14 GB``), when a shorter expression
    after it reads otherwise; no shorter one, and it is the claim as written (``2 - 5 = 3`` is wrong).
    """
    first = r
    while first > 0 and tokens[first - 1].kind in _EXPRESSION_KINDS and tokens[first - 1].start != marker:
        first -= 1
    negative: tuple[Sequence[Token], Value] | None = None
    for start in range(first, r):
        piece = tokens[start:r]
        if count_operators(piece) == 0:
            break
        if piece[0].kind not in ("num", "lpar", "op"):
            continue
        try:
            value = evaluate_tokens(piece)
        except ValueError:
            continue
        if value.dim not in (0, 1):
            continue
        if positive and value.value < 0 and (piece[0].kind == "op" or piece[0].stated is None):
            # (a dash after a label or a dtype: "fp16 - …"; after "12 GB" it subtracts)
            negative = negative or (piece, value)
            continue
        return piece, value
    return negative


def find_annotation(segment: Segment) -> ArithmeticCandidate | None:
    """A code literal explained by its comment: ``optimizer = n * 8  # Adam: 2 states × fp32``."""
    literal = _CODE_LITERAL_RE.search(segment.code)
    if literal is None:
        return None
    label = _COMMENT_LABEL_RE.match(segment.text)
    comment = segment.text[label.end() if label else 0 :]
    tokens = tokenize(comment)
    if not any(t.kind == "num" and t.stated is None for t in tokens):  # a dtype: the comment is about bytes
        return None
    try:
        value = evaluate_tokens(tokens)
    except ValueError:
        return None
    if value.dim != 1:
        return None
    stated = replace(parse_quantity(f"{literal.group(1)} bytes"), text=literal.group(1), suffix="")
    text = f"{segment.code.strip()} # {segment.text}"
    return ArithmeticCandidate(segment.line, text, comment.strip(), value, stated, "=", False)
