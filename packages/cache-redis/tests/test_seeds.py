"""The cachetoolz API's examples with ``RedisBackend`` / ``AsyncRedisBackend``, against a real server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis
from cache_core import Cache
from cache_redis import AsyncRedisBackend, RedisBackend


def test_sync_redis_backend_with_cache_front(redis_url: str, admin: redis.Redis) -> None:
    backend = RedisBackend(redis_url)
    cache = Cache(backend)
    calls: list[str] = []

    @cache()
    def sub(x: int, y: int) -> int:
        calls.append("sub")
        return x - y

    @cache
    def add(x: int, y: int) -> int:
        calls.append("add")
        return x + y

    @cache(ttl=timedelta(days=1), namespace="bar", typed=True)
    def echo(value: Any) -> Any:
        calls.append("echo")
        return value

    @cache.clear(namespaces=["bar"])
    def reset_bar() -> None:
        calls.append("reset")

    assert [sub(5, 3), sub(5, 3), add(1, 2), add(1, 2)] == [2, 2, 3, 3]
    assert calls == ["sub", "add"]
    assert [echo(1), echo(1.0), echo(1)] == [1, 1.0, 1]
    assert calls.count("echo") == 2  # typed: 1 and 1.0 are cached apart
    assert 86000_000 < admin.pttl(next(iter(admin.scan_iter("cache:bar:*")))) <= 86400_000
    reset_bar()
    assert echo(1) == 1
    assert calls.count("echo") == 3
    assert sub(5, 3) == 2  # the default namespace was not cleared
    assert calls.count("sub") == 1
    backend.close()


async def test_async_redis_backend_with_cache_front(redis_url: str) -> None:
    backend = AsyncRedisBackend(redis_url)
    cache = Cache(backend)
    calls: list[str] = []

    @cache()
    async def mul(x: int, y: int) -> int:
        calls.append("mul")
        return x * y

    def custom_keygen(typed: bool, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        return f"{func.__name__}:{args}"

    @cache(ttl=7200, namespace="foo", keygen=custom_keygen)
    async def values(*numbers: int) -> dict[str, Any]:
        calls.append("values")
        return {"numbers": numbers, "set": set(numbers)}

    @cache.clear
    async def reset_default() -> None:
        calls.append("reset")

    assert [await mul(3, 4), await mul(3, 4)] == [12, 12]
    assert await values(1, 2) == {"numbers": (1, 2), "set": {1, 2}}  # JSON coder keeps tuples and sets
    assert await values(1, 2) == {"numbers": (1, 2), "set": {1, 2}}
    assert calls == ["mul", "values"]
    await reset_default()
    assert await mul(3, 4) == 12
    assert calls == ["mul", "values", "reset", "mul"]
    assert await values(1, 2) == {"numbers": (1, 2), "set": {1, 2}}  # "foo" was not cleared
    assert calls.count("values") == 1
    await backend.close()


async def test_async_function_with_sync_redis_backend(redis_url: str) -> None:
    """As in cachetoolz: async functions may use the sync backend too."""
    backend = RedisBackend(redis_url)
    cache = Cache(backend)

    @cache(ttl=60)
    async def double(x: int) -> int:
        return 2 * x

    assert [await double(4), await double(4)] == [8, 8]
    assert double.cache_info().hits == 1
    backend.close()
