from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault_tools.pipeline.frontmatter import (
    Frontmatter,
    NoteMeta,
    find_frontmatter,
    key_lines,
    load_yaml,
    note_meta,
    set_keys,
)
from vault_tools.pipeline.text import NoteSyntaxError, split_lines

# The frontmatter of seeds/000 as it was in the vault (the scrape lost the nested indentation).
SEED = """\
---
id: wiki-2026-0508-parameter
title: Parameter
category: 10_Wiki/Topics
status: verified
canonical_id: self
aliases: [Model Parameter, Weight, Trainable Parameter]
duplicate_of: none
source_trust_level: A
confidence_score: 0.95
verification_status: applied
tags: [parameter, weight, hyperparameter, ml-fundamentals]
raw_sources: []
last_reinforced: 2026-05-10
github_commit: pending
tech_stack:
  language: python
  framework: pytorch
---

# Parameter
"""


def _fm(text: str) -> tuple[list[str], Frontmatter]:
    lines = split_lines(text)
    fm = find_frontmatter(lines)
    assert fm is not None
    return lines, fm


def test_seed_frontmatter() -> None:
    lines, fm = _fm(SEED)
    assert (fm.start, fm.end, fm.body_start) == (0, 18, 19)
    assert fm.data["last_reinforced"] == "2026-05-10"
    assert fm.data["tech_stack"] == {"language": "python", "framework": "pytorch"}
    assert note_meta(fm, lines) == NoteMeta(
        title="Parameter",
        aliases=("Model Parameter", "Weight", "Trainable Parameter"),
        tags=("parameter", "weight", "hyperparameter", "ml-fundamentals"),
        tech_stack={"language": "python", "framework": "pytorch"},
        confidence_score=0.95,
        source_trust_level="A",
        verification_status="applied",
        last_reinforced="2026-05-10",
        claims=(),
        extra={
            "id": "wiki-2026-0508-parameter",
            "category": "10_Wiki/Topics",
            "status": "verified",
            "canonical_id": "self",
            "duplicate_of": "none",
            "raw_sources": [],
            "github_commit": "pending",
        },
    )


@pytest.mark.parametrize(
    "text",
    ["", "# Title\n---\na: 1\n---\n", "\n---\na: 1\n---\n", "----\na: 1\n----\n", "--- a\n---\n"],
)
def test_no_frontmatter(text: str) -> None:
    assert find_frontmatter(split_lines(text)) is None


@pytest.mark.parametrize(
    ("text", "end", "data"),
    [
        ("---\n---\n", 1, {}),
        ("---\n# only a comment\n---\nbody", 2, {}),
        ("---\r\na: x\r\n---\r\n", 2, {"a": "x"}),
        ("---\na: x\n...\n", 2, {"a": "x"}),
        ("---  \na: x\n---\t\n", 2, {"a": "x"}),
        ("\ufeff---\na: x\n---", 2, {"a": "x"}),
        ("---\n1: x\n---\n", 2, {"1": "x"}),
    ],
)
def test_find_frontmatter(text: str, end: int, data: dict[str, Any]) -> None:
    fm = find_frontmatter(split_lines(text))
    assert fm is not None
    assert (fm.start, fm.end, fm.body_start, dict(fm.data)) == (0, end, end + 1, data)


# YAML 1.2 core schema, as Obsidian reads it: none of YAML 1.1's surprises.
@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2026-05-10", "2026-05-10"),
        ("2026-05-10 12:00:00", "2026-05-10 12:00:00"),
        ("10:00", "10:00"),
        ("190:20:30", "190:20:30"),
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("0755", 755),
        ("0o17", 15),
        ("0x1F", 31),
        ("-12", -12),
        ("1_000", "1_000"),
        ("0.95", 0.95),
        ("1e3", 1000.0),
        (".inf", float("inf")),
        ("'0.95'", "0.95"),
        ("[[Note]]", [["Note"]]),
        ('"[[Note]]"', "[[Note]]"),
        ("=", "="),
    ],
)
def test_scalars_follow_yaml_1_2(value: str, parsed: object) -> None:
    _, fm = _fm(f"---\nk: {value}\n---\n")
    assert fm.data["k"] == parsed
    assert type(fm.data["k"]) is type(parsed)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (
            "---\na: 1\n",
            "frontmatter opened on line 1 is never closed; add a line '---' after its last key",
            1,
        ),
        (
            "---\ntitle: Parameter\nsummary: counts: 7B\n---\n",
            "invalid YAML: mapping values are not allowed in this context; "
            "quote the value if it contains ': '",
            3,
        ),
        ("---\na: [1, 2\n---\n", "invalid YAML: did not find expected ',' or ']'", 3),
        (
            "---\na: 1\nb: 2\n# c\na: 3\n---\n",
            "duplicate key 'a' (first on line 2); keep one of them",
            5,
        ),
        (
            "---\nt:\n  x: 1\n  x: 2\n---\n",
            "duplicate key 'x' (first on line 3); keep one of them",
            4,
        ),
        ("---\n- a\n- b\n---\n", "frontmatter must be a list of 'key: value' lines", 2),
        (
            "---\r\na: 1\r\n\tb: 2\r\n---\r\n",
            "invalid YAML: found a tab character that violates indentation; indent with spaces, not tabs",
            3,
        ),
        (
            "---\na: *nothing\n---\n",
            "invalid YAML: found undefined alias; quote values that start with '*'",
            2,
        ),
        (
            "---\na: !!python/name:os.system x\n---\n",
            "invalid YAML: could not determine a constructor "
            "for the tag 'tag:yaml.org,2002:python/name:os.system'",
            2,
        ),
    ],
)
def test_frontmatter_errors(text: str, message: str, line: int) -> None:
    with pytest.raises(NoteSyntaxError) as info:
        find_frontmatter(split_lines(text))
    assert (info.value.message, info.value.line) == (message, line)


@pytest.mark.parametrize(
    ("yaml", "field", "value"),
    [
        ("aliases: Weight", "aliases", ("Weight",)),
        ("aliases: [A, 7B]", "aliases", ("A", "7B")),
        ("aliases:\n  - A\n  - 7", "aliases", ("A", "7")),
        ("aliases:", "aliases", ()),
        ("tags: ml,#params  weights", "tags", ("ml", "params", "weights")),
        ("tags: ['#a', b]", "tags", ("a", "b")),
        ("claims:\n  - 7B params\n  - 13.5 GB in fp16", "claims", ("7B params", "13.5 GB in fp16")),
        ("confidence_score: 1", "confidence_score", 1.0),
        ("confidence_score: 0", "confidence_score", 0.0),
        ("last_reinforced: 2026-05-10", "last_reinforced", "2026-05-10"),
        ("verification_status: true", "verification_status", "true"),
        ("title: 2024", "title", "2024"),
        ("tech_stack:", "tech_stack", {}),
    ],
)
def test_note_meta_fields(yaml: str, field: str, value: object) -> None:
    lines, fm = _fm(f"---\n{yaml}\n---\n")
    assert getattr(note_meta(fm, lines), field) == value


@pytest.mark.parametrize(
    ("yaml", "message", "line"),
    [
        (
            "a: 1\nconfidence_score: 1.5",
            "frontmatter: 'confidence_score' is 1.5; it must be a number from 0 to 1",
            3,
        ),
        (
            "confidence_score: high",
            "frontmatter: 'confidence_score' is high; it must be a number from 0 to 1",
            2,
        ),
        (
            "confidence_score: true",
            "frontmatter: 'confidence_score' is true; it must be a number from 0 to 1",
            2,
        ),
        (
            "tech_stack: python",
            "frontmatter: 'tech_stack' must be a mapping (indented 'key: value' lines)",
            2,
        ),
        ("aliases: {a: 1}", "frontmatter: 'aliases' must be a string or a list of strings", 2),
        ("aliases: [[a]]", "frontmatter: 'aliases' must be a list of strings", 2),
        ("title: [a]", "frontmatter: 'title' must be a single value", 2),
    ],
)
def test_note_meta_errors(yaml: str, message: str, line: int) -> None:
    lines, fm = _fm(f"---\n{yaml}\n---\n")
    with pytest.raises(NoteSyntaxError) as info:
        note_meta(fm, lines)
    assert (info.value.message, info.value.line) == (message, line)


SET_CASES = [
    # (old line, value, new line)
    ("verification_status: applied\n", "verified", "verification_status: verified\n"),
    (
        "verification_status:   applied   # by hand\n",
        "verified",
        "verification_status:   verified   # by hand\n",
    ),
    ("verification_status:\tapplied\n", "verified", "verification_status:\tverified\n"),
    ("verification_status : applied\n", "verified", "verification_status : verified\n"),
    ('verification_status: "applied"\n', "verified", 'verification_status: "verified"\n'),
    ("verification_status: 'applied'\n", "it's", "verification_status: 'it''s'\n"),
    ('"verification_status": applied\n', "verified", '"verification_status": verified\n'),
    ("verification_status:\n", "verified", "verification_status: verified\n"),
    ("verification_status: # todo\n", "verified", "verification_status: verified # todo\n"),
    ("verification_status: applied\r\n", "verified", "verification_status: verified\r\n"),
    ("last_reinforced: 2026-05-10\n", "2026-11-23", "last_reinforced: 2026-11-23\n"),
    ("verification_status: x\n", "yes", "verification_status: yes\n"),
    ("verification_status: x\n", "true", "verification_status: 'true'\n"),
    ("verification_status: x\n", "0.5", "verification_status: '0.5'\n"),
    ("verification_status: x\n", "null", "verification_status: 'null'\n"),
    ("verification_status: x\n", "a: b", "verification_status: 'a: b'\n"),
    ("verification_status: x\n", "#1", "verification_status: '#1'\n"),
    ("verification_status: x\n", "[[Note]]", "verification_status: '[[Note]]'\n"),
    ("verification_status: x\n", "", "verification_status: ''\n"),
    ("verification_status: x\n", "검증됨", "verification_status: 검증됨\n"),
    ('verification_status: "x"\n', 'say "hi"', 'verification_status: "say \\"hi\\""\n'),
]


@pytest.mark.parametrize(("old", "value", "new"), SET_CASES)
def test_set_keys_edits_the_line_in_place(old: str, value: str, new: str) -> None:
    key = "last_reinforced" if old.startswith("last") else "verification_status"
    lines, fm = _fm(f"---\nid: x  # keep\n{old}tags: [a, '[[b]]']\n---\nbody\n")
    out = set_keys(lines, fm, {key: value}, "\n")
    assert out == [*lines[:2], new, *lines[3:]]
    new_fm = find_frontmatter(out)
    assert new_fm is not None
    assert new_fm.data[key] == value


def test_set_keys_on_the_seed_changes_two_lines_and_adds_one() -> None:
    lines, fm = _fm(SEED)
    out = set_keys(
        lines,
        fm,
        {"verification_status": "verified", "last_reinforced": "2026-11-23", "vault_tools": "1"},
        "\n",
    )
    expected = list(lines)
    expected[10] = "verification_status: verified\n"
    expected[13] = "last_reinforced: 2026-11-23\n"
    expected.insert(18, "vault_tools: '1'\n")
    assert out == expected


def test_set_keys_inserts_with_the_note_newline() -> None:
    lines, fm = _fm("---\r\na: 1\r\n---\r\n")
    assert set_keys(lines, fm, {"status": "ok", "my key": "x"}, "\r\n") == [
        "---\r\n",
        "a: 1\r\n",
        "status: ok\r\n",
        "my key: x\r\n",
        "---\r\n",
    ]


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("verification_status: |\n  a\n", "is a block of several lines"),
        ("verification_status: >-\n  a\n", "is a block of several lines"),
        ("verification_status:\n  by: me\n", "holds nested keys or a list"),
        ("verification_status:\n- a\n", "holds nested keys or a list"),
        ("verification_status: one\n  two\n", "spans several lines"),
        ("verification_status: one\n\n  two\n", "spans several lines"),
        ('verification_status: "one\n  two"\n', "is a quoted value that spans several lines"),
        ("verification_status: [a, b]\n", "is a list or mapping, not a single value"),
        ("verification_status: &s x\n", "uses a YAML anchor, alias or tag"),
    ],
)
def test_set_keys_refuses_multi_line_values(yaml: str, message: str) -> None:
    lines, fm = _fm(f"---\nid: 1\n{yaml}---\n")
    with pytest.raises(NoteSyntaxError) as info:
        set_keys(lines, fm, {"verification_status": "verified"}, "\n")
    assert (
        info.value.message
        == f"frontmatter: 'verification_status' {message}; set it to a single value by hand"
    )
    assert info.value.line == 3


def test_set_keys_ignores_nested_keys_of_the_same_name() -> None:
    lines, fm = _fm("---\nold:\n  status: x\n---\n")
    assert set_keys(lines, fm, {"status": "y"}, "\n") == [*lines[:3], "status: y\n", lines[3]]


def test_key_lines() -> None:
    lines, fm = _fm(SEED)
    where = key_lines(lines, fm)
    assert where["title"] == 2
    assert where["tech_stack"] == 15
    assert "language" not in where


# Property: set_keys rewrites exactly the lines of the keys it sets (plus appended new keys).
_values = st.sampled_from(
    ["x", "verified", "2026-11-23", "yes", "a: b", "true", "#c", "it's", "[[N]]", "", "10:00", "7B"]
)
_SCALAR_KINDS = ("{k}: plain\n", "{k}: 'single'  # c\n", '{k}: "double"\n', "{k}:\n")
_line_kinds = st.sampled_from(
    [
        *_SCALAR_KINDS,
        "{k}: [a, '[[b]]']\n",
        "{k}:\n  nested: 1\n",
        "# comment {k}\n",
        "\n",
    ]
)


@given(st.lists(_line_kinds, min_size=1, max_size=8), st.data())
def test_set_keys_touches_only_its_lines(kinds: list[str], data: st.DataObject) -> None:
    body = "".join(kind.format(k=f"k{i}") for i, kind in enumerate(kinds))
    lines, fm = _fm(f"---\n{body}---\nbody\n")
    scalar = [f"k{i}" for i, kind in enumerate(kinds) if kind in _SCALAR_KINDS]
    keys = data.draw(st.lists(st.sampled_from([*scalar, "new1", "new2"]), unique=True))
    updates = {key: data.draw(_values) for key in keys}
    out = set_keys(lines, fm, updates, "\n")
    where = key_lines(lines, fm)
    touched = {where[key] for key in updates if key in where}
    added = sum(key not in where for key in updates)
    assert len(out) == len(lines) + added
    for i in range(fm.end):
        assert (out[i] != lines[i]) <= (i in touched)
    assert [line.split(":")[0] for line in out[fm.end : fm.end + added]] == [
        k for k in updates if k not in where
    ]
    assert out[fm.end + added :] == lines[fm.end :]
    new = find_frontmatter(out)
    assert new is not None
    assert dict(new.data) == {**fm.data, **updates}


def test_each_caller_gets_its_own_copy_of_a_remembered_frontmatter() -> None:
    """Parses are remembered per text; what a caller does to its values never reaches the next caller."""
    lines = split_lines("---\ntags: [a, b]\nnested: {k: [1]}\n---\n")
    first = find_frontmatter(lines)
    assert first is not None
    first.data["tags"].append("changed")
    first.data["nested"]["k"].append(2)
    again = find_frontmatter(lines)
    assert again is not None
    assert again.data["tags"] == ["a", "b"] and again.data["nested"] == {"k": [1]}


def test_sets_and_ordered_maps_are_copied_too() -> None:
    lines = split_lines("---\ns: !!set {a: null}\no: !!omap [{k: {x: 1}}]\n---\n")
    first = find_frontmatter(lines)
    assert first is not None
    first.data["s"].add("b")
    first.data["o"][0][1]["y"] = 2
    again = find_frontmatter(lines)
    assert again is not None and again.data["s"] == {"a"} and again.data["o"] == [("k", {"x": 1})]


# Plain documents (str keys, core-schema scalars, lists and mappings) are built without PyYAML's
# constructor; everything else goes through it.  Both ways must give the same data and the same errors.
@pytest.mark.parametrize(
    ("yaml", "data"),
    [
        ("1: a\n1.0: b", {"1": "b"}),  # equal keys of other tags: the last one wins, as in PyYAML
        ("true: a\n1: b", {"true": "b"}),
        ("'1': a\n1: b", {"1": "b"}),
        ("a: 0x10\n16: b", {"a": 16, "16": "b"}),
        ("a: &x [1, 2]\nb: *x", {"a": [1, 2], "b": [1, 2]}),
        ("base: &b {x: 1}\nd:\n  <<: *b\n  y: 2", {"base": {"x": 1}, "d": {"x": 1, "y": 2}}),
        ("d:\n  <<: {a: 1}\n  a: 2", {"d": {"a": 2}}),
        ("d:\n  <<: {a: 1}\n  <<: {b: 2}", {"d": {"a": 1, "b": 2}}),
        (
            "a: !!int '42'\nb: !!bool yes\nc: !!float '1'\nd: !!str 0x1F\ne: !!null x",
            {"a": 42, "b": True, "c": 1.0, "d": "0x1F", "e": None},
        ),
        (
            "a: [{b: [0o17, .NaN, -.inf, ~]}]",
            {"a": [{"b": [15, pytest.approx(float("nan"), nan_ok=True), float("-inf"), None]}]},
        ),
    ],
)
def test_documents_beyond_the_plain_ones_parse_as_pyyaml_does(yaml: str, data: dict[str, Any]) -> None:
    _, fm = _fm(f"---\n{yaml}\n---\n")
    assert dict(fm.data) == data


@pytest.mark.parametrize(
    ("yaml", "message", "line"),
    [
        (".nan: a\n.nan: b", "duplicate key '.nan' (first on line 2); keep one of them", 3),
        ("!!str 1: a\n'1': b", "duplicate key '1' (first on line 2); keep one of them", 3),
        ("a: [{b: 1}, {c: 2, c: 3}]", "duplicate key 'c' (first on line 2); keep one of them", 2),
        (
            "a:\n  - x: 1\n    y: [1, {z: 1, z: 2}]",
            "duplicate key 'z' (first on line 4); keep one of them",
            4,
        ),
        ("a: !!str [1]", "invalid YAML: expected a scalar node, but found sequence", 2),
        ("a: 1\nk:\n  ? [a]\n  : b", "invalid YAML: found unhashable key", 4),
        # Values a tag cannot read used to escape as KeyError/ValueError: a traceback in validate.
        (
            "a: 1\nb: !!bool maybe",
            "invalid YAML: !!bool cannot read 'maybe'; fix the value or drop the tag",
            3,
        ),
        ("b: !!int x", "invalid YAML: !!int cannot read 'x'; fix the value or drop the tag", 2),
        ("c: [1, !!float abc]", "invalid YAML: !!float cannot read 'abc'; fix the value or drop the tag", 2),
        ("d: !!timestamp x", "invalid YAML: !!timestamp cannot read 'x'; fix the value or drop the tag", 2),
    ],
)
def test_errors_beyond_the_plain_documents(yaml: str, message: str, line: int) -> None:
    with pytest.raises(NoteSyntaxError) as info:
        find_frontmatter(split_lines(f"---\n{yaml}\n---\n"))
    assert (info.value.message, info.value.line) == (message, line)


def test_an_alias_stays_one_shared_value() -> None:
    data = load_yaml("a: &x [1, 2]\nb: *x\nc: &y {k: *x}\nd: *y\n")
    assert data["a"] is data["b"] and data["c"] is data["d"] and data["d"]["k"] is data["a"]


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, levels)]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("yaml", "message", "line"),
    [
        # Found in review: 8 levels (300 bytes) took a refresh 60 s and 2.3 GB; 5 levels (66,430 values) pass.
        (_alias_bomb(8), "repeat this value into more than 100,000 values", 7),
        # Found in review: refresh crashed with a RecursionError while check said the tables were missing.
        ("a: &a [*a]\ntitle: x", "holds an alias (*name) of itself", 2),
        ("a: &a {k: [1, *a]}", "holds an alias (*name) of itself", 2),
    ],
)
def test_aliases_that_never_end_or_explode_are_refused(yaml: str, message: str, line: int) -> None:
    with pytest.raises(NoteSyntaxError) as info:
        find_frontmatter(split_lines(f"---\n{yaml}\n---\n"))
    assert message in info.value.message and info.value.line == line
    assert info.value.message.startswith("invalid YAML: ")


def test_aliases_within_the_bound_are_read() -> None:
    fm = find_frontmatter(split_lines(f"---\n{_alias_bomb(5)}\n---\n"))
    assert fm is not None and len(fm.data["a4"]) == 9


# Lines a frontmatter may hold, the usual and the awkward: values that reach into the next key's line,
# keys that are not plain, merge keys, aliases, hidden line breaks.  Each top-level key's lines are
# parsed on their own and remembered (frontmatter._by_keys); put together they must give exactly what the
# whole document gives, or leave the document to the whole parse.
_PIECES = [
    "id: wiki-1", "title: Topic 1", 'title: "Topic: 2"', "title: 'it''s'", "aliases: [A, B]", "aliases:",
    "  - A", "- B", "tags: [a,", "  b]", "b]", "tech_stack:", "  language: python", "    deep: 1",
    "score: 0.95", "n: 01", "1: a", "1.0: b", "null: x", "~: y", "a: &anc [1, 2]", "b: *anc", "<<: {m: 1}",
    "d: |", "  block", "line at zero", "", "# comment", "  # indented", 'f: "open', 'g: close"', "h: x # c",
    "date: 2026-05-10", "yes: no", "x:y", "? complex", ": v", "\tk: v", "a: 1", "'a': 2", "l: {a: 1,",
    "m: 2}", "t: !!str 5", "v: !!set {a, b}", "k: v\u2028z: w", "k2: v\rq: r", "-5: neg", "매: 한국어",
    'q: "multi', '  line"', "r: plain", "  continued", "dup: 1", "dup: 1", "%TAG ! x", "[x]: y",
]  # fmt: skip


@settings(max_examples=1500)  # many pieces: the awkward pairs need many tries
@given(st.lists(st.sampled_from(_PIECES), max_size=10), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_frontmatter_read_key_by_key_is_the_whole_parse(pieces: list[str], newline: str, fresh: bool) -> None:
    from vault_tools.pipeline import frontmatter

    if fresh:
        frontmatter._PARSED_KEYS.clear()
    text = "".join(piece + newline for piece in pieces)
    by_keys = frontmatter._by_keys(text)
    if by_keys is None:
        return
    whole = load_yaml(text)  # raises if the document is not valid: the key-by-key read must not say it is
    assert repr(by_keys) == repr(whole)


@pytest.mark.parametrize(
    "text",
    [
        'a: "x\nb: y"\n',  # a quoted value runs over the next key's line
        "a: [1,\nb: 2]\n",
        "<<: {m: 1}\na: 2\n",  # a merge key
        "a: 1\n'a': 2\n",  # a key twice
        "k: v\u2028z: w\n",  # a line break PyYAML reads inside a line: two keys in one part
        "? a\n: b\n",  # an explicit key
        "# a comment first\na: 1\n",
        "a: 1\nplain text\n",
        "",
    ],
)
def test_frontmatter_key_by_key_leaves_the_rest_to_the_whole_parse(text: str) -> None:
    from vault_tools.pipeline import frontmatter

    assert frontmatter._by_keys(text) is None


def test_a_key_read_before_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from vault_tools.pipeline import frontmatter

    first = "id: 1\nstatus: verified\ntags: [a, b]\n"
    assert frontmatter._by_keys(first) == {"id": 1, "status": "verified", "tags": ["a", "b"]}
    parsed: list[str] = []
    real = frontmatter.load_yaml

    def counted(text: str, first_line: int = 1) -> Any:
        parsed.append(text)
        return real(text, first_line)

    monkeypatch.setattr(frontmatter, "load_yaml", counted)
    second = "id: 2\nstatus: verified\ntags: [a, b]\n"
    assert frontmatter._by_keys(second) == {"id": 2, "status": "verified", "tags": ["a", "b"]}
    assert parsed == ["id: 2\n"]


_SCALAR_PIECES = [*"aAzZ_09-. ,/()+", "true", "False", "null", "NULL", "0x1f", "0o7", "1e3", ".5", "inf", "e"]


@settings(max_examples=1500)
@given(
    st.lists(st.sampled_from(_SCALAR_PIECES), min_size=1, max_size=6),
    st.lists(st.sampled_from(_SCALAR_PIECES), min_size=1, max_size=8),
    st.sampled_from([": ", ":  ", ": \t", ":"]),
    st.sampled_from(["\n", "\r\n", "  \n", "\t\n", ""]),
)
def test_a_plain_one_line_part_is_read_as_yaml_reads_it(
    key: list[str], value: list[str], colon: str, end: str
) -> None:
    """The ids, titles and dates of a frontmatter are read without the parser: the same values, or None."""
    from vault_tools.pipeline import frontmatter

    part = "".join(key) + colon + "".join(value) + end
    fast = frontmatter._simple_part(part)
    if fast is not None:
        assert repr(fast) == repr(load_yaml(part))


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("id: wiki-2026-04911\n", {"id": "wiki-2026-04911"}),
        ("title: Topic 04911  \r\n", {"title": "Topic 04911"}),
        ("last_reinforced: 2026-05-10\n", {"last_reinforced": "2026-05-10"}),  # no timestamps in YAML 1.2
        ("n: 01\n", None),  # an int: the parser says so
        ("flag: True\n", None),
        ("title: 'quoted'\n", None),
        ("title: a: b\n", None),
    ],
)
def test_plain_one_line_parts(part: str, value: dict[str, str] | None) -> None:
    from vault_tools.pipeline import frontmatter

    assert frontmatter._simple_part(part) == value
    if value is not None:
        assert load_yaml(part) == value


def test_a_plain_one_line_part_defers_to_any_resolver_of_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from vault_tools.pipeline import frontmatter

    resolvers = frontmatter._Loader.yaml_implicit_resolvers
    assert frontmatter._simple_part("id: wiki-1\n") == {"id": "wiki-1"}
    # A resolver for any first character (PyYAML files those under None) claims the value: the parser decides.
    monkeypatch.setitem(resolvers, None, [("tag:example.org,2026:id", re.compile(r"^wiki-\d+$"))])
    assert frontmatter._simple_part("id: wiki-1\n") is None


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_breaks_inside_a_value_are_the_value_s(brk: str) -> None:
    """Found in review: PyYAML breaks lines at LS, PS and NEL, so "title: Some<LS>Title" (pasted from a web
    page) failed to parse, with an error on a later line; Obsidian reads it as one title."""
    _lines, fm = _fm(f"---\ntitle: Some{brk}Title\naliases: [x{brk}y]\ntags: [a]\n---\n")
    assert dict(fm.data) == {"title": f"Some{brk}Title", "aliases": [f"x{brk}y"], "tags": ["a"]}
    lines_of = []
    for title in (f"Some{brk}Title", "SomeTitle"):
        with pytest.raises(NoteSyntaxError) as info:
            _fm(f"---\ntitle: {title}\nok: 1\nbad: [x\n---\n")
        lines_of.append(info.value.line)
    assert lines_of == [5, 5]  # an error after it is at the line the note has it on
