"""The value of an explicit claim's quantity, computed by the parameter, memory and compute core.

The memory and compute modules are imported when a claim first needs them, so parameter claims work on
their own.  Each function returns the value and, for figures built from parts, a short breakdown that goes
into the message when the claim is wrong.
"""

from __future__ import annotations

import importlib
from fractions import Fraction
from types import ModuleType
from typing import TYPE_CHECKING, Any

from vault_tools.claims.grammar import ExplicitClaim
from vault_tools.claims.numbers import parse_quantity

if TYPE_CHECKING:
    from vault_tools.core.params import ParamCount
    from vault_tools.core.spec import ModelSpec

# Sequence lengths are written like context sizes: "8K" is 8192 tokens.
_BINARY_SEQ_SCALES = {"k": 2**10, "K": 2**10}
# training(..., part=...) → the TrainingMemory attribute it names.
TRAINING_PARTS = {
    "total": "per_gpu",
    "per_gpu": "per_gpu",
    "states": "model_states",
    "model_states": "model_states",
    "weights": "weights",
    "gradients": "gradients",
    "grads": "gradients",
    "optimizer": "optimizer",
    "activations": "activations",
    "overhead": "overhead",
}
# Option spellings a claim may use → the key ``TrainingOptions.from_mapping`` reads.
_TRAINING_KEYS = {
    "seq": "seq_len",
    "context": "seq_len",
    "bs": "batch",
    "batch_size": "batch",
    "rank": "lora_rank",
}


# The options each quantity reads (training() checks its own through TrainingOptions).
_SEQ = frozenset({"seq", "seq_len", "context", "ctx"})
_OPTIONS: dict[str, frozenset[str]] = {
    "params": frozenset(),
    "active_params": frozenset(),
    "flops_per_token": _SEQ,
    "training_flops": frozenset({"tokens", "data"}),
    "weights": frozenset({"dtype", "fmt", "format", "quant"}),
    "kv_cache": _SEQ | {"batch", "bs", "batch_size", "dtype", "kv_dtype"},
}


def compute(claim: ExplicitClaim, spec: ModelSpec, count: ParamCount) -> tuple[int | Fraction, str]:
    """The value ``claim``'s quantity has for the model, and a breakdown for the message (or "")."""
    quantity = claim.quantity
    allowed = _OPTIONS.get(quantity)
    if allowed is not None:
        unknown = [key for key, _value in claim.options if key not in allowed]
        if unknown or (claim.positional and quantity in ("params", "active_params", "flops_per_token")):
            takes = f"options {', '.join(sorted(allowed))}" if allowed else "no options"
            given = repr(unknown[0]) if unknown else repr(claim.positional[0])
            raise ValueError(f"{quantity}() takes {takes}; got {given}")
    if quantity == "params":
        return count.total, ""
    if quantity == "active_params":
        return count.active, ""
    if quantity == "flops_per_token":
        seq = claim.option("seq", "seq_len", "context", "ctx")
        compute_core = _core("compute")
        if seq is None:
            return int(compute_core.flops_per_token(count)), ""
        return int(compute_core.flops_per_token(count, seq_len=_seq(seq))), ""
    if quantity == "training_flops":
        tokens = claim.option("tokens", "data") or _positional(claim, 0, "tokens=N")
        return int(_core("compute").training_flops(count, _whole(tokens, "tokens"))), ""
    memory = _core("memory")
    if quantity == "weights":
        fmt = claim.option("dtype", "fmt", "format", "quant") or _positional(claim, 0, "a dtype such as fp16")
        return int(memory.weight_bytes(count, fmt)), ""
    if quantity == "kv_cache":
        seq = claim.option("seq", "seq_len", "context", "ctx") or _positional(claim, None, "seq=N")
        batch = _whole(claim.option("batch", "bs", "batch_size") or "1", "batch")
        dtype = claim.option("dtype", "kv_dtype") or (claim.positional[0] if claim.positional else "bf16")
        return int(memory.kv_cache_bytes(spec, batch=batch, seq_len=_seq(seq), kv_dtype=dtype)), ""
    return _training(claim, count, memory)


def _training(claim: ExplicitClaim, count: ParamCount, memory: ModuleType) -> tuple[int, str]:
    part = (claim.option("part") or "total").lower()
    if part not in TRAINING_PARTS:
        raise ValueError(f"part must be one of {', '.join(TRAINING_PARTS)}, got {part!r}")
    options: dict[str, Any] = {}
    for key, value in claim.options:
        if key != "part":
            key = _TRAINING_KEYS.get(key, key)
            options[key] = _seq(value) if key == "seq_len" else _option_value(value)
    if claim.positional:
        options.setdefault("optimizer", claim.positional[0])
    result = memory.training_memory(count, memory.TrainingOptions.from_mapping(options))
    nbytes = int(getattr(result, TRAINING_PARTS[part]))
    if TRAINING_PARTS[part] != "per_gpu":
        return nbytes, ""
    states, activations, overhead = (
        x / 10**9 for x in (result.model_states, result.activations, result.overhead)
    )
    detail = (
        f"per GPU: model states {states:.2f} GB + activations {activations:.2f} GB"
        f" + overhead {overhead:.2f} GB (write part=states for the model states alone)"
    )
    return nbytes, detail


def _core(name: str) -> ModuleType:
    """A core module, imported when a claim first needs it."""
    try:
        return importlib.import_module(f"vault_tools.core.{name}")
    except ImportError:
        raise ValueError(f"the {name} core is not available, so this claim cannot be checked") from None


def _positional(claim: ExplicitClaim, index: int | None, what: str) -> str:
    if index is not None and len(claim.positional) > index:
        return claim.positional[index]
    raise ValueError(f"{claim.quantity} needs {what}, as in {claim.quantity}({claim.model}, {what})")


def _whole(text: str, name: str) -> int:
    value = parse_quantity(text).value
    if value.denominator != 1 or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {text!r}")
    return int(value)


def _seq(text: str) -> int:
    stripped = text.strip()
    number = stripped[:-1].strip()
    if stripped[-1:] in _BINARY_SEQ_SCALES and number.replace(".", "", 1).isdigit():
        return int(Fraction(number) * _BINARY_SEQ_SCALES[stripped[-1]])
    return _whole(stripped, "seq")


def _option_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        value = parse_quantity(text).value
    except ValueError:
        return text
    return int(value) if value.denominator == 1 else float(value)
