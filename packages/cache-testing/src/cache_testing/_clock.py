"""``TestClock``: virtual time that moves only when told to."""

from __future__ import annotations

import asyncio
import threading
import time

from cache_core import Clock


class TestClock(Clock):
    """A clock for tests: ``advance(n)`` and ``await sleep(n)`` move time at once.

    Starts at the real current time by default, so expiry instants stored in
    servers that also expire by wall time (MongoDB's TTL monitor) stay sensible.
    Pass it as ``clock=`` to any backend; a one-hour TTL then takes microseconds
    to test.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (must not be negative); return the new time."""
        if seconds < 0:
            msg = f"time only moves forward; got advance({seconds!r})"
            raise ValueError(msg)
        with self._lock:
            self._now += seconds
            return self._now

    async def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` at once, then let other tasks run."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"TestClock(now={self._now!r})"
