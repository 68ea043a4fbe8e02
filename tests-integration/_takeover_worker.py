"""A process of the lock-takeover test: ``python _takeover_worker.py KIND LOCATION MODE COUNTER``.

``KIND`` is ``sqlite`` (``LOCATION`` a file) or ``redis`` (a URL). ``hold``: start
computing the cached call while holding its lock, say so, and hang until killed.
``call``: make the same call and print its result. Every run of the function appends a
line to the file ``COUNTER``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from cache_core import cached

LOCK_SECONDS = 1.0


def backend_for(kind: str, location: str) -> Any:
    if kind == "sqlite":
        from cache_sqlite import SyncSqliteCache

        return SyncSqliteCache(location)
    from cache_redis import SyncRedisCache

    return SyncRedisCache(location)


def main(kind: str, location: str, mode: str, counter: str) -> None:
    backend = backend_for(kind, location)

    @cached(cache=backend, ttl=60, lock=LOCK_SECONDS, namespace="takeover")
    def report(day: str) -> str:
        with Path(counter).open("a", encoding="utf-8") as runs:
            runs.write(f"{mode}\n")
        if mode == "hold":
            print(json.dumps("holding"), flush=True)
            time.sleep(60)  # killed while it holds the lock
        time.sleep(LOCK_SECONDS)  # the takeover computes as long as the lock lives
        return f"report for {day}"

    print(json.dumps(report("monday")), flush=True)
    backend.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
