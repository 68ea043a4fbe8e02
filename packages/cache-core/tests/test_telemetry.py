"""cache_core.telemetry: what an operator sees, read back with the SDK's in-memory reader and span exporter.

Backend operations are observed on real SQLite files (``cache_sqlite``); backend failures
on conftest's ``RowsBackend`` with its storage down.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cache_core import BackendError, Cache, DictCache, PickleSerializer, SyncDictCache, cached, cached_many
from cache_core.telemetry import instrument, uninstrument
from cache_sqlite import SqliteCache, SyncSqliteCache
from cache_testing import TestClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .conftest import AsyncRowsBackend, RowsBackend


@dataclass
class Telemetry:
    """The providers ``instrument`` was given, read back."""

    reader: InMemoryMetricReader
    exporter: InMemorySpanExporter
    tracer: trace.Tracer

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        return [
            point
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def requests(self, fn: Callable[..., Any], namespace: str | None = None) -> dict[str, int]:
        """``cache.requests`` of ``fn`` (in ``namespace``, if given) by result."""
        name = function_name(fn)
        found = {}
        for point in self.points("cache.requests"):
            assert isinstance(point, NumberDataPoint)
            attributes = point.attributes or {}
            if attributes["code.function.name"] == name and namespace in (None, attributes["cache.namespace"]):
                found[str(attributes["cache.result"])] = int(point.value)
        return found

    def histogram(self, name: str) -> list[HistogramDataPoint]:
        points = self.points(name)
        assert all(isinstance(point, HistogramDataPoint) for point in points)
        return points

    def spans(self) -> list[ReadableSpan]:
        """The spans of this module's functions (other tests' background refreshes may still run)."""
        return [
            span
            for span in self.exporter.get_finished_spans()
            if str((span.attributes or {}).get("code.function.name", "")).startswith(f"{__name__}.")
        ]

    def span_names(self) -> list[str]:
        return [span.name for span in self.spans()]


def function_name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def providers() -> tuple[MeterProvider, TracerProvider, Telemetry]:
    gc.collect()  # functions decorated by earlier tests, of the same names, leave the count
    reader, exporter = InMemoryMetricReader(), InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(reader, exporter, tracer_provider.get_tracer("test"))
    return MeterProvider(metric_readers=[reader]), tracer_provider, telemetry


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    meter_provider, tracer_provider, telemetry = providers()
    instrument(meter_provider=meter_provider, tracer_provider=tracer_provider)
    try:
        yield telemetry
    finally:
        uninstrument()


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def make(mode: str, **options: Any) -> Any:
    if mode == "sync":

        @cached(**options)
        def double(x: int) -> int:
            return 2 * x

        return double

    @cached(**options)
    async def adouble(x: int) -> int:
        return 2 * x

    return adouble


# -- cache.requests ----------------------------------------------------------------------------

# Compiled wrappers with the hot index (default options), the generic wrapper (a key maker),
# and storage reached through the template (a serializer): each counts in its own place.
SHAPES: dict[str, dict[str, Any]] = {
    "compiled": {},
    "plain wrapper": {"key_maker": lambda fn, args, kwargs: repr(args)},
    "through storage": {"serializer": PickleSerializer()},
}


EXAMPLES = itertools.count()


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("shape", list(SHAPES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(st.integers(0, 4), max_size=30))
def test_requests_count_every_call_by_result(mode: str, shape: str, calls: list[int]) -> None:
    meter_provider, tracer_provider, telemetry = providers()
    namespace = f"example-{next(EXAMPLES)}"  # the functions of earlier examples may still be alive
    fn = make(mode, cache=SyncDictCache() if mode == "sync" else DictCache(), namespace=namespace, **SHAPES[shape])
    instrument(meter_provider=meter_provider, tracer_provider=tracer_provider)
    try:
        seen: set[int] = set()
        for x in calls:
            assert asyncio.run(call(fn, x)) == 2 * x
            seen.add(x)
        expected = {"hit": len(calls) - len(seen), "miss": len(seen), "stale": 0, "error": 0} if calls else {}
        assert telemetry.requests(fn, namespace) == expected
    finally:
        uninstrument()


def test_requests_include_functions_decorated_before_instrument_and_calls_before_it() -> None:
    @cached
    def early(x: int) -> int:
        return x

    early(1)
    meter_provider, tracer_provider, telemetry = providers()
    instrument(meter_provider=meter_provider, tracer_provider=tracer_provider)
    try:

        @cached
        def late(x: int) -> int:
            return x

        early(1)
        late(1)
        assert telemetry.requests(early) == {"hit": 1, "miss": 1, "stale": 0, "error": 0}  # counted since decoration
        assert telemetry.requests(late) == {"hit": 0, "miss": 1, "stale": 0, "error": 0}
    finally:
        uninstrument()


def test_requests_stay_monotonic_across_cache_clear(otel: Telemetry) -> None:
    @cached
    def f(x: int) -> int:
        return x

    f(1)
    f(1)
    assert otel.requests(f) == {"hit": 1, "miss": 1, "stale": 0, "error": 0}
    f.cache_clear()
    f(1)
    assert f.cache_info().misses == 1
    assert otel.requests(f) == {"hit": 1, "miss": 2, "stale": 0, "error": 0}


def test_requests_of_a_namespace_and_function_add_up_over_decorations(otel: Telemetry) -> None:
    def work(x: int) -> int:
        return x

    first, second = cached(namespace="shared")(work), cached(namespace="shared")(work)
    first(1)
    second(2)
    assert otel.requests(work) == {"hit": 0, "miss": 2, "stale": 0, "error": 0}
    (point,) = [
        p
        for p in otel.points("cache.requests")
        if p.attributes and p.attributes["cache.result"] == "miss" and p.attributes["cache.namespace"] == "shared"
    ]
    assert point.attributes == {
        "code.function.name": function_name(work),
        "cache.namespace": "shared",
        "cache.result": "miss",
    }


def test_stale_values_served_are_requests_of_their_own(otel: Telemetry) -> None:
    clock = TestClock()

    @cached(cache=SyncDictCache(clock=clock), ttl=10, stale_while_revalidate=60)
    def f(x: int) -> int:
        return x

    f(1)
    clock.advance(11)
    f(1)  # expired, within the grace period: served stale, refreshed in the background
    assert otel.requests(f) == {"hit": 0, "miss": 1, "stale": 1, "error": 0}
    computed = [f"compute {function_name(f)}"] * 2
    deadline = time.monotonic() + 10
    while otel.span_names() != computed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert otel.span_names() == computed  # the refresh is a computation too


def test_uninstrument_stops_metrics_and_spans() -> None:
    meter_provider, tracer_provider, telemetry = providers()

    @cached
    def f(x: int) -> int:
        return x

    instrument(meter_provider=meter_provider, tracer_provider=tracer_provider)
    f(1)
    uninstrument()
    f(2)
    assert telemetry.requests(f) == {}
    assert telemetry.span_names() == [f"compute {function_name(f)}"]


def test_instrument_again_moves_to_the_new_providers() -> None:
    first_meter, first_tracer, first = providers()
    second_meter, second_tracer, second = providers()

    @cached
    def f(x: int) -> int:
        return x

    instrument(meter_provider=first_meter, tracer_provider=first_tracer)
    try:
        f(1)
        instrument(meter_provider=second_meter, tracer_provider=second_tracer)
        f(2)
        assert len(first.spans()) == len(second.spans()) == 1
        assert first.requests(f) == {}
        assert second.requests(f) == {"hit": 0, "miss": 2, "stale": 0, "error": 0}
        instrument(meter_provider=first_meter, tracer_provider=first_tracer)  # the same instruments again
        assert first.requests(f) == {"hit": 0, "miss": 2, "stale": 0, "error": 0}
    finally:
        uninstrument()


@pytest.mark.parametrize("argument", ["meter_provider", "tracer_provider"])
def test_a_provider_of_the_wrong_kind_is_a_type_error_and_changes_nothing(otel: Telemetry, argument: str) -> None:
    @cached
    def f(x: int) -> int:
        return x

    with pytest.raises(TypeError, match=f"{argument} must be an opentelemetry"):
        instrument(**{argument: object()})  # type: ignore[arg-type]
    f(1)
    assert otel.span_names() == [f"compute {function_name(f)}"]  # still reported where it was


# -- computations -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_each_computation_is_a_span_and_a_duration(otel: Telemetry, mode: str) -> None:
    fn = make(mode, namespace="prices")
    with otel.tracer.start_as_current_span("request") as request:
        await call(fn, 1)
        await call(fn, 1)
        await call(fn, 2)
    attributes = {"code.function.name": function_name(fn), "cache.namespace": "prices"}
    computations = [span for span in otel.spans() if span.name.startswith("compute")]
    assert [span.name for span in computations] == [f"compute {function_name(fn)}"] * 2  # the hit ran nothing
    for span in computations:
        assert span.kind is trace.SpanKind.INTERNAL
        assert dict(span.attributes or {}) == attributes
        assert span.parent is not None
        assert span.parent.span_id == request.get_span_context().span_id
    (point,) = otel.histogram("cache.compute.duration")
    assert point.attributes == attributes
    assert point.count == 2
    assert point.sum >= 0


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_computation_that_raises_is_an_error_span_and_is_not_cached(otel: Telemetry, mode: str) -> None:
    if mode == "sync":

        @cached
        def fails(x: int) -> int:
            raise LookupError(x)

    else:

        @cached
        async def fails(x: int) -> int:
            raise LookupError(x)

    for _ in range(2):
        with pytest.raises(LookupError):
            await call(fails, 1)
    spans = otel.spans()
    assert len(spans) == 2
    for span in spans:
        assert span.status.status_code is trace.StatusCode.ERROR
        assert (span.attributes or {})["error.type"] == "LookupError"
        assert [event.name for event in span.events] == ["exception"]
    (point,) = otel.histogram("cache.compute.duration")
    assert point.attributes is not None
    assert point.attributes["error.type"] == "LookupError"
    assert point.count == 2
    assert otel.requests(fails) == {"hit": 0, "miss": 2, "stale": 0, "error": 0}


def test_hot_index_hits_make_no_spans(otel: Telemetry) -> None:
    @cached
    def f(x: int) -> int:
        return x

    f(1)
    for _ in range(100):
        f(1)
    assert len(otel.spans()) == 1
    assert otel.requests(f)["hit"] == 100


def test_in_process_storage_read_directly_is_not_spanned(otel: Telemetry) -> None:
    @cached(cache=SyncDictCache())
    def f(x: int) -> int:
        return x

    f(1)
    f(1)
    assert otel.span_names() == [f"compute {function_name(f)}"]
    assert otel.histogram("cache.operation.duration") == []


# -- backend operations --------------------------------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """(mode, a SQLite backend of that mode on a fresh file)."""
    path = tmp_path / "cache.db"
    backend: Any = SyncSqliteCache(path) if request.param == "sync" else SqliteCache(path)
    yield request.param, backend
    close = backend.close()
    if inspect.isawaitable(close):
        asyncio.run(close)  # type: ignore[arg-type]


async def test_backend_operations_are_client_spans_and_durations(otel: Telemetry, sqlite: tuple[str, Any]) -> None:
    mode, backend = sqlite
    fn = make(mode, cache=backend, namespace="prices")
    assert await call(fn, 1) == 2
    assert await call(fn, 1) == 2
    assert await call(fn.invalidate, 1) is True
    await call(fn.cache_clear)
    name, kind = function_name(fn), type(backend).__name__
    assert otel.span_names() == [
        f"get {kind}",
        f"compute {name}",
        f"set {kind}",
        f"get {kind}",
        f"delete {kind}",
        f"clear {kind}",
    ]
    for span in otel.spans():
        if not span.name.startswith("compute"):
            assert span.kind is trace.SpanKind.CLIENT
            assert dict(span.attributes or {}) == {
                "code.function.name": name,
                "cache.namespace": "prices",
                "cache.operation.name": span.name.split()[0],
                "cache.backend": kind,
            }
    counts = {(p.attributes or {})["cache.operation.name"]: p.count for p in otel.histogram("cache.operation.duration")}
    assert counts == {"get": 2, "set": 1, "delete": 1, "clear": 1}
    assert otel.requests(fn) == {"hit": 1, "miss": 1, "stale": 0, "error": 0}


async def test_batch_loads_are_one_batch_operation_each_way(otel: Telemetry, sqlite: tuple[str, Any]) -> None:
    mode, backend = sqlite
    if mode == "sync":

        @cached_many(cache=backend)
        def load(ids: list[int]) -> dict[int, int]:
            return {i: 2 * i for i in ids}

    else:

        @cached_many(cache=backend)
        async def load(ids: list[int]) -> dict[int, int]:
            return {i: 2 * i for i in ids}

    assert await call(load, [1, 2]) == {1: 2, 2: 4}
    assert await call(load, [1, 2, 3]) == {1: 2, 2: 4, 3: 6}
    kind = type(backend).__name__
    batch = [f"get_many {kind}", f"compute {function_name(load)}", f"set_many {kind}"]
    assert otel.span_names() == batch * 2
    assert otel.requests(load) == {"hit": 2, "miss": 3, "stale": 0, "error": 0}


async def test_the_lock_is_spanned_around_the_computation(otel: Telemetry, sqlite: tuple[str, Any]) -> None:
    mode, backend = sqlite
    fn = make(mode, cache=backend, lock=5)
    assert await call(fn, 3) == 6
    kind = type(backend).__name__
    assert otel.span_names() == [
        f"get {kind}",
        f"lock {kind}",
        f"get {kind}",  # stored meanwhile by another process?
        f"compute {function_name(fn)}",
        f"set {kind}",
        f"unlock {kind}",
    ]


async def test_a_backend_that_changes_is_observed_under_its_own_name(otel: Telemetry, tmp_path: Path) -> None:
    front = Cache(SyncSqliteCache(tmp_path / "one.db"))

    @front(serializer=PickleSerializer())
    def f(x: int) -> int:
        return x

    f(1)
    front.backend = SyncDictCache()
    f(1)
    assert otel.span_names()[-3:] == ["get SyncDictCache", f"compute {function_name(f)}", "set SyncDictCache"]


@pytest.mark.parametrize("backend_class", [RowsBackend, AsyncRowsBackend])
async def test_a_failing_backend_is_an_error_span_and_an_error_request(
    otel: Telemetry, backend_class: type[RowsBackend | AsyncRowsBackend]
) -> None:
    backend = backend_class()
    backend.storage.failure = ConnectionError("down")
    fn = make("async", cache=backend)
    assert await fn(1) == 2  # fail-open: computed, not stored
    get, compute, put = otel.spans()
    assert (get.name, put.name) == (f"get {backend_class.__name__}", f"set {backend_class.__name__}")
    for span in (get, put):
        assert span.status.status_code is trace.StatusCode.ERROR
        assert str((span.attributes or {})["error.type"]).startswith("cache_core.")
    assert compute.status.status_code is trace.StatusCode.UNSET
    errors = [p for p in otel.histogram("cache.operation.duration") if p.attributes and "error.type" in p.attributes]
    assert {p.attributes["cache.operation.name"] for p in errors if p.attributes} == {"get", "set"}
    assert otel.requests(fn) == {"hit": 0, "miss": 1, "stale": 0, "error": 2}


async def test_fail_closed_errors_reach_the_caller_through_the_span(otel: Telemetry) -> None:
    backend = AsyncRowsBackend()
    backend.storage.failure = ConnectionError("down")
    fn = make("async", cache=backend, fail_open=False)
    with pytest.raises(BackendError):
        await fn(1)
    (span,) = otel.spans()
    assert span.status.status_code is trace.StatusCode.ERROR


# -- without the extra ---------------------------------------------------------------------------


def test_cache_core_never_imports_opentelemetry_itself() -> None:
    script = (
        "import sys\n"
        "from cache_core import cached\n"
        "f = cached(lambda x: x)\n"
        "f(1); f(1)\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_without_the_extra_the_import_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "cache_core.telemetry")
    with pytest.raises(ImportError, match=r"pip install 'cache-core\[otel\]'"):
        importlib.import_module("cache_core.telemetry")
