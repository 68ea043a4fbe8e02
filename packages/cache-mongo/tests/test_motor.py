"""Users who hold a Motor client, database or collection pass it in (extra ``cache-mongo[motor]``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cache_core import Cache
from cache_mongo import AsyncMongoBackend, MongoCache, SyncMongoCache
from cache_testing import TestClock
from motor.motor_asyncio import AsyncIOMotorClient


@pytest.fixture
async def motor_client(mongo_url: str) -> AsyncIterator[Any]:
    client: Any = AsyncIOMotorClient(mongo_url, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.mark.parametrize("source", ["client", "database", "collection"])
async def test_motor_sources(motor_client: Any, database_name: str, source: str) -> None:
    owned = {
        "client": motor_client,
        "database": motor_client[database_name],
        "collection": motor_client[database_name]["motor_entries"],
    }[source]
    clock = TestClock()
    async with MongoCache(owned, database=database_name, clock=clock) as cache:
        await cache.put("k", {"v": {1, 2}}, ttl=30)
        await cache.put_many({"a": 1, "b": 2}, namespace="batch")
        assert await cache.get("k") == {"v": {1, 2}}
        assert await cache.get_many(["a", "b", "c"], namespace="batch") == {"a": 1, "b": 2}
        clock.advance(30)
        assert await cache.get_or_default("k") is None
        assert await cache.remove_expired() == 1
        await cache.clear("batch")
        assert await cache.get_many(["a", "b"], namespace="batch") == {}
        token = await cache._acquire_lock("ns", "k", 30)
        assert token is not None
        assert await cache._acquire_lock("ns", "k", 30) is None
        assert await cache._release_lock("ns", "k", token)
    # Closing the backend left the Motor client open.
    assert (await motor_client.admin.command("ping"))["ok"] == 1
    collection = "motor_entries" if source == "collection" else "entries"
    indexes = await motor_client[database_name][collection].index_information()
    assert indexes["expires_at_ttl"]["expireAfterSeconds"] == 0


async def test_seed_style_cache_over_a_motor_database(motor_client: Any, database_name: str) -> None:
    backend = MongoCache(motor_client[database_name])
    cache = Cache(backend)
    calls: list[int] = []

    @cache(ttl=60, namespace="motor")
    async def slow_add(x: int, y: int) -> int:
        calls.append(x)
        await asyncio.sleep(0)
        return x + y

    assert [await slow_add(1, 2), await slow_add(1, 2), await slow_add(2, 2)] == [3, 3, 4]
    assert calls == [1, 2]
    await backend.close()


def test_motor_objects_are_for_the_async_backend_only(mongo_url: str) -> None:
    client: Any = AsyncIOMotorClient(mongo_url)  # the wrong type on purpose
    with pytest.raises(TypeError, match=r"expected a MongoDB URI .* not AsyncIOMotorClient"):
        SyncMongoCache(client)
    with pytest.raises(TypeError, match="only apply when a URI is given"):
        AsyncMongoBackend(client, tls=True)
    client.close()
