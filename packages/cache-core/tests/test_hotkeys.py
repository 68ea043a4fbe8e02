"""Hot keys are faithful: two calls that share a hot-index slot always share their cache key.

A hit on in-process storage is answered from an index keyed by the arguments' components
(see ``cache_core._hotkeys``) before any cache key is built. If two arguments with different
keys had equal components, the second call would get the first one's value. These tests
draw arguments built to look alike (tuples that spell out another value's component,
classes next to their instances, numbers equal across types) and require every call to
return what the plain function returns for that argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cache_core import DictCache, cached
from hypothesis import given, settings
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

leaves = st.one_of(
    st.integers(-2, 2),
    st.sampled_from([0.0, -0.0, 1.0, True, False, None, b"", b"1", "", "1", Pair, One, Empty, TOKEN, Token]),
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
    ),
    max_leaves=6,
)


def plain(value: Any) -> str:
    return repr(value)


def lookalikes(value: Any) -> list[Any]:
    """Values that spell out ``value``'s component in another form, or share its ``==``."""
    kind = type(value)
    if kind in (Pair, One, Empty):
        fields = tuple(vars(value).values())
        return [(kind, *fields), (kind, fields), (kind, (*fields, *fields)), fields]
    if kind is tuple:
        found: list[Any] = [tuple(reversed(value))]
        if len(value) == 2:
            found.append(Pair(*value))
        if len(value) == 1:
            found.append(One(value[0]))
        if value and value[0] in (Pair, One, Empty):
            found.append(value[1:])
        return found
    if kind in (int, float, bool):
        return [int(value), float(value), bool(value), -value]
    return []


@settings(max_examples=300, deadline=None)
@given(first=arguments, second=arguments)
def test_one_argument_never_gets_another_arguments_value(first: Any, second: Any) -> None:
    f = cached(cache=DictCache())(plain)
    calls = [first, second, *lookalikes(first), *lookalikes(second)]
    for value in calls + calls:  # each twice: the second call is answered from the hot index
        assert f(value) == plain(value)


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
