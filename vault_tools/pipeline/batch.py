"""Whole-vault runs: parallel workers, a content cache, cross-note model references, deterministic output.

A run is two rounds.  Round one processes every note that the cache cannot answer, in worker processes,
with the model index known so far (from the cache); each note reports the names it looked up.  A note
whose lookups would resolve differently with the complete index is processed again in round two; in
refresh mode such a note is not written in round one, so it is written once, with the right references.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_tools.names import normalize_name
from vault_tools.pipeline import cache as cache_mod
from vault_tools.pipeline import files
from vault_tools.pipeline.config import Config, absolute
from vault_tools.pipeline.runner import FileReport, Mode, RunReport, iter_notes, process_file, write_failed
from vault_tools.records import field, record, replace

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from vault_tools.pipeline.engine import Result

# Below this many notes to process, worker start-up costs more than it saves (the pre-commit case).
_PARALLEL_MIN = 64
_CHUNK = 32


@record
class Job:
    path: str
    config: Config
    mode: Mode
    force: bool
    index: Mapping[str, Mapping[str, Any]]
    defer_unresolved: bool
    memo: str = ""  # the note's render tokens from its cache entry (Result.memo)
    # Round one: the index keys of the spec notes this run reads again, whose entries may be outdated.
    unsettled: frozenset[str] = frozenset()


@record
class Outcome:
    report: FileReport
    entry: cache_mod.Entry | None  # what the cache may remember about the note as it now is on disk
    refs: cache_mod.Refs  # names looked up, and a digest of the spec each found
    deferred: bool = False


@record(frozen=False)
class _Recorder:
    """The ``resolve_model`` a note sees: the index as known, with every lookup written down."""

    index: Mapping[str, Mapping[str, Any]]
    seen: dict[str, str | None] = field(default_factory=dict)

    def __call__(self, name: str) -> Mapping[str, Any] | None:
        key = reference_key(name)
        found = self.index.get(key)
        self.seen[key] = cache_mod.model_digest(found)
        return found


# Every note looks up its own names and the models its claims name: the same few strings, again and again.
@functools.lru_cache(maxsize=4096)
def reference_key(name: str) -> str:
    """Fold ``[[Note|label]]``, ``[[Note#heading]]`` and plain names onto one index key."""
    text = name.strip()
    if text.startswith("[[") and text.endswith("]]"):
        text = text[2:-2]
    text = text.split("|", 1)[0].split("#", 1)[0]
    return normalize_name(text)


def _work(job: Job, writer: _Writer | None = None) -> Outcome:
    recorder = _Recorder(job.index)
    # A note that looked up a name the index does not know yet is not written in round one: the
    # complete index may resolve it, and the note must be written once, with its references right.
    # Its own names do not count: they mean its own spec, which it has in hand.
    deferred = False
    own: set[str] = set()

    def may_write(result: Result) -> bool:
        nonlocal deferred
        own.update(_own_keys(result))
        # Round one also holds back a note that found a name whose spec note this run reads again: the
        # index has that note as the last run left it, and the note is to be written once, right.  Its
        # own names hold back none: a note without a spec looks its title up, and seldom finds it.
        names = {reference_key(name) for name in result.names}
        deferred = job.defer_unresolved and any(
            (digest is None or key in job.unsettled) and key not in names
            for key, digest in recorder.seen.items()
        )
        return not deferred

    # The run fsyncs each written folder once at its end, not once a note.
    report, result = process_file(
        job.path,
        job.config,
        mode=job.mode,
        force=job.force,
        resolve_model=recorder,
        may_write=may_write,
        sync_folder=False,
        memo=job.memo,
        write=writer,
    )
    if result is not None:
        own.update(_own_keys(result))
    refs = tuple(sorted((k, d) for k, d in recorder.seen.items() if k not in own))
    # A deferred note still serves the index (its names and spec), just not a lookup.
    entry = cache_mod.entry_for(report, result, refs, check=job.mode == "check")
    # What was read served the entry; the run keeps 10,000 reports and need not keep (or pickle) it too.
    if report.read_as is not None:
        report = replace(report, read_as=None)
    return Outcome(report, entry, refs, deferred=deferred)


def _own_keys(result: Result) -> Iterator[str]:
    """The index keys of a note's own names when it holds a spec: they mean the spec it has in hand (the
    claims code reads it from the note), so they are no lookup to check again.  A note without a spec
    resolves its title through the index like any other name."""
    from vault_tools.processors import note_model

    if note_model(result.blocks) is None:
        return iter(())
    return (reference_key(name) for name in result.names)


def _moved(refs: Iterable[tuple[str, str | None]], index: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether any looked-up name resolves to a different spec (or none) under ``index``."""
    return any(cache_mod.model_digest(index.get(key)) != digest for key, digest in refs)


class _Writer:
    """Refresh's writes, with their wait for the disk on a thread while the next note is processed.

    Each write ends in an fsync that waits for the disk, 1.8 of the 11.5 s of a cold refresh of the bench
    vault with the cores idle meanwhile.  The temp file is written in line and only the fsync runs on the
    thread; the swap follows when the chunk of notes is handed back.  A write that fails at any step
    fails its note as ``process_file`` reports one (``write_failed``).
    """

    def __init__(self) -> None:
        self.pool: ThreadPoolExecutor | None = None
        self.pending: dict[str, tuple[files.StagedWrite, Future[None]]] = {}

    def __call__(self, path: str | Path, data: bytes, expected: files.Fingerprint) -> None:
        if self.pool is None:  # a check writes nothing: no thread
            from concurrent.futures import ThreadPoolExecutor

            # The thread needs the interpreter lock only for a moment after each fsync; Python makes a
            # waiting thread wait up to 5 ms for it by default, which would leave the disk idle.
            sys.setswitchinterval(0.0005)
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-tools-fsync")
        staged = files.stage_write(path, data, expected)  # raises in line: process_file reports it
        self.pending[os.fspath(path)] = (staged, self.pool.submit(staged.sync))

    def settle(self, job: Job, outcome: Outcome) -> Outcome:
        """``outcome`` once the note's write is done: as it was, or failed with the write's reason."""
        pending = self.pending.get(job.path)
        if pending is None:
            return outcome
        staged, synced = pending
        try:
            synced.result()
            staged.commit(sync_folder=False)  # the run fsyncs each written folder once, at its end
        except ValueError as exc:  # a step that failed (files.ChangedOnDisk among them); no temp file left
            del self.pending[job.path]
            # A note whose write failed serves no lookup and no index entry, as when written in line.
            return replace(outcome, report=write_failed(outcome.report, exc), entry=None)
        # Only now: Ctrl-C while waiting above leaves the write pending, for abandon() to remove its file.
        del self.pending[job.path]
        return outcome

    def abandon(self) -> None:
        """Drop the writes not settled yet (a chunk stopped half way): no temp file is left behind."""
        for staged, synced in self.pending.values():
            synced.exception()  # an fsync under way finishes before its file is closed
            staged.discard()
        self.pending.clear()

    def close(self) -> None:
        self.abandon()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            sys.setswitchinterval(_SWITCH_INTERVAL)


_SWITCH_INTERVAL = sys.getswitchinterval()


def _chunk(jobs: Sequence[Job], writer: _Writer) -> list[Outcome]:
    try:
        outcomes = [_work(job, writer) for job in jobs]
        return [writer.settle(job, outcome) for job, outcome in zip(jobs, outcomes, strict=True)]
    except BaseException:  # Ctrl-C in a worker, or a bug: the notes staged so far are not swapped in
        writer.abandon()
        raise


_PROCESS_WRITER: tuple[int, _Writer] | None = None


def _work_chunk(jobs: Sequence[Job]) -> list[Outcome]:
    """``_work`` over a chunk of jobs in a worker process, with the process's own writer thread."""
    global _PROCESS_WRITER
    if _PROCESS_WRITER is None or _PROCESS_WRITER[0] != os.getpid():
        _PROCESS_WRITER = (os.getpid(), _Writer())
    return _chunk(jobs, _PROCESS_WRITER[1])


def _run_jobs(jobs: Sequence[Job], workers: int, progress: _Progress) -> Iterator[Outcome]:
    if len(jobs) < _PARALLEL_MIN:  # a few notes (pre-commit): in line, no thread, no process
        for job in jobs:
            yield _work(job)
            progress.tick()
        return
    chunks = [jobs[k : k + _CHUNK] for k in range(0, len(jobs), _CHUNK)]
    if workers <= 1:
        # The writer thread is gone before this returns: a later round may fork worker processes.
        writer = _Writer()
        try:
            for chunk in chunks:
                for outcome in _chunk(chunk, writer):
                    yield outcome
                    progress.tick()
        finally:
            writer.close()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        for outcomes in pool.map(_work_chunk, chunks):
            for outcome in outcomes:
                yield outcome
                progress.tick()


def run(
    paths: Sequence[str],
    *,
    mode: Mode,
    force: bool = False,
    workers: int | None = None,
    use_cache: bool = True,
    progress: bool | None = None,
    indexes: bool = False,
) -> RunReport:
    """Process every note under ``paths``; the same output with or without cache and for any worker count.

    With ``indexes``, the report carries each vault's model index (what ``validate`` resolves names by).
    """
    report = RunReport()
    notes: list[tuple[str, Config]] = []
    for item in iter_notes(paths):
        if isinstance(item, str):
            report.errors.append(item)
        else:
            path, config = item
            notes.append((path, config))
    roots = {config.root for _, config in notes}
    # A vault named itself (not a folder or notes in it) is scanned whole: its cache then forgets the
    # notes the scan did not find, as a run without the cache never sees them.
    whole = {root for root in roots if any(absolute(path) == str(root) for path in paths or ["."])}
    caches = {
        root: cache_mod.load(
            root,
            _config_of(notes, root),
            None if root in whole else [p for p, c in notes if c.root == root],
        )
        if use_cache
        else cache_mod.in_memory(root)
        for root in roots
    }
    count = workers or _default_workers(notes)

    # Round one: everything the cache cannot answer, with the index the cache knows.
    results: dict[str, FileReport] = {}
    cwd = os.getcwd().rstrip(os.sep) + os.sep  # noqa: PTH109
    # A run over named notes reads the vault's specs from the notes unless a whole run's cache knows them.
    bases = {
        root: vault_index(root, _config_of(notes, root))
        for root in roots
        if root not in whole and not caches[root].complete
    }
    # Built when first needed: a run the cache answers entirely (a warm check) never needs one.
    index = _indexes(caches, bases)
    misses: list[tuple[str, Config]] = []
    hits: list[tuple[str, Config, cache_mod.Refs]] = []  # answered by the cache, with lookups to re-check
    last: Config | None = None
    for path, config in notes:
        if config is not last:  # notes come vault by vault: no Path hash and compare per note
            cache, last = caches[config.root], config
        hit = cache.lookup(path, mode=mode, force=force, cwd=cwd)
        if hit is not None:
            results[path] = hit[0]
            if hit[1]:
                hits.append((path, config, hit[1]))
        else:
            misses.append((path, config))
    for root in whole:  # before any index is built from the cache
        caches[root].forget_unasked()
    unsettled = {root: caches[root].index_keys(p for p, c in misses if c.root == root) for root in roots}
    jobs = [
        Job(path, c, mode, force, index(c.root), True, caches[c.root].memo(path), unsettled[c.root])
        for path, c in misses
    ]
    del misses  # peak memory stays flat: the jobs hold what it held
    bar = _Progress(len(jobs), progress)
    deferred: list[Job] = []
    outcomes: dict[str, Outcome] = {}
    for job, outcome in zip(jobs, _run_jobs(jobs, count, bar), strict=True):
        outcomes[job.path] = outcome
        caches[job.config.root].record(job.path, outcome.entry)
    # The complete index, then round two for notes whose references it changes.
    final_index = _indexes(caches, bases)

    for job in jobs:
        outcome = outcomes[job.path]
        if outcome.deferred or _moved(outcome.refs, final_index(job.config.root)):
            deferred.append(replace(job, index=final_index(job.config.root), defer_unresolved=False))
        else:
            results[job.path] = outcome.report
    for path, config, refs in hits:
        if _moved(refs, final_index(config.root)):
            memo = caches[config.root].memo(path)
            deferred.append(Job(path, config, mode, force, final_index(config.root), False, memo))
    for job, outcome in zip(deferred, _run_jobs(deferred, count, _Progress(0, False)), strict=True):
        report_ = outcome.report
        earlier = outcomes.get(job.path)
        if earlier is not None and earlier.report.written:
            # Written in round one and touched up now: one note, one report of everything done to it.
            report_ = replace(
                report_, changed=True, written=True, changes=earlier.report.changes + report_.changes
            )
        results[job.path] = report_
        caches[job.config.root].record(job.path, outcome.entry)
    bar.done()
    files.sync_folders(path for path, _ in notes if results[path].written)
    if use_cache:
        for c in caches.values():
            c.save()
    report.files = [results[path] for path, _ in notes]
    if indexes:
        report.indexes = {root: final_index(root) for root in caches}
    return report


def _indexes(
    caches: Mapping[Path, cache_mod.Cache], bases: Mapping[Path, Mapping[str, Mapping[str, Any]]]
) -> Callable[[Path], dict[str, Mapping[str, Any]]]:
    """Each vault's model index as its cache knows it now (over ``bases``: see ``vault_index``), built on
    first asking and then the same object for every job (pickled once per chunk, not copied per note)."""
    built: dict[Path, dict[str, Mapping[str, Any]]] = {}

    def index(root: Path) -> dict[str, Mapping[str, Any]]:
        if root not in built:
            built[root] = {**bases.get(root, {}), **caches[root].index()}
        return built[root]

    return index


def vault_index(root: Path, config: Config) -> dict[str, Mapping[str, Any]]:
    """The model index of every note of the vault with a model-spec, read from the notes themselves.

    For a run over named notes (pre-commit) whose cache no whole-vault run made (a fresh clone in CI, a
    voided cache, ``--no-cache``): their references to other notes' specs resolve as in a run over the
    vault, where they would otherwise be unknown.  Only notes holding the word are parsed, and only as far as
    their names and first spec; one that cannot be read is left out (a run naming it reports why).
    """
    from vault_tools.pipeline.engine import Options, note_context, note_names
    from vault_tools.pipeline.text import decode_note
    from vault_tools.processors import KIND, note_model

    marker = KIND.encode()
    out: dict[str, Mapping[str, Any]] = {}
    for entry in files.scan([root], config, root):
        if entry.problem is not None or (entry.config is not None and entry.config is not config):
            continue  # a vault of its own inside this one keeps its own index
        try:
            data, _fingerprint = files.read_note(entry.path)
            if marker not in data:
                continue
            text = decode_note(data).text
            context = note_context(text, path=entry.path, config=config, kinds=(KIND,), options=Options())
        except (OSError, ValueError):
            continue
        model = note_model(context.blocks)
        if model is None:
            continue
        for name in note_names(context, entry.path):  # the names a run's entry gives the index
            out.setdefault(reference_key(name), model)
    return out


def _config_of(notes: Iterable[tuple[str, Config]], root: Path) -> Config:
    return next(config for _, config in notes if config.root == root)


def _default_workers(notes: Sequence[tuple[str, Config]]) -> int:
    configured = {config.workers for _, config in notes if config.workers}
    if configured:
        return min(configured)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class _Progress:
    """A one-line progress bar on stderr for long runs on a terminal; silent otherwise."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.done_count = 0
        tty = sys.stderr.isatty()
        self.enabled = (tty if enabled is None else enabled) and total >= 200
        self.step = max(1, total // 100)

    def tick(self) -> None:
        self.done_count += 1
        if self.enabled and (self.done_count % self.step == 0 or self.done_count == self.total):
            width = 30
            filled = width * self.done_count // self.total
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done_count}/{self.total} notes"
            )
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
