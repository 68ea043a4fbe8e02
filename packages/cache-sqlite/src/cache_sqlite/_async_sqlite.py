"""``SqliteCache``: the async SQLite backend (aiosqlite).

``_sync_sqlite.py`` is generated from this file by ``scripts/unasync.py``. Every statement
and decision comes from ``_schema.Queries``; this file only runs them on one connection.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from cache_core import (
    TAG_NAMESPACE,
    AsyncBackend,
    BackendClosedError,
    CacheError,
    CircuitBreaker,
    Clock,
    Entry,
    JsonSerializer,
    Serializer,
)

from . import _schema
from ._driver import AsyncConnection, CoalescedReadError, connect_async, prepare_file, reopen_after_fork

# unasync: SqliteCache -> SyncSqliteCache, AsyncConnection -> SyncConnection, connect_async -> connect_sync
# unasync: aiosqlite -> sqlite3, async SQLite -> sync SQLite


class SqliteCache(AsyncBackend):
    """A persistent cache in one SQLite file that several processes and threads may share.

    The file is opened in WAL mode with a busy timeout, so readers and writers in other
    processes wait for each other briefly instead of failing. Expired rows are never returned.

    Args:
        path: the database file, created if missing (its directory must exist; a relative
            path is resolved now), or ``":memory:"`` for a private in-memory database.
        serializer: encodes values; ``JsonSerializer`` by default. Use ``PickleSerializer``
            only if nobody untrusted can write to the file: unpickling runs their code.
        clock: the source of time for expiry (``expires_at`` is stored on it).
        table: the entries table; locks go in ``<table>_locks``. Caches with different
            tables can share a file. Namespaces share a table.
        max_entries: keep at most this many entries (over all namespaces), evicting the least
            recently used. Each read then also writes its access time.
        sweep_interval: if set, a write deletes all expired rows at most this often (seconds
            on ``clock``). Without it, call ``remove_expired()`` yourself; expired rows are
            invisible either way.
        busy_timeout: seconds to wait for another connection's write lock before an operation
            fails with ``BackendTimeoutError``.
        breaker: an optional ``CircuitBreaker``.

    Raises:
        FileNotFoundError: the directory of ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        ValueError: the file is not a SQLite database, or has a table of ours that this cache
            did not create (left untouched); or an option is out of range.
        PermissionError: the file (or its directory) cannot be written.
    """

    sync_alternative = "cache_sqlite.SyncSqliteCache"
    # SQLite's default SQLITE_MAX_LENGTH (10**9 bytes) bounds a whole row; 1 KiB is left for its other columns.
    max_entry_bytes = 10**9 - 1024

    def __init__(
        self,
        path: str | os.PathLike[str] = _schema.DEFAULT_PATH,
        *,
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        table: str = _schema.DEFAULT_TABLE,
        max_entries: int | None = None,
        sweep_interval: float | None = None,
        busy_timeout: float = _schema.DEFAULT_BUSY_TIMEOUT,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        serializer = JsonSerializer() if serializer is None else serializer
        super().__init__(serializer=serializer, clock=clock, breaker=breaker)
        self.path = _schema.resolve_path(path)
        self.busy_timeout = _schema.check_seconds("busy_timeout", busy_timeout)
        self._queries = _schema.Queries(table, self.clock, max_entries=max_entries, sweep_interval=sweep_interval)
        self.table, self.max_entries = table, max_entries
        self._db: AsyncConnection | None = None
        self._opening = threading.Lock()
        if self.path != _schema.MEMORY:
            prepare_file(self.path, self._queries, self.busy_timeout)
        reopen_after_fork(self)

    async def _connection(self) -> AsyncConnection:
        """The connection, opened on first use. Callers racing to open it each open one; the first kept wins."""
        db = await connect_async(self.path, self.busy_timeout, self._queries)
        try:
            await db.executescript(self._queries.setup)  # a :memory: database starts empty
        except BaseException:
            await db.close()
            raise
        with self._opening:
            if self._db is None and not self._closed:
                self._db = db
            kept = self._db
        if kept is not db:
            await db.close()
        if kept is None:
            msg = f"{type(self).__name__} was closed while it opened its connection"
            raise BackendClosedError(msg)
        return kept

    def _failure(self, operation: str, exc: Exception) -> CacheError:
        if isinstance(exc, CoalescedReadError):  # one failed statement for many gets: counted once
            return exc.shared.error(lambda cause: self._failure(operation, cause))
        return super()._failure(operation, _schema.as_timeout(exc, self.busy_timeout))

    # -- primitives ---------------------------------------------------------------------

    async def _get(self, namespace: str, key: str) -> Entry | None:
        db = self._db or await self._connection()
        return await db.read(namespace, key)

    async def _get_many(self, namespace: str, keys: list[str]) -> list[Entry | None]:
        db = self._db or await self._connection()
        return self._queries.entries(keys, await db.execute_fetchall(*self._queries.get_many(namespace, keys)))

    async def _get_tagged(self, namespace: str, key: str, tags: list[str]) -> tuple[Entry | None, list[Entry | None]]:
        """The entry and its tags' versions in one statement (the batch read of coalesced reads)."""
        reads = [(namespace, key), *((TAG_NAMESPACE, tag) for tag in tags)]
        if len(reads) > _schema.READ_BATCH_LIMIT:
            return await super()._get_tagged(namespace, key, tags)
        db = self._db or await self._connection()
        entries = self._queries.batch_entries(reads, await db.execute_fetchall(*self._queries.get_batch(reads)))
        return entries[0], entries[1:]

    async def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        db = self._db or await self._connection()
        await db.execute(*self._queries.put(namespace, key, payload, expires_at))
        await self._after_write(db)

    async def _put_many(
        self, namespace: str, items: list[tuple[str, Any]], ttl: float | None, expires_at: float | None
    ) -> None:
        db = self._db or await self._connection()
        await db.execute(*self._queries.put_many(namespace, items, expires_at))
        await self._after_write(db)

    async def _after_write(self, db: AsyncConnection) -> None:
        for statement in self._queries.after_write():
            await db.execute(*statement)

    async def _remove(self, namespace: str, key: str) -> bool:
        db = self._db or await self._connection()
        cursor = await db.execute(*self._queries.remove(namespace, key))
        return cursor.rowcount > 0

    async def _remove_expired(self, now: float) -> int:
        db = self._db or await self._connection()
        cursor = await db.execute(*self._queries.remove_expired(now))
        return cursor.rowcount

    async def _clear(self, namespace: str | None) -> None:
        db = self._db or await self._connection()
        await db.execute(*self._queries.clear(namespace))

    async def _close(self) -> None:
        with self._opening:
            db, self._db = self._db, None
        if db is not None:
            await db.close()

    # -- cross-process lock (the template's _try_lock/_unlock add the error policy) ---------------

    async def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        token = _schema.new_token()
        db = self._db or await self._connection()
        cursor = await db.execute(*self._queries.acquire_lock(namespace, key, token, ttl))
        return token if cursor.rowcount > 0 else None

    async def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        db = self._db or await self._connection()
        cursor = await db.execute(*self._queries.release_lock(namespace, key, token))
        return cursor.rowcount > 0

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} {self.path!r} table={self.table!r}{state}>"
