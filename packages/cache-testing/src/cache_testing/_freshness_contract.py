"""Freshness through the decorator (stale values, refresh, batch loading), part of ``BackendContract``.

The decorator keeps what freshness needs inside the stored value (an envelope), so
every backend that round-trips tuples of its values supports it; these tests prove it
for each, on the contract's ``TestClock``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cache_core import cached, cached_many

if TYPE_CHECKING:
    from .conformance import AsyncView
    from .conformance import _Contract as Contract

_TTL = 60.0
_WINDOW = 600.0


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    result = function(*args)
    return await result if inspect.isawaitable(result) else result


def _counting(cache: AsyncView, body: Callable[[int], Any], **options: Any) -> tuple[Any, list[int]]:
    """A function decorated on ``cache`` (async for async backends) that counts its runs."""
    runs: list[int] = []
    counter = itertools.count(1)

    def run(x: int) -> Any:
        runs.append(x)
        return body(next(counter))

    if cache.is_async:

        async def compute(x: int) -> Any:
            return run(x)

    else:

        def compute(x: int) -> Any:  # type: ignore[misc]
            return run(x)

    return cached(cache=cache.backend, namespace="freshness", **options)(compute), runs


async def _eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the background refresh did not happen"
        await asyncio.sleep(0.01)


class FreshnessContract:
    """``stale_while_revalidate``, ``stale_if_error``, ``refresh()`` and ``cached_many`` on this backend."""

    def test_stale_while_revalidate_serves_the_stale_value_and_refreshes_once(self, contract: Contract) -> None:
        contract.need_clock()

        async def body(cache: AsyncView) -> None:
            fn, runs = _counting(cache, lambda n: f"v{n}", ttl=_TTL, stale_while_revalidate=_WINDOW)
            assert await _call(fn, 1) == "v1"
            contract.clock.advance(_TTL + 1)
            assert await _call(fn, 1) == "v1"  # stale, at once
            # Still stale while the refresh runs in the background; on a busy machine the refresh
            # (a thread, or a task that ran during this call's read) may already have stored v2
            # by now, and then this call was a hit. Either way, one refresh.
            third = await _call(fn, 1)
            assert third in ("v1", "v2")
            await _eventually(lambda: len(runs) == 2)
            await _eventually(lambda: fn.cache_info().stale >= 1)
            await asyncio.sleep(0.05)
            assert await _call(fn, 1) == "v2"  # refreshed, with a fresh TTL
            assert len(runs) == 2
            contract.clock.advance(_TTL + _WINDOW + 1)  # past the stale window: a plain miss
            assert await _call(fn, 1) == "v3"
            info = fn.cache_info()
            assert (info.stale, len(runs)) == (2 if third == "v1" else 1, 3)

        contract.run(body)

    def test_stale_if_error_serves_the_stale_value_within_its_window(self, contract: Contract) -> None:
        contract.need_clock()

        def body_of(n: int) -> str:
            if n > 1:
                msg = "the dependency is down"
                raise RuntimeError(msg)
            return "good"

        async def body(cache: AsyncView) -> None:
            fn, runs = _counting(cache, body_of, ttl=_TTL, stale_if_error=_WINDOW)
            assert await _call(fn, 1) == "good"
            contract.clock.advance(_TTL + 1)
            assert await _call(fn, 1) == "good"  # recomputing failed: the stale value
            assert fn.cache_info().stale == 1
            contract.clock.advance(_WINDOW)
            try:
                await _call(fn, 1)
            except RuntimeError:
                pass
            else:
                msg = "past stale_if_error, the error must propagate"
                raise AssertionError(msg)
            assert len(runs) == 3

        contract.run(body)

    def test_refresh_recomputes_and_stores(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            fn, runs = _counting(cache, lambda n: f"v{n}", ttl=_TTL)
            assert await _call(fn, 7) == "v1"
            assert await _call(fn.refresh, 7) == "v2"
            assert await _call(fn, 7) == "v2"
            assert runs == [7, 7]

        contract.run(body)

    def test_cached_many_loads_only_the_missing_ids(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            batches: list[list[int]] = []

            def load(ids: list[int]) -> dict[int, str]:
                batches.append(list(ids))
                return {i: f"user {i}" for i in ids if i != 13}  # 13 does not exist

            if cache.is_async:

                @cached_many(cache=cache.backend, namespace="many", ttl=_TTL)
                async def users(ids: list[int]) -> dict[int, str]:
                    return load(ids)

            else:

                @cached_many(cache=cache.backend, namespace="many", ttl=_TTL)
                def users(ids: list[int]) -> dict[int, str]:
                    return load(ids)

            assert await _call(users, [1, 2, 3]) == {1: "user 1", 2: "user 2", 3: "user 3"}
            assert await _call(users, [5, 3, 13, 1]) == {5: "user 5", 3: "user 3", 1: "user 1"}
            assert batches == [[1, 2, 3], [5, 13]]
            info = users.cache_info()
            assert (info.hits, info.misses) == (2, 5)

        contract.run(body)
