"""Real servers for tests: ``redis-server`` and ``mongod`` on free loopback ports.

Each starts in a temporary directory and stops on ``close()``; ``restart()`` brings
it back on the same port (for outage tests). ``REDIS_URL``, ``REDIS_CLUSTER_URL``,
``MONGODB_URL`` and ``MONGODB_REPLSET_URL`` point tests at existing servers instead.
When a binary is missing, tests are skipped with the reason, except under ``CI``
where it is an error.

The ``*_url()`` context managers are what a fixture usually wants::

    @pytest.fixture(scope="session")
    def redis_url():
        with servers.redis_url() as url:
            yield url
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ._mongo_server import MongoServer, external_url, find_mongod, mongod_or_skip
from ._redis_server import (
    RedisClusterProcesses,
    RedisServerProcess,
    external_cluster_url,
    external_redis_url,
    redis_command,
)


@contextmanager
def redis_url() -> Iterator[str]:
    """``REDIS_URL``, or the URL of a ``redis-server`` started for the block."""
    url = external_redis_url()
    if url is not None:
        yield url
        return
    with RedisServerProcess() as server:
        yield server.url


@contextmanager
def redis_cluster_url() -> Iterator[str]:
    """``REDIS_CLUSTER_URL``, or the URL of a 3-node cluster started for the block."""
    url = external_cluster_url()
    if url is not None:
        yield url
        return
    with RedisClusterProcesses() as cluster:
        yield cluster.url


@contextmanager
def mongodb_url(*, replica_set: bool = False) -> Iterator[str]:
    """``MONGODB_URL`` (``MONGODB_REPLSET_URL``), or the URL of a ``mongod`` started for the block."""
    url = external_url(replica_set=replica_set)
    if url is not None:
        yield url
        return
    with MongoServer(mongod_or_skip(), replica_set=replica_set) as server:
        yield server.url


__all__ = [
    "MongoServer",
    "RedisClusterProcesses",
    "RedisServerProcess",
    "find_mongod",
    "mongodb_url",
    "redis_cluster_url",
    "redis_command",
    "redis_url",
]
