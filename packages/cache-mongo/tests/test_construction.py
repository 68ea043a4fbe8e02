"""Bad construction arguments fail at once, with a clear error, before any client exists."""

from __future__ import annotations

from typing import Any

import pytest
from cache_mongo import AsyncMongoBackend, MongoBackend, MongoCache, SyncMongoCache
from pymongo import AsyncMongoClient, MongoClient

BACKENDS = [MongoCache, SyncMongoCache, AsyncMongoBackend, MongoBackend]


@pytest.fixture(params=BACKENDS, ids=lambda cls: cls.__name__)
def backend_class(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("http://localhost", "Invalid URI scheme"),
        ("mongodb://", "at least one hostname"),
        ("mongodb://localhost:notaport", "Port contains non-digit"),
        ("mongodb://user:p@ss@localhost", "must be escaped"),
    ],
)
def test_bad_uri_is_a_value_error_at_construction(backend_class: Any, uri: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"invalid MongoDB URI or client option: .*{problem}"):
        backend_class(uri)


@pytest.mark.parametrize(
    ("options", "problem"), [({"nonsense": 1}, "Unknown option"), ({"timeoutMS": "soon"}, "timeoutMS")]
)
def test_bad_client_option_is_a_value_error(backend_class: Any, options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        backend_class("mongodb://127.0.0.1:1", **options)


@pytest.mark.parametrize(
    ("database", "problem"),
    [("a.b", "may not contain '.'"), ("", "it is empty"), ("with space", "may not contain ' '"), ("x$", "'\\$'")],
)
def test_bad_database_name(backend_class: Any, database: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"invalid MongoDB database name .*{problem}"):
        backend_class("mongodb://127.0.0.1:1", database=database)


@pytest.mark.parametrize("collection", ["", "a$b", ".hidden", "system.entries", "nul\x00"])
def test_bad_collection_name(collection: str) -> None:
    for backend_class in (MongoCache, SyncMongoCache):
        with pytest.raises(ValueError, match="invalid MongoDB collection name"):
            backend_class("mongodb://127.0.0.1:1", collection=collection)


def test_seed_default_database_name_with_a_dot_is_rejected() -> None:
    """cachetoolz defaulted to '.cachetoolz', which MongoDB rejects; ours is 'cache'."""
    with pytest.raises(ValueError, match=r"may not contain '\.'"):
        MongoBackend("mongodb://127.0.0.1:1", database=".cachetoolz")


def test_wrong_source_types_are_type_errors() -> None:
    with pytest.raises(TypeError, match=r"expected a MongoDB URI .* not int"):
        MongoCache(42)  # type: ignore[arg-type]
    sync_client: MongoClient[dict[str, Any]] = MongoClient("mongodb://127.0.0.1:1", connect=False)
    with sync_client:
        with pytest.raises(TypeError, match="not MongoClient"):
            MongoCache(sync_client)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="only apply when a URI is given"):
            SyncMongoCache(sync_client, tls=True)
    async_client: AsyncMongoClient[Any] = AsyncMongoClient("mongodb://127.0.0.1:1")
    with pytest.raises(TypeError, match="not AsyncMongoClient"):
        SyncMongoCache(async_client)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="only apply when a URI is given"):
        MongoCache(async_client["db"], tls=True)


def test_bad_breaker_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="breaker"):
        SyncMongoCache("mongodb://127.0.0.1:1", breaker="yes")  # type: ignore[arg-type]
