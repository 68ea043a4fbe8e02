"""Single flight: concurrent misses on one key run the function once.

Async callers are tasks of one event loop; sync callers are threads. The two
mechanisms differ (futures vs events), so each mode has its own tests.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cache_core import DictCache, InvalidTTLError, SyncDictCache, cached

N = 10


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(5):
        await asyncio.sleep(0)


# -- async: tasks -------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sync-memory", "async-only"])
def async_backend(request: pytest.FixtureRequest, async_rows_backend: Any) -> Any:
    """In-process (hits without await), a sync backend, and one that awaits every call."""
    return {"memory": DictCache(), "sync-memory": SyncDictCache(), "async-only": async_rows_backend}[request.param]


async def test_tasks_on_a_cold_key_run_the_function_once(async_backend: Any) -> None:
    gate = asyncio.Event()
    runs = []

    @cached(cache=async_backend)
    async def load(x: int) -> list[int]:
        runs.append(x)
        await gate.wait()
        return [x, len(runs)]

    tasks = [asyncio.create_task(load(1)) for _ in range(N)]
    other = asyncio.create_task(load(2))
    await settle()
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert runs == [1, 2]
    assert results == [[1, 2]] * N
    assert await other == [2, 2]
    assert await load(1) == [1, 2]
    assert load.cache_info().hits == 1


async def test_task_exception_reaches_every_waiter_and_is_not_cached(async_backend: Any) -> None:
    gate = asyncio.Event()
    runs = 0

    class BoomError(Exception):
        pass

    @cached(cache=async_backend)
    async def load(x: int) -> int:
        nonlocal runs
        runs += 1
        await gate.wait()
        if runs == 1:
            raise BoomError(x)
        return runs

    tasks = [asyncio.create_task(load(1)) for _ in range(N)]
    await settle()
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert runs == 1
    assert all(isinstance(result, BoomError) for result in results)
    assert await load(1) == 2  # runs again: the failure was not cached
    assert await load(1) == 2


async def test_cancelling_the_computing_task_lets_waiters_finish(async_backend: Any) -> None:
    gate = asyncio.Event()
    runs = 0

    @cached(cache=async_backend)
    async def load(x: int) -> int:
        nonlocal runs
        runs += 1
        await gate.wait()
        return x * 10

    leader = asyncio.create_task(load(1))
    await settle()
    waiters = [asyncio.create_task(load(1)) for _ in range(N)]
    await settle()
    leader.cancel()
    await settle()
    gate.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 5) == [10] * N
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert runs == 2  # the cancelled run, and one waiter that took over
    assert await load(1) == 10
    assert runs == 2


async def test_cancelling_a_waiter_leaves_the_computation_running(async_backend: Any) -> None:
    gate = asyncio.Event()
    runs = 0

    @cached(cache=async_backend)
    async def load(x: int) -> int:
        nonlocal runs
        runs += 1
        await gate.wait()
        return x

    leader = asyncio.create_task(load(1))
    await settle()
    waiters = [asyncio.create_task(load(1)) for _ in range(3)]
    await settle()
    waiters[0].cancel()
    await settle()
    gate.set()
    assert await asyncio.wait_for(leader, 5) == 1
    assert await asyncio.gather(*waiters[1:]) == [1, 1]
    assert waiters[0].cancelled()
    assert runs == 1


async def test_failure_after_the_run_reaches_waiters_without_hanging(async_backend: Any) -> None:
    gate = asyncio.Event()

    def bad_ttl(fn: Any, args: Any, kwargs: Any, value: Any) -> int:
        return -1

    @cached(cache=async_backend, ttl=bad_ttl)
    async def load(x: int) -> int:
        await gate.wait()
        return x

    tasks = [asyncio.create_task(load(1)) for _ in range(N)]
    await settle()
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert all(isinstance(result, InvalidTTLError) for result in results)


async def test_tasks_in_different_event_loops_do_not_share_a_flight() -> None:
    backend = DictCache()
    started = threading.Event()
    release = threading.Event()

    @cached(cache=backend)
    async def load(x: int) -> str:
        if threading.current_thread() is threading.main_thread():
            started.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 5)
        return threading.current_thread().name

    def other_loop() -> str:
        started.wait(5)
        try:
            return asyncio.run(load(1))
        finally:
            release.set()

    with ThreadPoolExecutor(1, thread_name_prefix="other") as pool:
        result = pool.submit(other_loop)
        mine = await load(1)
        assert result.result(5).startswith("other")
    assert mine == "MainThread"


# -- sync: threads ------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sync-memory", "rows"])
def sync_backend(request: pytest.FixtureRequest, rows_backend: Any) -> Any:
    return {"memory": DictCache(), "sync-memory": SyncDictCache(), "rows": rows_backend}[request.param]


def start_threads(fn: Callable[[], Any], count: int = N) -> tuple[ThreadPoolExecutor, list[Any]]:
    pool = ThreadPoolExecutor(count)
    return pool, [pool.submit(fn) for _ in range(count)]


def test_threads_on_a_cold_key_run_the_function_once(sync_backend: Any) -> None:
    release = threading.Event()
    runs = []

    @cached(cache=sync_backend)
    def load(x: int) -> list[int]:
        runs.append(x)
        release.wait(5)
        return [x, len(runs)]

    pool, futures = start_threads(lambda: load(1))
    with pool:
        wait_until(lambda: load.cache_info().misses >= N or len(runs) > 1, timeout=1)
        time.sleep(0.05)  # the last callers reach the flight
        release.set()
        results = [future.result(5) for future in futures]
    assert runs == [1]
    assert results == [[1, 1]] * N
    assert all(result is results[0] for result in results)
    assert load(1) == [1, 1]


def test_thread_exception_reaches_every_waiter_and_is_not_cached(sync_backend: Any) -> None:
    release = threading.Event()
    runs = 0

    class BoomError(Exception):
        pass

    @cached(cache=sync_backend)
    def load(x: int) -> int:
        nonlocal runs
        runs += 1
        release.wait(5)
        if runs == 1:
            raise BoomError(x)
        return runs

    pool, futures = start_threads(lambda: load(1))
    with pool:
        wait_until(lambda: load.cache_info().misses >= N, timeout=1)
        time.sleep(0.05)
        release.set()
        errors = [future.exception(5) for future in futures]
    assert runs == 1
    assert all(isinstance(error, BoomError) for error in errors)
    assert load(1) == 2
    assert load(1) == 2


def test_thread_failure_after_the_run_reaches_waiters(sync_backend: Any) -> None:
    release = threading.Event()

    @cached(cache=sync_backend, ttl=lambda fn, args, kwargs, value: float("nan"))
    def load(x: int) -> int:
        release.wait(5)
        return x

    pool, futures = start_threads(lambda: load(1), 4)
    with pool:
        time.sleep(0.05)
        release.set()
        errors = [future.exception(5) for future in futures]
    assert all(isinstance(error, InvalidTTLError) for error in errors)


def test_different_keys_run_in_parallel(sync_backend: Any) -> None:
    barrier = threading.Barrier(3, timeout=5)

    @cached(cache=sync_backend)
    def load(x: int) -> int:
        barrier.wait()  # would break if the three keys ran one after another
        return x

    pool = ThreadPoolExecutor(3)
    with pool:
        assert sorted(pool.map(load, [1, 2, 3])) == [1, 2, 3]
