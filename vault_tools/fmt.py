"""Human-readable numbers for tables and messages."""

from __future__ import annotations

from collections.abc import Collection, Sequence

# Decimal scale suffixes as ML papers and model names use them.
_SCALES = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K"))


def human_count(value: int | float, digits: int = 2) -> str:
    """``6738415616`` → ``6.74B``; below a thousand the number itself."""
    for factor, suffix in _SCALES:
        if abs(value) >= factor:
            return f"{value / factor:.{digits}f}{suffix}"
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}f}"


def grouped(value: int) -> str:
    """``6738415616`` → ``6,738,415,616``."""
    return f"{value:,}"


def percent(value: float, digits: int = 2) -> str:
    """A signed percentage such as ``-2.81%``."""
    return f"{value * 100:+.{digits}f}%"


def share(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "-"


def human_bytes(value: int) -> str:
    """``13476831232`` → ``13.48 GB (12.55 GiB)``: decimal and binary units, each labelled as what it is."""
    for exp, dec, binary in ((4, "TB", "TiB"), (3, "GB", "GiB"), (2, "MB", "MiB"), (1, "kB", "KiB")):
        if abs(value) >= 1000**exp:
            return f"{value / 1000**exp:.2f} {dec} ({value / 1024**exp:.2f} {binary})"
    return f"{value:,} B"


def text_table(
    rows: Sequence[tuple[str, ...]], *, right: Collection[int] = (), indent: str = "", rule: bool = False
) -> list[str]:
    """Align ``rows`` in columns for a terminal: ``right`` are the right-aligned column indices; ``rule``
    draws dashes under the first row (a header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append(indent + "  ".join(cells).rstrip())
        if rule and n == 0:
            out.append(indent + "  ".join("-" * w for w in widths))
    return out
