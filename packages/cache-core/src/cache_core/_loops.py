"""``LoopLocal`` and ``SharedState``: a backend's connection state, per event loop or shared.

Async drivers (redis.asyncio, PyMongo's ``AsyncMongoClient``, Motor) bind their
connections to the event loop that first used them: a module-level backend called from
``asyncio.run(...)`` twice, from threads that each run a loop, or from pytest's
function-scoped loops would otherwise reach a pool whose loop is closed or foreign.
``LoopLocal`` gives each running loop its own state (a client, a read coalescer...),
made on the loop's first call and closed while the loop shuts down. ``SharedState`` is the
sync twin (``scripts/unasync.py`` renames one to the other): one state for every thread.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

_State = TypeVar("_State")


class LoopLocal(Generic[_State]):
    """One state per running event loop.

    ``get()`` returns the calling loop's state, making it with ``make()`` on the loop's
    first call (``first``, if given, serves the first loop). The loop is held weakly.
    When the loop shuts down (the end of ``asyncio.run``, or of a pytest-asyncio loop:
    anything that calls ``loop.shutdown_asyncgens()``), ``close(state)`` runs on it and
    the state is dropped; a loop closed without that is dropped on the next new loop's
    first call, its state left to the garbage collector (the driver may warn of an
    unclosed connection).
    """

    __slots__ = ("_close", "_first", "_last", "_latest", "_lock", "_make", "_states")

    def __init__(
        self,
        make: Callable[[], _State],
        close: Callable[[_State], Awaitable[None]] | None = None,
        *,
        first: _State | None = None,
    ) -> None:
        self._make = make
        self._close = close
        self._first = first
        self._latest = first
        self._lock = threading.Lock()
        # loop -> (state, watcher): the watcher is an async generator the loop finalizes at shutdown.
        self._states: weakref.WeakKeyDictionary[AbstractEventLoop, tuple[_State, AsyncIterator[None]]]
        self._states = weakref.WeakKeyDictionary()
        self._last: tuple[AbstractEventLoop | None, _State | None] = (None, None)

    def get(self) -> _State:
        """The running loop's state (``RuntimeError`` outside a running loop)."""
        loop = get_running_loop()
        last = self._last  # one read: another thread may replace it meanwhile
        if last[0] is loop:
            return last[1]  # type: ignore[return-value]  # set together with its loop
        return self._enter(loop)

    def peek(self) -> _State | None:
        """The running loop's state if it has one, else the latest made (even if closed since); never makes one."""
        try:
            loop: AbstractEventLoop | None = get_running_loop()
        except RuntimeError:
            loop = None
        found = self._states.get(loop) if loop is not None else None
        return self._latest if found is None else found[0]

    def _enter(self, loop: AbstractEventLoop) -> _State:
        with self._lock:
            found = self._states.get(loop)
            if found is None:
                for old in [old for old in self._states if old.is_closed()]:
                    del self._states[old]  # its watcher is never resumed: a closed loop finalizes nothing
                state, self._first = self._first, None
                if state is None:
                    state = self._latest = self._make()
                watcher = self._watch(weakref.ref(loop), state)
                # Started here, synchronously: the first step registers it with the running loop
                # (the loop's asyncgen hook) and runs it to its ``yield``.
                with contextlib.suppress(StopIteration):
                    watcher.__anext__().send(None)  # type: ignore[attr-defined]
                found = self._states[loop] = (state, watcher)
            self._last = (loop, found[0])
        return found[0]

    async def _watch(self, loop_ref: weakref.ref[AbstractEventLoop], state: _State) -> AsyncIterator[None]:
        """Suspended for the loop's life; the loop's ``shutdown_asyncgens()`` resumes it to close ``state``."""
        try:
            yield
        finally:
            loop = loop_ref()
            with self._lock:
                if loop is not None and self._states.get(loop, (None,))[0] is state:
                    del self._states[loop]
                if self._last[0] is loop:
                    self._last = (None, None)
            if self._close is not None and loop is not None and not loop.is_closed():
                try:
                    await self._close(state)
                except Exception:  # noqa: S110 - best effort: the loop is going away, the server may be too
                    pass

    async def aclose(self) -> None:
        """Close the running loop's state now, and the first one if no loop took it.

        States of loops still running in other threads are closed when those loops shut down.
        """
        with self._lock:
            first, self._first = self._first, None
        if first is not None and self._close is not None:
            await self._close(first)
        found = self._states.get(get_running_loop())
        if found is not None:
            await found[1].aclose()  # type: ignore[attr-defined]  # its finally closes the state


class SharedState(Generic[_State]):
    """The sync twin of ``LoopLocal``: one state for every thread."""

    __slots__ = ("_close", "_state")

    def __init__(
        self,
        make: Callable[[], _State],
        close: Callable[[_State], None] | None = None,
        *,
        first: _State | None = None,
    ) -> None:
        self._state = make() if first is None else first
        self._close = close

    def get(self) -> _State:
        """The state."""
        return self._state

    def peek(self) -> _State:
        """The state."""
        return self._state

    def close(self) -> None:
        """Close the state."""
        if self._close is not None:
            self._close(self._state)
