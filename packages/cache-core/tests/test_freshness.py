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


class _Held:
    """A sync function with freshness options whose recomputations wait until ``release`` is set."""

    def __init__(self, shape: str, cache: SyncDictCache, **options: Any) -> None:
        self.runs: list[int] = []
        self.calls = 0
        self.release = threading.Event()
        self.fail = False
        self.argument: Any = [1] if shape == "list" else 1  # a list: no hot key
        if shape == "key_maker":  # a *args/**kwargs wrapper, no hot index
            options["key_maker"] = lambda fn, args, kwargs: repr(args)
        if shape == "early_refresh":  # no hot index either
            options["early_refresh"] = True

        @cached(cache=cache, ttl=10, **options)
        def function(x: Any) -> int:
            self.runs.append(1)
            if len(self.runs) > 1:
                assert self.release.wait(5)
                if self.fail:
                    msg = "refresh failed"
                    raise RuntimeError(msg)
            return len(self.runs)

        self.function = function

    def __call__(self) -> int:
        self.calls += 1
        return self.function(self.argument)

    def counted(self) -> int:
        """Every call counted once: as a hit, a miss or a stale value served."""
        info = self.function.cache_info()
        return info.hits + info.misses + info.stale


SHAPES = ["int", "list", "key_maker", "early_refresh"]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_stale_call_while_a_refresh_runs_gets_the_stale_value_and_is_counted(shape: str) -> None:
    clock = TestClock()
    held = _Held(shape, SyncDictCache(clock=clock), stale_while_revalidate=100)
    assert held() == 1
    clock.advance(11)
    assert [held() for _ in range(50)] == [1] * 50
    _wait_for(lambda: len(held.runs) == 2)  # the one refresh, held
    assert [held() for _ in range(50)] == [1] * 50
    assert held.function.cache_info().stale == 100
    held.release.set()
    _wait_for(lambda: held() == 2)
    assert held() == 2
    assert held.runs == [1, 1]
    assert held.counted() == held.calls
    assert held.function.cache_info().misses == 1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("change", ["invalidate", "cache_clear", "window ends"])
def test_no_stale_value_once_the_entry_is_gone_or_too_old_while_its_refresh_runs(shape: str, change: str) -> None:
    clock = TestClock()
    # stale_if_error keeps the entry stored after stale_while_revalidate ends
    held = _Held(shape, SyncDictCache(clock=clock), stale_while_revalidate=100, stale_if_error=1000)
    held()
    clock.advance(11)
    _wait_for(lambda: held() == 1 and len(held.runs) == 2)
    if change == "invalidate":
        held.function.invalidate(held.argument)
    elif change == "cache_clear":
        held.function.cache_clear()
    else:
        clock.advance(100)  # 111 s after the value was computed: past ttl + stale_while_revalidate
    results: list[int] = []
    waiting = threading.Thread(target=lambda: results.append(held()))
    waiting.start()
    waiting.join(0.1)
    assert results == []  # no stale value: it computes (and waits, as the refresh under way does)
    held.release.set()
    waiting.join(5)
    assert results == [3]
    assert held.runs == [1, 1, 1]


@pytest.mark.parametrize("shape", SHAPES)
def test_after_a_failed_refresh_the_next_stale_call_starts_another(shape: str) -> None:
    clock = TestClock()
    held = _Held(shape, SyncDictCache(clock=clock), stale_while_revalidate=100)
    held()
    clock.advance(11)
    held.fail = True
    held.release.set()
    _wait_for(lambda: held() == 1 and len(held.runs) >= 3)  # a second refresh after the first failed
    held.fail = False
    _wait_for(lambda: held() > 1)
    assert held.counted() == held.calls


def test_stale_calls_keep_a_stale_entry_recently_used_under_maxsize() -> None:
    clock = TestClock()
    cache = SyncDictCache(maxsize=2, clock=clock)
    held = _Held("int", cache, stale_while_revalidate=100)

    @cached(cache=cache)
    def other(x: int) -> int:
        return x

    held()
    other(1)
    clock.advance(11)
    _wait_for(lambda: held() == 1 and len(held.runs) == 2)
    other(1)  # now the most recently used
    assert [held() for _ in range(3)] == [1, 1, 1]  # stale calls: the stale entry is used last
    other(2)  # evicts the least recently used: other(1)'s entry
    assert held() == 1  # still there: a stale value, not a wait for the refresh
    assert other.cache_info().misses == 2
    other(1)
    assert other.cache_info().misses == 3
    held.release.set()
    _wait_for(lambda: held() == 2)


async def test_async_stale_calls_while_a_refresh_runs() -> None:
    clock = TestClock()
    runs: list[int] = []
    release = asyncio.Event()

    @cached(cache=DictCache(clock=clock), ttl=10, stale_while_revalidate=100)
    async def value(x: int) -> int:
        runs.append(x)
        if len(runs) > 1:
            await release.wait()
        return len(runs)

    assert await value(1) == 1
    clock.advance(11)
    assert await asyncio.gather(*(value(1) for _ in range(50))) == [1] * 50
    await asyncio.sleep(0.01)
    assert await asyncio.gather(*(value(1) for _ in range(50))) == [1] * 50
    assert value.cache_info().stale == 100
    assert await value.invalidate(1)
    waiting = asyncio.ensure_future(value(1))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # no stale value once invalidated: it computes
    release.set()
    assert await waiting == 3
    assert runs == [1, 1, 1]
    info = value.cache_info()
    assert (info.hits, info.misses, info.stale) == (0, 2, 100)
