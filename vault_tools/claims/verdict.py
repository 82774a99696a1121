"""Judge a stated quantity against the computed one, with a tolerance that follows how it was written.

Rules (``step`` is one unit of the last significant digit the author wrote; trailing zeros of a whole number
are not significant, so ``110M`` has a step of 10M and ``6.7B`` a step of 0.1B):

* **plain** (``6.7B``, ``= 1 GiB``): ok when the computed value rounds to the stated one at that step,
  i.e. ``|computed − stated| ≤ step/2`` (an exact half is accepted either way), or when it is the
  computed value truncated at that step, as model cards write them (``1.23B`` for 1.2358B: two or more
  significant digits, at most 3% off; the message says so);
* **approximate** (``~``, ``≈``, ``about``, ``약``, or the size in a model's name restated as its count):
  a round number of one or two significant digits (``~13B``, ``약 70억``) is ok within
  ``max(step/2, 5%)``; a number written with more precision (``≈ 6.55B``, ``~6.7B``, ``≈ 405B``) shows
  how close the author meant it, so it is ok within one whole ``step``;
* **bounds** (``<``, ``>``, ``≤``, ``≥``, ``over 100B``, ``70억 이상``): compared exactly;
* a stated ``GB`` whose number is right in ``GiB`` (or the reverse) is wrong, with a message that says so:
  ``stated GB but the value is in GiB: 12.55 GiB = 13.48 GB``.

The computed value is shown the way the author wrote theirs (``6.57B`` next to ``6.55B``) and in full.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Literal

from vault_tools.claims.grammar import Op
from vault_tools.claims.numbers import BYTE_UNITS, TWIN_UNIT, Stated, format_close, format_full, format_like
from vault_tools.records import record, replace

Verdict = Literal["ok", "wrong", "unverified"]

APPROXIMATE_SHARE = Fraction(5, 100)


@record
class Judgement:
    """A verdict with the computed value at the author's precision and in full."""

    verdict: Verdict
    computed: str
    computed_full: str
    message: str = ""


def tolerance(stated: Stated, op: Op = "=", *, size_label: bool = False) -> Fraction:
    """How far the computed value may be from ``stated`` and still be ok (see the module docstring)."""
    half = stated.step / 2
    if not (op == "≈" or stated.approximate or size_label):
        return half
    if stated.decimals == 0 and stated.significant <= 2:
        return max(half, abs(stated.value) * APPROXIMATE_SHARE)
    return stated.step


def holds(stated: Stated, computed: Fraction, op: Op = "=", *, size_label: bool = False) -> bool:
    """Whether ``computed`` makes the statement ``computed OP stated`` true."""
    if op == "<":
        return computed < stated.value
    if op == ">":
        return computed > stated.value
    if op == "≤":
        return computed <= stated.value
    if op == "≥":
        return computed >= stated.value
    return abs(computed - stated.value) <= tolerance(stated, op, size_label=size_label)


# Exact arithmetic on Fractions costs tens of microseconds a claim, and vaults state the same facts in
# many notes ("LLaMA-7B: 6.7B"): judge each distinct (stated, computed) once per process.
@functools.lru_cache(maxsize=4096)
def judge(
    stated: Stated,
    computed: int | Fraction,
    op: Op = "=",
    *,
    size_label: bool = False,
    truncation: bool = False,
) -> Judgement:
    """Judge ``computed OP stated``; a wrong byte size that is right in the twin unit says so.

    ``truncation``: a figure cut off rather than rounded is ok too (see ``truncated``): prose copies model
    cards' figures so; an explicit claim's ``=`` and an ``exactly`` are held to rounding.
    """
    value = Fraction(computed)
    shown = format_like(value, stated)
    full = format_full(value, stated.kind)
    if holds(stated, value, op, size_label=size_label):
        message = ""
        if size_label and not holds(stated, value, op):
            message = f"{stated.text} is the size in the model's name; read as 'about {stated.text}'"
        return Judgement("ok", shown, full, message)
    shown = format_close(value, stated)
    mixup = unit_mixup(stated, value, op)
    if mixup is not None:
        return Judgement("wrong", shown, full, mixup)
    if truncation and truncated(stated, value, op):
        return Judgement(
            "ok", shown, full, f"{stated.text} is {_finer(value, stated)} truncated, not rounded"
        )
    symbol = {"=": "≠", "≈": "is not ≈"}.get(op, f"is not {op}")
    return Judgement("wrong", shown, full, f"computed {shown} {symbol} stated {stated.text}")


TRUNCATED_SHARE = Fraction(3, 100)


def truncated(stated: Stated, computed: Fraction, op: Op = "=") -> bool:
    """Whether ``stated`` is ``computed`` cut off after the digits written, rather than rounded.

    Model cards and papers write figures so (Meta's 1.23B for 1.2358B, the LLaMA paper's 65.2B for
    65.29B, DeepSeek's 37B for 37.55B, Microsoft's 2.7B for 2.78B): such a figure is ok.  It takes two
    significant digits or more and at most 3% between the two, so a round ``6B`` for 6.74B is no
    truncation but a wrong count.
    """
    return (
        op == "="
        and stated.significant >= 2
        and stated.value <= computed < stated.value + stated.step
        and computed - stated.value <= computed * TRUNCATED_SHARE
    )


def _finer(value: Fraction, stated: Stated) -> str:
    """``value`` with one digit more than ``stated`` was written with: what a truncation cut off."""
    return format_like(value, replace(stated, step=stated.step / 10, decimals=stated.decimals + 1))


def unit_mixup(stated: Stated, computed: Fraction, op: Op = "=") -> str | None:
    """``stated GB but the value is in GiB: ...`` when the number is right in the twin byte unit."""
    unit = stated.byte_unit
    if unit is None or unit not in TWIN_UNIT or op not in ("=", "≈"):
        return None
    twin = TWIN_UNIT[unit]
    own, other = BYTE_UNITS[unit][0], BYTE_UNITS[twin][0]
    ratio = Fraction(other, own)
    swapped = Stated(
        text=stated.text,
        value=stated.value * ratio,
        kind="bytes",
        scale=stated.scale * ratio,
        suffix=stated.suffix,
        decimals=stated.decimals,
        step=stated.step * ratio,
        significant=stated.significant,
        approximate=stated.approximate,
    )
    if not holds(swapped, computed, op):
        return None
    number = stated.mantissa
    in_stated_unit = float(swapped.value / own)
    return f"stated {unit} but the value is in {twin}: {number} {twin} = {in_stated_unit:.2f} {unit}"
