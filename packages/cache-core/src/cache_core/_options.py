"""The decorator options: declared, documented and validated once.

``cached(...)``, ``Cache(backend, **defaults)``, ``@cache(...)`` and the testing plugin
all take the same options. ``Options`` names them for type checkers (``**options:
Unpack[Options]``); ``CacheOptions`` is the validated, frozen value the call path is
built from. A test checks that the two list the same names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any, TypedDict, Union

from ._errors import InvalidTTLError
from ._keys import KeyGenerator, KeyMaker, KeyMakerFunction, check_key_options
from ._policy import DEFAULT_NAMESPACE, check_namespace
from ._serializers import Serializer, check_serializer
from ._tags import TagFunction, Tags, check_tags_option
from ._ttl import TTL, TTLPlan, ttl_plan, ttl_seconds

#: How long the cross-process lock of ``lock=True`` is held at most, in seconds.
DEFAULT_LOCK_TTL = 30.0


class Options(TypedDict, total=False):
    """The keyword options of ``cached``, ``Cache`` and ``@cache(...)``.

    Attributes:
        ttl: how long entries live: ``None``/``math.inf`` (forever), seconds, a
            ``timedelta``, a ``(min, max)`` pair for random jitter, or a callable
            ``(fn, args, kwargs, value) -> ttl``.
        namespace: the namespace entries go to; ``cache_clear()`` clears it.
        key_maker: a ``KeyMaker`` or callable ``(fn, args, kwargs) -> str | bytes``;
            default ``ReprKeyMaker``.
        keygen: a cachetoolz key generator ``(typed, func, *args, **kwargs) -> str``.
        typed: cache arguments of different types separately.
        serializer: encode values with this instead of the backend's serializer
            (with an in-memory backend: store encoded copies).
        fail_open: when the backend fails, log it and return the function's result
            (``True``), or raise the ``BackendError`` (``False``).
        lock: also single-flight across processes with the backend's lock (``True``:
            held up to 30 s; a number: that many seconds), so concurrent misses in
            several processes run the function once. Backends without a lock raise
            ``TypeError``; in-process backends need none.
        stale_while_revalidate: for this long (seconds or ``timedelta``) after an
            entry's TTL ends, a call returns the stale value at once and one refresh
            runs in the background. Needs a ``ttl``.
        stale_if_error: when recomputing an expired entry raises, return the stale
            value if it expired at most this long ago (logged); else the error propagates.
        early_refresh: ``True`` or a factor (``1.0`` is ``True``): recompute a hot entry
            shortly before it expires, with a probability that grows as expiry nears and
            with how long the function took (XFetch); one caller recomputes, the others
            keep receiving the current value.
        tags: names this function's entries carry, for ``invalidate_tags``: a sequence
            of ``str.format`` templates filled with the call's arguments by name
            (``"user:{user_id}"``), or a callable ``(fn, args, kwargs, value) ->
            Iterable[str]``. Tagged calls skip the in-process hot index.
    """

    ttl: TTL
    namespace: str
    key_maker: Union[KeyMaker, KeyMakerFunction, None]
    keygen: Union[KeyGenerator, None]
    typed: bool
    serializer: Union[Serializer, None]
    fail_open: bool
    lock: Union[bool, float]
    stale_while_revalidate: Union[float, timedelta, None]
    stale_if_error: Union[float, timedelta, None]
    early_refresh: Union[bool, float]
    tags: Tags


@dataclass(frozen=True)
class CacheOptions:
    """Validated decorator options (see ``Options`` for what each means)."""

    ttl: TTL = None
    namespace: str = DEFAULT_NAMESPACE
    key_maker: KeyMaker | KeyMakerFunction | None = None
    keygen: KeyGenerator | None = None
    typed: bool = False
    serializer: Serializer | None = None
    fail_open: bool = True
    lock: bool | float = False
    stale_while_revalidate: float | timedelta | None = None
    stale_if_error: float | timedelta | None = None
    early_refresh: bool | float = False
    tags: tuple[str, ...] | TagFunction | None = None
    #: The TTL, validated: how to resolve it per entry (derived from ``ttl``).
    ttl_plan: TTLPlan = field(init=False, repr=False, compare=False)
    #: What happens around an entry's expiry, or ``None`` (derived from the three options above).
    freshness: Freshness | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_namespace(self.namespace)
        check_key_options(key_maker=self.key_maker, keygen=self.keygen, typed=self.typed)
        check_serializer(self.serializer)
        object.__setattr__(self, "lock", check_lock(self.lock))
        if not isinstance(self.fail_open, bool):
            msg = f"fail_open must be True or False, not {self.fail_open!r}"
            raise TypeError(msg)
        object.__setattr__(self, "tags", check_tags_option(self.tags))
        object.__setattr__(self, "ttl_plan", ttl_plan(self.ttl))
        object.__setattr__(self, "freshness", freshness(self))

    @classmethod
    def of(cls, options: Mapping[str, Any], *, base: CacheOptions | None = None, what: str = "cache") -> CacheOptions:
        """Options from keywords, over ``base``'s; unknown names are a ``TypeError``."""
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            msg = f"unknown {what} option(s) {', '.join(unknown)}; expected some of {', '.join(sorted(OPTION_NAMES))}"
            raise TypeError(msg)
        if base is None:
            return cls(**options)
        return replace(base, **options) if options else base

    @property
    def lock_seconds(self) -> float | None:
        """How long the cross-process lock is held at most, or ``None`` without ``lock``."""
        if self.lock is False:
            return None
        return DEFAULT_LOCK_TTL if self.lock is True else float(self.lock)


OPTION_NAMES: frozenset[str] = frozenset(option.name for option in fields(CacheOptions) if option.init)


@dataclass(frozen=True)
class Freshness:
    """The freshness options, validated, in seconds (0: off).

    Attributes:
        stale_while_revalidate: serve a stale value this long after the TTL, refreshing it.
        stale_if_error: serve a stale value this long after the TTL when recomputing fails.
        early_refresh: the XFetch factor (beta); 0 for no early refresh.
    """

    stale_while_revalidate: float = 0.0
    stale_if_error: float = 0.0
    early_refresh: float = 0.0

    @property
    def window(self) -> float:
        """How long an entry is kept after its TTL ends: its physical expiry is TTL + window."""
        return max(self.stale_while_revalidate, self.stale_if_error)


def freshness(options: CacheOptions) -> Freshness | None:
    """Validate the freshness options of ``options``; ``None`` when none is used."""
    swr = _window(options.stale_while_revalidate, "stale_while_revalidate")
    sie = _window(options.stale_if_error, "stale_if_error")
    early = options.early_refresh
    if isinstance(early, bool):
        beta = 1.0 if early else 0.0
    elif isinstance(early, (int, float)) and math.isfinite(early) and early > 0:
        beta = float(early)
    else:
        msg = f"early_refresh must be True, False or a positive factor, not {early!r}"
        raise ValueError(msg)
    if not (swr or sie or beta):
        return None
    if options.ttl_plan.seconds is None and options.ttl_plan.per_entry is None:
        msg = "stale_while_revalidate, stale_if_error and early_refresh need a finite ttl"
        raise ValueError(msg)
    return Freshness(swr, sie, beta)


def _window(value: object, name: str) -> float:
    if value is None:
        return 0.0
    seconds = ttl_seconds(value, what=name)
    if seconds is None:
        msg = f"{name} must be a finite number of seconds or a timedelta, not {value!r}"
        raise InvalidTTLError(msg)
    return seconds


def check_lock(lock: object) -> bool | float:
    if isinstance(lock, bool):
        return lock
    if isinstance(lock, (int, float)) and lock > 0:
        return float(lock)
    msg = f"lock must be True, False or a positive number of seconds, not {lock!r}"
    raise ValueError(msg)
