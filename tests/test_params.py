from __future__ import annotations

from typing import Any

import pytest

from vault_tools.core.formulas import SYMBOLS
from vault_tools.core.params import count_params
from vault_tools.core.presets import presets, spec_from_mapping


def count(raw: dict[str, Any]) -> int:
    return count_params(spec_from_mapping(raw)).total


# Exact counts published for real checkpoints (model cards, HF safetensors metadata, MLPerf, papers'
# reference implementations), independent of this counter.
PUBLISHED = [
    ({"preset": "llama-7b"}, 6_738_415_616),
    ({"preset": "llama-2-7b"}, 6_738_415_616),
    ({"preset": "llama-2-70b"}, 68_976_648_192),
    ({"preset": "llama-3-8b"}, 8_030_261_248),
    ({"preset": "mistral-7b"}, 7_241_732_096),
    ({"preset": "mixtral-8x7b"}, 46_702_792_704),
    ({"preset": "gpt2"}, 124_439_808),
    ({"preset": "gpt2-medium"}, 354_823_168),
    ({"preset": "gpt2-xl"}, 1_557_611_200),
    ({"preset": "bert-base", "architectures": ["BertModel"]}, 109_482_240),
    ({"preset": "bert-large", "architectures": ["BertForMaskedLM"]}, 335_174_458),  # MLPerf BERT-large
    ({"preset": "roberta-base", "architectures": ["RobertaModel"]}, 124_645_632),
    ({"preset": "t5-base"}, 222_903_552),
    ({"preset": "opt-350m"}, 331_196_416),
    ({"preset": "qwen1.5-moe-a2.7b"}, 14_315_784_192),
    ({"preset": "deepseek-v2-lite"}, 15_706_484_224),
]


@pytest.mark.parametrize(("raw", "expected"), PUBLISHED, ids=[str(raw) for raw, _ in PUBLISHED])
def test_published_counts(raw: dict[str, Any], expected: int) -> None:
    assert count(raw) == expected


@pytest.mark.parametrize("key", list(presets()))
def test_breakdown_sums_to_total(key: str) -> None:
    result = count_params(spec_from_mapping({"preset": key}))
    assert sum(result.breakdown.values()) == result.total
    assert all(value > 0 for value in result.breakdown.values())


@pytest.mark.parametrize("key", list(presets()))
def test_dense_models_use_every_parameter(key: str) -> None:
    result = count_params(spec_from_mapping({"preset": key}))
    if result.spec.moe is None:
        assert result.active == result.total
    else:
        assert result.active < result.total


def test_mixtral_active_is_total_minus_six_of_eight_experts() -> None:
    result = count_params(spec_from_mapping({"preset": "mixtral-8x7b"}))
    expert = 3 * 4096 * 14336  # gate, up and down projections of one SwiGLU expert
    assert result.breakdown["moe_experts"] == 32 * 8 * expert == 45_097_156_608
    assert result.active == result.total - 32 * (8 - 2) * expert == 12_879_925_248


def test_deepseek_v3_active_counts_8_of_256_experts_in_58_layers() -> None:
    result = count_params(spec_from_mapping({"preset": "deepseek-v3"}))
    expert = 3 * 7168 * 2048
    moe_layers = 61 - 3  # first_k_dense_replace: 3
    assert result.breakdown["moe_experts"] == moe_layers * 256 * expert
    # Shared experts and routers are always on; only the unrouted experts drop out.
    assert result.active == result.total - moe_layers * (256 - 8) * expert == 37_552_282_624
    assert result.total == 671_026_404_352


def test_deepseek_moe_layer_freq_routes_every_other_layer() -> None:
    small = {
        "model_type": "deepseek_v3",
        "architectures": ["DeepseekV3ForCausalLM"],
        "hidden_size": 64,
        "intermediate_size": 128,
        "moe_intermediate_size": 32,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "num_hidden_layers": 6,
        "first_k_dense_replace": 1,
        "n_routed_experts": 4,
        "n_shared_experts": 1,
        "num_experts_per_tok": 2,
        "q_lora_rank": None,
        "kv_lora_rank": 16,
        "qk_nope_head_dim": 8,
        "qk_rope_head_dim": 4,
        "v_head_dim": 8,
        "vocab_size": 100,
    }
    every = count_params(spec_from_mapping(small))
    halved = count_params(spec_from_mapping({**small, "moe_layer_freq": 2}))
    # Layers 1..5 route with freq 1; with freq 2 only layers 2 and 4, the other three get a dense MLP.
    dense_mlp = 3 * 64 * 128
    moe_mlp = 4 * 64 + 3 * 64 * 32 + 4 * 3 * 64 * 32  # router, shared expert, 4 experts
    assert every.total - halved.total == 3 * (moe_mlp - dense_mlp)


# --- the seed article's notation ---------------------------------------------------------------------


def seed_exact(layers: int, hidden: int, vocab: int) -> int:
    return layers * (12 * hidden**2 + 4 * hidden) + vocab * hidden + 2 * hidden


def test_seed_notation_is_the_seed_formula_exactly() -> None:
    assert count({"L": 32, "h": 4096, "V": 32000}) == seed_exact(32, 4096, 32000)


def test_seed_notation_with_learned_positions() -> None:
    assert count({"L": 12, "h": 768, "V": 50257, "N": 1024}) == seed_exact(12, 768, 50257) + 1024 * 768


def test_seed_notation_untied_adds_the_output_layer() -> None:
    assert count({"L": 2, "h": 64, "V": 100, "tied": False}) == seed_exact(2, 64, 100) + 100 * 64


def test_seed_notation_with_biases() -> None:
    # q, k, v, o: 4h; MLP h → 4h → h: 4h + h.
    assert count({"L": 2, "h": 64, "V": 100, "bias": True}) == seed_exact(2, 64, 100) + 2 * 9 * 64


def test_seed_notation_reproduces_gpt2_with_its_real_parts() -> None:
    gpt2_like = {"L": 12, "h": 768, "V": 50257, "N": 1024, "bias": True}
    assert count(gpt2_like) == 124_439_808


def test_seed_full_formula_is_exact_for_the_seed_block() -> None:
    result = count_params(spec_from_mapping({"L": 4, "h": 256, "V": 1000}))
    tied = next(a for a in result.approximations if a.formula == "L·(12h² + 4h) + V·h + 2h")
    assert tied.error == 0


def test_approximations_for_llama_7b() -> None:
    result = count_params(spec_from_mapping({"preset": "llama-7b"}))
    short, tied, untied = result.approximations
    assert short.value == 12 * 32 * 4096**2 + 32000 * 4096 == 6_573_522_944
    assert short.error == 6_573_522_944 - 6_738_415_616
    assert round(short.relative_error, 4) == -0.0245
    assert tied.value == 32 * (12 * 4096**2 + 4 * 4096) + 32000 * 4096 + 2 * 4096
    assert untied.value == tied.value + 32000 * 4096
    assert untied.error == untied.value - 6_738_415_616


def test_approximations_count_both_t5_stacks() -> None:
    result = count_params(spec_from_mapping({"preset": "t5-base"}))
    assert result.approximations[0].value == 12 * 24 * 768**2 + 32128 * 768


# --- formulas --------------------------------------------------------------------------------------------


def evaluate(formula: str, symbols: dict[str, int]) -> int:
    value = eval(formula.replace("·", "*").replace("²", "**2"), {"__builtins__": {}}, dict(symbols))
    assert isinstance(value, int)
    return value


FORMULA_SPECS = [
    *({"preset": key} for key in presets()),
    {"preset": "bert-base", "architectures": ["BertForPreTraining"]},
    {"preset": "roberta-base", "architectures": ["RobertaForSequenceClassification"], "num_labels": 3},
    {"preset": "t5-base", "architectures": ["T5ForTokenClassification"], "num_labels": 5},
    {"preset": "qwen1.5-moe-a2.7b", "mlp_only_layers": [0, 1]},
    {"preset": "opt-350m", "architectures": ["OPTForQuestionAnswering"]},
    {"preset": "llama-7b", "attention_bias": True, "mlp_bias": True},
    {"L": 2, "h": 64, "V": 100, "N": 16, "bias": True, "tied": False},
]


@pytest.mark.parametrize("raw", FORMULA_SPECS, ids=[str(raw) for raw in FORMULA_SPECS])
def test_every_formula_evaluates_to_its_count(raw: dict[str, Any]) -> None:
    result = count_params(spec_from_mapping(raw))
    symbols = result.symbols
    assert set(symbols) <= set(SYMBOLS)
    for component, formula in result.formulas.items():
        assert evaluate(formula, symbols) == result.breakdown[component], component


def test_formulas_read_like_the_seed() -> None:
    formulas = count_params(spec_from_mapping({"preset": "llama-7b"})).formulas
    assert formulas == {
        "embedding": "V·h",
        "attention": "4·L·h²",
        "mlp": "L·(2·h·f + f·h)",
        "norms": "2·L·h + h",
        "lm_head": "V·h",
    }


def test_grouped_query_attention_formula() -> None:
    result = count_params(spec_from_mapping({"preset": "llama-3-8b"}))
    assert result.formulas["attention"] == "L·(2·h² + 2·h·n_kv·d)"
    assert result.symbols == {"L": 32, "h": 4096, "V": 128256, "n_kv": 8, "d": 128, "f": 14336}


def test_mla_and_moe_formulas() -> None:
    formulas = count_params(spec_from_mapping({"preset": "deepseek-v3"})).formulas
    assert formulas["attention"] == (
        "L·(h·r_q + r_q + r_q·n_h·(d_nope + d_rope) + h·(r_kv + d_rope) + r_kv + r_kv·n_h·(d_nope + d_v) "
        "+ n_h·d_v·h)"
    )
    assert formulas["mlp"] == "L_dense·(2·h·f + f·h)"
    assert formulas["moe_router"] == "L_moe·h·E"
    assert formulas["moe_experts"] == "L_moe·E·(2·h·f_e + f_e·h)"


def test_t5_formulas_name_both_stacks() -> None:
    formulas = count_params(spec_from_mapping({"preset": "t5-base"})).formulas
    assert formulas["attention"] == "4·L_enc·h² + 4·L_dec·h²"
    assert formulas["cross_attention"] == "4·L_dec·h²"
    assert formulas["relative_position_bias"] == "2·B·n_h"


def test_layer_norm_with_bias_and_offset_positions() -> None:
    formulas = count_params(spec_from_mapping({"preset": "opt-1.3b"})).formulas
    assert formulas["position_embedding"] == "(N + 2)·h"
    assert formulas["norms"] == "4·L·h + 2·h"


def test_linear_parts_keep_torch_shapes() -> None:
    # Adapters (LoRA) are sized from (out_features, in_features).
    parts = {p.name: p for p in count_params(spec_from_mapping({"preset": "llama-3-8b"})).parts}
    assert parts["k_proj"].shape == (1024, 4096)
    assert parts["down_proj"].shape == (4096, 14336)
    assert parts["k_proj"].linear
    assert not parts["layer_norms"].linear
    assert parts["layer_norms"].copies == 64
