"""Activation memory of one training step: the tensors autograd keeps from the forward for the backward.

Derived tensor by tensor for the block the spec describes (RMSNorm or LayerNorm, gated or plain MLP,
grouped-query heads, a custom head_dim, q/k norms), following transformers' eager/SDPA modeling code and
PyTorch's autograd formulas: a linear keeps its input when its weight or an adapter needs it; SiLU/GELU
keep their input, ReLU its output; RMSNorm keeps an fp32 copy of its input and the inverse RMS; SDPA's
flash kernel keeps q, k, v, the output and an fp32 log-sum-exp, the eager path the fp32 softmax and its
cast.  ``tests/test_memory_measured.py`` checks the result byte for byte against
``torch.autograd.graph.saved_tensors_hooks``.  Mixture-of-experts, MLA and encoder layouts use the same
rules but their routing and caching code is not measured: their figures are labelled estimates.
"""

from __future__ import annotations

from collections.abc import Collection

from vault_tools.core.spec import ModelSpec
from vault_tools.core.units import Term
from vault_tools.records import record

RECOMPUTE_MODES = ("none", "selective", "full")
# Activation function → (keeps its input, keeps its output, extra intermediates of the MLP width).
# ``gelu_new`` is written out in Python in transformers (pow, tanh, two products): three more tensors.
_ACTIVATIONS = {
    "silu": (True, False, 0),
    "swish": (True, False, 0),
    "gelu": (True, False, 0),
    "gelu_pytorch_tanh": (True, False, 0),
    "gelu_fast": (True, False, 0),
    "relu": (False, True, 0),
    "gelu_new": (True, False, 3),
}
# Families whose eager softmax runs in the activation dtype (the rest upcast it to fp32 and cast back).
_SOFTMAX_IN_ACT_DTYPE = frozenset({"gpt2", "bert", "roberta", "gptj", "t5", "falcon"})
# Families whose blocks follow the modeling code the measurement tests cover (or the same code copied).
_MEASURED_FAMILIES = frozenset(
    {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "starcoder2", "gpt2"}
)


def logit_softcaps(spec: ModelSpec) -> tuple[bool, bool]:
    """Whether the model soft-caps its final logits and its attention scores with tanh (Gemma 2 / 3)."""
    defaults = spec.family.softcap_defaults
    if defaults is None:
        return False, False
    final, scores = defaults
    return (
        spec.config.get("final_logit_softcapping", final) is not None,
        spec.config.get("attn_logit_softcapping", scores) is not None,
    )


@record
class ActivationMemory:
    """Saved-for-backward tensors (``saved``) and the logits the caller still holds (``held``)."""

    saved: tuple[Term, ...]
    held: tuple[Term, ...]
    estimate: bool  # True where the layout is not one the measurement tests cover
    notes: tuple[str, ...] = ()

    @property
    def saved_bytes(self) -> int:
        return sum(t.bytes for t in self.saved)

    @property
    def total(self) -> int:
        return self.saved_bytes + sum(t.bytes for t in self.held)

    @property
    def terms(self) -> tuple[Term, ...]:
        return self.saved + self.held


class _Block:
    """Per-layer saved tensors as (name, bytes per layer, formula), summed over ``layers`` at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, str]] = []

    def add(self, name: str, nbytes: int, formula: str) -> None:
        if nbytes:
            self.rows.append((name, nbytes, formula))


def activation_hidden_act(spec: ModelSpec) -> str:
    """The MLP activation the config names (HF spells it three ways), ``silu`` for gated MLPs by default."""
    for key in ("hidden_act", "hidden_activation", "activation_function", "activation"):
        value = spec.config.get(key)
        if isinstance(value, str):
            return value
    return "silu" if spec.mlp == "gated" else "gelu"


def activation_memory(
    spec: ModelSpec,
    *,
    batch: int,
    seq_len: int,
    act_bytes: int = 2,
    recompute: str = "none",
    flash_attn: bool = True,
    lora_targets: Collection[str] | None = None,
    lora_rank: int = 0,
    adapter_bytes: int = 4,
    layernorm_stats_bytes: int = 4,
) -> ActivationMemory:
    """Bytes autograd keeps for one micro-batch of ``batch`` × ``seq_len`` tokens.

    ``lora_targets`` None means full fine-tuning (every weight trainable); a set of linear names means
    LoRA on those (frozen base, inputs requiring grad as ``enable_input_require_grads`` makes them).
    ``layernorm_stats_bytes`` is 4 on CUDA (fp32 mean/rstd); PyTorch's CPU kernel keeps them in the input
    dtype, which the CPU measurement passes.
    """
    if recompute not in RECOMPUTE_MODES:
        raise ValueError(f"recompute must be one of {', '.join(RECOMPUTE_MODES)}, got {recompute!r}")
    b, s, p = batch, seq_len, act_bytes
    t = b * s
    full_ft = lora_targets is None
    targets = frozenset(lora_targets or ())
    h, v = spec.hidden_size, spec.vocab_size
    notes: list[str] = []
    act = activation_hidden_act(spec)
    if act not in _ACTIVATIONS:
        notes.append(f"activation {act!r} is not in the table; counted as a fused kernel keeping its input")
    estimate = spec.model_type not in _MEASURED_FAMILIES or spec.moe is not None or spec.mla is not None
    ctx = _Ctx(spec, t, s, p, full_ft, targets, lora_rank, adapter_bytes, layernorm_stats_bytes, act)

    saved: list[Term] = []
    # Outside the layers.
    if full_ft:
        saved.append(Term("activations", "input ids (embedding backward)", t * 8, "b·s·8 (int64)"))
        if spec.positions == "learned":
            saved.append(Term("activations", "position ids", s * 8, "s·8 (int64)"))
    if spec.embed_norm:
        saved += _norm_terms(ctx, "embedding norm", h, 1)
    if spec.positions == "rope" and recompute != "full":
        rot = _rotary_dim(spec)
        saved.append(
            Term("activations", "RoPE cos/sin (shared by all layers)", 2 * s * rot * p, "2·s·d_rot·p")
        )

    layers = spec.total_layers
    if recompute == "full":
        saved.append(
            Term(
                "activations", f"layer inputs kept for recompute × {layers}", layers * t * h * p, "L·b·s·h·p"
            )
        )
    else:
        moe_layers = len(spec.moe.moe_layers) if spec.moe else 0
        groups = [(layers - moe_layers, False), (moe_layers, True)]
        for count, routed in groups:
            if not count:
                continue
            block = _layer_block(ctx, recompute=recompute, flash=flash_attn, routed=routed)
            suffix = " (MoE layers)" if routed and moe_layers != layers else ""
            for name, nbytes, formula in block.rows:
                saved.append(
                    Term("activations", f"{name}{suffix} × {count}", count * nbytes, f"{count}·({formula})")
                )
        if spec.encoder_decoder:
            notes.append("encoder-decoder: decoder layers counted as encoder layers plus cross-attention")
            cross = _cross_block(ctx, flash=flash_attn, recompute=recompute)
            n = spec.decoder_layers
            for name, nbytes, formula in cross.rows:
                saved.append(Term("activations", f"{name} × {n}", n * nbytes, f"{n}·({formula})"))

    if spec.final_norm:
        saved += _norm_terms(ctx, "final norm", h, 1)
    if full_ft:
        saved.append(Term("activations", "LM head input", t * h * p, "b·s·h·p"))
    if logit_softcaps(spec)[0]:
        saved.append(Term("activations", "soft-capped logits (tanh output)", t * v * p, "b·s·V·p"))
    saved.append(Term("activations", "log-softmax for the loss (fp32)", t * v * 4, "b·s·V·4"))
    saved.append(Term("activations", "labels + loss scalar", t * 8 + 4, "b·s·8 + 4"))
    held = (Term("activations", "logits returned to the caller", t * v * p, "b·s·V·p"),)
    if targets and adapter_bytes != act_bytes:
        notes.append(
            "adapters in a wider dtype than the activations: PEFT casts each adapted layer's input to the "
            "adapter dtype and autograd keeps that copy (adapter_dtype = the activation dtype avoids it)"
        )
    if estimate:
        notes.append(
            f"{spec.family.label}: activation layout not covered by the measurement tests; "
            "same rules, treat as an estimate"
        )
    return ActivationMemory(tuple(saved), held, estimate, tuple(notes))


@record
class _Ctx:
    spec: ModelSpec
    t: int
    s: int
    p: int
    full_ft: bool
    targets: frozenset[str]
    rank: int
    adapter_bytes: int
    stats_bytes: int
    act: str

    def keeps_input(self, linear: str) -> bool:
        """Whether autograd keeps this linear's input: its weight trains, or an adapter reads it as is."""
        return self.full_ft or (linear in self.targets and self.adapter_bytes == self.p)


def _rotary_dim(spec: ModelSpec) -> int:
    factor = spec.config.get("partial_rotary_factor", 1.0)
    if spec.mla is not None:
        return spec.mla.qk_rope_head_dim
    return int(spec.head_dim * float(factor)) if isinstance(factor, int | float) else spec.head_dim


def _norm_terms(ctx: _Ctx, label: str, width: int, rows_per_token: int) -> list[Term]:
    block = _Block()
    _norm_rows(ctx, block, label, width, rows_per_token)
    return [Term("activations", name, nbytes, formula) for name, nbytes, formula in block.rows]


def _norm_rows(
    ctx: _Ctx,
    block: _Block,
    label: str,
    width: int,
    rows: int,
    *,
    style: str | None = None,
    sym: str = "h",
    rows_sym: str = "",
) -> None:
    """A norm over ``width`` (``sym``) features, ``rows`` times a token (per-head q/k norms have several)."""
    spec, t, p = ctx.spec, ctx.t, ctx.p
    style = style or ("layernorm" if spec.norm == "layernorm" else "rms")
    if style == "rms" and spec.family.gemma_norm:
        style = "gemma"
    n = t * rows * width
    per = f"b·s·{rows_sym + '·' if rows_sym else ''}"
    if style == "layernorm":
        block.add(f"{label}: input", n * p, f"{per}{sym}·p")
        block.add(f"{label}: mean, rstd", 2 * t * rows * ctx.stats_bytes, f"2·{per}{ctx.stats_bytes}")
        return
    block.add(f"{label}: input upcast to fp32", n * 4, f"{per}{sym}·4")
    block.add(f"{label}: inverse RMS (fp32)", t * rows * 4, f"{per}4")
    if style == "gemma":
        block.add(f"{label}: 1 + weight (fp32)", width * 4, f"{sym}·4")
        if ctx.full_ft:
            block.add(f"{label}: normalized (fp32, for the weight grad)", n * 4, f"{per}{sym}·4")
    elif ctx.full_ft:
        block.add(f"{label}: normalized (for the weight grad)", n * p, f"{per}{sym}·p")


def _adapter_rows(ctx: _Ctx, block: _Block, linear: str, in_features: int) -> None:
    """A LoRA adapter keeps A's output for B; an fp32 adapter on a 16-bit model also keeps the input cast."""
    if linear not in ctx.targets:
        return
    if any(linear in group[1:] for group in ctx.spec.family.fused_linears):
        return  # one adapter on the fused module (GPT-2's c_attn), counted with its first part
    ab, t = ctx.adapter_bytes, ctx.t
    if ab != ctx.p:
        block.add(
            f"LoRA {linear}: input cast to adapter dtype",
            t * in_features * ab,
            f"b·s·in·{ab} (in = {in_features})",
        )
    block.add(f"LoRA {linear}: A output", t * ctx.rank * ab, f"b·s·r·{ab}")


def _layer_block(ctx: _Ctx, *, recompute: str, flash: bool, routed: bool) -> _Block:
    spec, t, p = ctx.spec, ctx.t, ctx.p
    h = spec.hidden_size
    block = _Block()
    shared_norm = spec.norms_per_layer == 1  # parallel blocks (Phi, GPT-J, Falcon) read one normed input
    _norm_rows(ctx, block, "attention norm", h, 1)
    _attention_rows(ctx, block, recompute=recompute, flash=flash)
    if not shared_norm:
        _norm_rows(ctx, block, "MLP norm", h, 1)
    for extra in range(max(spec.norms_per_layer - 2, 0)):
        _norm_rows(ctx, block, f"post-norm {extra + 1}", h, 1)
    mlp_reads = ("gate_proj", "up_proj") if spec.mlp == "gated" else ("up_proj",)
    if not shared_norm and any(ctx.keeps_input(n) for n in mlp_reads):
        block.add("MLP input (normed)", t * h * p, "b·s·h·p")
    if routed:
        _moe_rows(ctx, block)
    else:
        _mlp_rows(ctx, block, spec.intermediate_size, t, "")
    return block


def _attention_rows(ctx: _Ctx, block: _Block, *, recompute: str, flash: bool) -> None:
    spec, t, p, s = ctx.spec, ctx.t, ctx.p, ctx.s
    h, a, kv, d = spec.hidden_size, spec.num_heads, spec.num_kv_heads, spec.head_dim
    b = t // s
    d_v = d
    if spec.mla is not None:
        _mla_rows(ctx, block)
        kv, d, d_v = a, spec.mla.qk_head_dim, spec.mla.v_head_dim
    else:
        if any(ctx.keeps_input(n) for n in ("q_proj", "k_proj", "v_proj")):
            block.add("attention input (normed)", t * h * p, "b·s·h·p")
        for name in ("q_proj", "k_proj", "v_proj"):
            _adapter_rows(ctx, block, name, h)
        if spec.qk_norm in ("head", "head_affine"):
            style = "layernorm" if spec.qk_norm == "head_affine" else "rms"
            _norm_rows(ctx, block, "q norm", d, a, style=style, sym="d", rows_sym="a")
            _norm_rows(ctx, block, "k norm", d, kv, style=style, sym="d", rows_sym="kv")
        elif spec.qk_norm == "full":
            _norm_rows(ctx, block, "q norm", a * d, 1, style="rms", sym="a·d")
            _norm_rows(ctx, block, "k norm", kv * d, 1, style="rms", sym="kv·d")
    if recompute == "selective":
        block.add(
            "q, k, v kept for the recompute",
            t * (a * d + kv * d + kv * d_v) * p,
            "b·s·(a·d + kv·d + kv·d_v)·p",
        )
    elif flash:
        block.add("q (flash kernel)", t * a * d * p, "b·s·a·d·p")
        block.add("k, v (flash kernel, kv heads)", t * kv * (d + d_v) * p, "b·s·kv·(d + d_v)·p")
        block.add("log-sum-exp (fp32)", b * a * s * 4, "b·a·s·4")
    else:
        # Eager attention repeats k and v to every query head before the two matmuls.
        block.add("q, k repeated to all heads (QKᵀ)", 2 * t * a * d * p, "2·b·s·a·d·p")
        if logit_softcaps(spec)[1]:
            block.add("soft-capped scores (tanh output)", b * a * s * s * p, "b·a·s²·p")
        if spec.model_type in _SOFTMAX_IN_ACT_DTYPE:
            block.add("softmax output", b * a * s * s * p, "b·a·s²·p")
        else:
            block.add("softmax output (fp32)", b * a * s * s * 4, "b·a·s²·4")
            if p != 4:
                block.add("attention probs cast to the activation dtype", b * a * s * s * p, "b·a·s²·p")
        block.add("v repeated to all heads", t * a * d_v * p, "b·s·a·d_v·p")
    # SDPA's flash output already has o_proj's layout, so the kernel and o_proj keep one tensor.
    if (flash and recompute != "selective") or ctx.keeps_input("o_proj"):
        block.add("attention output (o_proj input)", t * a * d_v * p, "b·s·a·d_v·p")
    _adapter_rows(ctx, block, "o_proj", a * d_v)


def _mla_rows(ctx: _Ctx, block: _Block) -> None:
    """DeepSeek MLA: low-rank q and kv paths with their own norms before the per-head expansion."""
    spec, t, p = ctx.spec, ctx.t, ctx.p
    mla = spec.mla
    assert mla is not None
    h = spec.hidden_size
    block.add("attention input (normed)", t * h * p, "b·s·h·p")
    if mla.q_lora_rank:
        _norm_rows(ctx, block, "q_a norm", mla.q_lora_rank, 1, sym="r_q")
        block.add("q_b input (normed latent)", t * mla.q_lora_rank * p, "b·s·q_lora_rank·p")
    _norm_rows(ctx, block, "kv_a norm", mla.kv_lora_rank, 1, sym="r_kv")
    block.add("kv_b input (normed latent)", t * mla.kv_lora_rank * p, "b·s·kv_lora_rank·p")


def _mlp_rows(ctx: _Ctx, block: _Block, width: int, tokens: int, label: str, sym: str = "b·s·f·p") -> None:
    """A dense MLP over ``tokens`` token slots (the routed slots of an expert group, or every token)."""
    spec, p = ctx.spec, ctx.p
    h = spec.hidden_size
    keeps_in, keeps_out, extra = _ACTIVATIONS.get(ctx.act, (True, False, 0))
    f = tokens * width * p
    for name in ("gate_proj", "up_proj") if spec.mlp == "gated" else ("up_proj",):
        _adapter_rows(ctx, block, name, h)
    if spec.mlp == "gated":
        if keeps_in:
            block.add(f"{label}gate output (activation input)", f, sym)
        block.add(f"{label}activation output, up output (gating product)", 2 * f, f"2·{sym}")
        if ctx.keeps_input("down_proj"):
            block.add(f"{label}down_proj input", f, sym)
    else:
        if keeps_in:
            block.add(f"{label}up output (activation input)", f, sym)
        if extra:
            block.add(f"{label}activation intermediates × {extra}", extra * f, f"{extra}·{sym}")
        if keeps_out or ctx.keeps_input("down_proj"):
            block.add(f"{label}activation output (down_proj input)", f, sym)
    _adapter_rows(ctx, block, "down_proj", width)


def _moe_rows(ctx: _Ctx, block: _Block) -> None:
    """A routed MLP: router softmax and top-k, the gathered token copies and each slot's expert MLP."""
    spec, t, p = ctx.spec, ctx.t, ctx.p
    moe = spec.moe
    assert moe is not None
    h, e, k = spec.hidden_size, moe.num_experts, moe.experts_per_token
    block.add("router probabilities (fp32) and top-k ids", t * e * 4 + t * k * 8, "b·s·E·4 + b·s·k·8")
    block.add("routed token copies (expert inputs)", t * k * h * p, "b·s·k·h·p")
    _mlp_rows(ctx, block, moe.expert_intermediate_size, t * k, "routed ", "b·s·k·f_e·p")
    block.add("weighted expert outputs", t * k * (h + 1) * p, "b·s·k·(h + 1)·p")
    if moe.shared_intermediate_size:
        _mlp_rows(ctx, block, moe.shared_intermediate_size, t, "shared-expert ", "b·s·f_s·p")


def _cross_block(ctx: _Ctx, *, flash: bool, recompute: str) -> _Block:
    """Cross-attention of an encoder-decoder: its norm, the attention and the shared encoder output."""
    spec, t, p = ctx.spec, ctx.t, ctx.p
    block = _Block()
    _norm_rows(ctx, block, "cross-attention norm", spec.hidden_size, 1)
    _attention_rows(ctx, block, recompute=recompute, flash=flash)
    block.add(
        "encoder output read by cross-attention k/v",
        t * spec.hidden_size * p // max(spec.decoder_layers, 1),
        "b·s·h·p / L_dec",
    )
    return block
