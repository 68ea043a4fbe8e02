"""The shop's web service: Starlette routes over a slow catalog, reads cached in Redis.

Reads go through ``@cache(...)`` functions of one ``Cache`` front over ``RedisCache``;
writes are wrapped in ``@cache.clear(namespaces=["products"])``, so every cached read
is recomputed after a change. Redis being down never breaks a request: the decorators
fail open (the catalog answers, the failure is logged) and a circuit breaker stops
trying Redis for ``SHOP_CACHE_RETRY`` seconds at a time.

Settings (environment):
    REDIS_URL: the Redis server (default ``redis://localhost:6379/0``).
    SHOP_DATABASE_DELAY: seconds each catalog query takes (default 0.2).
    SHOP_CACHE_RETRY: seconds between attempts to reach Redis while it is down (default 5).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cache_core import AsyncBackend, Cache, CircuitBreaker
from cache_redis import RedisCache
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .catalog import Catalog, Product

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

catalog = Catalog(delay=float(os.environ.get("SHOP_DATABASE_DELAY", "0.2")))

cache = Cache(
    RedisCache(
        REDIS_URL,
        breaker=CircuitBreaker(failures=3, reset_after=float(os.environ.get("SHOP_CACHE_RETRY", "5"))),
    ),
    namespace="products",
)


@cache(ttl=600)
async def product(product_id: int) -> Product | None:
    """One product, from the cache for 10 minutes (a missing product is cached too)."""
    return await catalog.product(product_id)


@cache(ttl=60)
async def products() -> list[Product]:
    """Every product, from the cache for a minute."""
    return await catalog.products()


@cache.clear(namespaces=["products"])
async def add_product(name: str, price_cents: int) -> Product:
    return await catalog.add(name, price_cents)


@cache.clear(namespaces=["products"])
async def update_product(product_id: int, name: str, price_cents: int) -> Product | None:
    return await catalog.update(product_id, name, price_cents)


def _answer(content: Any, reads_before: int, status_code: int = 200) -> JSONResponse:
    """A JSON response saying how many catalog queries it took (0: served from the cache).

    The count is exact while requests do not overlap, which is enough for a demo.
    """
    headers = {"X-Database-Reads": str(catalog.reads - reads_before)}
    return JSONResponse(content, status_code=status_code, headers=headers)


async def _fields(request: Request) -> tuple[str, int] | JSONResponse:
    """``name`` and ``price_cents`` from a JSON body, or a 422 response saying what is wrong."""
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "the body must be JSON"}, status_code=422)
    if not isinstance(body, dict):
        return JSONResponse({"error": "the body must be a JSON object"}, status_code=422)
    name, price_cents = body.get("name"), body.get("price_cents")
    if not isinstance(name, str) or not name:
        return JSONResponse({"error": "name must be a non-empty string"}, status_code=422)
    if isinstance(price_cents, bool) or not isinstance(price_cents, int) or price_cents < 0:
        return JSONResponse({"error": "price_cents must be a non-negative integer"}, status_code=422)
    return name, price_cents


async def list_products(request: Request) -> JSONResponse:
    before = catalog.reads
    return _answer(await products(), before)


async def get_product(request: Request) -> JSONResponse:
    product_id: int = request.path_params["product_id"]
    before = catalog.reads
    found = await product(product_id)
    if found is None:
        return _answer({"error": f"no product {product_id}"}, before, status_code=404)
    return _answer(found, before)


async def create_product(request: Request) -> JSONResponse:
    fields = await _fields(request)
    if isinstance(fields, JSONResponse):
        return fields
    return JSONResponse(await add_product(*fields), status_code=201)


async def replace_product(request: Request) -> JSONResponse:
    product_id: int = request.path_params["product_id"]
    fields = await _fields(request)
    if isinstance(fields, JSONResponse):
        return fields
    updated = await update_product(product_id, *fields)
    if updated is None:
        return JSONResponse({"error": f"no product {product_id}"}, status_code=404)
    return JSONResponse(updated)


async def stats(request: Request) -> JSONResponse:
    """Catalog queries so far, and each cached function's hits, misses and swallowed backend errors."""
    functions = {"product": product.cache_info(), "products": products.cache_info()}
    return JSONResponse(
        {
            "database_reads": catalog.reads,
            "cache": {
                name: {"hits": info.hits, "misses": info.misses, "errors": info.errors}
                for name, info in functions.items()
            },
        }
    )


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    backend = cache.backend  # RedisCache, or what a test put in its place
    if isinstance(backend, AsyncBackend):
        await backend.close()
    else:
        backend.close()


app = Starlette(
    routes=[
        Route("/products", list_products, methods=["GET"]),
        Route("/products", create_product, methods=["POST"]),
        Route("/products/{product_id:int}", get_product, methods=["GET"]),
        Route("/products/{product_id:int}", replace_product, methods=["PUT"]),
        Route("/stats", stats, methods=["GET"]),
    ],
    lifespan=lifespan,
)
