"""The Redis near cache: its hit path against the in-memory floor and a plain Redis hit, and its coherence.

Run it with ``hatch run bench:near``. It is a report, not a test: it always exits 0 and
marks its targets PASS or FAIL.

Hit path (sync ``def`` and ``async def``, one positional ``int`` argument, 200 warm keys,
the same ~300-byte JSON document as bench_redis.py), timed in the same run, interleaved:

* floor: a plain dict lookup in a function (``def f(k): return d[k]``, awaited for async);
* near: ``@cached(cache=SyncRedisCache(url, near_cache=1000), ttl=3600)`` (``RedisCache`` for async);
* redis: the same decorator over a backend without a near cache (every hit a ``GET``);
* info: the same decorator over the in-memory ``DictCache``, and both without a TTL (an
  entry that never expires skips the clock read on a hit).

Each contender is warmed up, then ``--repeat`` short runs per contender, round-robin with
the order rotating; the table shows the best run and the median (ns per call, the loop
included); ratios use the best. Targets: near <= 3x the floor, and a plain Redis hit >= 50x
the near hit.

Coherence: a writer process rewrites one key ``--rewrites`` times (a pause of 2-5 ms between
rewrites) and records when each ``put`` returned (``time.monotonic``, one clock for both
processes on Linux); this process reads the key through a decorated function in a loop and
records when it first sees each new value. The lag of a rewrite is the second instant
minus the first (0 if seen before the writer's ``put`` returned). Target: p99 <= 10 ms.

Killed invalidation connection: with the writer still rewriting, every tracking
connection is killed (``CLIENT KILL TYPE pubsub``) every 20 ms for ``--kill-seconds``. A read
is stale if it returns a value older than one whose ``put`` had returned more than
``--grace`` ms before the read began (the time the listener needs to see a closed socket).
Target: zero.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import multiprocessing
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from _results import PAYLOAD, Timed
from cache_core import DictCache, cached
from cache_redis import RedisCache, SyncRedisCache

TARGET_FLOOR = 3.0  # near hit, x the in-memory floor
TARGET_REDIS = 50.0  # plain Redis hit, x the near hit
TARGET_LAG_MS = 10.0  # p99 of the coherence lag
perf_counter_ns = time.perf_counter_ns


@dataclass
class Contender(Timed):
    name: str
    role: str  # floor, near, redis, info
    call: Callable[[int], Any]
    executions: Callable[[], int]


def _body(is_async: bool) -> tuple[Callable[[int], Any], Callable[[], int]]:
    count = [0]
    if is_async:

        async def product_async(item: int) -> dict[str, Any]:
            count[0] += 1
            return {**PAYLOAD, "id": item}

        return product_async, lambda: count[0]

    def product(item: int) -> dict[str, Any]:
        count[0] += 1
        return {**PAYLOAD, "id": item}

    return product, lambda: count[0]


def contenders(url: str, keys: int, is_async: bool) -> tuple[list[Contender], list[Any]]:
    table = {item: {**PAYLOAD, "id": item} for item in range(keys)}
    if is_async:

        async def floor_async(item: int) -> Any:
            return table[item]

        floor: Callable[[int], Any] = floor_async
    else:

        def floor_sync(item: int) -> Any:
            return table[item]

        floor = floor_sync
    backend_class: Any = RedisCache if is_async else SyncRedisCache
    near_backend = backend_class(url, prefix="bench-near", near_cache=1000)
    plain_backend = backend_class(url, prefix="bench-plain")
    mode = "async def" if is_async else "def"
    found = [Contender(f"floor: dict lookup in a {mode}", "floor", floor, lambda: 0)]
    for name, role, backend, ttl in (
        ("@cached(ttl=3600), Redis + near cache", "near", near_backend, 3600),
        ("@cached(ttl=3600), Redis (no near cache)", "redis", plain_backend, 3600),
        ("  info: @cached(ttl=3600), DictCache", "info", DictCache(), 3600),
        ("  info: @cached, Redis + near cache", "info", near_backend, None),
        ("  info: @cached, DictCache", "info", DictCache(), None),
    ):
        body, executions = _body(is_async)
        namespace = "bench" if ttl else "bench-no-ttl"
        found.append(Contender(name, role, cached(cache=backend, ttl=ttl, namespace=namespace)(body), executions))
    return found, [near_backend, plain_backend]


def _time_sync(contender: Contender, calls: int, keys: int) -> float:
    call = contender.call
    order = [index % keys for index in range(calls)]
    before = contender.executions()
    gc.disable()
    try:
        start = perf_counter_ns()
        for item in order:
            call(item)
        elapsed = perf_counter_ns() - start
    finally:
        gc.enable()
    if contender.executions() != before:
        contender.problem = "ran the function on the hit path"
    return elapsed / calls


async def _time_async(contender: Contender, calls: int, keys: int) -> float:
    call = contender.call
    order = [index % keys for index in range(calls)]
    before = contender.executions()
    gc.disable()
    try:
        start = perf_counter_ns()
        for item in order:
            await call(item)
        elapsed = perf_counter_ns() - start
    finally:
        gc.enable()
    if contender.executions() != before:
        contender.problem = "ran the function on the hit path"
    return elapsed / calls


def _calls(contender: Contender, calls: int) -> int:
    # A Redis round trip costs ~1000x a dict lookup: fewer calls per run keep runs short.
    return max(50, calls // 50) if contender.role == "redis" else calls


async def _warm(contender: Contender, arguments: argparse.Namespace, is_async: bool) -> None:
    for item in range(arguments.keys):  # store, then read once more: indexed from the second use
        for _ in range(2):
            result = contender.call(item)
            if is_async:
                await result
    if is_async:
        await _time_async(contender, arguments.calls, arguments.keys)
    else:
        _time_sync(contender, arguments.calls, arguments.keys)
    contender.problem = ""


async def hit_path(url: str, arguments: argparse.Namespace, is_async: bool) -> list[Contender]:
    found, backends = contenders(url, arguments.keys, is_async)
    for backend in backends:
        if backend.near_cache is not None:
            backend.near_cache.wait_live(5)
    try:
        for contender in found:
            await _warm(contender, arguments, is_async)
        for round_number in range(arguments.repeat):
            shift = round_number % len(found)
            gc.collect()
            for contender in found[shift:] + found[:shift]:
                calls = _calls(contender, arguments.calls)
                if is_async:
                    contender.runs.append(await _time_async(contender, calls, arguments.keys))
                else:
                    contender.runs.append(_time_sync(contender, calls, arguments.keys))
    finally:
        for backend in backends:
            if is_async:
                await backend.close()
            else:
                backend.close()
    return found


def report_hits(found: list[Contender], title: str) -> None:
    floor = next(c for c in found if c.role == "floor")
    near = next(c for c in found if c.role == "near")
    plain = next(c for c in found if c.role == "redis")
    print(f"\n{title}: ns per call")
    print(f"  {'contender':42} {'best':>10} {'median':>10} {'x floor':>8}")
    for c in found:
        note = f"  PROBLEM: {c.problem}" if c.problem else ""
        print(f"  {c.name:42} {c.best:10.1f} {c.median:10.1f} {c.best / floor.best:8.2f}{note}")
    ratio = near.best / floor.best
    verdict = "PASS" if ratio <= TARGET_FLOOR else "FAIL"
    print(f"  target: near hit <= {TARGET_FLOOR}x the floor: {ratio:.2f}x -> {verdict}")
    speedup = plain.best / near.best
    verdict = "PASS" if speedup >= TARGET_REDIS else "FAIL"
    print(f"  target: near hit >= {TARGET_REDIS:.0f}x faster than a Redis hit: {speedup:.0f}x -> {verdict}")


# -- coherence --------------------------------------------------------------------------------


def _writer(url: str, rewrites: int, written: Any, ready: Any, go: Any) -> None:
    backend = SyncRedisCache(url, prefix="bench-coherence")
    ready.set()
    go.wait()
    rng = random.Random(7)
    for version in range(1, rewrites + 1):
        backend.put("key", version, namespace="coherence")
        written[version] = time.monotonic()
        time.sleep(rng.uniform(0.002, 0.005))
    backend.close()


def coherence(url: str, arguments: argparse.Namespace, pace: float) -> None:
    backend = SyncRedisCache(url, prefix="bench-coherence", near_cache=100)
    tracker = backend._tracker
    assert tracker is not None
    backend.near_cache.wait_live(5)
    backend.put("key", 0, namespace="coherence")
    rewrites = arguments.rewrites
    context = multiprocessing.get_context("spawn")
    written = context.Array("d", rewrites + 1, lock=False)
    ready, go = context.Event(), context.Event()
    writer = context.Process(target=_writer, args=(url, rewrites, written, ready, go))
    writer.start()
    ready.wait(30)
    seen: dict[int, float] = {}
    reads = 0
    get, sleep = backend.get, time.sleep
    go.set()
    deadline = time.monotonic() + 60
    last = 0
    while last < rewrites and time.monotonic() < deadline:
        value = get("key", namespace="coherence")
        reads += 1
        if value > last:
            now = time.monotonic()
            for version in range(last + 1, value + 1):
                seen[version] = now
            last = value
        if pace:
            sleep(pace)
    writer.join(30)
    lags = sorted(max(0.0, seen[v] - written[v]) * 1000 for v in range(1, rewrites + 1) if v in seen and written[v])
    backend.close()
    p50, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    how = f"a read every {pace * 1e6:.0f} us (sleeping between)" if pace else "a tight loop (never releasing the GIL)"
    print(f"\nCOHERENCE, {how}: {rewrites} rewrites by another process, {reads} reads here")
    print(f"  lag until this process served the new value: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {lags[-1]:.2f} ms")
    verdict = "PASS" if p99 <= TARGET_LAG_MS and len(lags) == rewrites else "FAIL"
    print(f"  target: p99 <= {TARGET_LAG_MS} ms -> {verdict}")


def _killer(url: str, seconds: float, stop: Any) -> None:
    admin = redis.Redis.from_url(url)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        admin.client_kill_filter(_type="pubsub")
        time.sleep(0.02)
    admin.close()


def killed(url: str, arguments: argparse.Namespace, pace: float) -> None:
    backend = SyncRedisCache(url, prefix="bench-coherence", near_cache=100)
    tracker = backend._tracker
    assert tracker is not None
    backend.near_cache.wait_live(5)
    backend.put("key", 0, namespace="coherence")
    context = multiprocessing.get_context("spawn")
    rewrites = int(arguments.kill_seconds / 0.0035)
    written = context.Array("d", rewrites + 1, lock=False)
    ready, go, stop = context.Event(), context.Event(), context.Event()
    writer = context.Process(target=_writer, args=(url, rewrites, written, ready, go))
    writer.start()
    ready.wait(30)
    killer = context.Process(target=_killer, args=(url, arguments.kill_seconds, stop))
    killer.start()
    go.set()
    reads = down_reads = stale = stale_down = 0
    oldest = 0.0  # how far behind the most out-of-date read was (since the put it missed returned)
    newest = 0  # the newest version whose put returned before the current read began
    near = backend.near_cache
    assert near is not None
    deadline = time.monotonic() + arguments.kill_seconds
    while time.monotonic() < deadline:
        was_live = near.live
        started = time.monotonic()
        while newest < rewrites and written[newest + 1] and written[newest + 1] < started:
            newest += 1
        value = backend.get("key", namespace="coherence")
        down = not was_live and not near.live
        reads += 1
        down_reads += down
        if value < newest:
            stale += 1
            stale_down += down
            oldest = max(oldest, started - written[value + 1])
        if pace:
            time.sleep(pace)
    stop.set()
    killer.join(30)
    writer.join(60)
    established = tracker.established
    backend.close()
    how = f"a read every {pace * 1e6:.0f} us" if pace else "reads in a tight loop"
    print(f"\nKILLED TRACKING, {how}: CLIENT KILL TYPE pubsub every 20 ms for {arguments.kill_seconds} s")
    print(f"  tracking re-established {established - 1} times; {reads} reads, {down_reads} of them while it was down")
    print(f"  reads older than a put that returned before they began: {stale_down} while down, {stale} in all")
    print(f"  the most out-of-date read was {oldest * 1000:.2f} ms behind (within the coherence lag)")
    print(f"  target: zero stale reads while down -> {'PASS' if stale_down == 0 else 'FAIL'}")


def _server_url() -> tuple[str, Any]:
    url = os.environ.get("REDIS_URL")
    if url:
        return url, None
    from cache_testing._redis_server import RedisServerProcess

    server = RedisServerProcess()
    server.start()
    return server.url, server


def main(arguments: argparse.Namespace) -> None:
    url = arguments.url
    print(
        f"near cache: Python {platform.python_version()}, redis-py {importlib.metadata.version('redis')}, "
        f"{arguments.repeat} runs x {arguments.calls} calls over {arguments.keys} keys"
    )
    report_hits(asyncio.run(hit_path(url, arguments, is_async=False)), "SYNC HIT PATH")
    report_hits(asyncio.run(hit_path(url, arguments, is_async=True)), "ASYNC HIT PATH")
    if arguments.hits_only:
        return
    for pace in (0.0, arguments.pace / 1e6):
        coherence(url, arguments, pace)
    for pace in (0.0, arguments.pace / 1e6):
        killed(url, arguments, pace)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per run")
    parser.add_argument("--keys", type=int, default=200, help="warm keys the calls cycle over")
    parser.add_argument("--repeat", type=int, default=30, help="runs per contender")
    parser.add_argument("--rewrites", type=int, default=1000, help="rewrites by the writer process")
    parser.add_argument("--kill-seconds", type=float, default=3.0, help="how long tracking is killed over and over")
    parser.add_argument("--pace", type=float, default=100.0, help="us between reads in the paced coherence runs")
    parser.add_argument("--hits-only", action="store_true", help="time the hit path only")
    parser.add_argument("--url", default=None, help="Redis URL (default: REDIS_URL, else a server started here)")
    arguments = parser.parse_args()
    server = None
    if arguments.url is None:
        arguments.url, server = _server_url()
    try:
        main(arguments)
    finally:
        if server is not None:
            server.close()
    sys.exit(0)
