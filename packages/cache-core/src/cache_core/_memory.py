"""In-process backends: ``SyncDictCache`` and its async facade ``DictCache``.

Values are stored as they are (no serializer, no copy): a cached list that the
caller mutates changes in the cache too. Pass ``serializer=`` to ``cached`` to
store copies.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ._async_backend import AsyncBackend
from ._clock import Clock
from ._policy import MISSING, Entry
from ._serializers import Serializer
from ._sync_backend import Backend


class HotIndex(dict):  # type: ignore[type-arg]
    """Call arguments -> value for one decorated function, over one in-process namespace.

    Handed out by ``SyncDictCache._index``. It holds only entries stored without expiry,
    and the backend empties it whenever an entry of that namespace that has no expiry
    is overwritten or removed, or the namespace is cleared; so whatever it holds is what
    the namespace holds. ``space`` and ``expiry`` are the namespace's own dicts: after
    adding an entry, a decorator reads them back to check it raced with no write.
    """

    __slots__ = ("__weakref__", "expiry", "limit", "space")

    def __init__(self, space: dict[str, Any], expiry: dict[str, float], limit: int) -> None:
        super().__init__()
        self.space = space
        self.expiry = expiry
        self.limit = limit  # the most entries: when full, it starts over empty


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
        # Namespace dicts are never replaced (clear empties them in place): readers,
        # writers and hot indexes handed out for a namespace hold them.
        self._values: dict[str, dict[str, Any]] = {}
        self._expiry: dict[str, dict[str, float]] = {}
        self._order: OrderedDict[tuple[str, str], None] | None = OrderedDict() if maxsize is not None else None
        self._indexes: dict[str, weakref.WeakValueDictionary[int, HotIndex]] = {}  # by id: dicts compare by content
        self._next_sweep = self.clock.now() + self.sweep_interval
        self._has_expiring = False
        self._writers: dict[str, Callable[..., None]] = {}
        # Every write takes this lock (acquire/release, not ``with``: half the cost);
        # reads take none, a dict read being atomic. Reentrant: dropping a value may run
        # its ``__del__``, which may use the cache.
        self._lock = threading.RLock()

    def __len__(self) -> int:
        """Entries held, expired ones not yet swept included."""
        return sum(map(len, self._values.values()))

    def _space(self, namespace: str) -> tuple[dict[str, Any], dict[str, float]]:
        """The value and expiry dicts of ``namespace``, created on first use."""
        space = self._values.get(namespace)
        if space is None:
            with self._lock:
                space = self._values.setdefault(namespace, {})
                self._expiry.setdefault(namespace, {})
        return space, self._expiry[namespace]

    def _reader(self, namespace: str) -> Callable[[str], Any]:
        """The decorator's read path for one namespace: a closure over that namespace's dicts."""
        space, expiry = self._space(namespace)
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

        return read

    def _writer(self, namespace: str) -> Callable[[str, Any, float | None], None]:
        """The store of one namespace, ``write(key, value, seconds)``: ``_put`` and the decorators' path."""
        known = self._writers.get(namespace)
        if known is not None:
            return known
        space, expiry = self._space(namespace)
        lock, now, order, changed = self._lock, self.clock.now, self._order, self._changed

        def write(key: str, value: Any, seconds: float | None) -> None:
            if self._closed:
                self._ensure_open()
            # A new entry without expiry, in a namespace that has none and no LRU order to
            # keep: one atomic dict operation, no lock (an identical value already there
            # changes nothing). Anything else takes the lock.
            added = seconds is None and order is None and not expiry and space.setdefault(key, value) is value
            if not added:
                if seconds is not None and seconds <= 0:  # nothing would be kept
                    self._discard(namespace, key)
                    return
                lock.acquire()
                try:
                    replaced = key in space and key not in expiry  # only such entries can be indexed
                    space[key] = value
                    if seconds is None:
                        if expiry:
                            expiry.pop(key, None)
                    else:
                        expiry[key] = now() + seconds
                        self._has_expiring = True
                    if replaced:
                        changed(namespace)
                    if order is not None:
                        order[namespace, key] = None
                        order.move_to_end((namespace, key))
                        while len(order) > self.maxsize:  # type: ignore[operator]
                            self._drop(*order.popitem(last=False)[0])
                finally:
                    lock.release()
            if self._has_expiring and now() >= self._next_sweep:
                self._remove_expired(now())

        self._writers[namespace] = write
        return write

    def _index(self, namespace: str, limit: int) -> HotIndex | None:
        """A new ``HotIndex`` over ``namespace``; ``None`` with ``maxsize`` (a hit must refresh the LRU order)."""
        if self._order is not None:
            return None
        index = HotIndex(*self._space(namespace), limit)
        with self._lock:
            self._indexes.setdefault(namespace, weakref.WeakValueDictionary())[id(index)] = index
        return index

    def _changed(self, namespace: str) -> None:
        """Empty the hot indexes of ``namespace``: call under the lock, after the change."""
        indexes = self._indexes.get(namespace)
        if indexes:
            for index in indexes.values():
                index.clear()

    def _get(self, namespace: str, key: str) -> Entry | None:
        space = self._values.get(namespace)
        if space is None or key not in space:
            return None
        expires_at = self._expiry[namespace].get(key)
        if expires_at is not None and expires_at <= self.clock.now():
            self._discard(namespace, key)  # read as a miss, so dropped now rather than at the sweep
            return None
        if self._order is not None:  # a read by get_many is a use too
            try:
                self._order.move_to_end((namespace, key))
            except KeyError:  # removed by another thread since the read
                pass
        return space.get(key, MISSING), expires_at

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        self._writer(namespace)(key, payload, ttl)

    def _drop(self, namespace: str, key: str) -> bool:
        """Delete one entry; call under the lock."""
        space = self._values.get(namespace)
        if space is None or space.pop(key, MISSING) is MISSING:
            return False
        expiry = self._expiry[namespace]
        if not expiry or expiry.pop(key, None) is None:
            self._changed(namespace)
        if self._order is not None:
            self._order.pop((namespace, key), None)
        return True

    def _discard(self, namespace: str, key: str) -> bool:
        lock = self._lock
        lock.acquire()
        try:
            return self._drop(namespace, key)
        finally:
            lock.release()

    def _remove(self, namespace: str, key: str) -> bool:
        return self._discard(namespace, key)

    def _sweep(self, now: float) -> int:
        """Delete expired entries; call under the lock."""
        self._next_sweep = now + self.sweep_interval
        doomed = [
            (namespace, key)
            for namespace, expiry in self._expiry.items()
            for key, expires_at in expiry.items()
            if expires_at <= now
        ]
        for namespace, key in doomed:
            self._drop(namespace, key)
        self._has_expiring = any(self._expiry.values())
        return len(doomed)

    def _remove_expired(self, now: float) -> int:
        with self._lock:
            return self._sweep(now)

    def _clear(self, namespace: str | None) -> None:
        with self._lock:
            if namespace is None:
                for space in (*self._values.values(), *self._expiry.values()):
                    space.clear()
                if self._order is not None:
                    self._order.clear()
                for name in self._indexes:
                    self._changed(name)
                return
            for spaces in (self._values, self._expiry):
                if namespace in spaces:
                    spaces[namespace].clear()
            if self._order is not None:
                for stale in [pair for pair in self._order if pair[0] == namespace]:
                    del self._order[stale]
            self._changed(namespace)

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
