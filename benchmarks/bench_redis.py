"""The Redis hit path: a decorated async call served from Redis, against the floor and peers.

Run it with ``hatch run bench:redis``. It is a report, not a test: it always exits 0 and
marks its targets PASS or FAIL.

Contenders, all on one redis-server (``REDIS_URL``, or one started on a free loopback
port) and the same payload (a small JSON document, ~300 bytes stored):

* floor: ``await client.get(key)`` then ``json.loads`` with a plain
  ``redis.asyncio.Redis.from_url(url)``: what any Redis cache must at least do;
* ours: ``@cached(cache=RedisCache(url), ttl=3600)`` on an ``async def``;
* aiocache: ``@aiocache.cached(cache=RedisCache, serializer=JsonSerializer())``;
* cashews: ``@cache(ttl="1h")`` after ``cache.setup(url, pickle_type="json")``.

Method: every contender is warmed up (each key read once, then an untimed run). Then
``--repeat`` rounds; in each, every contender makes a batch of ``--calls`` sequential
calls cycling over ``--keys`` warm keys, in an order that rotates each round, so the
jitter of a loopback round trip and the load of the machine hit everyone alike. The table
shows, per call, the best batch and the median batch (wall time), and the median CPU
time of this process (user + system: the client's own cost, without the wait for the
server). Ratios use the medians. Every batch is checked to have run the function body zero
times. ``--profile`` adds a cProfile of our hit path and of the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib.metadata
import io
import json
import logging
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio
from _results import PAYLOAD, Timed
from cache_core import cached
from cache_redis import RedisCache

TARGET_FLOOR = 1.10  # ours, x the floor

logging.getLogger("aiocache").setLevel(logging.CRITICAL)
perf_counter_ns = time.perf_counter_ns
process_time_ns = time.process_time_ns


@dataclass
class Contender(Timed):
    name: str
    role: str  # "floor", "ours", "peer"
    call: Callable[[int], Awaitable[Any]]
    executions: Callable[[], int]  # how often the function body ran so far
    cpu: list[float] = field(default_factory=list)


def _body_counter() -> tuple[Callable[[int], Awaitable[Any]], Callable[[], int]]:
    count = [0]

    async def product(item: int) -> dict[str, Any]:
        count[0] += 1
        return {**PAYLOAD, "id": item}

    return product, lambda: count[0]


async def make_contenders(url: str, keys: int) -> tuple[list[Contender], list[Callable[[], Awaitable[None]]]]:
    contenders: list[Contender] = []
    closers: list[Callable[[], Awaitable[None]]] = []

    floor_client = redis.asyncio.Redis.from_url(url)
    for item in range(keys):
        await floor_client.set(f"floor:{item}", json.dumps({**PAYLOAD, "id": item}).encode())
    loads = json.loads

    async def floor(item: int) -> Any:
        return loads(await floor_client.get(f"floor:{item}"))

    contenders.append(Contender("redis.asyncio GET + json.loads", "floor", floor, lambda: 0))
    closers.append(floor_client.aclose)

    backend = RedisCache(url)
    body, executions = _body_counter()
    ours = cached(cache=backend, ttl=3600, namespace="bench")(body)
    contenders.append(Contender("cache_redis.RedisCache @cached", "ours", ours, executions))
    closers.append(backend.close)

    try:
        import aiocache
        from aiocache.serializers import JsonSerializer

        host, port = _host_port(url)
        body, executions = _body_counter()
        decorator = aiocache.cached(
            cache=aiocache.RedisCache, endpoint=host, port=port, serializer=JsonSerializer(), ttl=3600, namespace="ac"
        )
        peer = decorator(body)
        contenders.append(Contender(f"aiocache {importlib.metadata.version('aiocache')}", "peer", peer, executions))
    except Exception as exc:  # a peer that cannot run is reported, not fatal
        print(f"aiocache skipped: {exc!r}")

    try:
        from cashews import Cache as CashewsCache

        cashews = CashewsCache()
        cashews.setup(url, pickle_type="json")
        body, executions = _body_counter()
        peer = cashews(ttl="1h")(body)
        contenders.append(Contender(f"cashews {importlib.metadata.version('cashews')}", "peer", peer, executions))
        closers.append(cashews.close)
    except Exception as exc:
        print(f"cashews skipped: {exc!r}")
    return contenders, closers


def _host_port(url: str) -> tuple[str, int]:
    kwargs = redis.ConnectionPool.from_url(url).connection_kwargs
    return str(kwargs.get("host", "127.0.0.1")), int(kwargs.get("port", 6379))


async def timed_run(contender: Contender, calls: int, keys: int) -> tuple[float, float]:
    """Wall and CPU nanoseconds per call of one batch."""
    call = contender.call
    before = contender.executions()
    gc.disable()
    try:
        cpu_start, start = process_time_ns(), perf_counter_ns()
        for index in range(calls):
            await call(index % keys)
        elapsed, cpu = perf_counter_ns() - start, process_time_ns() - cpu_start
    finally:
        gc.enable()
    if contender.executions() != before:
        contender.problem = f"ran the function {contender.executions() - before} times on the hit path"
    return elapsed / calls, cpu / calls


async def profile(contender: Contender, calls: int, keys: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for index in range(calls):
        await contender.call(index % keys)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    return out.getvalue()


async def main(arguments: argparse.Namespace) -> None:
    url = arguments.url
    contenders, closers = await make_contenders(url, arguments.keys)
    try:
        for contender in contenders:  # warm: fill the caches, connect the pools
            for item in range(arguments.keys):
                await contender.call(item)
            await timed_run(contender, arguments.calls, arguments.keys)
            contender.problem = ""
        for round_number in range(arguments.repeat):
            shift = round_number % len(contenders)
            gc.collect()
            for contender in contenders[shift:] + contenders[:shift]:
                wall, cpu = await timed_run(contender, arguments.calls, arguments.keys)
                contender.runs.append(wall)
                contender.cpu.append(cpu)
        report(contenders, arguments)
        if arguments.json:
            import _results

            _results.write(arguments.json, "bench_redis", contenders, vars(arguments))
        if arguments.profile:
            for contender in contenders[:2]:
                print(f"\n--- cProfile: {contender.name}, {arguments.calls} hits ---")
                print(await profile(contender, arguments.calls, arguments.keys))
    finally:
        for close in closers:
            await close()


def report(contenders: list[Contender], arguments: argparse.Namespace) -> None:
    floor = next(contender for contender in contenders if contender.role == "floor")
    ours = next(contender for contender in contenders if contender.role == "ours")
    print(
        f"Redis hit path: Python {platform.python_version()}, redis-py {importlib.metadata.version('redis')}, "
        f"{arguments.repeat} runs x {arguments.calls} calls over {arguments.keys} keys"
    )
    print(f"{'contender':34} {'best ns':>9} {'median ns':>10} {'x floor':>8} {'CPU ns':>8} {'x floor':>8}")
    floor_cpu = statistics.median(floor.cpu)
    for contender in contenders:
        ratio = contender.median / floor.median
        cpu = statistics.median(contender.cpu)
        note = f"  PROBLEM: {contender.problem}" if contender.problem else ""
        print(
            f"{contender.name:34} {contender.best:9.0f} {contender.median:10.0f} {ratio:8.3f}"
            f" {cpu:8.0f} {cpu / floor_cpu:8.3f}{note}"
        )
    wall = ours.median / floor.median
    cpu = statistics.median(ours.cpu) / floor_cpu
    verdict = "PASS" if max(wall, cpu) <= TARGET_FLOOR else "FAIL"
    print(f"\ntarget: ours within {TARGET_FLOOR:.2f}x the floor: wall {wall:.3f}x, CPU {cpu:.3f}x -> {verdict}")
    for peer in (contender for contender in contenders if contender.role == "peer"):
        wall = peer.median / ours.median
        cpu = statistics.median(peer.cpu) / statistics.median(ours.cpu)
        verdict = "PASS" if min(wall, cpu) > 1 else "FAIL"
        print(f"target: faster than {peer.name}: it takes wall {wall:.2f}x, CPU {cpu:.2f}x ours -> {verdict}")


def _server_url() -> tuple[str, Any]:
    url = os.environ.get("REDIS_URL")
    if url:
        return url, None
    from cache_testing._redis_server import RedisServerProcess

    server = RedisServerProcess()
    server.start()
    return server.url, server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="sequential calls per batch")
    parser.add_argument("--keys", type=int, default=200, help="warm keys the calls cycle over")
    parser.add_argument("--repeat", type=int, default=60, help="rounds: batches per contender")
    parser.add_argument("--profile", action="store_true", help="cProfile our hit path and the floor")
    parser.add_argument("--url", default=None, help="Redis URL (default: REDIS_URL, else a server started here)")
    parser.add_argument("--json", metavar="PATH", help="also write every result to PATH as JSON")
    arguments = parser.parse_args()
    server = None
    if arguments.url is None:
        arguments.url, server = _server_url()
    try:
        asyncio.run(main(arguments))
    finally:
        if server is not None:
            server.close()
    sys.exit(0)
