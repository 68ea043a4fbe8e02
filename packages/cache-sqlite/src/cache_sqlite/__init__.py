"""cache-sqlite: a persistent cache in one SQLite file, shared by processes and threads.

``SqliteCache`` (aiosqlite) for ``async def`` code, ``SyncSqliteCache`` (sqlite3) for both.
"""

from __future__ import annotations

from ._async_sqlite import SqliteCache
from ._sync_sqlite import SyncSqliteCache

__all__ = ["SqliteCache", "SyncSqliteCache"]
