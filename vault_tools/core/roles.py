"""What each counted tensor is to a quantizer or an optimizer, and a table that sums terms by label."""

from __future__ import annotations

from types import MappingProxyType

from vault_tools.core.params import Part
from vault_tools.core.units import Term


def part_role(part: Part) -> str:
    """What a tensor is to a quantizer: linear, embedding, head, router, norm, bias, table or task."""
    if part.name.endswith(".bias"):
        return "bias"
    if part.component == "norms" or part.name.endswith("norm") or part.name.endswith("layernorm"):
        return "norm"
    if part.name == "embed_tokens":
        return "embedding"
    if part.component in ("position_embedding", "token_type_embedding", "relative_position_bias"):
        return "table"
    if part.component == "lm_head" and part.linear and part.name in ("lm_head", "decoder"):
        return "head"
    if part.component == "moe_router" or part.name == "shared_expert_gate":
        return "router"
    if part.component in ("task_head", "pooler") or part.name == "transform":
        return "task"
    return "linear" if part.linear else "norm"


ROLE_LABEL = MappingProxyType(
    {
        "embedding": "token embedding",
        "head": "output head",
        "router": "MoE router",
        "norm": "norms",
        "bias": "biases",
        "table": "position/type tables",
        "task": "task head",
    }
)


def part_label(part: Part) -> str:
    """The row label a term of this tensor gets: its component for matrices, its role otherwise."""
    role = part_role(part)
    return part.component.replace("_", " ") if role == "linear" else ROLE_LABEL[role]


class TermTable:
    """Terms keyed by (label, storage), summed over parts in first-seen order."""

    def __init__(self, group: str = "weights") -> None:
        self.group = group
        self.rows: dict[tuple[str, str], list[int]] = {}

    def add(self, label: str, storage: str, params: int, nbytes: int) -> None:
        row = self.rows.setdefault((label, storage), [0, 0])
        row[0] += params
        row[1] += nbytes

    def terms(self) -> list[Term]:
        out = []
        for (label, storage), (params, nbytes) in self.rows.items():
            bits = nbytes * 8 / params if params else 0.0
            formula = f"{params:,} × {bits:.4g} bits" if params else "per-tensor constants"
            out.append(Term(self.group, f"{label} ({storage})", nbytes, formula))
        return out
