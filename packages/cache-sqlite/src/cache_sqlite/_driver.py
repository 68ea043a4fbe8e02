"""The two drivers made to look alike, and the one blocking step both backends share.

``_async_sqlite.py`` is written against ``AsyncConnection`` (aiosqlite, with concurrent reads
coalesced); ``scripts/unasync.py`` turns it into ``_sync_sqlite.py`` by dropping ``await`` and
renaming ``AsyncConnection``/``connect_async`` to ``SyncConnection``/``connect_sync``, so the
sqlite3 side offers the same calls.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any

import aiosqlite
from cache_core import CacheError, Entry

from ._schema import READ_BATCH_LIMIT, Queries, Statement, check_location, is_busy, open_error


class SyncConnection(sqlite3.Connection):
    """A sqlite3 connection with the calls of ``AsyncConnection`` that the backend uses, safe to share between threads.

    Like aiosqlite, which runs every call of a connection on its one worker thread, it runs one
    call at a time: sqlite3 leaves serializing a shared connection to its user.
    """

    _statement: Callable[[str, str], Statement]  # Queries.get, set by connect_sync

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        # Reads reuse one cursor (under the lock) instead of making one per call. Each read is a
        # lookup by primary key, so fetchone() steps to the end: the statement is reset and no
        # snapshot is left open to hold back WAL checkpoints.
        self._reader = self.cursor()

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

    def read(self, namespace: str, key: str, /) -> Entry | None:
        """The live entry of ``key``: ``(value, expires_at)`` (the row itself), or ``None``."""
        statement, parameters = self._statement(namespace, key)
        with self._lock:
            row: Entry | None = self._reader.execute(statement, parameters).fetchone()
            return row

    def close(self) -> None:
        with self._lock:
            super().close()


class _Reads:
    """The reads of one event loop on one ``AsyncConnection``: whether a hop of reads is in flight, who waits."""

    __slots__ = ("busy", "loop", "task", "waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.busy = False  # a read (alone, or a batch) is on aiosqlite's thread or about to go
        self.waiting: list[tuple[tuple[str, str], asyncio.Future[Entry | None]]] = []
        self.task: asyncio.Task[None] | None = None  # the batch runner (the loop keeps only a weak reference)


class SharedFailure:
    """The error of one failed batch statement, which every get in that batch raises.

    The backend counts it once for its circuit breaker: the first get to map it gets the mapped
    error, the others a copy of it (a copy each, so their tracebacks stay apart).
    """

    def __init__(self, cause: Exception) -> None:
        self.cause = cause
        self._error: CacheError | None = None

    def error(self, mapped: Callable[[Exception], CacheError]) -> CacheError:
        if self._error is None:
            self._error = mapped(self.cause)
            return self._error
        copy = type(self._error)(*self._error.args)
        copy.__cause__ = self._error.__cause__
        return copy


class CoalescedReadError(Exception):
    """What each get of a failed batch raises to its backend, which maps it (see ``SharedFailure``)."""

    def __init__(self, shared: SharedFailure) -> None:
        super().__init__(f"{type(shared.cause).__name__}: {shared.cause}")
        self.shared = shared


class AsyncConnection:
    """An aiosqlite connection whose reads are coalesced per event loop.

    aiosqlite runs every call on the connection's worker thread, and the hop there and back
    costs several times the read itself. A read that finds no read of its loop in flight makes
    its own hop at once, so a lone get waits for nothing. Reads that arrive while one is in flight
    wait; when it returns they all go in the next hop, as one statement (``Queries.get_batch``),
    and each waiter gets its own key's entry or the batch's error.

    A call cancelled while on aiosqlite's thread waits until that thread has answered it (see
    ``_drain``): the answer goes to the call's loop, and if that loop had closed meanwhile (the
    end of ``asyncio.run``), the thread would die and every later call would wait forever.
    """

    def __init__(self, connection: aiosqlite.Connection, queries: Queries) -> None:
        self._connection = connection
        self._queries = queries
        # A loop runs in one thread and a thread runs one loop at a time: the reads of each thread's
        # current loop are kept apart, and a new loop (asyncio.run again) starts afresh.
        self._local = threading.local()

    async def execute(self, sql: str, parameters: Any = (), /) -> aiosqlite.Cursor:
        """Run a statement that returns no rows (its cursor is used for ``rowcount``)."""
        try:
            return await self._connection.execute(sql, parameters)
        except asyncio.CancelledError:
            await self._drain()
            raise

    async def execute_fetchall(self, sql: str, parameters: Any = (), /) -> Iterable[Any]:
        try:
            return await self._connection.execute_fetchall(sql, parameters)
        except asyncio.CancelledError:
            await self._drain()
            raise

    async def executescript(self, sql_script: str, /) -> None:
        try:
            await self._connection.executescript(sql_script)
        except asyncio.CancelledError:
            await self._drain()
            raise

    async def close(self) -> None:
        await self._connection.close()

    async def read(self, namespace: str, key: str, /) -> Entry | None:
        """The live entry of ``key``: ``(value, expires_at)`` (the row itself), or ``None``."""
        reads: _Reads | None = getattr(self._local, "reads", None)
        if reads is None:
            reads = self._local.reads = _Reads(asyncio.get_running_loop())
        if reads.busy:
            loop = asyncio.get_running_loop()
            if reads.loop is loop:
                namespace.encode(), key.encode()  # text SQLite cannot take (lone surrogates) fails here, not the batch
                future: asyncio.Future[Entry | None] = loop.create_future()
                reads.waiting.append(((namespace, key), future))
                return await future
            # Left busy by a loop that is not running now: start afresh. A lone read does not look
            # at the loop (a tenth of a microsecond): reads wait only on a state of their own loop.
            reads = self._local.reads = _Reads(loop)
        reads.busy = True
        try:
            # aiosqlite hands back the list that sqlite3's fetchall() made; each row is an Entry
            rows: list[Entry] = await self._connection.execute_fetchall(*self._queries.get(namespace, key))  # type: ignore[assignment]
        except asyncio.CancelledError:
            await self._drain()
            raise
        finally:
            if reads.waiting and self._still_waiting(reads):
                reads.task = reads.loop.create_task(self._run_batches(reads))
            else:
                reads.busy = False
        return rows[0] if rows else None

    @staticmethod
    def _still_waiting(reads: _Reads) -> bool:
        """Drops the reads whose gets were cancelled (all of them when the loop shuts down); any left?"""
        reads.waiting = [read for read in reads.waiting if not read[1].done()]
        return bool(reads.waiting)

    async def _run_batches(self, reads: _Reads) -> None:
        """Read what waits, one statement per hop, until nothing does."""
        batch: list[tuple[tuple[str, str], asyncio.Future[Entry | None]]] = []
        try:
            while self._still_waiting(reads):
                batch, reads.waiting = reads.waiting[:READ_BATCH_LIMIT], reads.waiting[READ_BATCH_LIMIT:]
                wanted = [read for read, _ in batch]
                try:
                    rows = await self._connection.execute_fetchall(*self._queries.get_batch(wanted))
                except asyncio.CancelledError:
                    await self._drain()
                    raise
                except Exception as exc:
                    shared = SharedFailure(exc)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(CoalescedReadError(shared))
                else:
                    for (_, future), entry in zip(batch, self._queries.batch_entries(wanted, rows), strict=True):
                        if not future.done():  # its get was cancelled
                            future.set_result(entry)
                batch = []
                # Let the gets just answered run: a task that reads again joins the next hop
                # instead of making a hop of its own.
                await asyncio.sleep(0)
        except BaseException:  # cancelled (its loop is shutting down): so are the gets still waiting
            for _, future in batch + reads.waiting:
                future.cancel()
            reads.waiting = []
            raise
        finally:
            reads.busy, reads.task = False, None

    async def _drain(self) -> None:
        """Wait until aiosqlite's thread has answered every call queued so far: it takes them in order,
        so the answer to a no-op queued now comes after theirs. Cancelling this wait starts it again,
        up to a few times (asyncio.run, wait_for and task groups cancel once)."""
        for _ in range(3):
            try:
                await self._connection.execute_fetchall("SELECT 1")
            except asyncio.CancelledError:
                continue
            except Exception:  # closed: nothing is in flight any more
                return
            return


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


async def connect_async(path: str, busy_timeout: float, queries: Queries) -> AsyncConnection:
    connection = aiosqlite.connect(path, **_options(busy_timeout))
    # aiosqlite >= 0.22 runs a connection on a non-daemon thread, so a cache nobody closed (a
    # module-level SqliteCache behind @cached) would keep the interpreter from exiting. SQLite
    # needs no clean shutdown (an interrupted write is rolled back on the next open), so this
    # cache's thread does not hold the process up. Before 0.22 the Connection was the thread.
    thread: Any = getattr(connection, "_thread", connection)
    thread.daemon = True
    return AsyncConnection(await connection, queries)


def connect_sync(path: str, busy_timeout: float, queries: Queries) -> SyncConnection:
    connection = sqlite3.connect(path, check_same_thread=False, factory=SyncConnection, **_options(busy_timeout))
    connection._statement = queries.get
    return connection


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
