# Generated from _async_caller.py by scripts/unasync.py. Do not edit: edit the async file and rerun.
"""The call path of a decorated ``def``: the one driver over the ``CallPlan``.

``_sync_caller.py`` is generated from this file by ``scripts/unasync.py`` (``await``
dropped, the paired primitives renamed): the path of a call, its miss path and the
lock are written once, here.

The path of a call: the key (``call`` makes it from the arguments as passed; a
compiled wrapper from the canonical ones), ``fetch``: a read, and on a miss
single flight (``SyncFlights``) around ``compute``: run the function (under the
cross-process lock when the binding has one), resolve the TTL, store. Backend
failures go to ``CallPlan.failed`` (fail-open, or raise).
"""

from __future__ import annotations

from typing import Any

from ._errors import BackendError
from ._flights import SyncFlights, sleep
from ._hotkeys import NOT_HOT
from ._plan import Binding, CallPlan
from ._policy import MISSING
from ._storage import AnyBackend, SyncStorage


class _Found:
    """``take_lock``'s answer when another process stored the value while we waited."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class SyncCaller:
    """Runs the calls of one decorated function (see the module docstring)."""

    __slots__ = ("binding", "flights", "plan")

    def __init__(self, plan: CallPlan, backend: AnyBackend) -> None:
        self.plan = plan
        self.flights = SyncFlights()
        self.binding: Binding[SyncStorage] = self.bind(backend)

    def bind(self, backend: AnyBackend) -> Binding[SyncStorage]:
        """Point the calls at ``backend``; returns the new binding (also kept in ``binding``)."""
        plan = self.plan
        self.binding = plan.bind(backend, SyncStorage(backend, plan.namespace, plan.options.serializer))
        return self.binding

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call as the caller made it."""
        return self.fetch(self.plan.keys.key(args, kwargs), NOT_HOT, args, kwargs)

    def fetch(self, key: str, hot: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The cached value of ``key``, or the function's result, computed once and stored.

        ``hot`` is the call's hot key (``NOT_HOT`` if it has none): a hit is remembered
        under it in the hot index, so an entry is indexed from its second use on.
        """
        read = self.binding.read
        # Performance over tidiness: in-process storage is read here, not through read().
        value = read(key) if read is not None else self.read(key)
        if value is not MISSING:
            self.plan.hits += 1
            index = self.binding.index
            if hot is not NOT_HOT and index is not None:
                index.remember(hot, key)
            return value
        self.plan.misses += 1
        return self.flights.share(key, self.compute, key, args, kwargs)

    def read(self, key: str) -> Any:
        binding = self.binding
        try:
            if binding.read is not None:  # in-process storage: called directly
                return binding.read(key)
            return binding.storage.lookup(key)
        except BackendError as exc:
            self.plan.failed(binding.backend, exc, "get")
            return MISSING

    def compute(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the function and store its result (under the cross-process lock, if bound with one)."""
        lock_seconds = self.binding.lock_seconds
        if lock_seconds is not None:
            return self.compute_locked(key, args, kwargs, lock_seconds)
        value = self.plan.fn(*args, **kwargs)
        self.keep(key, args, kwargs, value)
        return value

    def keep(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> None:
        """Resolve the TTL and store ``value``, failing open."""
        plan, binding = self.plan, self.binding
        ttl = plan.ttl
        seconds = ttl.seconds if ttl.per_entry is None else ttl.per_entry(plan.fn, args, kwargs, value)
        try:
            if binding.write is not None:  # in-process storage: called directly
                binding.write(key, value, seconds)
            else:
                binding.storage.store(key, value, seconds)
        except BackendError as exc:
            plan.failed(binding.backend, exc, "put")

    def compute_locked(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], seconds: float) -> Any:
        token = self.take_lock(key, seconds)
        if isinstance(token, _Found):
            return token.value
        try:
            value = self.plan.fn(*args, **kwargs)
            self.keep(key, args, kwargs, value)
            return value
        finally:
            if token is not None:  # None: no lock to be had, so computed without one
                self.unlock(key, token)

    def take_lock(self, key: str, seconds: float) -> str | _Found | None:
        """The lock token; ``_Found`` if another process stored the value meanwhile; ``None`` to compute unlocked."""
        storage = self.binding.storage
        for pause in self.plan.lock_pauses(seconds):
            try:
                token = storage.try_lock(key, seconds)
            except BackendError as exc:
                self.plan.failed(self.binding.backend, exc, "lock")
                return None
            if token is not None:
                value = self.read(key)
                if value is not MISSING:  # stored while we waited for the lock
                    self.unlock(key, token)
                    return _Found(value)
                return token
            sleep(pause)
            value = self.read(key)
            if value is not MISSING:
                return _Found(value)
        return None  # the lock outlived twice its life: its holders are gone; compute

    def unlock(self, key: str, token: str) -> None:
        try:
            self.binding.storage.unlock(key, token)
        except BackendError as exc:
            self.plan.failed(self.binding.backend, exc, "unlock")

    def invalidate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Remove the entry of a call; whether there was one."""
        return self.binding.storage.remove(self.plan.keys.key(args, kwargs))

    def clear(self) -> None:
        """Clear the function's namespace."""
        self.binding.storage.clear()
