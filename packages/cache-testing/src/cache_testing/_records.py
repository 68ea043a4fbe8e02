"""What the fakes share: recorded operations, assertion helpers, fault schedules."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cache_core import MISSING


@dataclass(frozen=True)
class Operation:
    """One backend operation seen by a recording backend.

    Attributes:
        name: ``get``, ``put``, ``get_many``, ``put_many``, ``remove``, ``clear``, ``remove_expired`` or
            ``invalidate_tags`` (one per tag, its key the tag).
        namespace: the namespace (``None`` for ``clear()`` of everything and ``remove_expired``).
        key: the key (``None`` for operations without one).
        ttl: seconds for ``put``/``put_many`` (``None``: no expiry).
        value: the value stored by ``put``, or found by a ``get`` hit.
        hit: for ``get``: whether a live value was found.
    """

    name: str
    namespace: str | None = None
    key: str | None = None
    ttl: float | None = None
    value: Any = None
    hit: bool | None = None


_UNSET: Any = object()


class Recorder:
    """The log of a recording backend, with assertions that explain their failures."""

    def __init__(self, operations: list[Operation] | None = None) -> None:
        self.operations: list[Operation] = [] if operations is None else operations

    def record(self, operation: Operation) -> None:
        self.operations.append(operation)

    def record_get(self, namespace: str, key: str, value: Any) -> None:
        hit = value is not MISSING
        self.operations.append(Operation("get", namespace, key, value=value if hit else None, hit=hit))

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self.operations.clear()

    def calls(self, name: str | None = None, *, namespace: str | None = None) -> list[Operation]:
        """Recorded operations, optionally only one kind and one namespace."""
        return [
            operation
            for operation in self.operations
            if (name is None or operation.name == name) and (namespace is None or operation.namespace == namespace)
        ]

    @property
    def puts(self) -> list[Operation]:
        return self.calls("put")

    @property
    def hits(self) -> list[Operation]:
        return [operation for operation in self.calls("get") if operation.hit]

    @property
    def misses(self) -> list[Operation]:
        return [operation for operation in self.calls("get") if not operation.hit]

    def assert_put(
        self,
        key: str | None = None,
        *,
        ttl: Any = _UNSET,
        namespace: str | None = None,
        value: Any = _UNSET,
        key_contains: str | None = None,
        times: int | None = None,
    ) -> list[Operation]:
        """Assert something was put matching every given criterion (``times``: exactly that often).

        ``ttl=60`` means "was put with ttl 60"; ``ttl=None`` means "without expiry".
        """
        return self._assert_matching("put", key, key_contains, namespace, times, ttl=ttl, value=value)

    def assert_hit(
        self, key: str | None = None, *, key_contains: str | None = None, namespace: str | None = None
    ) -> None:
        self._assert_matching("get", key, key_contains, namespace, None, hit=True)

    def assert_miss(
        self, key: str | None = None, *, key_contains: str | None = None, namespace: str | None = None
    ) -> None:
        self._assert_matching("get", key, key_contains, namespace, None, hit=False)

    def assert_not_called(self, name: str) -> None:
        found = self.calls(name)
        if found:
            msg = f"expected no {name!r} operations, got {len(found)}: {found}"
            raise AssertionError(msg)

    def _assert_matching(
        self,
        name: str,
        key: str | None,
        key_contains: str | None,
        namespace: str | None,
        times: int | None,
        **expected: Any,
    ) -> list[Operation]:
        def matches(operation: Operation) -> bool:
            if key is not None and operation.key != key:
                return False
            if key_contains is not None and (operation.key is None or key_contains not in operation.key):
                return False
            return all(
                value is _UNSET or getattr(operation, field_name) == value for field_name, value in expected.items()
            )

        candidates = self.calls(name, namespace=namespace)
        found = [operation for operation in candidates if matches(operation)]
        wanted = {
            k: v
            for k, v in {"key": key, "key_contains": key_contains, "namespace": namespace, **expected}.items()
            if v is not None and v is not _UNSET
        }
        if (times is None and not found) or (times is not None and len(found) != times):
            count = "any" if times is None else f"exactly {times}"
            lines = "\n".join(f"  {operation}" for operation in candidates) or "  (none)"
            msg = f"expected {count} {name!r} with {wanted}, found {len(found)}; recorded {name!r} operations:\n{lines}"
            raise AssertionError(msg)
        return found


@dataclass
class Fault:
    """A scheduled misbehaviour of some operations of a faulty backend.

    Applies to calls number ``after + 1`` onwards, then to every ``every``-th one, at
    most ``times`` times (``None``: no limit).
    """

    kind: str  # "fail", "hang" or "corrupt"
    operations: frozenset[str]
    error: BaseException | type[BaseException] | None = None
    seconds: float = 0.0
    times: int | None = None
    after: int = 0
    every: int = 1
    seen: int = 0
    applied: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def strikes(self, operation: str) -> bool:
        if operation not in self.operations:
            return False
        with self._lock:
            self.seen += 1
            if self.seen <= self.after or (self.seen - self.after - 1) % self.every:
                return False
            if self.times is not None and self.applied >= self.times:
                return False
            self.applied += 1
            return True

    def exception(self) -> BaseException:
        error = self.error if self.error is not None else ConnectionError("injected failure")
        return error() if isinstance(error, type) else error


OPERATIONS = frozenset({"get", "put", "remove", "clear", "remove_expired", "lock"})
CORRUPTED = b"\xff\x00corrupted\x00\xff"


class FaultPlan:
    """The faults of one faulty backend; shared by its sync view."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, kind: str, operations: tuple[str, ...], **options: Any) -> Fault:
        chosen = frozenset(operations) if operations else OPERATIONS
        unknown = sorted(chosen - OPERATIONS)
        if unknown:
            msg = f"unknown operation(s) {unknown}; choose from {sorted(OPERATIONS)}"
            raise ValueError(msg)
        times, after, every = options.get("times"), options.get("after", 0), options.get("every", 1)
        if (times is not None and times < 1) or after < 0 or every < 1:
            msg = (
                "times must be >= 1 or None, after >= 0 and every >= 1; "
                f"got times={times}, after={after}, every={every}"
            )
            raise ValueError(msg)
        fault = Fault(kind, chosen, **options)
        self.faults.append(fault)
        return fault

    def striking(self, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.strikes(operation):
                return fault
        return None


def nonblocking_view(wrapper: Any, inner: Any, make_sync: Callable[[Any], Any]) -> Any:
    """The ``nonblocking`` of a wrapper: itself over in-process sync storage, a sync twin over async."""
    view = inner.nonblocking
    if view is None:
        return None
    if view is inner:
        return wrapper
    return make_sync(view)
