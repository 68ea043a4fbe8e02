"""``RedisCache``: Redis and Redis Cluster storage over redis.asyncio.

Written once, for asyncio: ``scripts/unasync.py`` generates the sync twin. The key
layout, entry layout and Lua scripts live in ``_shared.py``.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from typing import Any

from cache_core import (
    MISSING,
    TAG_NAMESPACE,
    AsyncBackend,
    CircuitBreaker,
    Clock,
    Entry,
    JsonSerializer,
    LoopLocal,
    Serializer,
)
from cache_core._keys import key_text
from cache_core._memory import HotIndex
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.exceptions import ResponseError

from ._near import NearCache, Tracker, check_size, endpoints_of, forget, forget_all, near_group
from ._shared import (
    MARKER_FAMILY,
    RELEASE_LOCK,
    REMOVE_IF_EXPIRED,
    REMOVE_IF_OURS,
    SCAN_COUNT,
    TIMEOUT_ERRORS,
    KeyLayout,
    Link,
    ReadCoalescer,
    connect,
    frame,
    is_foreign,
    lock_milliseconds,
    make_breaker,
    milliseconds,
    new_token,
    unframe,
)

# unasync: RedisCache -> SyncRedisCache, AsyncRedisBackend -> RedisBackend, redis.asyncio -> redis
# unasync: ReadCoalescer -> DirectReads, aclose -> close, AsyncIterator -> Iterator, LoopLocal -> SharedState
# unasync: a client of its own per event loop that calls it -> one client for every thread
# unasync: closed as its loop ends -> closed by close


class RedisCache(AsyncBackend):
    """Entries in Redis or a Redis Cluster, shared by every process that uses the same server and prefix.

    Redis expires entries itself (``PX``); the expiry instant is also stored with the
    value, so ``clock`` decides (a test clock works). Failures raise ``BackendError``
    (``BackendTimeoutError`` past ``timeout``); decorated functions then run uncached.

    Args:
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL; or a redis.asyncio ``Redis``,
            ``RedisCluster`` or ``ConnectionPool`` you own (``close()`` leaves it open).
            From a URL: a client of its own per event loop that calls it (closed as its loop ends).
            A client you pass in is used as it is.
        prefix: the first part of every key name; backends with the same prefix share entries.
        serializer: turns values into bytes; ``JsonSerializer()`` by default.
        clock: source of time for expiry instants.
        breaker: a ``CircuitBreaker``; ``True`` for a default one, ``False`` for none.
        timeout: seconds each socket operation may take (URL only; a URL option or
            ``socket_timeout`` in ``redis_kwargs`` wins).
        cluster: the URL names a node of a Redis Cluster.
        near_cache: keep up to this many decoded entries in process memory (LRU, TTLs
            honoured), kept coherent by Redis client tracking: a write, remove or clear by
            any process drops the other processes' copies within milliseconds. While the
            invalidation connection is down the near cache is empty and bypassed.
            ``None`` (the default): every read goes to Redis.
        **redis_kwargs: passed to ``Redis.from_url`` / ``RedisCluster.from_url``.
    """

    timeout_errors = TIMEOUT_ERRORS
    sync_alternative = "SyncRedisCache"
    # Redis takes strings up to 512 MiB (proto-max-bulk-len); 1 KiB is left for the frame and the prefix.
    max_entry_bytes = (512 << 20) - 1024

    def __init__(
        self,
        url: str | Redis | RedisCluster | ConnectionPool,
        *,
        prefix: str = "cache",
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        breaker: CircuitBreaker | bool | None = True,
        timeout: float | None = 1.0,
        cluster: bool = False,
        near_cache: int | None = None,
        **redis_kwargs: Any,
    ) -> None:
        super().__init__(serializer=serializer or JsonSerializer(), clock=clock, breaker=make_breaker(breaker))
        self._keys = KeyLayout(prefix)
        near_size = check_size(near_cache)
        classes = (Redis, RedisCluster, ConnectionPool, Retry)
        client, self._owned, self._label = connect(url, redis_kwargs, timeout=timeout, cluster=cluster, classes=classes)

        passed_in = None if self._owned else client  # ours is not kept: the first loop's client must not outlive it

        def new_link() -> Link:
            """Another event loop's link: a client of its own from the URL, else the one passed in."""
            if passed_in is not None:
                return Link(passed_in, ReadCoalescer)
            return Link(connect(url, redis_kwargs, timeout=timeout, cluster=cluster, classes=classes)[0], ReadCoalescer)

        self._links = LoopLocal(new_link, self._close_link if self._owned else None, first=Link(client, ReadCoalescer))
        # Near caches of this process over the same keys: our writes drop their copies at once.
        self._near_group = near_group(self._label, prefix)
        self._near: NearCache | None = None
        self._tracker: Tracker | None = None
        if near_size is not None:
            self._near = NearCache(near_size, self.clock.now, prefix)
            self._near_group.add(self._near)
            self._tracker = Tracker(self._near, endpoints_of(client), f"cache-redis near cache {self._label}")
            weakref.finalize(self, self._tracker.stop)

    @staticmethod
    async def _close_link(link: Link) -> None:
        await link.client.aclose()

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis-py client in use (from a URL: the calling event loop's)."""
        link = self._links.peek()
        assert link is not None  # noqa: S101 - made in __init__, dropped only with its loop
        client: Redis | RedisCluster = link.client
        return client

    @property
    def near_cache(self) -> NearCache | None:
        """The near cache, or ``None`` without one."""
        return self._near

    def near_index(self, namespace: str, limit: int) -> HotIndex | None:
        """A hot index over the near cache's entries of ``namespace``, for one decorated function."""
        return None if self._near is None else self._near.hot_index(namespace, limit)

    async def _lookup(self, namespace: str, key: str, serializer: Serializer | None = None) -> Any:
        near = self._near
        if near is None or serializer is not None:
            return await super()._lookup(namespace, key, serializer)
        value = near.get(namespace, key)
        if value is not MISSING:
            if self._closed:
                self._ensure_open()
            return value
        ticket = near.ticket()  # before the read: an invalidation that comes after it wins
        started = self._ensure_open()
        try:
            entry = await self._get(namespace, key)
        except Exception as exc:
            raise self._failure("get", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        if entry is None:
            return MISSING
        value = self._live_value(key, entry)
        if value is not MISSING and ticket is not None:
            near.keep(ticket, namespace, key, value, entry[1])
        return value

    async def _lookup_tagged(
        self, namespace: str, key: str, tags: list[str], serializer: Serializer | None = None
    ) -> tuple[Any, dict[str, str]]:
        near = self._near
        if near is None or serializer is not None:
            return await super()._lookup_tagged(namespace, key, tags, serializer)
        names = [key_text(tag) for tag in tags]
        value = near.get(namespace, key)
        if value is not MISSING:
            versions = near.versions(tags, names)  # a tag version is an entry like any other, tracked too
            if versions is not None:
                if self._closed:
                    self._ensure_open()
                return value, versions
        ticket = near.ticket()
        started = self._ensure_open()
        try:
            entry, found = await self._get_tagged(namespace, key, names)
        except Exception as exc:
            raise self._failure("get", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        value = MISSING if entry is None else self._live_value(key, entry)
        versions = self._versions(tags, found)
        if ticket is not None:
            if value is not MISSING and entry is not None:
                near.keep(ticket, namespace, key, value, entry[1])
            for tag, name in zip(tags, names, strict=True):
                near.keep(ticket, TAG_NAMESPACE, name, versions[tag], None)
        return value, versions

    async def _get_tagged(self, namespace: str, key: str, tags: list[str]) -> tuple[Entry | None, list[Entry | None]]:
        # One round trip (a pipeline: on a cluster, one per node involved).
        if not tags:
            return await self._get(namespace, key), []
        keys = self._keys
        entries = await self._read([keys.entry(namespace, key), *(keys.entry(TAG_NAMESPACE, tag) for tag in tags)])
        return entries[0], entries[1:]

    async def _get(self, namespace: str, key: str) -> Entry | None:
        try:
            raw = await self._links.get().reads.get(self._keys.entry(namespace, key))
        except ResponseError as exc:
            if is_foreign(exc):
                return None
            raise
        return unframe(raw)

    async def _get_many(self, namespace: str, keys: list[str]) -> list[Entry | None]:
        return await self._read([self._keys.entry(namespace, key) for key in keys])

    async def _read(self, names: list[bytes]) -> list[Entry | None]:
        async with self._links.get().client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.get(name)
            replies = await pipe.execute(raise_on_error=False)
        for reply in replies:
            if isinstance(reply, Exception) and not is_foreign(reply):
                raise reply
        return [None if isinstance(reply, Exception) else unframe(reply) for reply in replies]

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        name, value = self._keys.entry(namespace, key), frame(payload, expires_at)
        try:
            await self._links.get().client.set(name, value, px=milliseconds(ttl))
        finally:
            forget(self._near_group, namespace, key)

    async def _put_many(
        self, namespace: str, items: list[tuple[str, Any]], ttl: float | None, expires_at: float | None
    ) -> None:
        px = milliseconds(ttl)
        batch = [(self._keys.entry(namespace, key), frame(payload, expires_at)) for key, payload in items]
        try:
            async with self._links.get().client.pipeline(transaction=False) as pipe:
                for name, value in batch:
                    pipe.set(name, value, px=px)
                await pipe.execute()
        finally:
            for key, _ in items:
                forget(self._near_group, namespace, key)

    async def _remove(self, namespace: str, key: str) -> bool:
        name = self._keys.entry(namespace, key)
        try:
            return bool(await self._links.get().client.execute_command("EVAL", REMOVE_IF_OURS, 1, name, MARKER_FAMILY))
        finally:
            forget(self._near_group, namespace, key)

    async def _remove_expired(self, now: float) -> int:
        return await self._each_of_ours(self._keys.pattern(None), REMOVE_IF_EXPIRED, repr(now))

    async def _clear(self, namespace: str | None) -> None:
        # SCAN + a delete-if-ours script per key, in batches (per node on a cluster): never KEYS, never a long stall.
        try:
            await self._each_of_ours(self._keys.pattern(namespace), REMOVE_IF_OURS)
        finally:
            forget_all(self._near_group, namespace)

    async def _each_of_ours(self, pattern: bytes, script: str, *arguments: str) -> int:
        """Run ``script`` on every string under ``pattern`` (it checks the key is ours); the sum of its results."""
        client = self._links.get().client
        total = 0
        async for names in self._scan(client, pattern):
            async with client.pipeline(transaction=False) as pipe:
                for name in names:  # execute_command: redis-py's sync ClusterPipeline refuses pipe.eval()
                    pipe.execute_command("EVAL", script, 1, name, MARKER_FAMILY, *arguments)
                total += sum(await pipe.execute())
        return total

    @staticmethod
    async def _scan(client: Redis | RedisCluster, pattern: bytes) -> AsyncIterator[list[bytes]]:
        names: list[bytes] = []
        async for name in client.scan_iter(match=pattern, count=SCAN_COUNT, _type="string"):
            names.append(name)
            if len(names) >= SCAN_COUNT:
                yield names
                names = []
        if names:
            yield names

    async def _close(self) -> None:
        if self._tracker is not None:
            self._tracker.stop()
        await self._links.aclose()

    # -- cross-process lock (the template's _try_lock/_unlock add the error policy) ------------

    async def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        token = new_token()
        name, px = self._keys.lock(namespace, key), lock_milliseconds(ttl)
        acquired = await self._links.get().client.set(name, token, nx=True, px=px)
        return token if acquired else None

    async def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        return bool(await self._links.get().client.eval(RELEASE_LOCK, 1, self._keys.lock(namespace, key), token))

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} {self._label}{state}>"


#: The cachetoolz name: ``AsyncRedisBackend(url, **kwargs)``.
AsyncRedisBackend = RedisCache
