"""Redis down, frozen or restarted: decorated calls keep answering; direct calls raise documented errors."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
import redis.exceptions
from cache_core import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    CircuitBreaker,
    cached,
)
from cache_redis import RedisCache, SyncRedisCache
from cache_testing._redis_server import RedisServerProcess

pytestmark = pytest.mark.slow


def _outage_messages(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    started = sum("serving uncached results" in record.getMessage() for record in caplog.records)
    ended = sum("works again" in record.getMessage() for record in caplog.records)
    return started, ended


async def test_async_kill_and_restart_mid_run(own_redis: RedisServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    backend = RedisCache(own_redis.url, breaker=CircuitBreaker(failures=2, reset_after=0.2))
    calls: list[int] = []

    @cached(cache=backend, ttl=600)
    async def square(x: int) -> int:
        calls.append(x)
        return x * x

    caplog.set_level(logging.WARNING, logger="cache_core")
    assert [await square(x) for x in range(5)] == [0, 1, 4, 9, 16]
    assert [await square(x) for x in range(5)] == [0, 1, 4, 9, 16]
    assert len(calls) == 5  # cached

    own_redis.kill()
    started = time.monotonic()
    for _ in range(20):
        assert [await square(x) for x in range(5)] == [0, 1, 4, 9, 16]
    assert time.monotonic() - started < 3  # the breaker stops waiting on a dead server
    assert len(calls) == 5 + 100  # every call computed while Redis was down
    assert _outage_messages(caplog) == (1, 0)  # logged once per outage, not per call

    own_redis.restart()
    await asyncio.sleep(0.3)  # past reset_after: the next call probes
    deadline = time.monotonic() + 5
    while True:
        before = len(calls)
        assert await square(7) == 49
        assert await square(7) == 49
        if len(calls) == before + 1:  # computed once, then served from Redis
            break
        assert time.monotonic() < deadline, "caching did not resume after the restart"
        await asyncio.sleep(0.1)
    assert _outage_messages(caplog) == (1, 1)
    assert [await square(x) for x in (7, 7, 7)] == [49, 49, 49]
    assert square.cache_info().errors > 0
    await backend.close()


def test_sync_kill_and_restart_mid_run(own_redis: RedisServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    backend = SyncRedisCache(own_redis.url, breaker=CircuitBreaker(failures=2, reset_after=0.2))
    calls: list[int] = []

    @cached(cache=backend, ttl=600)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    caplog.set_level(logging.WARNING, logger="cache_core")
    assert [square(x) for x in range(5)] == [0, 1, 4, 9, 16]
    assert [square(x) for x in range(5)] == [0, 1, 4, 9, 16]
    assert len(calls) == 5

    own_redis.kill()
    started = time.monotonic()
    for _ in range(20):
        assert [square(x) for x in range(5)] == [0, 1, 4, 9, 16]
    assert time.monotonic() - started < 3
    assert len(calls) == 5 + 100
    assert _outage_messages(caplog) == (1, 0)

    own_redis.restart()
    time.sleep(0.3)
    deadline = time.monotonic() + 5
    while True:
        before = len(calls)
        assert square(7) == 49
        assert square(7) == 49
        if len(calls) == before + 1:
            break
        assert time.monotonic() < deadline, "caching did not resume after the restart"
        time.sleep(0.1)
    assert _outage_messages(caplog) == (1, 1)
    backend.close()


async def test_direct_calls_raise_backend_errors_then_the_breaker_skips(own_redis: RedisServerProcess) -> None:
    backend = RedisCache(own_redis.url, breaker=CircuitBreaker(failures=2, reset_after=30))
    await backend.put("k", 1)
    own_redis.kill()
    for _ in range(2):
        with pytest.raises(BackendError) as caught:
            await backend.get("k")
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="consecutive failures"):
        await backend.put("k", 2)
    with pytest.raises(BackendUnavailableError):
        await backend._try_lock("default", "k", 1)
    assert time.monotonic() - started < 0.05
    await backend.close()


@pytest.mark.parametrize("fail_open", [True, False])
async def test_fail_open_or_propagate(own_redis: RedisServerProcess, fail_open: bool) -> None:
    backend = RedisCache(own_redis.url, breaker=False)
    own_redis.kill()

    @cached(cache=backend, fail_open=fail_open)
    async def answer() -> int:
        return 42

    if fail_open:
        assert await answer() == 42
    else:
        with pytest.raises(BackendError):
            await answer()
    await backend.close()


async def test_a_frozen_server_times_out(own_redis: RedisServerProcess) -> None:
    backend = RedisCache(own_redis.url, timeout=0.2, breaker=False)
    await backend.put("k", 1)
    calls: list[int] = []

    @cached(cache=backend, namespace="frozen")
    async def answer() -> int:
        calls.append(1)
        return 42

    own_redis.pause()
    try:
        started = time.monotonic()
        with pytest.raises(BackendTimeoutError) as caught:
            await backend.get("k")
        assert time.monotonic() - started < 1
        assert isinstance(caught.value, TimeoutError)
        started = time.monotonic()
        assert await answer() == 42  # a lookup and a store, each bounded by the timeout
        assert time.monotonic() - started < 2
    finally:
        own_redis.resume()
    assert await backend.get("k") == 1
    assert await answer() == 42
    assert await answer() == 42
    assert len(calls) == 2
    await backend.close()


def test_a_frozen_server_times_out_sync(own_redis: RedisServerProcess) -> None:
    backend = SyncRedisCache(own_redis.url, timeout=0.2, breaker=False)
    backend.put("k", 1)
    own_redis.pause()
    try:
        started = time.monotonic()
        with pytest.raises(BackendTimeoutError):
            backend.get("k")
        assert time.monotonic() - started < 1
    finally:
        own_redis.resume()
    assert backend.get("k") == 1
    backend.close()


async def test_server_not_running_at_construction(own_redis: RedisServerProcess) -> None:
    own_redis.kill()
    backend: Any = RedisCache(own_redis.url)  # construction never talks to the server
    with pytest.raises(BackendError):
        await backend.get("k")
    own_redis.restart()
    backend.breaker.record_success()
    await backend.put("k", 1)
    assert await backend.get("k") == 1
    await backend.close()
