"""A separate process for the cross-process tests: ``python _lock_worker.py MODE URL START_AT``.

Waits until the wall-clock instant ``START_AT`` so that every worker starts together, then:

- ``race``: takes the lock ``ns/race`` (TTL 30 s) and prints the token or ``null``;
- ``hold``: takes the lock ``ns/crash`` (TTL 1 s), prints the token and sleeps until killed;
- ``cached-sync`` / ``cached-async``: calls a cold function decorated with ``lock=True``
  (``SyncRedisCache`` / ``RedisCache``) that counts its runs in Redis, and prints its result.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis
from cache_core import cached
from cache_redis import RedisCache, SyncRedisCache

RUNS_KEY = "test:function-runs"


def main(mode: str, url: str, start_at: float) -> None:
    counter = redis.Redis.from_url(url)
    if mode == "cached-sync":
        backend = SyncRedisCache(url)

        @cached(cache=backend, ttl=60, lock=True, namespace="locked")
        def expensive(x: int) -> dict[str, int]:
            runs = int(counter.incr(RUNS_KEY))
            time.sleep(0.5)
            return {"x": x, "runs": runs}

        wait_until(start_at)
        print(json.dumps(expensive(7)), flush=True)
        backend.close()
    elif mode == "cached-async":
        print(json.dumps(asyncio.run(async_call(url, counter, start_at))), flush=True)
    elif mode == "race":
        backend = SyncRedisCache(url)
        wait_until(start_at)
        print(json.dumps(backend._acquire_lock("ns", "race", 30)), flush=True)
        backend.close()
    elif mode == "hold":
        backend = SyncRedisCache(url)
        print(json.dumps(backend._acquire_lock("ns", "crash", 1.0)), flush=True)
        time.sleep(60)  # killed before it can release
    counter.close()


async def async_call(url: str, counter: redis.Redis, start_at: float) -> dict[str, int]:
    async with RedisCache(url) as backend:

        @cached(cache=backend, ttl=60, lock=True, namespace="locked")
        async def expensive(x: int) -> dict[str, int]:
            runs = int(counter.incr(RUNS_KEY))
            await asyncio.sleep(0.5)
            return {"x": x, "runs": runs}

        wait_until(start_at)
        return await expensive(7)


def wait_until(start_at: float) -> None:
    while time.time() < start_at:
        time.sleep(0.001)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
