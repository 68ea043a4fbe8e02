"""The call path of a decorated ``async def``: the one driver over the ``CallPlan``.

``_sync_caller.py`` is generated from this file by ``scripts/unasync.py`` (``await``
dropped, the paired primitives renamed): the path of a call, its miss path and the
lock are written once, here.

The path of a call: the key (``call`` makes it from the arguments as passed; a
compiled wrapper from the canonical ones), ``fetch``: a read, and on a miss
single flight (``AsyncFlights``) around ``compute``: run the function (under the
cross-process lock when the binding has one), resolve the TTL, store. Backend
failures go to ``CallPlan.failed`` (fail-open, or raise). A tagged function's entries
are read with their tags' versions and stored in a tag envelope recording the versions
read before computing (``_tags.py``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ._errors import BackendError
from ._flights import AsyncFlights, AsyncRefresher, asleep
from ._hotkeys import NOT_HOT
from ._memory import HotIndex, Stored
from ._plan import FRESH, REFRESH_EARLY, STALE, STALE_IF_ERROR, Binding, CallPlan
from ._policy import MISSING
from ._storage import AnyBackend, AsyncStorage
from ._tags import EPOCH, recorded_tags, tagged, untagged

# unasync: AsyncCaller -> SyncCaller, AsyncFlights -> SyncFlights, AsyncStorage -> SyncStorage, asleep -> sleep
# unasync: AsyncRefresher -> SyncRefresher

logger = logging.getLogger("cache_core")


class _Found:
    """``take_lock``'s answer when another process stored the value while we waited."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class AsyncCaller:
    """Runs the calls of one decorated function (see the module docstring)."""

    __slots__ = ("binding", "compute", "flights", "plan", "refresher", "serving_stale")

    def __init__(self, plan: CallPlan, backend: AnyBackend) -> None:
        self.plan = plan
        self.flights = AsyncFlights()
        self.refresher = AsyncRefresher()
        #: key -> (entry, value, fresh_until, window, now, touch): the in-process entries
        #: being refreshed, whose stale calls ``fetch`` serves first (see ``serve_stale``).
        self.serving_stale: dict[str, tuple[Stored, Any, float, float, Callable[[], float], Any]] = {}
        self.binding: Binding[AsyncStorage] = self.bind(backend)

    def bind(self, backend: AnyBackend) -> Binding[AsyncStorage]:
        """Point the calls at ``backend``; returns the new binding (also kept in ``binding``)."""
        plan = self.plan
        self.serving_stale.clear()  # entries of the storage bound before
        self.binding = plan.bind(backend, AsyncStorage(backend, plan.namespace, plan.options.serializer))
        #: ``compute(key, args, kwargs)``: run the function and store its result (under the
        #: cross-process lock, if bound with one). Chosen here, not tested on every miss.
        seconds = self.binding.lock_seconds
        self.compute: Callable[..., Any] = (
            self.produce if seconds is None else functools.partial(self.compute_locked, seconds=seconds)
        )
        return self.binding

    async def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call as the caller made it."""
        return await self.fetch(self.plan.keys.key(args, kwargs), NOT_HOT, args, kwargs)

    async def fetch(self, key: str, hot: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The cached value of ``key``, or the function's result, computed once and stored.

        ``hot`` is the call's hot key (``NOT_HOT`` if it has none): a hit is remembered
        under it in the hot index, so an entry is indexed from its second use on.
        """
        serving = self.serving_stale
        if serving:
            # Performance over tidiness: while a key's refresh runs, every call of it is a
            # stale call. Those of in-process entries are served here, without a read and
            # without judge(), for as long as judge() would still say STALE: the entry is
            # the one judged (a replaced or removed Stored is DEAD, an expired one has
            # passed its expires_at), inside its stale window, and its refresh still runs.
            known = serving.get(key)
            if known is not None:
                entry, value, fresh_until, window, now, touch = known
                at = now()
                if entry.expires_at > at and 0 <= at - fresh_until < window and key in self.refresher.running:
                    self.plan.stale += 1
                    if touch is not None:
                        try:
                            touch(entry)
                        except KeyError:  # evicted by another thread since the test above
                            pass
                    return value
                serving.pop(key, None)
        read = self.binding.read
        # Performance over tidiness: in-process storage is read here, not through read().
        value = read(key) if read is not None else await self.read(key, args, kwargs)
        if value is not MISSING:
            if self.plan.freshness is not None:
                return await self.fresh_or_stale(value, key, hot, args, kwargs)
            self.plan.hits += 1
            index = self.binding.index
            if hot is not NOT_HOT and index is not None:
                index.remember(hot, key)
            return value
        self.plan.misses += 1
        return await self.flights.share(key, self.compute, key, args, kwargs)

    async def fresh_or_stale(
        self, stored: Any, key: str, hot: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """A read entry of a function with freshness options: serve it, refresh it, or recompute."""
        plan = self.plan
        value, verdict, fresh_until = plan.judge(stored, self.binding.backend.clock.now())
        if verdict is STALE:
            plan.stale += 1
            if key not in self.refresher.running:
                self.refresher.start(key, self.revalidate, key, fresh_until, args, kwargs)
            index = self.binding.index
            if index is not None:
                self.serve_stale(index, key, stored, value, fresh_until)
            return value
        if verdict is FRESH:
            plan.hits += 1
            index = self.binding.index
            if hot is not NOT_HOT and index is not None:
                index.remember_fresh(hot, key, value, fresh_until)
            return value
        if verdict is REFRESH_EARLY:
            plan.hits += 1
            self.refresher.start(key, self.revalidate, key, fresh_until, args, kwargs)
            return value
        plan.misses += 1
        try:
            return await self.flights.share(key, self.compute, key, args, kwargs)
        except Exception as exc:
            if verdict is not STALE_IF_ERROR:
                raise
            plan.stale += 1
            name = getattr(plan.fn, "__qualname__", plan.fn)
            logger.warning("%s failed; serving its stale value (stale_if_error): %r", name, exc)
            return value

    def serve_stale(self, index: HotIndex, key: str, stored: Any, value: Any, fresh_until: float) -> None:
        """Serve the calls of ``key`` from the in-process entry just judged stale until its refresh ends.

        ``stored``, what the call read, must still be that entry's value: otherwise the
        entry changed since, and the next call reads and judges it again.
        """
        entry = index.space.get(key)
        freshness = self.plan.freshness
        if type(entry) is Stored and entry.value is stored and freshness is not None:
            window = freshness.stale_while_revalidate
            self.serving_stale[key] = (entry, value, fresh_until, window, self.binding.backend.clock.now, index.touch)

    async def read(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """What is stored for the call (``MISSING``: nothing, or an entry its tags' invalidation hides)."""
        binding = self.binding
        try:
            if binding.read is not None:  # in-process storage: called directly
                return binding.read(key)
            if self.plan.tags is None:
                return await binding.storage.lookup(key)
            return await self.read_tagged(key, args, kwargs)
        except BackendError as exc:
            self.plan.failed(binding.backend, exc, "get")
            return MISSING

    async def read_tagged(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A tagged entry, if its tags' versions are still those it recorded.

        Templates give the tags before the read: one read of the entry with their versions.
        Tags from the value are known from the entry only: a second read for their versions.
        """
        tags, storage = self.plan.tags, self.binding.storage
        if tags is not None and tags.templates is not None:
            stored, current = await storage.lookup_tagged(key, tags.names(args, kwargs))
            return untagged(stored, current)
        stored = await storage.lookup(key)
        recorded = recorded_tags(stored)
        if recorded is None:
            return MISSING
        return untagged(stored, await storage.tag_versions(recorded) if recorded else {})

    async def versions_before(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The versions a tagged computation records, read before it runs; ``MISSING`` if that failed.

        With templates, its tags' versions; with tags from the value, ``EPOCH``'s.
        """
        tags = self.plan.tags
        names = tags.names(args, kwargs) if tags is not None and tags.templates is not None else [EPOCH]
        try:
            return await self.binding.storage.tag_versions(names)
        except BackendError as exc:
            self.plan.failed(self.binding.backend, exc, "get")
            return MISSING

    async def envelope(
        self, stored: Any, versions: Any, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """The tag envelope to store for a tagged computation, or ``MISSING`` to store nothing.

        Nothing is stored if the versions could not be read before (the entry could outlive
        an invalidation), or, for tags from the value, if any invalidation ran meanwhile
        (``EPOCH`` changed: perhaps of this value's tags).
        """
        plan = self.plan
        if versions is MISSING or plan.tags is None:
            return MISSING
        if plan.tags.templates is None:
            names = plan.tags.names_of_value(plan.fn, args, kwargs, value)
            current = await self.binding.storage.tag_versions([*names, EPOCH])
            if current.pop(EPOCH) != versions[EPOCH]:
                return MISSING
            versions = current
        return tagged(stored, versions)

    async def produce(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the function, resolve the TTL and store the value, failing open.

        Timed only where the duration is used (freshness, telemetry). Performance over
        tidiness: the common miss runs here without another call (no clock read, no ``run``).
        """
        plan, binding = self.plan, self.binding
        versions = None if plan.tags is None else await self.versions_before(args, kwargs)
        if plan.freshness is None and plan.telemetry is None:
            value = await plan.fn(*args, **kwargs)
            duration = 0.0
        else:
            now = binding.backend.clock.now  # durations on the cache's clock, so TestClock drives XFetch too
            started = now()
            value = await self.run(args, kwargs)
            duration = now() - started
        ttl = plan.ttl
        seconds = ttl.seconds if ttl.per_entry is None else ttl.per_entry(plan.fn, args, kwargs, value)
        stored = value
        if plan.freshness is not None:
            stored, seconds = plan.stored(value, seconds, binding.backend.clock.now(), duration)
        try:
            if versions is not None:
                stored = await self.envelope(stored, versions, value, args, kwargs)
                if stored is MISSING:
                    return value
            if binding.write is not None:  # in-process storage: called directly
                binding.write(key, stored, seconds)
            else:
                await binding.storage.store(key, stored, seconds)
        except BackendError as exc:
            plan.failed(binding.backend, exc, "put")
        return value

    async def run(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The function's result (inside ``Telemetry.computing`` when telemetry is on)."""
        plan = self.plan
        if plan.telemetry is None:
            return await plan.fn(*args, **kwargs)
        with plan.telemetry.computing():
            return await plan.fn(*args, **kwargs)

    async def revalidate(self, key: str, seen_until: float, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """A background refresh of an entry judged fresh until ``seen_until``.

        A call can judge the entry stale just before another refresh stores its new value
        and start a second refresh just after the first one ends; so the entry is read
        again first, and left alone if it was rewritten since.
        """
        try:
            stored = await self.read(key, args, kwargs)
            if stored is not MISSING and self.plan.judge(stored, self.binding.backend.clock.now())[2] > seen_until:
                return
            await self.compute(key, args, kwargs)
        finally:
            self.serving_stale.pop(key, None)  # its next stale call reads and judges again

    async def refresh(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Recompute a call now, store and return its value (``f.refresh(...)``)."""
        return await self.compute(self.plan.keys.key(args, kwargs), args, kwargs)

    async def compute_locked(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, seconds: float) -> Any:
        """``produce`` under the cross-process lock of ``seconds`` (or another process's value)."""
        token = await self.take_lock(key, seconds, args, kwargs)
        if isinstance(token, _Found):
            return token.value
        try:
            return await self.produce(key, args, kwargs)
        finally:
            if token is not None:  # None: no lock to be had, so computed without one
                await self.unlock(key, token)

    async def take_lock(
        self, key: str, seconds: float, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str | _Found | None:
        """The lock token; ``_Found`` if another process stored the value meanwhile; ``None`` to compute unlocked."""
        storage = self.binding.storage
        for pause in self.plan.lock_pauses(seconds):
            try:
                token = await storage.try_lock(key, seconds)
            except BackendError as exc:
                self.plan.failed(self.binding.backend, exc, "lock")
                return None
            if token is not None:
                found = await self.found(key, args, kwargs)
                if found is not None:  # stored while we waited for the lock
                    await self.unlock(key, token)
                return found or token
            await asleep(pause)
            found = await self.found(key, args, kwargs)
            if found is not None:
                return found
        return None  # the lock outlived twice its life: its holders are gone; compute

    async def found(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Found | None:
        """A value for ``key`` another process stored that this call may return (a fresh one), or ``None``."""
        stored = await self.read(key, args, kwargs)
        if stored is MISSING:
            return None
        value, verdict, _ = self.plan.judge(stored, self.binding.backend.clock.now())
        return _Found(value) if verdict is FRESH or verdict is REFRESH_EARLY else None

    async def unlock(self, key: str, token: str) -> None:
        try:
            await self.binding.storage.unlock(key, token)
        except BackendError as exc:
            self.plan.failed(self.binding.backend, exc, "unlock")

    async def fetch_many_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[Any, Any]:
        """A ``cached_many`` call as made: the ids first."""
        if not args:
            msg = f"{getattr(self.plan.fn, '__qualname__', self.plan.fn)} takes the ids as its first argument"
            raise TypeError(msg)
        return await self.fetch_many(args[0], args[1:], kwargs)

    async def fetch_many(self, ids: Iterable[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[Any, Any]:
        """``cached_many``: the values of ``ids``, loading only the missing ones, in one batch each way.

        Each id is cached under the key of the call ``loader(id, *args, **kwargs)``; ids
        the loader leaves out of its mapping are returned and cached as nothing.
        """
        plan, binding = self.plan, self.binding
        keys = {id_: plan.keys.key((id_, *args), kwargs) for id_ in ids}
        try:
            if binding.read is not None:
                found = {key: binding.read(key) for key in keys.values()}
            else:
                found = await binding.storage.lookup_many(list(keys.values()))
        except BackendError as exc:
            plan.failed(binding.backend, exc, "get_many")
            found = {}
        result = {}
        missing = []
        for id_, key in keys.items():
            value = found.get(key, MISSING)
            if value is MISSING:
                missing.append(id_)
            else:
                result[id_] = value
        plan.hits += len(result)
        plan.misses += len(missing)
        if not missing:
            return result
        loaded = await self.run((missing, *args), kwargs)
        fresh = {id_: loaded[id_] for id_ in missing if id_ in loaded}
        ttl = plan.ttl
        seconds = ttl.seconds if ttl.per_entry is None else ttl.per_entry(plan.fn, (missing, *args), kwargs, fresh)
        items = [(keys[id_], value) for id_, value in fresh.items()]
        try:
            if binding.write is not None:
                for key, value in items:
                    binding.write(key, value, seconds)
            elif items:
                await binding.storage.store_many(items, seconds)
        except BackendError as exc:
            plan.failed(binding.backend, exc, "put_many")
        result.update(fresh)
        return {id_: result[id_] for id_ in keys if id_ in result}

    async def invalidate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Remove the entry of a call; whether there was one."""
        return await self.binding.storage.remove(self.plan.keys.key(args, kwargs))

    async def clear(self) -> None:
        """Clear the function's namespace."""
        await self.binding.storage.clear()
