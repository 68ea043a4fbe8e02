"""The asyncio-caches API's SQLite examples, as its users write them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cache_core import EncodeError, JsonSerializer, PickleSerializer, cached
from cache_sqlite import SqliteCache, SyncSqliteCache


@dataclass(frozen=True)
class Point:
    x: int
    y: int


def seed_function(calls: list[str]) -> Any:
    """The asyncio-caches example; called twice it stands for two runs of a program."""

    @cached(cache=SqliteCache("cache.db"))
    async def cached_func(arg: str) -> dict[str, object]:
        calls.append(arg)
        return {"arg": arg, "pair": (1, 2)}

    return cached_func


async def test_cached_sqlite_cache_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    calls: list[str] = []
    first_run = seed_function(calls)
    assert await first_run("a") == {"arg": "a", "pair": (1, 2)}
    assert await first_run("a") == {"arg": "a", "pair": (1, 2)}
    assert await first_run("b") == {"arg": "b", "pair": (1, 2)}
    assert calls == ["a", "b"]
    assert (tmp_path / "cache.db").is_file()
    with sqlite3.connect(tmp_path / "cache.db") as raw:
        assert raw.execute("SELECT count(*) FROM cache_entries").fetchone() == (2,)

    second_run = seed_function(calls)  # a new backend on the same file: the results survived
    assert await second_run("a") == {"arg": "a", "pair": (1, 2)}
    assert calls == ["a", "b"]


async def test_relative_path_is_resolved_at_construction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cache = SqliteCache("cache.db")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    try:
        await cache.put("k", 1)
        assert cache.path == str(tmp_path / "cache.db")
        assert not (tmp_path / "elsewhere" / "cache.db").exists()
    finally:
        await cache.close()


async def test_pickle_serializer_as_in_asyncio_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cache = SqliteCache(serializer=PickleSerializer())  # the default file: ./cache.db
    try:
        await cache.put("point", Point(1, 2))
        assert await cache.get("point") == Point(1, 2)
        assert cache.path == str(tmp_path / "cache.db")
    finally:
        await cache.close()


def test_json_is_the_default_and_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    with SyncSqliteCache(tmp_path / "cache.db") as cache:
        assert isinstance(cache.serializer, JsonSerializer)
        with pytest.raises(EncodeError, match="Point"):
            cache.put("point", Point(1, 2))
        with sqlite3.connect(tmp_path / "cache.db") as raw:
            assert raw.execute("SELECT count(*) FROM cache_entries").fetchone() == (0,)


def test_sync_function_with_the_async_backend_names_the_sync_one(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="SyncSqliteCache"):

        @cached(cache=SqliteCache(tmp_path / "cache.db"))
        def compute(x: int) -> int:
            return x

    calls: list[int] = []

    @cached(cache=SyncSqliteCache(tmp_path / "cache.db"))
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(3), square(3)] == [9, 9]
    assert calls == [3]
