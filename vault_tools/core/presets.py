"""Built-in presets: well-known models as data (``vault_tools/data/presets.yaml``), each with its source."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from vault_tools.core.spec import ModelSpec, build_spec, canonical_keys
from vault_tools.errors import SpecError


@dataclass(frozen=True, slots=True)
class Preset:
    """One well-known model: its config as published, where it comes from, and any published count."""

    key: str
    title: str
    source: str
    config: Mapping[str, Any]
    aliases: tuple[str, ...] = ()
    known_total: int | None = None
    note: str = ""


def normalize_name(name: str) -> str:
    """Fold case, spaces, hyphens, underscores and dots: ``LLaMA-7B`` = ``llama 7b`` = ``llama_7b``."""
    return re.sub(r"[\s\-_.]+", "", name).casefold()


@functools.cache
def presets() -> Mapping[str, Preset]:
    """Every preset by key, loaded once from the package data."""
    text = resources.files("vault_tools.data").joinpath("presets.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    out: dict[str, Preset] = {}
    for key, entry in raw.items():
        out[key] = Preset(
            key=key,
            title=entry["title"],
            source=entry["source"],
            config=MappingProxyType(dict(entry["config"])),
            aliases=tuple(entry.get("aliases", ())),
            known_total=entry.get("known_total"),
            note=entry.get("note", ""),
        )
    return MappingProxyType(out)


@functools.cache
def _index() -> Mapping[str, str]:
    index: dict[str, str] = {}
    for key, preset in presets().items():
        for name in (key, preset.title, *preset.aliases):
            index.setdefault(normalize_name(name), key)
    return MappingProxyType(index)


def find_preset(name: str) -> Preset | None:
    """The preset called ``name`` (any spelling or alias), or ``None``."""
    key = _index().get(normalize_name(name))
    return None if key is None else presets()[key]


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ``SpecError`` naming the closest presets when there is none."""
    found = find_preset(name)
    if found is not None:
        return found
    close = difflib.get_close_matches(normalize_name(name), list(_index()), n=5, cutoff=0.6)
    keys = list(dict.fromkeys(_index()[c] for c in close))[:3]
    hint = f"; did you mean {', '.join(repr(k) for k in keys)}?" if keys else ""
    raise SpecError(f"unknown preset {name!r}{hint} (`vault-tools calc --list` shows them all)")


def spec_from_mapping(raw: Mapping[str, Any], *, name: str | None = None) -> ModelSpec:
    """Build a spec from a model-spec mapping: a HF config, short notation, or ``preset:`` plus overrides."""
    if not isinstance(raw, Mapping):
        raise SpecError("a model spec must be a mapping of keys to values (YAML or JSON object)")
    preset_name = raw.get("preset")
    if preset_name is None:
        return build_spec(raw, name=name)
    if not isinstance(preset_name, str):
        raise SpecError(f"'preset' must be a model name such as 'llama-7b', got {preset_name!r}")
    preset = get_preset(preset_name)
    merged = canonical_keys(preset.config)
    merged.update(canonical_keys({k: v for k, v in raw.items() if k != "preset"}))
    return build_spec(merged, name=name or preset.title)
