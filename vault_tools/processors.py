"""The built-in ``model-spec`` processor: spec block → exact parameter (and memory) tables."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from vault_tools.errors import SpecError
from vault_tools.fmt import human_count
from vault_tools.pipeline.model import Block, NoteContext, Problem, Rendered
from vault_tools.pipeline.render import Untitled, render, render_untitled
from vault_tools.records import record

if TYPE_CHECKING:  # the core loads with the first model-spec block, not for every note
    from vault_tools.core.params import ParamCount
    from vault_tools.core.spec import ModelSpec

KIND = "model-spec"
TEMPLATE = "model-spec.md.j2"


def region_id(kind: str, index: int) -> str:
    """``model-spec`` for a note's first block of a kind, ``model-spec-2`` for its second, …"""
    return kind if index == 0 else f"{kind}-{index + 1}"


# libyaml when PyYAML has it: the same safe loading, several times faster than the pure-Python parser.
_SPEC_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_spec_yaml(text: str) -> Any:
    """A spec block's YAML, as ``yaml.safe_load`` reads it; aliases that never end or blow up into more
    values than any config holds raise a ``yaml.MarkedYAMLError`` (``frontmatter.check_aliases``)."""
    if "&" in text and "*" in text:
        from vault_tools.pipeline.frontmatter import check_aliases

        check_aliases(text, _SPEC_LOADER)
    return yaml.load(text, Loader=_SPEC_LOADER)  # a safe loader, C or Python


def parse_block_yaml(block: Block) -> tuple[Mapping[str, Any] | None, Problem | None]:
    """The block's YAML mapping, or a problem at the line of the YAML error."""
    try:
        raw = load_spec_yaml(block.content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # A mark at the end of the stream sits on the closing fence; the content's last line is meant.
        line = min(
            block.line + 1 + (mark.line if mark is not None else 0), max(block.end_line - 1, block.line + 1)
        )
        problem = getattr(exc, "problem", None) or str(exc)
        return None, Problem(line, f"{block.kind}: invalid YAML: {problem}")
    if not isinstance(raw, Mapping):
        return None, Problem(
            block.line, f"{block.kind}: expected a YAML mapping such as 'preset: llama-7b' or HF config keys"
        )
    return raw, None


_NAMED_KEY = re.compile(r"'([^']+)'|([A-Za-z_][\w.]*):")


def _key_offset(content: str, message: str) -> int:
    """The line of a spec block (1 = the first after the fence) that sets the key ``message`` starts by
    naming (``'n_head' must …``, ``training.zero: …``); 0, the fence, when it names none the block sets."""
    named = _NAMED_KEY.match(message)
    if named is None:
        return 0
    key = named.group(1) or named.group(2).rsplit(".", 1)[-1]
    spellings = (f"{key}:", f'"{key}":', f"'{key}':")
    for number, line in enumerate(content.split("\n"), start=1):
        if line.lstrip(" \t-{,").startswith(spellings):
            return number
    return 0


def note_model(blocks: Sequence[Block]) -> dict[str, Any] | None:
    """The spec mapping of a note's first model-spec block: what other notes mean by naming this note."""
    for block in blocks:
        if block.kind == KIND:
            raw, problem = parse_block_yaml(block)
            return dict(raw) if problem is None and raw is not None else None
    return None


def spec_context(spec: ModelSpec, count: ParamCount, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables for one spec: parameter rows, approximations, and memory when the core has it."""
    formulas = count.formulas
    rows = [
        {"component": name, "formula": formulas[name], "count": value}
        for name, value in count.breakdown.items()
    ]
    return {
        "title": spec.name or spec.model_type,
        "family": spec.family.label,
        "generic": spec.generic,
        "head": count.head,
        "rows": rows,
        "total": count.total,
        "active": count.active,
        "approximations": count.approximations,
        "notes": list(spec.notes),
        "memory": _memory_context(spec, count, raw),
    }


def _memory_context(spec: ModelSpec, count: ParamCount, raw: Mapping[str, Any]) -> Any:
    try:
        from vault_tools.core import report
    except ImportError:  # the memory core is optional for the parameter tables
        return None
    return report.memory_report(spec, count, raw)


class ModelSpecProcessor:
    """Compute the exact tables for every ```model-spec block of a note."""

    name: str = "model-spec"
    kinds: tuple[str, ...] = (KIND,)

    def process(self, note: NoteContext) -> Sequence[Rendered | Problem]:
        out: list[Rendered | Problem] = []
        templates = note.options.get("templates")
        for block in note.blocks:
            if block.kind != KIND:
                continue
            span = block.end_line - block.line
            rid = region_id(KIND, block.index)
            # The tables follow from the block's text, its span and the note's title (and the templates,
            # which the cache answers for): a note whose region was rendered from these needs no core.
            key = f"{KIND}\0{span}\0{note.title}\0{block.content}"
            reused = note.reuse(rid, key)
            if reused is not None:
                text, summary = reused
            else:
                outcome = _compute(block.content, span, note.title, str(templates or ""))
                if isinstance(outcome, tuple):
                    offset, message = outcome
                    out.append(Problem(block.line + offset, message))
                    continue
                text, summary = outcome.text, outcome.summary
            out.append(
                Rendered(
                    region_id=rid,
                    anchor_line=block.end_line,
                    text=text,
                    summary=summary,
                    prefix=block.prefix,
                    memo_key=key,
                )
            )
        return out


@record
class _Tables:
    text: str
    summary: Mapping[str, str]


# Vaults repeat the same specs (presets, copied configs), and refresh renders a changed note more than
# once while its regions settle: remember the tables of each distinct block (rendered once for every
# title where the templates allow, ``_untitled``), and the text per title.  Few entries here: a title is
# one note's, so only that note's settling re-runs can hit (a rendering is ~7 KB).
@functools.lru_cache(maxsize=32)
def _compute(content: str, span: int, title: str, templates: str) -> _Tables | tuple[int, str]:
    """The rendered tables for one block's text, or (line offset from the fence, message)."""
    outcome = _context(content, span)
    if isinstance(outcome, tuple):
        return outcome
    # The note's title names the model unless the block does; a preset's own title only when neither does.
    shown = outcome.name or title or outcome.fallback_title
    # Rendering once for every title pays off from a spec's second note on.  A one-note run (pre-commit)
    # renders plainly: proving a rendering title-free costs a parse of the templates and two renderings.
    if _seen_before((content, span, templates)):
        untitled = _untitled(content, span, templates)
        if untitled is not None:
            return _Tables(untitled.fill(shown), outcome.summary)
    context = {**outcome.context, "title": shown}
    return _Tables(render(TEMPLATE, templates or None, **context), outcome.summary)


_SEEN: set[tuple[str, int, str]] = set()


def _seen_before(key: tuple[str, int, str]) -> bool:
    """Whether ``_compute`` met this block text before in this process (remembers it from now on)."""
    if key in _SEEN:
        return True
    if len(_SEEN) >= 4096:  # a bound, not an eviction policy: forgetting costs a plain rendering
        _SEEN.clear()
    _SEEN.add(key)
    return False


@functools.lru_cache(maxsize=256)
def _untitled(content: str, span: int, templates: str) -> Untitled | None:
    """The tables of one block's text rendered once for every title (None: render per title)."""
    outcome = _context(content, span)
    assert not isinstance(outcome, tuple)  # _compute returned the problem
    return render_untitled(TEMPLATE, templates or None, **outcome.context)


@record
class _Computed:
    context: Mapping[str, Any]  # template variables but the title
    summary: Mapping[str, str]
    name: str  # the block's own ``name:``, if any
    fallback_title: str


# A few specs repeat across a vault (presets, copied configs); most are one note's own.  An entry holds a
# spec's whole memory report (~42 KiB): 1,024 of them made a vault of distinct specs grow the check's
# memory by ~40 MiB (70 -> 120 MiB from 2,000 to 10,000 notes of the distinct bench vault).
@functools.lru_cache(maxsize=64)
def _context(content: str, span: int) -> _Computed | tuple[int, str]:
    """Everything about one block's text that does not depend on the note it sits in."""
    from vault_tools.core.params import count_params
    from vault_tools.core.presets import spec_from_mapping

    block = Block(kind=KIND, info=KIND, content=content, line=0, end_line=span)
    raw, problem = parse_block_yaml(block)
    if problem is not None or raw is None:
        return (problem.line, problem.message) if problem is not None else (0, "model-spec: empty block")
    name = str(raw.get("name") or "")
    try:
        spec = spec_from_mapping(raw, name=name or None)
        count = count_params(spec)
        context = spec_context(spec, count, raw)
    except (SpecError, ValueError) as exc:
        return (_key_offset(content, str(exc)), f"model-spec: {exc}")
    summary = {"params": human_count(count.total)}
    if count.active != count.total:
        summary["active"] = human_count(count.active)
    return _Computed(MappingProxyType(context), MappingProxyType(summary), name, spec.name or spec.model_type)
