"""Which GPUs a model fits: inference on one (or split over several), training under each ZeRO stage."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vault_tools.core.memory import (
    InferenceMemory,
    TrainingOptions,
    model_states,
    training_activations,
    training_memory,
)
from vault_tools.core.params import ParamCount
from vault_tools.core.units import GPUS, Gpu
from vault_tools.records import record, replace

MAX_GPUS = 4096  # the search stops here; beyond it a figure reads "no"


@record
class FitRow:
    """One GPU: whether the model fits, and the fewest GPUs that hold it."""

    gpu: Gpu
    inference_total: int
    inference_fits: bool  # the whole model, KV cache and overhead on one GPU
    inference_min_gpus: int | None  # weights and KV cache split evenly (tensor/pipeline parallel)
    training_per_gpu: int  # with the training options as given
    training_fits: bool
    zero_min_gpus: tuple[int | None, int | None, int | None, int | None]  # stages 0, 1, 2, 3


def _fewest(sizes: Sequence[int], room: int, limit: int) -> int | None:
    """The smallest n in 1..limit with ``sum(ceil(size / n))`` at most ``room`` (None when n = limit fails).

    Each ``ceil(size / n)`` lies between ``size / n`` and ``size / n + 1``, so the answer lies between
    ``total / room`` and ``total / (room - len(sizes))``: a few values, searched by halving (the sum only
    falls as n grows), instead of the whole range (a dozen sums for each GPU and ZeRO stage).
    """

    def fits(n: int) -> bool:
        return sum(-(-size // n) for size in sizes) <= room

    total = sum(sizes)
    if total == 0 or room < 0:
        return 1 if total == 0 and room >= 0 else None
    lo = max(1, -(-total // room)) if room > 0 else limit + 1  # below lo, the sum exceeds room
    hi = min(limit, -(-total // (room - len(sizes)))) if room > len(sizes) else limit
    if lo > limit or not fits(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def fit_table(
    count: ParamCount,
    inference: InferenceMemory,
    training: TrainingOptions,
    gpus: Iterable[Gpu] | None = None,
) -> tuple[FitRow, ...]:
    """A row per GPU (the built-in table by default)."""
    activation = training_activations(count, training)
    given = training_memory(count, training, activation=activation)
    # Per stage, what ZeRO shards is fixed; only the GPU count divides it (training_memory's own sum).
    rest = activation.total + training.overhead
    # Per stage: the bytes each GPU keeps whole, and those ZeRO splits over the GPUs.
    split = [model_states(count, replace(training, zero=stage)).split(stage) for stage in (0, 1, 2, 3)]
    weights, kv, overhead = inference.weights.total, inference.kv.total, inference.options.overhead
    rows = []
    for gpu in gpus if gpus is not None else GPUS.values():
        mem = gpu.memory
        stages = [
            _fewest(sharded, mem - rest - whole, 1 if stage == 0 else MAX_GPUS)
            for stage, (whole, sharded) in enumerate(split)
        ]
        rows.append(
            FitRow(
                gpu=gpu,
                inference_total=inference.total,
                inference_fits=inference.total <= mem,
                inference_min_gpus=_fewest((weights, kv), mem - overhead, MAX_GPUS),
                training_per_gpu=given.per_gpu,
                training_fits=given.per_gpu <= mem,
                zero_min_gpus=(stages[0], stages[1], stages[2], stages[3]),
            )
        )
    return tuple(rows)
