"""The cachetoolz API's examples with ``MongoBackend`` / ``AsyncMongoBackend`` against a real mongod."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from cache_core import Cache, coder
from cache_mongo import AsyncMongoBackend, MongoBackend
from cache_testing import TestClock


class Calls:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        self.count += 1
        return (self.count, list(args), kwargs)


@pytest.fixture
def sync_backend(mongo_url: str, database_name: str) -> Iterator[MongoBackend]:
    with MongoBackend(mongo_url, database=database_name) as backend:
        yield backend


async def test_async_backend_with_sync_and_async_functions(mongo_url: str, database_name: str) -> None:
    """``Cache(AsyncMongoBackend())`` for async functions, ``Cache(MongoBackend())`` for both kinds."""
    async_cache = Cache(AsyncMongoBackend(mongo_url, database=database_name))
    sync_cache = Cache(MongoBackend(host=mongo_url, database=database_name))
    calls = Calls()

    @async_cache()
    async def mul(x: int, y: int) -> Any:
        return calls(x * y)

    @sync_cache()
    def sub(x: int, y: int) -> Any:
        return calls(x - y)

    @sync_cache(namespace="async-on-sync")
    async def add(x: int, y: int) -> Any:
        return calls(x + y)

    assert await mul(5, 3) == await mul(5, 3) == (1, [15], {})
    assert sub(5, 3) == sub(5, 3) == (2, [2], {})
    assert await add(5, 3) == await add(5, 3) == (3, [8], {})
    assert calls.count == 3
    with pytest.raises(TypeError, match="use MongoBackend for sync functions"):

        @async_cache()
        def div(x: int, y: int) -> float:
            return x / y

    await async_cache.backend.close()  # type: ignore[misc]
    sync_cache.backend.close()


def test_bare_decorator_namespace_typed_and_keygen(sync_backend: MongoBackend) -> None:
    cache = Cache(sync_backend)
    calls = Calls()

    @cache
    def func(*args: Any, **kwargs: Any) -> Any:
        return calls(*args, **kwargs)

    @cache(namespace="bar")
    def in_bar(*args: Any, **kwargs: Any) -> Any:
        return calls(*args, **kwargs)

    @cache(typed=True)
    def typed(*args: Any, **kwargs: Any) -> Any:
        return type(args[0]).__name__

    def custom_keygen(typed: bool, func: Any, *args: Any, **kwargs: Any) -> str:
        return f"{func.__name__}:{args[0] % 10}"

    @cache(keygen=custom_keygen)
    def last_digit(*args: Any, **kwargs: Any) -> Any:
        return calls(*args)

    assert func(1, a=2) == func(1, a=2)
    assert in_bar(1) == in_bar(1)
    assert sync_backend.get_many([], namespace="bar") == {}
    assert (typed(1), typed(1.0), typed(True)) == ("int", "float", "bool")
    assert last_digit(1) == last_digit(11) == last_digit(21)
    assert calls.count == 3


def test_ttl_seconds_and_timedelta(mongo_url: str, database_name: str) -> None:
    clock = TestClock()
    with MongoBackend(mongo_url, database=database_name, clock=clock) as backend:
        cache = Cache(backend)
        calls = Calls()

        @cache(ttl=60)
        def minute() -> Any:
            return calls("minute")

        @cache(ttl=timedelta(days=1))
        def day() -> Any:
            return calls("day")

        first_minute, first_day = minute(), day()
        clock.advance(59.9)
        assert minute() == first_minute
        clock.advance(0.1)
        assert minute() != first_minute
        assert day() == first_day
        clock.advance(86_400)
        assert day() != first_day


async def test_cache_clear_decorators(mongo_url: str, database_name: str) -> None:
    backend = AsyncMongoBackend(mongo_url, database=database_name)
    cache = Cache(backend)
    calls = Calls()

    @cache
    async def in_default(x: int) -> Any:
        return calls(x)

    @cache(namespace="foo")
    async def in_foo(x: int) -> Any:
        return calls(x)

    @cache.clear
    async def clear_default() -> str:
        return "done"

    @cache.clear(namespaces=["foo"])  # type: ignore[untyped-decorator, unused-ignore]  # Cache.clear(...) returns Any
    async def clear_foo() -> str:
        return "done"

    await in_default(1)
    await in_foo(1)
    assert await clear_default() == "done"
    await in_default(1)
    await in_foo(1)
    assert (in_default.cache_info().misses, in_foo.cache_info().hits) == (2, 1)
    assert await clear_foo() == "done"
    await in_foo(1)
    assert in_foo.cache_info().misses == 2
    await backend.close()


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)

    __hash__ = None  # type: ignore[assignment]


async def test_coder_types_and_registered_coder_through_mongo(mongo_url: str, database_name: str) -> None:
    @coder.register
    class PointCoder:
        @staticmethod
        def encode(value: Point) -> list[int]:
            return [value.x, value.y]

        @staticmethod
        def decode(value: list[int]) -> Point:
            return Point(*value)

    values: dict[str, Any] = {
        "tuple": (1, "a"),
        "set": {1, 2},
        "uuid": uuid.UUID(int=7),
        "path": Path("/tmp/x"),
        "decimal": Decimal("1.10"),
        "network": IPv4Network("10.0.0.0/8"),
        "point": Point(1, 2),
        "bytes": b"\x00\xff",
    }
    async with AsyncMongoBackend(mongo_url, database=database_name) as backend:
        await backend.put_many(values)
        assert await backend.get_many(list(values)) == values
