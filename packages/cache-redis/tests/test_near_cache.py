"""The near cache: decoded entries in process memory, kept coherent by Redis client tracking.

Real servers throughout: one Redis, the 3-node cluster, and a server of the test's own
that it kills or restarts. The cross-process tests run readers and a writer as separate
processes (``_near_worker.py``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.cluster
from cache_core import MISSING, cached
from cache_redis import RedisCache, SyncRedisCache
from cache_redis._near import NearCache
from cache_testing import TestClock
from cache_testing._redis_server import RedisServerProcess

WORKER = Path(__file__).with_name("_near_worker.py")


def _live(backend: RedisCache | SyncRedisCache) -> NearCache:
    near = backend.near_cache
    assert near is not None
    assert near.wait_live(10)
    return near


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> float:
    """Seconds until ``check()`` held (fails past ``timeout``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        time.sleep(0.002)
    return time.monotonic() - started


def _settle() -> None:
    """Let Redis's message about our own last write arrive (it drops the copy read since: one more GET)."""
    time.sleep(0.05)


def _get_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_get", {}).get("calls", 0))


# -- NearCache alone (no server: its bookkeeping) -----------------------------------------------


def _near(size: int = 10) -> NearCache:
    near = NearCache(size, time.time, "cache")
    near.resume()
    return near


def test_a_read_is_kept_only_if_no_invalidation_of_its_key_came_after_it_started() -> None:
    near = _near()
    ticket = near.ticket()
    assert ticket is not None
    near.invalidate("ns", "k")  # arrives while the read is in flight
    near.keep(ticket, "ns", "k", "old", None)
    assert near.get("ns", "k") is MISSING
    near.invalidate("ns", "other")
    ticket = near.ticket()
    assert ticket is not None
    near.keep(ticket, "ns", "k", "new", None)
    assert near.get("ns", "k") == "new"


def test_nothing_is_kept_from_a_read_that_started_before_a_flush_or_while_tracking_was_down() -> None:
    near = _near()
    ticket = near.ticket()
    assert ticket is not None
    near.flush()
    near.keep(ticket, "ns", "k", "v", None)
    assert near.get("ns", "k") is MISSING
    ticket = near.ticket()
    assert ticket is not None
    near.suspend()
    assert near.ticket() is None
    near.resume()
    near.keep(ticket, "ns", "k", "v", None)  # taken before the drop: refused after the resume too
    assert near.get("ns", "k") is MISSING


def test_the_least_recently_used_entry_goes_first_and_dies_for_every_index() -> None:
    near = _near(size=2)
    index = near.hot_index("ns", 100)
    for key in "ab":
        ticket = near.ticket()
        assert ticket is not None
        near.keep(ticket, "ns", key, key.upper(), None)
    index.remember("hot-a", "a")
    assert near.get("ns", "a") == "A"  # a used: b is now the oldest
    ticket = near.ticket()
    assert ticket is not None
    near.keep(ticket, "ns", "c", "C", None)
    assert len(near) == 2
    assert near.get("ns", "b") is MISSING
    assert near.get("ns", "a") == "A"
    near.invalidate_name(b"cache:ns:a")
    assert index["hot-a"].expires_at == float("-inf")  # the hot index holds a dead entry: read as expired


def test_invalidation_messages_name_keys_in_the_backend_layout() -> None:
    near = _near()
    for namespace, key in (("a:b%c", "k:1"), ("%3A", "x"), ("plain", "ключ")):
        ticket = near.ticket()
        assert ticket is not None
        near.keep(ticket, namespace, key, 1, None)
        escaped = namespace.replace("%", "%25").replace(":", "%3A")
        near.invalidate_name(f"cache:{escaped}:{key}".encode())
        assert near.get(namespace, key) is MISSING
    near.invalidate_name(b"cache-lock:ns:k")  # not ours: ignored
    near.invalidate_name(b"\xff\xfe")


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "10"])
def test_near_cache_must_be_a_positive_int(redis_url: str, size: Any) -> None:
    with pytest.raises(ValueError, match="near_cache"):
        SyncRedisCache(redis_url, near_cache=size)


# -- one process ---------------------------------------------------------------------------


@pytest.fixture
def near_backend(redis_url: str) -> Iterator[SyncRedisCache]:
    backend = SyncRedisCache(redis_url, near_cache=100)
    _live(backend)
    yield backend
    backend.close()


def test_hits_are_served_from_memory(near_backend: SyncRedisCache, admin: redis.Redis) -> None:
    near_backend.put("k", {"a": [1, 2]})
    _settle()
    assert near_backend.get("k") == {"a": [1, 2]}  # read from Redis, kept
    before = _get_calls(admin)
    for _ in range(50):
        assert near_backend.get("k") == {"a": [1, 2]}
    assert _get_calls(admin) == before


def test_decorated_hits_skip_the_backend(near_backend: SyncRedisCache, admin: redis.Redis) -> None:
    runs: list[int] = []

    @cached(cache=near_backend, ttl=60)
    def square(x: int) -> int:
        runs.append(x)
        return x * x

    assert [square(3) for _ in range(3)] == [9, 9, 9]
    _settle()
    assert square(3) == 9
    before = _get_calls(admin)
    assert [square(3) for _ in range(100)] == [9] * 100
    assert _get_calls(admin) == before
    assert runs == [3]
    assert square.cache_info().hits == 103


def test_tagged_hits_are_served_from_memory_until_a_tag_is_invalidated_anywhere(
    redis_url: str, near_backend: SyncRedisCache, admin: redis.Redis
) -> None:
    runs: list[int] = []

    @cached(cache=near_backend, ttl=60, tags=["user:{user_id}"])
    def profile(user_id: int) -> dict[str, int]:
        runs.append(user_id)
        return {"id": user_id, "run": len(runs)}

    assert profile(1) == {"id": 1, "run": 1}
    _settle()
    assert profile(1) == {"id": 1, "run": 1}  # the entry and the tag's version, read together, kept
    before = _get_calls(admin)
    assert [profile(1) for _ in range(20)] == [{"id": 1, "run": 1}] * 20
    assert _get_calls(admin) == before
    elsewhere = SyncRedisCache(redis_url + "?db=0")  # another label: only Redis's message tells us
    elsewhere.invalidate_tags("user:1")
    _eventually(lambda: profile(1) == {"id": 1, "run": 2}, timeout=1)
    near_backend.invalidate_tags("user:1")  # this process: at once
    assert profile(1) == {"id": 1, "run": 3}
    elsewhere.close()


def test_own_writes_removes_and_clears_drop_the_copy_at_once(redis_url: str, near_backend: SyncRedisCache) -> None:
    other = SyncRedisCache(redis_url)  # another backend of this process over the same keys
    near = _live(near_backend)
    writes: list[Callable[[], None]] = [
        lambda: near_backend.put("k", 2),
        lambda: other.put("k", 2),
        lambda: other.put_many({"k": 2}),
    ]
    for write in writes:
        near_backend.put("k", 1)
        assert near_backend.get("k") == 1
        assert near_backend.get("k") == 1
        write()
        assert near_backend.get("k") == 2  # no wait for Redis's message
    drops: list[Callable[[], object]] = [
        lambda: near_backend.remove("k"),
        lambda: other.remove("k"),
        lambda: other.clear("default"),
    ]
    for drop in drops:
        near_backend.put("k", 1)
        assert near_backend.get("k") == 1
        drop()
        assert near_backend.get_or_default("k") is None
    assert len(near) == 0
    other.close()


def test_a_write_by_another_client_reaches_the_near_cache(redis_url: str, near_backend: SyncRedisCache) -> None:
    writer = SyncRedisCache(redis_url + "?db=0")  # another label: not in this process's group
    near_backend.put("k", 1)
    assert near_backend.get("k") == 1
    writer.put("k", 2)
    assert _eventually(lambda: near_backend.get("k") == 2) < 1
    writer.remove("k")
    assert _eventually(lambda: near_backend.get_or_default("k") is None) < 1
    writer.close()


def test_flushdb_empties_the_near_cache(near_backend: SyncRedisCache, admin: redis.Redis) -> None:
    near = _live(near_backend)
    for key in "abc":
        near_backend.put(key, key)
    _settle()
    for key in "abc":
        near_backend.get(key)
    assert len(near) == 3
    admin.flushdb()
    _eventually(lambda: len(near) == 0)
    assert near_backend.get_or_default("a") is None


def test_ttls_are_honoured_in_memory(redis_url: str) -> None:
    clock = TestClock()
    backend = SyncRedisCache(redis_url, near_cache=10, clock=clock)
    _live(backend)

    @cached(cache=backend, ttl=10)
    def now(x: int) -> float:
        return clock.now()

    first = now(1)
    assert now(1) == first
    assert now(1) == first  # from the hot index
    clock.advance(11)
    assert now(1) == clock.now()
    backend.put("k", "v", ttl=5)
    assert backend.get("k") == "v"
    clock.advance(6)
    assert backend.get_or_default("k") is None
    backend.close()


def test_lru_bound(redis_url: str) -> None:
    backend = SyncRedisCache(redis_url, near_cache=3)
    near = _live(backend)
    for key in range(10):
        backend.put(str(key), key)
    _settle()
    for key in range(10):
        assert backend.get(str(key)) == key
    assert len(near) == 3
    assert [backend.get(str(key)) for key in range(10)] == list(range(10))
    backend.close()


def test_with_lock(redis_url: str, admin: redis.Redis) -> None:
    backend = SyncRedisCache(redis_url, near_cache=10)
    _live(backend)
    runs: list[int] = []

    @cached(cache=backend, ttl=60, lock=True)
    def double(x: int) -> int:
        runs.append(x)
        return 2 * x

    assert [double(4) for _ in range(3)] == [8, 8, 8]
    _settle()
    assert double(4) == 8
    before = _get_calls(admin)
    assert [double(4) for _ in range(20)] == [8] * 20
    assert _get_calls(admin) == before
    assert runs == [4]
    backend.close()


def test_async(redis_url: str, admin: redis.Redis) -> None:
    async def main() -> None:
        backend = RedisCache(redis_url, near_cache=10)
        near = _live(backend)
        runs: list[int] = []

        @cached(cache=backend, ttl=60)
        async def square(x: int) -> int:
            runs.append(x)
            return x * x

        assert [await square(5) for _ in range(3)] == [25, 25, 25]
        await asyncio.sleep(0.05)
        assert await square(5) == 25
        before = _get_calls(admin)
        assert [await square(5) for _ in range(50)] == [25] * 50
        assert _get_calls(admin) == before
        await backend.put("k", 1)
        assert await backend.get("k") == 1
        await backend.put("k", 2)
        assert await backend.get("k") == 2
        assert len(near) >= 1
        await backend.close()
        assert not near.live

    asyncio.run(main())
    asyncio.run(asyncio.sleep(0))  # a second loop: the listener thread belongs to none


def test_a_killed_tracking_connection_empties_the_near_cache_until_it_is_back(
    redis_url: str, near_backend: SyncRedisCache, admin: redis.Redis
) -> None:
    near = _live(near_backend)
    tracker = near_backend._tracker
    assert tracker is not None
    established = tracker.established
    near_backend.put("k", 1)
    _settle()
    assert near_backend.get("k") == 1
    assert len(near) == 1
    # Keep it down: no new connection is accepted until maxclients is raised again.
    maxclients = str(admin.config_get("maxclients")["maxclients"])
    admin.config_set("maxclients", int(admin.info("clients")["connected_clients"]) - 1)
    try:
        admin.client_kill_filter(_type="pubsub")
        _eventually(lambda: not near.live)
        assert len(near) == 0
        admin.set("cache:default:k", b"not ours")  # any change: the near cache must not vouch for anything
        before = _get_calls(admin)
        for _ in range(5):
            assert near_backend.get_or_default("k") is None  # bypassed: every read goes to Redis
        assert _get_calls(admin) == before + 5
        assert len(near) == 0
        time.sleep(0.3)
        assert not near.live  # still refused: stays bypassed
    finally:
        admin.config_set("maxclients", maxclients)
    _eventually(lambda: near.live)
    assert tracker.established > established
    near_backend.put("k", 2)
    _settle()
    assert near_backend.get("k") == 2
    assert near_backend.get("k") == 2
    assert len(near) == 1


def test_a_restarted_server(own_redis: RedisServerProcess) -> None:
    backend = SyncRedisCache(own_redis.url, near_cache=10)
    near = _live(backend)
    backend.put("k", "before")
    _settle()
    assert backend.get("k") == "before"
    assert len(near) == 1
    own_redis.restart()  # its data is gone
    _eventually(lambda: len(near) == 0)
    assert backend.get_or_default("k") is None
    _eventually(lambda: near.live)
    backend.put("k", "after")
    _settle()
    assert backend.get("k") == "after"
    assert backend.get("k") == "after"
    assert len(near) == 1
    backend.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # Python 3.12+
def test_a_forked_child_starts_empty_and_tracks_on_its_own(redis_url: str, near_backend: SyncRedisCache) -> None:
    near = _live(near_backend)
    near_backend.put("k", "parent")
    _settle()
    assert near_backend.get("k") == "parent"
    assert len(near) == 1
    writer = SyncRedisCache(redis_url + "?db=0")
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its copy of the near cache may not serve what the parent had
        outcome = "ok"
        try:
            assert len(near) == 0
            assert near.wait_live(10)
            assert near_backend.get("k") == "parent"
            assert near_backend.get("k") == "parent"
            assert len(near) == 1
            writer.put("k", "changed")  # another label: only Redis's message reaches the near cache
            _eventually(lambda: near_backend.get("k") == "changed", timeout=2)
        except BaseException as exc:
            outcome = repr(exc)
        os.write(writing, outcome.encode())
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as answer:
        outcome = answer.read()
    os.waitpid(pid, 0)
    assert outcome == "ok"
    _eventually(lambda: near_backend.get("k") == "changed", timeout=2)  # the parent still tracks too
    writer.close()


# -- several processes ---------------------------------------------------------------------


class Worker:
    """A ``_near_worker.py`` process, driven one command at a time."""

    def __init__(self, mode: str, url: str, cluster: bool) -> None:
        command = [sys.executable, str(WORKER), mode, url] + (["cluster"] if cluster else [])
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, f"worker ended: {self.process.poll()}"
        result: dict[str, Any] = json.loads(answer)
        return result

    def wait_live(self) -> None:
        _eventually(lambda: bool(self.ask("status")["live"]), timeout=15)

    def close(self) -> None:
        if self.process.poll() is None:
            with_stdin = self.process.stdin
            if with_stdin is not None:
                with_stdin.write("quit\n")
                with_stdin.flush()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _readers_and_writer(url: str, cluster: bool) -> tuple[list[Worker], Worker]:
    readers = [Worker("sync", url, cluster), Worker("async", url, cluster)]
    writer = Worker("writer", url, cluster)
    for reader in readers:
        reader.wait_live()
    return readers, writer


def _reconnected(reader: Worker, before: int) -> bool:
    return bool(reader.ask("status")["established"] > before)


def _emptied(reader: Worker) -> bool:
    return bool(reader.ask("status")["held"] == 0)


def _read_until(reader: Worker, key: str, expected: Any) -> float:
    return _eventually(lambda: reader.ask(f"read {key}")["value"] == expected)


def _kill_tracking(url: str, cluster: bool) -> None:
    if not cluster:
        with redis.Redis.from_url(url) as admin:
            admin.client_kill_filter(_type="pubsub")
        return
    client = redis.cluster.RedisCluster.from_url(url)
    try:
        client.client_kill_filter(_type="pubsub", target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    finally:
        client.close()


def _rewrites_reach_every_reader(readers: list[Worker], writer: Worker, keys: list[str]) -> None:
    for key in keys:
        writer.ask(f"put {key} 1")
    _settle()
    for reader in readers:
        for key in keys:
            assert reader.ask(f"read {key}")["value"] == 1
            assert reader.ask(f"read {key}")["held"] >= 1
    for version in range(2, 5):
        for key in keys:
            writer.ask(f"put {key} {version}")
        for reader in readers:
            for key in keys:
                assert _read_until(reader, key, version) < 1
    writer.ask("remove k0")
    writer.ask("clear")
    for reader in readers:
        for key in keys:
            assert _read_until(reader, key, None) < 1


def _killed_tracking_serves_nothing_old(
    url: str, cluster: bool, readers: list[Worker], writer: Worker, keys: list[str]
) -> None:
    for key in keys:
        writer.ask(f"put {key} 5")
    _settle()
    for reader in readers:
        for key in keys:
            reader.ask(f"read {key}")
        assert reader.ask("status")["held"] == len(keys)
    established = [reader.ask("status")["established"] for reader in readers]
    _kill_tracking(url, cluster)
    for reader, before in zip(readers, established, strict=True):
        _eventually(functools.partial(_reconnected, reader, before))
    for key in keys:
        writer.ask(f"put {key} 6")
    for reader in readers:
        assert [reader.ask(f"read {key}")["value"] for key in keys] == [6] * len(keys)  # none of the old 5s
    for key in keys:
        writer.ask(f"put {key} 7")
    for reader in readers:
        for key in keys:
            assert _read_until(reader, key, 7) < 1


@pytest.mark.parametrize("where", ["single", "cluster"])
def test_two_readers_and_a_writer(where: str, request: pytest.FixtureRequest) -> None:
    cluster = where == "cluster"
    url = request.getfixturevalue("cluster_url" if cluster else "redis_url")
    readers, writer = _readers_and_writer(url, cluster)
    keys = [f"k{number}" for number in range(6)]  # over several slots, so over every node of the cluster
    try:
        _rewrites_reach_every_reader(readers, writer, keys)
        _killed_tracking_serves_nothing_old(url, cluster, readers, writer, keys)
    finally:
        for worker in (*readers, writer):
            worker.close()


def test_two_readers_and_a_writer_across_a_server_restart(own_redis: RedisServerProcess) -> None:
    readers, writer = _readers_and_writer(own_redis.url, cluster=False)
    try:
        writer.ask("put k 1")
        _settle()
        for reader in readers:
            assert reader.ask("read k")["value"] == 1
            assert reader.ask("read k")["held"] == 1
        own_redis.restart()
        for reader in readers:
            _eventually(functools.partial(_emptied, reader))
            assert reader.ask("read k")["value"] is None  # the restarted server lost it; no stale copy
        for reader in readers:
            reader.wait_live()
        writer.ask("put k 2")
        for reader in readers:
            assert reader.ask("read k")["value"] == 2
        writer.ask("put k 3")
        for reader in readers:
            assert _read_until(reader, "k", 3) < 1
    finally:
        for worker in (*readers, writer):
            worker.close()
