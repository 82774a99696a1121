"""``vault_tools.records``: the value classes behave as ``@dataclass(frozen=True, slots=True)`` ones do."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from types import MappingProxyType
from typing import Any

import pytest

from vault_tools.records import FrozenRecordError, as_dict, field, fields, record, replace


@record
class Point:
    """A record with a required field, defaults, a factory and a field left out of == and repr."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    seen: list[int] = field(default_factory=list)
    note: str = field(default="", compare=False, repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class PointDC:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    seen: list[int] = dataclasses.field(default_factory=list)
    note: str = dataclasses.field(default="", compare=False, repr=False)


@record
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")
        object.__setattr__(self, "value", self.value * 2)  # frozen records may still set in __post_init__


@record
class Tagged:
    value: int
    note: str = field(default="", compare=False)


@record
class Shown:
    """A record with its own repr and pickling."""

    value: Any

    def __repr__(self) -> str:
        return "shown"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Shown, (dict(self.value),))


@record(frozen=False)
class Counter:
    name: str
    counts: dict[str, int] = field(default_factory=dict)


CASES: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1,), {}),
    ((1, 2), {"tags": ("a",)}),
    ((), {"x": 3, "note": "n"}),
]


@pytest.mark.parametrize(("args", "kwargs"), CASES)
def test_construction_and_repr_match_a_frozen_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    ours, theirs = Point(*args, **kwargs), PointDC(*args, **kwargs)
    assert repr(ours) == repr(theirs).replace("PointDC", "Point")
    assert (ours.x, ours.y, ours.tags, ours.seen, ours.note) == (
        theirs.x,
        theirs.y,
        theirs.tags,
        theirs.seen,
        theirs.note,
    )


def test_equality_and_hash_follow_the_compared_fields() -> None:
    assert Point(1, 2) == Point(1, 2, note="other")  # compare=False
    assert Point(1, 2) != Point(1, 3)
    other: object = PointDC(1)
    assert Point(1) != other  # another class is never equal
    assert hash(Tagged(1, "a")) == hash(Tagged(1, "b")) and Tagged(1, "a") == Tagged(1, "b")
    assert {Checked(1), Checked(1)} == {Checked(1)}
    for unhashable in (Point(1), PointDC(1)):  # a list field makes both kinds unhashable alike
        with pytest.raises(TypeError):
            hash(unhashable)


def test_equality_and_hash_are_those_of_the_field_tuple() -> None:
    nan = float("nan")
    item = Tagged(nan)  # type: ignore[arg-type]
    assert item == item and Tagged(1) == Tagged(1) and hash(Tagged(1)) == hash((1,))
    assert hash(Checked(2)) == hash((4,))


def test_each_instance_gets_its_own_factory_value() -> None:
    a, b = Point(1), Point(1)
    a.seen.append(1)
    assert b.seen == []


def test_frozen_fields_cannot_be_assigned_or_deleted_and_there_is_no_dict() -> None:
    p = Point(1)
    with pytest.raises(FrozenRecordError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenRecordError):
        del p.x
    with pytest.raises(AttributeError):
        p.other = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")
    assert isinstance(FrozenRecordError("x"), AttributeError)


def test_post_init_runs_on_every_construction_path() -> None:
    assert Checked(2).value == 4
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)
    assert replace(Checked(1), value=5).value == 10
    assert pickle.loads(pickle.dumps(Checked(3))).value == 12  # rebuilt through __init__


def test_arguments_are_checked_like_a_function_call() -> None:
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, (), [], "", "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        replace(Point(1), z=2)


def test_a_required_field_after_a_default_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_replace_fields_as_dict_pickle_and_copy() -> None:
    p = Point(1, 2, ("a",), note="kept")
    q = replace(p, y=5)
    assert (q.x, q.y, q.tags, q.note) == (1, 5, ("a",), "kept")
    assert [f.name for f in fields(Point)] == ["x", "y", "tags", "seen", "note"]
    assert as_dict(p) == {"x": 1, "y": 2, "tags": ("a",), "seen": [], "note": "kept"}
    for twin in (pickle.loads(pickle.dumps(p)), copy.copy(p), copy.deepcopy(p)):
        assert twin == p and twin.note == "kept" and type(twin) is Point


def test_a_class_keeps_its_own_dunder_methods() -> None:
    item = Shown(MappingProxyType({"a": 1}))
    assert repr(item) == "shown"
    assert pickle.loads(pickle.dumps(item)).value == {"a": 1}


def test_mutable_records_can_be_assigned_and_are_unhashable() -> None:
    c = Counter("a")
    c.counts["x"] = 1
    c.name = "b"
    assert c == Counter("b", {"x": 1})
    with pytest.raises(TypeError):
        hash(c)


def test_match_args_follow_the_field_order() -> None:
    match Point(1, 2):
        case Point(x, y):
            assert (x, y) == (1, 2)
        case _:
            pytest.fail("no match")
