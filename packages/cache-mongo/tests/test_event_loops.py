"""One ``MongoCache`` serves every event loop that calls it: loops in turn, loops in threads, pytest's loops.

From a URI, each loop gets an ``AsyncMongoClient`` of its own (PyMongo's async client
refuses a second loop), closed when that loop shuts down.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from cache_core import JsonSerializer, cached
from cache_mongo import MongoCache
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import MongoClient


def _counted(backend: MongoCache) -> tuple[Any, list[int]]:
    runs: list[int] = []

    @cached(cache=backend, ttl=60)
    async def square(x: int) -> int:
        runs.append(x)
        await asyncio.sleep(0)
        return x * x

    return square, runs


def test_asyncio_run_twice_in_a_row_hits_on_the_second_loop(mongo_url: str, database_name: str) -> None:
    backend = MongoCache(mongo_url, database=database_name)
    square, runs = _counted(backend)

    async def calls() -> list[Any]:
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


def test_four_threads_each_running_its_own_loop(mongo_url: str, database_name: str) -> None:
    backend = MongoCache(mongo_url, database=database_name)
    square, runs = _counted(backend)
    results: dict[int, list[int]] = {}

    def thread(number: int) -> None:
        async def body() -> list[int]:
            found = []
            for _ in range(10):
                found.extend(await asyncio.gather(*(square(x) for x in range(5) for _ in range(4))))
            return found

        results[number] = asyncio.run(body())

    threads = [threading.Thread(target=thread, args=(number,), daemon=True) for number in range(4)]
    for each in threads:
        each.start()
    deadline = time.monotonic() + 60
    for each in threads:
        each.join(max(0.0, deadline - time.monotonic()))
    assert not any(each.is_alive() for each in threads), "a thread never finished"
    assert all(found == [x * x for x in range(5) for _ in range(4)] * 10 for found in results.values())
    assert sorted(results) == [0, 1, 2, 3]
    info = square.cache_info()
    assert info.errors == 0
    assert len(runs) <= 4 * 5 * 4  # computed in each loop's first round at most; every later round hits
    assert info.hits >= 4 * 5 * 4 * 9
    asyncio.run(backend.close())


def test_a_loops_client_is_closed_when_the_loop_ends(mongo_url: str, database_name: str) -> None:
    backend = MongoCache(mongo_url, database=database_name, appname="loop-test")
    clients = []

    async def use() -> None:
        await backend.put("k", 1)
        clients.append(backend._owned_client)

    with MongoClient[dict[str, Any]](mongo_url) as admin:

        def ours() -> int:
            operations = admin.admin.aggregate([{"$currentOp": {"idleConnections": True}}])
            return sum(operation.get("appName") == "loop-test" for operation in operations)

        for _ in range(3):
            asyncio.run(use())
            deadline = time.monotonic() + 5
            while ours() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert ours() == 0  # the loop's shutdown closed its client
    assert len({id(client) for client in clients}) == 3  # one client per loop
    assert asyncio.run(backend.get("k")) == 1
    asyncio.run(backend.close())


def test_a_motor_client_passed_in_is_used_as_it_is(mongo_url: str, database_name: str) -> None:
    async def body() -> None:
        motor: Any = AsyncIOMotorClient(mongo_url, serverSelectionTimeoutMS=5000)
        backend = MongoCache(motor[database_name])
        square, runs = _counted(backend)
        assert [await square(2), await square(2)] == [4, 4]
        assert runs == [2]
        await backend.close()
        assert (await motor.admin.command("ping"))["ok"] == 1  # ours to use, never to close
        motor.close()

    asyncio.run(body())


_SHARED: dict[str, MongoCache] = {}


@pytest.fixture(scope="module")
def shared_backend(mongo_url: str) -> MongoCache:
    return _SHARED.setdefault("backend", MongoCache(mongo_url, database="shared_loops"))


@pytest.mark.parametrize("round_number", range(3))
async def test_pytest_function_scoped_loops_share_one_backend(shared_backend: MongoCache, round_number: int) -> None:
    if round_number == 0:
        await shared_backend.clear()
    square, _ = _counted(shared_backend)
    await shared_backend.put(f"round{round_number}", round_number)
    assert await shared_backend.get(f"round{round_number}") == round_number
    if round_number:
        assert await shared_backend.get(f"round{round_number - 1}") == round_number - 1
    assert await square(round_number) == round_number**2
    assert square.cache_info().errors == 0


_PLAIN_JSON = JsonSerializer().encode({"page": 1}) == b'{"page":1}'


@pytest.mark.skipif(not _PLAIN_JSON, reason="JsonSerializer does not write plain JSON yet (the JSON coder)")
async def test_a_json_value_reads_back_with_plain_pymongo_and_json_loads(mongo_url: str, database_name: str) -> None:
    value = {"page": 1, "items": ["tea", "coffee"], "total": 2.5, "next": None, "ok": True}
    async with MongoCache(mongo_url, database=database_name) as backend:
        await backend.put("page", value, namespace="api")
    with MongoClient[dict[str, Any]](mongo_url) as admin:
        document = admin[database_name]["entries"].find_one({"_id": {"ns": "api", "key": "page"}})
    assert document is not None
    assert json.loads(document["value"]) == value
