"""The memory core against published figures and its own stated formulas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_tools.cli import main
from vault_tools.core.activations import activation_memory
from vault_tools.core.fit import fit_table
from vault_tools.core.memory import (
    InferenceOptions,
    TrainingOptions,
    inference_memory,
    kv_cache,
    kv_cache_bytes,
    lora_params,
    training_memory,
    weight_bytes,
)
from vault_tools.core.params import ParamCount, count_params
from vault_tools.core.presets import spec_from_mapping
from vault_tools.core.report import memory_json, memory_report
from vault_tools.core.spec import ModelSpec, build_spec
from vault_tools.core.units import GB, GIB, GPUS
from vault_tools.core.weights import weight_memory
from vault_tools.fmt import human_bytes
from vault_tools.records import replace

LLAMA_7B = spec_from_mapping({"preset": "llama-7b"})
LLAMA_7B_COUNT = count_params(LLAMA_7B)
# Published config.json values (meta-llama/Meta-Llama-3-8B, deepseek-ai/DeepSeek-V3, Llama-2-13b-hf).
LLAMA_3_8B = build_spec(
    {
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
    }
)
DEEPSEEK_V3 = build_spec(
    {
        "model_type": "deepseek_v3",
        "hidden_size": 7168,
        "intermediate_size": 18432,
        "moe_intermediate_size": 2048,
        "num_hidden_layers": 61,
        "num_attention_heads": 128,
        "num_key_value_heads": 128,
        "n_routed_experts": 256,
        "n_shared_experts": 1,
        "num_experts_per_tok": 8,
        "first_k_dense_replace": 3,
        "q_lora_rank": 1536,
        "kv_lora_rank": 512,
        "qk_rope_head_dim": 64,
        "qk_nope_head_dim": 128,
        "v_head_dim": 128,
        "vocab_size": 129280,
    }
)
LLAMA_2_13B = build_spec(
    {
        "model_type": "llama",
        "hidden_size": 5120,
        "intermediate_size": 13824,
        "num_hidden_layers": 40,
        "num_attention_heads": 40,
        "vocab_size": 32000,
    }
)


def _synthetic(params: int) -> ParamCount:
    """A count of exactly ``params`` parameters in one tensor (for the ZeRO paper's Ψ)."""
    part = replace(LLAMA_7B_COUNT.parts[1], shape=(params,), copies=1)
    return replace(LLAMA_7B_COUNT, parts=(part,))


# --- weights / file size -----------------------------------------------------------------------------


def test_seed_article_llama_7b_file_sizes() -> None:
    """The seed: 7B × 4 bytes = 28 GB in fp32, 7B × 2 bytes = 14 GB in fp16; the real files are 13.5 GB."""
    fp32 = weight_bytes(LLAMA_7B_COUNT, "fp32")
    fp16 = weight_bytes(LLAMA_7B_COUNT, "fp16")
    nominal = round(LLAMA_7B_COUNT.total / 10**9) * 10**9  # the seed rounds 6.74B to "7B"
    assert (nominal * 4, nominal * 2) == (28 * GB, 14 * GB)
    assert fp32 == 6_738_415_616 * 4 == 26_953_662_464
    assert fp16 == weight_bytes(LLAMA_7B_COUNT, "bf16") == 13_476_831_232
    assert round(fp16 / GB, 1) == 13.5  # the size of the real checkpoint files the seed shows
    assert human_bytes(fp16) == "13.48 GB (12.55 GiB)"
    assert human_bytes(fp32) == "26.95 GB (25.10 GiB)"


@pytest.mark.parametrize(
    ("spec", "fmt", "published_gb"),
    [
        # TheBloke/Llama-2-7B-GGUF, "Provided files" (Llama-2-7B has LLaMA-7B's shapes)
        (LLAMA_7B, "q8_0", 7.16),
        (LLAMA_7B, "q6_k", 5.53),
        (LLAMA_7B, "q5_k_m", 4.78),
        (LLAMA_7B, "q5_k_s", 4.65),
        (LLAMA_7B, "q4_k_m", 4.08),
        (LLAMA_7B, "q4_k_s", 3.86),
        (LLAMA_7B, "q4_0", 3.83),
        (LLAMA_7B, "q3_k_l", 3.60),
        (LLAMA_7B, "q3_k_m", 3.30),
        (LLAMA_7B, "q3_k_s", 2.95),
        # localmodels/Llama-2-13B-ggml (June 2023; mixes whose llama.cpp rules have not changed since)
        (LLAMA_2_13B, "q4_k_m", 7.87),
        (LLAMA_2_13B, "q3_k_l", 6.93),
        (LLAMA_2_13B, "q3_k_s", 5.66),
    ],
)
def test_gguf_sizes_match_published_files(spec: ModelSpec, fmt: str, published_gb: float) -> None:
    # Published sizes are rounded to 0.01 GB and include a header (tokenizer metadata, < 1 MB here).
    assert abs(weight_bytes(count_params(spec), fmt) / GB - published_gb) < 0.006


def test_q4_k_m_puts_half_of_attn_v_and_ffn_down_at_q6_k() -> None:
    terms = {t.name: t for t in weight_memory(LLAMA_7B_COUNT, "q4_k_m").terms}
    # llama.cpp's use_more_bits: layers 0-3, 28-31 and every third between (6, 9, …, 27) → 16 of 32.
    assert terms["attention (Q6_K)"].bytes == 16 * 4096 * 4096 * 210 // 256
    assert terms["mlp (Q6_K)"].bytes == 16 * 11008 * 4096 * 210 // 256
    assert terms["output head (Q6_K)"].bytes == 32000 * 4096 * 210 // 256
    assert terms["token embedding (Q4_K)"].bytes == 32000 * 4096 * 144 // 256
    assert terms["norms (F32)"].bytes == (2 * 32 + 1) * 4096 * 4
    assert weight_bytes(LLAMA_7B_COUNT, "q4_k_m") == 4_080_263_168


def test_gguf_tied_embedding_is_quantized_as_the_output() -> None:
    spec = build_spec(
        {
            "model_type": "llama",
            "hidden_size": 256,
            "intermediate_size": 512,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "vocab_size": 1000,
            "tie_word_embeddings": True,
        }
    )
    names = [t.name for t in weight_memory(count_params(spec), "q4_k_m").terms]
    assert "token embedding (Q6_K)" in names and "output head (Q6_K)" not in names


def test_gguf_rows_that_are_not_whole_super_blocks_fall_back() -> None:
    # 320 is a multiple of 32, not of 256: K-quants fall back (Q4_K → Q5_0, Q6_K → Q8_0) as in llama.cpp.
    spec = build_spec(
        {
            "model_type": "llama",
            "hidden_size": 320,
            "intermediate_size": 512,
            "num_hidden_layers": 2,
            "num_attention_heads": 5,
            "vocab_size": 1000,
        }
    )
    names = {t.name for t in weight_memory(count_params(spec), "q4_k_m").terms}
    assert {"attention (Q5_0)", "output head (Q8_0)", "token embedding (Q5_0)"} <= names
    assert "mlp (Q4_K)" in names  # down_proj rows are 512 wide: whole super-blocks


def test_gptq_layout_is_packed_weights_scales_zeros_and_g_idx() -> None:
    linear = sum(p.count for p in LLAMA_7B_COUNT.parts if p.linear and p.name != "lm_head")
    g_idx = 32 * (6 * 4096 + 11008) * 4  # one int32 per input feature of each matrix
    kept_fp16 = 2 * (LLAMA_7B_COUNT.total - linear)  # embedding, output head, norms
    expected = linear // 2 + linear // 128 * 2 + linear // 128 // 2 + g_idx + kept_fp16
    assert weight_bytes(LLAMA_7B_COUNT, "gptq-4bit-g128") == expected == 3_893_862_400
    assert weight_bytes(LLAMA_7B_COUNT, "awq-4bit-g128") == expected - g_idx


def test_qlora_double_quantization_costs_0_127_bits_per_weight() -> None:
    """QLoRA (Dettmers et al. 2023): 32/64 = 0.5 scale bits a weight; 8/64 + 32/(64·256) ≈ 0.127 with DQ."""
    quantized = sum(p.count for p in LLAMA_7B_COUNT.parts if p.linear and p.name != "lm_head")

    def scale_bits(fmt: str) -> float:
        terms = weight_memory(LLAMA_7B_COUNT, fmt).terms
        return sum(t.bytes for t in terms if "absmax" in t.name) * 8 / quantized

    assert scale_bits("nf4") == 0.5
    assert scale_bits("nf4-dq") == 8 / 64 + 32 / (64 * 256) == 0.126953125


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("Q4_K_M", "q4_k_m"),
        ("gguf-q8_0", "q8_0"),
        ("GPTQ-4bit-128g", "gptq-4bit-g128"),
        ("gptq", "gptq-4bit-g128"),
        ("awq", "awq-4bit-g128"),
        ("NF4-double-quant", "nf4-dq"),
        ("bfloat16", "bf16"),
        ("float16", "fp16"),
    ],
)
def test_format_names_are_case_and_spelling_insensitive(alias: str, canonical: str) -> None:
    assert weight_memory(LLAMA_7B_COUNT, alias).format == canonical


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown weight format 'q9_k'; use one of fp32, fp16, bf16, .*q4_k_m"
    ):
        weight_bytes(LLAMA_7B_COUNT, "q9_k")


def test_int4_packs_two_weights_a_byte() -> None:
    assert weight_bytes(LLAMA_7B_COUNT, "int4") * 2 == weight_bytes(LLAMA_7B_COUNT, "int8") == 6_738_415_616


# --- KV cache --------------------------------------------------------------------------------------


def test_llama_3_8b_kv_cache_for_8192_tokens_in_bf16_is_one_gib() -> None:
    # 32 layers · 2 (K, V) · 8 KV heads · 128 · 2 bytes = 128 KiB per token; × 8192 = 1 GiB.
    assert kv_cache_bytes(LLAMA_3_8B, batch=1, seq_len=8192, kv_dtype="bf16") == GIB


def test_deepseek_v3_mla_cache_is_70272_bytes_per_token_in_bf16() -> None:
    # (kv_lora_rank 512 + qk_rope_head_dim 64) · 61 layers · 2 bytes, no K/V pair.
    assert kv_cache_bytes(DEEPSEEK_V3, seq_len=1, kv_dtype="bf16") == 70_272
    assert kv_cache_bytes(DEEPSEEK_V3, batch=4, seq_len=1000) == 4 * 1000 * 70_272


def test_gqa_is_not_ignored() -> None:
    mha = replace(LLAMA_3_8B, num_kv_heads=LLAMA_3_8B.num_heads)
    assert kv_cache_bytes(mha, seq_len=8192) == 4 * kv_cache_bytes(LLAMA_3_8B, seq_len=8192)


@pytest.mark.parametrize(
    ("kv_dtype", "expected"),
    [
        ("fp32", 2 * GIB),
        ("fp16", GIB),
        ("fp8", GIB // 2),
        ("int4", GIB // 4),
        ("q8_0", GIB // 2 * 34 // 32),
        ("q4_0", GIB // 2 * 18 // 32),
    ],
)
def test_kv_cache_dtypes(kv_dtype: str, expected: int) -> None:
    assert kv_cache_bytes(LLAMA_3_8B, seq_len=8192, kv_dtype=kv_dtype) == expected


def test_gemma_3_1b_slides_five_layers_of_six_without_layer_types() -> None:
    # 26 layers, sliding_window_pattern 6: layers 6, 12, 18, 24 are global (every 6th), 22 slide over 512.
    # One KV head of 256 in bf16: 2 · 256 · 2 = 1,024 bytes a token and layer.
    gemma3 = spec_from_mapping({"preset": "gemma-3-1b"})
    assert gemma3.layer_types is None
    expected = 4 * 32768 * 1024 + 22 * 512 * 1024
    assert kv_cache_bytes(gemma3, seq_len=32768, kv_dtype="bf16") == expected == 145_752_064


def test_an_explicit_sliding_window_pattern_beats_the_family_s() -> None:
    gemma3 = spec_from_mapping({"preset": "gemma-3-1b", "sliding_window_pattern": 2})
    assert kv_cache_bytes(gemma3, seq_len=4096, kv_dtype="bf16") == (13 * 4096 + 13 * 512) * 1024


def test_unknown_model_type_with_a_window_and_no_layer_types_counts_full_attention() -> None:
    # Nothing says which layers of an unknown family slide (Gemma 3 slides 5 of 6, Mistral all, Qwen from
    # max_window_layers on), so the cache is counted at its upper bound and the note says why.
    config = {**LLAMA_3_8B.config, "model_type": "new_decoder", "sliding_window": 1024}
    unknown = build_spec(config)
    cache = kv_cache(unknown, seq_len=8192, kv_dtype="bf16")
    assert cache.total == GIB  # every layer holds all 8,192 tokens, as Llama-3-8B without a window
    assert cache.notes == (
        "sliding_window 1024 without layer_types in a model_type outside the family table: which layers "
        "slide is unknown, so every layer is counted as full attention (an upper bound; add layer_types to "
        "count the window)",
    )
    with_types = build_spec({**config, "layer_types": ["sliding_attention"] * 32})
    assert kv_cache_bytes(with_types, seq_len=8192, kv_dtype="bf16") == GIB // 8


def test_sliding_window_caps_the_cache() -> None:
    mistral = spec_from_mapping({"preset": "mistral-7b"})  # v0.1: sliding_window 4096
    assert kv_cache_bytes(mistral, seq_len=32768) == kv_cache_bytes(mistral, seq_len=4096) == GIB // 2


def test_encoder_only_models_have_no_kv_cache() -> None:
    bert = build_spec(
        {
            "model_type": "bert",
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "vocab_size": 30522,
            "max_position_embeddings": 512,
        }
    )
    cache = kv_cache(bert, seq_len=512)
    assert cache.total == 0 and "no KV cache" in cache.notes[0]


def test_inference_total_is_weights_plus_cache_plus_stated_overhead() -> None:
    mem = inference_memory(LLAMA_7B_COUNT, InferenceOptions(quant="q4_k_m", seq_len=4096, kv_dtype="q8_0"))
    assert [t.group for t in mem.terms] == ["weights", "kv_cache", "overhead"]
    assert mem.total == 4_080_263_168 + GIB * 34 // 32 + GIB  # q8_0: 34 bytes per 32 values
    assert inference_memory(LLAMA_7B_COUNT, InferenceOptions(overhead=0)).total == 13_476_831_232 + GIB


# --- training --------------------------------------------------------------------------------------

PSI = 7_500_000_000  # the ZeRO paper's 7.5B-parameter example on Nd = 64 GPUs


def _model_states(stage: int, **options: Any) -> int:
    mem = training_memory(_synthetic(PSI), TrainingOptions(zero=stage, gpus=64, **options))
    steps = sum(t.bytes for t in mem.terms if t.name.startswith("step counters"))
    return mem.model_states - steps


@pytest.mark.parametrize(
    ("stage", "exact", "published_gb"),
    [
        (0, 16 * PSI, 120.0),
        (1, 4 * PSI + 12 * PSI // 64, 31.4),
        (2, 2 * PSI + 14 * PSI // 64, 16.6),
        (3, 16 * PSI // 64, 1.9),
    ],
)
def test_zero_paper_model_states_per_gpu(stage: int, exact: int, published_gb: float) -> None:
    """Rajbhandari et al. 2020, Figure 1: (2 + 2 + K)·Ψ with K = 12, partitioned by stage over Nd GPUs."""
    assert _model_states(stage) == exact
    assert round(exact / GB, 1) == published_gb


@pytest.mark.parametrize(
    ("precision", "optimizer", "bytes_per_param"),
    [
        ("mixed", "adamw", 16),
        ("mixed-fp32-grads", "adamw", 18),
        ("fp32", "adamw", 16),
        ("bf16", "adamw", 8),
        ("mixed", "sgd", 8),
        ("mixed", "sgd-momentum", 12),
        ("fp32", "sgd-momentum", 12),
        ("mixed", "lion", 12),
    ],
)
def test_bytes_per_parameter_conventions(precision: str, optimizer: str, bytes_per_param: int) -> None:
    mem = training_memory(_synthetic(PSI), TrainingOptions(precision=precision, optimizer=optimizer, zero=1))
    assert mem.model_states == bytes_per_param * PSI


def test_adam_terms_are_named_as_the_zero_paper_splits_them() -> None:
    mem = training_memory(_synthetic(PSI), TrainingOptions(zero=1))
    assert [(t.group, t.name, t.bytes) for t in mem.terms[:4]] == [
        ("weights", "weights (mixed)", 2 * PSI),
        ("gradients", "gradients", 2 * PSI),
        ("optimizer", "fp32 master weights", 4 * PSI),
        ("optimizer", "Adam moments m, v", 8 * PSI),
    ]


def test_8bit_adam_keeps_one_byte_per_moment_plus_block_scales() -> None:
    mem = training_memory(_synthetic(PSI), TrainingOptions(optimizer="adamw-8bit", zero=1))
    states = {t.name: t.bytes for t in mem.terms}
    assert states["8-bit Adam moments + block absmax"] == 2 * PSI + 2 * -(-PSI // 256) * 4
    assert states["quantization maps (shared)"] == 2048


def test_step_counters_only_without_zero_sharding() -> None:
    tensors = sum(p.copies for p in LLAMA_7B_COUNT.parts)
    unsharded = training_memory(LLAMA_7B_COUNT, TrainingOptions(zero=0))
    assert [t.bytes for t in unsharded.terms if t.name.startswith("step")] == [4 * tensors]
    assert not [
        t for t in training_memory(LLAMA_7B_COUNT, TrainingOptions(zero=2)).terms if t.name.startswith("step")
    ]


def test_lora_adapter_count_matches_peft() -> None:
    """PEFT's print_trainable_parameters for LLaMA-7B: q_proj, v_proj, r=8 → 4,194,304 of 6,742,609,920."""
    assert lora_params(LLAMA_7B_COUNT, ("q_proj", "v_proj"), 8) == 4_194_304
    assert LLAMA_7B_COUNT.total + 4_194_304 == 6_742_609_920
    # all seven projections at r=16, the usual QLoRA setting: 32 · 16 · (4·8192 + 3·15104)
    assert lora_params(LLAMA_7B_COUNT, ("all-linear",), 16) == 39_976_960
    assert lora_params(LLAMA_7B_COUNT, ("attention", "mlp"), 16) == 39_976_960


def _preset_count(key: str) -> ParamCount:
    return count_params(spec_from_mapping({"preset": key}))


@pytest.mark.parametrize(
    ("key", "targets", "expected"),
    [
        # GPT-2: Conv1D c_attn h→3h, c_proj h→h, c_fc h→4h, c_proj 4h→h; 12 layers, r=16.
        ("gpt2", ("all-linear",), 12 * 16 * ((768 + 3 * 768) + 2 * 768 + 2 * (768 + 3072))),
        ("gpt2", (), 12 * 16 * (768 + 3 * 768)),  # PEFT's default: c_attn
        # Phi-3: qkv_proj h→3h, o_proj, gate_up_proj h→2f, down_proj; 32 layers.
        ("phi-3-mini-4k", ("all-linear",), 32 * 16 * (4 * 3072 + 2 * 3072 + (3072 + 2 * 8192) + 11264)),
        ("phi-3-mini-4k", ("qkv_proj",), 32 * 16 * 4 * 3072),
        # Pythia-1.4B: query_key_value h→3h, PEFT's default; 24 layers of 2048.
        ("pythia-1.4b", (), 24 * 16 * 4 * 2048),
        # Falcon-7B, multi-query: query_key_value h→(71 + 2)·64; 32 layers of 4544.
        ("falcon-7b", (), 32 * 16 * (4544 + 73 * 64)),
        # OPT names its output projection out_proj.
        ("opt-1.3b", ("out_proj",), 24 * 16 * 2 * 2048),
        # Mixtral's experts (transformers 4.x): w1 gate, w3 up, w2 down, 8 a layer; its router is gate.
        ("mixtral-8x7b", ("w2",), 32 * 8 * 16 * (14336 + 4096)),
        ("mixtral-8x7b", ("gate",), 32 * 16 * (4096 + 8)),
        # BERT's dense: attention output, intermediate, output, and the MLM head's transform.dense.
        ("bert-base", ("dense",), 12 * 16 * (2 * 768 + 2 * (768 + 3072)) + 16 * 2 * 768),
    ],
)
def test_lora_adapts_whole_modules_as_the_modeling_code_builds_them(
    key: str, targets: tuple[str, ...], expected: int
) -> None:
    assert lora_params(_preset_count(key), targets, 16) == expected


def test_a_projection_fused_into_another_module_is_refused_by_the_module_s_name() -> None:
    with pytest.raises(ValueError) as exc:
        lora_params(_preset_count("gpt2"), ("q_proj", "v_proj"), 8)
    assert str(exc.value) == (
        "LoRA target 'q_proj' is fused into 'c_attn' in gpt2: PEFT adapts c_attn as a whole, so name c_attn"
    )


def test_a_target_peft_would_not_find_adapts_nothing_and_says_so() -> None:
    """Found in review: o_proj adapted OPT's out_proj (6,291,456 at r=16 where PEFT adapts 4,718,592)."""
    qkvo = ("q_proj", "k_proj", "v_proj", "o_proj")
    options = TrainingOptions(lora_rank=16, lora_targets=qkvo)
    mem = training_memory(_preset_count("opt-1.3b"), options)
    assert mem.trainable == 24 * 16 * 3 * 2 * 2048 == 4_718_592
    assert mem.notes == (
        "LoRA target 'o_proj' matches no module of opt (opt calls that module out_proj), so PEFT adapts "
        "nothing for it",
    )
    # Alone it matches nothing at all, which PEFT refuses too.
    with pytest.raises(ValueError) as exc:
        lora_params(_preset_count("opt-1.3b"), ("o_proj",), 16)
    assert str(exc.value).startswith("LoRA target 'o_proj' matches no module of opt (opt calls that module")


@pytest.mark.parametrize(
    ("key", "targets", "message"),
    [
        (
            "llama-7b",
            ("model.layers.0.self_attn.q_proj", "v_proj"),
            "LoRA target 'model.layers.0.self_attn.q_proj': name the module itself ('q_proj')",
        ),
        (
            "llama-7b",
            ("lm_head", "v_proj"),
            "LoRA target 'lm_head' is the model's head (lm_head); LoRA on a head is not modelled",
        ),
        # Found in review: 'transform' was accepted though BERT has no Linear of that name.
        (
            "bert-base",
            ("transform",),
            "LoRA target 'transform' matches no module of bert (bert calls that module dense)",
        ),
    ],
)
def test_lora_targets_the_counter_cannot_count_are_refused(
    key: str, targets: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError) as exc:
        lora_params(_preset_count(key), targets, 8)
    assert str(exc.value).startswith(message)


def test_lora_without_targets_where_peft_has_no_default_for_a_fused_model_is_refused() -> None:
    with pytest.raises(ValueError) as exc:
        lora_params(_preset_count("phi-3-mini-4k"), (), 8)
    assert str(exc.value) == (
        "PEFT has no default LoRA targets for phi3; set lora_targets to all-linear, attention, mlp or some "
        "of down_proj, gate_up_proj, o_proj, qkv_proj"
    )


@pytest.mark.parametrize("precision", ["mixed", "bf16", "fp32"])
def test_lora_adam_moments_are_in_the_fp32_adapters_dtype_whatever_the_precision(precision: str) -> None:
    # PEFT keeps the adapters in fp32 on a 16-bit base, and Adam's m and v take the dtype of what it steps:
    # 32 layers · 16 · (2·4096 + 2·4096) adapter values, 2 moments · 4 bytes each, also under pure bf16.
    n = 32 * 16 * (4 * 4096)
    options = TrainingOptions(lora_rank=16, lora_targets=("q_proj", "v_proj"), precision=precision, zero=1)
    assert training_memory(LLAMA_7B_COUNT, options).optimizer == 2 * 4 * n == 67_108_864


def test_qlora_keeps_the_frozen_base_in_nf4_and_trains_fp32_adapters() -> None:
    options = TrainingOptions(lora_rank=16, lora_targets=("all-linear",), quant="nf4-dq", zero=1)
    mem = training_memory(LLAMA_7B_COUNT, options)
    n = 39_976_960
    assert mem.trainable == n
    assert mem.weights == weight_bytes(LLAMA_7B_COUNT, "nf4-dq") + 4 * n
    assert mem.gradients == 4 * n
    assert mem.optimizer == 8 * n  # fp32 adapters need no master copy


def test_unknown_lora_target_names_the_model_s_linear_layers() -> None:
    with pytest.raises(
        ValueError, match=r"LoRA target 'qkv' is not a linear layer of this model; .* down_proj"
    ):
        training_memory(LLAMA_7B_COUNT, TrainingOptions(lora_rank=8, lora_targets=("qkv",)))


def _per_layer(spec: ModelSpec, **kwargs: Any) -> int:
    two = replace(spec, num_layers=2)
    one = replace(spec, num_layers=1)
    return (
        activation_memory(two, batch=1, seq_len=2048, act_bytes=2, flash_attn=False, **kwargs).saved_bytes
        - activation_memory(one, batch=1, seq_len=2048, act_bytes=2, flash_attn=False, **kwargs).saved_bytes
    )


GPT_BLOCK = build_spec(
    {
        "model_type": "gpt2",
        "n_embd": 2048,
        "n_layer": 1,
        "n_head": 16,
        "vocab_size": 50257,
        "n_positions": 2048,
        "activation_function": "gelu",
    }
)


@pytest.mark.parametrize(
    ("recompute", "korthikanti"),
    [
        # Korthikanti et al. 2022, per layer in 16-bit: sbh(34 + 5as/h) with no recompute, 34sbh with
        # selective, 2sbh with full.  Without dropout the three masks (2sbh + as²b) and the dropout output
        # (2as²b) are gone: 32sbh + 2as²b and 32sbh; LayerNorm statistics (two fp32 per token per norm) added.
        ("none", lambda s, b, h, a: 32 * s * b * h + 2 * a * s * s * b + 2 * 2 * 4 * s * b),
        ("selective", lambda s, b, h, a: 32 * s * b * h + 2 * 2 * 4 * s * b),
        ("full", lambda s, b, h, a: 2 * s * b * h),
    ],
)
def test_gpt_block_activations_reduce_to_korthikanti(recompute: str, korthikanti: Any) -> None:
    s, b, h, a = 2048, 1, GPT_BLOCK.hidden_size, GPT_BLOCK.num_heads
    assert _per_layer(GPT_BLOCK, recompute=recompute) == korthikanti(s, b, h, a)


def test_swiglu_and_gqa_change_the_block() -> None:
    """Derived for the block, not a GPT-3 constant: SwiGLU keeps 4 MLP-wide tensors, GQA shrinks k and v."""
    per_layer = _per_layer(LLAMA_3_8B)
    t, h, f, a, kv, d, s = 2048, 4096, 14336, 32, 8, 128, 2048
    norms = 2 * (4 * t * h + 4 * t + 2 * t * h)  # fp32 upcast, inverse RMS, normalized copy
    attention = 2 * t * h + 2 * t * a * d * 2 + a * s * s * (4 + 2) + t * a * d * 2 + t * h * 2
    mlp = 2 * t * h + 4 * t * f * 2
    assert per_layer == norms + attention + mlp
    # with the flash kernel k and v stay at the 8 KV heads (eager attention repeats them to all 32 heads)
    flash = {t.name: t.bytes for t in activation_memory(LLAMA_3_8B, batch=1, seq_len=s).terms}
    assert flash["k, v (flash kernel, kv heads) × 32"] == 32 * t * kv * 2 * d * 2


def test_large_vocabulary_logits_are_counted() -> None:
    mem = activation_memory(LLAMA_3_8B, batch=1, seq_len=8192)
    terms = {t.name: t.bytes for t in mem.terms}
    assert terms["log-softmax for the loss (fp32)"] == 8192 * 128256 * 4
    assert terms["logits returned to the caller"] == 8192 * 128256 * 2


def test_training_per_gpu_is_the_sum_of_its_terms() -> None:
    mem = training_memory(LLAMA_7B_COUNT, TrainingOptions(zero=3, gpus=8, recompute="full"))
    assert mem.per_gpu == mem.weights + mem.gradients + mem.optimizer + mem.activations + mem.overhead
    assert mem.weights == -(-2 * LLAMA_7B_COUNT.total // 8)


# --- fit table ---------------------------------------------------------------------------------------


def test_fit_table_for_llama_7b() -> None:
    inference = inference_memory(LLAMA_7B_COUNT, InferenceOptions())
    rows = {row.gpu.key: row for row in fit_table(LLAMA_7B_COUNT, inference, TrainingOptions())}
    assert list(rows) == list(GPUS)
    assert rows["rtx4090"].inference_fits and not rows["rtx4090"].training_fits
    assert rows["a100-80gb"].zero_min_gpus == (None, 2, 2, 2)
    assert rows["h200"].zero_min_gpus[0] == 1
    for row in rows.values():
        stages = [n for n in row.zero_min_gpus[1:] if n is not None]
        assert stages == sorted(stages, reverse=True)  # each stage shards more, so needs no more GPUs


@pytest.mark.parametrize(
    "training",
    [
        TrainingOptions(),
        TrainingOptions(optimizer="adam-8bit", batch=4, recompute="full"),
        TrainingOptions(lora_rank=16, quant="nf4-dq", precision="bf16"),
        TrainingOptions(optimizer="adafactor", precision="fp32", seq_len=4096),
    ],
    ids=["adamw", "8-bit adam", "qlora", "adafactor fp32"],
)
@pytest.mark.parametrize("preset", ["llama-7b", "mixtral-8x7b", "gpt2"])
def test_fit_table_minimum_gpus_is_where_training_memory_first_fits(
    preset: str, training: TrainingOptions
) -> None:
    """The fit search shards model states itself; its answers must be training_memory's boundary."""
    count = count_params(spec_from_mapping({"preset": preset}))
    inference = inference_memory(count, InferenceOptions())
    for row in fit_table(count, inference, training):
        for stage, n in enumerate(row.zero_min_gpus):

            def per_gpu(gpus: int, stage: int = stage) -> int:
                options = replace(training, zero=stage, gpus=gpus)
                return training_memory(count, options).per_gpu

            if n is None:
                assert per_gpu(1 if stage == 0 else 4096) > row.gpu.memory
                continue
            assert per_gpu(n) <= row.gpu.memory
            assert n == 1 or per_gpu(n - 1) > row.gpu.memory


# --- options from a note ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"optimizer": "adamx"},
            "training.optimizer: unknown optimizer 'adamx'; use one of sgd, sgd-momentum, "
            "adam, adamw, adam-8bit, adamw-8bit, adafactor, lion",
        ),
        ({"zero": 4}, "training.zero: expected a ZeRO stage 0-3, fsdp or ddp, got 4"),
        (
            {"recompute": "some"},
            "training.recompute: unknown recompute mode 'some'; use one of none, selective, full",
        ),
        ({"batch": 0}, "training.batch: must be at least 1, got 0"),
        ({"flash_attn": "yes"}, "training.flash_attn: expected true or false, got 'yes'"),
        (
            {"lr": 1},
            "training: unknown key 'lr'; allowed keys: optimizer, precision, zero, gpus, batch, seq_len, "
            "recompute, flash_attn, lora_rank, lora_targets, adapter_dtype, quant, overhead, tokens, gpu, "
            "mfu",
        ),
    ],
)
def test_training_mapping_errors_name_key_and_allowed_values(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as exc:
        TrainingOptions.from_mapping(mapping)
    assert str(exc.value) == message


def test_memory_mapping_accepts_note_spellings() -> None:
    options = InferenceOptions.from_mapping(
        {"quant": "Q4_K_M", "kv-dtype": "fp8", "seq-len": 8192, "overhead": "2 GiB"}
    )
    assert (options.weight_format, options.cache_dtype, options.seq_len, options.overhead) == (
        "q4_k_m",
        "fp8",
        8192,
        2 * GIB,
    )
    with pytest.raises(
        ValueError, match=r"^memory.kv_dtype: unknown KV-cache dtype 'fp7'; use one of fp32, "
    ):
        InferenceOptions.from_mapping({"kv_dtype": "fp7"})


def test_training_mapping_spellings() -> None:
    options = TrainingOptions.from_mapping(
        {"zero": "fsdp", "lora-rank": 16, "lora_targets": "q_proj, v_proj", "tokens": "2T", "mfu": "45%"}
    )
    assert (options.zero, options.lora_targets, options.tokens, options.mfu) == (
        3,
        ("q_proj", "v_proj"),
        2 * 10**12,
        0.45,
    )


def test_report_json_has_the_documented_keys() -> None:
    raw = {"memory": {"seq_len": 8192}, "training": {"zero": 3, "gpus": 8}, "compute": {"tokens": "1T"}}
    payload = memory_json(memory_report(LLAMA_3_8B, count_params(LLAMA_3_8B), raw))
    memory, compute = payload["memory"], payload["compute"]
    assert memory["kv_cache"] == GIB
    assert set(memory["training"]) >= {"weights", "gradients", "optimizer", "activations", "per_gpu"}
    assert all(isinstance(v, int) for v in memory["weights"].values())
    assert {"flops_per_token", "training_flops", "chinchilla_tokens"} <= set(compute)
    assert compute["tokens"] == 10**12
    json.dumps(payload)  # plain JSON types only


def test_report_rejects_compute_keys_it_does_not_know() -> None:
    with pytest.raises(
        ValueError, match=r"^compute: unknown key 'budget'; allowed keys: tokens, gpu, gpus, mfu$"
    ):
        memory_report(LLAMA_7B, LLAMA_7B_COUNT, {"compute": {"budget": 1}})


# --- CLI ---------------------------------------------------------------------------------------------


def test_calc_prints_both_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "llama-7b"]) == 0
    out = capsys.readouterr().out
    assert "fp16            13.48 GB (12.55 GiB)" in out
    assert "7B × 4 bytes = 28 GB (fp32)" in out
    assert "KV cache (bf16)" in out and "per GPU" in out and "ZeRO-3" in out


def test_calc_json_memory_and_compute(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "llama-7b", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["params"]["total"] == 6_738_415_616  # the params section is kept
    assert payload["memory"]["weights"]["fp16"] == 13_476_831_232
    assert payload["memory"]["kv_cache"] == GIB  # MHA, 2048 tokens, bf16: 32 · 2 · 4096 · 2 · 2048
    training = payload["memory"]["training"]
    assert training["weights"] == 2 * 6_738_415_616 and training["gradients"] == 2 * 6_738_415_616
    assert training["per_gpu"] == sum(
        training[k] for k in ("weights", "gradients", "optimizer", "activations", "overhead")
    )
    assert payload["compute"]["training_flops"] == 6 * 6_738_415_616 * 20 * 6_738_415_616
    assert payload["compute"]["chinchilla_tokens"] == 20 * 6_738_415_616


def test_calc_options_reach_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "calc",
        "llama-7b",
        "--json",
        "--quant",
        "q4_k_m",
        "--seq-len",
        "4096",
        "--batch",
        "2",
        "--kv-dtype",
        "fp8",
        "--optimizer",
        "adamw-8bit",
        "--zero",
        "3",
        "--gpus",
        "8",
        "--lora-rank",
        "16",
        "--lora-targets",
        "all-linear",
        "--recompute",
        "full",
        "--no-flash-attn",
        "--tokens",
        "1T",
        "--overhead",
        "0",
    ]
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    memory = payload["memory"]
    assert memory["weights"]["q4_k_m"] == 4_080_263_168
    assert memory["kv_cache"] == 2 * 4096 * 32 * 2 * 4096  # b · s · L · (K, V) · h · 1 byte
    assert memory["inference"]["total"] == 4_080_263_168 + memory["kv_cache"]
    assert memory["training"]["trainable_params"] == 39_976_960
    assert memory["options"]["training"]["recompute"] == "full"
    assert memory["options"]["training"]["flash_attn"] is False
    # LoRA: the frozen base multiplies and passes gradients back (4·N), only the adapters take weight
    # gradients (6·N_lora); tests/test_memory_measured.py checks the rule against torch's FLOP count.
    assert payload["compute"]["training_flops"] == (4 * 6_738_415_616 + 6 * 39_976_960) * 10**12
    assert payload["compute"]["training_flops_rule"] == "(4·N + 6·N_lora)·D"


def test_calc_reads_memory_and_training_from_a_spec_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "llama.yaml"
    spec.write_text(
        "preset: llama-7b\nmemory:\n  seq_len: 8192\ntraining:\n  optimizer: sgd\n", encoding="utf-8"
    )
    assert main(["calc", str(spec), "--json", "--batch", "2"]) == 0
    memory = json.loads(capsys.readouterr().out)["memory"]
    assert memory["kv_cache"] == 2 * 4 * GIB
    assert memory["options"]["training"]["optimizer"] == "sgd"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--optimizer", "adamx"],
            "vault-tools: training.optimizer: unknown optimizer 'adamx'; use one of sgd, "
            "sgd-momentum, adam, adamw, adam-8bit, adamw-8bit, adafactor, lion\n",
        ),
        (["--zero", "5"], "vault-tools: training.zero: expected a ZeRO stage 0-3, fsdp or ddp, got '5'\n"),
        (
            ["--lora-rank", "8", "--lora-targets", "qkv"],
            "vault-tools: LoRA target 'qkv' is not a linear layer of "
            "this model; use all-linear, attention, mlp or one of down_proj, gate_proj, k_proj, o_proj, "
            "q_proj, "
            "up_proj, v_proj\n",
        ),
    ],
)
def test_calc_bad_options_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "llama-7b", *argv]) == 2
    assert capsys.readouterr().err == message


def test_calc_bad_quant_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "llama-7b", "--quant", "q9_k"]) == 2
    assert capsys.readouterr().err.startswith(
        "vault-tools: memory.quant: unknown weight format 'q9_k'; use one of"
    )


@pytest.mark.parametrize(
    ("mapping", "attr", "expected"),
    [
        ({"mfu": "45%"}, "mfu", 0.45),
        ({"mfu": "0.3"}, "mfu", 0.3),
        ({"tokens": "300B"}, "tokens", 300 * 10**9),
        ({"tokens": 1.4e12}, "tokens", 1_400_000_000_000),
        ({"overhead": "512 MiB"}, "overhead", 512 * 2**20),
        ({"overhead": "2GB"}, "overhead", 2 * 10**9),
        ({"zero": "FSDP"}, "zero", 3),
        ({"optimizer": "AdamW8bit"}, "optimizer", "adamw-8bit"),
        ({"precision": "Mixed-FP32-Grads"}, "precision", "mixed-fp32-grads"),
    ],
)
def test_training_values_accept_human_spellings(mapping: dict[str, Any], attr: str, expected: Any) -> None:
    assert getattr(TrainingOptions.from_mapping(mapping), attr) == expected


@given(
    gpus=st.integers(min_value=1, max_value=4096),
    batch=st.integers(min_value=1, max_value=8),
    seq_len=st.integers(min_value=1, max_value=8192),
)
def test_each_zero_stage_needs_no_more_memory_than_the_one_before(
    gpus: int, batch: int, seq_len: int
) -> None:
    per_gpu = [
        training_memory(
            LLAMA_7B_COUNT, TrainingOptions(zero=stage, gpus=gpus, batch=batch, seq_len=seq_len)
        ).per_gpu
        for stage in (0, 1, 2, 3)
    ]
    assert per_gpu == sorted(per_gpu, reverse=True)


@given(batch=st.integers(min_value=1, max_value=64), seq_len=st.integers(min_value=0, max_value=200_000))
def test_kv_cache_is_linear_in_batch_and_tokens(batch: int, seq_len: int) -> None:
    per_token = kv_cache_bytes(LLAMA_3_8B, seq_len=1)
    assert kv_cache_bytes(LLAMA_3_8B, batch=batch, seq_len=seq_len) == batch * seq_len * per_token


def test_inference_serves_the_checkpoint_dtype_unless_the_note_says_otherwise() -> None:
    spec = replace(LLAMA_7B, config={**LLAMA_7B.config, "torch_dtype": "float32"})
    count = count_params(spec)
    assert memory_report(spec, count).inference.weights.total == 4 * 6_738_415_616
    assert (
        memory_report(spec, count, {"memory": {"dtype": "fp16"}}).inference.weights.total == 2 * 6_738_415_616
    )


def test_gguf_types_outside_attn_v_and_ffn_down_do_not_depend_on_the_layer() -> None:
    """gguf_terms picks one type for all the copies of a tensor outside _BY_LAYER: llama.cpp's rules must
    give each copy that type, whatever its layer and its place among the attn_v tensors."""
    from vault_tools.core import gguf
    from vault_tools.core.presets import presets

    checked = 0
    for key in presets():
        count = count_params(spec_from_mapping({"preset": key}))
        for tensor in gguf._gguf_tensors(count):
            if tensor.category in gguf._UNQUANTIZED or tensor.category in gguf._BY_LAYER:
                continue
            layers = tensor.layers or (0,) * tensor.copies
            for ftype in gguf.GGUF_FTYPES:
                picks = {
                    gguf._gguf_type(count.spec, ftype, tensor, layer, i_v, len(layers))
                    for layer in layers
                    for i_v in (0, 1, 3, max(len(layers) - 1, 0))
                }
                assert len(picks) == 1, (key, tensor.label, tensor.category, ftype, picks)
                checked += 1
    assert checked > 1000


@given(
    st.lists(st.integers(0, 10**6), max_size=4),
    st.integers(-5, 10**6),
    st.sampled_from([1, 2, 7, 64, 4096]),
)
def test_fewest_gpus_is_the_smallest_count_that_fits(sizes: list[int], room: int, limit: int) -> None:
    from vault_tools.core.fit import _fewest

    fitting = [n for n in range(1, limit + 1) if sum(-(-size // n) for size in sizes) <= room]
    assert _fewest(sizes, room, limit) == (fitting[0] if fitting else None)
