"""Quick start: one decorator on an async and a sync function, in-memory default backend."""

from __future__ import annotations

import asyncio

from cache_core import cached


@cached(ttl=60)
async def fetch_user(user_id: int) -> dict[str, object]:
    await asyncio.sleep(0.05)  # stands in for a slow database or HTTP call
    return {"id": user_id, "name": f"user-{user_id}"}


@cached
def fibonacci(n: int) -> int:
    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)


async def main() -> None:
    for user_id in (1, 2, 1, 1):
        print("fetch_user", user_id, "->", await fetch_user(user_id))
    print("fetch_user:", fetch_user.cache_info())
    print("fibonacci(80) =", fibonacci(80))
    print("fibonacci:", fibonacci.cache_info())


if __name__ == "__main__":
    asyncio.run(main())
