"""Exact parameter counts: one generic counter over the parts a ``ModelSpec`` says the model has.

Every part carries a symbolic formula next to its shape (``L·h·n_kv·d``), so tables can show where each
number comes from; ``ParamCount.symbols`` gives the values the symbols stand for.
"""

from __future__ import annotations

import math

from vault_tools.core.formulas import SYMBOL_RE, SYMBOLS, group_formula, mul, product, symbol_values
from vault_tools.core.heads import HEADS, HeadLayer
from vault_tools.core.spec import ModelSpec
from vault_tools.records import record


@record
class Part:
    """One parameter tensor of the model, repeated ``copies`` times (e.g. once per layer).

    Linear weights keep torch's ``(out_features, in_features)`` shape so adapters (LoRA) can be sized
    from the same parts.  ``active_copies`` is how many copies one token uses (routed experts: top-k).
    ``size_formula`` is one copy's size in symbols and ``per`` the symbols it is repeated over, times
    ``times`` (2 norms per layer: ``times=2, per="L"``).
    """

    component: str
    name: str
    shape: tuple[int, ...]
    copies: int
    size_formula: str
    per: str = ""
    times: int = 1
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

    @property
    def formula(self) -> str:
        return product(self.times, self.per, self.size_formula)


@record
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


@record
class ParamCount:
    """The exact count of one model: its parts, the totals and the seed approximations."""

    spec: ModelSpec
    parts: tuple[Part, ...]

    @property
    def head(self) -> str:
        return self.spec.head

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
        """Component → its count in symbols, parts repeated over the same symbols grouped together."""
        by_component: dict[str, list[Part]] = {}
        for part in self.parts:
            by_component.setdefault(part.component, []).append(part)
        return {
            component: group_formula([(p.per, p.size_formula, p.times) for p in parts])
            for component, parts in by_component.items()
        }

    @property
    def symbols(self) -> dict[str, int]:
        """Value of every symbol the formulas use, in ``SYMBOLS`` order."""
        used = {name for text in self.formulas.values() for name in SYMBOL_RE.findall(text)}
        values = symbol_values(self.spec)
        return {name: values[name] for name in SYMBOLS if name in used}

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
    head = HEADS[spec.family.head_style][spec.head]
    parts = _embedding_parts(spec)
    if spec.encoder_decoder:
        parts += _t5_stack_parts(spec, decoder=not head.encoder_only)
    else:
        parts += _decoder_stack_parts(spec)
    if head.pooler:
        parts += _linear("pooler", "pooler", spec.hidden_size, spec.hidden_size, "h", "h", bias=True)
    for layer in head.layers:
        parts += _head_layer_parts(spec, layer)
    return ParamCount(spec=spec, parts=tuple(p for p in parts if p.count))


# --- parts ---------------------------------------------------------------------------------------------


def _linear(
    component: str,
    name: str,
    out_f: int,
    in_f: int,
    out_sym: str,
    in_sym: str,
    copies: int = 1,
    per: str = "",
    *,
    bias: bool = False,
    active: int | None = None,
) -> list[Part]:
    """A linear layer's weight (``in·out`` in the formula, as the seed writes [h, 4h]) and its bias."""
    parts = [Part(component, name, (out_f, in_f), copies, mul(in_sym, out_sym), per, 1, active, linear=True)]
    if bias:
        parts.append(Part(component, f"{name}.bias", (out_f,), copies, out_sym, per, 1, active))
    return parts


def _norm(
    spec: ModelSpec,
    component: str,
    name: str,
    width: int,
    sym: str,
    copies: int = 1,
    per: str = "",
    times: int = 1,
) -> list[Part]:
    """A norm's scale (and LayerNorm's shift); nothing when the config turns elementwise affine off."""
    if not spec.norm_affine:
        return []
    parts = [Part(component, name, (width,), copies, sym, per, times)]
    if spec.norm_bias:
        parts.append(Part(component, f"{name}.bias", (width,), copies, sym, per, times))
    return parts


def _rms(component: str, name: str, width: int, sym: str, copies: int, per: str) -> list[Part]:
    """A bias-free RMSNorm inside attention (QK-norm, MLA's latent norms)."""
    return [Part(component, name, (width,), copies, sym, per)]


def _embedding_parts(spec: ModelSpec) -> list[Part]:
    h = spec.hidden_size
    width, w = (spec.embed_proj_dim, "p") if spec.embed_proj_dim else (h, "h")
    parts = [Part("embedding", "embed_tokens", (spec.vocab_size, width), 1, mul("V", w))]
    if spec.embed_proj_dim:
        parts += _linear("embedding", "project_in", h, width, "h", "p")
        parts += _linear("embedding", "project_out", width, h, "p", "h")
    if spec.position_rows:
        offset = spec.position_rows - (spec.max_positions or 0)
        rows = f"(N + {offset})" if offset else "N"
        parts.append(
            Part("position_embedding", "embed_positions", (spec.position_rows, h), 1, mul(rows, "h"))
        )
    if spec.token_types:
        parts.append(Part("token_type_embedding", "token_type_embeddings", (spec.token_types, h), 1, "T·h"))
    if spec.embed_norm:
        parts += _norm(spec, "norms", "embedding_norm", h, "h")
    return parts


def _attention_parts(spec: ModelSpec, component: str, copies: int, per: str) -> list[Part]:
    if spec.mla is not None:
        return _mla_parts(spec, component, copies, per)
    h, d = spec.hidden_size, spec.head_dim
    q_out, kv_out = spec.num_heads * d, spec.num_kv_heads * d
    # Name widths by what they are: "h" when the heads span the hidden size, "n_kv" only when K/V differ.
    q_sym = "h" if q_out == h else "n_h·d"
    kv_sym = q_sym if spec.num_kv_heads == spec.num_heads else "n_kv·d"
    bias = spec.qkv_bias
    parts = _linear(component, "q_proj", q_out, h, q_sym, "h", copies, per, bias=bias)
    parts += _linear(component, "k_proj", kv_out, h, kv_sym, "h", copies, per, bias=bias)
    parts += _linear(component, "v_proj", kv_out, h, kv_sym, "h", copies, per, bias=bias)
    parts += _linear(component, "o_proj", h, q_out, "h", q_sym, copies, per, bias=spec.o_bias)
    if spec.qk_norm in ("head", "head_affine"):
        for name in ("q_norm", "k_norm"):
            parts.append(Part(component, name, (d,), copies, "d", per))
            if spec.qk_norm == "head_affine":
                parts.append(Part(component, f"{name}.bias", (d,), copies, "d", per))
    elif spec.qk_norm == "full":
        parts += _rms(component, "q_norm", q_out, q_sym, copies, per)
        parts += _rms(component, "k_norm", kv_out, kv_sym, copies, per)
    return parts


def _mla_parts(spec: ModelSpec, component: str, copies: int, per: str) -> list[Part]:
    mla = spec.mla
    assert mla is not None
    h, heads = spec.hidden_size, spec.num_heads
    qk, qk_sym = heads * mla.qk_head_dim, "n_h·(d_nope + d_rope)"
    parts: list[Part] = []
    if mla.q_lora_rank is None:
        parts += _linear(component, "q_proj", qk, h, qk_sym, "h", copies, per)
    else:
        rank = mla.q_lora_rank
        parts += _linear(component, "q_a_proj", rank, h, "r_q", "h", copies, per, bias=spec.qkv_bias)
        parts += _rms(component, "q_a_layernorm", rank, "r_q", copies, per)
        parts += _linear(component, "q_b_proj", qk, rank, qk_sym, "r_q", copies, per)
    kv_a_out = mla.kv_lora_rank + mla.qk_rope_head_dim
    parts += _linear(
        component, "kv_a_proj_with_mqa", kv_a_out, h, "r_kv + d_rope", "h", copies, per, bias=spec.qkv_bias
    )
    parts += _rms(component, "kv_a_layernorm", mla.kv_lora_rank, "r_kv", copies, per)
    kv_b_out = heads * (mla.qk_nope_head_dim + mla.v_head_dim)
    parts += _linear(
        component, "kv_b_proj", kv_b_out, mla.kv_lora_rank, "n_h·(d_nope + d_v)", "r_kv", copies, per
    )
    o_in = heads * mla.v_head_dim
    parts += _linear(component, "o_proj", h, o_in, "h", "n_h·d_v", copies, per, bias=spec.o_bias)
    return parts


def _mlp_parts(
    spec: ModelSpec,
    component: str,
    width: int,
    width_sym: str,
    copies: int,
    per: str,
    *,
    active: int | None = None,
) -> list[Part]:
    h, bias = spec.hidden_size, spec.mlp_bias
    names = ("gate_proj", "up_proj") if spec.mlp == "gated" else ("up_proj",)
    parts: list[Part] = []
    for name in names:
        parts += _linear(component, name, width, h, width_sym, "h", copies, per, bias=bias, active=active)
    parts += _linear(component, "down_proj", h, width, "h", width_sym, copies, per, bias=bias, active=active)
    return parts


def _decoder_stack_parts(spec: ModelSpec) -> list[Part]:
    """Layers of a decoder-only or encoder-only stack, with MoE layers where the spec routes them."""
    layers, h = spec.num_layers, spec.hidden_size
    parts = _attention_parts(spec, "attention", layers, "L")
    moe = spec.moe
    moe_layers = len(moe.moe_layers) if moe else 0
    dense_layers = layers - moe_layers
    if dense_layers:
        parts += _mlp_parts(
            spec, "mlp", spec.intermediate_size, "f", dense_layers, "L_dense" if moe_layers else "L"
        )
    if moe and moe_layers:
        per = "L" if moe_layers == layers else "L_moe"
        parts += _linear("moe_router", "router", moe.num_experts, h, "E", "h", moe_layers, per)
        if moe.shared_intermediate_size:
            parts += _mlp_parts(
                spec, "moe_shared_experts", moe.shared_intermediate_size, "f_s", moe_layers, per
            )
        if moe.shared_gate:
            parts += _linear("moe_shared_experts", "shared_expert_gate", 1, h, "", "h", moe_layers, per)
        parts += _mlp_parts(
            spec,
            "moe_experts",
            moe.expert_intermediate_size,
            "f_e",
            moe_layers * moe.num_experts,
            f"{per}·E",
            active=moe_layers * moe.experts_per_token,
        )
    npl = spec.norms_per_layer
    parts += _norm(spec, "norms", "layer_norms", h, "h", layers * npl, "L", npl)
    if spec.final_norm:
        parts += _norm(spec, "norms", "final_norm", h, "h")
    return parts


def _t5_stack_parts(spec: ModelSpec, *, decoder: bool) -> list[Part]:
    """T5's encoder and decoder: relative-position buckets in each stack's first layer, cross-attention."""
    h = spec.hidden_size
    stacks = [("encoder", spec.num_layers, "L_enc", 2)]
    if decoder:
        stacks.append(("decoder", spec.decoder_layers, "L_dec", 3))
    parts: list[Part] = []
    for stack, layers, per, norms in stacks:
        parts += _attention_parts(spec, "attention", layers, per)
        if stack == "decoder":
            parts += _attention_parts(spec, "cross_attention", layers, per)
        parts.append(
            Part(
                "relative_position_bias",
                f"{stack}.relative_attention_bias",
                (spec.relative_buckets, spec.num_heads),
                1,
                "B·n_h",
            )
        )
        parts += _mlp_parts(spec, "mlp", spec.intermediate_size, "f", layers, per)
        parts += _norm(spec, "norms", f"{stack}.layer_norms", h, "h", layers * norms, per, norms)
        parts += _norm(spec, "norms", f"{stack}.final_norm", h, "h")
    return parts


def _head_layer_parts(spec: ModelSpec, layer: HeadLayer) -> list[Part]:
    """One module of the task head, sized from the spec (see ``heads.HEADS``)."""
    if layer.untied_only and spec.tie_word_embeddings:
        return []
    h = spec.hidden_size
    # Decoder heads read the embedding width (OPT-350m projects back to 512 before its head).
    in_f, in_sym = (h, "h")
    if spec.family.head_style == "decoder" and spec.embed_proj_dim:
        in_f, in_sym = spec.embed_proj_dim, "p"
    out_f, out_sym = {
        "vocab": (spec.vocab_size, "V"),
        "labels": (spec.num_labels, "c"),
        "hidden": (h, "h"),
        "one": (1, ""),
        "two": (2, "2"),
    }[layer.out]
    if layer.kind == "norm":
        return [
            Part(layer.component, layer.name, (h,), 1, "h"),
            Part(layer.component, f"{layer.name}.bias", (h,), 1, "h"),
        ]
    if layer.kind == "vector":
        return [Part(layer.component, layer.name, (out_f,), 1, out_sym or "1")]
    bias = spec.lm_head_bias if layer.bias == "family" else layer.bias
    parts: list[Part] = []
    if not (layer.tied and spec.tie_word_embeddings):
        # The seed writes the output layer as V·h, like the embedding it may share.
        size = mul(out_sym, in_sym) if layer.out == "vocab" else mul(in_sym, out_sym)
        parts.append(Part(layer.component, layer.name, (out_f, in_f), 1, size or "1", linear=True))
    if bias:
        parts.append(Part(layer.component, f"{layer.name}.bias", (out_f,), 1, out_sym or "1"))
    return parts
