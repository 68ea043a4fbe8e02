"""Storage seen by telemetry: ``AsyncStorage``'s operations, each inside ``Telemetry.operating``.

``CallPlan.bind`` binds one of these instead of the plain storage while telemetry is on
(``_telemetry.observed``), so the call path needs no hook of its own for backend
operations. ``_sync_observed.py`` is generated from this file by ``scripts/unasync.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._storage import AsyncStorage
    from ._telemetry import Telemetry

# unasync: AsyncObservedStorage -> SyncObservedStorage, AsyncStorage -> SyncStorage


class AsyncObservedStorage:
    """The interface of ``AsyncStorage``, over one, observed; operations are named as in ``Telemetry.operating``."""

    __slots__ = ("inner", "telemetry")

    def __init__(self, inner: AsyncStorage, telemetry: Telemetry) -> None:
        self.inner, self.telemetry = inner, telemetry

    async def lookup(self, key: str) -> Any:
        with self.telemetry.operating("get", self.inner.backend):
            return await self.inner.lookup(key)

    async def store(self, key: str, value: Any, seconds: float | None) -> None:
        with self.telemetry.operating("set", self.inner.backend):
            await self.inner.store(key, value, seconds)

    async def lookup_tagged(self, key: str, tags: list[str]) -> tuple[Any, dict[str, str]]:
        with self.telemetry.operating("get", self.inner.backend):
            return await self.inner.lookup_tagged(key, tags)

    async def tag_versions(self, tags: list[str]) -> dict[str, str]:
        with self.telemetry.operating("get_tags", self.inner.backend):
            return await self.inner.tag_versions(tags)

    async def lookup_many(self, keys: list[str]) -> dict[str, Any]:
        with self.telemetry.operating("get_many", self.inner.backend):
            return await self.inner.lookup_many(keys)

    async def store_many(self, items: list[tuple[str, Any]], seconds: float | None) -> None:
        with self.telemetry.operating("set_many", self.inner.backend):
            await self.inner.store_many(items, seconds)

    async def try_lock(self, key: str, seconds: float) -> str | None:
        with self.telemetry.operating("lock", self.inner.backend):
            return await self.inner.try_lock(key, seconds)

    async def unlock(self, key: str, token: str) -> None:
        with self.telemetry.operating("unlock", self.inner.backend):
            await self.inner.unlock(key, token)

    async def remove(self, key: str) -> bool:
        with self.telemetry.operating("delete", self.inner.backend):
            return await self.inner.remove(key)

    async def clear(self) -> None:
        with self.telemetry.operating("clear", self.inner.backend):
            await self.inner.clear()
