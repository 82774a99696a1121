from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vault_tools.pipeline.config import Config
from vault_tools.pipeline.files import ChangedOnDisk, ScanEntry, atomic_write, read_note, scan

MakeVault = Callable[..., Path]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and symlinks")


def test_read_then_write(make_vault: MakeVault) -> None:
    root = make_vault({"a.md": b"\xef\xbb\xbfold\r\n"})
    note = root / "a.md"
    data, fingerprint = read_note(note)
    assert data == b"\xef\xbb\xbfold\r\n"
    assert fingerprint.size == len(data)
    atomic_write(note, b"new\r\n", fingerprint)
    assert note.read_bytes() == b"new\r\n"
    assert sorted(p.name for p in root.iterdir()) == [".obsidian", "a.md"]  # no temp file left


@posix_only
def test_write_keeps_the_mode(make_vault: MakeVault) -> None:
    note = make_vault({"a.md": "x"}) / "a.md"
    note.chmod(0o640)
    _, fingerprint = read_note(note)
    atomic_write(note, b"y", fingerprint)
    assert stat.S_IMODE(note.stat().st_mode) == 0o640


def test_changed_since_read_is_not_overwritten(make_vault: MakeVault) -> None:
    note = make_vault({"a.md": "old"}) / "a.md"
    _, fingerprint = read_note(note)
    info = note.stat()
    note.write_bytes(b"new")  # same size; mtime may not even tick
    os.utime(note, ns=(info.st_atime_ns, info.st_mtime_ns))
    with pytest.raises(ChangedOnDisk) as caught:
        atomic_write(note, b"mine", fingerprint)
    assert str(caught.value) == "changed on disk since it was read (edited elsewhere?); skipped, run again"
    assert note.read_bytes() == b"new"
    assert not list(note.parent.glob(".a.md.*"))  # no temp file left behind


def test_an_edit_after_a_settled_read_is_seen_by_its_mtime(make_vault: MakeVault) -> None:
    """A note stamped long before it was read is not read again before the swap (refresh's write path):
    an edit since, even of the same size, stamps a later mtime, and that is what stops the write."""
    note = make_vault({"a.md": "old"}) / "a.md"
    old = time.time_ns() - 60 * 10**9
    os.utime(note, ns=(old, old))
    _, fingerprint = read_note(note)
    assert not fingerprint.racy
    note.write_bytes(b"new")
    with pytest.raises(ChangedOnDisk):
        atomic_write(note, b"mine", fingerprint)
    assert note.read_bytes() == b"new"


def test_deleted_since_read(make_vault: MakeVault) -> None:
    note = make_vault({"a.md": "old"}) / "a.md"
    _, fingerprint = read_note(note)
    note.unlink()
    with pytest.raises(ChangedOnDisk) as caught:
        atomic_write(note, b"mine", fingerprint)
    assert str(caught.value) == "was deleted or moved since it was read; skipped"
    assert not note.exists()


@posix_only
def test_read_only_note(make_vault: MakeVault) -> None:
    note = make_vault({"a.md": "old"}) / "a.md"
    note.chmod(0o444)
    _, fingerprint = read_note(note)
    with pytest.raises(ValueError) as caught:
        atomic_write(note, b"new", fingerprint)
    assert str(caught.value) == "file is read-only; make it writable or leave it out"
    assert note.read_bytes() == b"old"


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder(make_vault: MakeVault) -> None:
    root = make_vault({"sub/a.md": "old"})
    note = root / "sub" / "a.md"
    _, fingerprint = read_note(note)
    (root / "sub").chmod(0o555)
    try:
        with pytest.raises(ValueError) as caught:
            atomic_write(note, b"new", fingerprint)
        assert str(caught.value) == "cannot write in its folder: Permission denied"
    finally:
        (root / "sub").chmod(0o755)


@posix_only
def test_write_through_a_symlink_replaces_the_target(make_vault: MakeVault) -> None:
    root = make_vault({"real/a.md": "old"})
    link = root / "link.md"
    link.symlink_to(root / "real" / "a.md")
    _, fingerprint = read_note(link)
    atomic_write(link, b"new", fingerprint)
    assert link.is_symlink()
    assert (root / "real" / "a.md").read_bytes() == b"new"


@posix_only
def test_write_in_a_linked_folder_replaces_the_file_there(make_vault: MakeVault) -> None:
    root = make_vault({"real/a.md": "old"})
    (root / "linked").symlink_to(root / "real", target_is_directory=True)
    note = root / "linked" / "a.md"
    _, fingerprint = read_note(note)
    atomic_write(note, b"new", fingerprint)
    assert (root / "linked").is_symlink() and (root / "real" / "a.md").read_bytes() == b"new"
    assert sorted(p.name for p in (root / "real").iterdir()) == ["a.md"]  # no temp file left


def _scan(paths: list[Path], config: Config | None = None, *, base: Path) -> list[tuple[str, str | None]]:
    return [(Path(entry.path).relative_to(base).as_posix(), entry.problem) for entry in scan(paths, config)]


VAULT = {
    "b.md": "",
    "A.MD": "",
    "a/z.md": "",
    "a/b/c.Md": "",
    "a/notes.txt": "",
    "a/.hidden.md": "",
    ".obsidian/workspace.md": "",
    ".trash/old.md": "",
    ".git/x.md": "",
    "_drafts/.x/y.md": "",
    "Templates/t.md": "",
    "c.md/inner.md": "",  # a folder named like a note
}


def test_scan_order_and_skips(make_vault: MakeVault) -> None:
    root = make_vault(VAULT)
    # Sorted by path: a folder's notes come where its name sorts.
    assert _scan([root], base=root) == [
        ("A.MD", None),
        ("Templates/t.md", None),
        ("a/b/c.Md", None),
        ("a/z.md", None),
        ("b.md", None),
        ("c.md/inner.md", None),
    ]
    assert all(entry.root == root for entry in scan([root]))


def test_scan_uses_the_vault_globs(make_vault: MakeVault) -> None:
    root = make_vault({**VAULT, ".vault-tools.toml": "exclude = ['Templates/', 'a/b']\n"})
    assert _scan([root], base=root) == [
        ("A.MD", None),
        ("a/z.md", None),
        ("b.md", None),
        ("c.md/inner.md", None),
    ]
    # A config given by the caller applies instead.
    assert _scan([root / "a"], Config(root=root, include=("a/b/**",)), base=root) == [("a/b/c.Md", None)]


def test_explicit_files(make_vault: MakeVault, tmp_path: Path) -> None:
    root = make_vault({**VAULT, ".vault-tools.toml": "exclude = ['Templates/']\n"})
    paths = [
        root / ".obsidian" / "workspace.md",  # named explicitly: taken
        root / "a" / "notes.txt",
        root / "Templates" / "t.md",  # excluded by the vault, even when named
        root / "missing.md",
        root / "b.md",
        root / "b.md",  # twice: once
        root,  # holds b.md again
    ]
    assert _scan(paths, base=root) == [
        (".obsidian/workspace.md", None),
        ("a/notes.txt", "not a Markdown note (*.md); skipped"),
        ("missing.md", "no such file or folder"),
        ("b.md", None),
        ("A.MD", None),
        ("a/b/c.Md", None),
        ("a/z.md", None),
        ("c.md/inner.md", None),
    ]


def test_relative_paths_stay_relative(make_vault: MakeVault, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_vault({"a/b.md": "", "c.md": ""})
    monkeypatch.chdir(root)
    entries = list(scan([Path("a"), Path("c.md")]))
    assert entries == [ScanEntry("a/b.md", root), ScanEntry("c.md", root)]
    monkeypatch.chdir(root / "a")
    assert [(Path(e.path), e.root) for e in scan([Path()])] == [(Path("b.md"), root)]


@posix_only
def test_symlinks(make_vault: MakeVault, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.md").write_text("x")
    (outside / "dir" / "n.md").write_text("x")
    root = make_vault({"real/a.md": "", "z.md": ""})
    (root / "in.md").symlink_to(root / "real" / "a.md")
    (root / "in-dir").symlink_to(root / "real")
    (root / "loop").symlink_to(root)
    (root / "out.md").symlink_to(outside / "secret.md")
    (root / "out-dir").symlink_to(outside / "dir")
    (root / "out.txt").symlink_to(outside / "secret.md")  # not a note: not worth a message
    (root / "broken.md").symlink_to(root / "nowhere.md")
    assert _scan([root], base=root) == [
        ("out-dir", f"symlink points outside the vault ({outside / 'dir'}); skipped"),
        ("out.md", f"symlink points outside the vault ({outside / 'secret.md'}); skipped"),
        ("real/a.md", None),
        ("z.md", None),
    ]
    assert _scan([root / "out.md", root / "in.md"], base=root) == [
        ("out.md", f"symlink points outside the vault ({outside / 'secret.md'}); skipped"),
        ("in.md", None),
    ]
    # Found in review: a linked folder named by itself, or a note named through it, was followed out.
    assert _scan([root / "out-dir", root / "out-dir" / "n.md"], base=root) == [
        ("out-dir", f"symlink points outside the vault ({outside / 'dir'}); skipped"),
        ("out-dir/n.md", f"symlink points outside the vault ({outside / 'dir' / 'n.md'}); skipped"),
    ]


@posix_only
def test_unreadable_folder(make_vault: MakeVault) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root reads anything")
    root = make_vault({"locked/a.md": "", "b.md": ""})
    (root / "locked").chmod(0)
    try:
        assert _scan([root], base=root) == [
            ("b.md", None),
            ("locked", "cannot read folder: Permission denied; skipped"),
        ]
    finally:
        (root / "locked").chmod(0o755)


def test_broken_config_raises(make_vault: MakeVault) -> None:
    root = make_vault({"a.md": "", ".vault-tools.toml": "nope = 1\n"})
    with pytest.raises(ValueError, match="unknown key 'nope'"):
        list(scan([root]))


def test_read_note_says_when_a_stat_cannot_vouch_for_the_bytes(tmp_path: Path) -> None:
    note = tmp_path / "n.md"
    note.write_text("fresh\n")
    assert read_note(note)[1].racy  # written just now: a same-size edit in this tick would not show
    old = time.time_ns() - 60 * 10**9
    os.utime(note, ns=(old, old))
    assert not read_note(note)[1].racy


@pytest.mark.parametrize("size", [0, 1, 8192, 200_000])
def test_read_note_reads_every_byte(tmp_path: Path, size: int) -> None:
    note = tmp_path / "n.md"
    note.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    data, fingerprint = read_note(str(note))
    assert data == note.read_bytes()
    assert fingerprint.size == size


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs a file whose stat says 0 bytes")
def test_read_note_reads_past_a_size_the_stat_understates() -> None:
    # Like a note that grows between the stat and the read: the read goes on to the end of the file.
    data, fingerprint = read_note("/proc/self/status")
    assert fingerprint.size == 0
    assert b"\nPid:" in data
