"""DictCache and SyncDictCache pass the whole conformance suite."""

from __future__ import annotations

import pytest
from cache_core import DictCache, SyncDictCache
from cache_testing.conformance import BackendContract, BackendFactory


class TestDictCache(BackendContract):
    @pytest.fixture
    def backend_factory(self) -> BackendFactory:
        return DictCache


class TestSyncDictCache(BackendContract):
    @pytest.fixture
    def backend_factory(self) -> BackendFactory:
        return SyncDictCache


class TestBoundedDictCache(BackendContract):
    """With maxsize, nothing in the contract changes while entries fit."""

    @pytest.fixture
    def backend_factory(self) -> BackendFactory:
        return lambda **options: DictCache(maxsize=10_000, **options)
