"""``calc``'s memory and compute options and its text sections: every size in GB and GiB, every term shown.

The options build the same ``memory:`` / ``training:`` mapping a note's model-spec block holds, so the CLI and
the pipeline go through one validator (``core.report.options_from_mapping``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vault_tools.core.report import MemoryReport
from vault_tools.fmt import grouped, human_bytes, human_count, text_table

# CLI flag → (section, key) of the note mapping.  --batch and --seq-len set both sections, and so does
# --quant: the format the weights are served in is the frozen base a LoRA run trains on (QLoRA).
_FLAGS: dict[str, tuple[str, ...]] = {
    "dtype": ("memory",),
    "quant": ("memory", "training"),
    "kv_dtype": ("memory",),
    "overhead": ("memory", "training"),
    "batch": ("memory", "training"),
    "seq_len": ("memory", "training"),
    "optimizer": ("training",),
    "precision": ("training",),
    "zero": ("training",),
    "gpus": ("training",),
    "lora_rank": ("training",),
    "lora_targets": ("training",),
    "recompute": ("training",),
    "flash_attn": ("training",),
    "tokens": ("training",),
    "gpu": ("training",),
    "mfu": ("training",),
}


def add_memory_arguments(parser: argparse.ArgumentParser) -> None:
    """The memory/compute options of ``calc`` (the same keys a note's ``memory:`` / ``training:`` take)."""
    group = parser.add_argument_group("memory and compute (same keys as a note's memory:/training: block)")
    add = group.add_argument
    add("--dtype", help="weight dtype for inference: fp32, fp16, bf16, fp8, int8, int4 (default bf16)")
    add(
        "--quant",
        help="quantized weight format: q4_k_m, q8_0, gptq-4bit-g128, awq-4bit-g128, nf4, nf4-dq, ... "
        "(also the frozen base under --lora-rank: QLoRA)",
    )
    add(
        "--batch",
        type=int,
        help="sequences per batch (inference) / micro-batch per GPU (training); default 1",
    )
    add("--seq-len", type=int, help="tokens per sequence (default 2048)")
    add(
        "--kv-dtype",
        help="KV-cache element type: bf16, fp16, fp8, q8_0, q4_0, ... (default: the weight dtype when it "
        "is fp32, fp16 or bf16, else fp16)",
    )
    add("--overhead", help="runtime overhead per GPU, e.g. '1 GiB' (default), '0'")
    add("--optimizer", help="sgd, sgd-momentum, adam, adamw (default), adam-8bit, adafactor, lion")
    add("--precision", help="fp32, mixed (16 B/param with Adam, default), mixed-fp32-grads (18 B), bf16")
    add("--zero", help="ZeRO stage 0-3 (fsdp = 3); default 0")
    add("--gpus", type=int, help="data-parallel GPUs the ZeRO stage shards over (default 1)")
    add("--lora-rank", type=int, help="train LoRA adapters of this rank instead of every weight")
    add(
        "--lora-targets",
        help="comma-separated linear module names, or all-linear / attention / mlp "
        "(default: PEFT's for the model, e.g. q_proj,v_proj for Llama, c_attn for GPT-2)",
    )
    add("--recompute", help="activation recomputation: none (default), selective, full")
    add(
        "--flash-attn",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="flash attention (default on)",
    )
    add("--tokens", help="training tokens, e.g. 2T or 300B (default: Chinchilla's 20 per parameter)")
    add("--gpu", help="GPU for the training-time estimate (default h100)")
    add("--mfu", help="model FLOPs utilisation for the training time, e.g. 0.4 or 40%% (default 0.4)")


def memory_options(args: argparse.Namespace, target: str | None) -> dict[str, Any]:
    """The options mapping for ``calc``: a spec file's own ``memory:`` / ``training:`` overridden by flags."""
    out: dict[str, dict[str, Any]] = {}
    for section, value in _file_sections(target).items():
        out[section] = dict(value) if isinstance(value, Mapping) else value
    for flag, sections in _FLAGS.items():
        value = getattr(args, flag, None)
        if value is None:
            continue
        for section in sections:
            current = out.setdefault(section, {})
            if isinstance(current, dict):
                current[flag] = value
    return out


def _file_sections(target: str | None) -> dict[str, Any]:
    """``memory`` / ``training`` / ``compute`` of a YAML or JSON spec file (a preset name has none)."""
    import yaml

    if target is None:
        return {}
    path = Path(target)
    if path.suffix.lower() not in (".json", ".yaml", ".yml") or not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return {}  # load_target already reported what is wrong with the file
    if not isinstance(raw, Mapping):
        return {}
    return {key: raw[key] for key in ("memory", "training", "compute") if key in raw}


def _flops(value: float) -> str:
    return f"{value:.3e} FLOPs"


def _duration(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:,.1f} days" if days >= 1 else f"{seconds / 3600:,.1f} hours"


def render_memory_text(report: MemoryReport, total_params: int) -> str:
    """The ``memory`` and ``compute`` sections of ``calc``'s table output."""
    lines = ["", "memory", "", "  weights / file size by format"]
    lines += text_table([(w.format, human_bytes(w.total)) for w in report.weights], right=(1,), indent="    ")
    if total_params >= 10**9:
        nominal = round(total_params / 1e9)
        lines.append(
            f"    seed article's rounding: {nominal}B × 4 bytes = {nominal * 4} GB (fp32), "
            f"{nominal}B × 2 bytes = {nominal * 2} GB (fp16); the exact count gives the sizes above"
        )

    inf = report.inference
    o = inf.options
    lines += [
        "",
        f"  inference ({inf.weights.format}, batch {o.batch}, context {o.seq_len:,}, "
        f"KV cache {inf.kv.kv_dtype})",
    ]
    inf_rows: list[tuple[str, ...]] = [(t.name, human_bytes(t.bytes), t.formula) for t in inf.terms]
    inf_rows.append(("total", human_bytes(inf.total), ""))
    lines += text_table(inf_rows, right=(1,), indent="    ")
    for t in inf.kv.terms:
        lines.append(f"      KV: {t.name}: {t.formula}")

    tr = report.training
    to = tr.options
    how = (
        f"LoRA r={to.lora_rank}" + (f" on a {to.quant} base" if to.quant else "")
        if to.lora
        else "full fine-tuning"
    )
    lines += [
        "",
        f"  training per GPU ({how}, {to.optimizer}, {to.precision} precision, "
        f"ZeRO-{to.zero} over {to.gpus} GPU"
        f"{'s' if to.gpus > 1 else ''}, micro-batch {to.batch} × {to.seq_len:,}, recompute {to.recompute}, "
        f"{'flash' if to.flash_attn else 'eager'} attention)",
    ]
    train_rows: list[tuple[str, ...]] = [(t.group, t.name, human_bytes(t.bytes), t.formula) for t in tr.terms]
    train_rows.append(("", "per GPU", human_bytes(tr.per_gpu), ""))
    lines += text_table(train_rows, right=(2,), indent="    ")
    est = " (estimate)" if tr.activation.estimate else ""
    lines.append(f"    activations{est}, tensors kept for the backward pass:")
    lines += text_table(
        [(t.name, human_bytes(t.bytes), t.formula) for t in tr.activation.terms], right=(1,), indent="      "
    )

    lines += [
        "",
        "  fit (memory as the driver reports it; min GPUs: inference split evenly / training per ZeRO stage)",
    ]
    fit_rows: list[tuple[str, ...]] = [
        ("GPU", "memory", "inference", "min", "training", "ZeRO-0", "ZeRO-1", "ZeRO-2", "ZeRO-3")
    ]
    for row in report.fit:
        fit_rows.append(
            (
                f"{row.gpu.name} ({row.gpu.size_class})",
                human_bytes(row.gpu.memory).split(" (")[1].rstrip(")"),
                "fits" if row.inference_fits else "no",
                str(row.inference_min_gpus or "-"),
                "fits" if row.training_fits else "no",
                *(str(n) if n else "-" for n in row.zero_min_gpus),
            )
        )
    lines += text_table(fit_rows, indent="    ")

    c = report.compute
    source = "Chinchilla's 20 tokens per parameter" if not c.tokens_given else "given"
    lines += ["", "compute", ""]
    lines.append(
        f"  forward FLOPs per token (s = {c.seq_len:,}): {grouped(c.flops_per_token)} "
        f"({_flops(c.flops_per_token)})"
    )
    for term in c.forward:
        lines.append(f"    {term.name}: {grouped(term.flops)} = {term.formula}")
    lines.append(f"  training tokens D: {grouped(c.tokens)} ({human_count(c.tokens)}, {source})")
    lines.append(
        f"  training FLOPs {c.rule}: {_flops(c.training_flops)}  "
        f"({c.exact_rule}: {_flops(c.training_flops_exact)})"
    )
    lines.append(
        f"  training time: {_duration(c.seconds)} on {c.gpus} × {c.gpu.name} at {c.mfu:.0%} MFU "
        f"({c.gpu.bf16_flops / 1e12:,.1f} TFLOP/s dense BF16 peak)"
    )
    lines.append(
        f"  Chinchilla-optimal tokens (20·N): {grouped(c.chinchilla_tokens)} "
        f"({human_count(c.chinchilla_tokens)})"
    )
    if c.optimal_params is not None and c.optimal_tokens is not None:
        lines.append(
            f"  compute-optimal for this budget: N = {human_count(c.optimal_params)} parameters, "
            f"D = {human_count(c.optimal_tokens)} tokens"
        )
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
