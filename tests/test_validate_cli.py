"""``vault-tools validate``: the JSON the product contract promises, exit codes, and report order."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MakeVault
from vault_tools.cli import main

CONFIDENT_WRONG = """---
title: Confident
confidence_score: 0.95
---

# Confident

```claims
params(LLaMA-7B) ≈ 6.7B
weights(LLaMA-7B, fp16) ≈ 14 GiB
```
"""
UNSURE_IMPLICIT = """---
title: Unsure
confidence_score: 0.4
---

# Unsure

- BERT-base (2018): 110M.
- 12 * 32 * 4096² + 32000 * 4096 ≈ 6.55B
"""
ALL_RIGHT = "# Right\n\n```claims\nkv_cache(Llama-3-8B, seq=8192, bf16) = 1 GiB\n```\n"


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["validate", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_json_lists_every_claim_with_the_contract_fields(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_vault({"a.md": CONFIDENT_WRONG, "b.md": UNSURE_IMPLICIT, "c.md": ALL_RIGHT})
    code, payload = run_json([str(root)], capsys)
    claims = payload["claims"]
    assert isinstance(claims, list)
    got = [(c["path"].rsplit("/", 1)[-1], c["line"], c["stated"], c["verdict"]) for c in claims]
    # The confident note with a wrong claim comes first.
    assert got == [
        ("a.md", 9, "6.7B", "ok"),
        ("a.md", 10, "14 GiB", "wrong"),
        ("b.md", 8, "110M", "ok"),
        ("b.md", 9, "6.55B", "wrong"),
        ("c.md", 4, "1 GiB", "ok"),
    ]
    for claim in claims:
        assert {"path", "line", "text", "stated", "computed", "verdict"} <= set(claim)
        assert claim["verdict"] in ("ok", "wrong", "unverified")
    assert code == 1  # an explicit claim is wrong


def test_implicit_wrong_claims_fail_only_with_strict(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_vault({"b.md": UNSURE_IMPLICIT, "c.md": ALL_RIGHT})
    code, payload = run_json([str(root)], capsys)
    assert code == 0
    assert [c["verdict"] for c in payload["claims"]].count("wrong") == 1  # type: ignore[union-attr]
    assert main(["validate", "--strict", str(root)]) == 1


def test_text_report_ends_with_a_summary(make_vault: MakeVault, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_vault({"c.md": ALL_RIGHT})
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.endswith("vault-tools validate: 1 claims in 1 notes: 1 ok, 0 wrong, 0 unverified\n")
