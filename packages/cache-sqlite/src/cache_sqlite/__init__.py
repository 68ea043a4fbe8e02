"""cache-sqlite: SqliteCache / SyncSqliteCache (aiosqlite / sqlite3). Not built yet (see the project issues)."""

from __future__ import annotations

__all__: list[str] = []
