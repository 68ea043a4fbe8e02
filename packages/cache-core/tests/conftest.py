"""Shared fixtures: a fake clock, a fresh process-wide default backend per test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from cache_core import Clock, DictCache, set_default_backend

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
