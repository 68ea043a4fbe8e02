"""Single flight: concurrent misses of one key run the function once.

Two paired primitives with one interface, ``share(key, compute, *args)``: whoever
misses ``key`` first runs ``compute(*args)``; whoever misses it meanwhile waits for
that run and gets its outcome (its value, or its exception). The call path
(``_async_caller.py`` and its generated twin) is written once against this interface.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from threading import get_ident
from typing import Any

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
        # [event loop, future]: the future is made by the first task that waits.
        self._flights: dict[str, list[Any]] = {}

    async def share(self, key: str, compute: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        running = self._flights.get(key)
        while running is not None and running[0] is loop:
            outcome = await self._join(running)
            if outcome is not _TAKE_OVER:
                return outcome
            running = self._flights.get(key)
        flight: list[Any] = [loop, None]
        self._flights[key] = flight
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
            if self._flights.get(key) is flight:
                del self._flights[key]

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


#: The pause between polls of a cross-process lock, per mode.
sleep = time.sleep
asleep = asyncio.sleep
