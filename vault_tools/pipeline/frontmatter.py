"""YAML frontmatter as Obsidian reads it, and in-place edits of the few keys the tool owns.

Parsing follows YAML 1.2's core schema (what Obsidian's JavaScript parser does), not PyYAML's YAML 1.1
defaults: ``2026-05-10`` and ``10:00`` stay strings, ``yes``/``no``/``on``/``off`` stay strings, and a
duplicated key is an error instead of silently keeping the last value.

Edits never re-serialise the YAML: ``set_keys`` rewrites only the lines of the keys it is given, so comments,
key order, flow lists and ``[[links]]`` keep every byte.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import yaml

from vault_tools.pipeline.text import NoteSyntaxError, first_lone_cr, line_body, line_ending
from vault_tools.records import field, fields, record

try:  # libyaml is ~10x faster, which matters when every note of a 10,000-note vault is parsed
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment,unused-ignore]

_TAG = "tag:yaml.org,2002:"


_STR, _SEQ, _MAP = _TAG + "str", _TAG + "seq", _TAG + "map"


class _DuplicateKeyError(yaml.MarkedYAMLError):
    def __init__(self, key: str, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(problem=f"duplicate key {key!r}", problem_mark=again)
        self.key = key
        self.first = first


class _Slow(Exception):
    """The document holds something the fast construction leaves to PyYAML's own constructor."""


class _Loader(_BaseLoader):
    """A safe loader with YAML 1.2 core-schema scalars and duplicate-key detection."""

    # Own table, filled below: PyYAML's resolvers are YAML 1.1's.
    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012 - as PyYAML

    # libyaml calls these three for every node.  No path resolvers are ever registered here, so PyYAML's
    # bookkeeping for them is skipped, and ``resolve`` is BaseResolver's without it (same tags).
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                # No wildcard (None) resolvers are registered; value[:1] is "" for the empty scalar.
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def construct_document(self, node: yaml.Node) -> Any:
        # PyYAML's constructor costs as much as libyaml's parse: build plain documents directly, and hand
        # anything else (anchors, merges, other tags, duplicate keys, errors) to it, which starts afresh.
        try:
            return self._build(node, set())
        except Exception:  # PyYAML's path raises the very error, or reports it its way
            return super().construct_document(node)

    def _build(self, node: yaml.Node, seen: set[int]) -> Any:
        """Construct ``node`` as PyYAML would, for str-keyed mappings, lists and core-schema scalars only."""
        kind, tag = type(node), node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            construct = _SCALARS.get(tag)
            if construct is None:
                raise _Slow
            return construct(self, node)
        # A collection met twice is an alias (shared, maybe containing itself): PyYAML keeps it shared.
        if id(node) in seen:
            raise _Slow
        seen.add(id(node))
        if kind is yaml.SequenceNode and tag == _SEQ:
            return [self._build(item, seen) for item in node.value]
        if kind is not yaml.MappingNode or tag != _MAP:
            raise _Slow
        out = {}
        for key_node, value_node in node.value:
            # Only str keys: "1" and "1.0", ".nan" twice or "<<" need PyYAML's rules.
            if type(key_node) is not yaml.ScalarNode or key_node.tag != _STR:
                raise _Slow
            out[key_node.value] = self._build(value_node, seen)
        if len(out) != len(node.value):
            raise _Slow  # a duplicate key: construct_mapping reports it
        return out

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError):
            # PyYAML's constructors fail with plain errors on a value their tag cannot read ("!!bool maybe",
            # "!!int x", "!!timestamp x"): report it as invalid YAML on its line, not as a crash.
            shown = node.tag.replace(_TAG, "!!")
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{shown} cannot read {node.value!r}; fix the value or drop the tag",
                node.start_mark,
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], yaml.Mark] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _TAG + "merge":
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise _DuplicateKeyError(key_node.value, seen[key], key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        if value[:2] in ("0o", "0x"):
            return int(value[2:], 8 if value[1] == "o" else 16)
        return int(value, 10)  # "0755" is decimal in YAML 1.2, not octal


_Loader.add_implicit_resolver(_TAG + "null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Loader.add_implicit_resolver(
    _TAG + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    _TAG + "int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _TAG + "float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
    ),
    list("-+.0123456789"),
)
_Loader.add_implicit_resolver(_TAG + "merge", re.compile(r"^<<$"), ["<"])
_Loader.add_constructor(_TAG + "int", _Loader.construct_yaml_int)
# The scalar constructors _Loader._build calls itself, the very ones PyYAML's path would.
_SCALARS = {_TAG + name: _Loader.yaml_constructors[_TAG + name] for name in ("null", "bool", "int", "float")}

# Hints for the YAML errors people make most often in frontmatter (libyaml's wording, then PyYAML's).
_HINTS = {
    "mapping values are not allowed in this context": "quote the value if it contains ': '",
    "mapping values are not allowed here": "quote the value if it contains ': '",
    "found a tab character that violates indentation": "indent with spaces, not tabs",
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
    "found undefined alias": "quote values that start with '*'",
}


# PyYAML (YAML 1.1) breaks lines at NEL, LS and PS too; a note breaks them at "\n" only, and Obsidian reads
# "title: A\u2028B" as one value.  They stand in for themselves as private-use characters while parsed.
_BREAKS = {"\x85": "\ue001", "\u2028": "\ue002", "\u2029": "\ue003"}
_TO_STAND_IN = str.maketrans(_BREAKS)
_FROM_STAND_IN = str.maketrans({v: k for k, v in _BREAKS.items()})


def load_yaml(text: str, first_line: int = 1) -> Any:
    """Parse YAML with the note loader; errors name the 1-based note line (``first_line`` is line 1)."""
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        return _restored(load_yaml(text.translate(_TO_STAND_IN), first_line))
    try:
        if "&" in text and "*" in text:  # an anchor and maybe an alias of it: rare, and checked first
            check_aliases(text, _Loader)
        return yaml.load(text, Loader=_Loader)
    except _DuplicateKeyError as exc:
        assert exc.problem_mark is not None
        raise NoteSyntaxError(
            f"duplicate key {exc.key!r} (first on line {exc.first.line + first_line}); keep one of them",
            exc.problem_mark.line + first_line,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        hint = _HINTS.get(problem)
        message = f"invalid YAML: {problem}" + (f"; {hint}" if hint else "")
        raise NoteSyntaxError(message, None if mark is None else mark.line + first_line) from None
    except yaml.YAMLError as exc:
        raise NoteSyntaxError(f"invalid YAML: {exc}", first_line) from None


# An alias shares its anchor's value, but whatever walks the value (a copy, the cache's JSON, a template)
# meets it once per alias: nine aliases of a list of nine aliases of … reach millions of values from a few
# hundred bytes (minutes and gigabytes).  No frontmatter needs this many.
MAX_EXPANDED_VALUES = 100_000


def check_aliases(text: str, loader: Any) -> None:
    """Refuse YAML whose aliases expand past ``MAX_EXPANDED_VALUES`` values, or hold the value they are in:
    a ``yaml.MarkedYAMLError`` at the value (frontmatter and spec blocks alike).

    The node graph ``loader`` composes keeps each anchored node once: sizes are counted on it, each node
    once, without expanding anything.  Iterative, as a deep nesting is no reason to fail.
    """
    root = yaml.compose(text, Loader=loader)
    sizes: dict[int, int] = {}
    started: set[int] = set()  # nodes whose children are being counted: the path from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, counted = stack.pop()
        key = id(node)
        if counted:
            started.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > MAX_EXPANDED_VALUES:
                raise yaml.MarkedYAMLError(
                    problem=f"its aliases (*name) repeat this value into more than {MAX_EXPANDED_VALUES:,} "
                    "values; write the values out instead",
                    problem_mark=node.start_mark,
                )
            sizes[key] = size
        elif key in started:
            raise yaml.MarkedYAMLError(
                problem="this value holds an alias (*name) of itself, which never ends; remove the alias",
                problem_mark=node.start_mark,
            )
        elif key not in sizes:
            if type(node) is yaml.ScalarNode:
                sizes[key] = 1
                continue
            started.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if type(node) is yaml.MappingNode:
        return [part for pair in node.value for part in pair]
    return list(node.value) if type(node) is yaml.SequenceNode else []


def _restored(value: Any) -> Any:
    """``value`` with the line-break stand-ins of ``load_yaml`` turned back into what the note holds."""
    if isinstance(value, str):
        return value.translate(_FROM_STAND_IN)
    if isinstance(value, dict):
        return {_restored(key): _restored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restored(item) for item in value]
    return value


@record
class Frontmatter:
    """Where a note's frontmatter is: 0-based line indices of the ``---`` lines, and what it holds."""

    start: int
    end: int
    data: Mapping[str, Any]
    body_start: int


_CLOSERS = ("---", "...")


def find_frontmatter(lines: Sequence[str]) -> Frontmatter | None:
    """Find and parse the frontmatter: ``---`` on the first line, closed by ``---`` or ``...``."""
    if not lines or _fence(lines[0].removeprefix("\ufeff")) != "---":
        return None
    for index in range(1, len(lines)):
        line = lines[index]
        if line.startswith(_CLOSERS) and _fence(line) in _CLOSERS:  # the prefix test skips most lines
            break
    else:
        raise NoteSyntaxError(
            "frontmatter opened on line 1 is never closed; add a line '---' after its last key", 1
        )
    # A copy each time: the values are the caller's to keep (and, for a plug-in, to change).
    parsed = _parse("".join(lines[1:index]))
    try:
        data = _copy(parsed)
    except RecursionError:  # hundreds of nested lists (an alias of itself is refused by load_yaml)
        raise NoteSyntaxError("invalid YAML: values nested too deeply; flatten them", 2) from None
    return Frontmatter(0, index, MappingProxyType(data), index + 1)


def _copy(value: Any) -> Any:
    """A copy of parsed YAML (mappings, lists, scalars), several times faster than ``copy.deepcopy``."""
    # Exact types, not isinstance: YAML builds no subclasses, and a type test is the cheaper one.
    kind = type(value)
    if kind is str:
        return value
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)  # !!set, !!omap (tuples of mappings), anything rarer


_ATOMS = frozenset({int, float, bool, type(None)})


# Refreshing a note parses the same frontmatter several times (each pass, the key update and its
# verification): remember the last few.
@functools.lru_cache(maxsize=8)
def _parse(text: str) -> dict[str, Any]:
    data = _by_keys(text)
    if data is None:
        data = load_yaml(text, first_line=2)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise NoteSyntaxError("frontmatter must be a list of 'key: value' lines", 2)
    # Obsidian's property names are strings: "2024: x" is property "2024", not an integer key.
    return {key if isinstance(key, str) else _yaml_str(key): value for key, value in data.items()}


# Notes of one vault share most of their frontmatter lines ("status: verified", the tag list, the
# tech_stack block); only a few (id, title, dates) differ.  Each top-level key's lines are parsed once.
_PARSED_KEYS: dict[str, tuple[Any, Any]] = {}
_PARSED_KEYS_MAX = 4096


def _by_keys(text: str) -> dict[Any, Any] | None:
    """``load_yaml(text)`` put together from each top-level key's lines parsed on their own, or None.

    A block mapping's top-level keys start at column 0, and what follows a key up to the next one is
    its value alone: parsed on its own it gives what the whole document gives for it.  A value that
    reaches into the next key's line (an open quote or bracket) fails to parse without it.  Anything
    this does not cover (another column-0 line, a merge key, a key met twice, a part that does not parse
    or gives other than one key) is left to the whole parse (None), which also reports errors.
    """
    if not text or text[0] in _NOT_A_KEY:  # nothing, or something before the first key: rare
        return None
    starts = [0, *(hit.end() for hit in _NEXT_KEY.finditer(text))]
    parts = [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]
    items: list[tuple[Any, Any]] = []
    for part in parts:
        item = _PARSED_KEYS.get(part)
        if item is None:
            # A merge key, or a first line that is no key line (each part ends its last line with "\n").
            if part[0] == "<" or not _KEY_LINE.match(line_body(part[: part.index("\n") + 1])):
                return None
            # One part a parse: parsed together, a part that swallowed the next and one that held two keys
            # would give the right count of keys for the wrong parts.
            parsed = _simple_part(part)
            if parsed is None:
                try:
                    parsed = load_yaml(part)
                except NoteSyntaxError:
                    return None
            if type(parsed) is not dict or len(parsed) != 1:
                return None
            if len(_PARSED_KEYS) >= _PARSED_KEYS_MAX:
                _PARSED_KEYS.clear()
            item = _PARSED_KEYS[part] = next(iter(parsed.items()))
        items.append(item)
    data = dict(items)
    return data if len(data) == len(parts) else None  # a key met twice: the whole parse says so


# A part that is one "key: value" line of the plainest kind: a key of letters, digits, "_" and "-", and a
# value starting with a letter, digit or "_" that holds no character YAML gives a meaning to in a plain
# scalar (":", "#", quotes, brackets, tabs...).  YAML reads such a line as {key: value}, two strings with
# the value's trailing blanks dropped, unless an implicit resolver (null, bool, int, float) claims one.
_SIMPLE_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*): +([A-Za-z0-9_][A-Za-z0-9_ .,/()+-]*?) *\r?\n")


def _simple_part(part: str) -> dict[str, str] | None:
    """What ``load_yaml(part)`` gives for a part ``_SIMPLE_PART`` matches whole (None: ask the parser).

    The ids, titles and dates that differ from note to note are such lines: a parse of each cost ~4 us.
    """
    simple = _SIMPLE_PART.fullmatch(part)
    if simple is None:
        return None
    key, value = simple.groups()
    resolvers = _Loader.yaml_implicit_resolvers
    for scalar in (key, value):
        # The resolvers PyYAML's Resolver.resolve tries: those for the first character, then any for all.
        for _tag, pattern in (*resolvers.get(scalar[0], ()), *resolvers.get(None, ())):
            if pattern.match(scalar):
                return None
    return {key: value}


# A line that starts a top-level key: any line but an indented one, a "- item" of a list at column 0, a
# blank line or a comment (those go on the key above).
_NOT_A_KEY = frozenset(" \t-#\r\n")
_NEXT_KEY = re.compile(r"\n(?=[^ \t\-#\r\n])")


def _fence(line: str) -> str:
    return line_body(line).rstrip(" \t")


@record
class NoteMeta:
    """The frontmatter keys the tool reads, typed; everything else is in ``extra`` as parsed."""

    title: str | None = None
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tech_stack: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    confidence_score: float | None = None
    source_trust_level: str | None = None
    verification_status: str | None = None
    last_reinforced: str | None = None
    claims: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


_KNOWN = frozenset(f.name for f in fields(NoteMeta)) - {"extra"}


def note_meta(
    fm: Frontmatter, lines: Sequence[str], owned: Sequence[str] = ("verification_status", "last_reinforced")
) -> NoteMeta:
    """Read the typed view of a note's frontmatter; a wrongly typed key is a ``NoteSyntaxError``.

    ``owned``: the keys refresh writes (the vault's ``status_key`` and ``date_key``), which must hold a
    single value.  ``verification_status`` and ``last_reinforced`` are read as single values when they are
    such; in a vault that owns other keys they are the note's own business.
    """
    data = fm.data

    def where(key: str) -> int | None:
        index = key_lines(lines, fm).get(key)
        return None if index is None else index + 1

    def scalar(key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise NoteSyntaxError(f"frontmatter: {key!r} must be a single value", where(key))
        return value if isinstance(value, str) else _yaml_str(value)

    def strings(key: str, *, split: bool = False) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            # Obsidian's older tag syntax: "tags: a, b" or "tags: a b".
            items: list[Any] = re.split(r"[,\s]+", value) if split else [value]
        elif isinstance(value, list):
            items = value
        else:
            raise NoteSyntaxError(f"frontmatter: {key!r} must be a string or a list of strings", where(key))
        if any(isinstance(item, (dict, list)) for item in items):
            raise NoteSyntaxError(f"frontmatter: {key!r} must be a list of strings", where(key))
        out = (item if isinstance(item, str) else _yaml_str(item) for item in items if item is not None)
        return tuple(item for item in out if item)

    tech_stack = data.get("tech_stack")
    if tech_stack is None:
        tech_stack = {}
    elif not isinstance(tech_stack, dict):
        raise NoteSyntaxError(
            "frontmatter: 'tech_stack' must be a mapping (indented 'key: value' lines)", where("tech_stack")
        )

    for key in owned:
        if key:
            scalar(key)

    def lenient(key: str) -> str | None:
        value = data.get(key)
        return None if value is None or isinstance(value, (dict, list)) else scalar(key)

    score = data.get("confidence_score")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise NoteSyntaxError(
                f"frontmatter: 'confidence_score' is {_yaml_str(score)}; it must be a number from 0 to 1",
                where("confidence_score"),
            )
        score = float(score)

    return NoteMeta(
        title=scalar("title"),
        aliases=strings("aliases"),
        tags=tuple(tag.removeprefix("#") for tag in strings("tags", split=True)),
        tech_stack=MappingProxyType(tech_stack),
        confidence_score=score,
        source_trust_level=scalar("source_trust_level"),
        verification_status=lenient("verification_status"),
        last_reinforced=lenient("last_reinforced"),
        claims=strings("claims"),
        extra=MappingProxyType({key: value for key, value in data.items() if key not in _KNOWN}),
    )


def _yaml_str(value: Any) -> str:
    """Spell a parsed scalar the way YAML wrote it (``true``, ``null``), not the Python way."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return str(value)


# A top-level "key: rest" line.  Keys the tool owns are plain or quoted words; complex keys are not matched.
_KEY_LINE = re.compile(
    r"""(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-?:,\[\]{}&*!|>%@`][^:#]*?)[ \t]*:(?=[ \t]|$)"""
)


def _key_name(raw: str) -> str:
    if raw[:1] == '"':
        try:
            return str(json.loads(raw))
        except ValueError:  # a YAML-only escape such as "\x41": the key is not one the tool owns
            return raw[1:-1]
    if raw[:1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw


def key_lines(lines: Sequence[str], fm: Frontmatter) -> dict[str, int]:
    """Map each top-level key to the 0-based index of its line."""
    out: dict[str, int] = {}
    for index in range(fm.start + 1, fm.end):
        match = _KEY_LINE.match(line_body(lines[index]))
        if match:
            out.setdefault(_key_name(match["key"]), index)
    return out


def set_keys(lines: Sequence[str], fm: Frontmatter, updates: Mapping[str, str], newline: str) -> list[str]:
    """Set top-level scalar keys, editing only their lines; a new key goes just before the closing ``---``.

    The key's spelling, the spacing after its colon, a trailing ``# comment`` and the old value's quoting
    style are kept.  A key whose value spans several lines raises ``NoteSyntaxError`` rather than guess.
    """
    lone = first_lone_cr(lines, fm.start, fm.end)
    if lone is not None:
        # YAML reads a lone CR as a line break, the line model does not: a key after one would be missed
        # here and added again ("duplicate key").
        raise NoteSyntaxError(
            "frontmatter: a lone carriage return (CR) on this line, which YAML reads as a line break; "
            "the owned keys were not updated: save the note with LF or CRLF line endings",
            lone + 1,
        )
    out = list(lines)
    where = key_lines(lines, fm)
    added: list[str] = []
    for key, value in updates.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"frontmatter value for {key!r} must be a single line")
        index = where.get(key)
        if index is None:
            added.append(f"{_render_key(key)}: {_render_value(value, None)}{newline}")
        else:
            out[index] = _edit_line(lines, fm, index, value)
    out[fm.end : fm.end] = added
    _verify(out, fm, updates)
    return out


def _edit_line(lines: Sequence[str], fm: Frontmatter, index: int, value: str) -> str:
    line = lines[index]
    body = line_body(line)
    match = _KEY_LINE.match(body)
    assert match is not None
    head, rest = body[: match.end()], body[match.end() :]
    space = rest[: len(rest) - len(rest.lstrip(" \t"))]
    rest = rest[len(space) :]
    key = _key_name(match["key"])
    here = index + 1

    def refuse(what: str) -> NoteSyntaxError:
        return NoteSyntaxError(f"frontmatter: {key!r} {what}; set it to a single value by hand", here)

    quote: str | None = None
    if rest[:1] in ('"', "'"):
        quote = rest[0]
        pattern = r'"(?:[^"\\]|\\.)*"' if quote == '"' else r"'(?:[^']|'')*'"
        closed = re.match(pattern, rest)
        if closed is None:
            raise refuse("is a quoted value that spans several lines")
        tail = rest[closed.end() :]
    elif rest[:1] in ("|", ">"):
        raise refuse("is a block of several lines")
    elif rest[:1] in ("[", "{"):
        raise refuse("is a list or mapping, not a single value")
    elif rest[:1] in ("&", "*", "!"):
        raise refuse("uses a YAML anchor, alias or tag")
    else:
        comment = re.search(r"(?:^|[ \t])#", rest)
        plain = rest[: comment.start()] if comment else rest
        tail = rest[len(plain.rstrip(" \t")) :]
        if _continues(lines, fm, index):
            raise refuse("spans several lines" if plain.strip() else "holds nested keys or a list")
    if not space:
        space = " "
    if tail and tail[0] not in " \t":
        tail = " " + tail  # "key: # note" had no value: keep the comment a comment after the new value
    return f"{head}{space}{_render_value(value, quote)}{tail}{line_ending(line)}"


def _continues(lines: Sequence[str], fm: Frontmatter, index: int) -> bool:
    """Whether the value starting on line ``index`` goes on below (indented lines, or a ``- item`` list)."""
    for follow in range(index + 1, fm.end):
        body = line_body(lines[follow])
        if not body.strip():
            continue
        if body.lstrip().startswith("#"):
            continue
        return body[0] in " \t" or body == "-" or body.startswith(("- ", "-\t"))
    return False


# A refresh writes the same few values (today's date, a status) into note after note: parse each once.
@functools.lru_cache(maxsize=256)
def _plain_ok(text: str) -> bool:
    """Whether ``text`` written plain reads back as the same string."""
    if text != text.strip() or not text:
        return False
    try:
        return bool(load_yaml(f"k: {text}\n") == {"k": text})
    except NoteSyntaxError:
        return False


def _render_value(value: str, quote: str | None) -> str:
    if quote == '"':
        return json.dumps(value, ensure_ascii=False)
    if quote == "'" or not _plain_ok(value):
        return "'" + value.replace("'", "''") + "'"
    return value


def _render_key(key: str) -> str:
    return key if _plain_ok(key) and _KEY_LINE.fullmatch(f"{key}:") else json.dumps(key, ensure_ascii=False)


def _verify(out: Sequence[str], fm: Frontmatter, updates: Mapping[str, str]) -> None:
    """Re-parse the edited frontmatter: the updated keys hold the new values and nothing else moved."""
    new = find_frontmatter(out)
    expected = {**fm.data, **updates}
    if new is None or dict(new.data) != expected:
        keys = ", ".join(repr(key) for key in updates)
        raise NoteSyntaxError(f"frontmatter: could not update {keys} safely; set it by hand", fm.start + 1)
