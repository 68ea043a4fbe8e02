"""``AsyncBackendAdapter``: the ``AsyncBackend`` whose primitives call an adapted object.

What to call and with which arguments is the ``Plan``'s (``_adapters.py``); this
class only makes the calls. The sync ``SyncBackendAdapter`` is generated from this file by
``scripts/unasync.py``.
"""

from __future__ import annotations

from typing import Any

from ._adapters import BackendAdapter, Plan
from ._async_backend import AsyncBackend
from ._policy import Entry
from ._serializers import Serializer

# unasync: AsyncBackendAdapter -> SyncBackendAdapter, _async_backend -> _sync_backend


class AsyncBackendAdapter(BackendAdapter, AsyncBackend):
    """The ``AsyncBackend`` over an object adapted by ``BackendAdapter.adapt``."""

    sync_alternative = "an object whose methods are plain functions, or a Backend subclass,"

    def __init__(self, target: object, plan: Plan) -> None:
        super().__init__(serializer=plan.serializer)
        self.target = target
        self.style = plan.style
        self._plan = plan

    @property
    def supports_lock(self) -> bool:
        return self._plan.acquire_lock is not None

    async def _get(self, namespace: str, key: str) -> Entry | None:
        plan = self._plan
        try:
            found = await plan.read(plan.key(namespace, key), *plan.read_default, **plan.where(namespace))
        except plan.miss_errors:
            return None
        return plan.entry(found)

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        plan = self._plan
        await plan.write(plan.key(namespace, key), plan.outgoing(payload), plan.expiry(ttl), **plan.where(namespace))

    async def _store(
        self, namespace: str, key: str, value: Any, ttl: float | None, serializer: Serializer | None = None
    ) -> None:
        if ttl is not None and ttl <= 0 and self._plan.remove is None:
            # A zero TTL removes; without remove() nothing is stored. Decorators store
            # only after a miss, so no older entry is left behind there.
            self._ensure_open()
            return
        await super()._store(namespace, key, value, ttl, serializer)

    async def _remove(self, namespace: str, key: str) -> bool:
        plan = self._plan
        if plan.remove is None:
            raise plan.missing("remove")
        return bool(await plan.remove(plan.key(namespace, key), **plan.where(namespace)))

    async def _remove_expired(self, now: float) -> int:
        if self._plan.remove_expired is None:
            return 0
        return int(await self._plan.remove_expired() or 0)

    async def _clear(self, namespace: str | None) -> None:
        plan = self._plan
        args, kwargs = plan.clear_call(namespace)
        await plan.clear(*args, **kwargs)

    async def _close(self) -> None:
        if self._plan.close is not None:
            await self._plan.close()

    async def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        if self._plan.acquire_lock is None:
            raise self._plan.missing("_acquire_lock")
        token: str | None = await self._plan.acquire_lock(namespace, key, ttl)
        return token

    async def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        if self._plan.release_lock is None:
            raise self._plan.missing("_release_lock")
        return bool(await self._plan.release_lock(namespace, key, token))
