"""Freshness under load: stale-while-revalidate, stale-if-error, and cached_many's round trips.

Run it with ``hatch run bench:freshness`` (``--quick`` for a few seconds). A report, not a
test: it always exits 0 and marks each target of the freshness issue PASS or FAIL.

1. A hot key with ``ttl=1`` whose function takes 100 ms, called in a loop by 50 async
   callers (16 threads for sync) for ``--seconds``: per-call latency after a one-second
   warm-up, each caller doing 20 ms of other work between calls (a steady load). Runs
   side by side: plain hits (``ttl=3600``, the reference) and ``ttl=1`` with
   ``stale_while_revalidate`` alternate over ``--rounds`` rounds (each round a share of
   ``--seconds``), their latencies pooled, so a change in the machine's load reaches both
   alike; then ``ttl=1`` without it. Targets: p99 with it at most 2x the plain-hit p99
   and the function run about once per TTL; without it, p99 at least the function's
   100 ms.
2. The same with ``stale_if_error``: the function fails for 5 s in the middle of the run
   (``--seconds`` is raised to 8 if shorter); target: no error reaches a caller.
3. ``cached_many`` over Redis (a ``redis-server`` started here, or ``REDIS_URL``): 100 ids
   of which 30 are cached; the Redis round trips (direct commands and pipelines sent by
   redis-py, counted at the client) and the loader's calls. Target: one read, one loader
   call with exactly the 70 missing ids, one write.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from cache_core import DictCache, SyncDictCache, cached, cached_many

WORK = 0.1  # seconds the cached function takes
WARM_UP = 1.0
THINK = 0.02  # each caller's other work between two calls: a steady load, not a spin


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _result(latencies: list[float], runs: int, errors: int, seconds: float) -> dict[str, Any]:
    return {
        "p50": _p(latencies, 0.5),
        "p99": _p(latencies, 0.99),
        "runs": runs,
        "errors": errors,
        "calls": len(latencies),
        "seconds": seconds,
        "latencies": latencies,
    }


def _pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result of several runs of a row: their latencies together."""
    latencies = [value for result in results for value in result["latencies"]]
    runs = sum(result["runs"] for result in results)
    errors = sum(result["errors"] for result in results)
    return _result(latencies, runs, errors, sum(result["seconds"] for result in results))


class Failing:
    """Makes the function fail between two instants."""

    def __init__(self) -> None:
        self.window: tuple[float, float] | None = None

    def check(self) -> None:
        if self.window is not None and self.window[0] <= time.monotonic() < self.window[1]:
            msg = "the dependency is down"
            raise ConnectionError(msg)


async def async_run(seconds: float, callers: int, **options: Any) -> dict[str, Any]:
    runs = 0
    failing = Failing()

    @cached(cache=DictCache(), **options)
    async def hot(key: int) -> int:
        nonlocal runs
        runs += 1
        await asyncio.sleep(WORK)
        failing.check()
        return key

    await hot(1)
    start = time.monotonic()
    end = start + seconds
    if "stale_if_error" in options:
        failing.window = (start + 1.5, start + 6.5)
    latencies: list[float] = []
    errors = 0

    async def caller() -> None:
        nonlocal errors
        while time.monotonic() < end:
            began = time.perf_counter()
            try:
                await hot(1)
            except ConnectionError:
                errors += 1
            if time.monotonic() - start > WARM_UP:
                latencies.append(time.perf_counter() - began)
            await asyncio.sleep(THINK)  # the rest of a request's work

    runs = 0
    await asyncio.gather(*(caller() for _ in range(callers)))
    await asyncio.sleep(WORK * 2)  # let a last background refresh finish
    return _result(latencies, runs, errors, seconds)


def sync_run(seconds: float, callers: int, **options: Any) -> dict[str, Any]:
    runs = 0
    lock = threading.Lock()
    failing = Failing()

    @cached(cache=SyncDictCache(), **options)
    def hot(key: int) -> int:
        nonlocal runs
        with lock:
            runs += 1
        time.sleep(WORK)
        failing.check()
        return key

    hot(1)
    start = time.monotonic()
    end = start + seconds
    if "stale_if_error" in options:
        failing.window = (start + 1.5, start + 6.5)
    latencies: list[list[float]] = [[] for _ in range(callers)]
    errors = [0] * callers

    def caller(number: int) -> None:
        mine = latencies[number]
        while time.monotonic() < end:
            began = time.perf_counter()
            try:
                hot(1)
            except ConnectionError:
                errors[number] += 1
            if time.monotonic() - start > WARM_UP:
                mine.append(time.perf_counter() - began)
            time.sleep(THINK)

    runs = 0
    threads = [threading.Thread(target=caller, args=(number,)) for number in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(WORK * 2)
    return _result([value for mine in latencies for value in mine], runs, sum(errors), seconds)


def _row(name: str, result: dict[str, Any]) -> str:
    per_ttl = result["runs"] / result["seconds"]
    return (
        f"  {name:38} p50 {result['p50'] * 1e6:10.1f} us   p99 {result['p99'] * 1e6:10.1f} us   "
        f"runs {result['runs']:4d} ({per_ttl:4.2f}/s)   errors {result['errors']:5d}   calls {result['calls']}"
    )


def verdict(ok: bool, text: str) -> str:
    return f"  {'PASS' if ok else 'FAIL'}  {text}"


def load_section(mode: str, run: Callable[..., Any], seconds: float, callers: int, rounds: int) -> list[str]:
    plains, swrs = [], []
    for _ in range(rounds):  # alternating, so both rows see the same machine
        plains.append(run(seconds / rounds, callers, ttl=3600))
        swrs.append(run(seconds / rounds, callers, ttl=1, stale_while_revalidate=10))
    plain, swr = _pooled(plains), _pooled(swrs)
    bare = run(seconds, callers, ttl=1)
    sie = run(max(seconds, 8.0), callers, ttl=1, stale_while_revalidate=10, stale_if_error=30)
    print(f"\n{mode.upper()}: a hot key, {callers} callers, the function takes {WORK * 1000:.0f} ms")
    print(_row("plain hits (ttl=3600)", plain))
    print(_row("ttl=1, stale_while_revalidate=10", swr))
    print(_row("ttl=1, no stale_while_revalidate", bare))
    print(_row("ttl=1, swr=10, stale_if_error=30 (5 s down)", sie))
    ratio = swr["p99"] / plain["p99"]
    per_ttl = swr["runs"] / swr["seconds"]
    return [
        verdict(ratio <= 2, f"{mode}: p99 with stale_while_revalidate <= 2x plain hits: {ratio:.2f}x"),
        verdict(0.5 <= per_ttl <= 1.5, f"{mode}: function runs about once per TTL: {per_ttl:.2f} per second"),
        verdict(bare["p99"] >= WORK, f"{mode}: without it, p99 >= {WORK * 1000:.0f} ms: {bare['p99'] * 1000:.1f} ms"),
        verdict(sie["errors"] == 0, f"{mode}: stale_if_error, 5 s of failures: {sie['errors']} errors reached callers"),
    ]


async def many_section() -> list[str]:
    from cache_redis import RedisCache
    from cache_testing.servers import redis_url
    from redis.asyncio.client import Pipeline, Redis

    trips = {"commands": 0, "pipelines": 0}
    execute_command, execute_pipeline = Redis.execute_command, Pipeline.execute

    async def counted_command(self: Redis, *args: Any, **options: Any) -> Any:
        trips["commands"] += 1
        return await execute_command(self, *args, **options)

    async def counted_pipeline(self: Pipeline, *args: Any, **options: Any) -> Any:
        trips["pipelines"] += 1
        return await execute_pipeline(self, *args, **options)

    with redis_url() as url:
        backend = RedisCache(url)
        loads: list[list[int]] = []

        @cached_many(cache=backend, ttl=600, namespace="bench-many")
        async def users(ids: list[int]) -> dict[int, str]:
            loads.append(list(ids))
            return {user_id: f"user {user_id}" for user_id in ids}

        await backend.clear("bench-many")
        await users([i * 3 for i in range(30)])  # 30 of the 100 cached
        loads.clear()
        Redis.execute_command, Pipeline.execute = counted_command, counted_pipeline  # type: ignore[method-assign]
        try:
            result = await users(list(range(100)))
        finally:
            Redis.execute_command, Pipeline.execute = execute_command, execute_pipeline  # type: ignore[method-assign]
        await backend.close()
    cached_ids = {i * 3 for i in range(30)}
    expected = [i for i in range(100) if i not in cached_ids]
    round_trips = trips["commands"] + trips["pipelines"]
    print("\ncached_many over Redis: 100 ids, 30 cached")
    print(
        f"  loader calls {len(loads)} with {[len(batch) for batch in loads]} ids; redis round trips {round_trips} "
        f"({trips['pipelines']} pipelines, {trips['commands']} single commands); {len(result)} values returned"
    )
    return [
        verdict(
            loads == [expected] and round_trips == 2 and len(result) == 100,
            f"cached_many: one read, one loader call with the 70 missing ids, one write: "
            f"{round_trips} round trips, loader calls {len(loads)}",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load row (20)")
    parser.add_argument("--quick", action="store_true", help="3-second runs (8 for stale_if_error)")
    parser.add_argument("--skip-redis", action="store_true", help="leave out the cached_many section")
    parser.add_argument("--rounds", type=int, help="rounds the plain and stale rows alternate over (4; --quick 1)")
    arguments = parser.parse_args()
    seconds = 3.0 if arguments.quick else arguments.seconds
    rounds = arguments.rounds or (1 if arguments.quick else 4)
    if seconds / rounds <= WARM_UP + 1:
        parser.error(f"each round needs more than {WARM_UP + 1:g} s: raise --seconds or lower --rounds")
    verdicts = load_section("async", lambda *a, **k: asyncio.run(async_run(*a, **k)), seconds, 50, rounds)
    verdicts += load_section("sync", sync_run, seconds, 16, rounds)
    if not arguments.skip_redis:
        verdicts += asyncio.run(many_section())
    print("\nTARGETS")
    print("\n".join(verdicts))
    print(f"\n(p50/p99 over the calls after {WARM_UP:.0f} s of warm-up; a report: the exit code is always 0)")


if __name__ == "__main__":
    main()
