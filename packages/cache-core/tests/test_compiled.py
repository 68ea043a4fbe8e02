"""Wrappers compiled to the function's signature, and the hot index they read.

A function whose parameters are all positional gets a wrapper with the same
parameters, which answers hits from a hot index (arguments -> value) kept by the
in-memory backend. Whatever else happens to the backend, a call must return what the
backend holds: these tests change entries behind the decorator's back in every way
a user can and check the next call sees it.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from cache_core import DictCache, SyncDictCache, cached

from .conftest import FakeClock

MODES = ["sync", "async"]


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def make(mode: str, backend: Any, **options: Any) -> tuple[Any, list[Any]]:
    """A decorated ``get_user(user_id, suffix="")`` (sync or async) that records its calls."""
    calls: list[Any] = []

    if mode == "sync":

        def get_user(user_id, suffix=""):  # type: ignore[no-untyped-def]
            calls.append((user_id, suffix))
            return f"user-{user_id}{suffix}#{len(calls)}"

    else:

        async def get_user(user_id, suffix=""):  # type: ignore[no-untyped-def,misc]
            calls.append((user_id, suffix))
            return f"user-{user_id}{suffix}#{len(calls)}"

    return cached(cache=backend, **options)(get_user), calls


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def key_of(fn: Any, *args: Any) -> str:
    return f"{fn.__module__}.{fn.__qualname__}{args!r}"


async def test_the_wrapper_has_the_signature_and_binds_like_the_function(mode: str) -> None:
    get_user, calls = make(mode, DictCache())
    assert str(inspect.signature(get_user)) == "(user_id, suffix='')"
    assert inspect.iscoroutinefunction(get_user) is (mode == "async")
    first = await call(get_user, 7)
    assert await call(get_user, 7, "") == first
    assert await call(get_user, user_id=7) == first
    assert await call(get_user, 7, suffix="") == first
    assert len(calls) == 1
    with pytest.raises(TypeError):
        await call(get_user, 7, nope=1)
    with pytest.raises(TypeError):
        await call(get_user)


async def test_hits_come_from_the_index_and_are_counted(mode: str) -> None:
    get_user, calls = make(mode, DictCache())
    for _ in range(3):
        assert await call(get_user, 1) == "user-1#1"
    info = get_user.cache_info()
    assert (info.hits, info.misses, len(calls)) == (2, 1, 1)
    await call(get_user.cache_clear)
    assert get_user.cache_info().hits == 0


async def test_an_entry_enters_the_index_on_its_second_use(mode: str) -> None:
    """A key used once costs the hot index nothing: it is added on its first hit."""
    backend = DictCache()
    get_user, _ = make(mode, backend)
    (index,) = backend.nonblocking._indexes["default"].values()  # the function's hot index
    await call(get_user, 1)
    assert len(index) == 0
    await call(get_user, 1)
    assert len(index) == 1


async def test_equal_arguments_of_other_types_never_share_an_entry(mode: str) -> None:
    get_user, calls = make(mode, DictCache())
    values = [await call(get_user, argument) for argument in (1, True, 1.0, 1, True)]
    assert values == ["user-1#1", "user-True#2", "user-1.0#3", "user-1#1", "user-True#2"]
    assert len(calls) == 3


class Text(str):
    """A str subclass with an equal value, hash and repr: the typed option tells it apart, the index must too."""


async def test_subclass_arguments_skip_the_index(mode: str) -> None:
    backend = DictCache()
    get_user, _ = make(mode, backend)
    await call(get_user, "a")
    await backend.put(key_of(get_user, "a", ""), "replaced")
    assert await call(get_user, Text("a")) == "replaced"  # read from the backend, same repr, same key
    assert await call(get_user, "a") == "replaced"


async def test_a_direct_put_is_seen_by_the_next_call(mode: str) -> None:
    backend = DictCache()
    get_user, _ = make(mode, backend)
    assert await call(get_user, 1) == "user-1#1"
    await backend.put(key_of(get_user, 1, ""), "changed")
    assert await call(get_user, 1) == "changed"


async def test_remove_invalidate_and_clear_are_seen_by_the_next_call(mode: str) -> None:
    backend = DictCache()
    get_user, calls = make(mode, backend)
    await call(get_user, 1)
    assert await backend.remove(key_of(get_user, 1, ""))
    assert await call(get_user, 1) == "user-1#2"
    assert await call(get_user.invalidate, 1)
    assert await call(get_user, 1) == "user-1#3"
    await backend.clear()
    assert await call(get_user, 1) == "user-1#4"
    await call(get_user.cache_clear)
    assert await call(get_user, 1) == "user-1#5"
    assert len(calls) == 5


async def test_entries_with_a_ttl_expire_on_time(mode: str, clock: FakeClock) -> None:
    backend = DictCache(clock=clock)
    get_user, _ = make(mode, backend, ttl=10)
    assert await call(get_user, 1) == "user-1#1"
    clock.advance(9)
    assert await call(get_user, 1) == "user-1#1"
    clock.advance(1)
    assert await call(get_user, 1) == "user-1#2"


async def test_a_ttl_put_over_an_indexed_entry_expires(mode: str, clock: FakeClock) -> None:
    backend = DictCache(clock=clock)
    get_user, _ = make(mode, backend)
    await call(get_user, 1)
    await backend.put(key_of(get_user, 1, ""), "short-lived", ttl=5)
    assert await call(get_user, 1) == "short-lived"
    clock.advance(5)
    assert await call(get_user, 1) == "user-1#2"


async def test_lru_backends_keep_their_order(mode: str) -> None:
    backend = DictCache(maxsize=2)
    get_user, calls = make(mode, backend)
    await call(get_user, 1)
    await call(get_user, 2)
    await call(get_user, 1)  # 1 is now the most recent
    await call(get_user, 3)  # evicts 2
    await call(get_user, 1)
    assert len(calls) == 3
    await call(get_user, 2)
    assert len(calls) == 4


async def test_changing_the_backend_repoints_the_wrapper(mode: str) -> None:
    from cache_core import Cache

    front = Cache(DictCache())
    calls: list[int] = []

    if mode == "sync":

        @front
        def square(n):  # type: ignore[no-untyped-def]
            calls.append(n)
            return n * n

    else:

        @front
        async def square(n):  # type: ignore[no-untyped-def]
            calls.append(n)
            return n * n

    assert await call(square, 3) == 9
    assert await call(square, 3) == 9
    front.backend = DictCache()
    assert await call(square, 3) == 9
    assert calls == [3, 3]
    front.backend = bounded = DictCache(maxsize=10)  # no hot index: misses go through fetch
    assert await call(square, 4) == 16
    assert await call(square, 4) == 16
    assert calls == [3, 3, 4]
    assert len(bounded) == 1


async def test_many_keys_beyond_the_index_bound(mode: str) -> None:
    get_user, calls = make(mode, DictCache())
    for user_id in range(5000):  # more than the index holds (4096): it starts over
        await call(get_user, user_id)
    for user_id in range(5000):
        assert await call(get_user, user_id) == f"user-{user_id}#{user_id + 1}"
    assert len(calls) == 5000


def test_positional_only_parameters_and_awkward_names() -> None:
    backend = SyncDictCache()

    @cached(cache=backend)
    def scale(type, missing=2, /, hits=3):  # type: ignore[no-untyped-def]  # names the wrapper's own code uses
        return type * missing * hits

    assert str(inspect.signature(scale)) == "(type, missing=2, /, hits=3)"
    assert scale(1) == 6
    assert scale(1, 2, hits=3) == 6
    assert scale.cache_info().hits == 1
    with pytest.raises(TypeError):
        scale(type=1)


def test_parameters_named_like_the_miss_path_helpers() -> None:
    @cached(cache=SyncDictCache())
    def helpers(key, value, state, fn, flights, write, seconds=1):  # type: ignore[no-untyped-def]  # noqa: PLR0917
        return (key, value, state, fn, flights, write, seconds)

    assert helpers(1, 2, 3, 4, 5, 6) == (1, 2, 3, 4, 5, 6, 1)
    assert helpers(1, 2, 3, 4, 5, 6, seconds=1) == (1, 2, 3, 4, 5, 6, 1)
    assert helpers.cache_info().hits == 1


def test_functions_with_other_signatures_keep_the_generic_wrapper() -> None:
    backend = SyncDictCache()

    @cached(cache=backend)
    def join(*parts: str, sep: str = "-") -> str:
        return sep.join(parts)

    assert join("a", "b") == "a-b"
    assert join("a", "b", sep="-") == "a-b"
    assert join.cache_info().hits == 1


def test_methods_classmethods_and_staticmethods_compile_too() -> None:
    class Prices:
        rate = 2

        def __init__(self, name: str) -> None:
            self.name = name

        def __repr__(self) -> str:
            return f"Prices({self.name!r})"

        @cached(cache=SyncDictCache())
        def price(self, amount):  # type: ignore[no-untyped-def]
            return (self.name, amount * self.rate)

        @cached(cache=SyncDictCache())
        @classmethod
        def doubled(cls, amount):  # type: ignore[no-untyped-def]
            return amount * cls.rate

        @cached(cache=SyncDictCache())
        @staticmethod
        def tripled(amount):  # type: ignore[no-untyped-def]
            return amount * 3

    shop = Prices("a")
    assert shop.price(5) == ("a", 10)
    assert Prices("b").price(5) == ("b", 10)
    assert shop.price(5) == ("a", 10)
    assert Prices.doubled(5) == 10
    assert Prices.tripled(5) == 15
    assert shop.tripled(5) == 15


def test_concurrent_writes_never_leave_the_index_stale() -> None:
    """Threads calling, putting and removing the same keys: every call ends on what the backend holds."""
    backend = SyncDictCache()

    @cached(cache=backend)
    def value_of(n):  # type: ignore[no-untyped-def]
        return ("computed", n)

    keys = {n: key_of(value_of, n) for n in range(8)}
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            n = i % 8
            if i % 3:
                backend.put(keys[n], ("put", n, i))
            else:
                backend.remove(keys[n])
            i += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for i in range(20000):
            value_of(i % 8)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    for n in range(8):
        expected = backend.get_or_default(keys[n], None)
        got = value_of(n)
        if expected is not None:
            assert got == expected
        assert backend.get(keys[n]) == got


async def test_async_concurrent_misses_run_once_through_the_compiled_wrapper() -> None:
    runs: list[int] = []

    @cached(cache=DictCache())
    async def slow(n):  # type: ignore[no-untyped-def]
        runs.append(n)
        await asyncio.sleep(0.01)
        return n * 2

    assert await asyncio.gather(*(slow(4) for _ in range(10))) == [8] * 10
    assert runs == [4]


def test_sync_concurrent_misses_run_once_through_the_compiled_wrapper() -> None:
    runs: list[int] = []
    started = threading.Barrier(8)

    @cached(cache=SyncDictCache())
    def slow(n):  # type: ignore[no-untyped-def]
        runs.append(n)
        threading.Event().wait(0.05)
        return n * 2

    results: list[int] = []

    def worker() -> None:
        started.wait()
        results.append(slow(4))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [8] * 8
    assert runs == [4]
