"""What each Hugging Face ``model_type`` is made of: data that drives the one generic counter.

Each entry says which parts a family's modeling code builds (checked against transformers' modules on the
meta device in ``tests/test_oracle.py``); numbers come from the config, never from here.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from vault_tools.records import field, record, replace

NormKind = Literal["rmsnorm", "layernorm"]
MlpKind = Literal["gated", "plain"]
PositionKind = Literal["rope", "learned", "alibi", "relative", "none"]
QkNormKind = Literal["none", "head", "full", "head_affine"]
MoeLayers = Literal["none", "all", "sparse_step", "first_k_dense"]
SharedExperts = Literal["none", "qwen", "deepseek"]
Layout = Literal["decoder", "encoder", "encoder_decoder"]
# Which task-head table (``heads.HEADS``) a family's modeling code follows.
HeadStyle = Literal["decoder", "bert", "roberta", "t5"]
# Which layers slide when a config has a window and no layer_types, as transformers 5 lays them out:
# every one (Mistral; Qwen3-MoE, whose config has no layer_types), every layer but each sliding_period-th
# (Gemma 2 and 3), from max_window_layers on (Qwen2, Qwen3), or the even layers below max_window_layers
# (Qwen2-MoE's config default).
SlidingLayers = Literal["all", "period", "from_max_window_layers", "even_below_max_window_layers"]


@record
class Family:
    """Structural facts of one model family; config keys may still switch biases and ties."""

    label: str
    norm: NormKind = "rmsnorm"
    mlp: MlpKind = "gated"
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    # Config keys that switch biases, in the order they are honoured.
    attn_bias_keys: tuple[str, ...] = ("attention_bias",)  # q, k, v
    o_bias_keys: tuple[str, ...] = ("attention_bias",)
    mlp_bias_keys: tuple[str, ...] = ("mlp_bias",)
    all_bias_keys: tuple[str, ...] = ()
    # Config keys that, when false, build every LayerNorm without weight and bias (OPT).
    norm_affine_keys: tuple[str, ...] = ()
    norms_per_layer: int = 2
    # Gemma's RMSNorm: computed in fp32 and scaled by (1 + weight), q/k norms included.
    gemma_norm: bool = False
    # tanh soft-capping of the final logits and of the attention scores (Gemma 2 and 3): transformers'
    # defaults for final_logit_softcapping and attn_logit_softcapping; None: the code has no such step.
    softcap_defaults: tuple[float | None, float | None] | None = None
    final_norm: bool = True
    qk_norm: QkNormKind = "none"
    positions: PositionKind = "rope"
    position_offset: int = 0
    embed_norm: bool = False
    token_types: bool = False
    lm_head_bias: bool = False
    tie_default: bool = False
    ffn_mult_default: int | None = None
    # transformers' config defaults for structural keys a config may leave out, where they differ from
    # the counter's own fallback (K/V heads = heads, no experts, head_dim = hidden // heads): a config.json
    # without them builds these in transformers, so the counter uses them too (and notes it).
    config_defaults: MappingProxyType[str, object] = field(default_factory=lambda: MappingProxyType({}))
    moe_layers: MoeLayers = "none"
    shared_experts: SharedExperts = "none"
    mla: bool = False
    layout: Layout = "decoder"
    head_style: HeadStyle = "decoder"
    # transformers' default layer_types when a config has a sliding_window and no layer_types (see
    # ``SlidingLayers``); under "period" every ``sliding_period``-th layer is full attention, and a config's
    # sliding_window_pattern overrides the period only where ``sliding_pattern_key`` (Gemma 3: Gemma 2's
    # config ignores the key).
    sliding_layers: SlidingLayers = "all"
    sliding_period: int | None = None
    sliding_pattern_key: bool = False
    # A config key that must be true for the window to apply at all (Qwen's use_sliding_window).
    sliding_switch: str | None = None
    # transformers' sliding_window for a config without the key (null is no window), where it applies.
    window_default: int | None = None
    # Gemma 3's config turns sliding_window w into w // 2 + 1 under use_bidirectional_attention.
    bidirectional_window: bool = False
    # The linear modules as the modeling code builds them, for LoRA (PEFT adapts whole nn.Linear/Conv1D
    # modules, matching a target against the last part of each module's path): counted parts one module
    # holds (GPT-2's c_attn is q, k and v), and a part's module name where it is not the counter's (the
    # first part of a fused group names the group).  A key is looked up as ``component.part`` (the MoE
    # experts' ``moe_experts.gate_proj``), then ``<mlp kind>.part`` (T5's ``gated.up_proj``), then
    # ``part``; a part not named here is its own module name (the last part of a dotted head name).
    fused_linears: tuple[tuple[str, ...], ...] = ()
    module_names: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Whether the MoE router is an nn.Linear (``gate``) in the transformers 4.x layout the counter follows;
    # DeepSeek-V3's TopkRouter holds a bare weight parameter, which PEFT does not adapt.
    router_is_linear: bool = True
    # PEFT's default target_modules (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING); None where PEFT
    # has no default for the model_type.
    lora_default: tuple[str, ...] | None = ("q_proj", "v_proj")
    # Class-name prefixes in ``architectures`` that identify this family.
    arch_prefixes: tuple[str, ...] = ()
    generic: bool = False


def _defaults(**values: object) -> MappingProxyType[str, object]:
    return MappingProxyType(values)


def _names(**values: str) -> MappingProxyType[str, str]:
    return MappingProxyType(values)


_QKV = ("q_proj", "k_proj", "v_proj")
# GPT-NeoX, Falcon and BLOOM: one query_key_value, dense, dense_h_to_4h, dense_4h_to_h.
_NEOX_NAMES = _names(
    q_proj="query_key_value", o_proj="dense", up_proj="dense_h_to_4h", down_proj="dense_4h_to_h"
)
# BERT and RoBERTa: every h→h or h↔f Linear but q/k/v is called dense, the MLM head's transform
# (cls.predictions.transform.dense, RoBERTa's lm_head.dense) and the pooler (pooler.dense) too.
_BERT_NAMES = _names(
    q_proj="query",
    k_proj="key",
    v_proj="value",
    o_proj="dense",
    up_proj="dense",
    down_proj="dense",
    transform="dense",
    pooler="dense",
)
# The transformers 4.x MoE block: an nn.Linear router called gate, an nn.ModuleList of expert MLPs.
_MOE_NAMES = _names(router="gate")


_LLAMA = Family("llama", arch_prefixes=("Llama",))

FAMILIES: MappingProxyType[str, Family] = MappingProxyType(
    {
        "llama": _LLAMA,
        "mistral": replace(
            _LLAMA,
            label="mistral",
            config_defaults=_defaults(num_key_value_heads=8),
            window_default=4096,
            arch_prefixes=("Mistral",),
        ),
        "mixtral": replace(
            _LLAMA,
            label="mixtral",
            moe_layers="all",
            config_defaults=_defaults(num_key_value_heads=8, num_local_experts=8, num_experts_per_tok=2),
            # MixtralBlockSparseTop2MLP: w1 gate, w3 up, w2 down.
            module_names=_names(
                router="gate",
                **{"moe_experts.gate_proj": "w1", "moe_experts.up_proj": "w3", "moe_experts.down_proj": "w2"},
            ),
            arch_prefixes=("Mixtral",),
        ),
        "qwen2": replace(
            _LLAMA,
            label="qwen2",
            qkv_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            config_defaults=_defaults(num_key_value_heads=32),
            sliding_layers="from_max_window_layers",
            sliding_switch="use_sliding_window",
            window_default=4096,
            arch_prefixes=("Qwen2",),
        ),
        "qwen2_moe": replace(
            _LLAMA,
            label="qwen2_moe",
            lora_default=None,
            module_names=_MOE_NAMES,
            qkv_bias=True,
            attn_bias_keys=("qkv_bias",),
            o_bias_keys=(),
            mlp_bias_keys=(),
            moe_layers="sparse_step",
            shared_experts="qwen",
            config_defaults=_defaults(
                num_key_value_heads=16,
                num_local_experts=60,
                num_experts_per_tok=4,
                shared_expert_intermediate_size=5632,
            ),
            sliding_layers="even_below_max_window_layers",
            sliding_switch="use_sliding_window",
            window_default=4096,
            arch_prefixes=("Qwen2Moe",),
        ),
        "qwen3": replace(
            _LLAMA,
            label="qwen3",
            qk_norm="head",
            mlp_bias_keys=(),
            config_defaults=_defaults(num_key_value_heads=32, head_dim=128),
            sliding_layers="from_max_window_layers",
            sliding_switch="use_sliding_window",
            window_default=4096,
            arch_prefixes=("Qwen3",),
        ),
        "qwen3_moe": replace(
            _LLAMA,
            label="qwen3_moe",
            lora_default=None,
            module_names=_MOE_NAMES,
            qk_norm="head",
            mlp_bias_keys=(),
            moe_layers="sparse_step",
            config_defaults=_defaults(num_key_value_heads=4, num_local_experts=128, num_experts_per_tok=8),
            sliding_switch="use_sliding_window",
            window_default=4096,
            arch_prefixes=("Qwen3Moe",),
        ),
        "gemma": replace(
            _LLAMA,
            label="gemma",
            tie_default=True,
            gemma_norm=True,
            mlp_bias_keys=(),
            config_defaults=_defaults(num_key_value_heads=16, head_dim=256),
            arch_prefixes=("Gemma",),
        ),
        "gemma2": replace(
            _LLAMA,
            label="gemma2",
            tie_default=True,
            gemma_norm=True,
            softcap_defaults=(30.0, 50.0),
            norms_per_layer=4,
            mlp_bias_keys=(),
            sliding_layers="period",
            sliding_period=2,
            config_defaults=_defaults(num_key_value_heads=4, head_dim=256),
            window_default=4096,
            arch_prefixes=("Gemma2",),
        ),
        "gemma3_text": replace(
            _LLAMA,
            label="gemma3_text",
            tie_default=True,
            gemma_norm=True,
            softcap_defaults=(None, None),
            norms_per_layer=4,
            qk_norm="head",
            mlp_bias_keys=(),
            sliding_layers="period",
            sliding_period=6,
            sliding_pattern_key=True,
            bidirectional_window=True,
            config_defaults=_defaults(num_key_value_heads=4, head_dim=256),
            window_default=4096,
            arch_prefixes=("Gemma3ForCausalLM", "Gemma3Text"),
        ),
        "phi": Family(
            "phi",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            norms_per_layer=1,
            qk_norm="none",
            lm_head_bias=True,
            module_names=_names(o_proj="dense", up_proj="fc1", down_proj="fc2"),
            lora_default=("q_proj", "v_proj", "fc1", "fc2"),
            arch_prefixes=("Phi",),
        ),
        "phi3": replace(
            _LLAMA,
            label="phi3",
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            fused_linears=(_QKV, ("gate_proj", "up_proj")),
            module_names=_names(q_proj="qkv_proj", gate_proj="gate_up_proj"),
            lora_default=None,
            arch_prefixes=("Phi3",),
        ),
        "gpt2": Family(
            "gpt2",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            positions="learned",
            tie_default=True,
            ffn_mult_default=4,
            fused_linears=(_QKV,),
            module_names=_names(q_proj="c_attn", o_proj="c_proj", up_proj="c_fc", down_proj="c_proj"),
            lora_default=("c_attn",),
            arch_prefixes=("GPT2",),
        ),
        "gptj": Family(
            "gptj",
            norm="layernorm",
            mlp="plain",
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            norms_per_layer=1,
            lm_head_bias=True,
            ffn_mult_default=4,
            # GPTJForQuestionAnswering read num_labels up to transformers 5.23; from 5.24 it is the generic
            # two-logit head like every other decoder.
            module_names=_names(o_proj="out_proj", up_proj="fc_in", down_proj="fc_out"),
            arch_prefixes=("GPTJ",),
        ),
        "gpt_neox": Family(
            "gpt_neox",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=("attention_bias",),
            mlp_bias_keys=(),
            fused_linears=(_QKV,),
            module_names=_NEOX_NAMES,
            lora_default=("query_key_value",),
            arch_prefixes=("GPTNeoX",),
        ),
        # Falcon's per-layer norms and K/V heads depend on new_decoder_architecture/parallel_attn; the spec
        # builder resolves them (see spec._falcon_norms and spec._kv_heads).
        "falcon": Family(
            "falcon",
            norm="layernorm",
            mlp="plain",
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            all_bias_keys=("bias",),
            norms_per_layer=1,
            tie_default=True,
            ffn_mult_default=4,
            fused_linears=(_QKV,),
            module_names=_NEOX_NAMES,
            lora_default=("query_key_value",),
            arch_prefixes=("Falcon", "RW"),
        ),
        "opt": Family(
            "opt",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            all_bias_keys=("enable_bias",),
            norm_affine_keys=("layer_norm_elementwise_affine",),
            positions="learned",
            position_offset=2,
            tie_default=True,
            module_names=_names(o_proj="out_proj", up_proj="fc1", down_proj="fc2"),
            arch_prefixes=("OPT",),
        ),
        "bloom": Family(
            "bloom",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            positions="alibi",
            embed_norm=True,
            tie_default=True,
            ffn_mult_default=4,
            fused_linears=(_QKV,),
            module_names=_NEOX_NAMES,
            lora_default=("query_key_value",),
            arch_prefixes=("Bloom",),
        ),
        "bert": Family(
            "bert",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            final_norm=False,
            positions="learned",
            embed_norm=True,
            token_types=True,
            tie_default=True,
            layout="encoder",
            head_style="bert",
            module_names=_BERT_NAMES,
            lora_default=("query", "value"),
            arch_prefixes=("Bert",),
        ),
        "roberta": Family(
            "roberta",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            final_norm=False,
            positions="learned",
            embed_norm=True,
            token_types=True,
            tie_default=True,
            layout="encoder",
            head_style="roberta",
            module_names=_BERT_NAMES,
            lora_default=("query", "value"),
            arch_prefixes=("Roberta",),
        ),
        # T5's MLP is plain unless feed_forward_proj says "gated-…"; the spec builder reads it.
        "t5": Family(
            "t5",
            mlp="plain",
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            positions="relative",
            tie_default=True,
            layout="encoder_decoder",
            head_style="t5",
            config_defaults=_defaults(head_dim=64),  # T5Config's d_kv
            # A gated (v1.1) MLP is wi_0 (gate) and wi_1 (up); a plain one has wi.
            module_names=_names(
                q_proj="q",
                k_proj="k",
                v_proj="v",
                o_proj="o",
                gate_proj="wi_0",
                up_proj="wi",
                down_proj="wo",
                **{"gated.up_proj": "wi_1"},
            ),
            lora_default=("q", "v"),
            arch_prefixes=("T5",),
        ),
        "deepseek_v2": replace(
            _LLAMA,
            label="deepseek_v2",
            lora_default=None,
            module_names=_MOE_NAMES,
            mla=True,
            moe_layers="first_k_dense",
            shared_experts="deepseek",
            mlp_bias_keys=(),
            config_defaults=_defaults(
                num_local_experts=64, n_shared_experts=2, first_k_dense_replace=0, q_lora_rank=1536
            ),
            arch_prefixes=("DeepseekV2",),
        ),
        "deepseek_v3": replace(
            _LLAMA,
            label="deepseek_v3",
            lora_default=None,
            router_is_linear=False,
            mla=True,
            moe_layers="first_k_dense",
            shared_experts="deepseek",
            mlp_bias_keys=(),
            config_defaults=_defaults(
                num_key_value_heads=128,
                num_local_experts=256,
                num_experts_per_tok=8,
                n_shared_experts=1,
                first_k_dense_replace=3,
                q_lora_rank=1536,
            ),
            arch_prefixes=("DeepseekV3",),
        ),
        "olmo2": replace(
            _LLAMA,
            label="olmo2",
            qk_norm="full",
            mlp_bias_keys=(),
            lora_default=None,
            arch_prefixes=("Olmo2",),
        ),
        "starcoder2": Family(
            "starcoder2",
            norm="layernorm",
            mlp="plain",
            qkv_bias=True,
            o_bias=True,
            mlp_bias=True,
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            all_bias_keys=("use_bias",),
            tie_default=True,
            config_defaults=_defaults(num_key_value_heads=2),
            module_names=_names(up_proj="c_fc", down_proj="c_proj"),
            lora_default=None,
            arch_prefixes=("Starcoder2",),
        ),
        # The seed article's block: 4h² attention, h→4h→h MLP, two LayerNorms a layer, a final one, no
        # biases, output tied to the embedding.  ``bias: true`` adds the linear biases of a real GPT.
        "classic": Family(
            "classic (seed article's GPT-style block)",
            norm="layernorm",
            mlp="plain",
            attn_bias_keys=(),
            o_bias_keys=(),
            mlp_bias_keys=(),
            all_bias_keys=("bias",),
            positions="none",
            tie_default=True,
            ffn_mult_default=4,
        ),
        # Unknown model_type: a Llama-style decoder from the generic fields, flagged as generic.  Which of
        # its layers slide is unknown without layer_types, so none are taken to (the KV cache's upper bound).
        "generic": replace(
            _LLAMA, label="generic Llama-style decoder", lora_default=None, arch_prefixes=(), generic=True
        ),
    }
)

# model_types the counter refuses rather than count as something else: (their architectures, what to do).
UNSUPPORTED: MappingProxyType[str, tuple[tuple[str, ...], str]] = MappingProxyType(
    {
        "gemma3": (
            ("Gemma3ForConditionalGeneration", "Gemma3Model"),
            "model_type 'gemma3' is multimodal Gemma 3: a SigLIP vision tower and a projector around the "
            "language model, which the counter does not count; count the language model from the config's "
            "text_config (model_type: gemma3_text, architectures: [Gemma3ForCausalLM])",
        ),
    }
)

# Old or alternative spellings of model_type seen in real config.json files.
MODEL_TYPE_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "RefinedWeb": "falcon",
        "RefinedWebModel": "falcon",
        "gpt-neox": "gpt_neox",
        "gpt-j": "gptj",
        "llama2": "llama",
        "llama3": "llama",
    }
)

# Keys an old model_type implied without writing them: Falcon-40B's original remote code ("RefinedWeb")
# always built the grouped-K/V decoder that transformers switches on with new_decoder_architecture.
MODEL_TYPE_IMPLIES: MappingProxyType[str, MappingProxyType[str, object]] = MappingProxyType(
    {"RefinedWeb": MappingProxyType({"new_decoder_architecture": True})}
)


def family_for_architecture(architecture: str) -> str | None:
    """Return the model_type whose class-name prefix is the longest match for ``architecture``."""
    best: tuple[int, str] | None = None
    for model_type, family in FAMILIES.items():
        for prefix in family.arch_prefixes:
            if architecture.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), model_type)
    return None if best is None else best[1]
