"""Backends users write themselves, in each of the three accepted ways, sync and async.

The stores below are what a user would write: the asyncio-caches API on a
subclass of ``Backend``/``AsyncBackend`` or on a plain class, cachetoolz's backend API,
and our own primitives. They keep entries in a ``Shelf`` that expires them on the test
clock and can be made to fail. Each is written once, sync; ``asynchronous`` derives
the async version (coroutine methods that yield to the loop once).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cache_core import (
    AsyncBackend,
    Backend,
    BackendAdapter,
    BackendError,
    Cache,
    CacheMiss,
    DictCache,
    Entry,
    JsonSerializer,
    cached,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import FakeClock

STYLES = ["primitives", "methods", "asyncio-caches", "cachetoolz"]
MODES = ["sync", "async"]


class Shelf:
    """The user's storage: values with an expiry instant on ``clock``; every call raises ``failure`` if set."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.items: dict[str, tuple[Any, float | None]] = {}
        self.failure: Exception | None = None

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def read(self, key: str) -> Any:
        """The live value of ``key``; ``KeyError`` if there is none."""
        self.check()
        value, expires_at = self.items[key]
        if expires_at is not None and expires_at <= self.clock.now():
            del self.items[key]
            raise KeyError(key)
        return value

    def write(self, key: str, value: Any, seconds: float | None) -> None:
        self.check()
        self.items[key] = (value, None if seconds is None else self.clock.now() + seconds)

    def drop(self, key: str) -> bool:
        self.check()
        return self.items.pop(key, None) is not None

    def drop_expired(self) -> int:
        self.check()
        now = self.clock.now()
        doomed = [key for key, (_, at) in self.items.items() if at is not None and at <= now]
        for key in doomed:
            del self.items[key]
        return len(doomed)

    def drop_all(self, prefix: str = "") -> None:
        self.check()
        for key in [key for key in self.items if key.startswith(prefix)]:
            del self.items[key]


# -- the four ways, written once (sync) ------------------------------------------------------------


class ShelfPrimitives:
    """Way 1: our storage primitives (mixed into ``Backend`` or ``AsyncBackend``)."""

    shelf: Shelf

    def _get(self, namespace: str, key: str) -> Entry | None:
        self.shelf.check()
        return self.shelf.items.get(f"{namespace}/{key}")

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        self.shelf.check()
        self.shelf.items[f"{namespace}/{key}"] = (payload, expires_at)

    def _remove(self, namespace: str, key: str) -> bool:
        return self.shelf.drop(f"{namespace}/{key}")

    def _remove_expired(self, now: float) -> int:
        return self.shelf.drop_expired()

    def _clear(self, namespace: str | None) -> None:
        self.shelf.drop_all("" if namespace is None else f"{namespace}/")


class SeedMethods:
    """Way 2: the asyncio-caches public methods, overridden on our base class."""

    shelf: Shelf

    def get(self, key: str) -> Any:
        try:
            return self.shelf.read(key)
        except KeyError:
            raise ValueError(key) from None

    def getOrDefault(self, key: str, default: Any = None) -> Any:
        try:
            return self.shelf.read(key)
        except KeyError:
            return default

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.shelf.write(key, value, ttl)

    def remove(self, key: str) -> bool:
        return self.shelf.drop(key)

    def remove_expired(self) -> int:
        return self.shelf.drop_expired()

    def clear(self) -> None:
        self.shelf.drop_all()


class SeedStore:
    """Way 3a: the asyncio-caches API without our base classes; ``get`` raises on a miss."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf

    def get(self, key: str) -> Any:
        try:
            return self.shelf.read(key)
        except KeyError:
            raise CacheMiss(key) from None

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.shelf.write(key, value, ttl)

    def remove(self, key: str) -> None:
        self.shelf.drop(key)

    def clear(self) -> None:
        self.shelf.drop_all()


class ToolzStore:
    """Way 3b: cachetoolz's backend API; like its InMemory, it splits keys at their one ``:``."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf
        self.expiries: list[timedelta] = []

    def get(self, key: str) -> str | None:
        namespace, key_hash = key.split(":")
        try:
            found: str = self.shelf.read(f"{namespace}:{key_hash}")
        except KeyError:
            return None
        return found

    def set(self, key: str, value: str, expires_at: timedelta) -> None:
        self.expiries.append(expires_at)
        self.shelf.write(key, value, expires_at.total_seconds())

    def clear(self, namespace: str) -> None:
        self.shelf.drop_all(f"{namespace}:")


def as_coroutine(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)  # keeps the signature, which the adapter reads
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0)
        return method(self, *args, **kwargs)

    return call


def asynchronous(cls: type[Any], *bases: type[Any]) -> type[Any]:
    """``cls`` with coroutine methods, derived from ``bases`` (default: ``cls`` itself)."""
    methods = {name: as_coroutine(value) for name, value in vars(cls).items() if inspect.isfunction(value)}
    methods.pop("__init__", None)
    return type(f"Async{cls.__name__}", bases or (cls,), methods)


SYNC_CLASSES: dict[str, type[Any]] = {
    "primitives": type("SyncShelfPrimitives", (ShelfPrimitives, Backend), {}),
    "methods": type("SyncSeedMethods", (SeedMethods, Backend), {}),
    "asyncio-caches": SeedStore,
    "cachetoolz": ToolzStore,
}
ASYNC_CLASSES: dict[str, type[Any]] = {
    "primitives": asynchronous(ShelfPrimitives, AsyncBackend),
    "methods": asynchronous(SeedMethods, AsyncBackend),
    "asyncio-caches": asynchronous(SeedStore),
    "cachetoolz": asynchronous(ToolzStore),
}


def make_store(style: str, mode: str, shelf: Shelf) -> Any:
    cls = (SYNC_CLASSES if mode == "sync" else ASYNC_CLASSES)[style]
    if style in ("primitives", "methods"):
        store = cls(serializer=JsonSerializer(), clock=shelf.clock) if style == "primitives" else cls()
        store.shelf = shelf
        return store
    return cls(shelf)


@pytest.fixture
def shelf(clock: FakeClock) -> Shelf:
    return Shelf(clock)


@pytest.fixture(params=[(style, mode) for style in STYLES for mode in MODES], ids="-".join)
def way(request: pytest.FixtureRequest) -> tuple[str, str]:
    style, mode = request.param
    return str(style), str(mode)


@pytest.fixture
def store(way: tuple[str, str], shelf: Shelf) -> Any:
    return make_store(*way, shelf)


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    return await result if inspect.isawaitable(result) else result


def counted(mode: str, runs: list[Any], result: Callable[[Any], Any] = lambda x: {"id": x}) -> Callable[..., Any]:
    """A function of the given mode that records each run."""
    if mode == "sync":

        def work(x: Any) -> Any:
            runs.append(x)
            return result(x)

        return work

    async def awork(x: Any) -> Any:
        runs.append(x)
        return result(x)

    return awork


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cache_core" and r.levelno >= logging.WARNING]


# -- every way works through the decorators ------------------------------------------------------


async def test_a_repeated_call_is_a_hit_stored_by_the_users_methods(
    way: tuple[str, str], store: Any, shelf: Shelf
) -> None:
    runs: list[Any] = []
    work = cached(cache=store)(counted(way[1], runs))
    assert await call(work, 1) == await call(work, 1) == {"id": 1}
    assert runs == [1]
    info = work.cache_info()
    assert (info.hits, info.misses, info.errors) == (1, 1, 0)
    assert len(shelf.items) == 1  # written through the user's own code


async def test_cache_front_and_cache_clear(way: tuple[str, str], store: Any) -> None:
    style, mode = way
    front = Cache(store, ttl=60)
    user_runs: list[Any] = []
    page_runs: list[Any] = []
    user = front(namespace="users")(counted(mode, user_runs))
    page = front(namespace="pages")(counted(mode, page_runs))

    def rename() -> str:
        return "renamed"

    async def arename() -> str:
        return "renamed"

    renamer = front.clear(namespaces=["users"])(rename if mode == "sync" else arename)
    for _ in range(2):
        await call(user, 1)
        await call(page, 1)
    assert (user_runs, page_runs) == ([1], [1])

    assert await call(renamer) == "renamed"
    await call(user, 1)
    await call(page, 1)
    assert user_runs == [1, 1]
    # A store whose clear() takes no namespace is emptied whole: never a stale entry left.
    clears_one_namespace = style in ("primitives", "cachetoolz")
    assert page_runs == ([1] if clears_one_namespace else [1, 1])


async def test_ttl_is_honoured(way: tuple[str, str], store: Any, clock: FakeClock) -> None:
    runs: list[Any] = []
    work = cached(cache=store, ttl=timedelta(seconds=10))(counted(way[1], runs))
    await call(work, 1)
    clock.advance(9)
    await call(work, 1)
    assert runs == [1]
    clock.advance(2)
    await call(work, 1)
    assert runs == [1, 1]


async def test_invalidate_and_cache_clear(way: tuple[str, str], store: Any) -> None:
    style, mode = way
    runs: list[Any] = []
    work = cached(cache=store, namespace="things")(counted(mode, runs))
    await call(work, 1)
    await call(work, 2)
    if style == "cachetoolz":  # cachetoolz backends have no remove: said, not ignored
        with pytest.raises(BackendError, match=r"ToolzStore has no remove\(\) method"):
            await call(work.invalidate, 1)
    else:
        await call(work.invalidate, 1)
        await call(work, 1)
        await call(work, 2)
        assert runs == [1, 2, 1]
    runs.clear()
    await call(work.cache_clear)
    await call(work, 1)
    await call(work, 2)
    assert runs == [1, 2]
    assert work.cache_info().hits == 0  # cache_clear reset the counters


async def test_an_async_function_uses_a_sync_store(shelf: Shelf) -> None:
    for style in STYLES:
        runs: list[Any] = []
        work = cached(cache=make_store(style, "sync", shelf), namespace=style)(counted("async", runs))
        assert await work(1) == await work(1) == {"id": 1}
        assert runs == [1], style


@pytest.mark.parametrize("style", STYLES)
def test_a_sync_function_cannot_use_an_async_store(style: str, shelf: Shelf) -> None:
    with pytest.raises(TypeError, match=r"is a sync function but \w+ is async-only"):
        cached(cache=make_store(style, "async", shelf))(counted("sync", []))


# -- failures of the user's code are backend failures: logged, fail-open -----------------------


async def test_errors_of_the_users_store_fail_open_and_are_logged(
    way: tuple[str, str], store: Any, shelf: Shelf, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[Any] = []
    work = cached(cache=store)(counted(way[1], runs))
    shelf.failure = OSError("disk on fire")
    assert await call(work, 1) == await call(work, 1) == {"id": 1}
    assert runs == [1, 1]
    assert work.cache_info().errors == 4  # a failed read and write per call
    logged = warnings(caplog)
    assert len(logged) == 1  # once per outage, not per call
    assert "disk on fire" in logged[0]
    assert type(store).__name__ in logged[0]

    shelf.failure = None
    await call(work, 1)
    await call(work, 1)
    assert runs == [1, 1, 1]
    assert "works again" in warnings(caplog)[-1]


async def test_errors_of_the_users_store_propagate_without_fail_open(
    way: tuple[str, str], store: Any, shelf: Shelf
) -> None:
    work = cached(cache=store, fail_open=False)(counted(way[1], []))
    shelf.failure = OSError("disk on fire")
    with pytest.raises(BackendError, match="disk on fire") as raised:
        await call(work, 1)
    assert isinstance(raised.value.__cause__, OSError)


# -- what each style means -------------------------------------------------------------------------


async def test_a_cached_none_is_a_hit(way: tuple[str, str], store: Any, shelf: Shelf) -> None:
    """cachetoolz's get returns None for a miss, but it stores text: a cached None is the text of null."""
    style, mode = way
    runs: list[Any] = []
    work = cached(cache=store)(counted(mode, runs, lambda _: None))
    assert await call(work, 1) is None
    assert await call(work, 1) is None
    assert runs == [1]
    if style == "cachetoolz":
        [(stored, _)] = shelf.items.values()
        assert isinstance(stored, str)


@pytest.mark.parametrize("mode", MODES)
async def test_what_a_cachetoolz_backend_receives(mode: str, shelf: Shelf) -> None:
    store = make_store("cachetoolz", mode, shelf)
    forever = cached(cache=store, namespace="ns:with:colons")(counted(mode, [], lambda x: {"id": x}))
    for_a_minute = cached(cache=store, namespace="short", ttl=60)(counted(mode, [], lambda x: [x]))
    await call(forever, "a:b")
    await call(for_a_minute, 2)
    assert store.expiries == [timedelta(weeks=20_000), timedelta(seconds=60)]
    keys = sorted(shelf.items)
    assert [key.count(":") for key in keys] == [1, 1]
    assert keys[0].startswith("ns%3Awith%3Acolons:")
    assert keys[1].startswith("short:")
    value = shelf.items[keys[0]][0]
    assert isinstance(value, str)  # text, as cachetoolz's coder gave its backends
    assert JsonSerializer().decode(value.encode()) == {"id": "a:b"}


async def test_a_zero_ttl_on_a_store_without_remove_stores_nothing(shelf: Shelf) -> None:
    runs: list[Any] = []
    work = cached(cache=make_store("cachetoolz", "async", shelf), ttl=lambda *_: 0)(counted("async", runs))
    await work(1)
    await work(1)
    assert runs == [1, 1]
    assert work.cache_info().errors == 0
    assert shelf.items == {}


def test_methods_taking_namespaces_get_them(clock: FakeClock) -> None:
    class Namespaced(Backend):
        """Overrides our public methods with their own signatures, namespace= included."""

        def __init__(self) -> None:
            super().__init__()
            self.items: dict[tuple[str, str], Any] = {}

        def get(self, key: str | bytes, *, namespace: str = "default") -> Any:
            try:
                return self.items[namespace, str(key)]
            except KeyError:
                raise CacheMiss(key) from None

        def put(self, key: str | bytes, value: Any, ttl: object = None, *, namespace: str = "default") -> None:
            self.items[namespace, str(key)] = value

        def clear(self, namespace: str | None = None) -> None:
            for place in [place for place in self.items if namespace in (None, place[0])]:
                del self.items[place]

    store = Namespaced()
    front = Cache(store)
    runs: list[Any] = []
    user = front(namespace="users")(counted("sync", runs))
    page = front(namespace="pages")(counted("sync", runs))
    user(1)
    page(1)
    assert sorted(namespace for namespace, _ in store.items) == ["pages", "users"]
    front.clear(namespaces="users")(lambda: None)()
    user(1)
    page(1)
    assert runs == [1, 1, 1]  # only the users namespace was cleared


def test_what_is_bound(shelf: Shelf) -> None:
    primitives = make_store("primitives", "sync", shelf)
    assert Cache(primitives).backend is primitives  # implements the primitives: used as it is
    assert BackendAdapter.adapt(DictCache()).__class__ is DictCache
    for style in ("methods", "asyncio-caches", "cachetoolz"):
        for mode, base in (("sync", Backend), ("async", AsyncBackend)):
            store = make_store(style, mode, shelf)
            bound = Cache(store).backend
            assert isinstance(bound, BackendAdapter)
            assert isinstance(bound, base)
            assert bound.target is store
            assert bound.style == style
            assert repr(store) in repr(bound)


def test_an_adapted_store_offers_no_lock(shelf: Shelf) -> None:
    with pytest.raises(TypeError, match="offers no cross-process lock"):
        cached(cache=make_store("asyncio-caches", "sync", shelf), lock=True)(counted("sync", []))


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.text(min_size=1, max_size=8, alphabet=":%3Aab"), st.text(max_size=8, alphabet=":%3Aab")),
        st.integers(),
        max_size=12,
    )
)
def test_namespaces_and_keys_never_collide(entries: dict[tuple[str, str], int]) -> None:
    """Any namespace and key, ``:`` and ``%`` included, keep their own entry in a flat store."""
    for style in ("asyncio-caches", "cachetoolz"):
        shelf = Shelf(FakeClock())
        backend = BackendAdapter.adapt(make_store(style, "sync", shelf))
        assert isinstance(backend, Backend)
        for (namespace, key), value in entries.items():
            backend.put(key, value, namespace=namespace)
        for (namespace, key), value in entries.items():
            assert backend.get(key, namespace=namespace) == value
        assert len(shelf.items) == len(entries)
        if style == "cachetoolz" and entries:
            cleared = next(iter(entries))[0]
            backend.clear(cleared)
            for (namespace, key), value in entries.items():
                if namespace == cleared:
                    with pytest.raises(CacheMiss):
                        backend.get(key, namespace=namespace)
                else:
                    assert backend.get(key, namespace=namespace) == value


# -- what is refused, and how it is said --------------------------------------------------------


class OnlyGet:
    def get(self, key: str) -> Any: ...


class NoClear:
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: str, expires_at: timedelta) -> None: ...


class PutWithoutTTL:
    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: Any) -> None: ...


class AsyncMethodsOnSyncBackend(Backend):
    async def get(self, key: str) -> Any:  # type: ignore[override]
        return None

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:  # type: ignore[override]
        return None


MISFITS = [
    (object(), "object has no get and no put for the first and no get and no set and no clear"),
    ({}, "dict has no put for the first and no set for the second"),
    (OnlyGet(), "OnlyGet has no put for the first and no set and no clear"),
    (NoClear(), "NoClear has no put for the first and no clear for the second"),
    (PutWithoutTTL(), r"PutWithoutTTL.put must take \(key, value, ttl\)"),
    (DictCache, "not the class DictCache"),
    (AsyncMethodsOnSyncBackend(), "is a sync Backend but its get and put are async; subclass AsyncBackend"),
]


@pytest.mark.parametrize(("misfit", "message"), MISFITS, ids=lambda value: type(value).__name__)
def test_a_misfit_is_a_type_error_naming_what_is_missing(misfit: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        cached(cache=misfit)
    with pytest.raises(TypeError, match=message):
        Cache(misfit)
    with pytest.raises(TypeError, match=message):
        Cache(DictCache()).backend = misfit


@pytest.mark.parametrize("base", [AsyncBackend, Backend])
def test_a_subclass_with_neither_primitives_nor_public_methods_cannot_be_made(base: type[Any]) -> None:
    half = type("Half", (base,), {"_get": ShelfPrimitives._get, "get": SeedMethods.get})
    with pytest.raises(TypeError) as raised:
        half()
    assert str(raised.value) == (
        f"Half must implement the storage primitives of {base.__name__} "
        "(missing: _put, _remove, _remove_expired, _clear) or override its public methods instead "
        "(missing: put); see 'Writing your own backend' in the docs"
    )
