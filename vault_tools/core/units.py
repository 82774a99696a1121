"""Constant tables for the memory core: element types, GGUF block layouts, GPUs; and the ``Term`` record.

Facts only, no logic beyond name lookup.  Sources are named next to each table so a reader can check them.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from vault_tools.records import record

GB = 10**9  # decimal gigabyte: what disk sizes and the seed article's "28 GB" mean
GIB = 2**30  # binary gibibyte: what GPU memory and nvidia-smi's MiB add up to


@record
class Term:
    """One named addend of a memory figure: its bytes and how they were reached."""

    group: str  # the total this term belongs to ("weights", "kv_cache", "activations", ...)
    name: str
    bytes: int
    formula: str


def total(terms: tuple[Term, ...], group: str | None = None) -> int:
    """Sum the terms, or only those of one group."""
    return sum(t.bytes for t in terms if group is None or t.group == group)


# --- element types: bits per element -------------------------------------------------------------

# Plain element types; the quantized formats with their scale overhead live in ``weights.py``.
DTYPE_BITS: MappingProxyType[str, int] = MappingProxyType(
    {"fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "int8": 8, "int4": 4}
)
_DTYPE_ALIASES = MappingProxyType(
    {
        "float32": "fp32",
        "f32": "fp32",
        "float": "fp32",
        "float16": "fp16",
        "f16": "fp16",
        "half": "fp16",
        "bfloat16": "bf16",
        "float8": "fp8",
        "fp8_e4m3": "fp8",
        "fp8_e5m2": "fp8",
        "e4m3": "fp8",
        "e5m2": "fp8",
        "float8_e4m3fn": "fp8",
        "float8_e5m2": "fp8",
        "i8": "int8",
        "i4": "int4",
    }
)


def normalize_name(name: str) -> str:
    """Fold case, spaces and underscores/hyphens the same way for every format and option name."""
    return re.sub(r"[\s_]+", "-", name.strip()).casefold()


def dtype_name(name: str) -> str | None:
    """The canonical plain dtype for ``name`` (``bfloat16`` → ``bf16``), or ``None``."""
    key = normalize_name(name).replace("-", "_")
    key = _DTYPE_ALIASES.get(key, key)
    return key if key in DTYPE_BITS else None


def dtype_bytes(name: str) -> int:
    """Whole bytes per element of a plain dtype of at least 8 bits (activations, states)."""
    canonical = dtype_name(name)
    if canonical is None or DTYPE_BITS[canonical] % 8:
        known = ", ".join(k for k, v in DTYPE_BITS.items() if v % 8 == 0)
        raise ValueError(f"unknown element type {name!r}; use one of {known}")
    return DTYPE_BITS[canonical] // 8


# --- GGUF block types (ggml-common.h: block structs; sizes in bytes per block of N elements) -------


@record
class BlockType:
    """A ggml tensor type: ``block_bytes`` bytes hold ``block_elems`` consecutive elements of a row."""

    name: str
    block_elems: int
    block_bytes: int

    @property
    def bits_per_weight(self) -> float:
        return self.block_bytes * 8 / self.block_elems

    def row_bytes(self, row: int) -> int:
        """Bytes of one row of ``row`` elements (a row must be a whole number of blocks)."""
        return row // self.block_elems * self.block_bytes


GGML_TYPES: MappingProxyType[str, BlockType] = MappingProxyType(
    {
        t.name: t
        for t in (
            BlockType("F32", 1, 4),
            BlockType("F16", 1, 2),
            BlockType("BF16", 1, 2),
            BlockType("Q8_0", 32, 34),  # fp16 scale + 32 int8
            BlockType("Q5_1", 32, 24),  # fp16 scale + fp16 min + 4 bytes high bits + 16 bytes nibbles
            BlockType("Q5_0", 32, 22),  # fp16 scale + 4 bytes high bits + 16 bytes nibbles
            BlockType("Q4_1", 32, 20),  # fp16 scale + fp16 min + 16 bytes nibbles
            BlockType("Q4_0", 32, 18),  # fp16 scale + 16 bytes nibbles
            BlockType("IQ4_NL", 32, 18),
            # K-quants: 256-element super-blocks with 6/8-bit sub-block scales (ggml-common.h block_qN_K)
            BlockType("Q6_K", 256, 210),
            BlockType("Q5_K", 256, 176),
            BlockType("Q4_K", 256, 144),
            BlockType("Q3_K", 256, 110),
            BlockType("Q2_K", 256, 84),
        )
    }
)


# --- GPUs ---------------------------------------------------------------------------------------


@record
class Gpu:
    """One accelerator: total memory as the driver reports it, and dense BF16 tensor throughput."""

    key: str
    name: str
    size_class: str  # the marketing class people say ("24 GB")
    memory: int  # bytes, as nvidia-smi / torch.cuda.get_device_properties report the total
    bf16_flops: float  # peak dense BF16 tensor FLOP/s (no sparsity), vendor datasheet


_MIB = 2**20

# Totals are the MiB nvidia-smi prints (ECC and firmware reserve already taken out), not the "GB" on the box:
# an "80 GB" H100 SXM reports 81559 MiB, a "141 GB" H200 143771 MiB, an "48 GB" L40S 46068 MiB.
GPUS: MappingProxyType[str, Gpu] = MappingProxyType(
    {
        g.key: g
        for g in (
            Gpu("rtx4090", "RTX 4090", "24 GB", 24564 * _MIB, 165.2e12),
            Gpu("a100-40gb", "A100 40GB", "40 GB", 40960 * _MIB, 312e12),
            Gpu("l40s", "L40S", "48 GB", 46068 * _MIB, 362.05e12),
            Gpu("a100-80gb", "A100 80GB", "80 GB", 81920 * _MIB, 312e12),
            Gpu("h100", "H100 SXM 80GB", "80 GB", 81559 * _MIB, 989.4e12),
            Gpu("h200", "H200 141GB", "141 GB", 143771 * _MIB, 989.4e12),
        )
    }
)
_GPU_ALIASES = MappingProxyType(
    {
        "4090": "rtx4090",
        "rtx-4090": "rtx4090",
        "a100": "a100-80gb",
        "a100-40": "a100-40gb",
        "a100-80": "a100-80gb",
        "h100-sxm": "h100",
        "h100-80gb": "h100",
        "h200-141gb": "h200",
    }
)


def get_gpu(name: str) -> Gpu:
    """The GPU called ``name`` (case/space-insensitive); ValueError listing the known ones."""
    key = normalize_name(name)
    key = _GPU_ALIASES.get(key, key)
    if key not in GPUS:
        raise ValueError(f"unknown GPU {name!r}; use one of {', '.join(GPUS)}")
    return GPUS[key]
