"""MongoCache against a real mongod: storage layout, round trips, owned clients, locks, outages."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from bson.raw_bson import RawBSONDocument
from cache_core import (
    BackendTimeoutError,
    BackendUnavailableError,
    CacheMiss,
    CircuitBreaker,
    PickleSerializer,
    cached,
)
from cache_mongo import AsyncMongoBackend, MongoCache
from cache_testing import TestClock
from cache_testing._mongo_server import CommandLog, free_port
from pymongo import AsyncMongoClient, MongoClient, ReadPreference, monitoring
from pymongo.read_concern import ReadConcern

Admin = MongoClient[dict[str, Any]]


async def test_document_shape_and_indexes(mongo_url: str, database_name: str, admin_client: Admin) -> None:
    async with MongoCache(mongo_url, database=database_name) as cache:
        await cache.put("k", {"a": 1}, ttl=60)
        await cache.put("forever", "v", namespace="other")
    raw = admin_client[database_name]["entries"]
    document = raw.find_one({"_id": {"ns": "default", "key": "k"}})
    assert document is not None
    assert set(document) == {"_id", "value", "expires_at"}
    assert isinstance(document["value"], bytes)  # BSON binary holding the serializer's bytes
    assert isinstance(document["expires_at"], datetime)  # a BSON date, what the TTL index needs
    expected = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=60)
    assert abs(document["expires_at"] - expected) < timedelta(seconds=5)
    assert raw.find_one({"_id": {"ns": "other", "key": "forever"}}, {"_id": 0}) == {"value": b'"v"'}
    indexes = raw.index_information()
    assert indexes["expires_at_ttl"]["key"] == [("expires_at", 1)]
    assert indexes["expires_at_ttl"]["expireAfterSeconds"] == 0
    assert indexes["namespace"]["key"] == [("_id.ns", 1)]
    assert admin_client[database_name]["entries.locks"].index_information()["expires_at_ttl"]["expireAfterSeconds"] == 0


async def test_indexes_are_created_once_on_the_first_write(mongo_url: str, database_name: str) -> None:
    log = CommandLog()
    async with MongoCache(mongo_url, database=database_name, event_listeners=[log]) as cache:
        await cache.get_or_default("k")
        assert log.count("createIndexes") == 0  # reads need no index
        await asyncio.gather(*(cache.put(f"k{i}", i, ttl=60) for i in range(10)))
        await cache.put_many({"a": 1, "b": 2})
        await cache.clear("default")
        await cache.put("k", 1)
        assert log.count("createIndexes") == 2  # one per collection: entries and entries.locks


async def test_one_round_trip_per_batch_and_clear(mongo_url: str, database_name: str) -> None:
    log = CommandLog()
    async with MongoCache(mongo_url, database=database_name, event_listeners=[log]) as cache:
        await cache.put("warm-up", 0)
        log.clear()
        await cache.put_many({f"k{i}": i for i in range(50)}, ttl=60)
        assert log.names == ["update"]
        log.clear()
        assert await cache.get_many([f"k{i}" for i in range(60)]) == {f"k{i}": i for i in range(50)}
        assert log.names == ["find"]
        log.clear()
        await cache.clear("default")
        assert log.names == ["delete"]
        log.clear()
        await cache.put("k", 1)
        await cache.put("k", 2)
        assert log.names == ["update", "update"]  # upserts


async def test_put_is_an_upsert(mongo_url: str, database_name: str, admin_client: Admin) -> None:
    async with MongoCache(mongo_url, database=database_name) as cache:
        await cache.put("k", 1, ttl=60)
        await cache.put("k", 2)
        assert await cache.get("k") == 2
    raw = admin_client[database_name]["entries"]
    assert raw.count_documents({}) == 1
    assert "expires_at" not in raw.find_one({})  # type: ignore[operator]  # replaced, not merged


async def test_expired_documents_are_never_returned(mongo_url: str, database_name: str, admin_client: Admin) -> None:
    clock = TestClock()
    async with MongoCache(mongo_url, database=database_name, clock=clock) as cache:
        await cache.put_many({"a": 1, "b": 2}, ttl=10)
        clock.advance(10)
        # Still stored (the server's TTL monitor runs once a minute), never returned.
        assert admin_client[database_name]["entries"].count_documents({}) == 2
        with pytest.raises(CacheMiss):
            await cache.get("a")
        assert await cache.get_many(["a", "b"]) == {}
        assert await cache.remove_expired() == 2
        assert admin_client[database_name]["entries"].count_documents({}) == 0


async def test_expiry_is_never_late_at_millisecond_precision(mongo_url: str, database_name: str) -> None:
    clock = TestClock(start=1_700_000_000.1234567)
    async with MongoCache(mongo_url, database=database_name, clock=clock) as cache:
        await cache.put("k", "v", ttl=1.0004)
        clock.advance(1.0004)
        assert await cache.get_or_default("k") is None
        await cache.put("k", "v", ttl=1)
        clock.advance(0.998)
        assert await cache.get("k") == "v"


@pytest.mark.parametrize("source", ["client", "database", "collection"])
async def test_owned_client_database_or_collection_is_not_closed(
    mongo_url: str, database_name: str, source: str
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    owned: Any = {
        "client": client,
        "database": client[database_name],
        "collection": client[database_name]["mine"],
    }[source]
    cache = MongoCache(owned, database=database_name)
    await cache.put("k", 1)
    assert await cache.get("k") == 1
    await cache.close()
    names = await client[database_name].list_collection_names()
    assert ("mine" in names) is (source == "collection")
    assert await client[database_name]["entries" if source != "collection" else "mine"].count_documents({}) == 1
    await client.close()


async def test_owned_client_codec_options_do_not_matter(mongo_url: str, database_name: str) -> None:
    client: AsyncMongoClient[RawBSONDocument] = AsyncMongoClient(
        mongo_url, document_class=RawBSONDocument, tz_aware=True
    )
    async with MongoCache(client, database=database_name) as cache:
        await cache.put_many({"a": [1], "b": None}, ttl=60)
        assert await cache.get_many(["a", "b"]) == {"a": [1], "b": None}
        token = await cache._acquire_lock("default", "a", 5)
        assert token is not None
        assert await cache._acquire_lock("default", "a", 5) is None
    await client.close()


async def test_client_per_backend_reused_for_every_call(mongo_url: str, database_name: str) -> None:
    log = CommandLog()
    async with MongoCache(mongo_url, database=database_name, event_listeners=[log]) as cache:
        client = cache._owned_client
        for i in range(20):
            await cache.put(f"k{i}", i)
            await cache.get(f"k{i}")
        assert cache._owned_client is client
        assert log.count("update") == 20


async def test_timeouts_default_to_two_seconds_and_can_be_overridden(mongo_url: str) -> None:
    async with MongoCache(mongo_url) as cache:
        assert cache._owned_client is not None
        assert cache._owned_client.options.server_selection_timeout == 2
        assert cache._owned_client.options.timeout == 2
    async with MongoCache(mongo_url, serverSelectionTimeoutMS=500, timeoutMS=None) as cache:
        assert cache._owned_client is not None
        assert cache._owned_client.options.server_selection_timeout == 0.5
        assert cache._owned_client.options.timeout is None
    async with MongoCache(mongo_url.rstrip("/") + "/?serverSelectionTimeoutMS=300") as cache:
        assert cache._owned_client is not None
        assert cache._owned_client.options.server_selection_timeout == 0.3
        assert cache._owned_client.options.timeout is None  # with timeoutMS, PyMongo would ignore it
    async with MongoCache(mongo_url.rstrip("/") + "/?timeoutMS=700") as cache:
        assert cache._owned_client is not None
        assert cache._owned_client.options.timeout == 0.7
        assert cache._owned_client.options.server_selection_timeout == 2


async def test_cachetoolz_alias_defaults() -> None:
    backend = AsyncMongoBackend()
    assert isinstance(backend, MongoCache)
    assert backend._entries.database.name == "cache"
    assert repr(backend) == "<AsyncMongoBackend cache.entries>"
    await backend.close()
    assert repr(backend) == "<AsyncMongoBackend cache.entries closed>"


async def test_pickle_serializer_option(mongo_url: str, database_name: str) -> None:
    async with MongoCache(mongo_url, database=database_name, serializer=PickleSerializer()) as cache:
        await cache.put("k", {1, 2})
        assert await cache.get("k") == {1, 2}


# -- an unreachable server ----------------------------------------------------------------------


def _unreachable(**options: Any) -> MongoCache:
    return MongoCache(f"mongodb://127.0.0.1:{free_port()}", timeoutMS=100, **options)


async def test_unreachable_server_direct_calls_raise_backend_timeout_error() -> None:
    async with _unreachable(breaker=False) as cache:
        for operation in (cache.get("k"), cache.put("k", 1), cache.get_many(["k"]), cache.clear()):
            with pytest.raises(BackendTimeoutError, match="timed out"):
                await operation


async def test_circuit_breaker_is_on_by_default_and_skips_a_dead_server() -> None:
    async with _unreachable() as cache:
        assert isinstance(cache.breaker, CircuitBreaker)
        for _ in range(3):
            with pytest.raises(BackendTimeoutError):
                await cache.get("k")
        started = time.perf_counter()
        with pytest.raises(BackendUnavailableError):
            await cache.get("k")
        assert time.perf_counter() - started < 0.05


async def test_decorated_calls_fail_open_when_the_server_is_unreachable() -> None:
    calls: list[int] = []
    async with _unreachable(breaker=CircuitBreaker(failures=1, reset_after=60)) as cache:

        @cached(cache=cache)
        async def double(x: int) -> int:
            calls.append(x)
            return 2 * x

        assert [await double(1), await double(1), await double(2)] == [2, 2, 4]
        assert calls == [1, 1, 2]


# -- cross-process locks ----------------------------------------------------------------------


async def test_lock_is_exclusive_until_released_or_expired(mongo_url: str, database_name: str) -> None:
    first, second = MongoCache(mongo_url, database=database_name), MongoCache(mongo_url, database=database_name)
    async with first, second:
        assert first.supports_lock
        token = await first._acquire_lock("ns", "k", 30)
        assert token is not None
        assert await second._acquire_lock("ns", "k", 30) is None
        assert await second._acquire_lock("ns", "other", 30) is not None
        assert await second._acquire_lock("other-ns", "k", 30) is not None
        assert await second._release_lock("ns", "k", "not-the-token") is False
        assert await first._release_lock("ns", "k", token) is True
        assert await first._release_lock("ns", "k", token) is False
        short = await second._acquire_lock("ns", "k", 0.05)
        assert short is not None
        await asyncio.sleep(0.1)
        taken_over = await first._acquire_lock("ns", "k", 30)
        assert taken_over is not None
        assert await second._release_lock("ns", "k", short) is False  # an expired holder cannot release it


async def test_concurrent_lock_attempts_have_exactly_one_winner(mongo_url: str, database_name: str) -> None:
    backends = [MongoCache(mongo_url, database=database_name) for _ in range(4)]
    try:
        tokens = await asyncio.gather(*(backend._acquire_lock("ns", "k", 30) for backend in backends for _ in range(5)))
        assert sum(token is not None for token in tokens) == 1
    finally:
        for backend in backends:
            await backend.close()


async def test_cached_lock_runs_the_function_once_across_backends(mongo_url: str, database_name: str) -> None:
    calls: list[int] = []

    async def slow_square(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0.3)
        return x * x

    one, two = MongoCache(mongo_url, database=database_name), MongoCache(mongo_url, database=database_name)
    async with one, two:
        in_one = cached(cache=one, lock=True)(slow_square)
        in_two = cached(cache=two, lock=True)(slow_square)
        assert list(await asyncio.gather(in_one(3), in_two(3))) == [9, 9]
        assert calls == [3]


class _FindLog(monitoring.CommandListener):
    """The find commands a client sends."""

    def __init__(self) -> None:
        self.finds: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.finds.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_reads_keep_the_read_preference_and_read_concern(replset_url: str, replset_database_name: str) -> None:
    """A hit is the find command find_one sends: the client's read preference and read concern go with it."""
    log = _FindLog()
    options: dict[str, Any] = {"readPreference": "primaryPreferred", "readConcernLevel": "majority"}
    async with MongoCache(replset_url, database=replset_database_name, event_listeners=[log], **options) as cache:
        await cache.put("k", {"v": 1})
        assert await cache.get("k") == {"v": 1}
        assert await cache.get_or_default("absent") is None
    assert [find["filter"] for find in log.finds] == [{"_id": {"ns": "default", "key": k}} for k in ("k", "absent")]
    for find in log.finds:
        assert (find["limit"], find["singleBatch"]) == (1, True)
        assert find["readConcern"] == {"level": "majority"}
        assert find["$readPreference"] == {"mode": "primaryPreferred"}

    log.finds.clear()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(replset_url, event_listeners=[log])
    collection = client[replset_database_name].get_collection(
        "entries", read_preference=ReadPreference.PRIMARY_PREFERRED, read_concern=ReadConcern("local")
    )
    try:
        async with MongoCache(collection) as cache:
            assert await cache.get("k") == {"v": 1}
    finally:
        await client.close()
    assert log.finds[0]["readConcern"] == {"level": "local"}
    assert log.finds[0]["$readPreference"] == {"mode": "primaryPreferred"}
