"""The processor registry: every processor, built-in or third-party, comes from one entry-point group."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib.metadata import entry_points
from types import MappingProxyType

from vault_tools.errors import VaultToolsError
from vault_tools.pipeline.model import Processor

GROUP = "vault_tools.processors"

# Used when the package metadata is missing (running from a source tree that was never installed); an
# installed vault-tools registers exactly these through its own entry points.
_BUILTIN = MappingProxyType(
    {
        "model-spec": "vault_tools.processors:ModelSpecProcessor",
        "claims": "vault_tools.claims.processor:ClaimsProcessor",
    }
)


@functools.cache
def processors() -> Mapping[str, Processor]:
    """Every registered processor by name, built-in ones first, then plug-ins in name order."""
    found: dict[str, str] = dict(_BUILTIN)
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        found[ep.name] = ep.value
    out: dict[str, Processor] = {}
    for name, target in found.items():
        try:
            instance = _load(target)()
        except Exception as exc:  # a broken plug-in is the user's to fix, with its name and the reason
            raise VaultToolsError(
                f"processor plug-in {name!r} ({target}) failed to load: {type(exc).__name__}: {exc}; "
                "fix or uninstall it"
            ) from None
        if not isinstance(instance, Processor):
            raise VaultToolsError(
                f"processor plug-in {name!r} ({target}) does not implement the Processor protocol "
                "(name, kinds, process)"
            )
        out[name] = instance
    return MappingProxyType(out)


def _load(target: str) -> type[Processor]:
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    cls: type[Processor] = getattr(module, attr)
    return cls
