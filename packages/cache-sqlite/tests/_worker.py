"""One of the processes of test_multiprocess.py (run as a script, never collected by pytest).

Usage: python _worker.py DB_PATH WORKER_ID sync|async ROUNDS GO_FILE

Waits for GO_FILE, then mixes puts, put_many, gets, get_many, removes and remove_expired on
one file shared with the other workers, checking every value it reads for tearing. Prints a
JSON report; any exception (a "database is locked" among them) fails the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sys
import time
from typing import Any

from cache_core import AsyncBackend, Backend
from cache_sqlite import SqliteCache, SyncSqliteCache


def make_value(worker: int, index: int, size: int) -> dict[str, Any]:
    body = f"{worker}:{index}:" + "x" * size
    return {"worker": worker, "index": index, "body": body, "sha": hashlib.sha256(body.encode()).hexdigest()}


def check(value: Any) -> None:
    """Raise if ``value`` is not a whole value written by some worker."""
    if not isinstance(value, dict) or hashlib.sha256(value["body"].encode()).hexdigest() != value["sha"]:
        msg = f"torn or foreign value: {value!r:.200}"
        raise AssertionError(msg)
    if not value["body"].startswith(f"{value['worker']}:{value['index']}:"):
        msg = f"value does not match its header: {value!r:.200}"
        raise AssertionError(msg)


async def call(backend: AsyncBackend | Backend, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(backend, name)(*args, **kwargs)
    return await result if isinstance(backend, AsyncBackend) else result


async def work(path: str, worker: int, mode: str, rounds: int, go_file: str) -> dict[str, Any]:
    while not os.path.exists(go_file):
        time.sleep(0.001)
    # Opened only now, so the workers race to create the file and switch it to WAL.
    backend: AsyncBackend | Backend = SqliteCache(path) if mode == "async" else SyncSqliteCache(path)
    rng = random.Random(worker)
    written: list[str] = []
    checked = 0
    for index in range(rounds):
        key = f"w{worker}-{index}"
        value = make_value(worker, index, rng.randrange(10, 20_000))
        if index % 10 == 9:  # a batch of five keys in one statement
            batch = {f"{key}-{n}": make_value(worker, index, rng.randrange(10, 2_000)) for n in range(5)}
            await call(backend, "put_many", batch)
            written.extend(batch)
        await call(backend, "put", key, value)
        written.append(key)
        await call(backend, "put", "hot", value)  # every worker overwrites this one
        await call(backend, "put", f"short-{worker}-{index}", value, ttl=0.05)
        for read in ("hot", rng.choice(written), f"w{rng.randrange(4)}-{rng.randrange(index + 1)}"):
            found = await call(backend, "get_or_default", read)
            if found is not None:
                check(found)
                checked += 1
        many = await call(backend, "get_many", [f"w{other}-{index // 2}" for other in range(4)])
        for found in many.values():
            check(found)
            checked += 1
        if index % 25 == 0:
            await call(backend, "remove_expired")
            await call(backend, "remove", f"gone-{worker}")
    await call(backend, "close")
    return {"worker": worker, "written": written, "checked": checked}


def main() -> None:
    path, worker, mode, rounds, go_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    report = asyncio.run(work(path, worker, mode, rounds, go_file))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
