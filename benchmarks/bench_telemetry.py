"""What ``cache_core.telemetry`` costs a cached call: telemetry off, on with the API's no-op providers, on with the SDK.

Run it with ``hatch run bench:telemetry`` (see benchmarks/README.md). It is a report: it
exits 0 and marks the one target, "hot-index hits cost nothing more" (on / off within
``TARGET_HIT``, the margin of a shared machine's noise), PASS or FAIL.

Rows (sync and async, one ``int`` argument, the default in-memory backend):

* hit: a compiled wrapper answering from its hot index (the common case);
* hit via caller: a generic wrapper (a ``key_maker``), answered by the caller's read;
* hit via storage: ``serializer=`` makes calls go through the storage template, as they
  do to Redis, MongoDB or SQLite: with telemetry on, each read is a span and a duration;
* miss: new keys, computed and stored (a span and a duration per computation).

Columns, each measured in the same run, interleaved round-robin, best of ``--repeat``:
``off`` (never instrumented, or after ``uninstrument()``: the same code path; measured
twice, ``off again``, to show how far apart noise alone puts two runs), ``no-op``
(``instrument()`` with the API's default providers: no SDK configured), ``sdk``
(``instrument()`` with an SDK ``MeterProvider`` (in-memory reader) and ``TracerProvider``
(a span processor exporting to nowhere)). Every timed run starts with ``gc.collect()`` and
runs with ``gc`` disabled.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from cache_core import DictCache, PickleSerializer, cached
from cache_core.telemetry import instrument, uninstrument
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

WARM = 1000  # distinct warm keys of the hit rows
MISSES = 2000  # new keys per run of a miss row
HIT_ROUNDS = 20  # passes over the warm keys per run of a hit row
TARGET_HIT = 1.10  # hot-index hits, telemetry on / off: at most this (the same code runs: any gap is noise)


class Nowhere(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def sdk_providers() -> tuple[MeterProvider, TracerProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(Nowhere()))
    return MeterProvider(metric_readers=[InMemoryMetricReader()]), tracer_provider


def make(mode: str, **options: Any) -> Callable[..., Any]:
    if mode == "sync":

        @cached(cache=DictCache(), **options)
        def f(x: int) -> int:
            return x

        return f

    @cached(cache=DictCache(), **options)
    async def af(x: int) -> int:
        return x

    return af


ROWS: dict[str, dict[str, Any]] = {
    "hit": {},
    "hit via caller": {"key_maker": lambda fn, args, kwargs: str(args[0])},
    "hit via storage": {"serializer": PickleSerializer()},
    "miss": {},
}


def timer(mode: str, row: str, fn: Callable[..., Any]) -> Callable[[], float]:
    """A run of ``row``: returns ns per call."""
    keys = list(range(WARM))
    if row == "miss":
        calls = MISSES
        if mode == "sync":

            def run() -> None:
                for x in range(MISSES):
                    fn(x)

        else:

            async def arun() -> None:
                for x in range(MISSES):
                    await fn(x)

            def run() -> None:
                asyncio.run(arun())

        def timed() -> float:
            clear = fn.cache_clear()  # type: ignore[attr-defined]
            if asyncio.iscoroutine(clear):
                asyncio.run(clear)
            return measure(run) / calls

        return timed

    calls = WARM * HIT_ROUNDS
    if mode == "sync":

        def run() -> None:
            for _ in range(HIT_ROUNDS):
                for x in keys:
                    fn(x)

        for x in keys:
            fn(x)
    else:

        async def arun() -> None:
            for _ in range(HIT_ROUNDS):
                for x in keys:
                    await fn(x)

        async def warm() -> None:
            for x in keys:
                await fn(x)

        asyncio.run(warm())

        def run() -> None:
            asyncio.run(arun())

    return lambda: measure(run) / calls


def measure(run: Callable[[], None]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        run()
        return time.perf_counter_ns() - start
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    meter_provider, tracer_provider = sdk_providers()
    noop_meters, noop_tracers = metrics.NoOpMeterProvider(), trace.NoOpTracerProvider()
    states: dict[str, Callable[[], None]] = {
        "off": uninstrument,
        "off again": uninstrument,  # the same state twice: how far apart noise puts them
        "no-op": lambda: instrument(meter_provider=noop_meters, tracer_provider=noop_tracers),
        "sdk": lambda: instrument(meter_provider=meter_provider, tracer_provider=tracer_provider),
    }
    cases = [(mode, row) for mode in ("sync", "async") for row in ROWS]
    functions = {case: make(case[0], **ROWS[case[1]]) for case in cases}
    timers = {case: timer(*case, functions[case]) for case in cases}
    best: dict[tuple[str, str, str], float] = {}
    for round_ in range(args.repeat):
        order = list(states)
        order = order[round_ % len(order) :] + order[: round_ % len(order)]
        for state in order:
            states[state]()  # re-binds every function: each run below sees that state
            for case in cases:
                timers[case]()  # untimed: the state's first run of the case
                ns = timers[case]()
                key = (*case, state)
                best[key] = min(best.get(key, ns), ns)
    uninstrument()

    print(
        f"{'mode':6} {'row':16} {'off ns':>8} {'no-op ns':>9} {'sdk ns':>8}"
        f" {'no-op/off':>10} {'sdk/off':>8} {'noise: off again/off':>21}"
    )
    results = []
    verdict = True
    for mode, row in cases:
        off, again, noop, sdk = (best[mode, row, state] for state in states)
        print(
            f"{mode:6} {row:16} {off:8.0f} {noop:9.0f} {sdk:8.0f}"
            f" {noop / off:10.2f} {sdk / off:8.2f} {again / off:21.2f}"
        )
        results.append({"mode": mode, "row": row, "off_ns": off, "off_again_ns": again, "noop_ns": noop, "sdk_ns": sdk})
        if row == "hit":
            verdict = verdict and max(noop, sdk) / off <= TARGET_HIT
    print(f"hot-index hits, on / off <= {TARGET_HIT}: {'PASS' if verdict else 'FAIL'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"repeat": args.repeat, "results": results}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
