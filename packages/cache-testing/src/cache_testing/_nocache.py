"""``NoCache`` / ``SyncNoCache``: backends that remember nothing."""

from __future__ import annotations

from typing import Any

from cache_core import AsyncBackend, Backend, Clock
from cache_core._policy import Entry


class SyncNoCache(Backend):
    """Stores nothing: every read misses, so a decorated function always runs."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self.nonblocking = self

    def _get(self, namespace: str, key: str) -> Entry | None:
        return None

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        return None

    def _remove(self, namespace: str, key: str) -> bool:
        return False

    def _remove_expired(self, now: float) -> int:
        return 0

    def _clear(self, namespace: str | None) -> None:
        return None


class NoCache(AsyncBackend):
    """Async twin of ``SyncNoCache``; sync functions may use it too."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self.nonblocking = SyncNoCache(clock=self.clock)

    async def _get(self, namespace: str, key: str) -> Entry | None:
        return None

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        return None

    async def _remove(self, namespace: str, key: str) -> bool:
        return False

    async def _remove_expired(self, now: float) -> int:
        return 0

    async def _clear(self, namespace: str | None) -> None:
        return None

    async def _close(self) -> None:
        self.nonblocking.close()
