"""LoRA: the modules PEFT adapts, matched by name as PEFT matches them, and their adapter sizes.

PEFT adapts whole nn.Linear / Conv1D modules whose path ends in a target (``name == t`` or
``name.endswith("." + t)``), so a target is a module's own name as the modeling code spells it: OPT's
output projection is ``out_proj``, Mixtral's experts (transformers 4.x layout) ``w1``/``w3``/``w2``.  A
target that matches nothing adapts nothing, as in PEFT; PEFT raises only when no target matches at all,
and so does this module.
"""

from __future__ import annotations

from collections.abc import Collection

from vault_tools.core.heads import HEADS
from vault_tools.core.params import ParamCount, Part
from vault_tools.core.roles import part_role
from vault_tools.core.spec import ModelSpec
from vault_tools.records import record

# The counter's shorthands for groups of modules, by the counted parts they hold.
_TARGET_SETS = {
    "attention": frozenset(
        {"q_proj", "k_proj", "v_proj", "o_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj"}
    ),
    "mlp": frozenset({"gate_proj", "up_proj", "down_proj"}),
}


@record
class LinearModule:
    """One nn.Linear (or GPT-2's Conv1D) as the modeling code builds it, repeated ``copies`` times.

    ``parts`` are the counted matrices it holds: one, or several fused along the output (q, k and v in
    GPT-2's ``c_attn``).  PEFT adapts a whole module: A is r × in, B is out × r.
    """

    name: str
    parts: tuple[Part, ...]

    @property
    def in_features(self) -> int:
        return self.parts[0].shape[1]

    @property
    def out_features(self) -> int:
        return sum(p.shape[0] for p in self.parts)

    @property
    def copies(self) -> int:
        return self.parts[0].copies

    def lora_params(self, rank: int) -> int:
        return rank * (self.in_features + self.out_features) * self.copies

    def active_lora_params(self, rank: int) -> int:
        """The adapter parameters one token multiplies: a routed expert's adapters only with its expert."""
        copies = self.parts[0].active_copies
        return rank * (self.in_features + self.out_features) * (self.copies if copies is None else copies)


@record
class LoraSelection:
    """The modules a list of targets adapts, and the targets that matched none (PEFT skips those)."""

    modules: tuple[LinearModule, ...]
    unmatched: tuple[str, ...]
    notes: tuple[str, ...]


def module_name(spec: ModelSpec, component: str, part: str) -> str:
    """The name the modeling code gives the module holding counted part ``part`` of ``component``."""
    names = spec.family.module_names
    for key in (f"{component}.{part}", f"{spec.mlp}.{part}", part):
        if key in names:
            return names[key]
    return part.rsplit(".", 1)[-1]


def linear_modules(count: ParamCount) -> tuple[LinearModule, ...]:
    """The linear modules LoRA can adapt, in build order: every linear but the output head and the heads
    that output labels (PEFT's all-linear; it keeps a classifier trainable whole, not adapted)."""
    spec = count.spec
    family = spec.family
    group_of = {name: group for group in family.fused_linears for name in group}
    groups: dict[tuple[str, str, tuple[str, ...]], list[Part]] = {}
    for part in count.parts:
        role = part_role(part)
        # A pooler or an MLM transform maps h to h and is adapted like a layer's linear.
        hidden = role == "task" and part.shape == (spec.hidden_size, spec.hidden_size)
        router = role == "router" and (family.router_is_linear or part.component != "moe_router")
        if part.linear and (role == "linear" or router or hidden):
            group = group_of.get(part.name, (part.name,))
            # T5's encoder and decoder both have a q_proj: the stack (``per``) tells them apart.
            groups.setdefault((part.component, part.per, group), []).append(part)
    return tuple(
        LinearModule(module_name(spec, component, group[0]), tuple(parts))
        for (component, _, group), parts in groups.items()
    )


def _head_names(spec: ModelSpec) -> dict[str, str]:
    """Module name → what it is, for the heads PEFT could adapt by name but the counter does not model."""
    layers = HEADS[spec.family.head_style][spec.head].layers
    out = {
        module_name(spec, layer.component, layer.name): layer.name
        for layer in layers
        if layer.kind == "linear" and layer.out != "hidden"
    }
    return out


def default_lora_targets(count: ParamCount) -> tuple[str, ...]:
    """PEFT's default target_modules for the family; q_proj, v_proj where PEFT has none but they exist."""
    default = count.spec.family.lora_default
    if default is not None:
        return default
    names = {m.name for m in linear_modules(count)}
    if {"q_proj", "v_proj"} <= names:
        return ("q_proj", "v_proj")
    raise ValueError(
        f"PEFT has no default LoRA targets for {count.spec.model_type}; set lora_targets to all-linear, "
        f"attention, mlp or some of {', '.join(sorted(names))}"
    )


def _fused_into(modules: tuple[LinearModule, ...], target: str) -> str | None:
    """The fused module that holds counted part ``target`` (GPT-2's c_attn holds q_proj), if any."""
    return next(
        (m.name for m in modules if len(m.parts) > 1 and any(p.name == target for p in m.parts)), None
    )


def _why_unmatched(count: ParamCount, modules: tuple[LinearModule, ...], target: str) -> str:
    """What the model calls the module a counter-style target (``o_proj``, ``q_proj``) means, if any."""
    model_type = count.spec.model_type
    fused = _fused_into(modules, target)
    if fused is not None:
        return f"is fused into {fused!r} in {model_type}: PEFT adapts {fused} as a whole"
    names = sorted({m.name for m in modules if m.name != target and any(p.name == target for p in m.parts)})
    if names:
        return f"matches no module of {model_type} ({model_type} calls that module {' / '.join(names)})"
    return "is not a linear layer of this model"


def lora_selection(count: ParamCount, targets: Collection[str]) -> LoraSelection:
    """The modules LoRA adapts: named ones, or ``all-linear`` (PEFT: every linear but the head); none
    named means PEFT's default for the family.  ValueError when no target matches any module."""
    modules = linear_modules(count)
    heads = _head_names(count.spec)
    known = ", ".join(sorted({m.name for m in modules}))
    chosen: set[int] = set()
    unmatched: list[str] = []
    for target in tuple(targets) or default_lora_targets(count):
        if "." in target:
            raise ValueError(
                f"LoRA target {target!r}: name the module itself ({target.rsplit('.', 1)[-1]!r}), which "
                "adapts it in every layer; paths that pick some layers are not modelled"
            )
        if target in heads:
            raise ValueError(
                f"LoRA target {target!r} is the model's head ({heads[target]}); LoRA on a head is not "
                "modelled (PEFT's all-linear leaves the output head out too); use all-linear, attention, "
                f"mlp or some of {known}"
            )
        if target == "all-linear":
            hits = set(range(len(modules)))
        elif target in _TARGET_SETS:
            wanted = _TARGET_SETS[target]
            hits = {i for i, m in enumerate(modules) if any(p.name in wanted for p in m.parts)}
        else:
            hits = {i for i, m in enumerate(modules) if m.name == target}
        if not hits:
            unmatched.append(target)
        chosen |= hits
    if not chosen:
        # PEFT: "Target modules {...} not found in the base model".
        first = unmatched[0]
        why = _why_unmatched(count, modules, first)
        fused = _fused_into(modules, first)
        if fused is not None:
            raise ValueError(f"LoRA target {first!r} {why}, so name {fused}")
        raise ValueError(f"LoRA target {first!r} {why}; use all-linear, attention, mlp or one of {known}")
    notes = tuple(
        f"LoRA target {target!r} {_why_unmatched(count, modules, target)}, so PEFT adapts nothing for it"
        for target in unmatched
    )
    return LoraSelection(tuple(m for i, m in enumerate(modules) if i in chosen), tuple(unmatched), notes)


def lora_modules(count: ParamCount, targets: Collection[str]) -> tuple[LinearModule, ...]:
    """The modules LoRA adapts (see ``lora_selection``)."""
    return lora_selection(count, targets).modules


def lora_parts(count: ParamCount, targets: Collection[str]) -> tuple[Part, ...]:
    """The counted matrices inside the modules LoRA adapts."""
    return tuple(p for m in lora_modules(count, targets) for p in m.parts)


def lora_params(count: ParamCount, targets: Collection[str], rank: int) -> int:
    """Trainable LoRA parameters: ``r · (in + out)`` for each adapted module (A is r×in, B is out×r)."""
    return sum(m.lora_params(rank) for m in lora_modules(count, targets))
