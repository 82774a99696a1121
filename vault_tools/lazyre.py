"""Regular expressions compiled on first use, for patterns most runs never match against."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable


def lazy_compile(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """Return a function that compiles ``pattern`` on its first call and hands back the same object after.

    ``re`` parses patterns in pure Python (0.1-0.7 ms each); a one-note pre-commit run should not pay
    that at import for Korean numerals, table headers or memory options its note does not have.
    """
    return functools.cache(lambda: re.compile(pattern, flags))
