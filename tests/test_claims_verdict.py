"""Tolerance follows the precision the author wrote; GB-vs-GiB mix-ups are named."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vault_tools.claims.grammar import Op
from vault_tools.claims.numbers import parse_quantity
from vault_tools.claims.verdict import judge, tolerance

LLAMA_7B = 6_738_415_616
MIXTRAL_ACTIVE = 12_879_925_248


@pytest.mark.parametrize(
    ("stated", "computed", "op", "verdict"),
    [
        # plain: ok when the computed value rounds to the stated digits
        ("6.7B", LLAMA_7B, "=", "ok"),
        ("6.74B", LLAMA_7B, "=", "ok"),
        ("6.73B", LLAMA_7B, "=", "ok"),  # 6.738B truncated: as model cards write figures
        ("6.72B", LLAMA_7B, "=", "wrong"),
        ("6.8B", LLAMA_7B, "=", "wrong"),
        ("6.7B", 6_650_000_000, "=", "ok"),  # an exact half is accepted either way
        ("6.7B", 6_649_999_999, "=", "wrong"),
        ("110M", 109_514_298, "=", "ok"),  # 110M is stated to the nearest 10M
        ("109M", 109_514_298, "=", "ok"),  # truncated
        ("108M", 109_514_298, "=", "wrong"),
        ("6B", LLAMA_7B, "=", "wrong"),  # one significant digit: no truncation, a wrong count
        ("1.5B", 1_557_611_200, "=", "wrong"),  # 3.7% off: too far for a truncation
        ("6,738,415,616", LLAMA_7B, "=", "ok"),
        ("6,738,415,617", LLAMA_7B, "=", "wrong"),
        # approximate with one or two significant digits: half a step or 5 %
        ("13B", MIXTRAL_ACTIVE, "≈", "ok"),
        ("~13B", 12_350_000_000, "=", "ok"),
        ("~13B", 12_340_000_000, "=", "wrong"),
        ("~12B", MIXTRAL_ACTIVE, "=", "wrong"),
        ("about 7B", LLAMA_7B, "=", "ok"),
        ("약 70억", LLAMA_7B, "=", "ok"),
        ("6.9B", LLAMA_7B, "≈", "wrong"),  # written with a decimal: one whole step, not 5 %
        ("~6.7B", LLAMA_7B, "=", "ok"),
        # approximate with three or more significant digits: one whole step
        ("6.55B", 6_573_522_944, "≈", "wrong"),
        ("6.57B", 6_573_522_944, "≈", "ok"),
        ("6.58B", 6_573_522_944, "≈", "ok"),
        ("6.56B", 6_573_522_944, "≈", "wrong"),
        # bounds are exact comparisons
        ("7B", LLAMA_7B, "<", "ok"),
        ("6.7B", LLAMA_7B, "<", "wrong"),
        ("6.7B", LLAMA_7B, ">", "ok"),
        ("6,738,415,616", LLAMA_7B, "≥", "ok"),
        ("6,738,415,616", LLAMA_7B, "≤", "ok"),
        # bytes
        ("1 GiB", 2**30, "=", "ok"),
        ("1 GiB", 2**30 + 2**29, "=", "ok"),  # one significant digit: 0.5-1.5 GiB rounds to 1 GiB
        ("1 GiB", 2**30 + 2**29 + 1, "=", "wrong"),
        ("1.00 GiB", 2**30 + 2**24, "=", "wrong"),
        ("14GB", 14 * 10**9, "=", "ok"),
        ("13.5 GB", 13_476_831_232, "≈", "ok"),
    ],
)
def test_tolerance_follows_the_stated_precision(stated: str, computed: int, op: Op, verdict: str) -> None:
    """As prose is judged: a truncated figure is ok (``truncation``)."""
    assert judge(parse_quantity(stated), computed, op, truncation=True).verdict == verdict


def test_size_label_in_the_name_reads_as_about() -> None:
    stated = parse_quantity("405B")
    assert judge(stated, 404_200_000_000).verdict == "wrong"
    judged = judge(stated, 404_200_000_000, size_label=True)
    assert judged.verdict == "ok"
    assert judged.message == "405B is the size in the model's name; read as 'about 405B'"


def test_tolerance_values() -> None:
    assert tolerance(parse_quantity("6.7B")) == 50_000_000
    assert tolerance(parse_quantity("~13B")) == 650_000_000
    assert tolerance(parse_quantity("6.55B"), "≈") == 10_000_000
    assert tolerance(parse_quantity("1 GiB")) == 2**29


def test_gb_that_is_really_gib_is_wrong_with_a_message() -> None:
    judged = judge(parse_quantity("12.55 GB"), 13_476_831_232, "≈")
    assert judged.verdict == "wrong"
    assert judged.message == "stated GB but the value is in GiB: 12.55 GiB = 13.48 GB"
    assert judged.computed == "13.48 GB"
    assert judged.computed_full == "13,476,831,232 bytes = 13.48 GB = 12.55 GiB"


def test_gib_that_is_really_gb_is_wrong_with_a_message() -> None:
    judged = judge(parse_quantity("13.48 GiB"), 13_476_831_232)
    assert judged.verdict == "wrong"
    assert judged.message == "stated GiB but the value is in GB: 13.48 GB = 12.55 GiB"


def test_computed_is_shown_at_the_authors_precision_and_in_full() -> None:
    judged = judge(parse_quantity("6.55B"), 6_573_522_944, "≈")
    assert (judged.computed, judged.computed_full) == ("6.57B", "6,573,522,944")
    assert judged.message == "computed 6.57B is not ≈ stated 6.55B"
    korean = judge(parse_quantity("약 650억 개"), 65_285_660_672)
    assert (korean.verdict, korean.computed) == ("ok", "650억")


def test_a_truncated_figure_is_ok_and_named() -> None:
    """Found in review: figures copied from model cards and papers (Meta's 1.23B for Llama 3.2 1B, the
    LLaMA paper's 65.2B, Qwen's 3.3B activated) were judged wrong because they are cut off, not rounded."""
    judged = judge(parse_quantity("65.2B"), 65_285_660_672, truncation=True)
    assert judged.verdict == "ok"
    assert judged.message == "65.2B is 65.29B truncated, not rounded"
    assert judge(parse_quantity("1.23B"), 1_235_814_400, truncation=True).message == (
        "1.23B is 1.236B truncated, not rounded"
    )
    # An explicit claim's "=" and an "exactly" in prose are held to rounding (found in review).
    assert judge(parse_quantity("65.2B"), 65_285_660_672).verdict == "wrong"


def test_fractions_are_exact() -> None:
    assert judge(parse_quantity("0.5 bytes"), Fraction(1, 2)).verdict == "ok"


def test_a_wrong_verdicts_computed_value_keeps_enough_digits() -> None:
    """Found in review: rounded to the stated precision, computed values misled ("computed 1 GiB" for
    512 MiB beside a stated 4 GiB, "0B" for T5's 0.22B)."""
    assert judge(parse_quantity("4 GiB"), 2**29).computed == "0.5 GiB"
    assert judge(parse_quantity("11B"), 222_903_552).computed == "0.22B"
    assert judge(parse_quantity("6.8B"), 6_738_415_616).computed == "6.7B"  # close enough: as written


def test_korean_values_are_written_in_korean_units() -> None:
    """Found in review: "67억 4000만" showed its computed value as "674000만"."""
    assert judge(parse_quantity("67억 4000만"), 6_738_415_616).computed == "67억 4000만"
    assert judge(parse_quantity("1억 1천만"), 110_000_000).computed == "1억 1000만"
    assert judge(parse_quantity("1조 5천억"), 1_500_000_000_000).computed == "1조 5000억"
    assert judge(parse_quantity("650억"), 65_285_660_672).computed == "650억"
