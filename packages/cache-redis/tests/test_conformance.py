"""The cache-testing conformance suite against real Redis: async, sync, a user-owned client, a 3-node cluster.

(An async user-owned pool is tested in test_construction.py: the suite runs every test
body in a fresh event loop, which a redis.asyncio pool cannot outlive.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

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
