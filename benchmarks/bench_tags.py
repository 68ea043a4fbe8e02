"""Tag invalidation on Redis: what ``invalidate_tags`` costs as the tagged entries grow, and what tags cost a hit.

Run it with ``hatch run bench:tags`` (``--quick`` for 10,000 entries instead of 100,000).
A report, not a test: it always exits 0 and marks each target PASS or FAIL. It starts a
``redis-server`` and a 3-node Redis Cluster (or uses ``REDIS_URL`` / ``REDIS_CLUSTER_URL``).

1. For 10, 1,000 and 100,000 entries carrying one tag (on one server, then on the
   cluster): the entries are written as the decorator writes them (tag envelopes
   recording the tag's current version), in pipelines of 1,000, to skip the four round
   trips of each miss; a sample of them is read through the decorated function (hits:
   the function does not run). Then ``invalidate_tags`` of that tag is timed ``--repeat``
   times (median, p99, max; the first call separately); afterwards the sample is read
   again (misses: the function runs for each) and the number of keys is compared with
   before (two more: the tag's version and the epoch; no entry deleted). Targets: the
   median for 100,000 entries under 5 ms on one server, and within 3x of the median for
   10 entries (the same order).
2. A hit through the decorator on one server, untagged, with template tags (the entry
   and its tags' versions read in one pipeline), with tags from the value (the entry,
   then its tags' versions) and with template tags over a near cache (entry and versions
   in process memory, kept coherent by Redis): median microseconds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from contextlib import ExitStack
from typing import Any

from cache_core import cached
from cache_core._tags import tagged
from cache_redis import RedisCache
from cache_testing.servers import redis_cluster_url, redis_url

TAG = "bench:big"
NAMESPACE = "bench-tags"
BATCH = 1_000
SAMPLE = 100


def verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}  {text}"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def key_count(backend: RedisCache, *, cluster: bool) -> int:
    client: Any = backend._links.get().client
    if not cluster:
        return int(await client.dbsize())
    sizes = await client.dbsize(target_nodes=client.PRIMARIES)
    return int(sum(sizes.values()) if isinstance(sizes, dict) else sizes)


async def invalidation_run(backend: RedisCache, entries: int, repeat: int, *, cluster: bool) -> dict[str, Any]:
    """Store ``entries`` entries under ``TAG``, time ``invalidate_tags(TAG)``, check a sample before and after."""
    await backend.clear()
    runs: list[int] = []

    @cached(cache=backend, namespace=NAMESPACE, ttl=3600, tags=[TAG], key_maker=lambda fn, args, kwargs: f"e{args[0]}")
    async def item(n: int) -> int:
        runs.append(n)
        return n

    version = (await backend._tag_versions([TAG]))[TAG]
    for start in range(0, entries, BATCH):
        items = [(f"e{n}", tagged(n, {TAG: version})) for n in range(start, min(entries, start + BATCH))]
        await backend.put_many(items, 3600, namespace=NAMESPACE)
    sample = list(range(0, entries, max(1, entries // SAMPLE)))[:SAMPLE]
    for n in sample:
        assert await item(n) == n
    hits_before = len(sample) - len(runs)
    keys_before = await key_count(backend, cluster=cluster)
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        await backend.invalidate_tags(TAG)
        timings.append((time.perf_counter() - began) * 1e3)
    keys_after = await key_count(backend, cluster=cluster)
    runs.clear()
    for n in sample:
        assert await item(n) == n
    return {
        "entries": entries,
        "first": timings[0],
        "median": statistics.median(timings),
        "p99": _p(timings, 0.99),
        "max": max(timings),
        "hits_before": hits_before,
        "misses_after": len(runs),
        "sample": len(sample),
        "keys": (keys_before, keys_after),
    }


async def invalidation_section(url: str, label: str, sizes: list[int], repeat: int, *, cluster: bool) -> list[str]:
    backend = RedisCache(url, cluster=cluster)
    results = []
    try:
        for entries in sizes:
            results.append(await invalidation_run(backend, entries, repeat, cluster=cluster))
        await backend.clear()
    finally:
        await backend.close()
    print(f"\ninvalidate_tags of one tag on {label} ({repeat} calls each; milliseconds)")
    header = f"{'entries':>8} {'first':>7} {'median':>7} {'p99':>7} {'max':>7}"
    print(f"  {header}   sample hits before / misses after   keys")
    for r in results:
        print(
            f"  {r['entries']:>8,} {r['first']:>7.3f} {r['median']:>7.3f} {r['p99']:>7.3f} {r['max']:>7.3f}"
            f"   {r['hits_before']:>3}/{r['sample']} hits, {r['misses_after']:>3}/{r['sample']} misses"
            f"      {r['keys'][0]:,} -> {r['keys'][1]:,}"
        )
    small, large = results[0], results[-1]
    ratio = large["median"] / small["median"]
    lines = [
        verdict(
            all(r["hits_before"] == r["misses_after"] == r["sample"] for r in results),
            f"{label}: every sampled entry a hit before the invalidation and a miss after it",
        ),
        verdict(
            all(r["keys"][1] - r["keys"][0] == 2 for r in results),
            f"{label}: no entry deleted: {repeat} invalidations added 2 keys (the tag's version and the epoch)",
        ),
        verdict(
            ratio <= 3,
            f"{label}: {large['entries']:,} entries {large['median']:.3f} ms vs {small['entries']:,} entries "
            f"{small['median']:.3f} ms (median): {ratio:.2f}x, target the same order (<= 3x)",
        ),
    ]
    if not cluster:
        text = f"{label}: {large['entries']:,} entries in {large['median']:.3f} ms, target < 5 ms"
        lines.append(verdict(large["median"] < 5, text))
    return lines


async def hit_section(url: str, calls: int) -> list[str]:
    backend = RedisCache(url)
    await backend.clear()

    def make(**options: Any) -> Any:
        @cached(cache=backend, namespace=NAMESPACE, ttl=3600, **options)
        async def item(n: int) -> int:
            return n

        return item

    shapes = {
        "untagged": make(),
        "template tags": make(tags=["item:{n}", "items"]),
        "tags from the value": make(tags=lambda fn, args, kwargs, value: [f"item:{value}", "items"]),
    }
    near = RedisCache(url, near_cache=1_000)

    @cached(cache=near, namespace=NAMESPACE, ttl=3600, tags=["item:{n}", "items"])
    async def near_item(n: int) -> int:
        return n

    shapes["template tags, near cache"] = near_item
    medians = {}
    for name, function in shapes.items():
        await function(1)
        timings = []
        for _ in range(calls):
            began = time.perf_counter()
            await function(1)
            timings.append((time.perf_counter() - began) * 1e6)
        medians[name] = statistics.median(timings)
    await backend.clear()
    await backend.close()
    await near.close()
    print(f"\na hit through the decorator on one Redis server ({calls} calls each; median microseconds)")
    for name, median in medians.items():
        print(f"  {name:<26} {median:8.1f} us  ({median / medians['untagged']:.2f}x untagged)")
    return []


async def main_async(arguments: argparse.Namespace) -> None:
    sizes = [10, 1_000, 10_000 if arguments.quick else 100_000]
    repeat = 50 if arguments.quick else arguments.repeat
    lines: list[str] = []
    with ExitStack() as stack:
        url = stack.enter_context(redis_url())
        lines += await invalidation_section(url, "one Redis server", sizes, repeat, cluster=False)
        lines += await hit_section(url, 500 if arguments.quick else 2_000)
        if not arguments.skip_cluster:
            cluster = stack.enter_context(redis_cluster_url())
            lines += await invalidation_section(cluster, "a 3-node Redis Cluster", sizes, repeat, cluster=True)
    print("\ntargets")
    for line in lines:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 entries at most, 50 invalidations each")
    parser.add_argument("--repeat", type=int, default=200, help="invalidations timed per size (200)")
    parser.add_argument("--skip-cluster", action="store_true", help="leave out the Redis Cluster runs")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
