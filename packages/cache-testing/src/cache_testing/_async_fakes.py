"""Fakes for downstream tests: ``RecordingBackend`` and ``FaultyBackend`` (sync twins generated)."""

from __future__ import annotations

import asyncio
from typing import Any

from cache_core import AsyncBackend
from cache_core._policy import Entry
from cache_core._serializers import Serializer

from ._records import CORRUPTED, Fault, FaultPlan, Operation, Recorder, nonblocking_view

# unasync: RecordingBackend -> SyncRecordingBackend, FaultyBackend -> SyncFaultyBackend, asyncio -> time


class RecordingBackend(AsyncBackend, Recorder):
    """Wraps any backend and records every operation (key, namespace, TTL, value, hit).

    Use its assertion helpers: ``recording.assert_put(key_contains="price", ttl=60)``,
    ``recording.assert_hit(...)``, ``recording.puts``, ``recording.operations``.
    """

    def __init__(self, inner: AsyncBackend, *, operations: list[Operation] | None = None) -> None:
        AsyncBackend.__init__(self, serializer=inner.serializer, clock=inner.clock)
        Recorder.__init__(self, operations)
        self.inner = inner
        self.nonblocking = nonblocking_view(self, inner, self._sync_view)

    def _sync_view(self, inner_view: Any) -> Any:
        from ._sync_fakes import SyncRecordingBackend

        return SyncRecordingBackend(inner_view, operations=self.operations)

    async def _lookup(self, namespace: str, key: str, serializer: Serializer | None = None) -> Any:
        self._ensure_open()
        value = await self.inner._lookup(namespace, key, serializer)
        self.record_get(namespace, key, value)
        return value

    async def _lookup_tagged(
        self, namespace: str, key: str, tags: list[str], serializer: Serializer | None = None
    ) -> tuple[Any, dict[str, str]]:
        self._ensure_open()
        value, versions = await self.inner._lookup_tagged(namespace, key, tags, serializer)
        self.record_get(namespace, key, value)
        return value, versions

    async def _tag_versions(self, tags: list[str]) -> dict[str, str]:
        self._ensure_open()
        return await self.inner._tag_versions(tags)

    async def _store(
        self, namespace: str, key: str, value: Any, ttl: float | None, serializer: Serializer | None = None
    ) -> None:
        self._ensure_open()
        self.record(Operation("put", namespace, key, ttl=ttl, value=value))
        await self.inner._store(namespace, key, value, ttl, serializer)

    async def _get(self, namespace: str, key: str) -> Entry | None:
        return await self.inner._get(namespace, key)

    async def _get_many(self, namespace: str, keys: list[str]) -> list[Entry | None]:
        self.record(Operation("get_many", namespace, ",".join(keys)))
        return await self.inner._get_many(namespace, keys)

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        await self.inner._put(namespace, key, payload, ttl, expires_at)

    async def _put_many(
        self, namespace: str, items: list[tuple[str, Any]], ttl: float | None, expires_at: float | None
    ) -> None:
        for key, _ in items:
            self.record(Operation("put_many", namespace, key, ttl=ttl))
        await self.inner._put_many(namespace, items, ttl, expires_at)

    async def _remove(self, namespace: str, key: str) -> bool:
        self.record(Operation("remove", namespace, key))
        return await self.inner._remove(namespace, key)

    async def _remove_expired(self, now: float) -> int:
        self.record(Operation("remove_expired"))
        return await self.inner._remove_expired(now)

    async def _clear(self, namespace: str | None) -> None:
        self.record(Operation("clear", namespace))
        await self.inner._clear(namespace)

    async def _get_tag_versions(self, tags: list[str]) -> list[Entry | None]:
        return await self.inner._get_tag_versions(tags)

    async def _put_tag_versions(self, items: list[tuple[str, Any]]) -> None:
        for tag, _ in items:
            if tag:  # not the version every invalidation changes
                self.record(Operation("invalidate_tags", None, tag))
        await self.inner._put_tag_versions(items)

    async def _get_tagged(self, namespace: str, key: str, tags: list[str]) -> tuple[Entry | None, list[Entry | None]]:
        return await self.inner._get_tagged(namespace, key, tags)

    async def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        self.record(Operation("lock", namespace, key, ttl=ttl))
        return await self.inner._acquire_lock(namespace, key, ttl)

    async def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        return await self.inner._release_lock(namespace, key, token)

    @property
    def supports_lock(self) -> bool:
        return self.inner.supports_lock

    async def _close(self) -> None:
        await self.inner.close()


class FaultyBackend(AsyncBackend):
    """Wraps any backend and makes chosen operations fail, hang or return corrupted data.

    ``faulty.fail("get", times=3)``, ``faulty.fail("put", error=TimeoutError, every=2)``,
    ``faulty.hang("get", seconds=2)`` (sleeps, then raises ``TimeoutError`` like a driver
    timeout), ``faulty.corrupt("get")`` (reads return undecodable bytes; needs a backend
    with a serializer) and ``faulty.heal()``. Operations: get, put, remove, clear,
    remove_expired, lock; none named means all.
    """

    def __init__(self, inner: AsyncBackend) -> None:
        super().__init__(serializer=inner.serializer, clock=inner.clock)
        self.inner = inner
        self.plan = FaultPlan()

    def fail(
        self,
        *operations: str,
        error: BaseException | type[BaseException] | None = None,
        times: int | None = None,
        after: int = 0,
        every: int = 1,
    ) -> Fault:
        """Make ``operations`` raise ``error`` (default ``ConnectionError``) on the given schedule."""
        return self.plan.add("fail", operations, error=error, times=times, after=after, every=every)

    def hang(
        self, *operations: str, seconds: float = 5.0, times: int | None = None, after: int = 0, every: int = 1
    ) -> Fault:
        """Make ``operations`` take ``seconds`` and then raise ``TimeoutError``."""
        return self.plan.add("hang", operations, seconds=seconds, times=times, after=after, every=every)

    def corrupt(self, *operations: str, times: int | None = None, after: int = 0, every: int = 1) -> Fault:
        """Make reads return corrupted bytes instead of the stored payload."""
        return self.plan.add("corrupt", operations or ("get",), times=times, after=after, every=every)

    def heal(self) -> None:
        """Remove every fault."""
        self.plan.faults.clear()

    async def _strike(self, operation: str) -> Fault | None:
        fault = self.plan.striking(operation)
        if fault is None or fault.kind == "corrupt":
            return fault
        if fault.kind == "hang":
            await asyncio.sleep(fault.seconds)
            msg = f"injected hang of {fault.seconds}s in {operation}"
            raise TimeoutError(msg)
        raise fault.exception()

    async def _get(self, namespace: str, key: str) -> Entry | None:
        fault = await self._strike("get")
        entry = await self.inner._get(namespace, key)
        if fault is not None and entry is not None:
            return CORRUPTED, entry[1]
        return entry

    async def _get_many(self, namespace: str, keys: list[str]) -> list[Entry | None]:
        fault = await self._strike("get")
        entries = await self.inner._get_many(namespace, keys)
        if fault is not None:
            return [None if entry is None else (CORRUPTED, entry[1]) for entry in entries]
        return entries

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        await self._strike("put")
        await self.inner._put(namespace, key, payload, ttl, expires_at)

    async def _put_many(
        self, namespace: str, items: list[tuple[str, Any]], ttl: float | None, expires_at: float | None
    ) -> None:
        await self._strike("put")
        await self.inner._put_many(namespace, items, ttl, expires_at)

    async def _get_tag_versions(self, tags: list[str]) -> list[Entry | None]:
        fault = await self._strike("get")
        entries = await self.inner._get_tag_versions(tags)
        if fault is not None:
            return [None if entry is None else (CORRUPTED, entry[1]) for entry in entries]
        return entries

    async def _put_tag_versions(self, items: list[tuple[str, Any]]) -> None:
        await self._strike("put")
        await self.inner._put_tag_versions(items)

    async def _remove(self, namespace: str, key: str) -> bool:
        await self._strike("remove")
        return await self.inner._remove(namespace, key)

    async def _remove_expired(self, now: float) -> int:
        await self._strike("remove_expired")
        return await self.inner._remove_expired(now)

    async def _clear(self, namespace: str | None) -> None:
        await self._strike("clear")
        await self.inner._clear(namespace)

    async def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        await self._strike("lock")
        return await self.inner._acquire_lock(namespace, key, ttl)

    async def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        return await self.inner._release_lock(namespace, key, token)

    async def _close(self) -> None:
        await self.inner.close()

    @property
    def supports_lock(self) -> bool:
        return self.inner.supports_lock
