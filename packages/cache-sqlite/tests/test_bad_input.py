"""Bad input fails in the constructor with a clear exception, and never changes the user's file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cache_sqlite import SqliteCache, SyncSqliteCache

BOTH = pytest.mark.parametrize("cls", [SqliteCache, SyncSqliteCache], ids=["async", "sync"])
Cls = type[SqliteCache] | type[SyncSqliteCache]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@BOTH
def test_missing_directory(cls: Cls, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"directory .*missing does not exist"):
        cls(tmp_path / "missing" / "cache.db")
    assert list(tmp_path.iterdir()) == []


@BOTH
def test_directory_instead_of_a_file(cls: Cls, tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a directory"):
        cls(tmp_path)


@BOTH
@pytest.mark.parametrize(
    "content",
    [b"these are my notes, not a database\n" * 100, bytes(range(256)) * 64, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "binary", "bad-header"],
)
def test_file_that_is_not_a_database(cls: Cls, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"notes\.txt is not a SQLite database"):
        cls(path)
    assert snapshot(tmp_path) == {"notes.txt": content}  # untouched, no -wal or -shm beside it


def foreign_database(path: Path, *statements: str) -> None:
    """A database made by another program (rollback journal, its own tables and rows)."""
    with sqlite3.connect(path) as raw:
        for statement in statements:
            raw.execute(statement)
    raw.close()


@BOTH
@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (["CREATE TABLE cache_entries (id INTEGER PRIMARY KEY, payload TEXT)"], "table 'cache_entries'"),
        (["CREATE TABLE Cache_Entries (namespace TEXT, key TEXT, value BLOB)"], "table 'Cache_Entries'"),
        (["CREATE TABLE data (x)", "CREATE VIEW cache_entries AS SELECT x FROM data"], "view 'cache_entries'"),
        (["CREATE TABLE cache_entries_locks (owner TEXT)"], "table 'cache_entries_locks'"),
        (["CREATE TABLE data (x)", "CREATE INDEX cache_entries ON data (x)"], "index 'cache_entries'"),
    ],
    ids=["table", "other-case", "view", "locks-table", "index"],
)
def test_conflicting_table_from_another_program(cls: Cls, tmp_path: Path, statements: list[str], named: str) -> None:
    path = tmp_path / "app.db"
    foreign_database(path, *statements)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match="did not create") as caught:
        cls(path)
    assert named in str(caught.value)
    assert "table=" in str(caught.value)
    assert snapshot(tmp_path) == before  # not switched to WAL, nothing created


def test_the_conflict_names_the_columns_found(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    foreign_database(
        path,
        "CREATE TABLE cache_entries (id INTEGER PRIMARY KEY, payload TEXT)",
        "INSERT INTO cache_entries (payload) VALUES ('precious')",
    )
    with pytest.raises(ValueError, match=r"columns: id, payload"):
        SyncSqliteCache(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT payload FROM cache_entries").fetchall() == [("precious",)]


def test_other_tables_of_the_file_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    foreign_database(path, "CREATE TABLE cache_entries (id INTEGER PRIMARY KEY, payload TEXT)")
    with SyncSqliteCache(path, table="app_cache") as cache:
        cache.put("k", 1)
        assert cache.get("k") == 1
    with sqlite3.connect(path) as raw:
        tables = raw.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    assert tables == [("app_cache",), ("app_cache_locks",), ("cache_entries",)]


def test_an_empty_file_becomes_a_cache(tmp_path: Path) -> None:
    (tmp_path / "cache.db").touch()  # SQLite's own view: an empty file is an empty database
    with SyncSqliteCache(tmp_path / "cache.db") as cache:
        cache.put("k", 1)
        assert cache.get("k") == 1


# -- read-only files ------------------------------------------------------------------------------

_OPEN_BOTH = """
import sys
from cache_sqlite import SqliteCache, SyncSqliteCache
for cls in (SyncSqliteCache, SqliteCache):
    try:
        cls(sys.argv[1])
    except Exception as exc:
        print(type(exc).__name__, exc)
    else:
        print("opened")
"""


def open_without_override(path: Path) -> list[str]:
    """What each constructor raises for ``path`` in a process that must respect file permissions.

    Root ignores them, so as root the child runs without CAP_DAC_OVERRIDE (setpriv, util-linux).
    """
    command = [sys.executable, "-c", _OPEN_BOTH, str(path)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: no way to make a file read-only to the cache")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_read_only_cache_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with SyncSqliteCache(path) as cache:
        cache.put("k", 1)
    path.chmod(0o444)
    try:
        before = path.read_bytes()
        results = open_without_override(path)
        assert path.read_bytes() == before
    finally:
        path.chmod(0o644)
    assert len(results) == 2
    for result in results:
        assert result.startswith("PermissionError"), result
        assert "read-only" in result


def test_read_only_database_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    foreign_database(path, "CREATE TABLE data (x)")
    path.chmod(0o444)
    try:
        results = open_without_override(path)
    finally:
        path.chmod(0o644)
    assert [result.split()[0] for result in results] == ["PermissionError", "PermissionError"], results


def test_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        results = open_without_override(directory / "cache.db")
    finally:
        directory.chmod(0o755)
    assert [result.split()[0] for result in results] == ["PermissionError", "PermissionError"], results
    assert "write access" in results[0]


# -- options ------------------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"table": ""}, ValueError, "table must be"),
        ({"table": "1st"}, ValueError, "table must be"),
        ({"table": 'x"; DROP TABLE y; --'}, ValueError, "table must be"),
        ({"table": "sqlite_cache"}, ValueError, "sqlite_"),
        ({"table": 5}, ValueError, "table must be"),
        ({"max_entries": 0}, ValueError, "max_entries"),
        ({"max_entries": 2.5}, ValueError, "max_entries"),
        ({"max_entries": True}, ValueError, "max_entries"),
        ({"sweep_interval": 0}, ValueError, "sweep_interval"),
        ({"sweep_interval": float("nan")}, ValueError, "sweep_interval"),
        ({"busy_timeout": -1}, ValueError, "busy_timeout"),
        ({"busy_timeout": float("inf")}, ValueError, "busy_timeout"),
        ({"serializer": "json"}, TypeError, "serializer"),
    ],
)
def test_bad_options(cls: Cls, tmp_path: Path, options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        cls(tmp_path / "cache.db", **options)
    assert not (tmp_path / "cache.db").exists()


@BOTH
@pytest.mark.parametrize(
    ("path", "error"), [(b"cache.db", TypeError), (5, TypeError), (None, TypeError), ("", ValueError)]
)
def test_bad_paths(cls: Cls, path: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="path must be"):
        cls(path)
