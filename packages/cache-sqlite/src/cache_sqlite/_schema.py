"""Every SQL statement and decision of the SQLite backends, shared by ``SqliteCache`` and ``SyncSqliteCache``.

Nothing here talks to a database. ``Queries`` turns each backend operation into a statement
and its parameters; the backends execute them with their driver (aiosqlite or sqlite3) and
hand the rows back. The functions below check options, translate driver errors, and decide
when to evict, sweep and refresh access times.

Layout: one file may hold several caches, each in its own pair of tables (``table=``).

    <table>        namespace, key (TEXT; primary key), value (BLOB: the encoded payload),
                   expires_at (REAL seconds on the backend's clock; NULL: never),
                   accessed_at (REAL: last write, or last read when max_entries is set)
    <table>_locks  namespace, key (primary key), token, expires_at: cross-process locks

Indexes: expires_at (partial, only rows that expire) for expiry filtering and
``remove_expired``; accessed_at, created once some cache opens the file with ``max_entries``.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import sqlite3
from collections.abc import Iterable
from typing import Any

from cache_core import BackendError, BackendTimeoutError, Clock, Entry

MEMORY = ":memory:"
DEFAULT_PATH = "cache.db"
DEFAULT_TABLE = "cache_entries"
DEFAULT_BUSY_TIMEOUT = 5.0
#: RETURNING (3.35) for reads that refresh access times; upsert, json_each, pragma_table_info are older.
MINIMUM_SQLITE = (3, 35, 0)

Statement = tuple[str, tuple[Any, ...]]

# The statements. "{t}" is the entries table's name (an identifier checked by Queries); locks
# live in "{t}_locks". Parameters are plain "?" placeholders, bound from a tuple in the order they
# appear in the text: Python 3.12 deprecates binding numbered ones ("?1") from a sequence, and 3.14
# refuses it. A "live" row has expires_at NULL or in the future.
#
# Setup, run on every connection (everything IF NOT EXISTS, nothing is ever altered or dropped).
# WAL: readers never wait for the writer nor the writer for readers, across processes too.
# synchronous=NORMAL: in WAL mode a commit does not wait for fsync; a power cut may lose the last
# commits but never corrupts the file, which suits a cache. journal_size_limit: the WAL file is
# truncated back to 64 MiB after checkpoints.
_SETUP = """\
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA journal_size_limit = 67108864;
CREATE TABLE IF NOT EXISTS "{t}" (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at REAL, accessed_at REAL NOT NULL,
    PRIMARY KEY (namespace, key));
CREATE INDEX IF NOT EXISTS "{t}_expires_at" ON "{t}" (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS "{t}_locks" (
    namespace TEXT NOT NULL, key TEXT NOT NULL, token TEXT NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (namespace, key));
"""
_SETUP_LRU = 'CREATE INDEX IF NOT EXISTS "{t}_accessed_at" ON "{t}" (accessed_at);\n'
#: What the setup creates, as pragma_table_info reports it: (name, type, not null, primary key position).
_COLUMNS = {
    "{t}": [
        ("namespace", "TEXT", 1, 1),
        ("key", "TEXT", 1, 2),
        ("value", "BLOB", 1, 0),
        ("expires_at", "REAL", 0, 0),
        ("accessed_at", "REAL", 1, 0),
    ],
    "{t}_locks": [
        ("namespace", "TEXT", 1, 1),
        ("key", "TEXT", 1, 2),
        ("token", "TEXT", 1, 0),
        ("expires_at", "REAL", 1, 0),
    ],
}
_INSPECT = (
    'SELECT m.name, m.type, p.name, p.type, p."notnull", p.pk FROM sqlite_master AS m'
    " LEFT JOIN pragma_table_info(m.name) AS p WHERE lower(m.name) IN (lower(?), lower(?)) ORDER BY m.name, p.cid"
)
# SQLite opens a file it may not write read-only, without complaint: this probe needs write access.
_WRITE_PROBE = (
    """SAVEPOINT cache_probe; INSERT OR REPLACE INTO "{t}_locks" VALUES ('', '', '', 0);"""
    " ROLLBACK TO cache_probe; RELEASE cache_probe;"
)

# Reads. With max_entries a read refreshes accessed_at in the same statement (so each read is a
# small write); without it a read is a plain SELECT.
_GET = 'SELECT value, expires_at FROM "{t}" WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)'
_GET_AND_TOUCH = (
    'UPDATE "{t}" SET accessed_at = ?'
    " WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?) RETURNING value, expires_at"
)
# Batches are one statement with constant text, however many keys: the keys (and values) travel
# concatenated in one blob, cut apart with substr() at offsets given as JSON. JSON cannot carry
# the keys themselves: SQLite's JSON functions cut text at a NUL character, and JSON has no bytes.
_GET_MANY = (
    'SELECT key, value, expires_at FROM "{t}" WHERE namespace = ? AND key IN ('
    "SELECT CAST(substr(?, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')) AS TEXT)"
    " FROM json_each(?) AS j) AND (expires_at IS NULL OR expires_at > ?)"
)
_GET_MANY_AND_TOUCH = (
    'UPDATE "{t}" SET accessed_at = ? WHERE namespace = ? AND key IN ('
    "SELECT CAST(substr(?, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')) AS TEXT)"
    " FROM json_each(?) AS j) AND (expires_at IS NULL OR expires_at > ?) RETURNING key, value, expires_at"
)
# The concurrent gets of one event loop, whatever their namespaces, coalesced by SqliteCache into
# one statement: one text per number of reads (at most READ_BATCH_LIMIT, so that every text stays
# in sqlite3's statement cache), the pairs bound as the first parameters (a list of values is
# several times faster here than json_each, as _GET_MANY does it). Rows come back with their
# namespace and key.
READ_BATCH_LIMIT = 64
# (The pairs go through a CTE: "IN (VALUES ...)" itself makes SQLite scan the table.)
_GET_BATCH = (
    "WITH wanted (namespace, key) AS (VALUES {pairs})"
    ' SELECT namespace, key, value, expires_at FROM "{t}" WHERE (namespace, key) IN (SELECT * FROM wanted)'
    " AND (expires_at IS NULL OR expires_at > ?)"
)
_GET_BATCH_AND_TOUCH = (
    "WITH wanted (namespace, key) AS (VALUES {pairs})"
    ' UPDATE "{t}" SET accessed_at = ? WHERE (namespace, key) IN (SELECT * FROM wanted)'
    " AND (expires_at IS NULL OR expires_at > ?) RETURNING namespace, key, value, expires_at"
)

# Writes: an upsert keeps the row (and its rowid) and replaces the rest.
_PUT = (
    'INSERT INTO "{t}" (namespace, key, value, expires_at, accessed_at) VALUES (?, ?, ?, ?, ?)'
    " ON CONFLICT (namespace, key) DO UPDATE"
    " SET value = excluded.value, expires_at = excluded.expires_at, accessed_at = excluded.accessed_at"
)
_PUT_MANY = (
    'INSERT INTO "{t}" (namespace, key, value, expires_at, accessed_at)'
    " SELECT ?, CAST(substr(?, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')) AS TEXT),"
    " substr(?, json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]')), ?, ?"
    " FROM json_each(?) AS j WHERE true"  # the WHERE lets the parser tell ON CONFLICT from a join
    " ON CONFLICT (namespace, key) DO UPDATE"
    " SET value = excluded.value, expires_at = excluded.expires_at, accessed_at = excluded.accessed_at"
)
# Least recently used first; rowid (insertion order) breaks ties. Both walk the accessed_at index.
_EVICT = (
    'DELETE FROM "{t}" WHERE rowid IN (SELECT rowid FROM "{t}" ORDER BY accessed_at, rowid'
    ' LIMIT max(0, (SELECT count(*) FROM "{t}") - ?))'
)
_REMOVE = 'DELETE FROM "{t}" WHERE namespace = ? AND key = ?'
_REMOVE_EXPIRED = 'DELETE FROM "{t}" WHERE expires_at <= ?'
_CLEAR_NAMESPACE = 'DELETE FROM "{t}" WHERE namespace = ?'
_CLEAR = 'DELETE FROM "{t}"'

# Locks: taken if free or expired (one row changed); released only by the token that holds it.
_ACQUIRE_LOCK = (
    'INSERT INTO "{t}_locks" (namespace, key, token, expires_at) VALUES (?, ?, ?, ?)'
    " ON CONFLICT (namespace, key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at"
    ' WHERE "{t}_locks".expires_at <= ?'
)
_RELEASE_LOCK = 'DELETE FROM "{t}_locks" WHERE namespace = ? AND key = ? AND token = ?'

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Queries:
    """The statements of one cache (a table pair in a file) and the decisions around them.

    Args:
        table: name of the entries table; the locks table is ``<table>_locks``.
        clock: the backend's clock, for expiry, access times and the sweep schedule.
        max_entries: the most rows kept, least recently used evicted first; ``None`` for no limit.
        sweep_interval: seconds between sweeps of expired rows run by writes; ``None`` for never.
    """

    def __init__(self, table: str, clock: Clock, *, max_entries: int | None, sweep_interval: float | None) -> None:
        if not isinstance(table, str) or not _IDENTIFIER.match(table) or table.lower().startswith("sqlite_"):
            msg = f"table must be letters, digits and _ (not first a digit, not starting with sqlite_), got {table!r}"
            raise ValueError(msg)
        lru = max_entries is not None
        if lru and (isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1):
            msg = f"max_entries must be None or a positive int, got {max_entries!r}"
            raise ValueError(msg)
        self.table, self.locks = table, f"{table}_locks"
        self.clock = clock
        self.max_entries = max_entries
        self.sweep_interval = None if sweep_interval is None else check_seconds("sweep_interval", sweep_interval)
        self._next_sweep = math.inf if self.sweep_interval is None else clock.now() + self.sweep_interval
        self._last_access = -math.inf

        def sql(template: str) -> str:
            return template.replace("{t}", table)

        self.setup = sql(_SETUP + (_SETUP_LRU if lru else ""))
        self.inspect: Statement = (_INSPECT, (self.table, self.locks))
        self.write_probe = sql(_WRITE_PROBE)
        self._columns = {sql(name).lower(): columns for name, columns in _COLUMNS.items()}
        self._get = sql(_GET_AND_TOUCH if lru else _GET)
        self._get_many = sql(_GET_MANY_AND_TOUCH if lru else _GET_MANY)
        self._get_batch_template = sql(_GET_BATCH_AND_TOUCH if lru else _GET_BATCH)
        self._get_batch: dict[int, str] = {}
        self._put, self._put_many, self._evict = sql(_PUT), sql(_PUT_MANY), sql(_EVICT)
        self._remove, self._remove_expired = sql(_REMOVE), sql(_REMOVE_EXPIRED)
        self._clear_namespace, self._clear = sql(_CLEAR_NAMESPACE), sql(_CLEAR)
        self._acquire_lock, self._release_lock = sql(_ACQUIRE_LOCK), sql(_RELEASE_LOCK)

    # -- statements ------------------------------------------------------------------------

    def get(self, namespace: str, key: str) -> Statement:
        """Rows ``(value, expires_at)``: the live entry, if any."""
        now = self.clock.now()
        if self.max_entries is None:
            return self._get, (namespace, key, now)
        return self._get, (self._access(), namespace, key, now)

    def get_many(self, namespace: str, keys: list[str]) -> Statement:
        """Rows ``(key, value, expires_at)`` for the live entries among ``keys`` (read back with ``entries``)."""
        blob, offsets = _pack([key.encode() for key in keys])
        now = self.clock.now()
        if self.max_entries is None:
            return self._get_many, (namespace, blob, json.dumps(offsets), now)
        return self._get_many, (self._access(), namespace, blob, json.dumps(offsets), now)

    def get_batch(self, reads: list[tuple[str, str]]) -> Statement:
        """Rows ``(namespace, key, value, expires_at)`` for the live entries among ``reads``, at most
        ``READ_BATCH_LIMIT`` pairs ``(namespace, key)`` (read back with ``batch_entries``)."""
        count = len(reads)
        statement = self._get_batch.get(count)
        if statement is None:
            if not 0 < count <= READ_BATCH_LIMIT:
                msg = f"a batch of reads holds 1 to {READ_BATCH_LIMIT} keys, not {count}"
                raise ValueError(msg)
            pairs = ", ".join(["(?, ?)"] * count)
            statement = self._get_batch[count] = self._get_batch_template.replace("{pairs}", pairs)
        parts = [part for read in reads for part in read]
        if self.max_entries is None:
            return statement, (*parts, self.clock.now())
        return statement, (*parts, self._access(), self.clock.now())

    def put(self, namespace: str, key: str, payload: bytes, expires_at: float | None) -> Statement:
        return self._put, (namespace, key, payload, expires_at, self._access())

    def put_many(self, namespace: str, items: list[tuple[str, Any]], expires_at: float | None) -> Statement:
        """One statement for the whole batch, so it is stored all at once or not at all."""
        keys, key_offsets = _pack([key.encode() for key, _ in items])
        payloads, payload_offsets = _pack([payload for _, payload in items])
        offsets = json.dumps([key + payload for key, payload in zip(key_offsets, payload_offsets, strict=True)])
        return self._put_many, (namespace, keys, payloads, expires_at, self._access(), offsets)

    def after_write(self) -> list[Statement]:
        """What a write must also run: eviction down to ``max_entries``, and the sweep when it is due."""
        statements: list[Statement] = []
        if self.max_entries is not None:
            statements.append((self._evict, (self.max_entries,)))
        now = self.clock.now()
        if now >= self._next_sweep:
            self._next_sweep = now + self.sweep_interval  # type: ignore[operator]  # finite only when set
            statements.append(self.remove_expired(now))
        return statements

    def remove(self, namespace: str, key: str) -> Statement:
        return self._remove, (namespace, key)

    def remove_expired(self, now: float) -> Statement:
        return self._remove_expired, (now,)

    def clear(self, namespace: str | None) -> Statement:
        return (self._clear, ()) if namespace is None else (self._clear_namespace, (namespace,))

    def acquire_lock(self, namespace: str, key: str, token: str, ttl: float) -> Statement:
        """Takes the lock if it is free or expired; one row changed means taken."""
        ttl = check_seconds("lock ttl", ttl)
        now = self.clock.now()
        return self._acquire_lock, (namespace, key, token, now + ttl, now)

    def release_lock(self, namespace: str, key: str, token: str) -> Statement:
        """Deletes the lock only if ``token`` still holds it; one row changed means released."""
        return self._release_lock, (namespace, key, token)

    # -- reading rows back -------------------------------------------------------------------

    @staticmethod
    def entries(keys: list[str], rows: Iterable[Any]) -> list[Entry | None]:
        found = {key: (value, expires_at) for key, value, expires_at in rows}
        return [found.get(key) for key in keys]

    @staticmethod
    def batch_entries(reads: list[tuple[str, str]], rows: Iterable[Any]) -> list[Entry | None]:
        found = {(namespace, key): (value, expires_at) for namespace, key, value, expires_at in rows}
        return [found.get(read) for read in reads]

    def check_tables(self, rows: Iterable[Any], path: str) -> None:
        """Refuse a file whose tables of our names were not made by this cache (they are never changed)."""
        found: dict[str, tuple[str, str, list[tuple[Any, ...]]]] = {}
        for name, kind, *column in rows:
            found.setdefault(name.lower(), (name, kind, []))[2].append(tuple(column))
        for lowered, (name, kind, actual) in found.items():
            columns = [(column, str(kind_).upper(), not_null, key) for column, kind_, not_null, key in actual]
            if kind != "table" or columns != self._columns[lowered]:
                listed = ", ".join(str(column[0]) for column in actual if column[0] is not None) or "none"
                msg = (
                    f"{path} already holds {kind} {name!r} (columns: {listed}), which this cache did not create; "
                    f"refusing to use or change it. Pass table= to keep the cache in other tables, or use another file"
                )
                raise ValueError(msg)

    def _access(self) -> float:
        """Access time for LRU order: the clock's time, strictly increasing in this process (a stopped
        test clock still orders accesses); across processes the shared wall clock orders them."""
        now = self.clock.now()
        self._last_access = now if now > self._last_access else math.nextafter(self._last_access, math.inf)
        return self._last_access


def _pack(parts: list[bytes]) -> tuple[bytes, list[list[int]]]:
    """One blob holding ``parts``, and ``[start, length]`` of each for substr() (1-based).

    The blob starts with one unused byte: SQLite reads an empty blob parameter as NULL.
    """
    offsets, start = [], 2
    for part in parts:
        offsets.append([start, len(part)])
        start += len(part)
    return b"".join([b"\x00", *parts]), offsets


def check_seconds(name: str, seconds: object) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
        msg = f"{name} must be a positive number of seconds, got {seconds!r}"
        raise ValueError(msg)
    return float(seconds)


def resolve_path(path: object) -> str:
    """The absolute path (resolved now, so a later chdir changes nothing), or ``":memory:"``."""
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
        msg = f"cache-sqlite needs SQLite >= {'.'.join(map(str, MINIMUM_SQLITE))}; Python uses {sqlite3.sqlite_version}"
        raise RuntimeError(msg)
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        msg = f"path must be a str or os.PathLike, not {type(path).__qualname__}"
        raise TypeError(msg)
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        msg = f"path must be a non-empty file path or {MEMORY!r}, got {path!r}"
        raise ValueError(msg)
    return text if text == MEMORY else os.path.abspath(text)


def check_location(path: str) -> None:
    """Clear errors for a path SQLite would reject with 'unable to open database file'."""
    if os.path.isdir(path):
        msg = f"{path} is a directory; give the path of a database file inside it"
        raise IsADirectoryError(msg)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        msg = f"cannot create {path}: directory {directory} does not exist (the cache does not create directories)"
        raise FileNotFoundError(msg)


def _is(exc: BaseException, code: int, *phrases: str) -> bool:
    """Whether ``exc`` is the SQLite error ``code`` (by its code on Python >= 3.11, by message before)."""
    found = getattr(exc, "sqlite_errorcode", None)
    if isinstance(found, int):
        return found & 0xFF == code
    return any(phrase in str(exc) for phrase in phrases)


def is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        _is(exc, 5, "database is locked") or _is(exc, 6, "database table is locked")
    )


class DatabaseBusyError(TimeoutError):
    """Another connection held the database past the busy timeout (mapped to ``BackendTimeoutError``)."""


def as_timeout(exc: Exception, busy_timeout: float) -> Exception:
    """Turn SQLite's 'database is locked' into a ``TimeoutError`` for the core's ``timeout_errors``."""
    if not is_busy(exc):
        return exc
    error = DatabaseBusyError(f"{exc} (another connection held it longer than busy_timeout={busy_timeout}s)")
    error.__cause__ = exc
    return error


def open_error(path: str, exc: sqlite3.Error, busy_timeout: float) -> Exception:
    """The clear exception for a failure while opening and checking ``path``."""
    if _is(exc, 26, "file is not a database") or _is(exc, 11, "malformed"):
        return ValueError(f"{path} is not a SQLite database ({exc}); the cache leaves it untouched")
    if _is(exc, 8, "readonly database"):
        return PermissionError(f"{path} is read-only ({exc}); the cache needs to write to it")
    if _is(exc, 14, "unable to open database file"):
        return PermissionError(
            f"cannot open {path} for writing ({exc}); the cache needs write access to the file and to its "
            f"directory (SQLite creates {os.path.basename(path)}-wal and -shm beside it)"
        )
    if is_busy(exc):
        return BackendTimeoutError(f"{path} stayed locked by another connection past {busy_timeout}s ({exc})")
    return BackendError(f"cannot set up a cache in {path}: {type(exc).__name__}: {exc}")


def new_token() -> str:
    return secrets.token_hex(16)
