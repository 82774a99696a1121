"""``calc --exact``: count with transformers itself, on the meta device (no weights, no network)."""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Mapping
from typing import Any

from vault_tools.core.keys import KEY_ALIASES
from vault_tools.core.spec import ModelSpec
from vault_tools.errors import VaultToolsError

# The auto class to build when a spec names no architecture, by the head the counter assumed.
_AUTO_CLASSES = {
    "causal_lm": "AutoModelForCausalLM",
    "seq2seq_lm": "AutoModelForSeq2SeqLM",
    "masked_lm": "AutoModelForMaskedLM",
    "base": "AutoModel",
}


def meta_device_count(spec: ModelSpec) -> int:
    """Instantiate ``spec``'s architecture with transformers on the meta device and count its parameters."""
    try:
        import torch
        import transformers
    except ImportError:
        raise VaultToolsError(
            "--exact needs the optional oracle extra: pip install 'vault-tools[oracle]'"
        ) from None
    model_type = _transformers_model_type(spec, transformers)
    config = hf_config_kwargs(spec.config, transformers.CONFIG_MAPPING[model_type])
    architectures = config.get("architectures")
    if isinstance(architectures, str):
        config["architectures"] = [architectures]
    elif not architectures:
        # transformers' config would otherwise carry architectures=None; name the class the counter assumed.
        config.pop("architectures", None)
    try:
        return count_with_transformers(
            model_type, config, head=spec.head, torch=torch, transformers=transformers
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise VaultToolsError(f"--exact: transformers could not build this config: {exc}") from None


def _transformers_model_type(spec: ModelSpec, transformers: Any) -> str:
    """The model_type to hand transformers: the family, or the config's own type for unknown families."""
    if not spec.family.generic and spec.model_type != "classic":
        return spec.model_type
    given = spec.config.get("model_type")
    if isinstance(given, str) and given in transformers.CONFIG_MAPPING:
        return given
    if spec.model_type == "classic":
        raise VaultToolsError(
            "--exact needs a transformers model_type; the seed's short notation (L, h, V) has none — "
            "add e.g. 'model_type: gpt2' and the HF keys"
        )
    raise VaultToolsError(
        f"--exact: transformers {transformers.__version__} does not know model_type {given!r}"
        if given is not None
        else "--exact needs 'model_type' (or a known 'architectures' class) to pick a transformers model"
    )


def hf_config_kwargs(config: Mapping[str, Any], config_cls: Any) -> dict[str, Any]:
    """``config`` with each canonical key spelled the way ``config_cls`` reads it.

    The spec stores canonical names (``num_key_value_heads``, ``intermediate_size``).  Falcon's config
    (``num_kv_heads``) and T5's (``d_ff``) neither take nor map those, and would silently drop them; and a
    name that only ``attribute_map`` redirects is set after the config derived its other fields (T5 would
    keep 6 decoder layers for ``num_hidden_layers: 2``).  So prefer the class's own field name.
    """
    fields = _fields(config_cls)
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "model_type":
            continue
        if key not in fields:
            # Otherwise the key stays: attribute_map may still route it, or it is kept as an extra.
            key = next((alias for alias in KEY_ALIASES.get(key, ()) if alias in fields), key)
        out[key] = value
    return out


def _fields(config_cls: Any) -> frozenset[str]:
    """Keys a transformers config class takes: its dataclass fields or ``__init__`` parameters."""
    if dataclasses.is_dataclass(config_cls):
        return frozenset(f.name for f in dataclasses.fields(config_cls))
    return frozenset(inspect.signature(config_cls.__init__).parameters)


def count_with_transformers(
    model_type: str, config: Mapping[str, Any], *, head: str, torch: Any, transformers: Any
) -> int:
    """``sum(p.numel())`` over the model transformers builds for ``config`` (its architectures[0] class)."""
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            # Config validation chatter (token ids, rope settings) says nothing about the parameter count.
            warnings.simplefilter("ignore")
            hf_config = transformers.AutoConfig.for_model(model_type, **config)
            model_cls = _model_class(hf_config, head, transformers)
            with torch.device("meta"):
                model = model_cls(hf_config)
    finally:
        transformers.logging.set_verbosity(verbosity)
    return int(sum(p.numel() for p in model.parameters()))


def _model_class(hf_config: Any, head: str, transformers: Any) -> Any:
    architectures = getattr(hf_config, "architectures", None) or []
    if architectures and hasattr(transformers, architectures[0]):
        return getattr(transformers, architectures[0])
    for auto_name in (_AUTO_CLASSES.get(head), "AutoModelForCausalLM", "AutoModel"):
        mapping = getattr(transformers, auto_name)._model_mapping if auto_name else {}
        if type(hf_config) in mapping:
            return mapping[type(hf_config)]
    raise VaultToolsError(f"--exact: no transformers model class for {type(hf_config).__name__}")


def explain_difference(spec: ModelSpec, difference: int) -> str:
    """Why transformers' count may differ from the counter's for ``spec`` ("" when no reason is known)."""
    tied_by_transformers = -spec.vocab_size * spec.hidden_size
    if spec.model_type == "t5" and not spec.tie_word_embeddings and difference == tied_by_transformers:
        # T5Config in transformers 5 forces tie_word_embeddings=True; only from_pretrained unties the head
        # again when the checkpoint stores a separate one (T5 v1.1, mT5, Flan-T5).
        return (
            " — transformers 5 ties T5's output head to the embedding on a freshly built model; the "
            "checkpoint of an untied T5 (v1.1, Flan-T5) keeps its own V·h head, which the counter includes"
        )
    return ""
