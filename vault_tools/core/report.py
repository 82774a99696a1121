"""One memory/compute report per model, shared by ``calc`` and the note pipeline: the same numbers in both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vault_tools.core.compute import ComputeReport, compute_report
from vault_tools.core.fit import FitRow, fit_table
from vault_tools.core.memory import (
    InferenceMemory,
    InferenceOptions,
    KVCache,
    TrainingMemory,
    TrainingOptions,
    WeightMemory,
    inference_memory,
    training_memory,
    weight_memory,
)
from vault_tools.core.params import ParamCount
from vault_tools.core.spec import ModelSpec
from vault_tools.core.units import Term, dtype_name
from vault_tools.core.weights import EXAMPLE_FORMATS
from vault_tools.records import as_dict, record, replace

_COMPUTE_KEYS = ("tokens", "gpu", "gpus", "mfu")


@record
class MemoryReport:
    """Weights per format, inference and training memory, compute and the GPU fit table of one model."""

    weights: tuple[WeightMemory, ...]
    inference: InferenceMemory
    training: TrainingMemory
    compute: ComputeReport
    fit: tuple[FitRow, ...]
    notes: tuple[str, ...]

    @property
    def kv(self) -> KVCache:
        return self.inference.kv


def options_from_mapping(raw: Mapping[str, Any] | None) -> tuple[InferenceOptions, TrainingOptions]:
    """Validated options from a model-spec block's ``memory:``, ``training:`` and ``compute:`` mappings."""
    raw = raw or {}
    memory = InferenceOptions.from_mapping(raw.get("memory"))
    training_raw = dict(_mapping(raw.get("training"), "training"))
    compute_raw = _mapping(raw.get("compute"), "compute")
    for key, value in compute_raw.items():
        name = str(key).replace("-", "_").casefold()
        if name not in _COMPUTE_KEYS:
            raise ValueError(f"compute: unknown key {key!r}; allowed keys: {', '.join(_COMPUTE_KEYS)}")
        if name in training_raw and training_raw[name] != value:
            raise ValueError(f"compute.{name} and training.{name} disagree; set it once")
        training_raw[name] = value
    return memory, TrainingOptions.from_mapping(training_raw)


def _mapping(value: Any, section: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"'{section}' must be a mapping of option keys to values, got {value!r}")
    return value


def memory_report(
    spec: ModelSpec, count: ParamCount, raw_options: Mapping[str, Any] | None = None
) -> MemoryReport:
    """Everything the memory and compute core says about ``count``'s model under a block's options."""
    inference_opts, training_opts = options_from_mapping(raw_options)
    memory_raw = (raw_options or {}).get("memory") or {}
    checkpoint_dtype = _checkpoint_dtype(spec)
    if checkpoint_dtype is not None and "dtype" not in memory_raw:
        # Serve the weights in the dtype the checkpoint ships in unless the note says otherwise.
        inference_opts = replace(inference_opts, dtype=checkpoint_dtype)
    formats = list(EXAMPLE_FORMATS)
    for extra in (inference_opts.weight_format, training_opts.quant):
        if extra is not None and extra not in formats:
            formats.append(extra)
    weights = tuple(weight_memory(count, fmt) for fmt in formats)
    inference = inference_memory(count, inference_opts)
    training = training_memory(count, training_opts)
    compute = compute_report(
        count,
        seq_len=training_opts.seq_len,
        tokens=training_opts.tokens,
        gpu=training_opts.gpu,
        gpus=training_opts.gpus,
        mfu=training_opts.mfu,
        adapters=training.adapters_per_token,
    )
    fit = fit_table(count, inference, training_opts)
    notes = (*inference.kv.notes, *training.notes, *training.activation.notes)
    return MemoryReport(weights, inference, training, compute, fit, tuple(dict.fromkeys(notes)))


def _checkpoint_dtype(spec: ModelSpec) -> str | None:
    """``torch_dtype`` (or transformers 5's ``dtype``) of a config, when it names a float type."""
    for key in ("torch_dtype", "dtype"):
        value = spec.config.get(key)
        if isinstance(value, str) and dtype_name(value) in ("fp32", "fp16", "bf16"):
            return dtype_name(value)
    return None


def _terms(terms: tuple[Term, ...]) -> list[dict[str, Any]]:
    return [{"name": t.name, "bytes": t.bytes, "formula": t.formula} for t in terms]


def memory_json(report: MemoryReport) -> dict[str, Any]:
    """The ``memory`` and ``compute`` sections of ``calc --json`` (all sizes in bytes, integers)."""
    inference, training, compute = report.inference, report.training, report.compute
    return {
        "memory": {
            "weights": {w.format: w.total for w in report.weights},
            "kv_cache": inference.kv.total,
            "inference": {
                "format": inference.weights.format,
                "weights": inference.weights.total,
                "kv_cache": inference.kv.total,
                "overhead": inference.options.overhead,
                "total": inference.total,
            },
            "training": {
                "weights": training.weights,
                "gradients": training.gradients,
                "optimizer": training.optimizer,
                "activations": training.activations,
                "overhead": training.overhead,
                "per_gpu": training.per_gpu,
                "trainable_params": training.trainable,
            },
            "options": {
                "memory": as_dict(inference.options) | {"kv_dtype": inference.kv.kv_dtype},
                "training": as_dict(training.options),
            },
            "terms": {
                "weights": {w.format: _terms(w.terms) for w in report.weights},
                "kv_cache": _terms(inference.kv.terms),
                "inference": _terms(inference.terms),
                "training": _terms(training.terms),
                "activations": _terms(training.activation.terms),
            },
            "fit": [
                {
                    "gpu": row.gpu.name,
                    "class": row.gpu.size_class,
                    "memory": row.gpu.memory,
                    "inference_fits": row.inference_fits,
                    "inference_min_gpus": row.inference_min_gpus,
                    "training_fits": row.training_fits,
                    "zero_min_gpus": {str(stage): n for stage, n in enumerate(row.zero_min_gpus)},
                }
                for row in report.fit
            ],
            "notes": list(report.notes),
        },
        "compute": {
            "flops_per_token": compute.flops_per_token,
            "training_flops": compute.training_flops,
            "training_flops_rule": compute.rule,
            "chinchilla_tokens": compute.chinchilla_tokens,
            "tokens": compute.tokens,
            "tokens_source": "given" if compute.tokens_given else "chinchilla",
            "seq_len": compute.seq_len,
            "training_flops_with_attention": compute.training_flops_exact,
            "training_seconds": round(compute.seconds, 1),
            "gpu": compute.gpu.name,
            "gpus": compute.gpus,
            "mfu": compute.mfu,
            "compute_optimal": {"params": compute.optimal_params, "tokens": compute.optimal_tokens},
            "terms": [{"name": t.name, "flops": t.flops, "formula": t.formula} for t in compute.forward],
        },
    }
