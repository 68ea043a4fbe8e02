"""Building RedisCache / SyncRedisCache: URLs, user-owned clients and pools, options, clear errors."""

from __future__ import annotations

from typing import Any

import cache_redis
import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from cache_core import BackendError, CircuitBreaker, JsonSerializer, PickleSerializer, cached
from cache_redis import AsyncRedisBackend, RedisBackend, RedisCache, SyncRedisCache

BACKENDS = [RedisCache, SyncRedisCache]


def test_public_names() -> None:
    assert cache_redis.__all__ == ["AsyncRedisBackend", "RedisBackend", "RedisCache", "SyncRedisCache"]
    assert AsyncRedisBackend is RedisCache
    assert RedisBackend is SyncRedisCache


@pytest.mark.parametrize("backend_class", BACKENDS)
@pytest.mark.parametrize(
    "url",
    ["http://localhost:6380", "localhost:6380", "", "redis://localhost:notaport/0", "mongodb://h/db"],
    ids=["http", "no-scheme", "empty", "bad-port", "mongodb"],
)
def test_bad_url_is_a_clear_error_at_construction(backend_class: Any, url: str) -> None:
    with pytest.raises(ValueError, match="bad Redis URL"):
        backend_class(url)


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_passwords_never_appear_in_errors_or_repr(backend_class: Any) -> None:
    with pytest.raises(ValueError, match="bad Redis URL") as caught:
        backend_class("http://user:s3cret@localhost:1/0")
    assert "s3cret" not in str(caught.value)
    backend = backend_class("redis://user:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in repr(backend)
    assert "***" in repr(backend)


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_decode_responses_is_refused(backend_class: Any) -> None:
    with pytest.raises(ValueError, match="decode_responses=False"):
        backend_class("redis://127.0.0.1:1/0", decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses=False"):
        backend_class("redis://127.0.0.1:1/0?decode_responses=True")


def test_decode_responses_client_is_refused() -> None:
    with pytest.raises(ValueError, match="decode_responses=False"):
        SyncRedisCache(redis.Redis(port=1, decode_responses=True))
    with pytest.raises(ValueError, match="decode_responses=False"):
        RedisCache(redis.asyncio.Redis(port=1, decode_responses=True))


def test_the_wrong_kind_of_client_names_what_fits() -> None:
    with pytest.raises(TypeError, match=r"redis\.asyncio Redis, RedisCluster or ConnectionPool, not redis\.client"):
        RedisCache(redis.Redis(port=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"a redis Redis, RedisCluster or ConnectionPool"):
        SyncRedisCache(redis.asyncio.Redis(port=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not builtins\.int"):
        SyncRedisCache(6379)  # type: ignore[arg-type]


def test_redis_kwargs_only_go_with_a_url() -> None:
    with pytest.raises(TypeError, match="only apply to a URL"):
        SyncRedisCache(redis.Redis(port=1), socket_timeout=3)
    with pytest.raises(TypeError, match="only apply to a URL"):
        RedisCache(redis.asyncio.Redis(port=1), cluster=True)


@pytest.mark.parametrize("backend_class", BACKENDS)
@pytest.mark.parametrize("timeout", [0, -1, "1"])
def test_bad_timeout(backend_class: Any, timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        backend_class("redis://127.0.0.1:1/0", timeout=timeout)


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_bad_prefix(backend_class: Any) -> None:
    with pytest.raises(ValueError, match="prefix"):
        backend_class("redis://127.0.0.1:1/0", prefix="")


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_url_defaults_timeout_and_retry_and_the_callers_options_win(backend_class: Any) -> None:
    backend = backend_class("redis://127.0.0.1:1/0")
    options = backend.client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 1.0
    assert options["retry"].get_retries() == 1
    tuned = backend_class("redis://127.0.0.1:1/0", timeout=0.25, socket_connect_timeout=2, max_connections=7)
    options = tuned.client.connection_pool.connection_kwargs
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (0.25, 2)
    assert tuned.client.connection_pool.max_connections == 7
    assert (
        backend_class("redis://127.0.0.1:1/0?socket_timeout=3").client.connection_pool.connection_kwargs[
            "socket_timeout"
        ]
        == 3
    )


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_serializer_and_breaker_defaults(backend_class: Any) -> None:
    backend = backend_class("redis://127.0.0.1:1/0")
    assert isinstance(backend.serializer, JsonSerializer)
    assert isinstance(backend.breaker, CircuitBreaker)
    assert backend_class("redis://127.0.0.1:1/0", breaker=False).breaker is None
    assert backend_class("redis://127.0.0.1:1/0", breaker=None).breaker is None
    breaker = CircuitBreaker(failures=1, reset_after=0.1)
    assert backend_class("redis://127.0.0.1:1/0", breaker=breaker).breaker is breaker
    pickled = backend_class("redis://127.0.0.1:1/0", serializer=PickleSerializer())
    assert isinstance(pickled.serializer, PickleSerializer)


def test_cluster_url_builds_a_cluster_client() -> None:
    backend = RedisCache("redis://127.0.0.1:1/0", cluster=True)
    assert isinstance(backend.client, redis.asyncio.cluster.RedisCluster)


def test_unreachable_cluster_for_the_sync_backend_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match="cannot reach Redis") as caught:
        SyncRedisCache("redis://user:s3cret@127.0.0.1:1/0", cluster=True)
    assert "s3cret" not in str(caught.value)


def test_a_sync_function_with_the_async_backend_names_the_sync_one() -> None:
    with pytest.raises(TypeError, match="use SyncRedisCache"):

        @cached(cache=RedisCache("redis://127.0.0.1:1/0"))
        def f() -> int:
            return 1


async def test_async_backend_round_trip_and_close(redis_url: str) -> None:
    async with RedisCache(redis_url) as backend:
        await backend.put("k", (1, "two"), ttl=60)
        assert await backend.get("k") == (1, "two")
    assert "closed" in repr(backend)


async def test_user_owned_pool_is_left_open(redis_url: str) -> None:
    pool = redis.asyncio.ConnectionPool.from_url(redis_url)
    try:
        backend = RedisCache(pool)
        await backend.put("k", 1)
        await backend.close()
        async with redis.asyncio.Redis(connection_pool=pool) as client:
            assert await client.exists("cache:default:k")
    finally:
        await pool.disconnect()


async def test_user_owned_client_is_left_open(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        async with RedisCache(client, prefix="mine") as backend:
            await backend.put("k", 1)
        assert await client.exists("mine:default:k") == 1
    finally:
        await client.aclose()


def test_user_owned_sync_pool_is_left_open(redis_url: str) -> None:
    pool = redis.ConnectionPool.from_url(redis_url)
    with SyncRedisCache(pool) as backend:
        backend.put("k", 1)
    assert redis.Redis(connection_pool=pool).exists("cache:default:k")
    pool.disconnect()


async def test_owned_client_is_closed(redis_url: str) -> None:
    backend = RedisCache(redis_url)
    await backend.put("k", 1)
    client = backend.client
    assert isinstance(client, redis.asyncio.Redis)
    pool = client.connection_pool
    assert pool._available_connections
    await backend.close()
    assert not any(connection.is_connected for connection in pool._available_connections)


def test_user_owned_cluster_client(cluster_url: str) -> None:
    client = redis.cluster.RedisCluster.from_url(cluster_url)
    with SyncRedisCache(client) as backend:
        backend.put_many({f"k{i}": i for i in range(30)})
        assert backend.get_many([f"k{i}" for i in range(30)]) == {f"k{i}": i for i in range(30)}
        backend.clear()
        assert backend.get_many([f"k{i}" for i in range(30)]) == {}
    assert client.ping()
    client.close()
