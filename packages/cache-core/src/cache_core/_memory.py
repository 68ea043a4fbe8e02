"""In-process backends: ``SyncDictCache`` and its async facade ``DictCache``.

Values are stored as they are (no serializer, no copy): a cached list that the
caller mutates changes in the cache too. Pass ``serializer=`` to ``cached`` to
store copies.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ._async_backend import AsyncBackend
from ._clock import Clock
from ._policy import MISSING, Entry
from ._serializers import Serializer
from ._sync_backend import Backend


class SyncDictCache(Backend):
    """In-memory storage in dicts; optional ``maxsize`` with least-recently-used eviction.

    Args:
        maxsize: the most entries kept (over all namespaces); ``None`` for no limit.
        clock: source of time for expiry.
        sweep_interval: expired entries are read as misses at once and deleted in a
            sweep at most this often (seconds on ``clock``), run by a write.
    """

    def __init__(self, maxsize: int | None = None, *, clock: Clock | None = None, sweep_interval: float = 60.0) -> None:
        if maxsize is not None and (isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1):
            msg = f"maxsize must be None or a positive int, got {maxsize!r}"
            raise ValueError(msg)
        if not sweep_interval > 0:
            msg = f"sweep_interval must be a positive number of seconds, got {sweep_interval!r}"
            raise ValueError(msg)
        super().__init__(serializer=None, clock=clock)
        self.maxsize = maxsize
        self.sweep_interval = float(sweep_interval)
        self.nonblocking = self
        # Performance over tidiness: values sit in plain per-namespace dicts, not in entry
        # objects, so an entry without TTL costs one dict slot. Expiry instants live in a
        # sparse twin dict, and the LRU order is kept only when maxsize asks for it.
        self._values: dict[str, dict[str, Any]] = {}
        self._expiry: dict[str, dict[str, float]] = {}
        self._order: OrderedDict[tuple[str, str], None] | None = OrderedDict() if maxsize is not None else None
        self._next_sweep = self.clock.now() + self.sweep_interval
        self._has_expiring = False
        self._readers: dict[str, Callable[[str], Any]] = {}
        self._write_lock = threading.RLock()

    def __len__(self) -> int:
        """Entries held, expired ones not yet swept included."""
        return sum(map(len, self._values.values()))

    def _reader(self, namespace: str) -> Callable[[str], Any]:
        """The decorator's hit path for one namespace: a closure over that namespace's dicts.

        Namespace dicts are never replaced (clear empties them in place), so the closure
        stays valid; after ``close()`` they are empty and every read misses.
        """
        with self._write_lock:
            space = self._values.setdefault(namespace, {})
            expiry = self._expiry.setdefault(namespace, {})
        order, now, discard, missing = self._order, self.clock.now, self._discard, MISSING

        def read(key: str) -> Any:
            value = space.get(key, missing)
            if value is missing:
                return missing
            if expiry:
                expires_at = expiry.get(key)
                if expires_at is not None and expires_at <= now():
                    discard(namespace, key)
                    return missing
            if order is not None:
                try:
                    order.move_to_end((namespace, key))
                except KeyError:  # removed by another thread since the read
                    pass
            return value

        read.direct = (space, expiry, order is not None)  # type: ignore[attr-defined]  # inlined by decorators
        self._readers[namespace] = read
        return read

    def _lookup(self, namespace: str, key: str, serializer: Serializer | None = None) -> Any:
        if self._closed:
            self._ensure_open()
        read = self._readers.get(namespace)
        if read is None:
            if namespace not in self._values:  # a read never creates a namespace
                return MISSING
            read = self._reader(namespace)
        value = read(key)
        if serializer is not None and value is not MISSING:
            return self._live_value(key, (value, None), serializer)
        return value

    def _get(self, namespace: str, key: str) -> Entry | None:
        space = self._values.get(namespace)
        if space is None or key not in space:
            return None
        if self._order is not None:  # a read by get_many is a use too
            try:
                self._order.move_to_end((namespace, key))
            except KeyError:  # removed by another thread since the read
                pass
        return space[key], self._expiry.get(namespace, {}).get(key)

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        with self._write_lock:
            self._values.setdefault(namespace, {})[key] = payload
            if expires_at is None:
                expiry = self._expiry.get(namespace)
                if expiry:
                    expiry.pop(key, None)
            else:
                self._expiry.setdefault(namespace, {})[key] = expires_at
                self._has_expiring = True
            order = self._order
            if order is not None:
                order[namespace, key] = None
                order.move_to_end((namespace, key))
                while len(order) > self.maxsize:  # type: ignore[operator]
                    old_namespace, old_key = order.popitem(last=False)[0]
                    self._discard(old_namespace, old_key)
            if self._has_expiring:
                now = self.clock.now()
                if now >= self._next_sweep:
                    self._remove_expired(now)

    def _discard(self, namespace: str, key: str) -> bool:
        with self._write_lock:
            space = self._values.get(namespace)
            if space is None or space.pop(key, MISSING) is MISSING:
                return False
            expiry = self._expiry.get(namespace)
            if expiry:
                expiry.pop(key, None)
            if self._order is not None:
                self._order.pop((namespace, key), None)
            return True

    def _remove(self, namespace: str, key: str) -> bool:
        return self._discard(namespace, key)

    def _remove_expired(self, now: float) -> int:
        with self._write_lock:
            self._next_sweep = now + self.sweep_interval
            doomed = [
                (namespace, key)
                for namespace, expiry in self._expiry.items()
                for key, expires_at in expiry.items()
                if expires_at <= now
            ]
            for namespace, key in doomed:
                self._discard(namespace, key)
            self._has_expiring = any(self._expiry.values())
            return len(doomed)

    def _clear(self, namespace: str | None) -> None:
        # Empties namespace dicts in place: readers handed out by _reader hold them.
        with self._write_lock:
            if namespace is None:
                for space in (*self._values.values(), *self._expiry.values()):
                    space.clear()
                if self._order is not None:
                    self._order.clear()
                return
            for spaces in (self._values, self._expiry):
                if namespace in spaces:
                    spaces[namespace].clear()
            if self._order is not None:
                for stale in [pair for pair in self._order if pair[0] == namespace]:
                    del self._order[stale]

    def _close(self) -> None:
        self._clear(None)


class DictCache(AsyncBackend):
    """The async in-memory backend: an ``AsyncBackend`` facade over a ``SyncDictCache``.

    Its storage never blocks, so decorators read it without an ``await`` and sync
    functions may use it too. Arguments as for ``SyncDictCache``.
    """

    nonblocking: SyncDictCache

    def __init__(self, maxsize: int | None = None, *, clock: Clock | None = None, sweep_interval: float = 60.0) -> None:
        storage = SyncDictCache(maxsize, clock=clock, sweep_interval=sweep_interval)
        super().__init__(serializer=None, clock=storage.clock)
        self.nonblocking = storage
        self.maxsize = maxsize

    def __len__(self) -> int:
        return len(self.nonblocking)

    async def _lookup(self, namespace: str, key: str, serializer: Serializer | None = None) -> Any:
        self._ensure_open()
        return self.nonblocking._lookup(namespace, key, serializer)

    async def _get(self, namespace: str, key: str) -> Entry | None:
        return self.nonblocking._get(namespace, key)

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        self.nonblocking._put(namespace, key, payload, ttl, expires_at)

    async def _remove(self, namespace: str, key: str) -> bool:
        return self.nonblocking._remove(namespace, key)

    async def _remove_expired(self, now: float) -> int:
        return self.nonblocking._remove_expired(now)

    async def _clear(self, namespace: str | None) -> None:
        self.nonblocking._clear(namespace)

    async def _close(self) -> None:
        self.nonblocking.close()


#: cachetoolz names.
AsyncInMemory = DictCache
InMemory = SyncDictCache
