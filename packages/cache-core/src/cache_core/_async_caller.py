"""The call path of a decorated ``async def``: the one driver over the ``CallPlan``.

``_sync_caller.py`` is generated from this file by ``scripts/unasync.py`` (``await``
dropped, the paired primitives renamed): the path of a call, its miss path and the
lock are written once, here.

The path of a call: the key (``call`` makes it from the arguments as passed; a
compiled wrapper from the canonical ones), ``fetch``: a read, and on a miss
single flight (``AsyncFlights``) around ``compute``: run the function (under the
cross-process lock when the binding has one), resolve the TTL, store. Backend
failures go to ``CallPlan.failed`` (fail-open, or raise).
"""

from __future__ import annotations

from typing import Any

from ._errors import BackendError
from ._flights import AsyncFlights, asleep
from ._hotkeys import NOT_HOT
from ._plan import Binding, CallPlan
from ._policy import MISSING
from ._storage import AnyBackend, AsyncStorage

# unasync: AsyncCaller -> SyncCaller, AsyncFlights -> SyncFlights, AsyncStorage -> SyncStorage, asleep -> sleep


class _Found:
    """``take_lock``'s answer when another process stored the value while we waited."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class AsyncCaller:
    """Runs the calls of one decorated function (see the module docstring)."""

    __slots__ = ("binding", "flights", "plan")

    def __init__(self, plan: CallPlan, backend: AnyBackend) -> None:
        self.plan = plan
        self.flights = AsyncFlights()
        self.binding: Binding[AsyncStorage] = self.bind(backend)

    def bind(self, backend: AnyBackend) -> Binding[AsyncStorage]:
        """Point the calls at ``backend``; returns the new binding (also kept in ``binding``)."""
        plan = self.plan
        self.binding = plan.bind(backend, AsyncStorage(backend, plan.namespace, plan.options.serializer))
        return self.binding

    async def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call as the caller made it."""
        return await self.fetch(self.plan.keys.key(args, kwargs), NOT_HOT, args, kwargs)

    async def fetch(self, key: str, hot: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The cached value of ``key``, or the function's result, computed once and stored.

        ``hot`` is the call's hot key (``NOT_HOT`` if it has none): a hit is remembered
        under it in the hot index, so an entry is indexed from its second use on.
        """
        read = self.binding.read
        # Performance over tidiness: in-process storage is read here, not through read().
        value = read(key) if read is not None else await self.read(key)
        if value is not MISSING:
            self.plan.hits += 1
            index = self.binding.index
            if hot is not NOT_HOT and index is not None:
                index.remember(hot, key)
            return value
        self.plan.misses += 1
        return await self.flights.share(key, self.compute, key, args, kwargs)

    async def read(self, key: str) -> Any:
        binding = self.binding
        try:
            if binding.read is not None:  # in-process storage: called directly
                return binding.read(key)
            return await binding.storage.lookup(key)
        except BackendError as exc:
            self.plan.failed(binding.backend, exc, "get")
            return MISSING

    async def compute(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the function and store its result (under the cross-process lock, if bound with one)."""
        lock_seconds = self.binding.lock_seconds
        if lock_seconds is not None:
            return await self.compute_locked(key, args, kwargs, lock_seconds)
        value = await self.plan.fn(*args, **kwargs)
        await self.keep(key, args, kwargs, value)
        return value

    async def keep(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> None:
        """Resolve the TTL and store ``value``, failing open."""
        plan, binding = self.plan, self.binding
        ttl = plan.ttl
        seconds = ttl.seconds if ttl.per_entry is None else ttl.per_entry(plan.fn, args, kwargs, value)
        try:
            if binding.write is not None:  # in-process storage: called directly
                binding.write(key, value, seconds)
            else:
                await binding.storage.store(key, value, seconds)
        except BackendError as exc:
            plan.failed(binding.backend, exc, "put")

    async def compute_locked(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float) -> Any:
        token = await self.take_lock(key, seconds)
        if isinstance(token, _Found):
            return token.value
        try:
            value = await self.plan.fn(*args, **kwargs)
            await self.keep(key, args, kwargs, value)
            return value
        finally:
            if token is not None:  # None: no lock to be had, so computed without one
                await self.unlock(key, token)

    async def take_lock(self, key: str, seconds: float) -> str | _Found | None:
        """The lock token; ``_Found`` if another process stored the value meanwhile; ``None`` to compute unlocked."""
        storage = self.binding.storage
        for pause in self.plan.lock_pauses(seconds):
            try:
                token = await storage.try_lock(key, seconds)
            except BackendError as exc:
                self.plan.failed(self.binding.backend, exc, "lock")
                return None
            if token is not None:
                value = await self.read(key)
                if value is not MISSING:  # stored while we waited for the lock
                    await self.unlock(key, token)
                    return _Found(value)
                return token
            await asleep(pause)
            value = await self.read(key)
            if value is not MISSING:
                return _Found(value)
        return None  # the lock outlived twice its life: its holders are gone; compute

    async def unlock(self, key: str, token: str) -> None:
        try:
            await self.binding.storage.unlock(key, token)
        except BackendError as exc:
            self.plan.failed(self.binding.backend, exc, "unlock")

    async def invalidate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Remove the entry of a call; whether there was one."""
        return await self.binding.storage.remove(self.plan.keys.key(args, kwargs))

    async def clear(self) -> None:
        """Clear the function's namespace."""
        await self.binding.storage.clear()
