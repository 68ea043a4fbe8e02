"""Sans-I/O policy shared by ``AsyncBackend`` and ``Backend``.

Everything a backend decides without talking to its storage lives here: key and
namespace checks, TTL to expiry instant, encoding, the expiry check on read,
decode failures as misses, and turning driver exceptions into ``CacheError``.
The async and sync facades (``_async_backend.py`` and its generated twin
``_sync_backend.py``) only move data between this policy and the primitives.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final, Union

from ._breaker import CircuitBreaker
from ._clock import Clock, SystemClock
from ._errors import (
    BackendClosedError,
    BackendError,
    BackendTimeoutError,
    CacheError,
    DecodeError,
    InvalidKeyError,
    ValueTooLargeError,
)
from ._keys import key_text
from ._outages import OutageLog
from ._serializers import Serializer, check_serializer
from ._ttl import resolve_fixed

logger = logging.getLogger("cache_core")

#: ``(payload, expires_at)``: what a storage primitive returns for a stored entry.
#: ``expires_at`` is seconds on the backend's clock, or ``None`` for no expiry.
Entry = tuple[Any, Union[float, None]]

DEFAULT_NAMESPACE: Final = "default"


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Returned by the internal lookups for "no live entry" (``None`` is a valid cached value).
MISSING: Final = _Missing()


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is a non-empty ``str`` that UTF-8 can encode, else raise ``InvalidKeyError``.

    Namespaces are names a program chooses, so they are checked rather than escaped like keys.
    """
    if type(namespace) is str and namespace and namespace.isascii():
        return namespace
    if not isinstance(namespace, str):
        msg = f"namespace must be a str, not {type(namespace).__qualname__}"
        raise InvalidKeyError(msg)
    if not namespace:
        msg = "namespace must not be empty"
        raise InvalidKeyError(msg)
    try:
        namespace.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = (
            f"namespace {namespace!r} holds a lone surrogate at index {exc.start}, which no backend can store "
            "(keys may hold them: they are escaped)"
        )
        raise InvalidKeyError(msg) from None
    return str(namespace)


class BackendPolicy:
    """State and decisions common to both modes. Not a backend by itself.

    Attributes:
        serializer: turns values into stored payloads; ``None`` stores objects as they are
            (in-process backends only).
        clock: the only source of time for expiry.
        nonblocking: a sync ``Backend`` over the same storage whose calls never block, or
            ``None``. Decorators use it to serve hits without an ``await`` and to let sync
            functions use an async in-process backend.
    """

    #: Driver exceptions that mean "timed out" (mapped to ``BackendTimeoutError``).
    timeout_errors: ClassVar[tuple[type[BaseException], ...]] = (TimeoutError,)
    #: Named in the error raised when a sync function is decorated with an async-only backend.
    sync_alternative: ClassVar[str | None] = None
    #: The most bytes one entry may take in this storage: namespace and key (UTF-8) plus the
    #: encoded value. A store over it raises ``ValueTooLargeError`` before any I/O. ``None``: no limit.
    max_entry_bytes: ClassVar[int | None] = None
    #: The most bytes a namespace and key may take together (UTF-8); a store over it raises
    #: ``InvalidKeyError`` before any I/O. ``None``: only ``max_entry_bytes`` applies.
    max_key_bytes: ClassVar[int | None] = None

    nonblocking: Any = None
    _outage: OutageLog | None = None

    def __init__(
        self,
        *,
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        check_serializer(serializer)
        if clock is not None and not callable(getattr(clock, "now", None)):
            msg = f"clock must have a now() method, not {type(clock).__qualname__}"
            raise TypeError(msg)
        self.serializer = serializer
        if breaker is not None and not isinstance(breaker, CircuitBreaker):
            msg = f"breaker must be a CircuitBreaker or None, not {type(breaker).__qualname__}"
            raise TypeError(msg)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.breaker = breaker
        self._closed = False

    # -- checks -------------------------------------------------------------------------

    def _ensure_open(self) -> int:
        """Raise if closed, or if the circuit breaker is open (``BackendUnavailableError``).

        Returns the mark of the operation starting now, for ``_succeeded``.
        """
        if self._closed:
            msg = f"{type(self).__name__} is closed; create a new one to keep caching"
            raise BackendClosedError(msg)
        if self.breaker is not None:
            self.breaker.allow()
        return 0 if self._outage is None else self._outage.generation()

    @property
    def outage(self) -> OutageLog:
        """This backend's outage log: decorators report the failures they swallow to it."""
        outage = self._outage
        if outage is None:
            outage = self._outage = OutageLog(self)
        return outage

    def _succeeded(self, started: int | None = None) -> None:
        """Called after a primitive returned: closes the circuit breaker, ends a logged outage.

        ``started`` is the mark ``_ensure_open`` gave when the operation began: one that
        was already under way when the outage started does not end it.
        """
        if self.breaker is not None:
            self.breaker.record_success()
        if self._outage is not None and self._outage.down:
            self._outage.succeeded(started)

    def _failure(self, operation: str, exc: Exception) -> CacheError:
        """The ``CacheError`` to raise for a primitive that raised ``exc``; counts storage failures."""
        if isinstance(exc, CacheError):
            if isinstance(exc, BackendError) and self.breaker is not None:
                self.breaker.record_failure()
            return exc
        if self.breaker is not None:
            self.breaker.record_failure()
        where = f"{type(self).__name__}.{operation}"
        error: BackendError
        if isinstance(exc, self.timeout_errors):
            error = BackendTimeoutError(f"{where} timed out: {exc}")
        else:
            error = BackendError(f"{where} failed: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error

    # -- values and expiry ----------------------------------------------------------------

    def _encode(self, value: Any, serializer: Serializer | None = None) -> Any:
        serializer = serializer or self.serializer
        return value if serializer is None else serializer.encode(value)

    def _encode_entry(self, namespace: str, key: str, value: Any, serializer: Serializer | None = None) -> Any:
        """The payload to store for ``key``: encoded, and checked against the backend's size limits."""
        payload = self._encode(value, serializer)
        if self.max_entry_bytes is not None or self.max_key_bytes is not None:
            self._check_size(namespace, key, payload)
        return payload

    def _check_size(self, namespace: str, key: str, payload: Any) -> None:
        """Raise ``InvalidKeyError``/``ValueTooLargeError`` for an entry over ``max_key_bytes``/``max_entry_bytes``."""
        key_limit = self.max_key_bytes if self.max_key_bytes is not None else math.inf
        entry_limit = self.max_entry_bytes if self.max_entry_bytes is not None else math.inf
        value_bytes = len(payload) if isinstance(payload, (bytes, bytearray)) else 0
        key_bytes = 4 * (len(namespace) + len(key))  # UTF-8 takes at most 4 bytes per character
        if key_bytes <= key_limit and key_bytes + value_bytes <= entry_limit:
            return
        key_bytes = len(namespace.encode("utf-8", "surrogatepass")) + len(key.encode("utf-8", "surrogatepass"))
        where = type(self).__name__
        if key_bytes > key_limit:
            msg = (
                f"{where} keys take at most {key_limit:,} bytes with their namespace, this one {key_bytes:,}; "
                "hash long keys (ReprKeyMaker(max_length=...))"
            )
            raise InvalidKeyError(msg)
        if key_bytes + value_bytes > entry_limit:
            msg = (
                f"{where} stores entries of at most {entry_limit:,} bytes (namespace, key and encoded value); "
                f"this value encodes to {value_bytes:,} bytes, with {key_bytes:,} of namespace and key"
            )
            raise ValueTooLargeError(msg)

    def _expires_at(self, seconds: float | None) -> float | None:
        return None if seconds is None else self.clock.now() + seconds

    def _live_value(self, key: str, entry: Entry, serializer: Serializer | None = None) -> Any:
        """The value of ``entry``, or ``MISSING`` when it expired or cannot be decoded."""
        payload, expires_at = entry
        if expires_at is not None:
            if not isinstance(expires_at, (int, float)):  # written by something else
                logger.warning("%s: treating entry %r with expiry %r as a miss", type(self).__name__, key, expires_at)
                return MISSING
            if expires_at <= self.clock.now():
                return MISSING
        serializer = serializer or self.serializer
        if serializer is None:
            return payload
        try:
            return serializer.decode(payload)
        except DecodeError as exc:
            logger.warning("%s: treating undecodable entry %r as a miss: %s", type(self).__name__, key, exc)
            return MISSING

    def _versions(self, tags: list[str], entries: list[Entry | None]) -> dict[str, str]:
        """``{tag: version}`` from the stored version entries of ``tags`` (``""``: none, or unreadable)."""
        versions = {}
        for tag, entry in zip(tags, entries, strict=True):
            version = MISSING if entry is None else self._live_value(tag, entry)
            versions[tag] = version if isinstance(version, str) else ""
        return versions

    def _prepare_many(
        self, namespace: str, items: Mapping[Any, Any] | Iterable[tuple[Any, Any]], ttl: object
    ) -> tuple[list[tuple[str, Any]], float | None, float | None]:
        """Validate and encode a whole batch before anything is written."""
        pairs = items.items() if isinstance(items, Mapping) else items
        seconds = resolve_fixed(ttl)
        encoded = []
        for key, value in pairs:
            text = key_text(key)
            encoded.append((text, self._encode_entry(namespace, text, value)))
        return encoded, seconds, self._expires_at(seconds)

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__}{state}>"
