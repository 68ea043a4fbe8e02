"""DictCache and SyncDictCache used directly: the backend API users call.

The two classes behave the same; ``Driven`` awaits whatever a method returns, so one
test body covers both. Context managers differ by mode and have their own tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cache_core import (
    AsyncInMemory,
    BackendClosedError,
    CacheMiss,
    DictCache,
    InMemory,
    InvalidKeyError,
    InvalidTTLError,
    SyncDictCache,
)


class Driven:
    """A sync or async backend whose every method is awaited."""

    def __init__(self, backend: DictCache | SyncDictCache) -> None:
        self.backend = backend

    def __len__(self) -> int:
        return len(self.backend)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.backend, name)

        async def driven(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return driven


@pytest.fixture(params=["DictCache", "SyncDictCache"])
def make(request: pytest.FixtureRequest, clock: Any) -> Callable[..., Driven]:
    kind = DictCache if request.param == "DictCache" else SyncDictCache

    def make(maxsize: int | None = None, **options: Any) -> Driven:
        return Driven(kind(maxsize, clock=clock, **options))

    return make


@pytest.fixture
def store(make: Callable[..., Driven]) -> Driven:
    return make()


# -- get, get_or_default, put, remove -------------------------------------------------------------


async def test_get_of_a_missing_key_raises_cache_miss(store: Driven) -> None:
    with pytest.raises(CacheMiss) as raised:
        await store.get("nope")
    assert isinstance(raised.value, KeyError)
    assert isinstance(raised.value, ValueError)
    assert "nope" in str(raised.value)


async def test_put_then_get(store: Driven) -> None:
    value = {"a": [1, 2]}
    await store.put("k", value)
    assert await store.get("k") is value  # in memory: the object itself, not a copy
    await store.put("k", "replaced")
    assert await store.get("k") == "replaced"
    await store.put("none", None)
    assert await store.get("none") is None  # None is a value, not a miss


async def test_get_or_default(store: Driven) -> None:
    assert await store.get_or_default("k") is None
    assert await store.get_or_default("k", "fallback") == "fallback"
    assert await store.getOrDefault("k", default=0) == 0
    await store.put("k", "v")
    assert await store.get_or_default("k", "fallback") == "v"
    assert await store.getOrDefault("k") == "v"


async def test_bytes_keys_never_meet_str_keys(store: Driven) -> None:
    await store.put(b"caf\xc3\xa9", 1)
    await store.put("café", "str")
    await store.put(b"\xff", 2)
    await store.put("hex:ff", "str")
    assert await store.get(b"caf\xc3\xa9") == 1
    assert await store.get(b"\xff") == 2
    assert await store.get("café") == await store.get("hex:ff") == "str"


@pytest.mark.parametrize(
    ("ttl", "lives"),
    [(10, 10), (0.5, 0.5), (timedelta(minutes=2), 120), (None, None)],
    ids=["int", "float", "timedelta", "none"],
)
async def test_put_with_ttl(store: Driven, clock: Any, ttl: Any, lives: float | None) -> None:
    await store.put("k", "v", ttl=ttl)
    await store.put("other", "forever")
    if lives is None:
        clock.advance(1e9)
        assert await store.get("k") == "v"
        return
    clock.advance(lives - 0.001)
    assert await store.get("k") == "v"
    clock.advance(0.001)
    with pytest.raises(CacheMiss):
        await store.get("k")
    assert await store.get_or_default("k", "expired") == "expired"
    assert await store.get("other") == "forever"


async def test_put_with_min_max_ttl(store: Driven, clock: Any) -> None:
    await store.put("k", "v", (5, 6))
    clock.advance(4.999)
    assert await store.get("k") == "v"
    clock.advance(1.002)
    assert await store.get_or_default("k") is None


async def test_put_replaces_the_ttl_too(store: Driven, clock: Any) -> None:
    await store.put("k", "short", ttl=1)
    await store.put("k", "forever")
    clock.advance(10)
    assert await store.get("k") == "forever"
    await store.put("k", "short again", ttl=1)
    clock.advance(1)
    assert await store.get_or_default("k") is None


async def test_put_of_the_same_object_without_ttl_drops_its_expiry(store: Driven, clock: Any) -> None:
    value = ["shared"]
    await store.put("k", value, ttl=1)
    await store.put("k", value)
    clock.advance(10)
    assert await store.get("k") is value


async def test_zero_ttl_removes_the_entry(store: Driven) -> None:
    await store.put("k", "v")
    await store.put("k", "new", ttl=0)
    assert await store.get_or_default("k") is None
    assert len(store) == 0


async def test_remove(store: Driven) -> None:
    await store.put("k", "v")
    await store.put("keep", "v")
    assert await store.remove("k") is True
    assert await store.remove("k") is False
    assert await store.get_or_default("k") is None
    assert await store.get("keep") == "v"


async def test_namespaces_keep_equal_keys_apart(store: Driven) -> None:
    await store.put("k", "default")
    await store.put("k", "a", namespace="a")
    assert await store.get("k") == "default"
    assert await store.get("k", namespace="a") == "a"
    assert await store.remove("k", namespace="a") is True
    assert await store.get("k") == "default"
    assert await store.get_or_default("k", "gone", namespace="a") == "gone"


# -- remove_expired, clear ------------------------------------------------------------------------


async def test_remove_expired_deletes_only_expired_entries(store: Driven, clock: Any) -> None:
    await store.put("old", 1, ttl=1)
    await store.put("old", 2, ttl=1, namespace="other")
    await store.put("young", 3, ttl=100)
    await store.put("forever", 4)
    clock.advance(1)
    assert len(store) == 4  # expired entries stay until read or swept
    assert await store.remove_expired() == 2
    assert len(store) == 2
    assert await store.get("young") == 3
    assert await store.get("forever") == 4
    assert await store.remove_expired() == 0


async def test_clear_one_namespace_leaves_the_others(store: Driven) -> None:
    for namespace in ("a", "b", "default"):
        await store.put("k", namespace, namespace=namespace)
        await store.put("j", namespace, ttl=60, namespace=namespace)
    await store.clear("a")
    assert await store.get_many(["k", "j"], namespace="a") == {}
    assert await store.get_many(["k", "j"], namespace="b") == {"k": "b", "j": "b"}
    assert await store.get("k") == "default"
    await store.put("k", "again", namespace="a")
    assert await store.get("k", namespace="a") == "again"
    await store.clear()
    assert len(store) == 0
    for namespace in ("a", "b", "default"):
        assert await store.get_many(["k", "j"], namespace=namespace) == {}


# -- batches --------------------------------------------------------------------------------------


async def test_get_many_returns_live_entries_only(store: Driven, clock: Any) -> None:
    await store.put("a", 1)
    await store.put("b", None)
    await store.put("c", 3, ttl=1)
    await store.put("a", "other namespace", namespace="x")
    clock.advance(1)
    assert await store.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": None}
    await store.put(b"a", "bytes")
    assert await store.get_many([b"a", bytearray(b"a"), "a"]) == {b"a": "bytes", "a": 1}
    assert await store.get_many(["a"], namespace="x") == {"a": "other namespace"}
    assert await store.get_many([]) == {}


async def test_put_many_from_mapping_or_pairs(store: Driven, clock: Any) -> None:
    await store.put_many({"a": 1, "b": 2})
    await store.put_many([("c", 3), (b"d", 4)], ttl=10)
    await store.put_many((pair for pair in [("e", 5)]), namespace="gen")
    await store.put_many({})
    assert await store.get_many(["a", "b", "c", b"d"]) == {"a": 1, "b": 2, "c": 3, b"d": 4}
    assert await store.get("e", namespace="gen") == 5
    clock.advance(10)
    assert await store.get_many(["a", "b", "c", b"d"]) == {"a": 1, "b": 2}


async def test_put_many_with_zero_ttl_removes(store: Driven) -> None:
    await store.put_many({"a": 1, "b": 2})
    await store.put_many({"a": 10}, ttl=0)
    assert await store.get_many(["a", "b"]) == {"b": 2}


# -- close and context managers -------------------------------------------------------------------


async def test_closed_backend_raises_on_every_operation(store: Driven) -> None:
    await store.put("k", "v")
    await store.close()
    await store.close()  # twice is fine
    operations: list[tuple[str, tuple[Any, ...]]] = [
        ("get", ("k",)),
        ("get_or_default", ("k",)),
        ("getOrDefault", ("k",)),
        ("put", ("k", "v")),
        ("remove", ("k",)),
        ("remove_expired", ()),
        ("clear", ()),
        ("get_many", (["k"],)),
        ("put_many", ({"k": "v"},)),
        ("put_many", ({},)),
    ]
    for name, args in operations:
        with pytest.raises(BackendClosedError, match="closed"):
            await getattr(store, name)(*args)


async def test_closed_backend_fails_decorated_calls_loudly(store: Driven) -> None:
    from cache_core import cached

    @cached(cache=store.backend)
    def f() -> int:
        return 1

    await store.close()
    with pytest.raises(BackendClosedError):
        f()


async def test_async_context_manager_closes() -> None:
    async with DictCache() as backend:
        assert isinstance(backend, DictCache)
        await backend.put("k", "v")
        assert await backend.get("k") == "v"
    with pytest.raises(BackendClosedError):
        await backend.get("k")
    with pytest.raises(BackendClosedError):
        async with backend:
            pass


def test_sync_context_manager_closes() -> None:
    with SyncDictCache() as backend:
        assert isinstance(backend, SyncDictCache)
        backend.put("k", "v")
        assert backend.get("k") == "v"
    with pytest.raises(BackendClosedError):
        backend.get("k")
    with pytest.raises(BackendClosedError):
        with backend:
            pass


async def test_context_manager_closes_on_error() -> None:
    backend = DictCache()
    with pytest.raises(RuntimeError):
        async with backend:
            raise RuntimeError
    with pytest.raises(BackendClosedError):
        await backend.put("k", 1)


# -- maxsize and LRU ------------------------------------------------------------------------------


async def test_maxsize_evicts_least_recently_written(make: Callable[..., Driven]) -> None:
    store = make(maxsize=3)
    for key in "abcd":
        await store.put(key, key)
    assert len(store) == 3
    assert await store.get_many(list("abcd")) == {"b": "b", "c": "c", "d": "d"}


async def test_reads_refresh_recency(make: Callable[..., Driven]) -> None:
    store = make(maxsize=3)
    for key in "abc":
        await store.put(key, key)
    assert await store.get("a") == "a"  # now b is the oldest
    await store.put("d", "d")
    assert await store.get_or_default("b") is None
    assert await store.get_or_default("c") == "c"  # now a is the oldest
    await store.put("e", "e")
    assert await store.get_many(list("abcde")) == {"c": "c", "d": "d", "e": "e"}


async def test_batch_reads_refresh_recency(make: Callable[..., Driven]) -> None:
    store = make(maxsize=3)
    for key in "abc":
        await store.put(key, key)
    assert await store.get_many(["a", "b"]) == {"a": "a", "b": "b"}  # now c is the oldest
    await store.put("d", "d")
    assert await store.get_many(list("abcd")) == {"a": "a", "b": "b", "d": "d"}


async def test_rewriting_refreshes_recency(make: Callable[..., Driven]) -> None:
    store = make(maxsize=2)
    await store.put("a", 1)
    await store.put("b", 2)
    await store.put("a", 10)
    await store.put("c", 3)
    assert await store.get_many(["a", "b", "c"]) == {"a": 10, "c": 3}


async def test_maxsize_counts_all_namespaces(make: Callable[..., Driven]) -> None:
    store = make(maxsize=2)
    await store.put("k", 1, namespace="x")
    await store.put("k", 2, namespace="y")
    await store.put("k", 3, namespace="z")
    assert await store.get_or_default("k", namespace="x") is None
    assert await store.get("k", namespace="y") == 2
    assert await store.get("k", namespace="z") == 3


async def test_removed_and_cleared_entries_free_their_place(make: Callable[..., Driven]) -> None:
    store = make(maxsize=2)
    await store.put("a", 1)
    await store.put("b", 2)
    await store.remove("a")
    await store.put("c", 3)
    assert await store.get_many(["b", "c"]) == {"b": 2, "c": 3}
    await store.clear()
    await store.put("d", 4)
    await store.put("e", 5)
    assert await store.get_many(["d", "e"]) == {"d": 4, "e": 5}


async def test_decorated_function_with_maxsize(clock: Any) -> None:
    from cache_core import cached

    calls = []

    @cached(cache=DictCache(maxsize=2, clock=clock))
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    for x in (1, 2, 1, 3, 1, 2):
        square(x)
    assert calls == [1, 2, 3, 2]


# -- automatic sweep ------------------------------------------------------------------------------


async def test_writes_sweep_expired_entries_without_reading_them(make: Callable[..., Driven], clock: Any) -> None:
    store = make(sweep_interval=10)
    for n in range(100):
        await store.put(f"k{n}", n, ttl=1)
    await store.put("forever", "v")
    clock.advance(5)
    await store.put("w1", 1)
    assert len(store) == 102  # too soon for a sweep
    clock.advance(5)
    await store.put("w2", 2)
    assert len(store) == 3
    assert await store.get_many(["forever", "w1", "w2"]) == {"forever": "v", "w1": 1, "w2": 2}


async def test_writes_to_a_namespace_without_expiry_sweep_the_others(make: Callable[..., Driven], clock: Any) -> None:
    store = make(sweep_interval=10)
    for n in range(100):
        await store.put(f"k{n}", n, ttl=1, namespace="sessions")
    clock.advance(10)
    await store.put("w", 1, namespace="plain")
    assert len(store) == 1


async def test_reading_an_expired_entry_drops_it(store: Driven, clock: Any) -> None:
    await store.put("k", "v", ttl=1)
    clock.advance(1)
    assert await store.get_or_default("k") is None
    assert len(store) == 0


# -- construction ---------------------------------------------------------------------------------


@pytest.mark.parametrize("maxsize", [0, -1, 1.5, True, "3"])
@pytest.mark.parametrize("kind", [DictCache, SyncDictCache])
def test_bad_maxsize(kind: type, maxsize: Any) -> None:
    with pytest.raises(ValueError, match="maxsize"):
        kind(maxsize)


@pytest.mark.parametrize("interval", [0, -1])
def test_bad_sweep_interval(interval: float) -> None:
    with pytest.raises(ValueError, match="sweep_interval"):
        DictCache(sweep_interval=interval)


def test_bad_clock() -> None:
    with pytest.raises(TypeError, match="clock"):
        DictCache(clock="now")  # type: ignore[arg-type]


def test_clock_parameter(clock: Any) -> None:
    assert DictCache(clock=clock).clock is clock
    assert SyncDictCache(clock=clock).clock is clock


def test_cachetoolz_aliases() -> None:
    assert AsyncInMemory is DictCache
    assert InMemory is SyncDictCache


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [1, None, 1.5, ("t",), object()])
async def test_non_str_keys_are_rejected(store: Driven, key: Any) -> None:
    await store.put("k", "v")
    for name, args in [
        ("get", (key,)),
        ("get_or_default", (key,)),
        ("put", (key, "v")),
        ("remove", (key,)),
        ("get_many", (["k", key],)),
        ("put_many", ({"ok": 1, key: 2},)),
    ]:
        with pytest.raises(InvalidKeyError, match="str or bytes"):
            await getattr(store, name)(*args)
    assert len(store) == 1
    assert await store.get_or_default("ok") is None


@pytest.mark.parametrize("ttl", [-1, -0.5, float("nan"), timedelta(seconds=-1), "60", True, [1, 2], (2, 1), (1, 2, 3)])
async def test_bad_ttl_is_rejected_and_keeps_the_old_entry(store: Driven, ttl: Any) -> None:
    await store.put("k", "old")
    with pytest.raises(InvalidTTLError):
        await store.put("k", "new", ttl=ttl)
    with pytest.raises(InvalidTTLError):
        await store.put_many({"k": "new", "j": "new"}, ttl=ttl)
    assert await store.get("k") == "old"
    assert await store.get_or_default("j") is None


@pytest.mark.parametrize(("namespace", "error"), [("", ValueError), (None, TypeError), (1, TypeError)])
async def test_bad_namespace_is_rejected(store: Driven, namespace: Any, error: type[Exception]) -> None:
    for name, args in [("get", ("k",)), ("put", ("k", "v")), ("remove", ("k",)), ("get_many", (["k"],))]:
        with pytest.raises(error, match="namespace"):
            await getattr(store, name)(*args, namespace=namespace)
    if namespace is not None:  # None means every namespace
        with pytest.raises(error, match="namespace"):
            await store.clear(namespace)
    assert len(store) == 0
