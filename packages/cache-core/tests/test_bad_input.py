"""Bad input: a clear exception naming the problem, at decoration time when possible,
and never a lost or corrupted entry."""

from __future__ import annotations

import inspect
import logging
import math
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cache_core import (
    AsyncBackend,
    Cache,
    CacheMiss,
    DecodeError,
    DictCache,
    EncodeError,
    Entry,
    InvalidTTLError,
    JsonSerializer,
    PickleSerializer,
    SerializationError,
    SyncDictCache,
    cached,
    set_default_backend,
)


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def plain(x: int) -> int:
    return x


async def coroutine(x: int) -> int:
    return x


# -- TTL ------------------------------------------------------------------------------------------

BAD_TTLS: list[Any] = [
    -1,
    -0.001,
    math.nan,
    -math.inf,
    timedelta(seconds=-1),
    (10, 5),
    (timedelta(minutes=2), 60),
    (-1, 5),
    (1, None),
    (1, math.inf),
    (1, 2, 3),
    (1,),
    "60",
    True,
    [1, 2],
    {"seconds": 1},
]


@pytest.mark.parametrize("ttl", BAD_TTLS, ids=repr)
def test_bad_ttl_fails_at_decoration(ttl: Any) -> None:
    with pytest.raises(InvalidTTLError) as raised:
        cached(ttl=ttl)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(InvalidTTLError):
        Cache(DictCache(), ttl=ttl)
    with pytest.raises(InvalidTTLError):
        Cache(DictCache())(ttl=ttl)


@pytest.mark.parametrize(
    ("ttl", "words"),
    [
        (-5, "negative"),
        (math.nan, "NaN"),
        ((10, 5), "min <= max"),
        ("60", "str"),
        ((1, 2, 3), "(min, max)"),
    ],
)
def test_bad_ttl_messages_name_the_problem(ttl: Any, words: str) -> None:
    with pytest.raises(InvalidTTLError, match=re.escape(words)):
        cached(ttl=ttl)


@pytest.mark.parametrize("returned", [-1, math.nan, (5, 1), "soon"], ids=repr)
@pytest.mark.parametrize("function", [plain, coroutine], ids=["sync", "async"])
async def test_ttl_function_returning_a_bad_ttl_fails_the_call(function: Any, returned: Any) -> None:
    runs = []

    def ttl(fn: Any, args: Any, kwargs: Any, value: Any) -> Any:
        runs.append(value)
        return returned

    decorated = cached(ttl=ttl)(function)
    with pytest.raises(InvalidTTLError, match="ttl function"):
        await call(decorated, 1)
    with pytest.raises(InvalidTTLError):
        await call(decorated, 1)
    assert runs == [1, 1]  # nothing was stored


# -- key options ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key_maker", ["module.fn", 42, b"key"], ids=repr)
def test_non_callable_key_maker(key_maker: Any) -> None:
    with pytest.raises(TypeError, match="key_maker must be a KeyMaker or a callable"):
        cached(key_maker=key_maker)
    with pytest.raises(TypeError, match="key_maker"):
        Cache(DictCache(), key_maker=key_maker)


def test_non_callable_keygen() -> None:
    with pytest.raises(TypeError, match="keygen must be callable"):
        cached(keygen="keygen")  # type: ignore[call-overload]


def test_key_maker_and_keygen_together() -> None:
    with pytest.raises(TypeError, match="either key_maker= or keygen="):
        cached(key_maker=lambda fn, args, kwargs: "k", keygen=lambda typed, fn, *args, **kwargs: "k")
    with pytest.raises(TypeError, match="either key_maker= or keygen="):
        Cache(DictCache(), keygen=lambda typed, fn, *args, **kwargs: "k")(key_maker=lambda fn, a, k: "k")


def test_typed_with_own_key_maker() -> None:
    with pytest.raises(TypeError, match="typed="):
        cached(typed=True, key_maker=lambda fn, args, kwargs: "k")


# -- backends and modes ---------------------------------------------------------------------------


class OnlyAsync(AsyncBackend):
    """The least an async-only backend implements: no ``nonblocking`` twin."""

    sync_alternative = "SyncOnlyAsync"

    async def _get(self, namespace: str, key: str) -> Entry | None:
        return None

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        pass

    async def _remove(self, namespace: str, key: str) -> bool:
        return False

    async def _remove_expired(self, now: float) -> int:
        return 0

    async def _clear(self, namespace: str | None) -> None:
        pass


class Anonymous(OnlyAsync):
    sync_alternative = None  # type: ignore[assignment]


def test_sync_function_with_async_only_backend_names_the_sync_backend() -> None:
    with pytest.raises(TypeError) as raised:
        cached(cache=OnlyAsync())(plain)
    message = str(raised.value)
    assert "plain" in message
    assert "OnlyAsync" in message
    assert "SyncOnlyAsync" in message

    front = Cache(OnlyAsync())
    with pytest.raises(TypeError, match="SyncOnlyAsync"):
        front(plain)
    with pytest.raises(TypeError, match="SyncOnlyAsync"):
        front(ttl=5)(plain)
    with pytest.raises(TypeError, match="SyncOnlyAsync"):
        front.clear(plain)
    with pytest.raises(TypeError, match="a sync Backend"):
        cached(cache=Anonymous())(plain)


def test_sync_methods_with_async_only_backend() -> None:
    with pytest.raises(TypeError, match="SyncOnlyAsync"):

        class Service:
            @cached(cache=OnlyAsync())
            @classmethod
            def load(cls) -> int:
                return 1


async def test_async_function_with_async_only_backend_is_fine() -> None:
    decorated = cached(cache=OnlyAsync())(coroutine)
    assert await decorated(3) == 3
    assert await Cache(OnlyAsync()).clear(coroutine)(4) == 4


def test_repointing_sync_functions_to_an_async_only_backend_is_refused(fresh_default_backend: DictCache) -> None:
    original = SyncDictCache()
    front = Cache(original)
    decorated = front(plain)
    with pytest.raises(TypeError, match="SyncOnlyAsync"):
        front.backend = OnlyAsync()
    assert front.backend is original
    assert decorated(1) == 1
    assert decorated(1) == 1
    assert decorated.cache_info().hits == 1

    on_default = cached(plain)  # a sync function on the default backend
    with pytest.raises(TypeError, match="SyncOnlyAsync"):
        set_default_backend(OnlyAsync())
    from cache_core import cache

    assert cache.backend is fresh_default_backend
    assert on_default(2) == 2


@pytest.mark.parametrize("backend", [object(), "redis://localhost", DictCache], ids=repr)
def test_cache_must_be_a_backend(backend: Any) -> None:
    with pytest.raises(TypeError, match="must be a backend"):
        cached(cache=backend)(plain)
    with pytest.raises(TypeError, match="must be a backend"):
        Cache(backend)


def test_serializer_must_encode_and_decode() -> None:
    with pytest.raises(TypeError, match="encode"):
        cached(serializer=object())  # type: ignore[call-overload]


def test_decorating_something_not_callable() -> None:
    with pytest.raises(TypeError, match="function or method"):
        cached(cache=DictCache())(None)  # type: ignore[call-overload]


# -- namespaces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "error"), [("", ValueError), (None, TypeError), (3, TypeError), (b"ns", TypeError)]
)
def test_bad_namespace(namespace: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="namespace"):
        cached(namespace=namespace)
    with pytest.raises(error, match="namespace"):
        Cache(DictCache(), namespace=namespace)
    with pytest.raises(error, match="namespace"):
        Cache(DictCache()).clear(namespaces=[namespace])


async def test_clear_accepts_one_namespace_as_a_string() -> None:
    backend = DictCache()
    await backend.put("k", 1, namespace="foo")
    await backend.put("k", 1, namespace="f")
    Cache(backend).clear(namespaces="foo")(plain)(1)
    assert await backend.get_or_default("k", namespace="foo") is None
    assert await backend.get("k", namespace="f") == 1


# -- values that cannot be encoded ----------------------------------------------------------------


class Opaque:
    pass


async def test_unencodable_value_in_put_names_the_type(any_rows_backend: Any) -> None:
    await call(any_rows_backend.put, "k", "old")
    with pytest.raises(EncodeError, match="Opaque") as raised:
        await call(any_rows_backend.put, "k", {"nested": [Opaque()]})
    assert isinstance(raised.value, TypeError)
    assert isinstance(raised.value, SerializationError)
    assert await call(any_rows_backend.get, "k") == "old"


async def test_put_many_with_one_unencodable_value_stores_nothing(any_rows_backend: Any) -> None:
    await call(any_rows_backend.put, "a", "old")
    with pytest.raises(EncodeError, match="Opaque"):
        await call(any_rows_backend.put_many, {"a": "new", "b": 2, "c": Opaque(), "d": 4})
    assert await call(any_rows_backend.get_many, ["a", "b", "c", "d"]) == {"a": "old"}
    assert list(any_rows_backend.storage.rows) == [("default", "a")]


async def test_decorated_function_returning_an_unencodable_value(any_rows_backend: Any) -> None:
    runs = []

    @cached(cache=any_rows_backend)
    async def make(x: int) -> Any:
        runs.append(x)
        return Opaque()

    with pytest.raises(EncodeError, match="Opaque"):
        await make(1)
    with pytest.raises(EncodeError):
        await make(1)
    assert runs == [1, 1]


async def test_pickle_serializer_names_what_it_cannot_pickle(rows_backend: Any) -> None:
    backend = type(rows_backend)(serializer=PickleSerializer())
    with pytest.raises(EncodeError, match="pickle"):
        backend.put("k", lambda: None)


# -- stored data that cannot be decoded -----------------------------------------------------------


UNDECODABLE = [
    (JsonSerializer(), b"not json at all"),
    (JsonSerializer(), b"{broken"),
    (JsonSerializer(), b'"ok" trailing'),
    (JsonSerializer(), b'{"!cache-core":1,"value":{"!":["u:nobody.Registered",1]}}'),
    (JsonSerializer(), b"\xff\xfe"),
    (PickleSerializer(), b"\x80\x05garbage"),
]


@pytest.mark.parametrize(
    ("serializer", "payload"), UNDECODABLE, ids=["not-json", "broken", "trailing", "unknown-tag", "not-utf8", "pickle"]
)
async def test_undecodable_entries_read_as_misses_and_are_logged(
    any_rows_backend: Any, serializer: Any, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(DecodeError):
        serializer.decode(payload)
    backend = type(any_rows_backend)(serializer=serializer)
    await call(backend.put, "good", "value")
    backend.storage.rows["default", "bad"] = (payload, None)
    with pytest.raises(CacheMiss):
        await call(backend.get, "bad")
    assert await call(backend.get_or_default, "bad", "fallback") == "fallback"
    assert await call(backend.get_many, ["bad", "good"]) == {"good": "value"}
    logged = [r.getMessage() for r in caplog.records if r.name == "cache_core" and r.levelno == logging.WARNING]
    assert len(logged) == 3
    assert all("'bad'" in message and "miss" in message for message in logged)


async def test_decorated_function_recomputes_an_undecodable_entry(
    any_rows_backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    runs = []

    @cached(cache=any_rows_backend, key_maker=lambda fn, args, kwargs: f"item:{args[0]}")
    async def item(x: int) -> dict[str, int]:
        runs.append(x)
        return {"x": x}

    any_rows_backend.storage.rows["default", "item:1"] = (b"\x00corrupt", None)
    assert await item(1) == {"x": 1}
    assert await item(1) == {"x": 1}
    assert runs == [1]
    assert any("item:1" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_in_memory_serializer_copies_that_cannot_be_decoded_are_misses(
    memory: DictCache, caplog: pytest.LogCaptureFixture
) -> None:
    runs = []

    @cached(cache=memory, serializer=JsonSerializer(), key_maker=lambda fn, args, kwargs: "k")
    def value() -> list[int]:
        runs.append(1)
        return [1]

    await memory.put("k", b"garbage")
    assert value() == [1]
    assert value() == [1]
    assert runs == [1]
    assert any("'k'" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
