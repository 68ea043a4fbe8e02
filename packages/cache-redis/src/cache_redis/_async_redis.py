"""``RedisCache``: Redis and Redis Cluster storage over redis.asyncio.

Written once, for asyncio: ``scripts/unasync.py`` generates the sync twin. The key
layout, value framing and Lua scripts live in ``_shared.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from cache_core import AsyncBackend, CircuitBreaker, Clock, Entry, JsonSerializer, Serializer
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry

from ._shared import (
    RELEASE_LOCK,
    REMOVE_IF_EXPIRED,
    SCAN_COUNT,
    TIMEOUT_ERRORS,
    KeyLayout,
    ReadCoalescer,
    connect,
    frame,
    lock_milliseconds,
    make_breaker,
    milliseconds,
    new_token,
    unframe,
)

# unasync: RedisCache -> SyncRedisCache, AsyncRedisBackend -> RedisBackend, redis.asyncio -> redis
# unasync: ReadCoalescer -> DirectReads, aclose -> close, AsyncIterator -> Iterator


class RedisCache(AsyncBackend):
    """Entries in Redis or a Redis Cluster, shared by every process that uses the same server and prefix.

    Redis expires entries itself (``PX``); the expiry instant is also stored with the
    value, so ``clock`` decides (a test clock works). Failures raise ``BackendError``
    (``BackendTimeoutError`` past ``timeout``); decorated functions then run uncached.

    Args:
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL; or a redis.asyncio ``Redis``,
            ``RedisCluster`` or ``ConnectionPool`` you own (``close()`` leaves it open).
        prefix: the first part of every key name; backends with the same prefix share entries.
        serializer: turns values into bytes; ``JsonSerializer()`` by default.
        clock: source of time for expiry instants.
        breaker: a ``CircuitBreaker``; ``True`` for a default one, ``False`` for none.
        timeout: seconds each socket operation may take (URL only; a URL option or
            ``socket_timeout`` in ``redis_kwargs`` wins).
        cluster: the URL names a node of a Redis Cluster.
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
        **redis_kwargs: Any,
    ) -> None:
        super().__init__(serializer=serializer or JsonSerializer(), clock=clock, breaker=make_breaker(breaker))
        self._keys = KeyLayout(prefix)
        self._client: Redis | RedisCluster
        self._client, self._owned, self._label = connect(
            url, redis_kwargs, timeout=timeout, cluster=cluster, classes=(Redis, RedisCluster, ConnectionPool, Retry)
        )
        self._reads = ReadCoalescer(self._client.get)

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis-py client in use."""
        return self._client

    async def _get(self, namespace: str, key: str) -> Entry | None:
        return unframe(await self._reads.get(self._keys.entry(namespace, key)))

    async def _get_many(self, namespace: str, keys: list[str]) -> list[Entry | None]:
        async with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(self._keys.entry(namespace, key))
            return [unframe(raw) for raw in await pipe.execute()]

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        await self._client.set(self._keys.entry(namespace, key), frame(payload, expires_at), px=milliseconds(ttl))

    async def _put_many(
        self, namespace: str, items: list[tuple[str, Any]], ttl: float | None, expires_at: float | None
    ) -> None:
        px = milliseconds(ttl)
        async with self._client.pipeline(transaction=False) as pipe:
            for key, payload in items:
                pipe.set(self._keys.entry(namespace, key), frame(payload, expires_at), px=px)
            await pipe.execute()

    async def _remove(self, namespace: str, key: str) -> bool:
        return bool(await self._client.unlink(self._keys.entry(namespace, key)))

    async def _remove_expired(self, now: float) -> int:
        removed = 0
        async for names in self._scan(self._keys.pattern(None), kind="string"):
            async with self._client.pipeline(transaction=False) as pipe:
                for name in names:  # execute_command: redis-py's sync ClusterPipeline refuses pipe.eval()
                    pipe.execute_command("EVAL", REMOVE_IF_EXPIRED, 1, name, repr(now))
                removed += sum(await pipe.execute())
        return removed

    async def _clear(self, namespace: str | None) -> None:
        # SCAN + UNLINK in batches (per node on a cluster): never KEYS, never a long stall.
        async for names in self._scan(self._keys.pattern(namespace)):
            await self._client.unlink(*names)

    async def _scan(self, pattern: bytes, kind: str | None = None) -> AsyncIterator[list[bytes]]:
        names: list[bytes] = []
        async for name in self._client.scan_iter(match=pattern, count=SCAN_COUNT, _type=kind):
            names.append(name)
            if len(names) >= SCAN_COUNT:
                yield names
                names = []
        if names:
            yield names

    async def _close(self) -> None:
        if self._owned:
            await self._client.aclose()

    # -- cross-process lock (the template's _try_lock/_unlock add the error policy) ------------

    async def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        token = new_token()
        acquired = await self._client.set(self._keys.lock(namespace, key), token, nx=True, px=lock_milliseconds(ttl))
        return token if acquired else None

    async def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        return bool(await self._client.eval(RELEASE_LOCK, 1, self._keys.lock(namespace, key), token))

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} {self._label}{state}>"


#: The cachetoolz name: ``AsyncRedisBackend(url, **kwargs)``.
AsyncRedisBackend = RedisCache
