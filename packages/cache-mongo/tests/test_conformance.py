"""The cache-testing conformance suite against real mongod: async, sync, through Motor, on a replica set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from cache_mongo import MongoCache, SyncMongoCache
from cache_testing.conformance import BackendContract, BackendFactory
from motor.motor_asyncio import AsyncIOMotorClient


class TestMongoCache(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, mongo_url: str, database_name: str) -> BackendFactory:
        return lambda **options: MongoCache(mongo_url, database=database_name, **options)


class TestSyncMongoCache(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, mongo_url: str, database_name: str) -> BackendFactory:
        return lambda **options: SyncMongoCache(mongo_url, database=database_name, **options)


class TestMongoCacheOverMotor(BackendContract):
    """A Motor client the test owns: the backend uses it and never closes it."""

    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, mongo_url: str, database_name: str) -> Iterator[BackendFactory]:
        client: Any = AsyncIOMotorClient(mongo_url, serverSelectionTimeoutMS=5000)
        yield lambda **options: MongoCache(client[database_name], **options)
        client.close()


class TestMongoCacheOnReplicaSet(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, replset_url: str, replset_database_name: str) -> BackendFactory:
        return lambda **options: MongoCache(replset_url, database=replset_database_name, **options)


class TestSyncMongoCacheOnReplicaSet(BackendContract):
    persistent: ClassVar[bool] = True
    supports_clock: ClassVar[bool] = True

    @pytest.fixture
    def backend_factory(self, replset_url: str, replset_database_name: str) -> BackendFactory:
        return lambda **options: SyncMongoCache(replset_url, database=replset_database_name, **options)
