"""How model and note names are compared: one folding for presets, aliases and note references."""

from __future__ import annotations

import re


def normalize_name(name: str) -> str:
    """Fold case, spaces, hyphens, underscores and dots: ``LLaMA-7B`` = ``llama 7b`` = ``llama_7b``.

    A dot between two digits is kept: ``opt-1.3b`` and ``opt-13b``, or ``qwen2.5-7b`` and ``qwen2-57b``,
    are different models.
    """
    kept_dots = re.sub(r"(?<=\d)\.(?=\d)", "\0", name)
    return re.sub(r"[\s\-_.]+", "", kept_dots).replace("\0", ".").casefold()
