"""cache-redis: RedisCache / SyncRedisCache (redis-py). Not built yet (see the project issues)."""

from __future__ import annotations

__all__: list[str] = []
