"""Whole-vault runs give the same output with and without the cache, and with 1 or N workers."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MakeVault
from vault_tools.pipeline.batch import run
from vault_tools.pipeline.config import load_config
from vault_tools.pipeline.files import read_note
from vault_tools.pipeline.runner import Mode

SPEC = (
    "---\ntitle: Spec {i}\naliases: [S{i}]\n---\n\n# Spec {i}\n\n```model-spec\nL: {L}\nh: 64\nV: 100\n```\n"
)
CLAIMS = "# Uses {i}\n\n```claims\nparams([[Spec {j}]]) ≈ {value}\n```\n"
PLAIN = "# Plain {i}\n\nNothing to compute.\n"


def _vault(make_vault: MakeVault) -> Path:
    files: dict[str, str] = {".vault-tools.toml": 'date = "2026-11-23"\n'}
    for i in range(90):
        files[f"spec/{i:03d}.md"] = SPEC.format(i=i, L=1 + i % 4)
        j = (i + 1) % 90
        layers = 1 + j % 4
        value = f"{(layers * (12 * 64 * 64 + 4 * 64) + 100 * 64 + 128) / 1000:.0f}K"
        # Claims about another note's spec, written before that note exists in scan order.
        files[f"a-claims/{i:03d}.md"] = CLAIMS.format(i=i, j=j, value=value)
        files[f"plain/{i:03d}.md"] = PLAIN.format(i=i)
    return make_vault(files)


def _messages(paths: list[str], **kwargs: object) -> list[str]:
    report = run(paths, **kwargs)  # type: ignore[arg-type]
    return [m for f in report.files for m in f.messages()] + report.errors


def test_check_same_with_and_without_cache_and_workers(make_vault: MakeVault) -> None:
    root = _vault(make_vault)
    serial = _messages([str(root)], mode="check", workers=1, use_cache=False)
    parallel = _messages([str(root)], mode="check", workers=2, use_cache=False)
    cold = _messages([str(root)], mode="check", workers=2)
    warm = _messages([str(root)], mode="check", workers=2)
    assert serial == parallel == cold == warm
    assert len([m for m in serial if "computed tables are missing" in m]) == 180
    assert _shard_files(root) and (root / ".vault-tools" / "cache" / "index.json").is_file()


def _shard_files(root: Path) -> list[Path]:
    return sorted((root / ".vault-tools" / "cache").glob("[0-9a-f][0-9a-f]-*.json"))


def test_refresh_same_bytes_with_1_or_2_workers(make_vault: MakeVault, tmp_path: Path) -> None:
    root = _vault(make_vault)
    other = tmp_path / "other"
    shutil.copytree(root, other)
    one = run([str(root)], mode="refresh", workers=1, use_cache=False)
    two = run([str(other)], mode="refresh", workers=2)
    assert one.changed == two.changed == 180  # every spec note, and every claims note's verification region
    for path in sorted(root.rglob("*.md")):
        assert path.read_bytes() == (other / path.relative_to(root)).read_bytes(), path
    # Claims about other notes resolved: every verdict is ok, not "unknown model".
    text = (root / "a-claims/000.md").read_text()
    assert "> [!success]" in text and "unverified" not in text
    again = run([str(other)], mode="refresh", workers=2)
    assert again.changed == 0


def test_cache_notices_a_changed_referenced_spec(make_vault: MakeVault) -> None:
    root = _vault(make_vault)
    run([str(root)], mode="refresh", workers=1)
    assert _messages([str(root)], mode="check") == []
    spec = root / "spec/001.md"
    spec.write_text(spec.read_text().replace("L: 2", "L: 3"))
    messages = _messages([str(root)], mode="check")
    # The spec note's own tables are stale, and so is the note whose claim cites it (now wrong).
    assert any(m.startswith(f"{root}/spec/001.md:") and "stale" in m for m in messages)
    assert any(m.startswith(f"{root}/a-claims/000.md:") for m in messages)


def _processed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The notes a run really processes (the cache answers the rest); serial runs only."""
    from vault_tools.pipeline import batch

    seen: list[str] = []
    real = batch.process_file

    def spy(path: Path, *args: object, **kwargs: object) -> object:
        seen.append(Path(path).name)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "process_file", spy)
    return seen


def test_cache_is_keyed_by_content_not_by_stat(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_vault({"a.md": CLAIMS.format(i=1, j=2, value="1K"), "b.md": PLAIN.format(i=2)})
    run([str(root)], mode="refresh", workers=1)
    first = _messages([str(root)], mode="check", workers=1)
    assert first == []
    seen = _processed(monkeypatch)
    a, b = root / "a.md", root / "b.md"
    # Touched (same bytes, new mtime): answered by its digest, not processed again.
    os.utime(b, ns=(time.time_ns() + 5 * 10**9, time.time_ns() + 5 * 10**9))
    assert _messages([str(root)], mode="check", workers=1) == first
    assert seen == []
    # Same size, same mtime, other bytes, right after the cache was written: the racy case is hashed.
    stat = a.stat()
    a.write_text(a.read_text().replace("1K", "9K"))
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert a.stat().st_size == stat.st_size
    after = _messages([str(root)], mode="check", workers=1)
    assert seen == ["a.md"]
    assert [m.split(":", 1)[0] for m in after] == [str(a)]  # its verification region is out of date


def test_refresh_makes_each_written_folder_durable_once(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault_tools.pipeline import files

    root = _vault(make_vault)
    synced: list[Path] = []
    monkeypatch.setattr(files, "_fsync_folder", synced.append)
    report = run([str(root)], mode="refresh", workers=1, use_cache=False)
    assert report.changed == 180
    # Every note was fsynced before its rename; the renames are made durable a folder at a time.
    assert sorted(synced) == sorted({(root / "spec").resolve(), (root / "a-claims").resolve()})


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw.update(entries="not a mapping"),
        lambda raw: raw["entries"].update({k: [1, 2] for k in raw["entries"]}),
        lambda raw: raw["entries"].update({k: ["x"] * 9 for k in raw["entries"]}),
        lambda raw: raw.update(key="from another version"),
    ],
    ids=["entries not a mapping", "short entries", "entries of the wrong types", "other settings"],
)
def test_a_damaged_cache_is_ignored_not_trusted(
    make_vault: MakeVault, damage: Callable[[dict[str, Any]], None]
) -> None:
    import json

    root = _vault(make_vault)
    run([str(root)], mode="refresh", workers=1)
    clean = _messages([str(root)], mode="check", workers=1, use_cache=False)
    for path in _shard_files(root):
        raw = json.loads(path.read_text())
        damage(raw)
        path.write_text(json.dumps(raw))
    assert _messages([str(root)], mode="check", workers=1) == clean
    assert _messages([str(root)], mode="check", workers=1) == clean  # and the cache it rewrote is sound


def test_a_one_note_check_teaches_the_cache(make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-commit case: the edited note is checked, and an unchanged note is answered next time."""
    root = make_vault({f"n/{i:03d}.md": PLAIN.format(i=i) for i in range(100)})
    assert _messages([str(root)], mode="check", workers=1) == []
    note = root / "n/007.md"
    note.write_text(note.read_text() + "\nLLaMA-7B has 9B parameters.\n")
    seen = _processed(monkeypatch)
    messages = _messages([str(note)], mode="check", workers=1)
    assert any("9B" in m for m in messages) and seen == ["007.md"]
    assert _messages([str(note)], mode="check", workers=1) == messages
    assert _messages([str(root)], mode="check", workers=1) == messages
    assert seen == ["007.md"]  # both later runs were answered by the cache


def test_a_damaged_entry_leaves_no_name_in_the_model_index(make_vault: MakeVault) -> None:
    """Review find: a dropped entry must not keep giving the index its spec."""
    import json

    files = {
        "s.md": "---\ntitle: Spec1\n---\n```model-spec\nL: 2\nh: 64\nV: 100\n```\n",
        "a.md": "# A\n\n```claims\nparams([[Spec1]]) ≈ 105K\n```\n",
    }
    root = make_vault(files)
    run([str(root)], mode="refresh", workers=1)
    assert _messages([str(root)], mode="check", workers=1) == []
    for path in _shard_files(root):
        raw = json.loads(path.read_text())
        if "s.md" in raw["entries"]:
            raw["entries"]["s.md"][0] = "damaged"
            path.write_text(json.dumps(raw))
    spec = root / "s.md"
    spec.write_text("---\ntitle: Spec1\n---\nno spec any more\n")
    note = root / "a.md"
    note.write_text(note.read_text() + "\n")  # processed first, so the index is built from the raw entries
    cached = _messages([str(root)], mode="check", workers=1)
    assert cached == _messages([str(root)], mode="check", workers=1, use_cache=False)


def test_the_index_reads_raw_entries_where_to_json_writes_them() -> None:
    from vault_tools.pipeline import cache as cache_mod

    entry = cache_mod.Entry(1, 2, "d", False, False, (), None, ("k1", "k2"), {"preset": "gpt2"}, ())
    raw = entry.to_json()
    assert len(raw) == cache_mod._FIELDS
    assert (raw[cache_mod._KEYS], raw[cache_mod._MODEL]) == (["k1", "k2"], {"preset": "gpt2"})
    assert cache_mod.Entry.from_json(raw) == entry


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (0, "12"),
        (0, "x"),
        (1, 1.5),
        (2, None),
        (2, ""),
        (3, 1),
        (4, "no"),
        (4, True),
        (5, [["x", "y", "z"]]),
        (5, [[3, "a problem", "warning"]]),
        (6, 5),
        (9, "bad"),
        (9, [["llama7b", None]]),
    ],
)
def test_a_raw_entry_answers_as_the_entry_it_converts_to(tmp_path: Path, field: int, value: object) -> None:
    """The warm-run fast path reads raw entries: it must answer exactly as the converted entry would."""
    from vault_tools.pipeline import cache as cache_mod
    from vault_tools.pipeline.files import read_note

    note = tmp_path / "a.md"
    note.write_text("# A\n")
    _data, read = read_note(note)
    good = cache_mod.Entry(
        read.size, read.mtime_ns, read.digest, False, False, (), "verified", ("a",), None, ()
    )
    raw = good.to_json()
    raw[field] = value
    try:
        converted: dict[str, cache_mod.Entry | list[Any]] = {"a.md": cache_mod.Entry.from_json(raw)}
    except (ValueError, TypeError):
        converted = {}
    modes: tuple[Mode, ...] = ("check", "refresh")
    for mode in modes:
        fast = cache_mod.Cache(tmp_path, "k", {"a.md": list(raw)}).lookup(str(note), mode=mode, force=False)
        slow = cache_mod.Cache(tmp_path, "k", converted).lookup(str(note), mode=mode, force=False)
        assert fast == slow


SHARDED = {
    "spec/s.md": "---\ntitle: Spec1\n---\n```model-spec\nL: 2\nh: 64\nV: 100\n```\n",
    **{f"n/{i:03d}.md": PLAIN.format(i=i) for i in range(40)},
    "n/ref.md": "# Ref\n\n```claims\nparams([[Spec1]]) ≈ 105K\n```\n",
}


def test_a_one_note_check_reads_only_its_shard_and_the_index(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault_tools.pipeline import cache as cache_mod

    root = make_vault(SHARDED)
    run([str(root)], mode="refresh", workers=1)
    assert _messages([str(root)], mode="check", workers=1) == []
    read: list[str] = []
    real = cache_mod._read_json
    monkeypatch.setattr(cache_mod, "_read_json", lambda path: read.append(path.name) or real(path))
    note = root / "n/ref.md"
    note.write_text(note.read_text().replace("≈ 105K\n```", "≈ 205K\n```"))
    messages = _messages([str(note)], mode="check", workers=1)
    shard = f"{cache_mod._shard('n/ref.md'):02x}-"
    assert len(read) == 2 and read[0] == "index.json" and read[1].startswith(shard)
    whole = _messages([str(root)], mode="check", workers=1, use_cache=False)
    assert messages == whole and "computed 105K" in messages[0]  # resolved through the index
    assert _messages([str(root)], mode="check", workers=1) == messages


def test_a_shard_the_index_does_not_know_sends_the_run_to_the_full_load(make_vault: MakeVault) -> None:
    """A run that stopped between writing a shard and the index: the shards are trusted, the index mended."""
    import json

    from vault_tools.pipeline import cache as cache_mod

    root = make_vault(SHARDED)
    run([str(root)], mode="refresh", workers=1)
    assert _messages([str(root)], mode="check", workers=1) == []
    index = root / ".vault-tools" / "cache" / "index.json"
    before = json.loads(index.read_text())
    spec = root / "spec/s.md"
    spec.write_text(spec.read_text().replace("h: 64", "h: 128"))
    changed = _messages([str(root)], mode="check", workers=1)
    assert changed == _messages([str(root)], mode="check", workers=1, use_cache=False) != []
    index.write_text(json.dumps(before))  # as if the run had stopped before writing the index
    config = load_config(root)
    assert cache_mod.load(root, config)._index_stale  # a full load sees the disagreement
    note = root / "n/ref.md"
    partial = cache_mod.load(root, config, [str(note)])
    assert partial._loaded is None  # the note's shard is newer than the index: everything is read
    assert _messages([str(note)], mode="check", workers=1) == [m for m in changed if "ref.md" in m]
    assert not cache_mod.load(root, config)._index_stale  # and that run rewrote the index
    assert _messages([str(root)], mode="check", workers=1) == changed


def test_a_partial_cache_never_writes_a_shard_it_did_not_read(tmp_path: Path) -> None:
    from vault_tools.pipeline import cache as cache_mod

    first = next(n for n in range(cache_mod._SHARDS) if n != cache_mod._shard("b.md"))
    cache = cache_mod.Cache(tmp_path, "k", {}, loaded=frozenset({first}))
    entry = cache_mod.Entry(1, 2, "d", False, False, (), None, ("b",), None, ())
    cache.record(str(tmp_path / "b.md"), entry)
    assert not cache.dirty and "b.md" not in cache.entries


def test_the_old_single_file_cache_is_removed(make_vault: MakeVault) -> None:
    root = make_vault({"a.md": "# A\n"})
    legacy = root / ".vault-tools" / "cache.json"
    legacy.parent.mkdir()
    legacy.write_text("{}")
    _messages([str(root)], mode="check", workers=1)
    assert not legacy.exists() and _shard_files(root)


def test_a_stale_index_never_answers_for_another_shard(make_vault: MakeVault) -> None:
    """Review find: a run stopped between a shard and the index left the index's old spec in use for
    a one-note check of a note in another shard (which then passed while a full check failed)."""
    import json

    from vault_tools.pipeline import cache as cache_mod

    root = make_vault(
        {
            "A.md": "# A\n\n```model-spec\npreset: llama-7b\n```\n",
            "B.md": "# B\n\n```claims\nparams([[A]]) ≈ 6.7B\n```\n",
        }
    )
    assert cache_mod._shard("A.md") != cache_mod._shard("B.md")
    run([str(root)], mode="refresh", workers=1)
    index = root / ".vault-tools" / "cache" / "index.json"
    before = index.read_text()
    spec = root / "A.md"
    spec.write_text(spec.read_text().replace("llama-7b", "llama-13b"))
    run([str(spec)], mode="refresh", workers=1)
    index.write_text(before)  # as if that run had stopped before writing the index
    whole = _messages([str(root)], mode="check", workers=1, use_cache=False)
    assert any("B.md" in m and "wrong explicit claim" in m for m in whole)
    one = _messages([str(root / "B.md")], mode="check", workers=1)
    assert one == [m for m in whole if "B.md" in m]
    assert json.loads(index.read_text())["shards"] != json.loads(before)["shards"]  # and it was mended


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw["shards"].update(zz="x"),
        lambda raw: raw.update(shards=["not", "a", "mapping"]),
        lambda raw: raw["models"].update({"zz.md": "not a record", "zy.md": [1, 2, 3]}),
    ],
    ids=["bad shard name", "shards not a mapping", "bad model record"],
)
def test_a_damaged_index_is_not_a_traceback(
    make_vault: MakeVault, damage: Callable[[dict[str, Any]], None]
) -> None:
    import json

    root = make_vault(SHARDED)
    run([str(root)], mode="refresh", workers=1)
    index = root / ".vault-tools" / "cache" / "index.json"
    raw = json.loads(index.read_text())
    damage(raw)
    index.write_text(json.dumps(raw))
    note = root / "n/ref.md"
    expected = [m for m in _messages([str(root)], mode="check", workers=1, use_cache=False) if "ref.md" in m]
    assert _messages([str(note)], mode="check", workers=1) == expected


def test_display_path_shows_notes_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault_tools.pipeline.runner import display_path

    cwd = str(tmp_path) + os.sep
    inside = str(tmp_path / "notes" / "a.md")
    assert display_path(inside, cwd) == "notes/a.md"
    assert display_path(Path(inside), cwd) == "notes/a.md"
    outside = str(tmp_path.parent / "b.md")
    assert display_path(outside, cwd) == outside.replace(os.sep, "/")
    assert display_path(str(Path("x", "..", "c.md")), cwd) == "c.md"
    monkeypatch.chdir(tmp_path)
    assert display_path(inside) == "notes/a.md"


def test_a_note_edited_outside_its_regions_is_checked_without_rendering_them(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-commit case: the cache's render tokens let the regions be read back from the note."""
    root = make_vault(
        {
            "m.md": "---\ntitle: LLaMA-7B\n---\n\nSome words.\n\n```model-spec\npreset: llama-7b\n```\n\n"
            "LLaMA-7B has 6.7B parameters.\n",
        }
    )
    run([str(root)], mode="refresh", workers=1)
    note = root / "m.md"
    note.write_text(note.read_text().replace("Some words.", "Some other words, no claim."))
    whole = _messages([str(note)], mode="check", workers=1, use_cache=False)

    def fail(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("a region was computed or rendered again")

    monkeypatch.setattr("vault_tools.processors._compute", fail)
    monkeypatch.setattr("vault_tools.claims.processor._render_rows", fail)
    assert _messages([str(note)], mode="check", workers=1) == whole == []
    report = run([str(note)], mode="refresh", workers=1)
    assert report.changed == 0 and report.failed == 0


def test_a_one_note_run_that_moves_no_name_rewrites_only_its_shard(make_vault: MakeVault) -> None:
    from vault_tools.pipeline import cache as cache_mod

    root = make_vault(SHARDED)
    run([str(root)], mode="refresh", workers=1)
    folder = root / ".vault-tools" / "cache"
    index = folder / "index.json"
    before_index, before_files = index.read_bytes(), sorted(p.name for p in folder.iterdir())
    note = root / "n/ref.md"
    note.write_text(note.read_text() + "\nMore prose.\n")
    assert _messages([str(note)], mode="check", workers=1) == []
    shard = next(folder.glob(f"{cache_mod._shard('n/ref.md'):02x}-*.json"))
    # Same file names (generations), the index untouched, the note's new digest in its shard.
    assert sorted(p.name for p in folder.iterdir()) == before_files and index.read_bytes() == before_index
    assert cache_mod._read_json(shard)["entries"]["n/ref.md"][2] == read_note(note)[1].digest
    assert _messages([str(root)], mode="check", workers=1) == []
    # A spec that changes moves the index: its shard gets a new generation and the index follows.
    spec = root / "spec/s.md"
    spec.write_text(spec.read_text().replace("h: 64", "h: 128"))
    _messages([str(spec)], mode="check", workers=1)
    assert index.read_bytes() != before_index and sorted(p.name for p in folder.iterdir()) != before_files
    assert not cache_mod.load(root, load_config(root))._index_stale
    assert _messages([str(root)], mode="check", workers=1) == _messages(
        [str(root)], mode="check", workers=1, use_cache=False
    )


@pytest.mark.parametrize("how", ["deleted", "renamed", "excluded"])
def test_a_spec_note_that_left_the_vault_no_longer_answers_references(
    make_vault: MakeVault, how: str
) -> None:
    """Review find: after a spec note was deleted, a cached check still resolved references to it."""
    import json

    root = make_vault(
        {
            ".vault-tools.toml": 'date = "2026-11-23"\n',
            "specs/A.md": "# A\n\n```model-spec\npreset: llama-7b\n```\n",
            "B.md": "# B\n\n```claims\nparams([[A]]) ≈ 6.7B\n```\n",
        }
    )
    run([str(root)], mode="refresh", workers=1)
    assert _messages([str(root)], mode="check", workers=1) == []
    spec = root / "specs" / "A.md"
    if how == "deleted":
        spec.unlink()
    elif how == "renamed":
        spec.rename(spec.with_name("A2.md"))
    else:
        (root / ".vault-tools.toml").write_text('date = "2026-11-23"\nexclude = ["specs"]\n')
    without = _messages([str(root)], mode="check", workers=1, use_cache=False)
    assert any(m.startswith(f"{root}/B.md:") for m in without)
    assert _messages([str(root)], mode="check", workers=1) == without
    assert _messages([str(root)], mode="check", workers=1) == without  # and warm
    index = json.loads((root / ".vault-tools" / "cache" / "index.json").read_text())
    assert "specs/A.md" not in index["models"]


def test_a_run_over_part_of_a_vault_forgets_nothing_outside_it(make_vault: MakeVault) -> None:
    from vault_tools.pipeline import cache as cache_mod

    root = _vault(make_vault)
    run([str(root)], mode="refresh", workers=1)
    before = cache_mod.load(root, load_config(root)).entries.keys()
    assert _messages([str(root / "plain")], mode="check", workers=1) == []
    assert _messages([str(root / "spec" / "001.md")], mode="check", workers=1) == []
    assert cache_mod.load(root, load_config(root)).entries.keys() == before


def _report_rows(report: Any, root: Path) -> list[tuple[str, bool, bool, bool, tuple[str, ...]]]:
    def shown(message: str) -> str:
        return message.replace(f"{root}/", "")

    return [
        (shown(f.path), f.changed, f.written, f.failed, tuple(map(shown, f.messages()))) for f in report.files
    ]


def _failing_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes that fail at each step: read-only note (before the temp file), fsync, the late check."""
    import errno

    from vault_tools.pipeline import files

    real_sync, real_check, real_fsync = files.StagedWrite.sync, files._check, os.fsync
    failing: set[int] = set()  # descriptors whose next fsync fails (once: numbers are handed out again)

    def fsync(fd: int) -> None:
        if fd in failing:
            failing.discard(fd)
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    def sync(self: files.StagedWrite) -> None:
        if self.target.endswith("a-claims/003.md"):
            failing.add(self.fd)
        real_sync(self)

    def check(path: str, expected: files.Fingerprint, *, read: bool = True) -> Any:
        if read and path.endswith("spec/007.md"):
            raise files.ChangedOnDisk(
                "changed on disk since it was read (edited elsewhere?); skipped, run again"
            )
        return real_check(path, expected, read=read)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(files.StagedWrite, "sync", sync)
    monkeypatch.setattr(files, "_check", check)


@pytest.mark.parametrize("workers", [1, 2])
def test_writes_finished_on_the_writer_thread_report_as_writes_in_line(
    make_vault: MakeVault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """A batch fsyncs on a thread and swaps at the end of each chunk; failures read as in line."""
    from vault_tools.pipeline import batch

    root = _vault(make_vault)
    (root / "a-claims" / "010.md").chmod(0o444)
    threaded, inline = tmp_path / "threaded", tmp_path / "inline"
    shutil.copytree(root, threaded)
    shutil.copytree(root, inline)
    _failing_writes(monkeypatch)
    done = run([str(threaded)], mode="refresh", workers=workers, use_cache=False)
    monkeypatch.setattr(batch, "_PARALLEL_MIN", 10_000)  # every note in line, no writer thread
    expected = run([str(inline)], mode="refresh", workers=1, use_cache=False)
    assert _report_rows(done, threaded) == _report_rows(expected, inline)
    failed = [row[0] for row in _report_rows(done, threaded) if row[3]]
    assert failed == ["a-claims/003.md", "a-claims/010.md", "spec/007.md"]
    for path in sorted(inline.rglob("*")):
        twin = threaded / path.relative_to(inline)
        assert twin.exists(), twin  # and nothing more: no temp file left behind
        if path.is_file() and ".vault-tools" not in path.parts:
            assert path.read_bytes() == twin.read_bytes(), path
    assert sorted(p.relative_to(threaded) for p in threaded.rglob("*")) == sorted(
        p.relative_to(inline) for p in inline.rglob("*")
    )


def test_a_note_whose_threaded_write_failed_is_not_cached(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _vault(make_vault)
    with monkeypatch.context() as patched:
        _failing_writes(patched)
        report = run([str(root)], mode="refresh", workers=1)
    assert [Path(f.path).name for f in report.files if f.failed] == ["003.md", "007.md"]
    messages = _messages([str(root)], mode="check", workers=1)
    assert messages == _messages([str(root)], mode="check", workers=1, use_cache=False)
    assert [m for m in messages if "spec/007.md" in m] and [m for m in messages if "a-claims/003.md" in m]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_stopped_half_way_through_a_chunk_leaves_no_temp_file(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Ctrl-C (or a bug) while a chunk's writes wait for their swap: they are dropped, files untouched."""
    from vault_tools.pipeline import batch

    # Spec notes only: each is written in round one (no reference waits for the complete index).
    root = make_vault({f"spec/{i:03d}.md": SPEC.format(i=i, L=1 + i % 4) for i in range(100)})
    before = {p: p.read_bytes() for p in root.rglob("*.md")}
    real = batch.process_file
    calls = 0

    def stop_at_the_tenth(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 10:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "process_file", stop_at_the_tenth)
    with pytest.raises(KeyboardInterrupt):
        run([str(root)], mode="refresh", workers=workers, use_cache=False)
    if workers == 1:  # the chunk that met the interruption was never swapped in (2 workers go on a bit)
        assert {p: p.read_bytes() for p in root.rglob("*.md")} == before
    assert not [p for p in root.rglob("*.tmp")]


def test_only_a_note_with_a_spec_keeps_its_names_in_the_cache(make_vault: MakeVault) -> None:
    """Names serve the model index only: a plain note's entry carries none (a smaller cache to load)."""
    from vault_tools.pipeline import cache as cache_mod

    root = make_vault({"s.md": SPEC.format(i=1, L=2), "p.md": PLAIN.format(i=2)})
    run([str(root)], mode="check", workers=1)
    entries = cache_mod.load(root, load_config(root)).entries
    assert entries["p.md"][cache_mod._KEYS] == []
    assert entries["s.md"][cache_mod._KEYS] == ["spec1", "s1", "s"]
    assert cache_mod.load(root, load_config(root)).index().keys() == {"spec1", "s1", "s"}


def test_a_change_of_the_tools_code_voids_the_cache(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout or an editable install changes the code under one version: entries made by the old code
    are not trusted."""
    from vault_tools.pipeline import cache

    root = make_vault({f"n/{i}.md": PLAIN.format(i=i) for i in range(3)})
    assert _messages([str(root)], mode="check", workers=1) == []
    seen = _processed(monkeypatch)
    assert _messages([str(root)], mode="check", workers=1) == [] and seen == []  # the cache answered
    monkeypatch.setattr(cache, "code_fingerprint", lambda _package: "other code")
    assert _messages([str(root)], mode="check", workers=1) == []
    assert sorted(seen) == ["0.md", "1.md", "2.md"]


def test_the_code_fingerprint_follows_the_files_not_their_bytecode(tmp_path: Path) -> None:
    from vault_tools.pipeline.cache import code_fingerprint

    package = tmp_path / "pkg"
    (package / "sub" / "__pycache__").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.yaml").write_text("k: v\n")
    first = code_fingerprint(package)
    (package / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"\0")
    (package / "a.pyc").write_bytes(b"\0")
    assert code_fingerprint(package) == first  # the first run's bytecode does not void the cache
    os.utime(package / "sub" / "b.yaml", ns=(1, 1))
    assert code_fingerprint(package) != first
    moved = code_fingerprint(package)
    (package / "a.py").write_text("x = 22\n")
    assert code_fingerprint(package) != moved
    assert code_fingerprint(tmp_path / "missing") == code_fingerprint(tmp_path / "missing too")


def test_the_cache_notices_an_edited_template_include_and_templates_are_no_notes(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vault template may include any file of its folder, subfolders too: editing one voids the cache.
    The folder's Markdown partials are templates, not notes: no run reads or rewrites them."""
    partial = "> [!{{ callout }}] {{ title }}\n"
    files = {
        ".vault-tools.toml": 'date = "2026-11-23"\ntemplates = "_t"\n',
        "_t/verification.md.j2": '{% include "parts/head.md" %}\n{% for row in rows %}{{ row.line }}\n'
        "{% endfor %}",
        "_t/parts/head.md": partial,
        "a.md": "# A\n\nLLaMA-7B has 6.7B parameters.\n",
    }
    root = make_vault(files)
    report = run([str(root)], mode="refresh", workers=1)
    assert [f.path.rsplit("/", 1)[-1] for f in report.files] == ["a.md"]
    assert _messages([str(root)], mode="check", workers=1) == []
    (root / "_t/parts/head.md").write_text("> [!{{ callout }}] {{ title }} (edited)\n")
    _forget_renders(monkeypatch)  # as a new process would: the CLI runs once a process
    assert _messages([str(root)], mode="check", workers=1) == _messages(
        [str(root)], mode="check", workers=1, use_cache=False
    )
    assert any("stale" in m for m in _messages([str(root)], mode="check", workers=1))
    assert _messages([str(root / "_t/parts/head.md")], mode="check", workers=1) == []
    assert (root / "_t/parts/head.md").read_text().endswith("(edited)\n")


def _forget_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop this process's rendered tables and template environments."""
    from vault_tools.claims import processor
    from vault_tools.pipeline import render

    monkeypatch.setattr(processor, "_RENDERED", {})
    render.environment.cache_clear()


def test_ctrl_c_while_a_write_waits_for_the_disk_leaves_no_temp_file(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: an interrupted refresh left '.note.md.<hex>.tmp' files (6 runs in 22): settle took
    the write off its pending list before waiting for the fsync, so abandon() no longer knew it."""
    from concurrent.futures import Future

    from vault_tools.pipeline import batch

    root = make_vault({"n.md": "old\n"})
    path = str(root / "n.md")
    _data, fingerprint = read_note(path)
    writer = batch._Writer()
    try:
        writer(path, b"new\n", fingerprint)
        job = batch.Job(path, load_config(root), "refresh", False, {}, False)

        def interrupted(self: Future[None], timeout: float | None = None) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(Future, "result", interrupted)
        with pytest.raises(KeyboardInterrupt):
            writer.settle(job, batch.Outcome(batch.FileReport(path), None, ()))
        monkeypatch.undo()
        writer.abandon()
    finally:
        writer.close()
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == ["n.md"]
    assert (root / "n.md").read_text() == "old\n"


def test_a_named_note_without_a_whole_vault_cache_resolves_other_notes_specs(make_vault: MakeVault) -> None:
    """Found in review: in a fresh clone (CI), with --no-cache or a voided cache, `check User.md` knew no
    spec but its own notes': a reference to another note's spec was unknown, so a right note was 'stale'
    and a wrong claim went unnamed.  Such a run now reads the vault's specs from the notes."""
    files = {
        ".vault-tools.toml": 'date = "2026-11-23"\n',
        "Spec A.md": SPEC.format(i="A", L=2),
        "User.md": "# User\n\n```claims\nparams([[Spec A]]) ≈ 105K\nparams(SA) ≈ 999K\n```\n",
    }
    root = make_vault(files)
    run([str(root)], mode="refresh", workers=1, use_cache=False)
    whole = _messages([str(root)], mode="check", workers=1, use_cache=False)
    assert [m.split(": ", 1)[1][:25] for m in whole] == ["wrong explicit claim: par"]
    user = str(root / "User.md")
    assert _messages([user], mode="check", workers=1, use_cache=False) == whole
    assert _messages([user], mode="check", workers=1) == whole  # no cache on disk yet
    assert _messages([user], mode="check", workers=1) == whole  # the cache a named run left
    assert _messages([str(root)], mode="check", workers=1) == whole  # a whole run completes it
    assert _messages([user], mode="check", workers=1) == whole


def test_a_link_to_the_note_itself_means_its_own_spec_on_the_first_run(make_vault: MakeVault) -> None:
    """Found in review: "[[X]] has 6.7B" in X was unverified on a first run (the index did not know X yet)
    and ok on the second, so refresh was not idempotent and --no-cache never settled."""
    note = "# X\n\n```model-spec\npreset: llama-7b\n```\n\n[[X]] has 6.7B parameters.\n"
    cached = make_vault({".vault-tools.toml": 'date = "2030-01-02"\n', "X.md": note})
    uncached = make_vault({".vault-tools.toml": 'date = "2030-01-02"\n', "X.md": note})
    assert run([str(cached)], mode="refresh").files[0].changed
    assert "| 93 | `[[X]] has 6.7B` | 6.7B | 6.7B (6,738,415,616) | ok |" in (cached / "X.md").read_text()
    assert not run([str(cached)], mode="refresh").files[0].changed
    run([str(uncached)], mode="refresh", use_cache=False)
    assert (uncached / "X.md").read_bytes() == (cached / "X.md").read_bytes()


def test_a_failed_spec_note_still_answers_references_in_refresh(make_vault: MakeVault) -> None:
    """Found in review: a spec note refresh failed (a hand-edited region kept) was left out of refresh's
    model index but not check's, so check reported the note citing it stale after every refresh."""
    root = make_vault(
        {
            ".vault-tools.toml": 'date = "2030-01-02"\n',
            "A.md": "# A\n\n[[B]] has 6.7B parameters.\n",
            "B.md": "# B\n\n```model-spec\npreset: llama-7b\n```\n\n"
            "<!-- vault-tools:begin model-spec sha256=000000000000 -->\nhand text\n"
            "<!-- vault-tools:end model-spec -->\n",
        }
    )
    for use_cache in (False, True):
        report = run([str(root)], mode="refresh", use_cache=use_cache)
        assert [f.failed for f in report.files] == [False, True]
        assert "6.7B (6,738,415,616) | ok |" in (root / "A.md").read_text()
        check = _messages([str(root)], mode="check", use_cache=use_cache)
        assert [m for m in check if "A.md" in m] == []


CHANGELOG = "\n## Changelog\n\n| Date | Change |\n| --- | --- |\n"


def _twins(make_vault: MakeVault, files: dict[str, str]) -> tuple[Path, Path]:
    files = {".vault-tools.toml": 'date = "2030-01-02"\n', **files}
    return make_vault(files), make_vault(files)


def _same_after(cached: Path, uncached: Path, edit: Callable[[Path], None]) -> None:
    """Refresh both, edit both alike, refresh again: the cached and uncached vaults end byte for byte alike,
    and a further refresh of the cached one changes nothing."""
    run([str(cached)], mode="refresh")
    run([str(uncached)], mode="refresh", use_cache=False)
    time.sleep(0.01)
    for root in (cached, uncached):
        edit(root)
    run([str(cached)], mode="refresh")
    run([str(uncached)], mode="refresh", use_cache=False)
    for note in sorted(cached.rglob("*.md")):
        assert note.read_bytes() == (uncached / note.relative_to(cached)).read_bytes(), note.name
    assert not any(f.changed for f in run([str(cached)], mode="refresh").files)


def test_a_spec_notes_own_claims_follow_its_edited_spec_at_once(make_vault: MakeVault) -> None:
    """Found in review: the note's title was resolved through the vault's index, which held the spec the
    last run read: the first refresh after an edit judged the note's own claims against the old spec."""
    note = "# Spec A\n\n```model-spec\npreset: llama-7b\n```\n\nSpec A has 6.7B parameters.\n" + CHANGELOG
    cached, uncached = _twins(make_vault, {"Spec A.md": note})

    def edit(root: Path) -> None:
        path = root / "Spec A.md"
        path.write_text(path.read_text().replace("llama-7b", "llama-13b"))

    _same_after(cached, uncached, edit)
    assert "computed 13.0B ≠ stated 6.7B" in (cached / "Spec A.md").read_text()


def test_a_note_naming_itself_by_alias_settles_in_one_run(make_vault: MakeVault) -> None:
    """Found in review: `params(Me)` in the note aliased Me was unverified on a first run and ok on the
    next; a note with two specs gained a Verification region on the second run only."""
    me = "---\naliases: [Me]\n---\n# Foo\n\n```model-spec\npreset: gpt2\n```\n\n"
    me += "```claims\nparams(Me) ≈ 124M\n```\n"
    two = (
        "# Two\n\n```model-spec\npreset: llama-7b\n```\n\n```model-spec\npreset: gpt2\n```\n\nTwo has 6.7B.\n"
    )
    cached, uncached = _twins(make_vault, {"Foo.md": me, "Two.md": two})
    _same_after(cached, uncached, lambda root: None)
    assert "| `params(Me) ≈ 124M` | 124M | 124M (124,439,808) | ok |" in (cached / "Foo.md").read_text()
    assert "verification" not in (cached / "Two.md").read_text()


def test_a_note_citing_an_edited_spec_is_written_once(make_vault: MakeVault) -> None:
    """Found in review: round one wrote the citing note against the spec the index held from the last run,
    and round two wrote it again: two changelog rows where a run without the cache writes one."""
    spec = "# Spec A\n\n```model-spec\npreset: llama-7b\n```\n" + CHANGELOG
    uses = "# Uses\n\n```claims\nparams([[Spec A]]) ≈ 6.7B\n```\n" + CHANGELOG
    cached, uncached = _twins(make_vault, {"Spec A.md": spec, "uses.md": uses})

    def edit(root: Path) -> None:
        path = root / "Spec A.md"
        path.write_text(path.read_text().replace("llama-7b", "llama-13b"))
        path = root / "uses.md"  # a line above the claims moves the lines the Verification table cites
        path.write_text(path.read_text().replace("# Uses\n", "# Uses\n\nMore text.\n"))

    _same_after(cached, uncached, edit)
    rows = [line for line in (cached / "uses.md").read_text().splitlines() if "| 2030-01-02 |" in line]
    assert len(rows) == 2  # verification added; then claims 1 ok → 0 ok, 1 wrong


def test_a_cold_refresh_processes_each_note_once(
    make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notes without a spec look their own title up in the index and seldom find it: that is no reason to
    hold them back for a second round (a change this session made briefly did, and a cold refresh of the
    bench vault ran 8,051 of its 10,000 notes twice)."""
    files = {f"n{i}.md": f"# N{i}\n\nLLaMA-7B has 6.7B parameters.\n" for i in range(5)}
    root = make_vault({".vault-tools.toml": 'date = "2030-01-02"\n', **files})
    seen = _processed(monkeypatch)
    run([str(root)], mode="refresh", workers=1)
    assert sorted(seen) == sorted(files)
