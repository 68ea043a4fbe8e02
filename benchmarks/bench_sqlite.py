"""SQLite get and put throughput: SqliteCache and SyncSqliteCache against the raw sqlite3 floor and diskcache.

Run it with ``hatch run bench:sqlite``. It is a report, not a test: it always exits 0 and
marks each target PASS or FAIL: the sync backend within 1.5x of the raw floor; its
get faster than diskcache's, and 50 concurrent tasks reading through one ``SqliteCache`` at
no less than half the sync get's single-thread throughput.

Every contender works on its own file in one temporary directory, with a small JSON
document (~400 bytes stored) under ``--keys`` keys, without TTL:

* floor, sync: plain ``sqlite3`` in autocommit on the same schema and pragmas (the cache's
  own setup script: WAL, synchronous=NORMAL), running the same statements as the cache:
  ``SELECT value, expires_at ... WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR
  expires_at > ?)`` then ``fetchone``; ``INSERT ... ON CONFLICT DO UPDATE``. Two floors:
  with the same ``JsonSerializer`` encode/decode as the cache (the target's floor: the
  same work, minus the cache), and with pre-encoded bytes (pure SQL, for reference).
* floor, async: the same with ``aiosqlite`` (``execute_fetchall`` / ``execute``).
* ours: ``SyncSqliteCache.get/put`` and ``await SqliteCache.get/put`` (namespaced keys,
  checks, expiry, JSON coder, error mapping), default options.
* diskcache (where installed): ``Cache(directory).get/set`` with its defaults (pickle for a
  dict, WAL, synchronous=NORMAL).
* concurrency: ``--tasks`` tasks (50) sharing one batch of gets through one ``SqliteCache``
  (which coalesces the reads that wait for aiosqlite's thread into one statement per hop),
  and through one plain aiosqlite connection (one hop per read), against the single-thread
  ``SyncSqliteCache.get``: gets per second of the whole batch.

Method: every contender is warmed up (each key written and read once, then an untimed
batch). Then ``--repeat`` rounds; in each, every contender runs a batch of ``--calls``
sequential calls cycling over the keys (puts overwrite existing keys: the steady state of
a cache), in an order that rotates each round, with ``gc`` disabled. The table shows the
best and the median batch per call and calls per second from the median; ratios use
the medians: ``x floor`` against the sync floor with the coder (the target), ``x bytes``
against the pure-SQL floor; async rows also give their ratio to the aiosqlite floor, and
concurrency rows (time per get: the batch's wall time / its calls) their gets/s against
``SyncSqliteCache.get``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _results
import aiosqlite
from _results import Timed
from cache_core import JsonSerializer, SystemClock
from cache_sqlite import SqliteCache, SyncSqliteCache
from cache_sqlite._schema import Queries

TARGET = 1.5  # sync backend, x the raw sqlite3 floor (with the same coder)
CONCURRENT_TARGET = 0.5  # gets/s of concurrent tasks on SqliteCache, x the single-thread SyncSqliteCache gets/s
NAMESPACE = "bench"
PAYLOAD = {**_results.PAYLOAD, "description": "A classic black tea scented with oil of bergamot. " * 4}
GET = 'SELECT value, expires_at FROM "t" WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)'
PUT = (
    'INSERT INTO "t" (namespace, key, value, expires_at, accessed_at) VALUES (?, ?, ?, ?, ?)'
    " ON CONFLICT (namespace, key) DO UPDATE"
    " SET value = excluded.value, expires_at = excluded.expires_at, accessed_at = excluded.accessed_at"
)
perf_counter_ns = time.perf_counter_ns


@dataclass
class Contender(Timed):
    name: str
    operation: str  # "get" or "put"
    role: str  # "floor", "bare", "afloor", "ours", "concurrent", "peer", "info"
    call: Callable[[str], Any]  # returns an awaitable when is_async
    is_async: bool
    tasks: int = 1  # concurrent tasks sharing each batch of calls


async def make_contenders(directory: Path, tasks: int) -> tuple[list[Contender], list[Callable[[], Any]]]:
    contenders: list[Contender] = []
    closers: list[Callable[[], Any]] = []
    coder, now = JsonSerializer(), time.time
    encode, decode = coder.encode, coder.decode
    encoded = encode(PAYLOAD)

    # Floors: the cache's own setup script on a plain connection, then the same statements.
    setup = Queries("t", SystemClock(), max_entries=None, sweep_interval=None).setup
    raw = sqlite3.connect(directory / "floor.db", isolation_level=None)
    raw.executescript(setup)
    closers.append(raw.close)
    execute = raw.execute

    def floor_get(key: str) -> Any:
        row = execute(GET, (NAMESPACE, key, now())).fetchone()
        return decode(row[0])

    def floor_put(key: str) -> None:
        execute(PUT, (NAMESPACE, key, encode(PAYLOAD), None, now()))

    def bare_get(key: str) -> Any:
        return execute(GET, (NAMESPACE, key, now())).fetchone()

    def bare_put(key: str) -> None:
        execute(PUT, (NAMESPACE, key, encoded, None, now()))

    contenders += [
        Contender("floor: sqlite3 SELECT + decode", "get", "floor", floor_get, False),
        Contender("floor: sqlite3 INSERT + encode", "put", "floor", floor_put, False),
        Contender("sqlite3 SELECT, bytes (no coder)", "get", "bare", bare_get, False),
        Contender("sqlite3 INSERT, bytes (no coder)", "put", "bare", bare_put, False),
    ]

    araw = await aiosqlite.connect(directory / "afloor.db", isolation_level=None)
    await araw.executescript(setup)
    closers.append(araw.close)

    async def afloor_get(key: str) -> Any:
        rows = await araw.execute_fetchall(GET, (NAMESPACE, key, now()))
        return decode(next(iter(rows))[0])

    async def afloor_put(key: str) -> None:
        await araw.execute(PUT, (NAMESPACE, key, encode(PAYLOAD), None, now()))

    contenders += [
        Contender("aiosqlite SELECT + decode", "get", "afloor", afloor_get, True),
        Contender(f"aiosqlite SELECT + decode, {tasks} tasks", "get", "info", afloor_get, True, tasks),
        Contender("aiosqlite INSERT + encode", "put", "afloor", afloor_put, True),
    ]

    sync_cache = SyncSqliteCache(directory / "sync.db")
    closers.append(sync_cache.close)
    sync_get, sync_put = sync_cache.get, sync_cache.put
    contenders += [
        Contender("SyncSqliteCache.get", "get", "ours", lambda key: sync_get(key, namespace=NAMESPACE), False),
        Contender("SyncSqliteCache.put", "put", "ours", lambda key: sync_put(key, PAYLOAD, namespace=NAMESPACE), False),
    ]

    async_cache = SqliteCache(directory / "async.db")
    closers.append(async_cache.close)
    async_get, async_put = async_cache.get, async_cache.put
    contenders += [
        Contender("SqliteCache.get (async)", "get", "info", lambda key: async_get(key, namespace=NAMESPACE), True),
        Contender(
            f"SqliteCache.get, {tasks} tasks",
            "get",
            "concurrent",
            lambda key: async_get(key, namespace=NAMESPACE),
            True,
            tasks,
        ),
        Contender(
            "SqliteCache.put (async)", "put", "info", lambda key: async_put(key, PAYLOAD, namespace=NAMESPACE), True
        ),
    ]

    try:
        import diskcache  # type: ignore[import-not-found,unused-ignore]

        disk = diskcache.Cache(str(directory / "diskcache"))
        closers.append(disk.close)
        version = importlib.metadata.version("diskcache")
        disk_get, disk_set = disk.get, disk.set
        contenders += [
            Contender(f"diskcache {version} get", "get", "peer", disk_get, False),
            Contender(f"diskcache {version} set", "put", "peer", lambda key: disk_set(key, PAYLOAD), False),
        ]
    except ImportError:
        print("diskcache not installed: its rows are left out (pip install diskcache)")
    return contenders, closers


async def batch(contender: Contender, keys: list[str], calls: int) -> float:
    """Nanoseconds per call of one batch of sequential calls (or of calls shared by concurrent tasks)."""
    call, count, tasks = contender.call, len(keys), contender.tasks

    async def task(first: int) -> None:
        for index in range(first, calls, tasks):
            await call(keys[index % count])

    gc.disable()
    try:
        if tasks > 1:
            start = perf_counter_ns()
            await asyncio.gather(*(task(first) for first in range(tasks)))
        elif contender.is_async:
            start = perf_counter_ns()
            for index in range(calls):
                await call(keys[index % count])
        else:
            start = perf_counter_ns()
            for index in range(calls):
                call(keys[index % count])
        return (perf_counter_ns() - start) / calls
    finally:
        gc.enable()


async def main(arguments: argparse.Namespace) -> None:
    keys = [f"product:{index}" for index in range(arguments.keys)]
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as name:
        contenders, closers = await make_contenders(Path(name), arguments.tasks)
        try:
            puts = [contender for contender in contenders if contender.operation == "put"]
            for contender in puts + [c for c in contenders if c.operation == "get"]:  # warm: write, then read
                await batch(contender, keys, len(keys))
                await batch(contender, keys, arguments.calls)
            for round_number in range(arguments.repeat):
                shift = round_number % len(contenders)
                gc.collect()
                for contender in contenders[shift:] + contenders[:shift]:
                    contender.runs.append(await batch(contender, keys, arguments.calls))
            report(contenders, arguments)
            if arguments.json:
                import _results

                _results.write(arguments.json, "bench_sqlite", contenders, vars(arguments))
        finally:
            for close in closers:
                result = close()
                if asyncio.iscoroutine(result):
                    await result


def report(contenders: list[Contender], arguments: argparse.Namespace) -> None:
    print(
        f"SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}, aiosqlite "
        f"{importlib.metadata.version('aiosqlite')}: {arguments.repeat} rounds x {arguments.calls} calls "
        f"over {arguments.keys} keys, one connection each, no contention from other processes"
    )
    verdicts = []
    for operation in ("get", "put"):
        rows = [contender for contender in contenders if contender.operation == operation]
        floor = next(contender for contender in rows if contender.role == "floor")
        afloor = next(contender for contender in rows if contender.role == "afloor")
        bare = next(contender for contender in rows if contender.role == "bare")
        ours = next(contender for contender in rows if contender.role == "ours")
        print(f"\n{operation.upper()}")
        print(f"  {'contender':36} {'best ns':>9} {'median ns':>10} {'calls/s':>9} {'x floor':>8} {'x bytes':>8}")
        for contender in rows:
            ratio = contender.median / floor.median
            note = ""
            if contender.role == "ours":
                verdict = "PASS" if ratio <= TARGET else "FAIL"
                verdicts.append(f"sync {operation} {ratio:.2f}x the floor (target <= {TARGET}x): {verdict}")
                note = f"  target <= {TARGET}x: {verdict}"
            elif contender.tasks > 1:
                note = f"  {ours.median / contender.median:.2f}x the gets/s of SyncSqliteCache.get"
            elif contender.is_async and contender.role != "afloor":
                note = f"  {contender.median / afloor.median:.2f}x the aiosqlite floor"
            print(
                f"  {contender.name:36} {contender.best:9.0f} {contender.median:10.0f}"
                f" {1e9 / contender.median:9.0f} {ratio:7.2f}x {contender.median / bare.median:7.2f}x{note}"
            )
    gets = [contender for contender in contenders if contender.operation == "get"]
    ours = next(contender for contender in gets if contender.role == "ours")
    peer = next((contender for contender in gets if contender.role == "peer"), None)
    if peer is not None:
        verdict = "PASS" if ours.median < peer.median else "FAIL"
        verdicts.append(
            f"sync get {ours.median / peer.median:.2f}x the time of diskcache's get"
            f" (best batches: {ours.best / peer.best:.2f}x; target < 1x): {verdict}"
        )
    concurrent = next(contender for contender in gets if contender.role == "concurrent")
    share = ours.median / concurrent.median
    verdicts.append(
        f"{concurrent.name}: {1e9 / concurrent.median:.0f} gets/s, {share:.2f}x the single-thread gets/s of"
        f" SyncSqliteCache.get (best batches: {ours.best / concurrent.best:.2f}x; target >= {CONCURRENT_TARGET}x):"
        f" {'PASS' if share >= CONCURRENT_TARGET else 'FAIL'}"
    )
    print("\nTARGETS\n  " + "\n  ".join(verdicts))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per batch")
    parser.add_argument("--keys", type=int, default=1000, help="keys the calls cycle over")
    parser.add_argument("--repeat", type=int, default=15, help="rounds: batches per contender")
    parser.add_argument("--tasks", type=int, default=50, help="concurrent tasks of the concurrency rows")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds of 500 calls")
    parser.add_argument("--json", metavar="PATH", help="also write every result to PATH as JSON")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.repeat, arguments.calls = 3, 500
    asyncio.run(main(arguments))
    sys.exit(0)
