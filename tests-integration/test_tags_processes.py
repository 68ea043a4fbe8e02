"""Tags across processes: one process caches tagged entries, others invalidate them.

A reader process keeps a tagged function's entries; separate writer processes (async
backends over the same storage) invalidate tags. The reader then computes exactly the
invalidated entries again, including one whose computation was under way when its tag
was invalidated. SQLite (one file), Redis and a 3-node Redis Cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cache_testing import servers

WORKER = Path(__file__).with_name("_tags_worker.py")


@pytest.fixture(scope="module")
def redis_location() -> Iterator[str]:
    with servers.redis_url() as url:
        yield url


@pytest.fixture(scope="module")
def cluster_location() -> Iterator[str]:
    with servers.redis_cluster_url() as url:
        yield url


class Reader:
    def __init__(self, kind: str, location: str) -> None:
        command = [sys.executable, str(WORKER), kind, location, "reader"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def send(self, line: str) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(30) == 0


def invalidate(kind: str, location: str, *tags: str) -> None:
    command = [sys.executable, str(WORKER), kind, location, "writer", *tags]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == "invalidated"


def _run(kind: str, location: str) -> None:
    reader = Reader(kind, location)
    try:
        assert reader.send("get 1") == ["user 1 #1", 1]
        assert reader.send("get 1") == ["user 1 #1", 1]
        assert reader.send("get 2") == ["user 2 #2", 2]
        invalidate(kind, location, "user:1")
        assert reader.send("get 1") == ["user 1 #3", 3]  # hidden by another process
        assert reader.send("get 2") == ["user 2 #2", 3]  # another tag: kept
        assert reader.send("get 1") == ["user 1 #3", 3]
        assert reader.send("slow 3") == "computing"
        invalidate(kind, location, "user:3")  # while the reader computes user 3
        assert reader.send("resume") == ["user 3 #4", 4]
        assert reader.send("get 3") == ["user 3 #5", 5]  # the invalidation won
        assert reader.send("get 3") == ["user 3 #5", 5]
    finally:
        reader.close()


@pytest.mark.slow
def test_sqlite_tags_across_processes(tmp_path: Path) -> None:
    _run("sqlite", str(tmp_path / "cache.db"))


@pytest.mark.slow
def test_redis_tags_across_processes(redis_location: str) -> None:
    import redis

    redis.Redis.from_url(redis_location).flushdb()
    _run("redis", redis_location)


@pytest.mark.slow
def test_redis_cluster_tags_across_processes(cluster_location: str) -> None:
    from redis.cluster import RedisCluster

    RedisCluster.from_url(cluster_location).flushall()
    _run("redis-cluster", cluster_location)
