"""Another process using a sync backend: run by test_scenarios.py, never collected by pytest.

``python _sync_peer.py write <kind> <config>`` stores ``VALUES`` (namespace ``peer``), a
batch, a short-lived entry and one decorated function's result with the sync backend
of ``kind`` (``sqlite``, ``redis`` or ``mongo``); ``read`` checks that ``VALUES`` written
by the async backend (namespace ``from-async``) read back equal. ``config`` is JSON:
``{"path": ...}``, ``{"url": ..., "prefix": ...}`` or ``{"url": ..., "database": ...}``.
The test module loads ``VALUES`` from this file with ``runpy``.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections import deque
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

from cache_core import Backend, cached

#: Values of every kind the JSON coder keeps, each under its own key.
VALUES: dict[str, Any] = {
    "text": "tea \x00 ☕ \ud800",
    "number": 2**2000 + 1,
    "inf": float("-inf"),
    "nothing": None,
    "flags": [True, False],
    "order": (7, Decimal("19.99"), ("nested", 1)),
    "mixed keys": {1: "one", (2, 3): "pair", "!": "bang", None: "none"},
    "when": datetime(2026, 5, 14, 12, 30, 15, 250, tzinfo=timezone(timedelta(hours=2))),
    "day": date(2026, 5, 14),
    "window": timedelta(days=1, seconds=5, microseconds=7),
    "id": UUID("12345678-1234-5678-1234-567812345678"),
    "raw": b"\x00\xff" * 100,
    "sets": (frozenset({1, 2}), {"a", "b"}),
    "recent": deque([1, 2, 3], maxlen=5),
    "path": PurePosixPath("/srv/shop/data"),
    "network": ipaddress.ip_network("10.0.0.0/8"),
    "big": "x" * 200_000,
}
BATCH = {f"batch-{index}": (index, str(index)) for index in range(50)}
BRIEF_TTL = 0.3


def price_key(function: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The same key for the sync writer's function and the async reader's."""
    return f"price:{args[0]}"


def sync_backend(kind: str, config: dict[str, str]) -> Backend:
    if kind == "sqlite":
        from cache_sqlite import SyncSqliteCache

        return SyncSqliteCache(config["path"])
    if kind == "redis":
        from cache_redis import SyncRedisCache

        return SyncRedisCache(config["url"], prefix=config["prefix"])
    if kind == "mongo":
        from cache_mongo import SyncMongoCache

        return SyncMongoCache(config["url"], database=config["database"])
    msg = f"unknown backend kind {kind!r}"
    raise ValueError(msg)


def write(backend: Backend) -> None:
    for key, value in VALUES.items():
        backend.put(key, value, ttl=600, namespace="peer")
    backend.put_many(BATCH, ttl=600, namespace="peer")
    backend.put("brief", "gone soon", ttl=BRIEF_TTL, namespace="peer")

    @cached(cache=backend, namespace="peer", key_maker=price_key, ttl=600)
    def price(item: str) -> Decimal:
        return Decimal("4.50")

    price("tea")


def read(backend: Backend) -> list[str]:
    """The keys whose values did not read back equal (with their type)."""
    wrong = []
    for key, expected in VALUES.items():
        found = backend.get_or_default(key, namespace="from-async")
        if found != expected or type(found) is not type(expected):
            wrong.append(f"{key}: {found!r:.80}")
    return wrong


def main(action: str, kind: str, config: dict[str, str]) -> int:
    with sync_backend(kind, config) as backend:
        if action == "write":
            write(backend)
            return 0
        wrong = read(backend)
    print("\n".join(wrong) or "all equal")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
