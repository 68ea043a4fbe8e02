"""Scenarios across packages, against real SQLite files, redis-server and mongod.

- One decorated function moved between backends by configuration gives the same results
  and the same hits and misses on each.
- A sync backend in another process writes, the async backend here reads (and back).
- Upgrades: entries stored in wire format 1 (the JSON coder's bytes inside each backend's
  stored representation, hard-coded here as release 0.1.0 writes them) are still read;
  bytes in any other format (pickle, garbage, a future version) are a clean miss.

Servers: ``REDIS_URL`` / ``MONGODB_URL`` if set, else a ``redis-server`` / ``mongod``
started for this module (a missing binary skips, or fails under ``CI``). Each test uses
its own SQLite file, Redis key prefix and MongoDB database.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sqlite3
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from bson.binary import Binary
from bson.datetime_ms import DatetimeMS
from cache_core import (
    AsyncBackend,
    Backend,
    Cache,
    CacheMiss,
    Clock,
    DictCache,
    JsonSerializer,
    SyncDictCache,
    cached,
)
from cache_mongo import MongoCache, SyncMongoCache
from cache_redis import RedisCache, SyncRedisCache
from cache_sqlite import SqliteCache, SyncSqliteCache
from cache_testing import TestClock, servers
from pymongo import MongoClient

HERE = Path(__file__).resolve().parent
PEER = runpy.run_path(str(HERE / "_sync_peer.py"))
VALUES: dict[str, Any] = PEER["VALUES"]
BATCH: dict[str, Any] = PEER["BATCH"]

# -- servers and settings ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server_url() -> Iterator[str]:
    with servers.redis_url() as url:
        yield url


@pytest.fixture(scope="module")
def mongo_server_url() -> Iterator[str]:
    with servers.mongodb_url() as url:
        yield url


@dataclass(frozen=True)
class Settings:
    """What a deployment's configuration says about its cache."""

    backend: str  # memory, sqlite, redis or mongo
    location: str = ""  # the SQLite file or the server URL
    name: str = ""  # the Redis key prefix or the MongoDB database

    def json(self) -> str:
        if self.backend == "sqlite":
            return json.dumps({"path": self.location})
        key = "prefix" if self.backend == "redis" else "database"
        return json.dumps({"url": self.location, key: self.name})


def async_backend(settings: Settings, clock: Clock | None = None) -> AsyncBackend:
    if settings.backend == "memory":
        return DictCache(clock=clock)
    if settings.backend == "sqlite":
        return SqliteCache(settings.location, clock=clock)
    if settings.backend == "redis":
        return RedisCache(settings.location, prefix=settings.name, clock=clock)
    return MongoCache(settings.location, database=settings.name, clock=clock)


def sync_backend(settings: Settings, clock: Clock | None = None) -> Backend:
    if settings.backend == "memory":
        return SyncDictCache(clock=clock)
    if settings.backend == "sqlite":
        return SyncSqliteCache(settings.location, clock=clock)
    if settings.backend == "redis":
        return SyncRedisCache(settings.location, prefix=settings.name, clock=clock)
    return SyncMongoCache(settings.location, database=settings.name, clock=clock)


@pytest.fixture
def settings_for(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Settings]]:
    """``settings_for("redis")``: a configuration of that backend for this test alone, cleaned up after."""
    cleanups: list[Callable[[], None]] = []

    def make(kind: str) -> Settings:
        unique = f"scenario_{uuid.uuid4().hex[:12]}"
        if kind == "memory":
            return Settings("memory")
        if kind == "sqlite":
            return Settings("sqlite", str(tmp_path / f"{unique}.db"))
        if kind == "redis":
            url = request.getfixturevalue("redis_server_url")
            settings = Settings("redis", url, unique)
            cleanups.append(lambda: _close_sync(sync_backend(settings), clear=True))
            return settings
        url = request.getfixturevalue("mongo_server_url")

        def drop() -> None:
            client: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=5000)
            with client:
                client.drop_database(unique)

        cleanups.append(drop)
        return Settings("mongo", url, unique)

    yield make
    for cleanup in cleanups:
        cleanup()


def _close_sync(backend: Backend, *, clear: bool = False) -> None:
    with backend:
        if clear:
            backend.clear()


KINDS = ["memory", "sqlite", "redis", "mongo"]
SERVED = ["sqlite", "redis", "mongo"]

# -- (a) one function, moved between backends by configuration -------------------------------

front = Cache(DictCache(), namespace="catalog", ttl=600)
sync_front = Cache(SyncDictCache(), namespace="catalog", ttl=600)
runs: list[tuple[str, int]] = []


@front
async def quote(item: str, quantity: int = 1) -> dict[str, Any]:
    runs.append((item, quantity))
    return {"item": item, "total": Decimal("4.50") * quantity, "line": (item, quantity), "tags": {"hot"}}


@sync_front
def stock(item: str, quantity: int = 1) -> dict[str, Any]:
    runs.append((item, quantity))
    return {"item": item, "total": Decimal("4.50") * quantity, "line": (item, quantity), "tags": {"hot"}}


@dataclass(frozen=True)
class Outcome:
    results: list[dict[str, Any]]
    runs: list[tuple[str, int]]
    info: tuple[int, int, int]
    invalidated: bool
    after_restart: bool  # a new backend from the same settings still holds the entry


EXPECTED_RUNS = [("tea", 2), ("cocoa", 1), ("cocoa", 1), ("tea", 2)]
EXPECTED_INFO = (3, 4, 0)  # hits, misses, errors


async def exercise_async(settings: Settings) -> Outcome:
    clock = TestClock()
    backend = async_backend(settings, clock)
    front.backend = backend
    await quote.cache_clear()
    runs.clear()
    results = [await quote("tea", 2), await quote("tea", 2), await quote("cocoa"), await quote("tea", quantity=2)]
    results.append(await quote(item="cocoa"))
    invalidated = await quote.invalidate("cocoa")
    results.append(await quote("cocoa"))
    clock.advance(601)  # past the TTL: computed again
    results.append(await quote("tea", 2))
    outcome_runs, info = list(runs), quote.cache_info()
    await backend.close()
    async with async_backend(settings, clock) as restarted:
        front.backend = restarted
        runs.clear()
        await quote("tea", 2)
        after_restart = not runs
    front.backend = DictCache()
    return Outcome(results, outcome_runs, (info.hits, info.misses, info.errors), invalidated, after_restart)


def exercise_sync(settings: Settings) -> Outcome:
    clock = TestClock()
    backend = sync_backend(settings, clock)
    sync_front.backend = backend
    stock.cache_clear()
    runs.clear()
    results = [stock("tea", 2), stock("tea", 2), stock("cocoa"), stock("tea", quantity=2), stock(item="cocoa")]
    invalidated = stock.invalidate("cocoa")
    results.append(stock("cocoa"))
    clock.advance(601)
    results.append(stock("tea", 2))
    outcome_runs, info = list(runs), stock.cache_info()
    backend.close()
    with sync_backend(settings, clock) as restarted:
        sync_front.backend = restarted
        runs.clear()
        stock("tea", 2)
        after_restart = not runs
    sync_front.backend = SyncDictCache()
    return Outcome(results, outcome_runs, (info.hits, info.misses, info.errors), invalidated, after_restart)


def check_outcomes(outcomes: dict[str, Outcome]) -> None:
    memory = outcomes["memory"]
    assert memory.runs == EXPECTED_RUNS
    assert memory.info == EXPECTED_INFO
    assert memory.invalidated
    assert not memory.after_restart  # memory does not outlive its backend
    for kind in SERVED:
        outcome = outcomes[kind]
        assert outcome.results == memory.results, kind
        for found, expected in zip(outcome.results, memory.results, strict=True):
            assert {key: type(value) for key, value in found.items()} == {
                key: type(value) for key, value in expected.items()
            }, kind
        assert (outcome.runs, outcome.info, outcome.invalidated) == (memory.runs, memory.info, True), kind
        assert outcome.after_restart, kind


async def test_an_async_function_moves_between_backends_by_configuration(
    settings_for: Callable[[str], Settings],
) -> None:
    check_outcomes({kind: await exercise_async(settings_for(kind)) for kind in KINDS})


def test_a_sync_function_moves_between_backends_by_configuration(settings_for: Callable[[str], Settings]) -> None:
    check_outcomes({kind: exercise_sync(settings_for(kind)) for kind in KINDS})


# -- (b) a sync process writes, the async backend reads -------------------------------------


def peer(action: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    """Run _sync_peer.py in a new process with the sync backend of ``settings``."""
    return subprocess.run(
        [sys.executable, str(HERE / "_sync_peer.py"), action, settings.backend, settings.json()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("kind", SERVED)
async def test_a_sync_process_writes_and_an_async_backend_reads(
    kind: str, settings_for: Callable[[str], Settings]
) -> None:
    settings = settings_for(kind)
    written = peer("write", settings)
    assert written.returncode == 0, written.stderr
    written_by = time.time()
    async with async_backend(settings) as backend:
        for key, expected in VALUES.items():
            found = await backend.get(key, namespace="peer")
            assert found == expected, key
            assert type(found) is type(expected), key
        assert await backend.get_many(BATCH, namespace="peer") == BATCH

        @cached(cache=backend, namespace="peer", key_maker=PEER["price_key"], ttl=600)
        async def price(item: str) -> Decimal:
            raise AssertionError("the sync process already cached this")

        assert await price("tea") == Decimal("4.50")
        assert price.cache_info().hits == 1

        await asyncio.sleep(max(0.0, written_by + PEER["BRIEF_TTL"] - time.time()))
        assert await backend.get_or_default("brief", "expired", namespace="peer") == "expired"

        await backend.put_many(VALUES, ttl=600, namespace="from-async")
    read = peer("read", settings)
    assert read.returncode == 0, read.stdout + read.stderr


# -- (c) upgrades: format 1 is read, anything else is a miss ---------------------------------

#: (key, payload as JsonSerializer writes it in wire format 1, the value it stands for)
FORMAT_1 = [
    (
        "plain",
        b'{"name":"tea","price":4.5,"tags":["hot","leaf"],"stock":null,"sale":false}',
        {"name": "tea", "price": 4.5, "tags": ["hot", "leaf"], "stock": None, "sale": False},
    ),
    ("tuple", b'{"!cache-core":1,"value":{"!":["tuple",[1,"two",3.0]]}}', (1, "two", 3.0)),
    (
        "tagged",
        b'{"!cache-core":1,"value":'
        b'{"order":{"!":["tuple",[7,{"!":["decimal","19.99"]}]]},"items":{"!":["dict",[[1,"tea"],[2,"cocoa"]]]},'
        b'"when":{"!":["datetime","2026-05-14T12:30:00+00:00"]},"day":{"!":["date","2026-05-14"]},'
        b'"window":{"!":["timedelta",[0,3600,0]]},"id":{"!":["uuid","12345678-1234-5678-1234-567812345678"]},'
        b'"raw":{"!":["bytes","AP8="]},"seen":{"!":["frozenset",["a"]]},"flags":{"!":["set",["x"]]}}}',
        {
            "order": (7, Decimal("19.99")),
            "items": {1: "tea", 2: "cocoa"},
            "when": datetime(2026, 5, 14, 12, 30, tzinfo=timezone.utc),
            "day": date(2026, 5, 14),
            "window": timedelta(hours=1),
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "raw": b"\x00\xff",
            "seen": frozenset({"a"}),
            "flags": {"x"},
        },
    ),
    ("text", b'"plain text"', "plain text"),
    ("number", b"42", 42),
    ("infinity", b'{"!cache-core":1,"value":{"!":["float","inf"]}}', float("inf")),
]


def unreadable(marker: Path) -> list[tuple[str, bytes]]:
    """Payloads that are not format 1: each must read as a miss, and none may run anything."""
    return [
        ("pickle", b"\x80\x02}q\x00X\x05\x00\x00\x00priceq\x01G@\x12\x00\x00\x00\x00\x00\x00s."),
        ("pickle 5", b"\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x8c\x03tea\x94K\x02\x86\x94."),
        # Unpickled, this would create the marker file: reading it must not.
        ("pickle that runs code", b"cbuiltins\nopen\n(" + f"S'{marker}'\nS'w'\ntR.".encode()),
        ("garbage", b"\xff\xfe\x00\x01garbage"),
        ("empty", b""),
        ("future version", b'{"!cache-core":2,"value":{"format":2}}'),
        ("truncated", b'{"name":'),
        ("two documents", b"1 2"),
        ("not JSON: NaN", b"NaN"),
        ("unknown tag", b'{"!cache-core":1,"value":{"!":["martian",1]}}'),
        ("not utf-8", b'"\xff\xfe"'),
        ("compressed", zlib.compress(b'{"a":1}')),
    ]


def test_format_1_is_what_the_coder_writes_today() -> None:
    """A change to the writer shows here first: old releases must keep reading what new ones write."""
    serializer = JsonSerializer()
    for key, payload, value in FORMAT_1:
        assert serializer.encode(value) == payload, key
        assert serializer.decode(payload) == value, key


# Release 0.1.0's SQLite entries table, as its setup creates it.
SQLITE_TABLE_0_1 = """
CREATE TABLE IF NOT EXISTS "cache_entries" (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at REAL, accessed_at REAL NOT NULL,
    PRIMARY KEY (namespace, key))
"""


class RawStore:
    """Writes entries the way release 0.1.0 stores them, straight through each backend's driver.

    ``raw`` stores a backend-level representation as it is (for the tests of odd rows,
    keys and documents); ``put`` frames a coder payload the way the backend does.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def put(self, namespace: str, key: str, payload: bytes, expires_at: float | None = None) -> None:
        kind = self.settings.backend
        if kind == "sqlite":
            self.raw(namespace, key, payload, expires_at)
        elif kind == "redis":
            instant = b"never" if expires_at is None else repr(float(expires_at)).encode()
            self.raw(namespace, key, b"cache-redis/1 " + instant.ljust(25) + b"\n" + payload)
        else:
            document: dict[str, Any] = {"_id": {"ns": namespace, "key": key}, "value": Binary(payload)}
            if expires_at is not None:
                document["expires_at"] = DatetimeMS(int(expires_at * 1000))
            self.raw(namespace, key, document)

    def raw(self, namespace: str, key: str, stored: Any, expires_at: Any = None) -> None:
        kind = self.settings.backend
        if kind == "sqlite":
            with sqlite3.connect(self.settings.location) as connection:
                connection.execute(SQLITE_TABLE_0_1)
                connection.execute(
                    'INSERT OR REPLACE INTO "cache_entries" VALUES (?, ?, ?, ?, ?)',
                    (namespace, key, stored, expires_at, time.time()),
                )
            connection.close()
        elif kind == "redis":
            with redis.Redis.from_url(self.settings.location) as client:
                client.set(f"{self.settings.name}:{namespace}:{key}", stored)
        else:
            mongo: MongoClient[dict[str, Any]] = MongoClient(self.settings.location)
            with mongo:
                entries = mongo[self.settings.name]["entries"]
                entries.replace_one({"_id": {"ns": namespace, "key": key}}, stored, upsert=True)


class Reader:
    """The backend of one kind and mode, driven the same way from async code."""

    def __init__(self, settings: Settings, mode: str) -> None:
        self.backend: AsyncBackend | Backend = async_backend(settings) if mode == "async" else sync_backend(settings)

    async def get(self, key: str) -> Any:
        if isinstance(self.backend, AsyncBackend):
            return await self.backend.get(key, namespace="upgrade")
        return self.backend.get(key, namespace="upgrade")

    async def get_or_default(self, key: str, default: Any) -> Any:
        if isinstance(self.backend, AsyncBackend):
            return await self.backend.get_or_default(key, default, namespace="upgrade")
        return self.backend.get_or_default(key, default, namespace="upgrade")

    async def get_many(self, keys: list[str]) -> dict[str, Any]:
        if isinstance(self.backend, AsyncBackend):
            return await self.backend.get_many(keys, namespace="upgrade")
        return self.backend.get_many(keys, namespace="upgrade")

    async def cached_value(self, key: str, value: Any) -> tuple[Any, int]:
        """A decorated function whose entry is ``key``: its result, and how often it ran (twice called)."""
        ran: list[str] = []
        options: dict[str, Any] = {"namespace": "upgrade", "key_maker": lambda *_: key, "ttl": 600}
        if isinstance(self.backend, AsyncBackend):

            @cached(cache=self.backend, **options)
            async def compute_async() -> Any:
                ran.append(key)
                return value

            results = [await compute_async(), await compute_async()]
        else:

            @cached(cache=self.backend, **options)
            def compute() -> Any:
                ran.append(key)
                return value

            results = [compute(), compute()]
        assert results[0] == results[1]
        return results[0], len(ran)

    async def close(self) -> None:
        if isinstance(self.backend, AsyncBackend):
            await self.backend.close()
        else:
            self.backend.close()


@pytest.fixture(params=[(kind, mode) for kind in SERVED for mode in ("async", "sync")], ids="-".join)
async def upgrade(
    request: pytest.FixtureRequest, settings_for: Callable[[str], Settings]
) -> AsyncIterator[tuple[RawStore, Reader]]:
    kind, mode = request.param
    settings = settings_for(kind)
    store = RawStore(settings)
    reader = Reader(settings, mode)
    yield store, reader
    await reader.close()


async def test_entries_in_format_1_are_still_read(upgrade: tuple[RawStore, Reader]) -> None:
    store, reader = upgrade
    now = time.time()
    for key, payload, _ in FORMAT_1:
        store.put("upgrade", key, payload)
        store.put("upgrade", f"{key} (expiring)", payload, expires_at=now + 600)
        store.put("upgrade", f"{key} (expired)", payload, expires_at=now - 1)
    for key, _, value in FORMAT_1:
        for stored_as in (key, f"{key} (expiring)"):
            found = await reader.get(stored_as)
            assert found == value, stored_as
            assert type(found) is type(value), stored_as
        with pytest.raises(CacheMiss):
            await reader.get(f"{key} (expired)")
    found_many = await reader.get_many([key for key, _, _ in FORMAT_1] + ["tuple (expired)"])
    assert found_many == {key: value for key, _, value in FORMAT_1}
    assert await reader.cached_value("tagged", "not computed") == (FORMAT_1[2][2], 0)


async def test_entries_in_another_format_are_misses(upgrade: tuple[RawStore, Reader], tmp_path: Path) -> None:
    store, reader = upgrade
    marker = tmp_path / "unpickled"
    payloads = unreadable(marker)
    for key, payload in payloads:
        store.put("upgrade", key, payload)
    for key, _ in payloads:
        with pytest.raises(CacheMiss):
            await reader.get(key)
        assert await reader.get_or_default(key, "default") == "default", key
    assert await reader.get_many([key for key, _ in payloads]) == {}
    # A decorated function computes the value again and replaces the entry with one in format 1.
    for key, _ in payloads:
        assert await reader.cached_value(key, ("fresh", key)) == (("fresh", key), 1), key
        assert await reader.get(key) == ("fresh", key)
    assert not marker.exists()


#: What a backend may find under its keys that it did not write: (case, stored, expires_at column).
ODD_REPRESENTATIONS: dict[str, list[tuple[str, Any, Any]]] = {
    "sqlite": [
        ("text value", "not ours", None),  # SQLite keeps a str in a BLOB column as TEXT
        ("number value", 42, None),
        ("text expiry", b'"tea"', "tomorrow"),
    ],
    "redis": [
        ("another program's value", b"hello", None),
        ("future layout", b"cache-redis/2 never" + b" " * 20 + b'\n"tea"', None),
        ("truncated header", b"cache-redis/1 1.0", None),
        ("bad instant", b"cache-redis/1 tomorrow" + b" " * 17 + b'\n"tea"', None),
        ("empty", b"", None),
    ],
    "mongo": [
        ("string value", {"value": "not ours"}, None),
        ("number value", {"value": 42}, None),
        ("no value", {}, None),
        ("text expiry", {"value": Binary(b'"tea"'), "expires_at": "tomorrow"}, None),
    ],
}


#: Cases that fail today, each with what goes wrong (strict: a fix turns them into failures to remove here).
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def odd_cases() -> list[Any]:
    cases = []
    for kind, entries in ODD_REPRESENTATIONS.items():
        for case, stored, expires_at in entries:
            reason = KNOWN_FAILURES.get((kind, case))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            cases.append(pytest.param(kind, (case, stored, expires_at), id=f"{kind}-{case}", marks=marks))
    return cases


@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize(("kind", "entry"), odd_cases())
async def test_entries_a_backend_did_not_write_are_misses(
    kind: str, entry: tuple[str, Any, Any], mode: str, settings_for: Callable[[str], Settings]
) -> None:
    case, stored, expires_at = entry
    settings = settings_for(kind)
    store, reader = RawStore(settings), Reader(settings, mode)
    try:
        if isinstance(stored, dict):
            stored = {"_id": {"ns": "upgrade", "key": case}, **stored}
        store.raw("upgrade", case, stored, expires_at)
        assert await reader.cached_value(case, "fresh") == ("fresh", 1)
        store.raw("upgrade", case, stored, expires_at)
        assert await reader.get_or_default(case, "default") == "default"
    finally:
        await reader.close()
