"""SqliteCache and SyncSqliteCache pass the whole backend conformance suite, on files and in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from cache_sqlite import SqliteCache, SyncSqliteCache
from cache_testing.conformance import BackendContract, BackendFactory


class TestSqliteCache(BackendContract):
    persistent = True
    supports_clock = True

    @pytest.fixture
    def backend_factory(self, tmp_path: Path) -> BackendFactory:
        return lambda **options: SqliteCache(tmp_path / "cache.db", **options)


class TestSyncSqliteCache(BackendContract):
    persistent = True
    supports_clock = True

    @pytest.fixture
    def backend_factory(self, tmp_path: Path) -> BackendFactory:
        return lambda **options: SyncSqliteCache(tmp_path / "cache.db", **options)


class TestSqliteCacheInMemory(BackendContract):
    """In memory: a private database per instance, so nothing persists."""

    @pytest.fixture
    def backend_factory(self) -> BackendFactory:
        return lambda **options: SqliteCache(":memory:", **options)


class TestSyncSqliteCacheInMemory(BackendContract):
    @pytest.fixture
    def backend_factory(self) -> BackendFactory:
        return lambda **options: SyncSqliteCache(":memory:", **options)


class TestBoundedSqliteCache(BackendContract):
    """With max_entries (reads refresh access times) and a sweep, nothing in the contract changes while entries fit."""

    persistent = True

    @pytest.fixture
    def backend_factory(self, tmp_path: Path) -> BackendFactory:
        return lambda **options: SqliteCache(tmp_path / "cache.db", max_entries=10_000, sweep_interval=1, **options)


class TestBoundedSyncSqliteCache(BackendContract):
    persistent = True

    @pytest.fixture
    def backend_factory(self, tmp_path: Path) -> BackendFactory:
        return lambda **options: SyncSqliteCache(tmp_path / "cache.db", max_entries=10_000, sweep_interval=1, **options)
