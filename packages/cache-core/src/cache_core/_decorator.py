"""``cached``: one decorator for ``def`` and ``async def``.

The path of a call: the key function (chosen once, at decoration) turns the
arguments into a key; the backend's ``_lookup`` returns the live value or
``MISSING``; a hit returns at once. A miss joins a call already computing the
same key (single flight) or computes it, resolves the TTL, stores the result
with ``_store`` and returns it. Backend failures on that path are logged and
swallowed (fail-open) unless ``fail_open=False``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import time
import weakref
from asyncio import get_running_loop
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from threading import get_ident
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Protocol,
    TypeVar,
    Union,
    overload,
)

from ._adapters import BackendAdapter
from ._async_backend import AsyncBackend
from ._compiled import _NO_KWARGS, DONE, ERROR, THREAD, VALUE, WAITED, compile_wrapper, positional_parameters
from ._errors import BackendError
from ._keys import (
    MEMO_TYPES,
    KeyFunction,
    KeyGenerator,
    KeyMaker,
    KeyMakerFunction,
    check_key_options,
    key_function,
    memoizable,
)
from ._policy import DEFAULT_NAMESPACE, MISSING, BackendPolicy, check_namespace
from ._serializers import Serializer
from ._sync_backend import Backend
from ._ttl import TTL, TTLResolver, ttl_resolver

if TYPE_CHECKING:
    from typing_extensions import ParamSpec
else:
    try:
        from typing import ParamSpec
    except ImportError:  # pragma: no cover - Python < 3.10 is not supported
        ParamSpec = TypeVar

logger = logging.getLogger("cache_core")

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)
T_co = TypeVar("T_co", covariant=True)
R = TypeVar("R")
T = TypeVar("T")
_Self = TypeVar("_Self")

AnyBackend = Union[AsyncBackend, Backend]

_FOUND = object()  # take_lock: another process stored the value while we waited
_LOCK_POLL_START = 0.01
_LOCK_POLL_MAX = 0.25
_DEFAULT_LOCK_TTL = 30.0


@dataclass(frozen=True)
class CacheInfo:
    """Counters of one decorated function since decoration or ``cache_clear()``.

    Attributes:
        hits: calls answered from the cache.
        misses: calls that ran the function or waited for a concurrent run of it.
        errors: backend failures swallowed by fail-open.
    """

    __slots__ = ("errors", "hits", "misses")
    hits: int
    misses: int
    errors: int


class CachedFunction(Protocol[P, R_co]):
    """A sync function decorated by ``cached``: same signature, plus cache controls."""

    @property
    def __wrapped__(self) -> Callable[P, R_co]: ...

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def cache_info(self) -> CacheInfo:
        """Hits, misses and swallowed errors."""

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Remove the entry of this call; return whether there was one."""

    def cache_clear(self) -> None:
        """Clear this function's namespace and reset its counters."""

    @overload
    def __get__(self: _Self, instance: None, owner: type[Any] | None = None) -> _Self: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Callable[..., R_co]: ...


class AsyncCachedFunction(Protocol[P, T_co]):
    """An ``async def`` decorated by ``cached``: same signature, plus cache controls."""

    @property
    def __wrapped__(self) -> Callable[P, Awaitable[T_co]]: ...

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T_co]: ...

    def cache_info(self) -> CacheInfo:
        """Hits, misses and swallowed errors."""

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, bool]:
        """Remove the entry of this call; return whether there was one."""

    def cache_clear(self) -> Coroutine[Any, Any, None]:
        """Clear this function's namespace and reset its counters."""

    @overload
    def __get__(self: _Self, instance: None, owner: type[Any] | None = None) -> _Self: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Callable[..., Coroutine[Any, Any, T_co]]: ...


class Decorator(Protocol):
    """What ``cached(...)`` with options returns."""

    @overload
    def __call__(self, fn: Callable[P, Awaitable[T]], /) -> AsyncCachedFunction[P, T]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[P, R], /) -> CachedFunction[P, R]: ...


class _Outages:
    """Logs a backend outage once when it starts and once when it ends, not per call."""

    def __init__(self) -> None:
        self._down: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
        self.active = 0  # backends currently down; checked on every store, so a plain int

    def failed(self, backend: object, exc: BaseException, where: str) -> None:
        count = self._down.get(backend)
        if count is None:
            logger.warning("cache backend %r failed in %s; serving uncached results: %s", backend, where, exc)
            self._down[backend] = 1
            self.active = len(self._down)
            if isinstance(backend, BackendPolicy):  # so that a hit, too, ends the outage
                backend._recovered = self.succeeded
        else:
            self._down[backend] = count + 1
            logger.debug("cache backend %r still failing in %s: %s", backend, where, exc)

    def succeeded(self, backend: object) -> None:
        if self.active:
            count = self._down.pop(backend, None)
            self.active = len(self._down)
            if count is not None:
                if isinstance(backend, BackendPolicy):
                    backend._recovered = None
                logger.warning("cache backend %r works again after %d failed operations", backend, count)


outages = _Outages()


_PER_CALL: Any = object()  # fixed_ttl when the TTL is resolved per call
_TAKE_OVER: Any = object()  # ajoin: the task computing the value was cancelled


class Slot:
    """The backend a group of decorated functions caches in; changing it re-points them all.

    Every live slot is listed in ``Slot.instances``, which the testing plugin uses to
    isolate or disable caching for all decorated functions at once.
    """

    instances: ClassVar[weakref.WeakSet[Slot]] = weakref.WeakSet()

    def __init__(self, backend: AnyBackend) -> None:
        self._backend = check_backend(backend)
        self._members: weakref.WeakSet[_State] = weakref.WeakSet()
        Slot.instances.add(self)

    @property
    def backend(self) -> AnyBackend:
        return self._backend

    @backend.setter
    def backend(self, backend: AnyBackend) -> None:
        backend = check_backend(backend)
        for state in list(self._members):
            state.check_mode(backend)
        self._backend = backend
        for state in list(self._members):
            state.bind(backend)

    def attach(self, state: _State) -> None:
        state.check_mode(self._backend)
        state.bind(self._backend)
        self._members.add(state)
        state.slot = self

    def __len__(self) -> int:
        """Decorated functions bound to this slot."""
        return len(self._members)


def check_sync_capable(fn: Callable[..., Any], backend: AnyBackend) -> None:
    """Raise ``TypeError`` naming the sync class to use if a sync ``fn`` cannot use ``backend``."""
    if isinstance(backend, Backend) or backend.nonblocking is not None:
        return
    name = getattr(fn, "__qualname__", repr(fn))
    hint = backend.sync_alternative or "a sync Backend"
    msg = f"{name} is a sync function but {type(backend).__name__} is async-only; use {hint} for sync functions"
    raise TypeError(msg)


def check_backend(backend: object) -> AnyBackend:
    """The backend to bind: ours as they are, any other kind adapted (``TypeError`` if it can't be)."""
    if not isinstance(backend, (AsyncBackend, Backend)):
        inner = getattr(backend, "backend", None)
        if isinstance(inner, (AsyncBackend, Backend)):  # a Cache front passed as cache=
            return inner
    return BackendAdapter.adapt(backend)


class _State:
    """Everything one decorated function needs per call, precomputed."""

    __slots__ = (
        "__weakref__",
        "aread",
        "awrite",
        "backend",
        "cond",
        "errors",
        "fail_open",
        "fixed_ttl",
        "flights",
        "fn",
        "found",
        "hits",
        "index",
        "index_limit",
        "is_async",
        "key",
        "lock",
        "lock_ttl",
        "misses",
        "namespace",
        "on_bind",
        "read",
        "serializer",
        "slot",
        "ttl",
        "write",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        key: KeyFunction,
        ttl: TTLResolver,
        namespace: str,
        serializer: Serializer | None,
        fail_open: bool,
        lock: bool | float,
    ) -> None:
        self.fn = fn
        self.lock = lock
        self.lock_ttl: float | None = None
        self.found: Any = None
        self.is_async = inspect.iscoroutinefunction(fn)
        self.key = key
        self.ttl = ttl
        self.fixed_ttl: Any = getattr(ttl, "seconds", _PER_CALL)
        self.namespace = namespace
        self.serializer = serializer
        self.fail_open = fail_open
        # Hits answered by a wrapper's hot index are counted in its closure; these here.
        self.hits = self.misses = self.errors = 0
        self.flights: dict[str, Any] = {}
        self.cond = threading.Condition(threading.Lock())  # sync waiters of any flight
        # A hot index needs a key that depends on the arguments only: the default key maker's.
        memo = getattr(key, "memo", None)
        self.index_limit: int = getattr(key, "memo_limit", 0) if isinstance(memo, dict) else 0
        self.index: Any = None
        self.backend: AnyBackend | None = None
        self.slot: Slot | None = None
        self.on_bind: Callable[[], None] | None = None
        self.read: Callable[[str], Any] | None = None
        self.write: Callable[..., Any] | None = None
        self.aread: Callable[[str], Awaitable[Any]] | None = None
        self.awrite: Callable[[str, Any, float | None], Awaitable[Any]] | None = None

    def check_mode(self, backend: AnyBackend) -> None:
        if not self.is_async:
            check_sync_capable(self.fn, backend)

    def bind(self, backend: AnyBackend) -> None:
        sync_view = backend if isinstance(backend, Backend) else backend.nonblocking
        self.backend = backend
        # In-process storage is covered by in-process single flight; others lock if asked.
        wants_lock = self.lock is not False and backend.nonblocking is None
        if wants_lock and not backend.supports_lock:
            msg = f"{type(backend).__name__} offers no cross-process lock; drop lock= or use a backend that has one"
            raise TypeError(msg)
        self.lock_ttl = (_DEFAULT_LOCK_TTL if self.lock is True else float(self.lock)) if wants_lock else None
        namespace, serializer = self.namespace, self.serializer
        self.index = None
        if sync_view is not None:
            reader = writer = None
            if serializer is None:
                reader, writer = sync_view._reader(namespace), sync_view._writer(namespace)
                if self.index_limit:
                    self.index = sync_view._index(namespace, self.index_limit)
            self.read = reader or functools.partial(sync_view._lookup, namespace, serializer=serializer)
            self.write = writer or functools.partial(sync_view._store, namespace, serializer=serializer)
            self.aread = self.awrite = None
        else:
            assert isinstance(backend, AsyncBackend)  # noqa: S101 - check_backend allows only the two kinds
            self.read = self.write = None
            self.aread = functools.partial(backend._lookup, namespace, serializer=serializer)
            self.awrite = functools.partial(backend._store, namespace, serializer=serializer)
        if self.on_bind is not None:
            self.on_bind()

    def swallow(self, exc: BackendError, where: str) -> None:
        """Fail-open: count and log a backend failure, or re-raise it when asked to."""
        if not self.fail_open:
            raise exc
        self.errors += 1
        outages.failed(self.backend, exc, where)

    # -- sync miss path --------------------------------------------------------------------

    def fetch(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], hot: Any = MISSING) -> Any:
        """Sync: the cached value of ``key``, or the function's result, computed once and stored.

        However many threads miss ``key`` at once, one runs the function and the others
        wait for its outcome. ``hot`` is the call's hot-index key, or ``MISSING``: a hit
        puts it in the hot index, so an entry is indexed from its second use (a key used
        once costs the index nothing). Compiled wrappers run the common in-process miss
        themselves (``_compiled._SYNC_MISS``, this method's miss written out): change both.
        """
        index = self.index
        try:  # not in the namespace dict: a sure miss, known without a call
            value = MISSING if index is not None and key not in index.space else self.read(key)  # type: ignore[misc]
        except BackendError as exc:
            self.swallow(exc, "get")
            value = MISSING
        if value is not MISSING:
            self.hits += 1
            if hot is not MISSING and index is not None:
                self.remember(hot, key, value)
            return value
        self.misses += 1
        # dict.setdefault and dict.pop are atomic: registering and retiring a flight
        # needs no lock of its own.
        flight = [get_ident(), False, None, None, False]
        running = self.flights.setdefault(key, flight)
        if running is not flight:
            return self.join(running, args, kwargs)
        try:
            if self.lock_ttl is not None:
                flight[VALUE] = value = self.produce_locked(key, args, kwargs)
                return value
            flight[VALUE] = value = self.fn(*args, **kwargs) if kwargs else self.fn(*args)
            # Performance over tidiness: keep() inlined, as this is every miss.
            seconds = self.fixed_ttl
            if seconds is _PER_CALL:
                seconds = self.ttl(self.fn, args, kwargs or {}, value)
            try:
                self.write(key, value, seconds)  # type: ignore[misc]
            except BackendError as exc:
                self.swallow(exc, "put")
                return value
            if outages.active:
                outages.succeeded(self.backend)
            return value
        except BaseException as exc:
            flight[ERROR] = exc
            raise
        finally:
            del self.flights[key]  # only the leader retires, and only its own flight
            flight[DONE] = True  # after the value or error: a waiter reads them once it sees this
            if flight[WAITED]:
                self.wake()

    def wake(self) -> None:
        """Wake the threads waiting for a flight that is done."""
        with self.cond:
            self.cond.notify_all()

    def join(self, flight: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Wait for another thread's run of the same key and share its outcome."""
        if flight[THREAD] == get_ident():  # the same thread recursing on its own key
            return self.fn(*args, **kwargs)
        with self.cond:
            flight[WAITED] = True  # before reading done: the leader reads them the other way round
            while not flight[DONE]:
                self.cond.wait()
        if flight[ERROR] is not None:
            raise flight[ERROR]
        return flight[VALUE]

    def produce_locked(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the function and store its result under the cross-process lock."""
        backend = self.backend
        assert isinstance(backend, Backend)  # noqa: S101 - lock_ttl is only set for lockable sync backends
        token = self.take_lock(lambda: backend._try_lock(self.namespace, key, self.lock_ttl), key, time.sleep)  # type: ignore[arg-type]
        if token is _FOUND:
            return self.found
        try:
            value = self.fn(*args, **kwargs)
            self.keep(key, args, kwargs, value)
            return value
        finally:
            if token is not None:  # None: no lock to be had, so computed without one
                try:
                    backend._unlock(self.namespace, key, token)
                except BackendError as exc:
                    self.swallow(exc, "unlock")

    def take_lock(self, acquire: Callable[[], Any], key: str, sleep: Callable[[float], Any]) -> Any:
        """Sync: the lock token, ``_FOUND`` (another process stored the value meanwhile) or ``None``."""
        deadline = time.monotonic() + self.lock_ttl  # type: ignore[operator]
        pause = _LOCK_POLL_START
        while True:
            try:
                token = acquire()
            except BackendError as exc:
                self.swallow(exc, "lock")
                return None
            if token is not None:
                if self.peek(key):
                    self.release_after_found(key, token)
                    return _FOUND
                return token
            sleep(pause)
            pause = min(pause * 2, _LOCK_POLL_MAX)
            if self.peek(key):
                return _FOUND
            if time.monotonic() > deadline + _LOCK_POLL_MAX:
                return None  # the holder's lock should have expired by now; compute anyway

    def peek(self, key: str) -> bool:
        """Sync: look the key up again; keep the value in ``self.found`` when it is there."""
        try:
            value = self.read(key)  # type: ignore[misc]
        except BackendError as exc:
            self.swallow(exc, "get")
            return False
        if value is MISSING:
            return False
        self.found = value
        return True

    def release_after_found(self, key: str, token: str) -> None:
        backend = self.backend
        try:
            backend._unlock(self.namespace, key, token)  # type: ignore[union-attr]
        except BackendError as exc:
            self.swallow(exc, "unlock")

    def keep(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> None:
        """Sync: resolve the TTL and store ``value``, failing open."""
        seconds = self.ttl(self.fn, args, kwargs or {}, value)
        try:
            self.write(key, value, seconds)  # type: ignore[misc]
        except BackendError as exc:
            self.swallow(exc, "put")
        else:
            if outages.active:
                outages.succeeded(self.backend)

    def remember(self, hot: Any, key: str, value: Any) -> None:
        """Put ``hot -> value`` in the hot index, unless a write to ``key`` raced with it.

        The backend empties the index after every change to an indexable entry, so an
        entry added before such a change is emptied with it, and one added after it is
        caught here, reading the namespace back.
        """
        index = self.index
        if len(index) >= index.limit:
            index.clear()
        index[hot] = value
        if index.space.get(key, MISSING) is not value or key in index.expiry:
            index.pop(hot, None)

    # -- async miss path -------------------------------------------------------------------

    async def afetch(  # noqa: PLR0912, PLR0915 - every miss runs it: inlined on purpose
        self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], hot: Any = MISSING
    ) -> Any:
        """Async: the cached value of ``key``, or the function's result, computed once and stored.

        However many tasks miss ``key`` at once, one runs the function and the others
        await its outcome; if that one is cancelled, a waiter takes over. Compiled
        wrappers run the common in-process miss themselves (``_compiled._ASYNC_MISS``,
        this method's miss written out): change both.
        """
        index = self.index
        try:
            if index is not None and key not in index.space:  # a sure miss, known without a call
                value = MISSING
            elif self.read is not None:  # in-process storage: no await
                value = self.read(key)
            else:
                value = await self.aread(key)  # type: ignore[misc]
        except BackendError as exc:
            self.swallow(exc, "get")
            value = MISSING
        if value is not MISSING:
            self.hits += 1
            if hot is not MISSING and index is not None:
                self.remember(hot, key, value)
            return value
        self.misses += 1
        loop = get_running_loop()
        running = self.flights.get(key)
        while running is not None and running[0] is loop:
            outcome = await self.ajoin(running)
            if outcome is not _TAKE_OVER:
                return outcome
            running = self.flights.get(key)
        flight: list[Any] = [loop, None]  # [loop, future]: made by the first task that waits
        self.flights[key] = flight
        try:
            if self.lock_ttl is not None:
                value = await self.aproduce_locked(key, args, kwargs)
            else:
                value = await (self.fn(*args, **kwargs) if kwargs else self.fn(*args))
                if self.write is None:
                    await self.akeep(key, args, kwargs, value)
                else:  # in-process storage: keep() inlined, as this is every miss
                    seconds = self.fixed_ttl
                    if seconds is _PER_CALL:
                        seconds = self.ttl(self.fn, args, kwargs or {}, value)
                    try:
                        self.write(key, value, seconds)
                    except BackendError as exc:
                        self.swallow(exc, "put")
                    else:
                        if outages.active:
                            outages.succeeded(self.backend)
        except BaseException as exc:
            if flight[1] is not None:
                self.afailed(flight, exc)
            raise
        else:
            if flight[1] is not None:
                flight[1].set_result(value)
            return value
        finally:
            if self.flights.get(key) is flight:
                del self.flights[key]

    @staticmethod
    def afailed(flight: list[Any], exc: BaseException) -> None:
        """Pass the computing task's exception to the tasks awaiting its flight (cancelled: they take over)."""
        if isinstance(exc, asyncio.CancelledError):
            flight[1].cancel()
        else:
            flight[1].set_exception(exc)
            flight[1].exception()  # retrieved: no "never retrieved" warning

    async def ajoin(self, flight: list[Any]) -> Any:
        """Await another task's run of the same key; ``_TAKE_OVER`` if that task was cancelled."""
        waiting = flight[1]
        if waiting is None:
            waiting = flight[1] = flight[0].create_future()
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            cancelling = getattr(task, "cancelling", None)
            if not waiting.cancelled() or (cancelling is not None and cancelling()):
                raise
            return _TAKE_OVER  # the computing task was cancelled, not this one

    async def aproduce_locked(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the coroutine function and store its result under the cross-process lock."""
        backend = self.backend
        token = await self.atake_lock(backend, key)  # type: ignore[arg-type]
        if token is _FOUND:
            return self.found
        try:
            value = await self.fn(*args, **kwargs)
            await self.akeep(key, args, kwargs, value)
            return value
        finally:
            if token is not None:
                await self.aunlock(backend, key, token)  # type: ignore[arg-type]

    async def aunlock(self, backend: AnyBackend, key: str, token: str) -> None:
        try:
            released = backend._unlock(self.namespace, key, token)
            if inspect.isawaitable(released):
                await released
        except BackendError as exc:
            self.swallow(exc, "unlock")

    async def atake_lock(self, backend: AnyBackend, key: str) -> Any:
        """Async: the lock token, ``_FOUND`` (another process stored the value meanwhile) or ``None``."""
        deadline = time.monotonic() + self.lock_ttl  # type: ignore[operator]
        pause = _LOCK_POLL_START
        while True:
            try:
                token = backend._try_lock(self.namespace, key, self.lock_ttl)  # type: ignore[arg-type]
                if inspect.isawaitable(token):
                    token = await token
            except BackendError as exc:
                self.swallow(exc, "lock")
                return None
            if token is not None:
                if await self.apeek(key):
                    await self.aunlock(backend, key, token)
                    return _FOUND
                return token
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LOCK_POLL_MAX)
            if await self.apeek(key):
                return _FOUND
            if time.monotonic() > deadline + _LOCK_POLL_MAX:
                return None  # the holder's lock should have expired by now; compute anyway

    async def apeek(self, key: str) -> bool:
        try:
            if self.read is not None:
                value = self.read(key)
            else:
                value = await self.aread(key)  # type: ignore[misc]
        except BackendError as exc:
            self.swallow(exc, "get")
            return False
        if value is MISSING:
            return False
        self.found = value
        return True

    async def akeep(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> None:
        """Async: resolve the TTL and store ``value``, failing open."""
        seconds = self.ttl(self.fn, args, kwargs or {}, value)
        try:
            if self.write is not None:
                self.write(key, value, seconds)
            else:
                await self.awrite(key, value, seconds)  # type: ignore[misc]
        except BackendError as exc:
            self.swallow(exc, "put")
        else:
            if outages.active:
                outages.succeeded(self.backend)


def _sync_view(backend: AnyBackend | None) -> Backend:
    """The sync interface of a backend a sync function caches in (checked when it was bound)."""
    view = backend if isinstance(backend, Backend) else getattr(backend, "nonblocking", None)
    if not isinstance(view, Backend):
        msg = f"{type(backend).__name__} has no sync interface"
        raise TypeError(msg)
    return view


def _key_for(state: _State, single: bool) -> Callable[[tuple[Any, ...], Any], tuple[str, Any]]:
    """``(key, hot)`` of a compiled wrapper's call; ``hot`` is ``MISSING`` if it may not be indexed.

    Compiled wrappers run with the default key maker only, whose key for arguments of
    the memo's types is ``finish(repr(args))``: built here without its checks.
    """
    make_key, memo = state.key, state.key.memo  # type: ignore[attr-defined]
    finish, limit, memo_types, missing = state.key.finish, state.index_limit, MEMO_TYPES, MISSING  # type: ignore[attr-defined]
    remembered = memo.get

    def key_for(args: tuple[Any, ...], hot: Any) -> tuple[str, Any]:
        if single:
            if type(hot) not in memo_types:
                return make_key(args, _NO_KWARGS), missing
        elif not memoizable(hot):
            return make_key(args, _NO_KWARGS), missing
        key: str | None = remembered(hot)
        if key is None:
            key = finish(repr(args))
            if len(memo) >= limit:
                memo.clear()
            memo[hot] = key
        return key, hot

    return key_for


def _compiled_wrapper(state: _State) -> Callable[..., Any] | None:
    """A wrapper with the function's own signature and a hot index, when both apply."""
    if not state.index_limit:  # a key maker of the user's: the key may depend on more than the arguments
        return None
    parameters = positional_parameters(state.fn)
    if parameters is None:
        return None
    wrapper, rebind, count = compile_wrapper(
        state.fn,
        parameters,
        state=state,
        key_for=_key_for(state, len(parameters) == 1),
        prefix=state.key.prefix,  # type: ignore[attr-defined]
        outages=outages,
    )

    def on_bind() -> None:
        # The wrapper runs misses itself where fetch would go straight to the store: an
        # in-process namespace (it has a hot index, so no serializer or LRU order) and
        # a TTL that is not resolved per call.
        index = state.index
        inline = index is not None and state.fixed_ttl is not _PER_CALL and state.lock_ttl is None
        rebind(index, index.space if inline else None, state.write, state.fixed_ttl)

    state.on_bind = on_bind
    on_bind()
    functools.update_wrapper(wrapper, state.fn)
    _add_controls(wrapper, state, count)
    return wrapper


def _sync_wrapper(state: _State) -> Callable[..., Any]:
    """The wrapper of any other sync function: ``*args, **kwargs``, no hot index."""
    key, fetch = state.key, state.fetch  # the default key function consults its memo itself

    @functools.wraps(state.fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fetch(key(args, kwargs), args, kwargs)

    _add_controls(wrapper, state, _no_count)
    return wrapper


def _async_wrapper(state: _State) -> Callable[..., Any]:
    """The wrapper of any other ``async def``: ``*args, **kwargs``, no hot index."""
    key, fetch = state.key, state.afetch

    @functools.wraps(state.fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await fetch(key(args, kwargs), args, kwargs)

    _add_controls(wrapper, state, _no_count)
    return wrapper


def _no_count(reset: bool) -> int:
    return 0


def _add_controls(wrapper: Any, state: _State, count: Callable[[bool], int]) -> None:
    """Give ``wrapper`` its ``cache_info``, ``invalidate`` and ``cache_clear``."""
    make_key, namespace = state.key, state.namespace

    def cache_info() -> CacheInfo:
        return CacheInfo(hits=count(False) + state.hits, misses=state.misses, errors=state.errors)

    def reset() -> None:
        count(True)
        state.hits = state.misses = state.errors = 0

    if state.is_async:

        async def ainvalidate(*args: Any, **kwargs: Any) -> bool:
            backend = state.backend
            key = make_key(args, kwargs)
            if isinstance(backend, Backend):
                return backend.remove(key, namespace=namespace)
            return await backend.remove(key, namespace=namespace)  # type: ignore[union-attr]

        async def acache_clear() -> None:
            backend = state.backend
            if isinstance(backend, Backend):
                backend.clear(namespace)
            else:
                await backend.clear(namespace)  # type: ignore[union-attr]
            reset()

        wrapper.invalidate, wrapper.cache_clear = ainvalidate, acache_clear
    else:

        def invalidate(*args: Any, **kwargs: Any) -> bool:
            return _sync_view(state.backend).remove(make_key(args, kwargs), namespace=namespace)

        def cache_clear() -> None:
            _sync_view(state.backend).clear(namespace)
            reset()

        wrapper.invalidate, wrapper.cache_clear = invalidate, cache_clear
    wrapper.cache_info = cache_info


def decorate(
    fn: Any,
    *,
    slot: Slot,
    ttl: TTL,
    namespace: str,
    key_maker: KeyMaker | KeyMakerFunction | None,
    keygen: KeyGenerator | None,
    typed: bool,
    serializer: Serializer | None,
    fail_open: bool,
    lock: bool | float = False,
) -> Any:
    """Wrap ``fn`` (a function, method, classmethod or staticmethod) to cache in ``slot``'s backend."""
    if isinstance(fn, (classmethod, staticmethod)):
        inner = decorate(
            fn.__func__,
            slot=slot,
            ttl=ttl,
            namespace=namespace,
            key_maker=key_maker,
            keygen=keygen,
            typed=typed,
            serializer=serializer,
            fail_open=fail_open,
            lock=lock,
        )
        return type(fn)(inner)
    if not callable(fn):
        msg = f"cached can only decorate a function or method, not {type(fn).__qualname__}"
        raise TypeError(msg)
    check_serializer(serializer)
    state = _State(
        fn,
        key=key_function(fn, key_maker=key_maker, keygen=keygen, typed=typed),
        ttl=ttl_resolver(ttl),
        namespace=check_namespace(namespace),
        serializer=serializer,
        fail_open=fail_open,
        lock=check_lock(lock),
    )
    slot.attach(state)
    wrapper = _compiled_wrapper(state)
    if wrapper is None:
        wrapper = _async_wrapper(state) if state.is_async else _sync_wrapper(state)
    wrapper._cache_state = state  # type: ignore[attr-defined]
    return wrapper


@overload
def cached(fn: Callable[P, Awaitable[T]], /) -> AsyncCachedFunction[P, T]: ...  # type: ignore[overload-overlap]
@overload
def cached(fn: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cached(
    fn: None = None,
    /,
    *,
    ttl: TTL = None,
    cache: AnyBackend | None = None,
    key_maker: KeyMaker | KeyMakerFunction | None = None,
    keygen: KeyGenerator | None = None,
    typed: bool = False,
    namespace: str = DEFAULT_NAMESPACE,
    serializer: Serializer | None = None,
    fail_open: bool = True,
    lock: bool | float = False,
) -> Decorator: ...
def cached(
    fn: Any = None,
    /,
    *,
    ttl: TTL = None,
    cache: AnyBackend | None = None,
    key_maker: KeyMaker | KeyMakerFunction | None = None,
    keygen: KeyGenerator | None = None,
    typed: bool = False,
    namespace: str = DEFAULT_NAMESPACE,
    serializer: Serializer | None = None,
    fail_open: bool = True,
    lock: bool | float = False,
) -> Any:
    """Cache the results of a function, sync or async, bare (``@cached``) or with options.

    Args:
        ttl: how long entries live: ``None``/``math.inf`` (forever), seconds, a
            ``timedelta``, a ``(min, max)`` pair for random jitter, or a callable
            ``(fn, args, kwargs, value) -> ttl``.
        cache: the backend; by default the process-wide in-memory one behind
            ``cache_core.cache``.
        key_maker: a ``KeyMaker`` or callable ``(fn, args, kwargs) -> str | bytes``;
            default ``ReprKeyMaker``.
        keygen: a cachetoolz key generator ``(typed, func, *args, **kwargs) -> str``.
        typed: cache arguments of different types separately.
        namespace: the namespace entries go to; ``cache_clear()`` clears it.
        serializer: encode values with this instead of the backend's serializer
            (with an in-memory backend: store encoded copies).
        fail_open: when the backend fails, log it and return the function's result
            (``True``), or raise the ``BackendError`` (``False``).
        lock: also single-flight across processes with the backend's lock (``True``:
            held up to 30 s; a number: that many seconds), so concurrent misses in
            several processes run the function once. Backends without a lock raise
            ``TypeError``; in-process backends need none.
    """
    from ._front import cache as default_front

    slot = default_front._slot if cache is None else Slot(cache)

    def decorator(function: Any) -> Any:
        return decorate(
            function,
            slot=slot,
            ttl=ttl,
            namespace=namespace,
            key_maker=key_maker,
            keygen=keygen,
            typed=typed,
            serializer=serializer,
            fail_open=fail_open,
            lock=lock,
        )

    if fn is not None:
        return decorator(fn)
    check_options(
        ttl=ttl, namespace=namespace, key_maker=key_maker, keygen=keygen, typed=typed, serializer=serializer, lock=lock
    )
    return decorator


def check_options(
    *,
    ttl: TTL,
    namespace: str,
    key_maker: KeyMaker | KeyMakerFunction | None,
    keygen: KeyGenerator | None,
    typed: bool,
    serializer: Serializer | None,
    lock: bool | float = False,
) -> None:
    """Raise for bad decorator options when they are given, before any function is decorated."""
    check_lock(lock)
    ttl_resolver(ttl)
    check_namespace(namespace)
    check_serializer(serializer)
    check_key_options(key_maker=key_maker, keygen=keygen, typed=typed)


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
