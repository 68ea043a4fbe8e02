"""The shop's reads are cached, its writes invalidate them, and a failing cache never breaks it."""

from __future__ import annotations

import httpx2
import pytest
from cache_core import DictCache
from cache_testing import FaultyBackend, RecordingBackend, TestClock
from starlette.testclient import TestClient

from .. import app as shop  # noqa: TID252 - the example is a package wherever it is put


def reads(response: httpx2.Response) -> int:
    """Catalog queries a response took; 0 means it came from the cache."""
    return int(response.headers["X-Database-Reads"])


def test_second_read_of_a_product_comes_from_the_cache(client: TestClient) -> None:
    first = client.get("/products/1")
    second = client.get("/products/1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"id": 1, "name": "tea", "price_cents": 450}
    assert (reads(first), reads(second)) == (1, 0)
    assert client.get("/stats").json()["cache"]["product"] == {"hits": 1, "misses": 1, "errors": 0}


def test_the_listing_is_cached_apart_from_single_products(client: TestClient) -> None:
    assert reads(client.get("/products/2")) == 1
    listing = client.get("/products")
    assert reads(listing) == 1
    assert [product["name"] for product in listing.json()] == ["tea", "coffee", "cocoa"]
    assert reads(client.get("/products")) == 0


def test_a_missing_product_is_a_404_and_cached_too(client: TestClient) -> None:
    first, second = client.get("/products/99"), client.get("/products/99")
    assert first.status_code == second.status_code == 404
    assert (reads(first), reads(second)) == (1, 0)


def test_an_update_is_visible_at_once(client: TestClient) -> None:
    assert client.get("/products/1").json()["price_cents"] == 450
    updated = client.put("/products/1", json={"name": "green tea", "price_cents": 480})
    assert updated.status_code == 200
    after = client.get("/products/1")
    assert after.json() == {"id": 1, "name": "green tea", "price_cents": 480}
    assert reads(after) == 1


def test_a_new_product_appears_in_the_cached_listing(client: TestClient) -> None:
    assert len(client.get("/products").json()) == 3
    created = client.post("/products", json={"name": "mate", "price_cents": 390})
    assert created.status_code == 201
    assert created.json() == {"id": 4, "name": "mate", "price_cents": 390}
    assert [product["name"] for product in client.get("/products").json()][-1] == "mate"


def test_a_rejected_write_clears_nothing(client: TestClient) -> None:
    client.get("/products/1")
    assert client.post("/products", json={"name": "", "price_cents": 1}).status_code == 422
    assert client.put("/products/1", json={"name": "tea", "price_cents": -5}).status_code == 422
    assert client.put("/products/1", content=b"not json").status_code == 422
    assert reads(client.get("/products/1")) == 0
    assert client.put("/products/42", json={"name": "tea", "price_cents": 5}).status_code == 404


def test_entries_expire_and_writes_clear_the_namespace(
    client: TestClient, recording_cache: RecordingBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shop.cache, "backend", recording_cache)
    client.get("/products/3")
    client.get("/products")
    recording_cache.assert_put(namespace="products", key_contains="(3,)", ttl=600, value=shop.catalog._products[3])
    recording_cache.assert_put(namespace="products", ttl=60, times=1)
    client.post("/products", json={"name": "mate", "price_cents": 390})
    assert [operation.namespace for operation in recording_cache.calls("clear")] == ["products"]


def test_a_product_is_read_again_after_ten_minutes(
    client: TestClient, cache_clock: TestClock, memory_cache: DictCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shop.cache, "backend", memory_cache)
    assert reads(client.get("/products/1")) == 1
    cache_clock.advance(599)
    assert reads(client.get("/products/1")) == 0
    cache_clock.advance(2)
    assert reads(client.get("/products/1")) == 1


@pytest.mark.no_cache
def test_with_caching_off_every_read_queries_the_catalog(client: TestClient) -> None:
    assert [reads(client.get("/products/1")) for _ in range(3)] == [1, 1, 1]


def test_the_cache_disabled_fixture_turns_caching_off(client: TestClient, cache_disabled: None) -> None:
    assert [reads(client.get("/products")) for _ in range(2)] == [1, 1]


def test_the_shop_answers_while_its_cache_fails(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = FaultyBackend(DictCache())
    broken.fail("get", "put", "clear")
    monkeypatch.setattr(shop.cache, "backend", broken)
    assert [reads(client.get("/products/1")) for _ in range(2)] == [1, 1]
    assert client.put("/products/1", json={"name": "tea", "price_cents": 460}).status_code == 200
    assert client.get("/stats").json()["cache"]["product"]["errors"] >= 2
    broken.heal()
    assert [reads(client.get("/products/1")) for _ in range(2)] == [1, 0]
