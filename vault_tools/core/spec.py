"""One normalised ``ModelSpec`` from a HF config, the seed article's short notation, or a preset."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from vault_tools.core.families import (
    FAMILIES,
    MODEL_TYPE_ALIASES,
    MODEL_TYPE_IMPLIES,
    UNSUPPORTED,
    Family,
    MlpKind,
    NormKind,
    PositionKind,
    QkNormKind,
    family_for_architecture,
)
from vault_tools.core.heads import HeadKind, resolve_head
from vault_tools.core.keys import NULL_IS_A_VALUE, ConfigFields, also_spelled, fold_keys
from vault_tools.core.moe import MoESpec, read_moe
from vault_tools.errors import SpecError
from vault_tools.records import field, record


@record
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


@record
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
    head: HeadKind = "causal_lm"
    norm_affine: bool = True  # False: LayerNorms without weight and bias (OPT's elementwise_affine)
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


# The seed article's own letters: a spec using them and no model_type is the article's GPT-style block.
_SHORT_NOTATION = frozenset({"L", "h", "V", "n_head", "ffn", "N", "tied"})
# Keys read by the tool but not model structure: kept in ``config`` for the memory/compute options.
_NON_STRUCTURAL = frozenset({"preset", "name", "memory", "training", "inference", "compute", "source"})


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
    for refused, (classes, message) in UNSUPPORTED.items():
        if model_type == refused or (model_type is None and architecture in classes):
            raise SpecError(message)
    if model_type is not None:
        if not isinstance(model_type, str):
            raise SpecError(f"'model_type' must be a string such as 'llama', got {model_type!r}")
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
    if "multiple_of" in cfg:
        notes.append("Meta's params.json layout (dim, n_layers, multiple_of): counted as a llama model")
        return "llama", None, notes
    if short_notation:
        return "classic", None, notes
    notes.append("no model_type given; counted as a generic Llama-style decoder from the generic fields")
    return "generic", None, notes


def _needed_by(model_type: str, family: Family, cfg: Mapping[str, Any]) -> str:
    if model_type == "classic":
        return "the seed article's short notation (L, h, V)"
    if not family.generic:
        return f"the {family.label} family"
    given = cfg.get("model_type")
    if isinstance(given, str):
        return (
            f"model_type {given!r} is not a known family, so it is counted as a generic Llama-style "
            "decoder, which"
        )
    return "a spec without model_type is counted as a generic Llama-style decoder, which"


def build_spec(raw: Mapping[str, Any], *, name: str | None = None) -> ModelSpec:
    """Build a ``ModelSpec`` from canonical-or-aliased config keys (presets already merged in)."""
    short_notation = any(key in _SHORT_NOTATION for key in raw)
    cfg, spelled = fold_keys(raw)
    original_type = cfg.get("model_type")
    if isinstance(original_type, str):
        for key, value in MODEL_TYPE_IMPLIES.get(original_type, {}).items():
            cfg.setdefault(key, value)
    model_type, architecture, notes = resolve_model_type(cfg, short_notation=short_notation)
    family = FAMILIES[model_type]
    defaulted: set[str] = set()
    for key, value in family.config_defaults.items():
        if cfg.get(key) is None and not (key in cfg and key in NULL_IS_A_VALUE):
            cfg[key] = value
            defaulted.add(key)
            notes.append(f"{key!r} not given; transformers' {family.label} default {value!r} used")
    fields = ConfigFields(cfg, spelled, _needed_by(model_type, family, cfg))
    mtp = cfg.get("num_nextn_predict_layers")
    if type(mtp) is int and mtp > 0:
        # transformers builds no MTP module (DeepSeek-V3 checkpoints ship one, 14B: the Hub's "685B").
        notes.append(
            f"num_nextn_predict_layers: {mtp}: the multi-token-prediction module a checkpoint ships beside "
            "the model is not counted here, so its files are larger than the sizes below"
        )

    # LLaMA's original params.json: dim/n_layers/n_heads plus multiple_of instead of an FFN size.
    if "multiple_of" in cfg and cfg.get("intermediate_size") is None and "hidden_size" in cfg:
        cfg["intermediate_size"] = _meta_ffn_size(fields)

    hidden = fields.need("hidden_size")
    layers = fields.need("num_hidden_layers")
    vocab = fields.need("vocab_size")
    heads = fields.whole("num_attention_heads", required=not short_notation or "n_head" in raw)
    if heads is None:
        heads = 1  # the seed's formula does not depend on the head count
    head_dim = fields.whole("head_dim", required=False)
    if head_dim is None:
        if hidden % heads:
            raise SpecError(
                f"{fields.name('num_attention_heads')} ({heads}) does not divide "
                f"{fields.name('hidden_size')} ({hidden}); "
                "set 'head_dim' if the model uses a custom head size"
            )
        head_dim = hidden // heads

    kv_heads = _kv_heads(fields, heads, model_type)
    if heads % kv_heads and "num_key_value_heads" in defaulted:
        raise SpecError(
            f"'num_key_value_heads' is not given, and transformers' {family.label} default of {kv_heads} "
            f"does not divide {fields.name('num_attention_heads')} ({heads}); set 'num_key_value_heads' "
            "(equal to the heads for plain multi-head attention)"
        )
    if heads % kv_heads:
        raise SpecError(
            f"{fields.name('num_key_value_heads')} ({kv_heads}) does not divide "
            f"{fields.name('num_attention_heads')} ({heads}); grouped-query attention shares each K/V head "
            f"among a whole number of query heads, so use a divisor of {heads}"
        )

    ffn = fields.whole("intermediate_size", required=False)
    if ffn is None:
        if family.ffn_mult_default is None:
            raise SpecError(
                f"'intermediate_size' is missing; {fields.needed_by} needs the MLP width"
                f"{also_spelled('intermediate_size')}"
            )
        ffn = family.ffn_mult_default * hidden

    # A switch for every bias (use_bias, enable_bias, bias) only overrides the family when it is given:
    # StarCoder2 and OPT have biases unless told otherwise.
    qkv_bias = fields.first_flag(family.all_bias_keys, family.qkv_bias)
    o_bias = fields.first_flag(family.all_bias_keys, family.o_bias)
    mlp_bias = fields.first_flag(family.all_bias_keys, family.mlp_bias)
    qkv_bias = fields.first_flag(family.attn_bias_keys, qkv_bias)
    o_bias = fields.first_flag(family.o_bias_keys, o_bias)
    mlp_bias = fields.first_flag(family.mlp_bias_keys, mlp_bias)

    norms_per_layer = family.norms_per_layer
    final_norm = family.final_norm
    mlp = family.mlp
    positions = family.positions
    qk_norm = family.qk_norm
    decoder_layers = 0
    relative_buckets = 0
    embed_proj_dim = None

    if model_type == "falcon":
        norms_per_layer = _falcon_norms(fields)
    elif model_type == "phi" and fields.flag("qk_layernorm", False):
        qk_norm = "head_affine"
    elif model_type == "t5":
        proj = str(cfg.get("feed_forward_proj", "relu"))
        mlp = "gated" if proj.startswith("gated") else "plain"
        decoder_layers = fields.whole("num_decoder_layers", required=False) or layers
        relative_buckets = fields.whole("relative_attention_num_buckets", required=False) or 32
    elif model_type == "opt":
        proj_dim = fields.whole("word_embed_proj_dim", required=False)
        embed_proj_dim = proj_dim if proj_dim not in (None, hidden) else None
        final_norm = fields.flag("do_layer_norm_before", True) and not fields.flag(
            "_remove_final_layer_norm", False
        )
    elif model_type == "classic" and "max_position_embeddings" in cfg:
        positions = "learned"

    max_positions = fields.whole("max_position_embeddings", required=positions == "learned")
    position_rows = (max_positions or 0) + family.position_offset if positions == "learned" else 0
    token_types = (fields.whole("type_vocab_size", required=False) or 2) if family.token_types else 0

    head, head_note = resolve_head(architecture, family.head_style)
    if head_note:
        notes.append(head_note)

    sliding_window = fields.whole("sliding_window", required=False, minimum=0) or None
    switch = family.sliding_switch
    if "sliding_window" not in cfg and family.window_default and (switch is None or cfg.get(switch) is True):
        sliding_window = family.window_default
        notes.append(
            f"'sliding_window' not given; transformers' {family.label} default {sliding_window} used"
        )
    if sliding_window and family.bidirectional_window and cfg.get("use_bidirectional_attention") is True:
        # Gemma3TextConfig: "due to fa we set exclusive bounds"; the layers and their cache use w // 2 + 1.
        notes.append(
            f"use_bidirectional_attention: transformers uses a sliding window of {sliding_window} // 2 + 1 "
            f"= {sliding_window // 2 + 1} tokens"
        )
        sliding_window = sliding_window // 2 + 1
    fields.whole("sliding_window_pattern", required=False, minimum=1)  # checked here, read by the KV cache
    _check_rotary_factor(cfg.get("partial_rotary_factor"))
    layer_types_raw = cfg.get("layer_types")
    layer_types = tuple(str(t) for t in layer_types_raw) if isinstance(layer_types_raw, list) else None

    return ModelSpec(
        model_type=model_type,
        family=family,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=ffn,
        vocab_size=vocab,
        tie_word_embeddings=fields.flag("tie_word_embeddings", family.tie_default),
        norm=family.norm,
        norm_bias=family.norm == "layernorm",
        mlp=mlp,
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        mlp_bias=mlp_bias,
        lm_head_bias=family.lm_head_bias,
        norms_per_layer=norms_per_layer,
        final_norm=final_norm,
        qk_norm=qk_norm,
        positions=positions,
        head=head,
        norm_affine=fields.first_flag(family.norm_affine_keys, True),
        max_positions=max_positions,
        position_rows=position_rows,
        token_types=token_types,
        embed_norm=family.embed_norm,
        decoder_layers=decoder_layers,
        relative_buckets=relative_buckets,
        moe=read_moe(fields, family, layers, notes),
        mla=_mla(fields) if family.mla else None,
        embed_proj_dim=embed_proj_dim,
        architecture=architecture,
        num_labels=_num_labels(fields),
        sliding_window=sliding_window,
        layer_types=layer_types,
        name=name,
        notes=tuple(notes),
        config=MappingProxyType({k: v for k, v in cfg.items() if k not in _NON_STRUCTURAL}),
    )


def _check_rotary_factor(factor: Any) -> None:
    """The share of each head's width rotary embeddings rotate: a number from 0 to 1 (or not given)."""
    if factor is None:
        return
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 <= factor <= 1:
        raise SpecError(f"'partial_rotary_factor' must be a number from 0 to 1 such as 0.4, got {factor!r}")


def _meta_ffn_size(fields: ConfigFields) -> int:
    """FFN width of Meta's LLaMA reference code: 2/3·4h, times an optional multiplier, rounded up."""
    hidden = fields.need("hidden_size")
    multiple_of = fields.need("multiple_of")
    width = int(2 * 4 * hidden / 3)
    multiplier = fields.cfg.get("ffn_dim_multiplier")
    if multiplier is not None:
        if (
            isinstance(multiplier, bool)
            or not isinstance(multiplier, int | float)
            or not 0 < multiplier < math.inf  # ".nan" and ".inf" too: int() cannot convert them
        ):
            raise SpecError(f"'ffn_dim_multiplier' must be a positive number such as 1.3, got {multiplier!r}")
        width = int(float(multiplier) * width)
    return multiple_of * math.ceil(width / multiple_of)


def _kv_heads(fields: ConfigFields, heads: int, model_type: str) -> int:
    if model_type == "falcon":
        if fields.flag("new_decoder_architecture", False):
            return fields.whole("num_key_value_heads", required=False) or heads
        return 1 if fields.flag("multi_query", True) else heads
    if fields.flag("multi_query", False):
        return 1
    kv = fields.whole("num_key_value_heads", required=False)
    return heads if kv is None else kv


def _falcon_norms(fields: ConfigFields) -> int:
    """LayerNorms per Falcon layer: 2 for the new decoder (ln_attn, ln_mlp) or a sequential block, else 1."""
    if fields.flag("new_decoder_architecture", False):
        return fields.whole("num_ln_in_parallel_attn", required=False) or 2
    return 1 if fields.flag("parallel_attn", True) else 2


def _num_labels(fields: ConfigFields) -> int:
    id2label = fields.cfg.get("id2label")
    if isinstance(id2label, Mapping) and id2label:
        return len(id2label)
    return fields.whole("num_labels", required=False) or 2


def _mla(fields: ConfigFields) -> MLASpec:
    return MLASpec(
        q_lora_rank=fields.whole("q_lora_rank", required=False),
        kv_lora_rank=fields.need("kv_lora_rank"),
        qk_rope_head_dim=fields.need("qk_rope_head_dim"),
        qk_nope_head_dim=fields.need("qk_nope_head_dim"),
        v_head_dim=fields.need("v_head_dim"),
    )
