"""ClaimsProcessor: the Verification region, its status, summary and problems; refresh twice is a no-op."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from vault_tools.claims.processor import ClaimsProcessor
from vault_tools.pipeline.model import Block, NoteContext, Problem, Processor, Rendered


def context(text: str, blocks: tuple[Block, ...] = ()) -> NoteContext:
    return NoteContext(path="n.md", title="N", frontmatter={}, body_start_line=1, text=text, blocks=blocks)


def process(text: str, blocks: tuple[Block, ...] = ()) -> tuple[Rendered, list[Problem]]:
    rendered, *problems = ClaimsProcessor().process(context(text, blocks))
    assert isinstance(rendered, Rendered)
    assert all(isinstance(p, Problem) for p in problems)
    return rendered, problems  # type: ignore[return-value]  # checked just above


def test_implements_the_processor_protocol() -> None:
    processor = ClaimsProcessor()
    assert isinstance(processor, Processor)
    assert (processor.name, processor.kinds) == ("claims", ("claims",))
    assert processor.wants("LLaMA-7B: 6.7B") and not processor.wants("no numbers here")


def test_no_claims_no_region() -> None:
    assert ClaimsProcessor().process(context("Released in 2018; see [[LLaMA-7B]].\n")) == ()


def test_failure_region() -> None:
    text = "# Sizes\n\nLLaMA-7B has 6.7B parameters.\n\n12 * 32 * 4096² + 32000 * 4096 ≈ 6.55B\n"
    rendered, problems = process(text)
    assert rendered.region_id == "verification"
    assert rendered.anchor_line == 0  # no claims block: the end of the note
    assert rendered.text == (
        "> [!failure] 1 of 2 claims is wrong\n"
        "> - line 5: `12 * 32 * 4096² + 32000 * 4096 ≈ 6.55B` — computed 6.57B is not ≈ stated 6.55B\n"
        "\n"
        "| Line | Claim | Stated | Computed | Verdict |\n"
        "| ---: | --- | --- | --- | --- |\n"
        "| 3 | `LLaMA-7B has 6.7B` | 6.7B | 6.7B (6,738,415,616) | ok |\n"
        "| 5 | `12 * 32 * 4096² + 32000 * 4096 ≈ 6.55B` | 6.55B | 6.57B (6,573,522,944) | wrong |\n"
    )
    assert rendered.status == "failed"
    assert dict(rendered.summary) == {"claims": "1 ok, 1 wrong"}
    [problem] = problems
    assert (problem.line, problem.severity) == (5, "warning")  # an implicit or arithmetic claim: a warning
    assert problem.message == (
        "wrong arithmetic claim: 12 * 32 * 4096² + 32000 * 4096 ≈ 6.55B: "
        "computed 6.57B is not ≈ stated 6.55B; in full 6,573,522,944"
    )


def test_success_region_after_the_claims_block_in_a_blockquote() -> None:
    text = "> ```claims\n> params(LLaMA-7B) ≈ 6.7B\n> ```\n"
    block = Block("claims", "claims", "params(LLaMA-7B) ≈ 6.7B\n", 1, 3, prefix="> ")
    rendered, problems = process(text, (block,))
    assert (rendered.anchor_line, rendered.prefix, rendered.status) == (3, "> ", "verified")
    assert rendered.text.startswith("> [!success] The claim holds\n\n| Line |")
    assert dict(rendered.summary) == {"claims": "1 ok"}
    assert problems == []


def test_wrong_explicit_claim_is_a_wrong_problem_and_pipes_are_escaped() -> None:
    text = "```claims\nparams([[LLaMA-7B|seven]]) = 7.0B\nparams(GPT-9) = 1T\n```\n"
    rendered, problems = process(text)
    assert rendered.anchor_line == 4  # found by the processor's own scan when the pipeline gives no blocks
    assert [(p.line, p.severity) for p in problems] == [(2, "wrong")]
    assert "| 2 | `params([[LLaMA-7B\\|seven]]) = 7.0B` | 7.0B |" in rendered.text
    assert rendered.text.startswith("> [!failure] 1 of 2 claims is wrong\n")
    assert dict(rendered.summary) == {"claims": "0 ok, 1 wrong, 1 unverified"}


def test_only_unverified_claims_give_no_status() -> None:
    rendered, _ = process("- GPT-4 (2023): ~1.7T (rumored MoE).\n")
    assert rendered.status is None
    assert rendered.text.startswith("> [!question] No claim could be checked (1 unverified)\n")


def test_unparsable_claim_is_a_warning() -> None:
    _, [problem] = process("```claims\nparams(LLaMA-7B ≈ 6.7B\n```\n")
    assert (problem.line, problem.severity) == (2, "warning")
    assert problem.message == "claims: cannot parse: column 23: expected ')' to close the argument list"


def test_line_numbers_account_for_the_region_itself() -> None:
    """Claims after the claims block move down when the region goes in; the table says where they end up."""
    text = "```claims\nparams(LLaMA-7B) ≈ 6.7B\n```\nLLaMA-7B has 6.7B parameters.\n"
    rendered, _ = process(text)
    inner = rendered.text.count("\n") + 1  # the pipeline adds a summary line
    moved = 4 + 1 + inner + 2 + 1  # blank line, markers, blank line before the prose
    assert f"| {moved} | `LLaMA-7B has 6.7B` |" in rendered.text


def test_refresh_twice_changes_nothing() -> None:
    from vault_tools.pipeline.config import Config
    from vault_tools.pipeline.engine import process_text

    text = (
        "---\ntitle: Sizes\n---\n# Sizes\n\n```claims\nparams(LLaMA-7B) ≈ 6.7B\n"
        "params(LLaMA-7B) = 6.9B\n```\n"
        "LLaMA-7B has 6.7B parameters.\n\n7B × 2 bytes = 14 GB.\n\n## Changelog\n| 날짜 | 변경 |\n|---|---|\n"
    )
    processors: dict[str, Processor] = {"claims": ClaimsProcessor()}
    config = Config(date="2026-05-10")
    first = process_text(text, path="sizes.md", config=config, processors=processors)
    assert first.changed and first.status == "failed"
    second = process_text(first.text, path="sizes.md", config=config, processors=processors)
    assert not second.changed
    assert second.text == first.text
    lines = first.text.split("\n")
    table = [line for line in lines if line.startswith("| ") and "`" in line]
    for row in table:  # every row's line number points at the claim it reports
        number, claim = row.split(" | ")[0][2:], row.split("`")[1]
        assert claim.split(" ")[0] in lines[int(number) - 1]


def _rows_point_at_their_claims(text: str) -> None:
    lines = text.split("\n")
    table = [line for line in lines if line.startswith("| ") and line[2:3].isdigit() and "`" in line]
    assert table
    for row in table:
        number, claim = row.split(" | ")[0][2:], row.split("`")[1]
        assert claim.split(" ")[0] in lines[int(number) - 1], row


class _Counting(ClaimsProcessor):
    def __init__(self) -> None:
        self.calls = 0

    def process(self, note: NoteContext) -> Sequence[Rendered | Problem]:
        self.calls += 1
        return super().process(note)


@pytest.mark.parametrize(
    ("before", "one_pass"),
    [
        ("", True),  # only the claims region moves lines, and the processor numbered for that itself
        ("```model-spec\npreset: gpt2\n```\n\n", False),  # the spec tables go in above the claims
    ],
    ids=["cites hold, one pass", "a region above moves the claims, second pass"],
)
def test_refresh_reruns_a_citing_processor_only_when_its_lines_moved(before: str, one_pass: bool) -> None:
    from vault_tools.pipeline.config import Config
    from vault_tools.pipeline.engine import process_text
    from vault_tools.processors import ModelSpecProcessor

    text = (
        "---\ntitle: Sizes\nverification_status: draft\nlast_reinforced: 2026-05-01\n---\n# Sizes\n\n"
        f"{before}```claims\nparams(LLaMA-7B) ≈ 6.7B\n```\n"
        "LLaMA-7B has 6.7B parameters.\n\n7B × 2 bytes = 14 GB.\n\n## Changelog\n| 날짜 | 변경 |\n|---|---|\n"
    )
    claims = _Counting()
    processors: dict[str, Processor] = {"model-spec": ModelSpecProcessor(), "claims": claims}
    config = Config(date="2026-05-10")
    first = process_text(text, path="sizes.md", config=config, processors=processors)
    assert first.changed and (claims.calls == 1) == one_pass
    _rows_point_at_their_claims(first.text)
    again = process_text(first.text, path="sizes.md", config=config, processors=processors)
    assert not again.changed and again.text == first.text


def test_an_identical_line_where_a_claim_was_does_not_fool_the_settle_check() -> None:
    """Two new frontmatter keys push the claim down onto... a copy of itself two lines lower (review find)."""
    from vault_tools.pipeline.config import Config
    from vault_tools.pipeline.engine import process_text
    from vault_tools.pipeline.registry import processors

    note = "---\ntitle: Test\n---\n\n```text\nLLaMA-7B has 9B parameters.\n```\nLLaMA-7B has 9B parameters.\n"
    config = Config(date="2026-01-01")
    first = process_text(note, path="Test.md", config=config, processors=processors())
    _rows_point_at_their_claims(first.text)
    again = process_text(first.text, path="Test.md", config=config, processors=processors())
    assert not again.changed
