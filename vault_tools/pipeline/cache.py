"""``.vault-tools/cache``: what each up-to-date note produced, so unchanged notes are not parsed again.

Entries are keyed by content: a note is answered from the cache when its bytes hash to the digest it had
when checked.  Reading every note to hash it would cost as much as the read itself, so, as git does, a
note whose size and mtime are what they were is taken as unchanged without reading it, unless its mtime
was so close to the moment it was read that a same-size edit in the same clock tick could hide ("racy");
those, and notes whose stat changed (touched, checked out again, copied), are hashed.  A racy entry that
hashes the same once the tick is long past is trusted by its stat from then on.

Safe to delete.  JSON, not pickle: a vault is shared through sync and git, and loading a cache must never
run code.  Invalid as a whole when the tool's version, its code or data (a git checkout or an editable install
changes them under one version), its templates or the vault's config change.

On disk (``.vault-tools/cache/``) the entries are spread over 64 shard files by a hash of the note's path,
each named by its shard and a generation (``05-1a2b3c4d5e6f.json``), and ``index.json`` holds what the
model index needs (each spec note's names and spec) with the generation of every shard it was written
with.  A pre-commit check of a few notes lists the folder, reads the index and their shards only, and
writes back only those.  Unless the listing shows exactly the generations the index records (a run that
stopped between its writes, or two runs at once), the run reads every shard, trusts them over the index,
and rewrites it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_tools import __version__
from vault_tools.digests import blake2b
from vault_tools.pipeline import files
from vault_tools.pipeline.config import Config
from vault_tools.pipeline.problem import Problem, leaves_stale
from vault_tools.pipeline.runner import FileReport, Mode, display_path
from vault_tools.records import fields, record, replace

if TYPE_CHECKING:
    from vault_tools.pipeline.engine import Result

# The names a note looked up (index keys) and a digest of the spec each found (None: not found).
Refs = tuple[tuple[str, str | None], ...]
FOLDER = ".vault-tools"
_SUBFOLDER = "cache"
_INDEX = "index.json"
_LEGACY = "cache.json"  # format 5 kept every entry in one file
_SHARDS = 64
_PARTIAL_MAX = 16  # a run over at most this many notes reads only their shards and the index
# Part of every entry's key, with the version: raised when entries, or what the tool makes of a note, change
# (8: the claims check skips the changelog the vault configures, where 7 skipped only "Changelog" and kin).
_FORMAT = 8
_FIELDS = 11  # items in an entry's JSON list (Entry.to_json)
# Where Entry.to_json puts what is read from raw entries (by Cache.index, lookup, refs and memo).
_KEYS, _MODEL, _REFS, _MEMO = 7, 8, 9, 10


@record
class Entry:
    """What checking a note found (its problems, whether refresh would change it), and its index names."""

    size: int
    mtime_ns: int
    digest: str  # of the bytes checked ("" when the entry serves the model index only)
    racy: bool  # its stat alone cannot vouch for its bytes (files.Fingerprint.racy)
    changed: bool
    problems: tuple[Problem, ...]
    status: str | None
    keys: tuple[str, ...]  # a spec note's names (title, aliases, file name) as index keys (reference_key)
    model: Mapping[str, Any] | None
    refs: Refs
    memo: str = ""  # the last run's render tokens (engine.Result.memo), stale or not

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
            self.memo,
        ]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Entry:
        size, mtime, digest, racy, changed, problems, status, keys, model, refs, memo = raw
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
            str(memo),
        )


def model_digest(model: Mapping[str, Any] | None) -> str | None:
    """A short fingerprint of a referenced note's spec, so a cached note notices when the spec changes."""
    if model is None:
        return None
    return blake2b(json.dumps(model, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()


def entry_for(
    report: FileReport,
    result: Result | None,
    refs: Refs,
    *,
    check: bool,
) -> Entry | None:
    """The entry to remember for a note, or None for a note that could not be read.

    Only what a check of the bytes on disk would report can answer a later lookup.  A rewritten note, or
    one that refresh or diff found stale (their reports lack check's stale messages), is remembered for
    the model index only: its stat is recorded as unknown, so the next run processes it again.
    """
    if result is None:
        return None
    # A failed note (a hand-edited region kept, a wrong claim) still serves the model index, as it does in
    # check: only its verdicts are not remembered.
    lookup = (
        not report.failed
        and not report.written
        and (check or not report.changed)
        and report.read_as is not None
    )
    size, mtime, digest, racy = -1, -1, "", True
    if lookup:
        assert report.read_as is not None
        # What was read, not a stat taken now: an edit since the read must not inherit this verdict.
        read = report.read_as
        size, mtime, digest, racy = read.size, read.mtime_ns, read.digest, read.racy
    from vault_tools.pipeline.batch import reference_key
    from vault_tools.processors import note_model

    model = note_model(result.blocks)
    # A note's names serve only the model index, so only a note with a spec keeps them: four names of
    # every note were a quarter of the cache that a warm run loads.
    keys = tuple(dict.fromkeys(reference_key(name) for name in result.names)) if model is not None else ()
    return Entry(
        size,
        mtime,
        digest,
        racy,
        report.changed,
        report.problems,
        report.status,
        keys,
        model,
        refs,
        result.memo,
    )


def _config_key(config: Config) -> str:
    from vault_tools.pipeline.render import templates_fingerprint

    # The date only reaches notes that change, and changed notes are never cached.
    values = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in ("date", "workers")}
    values["status_map"] = dict(config.status_map)
    templates = str(config.templates) if config.templates else None
    code = code_fingerprint(Path(__file__).resolve().parent.parent)
    raw = json.dumps(
        [__version__, _FORMAT, code, templates_fingerprint(templates), values], sort_keys=True, default=str
    )
    return blake2b(raw.encode(), digest_size=16).hexdigest()


def code_fingerprint(package: Path) -> str:
    """A digest of the name, size and mtime of every file of the ``package`` folder (bytecode aside).

    What the tool makes of a note is its code and data: a checkout or an editable install changes them
    without a new version, and a cache must not answer with what the old code made.  Stats, not contents:
    ~100 files a run, 0.2 ms; any install or edit writes the files it changes, which moves their mtimes.
    """
    parts: list[str] = []
    prefix = len(os.fspath(package)) + 1
    pending = [package]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:  # not a plain folder (a zip import): the version alone must do
            continue
        for entry in entries:
            if entry.name == "__pycache__" or entry.name.endswith((".pyc", ".pyo")):
                continue
            if entry.is_dir():
                pending.append(Path(entry.path))
            else:
                info = entry.stat()
                parts.append(f"{entry.path[prefix:]}\0{info.st_size}\0{info.st_mtime_ns}")
    return blake2b("\n".join(sorted(parts)).encode(), digest_size=8).hexdigest()


class Cache:
    """Entries by note path relative to the vault root."""

    def __init__(
        self,
        root: Path,
        key: str,
        entries: Mapping[str, Entry | list[Any]],
        *,
        persist: bool = True,
        shards: Mapping[int, str] | None = None,
        loaded: frozenset[int] | None = None,
        models: Mapping[str, list[Any]] | None = None,
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
        # The generation of each shard as the index will record it; the shards read (None: all of them);
        # for a partial load, [keys, model] of the spec notes in the shards not read, from the index.
        self._shards: dict[int, str] = dict(shards or {})
        self._loaded = loaded
        self._models: dict[str, list[Any]] = dict(models or {})
        self._dirty: set[int] = set()
        # Shards where a note's names or spec changed: the index must be written again with them.
        self._models_moved: set[int] = set()
        self._index_stale = False
        self._asked: set[str] = set()  # the notes with entries ``lookup`` was asked about
        # Whether a run over the whole vault made it, so its index knows every spec note (as that run saw
        # them): a run over named notes trusts it for the notes it does not name only then.
        self.complete = False

    @property
    def dirty(self) -> bool:
        return bool(self._dirty) or self._index_stale

    def _touch(self, rel: str) -> None:
        self._dirty.add(_shard(rel))

    def _holds(self, rel: str) -> bool:
        """Whether ``rel``'s shard was read (a partial load must not write a shard it has not read)."""
        return self._loaded is None or _shard(rel) in self._loaded

    def _rel(self, path: str | Path) -> str:
        return _relative(self.root, self._root_prefix, path)

    def lookup(
        self, path: str, *, mode: Mode, force: bool, cwd: str | None = None
    ) -> tuple[FileReport, Refs] | None:
        """The report for an unchanged, up-to-date note and the names it looked up, or None when it must
        be processed."""
        root = self._root_prefix
        rel = path[len(root) :] if path.startswith(root) else self._rel(path)
        item = self.entries.get(rel)
        if item is None:
            return None
        self._asked.add(rel)  # only entries can be forgotten: a cold run keeps no set of every note
        if not self.persist or force or mode == "diff":
            return None
        # A warm run asks this of every note: a plain raw entry answers without becoming an Entry first.
        fast = _plain(item) if isinstance(item, list) else None
        refs: Refs = ()
        if fast is not None:
            size, mtime, digest, racy, changed, status = fast
            problems: tuple[Problem, ...] = ()
        else:
            entry = self._entry(rel)
            if entry is None:
                return None
            size, mtime, digest, racy = entry.size, entry.mtime_ns, entry.digest, entry.racy
            changed, status, problems, refs = entry.changed, entry.status, entry.problems, entry.refs
        if not digest:
            return None
        if changed and mode != "check":  # refresh has work to do on it
            return None
        if mode != "check" and leaves_stale(problems):
            return None  # refresh cannot bring it up to date: it must process the note to say so

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
                self._touch(rel)
        return FileReport(display_path(path, cwd), problems, changed=changed, status=status), refs

    def memo(self, path: str) -> str:
        """The render tokens of the note's last run (``Options.memo``), whatever became of it since."""
        item = self.entries.get(self._rel(path))
        memo = None if item is None else item.memo if isinstance(item, Entry) else item[_MEMO]
        return memo if type(memo) is str else ""

    def _entry(self, rel: str) -> Entry | None:
        item = self.entries.get(rel)
        if item is None or isinstance(item, Entry):
            return item
        try:
            entry = self.entries[rel] = Entry.from_json(item)
        except (ValueError, TypeError):  # a damaged entry: forget it, the note is processed again
            del self.entries[rel]
            self._touch(rel)
            self._names_moved(rel)  # it may have given the index a name
            return None
        return entry

    def record(self, path: str | Path, entry: Entry | None) -> None:
        rel = self._rel(path)
        if not self._holds(rel):
            return
        old = self._entry(rel)
        if entry is None:
            if self.entries.pop(rel, None) is not None:
                self._touch(rel)
        elif old != entry:
            self.entries[rel] = entry
            self._touch(rel)
        if _indexed(old) != _indexed(entry):
            self._names_moved(rel)

    def forget_unasked(self) -> None:
        """Forget every note ``lookup`` was not asked about, once it was asked about every note of a scan
        of the whole vault: a deleted, renamed or newly excluded note must not answer a lookup or lend
        the index its names."""
        if not self.complete:
            self.complete = self._index_stale = True  # the index says so from now on
        for rel in self.entries.keys() - self._asked:  # a warm run of 10,000 notes: one set difference
            item = self.entries.pop(rel)
            self._touch(rel)
            try:
                indexed = _indexed(item) if isinstance(item, Entry) else _indexed_raw(item)[1]
            except (IndexError, TypeError):  # a damaged entry: the index is rebuilt anyway
                indexed = True
            if indexed is not None:
                self._names_moved(rel)

    def _names_moved(self, rel: str) -> None:
        """``rel``'s names or spec changed: rebuild the index, and give its shard a new generation."""
        self._index = None
        self._models_moved.add(_shard(rel))

    def index_keys(self, paths: Iterable[str]) -> frozenset[str]:
        """The index keys the remembered entries of ``paths`` give: their names, where they held a spec."""
        keys: set[str] = set()
        for path in paths:
            rel = self._rel(path)
            item = self.entries.get(rel) or self._models.get(rel)
            record = None if item is None else _spec_record(item)
            if record is not None:
                keys.update(record[0])
        return frozenset(keys)

    def index(self) -> dict[str, Mapping[str, Any]]:
        """Model references: every name of every note that holds a model-spec → that spec."""
        if self._index is None:
            out: dict[str, Mapping[str, Any]] = {}
            for rel in sorted(self.entries.keys() | self._models.keys()):
                record = _spec_record(self.entries.get(rel) or self._models[rel])
                if record is not None:
                    for key in record[0]:
                        out.setdefault(key, record[1])
            self._index = out
        return dict(self._index)

    def save(self) -> None:
        """Write back the shards that changed, then the index (~60 ms for all of 10,000 entries)."""
        if not self.persist or not self.dirty:
            return
        folder = self.root / FOLDER / _SUBFOLDER
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            ignore = folder.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# vault-tools cache: safe to delete, never worth committing\n*\n")
            groups: dict[int, dict[str, list[Any]]] = {n: {} for n in self._dirty}
            models: dict[str, list[Any]] = dict(self._models)
            for rel in sorted(self.entries):
                item = self.entries[rel]
                raw = item.to_json() if isinstance(item, Entry) else item
                group = groups.get(_shard(rel))
                if group is not None:
                    group[rel] = raw
                if raw[_MODEL] is not None:
                    models[rel] = [raw[_KEYS], raw[_MODEL]]
            renamed = self._index_stale
            for n, entries in groups.items():
                gen = self._shards.get(n)
                # A shard whose notes' names and specs are as the index has them is replaced in place,
                # under its generation: the index still holds for it, and a one-note run writes one file.
                if gen is None or n in self._models_moved or self._index_stale:
                    self._shards[n] = gen = os.urandom(6).hex()
                    renamed = True
                _write_json(folder, _shard_file(n, gen), {"key": self.key, "gen": gen, "entries": entries})
            if renamed:
                recorded = {"key": self.key, "shards": _recorded(self._shards), "models": models}
                _write_json(folder, _INDEX, {**recorded, "complete": self.complete})
                # Only now the older generations go: until the index names the new ones, a reader must
                # see two files for a shard (and load everything) rather than a shard the index does not
                # know.
                for n, gens in _listing(folder).items():
                    for old in gens:
                        if old != self._shards.get(n):
                            (folder / _shard_file(n, old)).unlink(missing_ok=True)
            self._dirty.clear()
            self._models_moved.clear()
            self._index_stale = False
            (self.root / FOLDER / _LEGACY).unlink(missing_ok=True)


def _relative(root: Path, prefix: str, path: str | Path) -> str:
    """``path`` relative to the vault ``root`` (``prefix``: the root and a separator)."""
    # A prefix test, not os.path.relpath (which dominated a warm run): paths arrive absolute.
    text = os.fspath(path)
    return text[len(prefix) :] if text.startswith(prefix) else os.path.relpath(text, root)


def _recorded(shards: Mapping[int, str]) -> dict[str, str]:
    """Shard generations as index.json records them."""
    return {f"{n:02x}": gen for n, gen in sorted(shards.items())}


def _shard(rel: str) -> int:
    return zlib.crc32(rel.encode("utf-8")) % _SHARDS


def _shard_file(n: int, gen: str) -> str:
    return f"{n:02x}-{gen}.json"


_SHARD_NAME = re.compile(r"([0-9a-f]{2})-([0-9a-f]{12})\.json")


def _listing(folder: Path) -> dict[int, list[str]]:
    """The generations of each shard's files in ``folder`` (normally one per shard)."""
    found: dict[int, list[str]] = {}
    try:
        names = os.listdir(folder)  # noqa: PTH208 - names only
    except OSError:
        return found
    for name in names:
        match = _SHARD_NAME.fullmatch(name)
        if match is not None and int(match[1], 16) < _SHARDS:
            found.setdefault(int(match[1], 16), []).append(match[2])
    return found


def _write_json(folder: Path, name: str, payload: Mapping[str, Any]) -> None:
    # One C-encoded string, then one write: json.dump's chunked writes were most of a save.
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    fd, tmp = files.temp_file(str(folder), "cache")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> Any:
    """A cache file's JSON, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _spec_record(item: Entry | list[Any]) -> tuple[list[str], Mapping[str, Any]] | None:
    """The index keys and spec an entry gives the model index, or None when it gives none (no spec, or a
    damaged raw entry)."""
    keys, model = _indexed_raw(item)
    if isinstance(model, Mapping) and isinstance(keys, list | tuple):
        return [str(key) for key in keys], model
    return None


def _indexed_raw(item: Entry | list[Any]) -> tuple[Any, Any]:
    """(keys, model) of an entry, converted or raw, or of an index record ``[keys, model]``."""
    if isinstance(item, Entry):
        return item.keys, item.model
    if len(item) == 2:
        return item[0], item[1]
    return item[_KEYS], item[_MODEL]


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


def load(root: Path, config: Config, notes: Sequence[str] | None = None) -> Cache:
    """The vault's cache, or an empty one when it is missing, unreadable or made for other settings.

    With ``notes`` (absolute paths) few enough, only their shards and the index are read.
    """
    key = _config_key(config)
    folder = root / FOLDER / _SUBFOLDER
    if notes is not None and len(notes) <= _PARTIAL_MAX:
        prefix = os.fspath(root).rstrip(os.sep) + os.sep
        wanted = frozenset(_shard(_relative(root, prefix, p)) for p in notes)
        partial = _load_partial(root, key, folder, wanted)
        if partial is not None:
            return partial
    return _load_full(root, key, folder)


def _valid_entries(raw: Any, key: str, gen: str) -> dict[str, list[Any]] | None:
    """A shard's entries, or None when the shard is damaged, made for other settings or not of ``gen``."""
    if not isinstance(raw, dict) or raw.get("key") != key or raw.get("gen") != gen:
        return None
    entries = raw.get("entries")
    if not isinstance(entries, dict) or not all(
        isinstance(v, list) and len(v) == _FIELDS for v in entries.values()
    ):
        return None
    return entries


def _load_full(root: Path, key: str, folder: Path) -> Cache:
    entries: dict[str, list[Any]] = {}
    shards: dict[int, str] = {}
    damaged: list[int] = []
    for n, gens in sorted(_listing(folder).items()):
        raw = _read_json(folder / _shard_file(n, gens[0])) if len(gens) == 1 else None
        found = _valid_entries(raw, key, gens[0])
        if found is None:
            damaged.append(n)  # two generations (a stopped run) or a damaged file: rewritten at the end
            continue
        entries.update(found)
        shards[n] = gens[0]
    cache = Cache(root, key, entries, shards=shards)
    cache._dirty.update(damaged)
    index = _read_json(folder / _INDEX)
    recorded = index.get("shards") if isinstance(index, dict) and index.get("key") == key else None
    # The shards are the truth; an index that disagrees (a run stopped between writes) is rewritten.
    cache._index_stale = recorded != _recorded(shards)
    cache.complete = not cache._index_stale and isinstance(index, dict) and index.get("complete") is True
    return cache


def _load_partial(root: Path, key: str, folder: Path, wanted: frozenset[int]) -> Cache | None:
    """The index and the ``wanted`` shards, or None when the folder is not exactly as the index records
    it (then everything is loaded): the index's specs of the notes in other shards are trusted only so."""
    index = _read_json(folder / _INDEX)
    if not isinstance(index, dict) or index.get("key") != key:
        return None
    recorded, models = index.get("shards"), index.get("models")
    if not isinstance(recorded, dict) or not isinstance(models, dict):
        return None
    listed = _listing(folder)
    shards = {n: gens[0] for n, gens in listed.items() if len(gens) == 1}
    if len(shards) != len(listed) or recorded != _recorded(shards):
        return None
    entries: dict[str, list[Any]] = {}
    for n in wanted:
        if n not in shards:
            continue  # no note of this shard was ever cached
        raw = _read_json(folder / _shard_file(n, shards[n]))
        found = _valid_entries(raw, key, shards[n])
        if found is None:
            return None
        entries.update(found)
    others = {
        rel: item
        for rel, item in models.items()
        if isinstance(item, list) and len(item) == 2 and _shard(rel) not in wanted
    }
    cache = Cache(root, key, entries, shards=shards, loaded=wanted, models=others)
    cache.complete = index.get("complete") is True
    return cache
