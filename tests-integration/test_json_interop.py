"""What JsonSerializer stores is JSON that other programs read with their own driver.

Values go in through SyncSqliteCache, SyncMongoCache and SyncRedisCache (default
serializer); the stored bytes come back out through plain ``sqlite3``, ``pymongo`` and
``redis`` (``GETRANGE key 40 -1``: the payload after Redis's 40-byte header line) and are
read with ``json.loads``, as a service in another language or a person at a shell would.
The other direction too: JSON another program writes is read by the cache as that value.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from cache_core import Backend
from cache_mongo import SyncMongoCache
from cache_redis import SyncRedisCache
from cache_sqlite import SyncSqliteCache
from cache_testing import servers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient

NAMESPACE = "interop"
TABLE = "interop_entries"  # named in the SQL below

#: Values a REST API returns: stored as exactly their own JSON.
JSON_VALUES: dict[str, Any] = {
    "response": {"page": 1, "items": [{"id": 7, "name": "tea", "price": 4.5, "tags": ["hot"]}], "next": None},
    "list": [1, "two", 3.0, True, None],
    "text": "héllo ✓",
    "number": 42,
    "empty": {},
}


def reject_constant(name: str) -> Any:
    """``parse_constant`` for ``json.loads``: NaN and Infinity are not JSON."""
    raise AssertionError(f"{name} is not JSON")


@dataclass
class Store:
    """A backend with the default serializer, and the plain driver's view of its table."""

    cache: Backend
    read_raw: Callable[[str], bytes]  # the stored value of a key in NAMESPACE, as the driver returns it
    write_raw: Callable[[str, bytes], None]  # another program's write of a key in NAMESPACE, no expiry


@pytest.fixture(scope="module")
def mongo_server_url() -> Iterator[str]:
    with servers.mongodb_url() as url:
        yield url


def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "interop.db"
    with SyncSqliteCache(path, table=TABLE) as cache:
        cache.put("setup", 0, namespace=NAMESPACE)  # the tables exist before the driver reads them
        connection = sqlite3.connect(path, isolation_level=None)

        def read_raw(key: str) -> bytes:
            row = connection.execute(
                'SELECT value FROM "interop_entries" WHERE namespace = ? AND key = ?', (NAMESPACE, key)
            ).fetchone()
            assert row is not None, key
            stored: bytes = row[0]
            return stored

        def write_raw(key: str, stored: bytes) -> None:
            connection.execute(
                'INSERT OR REPLACE INTO "interop_entries" (namespace, key, value, expires_at, accessed_at)'
                " VALUES (?, ?, ?, NULL, 0)",
                (NAMESPACE, key, stored),
            )

        try:
            yield Store(cache, read_raw, write_raw)
        finally:
            connection.close()


def mongo_store(url: str) -> Iterator[Store]:
    database = f"interop_{uuid.uuid4().hex[:12]}"
    client: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=5000)
    entries = client[database]["entries"]

    def read_raw(key: str) -> bytes:
        document = entries.find_one({"_id": {"ns": NAMESPACE, "key": key}})
        assert document is not None, key
        stored: bytes = document["value"]
        return stored

    def write_raw(key: str, stored: bytes) -> None:
        entries.replace_one({"_id": {"ns": NAMESPACE, "key": key}}, {"value": stored}, upsert=True)

    try:
        with SyncMongoCache(url, database=database) as cache:
            yield Store(cache, read_raw, write_raw)
    finally:
        client.drop_database(database)
        client.close()


@pytest.fixture(scope="module")
def redis_server_url() -> Iterator[str]:
    with servers.redis_url() as url:
        yield url


def redis_store(url: str) -> Iterator[Store]:
    prefix = f"interop-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(url)

    def read_raw(key: str) -> bytes:
        stored = client.getrange(f"{prefix}:{NAMESPACE}:{key}", 40, -1)
        assert isinstance(stored, bytes), key
        assert stored, key
        return stored

    def write_raw(key: str, stored: bytes) -> None:
        client.set(f"{prefix}:{NAMESPACE}:{key}", b"cache-redis/1 never".ljust(39) + b"\n" + stored)

    try:
        with SyncRedisCache(url, prefix=prefix) as cache:
            yield Store(cache, read_raw, write_raw)
            cache.clear()
    finally:
        client.close()


@pytest.fixture(params=["sqlite", "mongo", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        yield from sqlite_store(tmp_path)
    elif request.param == "mongo":
        yield from mongo_store(request.getfixturevalue("mongo_server_url"))
    else:
        yield from redis_store(request.getfixturevalue("redis_server_url"))


@pytest.mark.parametrize("key", JSON_VALUES)
def test_json_values_are_stored_as_their_own_json(store: Store, key: str) -> None:
    value = JSON_VALUES[key]
    store.cache.put(key, value, ttl=600, namespace=NAMESPACE)
    stored = store.read_raw(key)
    assert json.loads(stored.decode("utf-8"), parse_constant=reject_constant) == value
    assert stored == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def test_other_types_are_stored_as_json_too(store: Store) -> None:
    value = {"order": (7, Decimal("19.99")), "when": datetime(2026, 5, 14, 12, 30, tzinfo=timezone.utc), "raw": b"\0"}
    store.cache.put("tagged", value, namespace=NAMESPACE)
    document = json.loads(store.read_raw("tagged").decode("utf-8"), parse_constant=reject_constant)
    assert document == {
        "!cache-core": 1,
        "value": {
            "order": {"!": ["tuple", [7, {"!": ["decimal", "19.99"]}]]},
            "when": {"!": ["datetime", "2026-05-14T12:30:00+00:00"]},
            "raw": {"!": ["bytes", "AA=="]},
        },
    }
    assert store.cache.get("tagged", namespace=NAMESPACE) == value


def test_json_written_by_another_program_is_read(store: Store) -> None:
    store.write_raw("from-elsewhere", b'{ "page": 2,\n  "items": [ ] }\n')
    assert store.cache.get("from-elsewhere", namespace=NAMESPACE) == {"page": 2, "items": []}
    store.write_raw("not-json", b"page two")
    assert store.cache.get_or_default("not-json", "miss", namespace=NAMESPACE) == "miss"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON)
def test_any_json_value_reads_back_with_json_loads(store: Store, value: Any) -> None:
    if isinstance(value, dict) and "!cache-core" in value:
        return  # the one dict not written as itself (its JSON would read as the envelope)
    store.cache.put("any", value, namespace=NAMESPACE)
    assert json.loads(store.read_raw("any").decode("utf-8"), parse_constant=reject_constant) == value
