"""Shared fixtures: a fake clock, a fresh default backend per test, small backends that can fail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from cache_core import AsyncBackend, Backend, Clock, DictCache, Entry, JsonSerializer, set_default_backend

# tests/typing/api.py is checked by mypy and never run.
collect_ignore_glob = ["typing/*"]


class FakeClock(Clock):
    """Virtual time: ``advance(n)`` and ``await sleep(n)`` move it at once."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    async def sleep(self, seconds: float) -> None:
        self.time += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory(clock: FakeClock) -> DictCache:
    """An async in-memory backend on the fake clock."""
    return DictCache(clock=clock)


@pytest.fixture(autouse=True)
def fresh_default_backend() -> Iterator[DictCache]:
    """Give every test its own default backend (what ``cached`` without ``cache=`` uses)."""
    backend = DictCache()
    previous = set_default_backend(backend)
    try:
        yield backend
    finally:
        set_default_backend(previous)


class Rows:
    """Storage for the test backends below; operations in ``failing`` raise ``failure`` while it is set.

    The failure stands for a storage that is down: the backends' own contract is to turn
    it into ``BackendError`` for direct calls and into fail-open for decorated calls.
    """

    OPERATIONS = frozenset({"get", "put", "remove", "remove_expired", "clear"})

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Entry] = {}
        self.failure: Exception | None = None
        self.failing = self.OPERATIONS  # which operations raise ``failure``
        self.operations = 0

    def check(self, operation: str) -> None:
        self.operations += 1
        if self.failure is not None and operation in self.failing:
            raise self.failure

    def get(self, namespace: str, key: str) -> Entry | None:
        self.check("get")
        return self.rows.get((namespace, key))

    def put(self, namespace: str, key: str, payload: Any, expires_at: float | None) -> None:
        self.check("put")
        self.rows[namespace, key] = (payload, expires_at)

    def remove(self, namespace: str, key: str) -> bool:
        self.check("remove")
        return self.rows.pop((namespace, key), None) is not None

    def remove_expired(self, now: float) -> int:
        self.check("remove_expired")
        doomed = [place for place, (_, at) in self.rows.items() if at is not None and at <= now]
        for place in doomed:
            del self.rows[place]
        return len(doomed)

    def clear(self, namespace: str | None) -> None:
        self.check("clear")
        for place in [place for place in self.rows if namespace is None or place[0] == namespace]:
            del self.rows[place]


class RowsBackend(Backend):
    """A sync backend storing encoded payloads (JSON by default), as an out-of-process one would."""

    def __init__(self, storage: Rows | None = None, **options: Any) -> None:
        options.setdefault("serializer", JsonSerializer())
        super().__init__(**options)
        self.storage = storage or Rows()

    def _get(self, namespace: str, key: str) -> Entry | None:
        return self.storage.get(namespace, key)

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        self.storage.put(namespace, key, payload, expires_at)

    def _remove(self, namespace: str, key: str) -> bool:
        return self.storage.remove(namespace, key)

    def _remove_expired(self, now: float) -> int:
        return self.storage.remove_expired(now)

    def _clear(self, namespace: str | None) -> None:
        self.storage.clear(namespace)


class AsyncRowsBackend(AsyncBackend):
    """The async twin of ``RowsBackend``: async-only (no ``nonblocking``), like a network backend."""

    sync_alternative = "RowsBackend"

    def __init__(self, storage: Rows | None = None, **options: Any) -> None:
        options.setdefault("serializer", JsonSerializer())
        super().__init__(**options)
        self.storage = storage or Rows()

    async def _get(self, namespace: str, key: str) -> Entry | None:
        await asyncio.sleep(0)
        return self.storage.get(namespace, key)

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        await asyncio.sleep(0)
        self.storage.put(namespace, key, payload, expires_at)

    async def _remove(self, namespace: str, key: str) -> bool:
        return self.storage.remove(namespace, key)

    async def _remove_expired(self, now: float) -> int:
        return self.storage.remove_expired(now)

    async def _clear(self, namespace: str | None) -> None:
        self.storage.clear(namespace)


@pytest.fixture
def rows_backend(clock: FakeClock) -> RowsBackend:
    return RowsBackend(clock=clock)


@pytest.fixture
def async_rows_backend(clock: FakeClock) -> AsyncRowsBackend:
    return AsyncRowsBackend(clock=clock)


@pytest.fixture(params=["sync", "async"])
def any_rows_backend(request: pytest.FixtureRequest, clock: FakeClock) -> RowsBackend | AsyncRowsBackend:
    """Each test backend in turn (decorated functions of either mode may use both)."""
    if request.param == "sync":
        return RowsBackend(clock=clock)
    return AsyncRowsBackend(clock=clock)
