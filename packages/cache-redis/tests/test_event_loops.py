"""One ``RedisCache`` serves every event loop that calls it: loops in turn, loops in threads, pytest's loops.

From a URL, each loop gets a client of its own, closed when that loop shuts down; the
reads that share a round trip are shared within a loop only.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
import redis
from cache_core import cached
from cache_redis import RedisCache


def _counted(backend: RedisCache) -> tuple[Any, list[int]]:
    runs: list[int] = []

    @cached(cache=backend, ttl=60)
    async def square(x: int) -> int:
        runs.append(x)
        await asyncio.sleep(0)
        return x * x

    return square, runs


@pytest.mark.parametrize("cluster", [False, True], ids=["server", "cluster"])
def test_asyncio_run_twice_in_a_row_hits_on_the_second_loop(redis_url: str, cluster_url: str, cluster: bool) -> None:
    backend = RedisCache(cluster_url, cluster=True) if cluster else RedisCache(redis_url)
    square, runs = _counted(backend)

    async def calls() -> list[int]:
        return [await square(3), await square(4), await backend.get_or_default("direct", "miss")]

    async def store() -> None:
        await backend.put("direct", "stored")

    assert asyncio.run(calls()) == [9, 16, "miss"]
    asyncio.run(store())
    assert asyncio.run(calls()) == [9, 16, "stored"]  # a third loop: every call a hit
    assert runs == [3, 4]
    info = square.cache_info()
    assert (info.hits, info.misses, info.errors) == (2, 2, 0)
    asyncio.run(backend.close())


def test_four_threads_each_running_its_own_loop(redis_url: str) -> None:
    """The module-level backend of a program whose threads each call ``asyncio.run``: no hang, no error, hits."""
    backend = RedisCache(redis_url)
    square, runs = _counted(backend)
    results: dict[int, list[int]] = {}

    def thread(number: int) -> None:
        async def body() -> list[int]:
            found = []
            for _ in range(20):
                # 10 concurrent calls of each key: they share one GET within this loop
                batch = await asyncio.gather(*(square(x) for x in range(5) for _ in range(10)))
                found.extend(batch)
            return found

        results[number] = asyncio.run(body())

    threads = [threading.Thread(target=thread, args=(number,), daemon=True) for number in range(4)]
    for each in threads:
        each.start()
    deadline = time.monotonic() + 30
    for each in threads:
        each.join(max(0.0, deadline - time.monotonic()))
    assert not any(each.is_alive() for each in threads), "a thread never finished"
    assert sorted(results) == [0, 1, 2, 3]
    assert all(found == [x * x for x in range(5) for _ in range(10)] * 20 for found in results.values())
    info = square.cache_info()
    assert info.errors == 0
    assert len(runs) <= 4 * 5 * 10  # computed in each loop's first round at most; every later round hits
    assert info.hits >= 4 * 5 * 10 * 19
    asyncio.run(backend.close())


def test_a_loops_client_is_closed_when_the_loop_ends(redis_url: str, admin: redis.Redis) -> None:
    backend = RedisCache(redis_url, client_name="loop-test")

    async def use() -> None:
        await asyncio.gather(*(backend.put(f"k{i}", i) for i in range(5)))

    def ours() -> int:
        return sum(client.get("name") == "loop-test" for client in admin.client_list())

    for _ in range(3):
        asyncio.run(use())
        deadline = time.monotonic() + 5
        while ours() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ours() == 0  # the loop's shutdown closed its connections
    assert asyncio.run(backend.get("k4")) == 4
    asyncio.run(backend.close())


def test_a_loop_closed_without_shutting_down_is_dropped(redis_url: str) -> None:
    backend = RedisCache(redis_url)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(backend.put("k", 1))
    loop.close()  # no shutdown_asyncgens: the backend notices on the next loop
    assert asyncio.run(backend.get("k")) == 1
    asyncio.run(backend.close())


# A backend shared by the tests below, as a module-level one would be: each test runs in
# its own function-scoped loop (pytest-asyncio's default).
_SHARED: dict[str, RedisCache] = {}


@pytest.fixture(scope="module")
def shared_backend(redis_server_url: str) -> RedisCache:
    return _SHARED.setdefault("backend", RedisCache(redis_server_url, prefix="shared-loops"))


@pytest.mark.parametrize("round_number", range(3))
async def test_pytest_function_scoped_loops_share_one_backend(shared_backend: RedisCache, round_number: int) -> None:
    square, _ = _counted(shared_backend)
    await shared_backend.put(f"round{round_number}", round_number)
    assert await shared_backend.get(f"round{round_number}") == round_number
    if round_number:
        assert await shared_backend.get(f"round{round_number - 1}") == round_number - 1
    assert await square(round_number) == round_number**2
    assert square.cache_info().errors == 0
