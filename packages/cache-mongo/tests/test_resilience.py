"""mongod stops mid-run and comes back: decorated calls stay correct, the cache recovers.

Each test owns its server (``own_server``), stops it between calls and restarts it on
the same port with the same data.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from cache_core import BackendError, BackendTimeoutError, BackendUnavailableError, CircuitBreaker, cached
from cache_mongo import MongoCache, SyncMongoCache
from cache_testing._mongo_server import MongoServer

pytestmark = pytest.mark.slow


def fast_failure() -> dict[str, Any]:
    """Options that notice a dead server quickly: a short timeout and a quick breaker."""
    return {"timeoutMS": 300, "breaker": CircuitBreaker(failures=2, reset_after=0.2)}


async def test_async_backend_survives_a_server_restart(own_server: MongoServer) -> None:
    calls: list[int] = []
    async with MongoCache(own_server.url, database="resilience", **fast_failure()) as backend:

        @cached(cache=backend, ttl=600)
        async def square(x: int) -> int:
            calls.append(x)
            return x * x

        assert [await square(2), await square(3), await square(2)] == [4, 9, 4]
        assert calls == [2, 3]

        own_server.stop()
        # Down: every call still returns the right value, computed (fail-open).
        assert [await square(2), await square(3), await square(4)] == [4, 9, 16]
        assert calls == [2, 3, 2, 3, 4]
        with pytest.raises(BackendError) as caught:
            await backend.get("k")
        assert isinstance(caught.value, (BackendTimeoutError, BackendUnavailableError))
        started = time.perf_counter()
        assert await square(5) == 25  # the open breaker skips the dead server at once
        assert time.perf_counter() - started < 0.1

        own_server.start()
        # Back: once the breaker lets a probe through, entries stored before the outage are hits again.
        deadline = time.monotonic() + 10
        while True:
            before = len(calls)
            assert await square(2) == 4
            if len(calls) == before:
                break
            assert time.monotonic() < deadline, "the cache did not recover within 10 s"
            await asyncio.sleep(0.05)
        assert await square(3) == 9
        await backend.put("after", "restart")
        assert await backend.get("after") == "restart"
        assert not backend.breaker or not backend.breaker.is_open


def test_sync_backend_survives_a_server_restart(own_server: MongoServer) -> None:
    calls: list[int] = []
    with SyncMongoCache(own_server.url, database="resilience", **fast_failure()) as backend:

        @cached(cache=backend, ttl=600)
        def cube(x: int) -> int:
            calls.append(x)
            return x**3

        assert [cube(2), cube(2)] == [8, 8]
        own_server.stop()
        assert [cube(2), cube(3), cube(3)] == [8, 27, 27]
        assert calls == [2, 2, 3, 3]
        own_server.start()
        deadline = time.monotonic() + 10
        while True:
            before = len(calls)
            assert cube(2) == 8
            if len(calls) == before:
                break
            assert time.monotonic() < deadline, "the cache did not recover within 10 s"
            time.sleep(0.05)
        backend.put("after", "restart")
        assert backend.get("after") == "restart"


async def test_restart_while_writes_are_in_flight(own_server: MongoServer) -> None:
    """Writes racing a restart fail open; afterwards every read is either a hit with the right value or a miss."""
    async with MongoCache(own_server.url, database="resilience", **fast_failure()) as backend:

        @cached(cache=backend)
        async def identity(x: int) -> int:
            await asyncio.sleep(0)
            return x

        async def restart() -> None:
            await asyncio.sleep(0.02)
            await asyncio.to_thread(own_server.restart)

        results, _ = await asyncio.gather(asyncio.gather(*(identity(i) for i in range(200))), restart())
        assert results == list(range(200))
        await asyncio.sleep(0.3)
        assert [await identity(i) for i in range(200)] == list(range(200))


async def test_async_read_after_a_quick_restart_is_a_hit(own_server: MongoServer) -> None:
    """A hit read on a pooled connection the restart broke is tried once more, as PyMongo retries reads."""
    async with MongoCache(own_server.url, database="resilience") as backend:
        await backend.put("kept", "value")
        assert await backend.get("kept") == "value"  # a pooled connection to the old process
        own_server.restart()
        assert await backend.get("kept") == "value"


def test_sync_read_after_a_quick_restart_is_a_hit(own_server: MongoServer) -> None:
    with SyncMongoCache(own_server.url, database="resilience") as backend:
        backend.put("kept", "value")
        assert backend.get("kept") == "value"
        own_server.restart()
        assert backend.get("kept") == "value"
