from __future__ import annotations

import itertools

import pytest

from vault_tools.core.params import count_params
from vault_tools.core.presets import (
    find_preset,
    get_preset,
    normalize_name,
    presets,
    spec_from_mapping,
)
from vault_tools.errors import SpecError

# The models the product promises as presets, one for each family the counter knows at least.
REQUIRED = [
    *("llama-7b", "llama-13b", "llama-33b", "llama-65b", "llama-2-7b", "llama-2-13b", "llama-2-70b"),
    *("llama-3-8b", "llama-3-70b", "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b"),
    *("llama-3.2-1b", "llama-3.2-3b", "mistral-7b", "mixtral-8x7b", "mixtral-8x22b"),
    *("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "gpt3-175b", "bert-base", "bert-large", "t5-base"),
    *("falcon-7b", "falcon-40b", "gemma-2b", "gemma-7b", "qwen2.5-7b", "qwen2.5-72b", "deepseek-v3"),
    *("phi-3-mini-4k", "qwen1.5-moe-a2.7b", "qwen3-8b", "qwen3-30b-a3b", "gemma-2-9b", "phi-2"),
    *("gpt-j-6b", "pythia-1.4b", "gpt-neox-20b", "opt-1.3b", "opt-350m", "bloom-560m", "roberta-base"),
    *("deepseek-v2-lite", "olmo-2-7b", "starcoder2-3b"),
]
FAMILIES_WITH_A_PRESET = {
    *("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "phi"),
    *("gemma3_text",),
    *("phi3", "gpt2", "gptj", "gpt_neox", "falcon", "opt", "bloom", "olmo2", "starcoder2", "deepseek_v2"),
    *("deepseek_v3", "bert", "roberta", "t5"),
}


def test_required_presets_exist() -> None:
    assert [key for key in REQUIRED if key not in presets()] == []


def test_every_family_has_a_real_model() -> None:
    assert {spec_from_mapping({"preset": key}).model_type for key in presets()} == FAMILIES_WITH_A_PRESET


@pytest.mark.parametrize("key", list(presets()))
def test_preset_is_a_buildable_published_config(key: str) -> None:
    preset = presets()[key]
    assert preset.source.startswith("https://")
    # The oracle instantiates architectures[0] of the model_type, so both must be there.
    assert isinstance(preset.config["model_type"], str)
    assert len(preset.config["architectures"]) == 1
    spec = spec_from_mapping({"preset": key})
    assert spec.name == preset.title
    assert not spec.generic
    # Nothing guessed (no defaulted key, no unknown head); only a note of what the count leaves out.
    assert [note for note in spec.notes if not note.startswith("num_nextn_predict_layers")] == []


KNOWN = [key for key, preset in presets().items() if preset.known_total is not None]


@pytest.mark.parametrize("key", KNOWN)
def test_counter_reproduces_published_count(key: str) -> None:
    assert count_params(spec_from_mapping({"preset": key})).total == presets()[key].known_total


def test_no_two_presets_share_a_name_after_normalisation() -> None:
    owners: dict[str, set[str]] = {}
    for key, preset in presets().items():
        for name in preset.names:
            owners.setdefault(normalize_name(name), set()).add(key)
    assert {name: keys for name, keys in owners.items() if len(keys) > 1} == {}


@pytest.mark.parametrize(("key", "name"), [(k, n) for k, p in presets().items() for n in p.names])
def test_every_name_finds_its_preset(key: str, name: str) -> None:
    found = find_preset(name)
    assert found is not None
    assert found.key == key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("LLaMA-7B", "llama-7b"),
        ("llama 7b", "llama-7b"),
        ("Llama.7B", "llama-7b"),
        ("meta-llama/Llama-2-7b-hf", "llama-2-7b"),
        ("llama2-7b", "llama-2-7b"),
        ("mixtral", "mixtral-8x7b"),
        ("gpt2", "gpt2"),
        ("bert-base-uncased", "bert-base"),
        ("t5-base", "t5-base"),
        ("deepseek-v3", "deepseek-v3"),
        ("Llama 3.1 405B", "llama-3.1-405b"),
        ("Qwen/Qwen3-30B-A3B", "qwen3-30b-a3b"),
    ],
)
def test_common_spellings(name: str, key: str) -> None:
    found = find_preset(name)
    assert found is not None
    assert found.key == key


def test_a_dot_between_digits_is_kept() -> None:
    # Folding it would make OPT-13B answer as OPT-1.3B, and Qwen2-57B as Qwen2.5-7B.
    assert normalize_name("opt-1.3b") != normalize_name("opt-13b")
    assert normalize_name("Qwen2.5-7B") != normalize_name("qwen2-57b")
    assert normalize_name("Llama_3.1 8B") == normalize_name("llama-3.1-8b") == "llama3.18b"
    assert find_preset("opt-13b") is None


def test_unknown_preset_suggests_the_closest() -> None:
    with pytest.raises(SpecError) as exc:
        get_preset("lama-7b")
    assert str(exc.value) == (
        "unknown preset 'lama-7b'; did you mean 'llama-7b'? (`vault-tools calc --list` shows them all)"
    )


def test_unknown_preset_without_anything_close() -> None:
    with pytest.raises(SpecError) as exc:
        get_preset("zzzzzz")
    assert str(exc.value) == "unknown preset 'zzzzzz' (`vault-tools calc --list` shows them all)"


def test_aliases_are_not_titles_of_other_presets() -> None:
    # A user typing another preset's title must never land on a neighbour.
    titles = {normalize_name(p.title): k for k, p in presets().items()}
    for key, preset in presets().items():
        for alias in preset.aliases:
            assert titles.get(normalize_name(alias), key) == key


def test_presets_differ_in_structure_not_only_in_name() -> None:
    # Two entries with identical configs would be one model twice (Llama 3 / 3.1 8B differ in context).
    configs = {key: dict(p.config) for key, p in presets().items()}
    same = [(a, b) for a, b in itertools.combinations(configs, 2) if configs[a] == configs[b]]
    assert same == []


def test_presets_json_is_made_from_presets_yaml() -> None:
    """The package loads presets.json; presets.yaml is the source people edit. They must say the same."""
    import json

    import yaml

    from vault_tools.core.presets import presets_json
    from vault_tools.package_files import package_folder

    folder = package_folder("vault_tools.data")
    assert folder is not None
    source = (folder / "presets.yaml").read_text(encoding="utf-8")
    made = (folder / "presets.json").read_text(encoding="utf-8")
    assert made == presets_json(source), (
        "presets.json is stale: python -c "
        '"from vault_tools.core.presets import write_presets_json; write_presets_json()"'
    )
    assert json.loads(made) == yaml.safe_load(source)
    assert list(json.loads(made)) == list(presets())  # every entry, in the file's order
