"""``.vault-tools/cache``: what each up-to-date note produced, so unchanged notes are not parsed again.

Entries are keyed by content: a note is answered from the cache when its bytes hash to the digest it had
when checked.  Reading every note to hash it would cost as much as the read itself, so, as git does, a
note whose size and mtime are what they were is taken as unchanged without reading it, unless its mtime
was so close to the moment it was read that a same-size edit in the same clock tick could hide ("racy");
those, and notes whose stat changed (touched, checked out again, copied), are hashed.  A racy entry that
hashes the same once the tick is long past is trusted by its stat from then on.

Safe to delete.  JSON, not pickle: a vault is shared through sync and git, and loading a cache must never
run code.  Invalid as a whole when the tool's version, its templates or the vault's config change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_tools import __version__
from vault_tools.pipeline.config import Config
from vault_tools.pipeline.model import Problem
from vault_tools.pipeline.runner import FileReport, Mode, display_path

if TYPE_CHECKING:
    from vault_tools.pipeline.engine import Result

FOLDER = ".vault-tools"
_FILE = "cache.json"
_FORMAT = 5
_FIELDS = 10  # items in an entry's JSON list (Entry.to_json)
# Where Entry.to_json puts what is read from raw entries (by Cache.index, lookup and refs).
_KEYS, _MODEL, _REFS = 7, 8, 9


@dataclass(frozen=True, slots=True)
class Entry:
    """What checking a note found (its problems, whether refresh would change it), and its index names."""

    size: int
    mtime_ns: int
    digest: str  # of the bytes checked ("" when the entry serves the model index only)
    racy: bool  # its stat alone cannot vouch for its bytes (files.Fingerprint.racy)
    changed: bool
    problems: tuple[Problem, ...]
    status: str | None
    keys: tuple[str, ...]  # the note's names (title, aliases, file name) as index keys (reference_key)
    model: Mapping[str, Any] | None
    refs: tuple[tuple[str, str | None], ...]

    def to_json(self) -> list[Any]:
        return [
            self.size,
            self.mtime_ns,
            self.digest,
            self.racy,
            self.changed,
            [[p.line, p.message, p.severity] for p in self.problems],
            self.status,
            list(self.keys),
            self.model,
            [list(r) for r in self.refs],
        ]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Entry:
        size, mtime, digest, racy, changed, problems, status, keys, model, refs = raw
        return cls(
            int(size),
            int(mtime),
            str(digest),
            bool(racy),
            bool(changed),
            # Most entries have no problems and no references: skip the generators (a warm run makes 10,000).
            tuple(Problem(int(line), str(msg), sev) for line, msg, sev in problems) if problems else (),
            status,
            tuple(keys),
            model,
            tuple((str(k), v) for k, v in refs) if refs else (),
        )


def model_digest(model: Mapping[str, Any] | None) -> str | None:
    """A short fingerprint of a referenced note's spec, so a cached note notices when the spec changes."""
    if model is None:
        return None
    return hashlib.blake2b(json.dumps(model, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()


def entry_for(
    report: FileReport,
    result: Result | None,
    refs: tuple[tuple[str, str | None], ...],
    *,
    check: bool,
) -> Entry | None:
    """The entry to remember for a note, or None for a note that failed.

    Only what a check of the bytes on disk would report can answer a later lookup.  A rewritten note, or
    one that refresh or diff found stale (their reports lack check's stale messages), is remembered for
    the model index only: its stat is recorded as unknown, so the next run processes it again.
    """
    if report.failed or result is None:
        return None
    lookup = not report.written and (check or not report.changed) and report.read_as is not None
    size, mtime, digest, racy = -1, -1, "", True
    if lookup:
        assert report.read_as is not None
        # What was read, not a stat taken now: an edit since the read must not inherit this verdict.
        read = report.read_as
        size, mtime, digest, racy = read.size, read.mtime_ns, read.digest, read.racy
    from vault_tools.pipeline.batch import reference_key
    from vault_tools.processors import note_model

    return Entry(
        size,
        mtime,
        digest,
        racy,
        report.changed,
        report.problems,
        report.status,
        tuple(dict.fromkeys(reference_key(name) for name in result.names)),
        note_model(result.blocks),
        refs,
    )


def _config_key(config: Config) -> str:
    from vault_tools.pipeline.render import templates_fingerprint

    # The date only reaches notes that change, and changed notes are never cached.
    values = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in ("date", "workers")}
    values["status_map"] = dict(config.status_map)
    templates = str(config.templates) if config.templates else None
    raw = json.dumps(
        [__version__, _FORMAT, templates_fingerprint(templates), values], sort_keys=True, default=str
    )
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class Cache:
    """Entries by note path relative to the vault root."""

    def __init__(
        self,
        root: Path,
        key: str,
        entries: Mapping[str, Entry | list[Any]],
        *,
        persist: bool = True,
    ) -> None:
        self.root = root
        self._index: dict[str, Mapping[str, Any]] | None = None
        self._root_prefix = os.fspath(root).rstrip(os.sep) + os.sep
        self.key = key
        # Loaded entries stay as their JSON lists until a note asks (a one-note check of a 10,000-note
        # vault reads one); Entry objects once converted or recorded.
        self.entries: dict[str, Entry | list[Any]] = dict(entries)
        # Without persistence the entries still serve this run's model index; nothing is read or saved.
        self.persist = persist
        self.dirty = False

    def _rel(self, path: str | Path) -> str:
        # A prefix test, not os.path.relpath (which dominated a warm run): paths arrive absolute.
        text = os.fspath(path)
        root = self._root_prefix
        return text[len(root) :] if text.startswith(root) else os.path.relpath(path, self.root)

    def lookup(
        self, path: str | Path, *, mode: Mode, force: bool, cwd: str | None = None
    ) -> FileReport | None:
        """The report for an unchanged, up-to-date note, or None when it must be processed."""
        if not self.persist or force or mode == "diff":
            return None
        rel = self._rel(path)
        item = self.entries.get(rel)
        if item is None:
            return None
        # A warm run asks this of every note: a plain raw entry answers without becoming an Entry first.
        fast = _plain(item) if isinstance(item, list) else None
        if fast is not None:
            size, mtime, digest, racy, changed, status = fast
            problems: tuple[Problem, ...] = ()
        else:
            entry = self._entry(rel)
            if entry is None:
                return None
            size, mtime, digest, racy = entry.size, entry.mtime_ns, entry.digest, entry.racy
            changed, status, problems = entry.changed, entry.status, entry.problems
        if not digest:
            return None
        if changed and mode != "check":  # refresh has work to do on it
            return None
        try:
            info = os.stat(path)  # noqa: PTH116 - no Path methods in this loop over every note
        except OSError:
            return None
        same_stat = info.st_size == size and info.st_mtime_ns == mtime
        if not same_stat or racy:
            from vault_tools.pipeline.files import read_note

            try:
                _data, now = read_note(path)
            except OSError:
                return None
            if now.digest != digest:
                return None
            # Same bytes: remember the stat they have now, and whether it can vouch for them from now on.
            if not same_stat or racy != now.racy:
                entry = self._entry(rel)
                if entry is None:
                    return None
                self.entries[rel] = replace(entry, size=now.size, mtime_ns=now.mtime_ns, racy=now.racy)
                self.dirty = True
        return FileReport(display_path(path, cwd), problems, changed=changed, status=status)

    def _entry(self, rel: str) -> Entry | None:
        item = self.entries.get(rel)
        if item is None or isinstance(item, Entry):
            return item
        try:
            entry = self.entries[rel] = Entry.from_json(item)
        except (ValueError, TypeError):  # a damaged entry: forget it, the note is processed again
            del self.entries[rel]
            self.dirty = True
            self._index = None  # it may have given the index a name
            return None
        return entry

    def refs(self, path: str | Path) -> tuple[tuple[str, str | None], ...]:
        rel = self._rel(path)
        item = self.entries.get(rel)
        if isinstance(item, list) and not item[_REFS]:
            return ()  # most notes look nothing up: no need to convert the entry
        entry = self._entry(rel)
        return entry.refs if entry is not None else ()

    def record(self, path: str | Path, entry: Entry | None) -> None:
        rel = self._rel(path)
        old = self._entry(rel)
        if entry is None:
            if self.entries.pop(rel, None) is not None:
                self.dirty = True
        elif old != entry:
            self.entries[rel] = entry
            self.dirty = True
        if _indexed(old) != _indexed(entry):
            self._index = None

    def index(self) -> dict[str, Mapping[str, Any]]:
        """Model references: every name of every note that holds a model-spec → that spec."""
        if self._index is None:
            out: dict[str, Mapping[str, Any]] = {}
            for rel in sorted(self.entries):
                item = self.entries[rel]
                keys, model = (
                    (item.keys, item.model) if isinstance(item, Entry) else (item[_KEYS], item[_MODEL])
                )
                if isinstance(model, Mapping) and isinstance(keys, list | tuple):
                    for key in keys:
                        out.setdefault(str(key), model)
            self._index = out
        return dict(self._index)

    def save(self) -> None:
        """Write the cache back when anything changed (~60 ms for 10,000 entries)."""
        if not self.persist or not self.dirty:
            return
        payload = {
            "key": self.key,
            "entries": {
                k: v.to_json() if isinstance(v, Entry) else v for k, v in sorted(self.entries.items())
            },
        }
        # One C-encoded string, then one write: json.dump's chunked writes were most of a save.
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        folder = self.root / FOLDER
        with contextlib.suppress(OSError):
            folder.mkdir(exist_ok=True)
            ignore = folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# vault-tools cache: safe to delete, never worth committing\n*\n")
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cache.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            Path(tmp).replace(folder / _FILE)


def _plain(raw: list[Any]) -> tuple[int, int, str, bool, bool, str | None] | None:
    """A raw entry's stat, digest, flags and status when it has no problems, no references and
    well-typed fields.

    Anything else (problems to rebuild, references to check, a damaged field) goes through
    ``Entry.from_json``, which drops a damaged entry.
    """
    size, mtime, digest, racy, changed, problems, status = raw[:7]
    if (
        problems
        or raw[_REFS]
        or type(size) is not int
        or type(mtime) is not int
        or type(digest) is not str
        or type(racy) is not bool
        or type(changed) is not bool
        or not (status is None or type(status) is str)
    ):
        return None
    return size, mtime, digest, racy, changed, status


def _indexed(entry: Entry | None) -> tuple[tuple[str, ...], Mapping[str, Any]] | None:
    """What an entry contributes to the model index."""
    return None if entry is None or entry.model is None else (entry.keys, entry.model)


def in_memory(root: Path) -> Cache:
    """A cache for one run only (``--no-cache``): it neither answers lookups nor touches the disk."""
    return Cache(root, "", {}, persist=False)


def load(root: Path, config: Config) -> Cache:
    """The vault's cache, or an empty one when it is missing, unreadable or made for other settings."""
    key = _config_key(config)
    try:
        raw = json.loads((root / FOLDER / _FILE).read_text(encoding="utf-8"))
        if raw.get("key") != key:
            return Cache(root, key, {})
        entries = raw["entries"]
        if not isinstance(entries, dict) or not all(
            isinstance(v, list) and len(v) == _FIELDS for v in entries.values()
        ):
            return Cache(root, key, {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Cache(root, key, {})
    return Cache(root, key, entries)
