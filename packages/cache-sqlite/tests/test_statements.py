"""Every statement the SQLite backends run binds its parameters the way every supported Python accepts.

Python 3.12 deprecates binding numbered (``?1``) or named (``:name``) placeholders from a
sequence and 3.14 refuses it; the backends bind tuples, so their statements use plain ``?``.
This runs each statement of ``Queries`` on a real database with warnings as errors, and checks
the text too (older Pythons do not warn).
"""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing

import pytest
from cache_sqlite._schema import READ_BATCH_LIMIT, Queries, Statement
from cache_testing import TestClock

# A placeholder SQLite reads as numbered or named, outside quoted strings and identifiers.
_NOT_QMARK = re.compile(r"\?\d|[:@$][A-Za-z_]")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def statements(queries: Queries) -> Iterator[tuple[str, Statement]]:
    yield "inspect", queries.inspect
    yield "put", queries.put("ns", "k", b"payload", 1e12)
    yield "put_many", queries.put_many("ns", [("a", b"1"), ("b", b"2")], None)
    yield "get", queries.get("ns", "k")
    yield "get_many", queries.get_many("ns", ["k", "a", "b"])
    for count in (1, 2, READ_BATCH_LIMIT):
        yield f"get_batch({count})", queries.get_batch([("ns", f"k{index}") for index in range(count)])
    yield "remove", queries.remove("ns", "k")
    yield "remove_expired", queries.remove_expired(0.0)
    yield "acquire_lock", queries.acquire_lock("ns", "k", "token", 30)
    yield "release_lock", queries.release_lock("ns", "k", "token")
    yield "clear(ns)", queries.clear("ns")
    yield "clear", queries.clear(None)


@pytest.mark.parametrize("max_entries", [None, 10])
def test_every_statement_binds_a_sequence_without_warnings(max_entries: int | None) -> None:
    clock = TestClock()
    queries = Queries("entries", clock, max_entries=max_entries, sweep_interval=1.0)
    clock.advance(2)
    after_write = queries.after_write()
    assert len(after_write) == (1 if max_entries is None else 2)  # eviction (with max_entries), the sweep
    with closing(sqlite3.connect(":memory:")) as connection, warnings.catch_warnings():
        warnings.simplefilter("error")
        connection.executescript(queries.setup)
        listed = [*statements(queries), *(("after_write", statement) for statement in after_write)]
        for name, (sql, parameters) in listed:
            assert not _NOT_QMARK.search(_QUOTED.sub("", sql)), f"{name}: {sql}"
            assert sql.count("?") == len(parameters), name
            connection.execute(sql, parameters).fetchall()


@pytest.mark.parametrize("max_entries", [None, 10])
def test_reads_see_what_was_written(max_entries: int | None) -> None:
    """The parameters are bound in the order of the text: reads with and without access times find the rows."""
    clock = TestClock()
    queries = Queries("entries", clock, max_entries=max_entries, sweep_interval=None)
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.executescript(queries.setup)
        expiry = clock.now() + 60
        connection.execute(*queries.put("ns", "k", b"v", expiry))
        connection.execute(*queries.put_many("ns", [("a", b"1"), ("b", b"2")], None))
        connection.execute(*queries.put("other", "k", b"gone", clock.now() + 1))
        clock.advance(5)
        assert connection.execute(*queries.get("ns", "k")).fetchall() == [(b"v", expiry)]
        assert connection.execute(*queries.get("other", "k")).fetchall() == []
        rows = connection.execute(*queries.get_many("ns", ["k", "a", "missing"])).fetchall()
        assert queries.entries(["k", "a", "missing"], rows) == [(b"v", expiry), (b"1", None), None]
        reads = [("ns", "b"), ("other", "k"), ("ns", "k")]
        found = queries.batch_entries(reads, connection.execute(*queries.get_batch(reads)).fetchall())
        assert found == [(b"2", None), None, (b"v", expiry)]
        if max_entries is not None:
            (accessed,) = connection.execute("SELECT max(accessed_at) FROM entries").fetchone()
            assert accessed >= clock.now()
