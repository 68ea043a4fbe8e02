"""cached(lock=...): single flight across independent decorations via the backend's lock.

Two separately decorated wrappers of one function share nothing in-process, like
two processes; only the backend's lock can keep them from both computing.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
from cache_core import AsyncBackend, Backend, DictCache, Entry, cached


class _LockingStore:
    """Shared storage and locks (stands in for a server shared by processes)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], Entry] = {}
        self.locks: dict[tuple[str, str], tuple[str, float]] = {}
        self.guard = threading.Lock()

    def acquire(self, namespace: str, key: str, ttl: float) -> str | None:
        with self.guard:
            held = self.locks.get((namespace, key))
            if held is not None and held[1] > time.monotonic():
                return None
            token = uuid.uuid4().hex
            self.locks[namespace, key] = (token, time.monotonic() + ttl)
            return token

    def release(self, namespace: str, key: str, token: str) -> bool:
        with self.guard:
            held = self.locks.get((namespace, key))
            if held is None or held[0] != token:
                return False
            del self.locks[namespace, key]
            return True


class AsyncLockingBackend(AsyncBackend):
    def __init__(self, store: _LockingStore) -> None:
        super().__init__()
        self.store = store

    async def _get(self, namespace: str, key: str) -> Entry | None:
        return self.store.entries.get((namespace, key))

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        self.store.entries[namespace, key] = (payload, expires_at)

    async def _remove(self, namespace: str, key: str) -> bool:
        return self.store.entries.pop((namespace, key), None) is not None

    async def _remove_expired(self, now: float) -> int:
        return 0

    async def _clear(self, namespace: str | None) -> None:
        self.store.entries.clear()

    async def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        return self.store.acquire(namespace, key, ttl)

    async def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        return self.store.release(namespace, key, token)


class SyncLockingBackend(Backend):
    def __init__(self, store: _LockingStore) -> None:
        super().__init__()
        self.store = store

    def _get(self, namespace: str, key: str) -> Entry | None:
        return self.store.entries.get((namespace, key))

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        self.store.entries[namespace, key] = (payload, expires_at)

    def _remove(self, namespace: str, key: str) -> bool:
        return self.store.entries.pop((namespace, key), None) is not None

    def _remove_expired(self, now: float) -> int:
        return 0

    def _clear(self, namespace: str | None) -> None:
        self.store.entries.clear()

    def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        return self.store.acquire(namespace, key, ttl)

    def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        return self.store.release(namespace, key, token)


def _key(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return f"report:{args}"


async def test_async_lock_runs_the_function_once_across_independent_wrappers() -> None:
    store = _LockingStore()
    runs: list[int] = []

    async def report(n: int) -> str:
        runs.append(n)
        await asyncio.sleep(0.1)
        return f"report {n}"

    wrappers = [cached(cache=AsyncLockingBackend(store), key_maker=_key, lock=5)(report) for _ in range(4)]
    results = await asyncio.gather(*(wrapper(7) for wrapper in wrappers))
    assert results == ["report 7"] * 4
    assert runs == [7]
    assert store.locks == {}


def test_sync_lock_runs_the_function_once_across_threads_and_wrappers() -> None:
    store = _LockingStore()
    runs: list[int] = []

    def report(n: int) -> str:
        runs.append(n)
        time.sleep(0.1)
        return f"report {n}"

    wrappers = [cached(cache=SyncLockingBackend(store), key_maker=_key, lock=True)(report) for _ in range(4)]
    results: list[str] = []
    threads = [threading.Thread(target=lambda w=wrapper: results.append(w(3))) for wrapper in wrappers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["report 3"] * 4
    assert runs == [3]


async def test_an_exception_under_the_lock_releases_it_and_is_not_cached() -> None:
    store = _LockingStore()
    attempts: list[int] = []

    @cached(cache=AsyncLockingBackend(store), lock=True)
    async def flaky(n: int) -> int:
        attempts.append(n)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return n

    with pytest.raises(RuntimeError, match="first attempt"):
        await flaky(1)
    assert store.locks == {}
    assert await flaky(1) == 1
    assert attempts == [1, 1]


async def test_an_abandoned_lock_blocks_no_longer_than_its_ttl() -> None:
    store = _LockingStore()
    store.acquire("default", "report:(9,)", 0.3)  # a holder that crashed
    started = time.monotonic()

    @cached(cache=AsyncLockingBackend(store), key_maker=_key, lock=0.3)
    async def report(n: int) -> int:
        return n

    assert await report(9) == 9
    assert time.monotonic() - started < 2


def test_lock_needs_a_backend_that_has_one() -> None:
    class NoLock(SyncLockingBackend):
        _acquire_lock = Backend._acquire_lock

    with pytest.raises(TypeError, match="offers no cross-process lock"):
        cached(cache=NoLock(_LockingStore()), lock=True)(lambda: 1)
    cached(cache=DictCache(), lock=True)(lambda: 1)  # in-process: single flight suffices
    with pytest.raises(ValueError, match="lock must be"):
        cached(lock=-1)
