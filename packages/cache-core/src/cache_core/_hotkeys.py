"""Hot keys: a call's argument values as a dict key that stands for its cache key.

A hit on in-process storage should not build the ``repr`` key at all: the decorator
keeps a bounded index from the arguments themselves to the entry (``HotIndex``). That
is only sound when equal arguments always have equal keys, and ``==`` says less than
``repr`` does: ``1 == 1.0 == True``, ``0.0 == -0.0``, and a class may define ``==`` as
it likes. So an argument enters a hot key as a *faithful* component: a value whose
equality to another component implies that the two print alike.

- exact ``str``, ``int``, ``bytes``, ``None``, ``date``, ``timedelta``, ``UUID`` and IP
  addresses stand for themselves: no two of these types ever compare equal, and equal
  values of one of them print alike;
- ``bool`` and ``float`` are tagged with their type (and a float zero with its sign), so
  ``True``, ``1`` and ``1.0`` never meet, nor do ``0.0`` and ``-0.0``;
- a ``datetime`` or ``time`` stands for itself when it is naive or in UTC
  (``timezone.utc``) and its ``fold`` is 0: equal ones then have equal fields (one with
  another zone can equal it and print otherwise, and so can one with ``fold=1``);
- a ``Decimal`` is tagged with its text (``Decimal('1.0') == Decimal('1.00')``);
- a member of an enum whose values compare as ``int``, ``str``, ``float`` or ``bytes``
  (``IntEnum``, ``StrEnum``, ``IntFlag``...) is tagged with its class (``Level.LOW == 1``),
  and so is a POSIX path (``PurePosixPath("/a") == PosixPath("/a")``);
- a named tuple (``collections.namedtuple``, ``typing.NamedTuple``) keys as its class and
  the tuple of its fields' components, as a frozen dataclass does;
- a tuple of the values above stands for itself; any other tuple as its components,
  tagged. Every other component that is a tuple starts with a private tag or holds a
  tuple, so no untagged tuple meets one;
- frozen dataclasses as their class and the tuple of their fields' components (their
  ``repr`` is made of the fields);
- objects that compare, hash and print by identity (``object``'s own ``__eq__``,
  ``__hash__`` and ``__repr__``), classes, and plain ``Enum`` members stand for
  themselves: such an object equals only itself, and its key never changes.

Anything else (lists, dicts, sets, datetimes in other zones, subclasses of the builtins,
objects with their own ``__eq__`` or ``__repr__``) is tagged with its class and its
``repr``, the text the default key maker builds its key from: equal texts make equal
keys. A ``repr`` holding a memory address (``ADDRESS_MARK``) is not: the key maker
replaces the address, and an address is reused once its object dies. Those arguments,
and objects with ``__cache_key__``, have no hot key; their calls build their key every
time, which is always correct.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import operator
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from pathlib import PosixPath, PurePosixPath
from typing import Any, Final
from uuid import UUID

_BUILTIN_SIMPLE: Final = (str, int, bytes, type(None), date, timedelta, UUID, IPv4Address, IPv6Address)
#: Types whose values are their own faithful component: the builtins above, plus every
#: class found to compare, hash and print by identity (added when first classified, so
#: ``self`` and ``cls`` arguments take the same inline path as an ``int``). The compiled
#: wrappers test an argument against this set inline, before they call
#: ``hot_component`` for anything else. Performance over tidiness: a module-level set
#: that grows (``set.add`` is atomic), emptied back to the builtins with ``_components``.
SIMPLE: Final[set[type]] = set(_BUILTIN_SIMPLE)


class _Tag:
    """A private marker in tagged components: no user value is ever one."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<hot key tag {self.name}>"


NOT_HOT: Final = _Tag("not hot")  # returned for arguments that have no faithful component
_FLOAT: Final = _Tag("float")
_BOOL: Final = _Tag("bool")
_TUPLE: Final = _Tag("tuple")
_TYPED: Final = _Tag("typed")  # (_TYPED, where the floats are, values): see hot_values
_REPR: Final = _Tag("repr")
#: What marks a ``repr`` that holds a memory address (``<X object at 0x7f...>``).
ADDRESS_MARK: Final = " at 0x"
_DECIMAL: Final = _Tag("decimal")
_OF_TYPE: Final = _Tag("of type")  # (_OF_TYPE, kind, value): values faithful among their exact type's
_UTC: Final = timezone.utc
# Every named tuple class's __repr__ runs this code (it prints the class and the fields).
_NAMED_TUPLE_REPR: Final = collections.namedtuple("_NamedTuple", "").__repr__.__code__
# The __eq__ of an enum whose values compare as a builtin's: equal members are one member.
_VALUE_EQ: Final = (int.__eq__, str.__eq__, float.__eq__, bytes.__eq__)

_Component = Callable[[Any], Any]
_components: dict[type, _Component] = {}  # by exact type; bounded by _MOST_TYPES
_MOST_TYPES: Final = 1024
#: ``known_component(type(value), hot_component)(value)``: the component of a value whose
#: type was classified before, without the call through ``hot_component``.
known_component: Final = _components.get


def hot_component(value: Any) -> Any:
    """The faithful component of ``value``, or ``NOT_HOT``."""
    kind = type(value)
    if kind in SIMPLE:
        return value
    component = _components.get(kind)
    if component is None:
        component = _classify(kind)
        if len(_components) >= _MOST_TYPES:
            _components.clear()
            SIMPLE.intersection_update(_BUILTIN_SIMPLE)
        _components[kind] = component
        if component is _itself:
            SIMPLE.add(kind)
    return component(value)


def hot_values(values: tuple[Any, ...]) -> Any:
    """The hot key of a fixed number of arguments: their components, or ``NOT_HOT``."""
    # The common cases, without a call per value. Performance over tidiness: for the few
    # values calls pass, this loop costs half of ``SIMPLE.issuperset(map(type, values))``.
    floats = 0  # a bit per position, set where a nonzero float is
    bit = 1
    for value in values:
        kind = type(value)
        if kind is float and value:  # equal nonzero floats print alike
            floats |= bit
        elif kind not in SIMPLE:
            break
        bit <<= 1
    else:
        # Simple values and nonzero floats stand for themselves, with where the floats are
        # (among these types only an int and a float can compare equal).
        return (_TYPED, floats, values) if floats else values
    parts = []
    known = _components.get
    for value in values:
        kind = type(value)
        if kind in SIMPLE:
            part = value
        elif kind is float and value:  # _float's component of a nonzero float, without the call
            part = (_FLOAT, value)
        else:
            part = known(kind, hot_component)(value)
            if part is NOT_HOT:
                return NOT_HOT
        parts.append(part)
    return tuple(parts)


def hot_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The hot key of a call in canonical form that has ``**kwargs``.

    The positional arguments (their components) as one tuple, then the keyword
    arguments' names and then their components, in the order given (the length tells
    where names end): ``f(a=1, b=2)`` and ``f(b=2, a=1)`` get two hot keys for their one
    cache key, which costs the index a slot and nothing else.
    """
    positional = hot_values(args) if args else args
    if positional is NOT_HOT or not kwargs:
        return positional
    for value in kwargs.values():  # as in hot_values
        if type(value) not in SIMPLE:
            named = hot_values(tuple(kwargs.values()))
            return NOT_HOT if named is NOT_HOT else (positional, *kwargs, *named)
    return (positional, *kwargs, *kwargs.values())


def _float(value: float) -> Any:
    if value == 0.0:  # 0.0 == -0.0, but they print differently
        return (_FLOAT, value, str(value))
    return (_FLOAT, value)


def _bool(value: bool) -> Any:
    return (_BOOL, value)


def _tuple(value: tuple[Any, ...]) -> Any:
    # The common tuple, without a call per item (as in hot_values).
    for item in value:
        if type(item) not in SIMPLE:
            break
    else:
        return value
    parts = hot_values(value)
    return NOT_HOT if parts is NOT_HOT else (_TUPLE, *parts)


def _moment(value: datetime | time) -> Any:
    if value.fold or (value.tzinfo is not None and value.tzinfo is not _UTC):
        return _by_repr(value)
    return value


def _by_repr(value: Any) -> Any:
    text = repr(value)
    return NOT_HOT if ADDRESS_MARK in text else (_REPR, type(value), text)


def _decimal(value: Decimal) -> Any:
    return (_DECIMAL, str(value))


def _itself(value: Any) -> Any:
    return value


def _not_hot(value: Any) -> Any:
    return NOT_HOT


def _of_type(kind: type) -> _Component:
    """The component of a value whose equal values of ``kind`` print alike, but may equal other types' values."""
    return lambda value: (_OF_TYPE, kind, value)


def _classify(kind: type) -> _Component:  # noqa: PLR0911 - one return per kind of value
    """How values of exactly ``kind`` become components."""
    exact = _BY_TYPE.get(kind)
    if exact is not None:
        return exact
    if getattr(kind, "__cache_key__", None) is not None:
        return _not_hot
    params = getattr(kind, "__dataclass_params__", None)
    if params is not None and params.frozen and params.eq:
        names = [field.name for field in dataclasses.fields(kind)]
        if not names:
            return lambda value: (kind, ())
        # attrgetter of one name gives the bare value: one field is read twice, for a tuple.
        getter = operator.attrgetter(*names) if len(names) > 1 else operator.attrgetter(names[0], names[0])
        return _with_fields(kind, getter)
    if issubclass(kind, tuple) and is_named_tuple(kind):
        return _with_fields(kind, _itself)  # its own fields, in order
    by_identity = kind.__eq__ is object.__eq__  # type: ignore[comparison-overlap]
    if issubclass(kind, enum.Enum):  # members are singletons; IntEnum and the like compare as values
        return _itself if by_identity else _member(kind)
    if issubclass(kind, type):  # classes (a classmethod's first argument) are singletons too
        return _itself if by_identity else _by_repr
    if by_identity and kind.__hash__ is object.__hash__ and kind.__repr__ is object.__repr__:
        return _itself
    return _by_repr


_BY_TYPE: Final[dict[type, _Component]] = {
    float: _float,
    bool: _bool,
    tuple: _tuple,
    datetime: _moment,
    time: _moment,
    Decimal: _decimal,
    # A PurePosixPath equals a PosixPath of the same text, which prints otherwise. (Windows
    # paths are equal whatever their case, and print it: they are keyed by their repr.)
    PurePosixPath: _of_type(PurePosixPath),
    PosixPath: _of_type(PosixPath),
}


def _member(kind: type) -> _Component:
    """The component of a member of an enum whose members compare by value: tagged with its class."""
    if kind.__eq__ not in _VALUE_EQ:  # type: ignore[comparison-overlap]  # an __eq__ of its own: equal members may print otherwise
        return _by_repr
    return _of_type(kind)


def _with_fields(kind: type, fields_of: Callable[[Any], tuple[Any, ...]]) -> _Component:
    """The component of a value that prints as its class and its fields: ``(kind, fields' components)``."""

    def with_fields(value: Any) -> Any:
        parts = fields_of(value)
        for part in parts:  # as in _tuple
            if type(part) not in SIMPLE:
                parts = hot_values(parts)
                return NOT_HOT if parts is NOT_HOT else (kind, parts)
        return (kind, parts)

    return with_fields


def is_named_tuple(kind: type) -> bool:
    """A class made by ``namedtuple`` (or a subclass) that still compares, hashes and prints as one."""
    return (
        getattr(kind.__repr__, "__code__", None) is _NAMED_TUPLE_REPR
        and kind.__eq__ is tuple.__eq__  # type: ignore[comparison-overlap]
        and kind.__hash__ is tuple.__hash__  # type: ignore[comparison-overlap]
    )
