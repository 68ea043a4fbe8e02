"""cache-core: one decorator for sync and async functions, backend ABCs, in-memory backends."""

from __future__ import annotations

from ._adapters import BackendAdapter
from ._async_backend import AsyncBackend
from ._breaker import BackendUnavailableError, CircuitBreaker
from ._clock import Clock, SystemClock
from ._coder import Coder, JsonSerializer, coder, decoder, encoder
from ._decorator import AsyncCachedFunction, CachedFunction, CacheInfo, cached, cached_many
from ._errors import (
    BackendClosedError,
    BackendError,
    BackendTimeoutError,
    CacheError,
    CacheMiss,
    DecodeError,
    EncodeError,
    InvalidKeyError,
    InvalidTTLError,
    SerializationError,
    ValueTooLargeError,
)
from ._front import Cache, cache, set_default_backend
from ._keys import KeyGenerator, KeyMaker, ReprKeyMaker
from ._loops import LoopLocal, SharedState
from ._memory import AsyncInMemory, DictCache, InMemory, SyncDictCache
from ._options import CacheOptions, Options
from ._policy import DEFAULT_NAMESPACE, MISSING, Entry
from ._serializers import PickleSerializer, Serializer
from ._sync_backend import Backend
from ._tags import TAG_NAMESPACE, TagFunction
from ._ttl import MAX_TTL, TTL

__version__: str


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("cache-core")
        except PackageNotFoundError:  # running from a source tree
            from .__about__ import __version__

            return __version__
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "DEFAULT_NAMESPACE",
    "MAX_TTL",
    "MISSING",
    "TAG_NAMESPACE",
    "TTL",
    "AsyncBackend",
    "AsyncCachedFunction",
    "AsyncInMemory",
    "Backend",
    "BackendAdapter",
    "BackendClosedError",
    "BackendError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "Cache",
    "CacheError",
    "CacheInfo",
    "CacheMiss",
    "CacheOptions",
    "CachedFunction",
    "CircuitBreaker",
    "Clock",
    "Coder",
    "DecodeError",
    "DictCache",
    "EncodeError",
    "Entry",
    "InMemory",
    "InvalidKeyError",
    "InvalidTTLError",
    "JsonSerializer",
    "KeyGenerator",
    "KeyMaker",
    "LoopLocal",
    "Options",
    "PickleSerializer",
    "ReprKeyMaker",
    "SerializationError",
    "Serializer",
    "SharedState",
    "SyncDictCache",
    "SystemClock",
    "TagFunction",
    "ValueTooLargeError",
    "cache",
    "cached",
    "cached_many",
    "coder",
    "decoder",
    "encoder",
    "set_default_backend",
]
