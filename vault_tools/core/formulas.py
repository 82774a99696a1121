"""Symbolic formulas for parameter counts: the symbols, their values for a spec, and how terms combine.

Formulas are plain text that also evaluates (``·`` is ×, ``²`` squares), so tests can check every formula
against the count it describes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from vault_tools.core.spec import ModelSpec

# What the formula symbols mean, in the order tables list them.
SYMBOLS: MappingProxyType[str, str] = MappingProxyType(
    {
        "L": "layers",
        "L_enc": "encoder layers",
        "L_dec": "decoder layers",
        "L_dense": "layers with a dense MLP",
        "L_moe": "layers with routed experts",
        "h": "hidden size",
        "V": "vocabulary",
        "p": "embedding width (word_embed_proj_dim)",
        "N": "learned positions",
        "T": "token types",
        "n_h": "attention heads",
        "n_kv": "key/value heads",
        "d": "head dim",
        "f": "MLP width",
        "E": "routed experts",
        "k": "experts per token",
        "f_e": "expert MLP width",
        "f_s": "shared-expert MLP width",
        "r_q": "query LoRA rank",
        "r_kv": "key/value LoRA rank",
        "d_nope": "query/key head dim without RoPE",
        "d_rope": "query/key head dim with RoPE",
        "d_v": "value head dim",
        "B": "relative-position buckets",
        "c": "labels",
    }
)
SYMBOL_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def describe_symbols(symbols: Mapping[str, int]) -> str:
    """``where L = 32 (layers), h = 4,096 (hidden size), …`` for a table footer."""
    return "where " + ", ".join(f"{name} = {value:,} ({SYMBOLS[name]})" for name, value in symbols.items())


def symbol_values(spec: ModelSpec) -> dict[str, int]:
    """What each formula symbol stands for in ``spec`` (symbols that do not apply are left out)."""
    values = {
        "L": spec.num_layers,
        "L_enc": spec.num_layers,
        "L_dec": spec.decoder_layers,
        "h": spec.hidden_size,
        "V": spec.vocab_size,
        "n_h": spec.num_heads,
        "n_kv": spec.num_kv_heads,
        "d": spec.head_dim,
        "f": spec.intermediate_size,
        "c": spec.num_labels,
        "B": spec.relative_buckets,
        "T": spec.token_types,
        "N": spec.max_positions or 0,
    }
    if spec.embed_proj_dim:
        values["p"] = spec.embed_proj_dim
    if spec.moe is not None:
        values |= {
            "L_moe": len(spec.moe.moe_layers),
            "L_dense": spec.num_layers - len(spec.moe.moe_layers),
            "E": spec.moe.num_experts,
            "k": spec.moe.experts_per_token,
            "f_e": spec.moe.expert_intermediate_size,
            "f_s": spec.moe.shared_intermediate_size,
        }
    if spec.mla is not None:
        values |= {
            "r_kv": spec.mla.kv_lora_rank,
            "d_nope": spec.mla.qk_nope_head_dim,
            "d_rope": spec.mla.qk_rope_head_dim,
            "d_v": spec.mla.v_head_dim,
        }
        if spec.mla.q_lora_rank is not None:
            values["r_q"] = spec.mla.q_lora_rank
    return values


def mul(*factors: str) -> str:
    """``a·b`` with sums parenthesised and ``x·x`` written ``x²``; empty factors dropped."""
    kept = [f"({f})" if _has_top_level_sum(f) else f for f in factors if f]
    kept.sort(key=lambda f: not f.isdigit())  # numbers lead: 2·h, not h·2
    if len(kept) == 2 and kept[0] == kept[1] and SYMBOL_RE.fullmatch(kept[0]):
        return f"{kept[0]}²"
    return "·".join(kept)


def _has_top_level_sum(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "+" and depth == 0:
            return True
    return False


def product(times: int, per: str, size: str) -> str:
    return mul(str(times) if times != 1 else "", per, size) or "1"


def group_formula(terms: list[tuple[str, str, int]]) -> str:
    """Sum of ``(per, size, times)`` terms: terms over the same symbols share a bracket, equal ones add up."""
    groups: dict[str, dict[str, int]] = {}
    for per, size, times in terms:
        sizes = groups.setdefault(per, {})
        sizes[size] = sizes.get(size, 0) + times
    rendered = []
    for per, sizes in groups.items():
        if len(sizes) == 1:
            ((size, times),) = sizes.items()
            rendered.append(product(times, per, size))
            continue
        inner = " + ".join(product(times, "", size) for size, times in sizes.items())
        rendered.append(f"{per}·({inner})" if per else inner)
    return " + ".join(rendered)
