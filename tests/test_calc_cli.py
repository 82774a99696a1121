from __future__ import annotations

import json
from pathlib import Path

import pytest

from vault_tools.cli import main


def test_calc_llama_7b_shows_exact_count_and_seed_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "llama-7b"]) == 0
    out = capsys.readouterr().out
    assert "6,738,415,616" in out
    # 12·32·4096² + 32000·4096 = 6,573,522,944: 6.57B, 2.45% under the exact count.
    assert "12·L·h² + V·h" in out
    assert "6.57B" in out
    assert "-2.45%" in out


@pytest.mark.parametrize("name", ["LLaMA-7B", "llama 7b", "llama_7b", "Llama.7B"])
def test_preset_names_fold_case_space_hyphen_underscore_dot(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calc", name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["total"] == 6_738_415_616


def test_calc_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "llama-7b", "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert params["total"] == params["active"] == 6_738_415_616
    assert sum(params["breakdown"].values()) == params["total"]
    assert params["breakdown"]["embedding"] == 32000 * 4096
    assert [a["formula"] for a in params["approximations"]] == [
        "12·L·h² + V·h",
        "L·(12h² + 4h) + V·h + 2h",
        "L·(12h² + 4h) + 2·V·h + 2h",
    ]
    assert params["approximations"][0]["value"] == 12 * 32 * 4096**2 + 32000 * 4096


def test_calc_shows_symbolic_formulas_and_their_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "llama-3-8b"]) == 0
    out = capsys.readouterr().out
    assert "attention  L·(2·h² + 2·h·n_kv·d)  1,342,177,280" in out
    assert (
        "where L = 32 (layers), h = 4,096 (hidden size), V = 128,256 (vocabulary), "
        "n_kv = 8 (key/value heads), d = 128 (head dim), f = 14,336 (MLP width)\n"
    ) in out


def test_calc_json_formulas_come_with_symbols(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "mixtral-8x7b", "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert params["formulas"]["moe_experts"] == "L·E·(2·h·f_e + f_e·h)"
    symbols = {k: params["symbols"][k] for k in ("L", "E", "h", "f_e")}
    assert symbols == {"L": 32, "E": 8, "h": 4096, "f_e": 14336}


def test_unknown_preset_exits_2_with_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "lama-7b"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "vault-tools: unknown preset 'lama-7b'; did you mean 'llama-7b'? "
        "(`vault-tools calc --list` shows them all)\n"
    )


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_calc_takes_a_model_folder_or_the_preset_a_folder_is_named_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: with ./gpt2/ present (as HF downloads are named), `calc gpt2` tried to read the
    folder ("Is a directory", exit 2); `calc ""` named "." the same way."""
    (tmp_path / "gpt2").mkdir()
    (tmp_path / "tiny").mkdir()
    config = {
        "model_type": "gpt2",
        "n_layer": 2,
        "n_embd": 64,
        "n_head": 2,
        "vocab_size": 100,
        "n_positions": 32,
    }
    (tmp_path / "tiny" / "config.json").write_text(json.dumps(config))
    monkeypatch.chdir(tmp_path)
    assert main(["calc", "gpt2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["total"] == 124_439_808
    assert main(["calc", "tiny", "--json"]) == 0
    assert (
        json.loads(capsys.readouterr().out)["params"]["total"]
        == 2 * (12 * 64 * 64 + 13 * 64) + 132 * 64 + 2 * 64
    )
    assert main(["calc", ""]) == 2
    assert "no model given" in capsys.readouterr().err


def test_lora_targets_without_a_rank_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """Found in review: the targets were ignored without a word (full fine-tuning was shown), exit 0."""
    assert main(["calc", "llama-7b", "--lora-targets", "all-linear"]) == 2
    assert "training.lora_targets: set lora_rank too" in capsys.readouterr().err
    assert main(["calc", "llama-7b", "--lora-targets", "all-linear", "--lora-rank", "8", "--json"]) == 0


def test_calc_quant_is_the_frozen_base_of_a_lora_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # QLoRA from the command line must give what the same run gives from a spec file's training.quant:
    # --quant used to reach only the inference section, so the base stayed bf16 (13.48 GB, not 3.87 GB).
    lora = ["--lora-rank", "16", "--lora-targets", "all-linear"]
    assert main(["calc", "llama-7b", "--json", *lora, "--quant", "nf4-dq"]) == 0
    flags = json.loads(capsys.readouterr().out)["memory"]
    spec = tmp_path / "qlora.yaml"
    spec.write_text("preset: llama-7b\ntraining: {quant: nf4-dq}\n", encoding="utf-8")
    assert main(["calc", str(spec), "--json", *lora]) == 0
    from_file = json.loads(capsys.readouterr().out)["memory"]
    assert flags["training"] == from_file["training"]
    base = flags["terms"]["training"][0]
    assert (base["name"], base["bytes"]) == ("frozen base (nf4-dq)", flags["weights"]["nf4-dq"])
    assert flags["options"]["training"]["quant"] == "nf4-dq"


@pytest.mark.parametrize(
    ("flag", "value", "key"),
    [
        ("--tokens", "1e400", "training.tokens"),
        ("--tokens", "1e300T", "training.tokens"),
        ("--overhead", "1e400GB", "memory.overhead"),
    ],
)
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_number_past_float_range_is_a_usage_error(
    flag: str, value: str, key: str, json_flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: `calc llama-7b --tokens 1e400` ended in an OverflowError traceback."""
    assert main(["calc", "llama-7b", flag, value, *json_flag]) == 2
    err = capsys.readouterr().err
    assert f"{key}: '{value}' is too large to be a number" in err
    assert "Traceback" not in err
