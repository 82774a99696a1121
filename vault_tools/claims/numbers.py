"""Stated quantities as authors write them: ``6.7B``, ``110M``, ``1.5 trillion``, ``67억``, ``13.5 GB``.

A ``Stated`` keeps the value and also how it was written: the unit kind (a count or bytes), whether a byte
unit was decimal (GB) or binary (GiB), and the precision the author used (``step``: one unit of the last
significant digit, in base units).  Trailing zeros of a whole number are not significant, as in the usual
significant-figure convention: ``110M`` is stated to the nearest 10M, ``70억`` to the nearest 10억.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Literal

from vault_tools.lazyre import lazy_compile
from vault_tools.records import record, replace

Kind = Literal["count", "bytes"]

# Scale words and letters as ML writing uses them (``B`` is billion, never bytes).
COUNT_SCALES: dict[str, int] = {
    "K": 10**3,
    "k": 10**3,
    "M": 10**6,
    "B": 10**9,
    "bn": 10**9,
    "T": 10**12,
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
# Byte units: value in bytes and whether the prefix is binary (None: plain bytes).
BYTE_UNITS: dict[str, tuple[int, bool | None]] = {
    "byte": (1, None),
    "bytes": (1, None),
    "Byte": (1, None),
    "Bytes": (1, None),
    "바이트": (1, None),
    "kB": (10**3, False),
    "KB": (10**3, False),
    "MB": (10**6, False),
    "GB": (10**9, False),
    "TB": (10**12, False),
    "PB": (10**15, False),
    "KiB": (2**10, True),
    "MiB": (2**20, True),
    "GiB": (2**30, True),
    "TiB": (2**40, True),
    "PiB": (2**50, True),
}
# Byte units as people also write them, by their BYTE_UNITS spelling: words, lower case, Korean.
_PREFIX_UNITS = {"kilo": "KB", "mega": "MB", "giga": "GB", "tera": "TB", "peta": "PB"}
_PREFIX_UNITS |= {"킬로": "KB", "메가": "MB", "기가": "GB", "테라": "TB", "페타": "PB"}


def _byte_unit(spelled: str) -> str:
    """The ``BYTE_UNITS`` key of a byte unit as written: ``14 gigabytes``, ``14 gb``, ``28기가바이트``."""
    if spelled in BYTE_UNITS:
        return spelled
    lowered = spelled.lower()
    if lowered in ("byte", "bytes"):
        return "bytes"
    if len(spelled) == 2 and spelled.isascii():  # "gb", "kb": the decimal unit in lower case
        return "KB" if lowered == "kb" else spelled.upper()
    for prefix, unit in _PREFIX_UNITS.items():
        if lowered.startswith(prefix):
            return unit
    raise ValueError(f"no byte unit {spelled!r}")  # the pattern admits no other spelling


FLOP_UNITS: dict[str, int] = {"": 1, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_KOREAN_SMALL = {"": 1, "십": 10, "백": 100, "천": 1000}
_KOREAN_BIG = {"만": 10**4, "억": 10**8, "조": 10**12}
# Swap a decimal byte prefix for its binary twin and back (the GB-vs-GiB diagnosis).
TWIN_UNIT: dict[str, str] = {
    "kB": "KiB",
    "KB": "KiB",
    "MB": "MiB",
    "GB": "GiB",
    "TB": "TiB",
    "PB": "PiB",
    "KiB": "KB",
    "MiB": "MB",
    "GiB": "GB",
    "TiB": "TB",
    "PiB": "PB",
}

# A "~" of a "~~" is strikethrough markup ("~~7.5B~~ 6.7B"), never "about".
_APPROX = (
    r"(?P<approx>(?:(?<!~)~(?!~)|≈|∼|(?<![A-Za-z])(?:about|approximately|approx\.|around|roughly|nearly|almost)"
    r"|(?<![가-힣])(?:약|대략|거의))\s*)"
)


def _kr(unit: str) -> str:
    return rf"\d+(?:\.\d+)?\s?[십백천]?\s?{unit}"


# Korean numerals with their big units in decreasing order: "1조 5천억", "67억", "3천만".
_KR = rf"{_kr('조')}(?:\s?{_kr('억')})?(?:\s?{_kr('만')})?|{_kr('억')}(?:\s?{_kr('만')})?|{_kr('만')}"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_CORE = (
    rf"(?P<kr>{_KR})"
    rf"|(?P<num>{_NUMBER})(?:[eE](?P<exp>[+-]?\d{{1,3}}))?"
    r"(?:\s?(?P<word>thousand|million|billion|trillion)(?![A-Za-z])"
    r"|(?P<letter>bn|[KkMBT])(?![A-Za-z0-9]))?"
    r"(?:\s?(?P<bytes>[KMGTP]iB|[KMGTP]B|kB|[kmgtp]b|(?i:kilo|mega|giga|tera|peta)bytes?|[Bb]ytes?"
    r"|(?:킬로|메가|기가|테라|페타)?바이트|(?:메가|기가|테라)(?![가-힣]))(?![A-Za-z]))?"
    r"(?:\s?(?P<flops>[GTPE]?FLOPs?|[GTPE]?flops)(?![A-Za-z]))?"
)
# Korean counters after a count ("70억 개", "70억 명" in machine translations) belong to the quantity.
_COUNTER = r"(?:\s?(?P<counter>개|명))?"
# A number glued to a word or a hyphenated name ("Q4", "v2", "8x7B", "Falcon-180B") is not a quantity.
_GUARD = r"(?<![A-Za-z0-9_.,$₩€£])(?<![A-Za-z0-9]-)"
# The first character of any match, tested first: it adds nothing a match needs, but most positions of a
# line fail on it at once instead of on the guard and the alternatives (4.8 -> 2.9 us a line of notes).
# A match starts with its approximation word or sign (~, ≈, ∼, a|r|n for about/roughly/nearly…, 약, 대략,
# 거의), else with the digits of its core or the "." of ".5".
_FIRST = r"(?=[~≈∼arn약대거.\d])"
# Korean writes "about" after the number too: "450억여 개", "450억 개 정도", "가량", "쯤", "내외".
_YEO = r"(?P<yeo>여(?=\s?[개명]|[^가-힣]|$))?"
_ABOUT = r"(?P<about>\s?(?:정도|가량|쯤|내외))?"
QUANTITY_RE = re.compile(rf"{_FIRST}{_GUARD}{_APPROX}?(?:{_CORE}){_YEO}{_COUNTER}{_ABOUT}")
# A bare quantity, as text: expr.py folds it into its token pattern (a compiled copy would cost ~3 ms of
# import for a pattern nothing matches with on its own).  Its first character is a digit or ".".
CORE_PATTERN = rf"(?=[.\d]){_GUARD}(?:{_CORE})"
_KR_PART_RE = lazy_compile(r"(\d+(?:\.\d+)?)\s?([십백천]?)\s?([만억조])")  # Korean numerals only


@record
class Stated:
    """A quantity as written, with the precision the author used."""

    text: str
    value: Fraction  # in base units: a plain count, or bytes
    kind: Kind
    scale: Fraction  # base units per displayed unit: 10**9 for "B", 2**30 for "GiB"
    suffix: str  # what followed the digits, with its spacing: "B", " GB", " billion", "억"
    decimals: int  # digits after the decimal point as written
    step: Fraction  # one unit of the last significant digit, in base units
    significant: int
    approximate: bool = False
    binary: bool | None = None  # bytes: True for GiB-style, False for GB-style, None for plain bytes
    grouped: bool = False  # written with thousands separators
    korean: bool = False
    scaled: bool = False  # carries a scale word, letter or Korean unit (not a bare number)
    byte_unit: str | None = None
    mantissa: str = ""  # the digits as written, without separators


def _digits(number: str) -> tuple[Fraction, int, int, int]:
    """Value, decimals, significant digits and insignificant trailing zeros of a plain decimal numeral."""
    plain = number.replace(",", "")
    whole, _, frac = plain.partition(".")
    value = Fraction(plain)
    digits = (whole + frac).lstrip("0")
    if frac:
        return value, len(frac), max(len(digits), 1), 0
    stripped = digits.rstrip("0")
    trailing = len(digits) - len(stripped)
    return value, 0, max(len(stripped), 1), trailing


def _korean(text: str) -> tuple[Fraction, Fraction, Fraction, str, int, int]:
    """Value, step, scale, suffix, decimals and significant digits of ``1조 5천억``-style numerals."""
    value = Fraction(0)
    last_big = 10**13
    step = scale = Fraction(1)
    suffix, decimals, significant = "", 0, 0
    for number, small, big in _KR_PART_RE().findall(text):
        factor = _KOREAN_SMALL[small] * _KOREAN_BIG[big]
        if _KOREAN_BIG[big] >= last_big:
            raise ValueError(f"Korean units must decrease from left to right: {text!r}")
        last_big = _KOREAN_BIG[big]
        part, decimals, sig, trailing = _digits(number)
        value += part * factor
        step = Fraction(10**trailing, 10**decimals) * factor
        scale, suffix = Fraction(_KOREAN_BIG[big]), big
        significant += sig
    return value, step, scale, suffix, decimals, significant


def _whole_match(text: str) -> re.Match[str] | None:
    """Match ``text`` as exactly one quantity, with any whitespace around it."""
    # QUANTITY_RE's guard looks behind the start of the string, where nothing is, so on stripped text
    # this is a whole-quantity pattern; a second compiled variant would cost ~3 ms of every import.
    return QUANTITY_RE.fullmatch(text.strip())


def stated_from_match(match: re.Match[str]) -> Stated:
    """Build a ``Stated`` from a ``QUANTITY_RE`` / ``CORE_PATTERN`` match."""
    return _stated(match.group(0))


@functools.lru_cache(maxsize=4096)
def _stated(text: str) -> Stated:
    """The ``Stated`` for one quantity's text; cached because a vault repeats the same few numbers."""
    match = _whole_match(text)
    assert match is not None  # ``text`` came from a match of the same parts
    groups = match.groupdict()
    text = match.group(0).strip()
    approximate = bool(groups.get("approx") or groups.get("yeo") or groups.get("about"))
    if groups["kr"]:
        value, step, scale, suffix, decimals, significant = _korean(groups["kr"])
        return Stated(
            text, value, "count", scale, suffix, decimals, step, significant, approximate,
            korean=True, scaled=True, mantissa=groups["kr"],
        )  # fmt: skip
    number: str = groups["num"]
    value, decimals, significant, trailing = _digits(number)
    scale = Fraction(1)
    suffix_start = match.end("num")
    if groups["exp"]:
        scale *= Fraction(10) ** int(groups["exp"])
    word, letter = groups["word"], groups["letter"]
    if word or letter:
        scale *= COUNT_SCALES[word or letter]
    kind: Kind = "count"
    binary: bool | None = None
    unit = groups["bytes"]
    if unit:
        kind = "bytes"
        unit = _byte_unit(unit)
        factor, binary = BYTE_UNITS[unit]
        scale *= factor
    elif groups["flops"]:
        scale *= FLOP_UNITS[groups["flops"][0] if groups["flops"][0] in "GTPE" else ""]
    if groups.get("counter"):
        end = match.end("counter")
    elif groups.get("yeo") or groups.get("about"):  # the suffix is the unit's, not the "about" after it
        end = max(
            match.end(name) for name in ("num", "exp", "word", "letter", "bytes", "flops") if groups[name]
        )
    else:
        end = match.end()
    suffix = match.string[suffix_start:end].rstrip()
    return Stated(
        text=text,
        value=value * scale,
        kind=kind,
        scale=scale,
        suffix=suffix,
        decimals=decimals,
        step=Fraction(10**trailing, 10**decimals) * scale,
        significant=significant,
        approximate=approximate,
        binary=binary,
        grouped="," in number,
        scaled=bool(word or letter or groups["exp"]),
        byte_unit=unit,
        mantissa=number.replace(",", ""),
    )


def parse_quantity(text: str) -> Stated:
    """Parse one whole quantity such as ``~13B``, ``13.5 GB``, ``1조 5천억`` or ``6,738,415,616``."""
    if _whole_match(text) is None:
        raise ValueError(f"expected a quantity such as 6.7B, 13.5 GB, 1 GiB or 67억, got {text.strip()!r}")
    return _stated(text)


def find_quantities(text: str, *, scaled_only: bool = False) -> Iterator[tuple[int, int, Stated]]:
    """Every quantity in ``text`` with its span; numbers glued to words or names are left out.

    ``scaled_only`` keeps only counts a parameter claim can state: with a scale, or of seven digits or more.
    """
    for match in QUANTITY_RE.finditer(text):
        number = match.group("num")
        if match.group("kr") is None and number is None:
            continue
        scaled = match.group("kr") or match.group("letter") or match.group("word") or match.group("exp")
        if scaled_only and not scaled and len(number.replace(",", "").partition(".")[0]) < 7:
            continue  # years, versions, layer sizes: too small and unscaled to be a parameter count
        yield match.start(), match.end(), stated_from_match(match)


# --- display ---------------------------------------------------------------------------------------


def round_half_up(value: Fraction) -> int:
    """Round to the nearest integer, halves away from zero (as people round)."""
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


def _fixed(units: int, decimals: int, grouped: bool) -> str:
    """``units`` counted in 10**-decimals, written with a decimal point (and grouping if asked)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    head = f"{whole:,}" if grouped else str(whole)
    return f"{sign}{head}.{frac:0{decimals}d}" if decimals else f"{sign}{head}"


def format_like(value: Fraction | int, stated: Stated) -> str:
    """``value`` written the way the author wrote ``stated``: same unit, same precision."""
    value = Fraction(value)
    rounded = round_half_up(value / stated.step) * stated.step
    if stated.korean:
        return _format_korean(rounded, stated)
    units = rounded / stated.scale * 10**stated.decimals
    return _fixed(round_half_up(units), stated.decimals, stated.grouped) + stated.suffix


def format_close(value: Fraction | int, stated: Stated) -> str:
    """``format_like``, with digits added while the figure is more than 5% off ``value``: a wrong verdict's
    computed value must not mislead (``0.5 GiB``, not ``1 GiB``, beside a stated ``4 GiB``)."""
    value = Fraction(value)
    step, decimals = stated.step, stated.decimals
    for _ in range(4):
        if not value or abs(round_half_up(value / step) * step - value) <= abs(value) / 20:
            break
        step /= 10
        while stated.scale / 10**decimals > step:
            decimals += 1
    return format_like(value, replace(stated, step=step, decimals=decimals))


_KOREAN_UNITS = ((10**12, "조"), (10**8, "억"), (10**4, "만"))


def _format_korean(rounded: Fraction, stated: Stated) -> str:
    if stated.decimals == 0 and abs(rounded) >= stated.scale * 10**4:
        # Written in Korean units down to the stated one: "67억 3842만", "1조 5억", never "674000만".
        sign, rest = ("-" if rounded < 0 else ""), abs(round_half_up(rounded))
        parts = []
        for factor, unit in _KOREAN_UNITS:
            if factor < stated.scale:
                break
            count, rest = divmod(rest, factor)
            if count:
                parts.append(f"{count}{unit}")
        return sign + " ".join(parts)
    units = rounded / stated.scale * 10**stated.decimals
    return _fixed(round_half_up(units), stated.decimals, False) + stated.suffix


def plain_number(value: Fraction | int, digits: int = 6) -> str:
    """A number in full: grouped digits for integers, else ``digits`` significant digits."""
    value = Fraction(value)
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{float(value):,.{digits}g}" if abs(value) >= 1 else f"{float(value):.{digits}g}"


def format_full(value: Fraction | int, kind: Kind) -> str:
    """The computed value in full: ``6,738,415,616`` or ``13,476,831,232 bytes = 13.48 GB = 12.55 GiB``."""
    text = plain_number(value)
    if kind == "count":
        return text
    value = Fraction(value)
    if abs(value) < 1000:
        return f"{text} bytes"
    return f"{text} bytes = {_best(value, False)} = {_best(value, True)}"


def _best(value: Fraction, binary: bool) -> str:
    """Bytes in the largest unit that keeps the number at least 1, to two decimals."""
    units = ["PiB", "TiB", "GiB", "MiB", "KiB"] if binary else ["PB", "TB", "GB", "MB", "KB"]
    for unit in units:
        factor = BYTE_UNITS[unit][0]
        if abs(value) >= factor:
            return f"{float(value / factor):.2f} {unit}"
    return f"{float(value):.0f} bytes"
