# Generated from _async_mongo.py by scripts/unasync.py. Do not edit: edit the async file and rerun.
"""``SyncMongoCache``: the MongoDB backend on PyMongo's sync client.

``_sync_mongo.py`` (``SyncMongoCache``) is generated from ``_async_mongo.py`` by ``scripts/unasync.py``.
"""

from __future__ import annotations

import threading
import functools
import secrets
from typing import Any, ClassVar

from cache_core import TAG_NAMESPACE, Backend, CircuitBreaker, Clock, Entry, JsonSerializer, SharedState, Serializer
from pymongo import MongoClient, ReplaceOne, ReturnDocument
from pymongo.synchronous.collection import Collection
from pymongo.synchronous.database import Database
from pymongo.errors import AutoReconnect, ConfigurationError, DuplicateKeyError

from ._documents import (
    CODEC_OPTIONS,
    ENTRY_INDEXES,
    LOCK_INDEXES,
    NO_FOREIGN_TYPES,
    TIMEOUT_ERRORS,
    check_names,
    client_options,
    date,
    entry_document,
    entry_id,
    entry_of,
    find_one_options,
    first_entry,
    lock_update,
    retry_read,
    source_kind,
)


class _Link:
    """The collections a backend works on, through one client: one per event loop (async), one for all (sync)."""

    __slots__ = ("client", "entries", "find_one", "index_lock", "locks", "name", "read")

    def __init__(self, client: MongoClient[Any] | None, collection: Any) -> None:
        self.client = client  # ours to close, or None
        self.entries: Collection[dict[str, Any]] = collection.with_options(codec_options=CODEC_OPTIONS)
        locks = self.entries.database[f"{self.entries.name}.locks"]
        self.locks: Collection[dict[str, Any]] = locks.with_options(codec_options=CODEC_OPTIONS)
        self.index_lock = threading.Lock()
        # A hit runs the find command itself (see SyncMongoCache._get), with what find_one takes from
        # the collection, worked out here once: its read preference and read concern.
        self.name = self.entries.name
        self.find_one = find_one_options(self.entries.read_concern)
        self.read = functools.partial(
            self.entries.database.command, read_preference=self.entries.read_preference, codec_options=CODEC_OPTIONS
        )


class SyncMongoCache(Backend):
    """Cache entries in a MongoDB collection through PyMongo's sync client.

    Args:
        uri: a MongoDB URI (we create the client and close it in ``close()``), or a client,
            database or collection you own (PyMongo's sync ones); we never close those.
            From a URI: one client for every thread (closed by close).
            What you pass in is used as it is.
        database: database name when ``uri`` is a URI or client.
        collection: collection of the entries; locks go to ``<collection>.locks``.
        serializer: ``JsonSerializer()`` by default; payloads are stored as BSON binary.
        clock: source of time for expiry.
        breaker: ``True`` for a default ``CircuitBreaker``, ``False`` for none, or your own.
        **pymongo_kwargs: passed to the client. Unless set here or in the URI,
            ``timeoutMS`` (each whole operation) and ``serverSelectionTimeoutMS`` default to
            2000; setting one of PyMongo's per-phase timeouts leaves ``timeoutMS`` unset.

    Raises ``ValueError`` for a malformed URI, option or name; timeouts surface as
    ``BackendTimeoutError``, other server failures as ``BackendError``.
    """

    timeout_errors = TIMEOUT_ERRORS
    sync_alternative: ClassVar[str | None] = "SyncMongoCache"
    # A document holds at most 16 MiB, and an upsert sends the _id (namespace and key) twice:
    # with keys up to 1 MiB and whole entries up to 15 MiB, every write fits.
    max_key_bytes: ClassVar[int | None] = 1 << 20
    max_entry_bytes: ClassVar[int | None] = 15 << 20

    def __init__(
        self,
        uri: str | MongoClient[Any] | Database[Any] | Collection[Any] = "mongodb://localhost:27017",
        *,
        database: str = "cache",
        collection: str = "entries",
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        breaker: CircuitBreaker | bool = True,
        **pymongo_kwargs: Any,
    ) -> None:
        kind = source_kind(uri, MongoClient, Database, Collection, NO_FOREIGN_TYPES)
        check_names(database, collection)
        if pymongo_kwargs and kind != "uri":
            msg = f"client options {sorted(pymongo_kwargs)} only apply when a URI is given, not a {kind}"
            raise TypeError(msg)
        chosen = (CircuitBreaker() if breaker else None) if isinstance(breaker, bool) else breaker
        super().__init__(serializer=serializer or JsonSerializer(), clock=clock, breaker=chosen)
        client: MongoClient[Any] | None = None
        options: dict[str, Any] = {}
        if isinstance(uri, str):
            options = client_options(uri, pymongo_kwargs)
            try:
                client = MongoClient(uri, **options)
            except (ConfigurationError, ValueError) as exc:
                msg = f"invalid MongoDB URI or client option: {exc}"
                raise ValueError(msg) from exc

        def link(client: MongoClient[Any] | None) -> _Link:
            source: Any = uri if client is None else client
            if kind in ("uri", "client"):
                source = source[database]
            if kind != "collection":
                source = source[collection]
            return _Link(client, source)

        owned = client is not None  # not the client itself: the first loop's client must not outlive its loop

        def new_link() -> _Link:
            """Another event loop's link: a client of its own from the URI, else what was passed in."""
            return link(MongoClient(str(uri), **options) if owned else None)

        self._links = SharedState(new_link, self._close_link if owned else None, first=link(client))
        self._indexed = False

    @staticmethod
    def _close_link(link: _Link) -> None:
        if link.client is not None:
            link.client.close()

    @property
    def _owned_client(self) -> MongoClient[Any] | None:
        """The client we made from the URI, for the calling event loop; ``None`` for one passed in."""
        link = self._links.peek()
        return None if link is None else link.client

    @property
    def _entries(self) -> Collection[dict[str, Any]]:
        link = self._links.peek()
        assert link is not None  # noqa: S101 - made in __init__, dropped only with its loop
        return link.entries

    def _ensure_indexes(self, link: _Link) -> None:
        """Create the TTL and namespace indexes once per backend, on its first write."""
        with link.index_lock:
            if not self._indexed:
                link.entries.create_indexes(ENTRY_INDEXES)
                link.locks.create_indexes(LOCK_INDEXES)
                self._indexed = True

    def _get(self, namespace: str, key: str) -> Entry | None:
        # Performance over tidiness: the find command that find_one would send, run as a plain
        # command, skips PyMongo's cursor machinery (a tenth of a hit on loopback); PyMongo does not
        # retry a command, so the one retry of a read it would make is made here. No projection:
        # reading three small fields whole is cheaper than the server's projection stage.
        link = self._links.get()
        command = {"find": link.name, "filter": {"_id": entry_id(namespace, key)}, **link.find_one}
        try:
            reply = link.read(command)
        except AutoReconnect as exc:
            if not retry_read(exc):
                raise
            reply = link.read(command)
        return first_entry(reply)

    def _get_many(self, namespace: str, keys: list[str]) -> list[Entry | None]:
        ids = [entry_id(namespace, key) for key in keys]
        cursor = self._links.get().entries.find({"_id": {"$in": ids}})
        found = {document["_id"]["key"]: entry_of(document) for document in cursor}
        return [found.get(key) for key in keys]

    def _get_tagged(self, namespace: str, key: str, tags: list[str]) -> tuple[Entry | None, list[Entry | None]]:
        """The entry and its tags' versions in one query (one round trip)."""
        ids = [entry_id(namespace, key), *(entry_id(TAG_NAMESPACE, tag) for tag in tags)]
        cursor = self._links.get().entries.find({"_id": {"$in": ids}})
        found = {(document["_id"]["ns"], document["_id"]["key"]): entry_of(document) for document in cursor}
        return found.get((namespace, key)), [found.get((TAG_NAMESPACE, tag)) for tag in tags]

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        link = self._links.get()
        if not self._indexed:
            self._ensure_indexes(link)
        document = entry_document(namespace, key, payload, expires_at)
        link.entries.replace_one({"_id": document["_id"]}, document, upsert=True)

    def _put_many(
        self, namespace: str, items: list[tuple[str, Any]], ttl: float | None, expires_at: float | None
    ) -> None:
        link = self._links.get()
        if not self._indexed:
            self._ensure_indexes(link)
        documents = [entry_document(namespace, key, payload, expires_at) for key, payload in items]
        link.entries.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in documents], ordered=True)

    def _remove(self, namespace: str, key: str) -> bool:
        return (self._links.get().entries.delete_one({"_id": entry_id(namespace, key)})).deleted_count == 1

    def _remove_expired(self, now: float) -> int:
        return (self._links.get().entries.delete_many({"expires_at": {"$lte": date(now)}})).deleted_count

    def _clear(self, namespace: str | None) -> None:
        link = self._links.get()
        if not self._indexed:
            self._ensure_indexes(link)
        link.entries.delete_many({} if namespace is None else {"_id.ns": namespace})

    def _close(self) -> None:
        self._links.close()

    def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        """Take the cross-process lock on ``key`` for ``ttl`` seconds; return its token, or ``None`` if held."""
        link = self._links.get()
        if not self._indexed:
            self._ensure_indexes(link)
        token = secrets.token_hex(16)
        try:
            document = link.locks.find_one_and_update(
                {"_id": entry_id(namespace, key)},
                lock_update(token, ttl),
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # another process inserted the lock between our read and write
            return None
        return token if document is not None and document.get("token") == token else None

    def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        """Release the lock if ``token`` still holds it; return whether it did."""
        result = self._links.get().locks.delete_one({"_id": entry_id(namespace, key), "token": token})
        return result.deleted_count == 1

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} {self._entries.database.name}.{self._entries.name}{state}>"


class MongoBackend(SyncMongoCache):
    """cachetoolz's name: ``MongoBackend(host='localhost', database='cache', **kwargs)``."""

    sync_alternative: ClassVar[str | None] = "MongoBackend"

    def __init__(self, host: str = "localhost", database: str = "cache", **kwargs: Any) -> None:
        super().__init__(host, database=database, **kwargs)
