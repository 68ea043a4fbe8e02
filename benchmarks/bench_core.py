"""cache-core against the floor and its peers: hit path, miss-and-store path, memory.

Run it with ``hatch run bench:core`` (see benchmarks/README.md). It is a report, not a
test: it always exits 0 and marks each target of issue 2 PASS or FAIL.

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

``--profile`` adds a breakdown of our hit path into its pieces (key making, lookup,
wrapper) and times lean prototypes of the wrapper, to show where the nanoseconds go.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import importlib.metadata
import logging
import math
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cache_core
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
class Contender:
    name: str
    role: str  # "floor", "ours", "peer", "info" (ours, other configuration: no target)
    fn: Callable[..., Any]
    clear: Callable[[], Any] | None = None  # sync or async; empties the cache
    runs: list[float] = field(default_factory=list)  # ns per call, one per timed run
    problem: str = ""

    @property
    def best(self) -> float:
        return min(self.runs) if self.runs else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")


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
        f"  targets (issue 2): async hit <= {TARGET_HIT:g}x floor, sync hit <= {TARGET_HIT:g}x floor, "
        f"miss+store <= {TARGET_MISS:g}x floor, memory <= {TARGET_MEMORY:g}x plain dict, "
        "faster than every peer on each hit path"
    )


# -- profile: where our time goes -------------------------------------------------------------
#
# Pieces are timed with timeit (gc off, time.perf_counter_ns) over the same 1000 keys; "net"
# subtracts the bare loop. The prototypes are NOT cache_core code: they are sketches of
# changes to _decorator.py / _memory.py, written against today's internals, to show what
# each change would buy. They keep the current semantics for the shapes they speed up and
# fall back to the current code for everything else. If the internals they lean on have
# changed, the prototype is reported as skipped.


class _AsyncFlight:
    """Prototype: an async single-flight marker whose Future is made only when a second task waits."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: Any = None


def profile(repeat: int, passes: int, miss_calls: int) -> None:  # noqa: PLR0915 - a report, read top to bottom
    import cProfile
    import io
    import itertools
    import pstats
    import threading
    import timeit

    from cache_core import ReprKeyMaker
    from cache_core._decorator import outages
    from cache_core._policy import MISSING

    keys = list(range(WARM_KEYS))
    args_list = [(k,) for k in keys]
    empty: dict[str, Any] = {}
    table = dict(WARM_VALUES)
    exact = frozenset((int, str))  # builtins whose repr never holds an address
    counter = itertools.count()

    skipped: list[str] = []

    def tolerant(measure: Callable[..., float]) -> Callable[..., float]:
        """A piece whose internals moved is reported as skipped, not a crash."""

        @functools.wraps(measure)
        def run(*args: Any, **kwargs: Any) -> float:
            try:
                return measure(*args, **kwargs)
            except Exception as exc:
                skipped.append(f"{measure.__name__}({args[0] if args else ''!r}): {exc!r}")
                return math.nan

        return run

    @tolerant
    def per_call(stmt: str, items: list[Any], **names: Any) -> float:
        timer = timeit.Timer(f"for x in items:\n    {stmt}", timer=perf_counter_ns, globals={"items": items, **names})
        timer.timeit(1)
        return min(timer.repeat(repeat, passes)) / (passes * len(items))

    class _Counts:  # a hit counter as cache_info needs one: an attribute on a slotted object
        __slots__ = ("hits",)

        def __init__(self) -> None:
            self.hits = 0

    counts = _Counts()

    def reader_of(state: Any) -> Callable[[str], Any]:
        read = getattr(state, "read", None)  # today: a per-namespace closure
        if read is not None:
            return read  # type: ignore[no-any-return]
        return functools.partial(state.lookup, state.namespace, serializer=None)  # before 224d4b1

    def user_fn(k: int) -> str:
        return _value(k)

    ours = cached(_named(user_fn, "lookup_user"))
    for k in keys:
        ours(k)
    state = ours._cache_state  # type: ignore[attr-defined]
    storage: SyncDictCache = state.backend.nonblocking
    make_key, namespace, read = state.key, state.namespace, reader_of(state)
    memo = getattr(make_key, "memo", None)
    key_strings = [make_key(a, empty) for a in args_list]  # the stored key objects: hash cached
    prefix = key_strings[0][: -len(repr((0,)))]
    reprs = [repr(a) for a in args_list]
    cold_key = ReprKeyMaker(**({"memo_size": 0} if memo is not None else {})).for_function(user_fn)
    assert cold_key((5,), {}) == make_key((5,), {})

    def floor(k: int) -> str:
        return table[k]

    def star(*args: Any, **kwargs: Any) -> Any:
        return table[args[0]]

    # Prototype D: the memo consulted with no type guard on its hits, then the in-memory
    # read inlined (the namespace's value dict and expiry dict held after bind when the
    # backend is a plain SyncDictCache: no maxsize, no serializer, no breaker); a hit is
    # then one dict read, and only a namespace holding TTL entries goes through the
    # reader. Since a6f6801..cdbbe9a the wrapper does the inlining itself and also guards
    # memo hits by exact argument type (so 1, 1.0 and True never share a key): compare
    # OURS with D to see what that guard costs.
    class _Bound:  # what _State would hold after bind(): rebinding replaces these
        __slots__ = ("expiry", "space")

    bound = _Bound()
    try:
        bound.space = storage._values[namespace]
        bound.expiry = storage._expiry.get(namespace)
        plain = storage._order is None and storage.breaker is None and bound.expiry is not None
        proto_error = "" if plain else "backend is not plain"
    except (AttributeError, KeyError) as exc:
        bound.space, bound.expiry, proto_error = {}, {}, f"internals changed: {exc!r}"
    remembered = memo.get if isinstance(memo, dict) else (lambda args: None)

    def proto_d(*args: Any, **kwargs: Any) -> Any:
        try:
            key = None if kwargs else remembered(args)
        except TypeError:
            key = None
        if key is None:
            key = make_key(args, kwargs)
        # TTL entries in this namespace: the reader checks expiry; else one dict read
        value = read(key) if bound.expiry else bound.space.get(key, MISSING)
        if value is not MISSING:
            counts.hits += 1
            return value
        return state.miss(key, args, kwargs)

    # Prototype B (a lower bound, not a proposal): values in a dict keyed by the args tuple.
    by_args: dict[tuple[Any, ...], Any] = {(k,): WARM_VALUES[k] for k in keys}

    def proto_b(*args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            value = by_args.get(args, MISSING)
            if value is not MISSING:
                counts.hits += 1
                return value
        return ours(*args, **kwargs)

    hit_rows: list[tuple[str, float]] = [
        ("for x in keys: pass  (the 'net' column subtracts this)", per_call("pass", keys)),
        ("floor call: def f(k): return d[k]", per_call("f(x)", keys, f=floor)),
        ("call def f(*args, **kwargs): return d[args[0]]", per_call("f(x)", keys, f=star)),
        ("memo.get(args)  (args -> key, the wrapper's first step)", per_call("g(x)", args_list, g=remembered)),
        ("read(key)  (the backend's hit function), key hash cached", per_call("r(x)", key_strings, r=read)),
        (
            "space.get(key, MISSING)  (the dict read alone)",
            per_call("g(x, M)", key_strings, g=storage._values[namespace].get, M=MISSING),
        ),
        ("counting the hit: obj.hits += 1 (slotted attribute)", per_call("s.hits += 1", keys, s=counts)),
        ("OURS: @cached sync hit, whole", per_call("f(x)", keys, f=ours)),
    ]
    if proto_error:
        hit_rows.append((f"prototype D skipped: {proto_error}", float("nan")))
    else:
        for k in keys:
            assert proto_d(k) == ours(k), k
        hit_rows.append(
            ("prototype D: memo hits unguarded + in-memory dict read inlined", per_call("f(x)", keys, f=proto_d))
        )
    hit_rows += [
        ("prototype B: values keyed by the args tuple (lower bound)", per_call("f(x)", keys, f=proto_b)),
        ("-- a key cold (memo miss, or memo off):", float("nan")),
        ("repr(args)  (args = (k,))", per_call("r(x)", args_list, r=repr)),
        ("prefix + text", per_call("p + x", reprs, p=prefix)),
        ("key function without memo (ReprKeyMaker(memo_size=0))", per_call("k(x, e)", args_list, k=cold_key, e=empty)),
        ("read(prefix + text)  (fresh key string: its hash computed)", per_call("r(p + x)", reprs, r=read, p=prefix)),
    ]

    # Async hit.
    async def afloor(k: int) -> str:
        return table[k]

    async def auser_fn(k: int) -> str:
        return _value(k)

    aours = cached(_named(auser_fn, "alookup_user"))
    astate = aours._cache_state  # type: ignore[attr-defined]
    amake_key = astate.key
    amemo = getattr(amake_key, "memo", None)
    aremembered = amemo.get if isinstance(amemo, dict) else (lambda args: None)
    aread = reader_of(astate)

    async def aproto_d(*args: Any, **kwargs: Any) -> Any:
        try:
            key = None if kwargs else aremembered(args)
        except TypeError:
            key = None
        if key is None:
            key = amake_key(args, kwargs)
        value = aread(key) if bound.expiry else bound.space.get(key, MISSING)
        if value is not MISSING:
            counts.hits += 1
            return value
        return await astate.amiss(key, args, kwargs)

    async def async_hit_rows() -> list[tuple[str, float]]:
        out = []
        cases: list[tuple[str, Callable[[int], Any]]] = [
            ("async floor: async def f(k): return d[k]", afloor),
            ("OURS: @cached async hit, whole", aours),
        ]
        if not proto_error:
            cases.append(("async prototype D: memo hits unguarded + dict read inlined", aproto_d))
        for name, fn in cases:
            try:
                for k in keys:
                    await fn(k)
                await _time_async(fn, keys, passes)
                out.append((name, min([await _time_async(fn, keys, passes) for _ in range(repeat)])))
            except Exception as exc:
                skipped.append(f"{name}: {exc!r}")
                out.append((name, math.nan))
        return out

    async_rows = asyncio.run(async_hit_rows())

    # Sync miss: pieces over fresh keys, then the whole call and a prototype.
    def sweep() -> None:
        storage._clear(None)

    @tolerant
    def fresh_run(stmt: str, before: Callable[[], Any] | None = None, **names: Any) -> float:
        runs = []
        for _ in range(repeat + 1):
            if before is not None:
                before()
            base = next(counter) * 10 * miss_calls + 50_000_000
            items = [f"{prefix}({k},)" for k in range(base, base + miss_calls)]
            timer = timeit.Timer(
                f"for x in items:\n    {stmt}", timer=perf_counter_ns, globals={"items": items, **names}
            )
            runs.append(timer.timeit(1) / miss_calls)
        return min(runs[1:])

    @tolerant
    def whole(fn: Callable[[int], Any]) -> float:
        runs = []
        for _ in range(repeat + 1):
            sweep()
            flat.clear()
            base = next(counter) * 10 * miss_calls + 50_000_000
            timer = timeit.Timer(
                "for x in ints: f(x)",
                timer=perf_counter_ns,
                globals={"ints": list(range(base, base + miss_calls)), "f": fn},
            )
            runs.append(timer.timeit(1) / miss_calls)
        return min(runs[1:])

    flat: dict[Any, Any] = {}

    def floor_store(k: int) -> int:
        value = k + 1
        flat[k] = value
        return value

    lock, rlock, event = threading.Lock(), threading.RLock(), threading.Event()

    def miss_fn(k: int) -> int:
        return k + 1

    miss_ours = cached(_named(miss_fn, "score"))
    mstate = miss_ours._cache_state  # type: ignore[attr-defined]
    mmake_key, mread = mstate.key, reader_of(mstate)
    mmemo = getattr(mmake_key, "memo", None)
    mremembered = mmemo.get if isinstance(mmemo, dict) else (lambda args: None)
    flight_class = getattr(sys.modules["cache_core._decorator"], "_Flight", None)

    # Prototype M: a leaner sync miss. The leader registers its thread id as the flight marker
    # with dict.setdefault (atomic: no lock, no object, no threading.Event); a follower (rare)
    # would take flights_lock, find the marker and park an Event in `waiters`; the leader
    # retires under flights_lock and wakes a parked Event if there is one. The plain
    # in-memory store is fused: no TTL and no TTL entries in the namespace, no maxsize, no
    # serializer, no breaker -> one dict assignment (atomic), else today's store.
    class _Down:
        __slots__ = ("flag",)

    down = _Down()
    down.flag = bool(outages._down)
    flights: dict[str, Any] = {}
    waiters: dict[str, Any] = {}
    flights_lock = threading.Lock()
    get_ident = threading.get_ident

    def proto_miss(key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        mstate.misses += 1
        me = get_ident()
        if flights.setdefault(key, me) is not me:
            return mstate.miss(key, args, kwargs)  # a follower (or recursion): today's code path
        try:
            value = miss_fn(*args, **kwargs)
            seconds = mstate.ttl(miss_fn, args, kwargs, value)
            if (
                seconds is None
                and not bound.expiry
                and storage._order is None
                and storage.breaker is None
                and not storage._closed
            ):
                bound.space[key] = value
            else:
                mstate.store(mstate.namespace, key, value, seconds, mstate.serializer)
            if down.flag:  # a plain flag the outage logger would keep (not a WeakKeyDictionary len)
                outages.succeeded(mstate.backend)
            return value
        finally:
            with flights_lock:
                del flights[key]
                parked = waiters.pop(key, None) if waiters else None
            if parked is not None:
                parked.set()  # (a real one would hand over the value or the error too)

    # ... and a specialised cold key: one argument of exact type int or str (whose repr never
    # holds an address) -> f"{prefix}({arg!r},)", the same text as prefix + repr((arg,)),
    # without the tuple repr; remembered in the memo as today.
    mprefix_open = mmake_key((0,), {})[: -len("0,)")]
    mlimit = getattr(mmake_key, "memo", None) is not None and 4096
    assert f"{mprefix_open}{'a b'!r},)" == mmake_key(("a b",), {})

    def proto_miss_wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            key = None if kwargs else mremembered(args)
        except TypeError:
            key = None
        if key is None:
            if not kwargs and len(args) == 1 and type(args[0]) in exact:
                key = f"{mprefix_open}{args[0]!r},)"
                if mlimit and mmemo is not None:
                    if len(mmemo) >= mlimit:
                        mmemo.clear()
                    mmemo[args] = key
            else:
                key = mmake_key(args, kwargs)
        value = mread(key) if bound.expiry else bound.space.get(key, MISSING)
        if value is not MISSING:
            counts.hits += 1
            return value
        return proto_miss(key, args, kwargs)

    miss_rows: list[tuple[str, float]] = [
        ("for x in items: pass  (the 'net' column subtracts this)", fresh_run("pass")),
        ("floor: def f(k): v = k + 1; d[k] = v; return v  (as in the table)", whole(floor_store)),
        ("OURS: @cached sync miss + store, whole (int argument)", whole(miss_ours)),
        ("key function, cold  (repr + concat + memo insert)", whole(lambda k: mmake_key((k,), empty))),
        ("  the lambda and (k,) it is called with, alone", whole(lambda k: (k,))),
        ("  specialised: f'{prefix}({arg!r},)' for one exact int/str", whole(lambda k: f"{mprefix_open}{k!r},)")),
        ("read(key) that misses", fresh_run("r(x)", r=mread, before=sweep)),
    ]
    if flight_class is not None:
        miss_rows.append(("_Flight()  (one per miss: makes a threading.Event)", fresh_run("F()", F=flight_class)))
    miss_rows += [
        ("threading.Event()", fresh_run("E()", E=threading.Event)),
        ("event.set()  (one per miss)", fresh_run("e.set()", e=event)),
        ("with threading.Lock(): pass  (flights_lock: twice per miss)", fresh_run("with l: pass", l=lock)),
        ("with threading.RLock(): pass  (storage._write_lock)", fresh_run("with l: pass", l=rlock)),
        ("state.ttl(fn, args, kwargs, value)", fresh_run("t(f, (1,), e, 2)", t=mstate.ttl, f=miss_fn, e=empty)),
        (
            "state.store(ns, key, value, None, None)  (Backend._store)",
            fresh_run("s(n, x, 1, None, None)", s=mstate.store, n=namespace, before=sweep),
        ),
        (
            "  of which storage._put(ns, key, value, None, None)",
            fresh_run("p(n, x, 1, None, None)", p=storage._put, n=namespace, before=sweep),
        ),
        ("outages.succeeded(backend)", fresh_run("o(b)", o=outages.succeeded, b=storage)),
        ("prototype M: marker flight, one lock, fused store, inlined read, 1-arg key", whole(proto_miss_wrapper)),
    ]
    for k in range(10):
        assert proto_miss_wrapper(10**9 + k) == miss_ours(10**9 + k) == 10**9 + k + 1

    # Async miss.
    async def amiss_fn(k: int) -> int:
        return k + 1

    amiss_ours = cached(_named(amiss_fn, "ascore"))
    amstate = amiss_ours._cache_state  # type: ignore[attr-defined]
    ammake_key, amread = amstate.key, reader_of(amstate)
    ammemo = getattr(ammake_key, "memo", None)
    amremembered = ammemo.get if isinstance(ammemo, dict) else (lambda args: None)
    aflights: dict[str, Any] = {}

    # Prototype AM: the async miss with a lazy future (made by the first task that waits),
    # the produce/keep layers folded in, and the fused plain store.
    async def aproto_miss(key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if key in aflights:
            return await amstate.amiss(key, args, kwargs)  # a follower: today's code path
        amstate.misses += 1
        flight = aflights[key] = _AsyncFlight()
        try:
            value = await amiss_fn(*args, **kwargs)
            seconds = amstate.ttl(amiss_fn, args, kwargs, value)
            if (
                seconds is None
                and not bound.expiry
                and storage._order is None
                and storage.breaker is None
                and not storage._closed
            ):
                bound.space[key] = value
            else:
                amstate.store(amstate.namespace, key, value, seconds, amstate.serializer)
            if down.flag:  # a plain flag the outage logger would keep (not a WeakKeyDictionary len)
                outages.succeeded(amstate.backend)
            if flight.future is not None:
                flight.future.set_result(value)
            return value
        finally:
            del aflights[key]

    async def aproto_miss_wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            key = None if kwargs else amremembered(args)
        except TypeError:
            key = None
        if key is None:
            key = ammake_key(args, kwargs)
        value = amread(key) if bound.expiry else bound.space.get(key, MISSING)
        if value is not MISSING:
            counts.hits += 1
            return value
        return await aproto_miss(key, args, kwargs)

    async def async_miss_rows() -> list[tuple[str, float]]:
        loop_ = asyncio.get_running_loop()

        async def time_fresh(fn: Callable[[int], Any]) -> float:
            runs = []
            try:
                for _ in range(repeat + 1):
                    sweep()
                    flat.clear()
                    base = next(counter) * 10 * miss_calls + 50_000_000
                    runs.append(await _time_async(fn, list(range(base, base + miss_calls)), 1))
            except Exception as exc:
                skipped.append(f"time_fresh({getattr(fn, '__name__', fn)}): {exc!r}")
                return math.nan
            return min(runs[1:])

        async def floor_store(k: int) -> int:
            value = k + 1
            flat[k] = value  # type: ignore[index]
            return value

        async def noop() -> None:
            return None

        async def nested(k: int) -> int:
            await noop()
            return k

        out = [
            ("async floor: dict store in an async def", await time_fresh(floor_store)),
            ("an extra awaited coroutine layer (async def awaiting one more)", await time_fresh(nested)),
            ("asyncio.get_running_loop()", per_call("g()", keys, g=asyncio.get_running_loop)),
            ("loop.create_future()", per_call("c()", keys, c=loop_.create_future)),
            ("loop.create_future().set_result(v)", per_call("c().set_result(1)", keys, c=loop_.create_future)),
            ("OURS: @cached async miss + store, whole", await time_fresh(amiss_ours)),
            (
                "async prototype AM: lazy future, layers folded, fused plain store",
                await time_fresh(aproto_miss_wrapper),
            ),
        ]
        for k in range(10):
            assert await aproto_miss_wrapper(2 * 10**9 + k) == await amiss_ours(2 * 10**9 + k) == 2 * 10**9 + k + 1
        return out

    amiss_rows = asyncio.run(async_miss_rows())

    def show(title: str, rows: list[tuple[str, float]], base: float, floor_prefix: str) -> None:
        floor_ns = next(ns for name, ns in rows if name.startswith(floor_prefix))
        print(f"\n  {title}")
        print(f"    {'piece':<72} {'ns':>8} {'net':>8} {'x floor':>8}")
        for name, ns in rows:
            if math.isnan(ns):  # a heading or a skipped row
                print(f"    {name}" if name.startswith("--") else f"    {name:<72} {'skipped':>8}")
                continue
            print(f"    {name:<72} {ns:>8.1f} {ns - base:>8.1f} {ns / floor_ns:>7.2f}x")

    print(f"\nPROFILE (--profile): where our time goes; ns per call, best of {repeat}; net = minus the bare loop")
    show("sync hit path", hit_rows, hit_rows[0][1], "floor call")
    show("async hit path (loop included, as in the main table)", async_rows, 0.0, "async floor")
    show("sync miss + store", miss_rows, miss_rows[0][1], "floor:")
    show("async miss + store (loop included)", amiss_rows, 0.0, "async floor")
    for reason in skipped:
        print(f"    skipped: {reason}")

    source_root = str(__import__("pathlib").Path(cache_core.__file__).parent) + "/"

    def cprofile(title: str, run: Callable[[], Any]) -> None:
        profiler = cProfile.Profile()
        profiler.enable()
        run()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(f"\n  cProfile, {title} (tottime order; cProfile inflates small calls: read the shares and call counts)")
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        for line in lines[start:]:
            if line.strip():
                print("    " + line.replace(source_root, ""))

    for k in keys:  # the miss timings above swept the backend
        ours(k)

    def hits() -> None:
        for _ in range(20):
            for k in keys:
                ours(k)

    def misses() -> None:
        sweep()
        for k in range(70_000_000, 70_020_000):
            miss_ours(k)

    async def amisses() -> None:
        for k in range(80_000_000, 80_020_000):
            await amiss_ours(k)

    cprofile("20,000 sync hits", hits)
    cprofile("20,000 sync misses", misses)
    sweep()
    cprofile("20,000 async misses", lambda: asyncio.run(amisses()))


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
    parser.add_argument("--profile", action="store_true", help="also break our hit path into pieces")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the memory measurement")
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

    if not args.skip_memory:
        print_memory(memory_rows(args.memory_n), args.memory_n, targets)

    print(f"\nTARGETS (Python {platform.python_version()})")
    for t in targets:
        print(f"  {_verdict(t.ok)}  {t.what:<42} {t.measured}")
    failed = sum(not t.ok for t in targets)
    print(f"  {len(targets) - failed} of {len(targets)} targets met")

    if args.profile:
        profile(args.repeat, args.passes, args.miss_calls)
    print(f"\n(total {time.perf_counter() - started:.0f} s; a report: the exit code is 0 whatever the verdicts)")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report never fails the caller, but says what broke
        import traceback

        traceback.print_exc()
    sys.exit(0)
