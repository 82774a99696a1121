"""The file layer: scan a vault, run ``process_text`` on each note, write back atomically, report."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vault_tools.pipeline import files
from vault_tools.pipeline.config import Config, absolute, find_vault_root, load_config
from vault_tools.pipeline.problem import Problem, leaves_stale
from vault_tools.records import field, record, replace

if TYPE_CHECKING:  # the engine and the processors load when a note is processed, not for a cache hit
    from vault_tools.pipeline.engine import Result

Mode = Literal["refresh", "check", "diff"]


@record
class FileReport:
    """The outcome for one note."""

    path: str
    problems: tuple[Problem, ...] = ()
    changed: bool = False
    written: bool = False
    failed: bool = False
    changes: tuple[str, ...] = ()
    diff: str = ""
    status: str | None = None
    # The bytes this report is about (size, mtime, digest), for the cache; None when nothing was read.
    read_as: files.Fingerprint | None = field(default=None, compare=False, repr=False)

    def messages(self) -> list[str]:
        return [f"{self.path}:{p.line}: {p.message}" for p in self.problems]


@record(frozen=False)
class RunReport:
    """Every file's outcome, in scan order, plus problems that belong to no single note."""

    files: list[FileReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Per vault root: every name of a note holding a model-spec → that spec (for cross-note references).
    indexes: dict[Path, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def scanned(self) -> int:
        return len(self.files)

    @property
    def changed(self) -> int:
        return sum(f.changed for f in self.files)

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.files) + len(self.errors)


def display_path(path: str | Path, cwd: str | None = None) -> str:
    """``path`` relative to the working directory when it is inside it, with forward slashes.

    Pass ``cwd`` (``os.getcwd()`` + separator) when calling once a note.
    """
    # String operations, not pathlib or os.path.relpath: this runs once a note, 10,000 times a vault.
    text = path if type(path) is str else os.fspath(path)
    if cwd is not None and text.startswith(cwd):  # absolute (as ``cwd`` is) and inside it: the usual case
        shown = text[len(cwd) :]
    elif os.path.isabs(text):  # noqa: PTH117
        cwd = cwd or os.getcwd().rstrip(os.sep) + os.sep  # noqa: PTH109
        shown = text[len(cwd) :] if text.startswith(cwd) else text
    else:
        shown = os.path.normpath(text)
        if shown.startswith(".."):
            shown = os.path.abspath(text)  # noqa: PTH100
    return shown if os.sep == "/" else shown.replace(os.sep, "/")


def iter_notes(paths: Sequence[str]) -> Iterator[tuple[str, Config] | str]:
    """Each note to process with its vault's config, or a message for a path that cannot be processed."""
    configs: dict[Path, Config] = {}
    # A note named twice (its folder and itself, as `refresh notes notes/a.md`) is processed once: twice,
    # the second pass saw the first one's write, and the report said the note had not changed.
    seen: set[str] | None = set() if len(paths) > 1 else None
    for raw in paths or ["."]:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            yield f"{raw}: no such file or directory"
            continue
        root = find_vault_root(path if path.is_dir() else path.parent)
        if root not in configs:
            try:
                configs[root] = load_config(root)
            except ValueError as exc:
                yield str(exc)
                continue
        config = configs[root]
        # Absolute from here on: the cache and the report relate paths by string prefix.
        for entry in files.scan([Path(absolute(path))], config, root, seen=seen):
            if entry.problem is not None:
                yield f"{display_path(entry.path)}: {entry.problem}"
            else:
                yield entry.path, entry.config or config


def process_file(
    path: str | Path,
    config: Config,
    *,
    mode: Mode,
    force: bool = False,
    resolve_model: Callable[[str], Mapping[str, Any] | None] | None = None,
    may_write: Callable[[Result], bool] = lambda _result: True,
    sync_folder: bool = True,
    memo: str = "",
    write: Callable[[str | Path, bytes, files.Fingerprint], None] | None = None,
) -> tuple[FileReport, Result | None]:
    """Process one note; write it (refresh) only when its bytes change and it did not change meanwhile.

    ``may_write`` is asked just before writing; when it says no, the note is reported as changed but left
    for a later pass (the batch layer uses this for notes whose model references are not settled yet).
    ``memo``: the note's ``Result.memo`` from an earlier run, so unchanged regions need not be rendered.
    ``write`` stands in for ``files.atomic_write`` (the batch layer finishes writes later, and reports one
    that fails then with ``write_failed``).
    """
    from vault_tools.pipeline.engine import Options, problem_from, process_text
    from vault_tools.pipeline.registry import processors
    from vault_tools.pipeline.text import decode_note, encode_note, split_lines

    shown = display_path(path)
    try:
        data, fingerprint = files.read_note(path)
        note = decode_note(data)
    except (OSError, ValueError) as exc:
        problem = Problem(getattr(exc, "line", None) or 1, _reason(exc))
        return FileReport(shown, (problem,), failed=True), None
    check = mode == "check"
    options = (
        Options(check=check, force=force, memo=memo)
        if resolve_model is None
        else Options(check=check, force=force, resolve_model=resolve_model, memo=memo)
    )
    registered = processors()  # a plug-in that fails to load stops the run (exit 2): not one note's fault
    try:
        result = process_text(
            note.text,
            path=shown,
            config=config,
            processors=registered,
            newline=note.newline,
            options=options,
        )
    except ValueError as exc:  # what a processor refused to do: this note fails, the run goes on
        return FileReport(shown, (problem_from(exc),), failed=True), None
    except Exception as exc:  # a plug-in's failure, or a bug: this note fails with it, the run goes on
        problem = Problem(1, f"cannot process the note: {type(exc).__name__}: {exc}")
        return FileReport(shown, (problem,), failed=True), None
    report = FileReport(
        shown,
        result.problems,
        changed=result.changed,
        failed=result.failed or (not check and leaves_stale(result.problems)),
        changes=result.changes,
        status=result.status,
        read_as=fingerprint,
    )
    if not result.changed or mode == "check":
        return report, result
    if mode == "diff":
        from difflib import unified_diff  # diff mode only: not imported for check or refresh

        bom = "\ufeff" if note.bom else ""  # the file's first bytes, so the patch applies to it
        hunks = unified_diff(
            split_lines(bom + note.text),
            split_lines(bom + result.text),
            fromfile=f"a/{shown}",
            tofile=f"b/{shown}",
        )
        # A last line without its newline is marked as diff and git mark it, so the patch applies (and the
        # next line printed is not run into it).
        diff = "".join(line if line.endswith("\n") else line + _NO_NEWLINE for line in hunks)
        return replace(report, diff=diff), result
    if not may_write(result):
        return report, result
    new_bytes = encode_note(replace(note, text=result.text))
    try:
        if write is None:
            files.atomic_write(path, new_bytes, fingerprint, sync_folder=sync_folder)
        else:
            write(path, new_bytes, fingerprint)
    except (OSError, ValueError) as exc:  # files.ChangedOnDisk among them
        return write_failed(report, exc), None
    return replace(report, written=True), result


_NO_NEWLINE = "\n\\ No newline at end of file\n"


def write_failed(report: FileReport, exc: OSError | ValueError) -> FileReport:
    """``report`` for a note whose write failed with ``exc``: not written, failed, the reason a problem."""
    problem = Problem(1, _reason(exc))
    return replace(report, problems=(*report.problems, problem), failed=True, changed=False, written=False)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied; make the note writable or leave it out"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)
