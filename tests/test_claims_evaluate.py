"""evaluate_claims: explicit, implicit and arithmetic claims of a note, judged against the core."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.claims.evaluate import ClaimResult, evaluate_claims
from vault_tools.claims.scan import split_lines
from vault_tools.pipeline.model import NoteContext


def note(text: str, links: Mapping[str, Mapping[str, Any]] | None = None, title: str = "Note") -> NoteContext:
    """A NoteContext as the pipeline builds it: frontmatter parsed, body start after the closing ``---``."""
    lines = split_lines(text)
    frontmatter: dict[str, Any] = {}
    body_start = 1
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        frontmatter = yaml.safe_load("\n".join(lines[1:end])) or {}
        body_start = end + 2
    links = links or {}
    return NoteContext(
        path="note.md",
        title=str(frontmatter.get("title", title)),
        frontmatter=frontmatter,
        body_start_line=body_start,
        text=text,
        resolve_model=links.get,
    )


def rows(results: list[ClaimResult]) -> list[tuple[int, str, str, str | None, str]]:
    return [(r.line, r.kind, r.stated, r.computed, r.verdict) for r in results]


def test_explicit_parameter_claims() -> None:
    text = (
        "# LLaMA\n\n```claims\nparams(LLaMA-7B) ≈ 6.7B\nactive_params(Mixtral-8x7B) ≈ 13B\n"
        "params(llama 7b) = 7.0B\n```\n"
    )
    results = evaluate_claims(note(text))
    assert rows(results) == [
        (4, "explicit", "6.7B", "6.7B", "ok"),
        (5, "explicit", "13B", "13B", "ok"),
        (6, "explicit", "7.0B", "6.7B", "wrong"),
    ]
    assert results[0].computed_full == "6,738,415,616"
    assert results[2].message == "computed 6.7B ≠ stated 7.0B"


def test_frontmatter_claims_carry_their_own_line() -> None:
    text = (
        "---\ntitle: X\nclaims:\n  - params(LLaMA-7B) ≈ 6.7B\n  - params(LLaMA-7B) ≈ 6.9B\n"
        "confidence_score: 0.95\n---\nbody\n"
    )
    assert rows(evaluate_claims(note(text))) == [
        (4, "explicit", "6.7B", "6.7B", "ok"),
        (5, "explicit", "6.9B", "6.7B", "wrong"),
    ]


def test_models_from_wikilinks_quotes_and_the_vault() -> None:
    links: dict[str, Mapping[str, Any]] = {
        "My Tiny": {"L": 2, "h": 128, "V": 32000},
        "LLaMA note": {"preset": "llama-7b"},
    }
    text = (
        "```claims\nparams([[My Tiny]]) = 4.49M\nparams([[LLaMA note|the note]]) ≈ 6.7B\n"
        'params("LLaMA 7B") ≈ 6.7B\nparams(My Tiny) = 4.49M\n'
        "params([[Nowhere]]) = 1B\nparams(GPT-9) = 1T\n```\n"
    )
    results = evaluate_claims(note(text, links))
    assert [r.verdict for r in results] == ["ok", "ok", "ok", "ok", "unverified", "unverified"]
    assert results[4].message.startswith("[[Nowhere]] holds no model-spec")
    assert results[5].message.startswith("unknown model 'GPT-9'")


def test_unparsable_claim_is_unverified_with_the_column() -> None:
    [result] = evaluate_claims(note("```claims\nparams(LLaMA-7B ≈ 6.7B\n```\n"))
    assert (result.verdict, result.stated, result.computed) == ("unverified", "", None)
    assert result.message == "cannot parse: column 23: expected ')' to close the argument list"


def test_own_title_counts_when_the_note_holds_a_spec() -> None:
    text = (
        "---\ntitle: Tiny Net\naliases: [tiny]\n---\n```model-spec\nL: 2\nh: 128\nV: 32000\n```\n"
        "Tiny Net has 4.5M parameters; tiny: 4.49M.\n"
    )
    assert rows(evaluate_claims(note(text))) == [
        (10, "implicit", "4.5M", "4.5M", "ok"),
        (10, "implicit", "4.49M", "4.49M", "ok"),
    ]
    without_spec = "---\ntitle: Tiny Net\n---\nTiny Net has 4.5M parameters.\n"
    assert evaluate_claims(note(without_spec)) == []


def test_rumour_about_a_known_model_is_unverified_but_shows_the_value() -> None:
    [result] = evaluate_claims(note("GPT-3 reportedly has 200B parameters.\n"))
    assert (result.verdict, result.computed_full, result.message) == (
        "unverified",
        "174,604,259,328",
        "stated as a rumour; not checked",
    )


def test_arithmetic_and_gib_mixup() -> None:
    results = evaluate_claims(note("6.74B × 2 bytes = 12.55 GB, and 7B × 2 bytes = 14 GB.\n"))
    assert rows(results) == [
        (1, "arithmetic", "12.55 GB", "13.48 GB", "wrong"),
        (1, "arithmetic", "14 GB", "14 GB", "ok"),
    ]
    assert results[0].message == "stated GB but the value is in GiB: 12.55 GiB = 13.48 GB"


def verdicts(text: str) -> list[tuple[int, str, str]]:
    """Each claim of a note as (line, stated, verdict)."""
    return [(r.line, r.stated, r.verdict) for r in evaluate_claims(note(text))]


def test_a_list_items_dash_is_no_minus_sign() -> None:
    """Found in review: "- 7B × 2 bytes = 14 GB", the commonest way a vault writes it, was read as -14 GB
    and judged wrong (the note's status then 'failed').  A dash inside the expression still subtracts."""
    text = (
        "- 7B × 2 bytes = 14 GB\n  - (7B × 2 bytes) = 14 GB\n> - 10 - 3 = 7\n- -7 + 10 = 3\nx = - 5 + 8 = 3\n"
    )
    assert [(r.line, r.text, r.verdict) for r in evaluate_claims(note(text))] == [
        (1, "7B × 2 bytes = 14 GB", "ok"),
        (2, "(7B × 2 bytes) = 14 GB", "ok"),
        (3, "10 - 3 = 7", "ok"),
        (4, "-7 + 10 = 3", "ok"),
        (5, "- 5 + 8 = 3", "ok"),  # not a list marker: a sign
    ]


def test_a_dash_that_separates_a_label_is_no_minus_sign() -> None:
    """Found in review: "fp16 - 7B × 2 bytes = 14 GB" read as 2 bytes − 14 GB and judged wrong.  A negative
    reading of a result stated positive gives way to the expression after the dash; with none after it
    the claim stays as written."""
    text = "fp16 - 7B × 2 bytes = 14 GB\nint8 - 7B × 1 byte = 8 GB\n2 - 5 = 3\n"
    assert [(r.line, r.text, r.computed, r.verdict) for r in evaluate_claims(note(text))] == [
        (1, "7B × 2 bytes = 14 GB", "14 GB", "ok"),
        (2, "7B × 1 byte = 8 GB", "7 GB", "wrong"),
        (3, "2 - 5 = 3", "-3", "wrong"),
    ]


def test_sizes_counted_in_bits_and_units_after_parentheses() -> None:
    """Found in review: quantisation sizes in bits and a sum of bytes per parameter were no claims."""
    text = (
        "- 7B × 4 bits = 3.5 GB\n- 7B × 4 bits / 8 = 3.5 GB\n- 7B params × 4-bit = 4 GB\n"
        "- 7B * (2 + 2 + 12) bytes = 112 GB\n- 7B × 4 bits = 28 GB\n"
    )
    assert verdicts(text) == [
        (1, "3.5 GB", "ok"),
        (2, "3.5 GB", "ok"),
        (3, "4 GB", "ok"),
        (4, "112 GB", "ok"),
        (5, "28 GB", "wrong"),
    ]


def test_byte_units_as_people_write_them() -> None:
    """Found in review: "14 gigabytes", "14 gb", "28 기가바이트" lost their unit and were judged wrong
    against a byte count."""
    text = (
        "7B × 2 bytes = 14 gigabytes\n7B × 2 bytes = 14 gb\n7B × 4 bytes = 28 기가바이트\n"
        "7B * 4바이트 = 28기가\n6.74B × 2 bytes = 12.55 gb\n7B × 2 bytes = 14 Gigabytes\n"
    )
    assert [(r.stated, r.verdict) for r in evaluate_claims(note(text))] == [
        ("14 gigabytes", "ok"),
        ("14 gb", "ok"),
        ("28 기가바이트", "ok"),
        ("28기가", "ok"),
        ("12.55 gb", "wrong"),  # GiB written as GB: the diagnosis holds for the lower-case unit too
        ("14 Gigabytes", "ok"),
    ]


def test_a_longer_model_name_is_not_judged_as_the_family_member_inside_it() -> None:
    """Found in review: "RoBERTa-large has 355M" was judged against roberta-base (125M), "T5-large" against
    t5-base, "DeepSeek-R1-Distill-Llama-8B" against DeepSeek-V3, "Mistral Nemo" against Mistral 7B.  Such
    a name is none the catalog knows; a chat or instruct variant is still its base model."""
    others = [
        "RoBERTa-large has 355M parameters.",
        "T5-large has 738M parameters.",
        "DeepSeek-R1-Distill-Llama-8B has 8B parameters.",
        "Mistral Large 2 has 123B parameters.",
        "Mistral Nemo has 12B parameters.",
        "bert-base-multilingual-cased has 178M parameters.",
    ]
    same = ["Llama-2-7B-chat has 6.7B parameters.", "RoBERTa has 125M parameters.", "BERT-base: 110M"]
    results = evaluate_claims(note("\n".join(f"- {line}" for line in [*others, *same]) + "\n"))
    assert [(r.line, r.verdict) for r in results if r.verdict != "unverified"] == [
        (7, "ok"),
        (8, "ok"),
        (9, "ok"),
    ]


def test_a_bare_family_name_means_any_of_its_sizes() -> None:
    """Found in review: "GPT-2 has 1.5B parameters" was judged wrong against GPT-2 small (124M), the
    checkpoint the Hub calls gpt2, and "BERT has 340M" against BERT base.  Prose uses the family name for
    any size: a count that fits one is ok, one that fits none is wrong where the family's sizes are all
    known, and unverified where a size may be missing from the presets (Falcon 180B)."""
    text = (
        "GPT-2 has 1.5B parameters.\n"
        "BERT has 340M parameters.\n"
        "Mixtral has 12.9B active parameters.\n"
        "GPT-2 has 117M parameters.\n"
        "Falcon has 180B parameters.\n"
        "GPT-2 has 124M parameters, as the rumour goes.\n"
    )
    results = evaluate_claims(note(text))
    assert [(r.line, r.stated, r.computed, r.verdict) for r in results] == [
        (1, "1.5B", "1.6B", "ok"),
        (2, "340M", "340M", "ok"),
        (3, "12.9B", "12.9B", "ok"),
        (4, "117M", "124M", "wrong"),
        (5, "180B", None, "unverified"),
        (6, "124M", "124M", "unverified"),
    ]
    assert results[0].message.startswith("as GPT-2 XL (1.5B); 1.5B is the size in the model's name")
    assert results[1].message == "as BERT large (uncased)"
    assert results[2].message == "active parameters per token; as Mixtral 8x7B"
    assert results[3].message == (
        "no GPT-2 size has it: GPT-2 small (124M): 124.44M, GPT-2 medium (355M): 354.82M, "
        "GPT-2 large (774M): 774.03M, GPT-2 XL (1.5B): 1.56B"
    )
    assert results[4].message == (
        "Falcon names several models; name its size (the presets know Falcon 7B: 6.92B, Falcon 40B: 41.30B)"
    )
    assert results[5].message == "stated as a rumour; not checked"


def test_family_names_are_catalog_names_of_their_members() -> None:
    """Each FAMILIES key is a normalised name the catalog resolves to one of the sizes it lists."""
    from vault_tools.claims.models import FAMILIES, preset_catalog
    from vault_tools.names import normalize_name

    catalog = preset_catalog()
    for name, (members, _complete) in FAMILIES.items():
        assert normalize_name(name) == name
        found = catalog.lookup(name)
        assert found is not None and found.key in members
        assert all(catalog.lookup(key) is not None for key in members)


def test_a_size_a_presets_name_carries_reads_as_about_that_size() -> None:
    """GPT-2 XL's names carry 1.5B (gpt2-1.5b): "GPT-2 XL has 1.5B" restates it, as "LLaMA-7B: 7B" does;
    the active count of Qwen3-30B-A3B is no size of its name's."""
    assert verdicts("GPT-2 XL has 1.5B parameters.\nGPT-2 XL has 1.4B parameters.\n") == [
        (1, "1.5B", "ok"),
        (2, "1.4B", "wrong"),
    ]
    from vault_tools.claims.models import name_sizes

    assert name_sizes(["Qwen3-30B-A3B", "Mixtral 8x7B", "gpt2-1.5b"]) == {
        ("30", 30 * 10**9),
        ("1.5", 15 * 10**8),
    }


def test_counts_of_parts_and_compute_are_no_parameter_claims() -> None:
    """Found in review: true statements judged wrong against the model's total."""
    text = (
        "GPT-3 training used 3.14e23 FLOPs.\n"
        "LLaMA-7B with LoRA r=8 adds 4.2M trainable parameters.\n"
        "Llama 3 8B's embedding matrix has 525M parameters.\n"
        "LLaMA-7B's MLP holds 4.3B parameters.\n"
        "LLaMA-7B has 6.7B parameters; its attention holds 2.1B.\n"
        "Mixtral 8x7B with 8 experts has 46.7B parameters.\n"
    )
    assert verdicts(text) == [(5, "6.7B", "ok"), (6, "46.7B", "ok")]


def test_total_and_active_each_take_their_own_word() -> None:
    """Found in review: in "46.7B total and 12.9B active" the first count took the second's "active" and
    was judged against the active count; "activates 12.9B" was judged against the total."""
    text = (
        "Mixtral 8x7B has 46.7B total and 12.9B active parameters.\n"
        "Mixtral 8x7B는 467억 개의 파라미터 중 129억 개만 활성화된다.\n"
        "Mixtral 8x7B activates 12.9B parameters.\n"
        "Mixtral 8x7B has 12.9B active and 46.7B total parameters.\n"
    )
    assert verdicts(text) == [
        (1, "46.7B", "ok"),
        (1, "12.9B", "ok"),
        (2, "467억 개", "ok"),
        (2, "129억 개", "ok"),
        (3, "12.9B", "ok"),
        (4, "12.9B", "ok"),
        (4, "46.7B", "ok"),
    ]


def test_explicit_claims_with_options_that_do_not_hold_say_so() -> None:
    """Found in review: kv_cache(…, seq=0) and training(…, zero=9) were unverified without a word from
    check, and params(…, foo=bar) was judged as if the option were not there."""
    text = (
        "```claims\nkv_cache(LLaMA-7B, seq=0) = 1 GB\ntraining(LLaMA-7B, zero=9) = 100 GB\n"
        "params(LLaMA-7B, foo=bar) ≈ 6.7B\nparams(LLaMA-7B) ≈ 6.7B\n```\n"
    )
    results = evaluate_claims(note(text))
    assert [(r.verdict, r.message.split(":", 1)[0]) for r in results] == [
        ("unverified", "cannot compute"),
        ("unverified", "cannot compute"),
        ("unverified", "cannot compute"),
        ("ok", ""),
    ]
    assert results[2].message == "cannot compute: params() takes no options; got 'foo'"
    from vault_tools.claims.processor import _problem

    assert [p.severity for p in map(_problem, results) if p is not None] == ["warning"] * 3


def test_counts_listed_after_models_listed_pair_in_order() -> None:
    """Found in review: "LLaMA-7B, LLaMA-13B and LLaMA-65B have 6.7B, 13B and 65B parameters" judged all
    three against LLaMA-65B (two wrong); sibling sizes ("LLaMA-7B, 13B, 33B and 65B have …") against
    LLaMA-7B (three wrong)."""
    text = (
        "LLaMA-7B, LLaMA-13B and LLaMA-65B have 6.7B, 13B and 65B parameters.\n"
        "LLaMA-7B, 13B, 33B and 65B have 6.7B, 13B, 32.5B and 65.2B parameters.\n"
        "LLaMA-7B and LLaMA-13B have 6.7B and 13.0B parameters respectively.\n"
        "LLaMA-7B and LLaMA-13B have 6.7B, 13.0B and 9B parameters.\n"
        "Mixtral 8x7B: 46.7B, 12.9B active.\n"
    )
    assert verdicts(text) == [
        (1, "6.7B", "ok"),
        (1, "13B", "ok"),
        (1, "65B", "ok"),
        (2, "6.7B", "ok"),  # the sizes after it name models the catalog is not asked about here
        (3, "6.7B", "ok"),
        (3, "13.0B", "ok"),
        (5, "46.7B", "ok"),  # one model, two measures: no list to pair
        (5, "12.9B", "ok"),
    ]


def test_crlf_note_keeps_line_numbers() -> None:
    text = "---\r\ntitle: X\r\n---\r\n\r\nLLaMA-7B: 6.7B\r\n"
    assert rows(evaluate_claims(note(text))) == [(5, "implicit", "6.7B", "6.7B", "ok")]


# --- claims on memory and compute: the memory core computes them ------------------------------------


def test_weights_kv_cache_and_training_claims() -> None:
    pytest.importorskip("vault_tools.core.memory")
    text = (
        "```claims\n"
        "weights(LLaMA-7B, fp16) ≈ 13.5 GB\n"
        "weights(LLaMA-7B, fp16) ≈ 12.55 GB\n"
        "weights(LLaMA-7B, fp16) ≈ 12.55 GiB\n"
        "kv_cache(Llama-3-8B, seq=8192, bf16) = 1 GiB\n"
        "kv_cache(Llama-3-8B, seq=8K, batch=4, bf16) = 4 GiB\n"
        "training(LLaMA-7B, adamw, zero=3, gpus=8, part=states) ≈ 13.5 GB\n"
        "training(LLaMA-7B, adamw, zero=3, gpus=8) ≈ 14 GB\n"
        "weights(LLaMA-7B, q4_k_m) < 5 GB\n"
        "weights(LLaMA-7B, no-such-format) = 1 GB\n"
        "```\n"
    )
    results = evaluate_claims(note(text))
    assert [r.verdict for r in results] == [
        "ok",
        "wrong",
        "ok",
        "ok",
        "ok",
        "ok",
        "wrong",
        "ok",
        "unverified",
    ]
    assert results[1].message == "stated GB but the value is in GiB: 12.55 GiB = 13.48 GB"
    assert results[3].computed_full == "1,073,741,824 bytes = 1.07 GB = 1.00 GiB"
    # The whole per-GPU figure adds activations and overhead to the model states; the message says so.
    assert "model states 13.48 GB" in results[6].message
    assert "part=states" in results[6].message


def test_flops_claims() -> None:
    pytest.importorskip("vault_tools.core.compute")
    text = "```claims\ntraining_flops(LLaMA-7B, tokens=1T) ≈ 4.0e22\nflops_per_token(LLaMA-7B) ≈ 14B\n```\n"
    results = evaluate_claims(note(text))
    assert [(r.verdict, r.computed) for r in results] == [("ok", "4.0e22"), ("ok", "14B")]
    assert results[0].computed_full == "40,430,493,696,000,000,000,000"


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ("weights(LLaMA-7B) ≈ 13.5 GB", "weights needs a dtype such as fp16"),
        ("kv_cache(LLaMA-7B, bf16) = 1 GiB", "kv_cache needs seq=N"),
        ("training(LLaMA-7B, adamw, part=everything) = 1 GB", "part must be one of"),
        ("training_flops(LLaMA-7B) = 1e22", "training_flops needs tokens=N"),
    ],
)
def test_missing_options_make_the_claim_unverified(claim: str, message: str) -> None:
    pytest.importorskip("vault_tools.core.memory")
    [result] = evaluate_claims(note(f"```claims\n{claim}\n```\n"))
    assert result.verdict == "unverified"
    assert message in result.message


# --- robustness: any note text gives results, never an exception ------------------------------------

_PIECES = [
    "LLaMA-7B", "Mixtral 8x7B", "GPT-3", "[[LLaMA-7B]]", "[[X|y]]", " ", ": ", "6.7B", "~13B", "약 ", "70억",
    " 개", "의 ", "파라미터", "=", "≈", "~", "×", "*", "²", "^", "(", ")", "|", "\n", "```python\n", "```\n",
    "```claims\n", "# ", "params(", "weights(", ", fp16", ") ≈ ", "13.5 GB", "GiB", "1조 5천억", "bytes",
    "fp32", "2 states", "n * 8", "over ", "이상", "rumored", "|---|---|\n", "- ", "**", "2018", "v2",
    "Q4_K_M", "9" * 30, "1e99", ".", ",", "$", "## Changelog\n", "> ", "\r\n", "seq=8K", "kv_cache(",
    "training(", "zero=3", "tokens=1T", "10^64^2", "1/0",
]  # fmt: skip


@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
@settings(max_examples=300, deadline=None)
def test_any_text_is_judged_without_an_exception(text: str) -> None:
    from vault_tools.claims.processor import ClaimsProcessor

    context = NoteContext(path="f.md", title="T", frontmatter={}, body_start_line=1, text=text)
    results = evaluate_claims(context)
    assert all(r.verdict in ("ok", "wrong", "unverified") for r in results)
    ClaimsProcessor().process(context)


def test_a_note_with_two_specs_does_not_say_which_its_title_means() -> None:
    text = (
        "---\ntitle: LLaMA-7B\n---\n```model-spec\nL: 32\nh: 4096\nV: 32000\n```\n"
        "```model-spec\npreset: llama-7b\n```\nLLaMA-7B has 6.7B parameters.\n"
    )
    # The title is then the preset's name, not the note's first (classic, 6.57B) spec.
    assert rows(evaluate_claims(note(text))) == [(12, "implicit", "6.7B", "6.7B", "ok")]


def test_remembered_segments_still_judge_each_note_on_its_own() -> None:
    """One line in many notes: verdicts on the note's own spec differ, pure ones keep each line."""
    line = "Tiny 2 has 1.2M parameters.\n"
    spec = (
        "```model-spec\nhidden_size: {h}\nintermediate_size: 512\nnum_hidden_layers: 2\n"
        "num_attention_heads: 4\nvocab_size: 1000\n```\n"
    )
    small = evaluate_claims(note(spec.format(h=64) + line, title="Tiny 2"))
    large = evaluate_claims(note(spec.format(h=256) + line, title="Tiny 2"))
    other = evaluate_claims(note(spec.format(h=64) + line, title="Tiny 3"))
    assert [r.kind for r in small] == [r.kind for r in large] == ["implicit"]
    assert small[0].computed != large[0].computed
    assert other == []  # not this note's name, and no preset of that name: no claim
    pure = "7B × 2 bytes = 14 GB\n"
    assert [r.line for r in evaluate_claims(note(pure + "x\n" + pure))] == [1, 3]
