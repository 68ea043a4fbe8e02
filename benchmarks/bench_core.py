"""cache-core against the floor and its peers: hit path, miss-and-store path, memory.

Run it with ``hatch run bench:core`` (see benchmarks/README.md). It is a report, not a
test: it always exits 0 and marks each of its targets PASS or FAIL.

Method, the same for every contender:

* one positional ``int`` argument; the hit path cycles over the same 1000 warm keys,
  the miss path calls with keys the cache has never seen (the cache is cleared between
  runs, outside the timed region);
* each contender is warmed up (every key once, then one untimed run);
* ``--repeat`` runs per contender, interleaved round-robin (the order rotates each
  round) so drift hits everyone alike; the table shows the BEST run (minimum ns/call)
  and the median; ratios use the best;
* every timed run starts with ``gc.collect()`` and runs with ``gc`` disabled;
* ``time.perf_counter_ns``; ns/call includes the loop that makes the calls (the floor
  pays it too; the loop alone is printed for reference);
* every hit run is checked to have run the function body zero times, every miss run to
  have run it once per call, so a mis-sized peer cache cannot pass for a hit.

Memory: tracemalloc, N entries stored through each contender's normal call path;
bytes per entry = traced memory retained afterwards / N (the arguments and the values
the function returned are counted for everyone, including the floor, a plain
``{argument: value}`` dict).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import gc
import importlib.metadata
import json
import logging
import math
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _results import Timed
from cache_core import DictCache, SyncDictCache, cached

perf_counter_ns = time.perf_counter_ns

TARGET_HIT = 3.0  # async and sync hit path, x floor
TARGET_MISS = 10.0  # miss and store, x floor
TARGET_MEMORY = 1.5  # bytes per entry, x a plain dict
WARM_KEYS = 1000
BOUND = 4096  # maxsize for the bounded (LRU) variants on the timed paths; > WARM_KEYS

logging.getLogger("aiocache").setLevel(logging.CRITICAL)


# -- what a contender is ---------------------------------------------------------------------


@dataclass
class Contender(Timed):
    name: str
    role: str  # "floor", "ours", "peer", "info" (ours, other configuration: no target)
    fn: Callable[..., Any]
    clear: Callable[[], Any] | None = None  # sync or async; empties the cache


class Body:
    """The decorated functions' body counts its runs, so hits are proven to be hits."""

    calls = 0


def _named(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """Give a function a realistic module and name: keys (ours, aiocache, cashews) embed them."""
    fn.__module__ = "myapp.users"
    fn.__name__ = fn.__qualname__ = name
    return fn


def _value(k: int) -> str:
    return f"item-{k:07d}"


WARM_VALUES = {k: _value(k) for k in range(WARM_KEYS)}


# -- timing loops: one copy each, shared by every contender ----------------------------------


def _time_sync(fn: Callable[[int], Any], keys: list[int], passes: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = perf_counter_ns()
        for _ in range(passes):
            for k in keys:
                fn(k)
        end = perf_counter_ns()
    finally:
        gc.enable()
    return (end - start) / (passes * len(keys))


async def _time_async(fn: Callable[[int], Any], keys: list[int], passes: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = perf_counter_ns()
        for _ in range(passes):
            for k in keys:
                await fn(k)
        end = perf_counter_ns()
    finally:
        gc.enable()
    return (end - start) / (passes * len(keys))


def _time_loop_only(keys: list[int], passes: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = perf_counter_ns()
        for _ in range(passes):
            for _k in keys:
                pass
        end = perf_counter_ns()
    finally:
        gc.enable()
    return (end - start) / (passes * len(keys))


async def _maybe_await(result: Any) -> None:
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        await result


# -- contenders -------------------------------------------------------------------------------


def sync_hit_contenders() -> list[Contender]:
    import cachetools

    table = dict(WARM_VALUES)

    def floor(k: int) -> str:
        return table[k]

    def make() -> Callable[[int], str]:
        def fn(k: int) -> str:
            Body.calls += 1
            return _value(k)

        return _named(fn, "get_user")

    return [
        Contender("floor: dict lookup in a def", "floor", floor),
        Contender("cache_core @cached (default DictCache)", "ours", cached(make())),
        Contender("  info: @cached(cache=SyncDictCache())", "info", cached(cache=SyncDictCache())(make())),
        Contender(
            f"  info: @cached(cache=DictCache(maxsize={BOUND}))", "info", cached(cache=DictCache(maxsize=BOUND))(make())
        ),
        Contender("functools.lru_cache(maxsize=None)", "peer", functools.lru_cache(maxsize=None)(make())),
        Contender(f"functools.lru_cache(maxsize={BOUND})", "peer", functools.lru_cache(maxsize=BOUND)(make())),
        Contender(
            f"cachetools cached(LRUCache({BOUND}))", "peer", cachetools.cached(cachetools.LRUCache(BOUND))(make())
        ),
        Contender(f"cachetools cached(Cache({BOUND}))", "peer", cachetools.cached(cachetools.Cache(BOUND))(make())),
    ]


def async_hit_contenders() -> list[Contender]:
    import aiocache
    import cashews
    from async_lru import alru_cache

    table = dict(WARM_VALUES)

    async def floor(k: int) -> str:
        return table[k]

    def make() -> Callable[[int], Any]:
        async def fn(k: int) -> str:
            Body.calls += 1
            return _value(k)

        return _named(fn, "fetch_user")

    cashews_cache = cashews.Cache()
    cashews_cache.setup(f"mem://?size={BOUND}")
    return [
        Contender("floor: dict lookup in an async def", "floor", floor),
        Contender("cache_core @cached (default DictCache)", "ours", cached(make())),
        Contender(
            f"  info: @cached(cache=DictCache(maxsize={BOUND}))", "info", cached(cache=DictCache(maxsize=BOUND))(make())
        ),
        Contender("async-lru alru_cache(maxsize=None)", "peer", alru_cache(maxsize=None)(make())),
        Contender(f"async-lru alru_cache(maxsize={BOUND})", "peer", alru_cache(maxsize=BOUND)(make())),
        Contender(
            "aiocache cached(SimpleMemoryCache)", "peer", aiocache.cached(cache=aiocache.SimpleMemoryCache)(make())
        ),
        Contender(f"cashews mem://?size={BOUND} (ttl=1h)", "peer", cashews_cache(ttl="1h")(make())),
    ]


def sync_miss_contenders() -> list[Contender]:
    import cachetools

    table: dict[int, int] = {}

    def floor(k: int) -> int:
        value = k + 1
        table[k] = value
        return value

    def make() -> Callable[[int], int]:
        def fn(k: int) -> int:
            Body.calls += 1
            return k + 1

        return _named(fn, "get_score")

    ours = cached(make())
    ours_lru = cached(cache=DictCache(maxsize=BOUND))(make())
    lru_none = functools.lru_cache(maxsize=None)(make())
    lru_bound = functools.lru_cache(maxsize=BOUND)(make())
    ct_lru = cachetools.LRUCache(BOUND)
    ct_plain = cachetools.Cache(1 << 30)
    return [
        Contender("floor: dict store in a def", "floor", floor, table.clear),
        Contender("cache_core @cached (default DictCache)", "ours", ours, ours.cache_clear),
        Contender(f"  info: @cached(cache=DictCache(maxsize={BOUND}))", "info", ours_lru, ours_lru.cache_clear),
        Contender("functools.lru_cache(maxsize=None)", "peer", lru_none, lru_none.cache_clear),
        Contender(f"functools.lru_cache(maxsize={BOUND})", "peer", lru_bound, lru_bound.cache_clear),
        Contender(f"cachetools cached(LRUCache({BOUND}))", "peer", cachetools.cached(ct_lru)(make()), ct_lru.clear),
        Contender("cachetools cached(Cache(2**30))", "peer", cachetools.cached(ct_plain)(make()), ct_plain.clear),
    ]


def async_miss_contenders() -> list[Contender]:
    import aiocache
    import cashews
    from async_lru import alru_cache

    table: dict[int, int] = {}

    async def floor(k: int) -> int:
        value = k + 1
        table[k] = value
        return value

    def make() -> Callable[[int], Any]:
        async def fn(k: int) -> int:
            Body.calls += 1
            return k + 1

        return _named(fn, "fetch_score")

    ours = cached(make())
    ours_lru = cached(cache=DictCache(maxsize=BOUND))(make())
    alru_none = alru_cache(maxsize=None)(make())
    alru_bound = alru_cache(maxsize=BOUND)(make())
    aio = aiocache.cached(cache=aiocache.SimpleMemoryCache)(make())
    cashews_cache = cashews.Cache()
    cashews_cache.setup("mem://?size=1000000")
    return [
        Contender("floor: dict store in an async def", "floor", floor, table.clear),
        Contender("cache_core @cached (default DictCache)", "ours", ours, ours.cache_clear),
        Contender(f"  info: @cached(cache=DictCache(maxsize={BOUND}))", "info", ours_lru, ours_lru.cache_clear),
        Contender("async-lru alru_cache(maxsize=None)", "peer", alru_none, alru_none.cache_clear),
        Contender(f"async-lru alru_cache(maxsize={BOUND})", "peer", alru_bound, alru_bound.cache_clear),
        Contender("aiocache cached(SimpleMemoryCache)", "peer", aio, aio.cache.clear),
        Contender("cashews mem://?size=1e6 (ttl=1h)", "peer", cashews_cache(ttl="1h")(make()), cashews_cache.clear),
    ]


# -- runners ----------------------------------------------------------------------------------


def _rounds(contenders: list[Contender], repeat: int) -> list[list[Contender]]:
    """Round-robin order, rotated every round."""
    n = len(contenders)
    return [[contenders[(i + r) % n] for i in range(n)] for r in range(repeat)]


def run_sync_hit(contenders: list[Contender], repeat: int, passes: int) -> None:
    keys = list(range(WARM_KEYS))
    for c in contenders:
        for k in keys:
            c.fn(k)
        _time_sync(c.fn, keys, 1)
    for round_ in _rounds(contenders, repeat):
        for c in round_:
            before = Body.calls
            c.runs.append(_time_sync(c.fn, keys, passes))
            if Body.calls != before:
                c.problem = f"ran the body {Body.calls - before} times on the hit path"


async def run_async_hit(contenders: list[Contender], repeat: int, passes: int) -> None:
    keys = list(range(WARM_KEYS))
    for c in contenders:
        for k in keys:
            await c.fn(k)
        await _time_async(c.fn, keys, 1)
    for round_ in _rounds(contenders, repeat):
        for c in round_:
            before = Body.calls
            c.runs.append(await _time_async(c.fn, keys, passes))
            if Body.calls != before:
                c.problem = f"ran the body {Body.calls - before} times on the hit path"


def _miss_keys(calls: int) -> list[int]:
    base = 10_000_000  # never a warm key; large ints, allocated like real ids
    return list(range(base, base + calls))


def run_sync_miss(contenders: list[Contender], repeat: int, calls: int) -> None:
    keys = _miss_keys(calls)
    for round_ in [contenders, *_rounds(contenders, repeat)]:  # first round: warm-up, not kept
        warm = round_ is contenders
        for c in round_:
            assert c.clear is not None
            c.clear()
            before = Body.calls
            ns = _time_sync(c.fn, keys, 1)
            if not warm:
                c.runs.append(ns)
            if c.role != "floor" and Body.calls - before != calls:
                c.problem = f"ran the body {Body.calls - before} times for {calls} new keys"
        for c in round_:
            assert c.clear is not None
            c.clear()


async def run_async_miss(contenders: list[Contender], repeat: int, calls: int) -> None:
    keys = _miss_keys(calls)
    for round_ in [contenders, *_rounds(contenders, repeat)]:
        warm = round_ is contenders
        for c in round_:
            assert c.clear is not None
            await _maybe_await(c.clear())
            before = Body.calls
            ns = await _time_async(c.fn, keys, 1)
            if not warm:
                c.runs.append(ns)
            if c.role != "floor" and Body.calls - before != calls:
                c.problem = f"ran the body {Body.calls - before} times for {calls} new keys"
        for c in round_:
            assert c.clear is not None
            await _maybe_await(c.clear())


# -- memory -----------------------------------------------------------------------------------


@dataclass
class MemoryRow:
    name: str
    role: str
    per_entry: dict[str, float] = field(default_factory=dict)  # value kind -> bytes per entry
    problem: str = ""


VALUE_KINDS: dict[str, Callable[[int], Any]] = {
    "str": lambda k: f"user-{k:07d}@example.com",  # a 24-character string
    "dict": lambda k: {"id": k, "name": f"user{k}", "active": True},  # a small dict
}


def _traced(fill: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep = fill()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, keep


Builder = Callable[[Callable[[int], Any], int], "tuple[Callable[[int], Any], Callable[[], Any]]"]


def _ours(make_backend: Callable[[int], Any]) -> Builder:
    def build(body: Callable[[int], Any], n: int) -> tuple[Callable[[int], Any], Callable[[], Any]]:
        backend = make_backend(n)
        return cached(cache=backend)(body), lambda: len(backend)

    return build


def _lru(bounded: bool) -> Builder:
    def build(body: Callable[[int], Any], n: int) -> tuple[Callable[[int], Any], Callable[[], Any]]:
        fn = functools.lru_cache(maxsize=n if bounded else None)(body)
        return fn, lambda: fn.cache_info().currsize

    return build


def _cachetools(kind: str) -> Builder:
    def build(body: Callable[[int], Any], n: int) -> tuple[Callable[[int], Any], Callable[[], Any]]:
        import cachetools

        store = getattr(cachetools, kind)(n)
        return cachetools.cached(store)(body), lambda: len(store)

    return build


def _alru(body: Callable[[int], Any], n: int) -> tuple[Callable[[int], Any], Callable[[], Any]]:
    from async_lru import alru_cache

    fn = alru_cache(maxsize=None)(body)
    return fn, lambda: fn.cache_info().currsize


def _aiocache(body: Callable[[int], Any], n: int) -> tuple[Callable[[int], Any], Callable[[], Any]]:
    import aiocache

    fn = aiocache.cached(cache=aiocache.SimpleMemoryCache)(body)
    return fn, lambda: len(fn.cache._cache)


def _cashews(body: Callable[[int], Any], n: int) -> tuple[Callable[[int], Any], Callable[[], Any]]:
    import cashews

    store = cashews.Cache()
    store.setup(f"mem://?size={n + 1}")
    return store(ttl="1h")(body), store.get_keys_count


SYNC_MEMORY: list[tuple[str, str, Builder]] = [
    ("cache_core @cached (DictCache, as the default)", "ours", _ours(lambda n: DictCache())),
    ("  info: @cached(cache=SyncDictCache())", "info", _ours(lambda n: SyncDictCache())),
    ("  info: @cached(cache=DictCache(maxsize=N))", "info", _ours(lambda n: DictCache(maxsize=n))),
    ("functools.lru_cache(maxsize=None)", "peer", _lru(bounded=False)),
    ("functools.lru_cache(maxsize=N)", "peer", _lru(bounded=True)),
    ("cachetools cached(LRUCache(N))", "peer", _cachetools("LRUCache")),
    ("cachetools cached(Cache(N))", "peer", _cachetools("Cache")),
]
ASYNC_MEMORY: list[tuple[str, str, Builder]] = [
    ("  info: @cached async def (DictCache)", "info", _ours(lambda n: DictCache())),
    ("async-lru alru_cache(maxsize=None)", "peer", _alru),
    ("aiocache cached(SimpleMemoryCache)", "peer", _aiocache),
    ("cashews mem:// (ttl=1h)", "peer", _cashews),
]


def memory_rows(n: int) -> list[MemoryRow]:
    """Store n entries through every contender, once per value kind; bytes per entry."""
    rows: dict[str, MemoryRow] = {}

    def record(name: str, role: str, kind: str, retained: int, count: int) -> None:
        row = rows.setdefault(name, MemoryRow(name, role))
        row.per_entry[kind] = retained / n
        if count != n:
            row.problem = f"held {count} entries, expected {n}"

    for kind, make_value in VALUE_KINDS.items():

        def floor_fill(make_value: Callable[[int], Any] = make_value) -> dict[int, Any]:
            table = {}
            for k in range(n):
                table[k] = make_value(k)
            return table

        retained, table = _traced(floor_fill)
        record("floor: plain dict {argument: value}", "floor", kind, retained, len(table))
        del table

        for name, role, build in SYNC_MEMORY:

            def body(k: int, make_value: Callable[[int], Any] = make_value) -> Any:
                return make_value(k)

            fn, size = build(_named(body, "get_profile"), n)

            def fill(fn: Callable[[int], Any] = fn) -> Any:
                for k in range(n):
                    fn(k)

            retained, _ = _traced(fill)
            record(name, role, kind, retained, size())
            del fn, size

        async def async_rows(kind: str = kind, make_value: Callable[[int], Any] = make_value) -> None:
            for name, role, build in ASYNC_MEMORY:

                async def body(k: int, make_value: Callable[[int], Any] = make_value) -> Any:
                    return make_value(k)

                fn, size = build(_named(body, "fetch_profile"), n)
                gc.collect()
                tracemalloc.start()
                try:
                    before = tracemalloc.get_traced_memory()[0]
                    for k in range(n):
                        await fn(k)
                    gc.collect()
                    after = tracemalloc.get_traced_memory()[0]
                finally:
                    tracemalloc.stop()
                count = size()
                if asyncio.iscoroutine(count):
                    count = await count
                record(name, role, kind, after - before, count)
                del fn, size

        asyncio.run(async_rows())
    return list(rows.values())


# -- printing ---------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@dataclass
class Target:
    what: str
    measured: str
    ok: bool


def print_timed(
    title: str,
    contenders: list[Contender],
    *,
    target: float | None,
    peers_matter: bool,
    targets: list[Target],
    label: str,
) -> None:
    floor = next(c for c in contenders if c.role == "floor")
    ours = next(c for c in contenders if c.role == "ours")
    print(f"\n{title}")
    print(f"  {'contender':<50} {'best ns':>9} {'median':>9} {'x floor':>8}   verdict")
    for c in contenders:
        ratio = c.best / floor.best
        note = ""
        if c.role == "ours" and target is not None:
            note = f"target <= {target:.1f}x: {_verdict(ratio <= target)}"
        elif c.role == "peer" and peers_matter:
            note = f"ours {ours.best / c.best:.2f}x of this: {_verdict(ours.best < c.best)}"
        if c.problem:
            note += f"  !! {c.problem}"
        print(f"  {c.name:<50} {c.best:>9.1f} {c.median:>9.1f} {ratio:>7.2f}x   {note}")
    if target is not None:
        ratio = ours.best / floor.best
        targets.append(
            Target(
                f"{label} <= {target:g}x floor",
                f"{ratio:.2f}x ({ours.best:.0f} ns vs floor {floor.best:.0f} ns)",
                ratio <= target and not ours.problem,
            )
        )
    if peers_matter:
        peers = [c for c in contenders if c.role == "peer"]
        fastest = min(peers, key=lambda c: c.best)
        beaten_by = [c.name.strip() for c in peers if c.best <= ours.best]
        measured = f"ours {ours.best:.0f} ns; fastest peer {fastest.name.strip()} {fastest.best:.0f} ns"
        if beaten_by:
            measured += f"; slower than: {', '.join(beaten_by)}"
        targets.append(Target(f"{label} faster than every peer", measured, not beaten_by))


def print_memory(rows: list[MemoryRow], n: int, targets: list[Target]) -> None:
    floor = next(r for r in rows if r.role == "floor")
    ours = next(r for r in rows if r.role == "ours")
    kinds = list(VALUE_KINDS)
    print(f"\nMEMORY: bytes per cached entry, N = {n:,} entries (tracemalloc; argument, key and value counted for all)")
    print("  values: str = 24-character string; dict = {'id': k, 'name': 'user<k>', 'active': True}")
    head = "".join(f" {kind + ' B/entry':>15} {'x floor':>8}" for kind in kinds)
    print(f"  {'contender':<50}{head}   verdict")
    for r in rows:
        cells = ""
        for kind in kinds:
            cells += f" {r.per_entry[kind]:>15.1f} {r.per_entry[kind] / floor.per_entry[kind]:>7.2f}x"
        note = ""
        if r.role == "ours":
            worst = max(r.per_entry[k] / floor.per_entry[k] for k in kinds)
            note = f"target <= {TARGET_MEMORY}x: {_verdict(worst <= TARGET_MEMORY)}"
        if r.problem:
            note += f"  !! {r.problem}"
        print(f"  {r.name:<50}{cells}   {note}")
    for kind in kinds:
        ratio = ours.per_entry[kind] / floor.per_entry[kind]
        targets.append(
            Target(
                f"memory, {kind} values <= {TARGET_MEMORY}x dict",
                f"{ratio:.2f}x ({ours.per_entry[kind]:.0f} B vs {floor.per_entry[kind]:.0f} B per entry)",
                ratio <= TARGET_MEMORY and not ours.problem,
            )
        )


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def print_header(args: argparse.Namespace) -> None:
    print("cache-core benchmark (benchmarks/bench_core.py)")
    print(f"  Python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}")
    print(f"  {sys.version}")
    dists = ["cache-core", "cachetools", "async-lru", "aiocache", "cashews"]
    print("  " + ", ".join(f"{d} {_version(d)}" for d in dists))
    print(
        f"  timing: best (minimum) of {args.repeat} interleaved runs per contender (median shown too); "
        f"hit runs = {args.passes} passes over {WARM_KEYS} warm keys; miss runs = {args.miss_calls:,} new keys; "
        "gc.collect() before and gc disabled during every run; time.perf_counter_ns"
    )
    print(
        f"  targets: async hit <= {TARGET_HIT:g}x floor, sync hit <= {TARGET_HIT:g}x floor, "
        f"miss+store <= {TARGET_MISS:g}x floor, memory <= {TARGET_MEMORY:g}x plain dict, "
        "faster than every peer on each hit path"
    )


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25, help="timed runs per contender (best and median reported)")
    parser.add_argument("--passes", type=int, default=2, help="passes over the 1000 warm keys per hit run")
    parser.add_argument("--miss-calls", type=int, default=2_000, help="new keys per miss run")
    parser.add_argument("--memory-n", type=int, default=100_000, help="entries for the memory measurement")
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and entries (a smoke run; numbers are noisier)"
    )
    parser.add_argument("--skip-memory", action="store_true", help="leave out the memory measurement")
    parser.add_argument("--json", metavar="PATH", help="also write every result to PATH as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.passes, args.miss_calls, args.memory_n = 5, 1, 1_000, 20_000

    print_header(args)
    targets: list[Target] = []
    started = time.perf_counter()

    loop_ns = min(_time_loop_only(list(range(WARM_KEYS)), args.passes) for _ in range(args.repeat))
    print(f"  loop overhead alone: {loop_ns:.1f} ns per iteration (included in every row)")

    per_call = "ns per call, 1 int argument"
    async_hit = async_hit_contenders()
    asyncio.run(run_async_hit(async_hit, args.repeat, args.passes))
    title = f"ASYNC HIT PATH: {per_call} cycling over {WARM_KEYS} warm keys"
    print_timed(title, async_hit, target=TARGET_HIT, peers_matter=True, targets=targets, label="async hit")

    sync_hit = sync_hit_contenders()
    run_sync_hit(sync_hit, args.repeat, args.passes)
    title = f"SYNC HIT PATH: {per_call} cycling over {WARM_KEYS} warm keys"
    print_timed(title, sync_hit, target=TARGET_HIT, peers_matter=True, targets=targets, label="sync hit")

    async_miss = async_miss_contenders()
    asyncio.run(run_async_miss(async_miss, args.repeat, args.miss_calls))
    title = f"ASYNC MISS + STORE: {per_call}, {args.miss_calls:,} new keys per run (body: return k + 1)"
    print_timed(title, async_miss, target=TARGET_MISS, peers_matter=False, targets=targets, label="async miss+store")

    sync_miss = sync_miss_contenders()
    run_sync_miss(sync_miss, args.repeat, args.miss_calls)
    title = f"SYNC MISS + STORE: {per_call}, {args.miss_calls:,} new keys per run (body: return k + 1)"
    print_timed(title, sync_miss, target=TARGET_MISS, peers_matter=False, targets=targets, label="sync miss+store")

    memory = [] if args.skip_memory else memory_rows(args.memory_n)
    if memory:
        print_memory(memory, args.memory_n, targets)

    print(f"\nTARGETS (Python {platform.python_version()})")
    for t in targets:
        print(f"  {_verdict(t.ok)}  {t.what:<42} {t.measured}")
    failed = sum(not t.ok for t in targets)
    print(f"  {len(targets) - failed} of {len(targets)} targets met")

    print(f"\n(total {time.perf_counter() - started:.0f} s; a report: the exit code is 0 whatever the verdicts)")
    if args.json:
        sections = {"async_hit": async_hit, "sync_hit": sync_hit, "async_miss": async_miss, "sync_miss": sync_miss}
        write_json(args, loop_ns, sections, memory, targets)
    return 0


def write_json(
    args: argparse.Namespace,
    loop_ns: float,
    sections: dict[str, list[Contender]],
    memory: list[MemoryRow],
    targets: list[Target],
) -> None:
    def num(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 2)

    def timed(contenders: list[Contender]) -> list[dict[str, Any]]:
        floor = next(c for c in contenders if c.role == "floor").best
        return [
            {
                "name": c.name.strip(),
                "role": c.role,
                "best_ns": num(c.best),
                "median_ns": num(c.median),
                "x_floor": num(c.best / floor),
                "problem": c.problem,
            }
            for c in contenders
        ]

    results = {
        "meta": {
            "benchmark": "bench_core",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "versions": {d: _version(d) for d in ("cache-core", "cachetools", "async-lru", "aiocache", "cashews")},
            "repeat": args.repeat,
            "passes": args.passes,
            "miss_calls": args.miss_calls,
            "memory_n": args.memory_n,
            "quick": args.quick,
            "loop_ns": num(loop_ns),
        },
        "timed": {name: timed(group) for name, group in sections.items()},
        "memory": [
            {"name": r.name.strip(), "role": r.role, "bytes_per_entry": r.per_entry, "problem": r.problem}
            for r in memory
        ],
        "targets": [{"what": t.what, "measured": t.measured, "ok": t.ok} for t in targets],
    }
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump(results, out, indent=2)
    print(f"results written to {args.json}")


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report never fails the caller, but says what broke
        import traceback

        traceback.print_exc()
    sys.exit(0)
