"""The call path's one hook for telemetry, free of OpenTelemetry (``cache_core.telemetry`` brings that).

When telemetry is on, every ``CallPlan`` holds a ``Telemetry`` (``plan.telemetry``; else
``None``). The call path asks it two things, both off the hit path:

- ``computing()``: a context manager around each run of the function (the caller checks
  ``plan.telemetry is not None`` once per computation);
- ``operating(name)``: one around each operation on the backend. The caller never asks:
  ``CallPlan.bind`` binds the storage inside ``observed`` (``AsyncObservedStorage`` or
  ``SyncObservedStorage``), so with telemetry off the binding is what it always was.
  In-process storage read and written directly is not observed (a span costs more than
  the read).

Hits are not hooked at all: ``cache_core.telemetry`` reads the counters the call path
keeps anyway (``cache_info()``) when its metrics are collected.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from ._async_observed import AsyncObservedStorage
from ._storage import AsyncStorage, SyncStorage
from ._sync_observed import SyncObservedStorage

if TYPE_CHECKING:
    from ._plan import CallPlan

StorageT = TypeVar("StorageT")


class Telemetry(Protocol):
    """The telemetry of one decorated function (see the module docstring)."""

    def computing(self) -> AbstractContextManager[object]:
        """Around one run of the function."""

    def operating(self, operation: str, backend: object) -> AbstractContextManager[object]:
        """Around one operation on ``backend``: ``get``, ``set``, ``get_many``, ``get_tags``, ``set_many``, ``lock``,
        ``unlock``, ``delete`` or ``clear``."""


#: What a ``CallPlan`` gets its ``Telemetry`` from while telemetry is on.
Factory = Callable[["CallPlan"], Telemetry]

_factory: Factory | None = None
#: Held while telemetry is switched on or off, so two switches never interleave.
switching = threading.RLock()


def switch(factory: Factory | None) -> None:
    """Set what new ``CallPlan``s get (``None``: telemetry off); the switcher re-binds the live ones."""
    global _factory  # noqa: PLW0603 - the one process-wide switch
    _factory = factory


def for_plan(plan: CallPlan) -> Telemetry | None:
    """The telemetry of ``plan``, or ``None`` while it is off."""
    factory = _factory
    return None if factory is None else factory(plan)


def observed(storage: StorageT, telemetry: Telemetry) -> StorageT:
    """``storage`` (an ``AsyncStorage`` or a ``SyncStorage``) with each operation inside ``telemetry.operating``."""
    # The observed classes have the interface of the storage they wrap, not its type.
    if isinstance(storage, AsyncStorage):
        return cast(StorageT, AsyncObservedStorage(storage, telemetry))
    if isinstance(storage, SyncStorage):
        return cast(StorageT, SyncObservedStorage(storage, telemetry))
    msg = f"not a storage: {type(storage).__name__}"
    raise TypeError(msg)
