from __future__ import annotations

from typing import Any

import pytest

from vault_tools.core.keys import canonical_keys
from vault_tools.core.params import count_params
from vault_tools.core.presets import spec_from_mapping
from vault_tools.core.spec import ModelSpec, build_spec
from vault_tools.errors import SpecError

LLAMA = {
    "model_type": "llama",
    "hidden_size": 512,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "intermediate_size": 1376,
    "vocab_size": 1000,
    "max_position_embeddings": 256,
}
GPT2 = {"model_type": "gpt2", "n_embd": 256, "n_layer": 3, "n_head": 4, "n_positions": 128, "vocab_size": 500}


def spec(raw: object) -> ModelSpec:
    return spec_from_mapping(raw)


def renamed(base: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {new if key == old else key: value for key, value in base.items()}


@pytest.mark.parametrize(
    ("canonical", "spelling"),
    [
        ("hidden_size", "n_embd"),
        ("hidden_size", "d_model"),
        ("hidden_size", "dim"),
        ("hidden_size", "n_embed"),
        ("num_hidden_layers", "n_layer"),
        ("num_hidden_layers", "num_layers"),
        ("num_hidden_layers", "n_layers"),
        ("num_attention_heads", "n_head"),
        ("num_attention_heads", "num_heads"),
        ("num_attention_heads", "n_heads"),
        ("num_key_value_heads", "num_kv_heads"),
        ("num_key_value_heads", "n_kv_heads"),
        ("num_key_value_heads", "n_head_kv"),
        ("intermediate_size", "n_inner"),
        ("intermediate_size", "ffn_dim"),
        ("intermediate_size", "d_ff"),
        ("intermediate_size", "ffn_hidden_size"),
        ("vocab_size", "n_vocab"),
        ("max_position_embeddings", "n_positions"),
        ("max_position_embeddings", "max_seq_len"),
    ],
)
def test_every_key_spelling_means_the_same(canonical: str, spelling: str) -> None:
    reference = spec(LLAMA)
    respelled = spec(renamed(LLAMA, canonical, spelling))
    assert respelled.config == reference.config
    assert count_params(respelled).total == count_params(reference).total


def test_gpt2_spellings() -> None:
    result = spec(GPT2)
    assert (result.hidden_size, result.num_layers, result.num_heads, result.max_positions) == (256, 3, 4, 128)
    assert result.intermediate_size == 4 * 256  # GPT-2's default n_inner
    assert spec({**GPT2, "n_inner": 512}).intermediate_size == 512


def test_t5_spellings() -> None:
    t5 = {"model_type": "t5", "d_model": 64, "d_kv": 8, "d_ff": 256, "num_heads": 4, "num_layers": 2}
    result = spec({**t5, "vocab_size": 100})
    assert (result.hidden_size, result.head_dim, result.intermediate_size, result.num_heads) == (
        64,
        8,
        256,
        4,
    )
    assert result.decoder_layers == 2


def test_multi_query_means_one_kv_head() -> None:
    assert spec({**LLAMA, "num_key_value_heads": None, "multi_query": True}).num_kv_heads == 1


def test_canonical_keys_keep_unknown_keys() -> None:
    assert canonical_keys({"n_embd": 8, "rope_theta": 10000.0}) == {"hidden_size": 8, "rope_theta": 10000.0}


# --- Meta's params.json ---------------------------------------------------------------------------------


def test_llama_params_json() -> None:
    # LLaMA-7B's params.json as Meta ships it, with the vocabulary filled in.
    result = spec(
        {
            "dim": 4096,
            "multiple_of": 256,
            "n_heads": 32,
            "n_layers": 32,
            "norm_eps": 1e-06,
            "vocab_size": 32000,
        }
    )
    assert result.model_type == "llama"
    assert result.intermediate_size == 11008
    assert count_params(result).total == 6_738_415_616


def test_llama_2_70b_params_json_uses_the_multiplier() -> None:
    raw = {"dim": 8192, "multiple_of": 4096, "ffn_dim_multiplier": 1.3, "n_heads": 64, "n_kv_heads": 8}
    result = spec({**raw, "n_layers": 80, "vocab_size": 32000})
    assert result.intermediate_size == 28672
    assert count_params(result).total == 68_976_648_192


def test_llama_3_8b_params_json() -> None:
    raw = {"dim": 4096, "n_layers": 32, "n_heads": 32, "n_kv_heads": 8, "vocab_size": 128256}
    result = spec({**raw, "multiple_of": 1024, "ffn_dim_multiplier": 1.3, "rope_theta": 500000.0})
    assert result.intermediate_size == 14336
    assert count_params(result).total == 8_030_261_248


def test_params_json_vocab_minus_one() -> None:
    raw = {"dim": 4096, "multiple_of": 256, "n_heads": 32, "n_layers": 32, "vocab_size": -1}
    with pytest.raises(SpecError) as exc:
        spec(raw)
    assert str(exc.value) == (
        "'vocab_size' is -1, which Meta's params.json uses to mean 'ask the tokenizer'; set the vocabulary "
        "size, e.g. 32000 for LLaMA and Llama 2, 128256 for Llama 3"
    )


# --- presets with overrides -----------------------------------------------------------------------------


def test_preset_with_overrides() -> None:
    result = spec({"preset": "llama-7b", "num_hidden_layers": 16})
    assert result.num_layers == 16
    assert result.name == "LLaMA 7B"
    per_layer = 4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096
    assert count_params(result).total == 6_738_415_616 - 16 * per_layer


def test_preset_override_in_another_spelling() -> None:
    assert spec({"preset": "llama-7b", "n_layer": 16}).num_layers == 16
    assert spec({"preset": "gpt2", "num_hidden_layers": 6}).num_layers == 6


def test_preset_override_null_drops_the_key() -> None:
    # Without head_dim, Gemma falls back to transformers' default of 256, not hidden/heads.
    assert spec({"preset": "gemma-7b", "head_dim": None}).head_dim == 256
    assert spec({"preset": "llama-7b", "num_key_value_heads": 8}).num_kv_heads == 8


def test_spec_name_and_architecture_head() -> None:
    result = spec(
        {"preset": "bert-base", "architectures": ["BertForSequenceClassification"], "num_labels": 3}
    )
    assert (result.head, result.num_labels) == ("seq_cls", 3)
    assert spec({**LLAMA, "id2label": {"0": "neg", "1": "neu", "2": "pos"}}).num_labels == 3


def test_missing_keys_take_transformers_defaults_with_a_note() -> None:
    # A config.json without num_key_value_heads builds Mistral's default of 8 K/V heads in transformers.
    raw = {**LLAMA, "model_type": "mistral", "num_attention_heads": 16, "num_key_value_heads": None}
    result = spec(raw)
    assert result.num_kv_heads == 8
    assert result.notes == (
        "'num_key_value_heads' not given; transformers' mistral default 8 used",
        "'sliding_window' not given; transformers' mistral default 4096 used",
    )
    # null is no window, as in transformers (Mistral 7B v0.2's config.json).
    assert spec({**raw, "sliding_window": None}).sliding_window is None


def test_q_lora_rank_null_is_kept_but_absent_takes_the_default() -> None:
    lite = spec({"preset": "deepseek-v2-lite"})
    assert lite.mla is not None
    assert lite.mla.q_lora_rank is None
    result = spec({k: v for k, v in lite.config.items() if k != "q_lora_rank"})
    assert result.mla is not None
    assert result.mla.q_lora_rank == 1536
    assert result.notes == ("'q_lora_rank' not given; transformers' deepseek_v2 default 1536 used",)


def test_family_from_architectures_alone() -> None:
    raw = {k: v for k, v in LLAMA.items() if k != "model_type"}
    assert spec({**raw, "architectures": ["MistralForCausalLM"]}).model_type == "mistral"
    assert spec({**raw, "architectures": ["Qwen2MoeForCausalLM"], "num_experts": 0}).model_type == "qwen2_moe"


def test_refinedweb_means_the_new_falcon_decoder() -> None:
    # Falcon-40B's original config: model_type RefinedWeb, n_head_kv, no new_decoder_architecture key.
    raw = {"model_type": "RefinedWeb", "hidden_size": 8192, "n_head": 128, "n_head_kv": 8, "n_layer": 60}
    result = spec({**raw, "vocab_size": 65024, "parallel_attn": True, "bias": False})
    assert (result.model_type, result.num_kv_heads, result.norms_per_layer) == ("falcon", 8, 2)
    assert count_params(result).total == count_params(spec({"preset": "falcon-40b"})).total


def test_unknown_model_type_is_counted_as_generic_with_a_note() -> None:
    result = spec({**LLAMA, "model_type": "mamba2"})
    assert result.generic
    assert result.notes == (
        "model_type 'mamba2' is not in the family table; counted as a generic Llama-style decoder from the "
        "generic fields",
    )


@pytest.mark.parametrize(
    "config",
    [{"model_type": "gemma3"}, {"architectures": ["Gemma3ForConditionalGeneration"]}],
    ids=["model_type", "architecture"],
)
def test_multimodal_gemma_3_is_refused_with_the_way_to_count_its_language_model(
    config: dict[str, Any],
) -> None:
    # Counting it as a Gemma or generic decoder would leave out the vision tower and still print a total.
    sizes = {key: value for key, value in LLAMA.items() if key != "model_type"}
    with pytest.raises(SpecError) as exc:
        spec({**sizes, **config})
    assert str(exc.value) == (
        "model_type 'gemma3' is multimodal Gemma 3: a SigLIP vision tower and a projector around the "
        "language model, which the counter does not count; count the language model from the config's "
        "text_config (model_type: gemma3_text, architectures: [Gemma3ForCausalLM])"
    )


def test_unknown_task_head_is_noted() -> None:
    result = spec({**LLAMA, "architectures": ["LlamaForSomethingNew"]})
    assert result.head == "causal_lm"
    assert result.notes == (
        "no known task head for architecture 'LlamaForSomethingNew'; counted with the causal LM head",
    )


# --- bad specs: the exact message ------------------------------------------------------------------------

BAD = [
    (
        {**LLAMA, "num_attention_heads": 24, "num_key_value_heads": 24, "hidden_size": 4096},
        "'num_attention_heads' (24) does not divide 'hidden_size' (4096); "
        "set 'head_dim' if the model uses a custom head size",
    ),
    (
        {**GPT2, "n_head": 5},
        "'n_head' (5) does not divide 'n_embd' (256); set 'head_dim' if the model uses a custom head size",
    ),
    ({**LLAMA, "hidden_size": 0}, "'hidden_size' must be a positive whole number, got 0"),
    ({**LLAMA, "num_hidden_layers": -2}, "'num_hidden_layers' must be a positive whole number, got -2"),
    ({**GPT2, "n_layer": 2.5}, "'n_layer' must be a whole number, got 2.5"),
    ({**GPT2, "n_layer": "12"}, "'n_layer' must be a whole number, got '12'"),
    (
        {"preset": "deepseek-v3", "first_k_dense_replace": -1},
        "'first_k_dense_replace' must be a whole number of at least 0, got -1",
    ),
    (
        {"model_type": "mamba2", "hidden_size": 768, "vocab_size": 1000},
        "'num_hidden_layers' is missing; model_type 'mamba2' is not a known family, so it is counted as a "
        "generic Llama-style decoder, which needs it "
        "(also accepted: 'n_layer', 'num_layers', 'L', 'n_layers')",
    ),
    (
        {"hidden_size": 768, "num_hidden_layers": 2, "num_attention_heads": 12},
        "'vocab_size' is missing; a spec without model_type is counted as a generic Llama-style decoder, "
        "which needs it (also accepted: 'V', 'n_vocab')",
    ),
    (
        {k: v for k, v in LLAMA.items() if k != "intermediate_size"},
        "'intermediate_size' is missing; the llama family needs the MLP width "
        "(also accepted: 'n_inner', 'ffn_dim', 'd_ff', 'ffn', 'ffn_hidden_size')",
    ),
    (
        {"L": 2, "V": 100},
        "'hidden_size' is missing; the seed article's short notation (L, h, V) needs it "
        "(also accepted: 'n_embd', 'd_model', 'h', 'dim', 'n_embed', 'hidden_dim')",
    ),
    (
        {**LLAMA, "hidden_size": 4096, "h": 2048},
        "contradictory keys 'hidden_size' (4096) and 'h' (2048) both set 'hidden_size'; keep one",
    ),
    (
        {"preset": "llama-7b", "num_hidden_layers": 16, "n_layer": 8},
        "contradictory keys 'num_hidden_layers' (16) and 'n_layer' (8) both set 'num_hidden_layers'; "
        "keep one",
    ),
    (
        {"preset": "llama-7b", "tie_word_embeddings": "false"},
        "'tie_word_embeddings' must be true or false, got the string 'false'; write it without quotes",
    ),
    (
        {"L": 2, "h": 64, "V": 100, "tied": "yes"},
        "'tied' must be true or false, got the string 'yes'; write it without quotes",
    ),
    ({**LLAMA, "attention_bias": 1}, "'attention_bias' must be true or false, got 1"),
    (
        {**LLAMA, "num_key_value_heads": 3},
        "'num_key_value_heads' (3) does not divide 'num_attention_heads' (8); grouped-query attention shares "
        "each K/V head among a whole number of query heads, so use a divisor of 8",
    ),
    (
        {**LLAMA, "model_type": "mistral", "num_key_value_heads": None, "num_attention_heads": 4},
        "'num_key_value_heads' is not given, and transformers' mistral default of 8 does not divide "
        "'num_attention_heads' (4); set 'num_key_value_heads' (equal to the heads for plain multi-head "
        "attention)",
    ),
    (
        {"preset": "mixtral-8x7b", "num_experts_per_tok": 9},
        "'num_experts_per_tok' (9) is more than the 8 experts 'num_local_experts' defines; "
        "a token can only be routed to experts that exist",
    ),
    (
        {"preset": "qwen3-30b-a3b", "num_experts_per_tok": 200},
        "'num_experts_per_tok' (200) is more than the 128 experts 'num_experts' defines; "
        "a token can only be routed to experts that exist",
    ),
    (
        {"preset": "qwen1.5-moe-a2.7b", "mlp_only_layers": "0,1"},
        "'mlp_only_layers' must be a list of layer indices such as [0, 3], got '0,1'",
    ),
    ({**LLAMA, "model_type": 7}, "'model_type' must be a string such as 'llama', got 7"),
    (
        {**LLAMA, "architectures": [1]},
        "'architectures' must be a list of class names such as ['LlamaForCausalLM']",
    ),
    ({**LLAMA, 3: "x"}, "key 3 is not a string; write config keys as names such as 'hidden_size'"),
    (
        {"preset": "lama-7b"},
        "unknown preset 'lama-7b'; did you mean 'llama-7b'? (`vault-tools calc --list` shows them all)",
    ),
    ({"preset": 7}, "'preset' must be a model name such as 'llama-7b', got 7"),
    (
        [1, 2],
        "a model spec must be a mapping of config keys to values (a YAML or JSON object), got a list; "
        "write e.g. 'hidden_size: 4096' lines or 'preset: llama-7b'",
    ),
    (
        None,
        "a model spec must be a mapping of config keys to values (a YAML or JSON object), got nothing; "
        "write e.g. 'hidden_size: 4096' lines or 'preset: llama-7b'",
    ),
    (
        {**LLAMA, "multiple_of": 256, "intermediate_size": None, "ffn_dim_multiplier": "1.3"},
        "'ffn_dim_multiplier' must be a positive number such as 1.3, got '1.3'",
    ),
]


@pytest.mark.parametrize(("raw", "message"), BAD, ids=[message[:60] for _, message in BAD])
def test_bad_spec_message(raw: object, message: str) -> None:
    with pytest.raises(SpecError) as exc:
        spec(raw)
    assert str(exc.value) == message


def test_build_spec_accepts_canonical_mappings_directly() -> None:
    assert build_spec(LLAMA).num_kv_heads == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"L": 10**20, "h": 64, "V": 10},
            "'L' is 100,000,000,000,000,000,000, more than any model has (at most 100,000)",
        ),
        ({"L": 10**10, "h": 64, "V": 10}, "'L' is 10,000,000,000, more than any model has (at most 100,000)"),
        ({"L": 2, "h": 1e20, "V": 10}, "'h' is 100,000,000,000,000,000,000, more than any model has"),
    ],
)
def test_sizes_past_any_model_are_refused_with_a_message(raw: dict[str, Any], message: str) -> None:
    """Found in review: L = 1e20 ended in an OverflowError, L = 1e10 in a MemoryError (lists per layer):
    a traceback for a typo, and the run with it."""
    with pytest.raises(SpecError) as exc:
        count_params(spec_from_mapping(raw))
    assert message in str(exc.value)


def test_a_multi_token_prediction_module_is_named_as_left_out() -> None:
    """DeepSeek-V3's config.json has num_nextn_predict_layers: 1; transformers builds no MTP module, and the
    checkpoint ships one (685B on the Hub against the 671B counted), so the note says the files are larger."""
    spec = spec_from_mapping({"preset": "deepseek-v3"})
    assert any(note.startswith("num_nextn_predict_layers: 1:") for note in spec.notes)
    assert not any("nextn" in note for note in spec_from_mapping({"preset": "llama-7b"}).notes)
