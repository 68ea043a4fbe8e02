"""cache-redis: ``RedisCache`` (redis.asyncio) and ``SyncRedisCache`` (redis), for Redis and Redis Cluster."""

from __future__ import annotations

from ._async_redis import AsyncRedisBackend, RedisCache
from ._sync_redis import RedisBackend, SyncRedisCache

__all__ = ["AsyncRedisBackend", "RedisBackend", "RedisCache", "SyncRedisCache"]
