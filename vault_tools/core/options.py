"""Options of the memory and compute core, validated from a note's ``memory:`` / ``training:`` mappings.

Every assumption the figures rest on is a field here with a stated default; nothing is hidden in a factor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from vault_tools.core.activations import RECOMPUTE_MODES
from vault_tools.core.units import DTYPE_BITS, GGML_TYPES, GIB, dtype_name, get_gpu, normalize_name
from vault_tools.core.weights import canonical_format
from vault_tools.lazyre import lazy_compile
from vault_tools.records import record

DEFAULT_SEQ_LEN = 2048  # the seed article's LLaMA context; set seq_len for anything else
DEFAULT_OVERHEAD = GIB  # CUDA context + allocator reserve per GPU: a rule of thumb, shown as its own term

# precision → bytes per parameter of (weights, gradients, fp32 master copy) and per optimizer-state element.
PRECISIONS: MappingProxyType[str, tuple[int, int, int, int]] = MappingProxyType(
    {
        "fp32": (4, 4, 0, 4),
        "mixed": (2, 2, 4, 4),  # ZeRO paper: 16-bit weights and grads, fp32 master + states (16 B with Adam)
        "mixed-fp32-grads": (2, 4, 4, 4),  # fp32 gradient accumulation (HF "anatomy", EleutherAI: 18 B)
        "bf16": (2, 2, 0, 2),  # pure bf16: no master copy, states in bf16
    }
)
OPTIMIZERS = ("sgd", "sgd-momentum", "adam", "adamw", "adam-8bit", "adamw-8bit", "adafactor", "lion")
_OPTIMIZER_ALIASES = MappingProxyType(
    {
        "momentum": "sgd-momentum",
        "sgd-m": "sgd-momentum",
        "adamw-torch": "adamw",
        "adam8bit": "adam-8bit",
        "adamw8bit": "adamw-8bit",
        "paged-adamw-8bit": "adamw-8bit",
        "bnb-adamw-8bit": "adamw-8bit",
        "adamw-bnb-8bit": "adamw-8bit",
    }
)
_ZERO_ALIASES = MappingProxyType(
    {"ddp": 0, "none": 0, "fsdp": 3, "fsdp-full-shard": 3, "full-shard": 3, "fsdp-shard-grad-op": 2}
)
LORA_TARGET_SETS = ("all-linear", "attention", "mlp")
KV_DTYPES = (*DTYPE_BITS, "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl")


def canonical_kv_dtype(name: str) -> str:
    """A KV-cache element type: a plain dtype or one of llama.cpp's block types for ``--cache-type-k``."""
    plain = dtype_name(name) if isinstance(name, str) else None
    if plain is not None:
        return plain
    key = normalize_name(name).replace("-", "_") if isinstance(name, str) else ""
    if key.upper() in GGML_TYPES and key in KV_DTYPES:
        return key
    raise ValueError(f"unknown KV-cache dtype {name!r}; use one of {', '.join(KV_DTYPES)}")


def canonical_precision(name: str) -> str:
    key = normalize_name(name) if isinstance(name, str) else ""
    if key not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; use one of {', '.join(PRECISIONS)}")
    return key


def canonical_recompute(name: str) -> str:
    key = normalize_name(name) if isinstance(name, str) else ""
    if key not in RECOMPUTE_MODES:
        raise ValueError(f"unknown recompute mode {name!r}; use one of {', '.join(RECOMPUTE_MODES)}")
    return key


def canonical_optimizer(name: str) -> str:
    key = normalize_name(name) if isinstance(name, str) else ""
    key = _OPTIMIZER_ALIASES.get(key, key)
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}")
    return key


@record
class InferenceOptions:
    """How the model is served: weight format, batch × context, KV-cache type, runtime overhead."""

    dtype: str = "bf16"
    quant: str | None = None  # a quantized weight format; overrides ``dtype`` for the weights
    batch: int = 1
    seq_len: int = DEFAULT_SEQ_LEN
    kv_dtype: str | None = None  # None: the weight dtype if it is a float type, else fp16
    overhead: int = DEFAULT_OVERHEAD

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", canonical_format(self.dtype))
        if self.quant is not None:
            object.__setattr__(self, "quant", canonical_format(self.quant))
        if self.kv_dtype is not None:
            object.__setattr__(self, "kv_dtype", canonical_kv_dtype(self.kv_dtype))
        _check_int("batch", self.batch, 1)
        _check_int("seq_len", self.seq_len, 1)
        _check_int("overhead", self.overhead, 0)

    @property
    def weight_format(self) -> str:
        return self.quant or self.dtype

    @property
    def cache_dtype(self) -> str:
        if self.kv_dtype is not None:
            return self.kv_dtype
        return self.dtype if self.dtype in ("fp32", "fp16", "bf16") else "fp16"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> InferenceOptions:
        """Validate a note's ``memory:`` mapping; ValueError naming the key and the allowed values."""
        return cls(**_kwargs(cls, mapping, "memory", _INFERENCE_KEYS))


@record
class TrainingOptions:
    """How the model is trained: optimizer, precision, sharding, micro-batch, recompute, LoRA, budget."""

    optimizer: str = "adamw"
    precision: str = "mixed"
    zero: int = 0  # ZeRO stage; 3 is also FSDP full sharding
    gpus: int = 1
    batch: int = 1  # micro-batch per GPU
    seq_len: int = DEFAULT_SEQ_LEN
    recompute: str = "none"
    flash_attn: bool = True
    lora_rank: int | None = None
    lora_targets: tuple[str, ...] = ()  # (): PEFT's default for the family (q_proj, v_proj for Llama)
    adapter_dtype: str = "fp32"  # PEFT keeps adapters in fp32 on a 16-bit base (autocast_adapter_dtype)
    quant: str | None = None  # frozen base format under LoRA (nf4-dq: QLoRA); None: the precision's dtype
    overhead: int = DEFAULT_OVERHEAD
    tokens: int | None = None  # training tokens; None: Chinchilla's 20 per parameter
    gpu: str = "h100"  # for the training-time estimate
    mfu: float = 0.4  # model FLOPs utilisation assumed for the training-time estimate

    def __post_init__(self) -> None:
        object.__setattr__(self, "optimizer", canonical_optimizer(self.optimizer))
        object.__setattr__(self, "precision", canonical_precision(self.precision))
        if not isinstance(self.zero, int) or isinstance(self.zero, bool) or self.zero not in (0, 1, 2, 3):
            raise ValueError(f"zero must be a ZeRO stage 0, 1, 2 or 3 (or fsdp), got {self.zero!r}")
        _check_int("gpus", self.gpus, 1)
        _check_int("batch", self.batch, 1)
        _check_int("seq_len", self.seq_len, 1)
        _check_int("overhead", self.overhead, 0)
        object.__setattr__(self, "recompute", canonical_recompute(self.recompute))
        if self.lora_rank is not None:
            _check_int("lora_rank", self.lora_rank, 1)
        object.__setattr__(self, "lora_targets", tuple(normalize_target(t) for t in self.lora_targets))
        object.__setattr__(self, "adapter_dtype", canonical_format(self.adapter_dtype))
        if self.adapter_dtype not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"adapter_dtype must be fp32, fp16 or bf16, got {self.adapter_dtype!r}")
        if self.quant is not None:
            object.__setattr__(self, "quant", canonical_format(self.quant))
        if self.tokens is not None:
            _check_int("tokens", self.tokens, 1)
        get_gpu(self.gpu)
        if not 0 < self.mfu <= 1:
            raise ValueError(f"mfu must be a fraction in (0, 1], got {self.mfu!r}")

    @property
    def lora(self) -> bool:
        return self.lora_rank is not None

    @property
    def act_bytes(self) -> int:
        """Bytes of one activation element: fp32 training keeps fp32 activations, the rest 16-bit."""
        return 4 if self.precision == "fp32" else 2

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> TrainingOptions:
        """Validate a note's ``training:`` mapping; ValueError naming the key and the allowed values."""
        kwargs = _kwargs(cls, mapping, "training", _TRAINING_KEYS)
        if "lora_targets" in kwargs and kwargs.get("lora_rank") is None:
            # Without a rank the adapters are not trained at all: the targets would be ignored silently.
            raise ValueError("training.lora_targets: set lora_rank too (LoRA trains adapters of that rank)")
        return cls(**kwargs)


def normalize_target(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a LoRA target must be a linear layer name such as 'q_proj', got {name!r}")
    key = name.strip()
    folded = normalize_name(key)
    return folded if folded in LORA_TARGET_SETS else key


# --- parsing a note's mapping -------------------------------------------------------------------------

_SIZE = lazy_compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_COUNT = lazy_compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmbt])?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_SIZE_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_COUNT_UNITS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def parse_size(value: Any) -> int:
    """Bytes from an integer or a string such as ``1 GiB``, ``512MiB``, ``2GB``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE().match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"expected a size in bytes such as 1073741824, '1 GiB' or '2 GB', got {value!r}")
    return _scaled(m[1], _SIZE_UNITS[(m[2] or "b").casefold()], value, "size such as '2 GB'")


def parse_count(value: Any) -> int:
    """A whole count from an integer, a float such as 1.4e12, or a string such as ``300B`` / ``2T``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a count such as 300000000000, '300B' or '2T', got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    m = _COUNT().match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"expected a count such as 300000000000, '300B' or '2T', got {value!r}")
    return _scaled(m[1], _COUNT_UNITS[(m[2] or "").casefold()], value, "count such as '2T'")


def _scaled(number: str, unit: int, value: Any, example: str) -> int:
    """``number × unit`` rounded to a whole; a number past float's range (1e400) is refused, not a crash."""
    scaled = float(number) * unit
    if not math.isfinite(scaled):
        raise ValueError(f"{value!r} is too large to be a number; give a {example}")
    return round(scaled)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value!r}")


def _int_value(value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))  # .inf and .nan: int() cannot convert
        or int(value) != value
    ):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(value)


def _bool_value(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _name(canonical: Callable[[str], str]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a name, got {value!r}")
        return canonical(value)

    return parse


def _positive(minimum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        number = _int_value(value)
        if number < minimum:
            raise ValueError(f"must be at least {minimum}, got {value!r}")
        return number

    return parse


def _gpu_value(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a GPU name, got {value!r}")
    return get_gpu(value).key


def _zero_value(value: Any) -> int:
    stage: Any = value
    if isinstance(value, str):
        key = normalize_name(value)
        stage = _ZERO_ALIASES.get(key, int(key) if key.isdigit() else None)
    if isinstance(stage, bool) or stage not in (0, 1, 2, 3):
        raise ValueError(f"expected a ZeRO stage 0-3, fsdp or ddp, got {value!r}")
    return int(stage)


def _targets_value(value: Any) -> tuple[str, ...]:
    targets: tuple[str, ...] | None = None
    if isinstance(value, str):
        targets = tuple(v.strip() for v in value.split(",") if v.strip())
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        targets = tuple(value)
    if not targets:
        raise ValueError(f"expected a list of linear layer names such as [q_proj, v_proj], got {value!r}")
    return targets


def _mfu_value(value: Any) -> float:
    fraction: Any = value
    if isinstance(value, str):
        text = value.strip()
        try:
            fraction = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            fraction = None
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise ValueError(f"expected a fraction in (0, 1] such as 0.4 or '40%', got {value!r}")
    return float(fraction)


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else parse(value)


_Parsers = Mapping[str, Callable[[Any], Any]]
_INFERENCE_KEYS: _Parsers = MappingProxyType(
    {
        "dtype": _name(canonical_format),
        "quant": _optional(_name(canonical_format)),
        "batch": _positive(1),
        "seq_len": _positive(1),
        "kv_dtype": _optional(_name(canonical_kv_dtype)),
        "overhead": parse_size,
    }
)
_TRAINING_KEYS: _Parsers = MappingProxyType(
    {
        "optimizer": _name(canonical_optimizer),
        "precision": _name(canonical_precision),
        "zero": _zero_value,
        "gpus": _positive(1),
        "batch": _positive(1),
        "seq_len": _positive(1),
        "recompute": _name(canonical_recompute),
        "flash_attn": _bool_value,
        "lora_rank": _optional(_positive(1)),
        "lora_targets": _targets_value,
        "adapter_dtype": _name(canonical_format),
        "quant": _optional(_name(canonical_format)),
        "overhead": parse_size,
        "tokens": _optional(parse_count),
        "gpu": _gpu_value,
        "mfu": _mfu_value,
    }
)
_KEY_ALIASES = MappingProxyType(
    {"seq": "seq_len", "context": "seq_len", "sequence_length": "seq_len", "micro_batch": "batch"}
)


def _parse(mapping: Mapping[str, Any] | None, section: str, parsers: _Parsers) -> dict[str, Any]:
    """Parsed keyword arguments from a note's sub-mapping; every error names ``section.key``."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ValueError(f"'{section}' must be a mapping of option keys to values, got {mapping!r}")
    out: dict[str, Any] = {}
    for raw_key, value in mapping.items():
        key = str(raw_key).strip().replace("-", "_").casefold()
        key = _KEY_ALIASES.get(key, key)
        if key not in parsers:
            raise ValueError(f"{section}: unknown key {raw_key!r}; allowed keys: {', '.join(parsers)}")
        try:
            out[key] = parsers[key](value)
        except ValueError as exc:
            raise ValueError(f"{section}.{key}: {exc}") from None
    return out


def _kwargs(cls: Any, mapping: Mapping[str, Any] | None, section: str, parsers: _Parsers) -> dict[str, Any]:
    """Parsed keyword arguments, checked by constructing once so every error names the section."""
    kwargs = _parse(mapping, section, parsers)
    try:
        cls(**kwargs)
    except ValueError as exc:
        raise ValueError(f"{section}: {exc}") from None
    return kwargs
