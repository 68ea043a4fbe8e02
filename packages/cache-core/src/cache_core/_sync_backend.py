# Generated from _async_backend.py by scripts/unasync.py. Do not edit: edit the async file and rerun.
"""``Backend``: the template every sync backend fills in.

The public methods (``get``, ``put``, ...) run the shared policy once; a backend
implements only the storage primitives (``_get``, ``_put``, ``_remove``,
``_remove_expired``, ``_clear``, and optionally ``_get_many``, ``_put_many``,
``_close``). The sync ``Backend`` is generated from this file by
``scripts/unasync.py``.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from ._errors import CacheMiss
from ._keys import key_text
from ._policy import DEFAULT_NAMESPACE, MISSING, BackendPolicy, Entry, check_namespace
from ._serializers import Serializer
from ._tags import EPOCH, TAG_NAMESPACE, check_tag_names, new_version
from ._ttl import resolve_fixed


_Self = TypeVar("_Self", bound="Backend")
_Key = TypeVar("_Key", bound="str | bytes")


class Backend(BackendPolicy, ABC):
    """Sync cache storage. Subclass it and implement the primitives (or the public methods).

    Public methods raise ``CacheMiss`` for a miss, ``BackendClosedError`` after
    ``close()``, ``InvalidTTLError``/``InvalidKeyError``/``EncodeError`` (and its
    ``ValueTooLargeError``) for bad input, and ``BackendError`` (or
    ``BackendTimeoutError``) when the storage itself fails. Bad input is caught before
    any I/O and before the circuit breaker is asked, so it never counts as a failure.

    Keys reach the primitives in their stored form (``key_text``: a ``bytes`` key never
    meets a ``str`` one). ``max_entry_bytes``/``max_key_bytes`` declare the storage's limits.

    Primitives receive checked ``str`` namespaces and keys and encoded payloads;
    ``expires_at`` is on ``self.clock``; ``ttl`` is the same duration in seconds
    for stores that expire entries themselves. Expiry on read is checked here,
    so a primitive may return an expired entry.
    """

    def __new__(cls: type[_Self], *args: Any, **kwargs: Any) -> _Self:
        from ._adapters import check_backend_class  # it imports this module

        check_backend_class(cls, Backend)
        return super().__new__(cls)

    # -- primitives: implement them, or override the public methods (``BackendAdapter``) --

    def _get(self, namespace: str, key: str) -> Entry | None:
        """Return ``(payload, expires_at)`` for the key, or ``None``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _get")

    def _get_many(self, namespace: str, keys: list[str]) -> list[Entry | None]:
        """Entries for ``keys``, in order. Override to use one round trip."""
        return [self._get(namespace, key) for key in keys]

    def _put(self, namespace: str, key: str, payload: Any, ttl: float | None, expires_at: float | None) -> None:
        """Store (replace) one entry."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _put")

    def _put_many(
        self, namespace: str, items: list[tuple[str, Any]], ttl: float | None, expires_at: float | None
    ) -> None:
        """Store several entries with one expiry. Override to use one round trip."""
        for key, payload in items:
            self._put(namespace, key, payload, ttl, expires_at)

    def _remove(self, namespace: str, key: str) -> bool:
        """Delete one entry; return whether it existed."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _remove")

    def _remove_expired(self, now: float) -> int:
        """Delete every entry with ``expires_at <= now``; return how many."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _remove_expired")

    def _clear(self, namespace: str | None) -> None:
        """Delete every entry of ``namespace``, or every entry when ``None``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _clear")

    def _close(self) -> None:
        """Release connections and files. Called once."""

    # Optional: a lock shared by every process using the same storage, for
    # ``cached(lock=True)``. Override both to offer it.

    def _acquire_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        """Take the lock of ``key`` for ``ttl`` seconds; return a token, or ``None`` if someone holds it."""
        raise NotImplementedError

    def _release_lock(self, namespace: str, key: str, token: str) -> bool:
        """Release the lock if ``token`` still holds it; return whether it did."""
        raise NotImplementedError

    # Tags: each tag's version is an entry under TAG_NAMESPACE, never expiring (see _tags.py).
    # Override these to keep versions elsewhere, or ``_get_tagged`` to read an entry and
    # its tags' versions in one round trip.

    def _get_tag_versions(self, tags: list[str]) -> list[Entry | None]:
        """The stored versions of ``tags`` (stored keys), in order; ``None`` where a tag has none."""
        return self._get_many(TAG_NAMESPACE, tags)

    def _put_tag_versions(self, items: list[tuple[str, Any]]) -> None:
        """Store ``(tag, encoded version)`` pairs, never expiring."""
        self._put_many(TAG_NAMESPACE, items, None, None)

    def _get_tagged(self, namespace: str, key: str, tags: list[str]) -> tuple[Entry | None, list[Entry | None]]:
        """The entry of ``key`` and the stored versions of ``tags``. The default makes two reads."""
        entry = self._get(namespace, key)
        return entry, (self._get_tag_versions(tags) if tags else [])

    @property
    def supports_lock(self) -> bool:
        """Whether this backend offers a cross-process lock."""
        return type(self)._acquire_lock is not Backend._acquire_lock

    # -- what decorators call ---------------------------------------------------------------

    def _lookup(self, namespace: str, key: str, serializer: Serializer | None = None) -> Any:
        """The live value for ``key`` or ``MISSING``; ``serializer`` overrides the backend's."""
        started = self._ensure_open()
        try:
            entry = self._get(namespace, key)
        except Exception as exc:
            raise self._failure("get", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        return MISSING if entry is None else self._live_value(key, entry, serializer)

    def _store(
        self, namespace: str, key: str, value: Any, ttl: float | None, serializer: Serializer | None = None
    ) -> None:
        """Encode and store ``value``; a zero TTL removes instead (nothing would be kept).

        Bad input (unencodable, over the backend's size limits) raises before the breaker is asked.
        """
        payload = self._encode_entry(namespace, key, value, serializer)
        started = self._ensure_open()
        try:
            if ttl is not None and ttl <= 0:
                self._remove(namespace, key)
            else:
                self._put(namespace, key, payload, ttl, self._expires_at(ttl))
        except Exception as exc:
            raise self._failure("put", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)

    def _lookup_tagged(
        self, namespace: str, key: str, tags: list[str], serializer: Serializer | None = None
    ) -> tuple[Any, dict[str, str]]:
        """The live value for ``key`` (or ``MISSING``) and the current versions of ``tags``, read together."""
        started = self._ensure_open()
        try:
            entry, versions = self._get_tagged(namespace, key, [key_text(tag) for tag in tags])
        except Exception as exc:
            raise self._failure("get", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        value = MISSING if entry is None else self._live_value(key, entry, serializer)
        return value, self._versions(tags, versions)

    def _tag_versions(self, tags: list[str]) -> dict[str, str]:
        """The current version of each of ``tags`` (``EPOCH`` included, if listed)."""
        started = self._ensure_open()
        try:
            versions = self._get_tag_versions([key_text(tag) for tag in tags]) if tags else []
        except Exception as exc:
            raise self._failure("get", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        return self._versions(tags, versions)

    def _try_lock(self, namespace: str, key: str, ttl: float) -> str | None:
        started = self._ensure_open()
        try:
            token = self._acquire_lock(namespace, key, ttl)
        except Exception as exc:
            raise self._failure("lock", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        return token

    def _unlock(self, namespace: str, key: str, token: str) -> bool:
        started = self._ensure_open()
        try:
            released = self._release_lock(namespace, key, token)
        except Exception as exc:
            raise self._failure("unlock", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        return released

    # -- public API -----------------------------------------------------------------------

    def get(self, key: str | bytes, *, namespace: str = DEFAULT_NAMESPACE) -> Any:
        """Return the value stored under ``key``; raise ``CacheMiss`` if there is none."""
        value = self._lookup(check_namespace(namespace), key_text(key))
        if value is MISSING:
            raise CacheMiss(key)
        return value

    def get_or_default(self, key: str | bytes, default: Any = None, *, namespace: str = DEFAULT_NAMESPACE) -> Any:
        """Return the value stored under ``key``, or ``default``."""
        value = self._lookup(check_namespace(namespace), key_text(key))
        return default if value is MISSING else value

    getOrDefault = get_or_default  # noqa: N815 - the asyncio-caches API's name

    def put(
        self, key: str | bytes, value: Any, ttl: object = None, *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        """Store ``value`` under ``key``; it expires after ``ttl`` (seconds, timedelta, (min, max) or None)."""
        seconds = resolve_fixed(ttl)
        self._store(check_namespace(namespace), key_text(key), value, seconds)

    def get_many(self, keys: Iterable[_Key], *, namespace: str = DEFAULT_NAMESPACE) -> dict[_Key, Any]:
        """Return ``{key: value}`` for the keys that have a live entry, keyed as given (``bytearray`` as ``bytes``)."""
        namespace = check_namespace(namespace)
        given = [bytes(key) if isinstance(key, (bytearray, memoryview)) else key for key in keys]
        texts = [key_text(key) for key in given]
        started = self._ensure_open()
        try:
            entries = self._get_many(namespace, texts) if texts else []
        except Exception as exc:
            raise self._failure("get_many", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        found: dict[Any, Any] = {}
        for key, text, entry in zip(given, texts, entries, strict=True):
            if entry is not None:
                value = self._live_value(text, entry)
                if value is not MISSING:
                    found[key] = value
        return found

    def put_many(
        self,
        items: Mapping[Any, Any] | Iterable[tuple[Any, Any]],
        ttl: object = None,
        *,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        """Store every ``(key, value)``; all are encoded first, so a bad value stores none."""
        namespace = check_namespace(namespace)
        encoded, seconds, expires_at = self._prepare_many(namespace, items, ttl)
        started = self._ensure_open()
        if not encoded:
            return
        try:
            if seconds is not None and seconds <= 0:
                for key, _ in encoded:
                    self._remove(namespace, key)
            else:
                self._put_many(namespace, encoded, seconds, expires_at)
        except Exception as exc:
            raise self._failure("put_many", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)

    def remove(self, key: str | bytes, *, namespace: str = DEFAULT_NAMESPACE) -> bool:
        """Delete the entry under ``key``; return whether there was one."""
        namespace, text = check_namespace(namespace), key_text(key)
        started = self._ensure_open()
        try:
            existed = self._remove(namespace, text)
        except Exception as exc:
            raise self._failure("remove", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        return existed

    def remove_expired(self) -> int:
        """Delete every expired entry now; return how many were deleted."""
        started = self._ensure_open()
        try:
            removed = self._remove_expired(self.clock.now())
        except Exception as exc:
            raise self._failure("remove_expired", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)
        return removed

    def clear(self, namespace: str | None = None) -> None:
        """Delete every entry of ``namespace``, or of every namespace when ``None``."""
        if namespace is not None:
            namespace = check_namespace(namespace)
        started = self._ensure_open()
        try:
            self._clear(namespace)
        except Exception as exc:
            raise self._failure("clear", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)

    def invalidate_tags(self, *tags: str) -> None:
        """Make every entry stored so far under any of ``tags`` a miss, for every process.

        Writes one new version per tag (and one for all tags): the cost does not depend on
        how many entries carry them, and nothing is scanned or deleted. Entries stored
        afterwards under these tags are served as usual.
        """
        names = check_tag_names(tags)
        if type(self)._put is Backend._put and type(self)._put_tag_versions is Backend._put_tag_versions:
            # Overrides the public methods instead of the primitives: write through them, as
            # the decorators do (BackendAdapter).
            from ._adapters import BackendAdapter  # it imports this module

            adapted: Any = BackendAdapter.adapt(self)
            return adapted.invalidate_tags(*names)  # type: ignore[no-any-return]
        started = self._ensure_open()
        if not names:
            return
        payload = self._encode(new_version())
        items = [(key_text(name), payload) for name in dict.fromkeys(names)]
        try:
            self._put_tag_versions([*items, (EPOCH, payload)])
        except Exception as exc:
            raise self._failure("invalidate_tags", exc)  # noqa: B904 - _failure sets __cause__
        self._succeeded(started)

    def close(self) -> None:
        """Release resources; later calls raise ``BackendClosedError``. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._close()
        except Exception as exc:
            raise self._failure("close", exc)  # noqa: B904 - _failure sets __cause__

    def __enter__(self: _Self) -> _Self:
        self._ensure_open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
