# Generated from _async_observed.py by scripts/unasync.py. Do not edit: edit the async file and rerun.
"""Storage seen by telemetry: ``SyncStorage``'s operations, each inside ``Telemetry.operating``.

``CallPlan.bind`` binds one of these instead of the plain storage while telemetry is on
(``_telemetry.observed``), so the call path needs no hook of its own for backend
operations. ``_sync_observed.py`` is generated from this file by ``scripts/unasync.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._storage import SyncStorage
    from ._telemetry import Telemetry


class SyncObservedStorage:
    """The interface of ``SyncStorage``, over one, observed; operations are named as in ``Telemetry.operating``."""

    __slots__ = ("inner", "telemetry")

    def __init__(self, inner: SyncStorage, telemetry: Telemetry) -> None:
        self.inner, self.telemetry = inner, telemetry

    def lookup(self, key: str) -> Any:
        with self.telemetry.operating("get", self.inner.backend):
            return self.inner.lookup(key)

    def store(self, key: str, value: Any, seconds: float | None) -> None:
        with self.telemetry.operating("set", self.inner.backend):
            self.inner.store(key, value, seconds)

    def lookup_tagged(self, key: str, tags: list[str]) -> tuple[Any, dict[str, str]]:
        with self.telemetry.operating("get", self.inner.backend):
            return self.inner.lookup_tagged(key, tags)

    def tag_versions(self, tags: list[str]) -> dict[str, str]:
        with self.telemetry.operating("get_tags", self.inner.backend):
            return self.inner.tag_versions(tags)

    def lookup_many(self, keys: list[str]) -> dict[str, Any]:
        with self.telemetry.operating("get_many", self.inner.backend):
            return self.inner.lookup_many(keys)

    def store_many(self, items: list[tuple[str, Any]], seconds: float | None) -> None:
        with self.telemetry.operating("set_many", self.inner.backend):
            self.inner.store_many(items, seconds)

    def try_lock(self, key: str, seconds: float) -> str | None:
        with self.telemetry.operating("lock", self.inner.backend):
            return self.inner.try_lock(key, seconds)

    def unlock(self, key: str, token: str) -> None:
        with self.telemetry.operating("unlock", self.inner.backend):
            self.inner.unlock(key, token)

    def remove(self, key: str) -> bool:
        with self.telemetry.operating("delete", self.inner.backend):
            return self.inner.remove(key)

    def clear(self) -> None:
        with self.telemetry.operating("clear", self.inner.backend):
            self.inner.clear()
