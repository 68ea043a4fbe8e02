"""The outage log: one warning when a backend starts failing, one when it works again."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("cache_core")


class OutageLog:
    """Whether one backend is in an outage, logged once at its start and once at its end.

    Failures are counted while it lasts (logged at debug level). Only an operation that
    *started* after the outage began can end it: a request already in flight when the
    server died may still succeed, and must not announce a recovery that did not happen.
    """

    __slots__ = ("_failures", "_generation", "_lock", "_owner", "_started_at")

    def __init__(self, owner: object) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._failures = 0  # 0: no outage
        self._generation = 0  # bumped when an outage starts
        self._started_at = 0

    @property
    def down(self) -> bool:
        return self._failures > 0

    def generation(self) -> int:
        """A mark taken when an operation starts, passed back to ``succeeded``."""
        return self._generation

    def failed(self, exc: BaseException, where: str) -> None:
        with self._lock:
            self._failures += 1
            first = self._failures == 1
            if first:
                self._generation += 1
                self._started_at = self._generation
        if first:
            logger.warning("cache backend %r failed in %s; serving uncached results: %s", self._owner, where, exc)
        else:
            logger.debug("cache backend %r still failing in %s: %s", self._owner, where, exc)

    def succeeded(self, started: int | None = None) -> None:
        """An operation succeeded; ``started`` is its ``generation()`` mark, if it took one."""
        if not self._failures:
            return
        with self._lock:
            count = self._failures
            if not count or (started is not None and started < self._started_at):
                return
            self._failures = 0
        logger.warning("cache backend %r works again after %d failed operations", self._owner, count)
