"""A process of the tags test: ``python _tags_worker.py KIND LOCATION ROLE``.

``KIND`` is ``sqlite`` (``LOCATION`` a file), ``redis`` or ``redis-cluster`` (a URL).
``reader``: a cached function tagged ``user:{user_id}``; reads commands from stdin, one a
line: ``get N`` prints ``[value, runs]``; ``slow N`` prints ``"computing"`` when the
computation of ``N`` starts, waits for a line on stdin, then finishes and prints like
``get``. ``writer``: an async backend over the same storage invalidates the tags given
on the command line and prints ``"invalidated"``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from cache_core import cached


def sync_backend(kind: str, location: str) -> Any:
    if kind == "sqlite":
        from cache_sqlite import SyncSqliteCache

        return SyncSqliteCache(location)
    from cache_redis import SyncRedisCache

    return SyncRedisCache(location, cluster=kind == "redis-cluster")


async def invalidate(kind: str, location: str, tags: list[str]) -> None:
    backend: Any
    if kind == "sqlite":
        from cache_sqlite import SqliteCache

        backend = SqliteCache(location)
    else:
        from cache_redis import RedisCache

        backend = RedisCache(location, cluster=kind == "redis-cluster")
    await backend.invalidate_tags(*tags)
    await backend.close()


def reader(kind: str, location: str) -> None:
    backend = sync_backend(kind, location)
    runs = 0
    pause = False

    @cached(cache=backend, ttl=600, namespace="tags-processes", tags=["user:{user_id}"])
    def user(user_id: int) -> str:
        nonlocal runs
        runs += 1
        if pause:
            print(json.dumps("computing"), flush=True)
            sys.stdin.readline()
        return f"user {user_id} #{runs}"

    for line in sys.stdin:
        command, number = line.split()
        pause = command == "slow"
        print(json.dumps([user(int(number)), runs]), flush=True)
    backend.close()


if __name__ == "__main__":
    kind, location, role = sys.argv[1:4]
    if role == "reader":
        reader(kind, location)
    else:
        asyncio.run(invalidate(kind, location, sys.argv[4:]))
        print(json.dumps("invalidated"), flush=True)
