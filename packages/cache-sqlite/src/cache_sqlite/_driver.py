"""The two drivers made to look alike, and the one blocking step both backends share.

``_async_sqlite.py`` is written against aiosqlite; ``scripts/unasync.py`` turns it into
``_sync_sqlite.py`` by dropping ``await`` and renaming ``AsyncConnection``/``connect_async``
to ``SyncConnection``/``connect_sync``, so the sqlite3 side offers the same calls.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from contextlib import closing
from typing import Any

import aiosqlite

from ._schema import Queries, check_location, is_busy, open_error

AsyncConnection = aiosqlite.Connection


class SyncConnection(sqlite3.Connection):
    """A sqlite3 connection with the calls of aiosqlite's that the backend uses, safe to share between threads.

    Like aiosqlite, which runs every call of a connection on its one worker thread, it runs one
    call at a time: sqlite3 leaves serializing a shared connection to its user.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """Run a statement that returns no rows (its cursor is used for ``rowcount``)."""
        with self._lock:
            return super().execute(sql, parameters)

    def execute_fetchall(self, sql: str, parameters: Any = (), /) -> list[Any]:
        with self._lock:
            return super().execute(sql, parameters).fetchall()

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        with self._lock:
            return super().executescript(sql_script)

    def close(self) -> None:
        with self._lock:
            super().close()


_BACKENDS: weakref.WeakSet[Any] = weakref.WeakSet()
_INHERITED: list[Any] = []


def reopen_after_fork(backend: Any) -> None:
    """Have a forked child process drop ``backend``'s connection, so its next call opens a new one."""
    _BACKENDS.add(backend)


def _drop_inherited_connections() -> None:
    # A SQLite connection must not be used across fork(), and aiosqlite's worker thread does
    # not survive it (a call would wait forever). The child keeps each connection of its parent
    # unused and unclosed: closing it could checkpoint or remove the WAL the parent still uses.
    for backend in list(_BACKENDS):
        if backend._db is not None:
            _INHERITED.append(backend._db)
        backend._db, backend._opening = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_drop_inherited_connections)


def _options(busy_timeout: float) -> dict[str, Any]:
    # isolation_level=None: autocommit. Every operation is one statement, hence one transaction;
    # a write statement takes the write lock before it reads, so it waits in SQLite's busy
    # handler instead of failing with SQLITE_BUSY_SNAPSHOT as an upgraded read would.
    return {"timeout": busy_timeout, "isolation_level": None}


async def connect_async(path: str, busy_timeout: float) -> aiosqlite.Connection:
    connection = aiosqlite.connect(path, **_options(busy_timeout))
    # aiosqlite >= 0.22 runs a connection on a non-daemon thread, so a cache nobody closed (a
    # module-level SqliteCache behind @cached) would keep the interpreter from exiting. SQLite
    # needs no clean shutdown (an interrupted write is rolled back on the next open), so this
    # cache's thread does not hold the process up. Before 0.22 the Connection was the thread.
    thread: Any = getattr(connection, "_thread", connection)
    thread.daemon = True
    return await connection


def connect_sync(path: str, busy_timeout: float) -> SyncConnection:
    return sqlite3.connect(path, check_same_thread=False, factory=SyncConnection, **_options(busy_timeout))


def prepare_file(path: str, queries: Queries, busy_timeout: float) -> None:
    """Check and set up the database file, synchronously, so that bad input fails in the constructor.

    Raises ``FileNotFoundError``/``IsADirectoryError`` for a bad location, ``ValueError`` for a file
    that is not a SQLite database or holds foreign tables of our names (checked before anything is
    written), ``PermissionError`` for a file the cache cannot write.
    """
    check_location(path)
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            with closing(sqlite3.connect(path, **_options(busy_timeout))) as connection:
                sql, parameters = queries.inspect
                queries.check_tables(connection.execute(sql, parameters).fetchall(), path)
                connection.executescript(queries.setup)
                connection.executescript(queries.write_probe)
            return
        except sqlite3.Error as exc:
            # Two connections switching a new file to WAL together: one gets "database is locked" at
            # once, without SQLite's busy handler. The setup is idempotent, so try again until the timeout.
            if not (is_busy(exc) and time.monotonic() < deadline):
                raise open_error(path, exc, busy_timeout) from exc
        time.sleep(0.01)
