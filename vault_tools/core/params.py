"""Exact parameter counts: one generic counter over the parts a ``ModelSpec`` says the model has."""

from __future__ import annotations

import math
from dataclasses import dataclass

from vault_tools.core.spec import ModelSpec


@dataclass(frozen=True, slots=True)
class Part:
    """One parameter tensor of the model, repeated ``copies`` times (e.g. once per layer).

    Linear weights keep torch's ``(out_features, in_features)`` shape so adapters (LoRA) can be sized
    from the same parts.  ``active_copies`` is how many copies one token uses (routed experts: top-k).
    """

    component: str
    name: str
    shape: tuple[int, ...]
    copies: int
    formula: str
    active_copies: int | None = None
    linear: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def count(self) -> int:
        return self.size * self.copies

    @property
    def active(self) -> int:
        return self.size * (self.copies if self.active_copies is None else self.active_copies)


@dataclass(frozen=True, slots=True)
class Approximation:
    """One of the seed article's closed-form estimates, with its error against the exact count."""

    label: str
    formula: str
    value: int
    exact: int

    @property
    def error(self) -> int:
        return self.value - self.exact

    @property
    def relative_error(self) -> float:
        return self.error / self.exact if self.exact else 0.0


@dataclass(frozen=True, slots=True)
class ParamCount:
    """The exact count of one model: its parts, the totals and the seed approximations."""

    spec: ModelSpec
    parts: tuple[Part, ...]
    head: str

    @property
    def total(self) -> int:
        return sum(part.count for part in self.parts)

    @property
    def active(self) -> int:
        return sum(part.active for part in self.parts)

    @property
    def breakdown(self) -> dict[str, int]:
        """Component → parameters, in the order the model is built (empty components left out)."""
        out: dict[str, int] = {}
        for part in self.parts:
            out[part.component] = out.get(part.component, 0) + part.count
        return {key: value for key, value in out.items() if value}

    @property
    def formulas(self) -> dict[str, str]:
        """Component → the sum of its parts' formulas."""
        out: dict[str, list[str]] = {}
        for part in self.parts:
            if part.count:
                out.setdefault(part.component, []).append(part.formula)
        return {key: " + ".join(value) for key, value in out.items()}

    @property
    def approximations(self) -> tuple[Approximation, ...]:
        return seed_approximations(self.spec, self.total)


def seed_approximations(spec: ModelSpec, exact: int) -> tuple[Approximation, ...]:
    """The seed article's three estimates for ``spec`` (L counts every layer of every stack)."""
    layers, hidden, vocab = spec.total_layers, spec.hidden_size, spec.vocab_size
    core = layers * 12 * hidden * hidden
    with_norms = layers * (12 * hidden * hidden + 4 * hidden) + 2 * hidden
    return (
        Approximation("seed short form", "12·L·h² + V·h", core + vocab * hidden, exact),
        Approximation("seed full, tied head", "L·(12h² + 4h) + V·h + 2h", with_norms + vocab * hidden, exact),
        Approximation(
            "seed full, untied head", "L·(12h² + 4h) + 2·V·h + 2h", with_norms + 2 * vocab * hidden, exact
        ),
    )


def count_params(spec: ModelSpec) -> ParamCount:
    """Count every parameter tensor ``spec`` builds, by component."""
    head = head_kind(spec)
    parts: list[Part] = []
    parts += _embedding_parts(spec)
    if spec.encoder_decoder:
        parts += _t5_stack_parts(spec, head)
    else:
        parts += _decoder_stack_parts(spec)
    parts += _head_parts(spec, head)
    return ParamCount(spec=spec, parts=tuple(p for p in parts if p.count), head=head)


# --- parts ---------------------------------------------------------------------------------------------


def _linear(
    component: str,
    name: str,
    out_f: int,
    in_f: int,
    copies: int,
    sym: str,
    *,
    bias: bool = False,
    active: int | None = None,
) -> list[Part]:
    """A linear layer's weight and, optionally, its bias."""
    prefix = "" if sym == "1" else f"{sym}·"
    parts = [Part(component, name, (out_f, in_f), copies, f"{prefix}{out_f}·{in_f}", active, linear=True)]
    if bias:
        parts.append(Part(component, f"{name}.bias", (out_f,), copies, f"{prefix}{out_f}", active))
    return parts


def _norm(component: str, name: str, width: int, copies: int, sym: str, *, bias: bool) -> list[Part]:
    prefix = "" if sym == "1" else f"{sym}·"
    parts = [Part(component, name, (width,), copies, f"{prefix}{width}")]
    if bias:
        parts.append(Part(component, f"{name}.bias", (width,), copies, f"{prefix}{width}"))
    return parts


def _embedding_parts(spec: ModelSpec) -> list[Part]:
    h = spec.hidden_size
    width = spec.embed_proj_dim or h
    parts = [
        Part("embedding", "embed_tokens", (spec.vocab_size, width), 1, f"V·h = {spec.vocab_size}·{width}")
    ]
    if spec.embed_proj_dim:
        parts += _linear("embedding", "project_in", h, width, 1, "1")
        parts += _linear("embedding", "project_out", width, h, 1, "1")
    if spec.position_rows:
        parts.append(
            Part(
                "position_embedding", "embed_positions", (spec.position_rows, h), 1, f"{spec.position_rows}·h"
            )
        )
    if spec.token_types:
        parts.append(Part("token_type_embedding", "token_type_embeddings", (spec.token_types, h), 1, "2·h"))
    if spec.embed_norm:
        parts += _norm("norms", "embedding_norm", h, 1, "1", bias=spec.norm_bias)
    return parts


def _attention_parts(spec: ModelSpec, component: str, copies: int, sym: str) -> list[Part]:
    h, d = spec.hidden_size, spec.head_dim
    q_out, kv_out = spec.num_heads * d, spec.num_kv_heads * d
    if spec.mla is not None:
        return _mla_parts(spec, component, copies, sym)
    parts = _linear(component, "q_proj", q_out, h, copies, sym, bias=spec.qkv_bias)
    parts += _linear(component, "k_proj", kv_out, h, copies, sym, bias=spec.qkv_bias)
    parts += _linear(component, "v_proj", kv_out, h, copies, sym, bias=spec.qkv_bias)
    parts += _linear(component, "o_proj", h, q_out, copies, sym, bias=spec.o_bias)
    if spec.qk_norm == "head":
        parts += _norm(component, "q_norm", d, copies, sym, bias=False)
        parts += _norm(component, "k_norm", d, copies, sym, bias=False)
    elif spec.qk_norm == "head_affine":
        parts += _norm(component, "q_norm", d, copies, sym, bias=True)
        parts += _norm(component, "k_norm", d, copies, sym, bias=True)
    elif spec.qk_norm == "full":
        parts += _norm(component, "q_norm", q_out, copies, sym, bias=False)
        parts += _norm(component, "k_norm", kv_out, copies, sym, bias=False)
    return parts


def _mla_parts(spec: ModelSpec, component: str, copies: int, sym: str) -> list[Part]:
    mla = spec.mla
    assert mla is not None
    h, heads = spec.hidden_size, spec.num_heads
    parts: list[Part] = []
    if mla.q_lora_rank is None:
        parts += _linear(component, "q_proj", heads * mla.qk_head_dim, h, copies, sym)
    else:
        parts += _linear(component, "q_a_proj", mla.q_lora_rank, h, copies, sym, bias=spec.qkv_bias)
        parts += _norm(component, "q_a_layernorm", mla.q_lora_rank, copies, sym, bias=False)
        parts += _linear(component, "q_b_proj", heads * mla.qk_head_dim, mla.q_lora_rank, copies, sym)
    kv_a_out = mla.kv_lora_rank + mla.qk_rope_head_dim
    parts += _linear(component, "kv_a_proj_with_mqa", kv_a_out, h, copies, sym, bias=spec.qkv_bias)
    parts += _norm(component, "kv_a_layernorm", mla.kv_lora_rank, copies, sym, bias=False)
    kv_b_out = heads * (mla.qk_nope_head_dim + mla.v_head_dim)
    parts += _linear(component, "kv_b_proj", kv_b_out, mla.kv_lora_rank, copies, sym)
    parts += _linear(component, "o_proj", h, heads * mla.v_head_dim, copies, sym, bias=spec.o_bias)
    return parts


def _mlp_parts(
    spec: ModelSpec, component: str, width: int, copies: int, sym: str, *, active: int | None = None
) -> list[Part]:
    h, bias = spec.hidden_size, spec.mlp_bias
    if spec.mlp == "gated":
        parts = _linear(component, "gate_proj", width, h, copies, sym, bias=bias, active=active)
        parts += _linear(component, "up_proj", width, h, copies, sym, bias=bias, active=active)
    else:
        parts = _linear(component, "up_proj", width, h, copies, sym, bias=bias, active=active)
    parts += _linear(component, "down_proj", h, width, copies, sym, bias=bias, active=active)
    return parts


def _decoder_stack_parts(spec: ModelSpec) -> list[Part]:
    """Layers of a decoder-only or encoder-only stack, with MoE layers where the spec routes them."""
    layers, h = spec.num_layers, spec.hidden_size
    parts = _attention_parts(spec, "attention", layers, "L")
    moe = spec.moe
    moe_layers = len(moe.moe_layers) if moe else 0
    dense_layers = layers - moe_layers
    if dense_layers:
        sym = "L" if not moe_layers else f"{dense_layers} dense layers"
        parts += _mlp_parts(spec, "mlp", spec.intermediate_size, dense_layers, sym)
    if moe and moe_layers:
        sym = f"{moe_layers}"
        parts += _linear("moe_router", "router", moe.num_experts, h, moe_layers, sym)
        if moe.shared_intermediate_size:
            parts += _mlp_parts(spec, "moe_shared_experts", moe.shared_intermediate_size, moe_layers, sym)
            if moe.shared_gate:
                parts += _linear("moe_shared_experts", "shared_expert_gate", 1, h, moe_layers, sym)
        parts += _mlp_parts(
            spec,
            "moe_experts",
            moe.expert_intermediate_size,
            moe_layers * moe.num_experts,
            f"{moe_layers}·E",
            active=moe_layers * moe.experts_per_token,
        )
    parts += _norm(
        "norms",
        "layer_norms",
        h,
        layers * spec.norms_per_layer,
        f"{spec.norms_per_layer}·L",
        bias=spec.norm_bias,
    )
    if spec.final_norm:
        parts += _norm("norms", "final_norm", h, 1, "1", bias=spec.norm_bias)
    return parts


def _t5_stack_parts(spec: ModelSpec, head: str) -> list[Part]:
    """T5's encoder and decoder: relative-position buckets in each stack's first layer, cross-attention."""
    enc, dec, h = spec.num_layers, spec.decoder_layers, spec.hidden_size
    stacks = [("encoder", enc, "L_enc", 2)]
    if head != "encoder_only":
        stacks.append(("decoder", dec, "L_dec", 3))
    parts: list[Part] = []
    for stack, layers, sym, norms in stacks:
        parts += _attention_parts(spec, "attention", layers, sym)
        if stack == "decoder":
            parts += _attention_parts(spec, "cross_attention", layers, sym)
        parts.append(
            Part(
                "relative_position_bias",
                f"{stack}.relative_attention_bias",
                (spec.relative_buckets, spec.num_heads),
                1,
                f"buckets·n_head = {spec.relative_buckets}·{spec.num_heads}",
            )
        )
        parts += _mlp_parts(spec, "mlp", spec.intermediate_size, layers, sym)
        parts += _norm(
            "norms", f"{stack}.layer_norms", h, layers * norms, f"{norms}·{sym}", bias=spec.norm_bias
        )
        parts += _norm("norms", f"{stack}.final_norm", h, 1, "1", bias=spec.norm_bias)
    return parts


# --- heads ---------------------------------------------------------------------------------------------

# Suffix of ``architectures[0]`` → the head it builds.  Longest suffix wins.
_HEAD_SUFFIXES = (
    ("ForConditionalGeneration", "seq2seq_lm"),
    ("ForSequenceClassification", "seq_cls"),
    ("ForTokenClassification", "token_cls"),
    ("ForPreTraining", "pretraining"),
    ("ForMaskedLM", "masked_lm"),
    ("ForCausalLM", "causal_lm"),
    ("LMHeadModel", "causal_lm"),
    ("EncoderModel", "encoder_only"),
    ("Model", "base"),
)


def head_kind(spec: ModelSpec) -> str:
    """The task head ``architectures[0]`` names, or the family's usual one."""
    arch = spec.architecture
    if arch is not None:
        for suffix, kind in _HEAD_SUFFIXES:
            if arch.endswith(suffix):
                if kind == "seq2seq_lm" and not spec.encoder_decoder:
                    return "causal_lm"
                return kind
    layout = spec.family.layout
    return {"decoder": "causal_lm", "encoder": "base", "encoder_decoder": "seq2seq_lm"}[layout]


def _head_parts(spec: ModelSpec, head: str) -> list[Part]:
    h, vocab, labels = spec.hidden_size, spec.vocab_size, spec.num_labels
    width = spec.embed_proj_dim or h
    encoder = spec.family.layout == "encoder"
    parts: list[Part] = []
    if head in ("causal_lm", "seq2seq_lm"):
        if not spec.tie_word_embeddings:
            parts.append(Part("lm_head", "lm_head", (vocab, width), 1, f"V·h = {vocab}·{width}", linear=True))
        if spec.lm_head_bias:
            parts.append(Part("lm_head", "lm_head.bias", (vocab,), 1, "V"))
    if (encoder and head in ("base", "pretraining")) or (head == "seq_cls" and spec.model_type == "bert"):
        parts += _linear("pooler", "pooler", h, h, 1, "1", bias=True)
    if encoder and head in ("masked_lm", "pretraining"):
        parts += _linear("lm_head", "transform", h, h, 1, "1", bias=True)
        parts += _norm("lm_head", "transform_norm", h, 1, "1", bias=True)
        if not spec.tie_word_embeddings:
            parts.append(Part("lm_head", "decoder", (vocab, h), 1, f"V·h = {vocab}·{h}", linear=True))
        parts.append(Part("lm_head", "decoder.bias", (vocab,), 1, "V"))
    if head == "pretraining":
        parts += _linear("task_head", "next_sentence", 2, h, 1, "1", bias=True)
    if head == "seq_cls":
        if not encoder:
            parts += _linear("task_head", "score", labels, h, 1, "1")
        elif spec.model_type == "bert":
            parts += _linear("task_head", "classifier", labels, h, 1, "1", bias=True)
        else:
            parts += _linear("task_head", "classifier.dense", h, h, 1, "1", bias=True)
            parts += _linear("task_head", "classifier.out_proj", labels, h, 1, "1", bias=True)
    if head == "token_cls":
        parts += _linear("task_head", "classifier", labels, h, 1, "1", bias=True)
    return parts
