"""One normalised ``ModelSpec`` from a HF config, the seed article's short notation, or a preset."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vault_tools.core.families import (
    FAMILIES,
    MODEL_TYPE_ALIASES,
    Family,
    MlpKind,
    NormKind,
    PositionKind,
    QkNormKind,
    family_for_architecture,
)
from vault_tools.errors import SpecError


@dataclass(frozen=True, slots=True)
class MoESpec:
    """Routed experts of a mixture-of-experts model."""

    num_experts: int
    experts_per_token: int
    expert_intermediate_size: int
    moe_layers: tuple[int, ...]  # indices of decoder layers whose MLP is routed
    shared_intermediate_size: int = 0  # one gated MLP always on (0: none)
    shared_gate: bool = False  # Qwen's sigmoid gate on the shared expert


@dataclass(frozen=True, slots=True)
class MLASpec:
    """DeepSeek multi-head latent attention dimensions."""

    q_lora_rank: int | None
    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int

    @property
    def qk_head_dim(self) -> int:
        return self.qk_rope_head_dim + self.qk_nope_head_dim


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model architecture reduced to what the counters need; every field resolved, nothing implicit."""

    model_type: str
    family: Family
    hidden_size: int
    num_layers: int  # layers of the main stack: the decoder, or the encoder for encoder-only models
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool
    norm: NormKind
    norm_bias: bool
    mlp: MlpKind
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    lm_head_bias: bool
    norms_per_layer: int
    final_norm: bool
    qk_norm: QkNormKind
    positions: PositionKind
    max_positions: int | None = None
    position_rows: int = 0  # rows of a learned position table (max positions + any offset)
    token_types: int = 0
    embed_norm: bool = False
    decoder_layers: int = 0  # encoder-decoder only: layers of the decoder stack
    relative_buckets: int = 0
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    embed_proj_dim: int | None = None  # OPT-350m's word_embed_proj_dim when it differs from hidden_size
    architecture: str | None = None
    num_labels: int = 2
    sliding_window: int | None = None
    layer_types: tuple[str, ...] | None = None
    name: str | None = None
    notes: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def generic(self) -> bool:
        return self.family.generic

    @property
    def encoder_decoder(self) -> bool:
        return self.family.layout == "encoder_decoder"

    @property
    def total_layers(self) -> int:
        return self.num_layers + self.decoder_layers


# Canonical key ← spellings seen in real configs and in the seed article's notation.
KEY_ALIASES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "hidden_size": ("n_embd", "d_model", "h", "dim", "n_embed", "hidden_dim"),
        "num_hidden_layers": ("n_layer", "num_layers", "L", "n_layers"),
        "num_attention_heads": ("n_head", "num_heads", "n_heads"),
        "num_key_value_heads": ("num_kv_heads", "n_kv_heads", "n_head_kv", "num_key_value_groups_total"),
        "head_dim": ("d_kv", "d_head"),
        "intermediate_size": ("n_inner", "ffn_dim", "d_ff", "ffn", "ffn_hidden_size"),
        "vocab_size": ("V", "n_vocab"),
        "max_position_embeddings": ("n_positions", "N", "max_seq_len"),
        "tie_word_embeddings": ("tied", "tie_embeddings"),
        "num_local_experts": ("num_experts", "n_routed_experts", "moe_num_experts"),
        "num_experts_per_tok": ("moe_top_k", "top_k"),
    }
)
_SHORT_NOTATION = frozenset({"L", "h", "V", "n_head", "ffn", "N", "tied"})
_ALIAS_TO_CANONICAL = {alias: key for key, aliases in KEY_ALIASES.items() for alias in aliases}
# Keys read by the tool but not model structure: kept in ``config`` for the memory/compute options.
_NON_STRUCTURAL = frozenset({"preset", "name", "memory", "training", "inference", "compute", "source"})


def canonical_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Fold every key spelling onto its canonical HF name; two spellings with different values is an error."""
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise SpecError(f"key {key!r} is not a string; write config keys as names such as 'hidden_size'")
        canonical = _ALIAS_TO_CANONICAL.get(key, key)
        if canonical in out and out[canonical] != value:
            raise SpecError(
                f"contradictory keys {origin[canonical]!r} ({out[canonical]!r}) and {key!r} ({value!r}) "
                f"both set {canonical!r}; keep one"
            )
        out[canonical] = value
        origin.setdefault(canonical, key)
    return out


def _int(cfg: Mapping[str, Any], key: str, *, required: bool = True, minimum: int = 1) -> int | None:
    value = cfg.get(key)
    if value is None:
        if required:
            raise SpecError(f"{key!r} is missing; it is needed to count this architecture")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise SpecError(f"{key!r} must be a whole number, got {value!r}")
    if value < minimum:
        raise SpecError(f"{key!r} must be at least {minimum}, got {value!r}")
    return int(value)


def _bool(cfg: Mapping[str, Any], key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SpecError(f"{key!r} must be true or false, got {value!r}")
    return value


def _first_bool(cfg: Mapping[str, Any], keys: tuple[str, ...], default: bool) -> bool:
    for key in keys:
        if key in cfg and cfg[key] is not None:
            return _bool(cfg, key, default)
    return default


def resolve_model_type(cfg: Mapping[str, Any], *, short_notation: bool) -> tuple[str, str | None, list[str]]:
    """Pick the family: ``model_type``, else ``architectures[0]``, else short notation or generic."""
    notes: list[str] = []
    architectures = cfg.get("architectures")
    architecture: str | None = None
    if architectures is not None:
        if isinstance(architectures, str):
            architectures = [architectures]
        if not isinstance(architectures, list) or not architectures or not isinstance(architectures[0], str):
            raise SpecError("'architectures' must be a list of class names such as ['LlamaForCausalLM']")
        architecture = architectures[0]
    model_type = cfg.get("model_type")
    if model_type is not None:
        if not isinstance(model_type, str):
            raise SpecError(f"'model_type' must be a string, got {model_type!r}")
        model_type = MODEL_TYPE_ALIASES.get(model_type, model_type)
        if model_type not in FAMILIES:
            notes.append(
                f"model_type {model_type!r} is not in the family table; counted as a generic Llama-style "
                "decoder from the generic fields"
            )
            return "generic", architecture, notes
        return model_type, architecture, notes
    if architecture is not None:
        found = family_for_architecture(architecture)
        if found is not None:
            return found, architecture, notes
        notes.append(f"architecture {architecture!r} is not known; counted as a generic Llama-style decoder")
        return "generic", architecture, notes
    if short_notation:
        return "classic", None, notes
    notes.append("no model_type given; counted as a generic Llama-style decoder from the generic fields")
    return "generic", None, notes


def build_spec(raw: Mapping[str, Any], *, name: str | None = None) -> ModelSpec:
    """Build a ``ModelSpec`` from canonical-or-aliased config keys (presets already merged in)."""
    short_notation = any(key in _SHORT_NOTATION for key in raw)
    cfg = canonical_keys(raw)
    model_type, architecture, notes = resolve_model_type(cfg, short_notation=short_notation)
    family = FAMILIES[model_type]

    # LLaMA's original params.json: dim/n_layers/n_heads plus multiple_of instead of an FFN size.
    if "multiple_of" in cfg and "intermediate_size" not in cfg and "hidden_size" in cfg:
        cfg["intermediate_size"] = _meta_ffn_size(cfg)

    hidden = _int(cfg, "hidden_size")
    assert hidden is not None
    layers = _int(cfg, "num_hidden_layers")
    assert layers is not None
    vocab = _int(cfg, "vocab_size")
    assert vocab is not None
    heads = _int(cfg, "num_attention_heads", required=not short_notation or "n_head" in raw)
    if heads is None:
        heads = 1  # the seed's formula does not depend on the head count
    head_dim = _int(cfg, "head_dim", required=False)
    if head_dim is None:
        if hidden % heads:
            raise SpecError(
                f"'num_attention_heads' ({heads}) does not divide 'hidden_size' ({hidden}); "
                "set 'head_dim' if the model uses a custom head size"
            )
        head_dim = hidden // heads

    kv_heads = _kv_heads(cfg, heads, model_type)
    if heads % kv_heads:
        raise SpecError(
            f"'num_key_value_heads' ({kv_heads}) must divide 'num_attention_heads' ({heads}) "
            "for grouped-query attention"
        )

    ffn = _int(cfg, "intermediate_size", required=False)
    if ffn is None:
        if family.ffn_mult_default is None:
            raise SpecError(
                f"'intermediate_size' is missing; {family.label} needs the MLP width (HF key "
                "'intermediate_size', or 'ffn' in the short notation)"
            )
        ffn = family.ffn_mult_default * hidden

    all_bias = _first_bool(cfg, family.all_bias_keys, default=False) if family.all_bias_keys else None
    qkv_bias = family.qkv_bias if all_bias is None else all_bias
    o_bias = family.o_bias if all_bias is None else all_bias
    mlp_bias = family.mlp_bias if all_bias is None else all_bias
    qkv_bias = _first_bool(cfg, family.attn_bias_keys, qkv_bias)
    o_bias = _first_bool(cfg, family.o_bias_keys, o_bias)
    mlp_bias = _first_bool(cfg, family.mlp_bias_keys, mlp_bias)

    norm = family.norm
    norms_per_layer = family.norms_per_layer
    final_norm = family.final_norm
    mlp = family.mlp
    positions = family.positions
    qk_norm = family.qk_norm
    decoder_layers = 0
    relative_buckets = 0
    embed_proj_dim = None

    if model_type == "falcon":
        norms_per_layer = _falcon_norms(cfg)
    elif model_type == "phi" and _bool(cfg, "qk_layernorm", False):
        qk_norm = "head_affine"
    elif model_type == "t5":
        proj = str(cfg.get("feed_forward_proj", "relu"))
        mlp = "gated" if proj.startswith("gated") else "plain"
        decoder_layers = _int(cfg, "num_decoder_layers", required=False) or layers
        relative_buckets = _int(cfg, "relative_attention_num_buckets", required=False) or 32
    elif model_type == "opt":
        proj_dim = _int(cfg, "word_embed_proj_dim", required=False)
        embed_proj_dim = proj_dim if proj_dim not in (None, hidden) else None
        final_norm = _bool(cfg, "do_layer_norm_before", True) and not _bool(
            cfg, "_remove_final_layer_norm", False
        )
    elif model_type == "classic" and "max_position_embeddings" in cfg:
        positions = "learned"

    max_positions = _int(cfg, "max_position_embeddings", required=positions == "learned")
    position_rows = (max_positions or 0) + family.position_offset if positions == "learned" else 0
    token_types = (_int(cfg, "type_vocab_size", required=False) or 2) if family.token_types else 0

    tie = _bool(cfg, "tie_word_embeddings", family.tie_default)
    num_labels = _num_labels(cfg)

    sliding_window = _int(cfg, "sliding_window", required=False, minimum=0) or None
    layer_types_raw = cfg.get("layer_types")
    layer_types = tuple(str(t) for t in layer_types_raw) if isinstance(layer_types_raw, list) else None

    spec = ModelSpec(
        model_type=model_type,
        family=family,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=ffn,
        vocab_size=vocab,
        tie_word_embeddings=tie,
        norm=norm,
        norm_bias=norm == "layernorm",
        mlp=mlp,
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        mlp_bias=mlp_bias,
        lm_head_bias=family.lm_head_bias,
        norms_per_layer=norms_per_layer,
        final_norm=final_norm,
        qk_norm=qk_norm,
        positions=positions,
        max_positions=max_positions,
        position_rows=position_rows,
        token_types=token_types,
        embed_norm=family.embed_norm,
        decoder_layers=decoder_layers,
        relative_buckets=relative_buckets,
        moe=_moe(cfg, family, layers, notes),
        mla=_mla(cfg) if family.mla else None,
        embed_proj_dim=embed_proj_dim,
        architecture=architecture,
        num_labels=num_labels,
        sliding_window=sliding_window,
        layer_types=layer_types,
        name=name,
        notes=tuple(notes),
        config=MappingProxyType({k: v for k, v in cfg.items() if k not in _NON_STRUCTURAL}),
    )
    return spec


def _meta_ffn_size(cfg: Mapping[str, Any]) -> int:
    """FFN width of Meta's LLaMA reference code: 2/3·4h, times an optional multiplier, rounded up."""
    hidden = _int(cfg, "hidden_size")
    multiple_of = _int(cfg, "multiple_of")
    assert hidden is not None and multiple_of is not None
    width = int(2 * 4 * hidden / 3)
    multiplier = cfg.get("ffn_dim_multiplier")
    if multiplier is not None:
        width = int(float(multiplier) * width)
    return multiple_of * math.ceil(width / multiple_of)


def _kv_heads(cfg: Mapping[str, Any], heads: int, model_type: str) -> int:
    if model_type == "falcon":
        if _bool(cfg, "new_decoder_architecture", False):
            return _int(cfg, "num_key_value_heads", required=False) or heads
        return 1 if _bool(cfg, "multi_query", True) else heads
    if cfg.get("multi_query") is True:
        return 1
    kv = _int(cfg, "num_key_value_heads", required=False)
    return heads if kv is None else kv


def _falcon_norms(cfg: Mapping[str, Any]) -> int:
    """LayerNorms per Falcon layer: 2 for the new decoder (ln_attn, ln_mlp) or a sequential block, else 1."""
    if _bool(cfg, "new_decoder_architecture", False):
        return _int(cfg, "num_ln_in_parallel_attn", required=False) or 2
    return 1 if _bool(cfg, "parallel_attn", True) else 2


def _num_labels(cfg: Mapping[str, Any]) -> int:
    id2label = cfg.get("id2label")
    if isinstance(id2label, Mapping) and id2label:
        return len(id2label)
    return _int(cfg, "num_labels", required=False) or 2


def _moe(cfg: Mapping[str, Any], family: Family, layers: int, notes: list[str]) -> MoESpec | None:
    if family.moe_layers == "none":
        return None
    experts = _int(cfg, "num_local_experts", required=False, minimum=0)
    if not experts:
        return None
    top_k = _int(cfg, "num_experts_per_tok", required=False)
    if top_k is None:
        notes.append(
            "'num_experts_per_tok' is missing, so 'active' counts every expert; "
            "set it for the per-token count"
        )
        top_k = experts
    if top_k > experts:
        raise SpecError(f"'num_experts_per_tok' ({top_k}) exceeds the number of experts ({experts})")
    if family.moe_layers == "all":
        moe_layers = tuple(range(layers))
        expert_size = _int(cfg, "intermediate_size")
    elif family.moe_layers == "sparse_step":
        step = _int(cfg, "decoder_sparse_step", required=False) or 1
        dense = {int(i) for i in cfg.get("mlp_only_layers") or ()}
        moe_layers = tuple(i for i in range(layers) if i not in dense and (i + 1) % step == 0)
        expert_size = _int(cfg, "moe_intermediate_size")
    else:
        # DeepSeek's reference code also reads moe_layer_freq (1 in every released config).
        first_dense = _int(cfg, "first_k_dense_replace", required=False, minimum=0) or 0
        freq = _int(cfg, "moe_layer_freq", required=False) or 1
        moe_layers = tuple(i for i in range(layers) if i >= first_dense and i % freq == 0)
        expert_size = _int(cfg, "moe_intermediate_size")
    assert expert_size is not None
    shared = 0
    if family.shared_experts == "qwen":
        shared = _int(cfg, "shared_expert_intermediate_size", required=False, minimum=0) or 0
    elif family.shared_experts == "deepseek":
        shared = (_int(cfg, "n_shared_experts", required=False, minimum=0) or 0) * expert_size
    return MoESpec(
        num_experts=experts,
        experts_per_token=top_k,
        expert_intermediate_size=expert_size,
        moe_layers=moe_layers,
        shared_intermediate_size=shared,
        shared_gate=family.shared_experts == "qwen" and shared > 0,
    )


def _mla(cfg: Mapping[str, Any]) -> MLASpec:
    return MLASpec(
        q_lora_rank=_int(cfg, "q_lora_rank", required=False),
        kv_lora_rank=_int(cfg, "kv_lora_rank") or 0,
        qk_rope_head_dim=_int(cfg, "qk_rope_head_dim") or 0,
        qk_nope_head_dim=_int(cfg, "qk_nope_head_dim") or 0,
        v_head_dim=_int(cfg, "v_head_dim") or 0,
    )
