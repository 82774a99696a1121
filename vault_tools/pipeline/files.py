"""The file system edge: finding notes, reading them, and writing them back safely.

Writes are atomic (temp file in the same folder, fsync, ``os.replace``), keep the file mode, and happen
only if the file still holds what was read: a note edited in Obsidian meanwhile is skipped, not clobbered.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from vault_tools.digests import blake2b
from vault_tools.pipeline.config import Config, absolute, find_vault_root, is_configured, load_config
from vault_tools.records import field, record


@record
class Fingerprint:
    """What a note looked like when it was read."""

    size: int
    mtime_ns: int
    digest: str
    # Whether a same-size edit in the same mtime tick could hide behind this stat: the note changed within
    # 2 s of being read, or changed while it was read.  A cache must then compare digests, not stats.
    racy: bool = True


# File systems stamp mtimes in ticks of up to 2 s (FAT): within that of a read, a stat proves nothing.
RACY_NS = 2_000_000_000


class ChangedOnDisk(ValueError):
    """The note changed after it was read; it is skipped so the other edit is not lost."""


def _digest(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


# Plain descriptors, not Path.open: a buffered file object and a Path cost more than the read itself.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def read_note(path: str | Path) -> tuple[bytes, Fingerprint]:
    """Read a note's bytes and remember what they were."""
    fd = os.open(path, _READ_FLAGS)
    try:
        started = time.time_ns()
        before = os.fstat(fd)
        data = _read_all(fd, before.st_size)
        # fstat after the read: if the file changes in between, the digest disagrees and a later write is
        # refused, which is the safe way round.
        info = os.fstat(fd)
    finally:
        os.close(fd)
    moved = before.st_size != info.st_size or before.st_mtime_ns != info.st_mtime_ns
    racy = moved or info.st_mtime_ns >= started - RACY_NS
    return data, Fingerprint(info.st_size, info.st_mtime_ns, _digest(data), racy)


def _read_all(fd: int, size: int) -> bytes:
    """Read to the end of the file, as ``file.read()`` does: one read when the stat's size holds."""
    # One byte more than the stat says, so a note that grew meanwhile is read on rather than cut short.
    data = os.read(fd, size + 1)
    if not data:
        return data
    chunks = [data]
    while chunk := os.read(fd, max(size, 65536)):
        chunks.append(chunk)
    return data if len(chunks) == 1 else b"".join(chunks)


def _check(path: str, expected: Fingerprint, *, read: bool = True) -> os.stat_result:
    """The note's stat, if it still looks as read: same size and mtime, and (``read``) the same bytes."""
    try:
        info = os.stat(path)  # noqa: PTH116 - os calls, not Path objects, on the write path of every note
        unchanged = (info.st_size, info.st_mtime_ns) == (expected.size, expected.mtime_ns)
        if unchanged and read:
            fd = os.open(path, _READ_FLAGS)
            try:
                data = _read_all(fd, info.st_size)
            finally:
                os.close(fd)
            unchanged = _digest(data) == expected.digest  # mtime can miss a fast edit
    except FileNotFoundError:
        raise ChangedOnDisk("was deleted or moved since it was read; skipped") from None
    if not unchanged:
        raise ChangedOnDisk("changed on disk since it was read (edited elsewhere?); skipped, run again")
    return info


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def temp_file(folder: str, name: str) -> tuple[int, str]:
    """A new private file ``.{name}.<random>.tmp`` in ``folder``, as ``tempfile.mkstemp`` makes one
    (random name, created exclusively), without importing tempfile (and shutil, random) into a run."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")  # noqa: PTH118
        try:
            return os.open(tmp, _WRITE_FLAGS, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def atomic_write(path: str | Path, data: bytes, expected: Fingerprint, *, sync_folder: bool = True) -> None:
    """Replace a note's bytes atomically, if it still matches ``expected``.

    Raises ``ChangedOnDisk`` when it does not, and ``ValueError`` for a read-only note or folder.  With
    ``sync_folder=False`` the caller makes the rename durable later (``sync_folders``), once a folder.
    """
    staged = stage_write(path, data, expected)
    staged.sync()
    staged.commit(sync_folder=sync_folder)


@record(frozen=False)
class StagedWrite:
    """A note's new bytes in a temp file beside it, not yet swapped in: ``sync``, then ``commit``.

    ``atomic_write`` does all three steps at once.  The batch layer runs ``sync`` (the fsync that waits
    for the disk) on a thread while it works on the next note.  A step that fails removes the temp file
    and raises ``ValueError`` (``ChangedOnDisk`` from ``commit``); ``discard`` drops a write not wanted.
    """

    fd: int
    tmp: str
    target: str
    mode: int
    expected: Fingerprint

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
        except BaseException as exc:
            self._fail(exc)

    def sync(self) -> None:
        try:
            os.fsync(self.fd)
        except BaseException as exc:
            self._fail(exc)

    def commit(self, *, sync_folder: bool = True) -> None:
        """Swap the temp file in if the note still holds what was read (``ChangedOnDisk`` if not)."""
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(self.fd, self.mode)
            self._close()
            if not hasattr(os, "fchmod"):  # Windows
                os.chmod(self.tmp, self.mode)  # noqa: PTH101
            # Again, as late as possible before the swap.  The bytes are read again only for a racy read: a
            # note stamped 2 s or more before it was read that keeps its size and mtime kept its bytes (an
            # edit since would stamp a later mtime), as git trusts its index.
            _check(self.target, self.expected, read=self.expected.racy)
            os.replace(self.tmp, self.target)  # noqa: PTH105
        except BaseException as exc:
            self._fail(exc)
        if sync_folder:
            _fsync_folder(Path(os.path.dirname(self.target) or "."))  # noqa: PTH120

    def discard(self) -> None:
        """Close and remove the temp file (again harmless: a closed descriptor is not closed twice)."""
        with contextlib.suppress(OSError):
            self._close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)  # noqa: PTH108

    def _close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:  # never close a number the system may have handed out again
            os.close(fd)

    def _fail(self, exc: BaseException) -> NoReturn:
        """Remove the temp file and raise ``exc``, an ``OSError`` as the ``ValueError`` callers report."""
        self.discard()
        if isinstance(exc, OSError):
            raise ValueError(f"cannot write: {exc.strerror}") from None
        raise exc


def stage_write(path: str | Path, data: bytes, expected: Fingerprint) -> StagedWrite:
    """Check that the note still looks as read and is writable; write ``data`` to a temp file beside it."""
    # Through a symlink, replace the file it points to, not the link.  (A linked folder above the note
    # needs no resolving: the temp file and the rename happen in it either way.)  Plain os calls below:
    # this runs for every note refresh writes.
    text = os.fspath(path)
    target = os.path.realpath(text) if os.path.islink(text) else text  # noqa: PTH114
    # The stat is enough this early: the bytes are compared once, just before the swap.
    mode = stat.S_IMODE(_check(target, expected, read=False).st_mode)
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        # os.replace would happily swap out a read-only file; its mode says the user wants it left alone.
        raise ValueError("file is read-only; make it writable or leave it out")
    folder, name = os.path.split(target)
    try:
        fd, tmp = temp_file(folder or ".", name)
    except OSError as exc:
        raise ValueError(f"cannot write in its folder: {exc.strerror}") from None
    staged = StagedWrite(fd, tmp, target, mode, expected)
    staged.write(data)
    return staged


def sync_folders(paths: Iterable[str | Path]) -> None:
    """Make the renames of notes written with ``sync_folder=False`` durable: one fsync a folder."""
    for folder in sorted({Path(os.path.realpath(path)).parent for path in paths}):
        _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; folders cannot be opened this way on Windows.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@record
class ScanEntry:
    """A note to process (``problem`` None), or a path skipped with the reason to report.

    The engine prints a skipped path as ``{path}: {problem}``.
    """

    path: str  # as found: a string, since a Path per note shows in a 10,000-note warm run
    root: Path
    problem: str | None = None
    # The configuration the note goes by (a walk may enter a vault of its own below the root).
    config: Config | None = field(default=None, compare=False, repr=False)


def _is_note(name: str) -> bool:
    return name.lower().endswith(".md")


def scan(
    paths: Sequence[Path],
    config: Config | None = None,
    root: Path | None = None,
    *,
    seen: set[str] | None = None,
) -> Iterator[ScanEntry]:
    """Yield the notes under ``paths`` in a stable order, each with its vault root.

    Folders are walked skipping dot-folders and dot-files, the vault's ``exclude`` globs and notes not in
    its ``include`` globs.  A file named explicitly (as pre-commit passes them) is taken even inside a
    dot-folder, but must be a ``.md`` note and is still subject to the vault's globs.  Symlinks are never
    followed out of the vault.  ``config`` and ``root`` apply to every path when given; otherwise each
    path's vault root is found and its config loaded (a broken config file raises ``ValueError``).

    A note is yielded once however often the paths name it; pass ``seen`` to share that across calls.
    """
    configs: dict[Path, Config] = {}
    if seen is None and len(paths) > 1:  # one path alone cannot name a note twice
        seen = set()
    for given in paths:
        path = Path(given)
        if not os.path.lexists(path):
            yield ScanEntry(str(path), Path(absolute(path)).parent, "no such file or folder")
            continue
        vault = root or find_vault_root(path)
        if config is not None:
            settings = config
        elif vault in configs:
            settings = configs[vault]
        else:
            settings = configs[vault] = load_config(vault)
        folder = path.is_dir()
        if folder and (outside := _outside(path, vault)):  # a folder named through a link out of the vault
            yield ScanEntry(str(path), vault, outside)
            continue
        # Under an absolute, normalised folder every path found is absolute and normalised already.
        normalised = folder and str(path) == absolute(path)
        if folder:
            entries: Iterator[ScanEntry] = _walk(path, vault, settings)
        else:
            entries = _explicit(path, vault, settings)
        for entry in entries:
            if entry.problem is None and seen is not None:
                key = os.path.normcase(entry.path if normalised else absolute(entry.path))
                if key in seen:
                    continue
                seen.add(key)
            yield entry


def _explicit(path: Path, root: Path, config: Config) -> Iterator[ScanEntry]:
    if not _is_note(path.name):
        yield ScanEntry(str(path), root, "not a Markdown note (*.md); skipped")
        return
    # The note itself, or a folder on its way, may be a link out of the vault.
    outside = _outside(path, root)
    if outside:
        yield ScanEntry(str(path), root, outside)
        return
    rel = Path(os.path.relpath(absolute(path), root)).as_posix()
    if config.is_included(rel):
        yield ScanEntry(str(path), root)


def _outside(path: str | Path, root: Path) -> str | None:
    """The problem to report when a symlink leads out of the vault, else None."""
    target = os.path.realpath(path)
    home = os.path.realpath(root)
    if target == home or target.startswith(home.rstrip(os.sep) + os.sep):
        return None
    return f"symlink points outside the vault ({target}); skipped"


def _walk(top: Path, root: Path, config: Config) -> Iterator[ScanEntry]:
    top_rel = os.path.relpath(absolute(top), root).replace(os.sep, "/")
    found: list[ScanEntry] = []
    _walk_folder(str(top), "" if top_rel == "." else top_rel, root, config, found)
    return iter(found)


def _walk_folder(folder: str, rel_folder: str, root: Path, config: Config, found: list[ScanEntry]) -> None:
    # Recursion depth is the folder depth, which file systems keep far below Python's limit.  Entries go
    # into one list: a generator per folder level cost a warm 10,000-note run more than the walk itself.
    try:
        with os.scandir(folder) as iterator:
            entries = sorted(iterator, key=lambda entry: entry.name)
    except OSError as exc:
        found.append(ScanEntry(folder, root, f"cannot read folder: {exc.strerror}; skipped"))
        return
    prefix = f"{rel_folder}/" if rel_folder else ""
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue  # .obsidian, .trash, .git, and our own temp files
        rel = prefix + name
        # DirEntry answers these from the directory listing itself: no stat per file.
        if entry.is_symlink():
            # A link inside the vault is skipped: its target is scanned where it lives.
            if _is_note(name) or entry.is_dir():  # follows the link: one stat, links only
                outside = _outside(entry.path, root)
                if outside:
                    found.append(ScanEntry(entry.path, root, outside))
        elif entry.is_dir(follow_symlinks=False):
            if config.is_excluded(rel, is_dir=True):
                continue
            if not is_configured(Path(entry.path)):
                _walk_folder(entry.path, rel, root, config, found)
                continue
            # A vault of its own inside this one: its notes go by its configuration, as when named alone.
            try:
                nested = load_config(Path(entry.path))
            except ValueError as exc:
                found.append(ScanEntry(entry.path, root, str(exc)))
                continue
            _walk_folder(entry.path, "", nested.root, nested, found)
        elif _is_note(name) and config.is_included(rel):
            found.append(ScanEntry(entry.path, root, config=config))
