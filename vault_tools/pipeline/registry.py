"""The processor registry: every processor, built-in or third-party, comes from one entry-point group."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
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
    if not _only_builtins():
        from importlib.metadata import entry_points

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


def _only_builtins() -> bool:
    """Whether no installed distribution but vault-tools itself (with ``_BUILTIN``) names the group.

    Then ``importlib.metadata`` would find nothing new, and a pre-commit run skips importing it (with the
    email and zipfile modules it pulls in, a sixth of a one-note check).  Anything this quick look cannot
    vouch for (a zip on ``sys.path``, a finder with its own distributions, a plug-in) sends the question
    to ``importlib.metadata``.
    """
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return False
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")  # noqa: PTH208 - strings, not a Path per entry
        except NotADirectoryError:
            return False  # a zip archive may hold distributions
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                path = os.path.join(entry or ".", name, "entry_points.txt")  # noqa: PTH118
                with open(path, encoding="utf-8") as file:  # noqa: PTH123
                    text = file.read()
            except OSError:
                continue
            if GROUP not in text:
                continue
            own = name.rsplit(".", 1)[0].split("-", 1)[0].replace("-", "_").replace(".", "_").lower()
            if own != "vault_tools" or _group(text) != dict(_BUILTIN):
                return False
    return True


def _group(text: str) -> dict[str, str]:
    """The ``name = target`` lines of ``GROUP``'s section of an ``entry_points.txt``."""
    out: dict[str, str] = {}
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == f"[{GROUP}]"
        elif inside and "=" in line and not line.startswith(("#", ";")):
            name, _, target = line.partition("=")
            out[name.strip()] = target.strip()
    return out
