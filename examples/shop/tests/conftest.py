"""The shop's unit tests need no Redis: each test's cache lives in memory.

The cache-testing pytest plugin (loaded automatically once installed) already isolates
``cache_core.cache``; the shop has its own ``Cache`` front, which ``memory_backend``
points at a fresh ``DictCache`` for each test. Under ``@pytest.mark.no_cache`` (or
``--cache-isolation=all``) the plugin has already replaced the backend, and that stays.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cache_core import DictCache
from cache_redis import RedisCache
from starlette.testclient import TestClient

from .. import app as shop  # noqa: TID252 - the example is a package wherever it is put
from ..catalog import Catalog  # noqa: TID252


@pytest.fixture(autouse=True)
def memory_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(shop.cache.backend, RedisCache):
        monkeypatch.setattr(shop.cache, "backend", DictCache())


@pytest.fixture(autouse=True)
def fresh_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog of tea (1), coffee (2) and cocoa (3) that answers at once."""
    monkeypatch.setattr(shop, "catalog", Catalog(delay=0))


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(shop.app) as client:
        yield client
