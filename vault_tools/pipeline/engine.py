"""``process_text``: one note in, the refreshed note and its problems out.  Pure: no files, no printing."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import PurePath
from types import MappingProxyType
from typing import Any

from vault_tools.digests import blake2b
from vault_tools.pipeline import blocks as blocks_mod
from vault_tools.pipeline import changelog, frontmatter, regions
from vault_tools.pipeline.config import Config
from vault_tools.pipeline.model import Block, NoteContext, Problem, Processor, Rendered
from vault_tools.pipeline.text import note_lines, to_newline
from vault_tools.records import field, record, replace

# First line of every region's text: the headline values, so the next run can say what changed.
_SUMMARY_RE = re.compile(r"^<!-- vault-tools:summary (?P<body>.*?) -->$")


@record
class Result:
    """What processing one note produced."""

    text: str
    changed: bool
    problems: tuple[Problem, ...] = ()
    changes: tuple[str, ...] = ()  # human summaries such as "params 6.61B → 6.74B"
    status: str | None = None
    outputs: tuple[Rendered, ...] = ()
    # What other notes may refer to this one by (title, aliases, file name), and its fenced blocks.
    names: tuple[str, ...] = ()
    blocks: tuple[Block, ...] = ()
    # ``memo_token`` of each output with a ``memo_key``, joined: what the cache keeps for ``reuse``.
    memo: str = ""

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


@record
class Options:
    """How to run: check mode writes nothing and reports stale regions; force overwrites hand edits."""

    check: bool = False
    force: bool = False
    resolve_model: Callable[[str], Mapping[str, Any] | None] = field(default=lambda _name: None)
    memo: str = ""  # the note's ``Result.memo`` from an earlier run (the cache's)


def process_text(
    text: str,
    *,
    path: str,
    config: Config,
    processors: Mapping[str, Processor],
    newline: str = "\n",
    options: Options = Options(),
) -> Result:
    """Run every processor over ``text`` and return the note as refresh would write it."""
    kinds = tuple(kind for proc in processors.values() for kind in proc.kinds)
    wanted = [p for p in processors.values() if _wants(p, text, kinds)]
    if not wanted and "vault-tools:begin" not in text:
        # Nothing to compute, but a broken frontmatter is reported as in any other note.
        problem = _frontmatter_problem(text, config) if text.startswith(("---", "\ufeff---")) else None
        return Result(text=text, changed=False, problems=(problem,) if problem else ())
    run = functools.partial(
        _pass, path=path, config=config, wanted=wanted, kinds=kinds, options=options, newline=newline
    )
    first = run(text)
    if isinstance(first, Result):
        return first
    changes = _describe_changes(first.lines, first.existing, first.updates)
    status = _status(first.outputs)
    problems = list(first.problems)
    new_lines, memo = first.new_lines, first.memo
    if options.check:
        # Check mode only needs to know whether refresh would change the note, not the final bytes.
        changed = new_lines != first.lines
        if changed:
            problems += _stale_problems(first.lines, first.existing, first.updates)
        return Result(
            text=text,
            changed=changed,
            problems=tuple(_sorted(problems)),
            changes=tuple(changes),
            status=status,
            outputs=tuple(first.outputs),
            names=first.names,
            blocks=first.blocks,
            memo=first.memo,
        )
    if new_lines != first.lines:
        new_lines, kept = _bookkeeping(new_lines, config, changes, status, newline, first.body_start)
        problems += kept
        # Inserted regions and a new frontmatter key move the lines that generated text may cite (claim
        # line numbers): when a citing processor's numbers are not already right, re-run until the text
        # stops moving.
        if first.citing and not _cites_hold(first, new_lines, text, path, config, kinds, options):
            new_lines, memo = _settle(run, text, new_lines, memo)
    new_text = "".join(new_lines)
    return Result(
        text=new_text,
        changed=new_text != text,
        problems=tuple(_sorted(problems)),
        changes=tuple(changes),
        status=status,
        outputs=tuple(first.outputs),
        names=first.names,
        blocks=first.blocks,
        memo=memo,
    )


@record
class _Pass:
    """One run of the processors over a text and the regions applied to it."""

    lines: list[str]
    body_start: int
    existing: Mapping[str, regions.Region]
    outputs: list[Rendered]
    updates: list[Rendered]
    problems: list[Problem]
    new_lines: list[str]
    names: tuple[str, ...]
    blocks: tuple[Block, ...]
    citing: tuple[tuple[Processor, Rendered], ...] = ()  # outputs of processors that cite note lines
    memo: str = ""


def _cites_hold(
    first: _Pass,
    new_lines: Sequence[str],
    text: str,
    path: str,
    config: Config,
    kinds: tuple[str, ...],
    options: Options,
) -> bool:
    """Whether each citing output shows exactly the lines its processor would cite in the written note.

    Then a second pass would render the same text (its rows are the same claims at the same lines), so it
    need not run.  The processor finds the lines on the written note itself (``cited_lines``): matching
    line contents would not do, as an identical line can sit where a moved one was.  ``text`` is the note
    as the first pass read it (the written note is made from it: see ``NoteContext.edited_from``).
    """
    context: NoteContext | None = None
    for proc, output in first.citing:
        cited_lines = getattr(proc, "cited_lines", None)
        if output.cites is None or cited_lines is None:
            return False
        if context is None:
            try:
                context = note_context(
                    "".join(new_lines),
                    path=path,
                    config=config,
                    kinds=kinds,
                    options=options,
                    edited_from=text,
                )
            except ValueError:
                return False
        if list(cited_lines(context)) != [shown for _line, shown in output.cites]:
            return False
    return True


def _pass(
    text: str,
    *,
    path: str,
    config: Config,
    wanted: Sequence[Processor],
    kinds: tuple[str, ...],
    options: Options,
    newline: str,
    edited_from: str = "",
) -> _Pass | Result:
    lines = list(note_lines(text))  # a list: the pass compares it with the list it edits
    try:
        context = _note_context(text, lines, path, config, kinds, options, edited_from)
    except ValueError as exc:
        return Result(text=text, changed=False, problems=(problem_from(exc),))
    body_start = context.body_start_line - 1
    outputs: list[Rendered] = []
    problems: list[Problem] = [
        Problem(b.line, f"{b.kind}: fence is never closed; add the closing ``` line")
        for b in context.blocks
        if not b.closed
    ]
    citing: list[tuple[Processor, Rendered]] = []
    for proc in wanted:
        cites_lines = getattr(proc, "cites_lines", False)
        for item in proc.process(context):
            if isinstance(item, Problem):
                problems.append(item)
            else:
                outputs.append(item)
                if cites_lines:
                    citing.append((proc, item))
    if any(p.severity == "error" for p in problems):
        return Result(text=text, changed=False, problems=tuple(_sorted(problems)))
    try:
        # Found once per text (regions_in remembers): the processors may have asked already.
        found = regions.regions_in(text)
        existing = {r.region_id: r for r in found}
    except ValueError as exc:
        return Result(text=text, changed=False, problems=(*_sorted(problems), problem_from(exc)))
    updates = [
        _with_summary(r if r.region_id in existing else _placed(r, lines, config, body_start))
        for r in outputs
    ]
    new_lines, region_problems = regions.apply_regions(
        lines, updates, newline, force=options.force, found=found
    )
    names = note_names(context, path)
    memo = "".join(memo_token(u.memo_key, u.text) for u in updates if u.memo_key is not None)
    return _Pass(
        lines,
        body_start,
        existing,
        outputs,
        updates,
        problems + region_problems,
        new_lines,
        names,
        tuple(context.blocks),
        tuple(citing),
        memo,
    )


_TOKEN = 16  # hex digits of a memo token: 64 bits


def memo_token(key: str, text: str) -> str:
    """What the cache keeps of one output: a digest of its ``memo_key`` and the region text it gave."""
    return blake2b(f"{key}\0{text}".encode(), digest_size=_TOKEN // 2).hexdigest()


class _Reuse:
    """``NoteContext.reuse`` for a note's lines and its tokens from an earlier run."""

    def __init__(self, text: str, lines: Sequence[str], memo: str) -> None:
        self.text = text
        self.lines = lines
        # Tokens are kept joined (one string a note in the cache and in every job): split them here.
        self.memo = frozenset(memo[k : k + _TOKEN] for k in range(0, len(memo), _TOKEN))
        self._by_id: dict[str, regions.Region] | None = None

    def __call__(self, region_id: str, key: str) -> tuple[str, Mapping[str, str]] | None:
        if self._by_id is None:
            try:
                # The same search the engine makes for this text (regions_in remembers it).
                self._by_id = {r.region_id: r for r in regions.regions_in(self.text)}
            except ValueError:  # the engine reports the broken markers; nothing is reused
                self._by_id = {}
        region = self._by_id.get(region_id)
        if region is None:
            return None
        text = regions.region_text(self.lines, region)
        if memo_token(key, text) not in self.memo:
            return None
        # The text is the output as _with_summary wrote it: take its summary line off again.
        summary = _old_summary(text)
        body = text.split("\n", 1)[1] if summary else text
        return body, MappingProxyType(summary)


def _context(
    text: str,
    lines: Sequence[str],
    path: str,
    config: Config,
    options: Options,
    fm: frontmatter.Frontmatter | None,
    meta: frontmatter.NoteMeta | None,
    body_start: int,
    found: Sequence[Block],
    edited_from: str,
) -> NoteContext:
    title = (meta.title if meta is not None and meta.title else None) or PurePath(path).stem
    reuse: dict[str, Any] = {"reuse": _Reuse(text, lines, options.memo)} if options.memo else {}
    return NoteContext(
        path=path,
        title=title,
        frontmatter=fm.data if fm is not None else MappingProxyType({}),
        body_start_line=body_start + 1,
        text=text,
        blocks=tuple(found),
        resolve_model=options.resolve_model,
        options=MappingProxyType({"templates": config.templates, "config": config}),
        aliases=meta.aliases if meta is not None else (),
        edited_from=edited_from,
        **reuse,
    )


def note_context(
    text: str,
    *,
    path: str,
    config: Config,
    kinds: Sequence[str],
    options: Options,
    edited_from: str = "",
) -> NoteContext:
    """What a processor would see for ``text`` (for commands that report rather than rewrite)."""
    return _note_context(text, note_lines(text), path, config, kinds, options, edited_from)


def _note_context(
    text: str,
    lines: Sequence[str],
    path: str,
    config: Config,
    kinds: Sequence[str],
    options: Options,
    edited_from: str = "",
) -> NoteContext:
    """``note_context`` for a text already split into ``lines``."""
    fm, meta = _read_frontmatter(lines, config)
    body_start = fm.body_start if fm is not None else 0
    # A slice of the text, not its lines joined again: the lines are the text.
    body = text[sum(map(len, lines[:body_start])) :] if body_start else text
    found = (
        blocks_mod.find_blocks(body, kinds, line_offset=body_start)
        if blocks_mod.has_candidate(body, kinds)
        else []
    )
    return _context(text, lines, path, config, options, fm, meta, body_start, found, edited_from)


def _settle(
    run: Callable[..., _Pass | Result], text: str, lines: list[str], memo: str
) -> tuple[list[str], str]:
    """Re-run the processors on their own output until it stops moving (at most twice more).

    ``text`` is what the first pass read.  Return the lines and the memo tokens of the pass whose regions
    they hold.
    """
    for _ in range(2):
        text, previous = "".join(lines), text
        again = run(text, edited_from=previous)
        if isinstance(again, Result):
            break
        memo = again.memo
        if again.new_lines == again.lines:
            break
        lines = again.new_lines
    return lines, memo


def _frontmatter_problem(text: str, config: Config) -> Problem | None:
    """What parsing ``text``'s frontmatter (and reading its typed keys) finds wrong, if anything."""
    try:
        _read_frontmatter(note_lines(text), config)
    except ValueError as exc:
        return problem_from(exc)
    return None


def _read_frontmatter(
    lines: Sequence[str], config: Config
) -> tuple[frontmatter.Frontmatter | None, frontmatter.NoteMeta | None]:
    """The note's frontmatter and its typed view, the vault's owned keys checked (``NoteSyntaxError``)."""
    fm = frontmatter.find_frontmatter(lines)
    meta = frontmatter.note_meta(fm, lines, (config.status_key, config.date_key)) if fm is not None else None
    return fm, meta


def note_names(context: NoteContext, path: str) -> tuple[str, ...]:
    """What other notes may call the note by: its title, its aliases and its file name."""
    return tuple(dict.fromkeys((context.title, *context.aliases, PurePath(path).stem)))


def _wants(proc: Processor, text: str, kinds: Sequence[str]) -> bool:
    """Cheap prefilter: a processor with ``wants`` decides; otherwise a fence of its kind must be present."""
    wants = getattr(proc, "wants", None)
    if wants is not None:
        return bool(wants(text))
    return bool(proc.kinds) and blocks_mod.has_candidate(text, proc.kinds)


def _placed(rendered: Rendered, lines: list[str], config: Config, body_start: int) -> Rendered:
    """Put a note-level region (anchor 0) above the changelog section rather than after it."""
    if rendered.anchor_line != 0:
        return rendered
    heading = changelog.changelog_heading(lines, config.changelog_headings, body_start=body_start)
    if heading is None or heading == 0:
        return rendered
    anchor = heading  # 1-based number of the line before the heading
    while anchor > body_start + 1 and not lines[anchor - 1].strip():
        anchor -= 1
    return replace(rendered, anchor_line=anchor)


# json.dumps with options builds an encoder each call; this is the one it would build.
_SUMMARY_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _with_summary(rendered: Rendered) -> Rendered:
    body = _SUMMARY_JSON.encode(dict(rendered.summary)).replace("--", "-\\u002d")
    header = f"<!-- vault-tools:summary {body} -->\n" if rendered.summary else ""
    return replace(rendered, text=header + rendered.text)


def _old_summary(text: str) -> dict[str, str]:
    first = text.split("\n", 1)[0]
    match = _SUMMARY_RE.match(first)
    if match is None:
        return {}
    try:
        data = json.loads(match["body"])
    except json.JSONDecodeError:  # edited by hand: say nothing about the old values
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _region_changes(
    lines: list[str], existing: Mapping[str, regions.Region], updates: Sequence[Rendered]
) -> Iterator[tuple[str, Rendered | None, regions.Region | None]]:
    """Every region refresh will add, rewrite or remove: (id, its new output or None, its region or None)."""
    for update in updates:
        region = existing.get(update.region_id)
        if region is None or regions.region_text(lines, region) != update.text:
            yield update.region_id, update, region
    produced = {u.region_id for u in updates}
    for rid, region in existing.items():
        if rid not in produced:
            yield rid, None, region


def _describe_changes(
    lines: list[str], existing: Mapping[str, regions.Region], updates: Sequence[Rendered]
) -> list[str]:
    """One phrase per region whose generated text will change (``params 6.61B → 6.74B``)."""
    out: list[str] = []
    for rid, update, region in _region_changes(lines, existing, updates):
        if update is None:
            out.append(f"{rid} removed")
        elif region is None:
            values = ", ".join(f"{k} {v}" for k, v in update.summary.items())
            out.append(f"{rid} added" + (f" ({values})" if values else ""))
        else:
            old = _old_summary(regions.region_text(lines, region))
            diffs = [f"{k} {old.get(k, '—')} → {v}" for k, v in update.summary.items() if old.get(k) != v]
            out.append(", ".join(diffs) if diffs else f"{rid} regenerated")
    return out


def _status(outputs: Sequence[Rendered]) -> str | None:
    votes = {r.status for r in outputs if r.status is not None}
    if not votes:
        return None
    return "failed" if "failed" in votes else "verified" if votes == {"verified"} else "unverified"


def _bookkeeping(
    lines: list[str],
    config: Config,
    changes: Sequence[str],
    status: str | None,
    newline: str,
    body_start: int,
) -> tuple[list[str], list[Problem]]:
    """After generated content changed: a changelog row, the owned frontmatter keys.

    What cannot be written (keys the note holds in a form the tool does not rewrite, such as a block
    scalar or an anchor) is left as it is, with a warning that says so at its line.
    """
    problems: list[Problem] = []
    if changes:
        row = [config.date, to_newline("vault-tools: " + "; ".join(changes), "")]
        try:
            appended = changelog.append_row(
                lines, config.changelog_headings, row, newline, body_start=body_start
            )
        except ValueError as exc:
            problems.append(replace(problem_from(exc), severity="warning"))
            appended = None
        if appended is not None:
            lines = appended
    fm = frontmatter.find_frontmatter(lines)
    if fm is None:
        return lines, problems
    updates: dict[str, str] = {}
    if changes and config.date_key:
        updates[config.date_key] = config.date
    if status is not None and config.status_key:
        updates[config.status_key] = config.status_map.get(status, status)
    if not updates:
        return lines, problems
    try:
        return frontmatter.set_keys(lines, fm, updates, newline), problems
    except ValueError as exc:
        keys = ", ".join(repr(key) for key in updates)
        problem = problem_from(exc)
        message = f"{problem.message} ({keys} not updated)"
        return lines, [*problems, Problem(problem.line, message, "warning")]


def _stale_problems(
    lines: list[str], existing: Mapping[str, regions.Region], updates: Sequence[Rendered]
) -> list[Problem]:
    out: list[Problem] = []
    for rid, update, region in _region_changes(lines, existing, updates):
        if update is None and region is not None:
            message, line = f"{rid}: managed region has no source block any more", region.begin + 1
        elif region is None and update is not None:
            message = f"{rid}: computed tables are missing; run `vault-tools refresh`"
            line = update.anchor_line or len(lines)
        else:
            assert region is not None
            message, line = f"{rid}: managed region is stale; run `vault-tools refresh`", region.begin + 1
        out.append(Problem(line, message, "stale"))
    if not out:
        message = "note would change on refresh (changelog or frontmatter); run `vault-tools refresh`"
        out.append(Problem(1, message, "stale"))
    return out


def problem_from(exc: ValueError) -> Problem:
    line = getattr(exc, "line", None)
    message = str(exc)
    match = re.match(r"^(\d+): (.*)$", message, re.S)
    if line is None and match:
        return Problem(int(match[1]), match[2])
    return Problem(int(line) if line else 1, message)


def _sorted(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line)
