"""``cached`` and ``Cache``: forms, options, TTLs and the controls of a decorated function.

Most tests run once per mode (``def`` and ``async def``) through ``call``, which
awaits whatever a decorated function or its controls return.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import cache_core
import pytest
from cache_core import (
    Cache,
    CacheInfo,
    DictCache,
    InvalidKeyError,
    JsonSerializer,
    KeyMaker,
    PickleSerializer,
    ReprKeyMaker,
    SyncDictCache,
    cached,
    set_default_backend,
)

MODES = ["sync", "async"]


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def counting(mode: str, body: Callable[..., Any] | None = None) -> tuple[Callable[..., Any], list[Any]]:
    """A plain function (sync or async) that records its calls and returns ``body(*args)``."""
    calls: list[Any] = []
    run = body or (lambda *args, **kwargs: (len(calls), args, kwargs))

    def sync_fn(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return run(*args, **kwargs)

    async def async_fn(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return run(*args, **kwargs)

    fn = sync_fn if mode == "sync" else async_fn
    if body is not None:  # take the body's parameters, so calls bind as they would to it
        fn.__signature__ = inspect.signature(body)  # type: ignore[union-attr]
    return fn, calls


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- forms ----------------------------------------------------------------------------------------


async def test_bare_decorator_uses_default_backend(mode: str, fresh_default_backend: DictCache) -> None:
    fn, calls = counting(mode)
    decorated = cached(fn)
    first = await call(decorated, 1)
    assert await call(decorated, 1) == first
    assert len(calls) == 1
    assert len(fresh_default_backend) == 1


async def test_decorator_with_options(mode: str, clock: Any) -> None:
    backend = DictCache(clock=clock)
    fn, calls = counting(mode)
    decorated = cached(ttl=10, cache=backend, namespace="ns")(fn)
    await call(decorated, 1)
    await call(decorated, 1)
    assert len(calls) == 1
    entry = ReprKeyMaker()(fn, (1,), {})
    assert await backend.get_or_default(entry) is None
    assert await backend.get(entry, namespace="ns") == await call(decorated, 1)
    clock.advance(10)
    await call(decorated, 1)
    assert len(calls) == 2


async def test_keeps_identity_of_the_function(mode: str) -> None:
    fn, _ = counting(mode)
    fn.__doc__ = "Docs."
    decorated = cached(fn)
    assert decorated.__wrapped__ is fn
    assert decorated.__name__ == fn.__name__
    assert decorated.__qualname__ == fn.__qualname__
    assert decorated.__doc__ == "Docs."
    assert inspect.iscoroutinefunction(decorated) == (mode == "async")
    assert inspect.signature(decorated) == inspect.signature(fn)


def test_sync_recursion_is_cached() -> None:
    @cached
    def fibonacci(n: int) -> int:
        return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)

    assert fibonacci(80) == 23416728348467685
    assert fibonacci.cache_info().misses == 81


def test_sync_function_calling_itself_with_the_same_key_does_not_deadlock() -> None:
    depth = []

    @cached
    def reentrant(n: int) -> int:
        depth.append(n)
        return n if len(depth) > 1 else reentrant(n) + 1

    assert reentrant(5) == 6


class Service:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[Any] = []

    @cached
    def sync_method(self, x: int) -> tuple[str, int, int]:
        self.calls.append(x)
        return self.name, x, len(self.calls)

    @cached(namespace="methods")
    async def async_method(self, x: int) -> tuple[str, int, int]:
        self.calls.append(x)
        return self.name, x, len(self.calls)

    class_calls: list[Any] = []

    @cached
    @classmethod
    def cached_outside_classmethod(cls, x: int) -> tuple[str, int]:
        cls.class_calls.append(x)
        return cls.__name__, x

    @classmethod
    @cached
    def cached_inside_classmethod(cls, x: int) -> tuple[str, int]:
        cls.class_calls.append(x)
        return cls.__name__, x

    @cached
    @classmethod
    async def async_cached_outside_classmethod(cls, x: int) -> tuple[str, int]:
        cls.class_calls.append(x)
        return cls.__name__, x

    @classmethod
    @cached
    async def async_cached_inside_classmethod(cls, x: int) -> tuple[str, int]:
        cls.class_calls.append(x)
        return cls.__name__, x

    static_calls: list[Any] = []

    @cached
    @staticmethod
    def cached_outside_staticmethod(x: int) -> int:
        Service.static_calls.append(x)
        return x * 2

    @staticmethod
    @cached
    def cached_inside_staticmethod(x: int) -> int:
        Service.static_calls.append(x)
        return x * 2

    @cached
    @staticmethod
    async def async_cached_outside_staticmethod(x: int) -> int:
        Service.static_calls.append(x)
        return x * 2

    @staticmethod
    @cached
    async def async_cached_inside_staticmethod(x: int) -> int:
        Service.static_calls.append(x)
        return x * 2


@pytest.mark.parametrize("method", ["sync_method", "async_method"])
async def test_methods_cache_per_instance(method: str) -> None:
    tea, coffee = Service("tea"), Service("coffee")
    assert await call(getattr(tea, method), 1) == ("tea", 1, 1)
    assert await call(getattr(tea, method), 1) == ("tea", 1, 1)
    assert await call(getattr(coffee, method), 1) == ("coffee", 1, 1)
    assert await call(getattr(tea, method), 2) == ("tea", 2, 2)
    assert (tea.calls, coffee.calls) == ([1, 2], [1])
    assert getattr(Service, method).cache_info() == CacheInfo(hits=1, misses=3, errors=0)
    # A method's entry is named with its instance, passed explicitly through the class.
    assert await call(getattr(Service, method).invalidate, tea, 1) is True
    assert await call(getattr(tea, method), 1) == ("tea", 1, 3)


@pytest.mark.parametrize(
    "name",
    [
        "cached_outside_classmethod",
        "cached_inside_classmethod",
        "async_cached_outside_classmethod",
        "async_cached_inside_classmethod",
    ],
)
async def test_classmethods_both_decorator_orders(name: str) -> None:
    class Child(Service):
        class_calls: list[Any] = []

    Service.class_calls = []
    assert await call(getattr(Service, name), 1) == ("Service", 1)
    assert await call(getattr(Service, name), 1) == ("Service", 1)
    assert await call(getattr(Service("x"), name), 1) == ("Service", 1)
    assert await call(getattr(Child, name), 1) == ("Child", 1)
    assert Service.class_calls == [1]
    assert Child.class_calls == [1]
    assert getattr(Service, name).cache_info().hits == 2
    assert callable(getattr(Service, name).__wrapped__)


@pytest.mark.parametrize(
    "name",
    [
        "cached_outside_staticmethod",
        "cached_inside_staticmethod",
        "async_cached_outside_staticmethod",
        "async_cached_inside_staticmethod",
    ],
)
async def test_staticmethods_both_decorator_orders(name: str) -> None:
    Service.static_calls = []
    assert await call(getattr(Service, name), 3) == 6
    assert await call(getattr(Service("x"), name), 3) == 6
    assert Service.static_calls == [3]
    assert getattr(Service, name).cache_info() == CacheInfo(hits=1, misses=1, errors=0)
    assert await call(getattr(Service, name).invalidate, 3) is True
    assert await call(getattr(Service, name), 3) == 6
    assert Service.static_calls == [3, 3]


def test_not_a_function_is_rejected() -> None:
    with pytest.raises(TypeError, match="function or method"):
        cached(42)  # type: ignore[call-overload]


# -- TTL forms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "lives"),
    [
        (None, math.inf),
        (math.inf, math.inf),
        (30, 30),
        (2.5, 2.5),
        (timedelta(minutes=1, milliseconds=500), 60.5),
        (timedelta(hours=1), 3600),
    ],
    ids=["none", "inf", "int", "float", "timedelta-fraction", "timedelta"],
)
async def test_fixed_ttl_forms(mode: str, clock: Any, ttl: Any, lives: float) -> None:
    fn, calls = counting(mode)
    decorated = cached(ttl=ttl, cache=DictCache(clock=clock))(fn)
    first = await call(decorated, "k")
    if lives == math.inf:
        clock.advance(10 * 365 * 86_400)
        assert await call(decorated, "k") == first
        return
    clock.advance(lives - 0.001)
    assert await call(decorated, "k") == first
    clock.advance(0.001)
    assert await call(decorated, "k") != first
    assert len(calls) == 2


async def test_jitter_ttl_lives_between_min_and_max(mode: str, clock: Any) -> None:
    fn, calls = counting(mode)
    decorated = cached(ttl=(10, timedelta(seconds=20)), cache=DictCache(clock=clock))(fn)
    for n in range(30):
        await call(decorated, n)
    clock.advance(9.999)
    for n in range(30):
        await call(decorated, n)
    assert len(calls) == 30
    clock.advance(10.001)
    for n in range(30):
        await call(decorated, n)
    assert len(calls) == 60


async def test_jitter_ttl_spreads_expiry(clock: Any) -> None:
    backend = DictCache(clock=clock)

    @cached(ttl=(10.0, 20.0), cache=backend, key_maker=lambda fn, args, kwargs: str(args[0]))
    def fn(n: int) -> int:
        return n

    keys = [str(n) for n in range(100)]
    for n in range(100):
        fn(n)
    clock.advance(9.999)
    alive = [len(await backend.get_many(keys))]
    for _ in range(10):
        clock.advance(1)
        alive.append(len(await backend.get_many(keys)))
    clock.advance(0.002)
    alive.append(len(await backend.get_many(keys)))
    assert alive == sorted(alive, reverse=True)
    assert alive[0] == 100  # just before 10s: none expired
    assert 0 < alive[5] < 100  # 15s: some expired
    assert alive[-1] == 0  # just after 20s: all expired


@pytest.mark.parametrize(
    ("returned", "lives"),
    [(5, 5), (1.5, 1.5), (timedelta(seconds=7), 7), ((3, 3), 3), (None, math.inf), (math.inf, math.inf)],
    ids=["int", "float", "timedelta", "pair", "none", "inf"],
)
async def test_callable_ttl_may_return_every_fixed_form(mode: str, clock: Any, returned: Any, lives: float) -> None:
    fn, calls = counting(mode)
    decorated = cached(ttl=lambda fn, args, kwargs, value: returned, cache=DictCache(clock=clock))(fn)
    await call(decorated)
    clock.advance(min(lives, 1e9) - 0.001)
    await call(decorated)
    assert len(calls) == 1
    clock.advance(0.001)
    await call(decorated)
    assert len(calls) == (1 if lives == math.inf else 2)


async def test_callable_ttl_gets_function_arguments_and_value(mode: str) -> None:
    seen = []

    def ttl(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> int:
        seen.append((fn, args, kwargs, value))
        return 10

    fn, _ = counting(mode, body=lambda *args, **kwargs: "result")
    decorated = cached(ttl=ttl)(fn)
    await call(decorated, 1, b=2)
    await call(decorated, 1, b=2)
    assert seen == [(fn, (1,), {"b": 2}, "result")]


async def test_zero_ttl_stores_nothing(mode: str, memory: DictCache) -> None:
    fn, calls = counting(mode)
    decorated = cached(ttl=0, cache=memory)(fn)
    await call(decorated)
    await call(decorated)
    assert len(calls) == 2
    assert len(memory) == 0


# -- cache_info, invalidate, cache_clear ----------------------------------------------------------


async def test_cache_info_counts_hits_and_misses(mode: str) -> None:
    fn, _ = counting(mode)
    decorated = cached(fn)
    assert decorated.cache_info() == CacheInfo(hits=0, misses=0, errors=0)
    await call(decorated, 1)
    await call(decorated, 1)
    await call(decorated, 1)
    await call(decorated, 2)
    info = decorated.cache_info()
    assert (info.hits, info.misses, info.errors) == (2, 2, 0)
    with pytest.raises(AttributeError):
        info.hits = 0


async def test_invalidate_removes_one_entry(mode: str) -> None:
    fn, calls = counting(mode, body=lambda a, b=2: a + b)
    decorated = cached(fn)
    await call(decorated, 1)
    await call(decorated, 2)
    assert await call(decorated.invalidate, a=1, b=2) is True  # same key as decorated(1)
    assert await call(decorated.invalidate, 1) is False
    await call(decorated, 1)
    await call(decorated, 2)
    assert [args for args, _ in calls] == [(1,), (2,), (1,)]


async def test_cache_clear_empties_namespace_and_resets_counters(mode: str) -> None:
    backend = DictCache()
    fn, calls = counting(mode)
    other, other_calls = counting(mode)
    decorated = cached(cache=backend, namespace="mine")(fn)
    neighbour = cached(cache=backend, namespace="theirs")(other)
    await call(decorated, 1)
    await call(decorated, 1)
    await call(neighbour, 1)
    assert await call(decorated.cache_clear) is None
    assert decorated.cache_info() == CacheInfo(hits=0, misses=0, errors=0)
    await call(decorated, 1)
    await call(neighbour, 1)
    assert (len(calls), len(other_calls)) == (2, 1)


# -- namespace, typed, keygen, key_maker ----------------------------------------------------------


async def test_namespace_separates_equal_keys(mode: str, memory: DictCache) -> None:
    key = lambda fn, args, kwargs: "same"  # noqa: E731
    first, _ = counting(mode, body=lambda: "first")
    second, _ = counting(mode, body=lambda: "second")
    in_a = cached(cache=memory, namespace="a", key_maker=key)(first)
    in_b = cached(cache=memory, namespace="b", key_maker=key)(second)
    same_namespace = cached(cache=memory, namespace="a", key_maker=key)(second)
    assert await call(in_a) == "first"
    assert await call(in_b) == "second"
    assert await call(same_namespace) == "first"  # the key maker made them one entry
    assert memory.nonblocking.get("same", namespace="b") == "second"


async def test_typed_separates_arguments_with_equal_repr(mode: str) -> None:
    class Text(str):
        pass

    fn, calls = counting(mode, body=lambda value: type(value).__name__)
    typed = cached(typed=True)(fn)
    assert await call(typed, "a") == "str"
    assert await call(typed, Text("a")) == "Text"
    assert await call(typed, value="a") == "str"  # a hit: same key as typed("a")
    assert len(calls) == 2


async def test_keygen_gets_typed_function_and_arguments(mode: str, memory: DictCache) -> None:
    seen = []

    def keygen(typed: bool, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        seen.append((typed, func, args, kwargs))
        return f"{func.__name__}|{args}|{sorted(kwargs.items())}"

    fn, calls = counting(mode)
    decorated = cached(keygen=keygen, typed=True, cache=memory)(fn)
    await call(decorated, 1, x=2)
    await call(decorated, 1, x=2)
    assert seen == [(True, fn, (1,), {"x": 2})] * 2
    assert len(calls) == 1
    assert memory.nonblocking.get(f"{fn.__name__}|(1,)|[('x', 2)]") is not None


async def test_key_maker_subclass(mode: str, memory: DictCache) -> None:
    class ByFirstArgument(KeyMaker):
        def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            return f"first:{args[0]}"

    fn, calls = counting(mode)
    decorated = cached(key_maker=ByFirstArgument(), cache=memory)(fn)
    await call(decorated, 1, 2)
    await call(decorated, 1, 3)
    assert len(calls) == 1
    assert memory.nonblocking.get("first:1") == (1, (1, 2), {})


async def test_key_maker_subclass_can_precompute_per_function(mode: str) -> None:
    prepared = []

    class Prepared(KeyMaker):
        def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            raise AssertionError("for_function is used instead")

        def for_function(self, fn: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], str]:
            prepared.append(fn)
            return lambda args, kwargs: repr(args)

    fn, calls = counting(mode)
    decorated = cached(key_maker=Prepared())(fn)
    await call(decorated, 1)
    await call(decorated, 1)
    assert prepared == [fn]
    assert len(calls) == 1


async def test_key_maker_plain_callable_with_bytes_keys(mode: str, memory: DictCache) -> None:
    fn, calls = counting(mode)
    decorated = cached(key_maker=lambda fn, args, kwargs: bytes(args), cache=memory)(fn)
    await call(decorated, 104, 105)  # b"hi"
    await call(decorated, 0xFF, 0xFE)  # not UTF-8
    await call(decorated, 104, 105)
    assert len(calls) == 2
    assert await memory.get(b"hi") == (1, (104, 105), {})
    assert await memory.get_or_default("hi") is None  # a bytes key never meets a str key
    assert await memory.get(b"\xff\xfe") == (2, (255, 254), {})


async def test_key_maker_returning_other_types_is_an_error(mode: str) -> None:
    fn, calls = counting(mode)
    decorated = cached(key_maker=lambda fn, args, kwargs: 42)(fn)  # type: ignore[call-overload]
    with pytest.raises(InvalidKeyError, match="str or bytes"):
        await call(decorated)
    assert calls == []


# -- serializer= ----------------------------------------------------------------------------------


@pytest.mark.parametrize("serializer", [JsonSerializer(), PickleSerializer()], ids=["json", "pickle"])
async def test_serializer_stores_encoded_copies_in_memory(mode: str, serializer: Any, memory: DictCache) -> None:
    fn, calls = counting(mode, body=lambda: {"items": [1, 2], "pair": (3, 4)})
    decorated = cached(serializer=serializer, cache=memory, key_maker=lambda fn, args, kwargs: "k")(fn)
    first = await call(decorated)
    first["items"].append("mutated by the caller")
    second = await call(decorated)
    assert second == {"items": [1, 2], "pair": (3, 4)}
    assert second is not first
    assert len(calls) == 1
    assert isinstance(memory.nonblocking.get("k"), bytes)


async def test_without_serializer_memory_stores_the_object_itself(mode: str) -> None:
    fn, _ = counting(mode, body=lambda: [1])
    decorated = cached(fn)
    first = await call(decorated)
    assert await call(decorated) is first


# -- re-pointing backends -------------------------------------------------------------------------


async def test_assigning_cache_backend_repoints_decorated_functions(mode: str) -> None:
    first_backend, second_backend = DictCache(), SyncDictCache()
    front = Cache(first_backend, namespace="front")
    fn, calls = counting(mode)
    decorated = front(fn)
    await call(decorated, 1)
    front.backend = second_backend
    assert front.backend is second_backend
    await call(decorated, 1)
    await call(decorated, 1)
    assert len(calls) == 2
    assert len(first_backend) == 1
    assert len(second_backend) == 1
    assert await call(decorated.invalidate, 1) is True
    assert len(second_backend) == 0


def test_cache_defaults_apply_and_options_override(clock: Any) -> None:
    backend = DictCache(clock=clock)
    front = Cache(backend, ttl=10, namespace="defaults")

    @front
    def short(x: int) -> int:
        return x

    @front(ttl=None, namespace="other")
    def forever(x: int) -> int:
        return x

    short(1)
    forever(1)
    clock.advance(11)
    short(1)
    forever(1)
    assert short.cache_info().misses == 2
    assert forever.cache_info().hits == 1


def test_cache_rejects_unknown_options() -> None:
    with pytest.raises(TypeError, match="ttl_seconds"):
        Cache(DictCache(), ttl_seconds=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="expire"):
        cache_core.cache(expire=1)  # type: ignore[call-overload]


async def test_set_default_backend_returns_previous_and_repoints(mode: str, fresh_default_backend: DictCache) -> None:
    fn, calls = counting(mode)
    decorated = cached(fn)
    await call(decorated, 1)
    replacement = DictCache()
    previous = set_default_backend(replacement)
    try:
        assert previous is fresh_default_backend
        assert cache_core.cache.backend is replacement
        await call(decorated, 1)  # a miss: the new backend is empty
        assert len(calls) == 2
        assert len(replacement) == 1

        @cached
        def later(x: int) -> int:
            return x

        later(1)
        assert len(replacement) == 2
    finally:
        assert set_default_backend(previous) is replacement
    await call(decorated, 1)
    assert len(calls) == 2
