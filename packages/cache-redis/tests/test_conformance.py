"""The cache-testing conformance suite against real Redis: async, sync, a user-owned client, a 3-node cluster.

(An async user-owned pool is tested in test_construction.py: the suite runs every test
body in a fresh event loop, which a redis.asyncio pool cannot outlive.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, TypeVar

import pytest
import redis
from cache_redis import RedisCache, SyncRedisCache
from cache_testing.conformance import BackendContract, BackendFactory


class TestRedisCache(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, redis_url: str) -> BackendFactory:
        return lambda **options: RedisCache(redis_url, **options)


class TestSyncRedisCache(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, redis_url: str) -> BackendFactory:
        return lambda **options: SyncRedisCache(redis_url, **options)


class TestSyncRedisCacheOverUserClient(BackendContract):
    """A redis.Redis client the test owns: the backend uses it and never closes it."""

    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, redis_url: str) -> Iterator[BackendFactory]:
        client = redis.Redis.from_url(redis_url)
        yield lambda **options: SyncRedisCache(client, **options)
        assert client.ping()  # still open after every backend over it was closed
        client.close()


class TestRedisCacheOnCluster(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True
    large_value_bytes: ClassVar[int] = 500_000

    @pytest.fixture
    def backend_factory(self, cluster_url: str) -> BackendFactory:
        return lambda **options: RedisCache(cluster_url, cluster=True, **options)


class TestSyncRedisCacheOnCluster(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True
    large_value_bytes: ClassVar[int] = 500_000

    @pytest.fixture
    def backend_factory(self, cluster_url: str) -> BackendFactory:
        return lambda **options: SyncRedisCache(cluster_url, cluster=True, **options)


_Near = TypeVar("_Near", RedisCache, SyncRedisCache)


def live(backend: _Near) -> _Near:
    """``backend`` once its near cache is tracking (before that, every read goes to Redis)."""
    assert backend.near_cache is not None
    assert backend.near_cache.wait_live(10)
    return backend


class TestRedisCacheWithNearCache(BackendContract):
    """Every read that can be served from process memory is, and the contract still holds."""

    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, redis_url: str) -> BackendFactory:
        return lambda **options: live(RedisCache(redis_url, near_cache=1000, **options))


class TestSyncRedisCacheWithNearCache(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, redis_url: str) -> BackendFactory:
        return lambda **options: live(SyncRedisCache(redis_url, near_cache=1000, **options))


class TestRedisCacheWithNearCacheOnCluster(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True
    large_value_bytes: ClassVar[int] = 500_000

    @pytest.fixture
    def backend_factory(self, cluster_url: str) -> BackendFactory:
        return lambda **options: live(RedisCache(cluster_url, cluster=True, near_cache=1000, **options))


class TestSyncRedisCacheWithNearCacheOnCluster(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True
    large_value_bytes: ClassVar[int] = 500_000

    @pytest.fixture
    def backend_factory(self, cluster_url: str) -> BackendFactory:
        return lambda **options: live(SyncRedisCache(cluster_url, cluster=True, near_cache=1000, **options))
