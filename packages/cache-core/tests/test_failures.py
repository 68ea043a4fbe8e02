"""A storage that fails: fail-open decorated calls, documented errors, the circuit breaker.

The backends (``RowsBackend``/``AsyncRowsBackend`` from conftest) raise
``ConnectionError`` from their primitives, as a driver does when its server is down;
everything else here is cache_core's own code.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import pytest
from cache_core import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    Cache,
    CacheError,
    CircuitBreaker,
    cached,
)


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cache_core" and r.levelno >= logging.WARNING]


def make_function(mode: str, backend: Any, **options: Any) -> tuple[Any, list[Any]]:
    runs: list[Any] = []
    if mode == "sync":

        def work(x: int) -> int:
            runs.append(x)
            return x * 2

    else:

        async def work(x: int) -> int:  # type: ignore[misc]
            runs.append(x)
            return x * 2

    return cached(cache=backend, **options)(work), runs


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(mode: str, rows_backend: Any, async_rows_backend: Any) -> Any:
    """A sync function gets the sync backend; an async one the async-only backend."""
    return rows_backend if mode == "sync" else async_rows_backend


# -- fail-open ------------------------------------------------------------------------------------


async def test_decorated_calls_return_results_while_the_backend_is_down(mode: str, backend: Any) -> None:
    work, runs = make_function(mode, backend)
    backend.storage.failure = ConnectionError("connection refused")
    assert [await call(work, 1) for _ in range(5)] == [2] * 5
    assert runs == [1] * 5
    info = work.cache_info()
    assert (info.hits, info.misses, info.errors) == (0, 5, 10)  # a failed read and write per call


async def test_async_function_on_a_failing_sync_backend(rows_backend: Any) -> None:
    work, runs = make_function("async", rows_backend)
    rows_backend.storage.failure = ConnectionError("down")
    assert await work(1) == 2
    assert await work(1) == 2
    assert len(runs) == 2


async def test_an_outage_is_logged_once_and_its_end_once(
    mode: str, backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cache_core")
    work, _ = make_function(mode, backend)
    backend.storage.failure = ConnectionError("connection refused")
    for x in range(20):
        await call(work, x)
    logged = warnings(caplog)
    assert len(logged) == 1
    assert "connection refused" in logged[0]
    assert "uncached" in logged[0]

    backend.storage.failure = None
    assert await call(work, 1) == 2
    logged = warnings(caplog)
    assert len(logged) == 2
    assert "works again" in logged[1]
    assert await call(work, 1) == 2
    assert work.cache_info().hits == 1
    assert len(warnings(caplog)) == 2


async def test_a_recovery_seen_only_by_hits_ends_the_outage(
    mode: str, backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    work, _ = make_function(mode, backend)
    await call(work, 1)  # stored before the outages
    for outage in range(2):
        backend.storage.failure = ConnectionError(f"outage {outage}")
        await call(work, 2)
        await call(work, 2)
        backend.storage.failure = None
        hits = work.cache_info().hits
        assert await call(work, 1) == 2  # a hit: the backend works again
        assert work.cache_info().hits == hits + 1
    assert [message.split(";")[0].split(" after ")[0] for message in warnings(caplog)] == [
        f"cache backend {backend!r} failed in get",
        f"cache backend {backend!r} works again",
    ] * 2
    assert "outage 1" in warnings(caplog)[2]


async def test_write_failures_fail_open_too(mode: str, backend: Any) -> None:
    work, runs = make_function(mode, backend)
    backend.storage.failure = ConnectionError("read-only replica")
    backend.storage.failing = {"put"}
    assert await call(work, 1) == 2
    assert await call(work, 1) == 2
    assert len(runs) == 2
    assert work.cache_info().errors == 2


async def test_fail_open_false_propagates_backend_errors(mode: str, backend: Any) -> None:
    work, runs = make_function(mode, backend, fail_open=False)
    backend.storage.failure = ConnectionError("connection refused")
    with pytest.raises(BackendError) as raised:
        await call(work, 1)
    assert isinstance(raised.value.__cause__, ConnectionError)
    assert runs == []  # the read failed before the function ran

    backend.storage.failing = {"put"}
    with pytest.raises(BackendError):
        await call(work, 1)
    assert runs == [1]


async def test_failing_invalidate_and_cache_clear_raise(mode: str, backend: Any) -> None:
    work, _ = make_function(mode, backend)
    backend.storage.failure = ConnectionError("down")
    with pytest.raises(BackendError):
        await call(work.invalidate, 1)
    with pytest.raises(BackendError):
        await call(work.cache_clear)


async def test_cache_clear_decorator_fails_open(mode: str, backend: Any, caplog: pytest.LogCaptureFixture) -> None:
    front = Cache(backend)

    def body() -> str:
        return "ran"

    async def async_body() -> str:
        return "ran"

    clearing = front.clear(body if mode == "sync" else async_body)
    backend.storage.failure = ConnectionError("down")
    assert await call(clearing) == "ran"
    assert len(warnings(caplog)) == 1

    strict = Cache(backend, fail_open=False).clear(body if mode == "sync" else async_body)
    with pytest.raises(BackendError):
        await call(strict)


# -- direct calls ---------------------------------------------------------------------------------


DIRECT_CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("get", ("k",)),
    ("get_or_default", ("k",)),
    ("put", ("k", "v")),
    ("remove", ("k",)),
    ("remove_expired", ()),
    ("clear", ()),
    ("clear", ("ns",)),
    ("get_many", (["k"],)),
    ("put_many", ({"k": "v"},)),
]


@pytest.mark.parametrize(("name", "args"), DIRECT_CALLS, ids=[f"{name}{args}" for name, args in DIRECT_CALLS])
async def test_direct_calls_raise_backend_error_with_the_cause(backend: Any, name: str, args: tuple[Any, ...]) -> None:
    cause = ConnectionError("connection refused")
    backend.storage.failure = cause
    with pytest.raises(BackendError) as raised:
        await call(getattr(backend, name), *args)
    error = raised.value
    assert error.__cause__ is cause
    assert isinstance(error, CacheError)
    assert not isinstance(error, BackendTimeoutError)
    assert type(backend).__name__ in str(error)
    assert "connection refused" in str(error)


async def test_driver_timeouts_become_backend_timeout_errors(backend: Any) -> None:
    backend.storage.failure = TimeoutError("read timed out")
    with pytest.raises(BackendTimeoutError) as raised:
        await call(backend.get, "k")
    assert isinstance(raised.value, TimeoutError)
    assert isinstance(raised.value, BackendError)
    assert "timed out" in str(raised.value)


async def test_backends_name_their_own_timeout_errors(backend: Any) -> None:
    class DriverTimeoutError(Exception):
        pass

    backend.timeout_errors = (DriverTimeoutError,)
    backend.storage.failure = DriverTimeoutError("slow")
    with pytest.raises(BackendTimeoutError):
        await call(backend.put, "k", "v")


async def test_failed_write_leaves_other_entries_alone(backend: Any) -> None:
    await call(backend.put, "a", 1)
    backend.storage.failure = ConnectionError("down")
    backend.storage.failing = {"put"}
    with pytest.raises(BackendError):
        await call(backend.put, "b", 2)
    assert await call(backend.get_many, ["a", "b"]) == {"a": 1}


# -- circuit breaker ------------------------------------------------------------------------------


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


def breaker_backend(mode: str, monotonic: Monotonic, rows_backend: Any, async_rows_backend: Any) -> Any:
    kind = type(rows_backend if mode == "sync" else async_rows_backend)
    return kind(breaker=CircuitBreaker(failures=3, reset_after=10, clock=monotonic))


async def test_breaker_opens_after_consecutive_failures(
    mode: str, monotonic: Monotonic, rows_backend: Any, async_rows_backend: Any
) -> None:
    backend = breaker_backend(mode, monotonic, rows_backend, async_rows_backend)
    storage = backend.storage
    storage.failure = ConnectionError("down")
    for _ in range(3):
        with pytest.raises(BackendError) as raised:
            await call(backend.get, "k")
        assert not isinstance(raised.value, BackendUnavailableError)
    assert backend.breaker.is_open
    touched = storage.operations
    with pytest.raises(BackendUnavailableError, match="3 consecutive failures"):
        await call(backend.put, "k", "v")
    monotonic.now += 9.9
    with pytest.raises(BackendUnavailableError):
        await call(backend.get, "k")
    assert storage.operations == touched  # the storage is left alone while open


async def test_breaker_probes_after_reset_after(
    mode: str, monotonic: Monotonic, rows_backend: Any, async_rows_backend: Any
) -> None:
    backend = breaker_backend(mode, monotonic, rows_backend, async_rows_backend)
    storage = backend.storage
    storage.failure = ConnectionError("down")
    for _ in range(3):
        with pytest.raises(BackendError):
            await call(backend.get, "k")

    monotonic.now += 10
    touched = storage.operations
    with pytest.raises(BackendError) as raised:  # the probe reaches the storage, which still fails
        await call(backend.get, "k")
    assert not isinstance(raised.value, BackendUnavailableError)
    assert storage.operations == touched + 1
    with pytest.raises(BackendUnavailableError):  # open again for another interval
        await call(backend.get, "k")

    monotonic.now += 10
    storage.failure = None
    await call(backend.put, "k", "v")  # the probe succeeds and closes the circuit
    assert not backend.breaker.is_open
    assert await call(backend.get, "k") == "v"


async def test_breaker_needs_consecutive_failures(
    mode: str, monotonic: Monotonic, rows_backend: Any, async_rows_backend: Any
) -> None:
    backend = breaker_backend(mode, monotonic, rows_backend, async_rows_backend)
    storage = backend.storage
    for _ in range(3):
        storage.failure = ConnectionError("blip")
        for _ in range(2):
            with pytest.raises(BackendError):
                await call(backend.get, "k")
        storage.failure = None
        await call(backend.get_or_default, "k")
    assert not backend.breaker.is_open


async def test_decorated_calls_skip_an_open_breaker(
    mode: str, monotonic: Monotonic, rows_backend: Any, async_rows_backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = breaker_backend(mode, monotonic, rows_backend, async_rows_backend)
    work, runs = make_function(mode, backend)
    backend.storage.failure = ConnectionError("down")
    for x in range(10):
        assert await call(work, x) == x * 2
    assert backend.storage.operations == 3  # then the breaker opened
    assert len(runs) == 10
    assert len(warnings(caplog)) == 1

    backend.storage.failure = None
    monotonic.now += 10
    assert await call(work, 1) == 2
    assert await call(work, 1) == 2
    assert work.cache_info().hits == 1
    assert "works again" in warnings(caplog)[-1]


@pytest.mark.parametrize(
    "options", [{"failures": 0}, {"failures": 1.5}, {"failures": True}, {"reset_after": 0}, {"reset_after": -1}]
)
def test_breaker_rejects_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(**options)


def test_backend_rejects_a_breaker_of_another_type(rows_backend: Any) -> None:
    with pytest.raises(TypeError, match="CircuitBreaker"):
        type(rows_backend)(breaker=object())


def test_an_operation_in_flight_when_an_outage_starts_does_not_end_it(caplog: pytest.LogCaptureFixture) -> None:
    """One warning when an outage starts and one when it ends, whatever was in flight."""
    import threading

    from cache_core import Backend, cached
    from cache_core._policy import Entry

    class Flaky(Backend):
        def __init__(self) -> None:
            super().__init__()
            self.gate = threading.Event()
            self.down = False

        def _get(self, namespace: str, key: str) -> Entry | None:
            if threading.current_thread().name == "in-flight":
                self.gate.wait(5)  # started before the outage; succeeds after it began
                return None
            if self.down:
                msg = "server gone"
                raise ConnectionError(msg)
            return None

        def _put(self, namespace: str, key: str, payload: object, ttl: float | None, expires_at: float | None) -> None:
            if self.down:
                msg = "server gone"
                raise ConnectionError(msg)

        def _remove(self, namespace: str, key: str) -> bool:
            return False

        def _remove_expired(self, now: float) -> int:
            return 0

        def _clear(self, namespace: str | None) -> None:
            return None

    backend = Flaky()

    @cached(cache=backend)
    def value(x: int) -> int:
        return x

    with caplog.at_level(logging.WARNING, logger="cache_core"):
        in_flight = threading.Thread(target=value, args=(1,), name="in-flight")
        in_flight.start()
        backend.down = True
        assert value(2) == 2  # fails open: the outage starts
        backend.gate.set()
        in_flight.join()  # its read succeeds, but it began before the outage
        assert value(3) == 3  # still down
        backend.down = False
        assert value(4) == 4  # the first operation begun during the outage that succeeds ends it
        assert value(5) == 5
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "failed" in warnings[0]
    assert "works again" in warnings[1]
