"""What the SQLite backends add to the contract: SQL-level expiry, sweeps, max_entries, batches,
pragmas, busy timeouts, threads, locks. Both classes run every test, on real files."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cache_core import AsyncBackend, BackendClosedError, BackendError, BackendTimeoutError, CacheMiss, cached
from cache_sqlite import SqliteCache, SyncSqliteCache
from cache_testing import TestClock
from cache_testing.conformance import AsyncView

Make = Callable[..., AsyncView]


@pytest.fixture(params=["async", "sync"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """Makes backends of the parametrized class on ``tmp_path / "cache.db"``; closes them afterwards."""
    made: list[AsyncView] = []

    def factory(path: Path | str | None = None, **options: Any) -> AsyncView:
        cls = SqliteCache if request.param == "async" else SyncSqliteCache
        view = AsyncView(cls(tmp_path / "cache.db" if path is None else path, **options))
        made.append(view)
        return view

    yield factory

    async def close_all() -> None:
        for view in made:
            await view.close()

    asyncio.run(close_all())


def rows(path: Path, sql: str, *parameters: Any) -> list[Any]:
    """Read the file with plain sqlite3, as another program would."""
    with sqlite3.connect(path) as raw:
        return raw.execute(sql, parameters).fetchall()


async def primitive(view: AsyncView, name: str, *args: Any) -> Any:
    result = getattr(view.backend, name)(*args)
    return await result if view.is_async else result


# -- file and schema ------------------------------------------------------------------------


async def test_pragmas_tables_and_indexes(make: Make, tmp_path: Path) -> None:
    cache = make()
    await cache.put("k", 1)
    path = tmp_path / "cache.db"
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    assert {name for (name,) in rows(path, "SELECT name FROM sqlite_master")} >= {
        "cache_entries",
        "cache_entries_locks",
        "cache_entries_expires_at",
    }
    assert rows(path, "SELECT name FROM sqlite_master WHERE name = 'cache_entries_accessed_at'") == []
    assert await on_connection(cache, "PRAGMA busy_timeout") == [(5000,)]  # milliseconds
    assert await on_connection(cache, "PRAGMA synchronous") == [(1,)]  # NORMAL


async def on_connection(view: AsyncView, sql: str) -> list[Any]:
    """Run ``sql`` on the backend's own connection (pragmas such as busy_timeout are per connection)."""
    result = view.backend._db.execute_fetchall(sql)  # type: ignore[union-attr]
    return list(await result if view.is_async else result)


async def test_tables_are_per_cache_and_namespaces_share_one(make: Make, tmp_path: Path) -> None:
    first, second = make(table="first"), make(table="second")
    await first.put("k", "first")
    await second.put("k", "second")
    await first.put("k", "other namespace", namespace="other")
    assert await first.get("k") == "first"
    assert await second.get("k") == "second"
    await second.clear()
    assert await first.get("k") == "first"
    assert rows(tmp_path / "cache.db", "SELECT namespace, key FROM first ORDER BY namespace") == [
        ("default", "k"),
        ("other", "k"),
    ]


async def test_in_memory_databases_are_private(make: Make, tmp_path: Path) -> None:
    first, second = make(":memory:"), make(":memory:")
    await first.put("k", 1)
    assert await second.get_or_default("k") is None
    assert not (tmp_path / "cache.db").exists()


async def test_undecodable_rows_are_misses(make: Make, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = make()
    await cache.put("k", "fine")
    with sqlite3.connect(tmp_path / "cache.db") as raw:
        raw.execute("UPDATE cache_entries SET value = x'00ff' WHERE key = 'k'")
    with pytest.raises(CacheMiss):
        await cache.get("k")
    assert "undecodable" in caplog.text


async def test_driver_errors_become_backend_errors(make: Make, tmp_path: Path) -> None:
    cache = make()
    await cache.put("k", 1)
    with sqlite3.connect(tmp_path / "cache.db") as raw:
        raw.execute("DROP TABLE cache_entries")
    with pytest.raises(BackendError, match="no such table") as caught:
        await cache.get("k")
    assert not isinstance(caught.value, BackendTimeoutError)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


# -- expiry ------------------------------------------------------------------------------------


async def test_expired_rows_are_filtered_in_sql(make: Make) -> None:
    clock = TestClock()
    cache = make(clock=clock)
    await cache.put("k", "v", 10)
    await cache.put_many({"a": 1, "b": 2}, 10)
    clock.advance(10)  # expires_at <= now is expired
    assert await primitive(cache, "_get", "default", "k") is None
    assert await primitive(cache, "_get_many", "default", ["a", "b", "k"]) == [None, None, None]
    assert await cache.get_or_default("k") is None


async def test_remove_expired_is_one_statement(tmp_path: Path) -> None:
    clock = TestClock()
    with SyncSqliteCache(tmp_path / "cache.db", clock=clock) as cache:
        cache.put_many({f"k{i}": i for i in range(100)}, 10)
        cache.put("forever", 1)
        clock.advance(11)
        statements: list[str] = []
        assert cache._db is not None
        cache._db.set_trace_callback(statements.append)
        assert cache.remove_expired() == 100
        assert len(statements) == 1
        assert statements[0].startswith('DELETE FROM "cache_entries" WHERE expires_at <= ')
        assert cache.get("forever") == 1


async def test_periodic_sweep_deletes_expired_rows_on_writes(make: Make, tmp_path: Path) -> None:
    clock = TestClock()
    cache = make(clock=clock, sweep_interval=60)
    await cache.put("short", 1, 5)
    await cache.put("long", 2, 600)
    clock.advance(30)
    await cache.put("trigger", 3)  # not due yet: the expired row stays (and stays invisible)
    assert rows(tmp_path / "cache.db", "SELECT count(*) FROM cache_entries") == [(3,)]
    clock.advance(31)
    await cache.put("trigger", 4)
    assert sorted(key for (key,) in rows(tmp_path / "cache.db", "SELECT key FROM cache_entries")) == ["long", "trigger"]


async def test_without_sweep_interval_nothing_is_swept(make: Make, tmp_path: Path) -> None:
    clock = TestClock()
    cache = make(clock=clock)
    await cache.put("short", 1, 5)
    clock.advance(10**6)
    await cache.put("other", 2)
    assert rows(tmp_path / "cache.db", "SELECT count(*) FROM cache_entries") == [(2,)]


# -- max_entries ----------------------------------------------------------------------------


async def test_max_entries_evicts_the_least_recently_used(make: Make, tmp_path: Path) -> None:
    cache = make(clock=TestClock(), max_entries=3)  # the clock never moves: order comes from the access sequence
    await cache.put_many({"a": 1, "b": 2, "c": 3})
    assert await cache.get("a") == 1  # b is now the least recently used
    await cache.put("d", 4)
    assert await cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
    assert await cache.get_many(["c"]) == {"c": 3}  # batches refresh access times too
    await cache.put_many({"e": 5, "f": 6})
    assert await cache.get_many(["a", "c", "d", "e", "f"]) == {"c": 3, "e": 5, "f": 6}
    assert rows(tmp_path / "cache.db", "SELECT count(*) FROM cache_entries") == [(3,)]
    assert rows(tmp_path / "cache.db", "SELECT name FROM sqlite_master WHERE name = 'cache_entries_accessed_at'")


async def test_max_entries_counts_every_namespace_and_every_process(make: Make) -> None:
    first, second = make(max_entries=2), make(max_entries=2)
    await first.put("k", 1, namespace="a")
    await second.put("k", 2, namespace="b")
    await second.put("k", 3, namespace="c")
    assert await first.get_or_default("k", namespace="a") is None
    assert await first.get("k", namespace="c") == 3


async def test_overwriting_does_not_evict(make: Make) -> None:
    cache = make(max_entries=2)
    await cache.put_many({"a": 1, "b": 2})
    for value in range(5):
        await cache.put("b", value)
    assert await cache.get_many(["a", "b"]) == {"a": 1, "b": 4}


# -- batches ------------------------------------------------------------------------------------


async def test_batches_are_one_statement_each(tmp_path: Path) -> None:
    with SyncSqliteCache(tmp_path / "cache.db") as cache:
        cache.put("warm", 0)
        statements: list[str] = []
        assert cache._db is not None
        cache._db.set_trace_callback(statements.append)
        items = {f"key-{i}\x00{'é' * (i % 3)}": [i, "x" * (i % 7)] for i in range(50_000)}
        cache.put_many(items)
        assert cache.get_many([*items, "missing"]) == items
        assert len(statements) == 2


async def test_put_many_with_repeated_keys_keeps_the_last(make: Make) -> None:
    cache = make()
    await cache.put_many([("k", 1), ("other", 2), ("k", 3)])
    assert await cache.get_many(["k", "other"]) == {"k": 3, "other": 2}


async def test_empty_values_and_keys_in_batches(make: Make) -> None:
    cache = make()
    await cache.put_many({"": "", "b": b"", "c": ""})
    assert await cache.get_many(["", "b", "c"]) == {"": "", "b": b"", "c": ""}


# -- contention ---------------------------------------------------------------------------------


def test_busy_timeout_becomes_backend_timeout_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with SyncSqliteCache(path, busy_timeout=0.2) as cache:
        cache.put("k", 1)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        try:
            started = time.monotonic()
            with pytest.raises(BackendTimeoutError, match="database is locked") as caught:
                cache.put("k", 2)
            assert 0.15 < time.monotonic() - started < 3
            assert isinstance(caught.value, TimeoutError)
            assert cache.get("k") == 1  # readers are not blocked by the writer (WAL)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        cache.put("k", 3)
        assert cache.get("k") == 3


async def test_a_short_lock_is_waited_for(make: Make, tmp_path: Path) -> None:
    cache = make()
    await cache.put("k", 1)
    holder = sqlite3.connect(tmp_path / "cache.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        await cache.put("k", 2)  # waits in SQLite's busy handler, then succeeds
    finally:
        release.join()
        holder.close()
    assert await cache.get("k") == 2


def test_threads_share_one_sync_backend(tmp_path: Path) -> None:
    with SyncSqliteCache(tmp_path / "cache.db") as cache:
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for i in range(200):
                    cache.put(f"{worker}-{i}", [worker, i])
                    assert cache.get(f"{worker}-{i}") == [worker, i]
                    cache.put_many({f"{worker}-batch-{i}": i})
                    assert cache.get_many([f"{worker}-batch-{i}"]) == {f"{worker}-batch-{i}": i}
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(cache.get_many([f"{w}-{i}" for w in range(8) for i in range(200)])) == 1600


def test_threads_with_their_own_backends_on_one_file(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            with SyncSqliteCache(tmp_path / "cache.db") as cache:
                for i in range(200):
                    cache.put(f"{worker}-{i}", i)
                    cache.get_or_default(f"{(worker + 1) % 8}-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rows(tmp_path / "cache.db", "SELECT count(*) FROM cache_entries") == [(1600,)]


@pytest.mark.parametrize("max_entries", [None, 100])
async def test_reads_leave_no_transaction_open(make: Make, tmp_path: Path, max_entries: int | None) -> None:
    """After a get, hit or miss, other connections may write at once and checkpoint the whole WAL."""
    cache = make(max_entries=max_entries)
    await cache.put_many({"a": 1, "b": 2})
    assert await cache.get("a") == 1
    assert await cache.get_or_default("missing") is None
    assert list(await asyncio.gather(cache.get("a"), cache.get("b"), cache.get_or_default("c"))) == [1, 2, None]
    with sqlite3.connect(tmp_path / "cache.db", timeout=0, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if a read had left a write open
        other.execute("COMMIT")
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0  # no reader holds an old snapshot
    assert await cache.get("b") == 2


async def test_many_tasks_open_the_connection_once(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "cache.db")
    try:
        await asyncio.gather(*(cache.put(f"k{i}", i) for i in range(50)))  # all race to open it
        assert cache._db is not None
        assert len(await cache.get_many([f"k{i}" for i in range(50)])) == 50
    finally:
        await cache.close()
    assert cache._db is None


# -- cross-process locks ------------------------------------------------------------------------


async def test_locks_are_exclusive_until_released(make: Make) -> None:
    first, second = make(), make()  # two processes, as far as the file can tell
    token = await primitive(first, "_acquire_lock", "ns", "key", 30)
    assert isinstance(token, str)
    assert len(token) == 32
    assert await primitive(second, "_acquire_lock", "ns", "key", 30) is None
    assert await primitive(second, "_acquire_lock", "ns", "other-key", 30) is not None
    assert await primitive(second, "_acquire_lock", "other-ns", "key", 30) is not None
    assert await primitive(second, "_release_lock", "ns", "key", "not-the-token") is False
    assert await primitive(first, "_acquire_lock", "ns", "key", 30) is None  # not reentrant
    assert await primitive(first, "_release_lock", "ns", "key", token) is True
    assert await primitive(first, "_release_lock", "ns", "key", token) is False
    again = await primitive(second, "_acquire_lock", "ns", "key", 30)
    assert again not in (None, token)


async def test_an_expired_lock_can_be_taken_and_its_old_token_releases_nothing(make: Make) -> None:
    clock = TestClock()
    first, second = make(clock=clock), make(clock=clock)
    stale = await primitive(first, "_acquire_lock", "ns", "key", 10)
    clock.advance(9)
    assert await primitive(second, "_acquire_lock", "ns", "key", 10) is None
    clock.advance(1)
    fresh = await primitive(second, "_acquire_lock", "ns", "key", 10)
    assert fresh is not None
    assert await primitive(first, "_release_lock", "ns", "key", stale) is False
    assert await primitive(first, "_acquire_lock", "ns", "key", 10) is None
    assert await primitive(second, "_release_lock", "ns", "key", fresh) is True


async def test_locks_are_not_entries(make: Make) -> None:
    cache = make()
    await primitive(cache, "_acquire_lock", "default", "k", 30)
    assert await cache.get_or_default("k") is None
    await cache.clear()
    assert await primitive(cache, "_acquire_lock", "default", "k", 30) is None


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "10", True])
async def test_lock_ttl_must_be_positive_seconds(make: Make, ttl: Any) -> None:
    cache = make()
    with pytest.raises(ValueError, match="lock ttl"):
        await primitive(cache, "_acquire_lock", "ns", "key", ttl)


async def test_locks_through_the_template_on_a_closed_backend(make: Make) -> None:
    cache = make()
    token = await primitive(cache, "_try_lock", "ns", "key", 10)
    assert await primitive(cache, "_unlock", "ns", "key", token) is True
    await cache.close()
    with pytest.raises(BackendClosedError):
        await primitive(cache, "_try_lock", "ns", "key", 10)
    with pytest.raises(BackendClosedError):
        await primitive(cache, "_unlock", "ns", "key", "token")


def test_a_lock_held_past_the_busy_timeout_is_a_backend_timeout(tmp_path: Path) -> None:
    with SyncSqliteCache(tmp_path / "cache.db", busy_timeout=0.1) as cache:
        assert cache.supports_lock
        holder = sqlite3.connect(tmp_path / "cache.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(BackendTimeoutError):
                cache._try_lock("ns", "key", 10)
        finally:
            holder.execute("ROLLBACK")
            holder.close()


def locked_function(backend: Any, calls: list[int]) -> Any:
    """The same decorated function as another process would define it (same key)."""

    @cached(cache=backend, lock=True, namespace="locked")
    def slow_square(x: int) -> int:
        calls.append(x)
        time.sleep(0.3)
        return x * x

    return slow_square


def test_decorator_lock_runs_the_function_once_across_backends(tmp_path: Path) -> None:
    calls: list[int] = []
    backends = [SyncSqliteCache(tmp_path / "cache.db") for _ in range(3)]  # three "processes"
    functions = [locked_function(backend, calls) for backend in backends]
    results: list[int] = []
    threads = [threading.Thread(target=lambda f=function: results.append(f(7))) for function in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for backend in backends:
        backend.close()
    assert results == [49, 49, 49]
    assert calls == [7]


async def test_decorator_lock_runs_the_coroutine_once_across_backends(tmp_path: Path) -> None:
    calls: list[int] = []
    backends = [SqliteCache(tmp_path / "cache.db") for _ in range(3)]

    def define(backend: SqliteCache) -> Any:
        @cached(cache=backend, lock=True, namespace="locked")
        async def slow_square(x: int) -> int:
            calls.append(x)
            await asyncio.sleep(0.3)
            return x * x

        return slow_square

    try:
        assert await asyncio.gather(*(define(backend)(7) for backend in backends)) == [49, 49, 49]
    finally:
        for backend in backends:
            await backend.close()
    assert calls == [7]


async def test_many_contenders_one_winner(tmp_path: Path) -> None:
    backends = [SqliteCache(tmp_path / "cache.db") for _ in range(10)]
    try:
        tokens = await asyncio.gather(*(backend._acquire_lock("ns", "key", 30) for backend in backends))
        assert sum(token is not None for token in tokens) == 1
    finally:
        for backend in backends:
            await backend.close()


# -- construction ---------------------------------------------------------------------------------


def test_repr_names_the_file_and_table(tmp_path: Path) -> None:
    cache = SyncSqliteCache(tmp_path / "cache.db", table="pages")
    assert repr(cache) == f"<SyncSqliteCache {str(tmp_path / 'cache.db')!r} table='pages'>"
    cache.close()
    assert repr(cache).endswith(" closed>")
    assert isinstance(SqliteCache(":memory:"), AsyncBackend)
