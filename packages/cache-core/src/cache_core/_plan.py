"""The call plan: every decision of a decorated function's calls, free of I/O.

One ``CallPlan`` per decorated function holds what was decided at decoration (the
key plan, the TTL plan, the options) and decides what the call path asks: which
storage paths a backend offers (``bind``), how long an entry lives (``ttl``), what a
backend failure does (``failed``: raise, or count and log it), and how a cross-process
lock is waited for (``lock_pauses``). The drivers that do the I/O are
``_async_caller.AsyncCaller`` and its generated twin ``_sync_caller.SyncCaller``.
"""

from __future__ import annotations

import enum
import inspect
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from ._errors import BackendError
from ._keys import KeyPlan, key_plan
from ._memory import HotIndex, LocalStorage, NearStorage
from ._options import CacheOptions
from ._policy import BackendPolicy
from ._storage import AnyBackend, sync_view
from ._tags import TagPlan, tag_plan
from ._telemetry import Telemetry, for_plan, observed

StorageT = TypeVar("StorageT")

#: Marks a stored freshness envelope: ``(ENVELOPE, value, fresh_until, seconds it took)``.
#: A string, so that every serializer keeps it.
ENVELOPE: Final = "cache-core:fresh:1"


class Verdict(enum.Enum):
    """What a read value means for the call (see ``CallPlan.judge``)."""

    FRESH = "fresh"  # return it
    REFRESH_EARLY = "refresh early"  # return it, and refresh it in the background
    STALE = "stale"  # past its TTL, within stale_while_revalidate: return it, refresh it
    STALE_IF_ERROR = "stale if error"  # recompute; return it only if that fails
    EXPIRED = "expired"  # recompute


FRESH, REFRESH_EARLY, STALE, STALE_IF_ERROR, EXPIRED = Verdict

_LOCK_POLL_START = 0.01
_LOCK_POLL_MAX = 0.25


@dataclass(frozen=True)
class Binding(Generic[StorageT]):
    """What one decorated function uses of the backend it is bound to; rebuilt when that changes.

    Attributes:
        backend: the backend.
        storage: its namespace, through the template (``AsyncStorage``/``SyncStorage``).
        read, write: in-process storage read and written directly (no await, no
            template), or ``None``.
        index: the hot index over in-process storage (of limit 0 where calls are not
            answered from it: it still reaches the entries), or over a near copy; or ``None``.
        lock_seconds: hold the cross-process lock this long on a miss, or ``None``.
    """

    backend: AnyBackend
    storage: StorageT
    read: Callable[[str], Any] | None
    write: Callable[[str, Any, float | None], None] | None
    index: HotIndex | None
    lock_seconds: float | None


class CallPlan:
    """The decisions for one decorated function (see the module docstring)."""

    __slots__ = (
        "errors",
        "fn",
        "freshness",
        "hits",
        "is_async",
        "keys",
        "misses",
        "namespace",
        "options",
        "stale",
        "tags",
        "telemetry",
        "ttl",
    )

    def __init__(self, fn: Callable[..., Any], options: CacheOptions) -> None:
        self.fn = fn
        self.options = options
        self.is_async = inspect.iscoroutinefunction(fn)
        self.keys: KeyPlan = key_plan(fn, key_maker=options.key_maker, keygen=options.keygen, typed=options.typed)
        self.ttl = options.ttl_plan
        self.namespace = options.namespace
        self.freshness = options.freshness
        self.tags: TagPlan | None = tag_plan(fn, options.tags)
        # Hits answered by a compiled wrapper's hot index are counted in the wrapper; these here.
        self.hits = self.misses = self.errors = self.stale = 0
        self.telemetry: Telemetry | None = for_plan(self)  # None while telemetry is off: see _telemetry

    def check_mode(self, backend: AnyBackend) -> None:
        """Raise ``TypeError`` if this function cannot use ``backend`` (sync function, async-only backend)."""
        if not self.is_async:
            check_sync_capable(self.fn, backend)

    def bind(self, backend: AnyBackend, storage: StorageT) -> Binding[StorageT]:
        """How calls reach ``backend``: in-process storage directly, anything else through ``storage``."""
        if self.telemetry is not None:
            storage = observed(storage, self.telemetry)
        # Tagged entries are read with their tags' versions through the template; the hot
        # index, which answers without reading, could serve an invalidated entry.
        local = sync_view(backend) if self.options.serializer is None and self.tags is None else None
        if not isinstance(local, LocalStorage):
            local = None
        # In-process storage is covered by in-process single flight; others lock if asked.
        lock_seconds = self.options.lock_seconds if backend.nonblocking is None else None
        if lock_seconds is not None and not backend.supports_lock:
            msg = f"{type(backend).__name__} offers no cross-process lock; drop lock= or use a backend that has one"
            raise TypeError(msg)
        # Early refresh decides on every hit, so its hits all go through the caller.
        limit = 0 if self.freshness is not None and self.freshness.early_refresh else self.keys.hot_limit
        if local is None:
            # A near cache (remote storage with a coherent in-process copy) answers hits
            # from a hot index too, under the same conditions as in-process storage.
            near = None
            if limit and self.options.serializer is None and self.tags is None and isinstance(backend, NearStorage):
                near = backend.near_index(self.namespace, limit)
            return Binding(backend, storage, None, None, near, lock_seconds)
        index = local.hot_index(self.namespace, limit)
        return Binding(backend, storage, local.reader(self.namespace), local.writer(self.namespace), index, None)

    def failed(self, backend: AnyBackend, exc: BackendError, where: str) -> None:
        """Fail-open: count and log a backend failure, or re-raise it when asked to."""
        if not self.options.fail_open:
            raise exc
        self.errors += 1
        if isinstance(backend, BackendPolicy):
            backend.outage.failed(exc, where)

    def stored(self, value: Any, seconds: float | None, now: float, duration: float) -> tuple[Any, float | None]:
        """What to store for ``value`` computed in ``duration`` seconds, and for how long.

        Without freshness options, the value itself for its TTL. With them, an envelope
        that also says until when the value is fresh and how long it took, kept for the
        TTL plus the stale window.
        """
        freshness = self.freshness
        if freshness is None or seconds is None:
            return value, seconds
        return (ENVELOPE, value, now + seconds, duration), seconds + freshness.window

    def judge(self, stored: Any, now: float) -> tuple[Any, Verdict, float]:
        """The value in what was read, what to do with it, and until when it is fresh."""
        freshness = self.freshness
        if freshness is None or type(stored) is not tuple or len(stored) != 4 or stored[0] != ENVELOPE:
            return stored, FRESH, math.inf  # no envelope: fresh for as long as it is kept
        _, value, fresh_until, duration = stored
        if now < fresh_until:
            beta = freshness.early_refresh
            # XFetch: recompute early with a probability that grows as expiry nears and
            # with how long the function took.
            if beta and now - duration * beta * math.log(random.random() or 1e-300) >= fresh_until:  # noqa: S311
                return value, REFRESH_EARLY, fresh_until
            return value, FRESH, fresh_until
        late = now - fresh_until
        if late < freshness.stale_while_revalidate:
            return value, STALE, fresh_until
        if late <= freshness.stale_if_error:
            return value, STALE_IF_ERROR, fresh_until
        return value, EXPIRED, fresh_until

    @staticmethod
    def lock_pauses(lock_seconds: float) -> Iterator[float]:
        """The pauses between attempts to take a held lock, growing, for as long as waiting makes sense.

        The holder's lock expires after ``lock_seconds``; then exactly one waiter takes
        it over (taking it is atomic) while the others keep waiting for its value. Only
        if that one fails too, after twice the lock's life, do waiters stop and compute.
        """
        pause, waited = _LOCK_POLL_START, 0.0
        while waited < 2 * lock_seconds + _LOCK_POLL_MAX:
            yield pause
            waited += pause
            pause = min(pause * 2, _LOCK_POLL_MAX)


def check_sync_capable(fn: Callable[..., Any], backend: AnyBackend) -> None:
    """Raise ``TypeError`` naming the sync class to use if a sync ``fn`` cannot use ``backend``."""
    if sync_view(backend) is not None:
        return
    name = getattr(fn, "__qualname__", repr(fn))
    hint = backend.sync_alternative or "a sync Backend"
    msg = f"{name} is a sync function but {type(backend).__name__} is async-only; use {hint} for sync functions"
    raise TypeError(msg)
