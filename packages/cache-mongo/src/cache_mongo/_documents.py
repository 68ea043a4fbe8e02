"""Sans-I/O decisions shared by ``MongoCache`` and ``SyncMongoCache``.

Entry documents::

    {"_id": {"ns": namespace, "key": key}, "value": Binary(payload), "expires_at": Date}

``_id`` is compound, so any namespace and key (empty, ``"\\x00"``, ...) map to distinct
documents. ``expires_at`` is the expiry on the backend's clock, truncated to BSON's
milliseconds (an entry may read as expired up to 1 ms early, never late); it is absent
for entries that never expire. A TTL index on it lets the server delete expired
documents (its monitor runs about once a minute); reads check the expiry themselves.
A second index on ``_id.ns`` serves ``clear(namespace)``.

Lock documents (in ``<collection>.locks``): ``{"_id": {"ns", "key"}, "token", "expires_at"}``
with the expiry taken from the server's clock (``$$NOW``), so processes whose clocks
disagree still agree on when a lock lapses.
"""

from __future__ import annotations

import math
from typing import Any, Final

from bson.codec_options import CodecOptions, DatetimeConversion
from bson.datetime_ms import DatetimeMS
from cache_core import Entry
from pymongo import IndexModel
from pymongo.errors import AutoReconnect, ExecutionTimeout, NetworkTimeout, ServerSelectionTimeoutError, WTimeoutError
from pymongo.read_concern import ReadConcern

#: Milliseconds: ``timeoutMS`` bounds each whole operation (server selection included),
#: ``serverSelectionTimeoutMS`` how long to look for a server when ``timeoutMS`` is off.
DEFAULT_TIMEOUT_MS: Final = 2000
#: PyMongo's per-phase timeouts: a caller who sets one chose them over ``timeoutMS``.
PHASE_TIMEOUTS: Final = frozenset({"serverselectiontimeoutms", "sockettimeoutms", "connecttimeoutms"})

#: Driver exceptions that mean "timed out" (mapped to ``BackendTimeoutError`` by the core).
TIMEOUT_ERRORS: Final = (ServerSelectionTimeoutError, NetworkTimeout, ExecutionTimeout, WTimeoutError, TimeoutError)

#: Our view of the collection, whatever the owner's client was configured with: plain
#: dicts, and dates as integer milliseconds (no ``datetime`` objects on the hit path).
CODEC_OPTIONS: Final[CodecOptions[dict[str, Any]]] = CodecOptions(
    document_class=dict, datetime_conversion=DatetimeConversion.DATETIME_MS
)

ENTRY_INDEXES: Final = [
    IndexModel("expires_at", expireAfterSeconds=0, name="expires_at_ttl"),
    IndexModel("_id.ns", name="namespace"),
]
LOCK_INDEXES: Final = [IndexModel("expires_at", expireAfterSeconds=0, name="expires_at_ttl")]

#: Owned objects the async backend accepts besides PyMongo's, by class name (Motor is not a dependency).
MOTOR_TYPES: Final = {
    "AsyncIOMotorClient": "client",
    "AsyncIOMotorDatabase": "database",
    "AsyncIOMotorCollection": "collection",
}
#: The sync backend accepts only PyMongo's own classes.
NO_FOREIGN_TYPES: Final[dict[str, str]] = {}


def client_options(uri: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` plus our timeout defaults for what neither ``options`` nor ``uri`` set.

    ``timeoutMS`` defaults to 2 s unless set, or unless one of PyMongo's per-phase
    timeouts is set (with ``timeoutMS`` on, PyMongo ignores ``serverSelectionTimeoutMS``);
    ``serverSelectionTimeoutMS`` defaults to 2 s unless set. Names are case-insensitive.
    """
    query = uri.partition("?")[2].lower()
    given = {name.lower() for name in options} | {part.partition("=")[0] for part in query.replace(";", "&").split("&")}
    merged = dict(options)
    if "timeoutms" not in given and not given & PHASE_TIMEOUTS:
        merged["timeoutMS"] = DEFAULT_TIMEOUT_MS
    if "serverselectiontimeoutms" not in given:
        merged["serverSelectionTimeoutMS"] = DEFAULT_TIMEOUT_MS
    return merged


def check_names(database: str, collection: str) -> None:
    """Raise ``ValueError`` for names MongoDB rejects (before any client exists)."""
    if not isinstance(database, str) or not isinstance(collection, str):
        msg = f"database and collection names must be str, not {type(database).__name__}/{type(collection).__name__}"
        raise TypeError(msg)
    bad = [char for char in '/\\. "$\x00' if char in database]
    if not database or bad:
        msg = f"invalid MongoDB database name {database!r}: " + (
            f"it may not contain {bad[0]!r}" if bad else "it is empty"
        )
        raise ValueError(msg)
    if not collection or "$" in collection or "\x00" in collection or collection.startswith((".", "system.")):
        msg = (
            f"invalid MongoDB collection name {collection!r}: it must be non-empty, "
            "without '$' or NUL, and not start with '.' or 'system.'"
        )
        raise ValueError(msg)


def source_kind(source: object, client: type, database: type, collection: type, foreign: dict[str, str]) -> str:
    """``"uri"``, ``"client"``, ``"database"`` or ``"collection"`` for what a backend was given."""
    if isinstance(source, str):
        return "uri"
    for kind, cls in (("client", client), ("database", database), ("collection", collection)):
        if isinstance(source, cls):
            return kind
    for cls in type(source).__mro__:
        if cls.__name__ in foreign:
            return foreign[cls.__name__]
    names = ", ".join([client.__name__, database.__name__, collection.__name__, *foreign])
    msg = f"expected a MongoDB URI (str) or a {names}, not {type(source).__qualname__}"
    raise TypeError(msg)


def entry_id(namespace: str, key: str) -> dict[str, str]:
    return {"ns": namespace, "key": key}


def entry_document(namespace: str, key: str, payload: bytes, expires_at: float | None) -> dict[str, Any]:
    document: dict[str, Any] = {"_id": {"ns": namespace, "key": key}, "value": payload}
    if expires_at is not None:
        document["expires_at"] = date(expires_at)
    return document


def entry_of(document: dict[str, Any]) -> Entry:
    """``(payload, expires_at)`` from an entry document.

    Fields not written by us are passed on as found: the serializer rejects a value
    that is not our bytes, the core rejects an expiry that is not a number, and both
    are read as a logged miss.
    """
    expires_at = document.get("expires_at")
    if isinstance(expires_at, DatetimeMS):  # a BSON date, read as milliseconds
        expires_at = int(expires_at) / 1000
    return document.get("value"), expires_at


def find_one_options(read_concern: ReadConcern) -> dict[str, Any]:
    """The fields after ``find`` and ``filter`` of the find command that ``find_one`` sends for a collection."""
    options: dict[str, Any] = {"limit": 1, "singleBatch": True}
    if read_concern.level:
        options["readConcern"] = read_concern.document
    return options


def first_entry(reply: dict[str, Any]) -> Entry | None:
    """The entry in a find command's reply, or ``None``."""
    batch = reply["cursor"]["firstBatch"]
    return entry_of(batch[0]) if batch else None


def retry_read(exc: AutoReconnect) -> bool:
    """Whether a read that failed with ``exc`` is tried once more, as PyMongo retries a read.

    Yes when the connection broke or the server stopped being primary (a restart, a failover):
    the retry selects a server again. No for timeouts, which would only double the wait.
    """
    return not isinstance(exc, (NetworkTimeout, ServerSelectionTimeoutError))


def date(seconds: float) -> DatetimeMS:
    """A BSON date for ``seconds`` since the epoch, rounded down to whole milliseconds."""
    return DatetimeMS(math.floor(seconds * 1000))


def lock_update(token: str, ttl: float) -> list[dict[str, Any]]:
    """An update pipeline taking the lock for ``token`` unless a live lock holds it (server time)."""
    held = {"$gt": ["$expires_at", "$$NOW"]}  # a missing expires_at (new document) sorts before any date
    return [
        {
            "$set": {
                "token": {"$cond": [held, "$token", token]},
                "expires_at": {"$cond": [held, "$expires_at", {"$add": ["$$NOW", max(1, math.ceil(ttl * 1000))]}]},
            }
        }
    ]
