"""Every call shape, sync and async: cache-core's hit path against cachetools, async-lru and the floor.

Run it with ``hatch run bench:shapes`` (see benchmarks/README.md). It is a report, not a
test: it always exits 0 and marks each of its targets PASS or FAIL.

Each row is one call shape (positional, keyword, keyword-only, defaults, ``*args``,
``**kwargs``, methods, classmethods, staticmethods, ``typed=True``, arguments of many
types) with one configuration (a TTL, a bound, both or neither). Per row and mode three
contenders are timed in the same run, interleaved:

* the floor: a plain function of the same signature, called the same way, whose body is
  one dict lookup keyed by its varying argument (by ``id()`` for lists and dicts);
* ours: ``cache_core.cached`` over a fresh ``DictCache`` (the default backend's class);
* the peer, configured alike (a TTL when the row has one, a bound when it has one):
  ``cachetools.cached(Cache | LRUCache | TTLCache)`` for ``def``, ``async_lru.alru_cache``
  for ``async def``. Rows whose arguments are unhashable (lists, dicts) have no peer.
* on the rows the floor targets judge (one ``int`` argument): the bound, the least
  pure-Python code that keeps the promises our hit keeps (faithful keys, counted hits,
  one clock read against a TTL, LRU order under a bound); its ratio to the floor is
  printed next to ours: what no pure-Python hit path can beat.

Method, that of bench_core.py:

* the hit path: every row cycles over the same 1000 warm, distinct argument values;
* each contender is warmed up (every value once, its result checked against the floor's,
  then one untimed run);
* ``--repeat`` runs per contender, interleaved round-robin (the order rotates each round);
  the BEST run (minimum ns/call) is reported with the median; ratios use the best;
* every timed run starts with ``gc.collect()`` and runs with ``gc`` disabled;
  ``time.perf_counter_ns``; ns/call includes the loop making the calls, which is the same
  code for the three contenders of a row (compiled once per row from its call expression);
* the decorated bodies count their runs: a hit run that ran a body is flagged ``!!``.

Besides the matrix: miss + store (new keys, the cache cleared between runs) and memory
per entry (tracemalloc, N entries through the call path, bytes retained / N) for one
``int`` argument, unbounded, with a TTL and with a bound, against a plain dict.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import decimal
import enum
import functools
import gc
import importlib.metadata
import json
import math
import platform
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from _results import Timed
from cache_core import DictCache, cached

perf_counter_ns = time.perf_counter_ns

WARM = 1000  # distinct warm argument values per row
BOUND = 4096  # maxsize of the bounded rows; > WARM, so a hit run never evicts
TTL = 60.0
UNBOUNDED = 2**30  # cachetools needs a maxsize: this one is never reached

TARGET_PEER = 1.0  # every row: ours / peer at most this
TARGET_GEOMEAN = 0.5  # geometric mean of ours / peer over the rows with a peer
TARGET_HIT_UNBOUNDED = 1.5  # x floor
TARGET_HIT_BOUNDED = 2.0  # x floor, with a TTL or a bound
TARGET_MISS = 5.0  # x floor
TARGET_MEMORY = 1.5  # x a plain dict


# -- argument values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    x: int
    y: int


class Plain:
    """An object with the default ``object.__repr__``: ours keys it by identity."""


Level = enum.IntEnum("Level", [(f"L{k}", k) for k in range(1000)])


Span = collections.namedtuple("Span", "start days")


def _ints(k: int) -> Any:
    return k


VALUES: dict[str, Callable[[int], Any]] = {
    "int": _ints,
    "float": lambda k: k + 0.25,
    "str": lambda k: f"user-{k:05d}",
    "tuple": lambda k: (k, "eu"),
    "dataclass": lambda k: Point(k, -k),
    "list": lambda k: [k, k + 1],
    "dict": lambda k: {"id": k, "region": "eu"},
    "object": lambda k: Plain(),
    "date": lambda k: datetime.date(2024, 1, 1) + datetime.timedelta(days=k),
    "datetime": lambda k: datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=k),
    "uuid": lambda k: uuid.UUID(int=k),
    "decimal": lambda k: decimal.Decimal(k) / 4,
    "intenum": Level,
    "namedtuple": lambda k: Span(k, 7),
}


# -- rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One call shape in one configuration.

    ``params`` is the parameter list of the function (or method), ``call`` the expression
    the timing loop evaluates (``f`` is the function, instance or class; ``x`` the warm
    value), ``arg`` names the varying argument among the parameters.
    """

    name: str
    params: str = "a"
    call: str = "f(x)"
    arg: str = "a"
    values: str = "int"
    kind: str = "function"  # "function", "decorated", "partial", "method", "classmethod", "staticmethod"
    ttl: float | None = None
    maxsize: int | None = None
    typed: bool = False

    @property
    def hashable(self) -> bool:
        return self.values not in ("list", "dict")

    @property
    def config(self) -> str:
        parts = []
        if self.ttl is not None:
            parts.append(f"ttl={self.ttl:g}")
        if self.maxsize is not None:
            parts.append(f"maxsize={self.maxsize}")
        if self.typed:
            parts.append("typed")
        return ",".join(parts) or "-"


ROWS = [
    Row("1 int arg"),
    Row("1 int arg", ttl=TTL),
    Row("1 int arg", maxsize=BOUND),
    Row("1 int arg", ttl=TTL, maxsize=BOUND),
    Row("2 positional f(x, 'a')", params="a, b", call="f(x, 'a')", ttl=TTL),
    Row("keyword call f(x, b='a')", params="a, b", call="f(x, b='a')"),
    Row("keyword-only f(x, *, b='a')", params="a, *, b", call="f(x, b='a')"),
    Row("defaults f(x) of f(a, b='a')", params="a, b='a'"),
    Row("*args f(x, 'a')", params="*args", call="f(x, 'a')", arg="args[0]"),
    Row("**kwargs f(a=x, b='a')", params="**kwargs", call="f(a=x, b='a')", arg="kwargs['a']"),
    Row("float arg", values="float"),
    Row("str arg", values="str"),
    Row("tuple arg", values="tuple"),
    Row("frozen dataclass arg", values="dataclass"),
    Row("method on an instance", params="self, a", call="f.get(x)", kind="method"),
    Row("classmethod", params="cls, a", call="f.get(x)", kind="classmethod"),
    Row("staticmethod", call="f.get(x)", kind="staticmethod"),
    Row("1 int arg", typed=True),
    Row("list arg (no peer)", values="list"),
    Row("dict arg (no peer)", values="dict"),
    Row("object arg, default repr", values="object"),
    Row("under another decorator", kind="decorated"),
    Row("functools.partial(f, b='a')", params="a, b", kind="partial"),
    Row("date arg", values="date"),
    Row("datetime arg (UTC)", values="datetime", ttl=TTL),
    Row("UUID arg", values="uuid"),
    Row("Decimal arg", values="decimal"),
    Row("IntEnum arg", values="intenum"),
    Row("namedtuple arg", values="namedtuple", maxsize=BOUND),
]


# -- building the contenders from source ---------------------------------------------------------
#
# Each row's functions and timing loop are rendered from its parameter list and call
# expression, so the floor, ours and the peer of a row have exactly the same signature and
# are called by exactly the same loop code (a generic f(*args, **kwargs) loop would add
# the same cost to everyone and hide the differences we measure).


class Body:
    """The decorated bodies count their runs, so hits are proven to be hits."""

    calls = 0


_FUNCTION = """
{prefix}def get({params}):
    {count}
    return table[{key}]
"""

_CLASS = """
class Service:
    {outer}
    @wrap
    {prefix}def get({params}):
        {count}
        return table[{key}]
"""

_SYNC_LOOP = """
def loop(f, xs, passes, clock):
    start = clock()
    for _ in range(passes):
        for x in xs:
            {call}
    return clock() - start
"""

_ASYNC_LOOP = """
async def loop(f, xs, passes, clock):
    start = clock()
    for _ in range(passes):
        for x in xs:
            await {call}
    return clock() - start
"""


def _render(source: str, names: dict[str, Any], result: str) -> Any:
    namespace = {"__name__": "myapp.shapes", **names}
    # A benchmark fixture, not product code: the source is one of the templates above.
    exec(compile(source, f"<bench_shapes {result}>", "exec"), namespace)  # noqa: S102
    return namespace[result]


def _passed_through(fn: Callable[..., Any], mode: str) -> Callable[..., Any]:
    """``fn`` under a decorator in the common ``functools.wraps`` style."""
    if mode == "async":

        @functools.wraps(fn)
        async def ainner(*args: Any, **kwargs: Any) -> Any:
            return await fn(*args, **kwargs)

        return ainner

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return inner


def build(row: Row, mode: str, wrap: Callable[[Any], Any] | None, table: dict[Any, Any]) -> Any:
    """The callee of ``row.call``: a function, an instance or a class; ``wrap=None`` is the floor."""
    key = row.arg if row.hashable else f"id({row.arg})"
    fields = {
        "prefix": "async " if mode == "async" else "",
        "params": row.params,
        "key": key,
        "count": "" if wrap is None else "Body.calls += 1",
    }
    names = {"table": table, "Body": Body, "wrap": wrap or (lambda fn: fn)}
    if row.kind in ("function", "decorated", "partial"):
        fn = _render(_FUNCTION.format(**fields), names, "get")
        if row.kind == "decorated":  # under another decorator first (the floor too)
            fn = _passed_through(fn, mode)
        elif row.kind == "partial":
            fn = functools.partial(fn, b="a")
        return fn if wrap is None else wrap(fn)
    outer = {"method": "", "classmethod": "@classmethod", "staticmethod": "@staticmethod"}[row.kind]
    cls = _render(_CLASS.format(outer=outer, **fields), names, "Service")
    return cls() if row.kind == "method" else cls


_RESULTS = """
{prefix}def results(f, xs):
    return [{wait}{call} for x in xs]
"""


def loop_for(row: Row, mode: str) -> tuple[Callable[..., Any], Callable[[Any, list[Any]], Any]]:
    """The row's timing loop, and a function returning the results of one call per value (to warm up)."""
    template = _ASYNC_LOOP if mode == "async" else _SYNC_LOOP
    loop = _render(template.format(call=row.call), {}, "loop")
    wait = "await " if mode == "async" else ""
    results = _render(
        _RESULTS.format(prefix="async " if mode == "async" else "", wait=wait, call=row.call), {}, "results"
    )
    return loop, results


# -- contenders --------------------------------------------------------------------------------


@dataclass
class Contender(Timed):
    name: str
    role: str  # "floor", "ours", "peer", "bound"
    callee: Any
    clear: Callable[[], Any] | None = None  # empties the cache (sync or async)


def ours_decorator(row: Row) -> tuple[str, Callable[[Any], Any], DictCache]:
    backend = DictCache(maxsize=row.maxsize)
    options: dict[str, Any] = {"cache": backend}
    if row.ttl is not None:
        options["ttl"] = row.ttl
    if row.typed:
        options["typed"] = True
    shown = ", ".join(f"{k}={v!r}" for k, v in options.items() if k != "cache")
    name = f"@cached({shown + ', ' if shown else ''}cache=DictCache({'' if row.maxsize is None else row.maxsize}))"
    return name, cached(**options), backend


def peer_decorator(row: Row, mode: str) -> tuple[str, Callable[[Any], Any], Callable[[], Any] | None]:
    """The peer configured like the row: a TTL when it has one, a bound when it has one."""
    if mode == "async":
        from async_lru import alru_cache

        decorator = alru_cache(maxsize=row.maxsize, ttl=row.ttl, typed=row.typed)
        name = f"alru_cache(maxsize={row.maxsize}"
        name += ("" if row.ttl is None else f", ttl={row.ttl:g}") + (", typed=True" if row.typed else "") + ")"
        return name, decorator, None  # cleared through each wrapper's cache_clear()
    import cachetools
    import cachetools.keys

    size = UNBOUNDED if row.maxsize is None else row.maxsize
    size_name = "2**30" if row.maxsize is None else str(row.maxsize)
    store: cachetools.Cache[Any, Any]
    if row.ttl is not None:
        store, name = cachetools.TTLCache(size, row.ttl), f"TTLCache({size_name}, {row.ttl:g})"
    elif row.maxsize is not None:
        store, name = cachetools.LRUCache(size), f"LRUCache({size_name})"
    else:
        store, name = cachetools.Cache(size), f"Cache({size_name})"
    if row.typed:
        return f"cached({name}, typedkey)", cachetools.cached(store, key=cachetools.keys.typedkey), store.clear
    return f"cached({name})", cachetools.cached(store), store.clear


# The least code that keeps the promises a hit of ours keeps, for the rows the floor
# targets judge (one argument): an argument of another type than int, str, bytes or None
# never shares an entry (True, 1 and 1.0 are equal keys of a dict), hits are counted for
# cache_info(), an entry with a TTL is checked against one clock read, a bound keeps LRU
# order. Not a cache (it never evicts or expires anything): what any pure-Python hit
# path that keeps those promises costs at least, to read the floor ratios against.
_BOUND = """
def bound(fn):
    entries = {{}}
    {order}
    hits = 0

    {prefix}def get(a):
        nonlocal hits
        if type(a) in simple:
            entry = entries.get(a)
            if entry is not None{expiry}:
                {touch}
                hits += 1
                return entry[0]
        value = {wait}fn(a)
        entries[a] = (value, now() + {ttl})
        {remember}
        return value

    return get
"""


def bound_decorator(row: Row, mode: str) -> Callable[[Any], Any]:
    bounded = row.maxsize is not None
    source = _BOUND.format(
        prefix="async " if mode == "async" else "",
        wait="await " if mode == "async" else "",
        order="order = OrderedDict()" if bounded else "",
        expiry="" if row.ttl is None else " and entry[1] > now()",
        touch="order.move_to_end(a)" if bounded else "",
        remember="order[a] = None" if bounded else "",
        ttl=row.ttl or 0,
    )
    names = {"simple": {int, str, bytes, type(None)}, "now": time.time, "OrderedDict": collections.OrderedDict}
    decorator: Callable[[Any], Any] = _render(source, names, "bound")
    return decorator


def has_bound(row: Row) -> bool:
    """The rows the floor targets judge."""
    return row.name == "1 int arg" and not row.typed


def contenders(row: Row, mode: str) -> list[Contender]:
    table = dict(_table(row))
    found = [Contender("floor", "floor", build(row, mode, None, table))]
    name, decorator, _ = ours_decorator(row)
    found.append(Contender(name, "ours", build(row, mode, decorator, table)))
    if has_bound(row):
        found.append(Contender("bound", "bound", build(row, mode, bound_decorator(row, mode), table)))
    if row.hashable:
        name, decorator, _ = peer_decorator(row, mode)
        found.append(Contender(name, "peer", build(row, mode, decorator, table)))
    return found


_WARM_VALUES: dict[str, list[Any]] = {}


def warm_values(row: Row) -> list[Any]:
    """The row's warm argument values, made once per kind and kept alive for the whole run."""
    if row.values not in _WARM_VALUES:
        _WARM_VALUES[row.values] = [VALUES[row.values](k) for k in range(WARM)]
    return _WARM_VALUES[row.values]


def _table(row: Row) -> list[tuple[Any, str]]:
    return [(v if row.hashable else id(v), f"item-{k:07d}") for k, v in enumerate(warm_values(row))]


# -- timing ------------------------------------------------------------------------------------


class Settle:
    """Runs what a call returned to its end: a number or a value as is, a coroutine on one event loop.

    Sync contenders are timed with no event loop running, as in sync code; async ones on a
    loop kept for the whole run. The timing itself happens inside the rendered loops.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, result: Any) -> Any:
        if asyncio.iscoroutine(result):
            return self.loop.run_until_complete(result)
        return result

    def close(self) -> None:
        self.loop.close()


def _rounds(group: list[Contender], repeat: int) -> list[list[Contender]]:
    """Round-robin order, rotated every round."""
    n = len(group)
    return [[group[(i + r) % n] for i in range(n)] for r in range(repeat)]


def _timed(settle: Settle, loop: Callable[..., Any], callee: Any, xs: list[Any], passes: int) -> float:
    gc.collect()
    gc.disable()
    try:
        ns = settle(loop(callee, xs, passes, perf_counter_ns))
    finally:
        gc.enable()
    return float(ns) / (passes * len(xs))


def _warm(settle: Settle, row: Row, results: Callable[[Any, list[Any]], Any], c: Contender) -> None:
    """Every value once, each result checked: a wrong entry would make the timings meaningless."""
    xs = warm_values(row)
    for x, got, (_, want) in zip(xs, settle(results(c.callee, xs)), _table(row), strict=True):
        if got != want:
            c.problem = f"returned {got!r} for {x!r}, expected {want!r}"
            return


def _settle_garbage() -> None:
    """Collect, then freeze what is left: the timed runs' own gc.collect() then skips it.

    Without this every gc.collect() before a timed run would walk the warm values and
    every cache built so far (tens of milliseconds each, most of a --quick run).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def measure_row(settle: Settle, row: Row, mode: str, repeat: int, passes: int) -> list[Contender]:
    group = contenders(row, mode)
    loop, results = loop_for(row, mode)
    xs = warm_values(row)
    for c in group:
        try:
            _warm(settle, row, results, c)
            if not c.problem:
                _timed(settle, loop, c.callee, xs, 1)
        except Exception as error:  # a shape that crashes is a finding: report it, time the rest
            c.problem = f"raised {type(error).__name__}: {error}"
    _settle_garbage()
    live = [c for c in group if not c.problem]
    for round_ in _rounds(live, repeat):
        for c in round_:
            before = Body.calls
            c.runs.append(_timed(settle, loop, c.callee, xs, passes))
            if Body.calls != before:
                c.problem = f"ran the body {Body.calls - before} times on the hit path"
    return group


# -- miss + store ----------------------------------------------------------------------------------

MISS_ROWS = [
    Row("1 int arg, miss+store"),
    Row("1 int arg, miss+store", ttl=TTL),
    Row("1 int arg, miss+store", maxsize=BOUND),
]


def miss_contenders(row: Row, mode: str) -> list[Contender]:
    prefix = "async " if mode == "async" else ""
    table: dict[int, int] = {}
    floor_source = f"{prefix}def get(a):\n    value = a + 1\n    table[a] = value\n    return value\n"
    floor = _render(floor_source, {"table": table}, "get")
    body_source = f"{prefix}def get(a):\n    Body.calls += 1\n    return a + 1\n"
    name, decorator, _ = ours_decorator(row)
    ours = decorator(_render(body_source, {"Body": Body}, "get"))
    peer_name, peer, peer_clear = peer_decorator(row, mode)
    peer_fn = peer(_render(body_source, {"Body": Body}, "get"))
    return [
        Contender("floor: dict store", "floor", floor, table.clear),
        Contender(name, "ours", ours, ours.cache_clear),
        Contender(peer_name, "peer", peer_fn, peer_clear or peer_fn.cache_clear),
    ]


def measure_miss(settle: Settle, row: Row, mode: str, repeat: int, calls: int) -> list[Contender]:
    group = miss_contenders(row, mode)
    loop, _ = loop_for(row, mode)
    base = 10_000_000  # large ints, allocated like real ids; never a warm value
    keys = list(range(base, base + calls))
    _settle_garbage()
    for round_ in [group, *_rounds(group, repeat)]:  # the first round warms up and is not kept
        for c in round_:
            assert c.clear is not None
            settle(c.clear())
            before = Body.calls
            ns = _timed(settle, loop, c.callee, keys, 1)
            if round_ is not group:
                c.runs.append(ns)
            if c.role != "floor" and Body.calls - before != calls:
                c.problem = f"ran the body {Body.calls - before} times for {calls} new keys"
            settle(c.clear())
    return group


# -- memory ----------------------------------------------------------------------------------------


@dataclass
class MemoryRow:
    config: str
    contender: str
    role: str
    bytes_per_entry: float
    problem: str = ""


def _traced(settle: Settle, fill: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        settle(fill())
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


_FILL = """
{prefix}def get(a):
    return f"user-{{a:07d}}@example.com"

{prefix}def fill(fn, n):
    for k in range(n):
        {wait}fn(k)
"""


def memory_rows(settle: Settle, n: int) -> list[MemoryRow]:
    """n entries (1 int argument -> a 24-character str) through each call path; bytes retained per entry."""
    rows: list[MemoryRow] = []
    kept: list[Any] = []  # every contender stays alive to the end, so nothing is freed mid-measure
    for config in [Row("unbounded"), Row("ttl", ttl=TTL), Row("maxsize", maxsize=n)]:
        label = config.config
        _settle_garbage()

        def floor_fill() -> None:
            table = {}
            for k in range(n):
                table[k] = f"user-{k:07d}@example.com"
            kept.append(table)

        rows.append(MemoryRow(label, "floor: plain dict {argument: value}", "floor", _traced(settle, floor_fill) / n))
        for mode in ("sync", "async"):
            source = _FILL.format(prefix="async " if mode == "async" else "", wait="await " if mode == "async" else "")
            for role in ("ours", "peer"):
                size: Callable[[], int] | None = None
                if role == "ours":
                    name, decorator, backend = ours_decorator(config)
                    size = backend.__len__
                else:
                    name, decorator, _ = peer_decorator(config, mode)
                fn = decorator(_render(source, {}, "get"))
                fill = _render(source, {}, "fill")
                retained = _traced(settle, functools.partial(fill, fn, n))
                kept.append(fn)
                row = MemoryRow(label, f"{mode} {name}", role, retained / n)
                if size is not None and size() != n:
                    row.problem = f"held {size()} entries, expected {n}"
                rows.append(row)
    kept.clear()
    return rows


# -- report ----------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _num(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


@dataclass
class Target:
    what: str
    measured: str
    ok: bool


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def row_record(row: Row, mode: str, group: list[Contender]) -> dict[str, Any]:
    by_role = {c.role: c for c in group}
    floor, ours, peer = by_role["floor"], by_role["ours"], by_role.get("peer")
    record: dict[str, Any] = {
        "shape": row.name,
        "config": row.config,
        "mode": mode,
        "floor_ns": _num(floor.best),
        "floor_median_ns": _num(floor.median),
        "ours": ours.name,
        "ours_ns": _num(ours.best),
        "ours_median_ns": _num(ours.median),
        "ours_over_floor": _num(ours.best / floor.best),
        "peer": peer.name if peer else None,
        "peer_ns": _num(peer.best) if peer else None,
        "peer_median_ns": _num(peer.median) if peer else None,
        "ours_over_peer": _num(ours.best / peer.best) if peer else None,
        "bound_over_floor": _num(by_role["bound"].best / floor.best) if "bound" in by_role else None,
        "problems": {c.role: c.problem for c in group if c.problem},
    }
    return record


def print_matrix(mode: str, records: list[dict[str, Any]]) -> None:
    peer = "cachetools" if mode == "sync" else "async-lru"
    print(f"\n{mode.upper()} HIT PATH: ns per call (best of the runs), {WARM} warm values per row; peer = {peer}")
    print(
        f"  {'call shape':<30} {'config':<18} {'floor':>7} {'ours':>7} {'peer':>7}"
        f" {'ours/peer':>9} {'ours/floor':>10}  peer configured as"
    )
    for r in records:
        peer_ns = "-" if r["peer_ns"] is None else f"{r['peer_ns']:.0f}"
        vs_peer = "-" if r["ours_over_peer"] is None else f"{r['ours_over_peer']:.2f}x"
        vs_floor = "-" if r["ours_over_floor"] is None else f"{r['ours_over_floor']:.2f}x"
        ours_ns = "-" if r["ours_ns"] is None else f"{r['ours_ns']:.0f}"
        line = (
            f"  {r['shape']:<30} {r['config']:<18} {r['floor_ns']:>7.0f} {ours_ns:>7} {peer_ns:>7}"
            f" {vs_peer:>9} {vs_floor:>10}  {r['peer'] or 'none: no peer caches unhashable arguments'}"
        )
        print(line)
        for role, problem in r["problems"].items():
            print(f"      !! {role}: {problem}")


def print_timed(title: str, group: list[Contender]) -> None:
    floor = group[0]
    print(f"\n{title}")
    print(f"  {'contender':<52} {'best ns':>9} {'median':>9} {'x floor':>8}")
    for c in group:
        note = f"  !! {c.problem}" if c.problem else ""
        print(f"  {c.name:<52} {c.best:>9.1f} {c.median:>9.1f} {c.best / floor.best:>7.2f}x{note}")


def matrix_targets(records: list[dict[str, Any]], targets: list[Target]) -> dict[str, float | None]:
    geomeans: dict[str, float | None] = {}
    for mode in ("sync", "async", "all"):
        rows = [r for r in records if mode in ("all", r["mode"])]
        ratios = [r["ours_over_peer"] for r in rows if r["ours_over_peer"] is not None]
        geo = math.exp(statistics.fmean(math.log(x) for x in ratios)) if ratios else math.nan
        geomeans[mode] = _num(geo)
        if mode == "all":
            continue
        slower = [r for r in rows if r["peer"] and (r["ours_over_peer"] is None or r["ours_over_peer"] > TARGET_PEER)]
        crashed = [r for r in rows if "ours" in r["problems"]]
        names = [f"{r['shape']} [{r['config']}] {r['ours_over_peer'] or 'n/a'}" for r in slower]
        measured = f"{len(slower)} of {sum(bool(r['peer']) for r in rows)} rows slower than the peer"
        if names:
            measured += ": " + "; ".join(str(n) for n in names)
        targets.append(Target(f"{mode}: no row slower than its peer", measured, not slower and not crashed))
        if crashed:
            problems = "; ".join(f"{r['shape']} [{r['config']}]: {r['problems']['ours']}" for r in crashed)
            targets.append(Target(f"{mode}: every row cached correctly", problems, False))
        targets.append(Target(f"{mode}: geomean ours/peer <= {TARGET_GEOMEAN}", f"{geo:.2f}x", geo <= TARGET_GEOMEAN))
    ratios = [r["ours_over_peer"] for r in records if r["ours_over_peer"] is not None]
    geo = geomeans["all"] or math.nan
    targets.append(
        Target(
            f"all: geomean ours/peer <= {TARGET_GEOMEAN}", f"{geo:.2f}x over {len(ratios)} rows", geo <= TARGET_GEOMEAN
        )
    )
    return geomeans


def floor_targets(records: list[dict[str, Any]], targets: list[Target]) -> None:
    for r in records:
        if r["shape"] != "1 int arg" or r["config"] == "typed":
            continue
        limit = TARGET_HIT_UNBOUNDED if r["config"] == "-" else TARGET_HIT_BOUNDED
        ratio = r["ours_over_floor"]
        what = f"{r['mode']} hit [{r['config']}] <= {limit:g}x floor"
        measured = "n/a" if ratio is None else f"{ratio:.2f}x ({r['ours_ns']:.0f} ns vs floor {r['floor_ns']:.0f} ns)"
        if r["bound_over_floor"] is not None:
            measured += f"; least possible {r['bound_over_floor']:.2f}x"
        targets.append(Target(what, measured, ratio is not None and ratio <= limit and "ours" not in r["problems"]))


def miss_record(row: Row, mode: str, group: list[Contender], targets: list[Target]) -> dict[str, Any]:
    floor, ours, peer = group
    ratio = ours.best / floor.best
    targets.append(
        Target(
            f"{mode} miss+store [{row.config}] <= {TARGET_MISS:g}x floor",
            f"{ratio:.2f}x ({ours.best:.0f} ns vs floor {floor.best:.0f} ns)",
            ratio <= TARGET_MISS and not ours.problem,
        )
    )
    return {
        "config": row.config,
        "mode": mode,
        "floor_ns": _num(floor.best),
        "ours_ns": _num(ours.best),
        "peer": peer.name,
        "peer_ns": _num(peer.best),
        "ours_over_floor": _num(ratio),
        "ours_over_peer": _num(ours.best / peer.best),
        "problems": {c.role: c.problem for c in group if c.problem},
    }


def print_memory(rows: list[MemoryRow], n: int, targets: list[Target]) -> None:
    print(f"\nMEMORY: bytes per entry, N = {n:,} entries, 1 int argument -> 24-character str (tracemalloc)")
    print(f"  {'config':<14} {'contender':<64} {'B/entry':>9} {'x dict':>8}")
    floors = {r.config: r for r in rows if r.role == "floor"}
    for r in rows:
        ratio = r.bytes_per_entry / floors[r.config].bytes_per_entry
        note = f"  !! {r.problem}" if r.problem else ""
        print(f"  {r.config:<14} {r.contender:<64} {r.bytes_per_entry:>9.1f} {ratio:>7.2f}x{note}")
        if r.role == "ours":
            targets.append(
                Target(
                    f"memory [{r.config}] {r.contender.split()[0]} <= {TARGET_MEMORY:g}x dict",
                    f"{ratio:.2f}x ({r.bytes_per_entry:.0f} B vs {floors[r.config].bytes_per_entry:.0f} B)",
                    ratio <= TARGET_MEMORY and not r.problem,
                )
            )


def print_header(args: argparse.Namespace) -> dict[str, Any]:
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("cache-core", "cachetools", "async-lru")},
        "repeat": args.repeat,
        "passes": args.passes,
        "warm_values": WARM,
        "miss_calls": args.miss_calls,
        "memory_n": args.memory_n,
        "quick": args.quick,
    }
    print("call shapes benchmark (benchmarks/bench_shapes.py)")
    print(f"  Python {meta['python']} ({meta['implementation']}) on {meta['platform']}")
    print("  " + ", ".join(f"{d} {v}" for d, v in meta["versions"].items()))
    print(
        f"  timing: best (minimum) of {args.repeat} interleaved runs per contender; hit runs = {args.passes} "
        f"passes over {WARM} warm values; gc.collect() before and gc disabled during every run; perf_counter_ns"
    )
    print(
        f"  targets: every row <= {TARGET_PEER:g}x its peer, geomean <= {TARGET_GEOMEAN:g}x; hit <= "
        f"{TARGET_HIT_UNBOUNDED:g}x floor unbounded, <= {TARGET_HIT_BOUNDED:g}x with ttl or maxsize; "
        f"miss+store <= {TARGET_MISS:g}x; memory <= {TARGET_MEMORY:g}x a dict"
    )
    return meta


def run(args: argparse.Namespace, settle: Settle) -> dict[str, Any]:
    meta = print_header(args)
    targets: list[Target] = []
    started = time.perf_counter()

    records: list[dict[str, Any]] = []
    for mode in ("sync", "async"):
        mode_records = []
        for row in ROWS:
            group = measure_row(settle, row, mode, args.repeat, args.passes)
            mode_records.append(row_record(row, mode, group))
        print_matrix(mode, mode_records)
        records.extend(mode_records)
    geomeans = matrix_targets(records, targets)
    print(f"\nGEOMEAN ours/peer: sync {geomeans['sync']}x, async {geomeans['async']}x, all {geomeans['all']}x")
    floor_targets(records, targets)

    misses = []
    for mode in ("sync", "async"):
        for row in MISS_ROWS:
            group = measure_miss(settle, row, mode, args.repeat, args.miss_calls)
            title = f"{mode.upper()} MISS + STORE [{row.config}]: ns per call, {args.miss_calls:,} new keys per run"
            print_timed(title, group)
            misses.append(miss_record(row, mode, group, targets))

    memory: list[MemoryRow] = []
    if not args.skip_memory:
        memory = memory_rows(settle, args.memory_n)
        print_memory(memory, args.memory_n, targets)

    print(f"\nTARGETS (Python {platform.python_version()})")
    for t in targets:
        print(f"  {_verdict(t.ok)}  {t.what:<44} {t.measured}")
    failed = sum(not t.ok for t in targets)
    print(f"  {len(targets) - failed} of {len(targets)} targets met")
    print(f"\n(total {time.perf_counter() - started:.0f} s; a report: the exit code is 0 whatever the verdicts)")
    return {
        "meta": meta,
        "hit": records,
        "geomean_ours_over_peer": geomeans,
        "miss": misses,
        "memory": [asdict(r) for r in memory],
        "targets": [asdict(t) for t in targets],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, help="timed runs per contender, best and median kept (25; --quick 3)")
    parser.add_argument("--passes", type=int, help=f"passes over the {WARM} warm values per hit run (2; --quick 1)")
    parser.add_argument("--miss-calls", type=int, help="new keys per miss run (2,000; --quick 1,000)")
    parser.add_argument("--memory-n", type=int, help="entries for the memory measurement (100,000; --quick 10,000)")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the memory measurement")
    parser.add_argument("--quick", action="store_true", help="a few seconds: fewer repeats and entries, noisier")
    parser.add_argument("--json", metavar="PATH", help="also write every result to PATH as JSON")
    args = parser.parse_args(argv)
    presets = {"repeat": (25, 3), "passes": (2, 1), "miss_calls": (2_000, 1_000), "memory_n": (100_000, 10_000)}
    for name, (full, quick) in presets.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    settle = Settle()
    try:
        results = run(args, settle)
    finally:
        settle.close()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a report never fails the caller, but says what broke
        import traceback

        traceback.print_exc()
    sys.exit(0)
