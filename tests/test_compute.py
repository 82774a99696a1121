"""FLOPs, training compute, Chinchilla tokens and training time against published figures."""

from __future__ import annotations

import pytest

from vault_tools.core.compute import (
    attention_flops,
    chinchilla_tokens,
    compute_optimal,
    compute_report,
    flops_per_token,
    forward_flops,
    matmul_params,
    training_flops,
    training_seconds,
)
from vault_tools.core.params import count_params
from vault_tools.core.presets import spec_from_mapping
from vault_tools.core.spec import build_spec
from vault_tools.core.units import get_gpu

LLAMA_7B = count_params(spec_from_mapping({"preset": "llama-7b"}))
# Published config.json values.
GPT3 = count_params(
    build_spec(
        {
            "model_type": "gpt2",
            "n_embd": 12288,
            "n_layer": 96,
            "n_head": 96,
            "vocab_size": 50257,
            "n_positions": 2048,
        }
    )
)
LLAMA_65B = count_params(
    build_spec(
        {
            "model_type": "llama",
            "hidden_size": 8192,
            "intermediate_size": 22016,
            "num_hidden_layers": 80,
            "num_attention_heads": 64,
            "vocab_size": 32000,
        }
    )
)
MIXTRAL = count_params(
    build_spec(
        {
            "model_type": "mixtral",
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 32000,
            "num_local_experts": 8,
            "num_experts_per_tok": 2,
        }
    )
)


def test_forward_flops_are_two_per_multiplied_weight_plus_attention() -> None:
    terms = forward_flops(LLAMA_7B, seq_len=2048)
    # every linear matrix once per token (the embedding lookup multiplies nothing)
    assert terms[0].flops == 2 * (6_738_415_616 - 32000 * 4096 - (2 * 32 + 1) * 4096)
    # causal: token i attends to i keys; QKᵀ and P·V each 2·n_h·d FLOPs per key and layer
    assert terms[1].flops == 32 * 2 * 32 * (128 + 128) * (2048 * 2049 // 2) // 2048
    assert flops_per_token(LLAMA_7B, seq_len=2048) == terms[0].flops + terms[1].flops == 13_751_287_808


def test_attention_flops_follow_chinchilla_appendix_f() -> None:
    """Hoffmann et al. 2022, App. F: logits 2·s·d_attn and the weighted sum 2·s·d_attn per layer and token.

    That is twice Kaplan et al.'s 2·n_layer·n_ctx·d_attn, which counts the logits only.
    """
    s, layers, d_attn = 2048, 32, 4096
    per_token = attention_flops(LLAMA_7B.spec, s, causal=False) // s
    assert per_token == layers * (2 * s * d_attn + 2 * s * d_attn)
    assert per_token == 2 * (2 * layers * s * d_attn)


def test_sliding_window_attention_is_capped() -> None:
    mistral = spec_from_mapping({"preset": "mistral-7b"})  # v0.1: sliding_window 4096
    s, w = 32768, 4096
    attended = w * (w + 1) // 2 + (s - w) * w
    assert attention_flops(mistral, s) == 32 * 2 * 32 * 256 * attended


def test_tied_head_still_multiplies() -> None:
    gpt2 = count_params(
        build_spec(
            {
                "model_type": "gpt2",
                "n_embd": 768,
                "n_layer": 12,
                "n_head": 12,
                "vocab_size": 50257,
                "n_positions": 1024,
            }
        )
    )
    linear = sum(p.count for p in gpt2.parts if p.linear)
    assert matmul_params(gpt2) == linear + 50257 * 768


def test_gpt3_training_compute() -> None:
    """Brown et al. 2020, Table D.1: GPT-3 175B trained on 300B tokens took 3.14e23 FLOPs (6·N·D)."""
    assert round(GPT3.active / 1e9) == 175
    assert f"{training_flops(GPT3, 300 * 10**9):.2e}" == "3.14e+23"


def test_chinchilla_tokens_are_twenty_per_parameter() -> None:
    """Hoffmann et al. 2022: Chinchilla, 70B parameters on 1.4T tokens."""
    assert chinchilla_tokens(LLAMA_7B) == 20 * 6_738_415_616
    n, d = compute_optimal(6 * 70e9 * 1.4e12)
    assert (round(n / 1e9), round(d / 1e12, 1)) == (70, 1.4)


def test_compute_optimal_size_for_gophers_budget() -> None:
    # Gopher's 5.76e23 FLOPs: Chinchilla's approach 3 puts the optimum near 70B parameters and 1.4T tokens.
    n, d = compute_optimal(5.76e23)
    assert abs(n / 70e9 - 1) < 0.02 and abs(d / 1.4e12 - 1) < 0.02
    assert 6 * n * d == pytest.approx(5.76e23, rel=1e-9)


def test_moe_compute_uses_active_parameters() -> None:
    """Mixtral 8x7B: 46.7B parameters, 12.9B active per token (Mistral AI)."""
    assert (round(MIXTRAL.total / 1e9, 1), round(MIXTRAL.active / 1e9, 1)) == (46.7, 12.9)
    assert training_flops(MIXTRAL, 10**12) == 6 * MIXTRAL.active * 10**12
    assert chinchilla_tokens(MIXTRAL) == 20 * MIXTRAL.active


def test_llama_65b_training_time() -> None:
    """Touvron et al. 2023: 380 tokens/s/GPU on 2048 A100-80GB, so 1.4T tokens take about 21 days."""
    a100 = get_gpu("a100-80gb")
    mfu = 6 * LLAMA_65B.active * 380 / a100.bf16_flops  # the utilisation that throughput implies
    days = training_seconds(training_flops(LLAMA_65B, 1_400 * 10**9), gpu=a100, gpus=2048, mfu=mfu) / 86400
    assert round(days) == 21


def test_compute_report_defaults_to_chinchilla_tokens() -> None:
    report = compute_report(LLAMA_7B)
    assert report.tokens == report.chinchilla_tokens and not report.tokens_given
    assert report.training_flops == 6 * 6_738_415_616 * report.tokens
    assert report.training_flops_exact == 3 * report.flops_per_token * report.tokens
    assert compute_report(LLAMA_7B, tokens=10**12).tokens_given


def test_compute_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="a compute budget must be positive, got 0"):
        compute_optimal(0)


def test_lora_training_flops_take_weight_gradients_for_the_adapters_only() -> None:
    adapters = 4_194_304  # LLaMA-7B, r = 8 on q_proj and v_proj
    assert training_flops(LLAMA_7B, 10**9, adapters=adapters) == (4 * LLAMA_7B.active + 6 * adapters) * 10**9
    full, lora = (
        compute_report(LLAMA_7B, tokens=10**9),
        compute_report(LLAMA_7B, tokens=10**9, adapters=adapters),
    )
    assert (full.rule, lora.rule) == ("6·N·D", "(4·N + 6·N_lora)·D")
    attention = lora.forward[1].flops
    assert lora.training_flops_exact == (2 * lora.flops_per_token + attention + 6 * adapters) * 10**9
    assert lora.seconds < full.seconds


def test_lora_flops_count_the_adapters_a_token_multiplies() -> None:
    """Mixtral 8x7B routes each token to 2 of 8 experts: only those experts' adapters multiply it."""
    from vault_tools.core.lora import lora_modules
    from vault_tools.core.report import memory_report

    modules = lora_modules(MIXTRAL, ("all-linear",))
    every = sum(m.lora_params(16) for m in modules)
    active = sum(m.active_lora_params(16) for m in modules)
    experts = [m for m in modules if m.parts[0].active_copies is not None]
    assert experts and all(m.active_lora_params(16) * 4 == m.lora_params(16) for m in experts)  # 2 of 8
    assert active < every
    report = memory_report(
        MIXTRAL.spec, MIXTRAL, {"training": {"lora_rank": 16, "lora_targets": "all-linear", "tokens": 10**9}}
    )
    assert report.compute.adapters == active
    assert report.compute.training_flops == (4 * MIXTRAL.active + 6 * active) * 10**9
    assert report.compute.optimal_params is None  # no compute-optimal size for a fine-tuning budget
