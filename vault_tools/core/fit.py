"""Which GPUs a model fits: inference on one (or split over several), training under each ZeRO stage."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

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


def _smallest(fits: Callable[[int], bool], limit: int) -> int | None:
    """The smallest n in 1..limit with fits(n), for a predicate that stays true once true."""
    if not fits(limit):
        return None
    lo, hi = 1, limit
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
    states = [model_states(count, replace(training, zero=stage)) for stage in (0, 1, 2, 3)]
    weights, kv, overhead = inference.weights.total, inference.kv.total, inference.options.overhead
    rows = []
    for gpu in gpus if gpus is not None else GPUS.values():
        mem = gpu.memory

        def infer_fits(n: int, mem: int = mem) -> bool:
            return math.ceil(weights / n) + math.ceil(kv / n) + overhead <= mem

        stages: list[int | None] = []
        for stage in (0, 1, 2, 3):

            def train_fits(n: int, stage: int = stage, mem: int = mem) -> bool:
                return states[stage].per_gpu(stage, n) + rest <= mem

            stages.append(_smallest(train_fits, 1 if stage == 0 else MAX_GPUS))
        rows.append(
            FitRow(
                gpu=gpu,
                inference_total=inference.total,
                inference_fits=inference.total <= mem,
                inference_min_gpus=_smallest(infer_fits, MAX_GPUS),
                training_per_gpu=given.per_gpu,
                training_fits=given.per_gpu <= mem,
                zero_min_gpus=(stages[0], stages[1], stages[2], stages[3]),
            )
        )
    return tuple(rows)
