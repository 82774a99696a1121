"""Compute of a model: FLOPs per token, training FLOPs, Chinchilla-optimal tokens and training time.

Conventions (Kaplan et al. 2020; Hoffmann et al. 2022): a forward pass costs 2 FLOPs per weight a token
multiplies plus the attention score and mixing products; training costs 3 forwards, so ``C ≈ 6·N·D``;
compute-optimal training uses ``D ≈ 20·N`` tokens, hence ``N = √(C / 120)`` for a budget ``C``.  N is the
active parameter count (all of it for a dense model; the experts a token uses for MoE).
"""

from __future__ import annotations

import math

from vault_tools.core.memory import layer_attention_types
from vault_tools.core.options import DEFAULT_SEQ_LEN
from vault_tools.core.params import ParamCount
from vault_tools.core.roles import part_role
from vault_tools.core.spec import ModelSpec
from vault_tools.core.units import Gpu, get_gpu
from vault_tools.records import record

CHINCHILLA_TOKENS_PER_PARAM = 20
_ATTENTION_TERM = "attention scores and mixing"


@record
class FlopTerm:
    """One addend of a FLOP count."""

    name: str
    flops: int
    formula: str


def matmul_params(count: ParamCount) -> int:
    """Weights a token multiplies: active linear matrices, plus the output head even when it is tied."""
    n = sum(p.active for p in count.parts if p.linear)
    spec = count.spec
    tied_head = spec.tie_word_embeddings and not any(part_role(p) == "head" for p in count.parts)
    if tied_head and count.head in ("causal_lm", "seq2seq_lm", "masked_lm", "pretraining"):
        n += spec.vocab_size * (spec.embed_proj_dim or spec.hidden_size)
    return n


def _attended(seq_len: int, window: int | None, causal: bool) -> int:
    """Σ over the ``seq_len`` queries of the keys each one attends to."""
    if not causal:
        return seq_len * (min(seq_len, window) if window else seq_len)
    w = window or seq_len
    if seq_len <= w:
        return seq_len * (seq_len + 1) // 2
    return w * (w + 1) // 2 + (seq_len - w) * w


def attention_flops(spec: ModelSpec, seq_len: int, *, causal: bool = True) -> int:
    """FLOPs of QKᵀ and the probability-weighted sum of V over a whole sequence of ``seq_len`` tokens."""
    if spec.mla is not None:
        d_qk, d_v = spec.mla.qk_head_dim, spec.mla.v_head_dim
    else:
        d_qk = d_v = spec.head_dim
    per_key = 2 * spec.num_heads * (d_qk + d_v)  # one multiply-add per element of QKᵀ and of P·V
    if spec.encoder_decoder or spec.family.layout == "encoder":
        # Encoder self-attention sees the whole sequence; a decoder adds causal self- and cross-attention.
        flops = per_key * spec.num_layers * _attended(seq_len, None, False)
        if spec.encoder_decoder:
            flops += per_key * spec.decoder_layers * (_attended(seq_len, None, causal) + seq_len * seq_len)
        return flops
    flops = 0
    for kind in layer_attention_types(spec):
        window = spec.sliding_window if kind == "sliding_attention" else None
        flops += per_key * _attended(seq_len, window, causal)
    return flops


def forward_flops(
    count: ParamCount, *, seq_len: int = DEFAULT_SEQ_LEN, causal: bool = True
) -> tuple[FlopTerm, ...]:
    """Forward FLOPs per token, averaged over a sequence of ``seq_len`` tokens, term by term."""
    n = matmul_params(count)
    attn = attention_flops(count.spec, seq_len, causal=causal)
    return (
        FlopTerm("matrix multiplies", 2 * n, f"2 · {n:,} weights a token multiplies"),
        FlopTerm(
            _ATTENTION_TERM,
            round(attn / seq_len) if seq_len else 0,
            f"2·n_h·(d_qk + d_v)·L · mean keys attended (s = {seq_len:,}{', causal' if causal else ''})",
        ),
    )


def flops_per_token(count: ParamCount, *, seq_len: int = DEFAULT_SEQ_LEN, causal: bool = True) -> int:
    """Forward FLOPs per token: ``2·N_matmul`` plus the attention term at ``seq_len``."""
    return sum(t.flops for t in forward_flops(count, seq_len=seq_len, causal=causal))


def training_flops(count: ParamCount, tokens: int, *, adapters: int | None = None) -> int:
    """Training FLOPs by the ``6·N·D`` rule, N the active parameters.

    With LoRA (``adapters``: the adapter parameters a token multiplies, N_lora, its routed experts' only)
    ``(4·N + 6·N_lora)·D``: the frozen weights still multiply forward (2·N) and pass the gradient back to
    the layers below (2·N), but take no weight gradient, which only the adapters do (their 6·N_lora).
    Exact for the linear layers when the input embeddings pass a gradient (PEFT's gradient checkpointing
    and k-bit preparation make them); without that, the first layer's input projections skip their input
    gradient, a little less.
    """
    if adapters is None:
        return 6 * count.active * tokens
    return (4 * count.active + 6 * adapters) * tokens


def chinchilla_tokens(count: ParamCount) -> int:
    """Compute-optimal training tokens, ``D ≈ 20·N`` (Hoffmann et al. 2022)."""
    return CHINCHILLA_TOKENS_PER_PARAM * count.active


def compute_optimal(budget_flops: float) -> tuple[int, int]:
    """The Chinchilla-optimal (parameters, tokens) for ``budget_flops``: ``C = 6·N·20·N``."""
    if budget_flops <= 0:
        raise ValueError(f"a compute budget must be positive, got {budget_flops!r}")
    n = math.sqrt(budget_flops / (6 * CHINCHILLA_TOKENS_PER_PARAM))
    return round(n), round(CHINCHILLA_TOKENS_PER_PARAM * n)


def training_seconds(flops: float, *, gpu: Gpu, gpus: int, mfu: float) -> float:
    """Wall-clock seconds for ``flops`` on ``gpus`` GPUs running at ``mfu`` of their dense BF16 peak."""
    return flops / (gpus * gpu.bf16_flops * mfu)


@record
class ComputeReport:
    """Forward FLOPs per token, training FLOPs for a token budget and the time it takes."""

    forward: tuple[FlopTerm, ...]
    seq_len: int
    tokens: int
    tokens_given: bool  # False: the Chinchilla default was used
    training_flops: int
    training_flops_exact: int  # 3 × the forward (with attention) × tokens
    chinchilla_tokens: int
    gpu: Gpu
    gpus: int
    mfu: float
    seconds: float
    optimal_params: int | None  # Chinchilla-optimal model size for this (pretraining) budget; None for LoRA
    optimal_tokens: int | None
    adapters: int | None = None  # LoRA training: the adapter parameters a token multiplies (None: full)

    @property
    def flops_per_token(self) -> int:
        return sum(t.flops for t in self.forward)

    @property
    def rule(self) -> str:
        """The rule ``training_flops`` follows, as the report writes it."""
        return "6·N·D" if self.adapters is None else "(4·N + 6·N_lora)·D"

    @property
    def exact_rule(self) -> str:
        """How ``training_flops_exact`` is made, as the report writes it."""
        if self.adapters is None:
            return "3 × forward with attention"
        return "2 × forward with attention + attention backward + 6·N_lora"


def compute_report(
    count: ParamCount,
    *,
    seq_len: int = DEFAULT_SEQ_LEN,
    tokens: int | None = None,
    gpu: str = "h100",
    gpus: int = 1,
    mfu: float = 0.4,
    adapters: int | None = None,
) -> ComputeReport:
    """Everything ``compute`` shows for one model and training budget (``adapters``: see
    ``training_flops``)."""
    forward = forward_flops(count, seq_len=seq_len)
    chinchilla = chinchilla_tokens(count)
    d = chinchilla if tokens is None else tokens
    train = training_flops(count, d, adapters=adapters)
    per_token = sum(t.flops for t in forward)
    if adapters is None:
        exact = 3 * per_token * d
    else:
        # Forward, then the input gradients (the matrix multiplies again, attention's backward twice its
        # forward), then the adapters' weight gradients and their own forward and input gradients.
        attention = sum(t.flops for t in forward if t.name == _ATTENTION_TERM)
        exact = (2 * per_token + attention + 6 * adapters) * d
    device = get_gpu(gpu)
    # A compute-optimal size answers a pretraining budget; a fine-tuning budget asks no such question.
    opt_n, opt_d = (None, None) if adapters is not None else compute_optimal(train) if train else (0, 0)
    return ComputeReport(
        forward=forward,
        seq_len=seq_len,
        tokens=d,
        tokens_given=tokens is not None,
        training_flops=train,
        training_flops_exact=exact,
        chinchilla_tokens=chinchilla,
        gpu=device,
        gpus=gpus,
        mfu=mfu,
        seconds=training_seconds(train, gpu=device, gpus=gpus, mfu=mfu),
        optimal_params=opt_n,
        optimal_tokens=opt_d,
        adapters=adapters,
    )
