"""The cross-process lock contract (``cached(lock=True)``), part of ``BackendContract``.

Several decorated functions sharing one key stand for several processes: each has its
own in-process single flight, so only the backend's lock keeps them from computing
the same value at once. Backends without a lock (``supports_lock`` false: in-process
storage needs none) skip these tests.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from cache_core import AsyncBackend, Backend, cached

if TYPE_CHECKING:
    from .conformance import AsyncView
    from .conformance import _Contract as Contract

_NAMESPACE = "lock-contract"
_KEY = "shared"
_CALLERS = 4


def _shared_key(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return _KEY


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    result = function(*args)
    return await result if inspect.isawaitable(result) else result


async def _race(cache: AsyncView, *, lock: float, work: float) -> tuple[list[Any], list[int]]:
    """``_CALLERS`` functions, each decorated on its own, miss the same key at once."""
    runs: list[int] = []
    backend = cache.backend
    options: dict[str, Any] = {"cache": backend, "namespace": _NAMESPACE, "key_maker": _shared_key, "lock": lock}
    if cache.is_async:

        def make_async(number: int) -> Callable[[], Any]:
            @cached(**options)
            async def compute() -> str:
                runs.append(number)
                await asyncio.sleep(work)
                return f"computed by {number}"

            return compute

        functions = [make_async(number) for number in range(_CALLERS)]
        results = await asyncio.gather(*(function() for function in functions))
        return list(results), runs

    def make_sync(number: int) -> Callable[[], Any]:
        @cached(**options)
        def compute() -> str:
            runs.append(number)
            time.sleep(work)
            return f"computed by {number}"

        return compute

    loop = asyncio.get_running_loop()
    functions = [make_sync(number) for number in range(_CALLERS)]
    results = await asyncio.gather(*(loop.run_in_executor(None, function) for function in functions))
    return list(results), runs


class LockContract:
    """``cached(lock=...)`` across processes: one computation per key, also when a holder died."""

    @staticmethod
    def need_lock(backend: AsyncBackend | Backend) -> None:
        if not backend.supports_lock:
            pytest.skip("backend offers no cross-process lock (in-process storage needs none)")

    def test_lock_is_exclusive_until_released(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            self.need_lock(cache.backend)
            take = cache.backend._try_lock
            release = cache.backend._unlock
            token = await _call(take, _NAMESPACE, "k", 30.0)
            assert isinstance(token, str)
            assert await _call(take, _NAMESPACE, "k", 30.0) is None
            assert await _call(take, _NAMESPACE, "other", 30.0) is not None  # locks are per key
            assert await _call(release, _NAMESPACE, "k", "not the token") is False
            assert await _call(release, _NAMESPACE, "k", token) is True
            assert isinstance(await _call(take, _NAMESPACE, "k", 30.0), str)

        contract.run(body, use_clock=False)

    def test_concurrent_misses_compute_once(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            self.need_lock(cache.backend)
            results, runs = await _race(cache, lock=10.0, work=0.3)
            assert len(runs) == 1
            assert results == [f"computed by {runs[0]}"] * _CALLERS

        contract.run(body, use_clock=False)

    def test_a_dead_holders_lock_is_taken_over_by_exactly_one_waiter(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            self.need_lock(cache.backend)
            # A holder that died: it took the lock and will never release it or store.
            dead = await _call(cache.backend._try_lock, _NAMESPACE, _KEY, 0.5)
            assert dead is not None
            started = time.monotonic()
            results, runs = await _race(cache, lock=0.5, work=0.2)
            assert len(runs) == 1, f"{len(runs)} callers computed after the holder's lock expired"
            assert results == [f"computed by {runs[0]}"] * _CALLERS
            assert time.monotonic() - started < 5  # bounded: the lock's life, then one computation

        contract.run(body, use_clock=False)
