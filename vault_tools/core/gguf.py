"""GGUF file sizes: the tensor types llama.cpp's ``llama-quantize`` picks for each file type, no imatrix.

Source: llama.cpp ``src/llama-quant.cpp`` (``llama_tensor_get_type_impl``, ``tensor_type_fallback``) and
``ggml-common.h`` (block layouts); 1-D tensors, routers and position tables stay as ``convert_hf_to_gguf``
wrote them (F32).  GGUF metadata (the tokenizer vocabulary, a few MB) is not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType

from vault_tools.core.params import ParamCount, Part
from vault_tools.core.roles import TermTable, part_label, part_role
from vault_tools.core.spec import ModelSpec
from vault_tools.core.units import GGML_TYPES, Term
from vault_tools.records import record

# llama.cpp file types → the tensor type most matrices get (llama_ftype_get_default_type).
GGUF_FTYPES: MappingProxyType[str, str] = MappingProxyType(
    {
        "q8_0": "Q8_0",
        "q6_k": "Q6_K",
        "q5_k_m": "Q5_K",
        "q5_k_s": "Q5_K",
        "q5_1": "Q5_1",
        "q5_0": "Q5_0",
        "q4_k_m": "Q4_K",
        "q4_k_s": "Q4_K",
        "q4_1": "Q4_1",
        "q4_0": "Q4_0",
        "q3_k_l": "Q3_K",
        "q3_k_m": "Q3_K",
        "q3_k_s": "Q3_K",
        "q2_k": "Q2_K",
    }
)
# Model types whose GGUF conversion stores q, k and v as one fused ``attn_qkv`` tensor.
_FUSED_QKV = frozenset({"gpt2", "bloom", "falcon", "gpt_neox", "phi3"})


# --- GGUF (llama.cpp) -----------------------------------------------------------------------------------


@record
class _Tensor:
    """One GGUF tensor (or ``copies`` identical ones): rows of ``row`` elements."""

    label: str
    category: str
    rows: int
    row: int
    copies: int
    layers: tuple[int, ...]  # layer index of each copy, empty when not per layer


_UNQUANTIZED = MappingProxyType({"1d": "F32", "router": "F32", "table": "F32", "table_f16": "F16"})


def _gguf_tensors(count: ParamCount) -> Iterator[_Tensor]:
    spec = count.spec
    fused = spec.model_type in _FUSED_QKV
    pending_qkv: list[Part] = []
    for part in count.parts:
        role = part_role(part)
        if fused and role == "linear" and part.name in ("q_proj", "k_proj", "v_proj"):
            pending_qkv.append(part)
            if len(pending_qkv) == 3:
                rows = sum(p.shape[0] for p in pending_qkv)
                layers = _layers(spec, part)
                yield _Tensor(part_label(part), "attn_v", rows, part.shape[1], part.copies, layers)
                pending_qkv = []
            continue
        if len(part.shape) == 1 or role in ("norm", "bias"):
            yield _Tensor(part_label(part), "1d", 1, part.size, part.copies, ())
            continue
        if role == "table" and part.component == "relative_position_bias":
            category = "table_f16"  # T5's attn_rel_b: not quantized, left at the converted F16
        else:
            category = {
                "embedding": "token_embd",
                "head": "output",
                "router": "router",
                "table": "table",
            }.get(role, _LINEAR_CATEGORY.get(part.name, "other"))
        layers = _layers(spec, part)
        per_layer = part.copies // len(layers) if layers else 1
        if per_layer > 1:  # routed experts: one 3-D tensor per layer in GGUF
            rows = part.shape[0] * per_layer
            yield _Tensor(part_label(part), category, rows, part.shape[1], len(layers), layers)
        else:
            yield _Tensor(part_label(part), category, part.shape[0], part.shape[1], part.copies, layers)


_LINEAR_CATEGORY = MappingProxyType(
    {
        "q_proj": "attn_q",
        "k_proj": "attn_k",
        "v_proj": "attn_v",
        "kv_b_proj": "attn_v",  # llama.cpp treats attn_kv_b like attn_v
        "o_proj": "attn_output",
        "gate_proj": "ffn_gate",
        "up_proj": "ffn_up",
        "down_proj": "ffn_down",
    }
)


def _layers(spec: ModelSpec, part: Part) -> tuple[int, ...]:
    """Layer index of each copy of a per-layer part (routed experts: each layer once)."""
    moe = spec.moe
    if moe is not None and part.component in ("moe_experts", "moe_shared_experts", "moe_router"):
        return moe.moe_layers
    if moe is not None and part.component == "mlp":
        return tuple(i for i in range(spec.num_layers) if i not in moe.moe_layers)
    if part.copies > 1 or part.component in ("attention", "cross_attention", "mlp"):
        return tuple(range(part.copies))
    return ()


def _more_bits(i: int, n: int) -> bool:
    """llama.cpp's ``use_more_bits``: the first and last eighth of the layers and every third between."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _gguf_type(spec: ModelSpec, ftype: str, tensor: _Tensor, layer: int, i_v: int, n_v: int) -> str:
    """The tensor type llama.cpp picks for one tensor (``llama_tensor_get_type_impl``, no imatrix)."""
    base = GGUF_FTYPES[ftype]
    falcon = spec.model_type == "falcon"
    experts8 = spec.moe is not None and spec.moe.num_experts == 8
    cat = tensor.category
    n_layer = spec.num_layers if not spec.encoder_decoder else max(tensor.copies, 1)
    new = base
    # With no separate output tensor llama.cpp quantizes the (tied) token embedding as the output.
    if cat in ("output", "token_embd"):
        if falcon or tensor.row % GGML_TYPES[base].block_elems:
            new = "Q8_0"
        elif base != "Q8_0":
            new = "Q6_K"
    elif cat == "attn_v":
        gqa = spec.num_heads // spec.num_kv_heads
        if ftype == "q2_k":
            new = "Q4_K" if gqa >= 4 else "Q3_K"
        elif ftype == "q3_k_m":
            new = "Q5_K" if i_v < 2 else "Q4_K"
        elif ftype == "q3_k_l":
            new = "Q5_K"
        elif ftype in ("q4_k_m", "q5_k_m") and _more_bits(i_v, n_v):
            new = "Q6_K"
        elif ftype == "q4_k_s" and i_v < 4:
            new = "Q5_K"
        if _llama_70b(spec) and new in ("Q3_K", "Q4_K"):
            new = "Q5_K"
        if experts8:
            new = "Q8_0"
    elif cat == "attn_k" and experts8:
        new = "Q8_0"
    elif cat == "ffn_down":
        if ftype == "q2_k":
            new = "Q3_K"
        elif ftype == "q3_k_m":
            new = (
                "Q5_K"
                if layer < n_layer // 16
                else ("Q4_K" if not falcon or _more_bits(layer, n_layer) else "Q3_K")
            )
        elif ftype == "q3_k_l":
            new = "Q4_K" if falcon else "Q5_K"
        elif ftype == "q4_k_m":
            if falcon:
                new = "Q6_K" if layer < n_layer // 16 else ("Q5_K" if _more_bits(layer, n_layer) else "Q4_K")
            elif _more_bits(layer, n_layer):
                new = "Q6_K"
        elif ftype == "q5_k_m" and _more_bits(layer, n_layer):
            new = "Q6_K"
        elif ftype == "q4_k_s" and not falcon and layer < n_layer // 8:
            new = "Q5_K"
    elif cat == "attn_output":
        if not falcon:
            if experts8:
                if ftype in ("q2_k", "q3_k_s", "q3_k_m", "q4_k_s", "q4_k_m"):
                    new = "Q5_K"
            else:
                new = {"q2_k": "Q3_K", "q3_k_m": "Q4_K", "q3_k_l": "Q5_K"}.get(ftype, new)
        elif ftype == "q3_k_l":
            new = "Q4_K"
    return _fallback(new, tensor.row)


def _fallback(new: str, row: int) -> str:
    """llama.cpp's ``tensor_type_fallback``: rows that are not whole blocks get a smaller-block type."""
    if row % GGML_TYPES[new].block_elems == 0:
        return new
    small = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0", "Q3_K": "Q4_0", "Q2_K": "Q4_0"}.get(new, "F16")
    return small if row % GGML_TYPES[small].block_elems == 0 else "F16"


def _llama_70b(spec: ModelSpec) -> bool:
    """llama.cpp's LLM_TYPE_70B: a Llama with 80 layers and grouped-query attention."""
    return spec.model_type == "llama" and spec.num_layers == 80 and spec.num_kv_heads != spec.num_heads


_LAST_TENSORS: tuple[ParamCount, tuple[_Tensor, ...]] | None = None


def _tensors(count: ParamCount) -> tuple[_Tensor, ...]:
    """``_gguf_tensors(count)``, kept for the last count: a memory report asks it for each GGUF type."""
    global _LAST_TENSORS
    last = _LAST_TENSORS  # read once: another thread may replace it meanwhile
    if last is None or last[0] is not count:  # a count is frozen: the same one, the same list
        last = _LAST_TENSORS = (count, tuple(_gguf_tensors(count)))
    return last[1]


# The categories whose tensor type _gguf_type picks by layer (ffn_down) or by attn_v count (attn_v).
_BY_LAYER = frozenset({"attn_v", "ffn_down"})


def gguf_terms(count: ParamCount, ftype: str) -> list[Term]:
    spec = count.spec
    tensors = _tensors(count)
    has_output = any(t.category == "output" for t in tensors)
    n_v = sum(len(t.layers) or t.copies for t in tensors if t.category == "attn_v")
    i_v = 0
    acc = TermTable()
    for tensor in tensors:
        if tensor.category in _UNQUANTIZED:
            # llama-quantize leaves these at the type convert_hf_to_gguf wrote (1-D, routers and tables F32).
            kind = _UNQUANTIZED[tensor.category]
            n = tensor.rows * tensor.row * tensor.copies
            acc.add(tensor.label, kind, n, n * GGML_TYPES[kind].block_bytes)
            continue
        probe = tensor
        if tensor.category == "token_embd" and has_output:
            probe = _Tensor(tensor.label, "token_embd_untied", tensor.rows, tensor.row, tensor.copies, ())
        layers = tensor.layers or (0,) * tensor.copies
        if layers and tensor.category not in _BY_LAYER:
            # The type depends on neither the layer nor the attn_v count: one pick serves every copy.
            kind = _gguf_type(spec, ftype, probe, layers[0], i_v, n_v)
            n = len(layers) * tensor.rows
            acc.add(tensor.label, kind, n * tensor.row, n * GGML_TYPES[kind].row_bytes(tensor.row))
            continue
        for layer in layers:
            kind = _gguf_type(spec, ftype, probe, layer, i_v, n_v)
            if tensor.category == "attn_v":
                i_v += 1
            t = GGML_TYPES[kind]
            acc.add(tensor.label, kind, tensor.rows * tensor.row, tensor.rows * t.row_bytes(tensor.row))
    return acc.terms()
