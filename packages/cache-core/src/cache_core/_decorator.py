"""``cached``: one decorator for ``def`` and ``async def``.

Decoration builds three things per function: a ``CallPlan`` (every decision of its
calls, free of I/O: ``_plan.py``), a caller that drives it (``AsyncCaller`` or its
generated twin ``SyncCaller``: the one call path), and the wrapper the user calls
(``_wrapper.py``: compiled to the function's signature, answering hot-index hits
itself, or a plain ``*args, **kwargs`` one). A ``Slot`` holds the backend a group of
decorated functions caches in and re-binds their callers when it changes.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, Union, overload

from ._adapters import BackendAdapter
from ._async_backend import AsyncBackend
from ._async_caller import AsyncCaller
from ._memory import DictCache
from ._options import CacheOptions, Options
from ._plan import CallPlan
from ._sync_backend import Backend
from ._sync_caller import SyncCaller
from ._wrapper import Compiled, compile_wrapper, plain_wrapper

if TYPE_CHECKING:
    from typing_extensions import ParamSpec, Unpack
else:
    try:
        from typing import ParamSpec
    except ImportError:  # pragma: no cover - Python < 3.10 is not supported
        ParamSpec = TypeVar

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)
T_co = TypeVar("T_co", covariant=True)
R = TypeVar("R")
T = TypeVar("T")
_Self = TypeVar("_Self")

AnyBackend = Union[AsyncBackend, Backend]
Caller = Union[AsyncCaller, SyncCaller]


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """Counters of one decorated function since decoration or ``cache_clear()``.

    Attributes:
        hits: calls answered from the cache.
        misses: calls that ran the function or waited for a concurrent run of it.
        errors: backend failures swallowed by fail-open.
        stale: stale values served (``stale_while_revalidate``, ``stale_if_error``).
    """

    hits: int
    misses: int
    errors: int
    stale: int = 0


class CachedFunction(Protocol[P, R_co]):
    """A sync function decorated by ``cached``: same signature, plus cache controls."""

    @property
    def __wrapped__(self) -> Callable[P, R_co]: ...

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def cache_info(self) -> CacheInfo:
        """Hits, misses and swallowed errors."""

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Remove the entry of this call; return whether there was one."""

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """Recompute this call now, store the result and return it."""

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

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T_co]:
        """Recompute this call now, store the result and return it."""

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


class Slot:
    """The backend a group of decorated functions caches in; changing it re-points them all.

    Every live slot is listed in ``Slot.instances``, which the testing plugin uses to
    isolate or disable caching for all decorated functions at once.
    """

    instances: ClassVar[weakref.WeakSet[Slot]] = weakref.WeakSet()

    def __init__(self, backend: AnyBackend) -> None:
        self._backend = check_backend(backend)
        self._members: weakref.WeakSet[_Member] = weakref.WeakSet()
        Slot.instances.add(self)

    @property
    def backend(self) -> AnyBackend:
        return self._backend

    @backend.setter
    def backend(self, backend: AnyBackend) -> None:
        backend = check_backend(backend)
        members = list(self._members)
        for member in members:
            member.plan.check_mode(backend)
        self._backend = backend
        for member in members:
            member.bind(backend)

    def attach(self, member: _Member) -> None:
        self._members.add(member)

    def __len__(self) -> int:
        """Decorated functions bound to this slot."""
        return len(self._members)


def check_backend(backend: object) -> AnyBackend:
    """The backend to bind: ours as they are, any other kind adapted (``TypeError`` if it can't be)."""
    if not isinstance(backend, (AsyncBackend, Backend)):
        inner = getattr(backend, "backend", None)
        if isinstance(inner, (AsyncBackend, Backend)):  # a Cache front passed as cache=
            return inner
    return BackendAdapter.adapt(backend)


class _Member:
    """One decorated function in a slot: its plan, its caller and its compiled wrapper, if any."""

    __slots__ = ("__weakref__", "caller", "cleared", "compiled", "plan", "slot")

    def __init__(self, plan: CallPlan, caller: Caller, compiled: Compiled | None, slot: Slot) -> None:
        self.plan, self.caller, self.compiled = plan, caller, compiled
        self.slot = slot  # a slot lives as long as a function decorated into it
        self.cleared: CacheInfo | None = None  # the counts that cache_clear() reset, added up

    def bind(self, backend: AnyBackend) -> None:
        binding = self.caller.bind(backend)
        if self.compiled is not None:
            self.compiled.point_at(binding.index)

    def hits(self, reset: bool = False) -> int:
        return self.compiled.count(reset) if self.compiled is not None else 0

    def info(self) -> CacheInfo:
        plan = self.plan
        return CacheInfo(hits=self.hits() + plan.hits, misses=plan.misses, errors=plan.errors, stale=plan.stale)

    def lifetime(self) -> CacheInfo:
        """The counts since decoration, ``cache_clear()`` notwithstanding (telemetry's counters only grow)."""
        info, cleared = self.info(), self.cleared
        if cleared is None:
            return info
        return CacheInfo(**{f.name: getattr(info, f.name) + getattr(cleared, f.name) for f in fields(CacheInfo)})


def members() -> list[_Member]:
    """Every live decorated function (``cache_core.telemetry`` reads their counters and re-binds them)."""
    while True:
        try:
            return [member for slot in list(Slot.instances) for member in list(slot._members)]
        except RuntimeError:  # another thread decorated meanwhile (the set changed size): look again
            continue


def decorate(fn: Any, *, slot: Slot, options: CacheOptions, many: bool = False) -> Any:
    """Wrap ``fn`` (a function, method, classmethod or staticmethod) to cache in ``slot``'s backend.

    ``many``: ``fn`` is a batch loader (``cached_many``).
    """
    if isinstance(fn, (classmethod, staticmethod)):
        return type(fn)(decorate(fn.__func__, slot=slot, options=options, many=many))
    if not callable(fn):
        msg = f"cached can only decorate a function or method, not {type(fn).__qualname__}"
        raise TypeError(msg)
    plan = CallPlan(fn, options)
    backend = slot.backend
    plan.check_mode(backend)
    caller: Caller = AsyncCaller(plan, backend) if plan.is_async else SyncCaller(plan, backend)
    if many and plan.freshness is not None:
        msg = "cached_many takes no stale_while_revalidate, stale_if_error or early_refresh"
        raise TypeError(msg)
    if many and plan.tags is not None:
        msg = "cached_many takes no tags"
        raise TypeError(msg)
    compiled = None if many else compile_wrapper(fn, plan.keys, caller.fetch, is_async=plan.is_async)
    member = _Member(plan, caller, compiled, slot)
    if compiled is not None:
        compiled.point_at(caller.binding.index)
        wrapper = compiled.wrapper
    else:
        wrapper = plain_wrapper(fn, caller.fetch_many_call if many else caller.call, is_async=plan.is_async)
    slot.attach(member)
    _add_controls(wrapper, member)
    return wrapper


def _add_controls(wrapper: Any, member: _Member) -> None:
    """Give ``wrapper`` its ``cache_info``, ``invalidate``, ``cache_clear`` and ``refresh`` (holding ``member``)."""
    plan, caller = member.plan, member.caller

    def reset() -> None:
        member.cleared = member.lifetime()
        member.hits(reset=True)
        plan.hits = plan.misses = plan.errors = plan.stale = 0

    if isinstance(caller, AsyncCaller):
        async_caller = caller

        async def ainvalidate(*args: Any, **kwargs: Any) -> bool:
            return await async_caller.invalidate(args, kwargs)

        async def acache_clear() -> None:
            await async_caller.clear()
            reset()

        async def arefresh(*args: Any, **kwargs: Any) -> Any:
            return await async_caller.refresh(args, kwargs)

        wrapper.invalidate, wrapper.cache_clear, wrapper.refresh = ainvalidate, acache_clear, arefresh
    else:
        sync_caller = caller

        def invalidate(*args: Any, **kwargs: Any) -> bool:
            return sync_caller.invalidate(args, kwargs)

        def cache_clear() -> None:
            sync_caller.clear()
            reset()

        def refresh(*args: Any, **kwargs: Any) -> Any:
            return sync_caller.refresh(args, kwargs)

        wrapper.invalidate, wrapper.cache_clear, wrapper.refresh = invalidate, cache_clear, refresh
    wrapper.cache_info = member.info


#: The backend of ``cached`` without ``cache=`` and of ``cache_core.cache``.
DEFAULT_SLOT = Slot(DictCache())


@overload
def cached(fn: Callable[P, Awaitable[T]], /) -> AsyncCachedFunction[P, T]: ...  # type: ignore[overload-overlap]
@overload
def cached(fn: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cached(fn: None = None, /, *, cache: AnyBackend | None = None, **options: Unpack[Options]) -> Decorator: ...
def cached(fn: Any = None, /, *, cache: AnyBackend | None = None, **options: Any) -> Any:
    """Cache the results of a function, sync or async, bare (``@cached``) or with options.

    Args:
        cache: the backend; by default the process-wide in-memory one behind
            ``cache_core.cache``.
        **options: ``ttl``, ``namespace``, ``key_maker``, ``keygen``, ``typed``,
            ``serializer``, ``fail_open``, ``lock``, the freshness options and
            ``tags``: see ``cache_core.Options``.
    """
    settings = CacheOptions.of(options, what="cached")
    slot = DEFAULT_SLOT if cache is None else Slot(cache)

    def decorator(function: Any) -> Any:
        return decorate(function, slot=slot, options=settings)

    return decorator if fn is None else decorator(fn)


@overload
def cached_many(fn: Callable[P, Awaitable[T]], /) -> AsyncCachedFunction[P, T]: ...  # type: ignore[overload-overlap]
@overload
def cached_many(fn: Callable[P, R], /) -> CachedFunction[P, R]: ...
@overload
def cached_many(fn: None = None, /, *, cache: AnyBackend | None = None, **options: Unpack[Options]) -> Decorator: ...
def cached_many(fn: Any = None, /, *, cache: AnyBackend | None = None, **options: Any) -> Any:
    """Cache a batch loader per id: ``loader(ids, *args, **kwargs) -> {id: value}``.

    The decorated loader returns the mapping for the requested ids (in their order),
    calling the loader only with the ids that missed: one batch read (``get_many``) and
    one batch write (``put_many``) per call. Ids the loader leaves out are not cached.
    Each id's entry is the one of the call ``loader(id, *args, **kwargs)``, so
    ``loader.invalidate(id, *args)`` drops it. Same options as ``cached``, without the
    freshness ones.
    """
    settings = CacheOptions.of(options, what="cached_many")
    slot = DEFAULT_SLOT if cache is None else Slot(cache)

    def decorator(function: Any) -> Any:
        return decorate(function, slot=slot, options=settings, many=True)

    return decorator if fn is None else decorator(fn)
