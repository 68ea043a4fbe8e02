"""A circuit breaker: stop calling a storage that keeps failing, probe it again later."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ._errors import BackendError


class BackendUnavailableError(BackendError):
    """The circuit breaker is open: the backend failed recently and is not being called."""


class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; lets one probe through every ``reset_after`` seconds.

    While open, backend calls fail at once with ``BackendUnavailableError`` instead of
    waiting for a dead server's timeout; decorated functions then simply run uncached.
    A successful probe closes the circuit.

    Args:
        failures: consecutive failures that open the circuit.
        reset_after: seconds between probes while open.
        clock: monotonic seconds; ``time.monotonic`` by default.
    """

    def __init__(
        self, *, failures: int = 3, reset_after: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
            msg = f"failures must be a positive int, got {failures!r}"
            raise ValueError(msg)
        if not reset_after > 0:
            msg = f"reset_after must be a positive number of seconds, got {reset_after!r}"
            raise ValueError(msg)
        self.failures = failures
        self.reset_after = float(reset_after)
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._retry_at: float | None = None  # set while open

    @property
    def is_open(self) -> bool:
        return self._retry_at is not None

    def allow(self) -> None:
        """Raise ``BackendUnavailableError`` while open, except for one probe per interval."""
        retry_at = self._retry_at
        if retry_at is None:
            return
        with self._lock:
            now = self._clock()
            if self._retry_at is not None and now < self._retry_at:
                msg = (
                    f"backend skipped: {self._consecutive} consecutive failures; "
                    f"next attempt in {self._retry_at - now:.1f}s"
                )
                raise BackendUnavailableError(msg)
            self._retry_at = now + self.reset_after  # this call is the probe; others wait for its outcome

    def record_success(self) -> None:
        if self._consecutive or self._retry_at is not None:
            with self._lock:
                self._consecutive = 0
                self._retry_at = None

    def record_failure(self) -> None:
        with self._lock:
            self._consecutive += 1
            if self._consecutive >= self.failures:
                self._retry_at = self._clock() + self.reset_after

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"CircuitBreaker({state}, failures={self.failures}, reset_after={self.reset_after})"
