"""SyncMongoCache against a real mongod: what differs from the async twin (threads, sync decorators)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cache_core import BackendTimeoutError, CacheMiss, cached
from cache_mongo import MongoBackend, MongoCache, SyncMongoCache
from cache_testing import TestClock
from cache_testing._mongo_server import CommandLog, free_port
from pymongo import MongoClient


def test_put_get_and_expiry(mongo_url: str, database_name: str) -> None:
    clock = TestClock()
    with SyncMongoCache(mongo_url, database=database_name, clock=clock) as cache:
        cache.put("k", {"a": (1, 2)}, ttl=60)
        assert cache.get("k") == {"a": (1, 2)}
        clock.advance(60)
        with pytest.raises(CacheMiss):
            cache.get("k")


def test_indexes_are_created_once_even_from_many_threads(mongo_url: str, database_name: str) -> None:
    log = CommandLog()
    with SyncMongoCache(mongo_url, database=database_name, event_listeners=[log]) as cache:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: cache.put(f"k{i}", i), range(32)))
        cache.clear()
        assert log.count("createIndexes") == 2
        assert cache.get_many([f"k{i}" for i in range(32)]) == {}


def test_one_round_trip_per_batch(mongo_url: str, database_name: str) -> None:
    log = CommandLog()
    with SyncMongoCache(mongo_url, database=database_name, event_listeners=[log]) as cache:
        cache.put("warm-up", 0)
        log.clear()
        cache.put_many({f"k{i}": i for i in range(50)})
        cache.get_many([f"k{i}" for i in range(50)])
        cache.clear("default")
        assert log.names == ["update", "find", "delete"]


@pytest.mark.parametrize("source", ["client", "database", "collection"])
def test_owned_client_is_not_closed(mongo_url: str, database_name: str, source: str) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    with client:
        database = client[database_name]
        owned: Any = {"client": client, "database": database, "collection": database["c"]}[source]
        with SyncMongoCache(owned, database=database_name) as cache:
            cache.put("k", 1)
        assert client.admin.command("ping")["ok"] == 1
        with SyncMongoCache(owned, database=database_name) as again:
            assert again.get("k") == 1


def test_sync_function_with_the_async_backend_names_the_sync_one(mongo_url: str) -> None:
    backend = MongoCache(mongo_url)
    with pytest.raises(TypeError, match="use SyncMongoCache for sync functions"):

        @cached(cache=backend)
        def f(x: int) -> int:
            return x

    asyncio.run(backend.close())


def test_sync_and_async_functions_share_the_sync_backend(mongo_url: str, database_name: str) -> None:
    calls: list[str] = []
    with MongoBackend(mongo_url, database=database_name) as backend:

        @cached(cache=backend, namespace="mixed")
        def sync_double(x: int) -> int:
            calls.append("sync")
            return 2 * x

        @cached(cache=backend, namespace="mixed")
        async def async_triple(x: int) -> int:
            calls.append("async")
            return 3 * x

        assert [sync_double(2), sync_double(2)] == [4, 4]
        assert asyncio.run(async_triple(2)) == asyncio.run(async_triple(2)) == 6
        assert calls == ["sync", "async"]


def test_lock_primitives_and_cached_lock_across_threads(mongo_url: str, database_name: str) -> None:
    one, two = SyncMongoCache(mongo_url, database=database_name), SyncMongoCache(mongo_url, database=database_name)
    with one, two:
        token = one._acquire_lock("ns", "k", 30)
        assert token is not None
        assert two._acquire_lock("ns", "k", 30) is None
        assert one._release_lock("ns", "k", token) is True

        calls: list[int] = []

        def slow_square(x: int) -> int:
            calls.append(x)
            time.sleep(0.3)
            return x * x

        functions = [cached(cache=one, lock=True)(slow_square), cached(cache=two, lock=True)(slow_square)]
        results: list[int] = []
        threads = [threading.Thread(target=lambda f=f: results.append(f(4))) for f in functions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [16, 16]
        assert calls == [4]


def test_unreachable_server_raises_backend_timeout_error() -> None:
    with SyncMongoCache(f"mongodb://127.0.0.1:{free_port()}", timeoutMS=100, breaker=False) as cache:
        with pytest.raises(BackendTimeoutError):
            cache.put("k", 1)
