"""Clocks: the only source of time for expiry decisions."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod


class Clock(ABC):
    """Tells the time (seconds since the epoch) and sleeps.

    Backends compute and check every expiry with their clock, so a test clock
    (``cache_testing.TestClock``) makes a one-hour TTL testable in microseconds.
    """

    @abstractmethod
    def now(self) -> float:
        """Return the current time in seconds."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on this clock."""


class SystemClock(Clock):
    """Real time: ``time.time()`` and ``asyncio.sleep``.

    Wall-clock time rather than a monotonic one, because expiry instants are
    stored in SQLite files and servers shared with other processes.
    """

    # A hit on in-process storage with a TTL reads the clock: the C function itself
    # saves a Python call there.
    now = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
