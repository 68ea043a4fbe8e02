"""Real redis-server processes for the cache-redis tests (see ``cache_testing._redis_server``).

Session-scoped: one server and one 3-node Redis Cluster on loopback ports, started on
first use and stopped at the end. ``REDIS_URL`` / ``REDIS_CLUSTER_URL`` use existing
servers instead; every test starts with their databases flushed. Tests that kill or
freeze a server get one of their own (``own_redis``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import redis.cluster
from cache_testing import servers
from cache_testing._redis_server import (
    RedisServerProcess,
)


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with servers.redis_url() as url:
        yield url


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    with servers.redis_cluster_url() as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session server's URL, its database flushed for this test."""
    with redis.Redis.from_url(redis_server_url) as client:
        client.flushdb()
    return redis_server_url


@pytest.fixture
def cluster_url(redis_cluster_url: str) -> str:
    """A node of the session cluster, every primary flushed for this test."""
    client = redis.cluster.RedisCluster.from_url(redis_cluster_url)
    try:
        client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    finally:
        client.close()
    return redis_cluster_url


@pytest.fixture
def admin(redis_url: str) -> Iterator[redis.Redis]:
    """A plain sync client on the session server, for looking at what the backends stored."""
    with redis.Redis.from_url(redis_url) as client:
        yield client


@pytest.fixture
def own_redis() -> Iterator[RedisServerProcess]:
    """A redis-server for this test alone, which it may kill, freeze and restart."""
    with RedisServerProcess() as server:
        yield server
