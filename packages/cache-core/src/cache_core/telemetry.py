"""OpenTelemetry metrics and traces for every cached function: ``instrument()`` turns them on.

Needs the extra ``cache-core[otel]`` (``opentelemetry-api``; an SDK and exporters are the
application's choice)::

    from cache_core.telemetry import instrument

    instrument()  # the global meter and tracer providers; or instrument(meter_provider=..., tracer_provider=...)

Metrics:

- ``cache.requests`` (counter, ``{request}``): decorated calls by ``cache.result``:
  ``hit``, ``miss``, ``stale`` (a stale value served) and ``error`` (a backend failure
  that fail-open swallowed; that call is also a miss or a hit). Attributes:
  ``code.function.name`` (``module.qualname``), ``cache.namespace``, ``cache.result``.
  It is observed: it reads the counters behind ``cache_info()`` when the metrics are
  collected, so hits cost nothing more with telemetry on, and it stays monotonic across
  ``cache_clear()``.
- ``cache.compute.duration`` (histogram, ``s``): runs of the function on a miss.
  Attributes: ``code.function.name``, ``cache.namespace``, and ``error.type`` when it raised.
- ``cache.operation.duration`` (histogram, ``s``): operations on the backend.
  Attributes: ``cache.operation.name`` (``get``, ``set``, ``get_many``, ``set_many``,
  ``lock``, ``unlock``, ``delete``, ``clear``), ``cache.backend`` (its class name), ``code.function.name``,
  ``cache.namespace``, and ``error.type`` when it failed.

Spans: ``compute <function>`` (internal) around each run of the function, and
``<operation> <backend>`` (client) around each backend operation, with the attributes of
the matching histogram; failures are recorded on the span. In-process storage that calls
read and write directly (``DictCache`` and ``SyncDictCache`` without ``serializer=``) is
not timed or traced: a span costs far more than the read.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Final

try:
    from opentelemetry import context, metrics, trace
except ImportError as exc:  # pragma: no cover - the extra is installed wherever the tests run
    msg = "cache_core.telemetry needs OpenTelemetry: pip install 'cache-core[otel]'"
    raise ImportError(msg) from exc

from . import _telemetry
from .__about__ import __version__
from ._decorator import members

if TYPE_CHECKING:
    from ._decorator import CacheInfo, _Member
    from ._plan import CallPlan

__all__ = ["instrument", "uninstrument"]

SCOPE: Final = "cache_core"

REQUESTS: Final = "cache.requests"
COMPUTE_DURATION: Final = "cache.compute.duration"
OPERATION_DURATION: Final = "cache.operation.duration"

FUNCTION: Final = "code.function.name"
NAMESPACE: Final = "cache.namespace"
RESULT: Final = "cache.result"
OPERATION: Final = "cache.operation.name"
BACKEND: Final = "cache.backend"
ERROR_TYPE: Final = "error.type"

#: ``CacheInfo`` field -> ``cache.result``.
RESULTS: Final = (("hits", "hit"), ("misses", "miss"), ("stale", "stale"), ("errors", "error"))

# Backend operations take well under a millisecond in memory and a few on a network;
# computations are whatever the function does.
_OPERATION_BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_COMPUTE_BUCKETS: Final = (*_OPERATION_BUCKETS, 2.5, 5.0, 10.0, 30.0, 60.0)

Attributes = Mapping[str, str]


def instrument(
    meter_provider: metrics.MeterProvider | None = None, tracer_provider: trace.TracerProvider | None = None
) -> None:
    """Record metrics and traces of every cached function, decorated before or after this call.

    Args:
        meter_provider: where the metrics go; by default the global one
            (``opentelemetry.metrics.set_meter_provider``).
        tracer_provider: where the spans go; by default the global one.

    Calling it again replaces the providers.

    Raises:
        TypeError: a provider that is not an OpenTelemetry one.
    """
    for name, given, kind in (
        ("meter_provider", meter_provider, metrics.MeterProvider),
        ("tracer_provider", tracer_provider, trace.TracerProvider),
    ):
        if given is not None and not isinstance(given, kind):
            msg = f"{name} must be an {kind.__module__}.{kind.__qualname__}, not {type(given).__qualname__}"
            raise TypeError(msg)
    with _telemetry.switching:
        global _active  # noqa: PLW0603 - one instrumentation per process
        _active = _Instrumentation(_instruments(meter_provider), trace.get_tracer(SCOPE, __version__, tracer_provider))
        _telemetry.switch(_active.for_plan)
        _rebind()


def uninstrument() -> None:
    """Stop recording: cached functions run as they do without telemetry."""
    with _telemetry.switching:
        global _active  # noqa: PLW0603
        _active = None
        _telemetry.switch(None)
        _rebind()


def _rebind() -> None:
    for member in members():
        member.plan.telemetry = _telemetry.for_plan(member.plan)
        member.bind(member.slot.backend)  # the binding observes its storage, or not


class _Instruments:
    """The instruments of one meter provider, created once however often ``instrument`` is called."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.compute = meter.create_histogram(
            COMPUTE_DURATION,
            unit="s",
            description="Runs of cached functions on a miss.",
            explicit_bucket_boundaries_advisory=_COMPUTE_BUCKETS,
        )
        self.operation = meter.create_histogram(
            OPERATION_DURATION,
            unit="s",
            description="Operations of cached functions on their backend.",
            explicit_bucket_boundaries_advisory=_OPERATION_BUCKETS,
        )
        self._seen: dict[int, _Seen] = {}  # id(member) -> what was seen of it
        self._retired: dict[tuple[str, str, str], int] = {}  # totals of functions since collected
        self._seen_lock = threading.Lock()
        meter.create_observable_counter(
            REQUESTS, callbacks=[self._observe], unit="{request}", description="Calls of cached functions, by result."
        )

    def _observe(self, _options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        active = _active
        if active is None or active.instruments is not self:
            return []
        with self._seen_lock:
            for ident, gone in list(self._seen.items()):
                if gone.member() is None:  # a function gone: what it counted stays counted
                    del self._seen[ident]
                    for key, count in gone.totals():
                        self._retired[key] = self._retired.get(key, 0) + count
            totals = dict(self._retired)
            for member in members():
                seen = self._seen.get(id(member))
                if seen is None:
                    seen = self._seen[id(member)] = _Seen(member)
                seen.update(member.lifetime())
                for key, count in seen.totals():
                    totals[key] = totals.get(key, 0) + count
        return [
            metrics.Observation(total, {FUNCTION: function, NAMESPACE: namespace, RESULT: result})
            for (function, namespace, result), total in totals.items()
        ]


class _Seen:
    """The counts of one decorated function when last observed (they stay counted once it is gone)."""

    __slots__ = ("counts", "function", "member", "namespace")

    def __init__(self, member: _Member) -> None:
        self.member = weakref.ref(member)
        self.function, self.namespace = _function_name(member.plan), member.plan.namespace
        self.counts: dict[str, int] = {}  # result -> count since decoration

    def update(self, info: CacheInfo) -> None:
        for field, result in RESULTS:
            self.counts[result] = getattr(info, field)

    def totals(self) -> Iterator[tuple[tuple[str, str, str], int]]:
        """``((function, namespace, result), count)``; nothing for a function never called."""
        if not any(self.counts.values()):
            return
        for result, count in self.counts.items():
            yield (self.function, self.namespace, result), count


_by_provider: weakref.WeakKeyDictionary[metrics.MeterProvider, _Instruments] = weakref.WeakKeyDictionary()


def _instruments(meter_provider: metrics.MeterProvider | None) -> _Instruments:
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    instruments = _by_provider.get(provider)
    if instruments is None:
        instruments = _by_provider[provider] = _Instruments(provider.get_meter(SCOPE, __version__))
    return instruments


class _Instrumentation:
    """What ``instrument`` turned on: the instruments and the tracer."""

    def __init__(self, instruments: _Instruments, tracer: trace.Tracer) -> None:
        self.instruments, self.tracer = instruments, tracer

    def for_plan(self, plan: CallPlan) -> _FunctionTelemetry:
        return _FunctionTelemetry(self, plan)


_active: _Instrumentation | None = None


class _FunctionTelemetry:
    """The ``_telemetry.Telemetry`` of one decorated function."""

    __slots__ = ("_compute_name", "_operations", "attributes", "owner")

    def __init__(self, owner: _Instrumentation, plan: CallPlan) -> None:
        self.owner = owner
        function = _function_name(plan)
        self.attributes: Attributes = {FUNCTION: function, NAMESPACE: plan.namespace}
        self._compute_name = f"compute {function}"
        # (operation, backend class) -> (span name, attributes): built once each.
        self._operations: dict[tuple[str, type], tuple[str, Attributes]] = {}

    def computing(self) -> _Observed:
        owner = self.owner
        return _Observed(
            owner.tracer, self._compute_name, trace.SpanKind.INTERNAL, self.attributes, owner.instruments.compute
        )

    def operating(self, operation: str, backend: object) -> _Observed:
        kind = type(backend)
        known = self._operations.get((operation, kind))
        if known is None:
            attributes = {**self.attributes, OPERATION: operation, BACKEND: kind.__name__}
            known = self._operations[operation, kind] = (f"{operation} {kind.__name__}", attributes)
        owner = self.owner
        return _Observed(owner.tracer, known[0], trace.SpanKind.CLIENT, known[1], owner.instruments.operation)


class _Observed:
    """One span, current while it lasts, and its duration in a histogram."""

    __slots__ = ("attributes", "histogram", "kind", "name", "span", "started", "token", "tracer")

    def __init__(
        self,
        tracer: trace.Tracer,
        name: str,
        kind: trace.SpanKind,
        attributes: Attributes,
        histogram: metrics.Histogram,
    ) -> None:
        self.tracer, self.name, self.kind, self.attributes, self.histogram = tracer, name, kind, attributes, histogram

    def __enter__(self) -> trace.Span:
        span = self.span = self.tracer.start_span(self.name, kind=self.kind, attributes=self.attributes)
        self.token = context.attach(trace.set_span_in_context(span))
        self.started = perf_counter()
        return span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        elapsed = perf_counter() - self.started
        span, attributes = self.span, self.attributes
        if exc_type is not None and exc is not None:
            error_type = exc_type.__qualname__ if exc_type.__module__ == "builtins" else _qualified(exc_type)
            attributes = {**attributes, ERROR_TYPE: error_type}
            span.set_attribute(ERROR_TYPE, error_type)
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{exc_type.__name__}: {exc}"))
        self.histogram.record(elapsed, attributes)
        context.detach(self.token)
        span.end()


def _qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _function_name(plan: CallPlan) -> str:
    fn = plan.fn
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__qualname__
    return f"{module}.{name}" if module else str(name)
