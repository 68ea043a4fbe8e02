"""Hot keys are faithful: two calls that share a hot-index slot always share their cache key.

A hit on in-process storage is answered from an index keyed by the arguments' components
(see ``cache_core._hotkeys``) before any cache key is built. If two arguments with different
keys had equal components, the second call would get the first one's value. These tests
draw arguments built to look alike (tuples that spell out another value's component,
classes next to their instances, numbers equal across types) and require every call to
return what the plain function returns for that argument.
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from pathlib import PosixPath, PurePosixPath, PureWindowsPath
from typing import Any, NamedTuple
from uuid import UUID

from cache_core import DictCache, cached
from hypothesis import example, given, settings
from hypothesis import strategies as st


@dataclass(frozen=True)
class Pair:
    x: Any
    y: Any


@dataclass(frozen=True)
class One:
    x: Any


@dataclass(frozen=True)
class Empty:
    pass


class Token:
    """Compares, hashes and prints by identity."""


TOKEN = Token()


class Level(enum.IntEnum):
    ONE = 1
    TWO = 2


class Other(enum.IntEnum):
    ONE = 1


class Name(str, enum.Enum):
    ONE = "1"


class Color(enum.Enum):
    ONE = 1


Point = collections.namedtuple("Point", "x y")


class Spot(NamedTuple):
    x: Any
    y: Any


PLUS_ONE = timezone(timedelta(hours=1))
NOON = datetime(2024, 3, 31, 12, 0)
MOMENTS = [
    NOON,
    NOON.replace(fold=1),
    NOON.replace(tzinfo=timezone.utc),
    NOON.replace(tzinfo=timezone.utc).astimezone(PLUS_ONE),  # the same instant, printed otherwise
    NOON.replace(tzinfo=timezone(timedelta(0), "UTC")),  # equal to UTC, printed otherwise
    NOON.date(),
    NOON.time(),
    NOON.time().replace(tzinfo=timezone.utc),
    NOON.time().replace(fold=1),
    timedelta(hours=12),
    timedelta(seconds=43200),
]
VALUES = [Decimal("1"), Decimal("1.0"), Decimal("1.00"), Decimal("-0"), UUID(int=1), UUID(int=2)]
VALUES += [IPv4Address(1), IPv4Interface("0.0.0.1/32"), IPv6Address(1)]
VALUES += [PurePosixPath("/a"), PosixPath("/a"), PureWindowsPath("/a"), PureWindowsPath("/A"), "/a"]
MEMBERS = [Level.ONE, Level.TWO, Other.ONE, Name.ONE, Color.ONE]


class Shown:
    """Compares by value and prints like a list: keyed by its repr, as the key maker keys it."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (Shown, list)) and list(self) == list(other)

    def __iter__(self) -> Any:
        return iter(self.items)

    def __repr__(self) -> str:
        return repr(self.items)

    __hash__ = None  # type: ignore[assignment]  # unhashable, as a list


class Loose:
    """Equal to every other Loose, printed with its memory address."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Loose)

    __hash__ = object.__hash__


leaves = st.one_of(
    st.integers(-2, 2),
    st.sampled_from([0.0, -0.0, 1.0, True, False, None, b"", b"1", "", "1", Pair, One, Empty, TOKEN, Token]),
    st.sampled_from([*MOMENTS, *VALUES, *MEMBERS]),
)
arguments = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(inner),
        st.tuples(inner, inner),
        st.tuples(st.sampled_from([Pair, One, Empty]), inner, inner),
        st.tuples(st.sampled_from([Pair, One, Empty]), st.tuples(inner, inner)),
        st.builds(Pair, inner, inner),
        st.builds(One, inner),
        st.just(Empty()),
        st.builds(Point, inner, inner),
        st.builds(Spot, inner, inner),
        st.lists(inner, max_size=2),
        st.dictionaries(st.sampled_from(["a", 1, 1.0]), inner, max_size=2),
        st.builds(Shown, st.lists(inner, max_size=2)),
    ),
    max_leaves=6,
)


def plain(value: Any) -> str:
    return repr(value)


def typed_plain(value: Any) -> str:
    return f"{type(value).__qualname__}:{value!r}"


def _swap_number(value: Any) -> Any:
    if type(value) is int:
        return float(value)
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def lookalikes(value: Any) -> list[Any]:  # noqa: PLR0911 - one return per kind of value
    """Values that spell out ``value``'s component in another form, or share its ``==``."""
    kind = type(value)
    if kind in (Pair, One, Empty):
        fields = tuple(vars(value).values())
        return [(kind, *fields), (kind, fields), (kind, (*fields, *fields)), fields]
    if kind is tuple:
        found: list[Any] = [tuple(reversed(value)), tuple(-item if type(item) is float else item for item in value)]
        found.append(tuple(_swap_number(item) for item in value))  # 1 <-> 1.0 in every place
        if len(value) == 2:
            found.append(Pair(*value))
        if len(value) == 1:
            found.append(One(value[0]))
        if value and value[0] in (Pair, One, Empty):
            found.append(value[1:])
        return found
    if kind in (list, Shown):
        items = list(value)
        return [items, Shown(items), tuple(items), repr(items), {str(i): item for i, item in enumerate(items)}]
    if kind is dict:
        return [list(value.items()), tuple(value.items()), repr(value), {repr(k): v for k, v in value.items()}]
    if kind in (Point, Spot):
        return [tuple(value), Spot(*value) if kind is Point else Point(*value), Pair(*value), (kind, tuple(value))]
    if kind in (int, float, bool):
        return [int(value), float(value), bool(value), -value, Decimal(value), *MEMBERS]
    if kind in (datetime, time, date, timedelta):
        return MOMENTS
    if kind in (Decimal, UUID, IPv4Address, IPv6Address, PurePosixPath, PosixPath) or isinstance(value, enum.Enum):
        return [*VALUES, *MEMBERS, 1, 1.0, "1"]
    return []


@settings(max_examples=300, deadline=None)
@given(first=arguments, second=arguments)
@example(first=(1, 2.0), second=(1.0, 2))  # equal, an int and a float in swapped places
@example(first=(0.0, "a"), second=(-0.0, "a"))
def test_one_argument_never_gets_another_arguments_value(first: Any, second: Any) -> None:
    f = cached(cache=DictCache())(plain)
    g = cached(cache=DictCache(), typed=True)(typed_plain)  # values that print alike, typed apart
    calls = [first, second, *lookalikes(first), *lookalikes(second)]
    for value in calls + calls:  # each twice: the second call is answered from the hot index
        assert f(value) == plain(value)
        assert g(value) == typed_plain(value)


@settings(max_examples=200, deadline=None)
@given(first=st.tuples(arguments, arguments), second=st.tuples(arguments, arguments))
def test_two_arguments_and_star_args_never_get_another_calls_value(first: Any, second: Any) -> None:
    def two(a: Any, b: Any) -> str:
        return repr((a, b))

    def star(*args: Any) -> str:
        return repr(args)

    f, g = cached(cache=DictCache())(two), cached(cache=DictCache())(star)
    for call in (first, first, second, second, first):
        assert f(*call) == two(*call)
        assert g(*call) == star(*call)
        assert g(call) == star(call)


def test_an_argument_printed_with_its_address_never_answers_for_a_later_object() -> None:
    # Each Loose is a new object to the key maker (an identity token, never reused), though
    # a new one often lands at the address of the last one, and prints alike.
    runs: list[int] = []

    @cached(cache=DictCache())
    def f(value: Any) -> int:
        runs.append(1)
        return len(runs)

    for expected in range(1, 51):
        value = Loose()
        assert f(value) == expected
        assert f(value) == expected  # the same object: a hit
        del value


def test_a_mutated_list_argument_is_a_new_call() -> None:
    f = cached(cache=DictCache())(plain)
    items = [1, 2]
    assert f(items) == "[1, 2]"
    items.append(3)
    assert f(items) == "[1, 2, 3]"
    assert f(items) == "[1, 2, 3]"
    assert f.cache_info().hits == 1
