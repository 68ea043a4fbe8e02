"""The validation layer: stored keys are one-to-one, TTLs and sizes are checked before any I/O,
and bad input never reaches the storage nor the circuit breaker."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from cache_core import (
    MAX_TTL,
    BackendError,
    BackendUnavailableError,
    CircuitBreaker,
    EncodeError,
    InvalidKeyError,
    InvalidTTLError,
    ValueTooLargeError,
)
from cache_core._keys import key_text
from cache_core._ttl import resolve_fixed
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import FakeClock, RowsBackend

_CHARS = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr), st.sampled_from(["\uffff", "b", "x", "s"]))
_KEYS = st.one_of(
    st.text(_CHARS, max_size=8),
    st.builds(lambda tail: "\uffff" + tail, st.text(_CHARS, max_size=6)),
    st.binary(max_size=8),
    st.builds(lambda text: text.encode("utf-8", "surrogatepass"), st.text(_CHARS, max_size=6)),
)


# -- stored keys --------------------------------------------------------------------------------


@settings(max_examples=200)
@given(first=_KEYS, second=_KEYS)
def test_two_keys_share_a_stored_key_only_when_they_are_the_same_key(first: str | bytes, second: str | bytes) -> None:
    same = type(first) is type(second) and first == second
    assert (key_text(first) == key_text(second)) is same


@settings(max_examples=200)
@given(key=_KEYS)
def test_stored_keys_are_valid_utf8_and_common_str_keys_stay_as_they_are(key: str | bytes) -> None:
    stored = key_text(key)
    stored.encode("utf-8")  # no lone surrogate: SQLite, MongoDB and Redis all take it
    if isinstance(key, str) and not key.startswith("\uffff") and not any(0xD800 <= ord(c) <= 0xDFFF for c in key):
        assert stored is key or stored == key


def test_bytes_like_keys_are_their_bytes() -> None:
    assert key_text(bytearray(b"\xff")) == key_text(memoryview(b"\xff")) == key_text(b"\xff")
    assert key_text(b"\xff") != key_text("hex:ff")


# -- TTLs -----------------------------------------------------------------------------------------

_ANY_TTL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**5000),
    st.floats(),
    st.timedeltas(),
    st.tuples(st.integers(), st.floats()),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=200)
@given(ttl=_ANY_TTL)
def test_any_ttl_gives_seconds_in_range_or_invalid_ttl_error(ttl: Any) -> None:
    try:
        seconds = resolve_fixed(ttl)
    except InvalidTTLError:
        return
    assert seconds is None or 0 <= seconds <= MAX_TTL


@pytest.mark.parametrize(
    "ttl",
    [10**20, 10**400, 10**5000, -(10**400), 1e308, MAX_TTL + 1, timedelta.max],
    ids=["1e20", "1e400", "1e5000", "-1e400", "1e308", "max+1", "timedelta.max"],
)
def test_ttls_past_max_ttl_say_so(ttl: Any) -> None:
    with pytest.raises(InvalidTTLError, match=r"MAX_TTL|negative"):
        resolve_fixed(ttl)


def test_max_ttl_and_infinity_are_accepted() -> None:
    assert resolve_fixed(MAX_TTL) == MAX_TTL
    assert resolve_fixed(timedelta(seconds=MAX_TTL)) == MAX_TTL
    assert resolve_fixed(math.inf) is None


# -- declared size limits -------------------------------------------------------------------------


class SmallRows(RowsBackend):
    """Storage that keeps entries of at most 100 bytes, keys (with namespace) of at most 20."""

    max_entry_bytes: ClassVar[int | None] = 100
    max_key_bytes: ClassVar[int | None] = 20


@pytest.fixture
def small(clock: FakeClock) -> SmallRows:
    return SmallRows(clock=clock, breaker=CircuitBreaker(failures=1, reset_after=3600))


def test_an_entry_at_the_limit_is_stored_and_one_byte_more_is_refused_before_io(small: SmallRows) -> None:
    overhead = len(small.serializer.encode("")) if small.serializer else 0
    fits = "a" * (100 - overhead - len("default") - len("k"))
    small.put("k", fits)
    operations = small.storage.operations
    with pytest.raises(ValueTooLargeError, match="at most 100 bytes") as raised:
        small.put("k", fits + "a")
    assert isinstance(raised.value, EncodeError)
    assert not isinstance(raised.value, BackendError)
    with pytest.raises(ValueTooLargeError):
        small.put_many({"other": 1, "k": fits + "a"})
    assert small.storage.operations == operations  # nothing reached the storage
    assert small.get("k") == fits
    assert small.get_or_default("other") is None
    assert small.breaker is not None
    assert not small.breaker.is_open


def test_keys_over_the_limit_are_invalid_key_errors_counted_in_utf8_bytes(small: SmallRows) -> None:
    small.put("k" * 13, 1)  # 7 bytes of namespace + 13
    small.put("é" * 6 + "k", 1)  # 12 + 1 bytes
    with pytest.raises(InvalidKeyError, match="at most 20 bytes"):
        small.put("é" * 7, 1)  # 14 bytes: 21 with the namespace
    with pytest.raises(InvalidKeyError):
        small.put("k" * 14, 1)
    with pytest.raises(InvalidKeyError):
        small.put("k", 1, namespace="a-long-namespace-name")
    assert small.breaker is not None
    assert not small.breaker.is_open


# -- bad input and the breaker's probe ------------------------------------------------------------


def test_bad_input_while_the_breaker_waits_to_probe_does_not_use_up_the_probe(clock: FakeClock) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_after=5, clock=lambda: now[0])
    backend = SmallRows(clock=clock, breaker=breaker)
    backend.put("k", "v")
    backend.storage.failure = OSError("down")
    with pytest.raises(BackendError):
        backend.get("k")
    assert breaker.is_open
    with pytest.raises(BackendUnavailableError):
        backend.get("k")
    backend.storage.failure = None
    now[0] = 6.0  # the next call is the probe
    with pytest.raises(InvalidTTLError):
        backend.put("k", "v", 10**400)
    with pytest.raises(ValueTooLargeError):
        backend.put("k", "v" * 200)
    with pytest.raises(InvalidKeyError):
        backend.put("k" * 50, "v")
    with pytest.raises(InvalidKeyError):
        backend.get("k", namespace="\ud800")
    assert backend.get("k") == "v"  # the probe went to this call, and closed the circuit
    assert not breaker.is_open
