"""What lands in Redis: key names, TTLs, framing; clearing without KEYS; batches in one round trip."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
from cache_core import MAX_TTL, CacheMiss, InvalidTTLError, JsonSerializer
from cache_redis import RedisCache, SyncRedisCache
from cache_redis._shared import frame, unframe
from cache_testing import TestClock
from cache_testing._redis_server import redis_command


class CountingConnection(redis.asyncio.Connection):
    """A real connection that counts how often it writes to the socket (one write per round trip)."""

    sends = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sends += 1
        await super().send_packed_command(command, check_health)


def test_key_names_server_side_ttl_and_the_header_line(redis_url: str, admin: redis.Redis) -> None:
    with SyncRedisCache(redis_url) as backend:
        backend.put("k", "v", ttl=10, namespace="ns")
        backend.put("forever", "v")
        assert 9000 < admin.pttl("cache:ns:k") <= 10000
        assert admin.pttl("cache:default:forever") == -1
        raw = admin.get("cache:ns:k")
        assert isinstance(raw, bytes)
        header, payload = raw[:40], raw[40:]
        assert header.startswith(b"cache-redis/1 ")
        assert header.endswith(b"\n")
        assert header.count(b"\n") == 1
        assert abs(float(header[14:39]) - (time.time() + 10)) < 2
        assert payload == JsonSerializer().encode("v")  # the serializer's bytes, as they are
        assert admin.get("cache:default:forever") == b"cache-redis/1 never" + b" " * 20 + b"\n" + payload
        assert admin.getrange("cache:default:forever", 40, -1) == payload


def test_expiry_instant_follows_the_backend_clock(redis_url: str, admin: redis.Redis) -> None:
    clock = TestClock(start=1000.0)
    with SyncRedisCache(redis_url, clock=clock) as backend:
        backend.put("k", 1, ttl=60)
        assert admin.getrange("cache:default:k", 14, 38) == b"1060.0".ljust(25)
        clock.advance(61)
        with pytest.raises(CacheMiss):
            backend.get("k")
        assert admin.exists("cache:default:k")  # Redis keeps it until its own PX runs out
        assert backend.remove_expired() == 1
        assert not admin.exists("cache:default:k")


@pytest.mark.parametrize("instant", [0.0, -1.5, 1e-300, 1712345678.123456, 1e15, -123456789.12345678])
def test_every_expiry_instant_fits_the_header_and_round_trips(redis_url: str, instant: float) -> None:
    clock = TestClock(start=instant)
    with SyncRedisCache(redis_url, clock=clock) as backend:
        backend.put("k", "v", ttl=1)
        assert backend.get("k") == "v"
        clock.advance(2)
        assert backend.remove_expired() == 1


def test_the_longest_ttl_is_a_redis_expiry_and_a_longer_one_an_error(redis_url: str, admin: redis.Redis) -> None:
    with SyncRedisCache(redis_url) as backend:
        backend.put("k", 1, ttl=MAX_TTL)
        assert admin.pttl("cache:default:k") > (MAX_TTL - 60) * 1000
        assert backend.get("k") == 1
        with pytest.raises(InvalidTTLError):
            backend.put("k", 2, ttl=1e15)  # once kept by the expiry instant alone; now past MAX_TTL
        assert backend.get("k") == 1


def test_namespaces_with_colons_and_glob_characters_stay_apart(redis_url: str, admin: redis.Redis) -> None:
    with SyncRedisCache(redis_url) as backend:
        backend.put("b:c", "in a", namespace="a")
        backend.put("c", "in a:b", namespace="a:b")
        backend.put("k", "in n*", namespace="n*")
        backend.put("k", "in nx", namespace="nx")
        backend.put("k", "in 100%", namespace="100%")
        assert admin.exists("cache:a%3Ab:c", "cache:a:b:c", "cache:100%25:k") == 3
        backend.clear("a")
        assert backend.get("c", namespace="a:b") == "in a:b"
        assert backend.get_or_default("b:c", namespace="a") is None
        backend.clear("n*")
        assert backend.get("k", namespace="nx") == "in nx"
        assert backend.get_or_default("k", namespace="n*") is None


def test_clear_leaves_other_prefixes_other_data_and_locks(redis_url: str, admin: redis.Redis) -> None:
    admin.set("unrelated", "x")
    admin.set("cacheless:default:k", "x")
    with SyncRedisCache(redis_url) as backend, SyncRedisCache(redis_url, prefix="other") as other:
        backend.put("k", 1)
        other.put("k", 2)
        token = backend._acquire_lock("default", "k", 30)
        assert token is not None
        backend.clear()
        assert backend.get_or_default("k") is None
        assert other.get("k") == 2
        assert admin.exists("unrelated", "cacheless:default:k", "cache-lock:default:k") == 3
        assert backend.remove_expired() == 0
        assert admin.exists("unrelated", "cacheless:default:k", "cache-lock:default:k") == 3


def test_clear_scans_and_unlinks_never_keys(redis_url: str, admin: redis.Redis) -> None:
    with SyncRedisCache(redis_url) as backend:
        backend.put_many({f"k{i}": i for i in range(3000)}, namespace="big")
        backend.put("k", "kept")
        admin.config_resetstat()
        backend.clear("big")
        stats = admin.info("commandstats")
        assert "cmdstat_keys" not in stats
        assert "cmdstat_flushdb" not in stats
        assert stats["cmdstat_scan"]["calls"] >= 2
        assert stats["cmdstat_unlink"]["calls"] >= 3000 // 500
        assert backend.get_many([f"k{i}" for i in range(3000)], namespace="big") == {}
        assert backend.get("k") == "kept"


async def test_clear_with_concurrent_writers(redis_url: str) -> None:
    """Entries from before the clear are gone, entries written after it returned all survive."""
    async with RedisCache(redis_url) as backend, RedisCache(redis_url) as writer_backend:
        await backend.put_many({f"old{i}": i for i in range(2000)}, namespace="busy")
        clear_done = asyncio.Event()
        after: list[str] = []

        async def writer() -> None:
            for i in range(3000):
                await writer_backend.put(f"new{i}", i, namespace="busy")
                if clear_done.is_set():
                    after.append(f"new{i}")
                    if len(after) >= 200:
                        return

        task = asyncio.create_task(writer())
        await asyncio.sleep(0.01)
        await backend.clear("busy")
        clear_done.set()
        await task
        assert await backend.get_many([f"old{i}" for i in range(2000)], namespace="busy") == {}
        assert len(after) == 200
        found = await backend.get_many(after, namespace="busy")
        assert sorted(found) == sorted(after)


def test_foreign_or_corrupt_values_are_misses(redis_url: str, admin: redis.Redis) -> None:
    admin.set("cache:default:foreign", b"written by someone else")
    admin.set("cache:default:empty", b"")
    admin.set("cache:default:garbled", b"\x01not json")
    with SyncRedisCache(redis_url) as backend:
        for key in ("foreign", "empty", "garbled"):
            assert backend.get_or_default(key, "miss") == "miss"
        assert backend.get_many(["foreign", "empty", "garbled"]) == {}


async def test_batches_take_one_round_trip(redis_url: str) -> None:
    async with RedisCache(redis_url, connection_class=CountingConnection) as backend:
        await backend.get_or_default("warm-up")
        CountingConnection.sends = 0
        await backend.put_many({f"k{i}": i for i in range(100)}, ttl=60)
        assert CountingConnection.sends == 1
        assert len(await backend.get_many([f"k{i}" for i in range(100)])) == 100
        assert CountingConnection.sends == 2
        await backend.get("k1")
        assert CountingConnection.sends == 3


async def test_batches_on_a_cluster_take_one_round_trip_per_node(cluster_url: str) -> None:
    """Counted by each node: ``total_reads_processed`` grows by one per request that reached it."""
    async with RedisCache(cluster_url, cluster=True) as backend:
        client = backend.client
        assert isinstance(client, redis.asyncio.cluster.RedisCluster)
        await backend.put_many({f"k{i}": i for i in range(100)}, ttl=60)
        names = {getattr(client.get_node_from_key(f"cache:default:k{i}"), "name", None) for i in range(100)}
        assert len(names) == 3  # the keys spread over every node: no hash tags
        nodes = client.get_primaries()
        fewest = [10**9] * len(nodes)
        # The nodes count every request, the cluster's own traffic included (rare, more under
        # load): the fewest of a few rounds is what the batches cost.
        for round_number in range(3):
            start = [_reads(node.host, int(node.port)) for node in nodes]
            before = [_reads(node.host, int(node.port)) for node in nodes]  # start..before: what measuring costs
            assert len(await backend.get_many([f"k{i}" for i in range(100)])) == 100
            await backend.put_many({f"k{i}": round_number for i in range(100)}, ttl=60)
            after = [_reads(node.host, int(node.port)) for node in nodes]
            requests = [(c - b) - (b - a) for a, b, c in zip(start, before, after, strict=True)]
            fewest = [min(pair) for pair in zip(fewest, requests, strict=True)]
        assert fewest == [2, 2, 2]  # per node: the get_many pipeline and the put_many pipeline


def _reads(host: str, port: int) -> int:
    stats = redis_command(port, "INFO", "stats", host=host).decode()
    return int(stats.split("total_reads_processed:")[1].split()[0])


async def test_lock_keys(redis_url: str, admin: redis.Redis) -> None:
    async with RedisCache(redis_url) as backend:
        token = await backend._acquire_lock("ns", "k", 5)
        assert admin.get("cache-lock:ns:k") == (token or "").encode()
        assert 4000 < admin.pttl("cache-lock:ns:k") <= 5000
        with pytest.raises(ValueError, match="lock ttl"):
            await backend._acquire_lock("ns", "k", 0)


@pytest.mark.parametrize(
    "instant", [None, 0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308]
)
@pytest.mark.parametrize("payload", [b"", b"\n", b"cache-redis/1 never" + b" " * 20 + b"\n", bytes(range(256))])
def test_the_header_holds_any_instant_and_any_payload(instant: float | None, payload: bytes) -> None:
    raw = frame(payload, instant)
    assert raw[:40].startswith(b"cache-redis/1 ")
    assert raw[39:40] == b"\n"
    assert raw[40:] == payload
    assert unframe(raw) == (payload, instant)
