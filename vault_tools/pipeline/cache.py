"""``.vault-tools/cache``: what each up-to-date note produced, so unchanged notes are not parsed again.

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
from dataclasses import dataclass, fields
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
_FORMAT = 2


@dataclass(frozen=True, slots=True)
class Entry:
    """What checking a note found (its problems, whether refresh would change it), and its index names."""

    size: int
    mtime_ns: int
    changed: bool
    problems: tuple[Problem, ...]
    status: str | None
    names: tuple[str, ...]
    model: Mapping[str, Any] | None
    refs: tuple[tuple[str, str | None], ...]

    def to_json(self) -> list[Any]:
        return [
            self.size,
            self.mtime_ns,
            self.changed,
            [[p.line, p.message, p.severity] for p in self.problems],
            self.status,
            list(self.names),
            self.model,
            [list(r) for r in self.refs],
        ]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Entry:
        size, mtime, changed, problems, status, names, model, refs = raw
        return cls(
            int(size),
            int(mtime),
            bool(changed),
            tuple(Problem(int(line), str(msg), sev) for line, msg, sev in problems),
            status,
            tuple(names),
            model,
            tuple((str(k), v) for k, v in refs),
        )


def model_digest(model: Mapping[str, Any] | None) -> str | None:
    """A short fingerprint of a referenced note's spec, so a cached note notices when the spec changes."""
    if model is None:
        return None
    return hashlib.blake2b(json.dumps(model, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()


def entry_for(
    path: Path,
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
    lookup = not report.written and (check or not report.changed)
    size = mtime = -1
    if lookup:
        try:
            info = path.stat()
        except OSError:
            return None
        size, mtime = info.st_size, info.st_mtime_ns
    from vault_tools.processors import note_model

    return Entry(
        size,
        mtime,
        report.changed,
        report.problems,
        report.status,
        result.names,
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

    def __init__(self, root: Path, key: str, entries: dict[str, Entry], *, persist: bool = True) -> None:
        self.root = root
        self._root_prefix = os.fspath(root).rstrip(os.sep) + os.sep
        self.key = key
        self.entries = entries
        # Without persistence the entries still serve this run's model index; nothing is read or saved.
        self.persist = persist
        self.dirty = False

    def _rel(self, path: Path) -> str:
        # A prefix test, not os.path.relpath (which dominated a warm run): paths arrive absolute.
        text = os.fspath(path)
        root = self._root_prefix
        return text[len(root) :] if text.startswith(root) else os.path.relpath(path, self.root)

    def lookup(self, path: Path, *, mode: Mode, force: bool) -> FileReport | None:
        """The report for an unchanged, up-to-date note, or None when it must be processed."""
        if not self.persist or force or mode == "diff":
            return None
        entry = self.entries.get(self._rel(path))
        if entry is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        if (info.st_size, info.st_mtime_ns) != (entry.size, entry.mtime_ns):
            return None
        if entry.changed and mode != "check":  # refresh has work to do on it
            return None
        return FileReport(display_path(path), entry.problems, changed=entry.changed, status=entry.status)

    def refs(self, path: Path) -> tuple[tuple[str, str | None], ...]:
        entry = self.entries.get(self._rel(path))
        return entry.refs if entry is not None else ()

    def record(self, path: Path, entry: Entry | None) -> None:
        rel = self._rel(path)
        if entry is None:
            if self.entries.pop(rel, None) is not None:
                self.dirty = True
        elif self.entries.get(rel) != entry:
            self.entries[rel] = entry
            self.dirty = True

    def index(self) -> dict[str, Mapping[str, Any]]:
        """Model references: every name of every note that holds a model-spec → that spec."""
        from vault_tools.pipeline.batch import reference_key

        out: dict[str, Mapping[str, Any]] = {}
        for rel in sorted(self.entries):
            entry = self.entries[rel]
            if entry.model is None:
                continue
            for name in entry.names:
                out.setdefault(reference_key(name), entry.model)
        return out

    def save(self) -> None:
        if not self.persist or not self.dirty:
            return
        folder = self.root / FOLDER
        with contextlib.suppress(OSError):
            folder.mkdir(exist_ok=True)
            ignore = folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# vault-tools cache: safe to delete, never worth committing\n*\n")
            payload = {"key": self.key, "entries": {k: v.to_json() for k, v in sorted(self.entries.items())}}
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cache.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, ensure_ascii=False, separators=(",", ":"))
            Path(tmp).replace(folder / _FILE)


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
        entries = {str(k): Entry.from_json(v) for k, v in raw["entries"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Cache(root, key, {})
    return Cache(root, key, entries)
