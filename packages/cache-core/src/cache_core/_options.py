"""The decorator options: declared, documented and validated once.

``cached(...)``, ``Cache(backend, **defaults)``, ``@cache(...)`` and the testing plugin
all take the same options. ``Options`` names them for type checkers (``**options:
Unpack[Options]``); ``CacheOptions`` is the validated, frozen value the call path is
built from. A test checks that the two list the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypedDict, Union

from ._keys import KeyGenerator, KeyMaker, KeyMakerFunction, check_key_options
from ._policy import DEFAULT_NAMESPACE, check_namespace
from ._serializers import Serializer
from ._ttl import TTL, TTLPlan, ttl_plan

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
    """

    ttl: TTL
    namespace: str
    key_maker: Union[KeyMaker, KeyMakerFunction, None]
    keygen: Union[KeyGenerator, None]
    typed: bool
    serializer: Union[Serializer, None]
    fail_open: bool
    lock: Union[bool, float]


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
    #: The TTL, validated: how to resolve it per entry (derived from ``ttl``).
    ttl_plan: TTLPlan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_namespace(self.namespace)
        check_key_options(key_maker=self.key_maker, keygen=self.keygen, typed=self.typed)
        check_serializer(self.serializer)
        object.__setattr__(self, "lock", check_lock(self.lock))
        if not isinstance(self.fail_open, bool):
            msg = f"fail_open must be True or False, not {self.fail_open!r}"
            raise TypeError(msg)
        object.__setattr__(self, "ttl_plan", ttl_plan(self.ttl))

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


def check_lock(lock: object) -> bool | float:
    if isinstance(lock, bool):
        return lock
    if isinstance(lock, (int, float)) and lock > 0:
        return float(lock)
    msg = f"lock must be True, False or a positive number of seconds, not {lock!r}"
    raise ValueError(msg)


def check_serializer(serializer: object) -> None:
    if serializer is not None and not (
        callable(getattr(serializer, "encode", None)) and callable(getattr(serializer, "decode", None))
    ):
        msg = f"serializer must have encode() and decode() methods, not {type(serializer).__qualname__}"
        raise TypeError(msg)
