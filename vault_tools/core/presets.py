"""Built-in presets: well-known models as data (``vault_tools/data/presets.yaml``), each with its source."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from vault_tools.core.keys import canonical_keys, canonical_name
from vault_tools.errors import SpecError
from vault_tools.names import normalize_name
from vault_tools.records import record

if TYPE_CHECKING:  # claims look up preset names without building a spec
    from vault_tools.core.spec import ModelSpec

_ENTRY_KEYS = frozenset({"title", "aliases", "source", "known_total", "note", "config"})


@record
class Preset:
    """One well-known model: its config as published, where it comes from, and any published count."""

    key: str
    title: str
    source: str
    config: Mapping[str, Any]
    aliases: tuple[str, ...] = ()
    known_total: int | None = None
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the preset answers to: key, title and aliases."""
        return (self.key, self.title, *self.aliases)


@functools.cache
def presets() -> Mapping[str, Preset]:
    """Every preset by key, loaded once from the package data."""
    import json

    from vault_tools.package_files import read_text

    # presets.yaml is the source; presets.json is made from it (``write_presets_json``, a test keeps them
    # equal) because JSON loads in 0.2 ms where even libyaml takes 6, a tenth of a pre-commit check.
    raw = json.loads(read_text("vault_tools.data", "presets.json"))
    return MappingProxyType({key: _preset(key, entry) for key, entry in raw.items()})


def presets_json(yaml_text: str) -> str:
    """``presets.json`` as made from the text of ``presets.yaml``: the same data, in the same order."""
    import json

    raw = yaml.load(yaml_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return json.dumps(raw, ensure_ascii=False, indent=1) + "\n"


def write_presets_json() -> None:
    """Remake ``vault_tools/data/presets.json`` after editing ``presets.yaml`` (from a source checkout)::

    python -c "from vault_tools.core.presets import write_presets_json; write_presets_json()"
    """
    from vault_tools.package_files import package_folder

    folder = package_folder("vault_tools.data")
    if folder is None:
        raise RuntimeError("vault_tools.data is not a plain folder")
    text = (folder / "presets.yaml").read_text(encoding="utf-8")
    (folder / "presets.json").write_text(presets_json(text), encoding="utf-8", newline="\n")


def _preset(key: str, entry: Mapping[str, Any]) -> Preset:
    # The file ships with the package; a malformed entry is a packaging bug, so fail loudly.
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise ValueError(f"presets.yaml: {key}: unknown fields {sorted(unknown)}")
    return Preset(
        key=key,
        title=entry["title"],
        source=entry["source"],
        config=MappingProxyType(dict(entry["config"])),
        aliases=tuple(entry.get("aliases", ())),
        known_total=entry.get("known_total"),
        note=entry.get("note", ""),
    )


@functools.cache
def _index() -> Mapping[str, str]:
    index: dict[str, str] = {}
    for key, preset in presets().items():
        for name in preset.names:
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
    keys = _suggestions(normalize_name(name))
    hint = f"; did you mean {', '.join(repr(k) for k in keys)}?" if keys else ""
    raise SpecError(f"unknown preset {name!r}{hint} (`vault-tools calc --list` shows them all)")


def _suggestions(wanted: str) -> list[str]:
    """Keys of the presets spelled most like ``wanted``: the best match and any nearly as close."""
    import difflib  # only for a misspelt preset

    scored = []
    for candidate, key in _index().items():
        ratio = difflib.SequenceMatcher(None, wanted, candidate).ratio()
        if ratio >= 0.6:
            scored.append((ratio, key))
    if not scored:
        return []
    best = max(ratio for ratio, _ in scored)
    # With ~50 presets, 'lama-7b' is also 0.86 like 'llama-2-7b'; only near-ties are worth listing.
    close = sorted((item for item in scored if item[0] >= best - 0.05), key=lambda item: -item[0])
    return list(dict.fromkeys(key for _, key in close))[:3]


def spec_from_mapping(raw: object, *, name: str | None = None) -> ModelSpec:
    """Build a spec from a model-spec mapping: a HF config, short notation, or ``preset:`` plus overrides."""
    from vault_tools.core.spec import build_spec

    if not isinstance(raw, Mapping):
        got = "nothing" if raw is None else f"a {type(raw).__name__}"
        raise SpecError(
            f"a model spec must be a mapping of config keys to values (a YAML or JSON object), got {got}; "
            "write e.g. 'hidden_size: 4096' lines or 'preset: llama-7b'"
        )
    preset_name = raw.get("preset")
    if preset_name is None:
        return build_spec(raw, name=name)
    if not isinstance(preset_name, str):
        raise SpecError(f"'preset' must be a model name such as 'llama-7b', got {preset_name!r}")
    preset = get_preset(preset_name)
    overrides = {k: v for k, v in raw.items() if k != "preset"}
    overridden = canonical_keys(overrides)
    # Keys keep their spelling so messages quote what the user (or the config.json) wrote; an override
    # of null drops the preset's key.
    merged: dict[str, Any] = {k: v for k, v in preset.config.items() if canonical_name(k) not in overridden}
    merged.update(overrides)
    return build_spec(merged, name=name or preset.title)
