"""The shop's product catalog: an in-memory stand-in for a slow database.

Every read sleeps ``delay`` seconds and is counted, so a response can tell whether it
reached the database or was served from the cache.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TypedDict


class Product(TypedDict):
    id: int
    name: str
    price_cents: int


class Catalog:
    """Products by id; ``reads`` counts the (slow) queries made so far.

    Args:
        delay: seconds each read takes, as a remote database query would.
    """

    def __init__(self, *, delay: float = 0.2) -> None:
        self.delay = delay
        self.reads = 0
        self._products: dict[int, Product] = {}
        self._ids = itertools.count(1)
        for name, price_cents in [("tea", 450), ("coffee", 700), ("cocoa", 520)]:
            self._insert(name, price_cents)

    async def product(self, product_id: int) -> Product | None:
        await self._query()
        found = self._products.get(product_id)
        return None if found is None else Product(**found)

    async def products(self) -> list[Product]:
        await self._query()
        return [Product(**product) for product in self._products.values()]

    async def add(self, name: str, price_cents: int) -> Product:
        return self._insert(name, price_cents)

    async def update(self, product_id: int, name: str, price_cents: int) -> Product | None:
        if product_id not in self._products:
            return None
        self._products[product_id] = Product(id=product_id, name=name, price_cents=price_cents)
        return Product(**self._products[product_id])

    def _insert(self, name: str, price_cents: int) -> Product:
        product = Product(id=next(self._ids), name=name, price_cents=price_cents)
        self._products[product["id"]] = product
        return Product(**product)

    async def _query(self) -> None:
        self.reads += 1
        await asyncio.sleep(self.delay)
