"""What the call path reads and writes through: one namespace of the bound backend.

Two paired views with one interface: ``AsyncStorage`` (awaited by the async call path;
over an ``AsyncBackend``, or a sync ``Backend`` that an ``async def`` uses) and
``SyncStorage`` (over a ``Backend``, or the non-blocking sync side of an async one).
They go through the template's ``_lookup``/``_store``/``_try_lock``/``_unlock``, so
the policy layer (expiry, encoding, breaker, error mapping) applies to every call.
"""

from __future__ import annotations

import functools
from typing import Any, Union

from ._async_backend import AsyncBackend
from ._serializers import Serializer
from ._sync_backend import Backend

AnyBackend = Union[AsyncBackend, Backend]


def sync_view(backend: AnyBackend) -> Backend | None:
    """The sync interface of ``backend``: itself, its non-blocking side, or ``None``."""
    if isinstance(backend, Backend):
        return backend
    view = backend.nonblocking
    return view if isinstance(view, Backend) else None


class SyncStorage:
    """A namespace of a backend, for sync functions."""

    __slots__ = ("backend", "lookup", "namespace", "serializer", "store", "view")

    def __init__(self, backend: AnyBackend, namespace: str, serializer: Serializer | None) -> None:
        view = sync_view(backend)
        if view is None:  # checked at decoration: check_sync_capable
            msg = f"{type(backend).__name__} has no sync interface"
            raise TypeError(msg)
        self.backend, self.view, self.namespace, self.serializer = backend, view, namespace, serializer
        self.lookup = functools.partial(view._lookup, namespace, serializer=serializer)
        self.store = functools.partial(view._store, namespace, serializer=serializer)

    def try_lock(self, key: str, seconds: float) -> str | None:
        return self.view._try_lock(self.namespace, key, seconds)

    def lookup_tagged(self, key: str, tags: list[str]) -> tuple[Any, dict[str, str]]:
        return self.view._lookup_tagged(self.namespace, key, tags, serializer=self.serializer)

    def tag_versions(self, tags: list[str]) -> dict[str, str]:
        return self.view._tag_versions(tags)

    def lookup_many(self, keys: list[str]) -> dict[str, Any]:
        return self.view.get_many(keys, namespace=self.namespace)

    def store_many(self, items: list[tuple[str, Any]], seconds: float | None) -> None:
        self.view.put_many(items, seconds, namespace=self.namespace)

    def unlock(self, key: str, token: str) -> None:
        self.view._unlock(self.namespace, key, token)

    def remove(self, key: str) -> bool:
        return self.view.remove(key, namespace=self.namespace)

    def clear(self) -> None:
        self.view.clear(self.namespace)


class AsyncStorage:
    """A namespace of a backend, for ``async def`` functions (which may use sync backends too)."""

    __slots__ = ("backend", "namespace", "serializer", "sync")

    def __init__(self, backend: AnyBackend, namespace: str, serializer: Serializer | None) -> None:
        self.backend, self.namespace, self.serializer = backend, namespace, serializer
        self.sync: Backend | None = backend if isinstance(backend, Backend) else None

    def _async(self) -> AsyncBackend:
        return self.backend  # type: ignore[return-value]  # not sync, so async: check_backend allows only the two

    async def lookup(self, key: str) -> Any:
        if self.sync is not None:
            return self.sync._lookup(self.namespace, key, serializer=self.serializer)
        return await self._async()._lookup(self.namespace, key, serializer=self.serializer)

    async def store(self, key: str, value: Any, seconds: float | None) -> None:
        if self.sync is not None:
            self.sync._store(self.namespace, key, value, seconds, serializer=self.serializer)
        else:
            await self._async()._store(self.namespace, key, value, seconds, serializer=self.serializer)

    async def lookup_tagged(self, key: str, tags: list[str]) -> tuple[Any, dict[str, str]]:
        if self.sync is not None:
            return self.sync._lookup_tagged(self.namespace, key, tags, serializer=self.serializer)
        return await self._async()._lookup_tagged(self.namespace, key, tags, serializer=self.serializer)

    async def tag_versions(self, tags: list[str]) -> dict[str, str]:
        if self.sync is not None:
            return self.sync._tag_versions(tags)
        return await self._async()._tag_versions(tags)

    async def lookup_many(self, keys: list[str]) -> dict[str, Any]:
        if self.sync is not None:
            return self.sync.get_many(keys, namespace=self.namespace)
        return await self._async().get_many(keys, namespace=self.namespace)

    async def store_many(self, items: list[tuple[str, Any]], seconds: float | None) -> None:
        if self.sync is not None:
            self.sync.put_many(items, seconds, namespace=self.namespace)
        else:
            await self._async().put_many(items, seconds, namespace=self.namespace)

    async def try_lock(self, key: str, seconds: float) -> str | None:
        if self.sync is not None:
            return self.sync._try_lock(self.namespace, key, seconds)
        return await self._async()._try_lock(self.namespace, key, seconds)

    async def unlock(self, key: str, token: str) -> None:
        if self.sync is not None:
            self.sync._unlock(self.namespace, key, token)
        else:
            await self._async()._unlock(self.namespace, key, token)

    async def remove(self, key: str) -> bool:
        if self.sync is not None:
            return self.sync.remove(key, namespace=self.namespace)
        return await self._async().remove(key, namespace=self.namespace)

    async def clear(self) -> None:
        if self.sync is not None:
            self.sync.clear(self.namespace)
        else:
            await self._async().clear(self.namespace)
