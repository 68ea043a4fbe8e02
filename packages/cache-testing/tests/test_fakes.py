"""RecordingBackend and FaultyBackend, as a downstream test suite would use them."""

from __future__ import annotations

import logging

import pytest
from cache_core import (
    Backend,
    BackendError,
    BackendTimeoutError,
    CacheMiss,
    DictCache,
    JsonSerializer,
    SyncDictCache,
    cached,
)
from cache_testing import (
    FaultyBackend,
    NoCache,
    RecordingBackend,
    SyncFaultyBackend,
    SyncNoCache,
    SyncRecordingBackend,
    TestClock,
)


class _JsonDict(SyncDictCache):
    """In-memory storage that encodes values, so corruption can be injected."""

    def __init__(self) -> None:
        super().__init__()
        self.serializer = JsonSerializer()

    _lookup = Backend._lookup  # the template's lookup, which decodes payloads


async def test_recording_backend_records_keys_namespaces_and_ttls() -> None:
    recording = RecordingBackend(DictCache())

    @cached(cache=recording, ttl=60, namespace="prices")
    async def price(item: str) -> float:
        return 1.5

    assert await price("tea") == 1.5
    assert await price("tea") == 1.5
    recording.assert_put(key_contains="'tea'", ttl=60, namespace="prices", value=1.5, times=1)
    recording.assert_miss(key_contains="'tea'")
    recording.assert_hit(key_contains="'tea'")
    assert [operation.name for operation in recording.operations] == ["get", "put", "get"]
    with pytest.raises(AssertionError, match=r"expected any 'put' with .*'ttl': 30.*recorded 'put' operations"):
        recording.assert_put(ttl=30)
    with pytest.raises(AssertionError, match="exactly 2"):
        recording.assert_put(times=2)
    recording.reset()
    recording.assert_not_called("put")


def test_sync_recording_and_sync_functions_over_the_async_in_memory_backend() -> None:
    recording = RecordingBackend(DictCache())

    @cached(cache=recording)
    def double(x: int) -> int:
        return 2 * x

    assert double(2) == double(2) == 4
    assert len(recording.puts) == 1
    assert len(recording.hits) == 1
    sync_recording = SyncRecordingBackend(SyncDictCache())
    sync_recording.put("k", 1, ttl=5)
    sync_recording.assert_put("k", ttl=5)
    sync_recording.clear("ns")
    assert sync_recording.calls("clear")[0].namespace == "ns"


async def test_faulty_backend_failures_follow_the_schedule() -> None:
    faulty = FaultyBackend(DictCache())
    faulty.fail("get", times=2, after=1)
    await faulty.put("k", 1)
    assert await faulty.get("k") == 1  # call 1: spared by after=1
    for _ in range(2):
        with pytest.raises(BackendError) as caught:
            await faulty.get("k")
        assert isinstance(caught.value.__cause__, ConnectionError)
    assert await faulty.get("k") == 1  # times=2 used up
    faulty.fail("put", error=PermissionError("read-only"), every=2)
    outcomes = []
    for n in range(4):
        try:
            await faulty.put(f"p{n}", n)
            outcomes.append("ok")
        except BackendError as exc:
            outcomes.append("failed" if "read-only" in str(exc) else repr(exc))
    assert outcomes == ["failed", "ok", "failed", "ok"]
    faulty.heal()
    await faulty.put("p0", 0)


async def test_decorated_calls_fail_open_through_a_faulty_backend(caplog: pytest.LogCaptureFixture) -> None:
    faulty = FaultyBackend(DictCache())
    runs: list[int] = []

    @cached(cache=faulty)
    async def compute(x: int) -> int:
        runs.append(x)
        return x + 1

    faulty.fail("get", "put")
    with caplog.at_level(logging.WARNING, logger="cache_core"):
        assert [await compute(1) for _ in range(5)] == [2] * 5
    assert runs == [1] * 5
    assert compute.cache_info().errors == 10
    assert len([record for record in caplog.records if "failed" in record.getMessage()]) == 1
    faulty.heal()
    assert await compute(1) == 2
    assert await compute(1) == 2
    assert runs == [1] * 6


async def test_hang_raises_a_timeout_after_the_delay() -> None:
    faulty = FaultyBackend(DictCache())
    faulty.hang("get", seconds=0.05, times=1)
    with pytest.raises(BackendTimeoutError):
        await faulty.get("k")
    with pytest.raises(CacheMiss):
        await faulty.get("k")


def test_corrupted_reads_are_misses_not_crashes(caplog: pytest.LogCaptureFixture) -> None:
    inner = _JsonDict()
    inner.put("k", {"v": 1})
    faulty = SyncFaultyBackend(inner)
    faulty.corrupt(times=1)
    with caplog.at_level(logging.WARNING, logger="cache_core"):
        with pytest.raises(CacheMiss):
            faulty.get("k")
    assert "undecodable" in caplog.text
    assert faulty.get("k") == {"v": 1}


def test_fault_options_are_checked() -> None:
    faulty = SyncFaultyBackend(SyncDictCache())
    with pytest.raises(ValueError, match="unknown operation"):
        faulty.fail("gett")
    with pytest.raises(ValueError, match="times must be"):
        faulty.fail("get", times=0)


async def test_nocache_remembers_nothing_in_either_mode() -> None:
    runs: list[int] = []

    @cached(cache=NoCache())
    async def a(x: int) -> int:
        runs.append(x)
        return x

    @cached(cache=NoCache())
    def b(x: int) -> int:
        runs.append(-x)
        return x

    @cached(cache=SyncNoCache())
    def c(x: int) -> int:
        runs.append(x * 10)
        return x

    for _ in range(2):
        await a(1)
        b(1)
        c(1)
    assert runs == [1, -1, 10, 1, -1, 10]
    with pytest.raises(CacheMiss):
        await NoCache().get("anything")


async def test_test_clock_moves_only_when_told() -> None:
    clock = TestClock(start=1000.0)
    assert clock.now() == 1000.0
    await clock.sleep(3600)
    assert clock.now() == 4600.0
    assert clock.advance(0.5) == 4600.5
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    cache = DictCache(clock=clock)
    await cache.put("hour", 1, ttl=3600)
    clock.advance(3599)
    assert await cache.get("hour") == 1
    clock.advance(1)
    assert await cache.get_or_default("hour") is None
