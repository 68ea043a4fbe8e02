"""Single flight: concurrent misses of one key run the function once.

Two paired primitives with one interface, ``share(key, compute, *args)``: whoever
misses ``key`` first runs ``compute(*args)``; whoever misses it meanwhile waits for
that run and gets its outcome (its value, or its exception). The call path
(``_async_caller.py`` and its generated twin) is written once against this interface.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from threading import get_ident
from typing import Any

logger = logging.getLogger("cache_core")

_TAKE_OVER: Any = object()  # AsyncFlights: the task computing the value was cancelled

# A sync flight is a list, the cheapest object to make on every miss:
# [thread id of the leader, done, value, error, somebody waits]. Waiters block on the
# condition, which the leader notifies only when somebody waits.
_THREAD, _DONE, _VALUE, _ERROR, _WAITED = range(5)


class SyncFlights:
    """Single flight among threads. A thread that recurses on its own key runs it again."""

    __slots__ = ("_cond", "_flights")

    def __init__(self) -> None:
        self._flights: dict[str, list[Any]] = {}
        self._cond = threading.Condition(threading.Lock())

    def share(self, key: str, compute: Callable[..., Any], *args: Any) -> Any:
        # dict.setdefault and dict.pop are atomic: registering and retiring a flight
        # needs no lock of its own.
        flight: list[Any] = [get_ident(), False, None, None, False]
        running = self._flights.setdefault(key, flight)
        if running is not flight:
            if running[_THREAD] == get_ident():  # the same thread recursing on its own key
                return compute(*args)
            return self._join(running)
        try:
            flight[_VALUE] = value = compute(*args)
            return value
        except BaseException as exc:
            flight[_ERROR] = exc
            raise
        finally:
            del self._flights[key]  # only the leader retires, and only its own flight
            flight[_DONE] = True  # after the value or error: a waiter reads them once it sees this
            if flight[_WAITED]:
                with self._cond:
                    self._cond.notify_all()

    def _join(self, flight: list[Any]) -> Any:
        with self._cond:
            flight[_WAITED] = True  # before reading done: the leader reads them the other way round
            while not flight[_DONE]:
                self._cond.wait()
        if flight[_ERROR] is not None:
            raise flight[_ERROR]
        return flight[_VALUE]


class AsyncFlights:
    """Single flight among the tasks of one event loop; a waiter takes over from a cancelled leader.

    Tasks of different loops never wait for each other: each loop runs its own flight.
    """

    __slots__ = ("_flights",)

    def __init__(self) -> None:
        # (event loop, key) -> [event loop, future]: the future is made by the first task
        # that waits. Keyed by loop too, so loops in other threads never displace a flight.
        self._flights: dict[tuple[asyncio.AbstractEventLoop, str], list[Any]] = {}

    async def share(self, key: str, compute: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        slot = (loop, key)
        running = self._flights.get(slot)
        while running is not None:
            outcome = await self._join(running)
            if outcome is not _TAKE_OVER:
                return outcome
            running = self._flights.get(slot)
        flight: list[Any] = [loop, None]
        self._flights[slot] = flight
        try:
            value = await compute(*args)
        except BaseException as exc:
            waiting = flight[1]
            if waiting is not None:
                if isinstance(exc, asyncio.CancelledError):
                    waiting.cancel()  # the waiters take over
                else:
                    waiting.set_exception(exc)
                    waiting.exception()  # retrieved: no "never retrieved" warning
            raise
        else:
            if flight[1] is not None:
                flight[1].set_result(value)
            return value
        finally:
            if self._flights.get(slot) is flight:
                del self._flights[slot]

    @staticmethod
    async def _join(flight: list[Any]) -> Any:
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


class _DaemonPool:
    """A few daemon threads running queued work: they never keep the process alive at exit."""

    __slots__ = ("_idle", "_lock", "_queue", "_size", "_threads")

    def __init__(self, size: int) -> None:
        self._size = size
        self._threads = self._idle = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()

    def submit(self, work: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            if not self._idle and self._threads < self._size:
                self._threads += 1
                threading.Thread(target=self._run, name="cache-core-refresh", daemon=True).start()
        self._queue.put((work, args))

    def _run(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            work, args = self._queue.get()
            with self._lock:
                self._idle -= 1
            work(*args)  # never raises: SyncRefresher wraps it


_POOL = _DaemonPool(4)


class SyncRefresher:
    """Refreshes in the background, on a small shared pool of daemon threads; one at a time per key.

    ``running`` holds the keys being refreshed. While a refresh of a hot key runs, every
    call of it is a stale call that finds its key there: the caller reads it without a
    lock (a set lookup is atomic) and skips ``start``. Only adding a key takes the lock.
    """

    __slots__ = ("_lock", "running")

    def __init__(self) -> None:
        self.running: set[str] = set()
        self._lock = threading.Lock()

    def start(self, key: str, work: Callable[..., Any], *args: Any) -> None:
        running = self.running
        if key in running:
            return
        with self._lock:
            if key in running:
                return
            running.add(key)
        _POOL.submit(self._refresh, key, work, args)

    def _refresh(self, key: str, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            work(*args)
        except Exception:
            logger.warning("cache_core: background refresh of %r failed", key, exc_info=True)
        finally:
            self.running.discard(key)  # atomic: no lock needed to take a key out


class AsyncRefresher:
    """Refreshes in the background as tasks of the running loop (kept referenced); one at a time per key.

    ``running`` maps the keys being refreshed to their tasks (see ``SyncRefresher``); a
    task is taken out by its done callback, so a key stays in it until just after its
    refresh stored the new value.
    """

    __slots__ = ("running",)

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[Any]] = {}

    def start(self, key: str, work: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        running = self.running.get(key)
        if running is not None and not running.done():
            return
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(work(*args))
        self.running[key] = task
        task.add_done_callback(functools.partial(self._done, key))

    def _done(self, key: str, task: asyncio.Task[Any]) -> None:
        if self.running.get(key) is task:
            del self.running[key]
        if not task.cancelled() and task.exception() is not None:
            logger.warning("cache_core: background refresh of %r failed", key, exc_info=task.exception())


#: The pause between polls of a cross-process lock, per mode.
sleep = time.sleep
asleep = asyncio.sleep
