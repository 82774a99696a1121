"""Mixture-of-experts layouts: which layers route, to how many experts, with which shared expert.

Mixtral routes every layer; Qwen-MoE every ``decoder_sparse_step``-th layer except ``mlp_only_layers``;
DeepSeek every layer from ``first_k_dense_replace`` on (every ``moe_layer_freq``-th in its own code).
"""

from __future__ import annotations

from vault_tools.core.families import Family
from vault_tools.core.keys import ConfigFields
from vault_tools.errors import SpecError
from vault_tools.records import record


@record
class MoESpec:
    """Routed experts of a mixture-of-experts model."""

    num_experts: int
    experts_per_token: int
    expert_intermediate_size: int
    moe_layers: tuple[int, ...]  # indices of decoder layers whose MLP is routed
    shared_intermediate_size: int = 0  # one gated MLP always on (0: none)
    shared_gate: bool = False  # Qwen's sigmoid gate on the shared expert


def read_moe(fields: ConfigFields, family: Family, layers: int, notes: list[str]) -> MoESpec | None:
    if family.moe_layers == "none":
        return None
    experts = fields.whole("num_local_experts", required=False, minimum=0)
    if not experts:
        return None
    top_k = fields.whole("num_experts_per_tok", required=False)
    if top_k is None:
        notes.append(
            "'num_experts_per_tok' is missing, so 'active' counts every expert; "
            "set it for the per-token count"
        )
        top_k = experts
    if top_k > experts:
        raise SpecError(
            f"{fields.name('num_experts_per_tok')} ({top_k}) is more than the {experts} experts "
            f"{fields.name('num_local_experts')} defines; a token can only be routed to experts that exist"
        )
    if family.moe_layers == "all":
        moe_layers = tuple(range(layers))
        expert_size = fields.need("intermediate_size")
    elif family.moe_layers == "sparse_step":
        step = fields.whole("decoder_sparse_step", required=False) or 1
        dense = _layer_indices(fields, "mlp_only_layers")
        moe_layers = tuple(i for i in range(layers) if i not in dense and (i + 1) % step == 0)
        expert_size = fields.need("moe_intermediate_size")
    else:
        first_dense = fields.whole("first_k_dense_replace", required=False, minimum=0) or 0
        freq = fields.whole("moe_layer_freq", required=False) or 1
        if freq != 1:
            # DeepSeek's own modeling code (trust_remote_code) routes every freq-th layer; transformers'
            # built-in DeepseekV2/V3 ignore the key, so `calc --exact` will disagree.
            notes.append(
                f"moe_layer_freq {freq}: counted as DeepSeek's reference code builds it (an MoE MLP every "
                f"{freq} layers); transformers' built-in implementation ignores moe_layer_freq"
            )
        moe_layers = tuple(i for i in range(layers) if i >= first_dense and i % freq == 0)
        expert_size = fields.need("moe_intermediate_size")
    shared = 0
    if family.shared_experts == "qwen":
        shared = fields.whole("shared_expert_intermediate_size", required=False, minimum=0) or 0
    elif family.shared_experts == "deepseek":
        shared = (fields.whole("n_shared_experts", required=False, minimum=0) or 0) * expert_size
    return MoESpec(
        num_experts=experts,
        experts_per_token=top_k,
        expert_intermediate_size=expert_size,
        moe_layers=moe_layers,
        shared_intermediate_size=shared,
        # Qwen2-MoE builds the shared expert's gate even when the shared expert has width 0.
        shared_gate=family.shared_experts == "qwen",
    )


def _layer_indices(fields: ConfigFields, key: str) -> frozenset[int]:
    value = fields.cfg.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in value):
        raise SpecError(f"{fields.name(key)} must be a list of layer indices such as [0, 3], got {value!r}")
    return frozenset(value)
