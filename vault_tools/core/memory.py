"""Memory of a model: weights per format, KV cache, inference total and training memory per GPU.

Pure functions of a ``ModelSpec`` / ``ParamCount`` and the options in ``options.py``; every result lists
its terms (name, bytes, formula).  Conventions, each a named option: ZeRO's mixed precision keeps 16-bit
weights and gradients plus an fp32 master copy and fp32 Adam moments (2 + 2 + 12 = 16 bytes a parameter;
``mixed-fp32-grads`` is the 18-byte variant); ZeRO stage k shards optimizer states (k ≥ 1), gradients
(k ≥ 2) and weights (k = 3, also FSDP full sharding) over the data-parallel GPUs.
"""

from __future__ import annotations

import math

from vault_tools.core.activations import ActivationMemory, activation_memory
from vault_tools.core.lora import (
    LinearModule,
    LoraSelection,
    default_lora_targets,
    linear_modules,
    lora_modules,
    lora_params,
    lora_parts,
    lora_selection,
)
from vault_tools.core.options import (
    DEFAULT_OVERHEAD,
    DEFAULT_SEQ_LEN,
    PRECISIONS,
    InferenceOptions,
    TrainingOptions,
    canonical_kv_dtype,
)
from vault_tools.core.params import ParamCount
from vault_tools.core.spec import ModelSpec
from vault_tools.core.units import DTYPE_BITS, GGML_TYPES, Term, total
from vault_tools.core.weights import WeightMemory, weight_bytes, weight_memory
from vault_tools.records import record

__all__ = [
    "DEFAULT_OVERHEAD",
    "DEFAULT_SEQ_LEN",
    "InferenceMemory",
    "InferenceOptions",
    "KVCache",
    "LinearModule",
    "LoraSelection",
    "ModelStates",
    "TrainingMemory",
    "TrainingOptions",
    "WeightMemory",
    "default_lora_targets",
    "inference_memory",
    "kv_cache",
    "kv_cache_bytes",
    "layer_attention_types",
    "linear_modules",
    "lora_modules",
    "lora_params",
    "lora_parts",
    "lora_selection",
    "model_states",
    "training_activations",
    "training_memory",
    "weight_bytes",
    "weight_memory",
]

# --- KV cache ----------------------------------------------------------------------------------------


@record
class KVCache:
    """The KV cache for ``batch`` sequences of ``seq_len`` tokens, one term per kind of layer."""

    batch: int
    seq_len: int
    kv_dtype: str
    terms: tuple[Term, ...]
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return total(self.terms)


# transformers' Qwen2/Qwen3/Qwen2-MoE config default for max_window_layers.
_MAX_WINDOW_LAYERS = 28


def layer_attention_types(spec: ModelSpec) -> tuple[str, ...]:
    """``full_attention`` / ``sliding_attention`` for each decoder layer, as transformers lays them out."""
    layers = spec.num_layers if not spec.encoder_decoder else spec.decoder_layers
    if spec.layer_types is not None:
        return spec.layer_types
    family = spec.family
    if not spec.sliding_window or spec.generic:  # generic: which layers slide is unknown (see kv_cache)
        return ("full_attention",) * layers
    if family.sliding_switch and spec.config.get(family.sliding_switch) is not True:
        return ("full_attention",) * layers  # Qwen configs carry a window they use only when switched on
    rule = family.sliding_layers
    if rule == "all":
        return ("sliding_attention",) * layers
    if rule in ("from_max_window_layers", "even_below_max_window_layers"):
        limit = spec.config.get("max_window_layers", _MAX_WINDOW_LAYERS)
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else _MAX_WINDOW_LAYERS
        if rule == "from_max_window_layers":
            slides = [i >= limit for i in range(layers)]
        else:
            slides = [i % 2 == 0 and i < limit for i in range(layers)]
        return tuple("sliding_attention" if s else "full_attention" for s in slides)
    pattern = spec.config.get("sliding_window_pattern")  # a whole number, checked by build_spec
    period = int(pattern) if pattern is not None and family.sliding_pattern_key else family.sliding_period
    assert period is not None, f"{family.label}: sliding_layers 'period' needs sliding_period"
    # transformers: layer i is full attention when (i + 1) is a multiple of the period, else it slides.
    return tuple("sliding_attention" if (i + 1) % period else "full_attention" for i in range(layers))


def _row_bytes(elements: int, kv_dtype: str) -> int:
    """Bytes of one token's row of ``elements`` cache values (llama.cpp block types quantize per row)."""
    if kv_dtype in DTYPE_BITS:
        return math.ceil(elements * DTYPE_BITS[kv_dtype] / 8)
    block = GGML_TYPES[kv_dtype.upper()]
    return math.ceil(elements / block.block_elems) * block.block_bytes


def kv_cache(
    spec: ModelSpec,
    *,
    batch: int = 1,
    seq_len: int,
    kv_dtype: str = "bf16",
    encoder_seq_len: int | None = None,
) -> KVCache:
    """The KV cache of ``spec`` for ``batch`` × ``seq_len`` tokens with ``kv_dtype`` elements.

    Per layer and token it holds K and V for the KV heads (grouped-query attention needs only those), or
    for MLA one latent of ``kv_lora_rank + qk_rope_head_dim`` values (no K/V pair).  Sliding-window layers
    hold at most ``sliding_window`` tokens: transformers keeps the last window − 1 as a view into the
    window-token buffer of the decode step, and that buffer is what stays allocated.
    """
    dtype = canonical_kv_dtype(kv_dtype)
    if batch < 1 or seq_len < 0:
        raise ValueError(f"batch must be at least 1 and seq_len at least 0, got {batch} and {seq_len}")
    notes: list[str] = []
    terms: list[Term] = []
    if spec.family.layout == "encoder":
        notes.append("encoder-only model: no KV cache (it does not generate token by token)")
        return KVCache(batch, seq_len, dtype, (), tuple(notes))
    mla = spec.mla
    if mla is not None:
        width = mla.kv_lora_rank + mla.qk_rope_head_dim
        row = _row_bytes(width, dtype)
        formula = f"(kv_lora_rank + qk_rope_head_dim) = {width} values"
    else:
        k_row = _row_bytes(spec.num_kv_heads * spec.head_dim, dtype)
        row = 2 * k_row
        formula = f"2 (K, V) · {spec.num_kv_heads} kv heads · {spec.head_dim} head_dim"
    kinds = layer_attention_types(spec)
    if spec.generic and spec.sliding_window and spec.layer_types is None:
        notes.append(
            f"sliding_window {spec.sliding_window} without layer_types in a model_type outside the family "
            "table: which layers slide is unknown, so every layer is counted as full attention (an upper "
            "bound; add layer_types to count the window)"
        )
    window = spec.sliding_window or seq_len
    by_kind: dict[str, int] = {}
    for kind in kinds:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    for kind, layers in by_kind.items():
        tokens = min(seq_len, window) if kind == "sliding_attention" else seq_len
        if kind not in ("full_attention", "sliding_attention"):
            notes.append(f"layer type {kind!r} counted as full attention")
        label = "sliding-window layers" if kind == "sliding_attention" else "layers"
        tok = f"min(s, {window})" if kind == "sliding_attention" else "s"
        terms.append(
            Term(
                "kv_cache",
                f"{layers} {label} × {tokens:,} tokens",
                layers * batch * tokens * row,
                f"{layers} · b · {tok} · {formula} · {dtype} ({row} B/token/layer)",
            )
        )
    if spec.encoder_decoder:
        enc = seq_len if encoder_seq_len is None else encoder_seq_len
        layers = spec.decoder_layers
        terms.append(
            Term(
                "kv_cache",
                f"{layers} cross-attention layers × {enc:,} encoder tokens",
                layers * batch * enc * row,
                f"{layers} · b · s_enc · {formula} · {dtype}",
            )
        )
    return KVCache(batch, seq_len, dtype, tuple(terms), tuple(notes))


def kv_cache_bytes(spec: ModelSpec, *, batch: int = 1, seq_len: int, kv_dtype: str = "bf16") -> int:
    """Bytes of the KV cache for ``batch`` sequences of ``seq_len`` tokens at ``kv_dtype``."""
    return kv_cache(spec, batch=batch, seq_len=seq_len, kv_dtype=kv_dtype).total


# --- inference ---------------------------------------------------------------------------------------


@record
class InferenceMemory:
    """Weights + KV cache + the stated runtime overhead, for one GPU holding the whole model."""

    options: InferenceOptions
    weights: WeightMemory
    kv: KVCache
    terms: tuple[Term, ...]

    @property
    def total(self) -> int:
        return total(self.terms)


def inference_memory(count: ParamCount, options: InferenceOptions | None = None) -> InferenceMemory:
    """Memory to serve ``count``'s model with ``options``."""
    options = options or InferenceOptions()
    weights = weight_memory(count, options.weight_format)
    kv = kv_cache(count.spec, batch=options.batch, seq_len=options.seq_len, kv_dtype=options.cache_dtype)
    terms = (
        Term(
            "weights",
            f"weights ({weights.format})",
            weights.total,
            f"{len(weights.terms)} terms, see weights",
        ),
        Term("kv_cache", f"KV cache ({kv.kv_dtype})", kv.total, f"b={kv.batch}, s={kv.seq_len:,}"),
        Term(
            "overhead",
            "runtime overhead (assumed; memory.overhead)",
            options.overhead,
            "CUDA context + allocator",
        ),
    )
    return InferenceMemory(options, weights, kv, terms)


# --- training ----------------------------------------------------------------------------------------


@record
class TrainingMemory:
    """Memory per GPU for one training step, term by term."""

    options: TrainingOptions
    terms: tuple[Term, ...]
    activation: ActivationMemory
    trainable: int  # parameters the optimizer updates (all, or the LoRA adapters)
    notes: tuple[str, ...] = ()  # LoRA targets that match no module, which PEFT skips
    adapters_per_token: int | None = None  # LoRA: the adapter parameters a token multiplies (its experts')

    @property
    def weights(self) -> int:
        return total(self.terms, "weights")

    @property
    def gradients(self) -> int:
        return total(self.terms, "gradients")

    @property
    def optimizer(self) -> int:
        return total(self.terms, "optimizer")

    @property
    def activations(self) -> int:
        return total(self.terms, "activations")

    @property
    def overhead(self) -> int:
        return total(self.terms, "overhead")

    @property
    def model_states(self) -> int:
        """Weights, gradients and optimizer states: what ZeRO partitions."""
        return self.weights + self.gradients + self.optimizer

    @property
    def per_gpu(self) -> int:
        return total(self.terms)


@record
class StateTerm:
    """A model-state quantity before sharding, and the lowest ZeRO stage that partitions it."""

    group: str
    name: str
    bytes: int
    formula: str
    stage: int


def _partitions(stage: int, zero: int) -> bool:
    """Whether ZeRO stage ``zero`` partitions a quantity that stage ``stage`` and higher shard."""
    return zero >= stage


def _sharded(stage: int, zero: int, gpus: int) -> bool:
    """Whether such a quantity is split: partitioned, over more than one GPU."""
    return _partitions(stage, zero) and gpus > 1


def shard(nbytes: int, stage: int, zero: int, gpus: int) -> int:
    """Bytes per GPU of a quantity that ZeRO stage ``stage`` and higher partitions over ``gpus``."""
    return -(-nbytes // gpus) if _sharded(stage, zero, gpus) else nbytes


@record
class ModelStates:
    """What one training step keeps besides activations, before ZeRO shards it; independent of gpus."""

    terms: tuple[StateTerm, ...]
    trainable: int  # parameters the optimizer updates (all, or the LoRA adapters)
    adapters_per_token: int | None = None  # LoRA: the adapter parameters a token multiplies (its experts')
    notes: tuple[str, ...] = ()  # LoRA targets that match no module, which PEFT skips

    def split(self, zero: int) -> tuple[int, list[int]]:
        """Under ZeRO stage ``zero``: the bytes each GPU keeps whole, and the terms' bytes it splits over
        the GPUs when there are more than one (each GPU then holds the ceiling of its share, ``shard``)."""
        whole = sum(t.bytes for t in self.terms if not _partitions(t.stage, zero))
        return whole, [t.bytes for t in self.terms if _partitions(t.stage, zero)]


def _adafactor_elements(shape: tuple[int, ...]) -> int:
    """Adafactor's second moment: a row and a column vector for a matrix, the full tensor for a vector."""
    if len(shape) < 2:
        return math.prod(shape)
    return math.prod(shape[:-1]) + math.prod(shape[:-2]) * shape[-1]


def _state_terms(
    options: TrainingOptions, tensors: list[tuple[tuple[int, ...], int]], elem: int, psi: str
) -> list[tuple[str, int, str]]:
    """Optimizer state bytes (no master copy) over trainable ``(shape, copies)`` tensors."""
    opt = options.optimizer
    n = sum(math.prod(shape) * c for shape, c in tensors)
    if opt == "sgd":
        return []
    if opt in ("sgd-momentum", "lion"):
        return [("momentum buffer", n * elem, f"{psi} · {elem}")]
    if opt in ("adam", "adamw"):
        return [("Adam moments m, v", 2 * n * elem, f"2 · {psi} · {elem}")]
    if opt == "adafactor":
        factored = sum(_adafactor_elements(shape) * c for shape, c in tensors)
        return [("Adafactor factored second moment", factored * elem, f"Σ (rows + cols) · {elem}")]
    # bitsandbytes 8-bit Adam: uint8 m and v with an fp32 absmax per 256 values; tensors under 4096
    # values keep 32-bit states (min_8bit_size); two 256-entry fp32 quantization maps are shared.
    small = sum(math.prod(shape) * c for shape, c in tensors if math.prod(shape) < 4096)
    big = [(math.prod(shape), c) for shape, c in tensors if math.prod(shape) >= 4096]
    eight = sum((2 * size + 2 * math.ceil(size / 256) * 4) * c for size, c in big)
    return [
        ("8-bit Adam moments + block absmax", eight, f"2 · {psi} + 2 · ⌈{psi}/256⌉ · 4"),
        ("32-bit moments of tensors < 4096 values", small * 8, "2 · Ψ_small · 4"),
        ("quantization maps (shared)", 2 * 256 * 4, "2 · 256 · 4"),
    ]


def model_states(count: ParamCount, options: TrainingOptions) -> ModelStates:
    """Weights, gradients and optimizer states of a training step, unsharded."""
    w_b, g_b, m_b, elem = PRECISIONS[options.precision]
    raw: list[StateTerm] = []
    if options.lora:
        rank = options.lora_rank or 0
        selection = lora_selection(count, options.lora_targets)
        adapted, notes = selection.modules, selection.notes
        trainable = sum(m.lora_params(rank) for m in adapted)
        per_token: int | None = sum(m.active_lora_params(rank) for m in adapted)
        tensors: list[tuple[tuple[int, ...], int]] = [((rank, m.in_features), m.copies) for m in adapted]
        tensors += [((m.out_features, rank), m.copies) for m in adapted]
        base_fmt = options.quant or ("fp32" if options.precision == "fp32" else "bf16")
        a_b = DTYPE_BITS[options.adapter_dtype] // 8
        master = 4 if a_b < 4 and options.precision.startswith("mixed") else 0
        names = ", ".join(sorted({p.name for p in adapted}))
        base = weight_bytes(count, base_fmt)
        raw.append(StateTerm("weights", f"frozen base ({base_fmt})", base, f"Ψ_base in {base_fmt}", 3))
        raw.append(
            StateTerm(
                "weights",
                f"LoRA adapters r={rank} on {names} ({options.adapter_dtype})",
                trainable * a_b,
                f"Σ r·(in + out) = {trainable:,} · {a_b}",
                3,
            )
        )
        raw.append(StateTerm("gradients", "adapter gradients", trainable * a_b, f"Ψ_lora · {a_b}", 2))
        if master:
            raw.append(StateTerm("optimizer", "fp32 master adapters", trainable * master, "Ψ_lora · 4", 1))
        # Optimizer states live in the dtype of what the optimizer steps: the fp32 master adapters when
        # there are some, else the adapters themselves (fp32 by default, whatever the base's precision).
        elem = 4 if master else a_b
    else:
        trainable, per_token, notes = count.total, None, ()
        tensors = [(p.shape, p.copies) for p in count.parts]
        raw.append(StateTerm("weights", f"weights ({options.precision})", trainable * w_b, f"Ψ · {w_b}", 3))
        raw.append(StateTerm("gradients", "gradients", trainable * g_b, f"Ψ · {g_b}", 2))
        if m_b:
            raw.append(StateTerm("optimizer", "fp32 master weights", trainable * m_b, f"Ψ · {m_b}", 1))
    for name, nbytes, formula in _state_terms(options, tensors, elem, "Ψ_lora" if options.lora else "Ψ"):
        raw.append(StateTerm("optimizer", name, nbytes, formula, 1))
    if options.zero == 0 and options.optimizer in ("adam", "adamw", "adafactor"):
        steps = sum(c for _, c in tensors)
        raw.append(
            StateTerm(
                "optimizer", "step counters (torch: one fp32 scalar per tensor)", 4 * steps, f"{steps} · 4", 1
            )
        )
    return ModelStates(tuple(raw), trainable, per_token, notes)


def training_memory(
    count: ParamCount,
    options: TrainingOptions | None = None,
    *,
    activation: ActivationMemory | None = None,
) -> TrainingMemory:
    """Memory per GPU to train ``count``'s model with ``options`` (pass ``activation`` to reuse one)."""
    options = options or TrainingOptions()
    states = model_states(count, options)
    zero, gpus = options.zero, options.gpus
    terms: list[Term] = []
    for t in states.terms:
        note = f" / {gpus} GPUs (ZeRO-{zero})" if _sharded(t.stage, zero, gpus) else ""
        terms.append(Term(t.group, t.name, shard(t.bytes, t.stage, zero, gpus), t.formula + note))
    if activation is None:
        activation = training_activations(count, options)
    label = f"activations (b={options.batch}, s={options.seq_len:,}, recompute={options.recompute})"
    terms.append(
        Term("activations", label, activation.total, f"{len(activation.terms)} terms, see activations")
    )
    terms.append(
        Term(
            "overhead",
            "runtime overhead (assumed; training.overhead)",
            options.overhead,
            "CUDA context + allocator",
        )
    )
    return TrainingMemory(
        options, tuple(terms), activation, states.trainable, states.notes, states.adapters_per_token
    )


def training_activations(count: ParamCount, options: TrainingOptions) -> ActivationMemory:
    """The activation memory ``options`` imply for ``count``'s model."""
    targets = frozenset(p.name for p in lora_parts(count, options.lora_targets)) if options.lora else None
    return activation_memory(
        count.spec,
        batch=options.batch,
        seq_len=options.seq_len,
        act_bytes=options.act_bytes,
        recompute=options.recompute,
        flash_attn=options.flash_attn,
        lora_targets=targets,
        lora_rank=options.lora_rank or 0,
        adapter_bytes=DTYPE_BITS[options.adapter_dtype] // 8,
    )
