"""A separate process for the near-cache tests: ``python _near_worker.py MODE URL [cluster]``.

MODE ``sync`` / ``async``: a reader with a near cache (``SyncRedisCache`` / ``RedisCache``);
``writer``: a ``SyncRedisCache`` without one. Commands arrive one per line on stdin and
each gets one JSON line on stdout:

- ``read KEY``: ``{"value": ..., "held": entries in the near cache, "live": ..., "established": ...}``;
- ``status``: the same without a read;
- ``put KEY VALUE`` (VALUE as JSON) / ``remove KEY`` / ``clear``: ``{"ok": true}``;
- ``quit``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from cache_redis import RedisCache, SyncRedisCache

NAMESPACE = "near-test"


def status(backend: RedisCache | SyncRedisCache) -> dict[str, Any]:
    near = backend.near_cache
    if near is None:
        return {"held": 0, "live": False, "established": 0}
    tracker = backend._tracker
    return {"held": len(near), "live": near.live, "established": 0 if tracker is None else tracker.established}


def run_sync(backend: SyncRedisCache) -> None:
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        if command == "quit":
            break
        answer: dict[str, Any] = {"ok": True}
        if command == "read":
            answer = {"value": backend.get_or_default(rest, namespace=NAMESPACE), **status(backend)}
        elif command == "status":
            answer = status(backend)
        elif command == "put":
            key, _, value = rest.partition(" ")
            backend.put(key, json.loads(value), namespace=NAMESPACE)
        elif command == "remove":
            backend.remove(rest, namespace=NAMESPACE)
        elif command == "clear":
            backend.clear(NAMESPACE)
        print(json.dumps(answer), flush=True)
    backend.close()


async def run_async(backend: RedisCache) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        command, _, rest = line.strip().partition(" ")
        if command in ("quit", ""):
            break
        answer: dict[str, Any] = {"ok": True}
        if command == "read":
            answer = {"value": await backend.get_or_default(rest, namespace=NAMESPACE), **status(backend)}
        elif command == "status":
            answer = status(backend)
        print(json.dumps(answer), flush=True)
    await backend.close()


def main(mode: str, url: str, cluster: bool) -> None:
    if mode == "async":
        asyncio.run(run_async(RedisCache(url, cluster=cluster, near_cache=100)))
    else:
        run_sync(SyncRedisCache(url, cluster=cluster, near_cache=100 if mode == "sync" else None))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "cluster")
