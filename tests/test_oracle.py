"""The counter against transformers itself: every preset and structural switch, built on the meta device.

The oracle builds the config exactly as published (HF spellings, ``architectures[0]`` as the class) and
sums ``numel`` over ``model.parameters()``; nothing here reuses the package's own config handling.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from vault_tools.cli import main
from vault_tools.core.families import FAMILIES
from vault_tools.core.keys import KEY_ALIASES, canonical_name
from vault_tools.core.params import count_params
from vault_tools.core.presets import get_preset, presets, spec_from_mapping

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.oracle


def meta_count(config: Mapping[str, Any]) -> int:
    """Parameters of ``config``'s ``architectures[0]`` class as transformers builds it on the meta device."""
    return int(sum(p.numel() for p in meta_model(config).parameters()))


def meta_model(config: Mapping[str, Any]) -> Any:
    """``config``'s ``architectures[0]`` class as transformers builds it on the meta device."""
    kwargs = dict(config)
    model_type = kwargs.pop("model_type")
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            # Config validation notes (token ids outside a shrunk vocabulary, rope defaults) are noise here.
            warnings.simplefilter("ignore")
            hf_config = transformers.AutoConfig.for_model(model_type, **kwargs)
            model_cls = getattr(transformers, hf_config.architectures[0])
            with torch.device("meta"):
                model = model_cls(hf_config)
    finally:
        transformers.logging.set_verbosity(verbosity)
    return model


FAMILIES_WITH_DEFAULTS = sorted(name for name, family in FAMILIES.items() if family.config_defaults)


def counted(raw: Mapping[str, Any]) -> int:
    return count_params(spec_from_mapping(raw)).total


# A variant value that removes the preset's key: the oracle gets a config without it (transformers applies
# its own default) and the spec gets null, which drops a preset key the same way.
DROP: Any = object()


def oracle_config(key: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**get_preset(key).config, **changes}
    return {k: v for k, v in merged.items() if v is not DROP}


def spec_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: None if v is DROP else v for k, v in changes.items()}


@pytest.mark.parametrize("key", list(presets()))
def test_every_preset_matches_transformers(key: str) -> None:
    assert counted({"preset": key}) == meta_count(presets()[key].config)


# Structural switches: preset → config keys changed on top of it (HF spellings, as a config.json has them).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    # biases and widths
    "llama attention_bias": ("llama-7b", {"attention_bias": True}),
    "llama attention_bias + mlp_bias": ("llama-7b", {"attention_bias": True, "mlp_bias": True}),
    "llama custom head_dim": ("llama-7b", {"head_dim": 64}),
    "qwen2 tied": ("qwen2.5-7b", {"tie_word_embeddings": True}),
    "qwen3 attention_bias": ("qwen3-8b", {"attention_bias": True}),
    "qwen3 default head_dim": ("qwen3-8b", {"head_dim": DROP, "hidden_size": 2048}),
    "gemma default head_dim": ("gemma-7b", {"head_dim": DROP}),
    "gemma untied": ("gemma-2b", {"tie_word_embeddings": False}),
    "gemma3_text untied": ("gemma-3-1b", {"tie_word_embeddings": False}),
    "gemma3_text default head_dim and K/V heads": (
        "gemma-3-1b",
        {"head_dim": DROP, "num_key_value_heads": DROP, "num_attention_heads": 8},
    ),
    "olmo2 attention_bias": ("olmo-2-7b", {"attention_bias": True}),
    "phi qk_layernorm": ("phi-2", {"qk_layernorm": True}),
    "phi tied": ("phi-2", {"tie_word_embeddings": True}),
    "gptj tied": ("gpt-j-6b", {"tie_word_embeddings": True}),
    "gpt2 n_inner": ("gpt2", {"n_inner": 1000}),
    "gpt2 untied": ("gpt2", {"tie_word_embeddings": False}),
    "gpt_neox no attention_bias": ("pythia-1.4b", {"attention_bias": False}),
    "gpt_neox tied": ("pythia-1.4b", {"tie_word_embeddings": True}),
    "starcoder2 use_bias false": ("starcoder2-3b", {"use_bias": False}),
    "starcoder2 use_bias left to the default": ("starcoder2-3b", {"use_bias": DROP}),
    "opt enable_bias left to the default": ("opt-1.3b", {"enable_bias": DROP}),
    "falcon bias left to the default": ("falcon-7b", {"bias": DROP}),
    "opt enable_bias false": ("opt-1.3b", {"enable_bias": False}),
    "opt no elementwise affine": ("opt-1.3b", {"layer_norm_elementwise_affine": False}),
    "opt-350m untied": ("opt-350m", {"tie_word_embeddings": False}),
    # Falcon layouts
    "falcon sequential block": ("falcon-7b", {"parallel_attn": False}),
    "falcon sequential, multi-head": ("falcon-7b", {"parallel_attn": False, "multi_query": False}),
    "falcon bias": ("falcon-7b", {"bias": True}),
    "falcon alibi": ("falcon-7b", {"alibi": True}),
    "falcon untied": ("falcon-7b", {"tie_word_embeddings": False}),
    "falcon new decoder, one LayerNorm": ("falcon-40b", {"num_ln_in_parallel_attn": 1}),
    "falcon new decoder, ffn_hidden_size": ("falcon-40b", {"ffn_hidden_size": 20000}),
    # mixture of experts
    "mixtral tied": ("mixtral-8x7b", {"tie_word_embeddings": True}),
    "qwen2_moe sparse step 2 + dense layers": (
        "qwen1.5-moe-a2.7b",
        {"decoder_sparse_step": 2, "mlp_only_layers": [0, 5]},
    ),
    "qwen2_moe no shared expert": ("qwen1.5-moe-a2.7b", {"shared_expert_intermediate_size": 0}),
    "qwen2_moe qkv_bias false": ("qwen1.5-moe-a2.7b", {"qkv_bias": False}),
    "qwen3_moe sparse step 2 + dense layers": (
        "qwen3-30b-a3b",
        {"decoder_sparse_step": 2, "mlp_only_layers": [1, 4]},
    ),
    "deepseek_v3 q_lora_rank null": ("deepseek-v3", {"q_lora_rank": None}),
    "deepseek_v3 attention_bias": ("deepseek-v3", {"attention_bias": True}),
    "deepseek_v3 no shared expert": ("deepseek-v3", {"n_shared_experts": 0}),
    "deepseek_v3 tied": ("deepseek-v3", {"tie_word_embeddings": True}),
    "deepseek_v2 q_lora_rank 512": ("deepseek-v2-lite", {"q_lora_rank": 512}),
    # T5
    "t5 T5Model": ("t5-base", {"architectures": ["T5Model"]}),
    "t5 T5EncoderModel": ("t5-base", {"architectures": ["T5EncoderModel"]}),
    "t5 6 decoder layers": ("t5-base", {"num_decoder_layers": 6}),
    "t5 gated-gelu (v1.1 MLP)": ("t5-base", {"feed_forward_proj": "gated-gelu"}),
    "t5 sequence classification": (
        "t5-base",
        {"architectures": ["T5ForSequenceClassification"], "num_labels": 3},
    ),
    "t5 token classification": ("t5-base", {"architectures": ["T5ForTokenClassification"], "num_labels": 3}),
    "t5 question answering": ("t5-base", {"architectures": ["T5ForQuestionAnswering"], "num_labels": 3}),
    "t5 labels from id2label": (
        "t5-base",
        {
            "architectures": ["T5ForSequenceClassification"],
            "id2label": {"0": "a", "1": "b", "2": "c", "3": "d"},
        },
    ),
    # BERT / RoBERTa heads
    "bert BertModel": ("bert-base", {"architectures": ["BertModel"]}),
    "bert BertForMaskedLM": ("bert-base", {"architectures": ["BertForMaskedLM"]}),
    "bert BertForMaskedLM untied": (
        "bert-base",
        {"architectures": ["BertForMaskedLM"], "tie_word_embeddings": False},
    ),
    "bert BertForPreTraining": ("bert-base", {"architectures": ["BertForPreTraining"]}),
    "bert BertForSequenceClassification 3": (
        "bert-base",
        {"architectures": ["BertForSequenceClassification"], "num_labels": 3},
    ),
    "bert BertForTokenClassification": (
        "bert-base",
        {"architectures": ["BertForTokenClassification"], "num_labels": 9},
    ),
    "bert BertForQuestionAnswering": (
        "bert-base",
        {"architectures": ["BertForQuestionAnswering"], "num_labels": 3},
    ),
    "bert BertForNextSentencePrediction": ("bert-base", {"architectures": ["BertForNextSentencePrediction"]}),
    "bert BertForMultipleChoice": ("bert-base", {"architectures": ["BertForMultipleChoice"]}),
    "bert BertLMHeadModel": ("bert-base", {"architectures": ["BertLMHeadModel"], "is_decoder": True}),
    "roberta RobertaModel": ("roberta-base", {"architectures": ["RobertaModel"]}),
    "roberta RobertaForSequenceClassification": (
        "roberta-base",
        {"architectures": ["RobertaForSequenceClassification"]},
    ),
    "roberta RobertaForSequenceClassification 3": (
        "roberta-base",
        {"architectures": ["RobertaForSequenceClassification"], "num_labels": 3},
    ),
    "roberta RobertaForTokenClassification": (
        "roberta-base",
        {"architectures": ["RobertaForTokenClassification"]},
    ),
    "roberta RobertaForQuestionAnswering": (
        "roberta-base",
        {"architectures": ["RobertaForQuestionAnswering"]},
    ),
    "roberta RobertaForMultipleChoice": ("roberta-base", {"architectures": ["RobertaForMultipleChoice"]}),
    "roberta RobertaForCausalLM": (
        "roberta-base",
        {"architectures": ["RobertaForCausalLM"], "is_decoder": True},
    ),
    # decoder heads
    "llama LlamaModel": ("llama-7b", {"architectures": ["LlamaModel"]}),
    "llama LlamaForSequenceClassification": (
        "llama-7b",
        {"architectures": ["LlamaForSequenceClassification"], "num_labels": 3},
    ),
    "llama LlamaForTokenClassification": (
        "llama-7b",
        {"architectures": ["LlamaForTokenClassification"], "num_labels": 5},
    ),
    "llama LlamaForQuestionAnswering": (
        "llama-7b",
        {"architectures": ["LlamaForQuestionAnswering"], "num_labels": 3},
    ),
    "mistral sequence classification": (
        "mistral-7b",
        {"architectures": ["MistralForSequenceClassification"]},
    ),
    "qwen2_moe sequence classification": (
        "qwen1.5-moe-a2.7b",
        {"architectures": ["Qwen2MoeForSequenceClassification"]},
    ),
    "deepseek_v2 sequence classification": (
        "deepseek-v2-lite",
        {"architectures": ["DeepseekV2ForSequenceClassification"]},
    ),
    "gpt2 GPT2Model": ("gpt2", {"architectures": ["GPT2Model"]}),
    "gpt2 sequence classification": ("gpt2", {"architectures": ["GPT2ForSequenceClassification"]}),
    "gpt2 token classification": ("gpt2", {"architectures": ["GPT2ForTokenClassification"]}),
    "gpt2 question answering": ("gpt2", {"architectures": ["GPT2ForQuestionAnswering"], "num_labels": 3}),
    "gptj question answering is two logits whatever num_labels": (
        "gpt-j-6b",
        {"architectures": ["GPTJForQuestionAnswering"], "num_labels": 3},
    ),
    "gptj sequence classification": ("gpt-j-6b", {"architectures": ["GPTJForSequenceClassification"]}),
    "gpt_neox sequence classification": (
        "pythia-1.4b",
        {"architectures": ["GPTNeoXForSequenceClassification"]},
    ),
    "gpt_neox token classification": ("pythia-1.4b", {"architectures": ["GPTNeoXForTokenClassification"]}),
    "gpt_neox question answering": (
        "pythia-1.4b",
        {"architectures": ["GPTNeoXForQuestionAnswering"], "num_labels": 3},
    ),
    "falcon sequence classification": (
        "falcon-7b",
        {"architectures": ["FalconForSequenceClassification"], "num_labels": 4},
    ),
    "falcon question answering": (
        "falcon-7b",
        {"architectures": ["FalconForQuestionAnswering"], "num_labels": 3},
    ),
    "bloom sequence classification": ("bloom-560m", {"architectures": ["BloomForSequenceClassification"]}),
    "bloom token classification": ("bloom-560m", {"architectures": ["BloomForTokenClassification"]}),
    "bloom question answering": (
        "bloom-560m",
        {"architectures": ["BloomForQuestionAnswering"], "num_labels": 3},
    ),
    "opt-350m OPTModel": ("opt-350m", {"architectures": ["OPTModel"]}),
    "opt-350m sequence classification reads the 512-wide projection": (
        "opt-350m",
        {"architectures": ["OPTForSequenceClassification"]},
    ),
    "opt-350m question answering": ("opt-350m", {"architectures": ["OPTForQuestionAnswering"]}),
    "phi sequence classification": ("phi-2", {"architectures": ["PhiForSequenceClassification"]}),
    "starcoder2 sequence classification": (
        "starcoder2-3b",
        {"architectures": ["Starcoder2ForSequenceClassification"]},
    ),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_structural_switch_matches_transformers(name: str) -> None:
    key, changes = VARIANTS[name]
    assert counted({"preset": key, **spec_changes(changes)}) == meta_count(oracle_config(key, changes))


def _one_preset_per_family() -> dict[str, str]:
    first: dict[str, str] = {}
    for key in presets():
        first.setdefault(spec_from_mapping({"preset": key}).model_type, key)
    return first


@pytest.mark.parametrize("model_type", FAMILIES_WITH_DEFAULTS)
def test_family_defaults_are_transformers_defaults(model_type: str) -> None:
    defaults = FAMILIES[model_type].config_defaults
    fields = {f.name: f.default for f in dataclasses.fields(transformers.CONFIG_MAPPING[model_type])}
    # transformers may spell the key differently (num_experts, n_routed_experts).
    spelled = {key: next(a for a in (key, *KEY_ALIASES.get(key, ())) if a in fields) for key in defaults}
    assert {key: fields[name] for key, name in spelled.items()} == dict(defaults)


# Sizes a config must give; every other key (switches, biases, ties, K/V heads, expert counts, head_dim)
# can be left out, and transformers then builds its config class's default.
SIZE_KEYS = {
    *("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size"),
    *("max_position_embeddings", "moe_intermediate_size", "kv_lora_rank", "qk_rope_head_dim"),
    *("qk_nope_head_dim", "v_head_dim"),
}


@pytest.mark.parametrize("key", sorted(_one_preset_per_family().values()))
def test_a_minimal_config_matches_transformers_defaults(key: str) -> None:
    # A default K/V head count that does not divide the preset's heads would make no usable model (the
    # counter rejects it), so that key stays.
    spec = spec_from_mapping({"preset": key})
    kv_default = spec.family.config_defaults.get("num_key_value_heads")
    usable = not (isinstance(kv_default, int) and spec.num_heads % kv_default)
    keep = {*SIZE_KEYS, "model_type", "architectures"} | (set() if usable else {"num_key_value_heads"})
    config = {k: v for k, v in get_preset(key).config.items() if canonical_name(k) in keep}
    assert counted(config) == meta_count(config)


def test_t5_untied_head_is_counted_although_transformers_5_ties_it() -> None:
    # T5Config in transformers 5 forces tie_word_embeddings=True on a freshly built model and unties the
    # head only in from_pretrained when the checkpoint stores its own (T5 v1.1, Flan-T5): the checkpoint
    # is the truth, so the counter keeps the separate V·h head and the oracle is short by exactly that.
    changes = {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}
    config = {**get_preset("t5-base").config, **changes}
    assert counted({"preset": "t5-base", **changes}) == meta_count(config) + 32128 * 768


def test_transformers_deepseek_ignores_moe_layer_freq() -> None:
    # DeepSeek's own modeling code routes every moe_layer_freq-th layer; transformers' built-in class
    # routes every layer after first_k_dense_replace.  The counter follows DeepSeek and says so in a note.
    config = {**get_preset("deepseek-v3").config, "moe_layer_freq": 2}
    spec = spec_from_mapping({"preset": "deepseek-v3", "moe_layer_freq": 2})
    assert meta_count(config) == counted({"preset": "deepseek-v3"})
    assert count_params(spec).total < meta_count(config)
    assert any("moe_layer_freq 2" in note for note in spec.notes)


def test_every_head_in_the_tables_is_oracle_checked() -> None:
    # Each (head style, head kind) pair the counter knows must appear in VARIANTS or the presets above.
    from vault_tools.core.heads import HEADS

    checked = {
        (spec.family.head_style, spec.head)
        for spec in (
            *(spec_from_mapping({"preset": key}) for key in presets()),
            *(
                spec_from_mapping({"preset": key, **spec_changes(changes)})
                for key, changes in VARIANTS.values()
            ),
        )
    }
    known = {(style, kind) for style, table in HEADS.items() for kind in table}
    assert known - checked == set()


# --- LoRA: the modules PEFT adapts ------------------------------------------------------------------------

# PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (peft/utils/constants.py), for the families here.
PEFT_DEFAULT_TARGETS: dict[str, list[str]] = {
    **{key: ["q_proj", "v_proj"] for key in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma")},
    **{key: ["q_proj", "v_proj"] for key in ("gemma2", "gemma3_text", "opt", "gptj")},
    **{key: ["query_key_value"] for key in ("gpt_neox", "falcon", "bloom")},
    "gpt2": ["c_attn"],
    "phi": ["q_proj", "v_proj", "fc1", "fc2"],
    "bert": ["query", "value"],
    "roberta": ["query", "value"],
    "t5": ["q", "v"],
}


# transformers 5 builds MoE experts as one fused parameter and the router as a bare weight; the counter
# follows the transformers 4.x layout (README), which this table gives from the 4.x modeling code: an
# nn.ModuleList of expert MLPs with these Linear names (gate, up, down) and, where True, an nn.Linear router
# (``gate``).  DeepSeek-V3's 4.x DeepseekV3TopkRouter already held a bare parameter.
MOE_4X_LAYOUT: dict[str, tuple[tuple[str, str, str], bool]] = {
    "mixtral": (("w1", "w3", "w2"), True),
    "qwen2_moe": (("gate_proj", "up_proj", "down_proj"), True),
    "qwen3_moe": (("gate_proj", "up_proj", "down_proj"), True),
    "deepseek_v2": (("gate_proj", "up_proj", "down_proj"), True),
    "deepseek_v3": (("gate_proj", "up_proj", "down_proj"), False),
}


def peft_linears(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(path, in + out)`` of every nn.Linear / Conv1D but the output embedding, as PEFT sees the model;
    MoE blocks unfolded into the transformers 4.x layout (``MOE_4X_LAYOUT``)."""
    from transformers.pytorch_utils import Conv1D

    model = meta_model(config)
    head = model.get_output_embeddings()
    expert_names, router_linear = MOE_4X_LAYOUT.get(config["model_type"], (("", "", ""), True))
    out: list[tuple[str, int]] = []
    for name, module in model.named_modules():
        own = dict(module.named_parameters(recurse=False))
        if isinstance(module, torch.nn.Linear | Conv1D):
            if module is not head:
                # Conv1D stores its weight as (in, out), nn.Linear as (out, in); in + out is the same sum.
                out.append((name, sum(module.weight.shape)))
        elif "gate_up_proj" in own:  # fused experts (E, 2f, h) and (E, h, f)
            experts, two_f, h = own["gate_up_proj"].shape
            f = two_f // 2
            gate, up, down = expert_names
            for i in range(experts):
                out += [
                    (f"{name}.{i}.{gate}", h + f),
                    (f"{name}.{i}.{up}", h + f),
                    (f"{name}.{i}.{down}", f + h),
                ]
        elif type(module).__name__.endswith(("TopKRouter", "TopkRouter")) and router_linear:
            out.append((name, sum(own["weight"].shape)))
    return out


def peft_matches(path: str, targets: list[str]) -> bool:
    """PEFT's check_target_module_exists for a list: the path is a target or ends in ``.target``."""
    return any(path == t or path.endswith(f".{t}") for t in targets)


def peft_lora_params(config: Mapping[str, Any], targets: list[str] | None, rank: int) -> int:
    """``r · (in + out)`` over the modules PEFT would adapt: those whose path ends in a target, or for
    ``None`` (all-linear) every one but the output embedding."""
    return rank * sum(
        size for path, size in peft_linears(config) if targets is None or peft_matches(path, targets)
    )


@pytest.mark.parametrize("key", list(presets()))
def test_lora_all_linear_adapts_the_modules_peft_adapts(key: str) -> None:
    from vault_tools.core.memory import lora_params

    count = count_params(spec_from_mapping({"preset": key}))
    assert lora_params(count, ("all-linear",), 16) == peft_lora_params(get_preset(key).config, None, 16)


# The counter's own part names, which a user may take for module names.
COUNTER_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "router")


@pytest.mark.parametrize("key", list(presets()))
def test_each_lora_target_name_adapts_what_peft_adapts(key: str) -> None:
    """Found in review: OPT's o_proj adapted out_proj, Mixtral's gate_proj adapted experts named w1 and its
    router answered to 'router', BERT's dense missed the MLM transform: every module name the model has,
    and every counter name, adapts exactly the modules PEFT's suffix match finds, and a name PEFT finds
    nowhere is refused when it is the only target."""
    from vault_tools.core.memory import lora_params

    config = get_preset(key).config
    count = count_params(spec_from_mapping({"preset": key}))
    linears = peft_linears(config)
    names = {path.rsplit(".", 1)[-1] for path, _ in linears} | set(COUNTER_NAMES)
    for name in sorted(names):
        expected = 8 * sum(size for path, size in linears if peft_matches(path, [name]))
        if expected:
            assert lora_params(count, (name,), 8) == expected, name
        else:
            with pytest.raises(ValueError):
                lora_params(count, (name,), 8)


_QKVO = ["q_proj", "k_proj", "v_proj", "o_proj"]
GATED_T5 = {"feed_forward_proj": "gated-gelu"}


@pytest.mark.parametrize(
    ("key", "changes", "targets", "expected"),
    [
        # The reviewer's figures for PEFT on the transformers 4.x layout, r = 16.
        ("mixtral-8x7b", {}, [*_QKVO, "gate_proj", "up_proj", "down_proj"], 13_631_488),
        ("mixtral-8x7b", {}, ["q_proj", "router"], None),
        ("opt-1.3b", {}, _QKVO, 4_718_592),
        ("phi-2", {}, _QKVO, 7_864_320),
        ("gpt-j-6b", {}, ["q_proj", "v_proj", "o_proj"], 7_340_032),
        ("bert-base", {}, ["dense"], 1_794_048),
        ("qwen1.5-moe-a2.7b", {}, ["gate", "shared_expert_gate", "down_proj"], None),
        ("deepseek-v3", {}, ["gate", "kv_b_proj"], None),
        ("t5-base", GATED_T5, ["wi_0", "wi_1", "wi"], None),
    ],
)
def test_lora_target_lists_count_what_peft_adapts(
    key: str, changes: dict[str, Any], targets: list[str], expected: int | None
) -> None:
    """Names PEFT would not find adapt nothing, and the run says which in a note."""
    from vault_tools.core.memory import lora_selection, training_memory
    from vault_tools.core.options import TrainingOptions

    config = oracle_config(key, changes)
    count = count_params(spec_from_mapping({"preset": key, **changes}))
    peft = peft_lora_params(config, targets, 16)
    assert expected is None or peft == expected
    memory = training_memory(count, TrainingOptions(lora_rank=16, lora_targets=tuple(targets)))
    assert memory.trainable == peft
    linears = peft_linears(config)
    unmatched = [t for t in targets if not any(peft_matches(path, [t]) for path, _ in linears)]
    assert list(lora_selection(count, targets).unmatched) == unmatched
    assert len(memory.notes) == len(unmatched)


@pytest.mark.parametrize(
    "key", [key for key in presets() if get_preset(key).config["model_type"] in PEFT_DEFAULT_TARGETS]
)
def test_lora_default_targets_are_peft_s(key: str) -> None:
    from vault_tools.core.memory import lora_params

    config = get_preset(key).config
    count = count_params(spec_from_mapping({"preset": key}))
    expected = peft_lora_params(config, PEFT_DEFAULT_TARGETS[config["model_type"]], 8)
    assert lora_params(count, (), 8) == expected
    assert lora_params(count, PEFT_DEFAULT_TARGETS[config["model_type"]], 8) == expected


# --- calc --exact --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["llama-3-8b", "gpt2", "falcon-40b", "t5-base", "qwen1.5-moe-a2.7b", "opt-350m"]
)
def test_exact_translates_canonical_keys_back(key: str) -> None:
    # The spec stores canonical keys; Falcon reads num_kv_heads, T5 d_ff, Qwen2-MoE num_experts, OPT
    # ffn_dim, and none of them maps the canonical name, so --exact must spell them back.
    from vault_tools.exact import meta_device_count

    spec = spec_from_mapping({"preset": key})
    assert meta_device_count(spec) == count_params(spec).total == meta_count(get_preset(key).config)


def test_calc_exact_on_a_config_file_of_a_family_outside_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # gpt_bigcode is not in the family table: the counter falls back to a generic decoder, and --exact
    # still builds transformers' own GPTBigCodeForCausalLM from the config.
    config = {
        "model_type": "gpt_bigcode",
        "architectures": ["GPTBigCodeForCausalLM"],
        "n_embd": 256,
        "n_head": 4,
        "n_layer": 2,
        "n_inner": 1024,
        "n_positions": 512,
        "vocab_size": 1000,
        "multi_query": True,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    assert main(["calc", str(path), "--exact", "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert params["exact_meta_device"] == meta_count(config)


def test_calc_exact_text_explains_the_t5_tie(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t5-v1_1.yaml"
    path.write_text(
        "preset: t5-base\nfeed_forward_proj: gated-gelu\ntie_word_embeddings: false\n", encoding="utf-8"
    )
    assert main(["calc", str(path), "--exact"]) == 0
    out = capsys.readouterr().out
    assert f"differs by {-32128 * 768:+,} — transformers 5 ties T5's output head" in out


def test_calc_exact_refuses_the_short_notation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text("L: 2\nh: 64\nV: 100\n", encoding="utf-8")
    assert main(["calc", str(path), "--exact"]) == 2
    assert capsys.readouterr().err == (
        "vault-tools: --exact needs a transformers model_type; the seed's short notation (L, h, V) "
        "has none — add e.g. 'model_type: gpt2' and the HF keys\n"
    )
