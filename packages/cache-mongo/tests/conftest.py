"""Real mongod servers for the cache-mongo tests (see ``cache_testing._mongo_server``).

Session-scoped: one standalone server and one single-node replica set, started on first
use. ``MONGODB_URL`` / ``MONGODB_REPLSET_URL`` use existing servers instead. Every test
gets its own database (``database_name``), dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from cache_testing._mongo_server import MongoServer, mongod_or_skip
from cache_testing.servers import mongodb_url
from pymongo import MongoClient


def _server_url(*, replica_set: bool) -> Iterator[str]:
    with mongodb_url(replica_set=replica_set) as url:
        yield url


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """A standalone server's URL."""
    yield from _server_url(replica_set=False)


@pytest.fixture(scope="session")
def replset_url() -> Iterator[str]:
    """A single-node replica set's URL (``replicaSet=rs0``), its member PRIMARY."""
    yield from _server_url(replica_set=True)


@pytest.fixture(scope="session")
def admin_client(mongo_url: str) -> Iterator[MongoClient[dict[str, object]]]:
    """A sync client for inspecting and dropping test databases."""
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    with client:
        yield client


def _fresh_database(url: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:16]}"
    yield name
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=5000)
    with client:
        client.drop_database(name)


@pytest.fixture
def database_name(mongo_url: str) -> Iterator[str]:
    """A database name unique to this test on the standalone server; dropped afterwards."""
    yield from _fresh_database(mongo_url)


@pytest.fixture
def replset_database_name(replset_url: str) -> Iterator[str]:
    """A database name unique to this test on the replica set; dropped afterwards."""
    yield from _fresh_database(replset_url)


@pytest.fixture
def own_server() -> Iterator[MongoServer]:
    """A mongod for this test alone, which it may stop and restart."""
    with MongoServer(mongod_or_skip()) as server:
        yield server
