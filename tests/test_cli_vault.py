"""``refresh`` / ``check`` on whole vaults: exact messages and exit codes; nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MakeVault
from vault_tools.cli import main
from vault_tools.pipeline import engine

SPEC_NOTE = """---
title: Tiny
verification_status: draft
last_reinforced: 2026-01-01
---

# Tiny

```model-spec
L: 2
h: 64
V: 100
```

## Changelog
| date | change |
|---|---|
| 2026-01-01 | created |
"""
PLAIN_NOTE = "---\ntitle: Plain\n---\n\n# Plain\n\nNo spec and no numbers here.\n"
CONFIG = 'date = "2026-11-23"\n'


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and ".vault-tools" not in p.parts
    }


def refresh(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["refresh", str(root), *extra])
    return code, capsys.readouterr().out


def test_refresh_then_check_then_idempotent(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_vault({"a.md": SPEC_NOTE, "b.md": PLAIN_NOTE, ".vault-tools.toml": CONFIG})
    assert main(["check", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{root}/a.md:13: model-spec: computed tables are missing; run `vault-tools refresh`" in out
    code, out = refresh(root, capsys)
    assert code == 0
    assert out.endswith("vault-tools refresh: 2 notes scanned, 1 changed, 0 failed\n")
    text = (root / "a.md").read_text()
    assert "| 2026-11-23 | vault-tools: model-spec added (params 105.34K) |" in text
    assert (root / "b.md").read_text() == PLAIN_NOTE
    assert main(["check", str(root)]) == 0
    before = snapshot(root)
    code, out = refresh(root, capsys)
    assert out.endswith("2 notes scanned, 0 changed, 0 failed\n")
    assert snapshot(root) == before


def test_crlf_bom_and_missing_final_newline_are_kept(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    crlf = b"\xef\xbb\xbf" + SPEC_NOTE.replace("\n", "\r\n").encode()
    root = make_vault({"crlf.md": crlf, "nofinal.md": SPEC_NOTE.rstrip("\n"), ".vault-tools.toml": CONFIG})
    assert refresh(root, capsys)[0] == 0
    data = (root / "crlf.md").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") > crlf.count(b"\n")
    assert data.endswith(b"| 2026-11-23 | vault-tools: model-spec added (params 105.34K) |\r\n")
    nofinal = (root / "nofinal.md").read_text()
    assert not nofinal.endswith("\n")
    assert nofinal.endswith(
        "| 2026-01-01 | created |\n| 2026-11-23 | vault-tools: model-spec added (params 105.34K) |"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken-yaml.md", "---\ntitle: [unclosed\n---\n```model-spec\nL: 1\n```\n", "broken-yaml.md:3: "),
        (
            "bad-tag.md",
            "---\ntitle: X\nok: !!bool maybe\n---\n```model-spec\nL: 1\n```\n",
            "bad-tag.md:3: invalid YAML: !!bool cannot read 'maybe'",
        ),
        (
            "bad-spec.md",
            "# X\n\n```model-spec\nh: 64\nL: 2\nV: 10\nn_head: 3\n```\n",
            "bad-spec.md:7: model-spec: 'n_head' (3) does not divide 'h' (64); "
            "set 'head_dim' if the model uses a custom head size",
        ),
        (
            "bad-memory.md",
            "# X\n\n```model-spec\npreset: llama-7b\nmemory:\n  dtype: fp99\n```\n",
            "bad-memory.md:6: model-spec: memory.dtype: unknown weight format 'fp99'",
        ),
        (
            "latin1.md",
            "# caf\xe9\n```model-spec\nL: 1\n```\n".encode("latin-1"),
            "latin1.md:1: not valid UTF-8",
        ),
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary.md:1: binary file, not a Markdown note"),
        (
            "unbalanced.md",
            "# X\n\n```model-spec\nL: 1\nh: 8\nV: 4\n```\n\n"
            "<!-- vault-tools:begin model-spec sha256=000000000000 -->\n",
            "unbalanced.md:9: vault-tools:begin model-spec has no matching end marker",
        ),
    ],
)
def test_bad_note_is_reported_and_the_rest_still_processed(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str], name: str, content: str | bytes, message: str
) -> None:
    root = make_vault(
        {name: content, "good.md": SPEC_NOTE, "plain.md": PLAIN_NOTE, ".vault-tools.toml": CONFIG}
    )
    bad_before = (root / name).read_bytes()
    code, out = refresh(root, capsys)
    assert code == 1
    assert f"{root}/{message}" in out, out
    assert "Traceback" not in out
    assert out.endswith("3 notes scanned, 1 changed, 1 failed\n")
    assert (root / name).read_bytes() == bad_before
    assert "vault-tools:begin model-spec" in (root / "good.md").read_text()
    assert (root / "plain.md").read_text() == PLAIN_NOTE


@pytest.mark.parametrize("content", ["", "---\ntitle: only frontmatter\n---\n", "---\n---\n"])
def test_empty_and_frontmatter_only_notes_are_untouched(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    root = make_vault({"e.md": content})
    assert refresh(root, capsys) == (0, "vault-tools refresh: 1 notes scanned, 0 changed, 0 failed\n")
    assert (root / "e.md").read_text() == content


def test_hand_edited_region_fails_check_and_survives_refresh_unless_forced(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_vault({"a.md": SPEC_NOTE, ".vault-tools.toml": CONFIG})
    refresh(root, capsys)
    path = root / "a.md"
    edited = path.read_text().replace("**105,344**", "**100,000**")
    assert edited != path.read_text()
    path.write_text(edited)
    assert main(["check", str(root)]) == 1
    assert "managed region 'model-spec' was edited by hand" in capsys.readouterr().out
    # Refresh keeps the edit and says the note could not be brought up to date (found in review: it said
    # "0 failed" and exited 0, while check went on failing).
    code, out = refresh(root, capsys)
    assert (code, path.read_text()) == (1, edited)
    assert out.endswith("1 notes scanned, 0 changed, 1 failed\n")
    code, _out = refresh(root, capsys, "--force")
    assert code == 0 and "**105,344**" in path.read_text()


def test_symlink_out_of_the_vault_is_skipped(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text(SPEC_NOTE)
    root = make_vault({"a.md": PLAIN_NOTE})
    (root / "link.md").symlink_to(outside)
    code, out = refresh(root, capsys)
    assert f"{root}/link.md: symlink points outside the vault ({outside}); skipped" in out
    assert outside.read_text() == SPEC_NOTE
    assert code == 1


def test_read_only_note_is_reported(make_vault: MakeVault, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_vault({"ro.md": SPEC_NOTE, "ok.md": SPEC_NOTE})
    (root / "ro.md").chmod(0o444)
    code, out = refresh(root, capsys)
    assert code == 1
    assert f"{root}/ro.md:1: file is read-only; make it writable or leave it out" in out
    assert (root / "ro.md").read_text() == SPEC_NOTE
    assert "vault-tools:begin" in (root / "ok.md").read_text()


def test_note_changed_between_read_and_write_is_skipped(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_vault({"a.md": SPEC_NOTE})
    real = engine.process_text

    def meddle(text: str, **kwargs: object) -> object:
        (root / "a.md").write_text(SPEC_NOTE + "\nTyped in Obsidian meanwhile.\n")
        return real(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "process_text", meddle)
    code, out = refresh(root, capsys)
    assert code == 1
    assert f"{root}/a.md:1: changed on disk since it was read (edited elsewhere?); skipped, run again" in out
    assert (root / "a.md").read_text().endswith("Typed in Obsidian meanwhile.\n")


def test_huge_note_is_processed(make_vault: MakeVault, capsys: pytest.CaptureFixture[str]) -> None:
    filler = "".join(f"Line {i} of prose about parameters and memory.\n" for i in range(100_000))
    root = make_vault({"huge.md": SPEC_NOTE.replace("## Changelog", filler + "\n## Changelog")})
    assert refresh(root, capsys)[0] == 0
    text = (root / "huge.md").read_text()
    assert "vault-tools:begin model-spec" in text and "Line 99999 of prose" in text


def test_missing_path_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "nope")]) == 1
    assert f"{tmp_path}/nope: " in capsys.readouterr().out


def test_diff_shows_changes_and_writes_nothing(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_vault({"a.md": SPEC_NOTE, ".vault-tools.toml": CONFIG})
    code, out = refresh(root, capsys, "--diff")
    assert code == 0
    assert f"+++ b/{root}/a.md" in out and "+<!-- vault-tools:begin model-spec" in out
    assert out.endswith("1 notes scanned, 1 would change, 0 failed\n")
    assert (root / "a.md").read_text() == SPEC_NOTE


def test_a_note_named_twice_is_processed_once(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """`refresh notes notes/a.md`: the note is refreshed once and reported as changed."""
    root = make_vault({"good.md": SPEC_NOTE, ".vault-tools.toml": CONFIG})
    code, out = refresh(root, capsys, str(root / "good.md"), f"{root}/./good.md")
    assert code == 0
    assert out.endswith("1 notes scanned, 1 changed, 0 failed\n")
    assert main(["check", str(root), str(root / "good.md")]) == 0


def test_the_changelog_the_row_goes_to_is_the_one_claims_skip(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vault whose changelog is "## Journal": refresh appends its row there, and the claims check skips
    that section as it skips "## Changelog" (the history row's 7B is no claim)."""
    note = (
        "---\ntitle: N\n---\n\n# N\n\nLLaMA-7B has 6.7B parameters.\n\n"
        "## Journal\n\n| date | change |\n|---|---|\n| 2026-01-01 | LLaMA-7B has 7B parameters |\n"
    )
    config = CONFIG + 'changelog_headings = ["Journal"]\n'
    root = make_vault({"a.md": note, ".vault-tools.toml": config})
    code, _out = refresh(root, capsys)
    text = (root / "a.md").read_text()
    assert code == 0
    assert "| 9 | `LLaMA-7B has 6.7B` |" in text  # the claim above the journal, at its line once written
    assert "`LLaMA-7B has 7B`" not in text
    assert text.endswith(
        "| 2026-01-01 | LLaMA-7B has 7B parameters |\n"
        "| 2026-11-23 | vault-tools: verification added (claims 1 ok) |\n"
    )
    assert main(["check", str(root)]) == 0


def test_a_one_column_changelog_gets_its_row_and_the_run_goes_on(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: a changelog table of one column raised out of the run (a traceback; the notes
    after it were never written).  The row's cells go into the columns the table has."""
    claim = "LLaMA-7B has 6.7B parameters.\n"
    narrow = claim + "\n## Changelog\n| change |\n|---|\n| created |\n"
    root = make_vault({"a.md": claim, "b.md": narrow, "c.md": claim, ".vault-tools.toml": CONFIG})
    code, out = refresh(root, capsys)
    assert code == 0 and out.endswith("3 notes scanned, 3 changed, 0 failed\n")
    assert (
        (root / "b.md")
        .read_text()
        .endswith("| created |\n| 2026-11-23 vault-tools: verification added (claims 1 ok) |\n")
    )
    assert main(["check", str(root)]) == 0


def test_owned_keys_the_tool_cannot_rewrite_are_reported_not_skipped_silently(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: refresh wrote the regions and the changelog row but left the owned keys as they
    were without a word when one of them holds its value on the lines below."""
    note = (
        "---\ntitle: T\nverification_status:\n  draft\nlast_reinforced: 2020-01-01\n---\n\n"
        "LLaMA-7B has 6.7B parameters.\n"
    )
    root = make_vault({"a.md": note, ".vault-tools.toml": CONFIG})
    code, out = refresh(root, capsys)
    assert code == 0
    assert out.startswith(
        f"{root}/a.md:3: frontmatter: 'verification_status' holds nested keys or a list; set it to a single "
        "value by hand ('last_reinforced', 'verification_status' not updated)\n"
    )
    text = (root / "a.md").read_text()
    assert (
        text.startswith(note[: note.index("---\n\n") + 4]) and "<!-- vault-tools:begin verification" in text
    )


def test_the_owned_keys_are_the_configured_ones(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: ``verification_status`` had to be a single value even in a vault whose status key
    is another, and a list in the configured key was not refused up front."""
    config = CONFIG + 'status_key = "status"\ndate_key = "updated"\n'
    mine = "---\ntitle: A\nverification_status: [draft, review]\n---\n\nLLaMA-7B has 6.7B parameters.\n"
    theirs = "---\ntitle: B\nstatus: [draft, review]\n---\n\nLLaMA-7B has 6.7B parameters.\n"
    root = make_vault({"a.md": mine, "b.md": theirs, ".vault-tools.toml": config})
    code, out = refresh(root, capsys)
    assert code == 1
    assert out.splitlines() == [
        f"{root}/b.md:3: frontmatter: 'status' must be a single value",
        "vault-tools refresh: 2 notes scanned, 1 changed, 1 failed",
    ]
    head = "---\ntitle: A\nverification_status: [draft, review]\nupdated: 2026-11-23\nstatus: verified\n---\n"
    assert (root / "a.md").read_text().startswith(head)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_the_diff_of_a_note_without_a_final_newline_applies(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str], ending: str
) -> None:
    """Found in review: the last line's change had no "\\ No newline at end of file" mark, so the '-' and
    '+' lines ran together and the summary line ran into the patch; git apply called it corrupt."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    note = ending.join(
        ["LLaMA-7B has 6.7B parameters.", "", "## Changelog", "| date | change |", "|---|---|"]
    )
    note += ending + "| 2020-01-01 | created |"
    root = make_vault({"a.md": note, ".vault-tools.toml": CONFIG})
    code, out = refresh(root, capsys, "--diff")
    assert code == 0 and "\\ No newline at end of file\n" in out
    patch = out[: out.rindex("vault-tools refresh:")].replace(f"{root}/", "")
    (root / "d.patch").write_text(patch, newline="")
    subprocess.run([git, "apply", "d.patch"], cwd=root, check=True, capture_output=True)
    patched = (root / "a.md").read_bytes()
    (root / "a.md").write_text(note, newline="")
    code, _out = refresh(root, capsys)
    assert code == 0 and patched == (root / "a.md").read_bytes()


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_the_diff_of_a_note_with_a_bom_applies(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str], ending: str
) -> None:
    """Found in review: --diff dropped a BOM from its first context line, so git apply refused the patch
    of a BOM note whose first lines changed (its frontmatter status)."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    note = ending.join(
        ["---", "title: A", "verification_status: draft", "---", "LLaMA-7B has 6.7B parameters.", ""]
    )
    root = make_vault({"a.md": "\ufeff" + note, ".vault-tools.toml": CONFIG})
    code, out = refresh(root, capsys, "--diff")
    assert code == 0 and out.startswith("--- a/")
    patch = out[: out.rindex("vault-tools refresh:")].replace(f"{root}/", "")
    (root / "d.patch").write_bytes(patch.encode())
    subprocess.run([git, "apply", "d.patch"], cwd=root, check=True, capture_output=True)
    patched = (root / "a.md").read_bytes()
    (root / "a.md").write_bytes(("\ufeff" + note).encode())
    code, _out = refresh(root, capsys)
    assert code == 0 and patched == (root / "a.md").read_bytes()


def test_regions_go_above_the_changelog_that_gets_the_row(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: a "## History" of prose mid-note (a default changelog name) took the Verification
    region, while the row went to the "## Changelog" table at the end.  Both go to the changelog with the
    table now, and the history's claim is checked."""
    note = (
        "# M\n\nLLaMA-7B has 6.7B parameters.\n\n## History\n\nLLaMA-13B has 13B parameters.\n\n"
        "## Details\n\nText.\n\n## Changelog\n| date | change |\n|---|---|\n| 2020-01-01 | created |\n"
    )
    root = make_vault({"a.md": note, ".vault-tools.toml": CONFIG})
    code, _out = refresh(root, capsys)
    text = (root / "a.md").read_text()
    assert code == 0
    before, _marker, after = text.partition("<!-- vault-tools:begin verification")
    assert before == note[: note.index("## Changelog")]
    assert "`LLaMA-13B has 13B`" in after and after.endswith(
        "| 2020-01-01 | created |\n| 2026-11-23 | vault-tools: verification added (claims 2 ok) |\n"
    )


def test_a_note_goes_by_the_same_configuration_named_alone_or_walked(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: with the configuration in the repository's pyproject and the Obsidian vault in
    notes/, `check .` used it but the pre-commit form `check notes/a.md` did not (the nearest .obsidian
    won).  And a configured folder inside a vault is a vault of its own for the walk too."""
    journal = "LLaMA-7B has 6.7B parameters.\n\n## Journal\n| date | change |\n|---|---|\n"
    journal += "| 1 | LLaMA-7B has 13B |\n"
    files = {
        "pyproject.toml": '[tool.vault-tools]\nchangelog_headings = ["Journal"]\n',
        "notes/.obsidian/app.json": "{}",
        "notes/a.md": journal,
        "notes/sub/.vault-tools.toml": 'changelog_headings = ["Log"]\n',
        "notes/sub/b.md": journal,
    }
    root = make_vault(files, obsidian=False)
    monkeypatch.chdir(root)
    outputs = []
    for args in (["."], ["notes"], ["notes/a.md", "notes/sub/b.md"]):
        main(["check", "--no-cache", *args])
        outputs.append(sorted(capsys.readouterr().out.splitlines()[:-1]))
    assert outputs[0] == outputs[1] == outputs[2]
    assert [line.split(":", 1)[0] for line in outputs[0] if "wrong" in line] == ["notes/sub/b.md"]


def test_broken_frontmatter_is_reported_in_a_note_with_nothing_to_compute(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: the prefilter for notes without numbers, specs or regions skipped their
    frontmatter too, so check passed a note whose YAML does not parse (validate reported it)."""
    files = {
        "a.md": "---\ntitle: Broken: two: colons\n---\nText.\n",
        "b.md": "---\ntags: {a: 1}\n---\nText.\n",
    }
    root = make_vault({**files, "c.md": "plain\n"})
    assert main(["check", str(root), "--no-cache"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{root}/a.md:2: invalid YAML: mapping values are not allowed in this context; quote the value if it "
        "contains ': '",
        f"{root}/b.md:2: frontmatter: 'tags' must be a string or a list of strings",
        "vault-tools check: 2 of 3 notes need attention",
    ]


def test_the_summary_counts_notes_apart_from_paths_and_workers_must_be_positive(
    make_vault: MakeVault, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: a missing path counted as a note ("4 of 2 notes need attention"), and
    `--workers -1` was taken."""
    root = make_vault({"a.md": "LLaMA-7B has 6.7B parameters.\n", ".vault-tools.toml": CONFIG})
    assert main(["check", str(root / "a.md"), str(root / "nope.md")]) == 1
    out = capsys.readouterr().out
    assert out.endswith("vault-tools check: 1 of 1 notes need attention; 1 paths could not be checked\n")
    for workers in ("0", "-1", "abc"):
        assert main(["check", str(root), "--workers", workers]) == 2
        assert f"--workers: must be a whole number of at least 1, got '{workers}'" in capsys.readouterr().err
