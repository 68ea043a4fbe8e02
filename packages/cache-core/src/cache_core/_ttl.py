"""TTL forms, validated once and turned into seconds.

Accepted forms: ``None`` or ``math.inf`` (never expires), seconds from 0 to ``MAX_TTL`` as
``int``, ``float`` or ``timedelta``, a ``(min, max)`` pair of those for random jitter, and a
callable ``(fn, args, kwargs, value) -> ttl`` returning one of the fixed forms.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Protocol, Union

from ._errors import InvalidTTLError

Seconds = Union[int, float, timedelta]
FixedTTL = Union[Seconds, None]


class TTLFunction(Protocol):
    """Chooses the TTL of one entry from the call and its result."""

    def __call__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], value: Any, /
    ) -> FixedTTL | tuple[Seconds, Seconds]: ...


TTL = Union[FixedTTL, tuple[Seconds, Seconds], TTLFunction]

#: The longest finite TTL, in seconds (about 317 years). Every backend represents an expiry
#: instant this far ahead exactly enough (Redis ``PX``, MongoDB's millisecond dates, SQLite's
#: REAL); a longer one raises ``InvalidTTLError``. ``None`` or ``math.inf`` never expire.
MAX_TTL: Final = 10**10

#: Resolves the TTL, in seconds (``None``: no expiry), of one entry at store time.
TTLResolver = Callable[[Callable[..., Any], "tuple[Any, ...]", "dict[str, Any]", Any], "float | None"]


def ttl_seconds(ttl: object, *, what: str = "ttl") -> float | None:
    """Return a fixed TTL as seconds (``None`` for no expiry), or raise ``InvalidTTLError``."""
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, float):
        seconds = float(ttl)
    elif isinstance(ttl, int) and not isinstance(ttl, bool):
        # Clamped before float(), which raises OverflowError past 1e308: the checks below reject it.
        seconds = float(max(-1, min(ttl, MAX_TTL + 1)))
    else:
        msg = f"{what} must be None, seconds (int or float) or a timedelta, not {type(ttl).__qualname__}"
        raise InvalidTTLError(msg)
    if math.isnan(seconds):
        msg = f"{what} must be a number of seconds, not NaN"
        raise InvalidTTLError(msg)
    if seconds < 0:
        msg = f"{what} must not be negative, got {_shown(ttl)}"
        raise InvalidTTLError(msg)
    if seconds > MAX_TTL:
        if seconds == math.inf:
            return None
        msg = f"{what} must be at most MAX_TTL = 10**10 s (about 317 years), got {_shown(ttl)}; None never expires"
        raise InvalidTTLError(msg)
    return seconds


def _shown(ttl: object) -> str:
    """``repr(ttl)``, except for ints too long to print (``repr`` refuses past 4300 digits)."""
    if isinstance(ttl, int) and not -(10**50) < ttl < 10**50:
        return f"an int of {ttl.bit_length()} bits"
    return repr(ttl)


def _jitter(pair: tuple[object, ...], *, what: str) -> tuple[float, float]:
    if len(pair) != 2:
        msg = f"{what} as a tuple must be (min, max), got {len(pair)} items"
        raise InvalidTTLError(msg)
    low, high = (ttl_seconds(item, what=what) for item in pair)
    if low is None or high is None:
        msg = f"{what} (min, max) must both be finite, got {pair!r}"
        raise InvalidTTLError(msg)
    if low > high:
        msg = f"{what} (min, max) needs min <= max, got min={low} > max={high}"
        raise InvalidTTLError(msg)
    return low, high


def resolve_fixed(ttl: object, *, what: str = "ttl") -> float | None:
    """Seconds for any non-callable form; a ``(min, max)`` pair draws a random value."""
    if isinstance(ttl, tuple):
        low, high = _jitter(ttl, what=what)
        return random.uniform(low, high)  # noqa: S311 - jitter, not security
    return ttl_seconds(ttl, what=what)


@dataclass(frozen=True)
class TTLPlan:
    """A validated TTL: the same seconds for every entry, or a resolver called per entry.

    Attributes:
        seconds: the TTL of every entry (``None``: no expiry) when ``per_entry`` is ``None``.
        per_entry: for jitter and TTL functions: resolves one entry's TTL at store time.
    """

    seconds: float | None = None
    per_entry: TTLResolver | None = None

    def resolve(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], value: Any
    ) -> float | None:
        """The TTL in seconds of the entry storing ``value`` for this call."""
        if self.per_entry is None:
            return self.seconds
        return self.per_entry(fn, args, kwargs, value)


def ttl_plan(ttl: TTL) -> TTLPlan:
    """Validate ``ttl`` now (decoration time) and return how to resolve it per entry."""
    if callable(ttl) and not isinstance(ttl, (timedelta, tuple)):
        user_fn = ttl

        def from_function(
            fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], value: Any
        ) -> float | None:
            return resolve_fixed(user_fn(fn, args, kwargs, value), what="ttl returned by the ttl function")

        return TTLPlan(per_entry=from_function)
    if isinstance(ttl, tuple):
        low, high = _jitter(ttl, what="ttl")
        uniform = random.uniform

        def jittered(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> float:
            return uniform(low, high)

        return TTLPlan(per_entry=jittered)
    return TTLPlan(seconds=ttl_seconds(ttl))
