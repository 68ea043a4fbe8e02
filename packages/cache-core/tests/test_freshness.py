"""Freshness options: validation, early refresh (XFetch), and what the background refresh does.

Every backend runs the stale-value, refresh and batch tests of the conformance suite
(``cache_testing._freshness_contract``); these are the parts that need no backend.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from cache_core import DictCache, InvalidTTLError, SyncDictCache, cached, cached_many
from cache_testing import TestClock


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"stale_while_revalidate": 30}, ValueError),  # no ttl
        ({"ttl": 60, "stale_while_revalidate": -1}, InvalidTTLError),
        ({"ttl": 60, "stale_if_error": float("inf")}, InvalidTTLError),
        ({"ttl": 60, "early_refresh": 0}, ValueError),
        ({"ttl": 60, "early_refresh": "yes"}, ValueError),
    ],
)
def test_bad_freshness_options_are_refused_at_decoration(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        cached(**options)


def test_cached_many_takes_no_freshness_options() -> None:
    with pytest.raises(TypeError, match="cached_many"):

        @cached_many(ttl=60, stale_while_revalidate=10)
        def load(ids: list[int]) -> dict[int, int]:
            return {}


def test_timedelta_windows() -> None:
    clock = TestClock()

    @cached(cache=SyncDictCache(clock=clock), ttl=timedelta(minutes=1), stale_if_error=timedelta(hours=1))
    def value() -> int:
        if value.calls:  # type: ignore[attr-defined]
            raise RuntimeError
        value.calls += 1  # type: ignore[attr-defined]
        return 1

    value.calls = 0  # type: ignore[attr-defined]
    assert value() == 1
    clock.advance(59 * 60)
    assert value() == 1
    assert value.cache_info().stale == 1


def _early(factor: float, duration: float) -> tuple[Any, list[int], TestClock]:
    clock = TestClock()
    runs: list[int] = []

    @cached(cache=SyncDictCache(clock=clock), ttl=100, early_refresh=factor)
    def slow(x: int) -> int:
        runs.append(x)
        clock.advance(duration)  # the function "takes" this long on the cache's clock
        return len(runs)

    return slow, runs, clock


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_early_refresh_recomputes_before_expiry_in_the_background() -> None:
    slow, runs, clock = _early(factor=1e6, duration=1.0)  # XFetch all but certainly fires
    assert slow(1) == 1
    clock.advance(90)
    assert slow(1) == 1  # the current value, at once
    _wait_for(lambda: len(runs) >= 2)
    _wait_for(lambda: slow(1) >= 2)  # the early value replaced the old one (and is refreshed early again)
    assert slow.cache_info().stale == 0


def test_early_refresh_of_an_instant_function_waits_for_expiry() -> None:
    slow, runs, clock = _early(factor=1.0, duration=0.0)  # took no time: nothing to hide
    slow(1)
    clock.advance(99)
    for _ in range(100):
        slow(1)
    assert runs == [1]


def test_one_background_refresh_per_key_under_threads() -> None:
    clock = TestClock()
    runs: list[int] = []
    release = threading.Event()

    @cached(cache=SyncDictCache(clock=clock), ttl=10, stale_while_revalidate=100)
    def value(x: int) -> int:
        runs.append(x)
        if len(runs) > 1:
            release.wait(5)
        return len(runs)

    value(1)
    clock.advance(11)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(value(1))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 16  # every caller got the stale value at once
    release.set()
    _wait_for(lambda: value(1) == 2)
    assert runs == [1, 1]


async def test_a_failing_background_refresh_is_logged_and_keeps_the_stale_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = TestClock()
    runs: list[int] = []

    @cached(cache=DictCache(clock=clock), ttl=10, stale_while_revalidate=100)
    async def value() -> str:
        runs.append(1)
        if len(runs) > 1:
            msg = "refresh failed"
            raise RuntimeError(msg)
        return "old"

    assert await value() == "old"
    clock.advance(11)
    with caplog.at_level(logging.WARNING, logger="cache_core"):
        assert await value() == "old"
        for _ in range(100):
            if len(runs) == 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)
    assert "background refresh" in caplog.text
    assert await value() == "old"  # still within the stale window; errors are never cached
