"""Every example of the asyncio-caches and cachetoolz APIs this library takes over, run against cache_core.

Left to the packages that own them: the Redis, MongoDB and
SQLite backend examples, and ``NoCache`` (cache_testing).
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import pathlib
import re
import subprocess
import sys
import time
import uuid
from collections import deque
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any

import pytest
from cache_core import (
    AsyncBackend,
    AsyncInMemory,
    Cache,
    CacheMiss,
    Clock,
    DictCache,
    InMemory,
    JsonSerializer,
    KeyMaker,
    PickleSerializer,
    ReprKeyMaker,
    Serializer,
    SyncDictCache,
    SystemClock,
    cached,
    coder,
    decoder,
    encoder,
)
from cache_core import cache as default_cache


class Calls:
    """Counts calls of a stand-in for slow work."""

    def __init__(self) -> None:
        self.count = 0

    async def do_something(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        self.count += 1
        await asyncio.sleep(0)
        return (self.count, args, kwargs)


# -- cachetoolz: Cache ---------------------------------------------------------------------


async def test_default_cache_is_cache_of_async_in_memory() -> None:
    own = Cache(AsyncInMemory())
    for cache in (default_cache, own):
        sub_calls = mul_calls = 0

        @cache()
        def sub(x: int, y: int) -> int:
            nonlocal sub_calls
            sub_calls += 1
            return x - y

        @cache()
        async def mul(x: int, y: int) -> int:
            nonlocal mul_calls
            mul_calls += 1
            return x * y

        assert sub(5, 3) == 2
        assert sub(5, 3) == 2
        assert await mul(5, 3) == 15
        assert await mul(5, 3) == 15
        assert (sub_calls, mul_calls) == (1, 1)
        assert isinstance(cache.backend, AsyncInMemory)


def test_bare_cache_decorator() -> None:
    cache = Cache(AsyncInMemory())
    calls = []

    @cache
    def func(*args: Any, **kwargs: Any) -> int:
        calls.append((args, kwargs))
        return len(calls)

    assert func(1, a=2) == 1
    assert func(1, a=2) == 1
    assert func(2) == 2
    assert calls == [((1,), {"a": 2}), ((2,), {})]


async def test_cache_namespace() -> None:
    backend = AsyncInMemory()
    cache = Cache(backend)

    @cache(namespace="bar")
    def func(*args: Any, **kwargs: Any) -> str:
        return "value"

    func(1)
    await backend.clear("default")
    func(1)
    assert func.cache_info().hits == 1
    await backend.clear("bar")
    func(1)
    assert func.cache_info().misses == 2


async def test_cache_ttl_in_seconds_and_timedelta(clock: Any) -> None:
    cache = Cache(AsyncInMemory(clock=clock))
    calls = Calls()

    @cache(ttl=60)
    async def minute(*args: Any, **kwargs: Any) -> Any:
        return await calls.do_something("minute")

    @cache(ttl=timedelta(days=1))
    async def day(*args: Any, **kwargs: Any) -> Any:
        return await calls.do_something("day")

    first_minute, first_day = await minute(), await day()
    clock.advance(59.9)
    assert await minute() == first_minute
    clock.advance(0.1)
    assert await minute() != first_minute
    assert await day() == first_day
    clock.advance(86_400)
    assert await day() != first_day


def test_cache_typed() -> None:
    class Number(int):
        pass

    cache = Cache(AsyncInMemory())

    @cache(typed=True)
    def typed(*args: Any, **kwargs: Any) -> str:
        return type(args[0]).__name__

    @cache
    def untyped(*args: Any, **kwargs: Any) -> str:
        return type(args[0]).__name__

    assert repr(Number(1)) == repr(1)
    assert (typed(1), typed(Number(1))) == ("int", "Number")
    assert (untyped(1), untyped(Number(1))) == ("int", "int")


def test_cache_custom_keygen() -> None:
    seen = []

    def custom_keygen(typed: bool, func: Any, *args: Any, **kwargs: Any) -> str:
        """Build a key to a function (the cachetoolz signature)."""
        seen.append((typed, func, args, kwargs))
        return f"{func.__name__}:{args[0] % 10}"

    cache = Cache(AsyncInMemory())

    @cache(keygen=custom_keygen)
    def func(*args: Any, **kwargs: Any) -> Any:
        return args

    assert func(1, x=2) == (1,)
    assert func(11) == (1,)  # same key: the keygen decides
    assert seen[0][0] is False
    assert seen[0][1] is func.__wrapped__
    assert seen[0][2:] == ((1,), {"x": 2})


async def test_cache_clear_decorator_clears_default_namespace() -> None:
    backend = AsyncInMemory()
    cache = Cache(backend)

    @cache
    def cached_func(x: int) -> int:
        return x

    @cache(namespace="foo")
    def in_foo(x: int) -> int:
        return x

    @cache.clear
    def func(*args: Any, **kwargs: Any) -> str:
        return "done"

    cached_func(1)
    in_foo(1)
    assert func() == "done"
    assert await backend.get_many([], namespace="default") == {}
    cached_func(1)
    in_foo(1)
    assert cached_func.cache_info().misses == 2
    assert in_foo.cache_info().hits == 1


async def test_cache_clear_decorator_with_namespaces() -> None:
    backend = AsyncInMemory()
    cache = Cache(backend)

    @cache(namespace="foo")
    def in_foo(x: int) -> int:
        return x

    @cache
    def in_default(x: int) -> int:
        return x

    @cache.clear(namespaces=["foo"])
    async def func(*args: Any, **kwargs: Any) -> str:
        return "done"

    in_foo(1)
    in_default(1)
    assert await func() == "done"
    in_foo(1)
    in_default(1)
    assert in_foo.cache_info().misses == 2
    assert in_default.cache_info().hits == 1


# -- cachetoolz: in-memory backends ---------------------------------------------------------


async def test_in_memory_backends_take_no_arguments() -> None:
    async_in_memory = AsyncInMemory()
    sync_in_memory = InMemory()
    assert isinstance(async_in_memory, DictCache)
    assert isinstance(sync_in_memory, SyncDictCache)
    await async_in_memory.put("k", 1)
    sync_in_memory.put("k", 2)
    assert (await async_in_memory.get("k"), sync_in_memory.get("k")) == (1, 2)


async def test_async_function_may_use_sync_backend() -> None:
    calls = Calls()

    @Cache(InMemory())
    async def func(x: int) -> Any:
        return await calls.do_something(x)

    assert await func(1) == await func(1)
    assert calls.count == 1


# -- cachetoolz: coder ------------------------------------------------------------------------


SUPPORTED_VALUES: list[Any] = [
    None,
    b"\x00bytes",
    "str",
    1,
    1.5,
    True,
    {"a": 1, 2: "non-str key"},
    {1, 2},
    frozenset({3}),
    [1, [2]],
    (1, (2, "x")),
    uuid.uuid4(),
    pathlib.Path("/tmp/x"),
    deque([1, 2], maxlen=5),
    re.compile("a+", re.IGNORECASE),
    time_of_day(12, 30, 1),
    date(2024, 2, 29),
    datetime(2024, 2, 29, 12, 30),
    timedelta(days=1, seconds=2),
    Decimal("1.10"),
    ipaddress.IPv4Address("10.0.0.1"),
    ipaddress.IPv4Interface("10.0.0.1/24"),
    ipaddress.IPv4Network("10.0.0.0/24"),
    ipaddress.IPv6Address("::1"),
    ipaddress.IPv6Interface("::1/64"),
    ipaddress.IPv6Network("fe80::/64"),
]


@pytest.mark.parametrize("value", SUPPORTED_VALUES, ids=lambda value: type(value).__name__)
def test_coder_supported_types_round_trip_with_their_type(value: Any) -> None:
    serializer = JsonSerializer()
    decoded = serializer.decode(serializer.encode(value))
    assert type(decoded) is type(value)
    if isinstance(value, deque):
        assert (list(decoded), decoded.maxlen) == (list(value), value.maxlen)
    elif isinstance(value, re.Pattern):
        assert (decoded.pattern, decoded.flags) == (value.pattern, value.flags)
    else:
        assert decoded == value
    if isinstance(value, tuple):
        assert type(decoded[1]) is tuple


@pytest.fixture
def unregister_deque() -> Any:
    yield
    try:
        coder.unregister(deque)
    except KeyError:
        pass


class ClassMethodDequeCoder:
    @classmethod
    def encode(cls, value: deque[Any]) -> dict[str, Any]:
        return {"iterable": list(value), "maxlen": value.maxlen, "by": "class"}

    @classmethod
    def decode(cls, value: dict[str, Any]) -> deque[Any]:
        return deque(value["iterable"], value["maxlen"])


class StaticMethodDequeCoder:
    @staticmethod
    def encode(value: deque[Any]) -> dict[str, Any]:
        return {"iterable": list(value), "maxlen": value.maxlen, "by": "static"}

    @staticmethod
    def decode(value: dict[str, Any]) -> deque[Any]:
        return deque(value["iterable"], value["maxlen"])


class InstanceMethodDequeCoder:
    def encode(self, value: deque[Any]) -> dict[str, Any]:
        return {"iterable": list(value), "maxlen": value.maxlen, "by": "instance"}

    def decode(self, value: dict[str, Any]) -> deque[Any]:
        return deque(value["iterable"], value["maxlen"])


@pytest.mark.usefixtures("unregister_deque")
@pytest.mark.parametrize(
    ("coder_class", "by"),
    [(ClassMethodDequeCoder, "class"), (StaticMethodDequeCoder, "static"), (InstanceMethodDequeCoder, "instance")],
)
def test_coder_register_class(coder_class: type, by: str) -> None:
    # The cachetoolz examples' decode methods read an undefined `val`; `value` is what they mean.
    assert coder.register(coder_class) is coder_class
    serializer = JsonSerializer()
    encoded = serializer.encode(deque([1, 2], maxlen=3))
    assert f'"by":"{by}"'.encode() in encoded
    decoded = serializer.decode(encoded)
    assert type(decoded) is deque
    assert (list(decoded), decoded.maxlen) == ([1, 2], 3)


@pytest.mark.usefixtures("unregister_deque")
def test_coder_register_instance_with_init_arguments() -> None:
    class DequeCoder:
        def __init__(self, foo: str) -> None:
            self.foo = foo

        def encode(self, value: deque[Any]) -> dict[str, Any]:
            return {"iterable": list(value), "maxlen": value.maxlen, "foo": self.foo}

        def decode(self, value: dict[str, Any]) -> deque[Any]:
            return deque(value["iterable"], value["maxlen"])

    with pytest.raises(TypeError, match="register an instance"):
        coder.register(DequeCoder)
    coder.register(DequeCoder(foo="bar"))
    serializer = JsonSerializer()
    encoded = serializer.encode(deque("ab"))
    assert b'"foo":"bar"' in encoded
    assert serializer.decode(encoded) == deque("ab")


@pytest.mark.usefixtures("unregister_deque")
def test_encoder_and_decoder_register_by_name() -> None:
    @encoder.register("deque")
    def _(value: deque[Any]) -> dict[str, Any]:
        return {"iterable": list(value), "maxlen": value.maxlen}

    serializer = JsonSerializer()
    encoded = serializer.encode(deque([1], maxlen=2))
    assert b'"maxlen":2' in encoded

    @decoder.register("deque")
    def _decode(value: dict[str, Any]) -> deque[Any]:
        return deque(value["iterable"], value["maxlen"])

    decoded = serializer.decode(encoded)
    assert (list(decoded), decoded.maxlen) == ([1], 2)


# -- asyncio-caches: decorator ------------------------------------------------------------------


async def test_cached_called_without_options() -> None:
    calls = Calls()

    @cached()
    async def cached_func(*args: Any, **kwargs: Any) -> Any:
        return await calls.do_something(*args, **kwargs)

    first = await cached_func(1, k="v")
    assert await cached_func(1, k="v") == first
    assert await cached_func(2) != first
    assert calls.count == 2


async def test_ttl_none_never_expires(clock: Any) -> None:
    calls = Calls()

    @cached(ttl=None, cache=DictCache(clock=clock))
    async def never_expires() -> Any:
        return await calls.do_something()

    first = await never_expires()
    clock.advance(100 * 365 * 86_400)
    assert await never_expires() == first


@pytest.mark.parametrize("ttl", [60, timedelta(minutes=1)], ids=["seconds", "timedelta"])
async def test_ttl_expires_after_1_minute(clock: Any, ttl: Any) -> None:
    calls = Calls()

    @cached(ttl=ttl, cache=DictCache(clock=clock))
    async def expires_after_1_minute() -> Any:
        return await calls.do_something()

    first = await expires_after_1_minute()
    clock.advance(59)
    assert await expires_after_1_minute() == first
    clock.advance(1)
    assert await expires_after_1_minute() != first


async def test_ttl_min_max_is_random_within_interval(clock: Any) -> None:
    backend = DictCache(clock=clock)

    @cached(
        ttl=(timedelta(minutes=30), timedelta(minutes=60)),
        cache=backend,
        key_maker=lambda fn, args, kwargs: str(args[0]),
    )
    async def expires_between_30_and_60_minutes(n: int) -> int:
        return n

    keys = [str(n) for n in range(50)]
    for n in range(50):
        await expires_between_30_and_60_minutes(n)
    clock.advance(30 * 60 - 0.001)
    assert len(await backend.get_many(keys)) == 50
    clock.advance(15 * 60)
    assert 0 < len(await backend.get_many(keys)) < 50  # spread over the interval
    clock.advance(15 * 60)
    assert await backend.get_many(keys) == {}


async def test_ttl_function_of_call_and_result(clock: Any) -> None:
    seen = []

    def ttl_for(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> float:
        seen.append((fn, args, kwargs, value))
        return float(value)

    calls = Calls()

    @cached(ttl=ttl_for, cache=DictCache(clock=clock))
    async def lives_for(seconds: int, *, tag: str = "") -> int:
        await calls.do_something()
        return seconds

    assert await lives_for(10, tag="a") == 10
    assert seen == [(lives_for.__wrapped__, (10,), {"tag": "a"}, 10)]
    await lives_for(100)
    clock.advance(50)
    await lives_for(10, tag="a")
    await lives_for(100)
    assert calls.count == 3


def test_default_cache_is_an_in_memory_dict_cache() -> None:
    code = "import cache_core; print(type(cache_core.cache.backend).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "DictCache"


async def test_key_maker_lambda_returning_bytes() -> None:
    backend = DictCache()

    @cached(cache=backend, key_maker=lambda fn, args, kwargs: f"{args[0]}_{args[1]}".encode())
    async def cached_func(arg0: Any, arg1: Any) -> str:
        return f"{arg0}+{arg1}"

    assert await cached_func("a", 1) == "a+1"
    assert await backend.get(b"a_1") == "a+1"
    assert await backend.get_or_default("a_1") is None  # a bytes key never meets a str key


def test_default_key_maker_is_repr_key_maker() -> None:
    def f(a: int, b: int) -> None: ...

    key = ReprKeyMaker()(f, (1, "x"), {})
    assert key == f"{__name__}.{f.__qualname__}(1, 'x')"


# -- asyncio-caches: the Cache API -------------------------------------------------------------


async def test_cache_api(clock: Any) -> None:
    backend = DictCache(clock=clock)
    with pytest.raises(ValueError):
        await backend.get("missing")
    assert await backend.getOrDefault("missing") is None
    assert await backend.getOrDefault("missing", default=0) == 0

    await backend.put("forever", "f")
    await backend.put("short", "s", ttl=5)
    assert await backend.get("short") == "s"
    clock.advance(5)
    assert await backend.getOrDefault("short", "gone") == "gone"

    await backend.remove("forever")
    assert await backend.getOrDefault("forever") is None

    await backend.put("a", 1, ttl=1)
    await backend.put("b", 2, ttl=100)
    clock.advance(2)
    assert len(backend) == 2  # the expired "a" is still held
    assert await backend.remove_expired() == 1
    assert len(backend) == 1
    assert await backend.get("b") == 2


async def test_own_cache_by_extending_the_backend_class() -> None:
    class ListCache(AsyncBackend):
        """Keeps entries in a list, to show how little a backend implements."""

        def __init__(self) -> None:
            super().__init__(serializer=PickleSerializer())
            self.rows: list[tuple[str, str, Any, float | None]] = []

        async def _get(self, namespace: str, key: str) -> Any:
            for row in self.rows:
                if row[:2] == (namespace, key):
                    return row[2], row[3]
            return None

        async def _put(self, namespace: str, key: str, payload: Any, ttl: Any, expires_at: Any) -> None:
            await self._remove(namespace, key)
            self.rows.append((namespace, key, payload, expires_at))

        async def _remove(self, namespace: str, key: str) -> bool:
            before = len(self.rows)
            self.rows = [row for row in self.rows if row[:2] != (namespace, key)]
            return len(self.rows) != before

        async def _remove_expired(self, now: float) -> int:
            before = len(self.rows)
            self.rows = [row for row in self.rows if row[3] is None or row[3] > now]
            return before - len(self.rows)

        async def _clear(self, namespace: str | None) -> None:
            self.rows = [row for row in self.rows if namespace is not None and row[0] != namespace]

    backend = ListCache()
    await backend.put("k", {"v": 1})
    assert await backend.get("k") == {"v": 1}
    assert isinstance(backend.rows[0][2], bytes)
    calls = Calls()

    @cached(cache=backend)
    async def cached_func(arg: int) -> Any:
        return await calls.do_something(arg)

    assert await cached_func(1) == await cached_func(1)
    assert calls.count == 1


# -- asyncio-caches: key makers, serializers, clocks -------------------------------------------


async def test_own_key_maker_by_extending_key_maker() -> None:
    class FirstArgument(KeyMaker):
        def __call__(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            return f"{fn.__name__}/{args[0]}"

    backend = DictCache()

    @cached(cache=backend, key_maker=FirstArgument())
    async def cached_func(arg: int, ignored: int) -> int:
        return arg + ignored

    assert await cached_func(1, 1) == 2
    assert await cached_func(1, 2) == 2
    assert await backend.get("cached_func/1") == 2


@pytest.mark.parametrize("serializer", [PickleSerializer(), JsonSerializer()], ids=["pickle", "json"])
def test_serializers_encode_to_bytes_and_back(serializer: Serializer) -> None:
    value = {"status": 200, "items": [1, 2.5, "three", None]}
    blob = serializer.encode(value)
    assert isinstance(blob, bytes)
    assert serializer.decode(blob) == value


def test_own_serializer_by_extending_serializer() -> None:
    class Utf8(Serializer):
        def encode(self, value: Any) -> bytes:
            return str(value).encode()

        def decode(self, encoded: bytes) -> Any:
            return encoded.decode()

    backend = DictCache()

    @cached(cache=backend, serializer=Utf8(), key_maker=lambda fn, args, kwargs: "k")
    def text(n: int) -> str:
        return "é" * n

    assert text(2) == "éé"
    assert text(2) == "éé"
    assert backend.nonblocking.get("k") == "éé".encode()


async def test_cache_with_test_clock_and_sleep(clock: Any) -> None:
    backend = DictCache(clock=clock)
    await backend.put("k", "v", ttl=3600)
    before = time.monotonic()
    await clock.sleep(3599)
    assert await backend.get("k") == "v"
    await clock.sleep(1)
    with pytest.raises(CacheMiss):
        await backend.get("k")
    assert time.monotonic() - before < 1


async def test_system_clock_measures_real_time() -> None:
    clock = SystemClock()
    assert isinstance(clock, Clock)
    assert math.isclose(clock.now(), time.time(), abs_tol=1)
    before = clock.now()
    await clock.sleep(0.02)
    assert clock.now() - before >= 0.015
    assert isinstance(DictCache().clock, SystemClock)
