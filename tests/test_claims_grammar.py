"""The explicit claim grammar: the issue's lines parse exactly as written; errors name a column."""

from __future__ import annotations

import pytest

from vault_tools.claims.grammar import QUANTITIES, parse_claim


@pytest.mark.parametrize(
    ("line", "quantity", "model", "positional", "options", "op", "stated"),
    [
        ("params(LLaMA-7B) ≈ 6.7B", "params", "LLaMA-7B", (), (), "≈", "6.7B"),
        ("active_params(Mixtral-8x7B) ≈ 13B", "active_params", "Mixtral-8x7B", (), (), "≈", "13B"),
        ("weights(LLaMA-7B, fp16) ≈ 13.5 GB", "weights", "LLaMA-7B", ("fp16",), (), "≈", "13.5 GB"),
        (
            "kv_cache(Llama-3-8B, seq=8192, bf16) = 1 GiB",
            "kv_cache",
            "Llama-3-8B",
            ("bf16",),
            (("seq", "8192"),),
            "=",
            "1 GiB",
        ),
        (
            "training(LLaMA-7B, adamw, zero=3, gpus=8) ≈ 14 GB",
            "training",
            "LLaMA-7B",
            ("adamw",),
            (("zero", "3"), ("gpus", "8")),
            "≈",
            "14 GB",
        ),
        ("flops_per_token(LLaMA-7B) ~ 13.8B", "flops_per_token", "LLaMA-7B", (), (), "≈", "13.8B"),
        (
            "training_flops(LLaMA-7B, tokens=1T) ≈ 4.0e22",
            "training_flops",
            "LLaMA-7B",
            (),
            (("tokens", "1T"),),
            "≈",
            "4.0e22",
        ),
        ("params([[LLaMA-7B|the 7B]]) == 6.74B", "params", "LLaMA-7B", (), (), "=", "6.74B"),
        ('params("Llama 3.1 405B") >= 400B', "params", "Llama 3.1 405B", (), (), "≥", "400B"),
        ("weights(LLaMA-7B, q4_k_m) ≤ 4.1 GB", "weights", "LLaMA-7B", ("q4_k_m",), (), "≤", "4.1 GB"),
        ("total_params(LLaMA-7B) < 7B  # a comment", "params", "LLaMA-7B", (), (), "<", "7B"),
        ("- params(LLaMA-7B) > 6B", "params", "LLaMA-7B", (), (), ">", "6B"),
        ("params(LLaMA-7B) ~= 67억", "params", "LLaMA-7B", (), (), "≈", "67억"),
    ],
)
def test_parse_claim(
    line: str,
    quantity: str,
    model: str,
    positional: tuple[str, ...],
    options: tuple[tuple[str, str], ...],
    op: str,
    stated: str,
) -> None:
    claim = parse_claim(line)
    assert (claim.quantity, claim.model, claim.positional, claim.options, claim.op) == (
        quantity,
        model,
        positional,
        options,
        op,
    )
    assert claim.stated.text == stated
    assert claim.link == line.startswith("params([[")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "column 1: expected a quantity"),
        ("parms(LLaMA-7B) ≈ 6.7B", "column 1: unknown quantity 'parms'; expected one of params"),
        ("params LLaMA-7B ≈ 6.7B", "column 8: expected '\\(' after 'params'"),
        ("params(LLaMA-7B ≈ 6.7B", "column 23: expected '\\)' to close the argument list"),
        ("params() ≈ 6.7B", "column 8: expected a value before '\\)'"),
        ("params(LLaMA-7B) 6.7B", "column 18: expected a comparison"),
        ("params(LLaMA-7B) ≈", "column 19: expected a value"),
        ("params(LLaMA-7B) ≈ lots", "column 20: expected a quantity such as 6.7B"),
        ("params(LLaMA-7B) ≈ 13 GB", "params is compared with a count"),
        ("weights(LLaMA-7B, fp16) ≈ 13B", "weights is compared with a byte size"),
        ("params([[LLaMA-7B) ≈ 6.7B", "column 8: '\\[\\[' is never closed"),
        ("params(LLaMA-7B, , x) ≈ 6.7B", "column 18: expected a value before ','"),
    ],
)
def test_parse_errors_name_the_column_and_what_is_expected(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_claim(line)


def test_every_quantity_is_documented() -> None:
    from pathlib import Path

    import vault_tools.claims.grammar as grammar

    # The grammar is documented once, in the README's "Claims" section.
    doc = (Path(grammar.__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for name in QUANTITIES:
        assert f"`{name}(" in doc
        assert name in (grammar.__doc__ or "")
