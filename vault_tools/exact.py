"""``calc --exact``: count with transformers itself, on the meta device (no weights, no network)."""

from __future__ import annotations

from typing import Any

from vault_tools.core.spec import ModelSpec
from vault_tools.errors import VaultToolsError


def meta_device_count(spec: ModelSpec) -> int:
    """Instantiate ``spec``'s architecture with transformers on the meta device and count its parameters."""
    try:
        import torch
        import transformers
    except ImportError:
        raise VaultToolsError(
            "--exact needs the optional oracle extra: pip install 'vault-tools[oracle]'"
        ) from None
    config = dict(spec.config)
    if spec.model_type in ("classic", "generic"):
        raise VaultToolsError(f"--exact needs a transformers model_type; this spec is {spec.family.label}")
    config.setdefault("model_type", spec.model_type)
    return count_with_transformers(config, torch=torch, transformers=transformers)


def count_with_transformers(config: dict[str, Any], *, torch: Any, transformers: Any) -> int:
    """``sum(p.numel())`` over the model transformers builds for ``config`` (its architectures[0] class)."""
    model_type = config.pop("model_type")
    hf_config = transformers.AutoConfig.for_model(model_type, **config)
    architectures = getattr(hf_config, "architectures", None) or []
    if architectures and hasattr(transformers, architectures[0]):
        model_cls = getattr(transformers, architectures[0])
    else:
        model_cls = transformers.AutoModelForCausalLM._model_mapping[type(hf_config)]
    with torch.device("meta"):
        model = model_cls(hf_config)
    return int(sum(p.numel() for p in model.parameters()))
