"""Keys under our prefix that we did not write are never read, expired, cleared or failed on;
what we write is readable by other programs."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.cluster
from cache_core import JsonSerializer, Serializer
from cache_redis import RedisCache, SyncRedisCache
from cache_testing import TestClock

#: Other programs' keys: names a reader could take for entries, types and bytes of every kind.
FOREIGN: dict[str, Any] = {
    "cache:flag": b"\x02",
    "cache:other": b"written by someone else",
    "cache:default:flag": b"\x02",
    "cache:default:empty": b"",
    # what an expired entry of an old draft layout looked like: never ours to delete
    "cache:default:lookalike": b"\x02" + struct.pack(">d", 0.0) + b'p"v"',
    # our marker, without the rest of the header: not ours either
    "cache:default:almost": b"cache-redis/1 0.0\n1",
    "cache:default:text": b'{"page": 1}',
}
FOREIGN_HASHES: dict[str, dict[bytes, bytes]] = {
    "cache:default:hash": {b"value": b"cache-redis/1 0.0", b"expires_at": b"0"},
}
FOREIGN_NAMES = [*FOREIGN, *FOREIGN_HASHES, "cache:queue", "cache:default:list", "cache:default:set"]


def _write_foreign(client: Any) -> None:
    for name, raw in FOREIGN.items():
        client.set(name, raw)
    for name, fields in FOREIGN_HASHES.items():
        client.hset(name, mapping=fields)
    client.rpush("cache:queue", "job1", "job2")
    client.rpush("cache:default:list", "x")
    client.sadd("cache:default:set", "x")


def _foreign_state(client: Any) -> dict[str, Any]:
    return {name: (client.type(name), client.dump(name)) for name in FOREIGN_NAMES}


@pytest.fixture(params=["server", "cluster"])
def plain_client(request: pytest.FixtureRequest) -> Iterator[tuple[str, bool, Any]]:
    """``(url, cluster, a plain redis-py client)`` on a flushed server or cluster."""
    if request.param == "server":
        url = request.getfixturevalue("redis_url")
        with redis.Redis.from_url(url) as client:
            yield url, False, client
    else:
        url = request.getfixturevalue("cluster_url")
        client = redis.cluster.RedisCluster.from_url(url)
        try:
            yield url, True, client
        finally:
            client.close()


def test_foreign_keys_are_never_read_expired_cleared_or_an_error(plain_client: tuple[str, bool, Any]) -> None:
    url, cluster, client = plain_client
    _write_foreign(client)
    before = _foreign_state(client)
    clock = TestClock(start=1000.0)
    with SyncRedisCache(url, cluster=cluster, clock=clock, breaker=False) as backend:
        backend.put("short", "ours", ttl=10)
        backend.put("long", "ours", ttl=1000)
        backend.put("kept", "ours", namespace="other")
        for key in ("flag", "empty", "lookalike", "almost", "text", "hash", "list", "set"):
            assert backend.get_or_default(key, "miss") == "miss"
        assert backend.get_many(["flag", "lookalike", "list", "hash", "short"]) == {"short": "ours"}
        assert backend.remove("list") is False
        clock.advance(100)
        assert backend.remove_expired() == 1  # "short" only
        assert backend.remove_expired() == 0
        assert backend.get_or_default("long") == "ours"
        backend.clear("default")
        assert backend.get_or_default("long") is None
        assert backend.get("kept", namespace="other") == "ours"
        backend.clear()
        assert backend.get_or_default("kept", namespace="other") is None
        assert _foreign_state(client) == before  # every foreign key untouched
        backend.put("flag", "now ours")  # our key name: a put replaces whatever was there
        assert backend.get("flag") == "now ours"


async def test_foreign_keys_with_the_async_backend(redis_url: str, admin: redis.Redis) -> None:
    _write_foreign(admin)
    before = _foreign_state(admin)
    async with RedisCache(redis_url, breaker=False) as backend:
        await backend.put("k", 1, ttl=60)
        assert await backend.get_or_default("list", "miss") == "miss"
        assert await backend.get_or_default("lookalike", "miss") == "miss"
        assert await backend.get_many(["flag", "set", "k"]) == {"k": 1}
        assert await backend.remove_expired() == 0
        await backend.clear()
        assert await backend.get_or_default("k") is None
    assert _foreign_state(admin) == before


class PlainJson(Serializer):
    """A serializer writing bare JSON, as ``JsonSerializer`` does for JSON-only values once
    the JSON coder lands (the test below checks the default serializer itself)."""

    def encode(self, value: Any) -> bytes:
        return json.dumps(value).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)


VALUE = {"page": 1, "items": ["tea", "coffee"], "total": 2.5, "next": None, "ok": True}


def test_the_payload_is_stored_as_is_and_readable_by_another_program(plain_client: tuple[str, bool, Any]) -> None:
    url, cluster, client = plain_client
    with SyncRedisCache(url, cluster=cluster, serializer=PlainJson()) as backend:
        backend.put("page", VALUE, ttl=60)
        assert json.loads(client.getrange("cache:default:page", 40, -1)) == VALUE
        assert json.loads(client.get("cache:default:page").split(b"\n", 1)[1]) == VALUE


_PLAIN_JSON = JsonSerializer().encode({"page": 1}) == b'{"page":1}'


@pytest.mark.skipif(not _PLAIN_JSON, reason="JsonSerializer does not write plain JSON yet (the JSON coder)")
async def test_a_json_value_reads_back_with_plain_redis_py_and_json_loads(redis_url: str, admin: redis.Redis) -> None:
    async with RedisCache(redis_url) as backend:
        await backend.put("page", VALUE, namespace="api")
    raw = admin.getrange("cache:api:page", 40, -1)
    assert isinstance(raw, bytes)
    assert json.loads(raw) == VALUE
