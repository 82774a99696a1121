"""``record``: value classes built as ``@dataclass(frozen=True, slots=True)`` builds them, but cheaply.

On Python 3.11, ``dataclasses`` compiles six functions with ``exec`` for every frozen class, about 0.45 ms a
class; a pre-commit run defines some 60 classes, and the ``dataclasses`` import brings ``inspect`` along, so
that was a fifth of the run.  ``record`` gives the same class (``__slots__``, frozen, ``__eq__``,
``__hash__``, ``__repr__``, ``__match_args__``, pickling, an ``__init__`` taking fields by position or by
name, with defaults, factories and ``__post_init__``) from shared closures.  ``__init__`` is the one
function that must be compiled to be fast; it is compiled when the class is first instantiated, so a class
that a run never instantiates costs next to nothing.

Type checkers see the decorator as a dataclass transform; ``replace``, ``fields`` and ``as_dict`` stand in
for their ``dataclasses`` namesakes.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from typing import Any, TypeVar, overload

_T = TypeVar("_T")
_F = TypeVar("_F")

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Python 3.10: type checkers read the 3.11 branch; at run time the marker is a no-op

    def dataclass_transform(**_options: Any) -> Callable[[_F], _F]:
        return lambda decorated: decorated


_MISSING: Any = type("_Missing", (), {"__repr__": lambda _self: "<missing>"})()


class FrozenRecordError(AttributeError):
    """A field of a frozen record was assigned or deleted."""


class Field:
    """One field of a record: its name, default or default factory, and whether ``==`` and repr see it."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr")

    def __init__(
        self,
        default: Any = _MISSING,
        default_factory: Callable[[], Any] | Any = _MISSING,
        compare: bool = True,
        repr: bool = True,  # the dataclasses spelling
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.default_factory is _MISSING


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | Any = _MISSING,
    compare: bool = True,
    repr: bool = True,  # the dataclasses spelling
) -> Any:
    """A field with options, as ``dataclasses.field`` (only the options this package uses)."""
    return Field(default, default_factory, compare, repr)


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, frozen: bool = True) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[_T] | None = None, /, *, frozen: bool = True) -> Any:
    """Make ``cls`` a slotted value class; frozen unless ``frozen=False``."""
    if cls is None:
        return lambda c: _build(c, frozen)
    return _build(cls, frozen)


def _build(cls: type[_T], frozen: bool) -> type[_T]:
    namespace = dict(cls.__dict__)
    fields: list[Field] = []
    for name in namespace.get("__annotations__", {}):
        value = namespace.pop(name, _MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        spec.name = name
        if spec.required and fields and not fields[-1].required:
            raise TypeError(f"non-default argument {name!r} follows default argument")
        fields.append(spec)
    names = tuple(f.name for f in fields)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    namespace["__slots__"] = names
    namespace["__record_fields__"] = tuple(fields)
    namespace.setdefault("__match_args__", names)
    namespace["__init__"] = _first_init
    namespace.setdefault("__reduce__", _reduce)
    compared = tuple(f.name for f in fields if f.compare)
    # Always a tuple, as dataclasses compares and hashes: (a,) == (a,) holds even for a NaN field.
    key = operator.attrgetter(*compared) if len(compared) > 1 else _single(compared)
    if "__eq__" not in namespace:
        namespace["__eq__"] = _eq(key)
    if "__repr__" not in namespace:
        namespace["__repr__"] = _repr(tuple(f.name for f in fields if f.repr))
    if frozen:
        namespace["__setattr__"] = _frozen_setattr
        namespace["__delattr__"] = _frozen_delattr
        if "__hash__" not in namespace:
            namespace["__hash__"] = lambda self: hash(key(self))
    elif "__hash__" not in namespace:
        namespace["__hash__"] = None  # mutable and compared by value: unhashable, as dataclasses makes it
    built: type[_T] = type(cls.__name__, cls.__bases__, namespace)
    built.__qualname__ = cls.__qualname__
    return built


def _single(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda _self: ()
    getter = operator.attrgetter(names[0])
    return lambda self: (getter(self),)


def _first_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """Compile the class's ``__init__``, put it in place, and run it (the first instantiation only)."""
    cls = type(self)
    init = _compile_init(cls)
    type.__setattr__(cls, "__init__", init)
    init(self, *args, **kwargs)


def _compile_init(cls: type) -> Callable[..., None]:
    fields: tuple[Field, ...] = cls.__record_fields__  # type: ignore[attr-defined]
    frozen = cls.__dict__.get("__setattr__") is _frozen_setattr
    scope: dict[str, Any] = {"_MISSING": _MISSING}
    params, body = ["self"], []
    for k, f in enumerate(fields):
        if f.default_factory is not _MISSING:
            scope[f"_factory{k}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"if {f.name} is _MISSING: {f.name} = _factory{k}()")
        elif f.default is not _MISSING:
            scope[f"_default{k}"] = f.default
            params.append(f"{f.name}=_default{k}")
        else:
            params.append(f.name)
    for k, f in enumerate(fields):
        if frozen:
            # The slot's own setter: object.__setattr__ would look the slot up by name every time.
            scope[f"_set{k}"] = cls.__dict__[f.name].__set__
            body.append(f"_set{k}(self, {f.name})")
        else:
            body.append(f"self.{f.name} = {f.name}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    exec(source, scope)  # our own generated code, as dataclasses does
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _eq(key: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _repr(shown: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({values})"

    return __repr__


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r}")


def _reduce(self: Any) -> tuple[type, tuple[Any, ...]]:
    """Pickle (worker processes) and copy by the fields, rebuilt through ``__init__``."""
    return type(self), tuple(getattr(self, f.name) for f in self.__record_fields__)


def fields(item: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    fields_: tuple[Field, ...] = item.__record_fields__
    return fields_


def replace(item: _T, /, **changes: Any) -> _T:
    """A copy of ``item`` with ``changes`` (``dataclasses.replace``)."""
    for f in item.__record_fields__:  # type: ignore[attr-defined]
        if f.name not in changes:
            changes[f.name] = getattr(item, f.name)
    return type(item)(**changes)


def as_dict(item: Any) -> dict[str, Any]:
    """The record's fields by name (one level, unlike ``dataclasses.asdict``)."""
    return {f.name: getattr(item, f.name) for f in item.__record_fields__}
