"""Config keys: the spellings real configs and the seed article use, and typed reads that quote them.

A key's canonical name is the one Hugging Face configs use most (``hidden_size``); messages quote the key as
the user wrote it (``n_embd``), so they can be acted on without a lookup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from vault_tools.errors import SpecError

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
# Keys whose null is a setting rather than "not given": DeepSeek's q_lora_rank null means queries are
# projected directly, while an absent q_lora_rank takes transformers' default rank.
NULL_IS_A_VALUE = frozenset({"q_lora_rank", "sliding_window"})
_ALIAS_TO_CANONICAL = {alias: key for key, aliases in KEY_ALIASES.items() for alias in aliases}


def canonical_name(key: str) -> str:
    """The canonical HF name of one key spelling (``n_embd`` → ``hidden_size``)."""
    return _ALIAS_TO_CANONICAL.get(key, key)


def canonical_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Fold every key spelling onto its canonical HF name; two spellings with different values is an error."""
    return fold_keys(raw)[0]


def fold_keys(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Canonical config and, per canonical key, the spelling it was given in (messages quote that one)."""
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise SpecError(f"key {key!r} is not a string; write config keys as names such as 'hidden_size'")
        canonical = _ALIAS_TO_CANONICAL.get(key, key)
        if canonical in out and out[canonical] != value:
            raise SpecError(
                f"contradictory keys {spelled[canonical]!r} ({out[canonical]!r}) and {key!r} ({value!r}) "
                f"both set {canonical!r}; keep one"
            )
        out[canonical] = value
        spelled.setdefault(canonical, key)
    return out, spelled


_MAX_WHOLE = 10**12
_MAX_LAYERS = 100_000


class ConfigFields:
    """Typed reads from a canonical config; errors quote the key as the user spelled it."""

    def __init__(self, cfg: Mapping[str, Any], spelled: Mapping[str, str], needed_by: str) -> None:
        self.cfg = cfg
        self.spelled = spelled
        self.needed_by = needed_by  # completes "… is missing; <needed_by> needs it"

    def name(self, key: str) -> str:
        return repr(self.spelled.get(key, key))

    def whole(self, key: str, *, required: bool = True, minimum: int = 1) -> int | None:
        value = self.cfg.get(key)
        if value is None:
            if required:
                raise SpecError(
                    f"{self.name(key)} is missing; {self.needed_by} needs it"
                    f"{also_spelled(key, self.spelled.get(key, key))}"
                )
            return None
        # YAML reads ".inf" and ".nan" as floats, which int() cannot convert: they are no whole number either.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
            or int(value) != value
        ):
            raise SpecError(f"{self.name(key)} must be a whole number, got {value!r}")
        if value < minimum:
            if key == "vocab_size" and value == -1:
                raise SpecError(
                    f"{self.name(key)} is -1, which Meta's params.json uses to mean 'ask the tokenizer'; "
                    "set the vocabulary size, e.g. 32000 for LLaMA and Llama 2, 128256 for Llama 3"
                )
            wanted = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
            raise SpecError(f"{self.name(key)} must be {wanted}, got {value!r}")
        # Past these no model goes, and a count of layers or a width this large would have the core build
        # lists of that length (a MemoryError or an OverflowError for a typo, not a message).
        limit = _MAX_LAYERS if "layer" in key else _MAX_WHOLE
        if value > limit:
            raise SpecError(
                f"{self.name(key)} is {int(value):,}, more than any model has (at most {limit:,})"
            )
        return int(value)

    def need(self, key: str, *, minimum: int = 1) -> int:
        value = self.whole(key, minimum=minimum)
        assert value is not None  # whole() raises when a required key is missing
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.cfg.get(key, default)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
            raise SpecError(
                f"{self.name(key)} must be true or false, got the string {value!r}; write it without quotes"
            )
        if not isinstance(value, bool):
            raise SpecError(f"{self.name(key)} must be true or false, got {value!r}")
        return value

    def first_flag(self, keys: tuple[str, ...], default: bool) -> bool:
        for key in keys:
            if self.cfg.get(key) is not None:
                return self.flag(key, default)
        return default


def also_spelled(key: str, written: str | None = None) -> str:
    """`` (also accepted: 'n_embd', …)`` for ``key``, leaving out the spelling the user wrote."""
    aliases = [a for a in (key, *KEY_ALIASES.get(key, ())) if a != (written or key)]
    if not KEY_ALIASES.get(key):
        return ""
    return f" (also accepted: {', '.join(repr(a) for a in aliases)})"
