"""In-process backends: ``SyncDictCache`` and its async facade ``DictCache``.

Values are stored as they are (no serializer, no copy): a cached list that the
caller mutates changes in the cache too. Pass ``serializer=`` to ``cached`` to
store copies.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, Protocol, runtime_checkable

from ._async_backend import AsyncBackend
from ._clock import Clock
from ._policy import MISSING, Entry
from ._serializers import Serializer
from ._sync_backend import Backend


class Stored:
    """One entry that expires or takes part in LRU order; other entries are stored bare.

    A hot index may hold it too, so an entry is never changed in place: a new value is
    a new ``Stored``, and the one it replaces (or a removed one) gets ``expires_at =
    DEAD``, which every reader holding it takes for expired.
    """

    __slots__ = ("expires_at", "key", "namespace", "shadow", "value")

    def __init__(self, value: Any, expires_at: float, namespace: str, key: str) -> None:
        self.value = value
        self.expires_at = expires_at
        self.namespace = namespace
        self.key = key
        self.shadow: Stored | None = None  # see HotIndex.remember_fresh

    def kill(self) -> None:
        """This entry was replaced or removed: whoever holds it (or its shadow) reads it as expired."""
        self.expires_at = DEAD
        shadow = self.shadow
        if shadow is not None:
            shadow.expires_at = DEAD


NEVER: Final = math.inf  # the expiry of a Stored that does not expire (tested with ``is``)
DEAD: Final = -math.inf


class HotIndex(dict):  # type: ignore[type-arg]
    """Hot key -> bare value or ``Stored``, for one decorated function over one namespace.

    Handed out by ``SyncDictCache.hot_index``; see ``_hotkeys`` for what a hot key is. A
    ``Stored`` it holds tells by itself when it is no longer the namespace's entry
    (``DEAD``) or has expired; bare values (no expiry, no LRU) cannot, so the backend
    empties its indexes whenever a bare entry of the namespace is replaced or removed.

    Attributes:
        now: the backend's clock, for the expiry of a ``Stored``.
        touch: marks a ``Stored`` as just used (LRU order), or ``None`` without ``maxsize``.
        limit: the most entries; when full, it starts over empty. An index of limit 0
            holds nothing: the call path still finds the namespace's entries through it.
    """

    __slots__ = ("__weakref__", "limit", "now", "space", "touch")

    def __init__(
        self, space: dict[str, Any], limit: int, now: Callable[[], float], touch: Callable[[Stored], None] | None
    ) -> None:
        super().__init__()
        self.space = space
        self.limit = limit
        self.now = now
        self.touch = touch

    def remember(self, hot: Any, key: str) -> None:
        """Index the entry under ``key`` (just read as a hit) by the call's ``hot`` key."""
        space = self.space
        entry = space.get(key, MISSING)
        if entry is MISSING or not self.limit:
            return
        if len(self) >= self.limit:
            self.clear()
        self[hot] = entry
        # A bare value replaced between the read and the insertion above: the backend
        # emptied the index before this insertion, so take it out again.
        if type(entry) is not Stored and space.get(key, MISSING) is not entry:
            self.pop(hot, None)

    def remember_fresh(self, hot: Any, key: str, value: Any, fresh_until: float) -> None:
        """Index the value inside the freshness envelope stored under ``key``, until ``fresh_until``.

        The index gets a shadow of the stored entry: the value itself, expiring when it
        stops being fresh (so a stale call goes to the caller, which serves and refreshes
        it), and killed with the entry it shadows.
        """
        entry = self.space.get(key, MISSING)
        if type(entry) is not Stored or not self.limit:
            return
        shadow = Stored(value, fresh_until, entry.namespace, key)
        entry.shadow = shadow
        if entry.expires_at is DEAD:  # killed before it got its shadow
            return
        if len(self) >= self.limit:
            self.clear()
        self[hot] = shadow


@runtime_checkable
class LocalStorage(Protocol):
    """In-process storage that decorators use without the backend template.

    Its calls never block and it stores values as they are (no serializer), so the
    decorator reads and writes through these closures and answers hits from a
    ``HotIndex``. ``SyncDictCache`` is the one implementation.
    """

    def reader(self, namespace: str) -> Callable[[str], Any]:
        """``key -> value | MISSING`` for ``namespace``."""

    def writer(self, namespace: str) -> Callable[[str, Any, float | None], None]:
        """``(key, value, seconds)`` stores in ``namespace`` (``None``: no expiry)."""

    def hot_index(self, namespace: str, limit: int) -> HotIndex:
        """A new ``HotIndex`` of at most ``limit`` entries over ``namespace``."""


@runtime_checkable
class NearStorage(Protocol):
    """Remote storage that keeps a coherent in-process copy of entries (cache-redis's near cache).

    Its reads still go through the template (``_lookup``), which answers from the copy
    when it can; a decorated function also answers hits from ``near_index``, whose
    ``Stored`` entries the storage kills when another process changes them.
    """

    def near_index(self, namespace: str, limit: int) -> HotIndex | None:
        """A new ``HotIndex`` of at most ``limit`` entries over ``namespace``, or ``None`` without a near copy."""


class SyncDictCache(Backend):
    """In-memory storage in dicts; optional ``maxsize`` with least-recently-used eviction.

    Args:
        maxsize: the most entries kept (over all namespaces); ``None`` for no limit.
        clock: source of time for expiry.
        sweep_interval: expired entries are read as misses at once and deleted in a
            sweep at most this often (seconds on ``clock``), run by a write.

    Tag versions (``invalidate_tags``) are kept apart from the entries, outside
    ``maxsize`` and ``clear()``: eviction never brings an invalidated entry back. They
    live as long as the backend, one small string per tag ever invalidated.
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
        # Performance over tidiness: an entry without expiry sits bare in its namespace
        # dict (one dict slot); only entries that expire, and every entry under
        # ``maxsize``, are wrapped in a ``Stored``, which the LRU order is keyed by.
        # Namespace dicts are never replaced (clear empties them in place): readers,
        # writers and hot indexes handed out for a namespace hold them.
        self._values: dict[str, dict[str, Any]] = {}
        self._order: OrderedDict[Stored, None] | None = OrderedDict() if maxsize is not None else None
        self._indexes: dict[str, weakref.WeakValueDictionary[int, HotIndex]] = {}  # by id: dicts compare by content
        self._next_sweep = self.clock.now() + self.sweep_interval
        self._has_expiring = False
        self._writers: dict[str, Callable[..., None]] = {}
        self._tag_table: dict[str, Any] = {}  # tag -> version; see the class docstring
        # Every write takes this lock (acquire/release, not ``with``: half the cost);
        # reads take none, a dict read being atomic. Reentrant: dropping a value may run
        # its ``__del__``, which may use the cache.
        self._lock = threading.RLock()

    def __len__(self) -> int:
        """Entries held, expired ones not yet swept included."""
        return sum(map(len, self._values.values()))

    def _space(self, namespace: str) -> dict[str, Any]:
        """The dict of ``namespace``, created on first use."""
        space = self._values.get(namespace)
        if space is None:
            with self._lock:
                space = self._values.setdefault(namespace, {})
        return space

    def _live(self, entry: Any) -> Any:
        """The value of a namespace dict's ``entry``, or ``MISSING`` if expired (then dropped)."""
        if type(entry) is not Stored:
            return entry
        expires_at = entry.expires_at
        if expires_at is not NEVER and expires_at <= self.clock.now():
            self._discard(entry.namespace, entry.key, entry)
            return MISSING
        if self._order is not None:
            try:
                self._order.move_to_end(entry)
            except KeyError:  # removed by another thread since the read
                pass
        return entry.value

    def reader(self, namespace: str) -> Callable[[str], Any]:
        """The decorators' read of one namespace: ``key -> value | MISSING``."""
        space, live, missing = self._space(namespace), self._live, MISSING

        def read(key: str) -> Any:
            entry = space.get(key, missing)
            return entry if type(entry) is not Stored else live(entry)

        return read

    def writer(self, namespace: str) -> Callable[[str, Any, float | None], None]:
        """The store of one namespace, ``write(key, value, seconds)``: ``_put`` and the decorators' path."""
        known = self._writers.get(namespace)
        if known is not None:
            return known
        space, now, order = self._space(namespace), self.clock.now, self._order

        def write(key: str, value: Any, seconds: float | None) -> None:
            if self._closed:
                self._ensure_open()
            if seconds is not None:
                if seconds <= 0:  # nothing would be kept
                    self._discard(namespace, key)
                    return
                at = now()  # one clock read for the expiry and the sweep
                self._replace(namespace, space, key, value, at + seconds)
                if at >= self._next_sweep:
                    self._remove_expired(at)
                return
            # A new bare entry (no expiry, no LRU order to keep): one atomic dict
            # operation, no lock. Anything else takes the lock.
            if order is not None or space.setdefault(key, value) is not value:
                self._replace(namespace, space, key, value, NEVER)
            if self._has_expiring and now() >= self._next_sweep:
                self._remove_expired(now())

        self._writers[namespace] = write
        return write

    def _replace(self, namespace: str, space: dict[str, Any], key: str, value: Any, expires_at: float) -> None:
        """Store an entry that needs the lock: replacing one, expiring, or under ``maxsize``."""
        order, lock = self._order, self._lock
        lock.acquire()
        try:
            if expires_at is NEVER and order is None:
                entry: Any = value
            else:
                entry = Stored(value, expires_at, namespace, key)
            old = space.get(key, MISSING)
            space[key] = entry
            if old is not MISSING:
                self._drop_entry(namespace, old)
            if expires_at is not NEVER:
                self._has_expiring = True
            if order is not None:
                order[entry] = None
                while len(order) > self.maxsize:  # type: ignore[operator]
                    evicted = order.popitem(last=False)[0]
                    self._drop(evicted.namespace, evicted.key)
        finally:
            lock.release()

    def hot_index(self, namespace: str, limit: int) -> HotIndex:
        """A new ``HotIndex`` over ``namespace`` that this backend keeps true."""
        touch = None if self._order is None else self._order.move_to_end
        index = HotIndex(self._space(namespace), limit, self.clock.now, touch)
        with self._lock:
            self._indexes.setdefault(namespace, weakref.WeakValueDictionary())[id(index)] = index
        return index

    def _changed(self, namespace: str) -> None:
        """Empty the hot indexes of ``namespace``: call under the lock, after a bare entry changed."""
        indexes = self._indexes.get(namespace)
        if indexes:
            for index in indexes.values():
                index.clear()

    def _drop_entry(self, namespace: str, entry: Any) -> None:
        """Retire an entry just taken out of its namespace dict; call under the lock."""
        if type(entry) is Stored:
            entry.kill()
            if self._order is not None:
                self._order.pop(entry, None)
        else:
            self._changed(namespace)

    def _get(self, namespace: str, key: str) -> Entry | None:
        space = self._values.get(namespace)
        entry = MISSING if space is None else space.get(key, MISSING)
        if entry is MISSING:
            return None
        value = self._live(entry)
        if value is MISSING:
            return None
        expires_at = entry.expires_at if type(entry) is Stored else None
        return value, (None if expires_at is NEVER else expires_at)

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        self.writer(namespace)(key, payload, ttl)

    def _drop(self, namespace: str, key: str, entry: Any = MISSING) -> bool:
        """Delete one entry (only if it is still ``entry``, when given); call under the lock."""
        space = self._values.get(namespace)
        if space is None:
            return False
        current = space.get(key, MISSING)
        if current is MISSING or (entry is not MISSING and current is not entry):
            return False
        del space[key]
        self._drop_entry(namespace, current)
        return True

    def _discard(self, namespace: str, key: str, entry: Any = MISSING) -> bool:
        lock = self._lock
        lock.acquire()
        try:
            return self._drop(namespace, key, entry)
        finally:
            lock.release()

    def _remove(self, namespace: str, key: str) -> bool:
        return self._discard(namespace, key)

    def _sweep(self, now: float) -> int:
        """Delete expired entries; call under the lock."""
        self._next_sweep = now + self.sweep_interval
        doomed = [
            (namespace, entry)
            for namespace, space in self._values.items()
            for entry in space.values()
            if type(entry) is Stored and entry.expires_at <= now
        ]
        for namespace, entry in doomed:
            self._drop(namespace, entry.key, entry)
        self._has_expiring = any(
            type(entry) is Stored and entry.expires_at is not NEVER
            for space in self._values.values()
            for entry in space.values()
        )
        return len(doomed)

    def _remove_expired(self, now: float) -> int:
        with self._lock:
            return self._sweep(now)

    def _clear(self, namespace: str | None) -> None:
        with self._lock:
            names = list(self._values) if namespace is None else [namespace]
            for name in names:
                space = self._values.get(name)
                if space is None:
                    continue
                for entry in space.values():
                    if type(entry) is Stored:
                        entry.kill()
                        if self._order is not None:
                            self._order.pop(entry, None)
                space.clear()
                self._changed(name)

    def _get_tag_versions(self, tags: list[str]) -> list[Entry | None]:
        table = self._tag_table
        return [None if (version := table.get(tag)) is None else (version, None) for tag in tags]

    def _put_tag_versions(self, items: list[tuple[str, Any]]) -> None:
        with self._lock:
            self._tag_table.update(items)

    def _close(self) -> None:
        self._clear(None)
        self._tag_table.clear()


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

    async def _get_tag_versions(self, tags: list[str]) -> list[Entry | None]:
        return self.nonblocking._get_tag_versions(tags)

    async def _put_tag_versions(self, items: list[tuple[str, Any]]) -> None:
        self.nonblocking._put_tag_versions(items)

    async def _get_tagged(self, namespace: str, key: str, tags: list[str]) -> tuple[Entry | None, list[Entry | None]]:
        storage = self.nonblocking
        return storage._get(namespace, key), storage._get_tag_versions(tags)

    async def _remove_expired(self, now: float) -> int:
        return self.nonblocking._remove_expired(now)

    async def _clear(self, namespace: str | None) -> None:
        self.nonblocking._clear(namespace)

    async def _close(self) -> None:
        self.nonblocking.close()


#: cachetoolz names.
AsyncInMemory = DictCache
InMemory = SyncDictCache
