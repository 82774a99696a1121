"""Weight memory / file size of a counted model in a plain dtype or a real quantized format.

Every format keeps the tensors its tool keeps (embeddings, head, norms, routers) at their own type and adds
its scales, zero points and indices, so the figure is the size of the tensors, not ``params × bits``.
Sources: AutoGPTQ/AutoAWQ ``QuantLinear`` buffers; bitsandbytes ``quantize_4bit`` / ``Int8Params``;
DeepSeek-V3's ``weight_block_size: [128, 128]``; GGUF in ``gguf.py``.
"""

from __future__ import annotations

import math
import re
from types import MappingProxyType

from vault_tools.core.gguf import GGUF_FTYPES, gguf_terms
from vault_tools.core.params import ParamCount
from vault_tools.core.roles import TermTable, part_label, part_role
from vault_tools.core.units import DTYPE_BITS, Term, dtype_name, normalize_name
from vault_tools.records import record

__all__ = [
    "EXAMPLE_FORMATS",
    "WeightMemory",
    "canonical_format",
    "known_formats",
    "part_role",
    "weight_bytes",
]


@record
class WeightMemory:
    """The bytes of a model's weights in one format, term by term."""

    format: str
    terms: tuple[Term, ...]

    @property
    def total(self) -> int:
        return sum(t.bytes for t in self.terms)


_BNB = MappingProxyType(
    {"nf4": "nf4", "nf4-dq": "nf4-dq", "fp4": "fp4", "fp4-dq": "fp4-dq", "bnb-int8": "bnb-int8"}
)
_BNB_ALIASES = MappingProxyType(
    {
        "nf4-double-quant": "nf4-dq",
        "nf4-double": "nf4-dq",
        "qlora": "nf4-dq",
        "fp4-double-quant": "fp4-dq",
        "llm.int8": "bnb-int8",
        "llm-int8": "bnb-int8",
        "int8-bnb": "bnb-int8",
        "bnb-8bit": "bnb-int8",
        "bnb-nf4": "nf4",
    }
)
_GPTQ = re.compile(
    r"^gptq(?:-?(?P<bits>[2348])-?bits?|-int(?P<ibits>[2348]))?(?:-g(?P<g>-?\d+)|-(?P<g2>\d+)g)?$"
)
_AWQ = re.compile(r"^awq(?:-?4-?bits?|-int4)?(?:-g(?P<g>\d+)|-(?P<g2>\d+)g)?$")

EXAMPLE_FORMATS = (
    "fp32",
    "fp16",
    "bf16",
    "fp8",
    "int8",
    "int4",
    "q8_0",
    "q6_k",
    "q5_k_m",
    "q4_k_m",
    "q4_0",
    "gptq-4bit-g128",
    "awq-4bit-g128",
    "nf4",
    "nf4-dq",
)


def known_formats() -> tuple[str, ...]:
    """Every format name ``weight_memory`` takes (GPTQ/AWQ also take other bit widths and group sizes)."""
    return (
        *DTYPE_BITS,
        *GGUF_FTYPES,
        "gptq-4bit-g128",
        "awq-4bit-g128",
        *_BNB,
        "fp8-block128",
    )


def canonical_format(name: str) -> str:
    """The canonical spelling of a dtype or format name; ValueError naming the known ones."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a weight format must be a name such as 'bf16' or 'q4_k_m', got {name!r}")
    plain = dtype_name(name)
    if plain is not None:
        return plain
    key = normalize_name(name)
    key = key.removeprefix("gguf-")
    if key.replace("-", "_") in GGUF_FTYPES:
        return key.replace("-", "_")
    key = _BNB_ALIASES.get(key, key)
    if key in _BNB:
        return key
    if key in ("fp8-block128", "fp8-blockwise", "fp8-deepseek"):
        return "fp8-block128"
    if m := _GPTQ.match(key):
        bits = m["bits"] or m["ibits"] or "4"
        return f"gptq-{bits}bit-g{m['g'] or m['g2'] or '128'}"
    if m := _AWQ.match(key):
        return f"awq-4bit-g{m['g'] or m['g2'] or '128'}"
    raise ValueError(
        f"unknown weight format {name!r}; use one of {', '.join(known_formats())} "
        "(GPTQ also as gptq-<2|3|4|8>bit-g<group>, AWQ as awq-4bit-g<group>)"
    )


def weight_bytes(count: ParamCount, fmt: str) -> int:
    """Bytes of the weights of ``count`` stored as ``fmt`` (a dtype or a quantized format)."""
    return weight_memory(count, fmt).total


def weight_memory(count: ParamCount, fmt: str) -> WeightMemory:
    """The weights of ``count`` in ``fmt``, term by term."""
    name = canonical_format(fmt)
    if name in DTYPE_BITS:
        terms = _plain_terms(count, DTYPE_BITS[name], name)
    elif name in GGUF_FTYPES:
        terms = gguf_terms(count, name)
    elif name.startswith("gptq-") or name.startswith("awq-"):
        terms = _gptq_awq_terms(count, name)
    elif name in _BNB:
        terms = _bnb_terms(count, name)
    else:
        terms = _fp8_block_terms(count)
    return WeightMemory(name, tuple(t for t in terms if t.bytes))


def _plain_terms(count: ParamCount, bits: int, name: str) -> list[Term]:
    acc = TermTable()
    for part in count.parts:
        acc.add(part_label(part), name, part.count, math.ceil(part.size * bits / 8) * part.copies)
    return acc.terms()


# --- GPTQ / AWQ -----------------------------------------------------------------------------------------


def _gptq_awq_terms(count: ParamCount, name: str) -> list[Term]:
    """Packed int32 weights, int32 zero points and fp16 scales per group; GPTQ adds an int32 ``g_idx``."""
    m = re.match(r"^(gptq|awq)-(\d)bit-g(-?\d+)$", name)
    assert m is not None
    kind, bits, group = m[1], int(m[2]), int(m[3])
    acc = TermTable()
    for part in count.parts:
        if part_role(part) != "linear":
            acc.add(part_label(part), "fp16", part.count, 2 * part.count)
            continue
        out_f, in_f = part.shape
        groups = 1 if group <= 0 else math.ceil(in_f / group)
        c = part.copies
        acc.add(
            "quantized matrices",
            f"{bits}-bit packed",
            part.count,
            c * math.ceil(in_f * bits / 32) * 4 * out_f,
        )
        acc.add("group scales", "fp16", 0, c * groups * out_f * 2)
        acc.add("group zero points", f"{bits}-bit packed", 0, c * groups * math.ceil(out_f * bits / 32) * 4)
        if kind == "gptq":
            acc.add("g_idx", "int32", 0, c * in_f * 4)
    return acc.terms()


# --- bitsandbytes ---------------------------------------------------------------------------------------


def _bnb_terms(count: ParamCount, name: str) -> list[Term]:
    """bitsandbytes as transformers loads it: every linear but the output head quantized, the rest bf16.

    4-bit: two weights a byte, one fp32 absmax per 64 weights and a 16-entry fp32 code per tensor; double
    quantization stores the absmax as uint8 with one fp32 absmax per 256 blocks, a 256-entry code and an
    fp32 offset (QLoRA: 0.5 → 0.127 bits of constants per weight).  8-bit (LLM.int8): int8 weights and one
    fp32 scale per output row.
    """
    acc = TermTable()
    for part in count.parts:
        if part_role(part) not in ("linear", "router"):
            acc.add(part_label(part), "bf16", part.count, 2 * part.count)
            continue
        n, c = part.size, part.copies
        if name == "bnb-int8":
            acc.add("quantized matrices", "int8", part.count, c * n)
            acc.add("row scales", "fp32", 0, c * part.shape[0] * 4)
            continue
        blocks = math.ceil(n / 64)
        acc.add("quantized matrices", name.removesuffix("-dq"), part.count, c * math.ceil(n / 2))
        acc.add("code tables", "fp32", 0, c * 16 * 4)
        if name.endswith("-dq"):
            acc.add("block absmax", "uint8", 0, c * blocks)
            acc.add("nested absmax", "fp32", 0, c * math.ceil(blocks / 256) * 4)
            acc.add("nested code + offset", "fp32", 0, c * (256 * 4 + 4))
        else:
            acc.add("block absmax", "fp32", 0, c * blocks * 4)
    return acc.terms()


def _fp8_block_terms(count: ParamCount) -> list[Term]:
    """DeepSeek-V3's FP8: e4m3 matrices with one fp32 inverse scale per 128×128 block, the rest bf16."""
    acc = TermTable()
    for part in count.parts:
        if part_role(part) != "linear":
            acc.add(part_label(part), "bf16", part.count, 2 * part.count)
            continue
        out_f, in_f = part.shape
        acc.add("quantized matrices", "fp8 e4m3", part.count, part.count)
        acc.add("block scales", "fp32", 0, part.copies * math.ceil(out_f / 128) * math.ceil(in_f / 128) * 4)
    return acc.terms()
