"""Stampedes, shared reads and the cross-process lock primitives, against a real server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.exceptions
from cache_core import cached
from cache_redis import RedisCache, SyncRedisCache
from cache_redis._shared import ReadCoalescer

WORKER = Path(__file__).with_name("_lock_worker.py")


async def _stampede(backend: RedisCache) -> None:
    calls: list[int] = []

    @cached(cache=backend, ttl=60)
    async def slow_square(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.05)
        return x * x

    results = await asyncio.gather(*(slow_square(12) for _ in range(200)), return_exceptions=True)
    assert results == [144] * 200  # no call failed
    assert calls == [12]  # the function ran once
    assert slow_square.cache_info().errors == 0  # and the cache never failed either
    assert await slow_square(12) == 144
    assert calls == [12]


async def test_200_concurrent_callers_with_redis_pys_default_pool(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)  # default pool: at most 100 connections
    assert client.connection_pool.max_connections == 100
    try:
        # The stampede without the backend: 200 simultaneous GETs overrun that pool.
        raw = await asyncio.gather(*(client.get("cold") for _ in range(200)), return_exceptions=True)
        assert any(isinstance(result, redis.exceptions.MaxConnectionsError) for result in raw)
        await client.connection_pool.disconnect()
        async with RedisCache(client) as backend:
            await _stampede(backend)
    finally:
        await client.aclose()


async def test_200_concurrent_callers_with_the_backends_own_pool(redis_url: str) -> None:
    async with RedisCache(redis_url) as backend:
        await _stampede(backend)


async def test_concurrent_reads_of_one_key_share_a_round_trip(redis_url: str) -> None:
    async with RedisCache(redis_url) as backend:
        await backend.put("hot", [1, 2, 3])
        client = backend.client
        assert isinstance(client, redis.asyncio.Redis)
        before = (await client.info("commandstats"))["cmdstat_get"]["calls"]
        assert await asyncio.gather(*(backend.get("hot") for _ in range(50))) == [[1, 2, 3]] * 50
        after = (await client.info("commandstats"))["cmdstat_get"]["calls"]
        assert after - before == 1


async def test_coalesced_readers_survive_a_cancelled_leader() -> None:
    release = asyncio.Event()
    fetches: list[bytes] = []

    async def fetch(command: str, name: bytes, *fields: bytes) -> bytes:
        fetches.append(name)
        await release.wait()
        return b"value"

    reads = ReadCoalescer(fetch)
    leader = asyncio.create_task(reads.get(b"k"))
    await asyncio.sleep(0)
    followers = [asyncio.create_task(reads.get(b"k")) for _ in range(3)]
    await asyncio.sleep(0)
    leader.cancel()
    for _ in range(3):  # the leader unwinds, the followers wake and one of them fetches
        await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*followers) == [b"value"] * 3
    assert leader.cancelled()
    assert len(fetches) == 2  # the cancelled leader's, then one shared by the followers


async def test_coalesced_readers_share_the_leaders_error() -> None:
    started = asyncio.Event()

    async def fetch(command: str, name: bytes, *fields: bytes) -> bytes:
        started.set()
        await asyncio.sleep(0.01)
        raise redis.exceptions.ConnectionError("down")

    reads = ReadCoalescer(fetch)
    tasks = [asyncio.create_task(reads.get(b"k")) for _ in range(3)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, redis.exceptions.ConnectionError) for result in results)
    assert not reads._waiting


# -- lock primitives ---------------------------------------------------------------------


async def test_lock_is_token_checked(redis_url: str) -> None:
    async with RedisCache(redis_url) as one, RedisCache(redis_url) as other:
        token = await one._acquire_lock("ns", "k", 10)
        assert token is not None
        assert await other._acquire_lock("ns", "k", 10) is None
        assert await other._release_lock("ns", "k", "not-the-token") is False
        assert await other._acquire_lock("ns", "k", 10) is None
        assert await one._release_lock("ns", "k", token) is True
        assert await one._release_lock("ns", "k", token) is False  # released once only
        second = await other._acquire_lock("ns", "k", 10)
        assert second is not None
        assert second != token
        assert await one._acquire_lock("ns", "other-key", 10) is not None  # locks are per key


def test_an_expired_lock_taken_by_another_cannot_be_released_by_the_first(redis_url: str) -> None:
    with SyncRedisCache(redis_url) as one, SyncRedisCache(redis_url) as other:
        stale = one._acquire_lock("ns", "k", 0.1)
        assert stale is not None
        time.sleep(0.15)
        fresh = other._acquire_lock("ns", "k", 10)
        assert fresh is not None
        assert one._release_lock("ns", "k", stale) is False  # compare-and-delete: not the holder anymore
        assert one._acquire_lock("ns", "k", 10) is None


def _start_workers(mode: str, url: str, count: int, *, delay: float = 1.5) -> list[subprocess.Popen[str]]:
    """``count`` processes running ``_lock_worker.py``, all starting their work at the same instant."""
    start_at = str(time.time() + delay)
    command = [sys.executable, str(WORKER), mode, url, start_at]
    return [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]


def _outputs(workers: list[subprocess.Popen[str]]) -> list[Any]:
    outputs = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0
        outputs.append(json.loads(out))
    return outputs


def test_a_crashed_holder_blocks_no_longer_than_the_lock_ttl(redis_url: str) -> None:
    (holder,) = _start_workers("hold", redis_url, 1, delay=0)
    try:
        assert holder.stdout is not None
        assert json.loads(holder.stdout.readline()) is not None  # holds the lock, TTL 1 s
        holder.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        with SyncRedisCache(redis_url) as backend:
            while (token := backend._acquire_lock("ns", "crash", 5)) is None:
                time.sleep(0.02)
            waited = time.monotonic() - killed_at
        assert token is not None
        assert waited <= 1.0 + 0.2
    finally:
        holder.kill()
        holder.communicate(timeout=10)


def test_four_processes_race_for_one_lock(redis_url: str) -> None:
    tokens = _outputs(_start_workers("race", redis_url, 4))
    assert sum(token is not None for token in tokens) == 1


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cached-sync", "cached-async"])
def test_four_processes_one_cold_key_under_lock_run_the_function_once(redis_url: str, mode: str) -> None:
    results = _outputs(_start_workers(mode, redis_url, 4))
    assert results == [{"x": 7, "runs": 1}] * 4
    with redis.Redis.from_url(redis_url) as client:
        assert client.get("test:function-runs") == b"1"


@pytest.mark.parametrize("backend_class", [RedisCache, SyncRedisCache])
def test_lock_ttl_must_be_positive(redis_url: str, backend_class: Any) -> None:
    backend = backend_class(redis_url)

    def acquire(ttl: float) -> Any:
        result = backend._acquire_lock("ns", "k", ttl)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result

    for ttl in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lock ttl"):
            acquire(ttl)


@pytest.mark.parametrize("backend_class", [RedisCache, SyncRedisCache])
def test_lock_on_a_cluster(cluster_url: str, backend_class: Any) -> None:
    async def body() -> None:
        backend = backend_class(cluster_url, cluster=True)

        async def call(name: str, *args: Any) -> Any:
            result = getattr(backend, name)(*args)
            return await result if asyncio.iscoroutine(result) else result

        tokens = [await call("_try_lock", "ns", f"k{i}", 10) for i in range(20)]  # keys on every node
        assert all(tokens)
        assert await call("_try_lock", "ns", "k0", 10) is None
        assert await call("_unlock", "ns", "k0", "not-the-token") is False
        assert all([await call("_unlock", "ns", f"k{i}", token) for i, token in enumerate(tokens)])
        assert await call("_try_lock", "ns", "k0", 10) is not None
        await call("close")

    asyncio.run(body())
