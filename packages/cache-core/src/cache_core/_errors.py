"""The exception hierarchy: a miss, and ``CacheError`` with a few subclasses.

Direct backend calls raise only these (driver exceptions are wrapped, with the
original as ``__cause__``), so callers can catch one documented family.
"""

from __future__ import annotations


class CacheMiss(KeyError, ValueError):  # noqa: N818 - the name is part of the public API
    """The key has no live entry (never stored, removed, expired or undecodable).

    A subclass of ``KeyError`` (mapping style) and ``ValueError`` (what the
    asyncio-caches API documents for ``get``).
    """

    def __str__(self) -> str:
        return f"cache miss: {self.args[0]!r}" if self.args else "cache miss"


class CacheError(Exception):
    """Base class of every error this library raises, apart from ``CacheMiss``."""


class BackendError(CacheError):
    """The storage failed: server down, connection lost, I/O error, driver error."""


class BackendTimeoutError(BackendError, TimeoutError):
    """The storage did not answer within the operation timeout."""


class BackendClosedError(CacheError):
    """The backend was closed; create a new one (or use ``async with``) to continue."""


class InvalidTTLError(CacheError, ValueError):
    """A TTL that is negative, NaN, above ``MAX_TTL``, of the wrong type, or a ``(min, max)`` with min > max."""


class InvalidKeyError(CacheError, TypeError, ValueError):
    """A key or namespace the cache cannot store: not ``str``/``bytes``, too long for the
    backend, an empty or unencodable namespace, or arguments that cannot safely form a key.

    A ``TypeError`` (a key of the wrong type) and a ``ValueError`` (a bad key of the right type).
    """


class SerializationError(CacheError):
    """Base class for values that cannot be encoded or stored data that cannot be decoded."""


class EncodeError(SerializationError, TypeError):
    """A value (or a part of it) has a type the serializer cannot encode."""


class ValueTooLargeError(EncodeError, ValueError):
    """An encoded entry is larger than the backend stores (its ``max_entry_bytes``); nothing was written."""


class DecodeError(SerializationError, ValueError):
    """Stored bytes cannot be decoded (corrupt, foreign, or an unregistered type)."""
