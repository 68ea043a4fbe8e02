"""One value of every type the JSON coder supports, and an exact comparison."""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import math
import re
import uuid
from collections import deque
from pathlib import Path
from typing import Any

SAMPLE_VALUES: dict[str, Any] = {
    "none": None,
    "bytes": b"\x00\xffbinary",
    "str": "text with ünicode ✓",
    "int": 42,
    "big-int": 2**100,
    "negative-int": -7,
    "float": 3.25,
    "float-inf": math.inf,
    "bool": True,
    "dict": {"a": 1, "nested": {"b": [1, 2]}},
    "dict-int-keys": {1: "one", 2: "two"},
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "list": [1, "two", None, [3.0]],
    "tuple": (1, "two", (3, 4)),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "path": Path("/srv/some/file.txt"),
    "deque": deque([1, 2, 3], maxlen=5),
    "pattern": re.compile(r"^ab+c$", re.IGNORECASE),
    "time": dt.time(12, 30, 15, 123),
    "date": dt.date(2026, 11, 21),
    "datetime": dt.datetime(2026, 11, 21, 14, 30, 5, 1234),
    "datetime-tz": dt.datetime(2026, 11, 21, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    "timedelta": dt.timedelta(days=2, seconds=3, microseconds=4),
    "decimal": decimal.Decimal("3.14159265358979323846"),
    "ipv4-address": ipaddress.IPv4Address("192.168.0.1"),
    "ipv4-interface": ipaddress.IPv4Interface("192.168.0.1/24"),
    "ipv4-network": ipaddress.IPv4Network("10.0.0.0/8"),
    "ipv6-address": ipaddress.IPv6Address("::1"),
    "ipv6-interface": ipaddress.IPv6Interface("2001:db8::1/64"),
    "ipv6-network": ipaddress.IPv6Network("2001:db8::/32"),
    "mixed": {"when": dt.date(2020, 1, 1), "ids": (uuid.UUID(int=1),), "tags": {"x"}},
}


def same_value(got: Any, expected: Any) -> bool:  # noqa: PLR0911 - one case per type
    """Equal and of exactly the same types, all the way down."""
    if type(got) is not type(expected):
        return False
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(got)
    if isinstance(expected, re.Pattern):
        return bool(got.pattern == expected.pattern and got.flags == expected.flags)
    if isinstance(expected, deque):
        return bool(got.maxlen == expected.maxlen and same_value(list(got), list(expected)))
    if isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(same_value(a, b) for a, b in zip(got, expected, strict=True))
    if isinstance(expected, dict):
        return got.keys() == expected.keys() and all(same_value(got[k], expected[k]) for k in expected)
    if isinstance(expected, dt.datetime):
        return bool(got == expected and got.utcoffset() == expected.utcoffset())
    return bool(got == expected)
