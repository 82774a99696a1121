"""The memory core against measurement: real transformers models on the CPU, tiny configs of several families.

Each test states its agreement in the assertion.  Everything here is exact (byte for byte) except where a
comment names the one implementation detail the model leaves out and asserts that difference exactly.
GPU peak-memory measurement is not done: no GPU is available to these tests.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from vault_tools.core.activations import activation_memory  # noqa: E402
from vault_tools.core.memory import (  # noqa: E402
    TrainingOptions,
    kv_cache,
    kv_cache_bytes,
    layer_attention_types,
    training_memory,
)
from vault_tools.core.params import count_params  # noqa: E402
from vault_tools.core.spec import ModelSpec, build_spec  # noqa: E402

pytestmark = pytest.mark.oracle

B, S = 2, 32  # micro-batch and sequence of the activation measurements
VOCAB = 1000

# The tiny Gemma 2 and Gemma 3 text models measured (their families' defaults do the rest).
_GEMMA_TINY: dict[str, Any] = dict(
    hidden_size=64,
    intermediate_size=176,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    hidden_activation="gelu_pytorch_tanh",
)
# Tiny configs: every key is passed both to transformers and to build_spec, so both see the same model.
FAMILIES: dict[str, dict[str, Any]] = {
    # RMSNorm, SwiGLU, grouped-query attention (2 KV heads for 4 query heads)
    "llama": dict(
        hidden_size=64,
        intermediate_size=176,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        hidden_act="silu",
    ),
    # per-head q/k RMSNorm and a head_dim that is not hidden_size / heads
    "qwen3": dict(
        hidden_size=64,
        intermediate_size=176,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=24,
        hidden_act="silu",
    ),
    # LayerNorm with biases, plain GELU MLP, grouped-query attention
    "starcoder2": dict(
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        hidden_act="gelu_pytorch_tanh",
        use_bias=True,
        residual_dropout=0.0,
        embedding_dropout=0.0,
        attention_dropout=0.0,
    ),
    # Gemma's (1 + weight) RMSNorm in fp32, GELU-gated MLP, tied embeddings
    "gemma": dict(
        hidden_size=64,
        intermediate_size=176,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        hidden_act="gelu_pytorch_tanh",
        hidden_activation="gelu_pytorch_tanh",
    ),
    # Gemma's (1 + weight) fp32 RMSNorm in four norms a layer, logit soft-capping (final 30, attention 50)
    "gemma2": dict(_GEMMA_TINY),
    # the same norms, also on q and k per head
    "gemma3_text": dict(_GEMMA_TINY),
    # fused c_attn, transformers' Python gelu_new (three more intermediates), learned positions, tied head
    "gpt2": dict(
        n_embd=64,
        n_layer=2,
        n_head=4,
        n_positions=128,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    ),
}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence transformers' own warnings and log lines inside a measurement only."""
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        transformers.logging.set_verbosity(verbosity)


def _spec(model_type: str, extra: dict[str, Any] | None = None) -> tuple[ModelSpec, Any]:
    kwargs = {**FAMILIES.get(model_type, {}), "vocab_size": VOCAB, **(extra or {})}
    with _quiet():
        config = transformers.AutoConfig.for_model(model_type, **kwargs)
    return build_spec({"model_type": model_type, **kwargs}), config


def _model(config: Any, *, dtype: Any, attn: str = "sdpa") -> Any:
    torch.manual_seed(0)
    with _quiet():
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn)
    return model.train()


def _saved_bytes(model: Any, ids: Any) -> int:
    """Bytes of the distinct storages autograd saves during one forward with a loss, parameters excluded."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    params |= {b.untyped_storage().data_ptr() for b in model.buffers()}
    seen: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            seen.setdefault(storage.data_ptr(), storage.nbytes())
        return tensor

    with _quiet(), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(input_ids=ids, labels=ids, use_cache=False)
    return sum(seen.values())


def _ids() -> Any:
    torch.manual_seed(1)
    return torch.randint(0, VOCAB, (B, S))


# --- selective recompute: the attention core under a reentrant checkpoint --------------------------


def _checkpointed(core: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an attention function so only its q, k, v inputs are kept and the core is recomputed."""

    def attention(module: Any, query: Any, key: Any, value: Any, mask: Any, **kwargs: Any) -> Any:
        def run(q: Any, k: Any, v: Any) -> Any:
            return core(module, q, k, v, mask, **kwargs)[0]

        return torch.utils.checkpoint.checkpoint(run, query, key, value, use_reentrant=True), None

    return attention


@pytest.fixture(scope="module")
def selective_attention() -> dict[bool, str]:
    """Register checkpointed SDPA and eager attention with transformers; flash flag → implementation name."""
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, eager_mask, sdpa_mask

    def eager_attention_forward(module: Any, *args: Any, **kwargs: Any) -> Any:
        # each family's own eager path, from the module that defines its attention class
        return sys.modules[type(module).__module__].eager_attention_forward(module, *args, **kwargs)

    AttentionInterface.register("vault_tools_selective_sdpa", _checkpointed(sdpa_attention_forward))
    AttentionInterface.register("vault_tools_selective_eager", _checkpointed(eager_attention_forward))
    AttentionMaskInterface.register("vault_tools_selective_sdpa", sdpa_mask)
    AttentionMaskInterface.register("vault_tools_selective_eager", eager_mask)
    return {True: "vault_tools_selective_sdpa", False: "vault_tools_selective_eager"}


def _stats_bytes(spec: ModelSpec, dtype: Any) -> int:
    # PyTorch's CPU LayerNorm keeps mean/rstd in the input dtype; CUDA keeps fp32 (the model's default).
    return dtype.itemsize if spec.norm == "layernorm" else 4


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("dtype_name", ["bfloat16", "float32"])
@pytest.mark.parametrize("flash", [True, False], ids=["flash", "eager"])
@pytest.mark.parametrize("recompute", ["none", "selective", "full"])
def test_saved_activations_match_autograd_exactly(
    family: str, dtype_name: str, flash: bool, recompute: str, selective_attention: dict[bool, str]
) -> None:
    if family == "gemma2" and flash:
        pytest.skip("transformers builds Gemma 2 with eager attention only: SDPA cannot soft-cap scores")
    dtype = getattr(torch, dtype_name)
    spec, config = _spec(family)
    attn = selective_attention[flash] if recompute == "selective" else ("sdpa" if flash else "eager")
    model = _model(config, dtype=dtype, attn=attn)
    if recompute == "full":
        with _quiet():
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": True})
    measured = _saved_bytes(model, _ids())
    predicted = activation_memory(
        spec,
        batch=B,
        seq_len=S,
        act_bytes=dtype.itemsize,
        recompute=recompute,
        flash_attn=flash,
        layernorm_stats_bytes=_stats_bytes(spec, dtype),
    )
    # GPT-2 hands its blocks the eager (b, 1, s, s) float mask positionally, so a reentrant checkpoint keeps
    # that one shared tensor too; every other family passes it by keyword.
    mask = B * S * S * dtype.itemsize if (family, flash, recompute) == ("gpt2", False, "full") else 0
    assert measured == predicted.saved_bytes + mask  # exact, byte for byte


class _Lora(torch.nn.Module):  # type: ignore[misc]
    """PEFT's ``lora.Linear`` forward: base(x) + B(A(x cast to the adapter dtype)) · scaling, cast back."""

    def __init__(self, base: Any, rank: int, dtype: Any) -> None:
        super().__init__()
        self.base = base
        self.lora_A = torch.nn.Linear(base.in_features, rank, bias=False, dtype=dtype)
        self.lora_B = torch.nn.Linear(rank, base.out_features, bias=False, dtype=dtype)

    def forward(self, x: Any) -> Any:
        result = self.base(x)
        out = result + self.lora_B(self.lora_A(x.to(self.lora_A.weight.dtype))) * 2.0
        return out.to(result.dtype)


@pytest.mark.parametrize("family", ["llama", "qwen3"])
@pytest.mark.parametrize("flash", [True, False], ids=["flash", "eager"])
@pytest.mark.parametrize("adapter", ["float32", "bfloat16"])
@pytest.mark.parametrize(
    "targets",
    [("q_proj", "v_proj"), ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")],
)
def test_lora_saved_activations_match_autograd_exactly(
    family: str, flash: bool, adapter: str, targets: tuple[str, ...]
) -> None:
    spec, config = _spec(family)
    model = _model(config, dtype=torch.bfloat16, attn="sdpa" if flash else "eager")
    model.requires_grad_(False)
    adapter_dtype = getattr(torch, adapter)
    for module in list(model.modules()):
        for name in targets:
            if isinstance(getattr(module, name, None), torch.nn.Linear):
                setattr(module, name, _Lora(getattr(module, name), 8, adapter_dtype))
    model.enable_input_require_grads()  # as PEFT does for gradient checkpointing
    measured = _saved_bytes(model, _ids())
    predicted = activation_memory(
        spec,
        batch=B,
        seq_len=S,
        act_bytes=2,
        flash_attn=flash,
        lora_targets=targets,
        lora_rank=8,
        adapter_bytes=adapter_dtype.itemsize,
    )
    assert measured == predicted.saved_bytes  # exact: frozen linears keep no input, adapters keep A's output


# --- optimizer states after a real step ----------------------------------------------------------------


def _optimizer_state_bytes(model: Any, optimizer: Any) -> int:
    ids = _ids()
    with _quiet():
        model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
    optimizer.step()
    seen: dict[int, int] = {}
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value):
                seen[value.untyped_storage().data_ptr()] = value.untyped_storage().nbytes()
    return sum(seen.values())


OPTIMIZERS = {
    "adamw": lambda params: torch.optim.AdamW(params, lr=1e-3),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3),
    "sgd-momentum": lambda params: torch.optim.SGD(params, lr=1e-3, momentum=0.9),
    "adafactor": lambda params: torch.optim.Adafactor(params, lr=1e-3),
}


@pytest.mark.parametrize("family", ["llama", "qwen3", "starcoder2"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_optimizer_state_bytes_after_a_real_step(family: str, optimizer: str, precision: str) -> None:
    spec, config = _spec(family)
    model = _model(config, dtype=torch.float32 if precision == "fp32" else torch.bfloat16)
    measured = _optimizer_state_bytes(model, OPTIMIZERS[optimizer](model.parameters()))
    mem = training_memory(count_params(spec), TrainingOptions(optimizer=optimizer, precision=precision))
    # Exact: states in the parameters' dtype (fp32 for Adafactor's factored moments), plus torch's fp32
    # step counter per tensor.  Pure bf16 keeps no master copy, so the optimizer term is the states alone.
    assert measured == mem.optimizer


def test_sgd_without_momentum_keeps_no_state() -> None:
    spec, config = _spec("llama")
    model = _model(config, dtype=torch.float32)
    measured = _optimizer_state_bytes(model, torch.optim.SGD(model.parameters(), lr=1e-3))
    options = TrainingOptions(optimizer="sgd", precision="fp32")
    assert measured == training_memory(count_params(spec), options).optimizer == 0


@pytest.mark.parametrize("precision", ["mixed", "bf16"])
def test_lora_optimizer_states_and_adapter_count_match_a_real_step(precision: str) -> None:
    spec, config = _spec("llama")
    model = _model(config, dtype=torch.bfloat16)
    model.requires_grad_(False)
    for module in list(model.modules()):
        for name in ("q_proj", "v_proj"):
            if isinstance(getattr(module, name, None), torch.nn.Linear):
                setattr(module, name, _Lora(getattr(module, name), 8, torch.float32))
    model.enable_input_require_grads()
    trainable = [p for p in model.parameters() if p.requires_grad]
    measured = _optimizer_state_bytes(model, torch.optim.AdamW(trainable, lr=1e-3))
    # A bf16 model with fp32 adapters is both "mixed" (no master copy needed) and "bf16" (pure 16-bit base).
    options = TrainingOptions(lora_rank=8, lora_targets=("q_proj", "v_proj"), precision=precision)
    mem = training_memory(count_params(spec), options)
    assert mem.trainable == sum(p.numel() for p in trainable)  # exact: r·(in + out) per adapted matrix
    assert measured == mem.optimizer  # exact: fp32 m, v of the adapters + a step counter per adapter tensor


# --- training FLOPs counted by torch --------------------------------------------------------------------


def _matmul_flops(model: Any, ids: Any) -> int:
    """FLOPs of the matrix multiplies of one forward and backward, as torch's FlopCounterMode counts them.

    On the CPU it counts ``mm``/``addmm``/``bmm`` and not the fused attention kernel, so under SDPA the count
    is the linear layers' alone.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with _quiet(), FlopCounterMode(display=False) as counter:
        model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
    return int(counter.get_total_flops())


@pytest.mark.parametrize("family", ["llama", "qwen3", "starcoder2", "gemma", "gpt2"])
@pytest.mark.parametrize(
    "targets", [None, ("q_proj", "v_proj"), ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj")]
)
def test_training_flops_match_torchs_count(family: str, targets: tuple[str, ...] | None) -> None:
    from vault_tools.core.compute import compute_report
    from vault_tools.core.lora import lora_params

    spec, config = _spec(family)
    model = _model(config, dtype=torch.float32)
    count = count_params(spec)
    adapters = None
    if targets is not None:
        model.requires_grad_(False)
        wrapped = 0
        for module in list(model.modules()):
            for name in targets:
                if isinstance(getattr(module, name, None), torch.nn.Linear):
                    setattr(module, name, _Lora(getattr(module, name), 8, torch.float32))
                    wrapped += 1
        if not wrapped:
            pytest.skip(f"{family} has none of {targets} as nn.Linear")
        model.enable_input_require_grads()  # as PEFT does for gradient checkpointing and k-bit training
        adapters = lora_params(count, targets, 8)
    measured = _matmul_flops(model, _ids())
    report = compute_report(count, seq_len=S, tokens=B * S, adapters=adapters)
    attention = next(t.flops for t in report.forward if t.name.startswith("attention"))
    # The report's exact count less attention's forward and backward (3 × its term), which the CPU
    # counter leaves out: 6·M·D for full training, (4·M + 6·N_lora)·D with LoRA.  Exact.
    assert measured == report.training_flops_exact - 3 * attention * B * S


# --- KV cache from a real forward ---------------------------------------------------------------------

KV_CASES: dict[str, dict[str, Any]] = {
    # grouped-query attention with a custom head_dim (24 ≠ 64 / 4)
    "llama": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=24,
    ),
    # multi-head attention, learned positions
    "gpt2": dict(n_embd=64, n_layer=2, n_head=4, n_positions=128),
    # multi-query attention, every layer sliding
    "mistral": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        sliding_window=8,
    ),
    # sliding and full layers alternating
    "gemma2": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        sliding_window=8,
    ),
    # five sliding layers of six, from transformers' own layer_types default (the config gives none)
    "gemma3_text": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=7,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        sliding_window=8,
    ),
    # sliding window only from max_window_layers on
    "qwen2": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=8,
        use_sliding_window=True,
        max_window_layers=2,
    ),
    # MLA: one compressed latent + the shared RoPE key per token and layer
    "deepseek_v3": dict(
        hidden_size=64,
        intermediate_size=128,
        moe_intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        n_routed_experts=4,
        num_experts_per_tok=2,
        n_shared_experts=1,
        first_k_dense_replace=1,
        q_lora_rank=32,
        kv_lora_rank=16,
        qk_rope_head_dim=8,
        qk_nope_head_dim=16,
        v_head_dim=16,
        n_group=1,
        topk_group=1,
    ),
}


def _cache_storage_bytes(cache: Any) -> int:
    seen: dict[int, int] = {}
    for layer in cache.layers:
        for tensor in (layer.keys, layer.values):
            seen[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
    return sum(seen.values())


@pytest.mark.parametrize("model_type", list(KV_CASES))
def test_kv_cache_matches_a_real_dynamic_cache(model_type: str) -> None:
    spec, config = _spec(model_type, KV_CASES[model_type])
    model = _model(
        config, dtype=torch.bfloat16, attn="eager" if model_type.startswith("gemma") else "sdpa"
    ).eval()
    prompt = 20  # longer than the 8-token windows
    ids = torch.randint(0, VOCAB, (B, prompt))
    with torch.no_grad(), _quiet():
        cache = model(input_ids=ids, use_cache=True).past_key_values
        after_prefill = _cache_storage_bytes(cache)
        cache = model(input_ids=ids[:, :1], past_key_values=cache, use_cache=True).past_key_values
        after_one_step = _cache_storage_bytes(cache)
    # Exact once decoding runs: a full layer holds every token, a sliding layer its window.
    assert after_one_step == kv_cache_bytes(spec, batch=B, seq_len=prompt + 1, kv_dtype="bf16")
    # Right after prefill transformers' sliding layers keep a view of the whole prompt, so the storage is
    # still the full prompt's (exact); the first decode step replaces it by the window.
    no_window = build_spec(
        {"model_type": model_type, "vocab_size": VOCAB, **KV_CASES[model_type], "sliding_window": None}
    )
    assert after_prefill == kv_cache_bytes(no_window, batch=B, seq_len=prompt, kv_dtype="bf16")


def test_a_sliding_layer_allocates_its_window_though_it_keeps_window_minus_one_tokens() -> None:
    # transformers' DynamicSlidingWindowLayer keeps the last window − 1 tokens, as a view into the
    # window-token tensor it built for the step; the view holds that whole buffer alive, so the memory a
    # sliding layer takes while decoding is the window, which is what the counter reports.
    config = {**KV_CASES["mistral"], "sliding_window": 16}
    spec, hf_config = _spec("mistral", config)
    model = _model(hf_config, dtype=torch.bfloat16).eval()
    ids = torch.randint(0, VOCAB, (B, 40))
    with torch.no_grad(), _quiet():
        cache = model(input_ids=ids, use_cache=True).past_key_values
        cache = model(input_ids=ids[:, :1], past_key_values=cache, use_cache=True).past_key_values
    assert {layer.keys.shape[-2] for layer in cache.layers} == {15}  # window − 1 visible tokens
    assert _cache_storage_bytes(cache) == kv_cache_bytes(spec, batch=B, seq_len=41, kv_dtype="bf16")


def test_kv_cache_terms_name_each_kind_of_layer() -> None:
    spec, _ = _spec("gemma2", KV_CASES["gemma2"])
    cache = kv_cache(spec, batch=1, seq_len=100, kv_dtype="bf16")
    assert [t.name for t in cache.terms] == ["2 sliding-window layers × 8 tokens", "2 layers × 100 tokens"]


_TINY = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, head_dim=16)
_TINY_MOE = dict(_TINY, moe_intermediate_size=32, num_experts=4, num_experts_per_tok=2)
# Found in review: which layers slide, and how wide, for configs with a window and no layer_types.
WINDOW_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    # Qwen2-MoE's config slides the even layers below max_window_layers (not qwen2's "from it on").
    "qwen2_moe": (
        "qwen2_moe",
        dict(_TINY_MOE, shared_expert_intermediate_size=32, use_sliding_window=True, max_window_layers=4),
    ),
    # Qwen3-MoE's config has no layer_types: under use_sliding_window every layer slides.
    "qwen3_moe": ("qwen3_moe", dict(_TINY_MOE, use_sliding_window=True, max_window_layers=4)),
    "qwen2 from max_window_layers": ("qwen2", dict(_TINY, use_sliding_window=True, max_window_layers=4)),
    # Gemma 2's config ignores sliding_window_pattern (every second layer is full); Gemma 3 honours it.
    "gemma2 pattern ignored": ("gemma2", dict(_TINY, sliding_window_pattern=4)),
    "gemma3 pattern": ("gemma3_text", dict(_TINY, sliding_window_pattern=4)),
    # Gemma 3 under use_bidirectional_attention: a window of w // 2 + 1.
    "gemma3 bidirectional": ("gemma3_text", dict(_TINY, use_bidirectional_attention=True)),
}


@pytest.mark.parametrize("case", list(WINDOW_CASES))
def test_sliding_layers_and_window_match_a_real_dynamic_cache(case: str) -> None:
    model_type, config = WINDOW_CASES[case]
    config = {**config, "num_hidden_layers": 8, "sliding_window": 16}
    spec, hf_config = _spec(model_type, config)
    model = _model(hf_config, dtype=torch.float32, attn="eager").eval()
    ids = torch.randint(0, VOCAB, (1, 40))
    with torch.no_grad(), _quiet():
        cache = model(input_ids=ids, use_cache=True).past_key_values
        cache = model(input_ids=ids[:, :1], past_key_values=cache, use_cache=True).past_key_values
    assert _cache_storage_bytes(cache) == kv_cache_bytes(spec, batch=1, seq_len=41, kv_dtype="fp32")


@pytest.mark.parametrize(
    ("model_type", "extra"),
    [
        ("gemma2", {}),
        ("gemma3_text", {}),
        ("gemma3_text", {"use_bidirectional_attention": True}),
        ("mistral", {}),
        ("mistral", {"sliding_window": None}),
        ("qwen2_moe", {**_TINY_MOE, "use_sliding_window": True}),
        ("qwen3_moe", {**_TINY_MOE, "use_sliding_window": True}),
        ("qwen3", {"use_sliding_window": True, "max_window_layers": 3}),
    ],
)
def test_a_config_without_a_window_gets_transformers_default(model_type: str, extra: dict[str, Any]) -> None:
    """Found in review: a Gemma 2/3 config without sliding_window was counted with no window, where
    transformers' config default (4096) applies; each layer's window as the DynamicCache builds it."""
    from transformers.cache_utils import get_layer_types_and_kwargs

    spec, hf_config = _spec(model_type, {**_TINY, "num_hidden_layers": 6, **extra})
    types, kwargs = get_layer_types_and_kwargs(hf_config)
    ours = [
        spec.sliding_window if kind == "sliding_attention" else None for kind in layer_attention_types(spec)
    ]
    assert ours == [
        k.get("sliding_window") if t == "sliding_attention" else None
        for t, k in zip(types, kwargs, strict=True)
    ]
