"""Checked by ``mypy --strict`` (``hatch run types:check``), never run.

Decorated functions keep their parameter and return types. Each ``# type: ignore[...]``
line is a call that must stay an error: mypy's ``warn_unused_ignores`` (part of
``--strict``) fails the check if such a call ever type-checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from cache_core import (
    Cache,
    CacheInfo,
    DictCache,
    JsonSerializer,
    ReprKeyMaker,
    SyncDictCache,
    cache,
    cached,
)
from typing_extensions import assert_type

# -- cached, bare and with options, sync and async ---------------------------------------------


@cached
def add(x: int, y: int = 0) -> int:
    return x + y


@cached(ttl=60, namespace="users", key_maker=ReprKeyMaker(hash=hashlib.sha256))
async def fetch(user_id: int, *, fresh: bool = False) -> dict[str, str]:
    return {"id": str(user_id)}


@cached(ttl=(timedelta(minutes=30), timedelta(hours=1)), cache=SyncDictCache(), serializer=JsonSerializer())
def names(prefix: str) -> list[str]:
    return [prefix]


def ttl_for(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> float:
    return 1.0


@cached(ttl=ttl_for, typed=True)
async def scaled(value: float) -> float:
    return value


assert_type(add(1, 2), int)
assert_type(add(1), int)
assert_type(add(x=1, y=2), int)
assert_type(names("a"), list[str])
add("1")  # type: ignore[arg-type]
add(1, 2, 3)  # type: ignore[call-arg]
add(z=1)  # type: ignore[call-arg]
names(1)  # type: ignore[arg-type]

assert_type(add.cache_info(), CacheInfo)
assert_type(add.cache_info().hits, int)
assert_type(add.invalidate(1, y=2), bool)
add.invalidate("1")  # type: ignore[arg-type]
assert_type(add.cache_clear(), None)
assert_type(add.__wrapped__(1, 2), int)


async def use_async() -> None:
    assert_type(await fetch(1), dict[str, str])
    assert_type(await fetch(1, fresh=True), dict[str, str])
    assert_type(await scaled(2.0), float)
    await fetch("1")  # type: ignore[arg-type]
    await fetch(1, True)  # type: ignore[call-arg]
    await fetch(1, stale=True)  # type: ignore[call-arg]
    assert_type(fetch.cache_info(), CacheInfo)
    assert_type(await fetch.invalidate(1), bool)
    await fetch.invalidate("1")  # type: ignore[arg-type]
    assert_type(await fetch.cache_clear(), None)
    assert_type(await fetch.__wrapped__(1), dict[str, str])


def result_is_not_awaitable_in_sync_code() -> None:
    total: str = add(1)  # type: ignore[assignment]
    del total


# -- the Cache front ----------------------------------------------------------------------------

front = Cache(DictCache(), ttl=60)


@front
def square(x: int) -> int:
    return x * x


@front(namespace="squares", typed=True)
async def asquare(x: int) -> int:
    return x * x


@cache
def from_default(text: str) -> bytes:
    return text.encode()


@front.clear
def reset(reason: str) -> bool:
    return True


@front.clear(namespaces=["squares"])
async def areset() -> None:
    return None


@front(tags=["user:{user_id}", "users"])
def profile(user_id: int) -> str:
    return str(user_id)


def tags_of(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: list[int]) -> list[str]:
    return [f"item:{item}" for item in value]


@cached(tags=tags_of, ttl=60)
async def listing(page: int) -> list[int]:
    return [page]


@front.clear(tags=["user:{user_id}"])
def rename(user_id: int, name: str) -> None:
    return None


assert_type(profile(1), str)
profile("1")  # type: ignore[arg-type]
assert_type(rename(1, "Ada"), None)
assert_type(front.invalidate_tags("user:1", "users"), Awaitable[None])
front.invalidate_tags(1)  # type: ignore[arg-type]
assert_type(square(2), int)
square("2")  # type: ignore[arg-type]
assert_type(square.cache_info(), CacheInfo)
assert_type(from_default("a"), bytes)
from_default(1)  # type: ignore[arg-type]
assert_type(reset("test"), bool)
reset(1)  # type: ignore[arg-type]


async def use_front() -> None:
    assert_type(await asquare(3), int)
    await asquare("3")  # type: ignore[arg-type]
    assert_type(await areset(), None)
    assert_type(await listing(1), list[int])
    await front.invalidate_tags("users")
    await DictCache().invalidate_tags("users")
    SyncDictCache().invalidate_tags("users")


# -- methods ------------------------------------------------------------------------------------


class Shop:
    @cached
    def price(self, item: str) -> float:
        return 1.0

    @cached(ttl=5)
    async def stock(self, item: str) -> int:
        return 1

    @staticmethod
    @cached
    def tax(amount: float) -> float:
        return amount * 0.2


async def use_methods(shop: Shop) -> None:
    assert_type(shop.price("tea"), float)
    assert_type(await shop.stock("tea"), int)
    assert_type(shop.tax(10.0), float)
    assert_type(Shop.tax(10.0), float)
    Shop.tax("10")  # type: ignore[arg-type]
    assert_type(Shop.price.cache_info(), CacheInfo)
    assert_type(Shop.price.invalidate(shop, "tea"), bool)
