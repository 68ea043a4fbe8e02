"""JsonSerializer and the cachetoolz-style coder registry."""

from __future__ import annotations

import collections
import decimal
import enum
import ipaddress
import json
import math
import pathlib
import pickle
import re
import sys
import uuid
import zoneinfo
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from cache_core._coder import Coder, JsonSerializer, coder, decoder, encoder
from cache_core._errors import DecodeError, EncodeError, SerializationError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st


@dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclass(frozen=True)
class Point3(Point):
    z: int


@dataclass(frozen=True)
class Money:
    amount: decimal.Decimal
    currency: str


class Unsupported:
    pass


class Color(enum.IntEnum):
    RED = 1


class MyTuple(tuple):  # type: ignore[type-arg]
    __slots__ = ()


Pair = collections.namedtuple("Pair", "left right")


def assert_identical(expected: Any, actual: Any) -> None:
    """Assert that ``actual`` has the type and value of ``expected``, all the way down."""
    assert type(actual) is type(expected), (expected, actual)
    if isinstance(expected, float):
        if math.isnan(expected):
            assert math.isnan(actual)
        else:
            assert actual == expected
            assert math.copysign(1, actual) == math.copysign(1, expected)
    elif isinstance(expected, decimal.Decimal):
        assert str(actual) == str(expected)
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for left, right in zip(expected, actual, strict=True):
            assert_identical(left, right)
    elif isinstance(expected, deque):
        assert actual.maxlen == expected.maxlen
        assert_identical(list(expected), list(actual))
    elif isinstance(expected, dict):
        assert_identical(list(expected.items()), list(actual.items()))
    elif isinstance(expected, (set, frozenset)):
        assert actual == expected
        assert {(type(item), item) for item in actual} == {(type(item), item) for item in expected}
    elif isinstance(expected, re.Pattern):
        assert_identical(expected.pattern, actual.pattern)
        assert actual.flags == expected.flags
    elif isinstance(expected, (datetime, time)):
        assert actual == expected
        assert actual.tzinfo == expected.tzinfo
        assert actual.utcoffset() == expected.utcoffset()
        assert actual.fold == expected.fold
    else:
        assert actual == expected


@pytest.fixture
def serializer() -> JsonSerializer:
    return JsonSerializer(coder=Coder())


def round_trip(serializer: JsonSerializer, value: Any) -> Any:
    encoded = serializer.encode(value)
    assert isinstance(encoded, bytes)
    encoded.decode("utf-8")  # always valid UTF-8
    return serializer.decode(encoded)


PLUS_0530 = timezone(timedelta(hours=5, minutes=30))
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")

SUPPORTED: dict[str, Any] = {
    "none": None,
    "bytes": b"\x00\xffbin",
    "bytes-empty": b"",
    "bytearray": bytearray(b"\x01\x02"),
    "str": "text",
    "str-unicode": "héllo ✓ 𝄞",
    "str-empty": "",
    "str-lone-surrogate": "a\ud800b",
    "int": 42,
    "int-negative": -7,
    "int-big": 2**200,
    "int-huge": 10**5000,
    "int-huge-negative": -(10**700) - 1,
    "float": 1.25,
    "float-nan": math.nan,
    "float-inf": math.inf,
    "float-minus-inf": -math.inf,
    "float-minus-zero": -0.0,
    "float-tiny": 5e-324,
    "bool-true": True,
    "bool-false": False,
    "dict": {"a": 1, "b": [2, 3]},
    "dict-empty": {},
    "set": {1, "two", (3, 4)},
    "set-empty": set(),
    "frozenset": frozenset({1, 2, frozenset({3})}),
    "list": [1, "a", None, [2.5]],
    "list-empty": [],
    "tuple": (1, "a", None),
    "tuple-empty": (),
    "tuple-single": ((1,),),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "path": pathlib.Path("/tmp/some dir/file.txt"),
    "path-relative": pathlib.Path("a/b"),
    "pure-posix-path": pathlib.PurePosixPath("/etc/hosts"),
    "pure-windows-path": pathlib.PureWindowsPath(r"C:\Users\me"),
    "deque": deque([1, (2, 3)]),
    "deque-maxlen": deque([1, 2, 3], maxlen=5),
    "pattern-str": re.compile(r"^a+\d$", re.IGNORECASE | re.MULTILINE),
    "pattern-bytes": re.compile(rb"\x00+", re.DOTALL),
    "time": time(12, 30, 15, 123),
    "time-aware": time(1, 2, 3, tzinfo=PLUS_0530),
    "time-zoneinfo": time(1, 2, 3, tzinfo=NEW_YORK),
    "date": date(2024, 2, 29),
    "datetime": datetime(2024, 2, 29, 23, 59, 59, 999999),
    "datetime-utc": datetime(2024, 1, 1, tzinfo=timezone.utc),
    "datetime-offset": datetime(2024, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    "datetime-seconds-offset": datetime(1900, 1, 1, tzinfo=timezone(timedelta(seconds=1234))),
    "datetime-zoneinfo": datetime(2024, 7, 1, 12, tzinfo=NEW_YORK),
    "datetime-zoneinfo-fold": datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK),
    "datetime-zoneinfo-gap": datetime(2021, 3, 14, 2, 30, tzinfo=NEW_YORK),
    "timedelta": timedelta(days=-2, seconds=5, microseconds=7),
    "timedelta-zero": timedelta(0),
    "decimal": decimal.Decimal("3.14159265358979323846264338327950288"),
    "decimal-exponent": decimal.Decimal("1.50E+3"),
    "decimal-minus-zero": decimal.Decimal("-0"),
    "decimal-nan": decimal.Decimal("NaN"),
    "decimal-snan": decimal.Decimal("-sNaN"),
    "decimal-infinity": decimal.Decimal("-Infinity"),
    "ipv4-address": ipaddress.IPv4Address("192.168.0.1"),
    "ipv4-interface": ipaddress.IPv4Interface("10.1.2.3/8"),
    "ipv4-network": ipaddress.IPv4Network("10.0.0.0/8"),
    "ipv6-address": ipaddress.IPv6Address("2001:db8::1"),
    "ipv6-address-scoped": ipaddress.IPv6Address("fe80::1%eth0"),
    "ipv6-interface": ipaddress.IPv6Interface("2001:db8::1/64"),
    "ipv6-network": ipaddress.IPv6Network("2001:db8::/32"),
}


@pytest.mark.parametrize("value", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_supported_types_round_trip(serializer: JsonSerializer, value: Any) -> None:
    assert_identical(value, round_trip(serializer, value))


@pytest.mark.parametrize("value", SUPPORTED.values(), ids=SUPPORTED.keys())
def test_supported_types_round_trip_nested(serializer: JsonSerializer, value: Any) -> None:
    nested = {"in-list": [value], "in-tuple": (value, value), "in-dict": {"k": {"deeper": value}}}
    assert_identical(nested, round_trip(serializer, nested))


def test_deeply_mixed_structure(serializer: JsonSerializer) -> None:
    value = {
        "rows": [
            (1, date(2020, 1, 1), {"tags": {"a", "b"}, "raw": b"\x00"}),
            (2, None, {"tags": frozenset(), "raw": bytearray()}),
        ],
        ("composite", 1): deque([{1: [uuid.UUID(int=1)]}], maxlen=3),
        "nested": [[[[(decimal.Decimal("1.1"),)]]]],
    }
    assert_identical(value, round_trip(serializer, value))


def test_default_serializer_uses_global_coder() -> None:
    assert JsonSerializer().coder is coder
    assert_identical((1, b"x"), round_trip(JsonSerializer(), (1, b"x")))


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key", 2: "two"},
        {1.5: "float key", None: "none key", True: "bool key"},
        {(1, "a"): "tuple key", frozenset({1}): "frozenset key"},
        {"!": "the tag marker as a key"},
        {"!": 1, "other": (1, 2)},
        {"u:x": 1, "dict": 2, "p": 3, "t": 4},
        {"str": 1, 2: "mixed keys", (3,): "keep order"},
        {date(2020, 1, 1): "date key", uuid.UUID(int=5): "uuid key"},
        {Color.RED: "enum key", b"k": "bytes key"},
        {"outer": {"!": {"!": ("nested",)}}},
        {"!cache-core": 1, "value": 2},
        {"!cache-core": 1, "value": (2,)},
        {"k": {"!cache-core": 1, "value": {"!": ["tuple", [1]]}}},
    ],
    ids=[
        "int",
        "float-none-bool",
        "tuple-frozenset",
        "marker-plain",
        "marker-tagged",
        "tag-like-strings",
        "mixed",
        "date-uuid",
        "enum-bytes",
        "marker-nested",
        "envelope-lookalike",
        "envelope-lookalike-tagged",
        "envelope-and-tag-lookalike-nested",
    ],
)
def test_dict_keys(serializer: JsonSerializer, value: dict[Any, Any]) -> None:
    decoded = round_trip(serializer, value)
    if Color.RED in value:  # an IntEnum key comes back as its int
        value = {int(key) if isinstance(key, Color) else key: item for key, item in value.items()}
    assert_identical(value, decoded)


def test_bool_and_int_keys_stay_apart(serializer: JsonSerializer) -> None:
    assert_identical({True: "a", 2: "b"}, round_trip(serializer, {True: "a", 2: "b"}))
    assert_identical([True, 1, False, 0], round_trip(serializer, [True, 1, False, 0]))
    assert_identical({1: True}, round_trip(serializer, {1: True}))


def compact_json(value: Any) -> bytes:
    """``value``'s compact JSON in UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@pytest.mark.parametrize(
    "value",
    [
        {"name": "x", "n": [1, 2.5, None, True, {"deep": "é"}]},
        {"page": 1},
        [],
        "text",
        -0.0,
        2**1990 - 1,
        {"!": ["tuple", [1, 2]]},
        {"k": {"!cache-core": 1, "value": 2}},
        {"value": 1},
    ],
    ids=["nested", "page", "list", "str", "minus-zero", "int-below-limit", "tag-lookalike", "nested-envelope", "value"],
)
def test_json_only_values_are_written_as_their_own_json(serializer: JsonSerializer, value: Any) -> None:
    encoded = serializer.encode(value)
    assert encoded == compact_json(value)
    assert json.loads(encoded) == value
    assert_identical(value, serializer.decode(encoded))


def test_a_top_level_dict_with_the_envelope_key_is_the_one_exception(serializer: JsonSerializer) -> None:
    value = {"!cache-core": 2, "value": "mine"}
    encoded = serializer.encode(value)
    assert json.loads(encoded) == {"!cache-core": 1, "value": value}
    assert_identical(value, serializer.decode(encoded))


@pytest.mark.parametrize(
    "value",
    [(1,), {1: 1}, {"a": {"b": [b""]}}, 2**1990, math.nan, [math.inf], {"!": (1,)}],
    ids=["tuple", "int-key", "nested-bytes", "int-beyond-limit", "nan", "inf-in-list", "tag-key-with-tuple"],
)
def test_other_values_use_the_tagged_form(serializer: JsonSerializer, value: Any) -> None:
    encoded = serializer.encode(value)
    assert encoded.startswith(b'{"!cache-core":1,"value":')
    envelope = json.loads(encoded, parse_constant=reject_constant)
    assert set(envelope) == {"!cache-core", "value"}


def test_subclasses_of_json_types_alone_are_written_as_plain_json(serializer: JsonSerializer) -> None:
    class Status(str, enum.Enum):
        OK = "ok"

    value = {"status": Status.OK, "color": Color.RED, "counts": collections.Counter("aab")}
    encoded = serializer.encode(value)
    assert encoded == b'{"status":"ok","color":1,"counts":{"a":2,"b":1}}'
    assert serializer.encode([Status.OK, (1,)]).startswith(b'{"!cache-core":1,')


def reject_constant(name: str) -> Any:
    """``parse_constant`` for ``json.loads``: NaN and Infinity are not JSON."""
    raise AssertionError(f"{name} is not JSON")


# Properties over every supported type, nested, with user dicts shaped like the tagged form.

#: The three cachetoolz ways to register a type, on a registry of the property tests' own.
PROPERTY_CODER = Coder()


@PROPERTY_CODER.register
class PointCoder:
    @staticmethod
    def encode(value: Point) -> list[int]:
        return [value.x, value.y]

    @staticmethod
    def decode(value: list[int]) -> Point:
        return Point(*value)


@PROPERTY_CODER.encoder.register("money")
def encode_money(value: Money) -> list[Any]:
    return [value.amount, value.currency]


@PROPERTY_CODER.decoder.register("money")
def decode_money(value: list[Any]) -> Money:
    return Money(*value)


PROPERTY_SERIALIZER = JsonSerializer(coder=PROPERTY_CODER)
PROPERTIES = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Strings a tag or envelope uses, so that user data hits them often.
TAG_LIKE = ["!", "!cache-core", "value", "u:money", "dict", "tuple", "float", "nan", "p", "t"]
#: Text with surrogate code points (not text to UTF-8): alone, and a high one right before a low one.
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
SURROGATE_PAIRS = st.builds(
    lambda high, low: chr(high) + chr(low), st.integers(0xD800, 0xDBFF), st.integers(0xDC00, 0xDFFF)
)
TEXT_WITH_SURROGATES = st.lists(
    st.one_of(st.characters(exclude_categories=()), SURROGATES, SURROGATE_PAIRS), max_size=8
).map("".join)
TEXT = st.one_of(st.sampled_from(TAG_LIKE), st.text(st.characters(exclude_categories=())), TEXT_WITH_SURROGATES)
#: Unicode text: what JSON's strings hold (no surrogate code points).
JSON_TEXT = st.one_of(st.sampled_from(TAG_LIKE), st.text(st.characters(exclude_categories=["Cs"])))
HUGE_INTS = st.integers(min_value=2**1985, max_value=2**2100)
INTS = st.one_of(st.integers(), HUGE_INTS, HUGE_INTS.map(lambda n: -n))
ZONES = st.one_of(
    st.none(),
    st.timezones(),
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
    # CPython 3.11's fromisoformat reads an offset of microseconds alone ("+00:00:00.000001") as UTC.
    .filter(lambda offset: not timedelta(0) < abs(offset) < timedelta(seconds=1))
    .map(timezone),
)
BITS = st.integers(0, 128)
IP_ADDRESSES = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))
HASHABLE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INTS,
    st.floats(allow_nan=False),  # NaN is in no set: it equals nothing, not even itself
    TEXT,
    st.binary(max_size=8),
    st.dates(),
    st.times(timezones=ZONES),
    st.datetimes(timezones=ZONES),
    st.timedeltas(),
    st.decimals(allow_nan=False),
    st.uuids(),
    st.builds(pathlib.Path, TEXT.filter(lambda text: "\x00" not in text)),
    st.builds(pathlib.PurePosixPath, TEXT),
    st.builds(pathlib.PureWindowsPath, TEXT),
    IP_ADDRESSES,
    st.builds(
        lambda address, bits: ipaddress.ip_interface((address, bits % (address.max_prefixlen + 1))),
        IP_ADDRESSES,
        BITS,
    ),
    st.builds(
        lambda address, bits: ipaddress.ip_network((address, bits % (address.max_prefixlen + 1)), strict=False),
        IP_ADDRESSES,
        BITS,
    ),
    st.builds(Point, st.integers(), st.integers()),
    st.builds(Money, st.decimals(allow_nan=False, allow_infinity=False), TEXT),
)
HASHABLE = st.recursive(
    HASHABLE_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(tuple), st.frozensets(inner, max_size=3)),
    max_leaves=6,
)
SCALARS = st.one_of(
    HASHABLE_SCALARS,
    st.floats(),
    st.decimals(),
    st.binary(max_size=8).map(bytearray),
    st.builds(re.compile, TEXT.map(re.escape), st.sampled_from([0, re.IGNORECASE, re.MULTILINE | re.DOTALL])),
    st.builds(re.compile, st.binary(max_size=8).map(re.escape), st.sampled_from([0, re.IGNORECASE])),
)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(TEXT, inner, max_size=4),
        st.dictionaries(HASHABLE, inner, max_size=3),
        st.sets(HASHABLE, max_size=3),
        st.frozensets(HASHABLE, max_size=3),
        st.builds(deque, st.lists(inner, max_size=4), st.none() | st.integers(0, 5)),
        # User data shaped like a tag or like the envelope, exactly or nearly.
        st.builds(lambda name, payload: {"!": [name, payload]}, TEXT, inner),
        st.builds(lambda payload, rest: {"!": payload, **rest}, inner, st.dictionaries(TEXT, inner, max_size=2)),
        st.builds(lambda version, payload: {"!cache-core": version, "value": payload}, st.integers(0, 2), inner),
    )


VALUES = st.recursive(SCALARS, containers, max_leaves=20)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**1989), max_value=2**1989),
        st.floats(allow_nan=False, allow_infinity=False),
        JSON_TEXT,
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=20,
)


@PROPERTIES
@given(value=VALUES)
def test_every_value_round_trips_as_json_text(value: Any) -> None:
    encoded = PROPERTY_SERIALIZER.encode(value)
    json.loads(encoded.decode("utf-8"), parse_constant=reject_constant)
    assert_identical(value, PROPERTY_SERIALIZER.decode(encoded))


@PROPERTIES
@given(value=st.dictionaries(st.sampled_from(TAG_LIKE), VALUES, min_size=1))
def test_user_dicts_with_tag_keys_round_trip(value: dict[str, Any]) -> None:
    assert_identical(value, PROPERTY_SERIALIZER.decode(PROPERTY_SERIALIZER.encode(value)))


@PROPERTIES
@given(value=JSON_VALUES)
def test_json_only_values_are_exactly_their_json(value: Any) -> None:
    assume(not (type(value) is dict and "!cache-core" in value))  # the one exception, tested above
    encoded = PROPERTY_SERIALIZER.encode(value)
    assert encoded == compact_json(value)
    assert json.loads(encoded) == value
    assert_identical(value, PROPERTY_SERIALIZER.decode(encoded))


@PROPERTIES
@given(value=JSON_VALUES, indent=st.none() | st.integers(0, 2), sort_keys=st.booleans())
def test_json_written_by_another_program_reads_as_itself(value: Any, indent: int | None, sort_keys: bool) -> None:
    assume(not (type(value) is dict and "!cache-core" in value))
    text = json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=True, allow_nan=False)
    assert_identical(json.loads(text), PROPERTY_SERIALIZER.decode(text.encode()))


def test_plain_and_tagged_documents_read_plain_data_alike(serializer: JsonSerializer) -> None:
    plain = {"s": 'é\u2028"\\', "n": [0, -1, 1e300, -0.0, math.inf], "m": {"x": None, "y": False}}
    from_plain = serializer.decode(serializer.encode(plain))
    (from_tagged,) = serializer.decode(serializer.encode((plain,)))
    assert_identical(from_plain, from_tagged)
    assert_identical(plain, from_plain)


def test_int_limit_boundary(serializer: JsonSerializer) -> None:
    below = 2**1990 - 1
    assert serializer.encode(below) == str(below).encode()
    assert_identical(-below, round_trip(serializer, -below))
    assert_identical(2**1990, round_trip(serializer, 2**1990))


def test_huge_int_survives_the_lowest_digit_limit(serializer: JsonSerializer) -> None:
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("no int digit limit on this Python")
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        value = [2**1989, -(2**1989), 10**1000]
        assert_identical(value, round_trip(serializer, value))
    finally:
        sys.set_int_max_str_digits(previous)


def test_subclasses_of_json_types_come_back_as_the_json_type(serializer: JsonSerializer) -> None:
    class Name(str):
        __slots__ = ()

        def __str__(self) -> str:
            return "overridden"

    value = [Color.RED, Name("n"), collections.OrderedDict(a=1), collections.Counter("aa")]
    assert_identical([1, "n", {"a": 1}, {"a": 2}], round_trip(serializer, value))


def test_subclasses_of_builtin_types_use_the_builtin_encoder(serializer: JsonSerializer) -> None:
    value = [MyTuple((1, 2)), Pair(1, 2), collections.defaultdict(int, {(1,): 2})]
    assert_identical([(1, 2), (1, 2), {(1,): 2}], round_trip(serializer, value))


def test_datetime_is_not_taken_for_a_date(serializer: JsonSerializer) -> None:
    value = [datetime(2020, 1, 2, 3, 4), date(2020, 1, 2)]
    assert_identical(value, round_trip(serializer, value))


def test_output_is_valid_utf8_for_lone_surrogates(serializer: JsonSerializer) -> None:
    encoded = serializer.encode({"k\udfff": ["\ud800", (1,)]})
    encoded.decode("utf-8")
    assert_identical({"k\udfff": ["\ud800", (1,)]}, serializer.decode(encoded))


@pytest.mark.parametrize(
    "value",
    [
        "\ud800\udc00",
        chr(0xDBFF) + chr(0xDFFF),
        "a\ud83d\ude00b",
        ["\ud800\udc00", "\U00010000"],
        {"\ud800\udc00": 1, "\U00010000": 2},
        {"\ud800\udc00": ("\udc00\ud800",)},
        pathlib.PurePosixPath("/tmp/\udced\udca0\udc80\udced\udcb0\udc80"),
    ],
    ids=["pair", "last-pair", "pair-in-text", "pair-beside-its-character", "keys", "key-and-reversed", "path"],
)
def test_surrogate_pairs_are_not_joined(serializer: JsonSerializer, value: Any) -> None:
    """A high surrogate followed by a low one is two code points, not the character they spell in UTF-16."""
    decoded = round_trip(serializer, value)
    assert_identical(value, decoded)
    assert decoded == value


def test_text_with_surrogates_is_tagged_and_other_text_is_json(serializer: JsonSerializer) -> None:
    assert serializer.encode("\U00010000") == '"\U00010000"'.encode()
    encoded = serializer.encode("\ud800\udc00")
    assert encoded != serializer.encode("\U00010000")
    assert json.loads(encoded) == {"!cache-core": 1, "value": {"!": ["str", "7aCA7bCA"]}}
    assert serializer.encode(["\ud800", "ok"]) == b'{"!cache-core":1,"value":[{"!":["str","7aCA"]},"ok"]}'


def test_a_surrogate_in_a_registered_name_is_an_encode_error() -> None:
    registry = Coder()

    @registry.encoder.register("bad\ud800")
    def encode_point(value: Point) -> list[int]:
        return [value.x, value.y]

    with pytest.raises(EncodeError, match="UTF-8"):
        JsonSerializer(coder=registry).encode(Point(1, 2))


@PROPERTIES
@given(text=TEXT_WITH_SURROGATES, other=TEXT_WITH_SURROGATES)
def test_text_with_surrogates_round_trips_exactly(text: str, other: str) -> None:
    """Exact round trips for text with lone and adjacent surrogates: alone, nested, as keys, in other types."""
    for value in (text, [text, other], {text: other, "k": [text]}, {text: (other,)}, pathlib.PurePosixPath(text)):
        encoded = PROPERTY_SERIALIZER.encode(value)
        json.loads(encoded.decode("utf-8"), parse_constant=reject_constant)
        decoded = PROPERTY_SERIALIZER.decode(encoded)
        assert_identical(value, decoded)
        assert decoded == value


@pytest.mark.parametrize("wrap", [bytearray, memoryview, bytes.decode], ids=["bytearray", "memoryview", "str"])
def test_decode_accepts_bytes_like_and_text(serializer: JsonSerializer, wrap: Any) -> None:
    value = {"a": (1, 2)}
    assert_identical(value, serializer.decode(wrap(serializer.encode(value))))


# The stored format is a contract: data written by this release must stay readable.
def tagged(document: bytes) -> bytes:
    return b'{"!cache-core":1,"value":' + document + b"}"


WIRE_FORMAT: dict[str, tuple[bytes, Any]] = {
    "plain": (b'{"a":[1,2.5,null,true],"b":"\xc3\xa9"}', {"a": [1, 2.5, None, True], "b": "é"}),
    "plain-from-another-writer": (b' {"a": [1, 2],\n "b": {"!": 1}}\n', {"a": [1, 2], "b": {"!": 1}}),
    "float-specials": (
        tagged(b'[{"!":["float","nan"]},{"!":["float","inf"]},{"!":["float","-inf"]}]'),
        [math.nan, math.inf, -math.inf],
    ),
    "tuple": (tagged(b'{"!":["tuple",[1,"a"]]}'), (1, "a")),
    "set": (tagged(b'{"!":["set",[1]]}'), {1}),
    "frozenset": (tagged(b'{"!":["frozenset",[]]}'), frozenset()),
    "dict": (tagged(b'{"!":["dict",[[1,"a"],["!",2]]]}'), {1: "a", "!": 2}),
    "envelope-key-dict": (tagged(b'{"!cache-core":1,"value":2}'), {"!cache-core": 1, "value": 2}),
    "int": (tagged(b'{"!":["int","-ff"]}'), -255),
    "bytes": (tagged(b'{"!":["bytes","AP8="]}'), b"\x00\xff"),
    "bytearray": (tagged(b'{"!":["bytearray","AQ=="]}'), bytearray(b"\x01")),
    "uuid": (tagged(b'{"!":["uuid","00000000-0000-0000-0000-000000000001"]}'), uuid.UUID(int=1)),
    "path": (tagged(b'{"!":["path","/x/y"]}'), pathlib.Path("/x/y")),
    "pureposixpath": (tagged(b'{"!":["pureposixpath","/x"]}'), pathlib.PurePosixPath("/x")),
    "purewindowspath": (tagged(b'{"!":["purewindowspath","C:\\\\x"]}'), pathlib.PureWindowsPath("C:\\x")),
    "deque": (tagged(b'{"!":["deque",[[1,2],3]]}'), deque([1, 2], maxlen=3)),
    "pattern": (tagged(b'{"!":["pattern",["a+",34]]}'), re.compile("a+", re.IGNORECASE)),
    "time": (tagged(b'{"!":["time","01:02:03+05:30"]}'), time(1, 2, 3, tzinfo=PLUS_0530)),
    "time-zoneinfo": (tagged(b'{"!":["time",["01:02:03","America/New_York",0]]}'), time(1, 2, 3, tzinfo=NEW_YORK)),
    "date": (tagged(b'{"!":["date","2020-01-02"]}'), date(2020, 1, 2)),
    "datetime": (tagged(b'{"!":["datetime","2020-01-02T03:04:05.000006"]}'), datetime(2020, 1, 2, 3, 4, 5, 6)),
    "datetime-zoneinfo": (
        tagged(b'{"!":["datetime",["2021-11-07T01:30:00-05:00","America/New_York",1]]}'),
        datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK),
    ),
    "timedelta": (tagged(b'{"!":["timedelta",[-1,2,3]]}'), timedelta(-1, 2, 3)),
    "decimal": (tagged(b'{"!":["decimal","-1.50"]}'), decimal.Decimal("-1.50")),
    "ipv4address": (tagged(b'{"!":["ipv4address","1.2.3.4"]}'), ipaddress.IPv4Address("1.2.3.4")),
    "ipv4interface": (tagged(b'{"!":["ipv4interface","1.2.3.4/24"]}'), ipaddress.IPv4Interface("1.2.3.4/24")),
    "ipv4network": (tagged(b'{"!":["ipv4network","1.2.3.0/24"]}'), ipaddress.IPv4Network("1.2.3.0/24")),
    "ipv6address": (tagged(b'{"!":["ipv6address","::1"]}'), ipaddress.IPv6Address("::1")),
    "ipv6interface": (tagged(b'{"!":["ipv6interface","::1/128"]}'), ipaddress.IPv6Interface("::1/128")),
    "ipv6network": (tagged(b'{"!":["ipv6network","::/0"]}'), ipaddress.IPv6Network("::/0")),
    "nested": (tagged(b'[{"!":["tuple",[{"!":["bytes",""]}]]},{"k":{"!":["set",[]]}}]'), [(b"",), {"k": set()}]),
    "envelope-from-another-writer": (b'{ "value" : {"!": ["tuple", [1]]}, "!cache-core" : 1 }', (1,)),
}


@pytest.mark.parametrize(("stored", "value"), WIRE_FORMAT.values(), ids=WIRE_FORMAT.keys())
def test_wire_format_version_1_stays_readable(serializer: JsonSerializer, stored: bytes, value: Any) -> None:
    assert_identical(value, serializer.decode(stored))
    json.loads(stored, parse_constant=reject_constant)  # every stored form is JSON


def test_wire_format_version_1_is_written() -> None:
    value = [(1, "a"), {1: b"\x00"}, {"!": None}, math.inf]
    expected = tagged(
        b'[{"!":["tuple",[1,"a"]]},{"!":["dict",[[1,{"!":["bytes","AA=="]}]]]},{"!":["dict",[["!",null]]]},'
        b'{"!":["float","inf"]}]'
    )
    assert JsonSerializer(coder=Coder()).encode(value) == expected


# Registration: the cachetoolz forms, with the typos of its examples (val/value) corrected.


def test_register_class_with_classmethods() -> None:
    registry = Coder()

    @registry.register
    class DequeCoder:
        @classmethod
        def encode(cls, value: deque[Any]) -> dict[str, Any]:
            return {"iterable": list(value), "maxlen": value.maxlen}

        @classmethod
        def decode(cls, value: dict[str, Any]) -> deque[Any]:
            return deque(value["iterable"], value["maxlen"])

    assert isinstance(DequeCoder, type)
    serializer = JsonSerializer(coder=registry)
    encoded = serializer.encode(deque([1, (2,)], maxlen=4))
    assert b"u:collections.deque" in encoded
    assert b"iterable" in encoded
    assert_identical(deque([1, (2,)], maxlen=4), serializer.decode(encoded))


def test_register_class_with_staticmethods() -> None:
    registry = Coder()

    @registry.register
    class PointCoder:
        @staticmethod
        def encode(value: Point) -> list[int]:
            return [value.x, value.y]

        @staticmethod
        def decode(value: list[int]) -> Point:
            return Point(*value)

    assert PointCoder.__name__ == "PointCoder"
    value = {"origin": Point(0, 0), "points": (Point(1, 2),)}
    assert_identical(value, round_trip(JsonSerializer(coder=registry), value))


def test_register_class_with_instance_methods() -> None:
    registry = Coder()
    created: list[object] = []

    class PointCoder:
        def __init__(self) -> None:
            created.append(self)

        def encode(self, value: Point) -> dict[str, int]:
            return {"x": value.x, "y": value.y}

        def decode(self, value: dict[str, int]) -> Point:
            return Point(**value)

    assert registry.register(PointCoder) is PointCoder
    assert len(created) == 1
    assert_identical([Point(3, 4)], round_trip(JsonSerializer(coder=registry), [Point(3, 4)]))


def test_register_instance_with_init_arguments() -> None:
    registry = Coder()

    class MoneyCoder:
        def __init__(self, default_currency: str) -> None:
            self.default_currency = default_currency

        def encode(self, value: Money) -> list[Any]:
            currency = None if value.currency == self.default_currency else value.currency
            return [value.amount, currency]

        def decode(self, value: list[Any]) -> Money:
            amount, currency = value
            return Money(amount, currency or self.default_currency)

    instance = MoneyCoder(default_currency="EUR")
    assert registry.register(instance) is instance
    value = [Money(decimal.Decimal("9.99"), "EUR"), Money(decimal.Decimal("1"), "USD")]
    assert_identical(value, round_trip(JsonSerializer(coder=registry), value))


def test_encoder_and_decoder_register_by_name() -> None:
    registry = Coder()

    def encode_deque(value: deque[Any]) -> dict[str, Any]:
        return {"iterable": list(value), "maxlen": value.maxlen}

    def decode_deque(value: dict[str, Any]) -> deque[Any]:
        return deque(value["iterable"], value["maxlen"])

    assert registry.encoder.register("deque")(encode_deque) is encode_deque
    assert registry.decoder.register("deque")(decode_deque) is decode_deque
    serializer = JsonSerializer(coder=registry)
    encoded = serializer.encode(deque("ab", maxlen=2))
    assert b'"u:deque"' in encoded
    assert b"iterable" in encoded
    assert_identical(deque("ab", maxlen=2), serializer.decode(encoded))


def test_decoder_can_be_registered_before_its_encoder() -> None:
    registry = Coder()

    @registry.decoder.register("point")
    def _decode(value: list[int]) -> Point:
        return Point(*value)

    @registry.encoder.register("point")
    def _encode(value: Point) -> list[int]:
        return [value.x, value.y]

    assert_identical(Point(1, 2), round_trip(JsonSerializer(coder=registry), Point(1, 2)))


def test_union_annotation_registers_each_type() -> None:
    registry = Coder()

    @registry.encoder.register("shape")
    def _encode(value: Point | Money) -> list[Any]:
        return [type(value).__name__, *vars(value).values()]

    @registry.decoder.register("shape")
    def _decode(value: list[Any]) -> Point | Money:
        kind, *fields = value
        return Point(*fields) if kind == "Point" else Money(*fields)

    value = [Point(1, 2), Money(decimal.Decimal(5), "EUR")]
    assert_identical(value, round_trip(JsonSerializer(coder=registry), value))


def test_registered_type_wins_over_builtin() -> None:
    registry = Coder()

    @registry.encoder.register("my-uuid")
    def _encode(value: uuid.UUID) -> int:
        return value.int

    @registry.decoder.register("my-uuid")
    def _decode(value: int) -> uuid.UUID:
        return uuid.UUID(int=value)

    serializer = JsonSerializer(coder=registry)
    assert serializer.encode(uuid.UUID(int=7)) == tagged(b'{"!":["u:my-uuid",7]}')
    assert_identical(uuid.UUID(int=7), serializer.decode(serializer.encode(uuid.UUID(int=7))))
    # data written by the built-in encoder stays readable
    assert_identical(uuid.UUID(int=1), serializer.decode(WIRE_FORMAT["uuid"][0]))


def test_user_name_cannot_clash_with_builtin_name() -> None:
    registry = Coder()

    @registry.encoder.register("tuple")
    def _encode(value: Point) -> list[int]:
        return [value.x, value.y]

    @registry.decoder.register("tuple")
    def _decode(value: list[int]) -> Point:
        return Point(*value)

    value = [Point(1, 2), (1, 2)]
    assert_identical(value, round_trip(JsonSerializer(coder=registry), value))


def test_subclass_uses_parent_encoder_unless_it_has_its_own() -> None:
    registry = Coder()

    @registry.encoder.register("point")
    def _encode_point(value: Point) -> list[int]:
        return [value.x, value.y]

    @registry.decoder.register("point")
    def _decode_point(value: list[int]) -> Point:
        return Point(*value)

    serializer = JsonSerializer(coder=registry)
    assert_identical(Point(1, 2), round_trip(serializer, Point3(1, 2, 3)))

    @registry.encoder.register("point3")
    def _encode_point3(value: Point3) -> list[int]:
        return [value.x, value.y, value.z]

    @registry.decoder.register("point3")
    def _decode_point3(value: list[int]) -> Point3:
        return Point3(*value)

    assert_identical([Point3(1, 2, 3), Point(4, 5)], round_trip(serializer, [Point3(1, 2, 3), Point(4, 5)]))


def test_registered_subclass_of_json_type() -> None:
    registry = Coder()

    @registry.encoder.register("color")
    def _encode(value: Color) -> str:
        return value.name

    @registry.decoder.register("color")
    def _decode(value: str) -> Color:
        return Color[value]

    assert round_trip(JsonSerializer(coder=registry), [Color.RED, 1]) == [Color.RED, 1]


def test_unregister() -> None:
    registry = Coder()

    @registry.encoder.register("point")
    def _encode(value: Point) -> list[int]:
        return [value.x, value.y]

    registry.unregister(Point)
    with pytest.raises(EncodeError):
        registry.encode(Point(1, 2))
    with pytest.raises(KeyError):
        registry.unregister(Point)


def test_registries_are_independent() -> None:
    first, second = Coder(), Coder()

    @first.encoder.register("point")
    def _encode(value: Point) -> list[int]:
        return [value.x, value.y]

    first.encode(Point(1, 2))
    with pytest.raises(EncodeError):
        second.encode(Point(1, 2))


@pytest.fixture
def global_point_coder() -> Iterator[None]:
    @coder.register
    class PointCoder:
        def encode(self, value: Point) -> list[int]:
            return [value.x, value.y]

        def decode(self, value: list[int]) -> Point:
            return Point(*value)

    @encoder.register("tests.money")
    def _encode(value: Money) -> list[Any]:
        return [value.amount, value.currency]

    @decoder.register("tests.money")
    def _decode(value: list[Any]) -> Money:
        return Money(*value)

    try:
        yield
    finally:
        coder.unregister(Point)
        coder.unregister(Money)


@pytest.mark.usefixtures("global_point_coder")
def test_global_coder_encoder_and_decoder() -> None:
    assert encoder is coder.encoder
    assert decoder is coder.decoder
    value = {"p": Point(1, 2), "m": Money(decimal.Decimal("2.50"), "EUR")}
    assert_identical(value, round_trip(JsonSerializer(), value))
    with pytest.raises(EncodeError):
        JsonSerializer(coder=Coder()).encode(value)


def test_global_coder_cleaned_up() -> None:
    with pytest.raises(EncodeError):
        JsonSerializer().encode(Point(1, 2))


# Bad input.


@pytest.mark.parametrize(
    "value",
    [Unsupported(), [1, Unsupported()], {"k": (Unsupported(),)}, {Unsupported(): 1}, {1, Unsupported()}],
    ids=["top", "in-list", "in-tuple-in-dict", "as-key", "in-set"],
)
def test_unsupported_type_is_named(serializer: JsonSerializer, value: Any) -> None:
    with pytest.raises(EncodeError, match=r"\.Unsupported\b") as caught:
        serializer.encode(value)
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, SerializationError)
    assert "test_coder" in str(caught.value)
    assert "coder.register" in str(caught.value)


def test_unsupported_builtin_type_is_named(serializer: JsonSerializer) -> None:
    with pytest.raises(EncodeError, match=r"type object\b"):
        serializer.encode(object())
    with pytest.raises(EncodeError, match=r"type complex\b"):
        serializer.encode([1j])


def test_circular_value(serializer: JsonSerializer) -> None:
    looped: list[Any] = [1]
    looped.append(looped)
    with pytest.raises(EncodeError, match="contains itself"):
        serializer.encode(looped)
    tagged_loop: dict[str, Any] = {"t": (1,)}
    tagged_loop["self"] = [tagged_loop]
    with pytest.raises(EncodeError, match="contains itself"):
        serializer.encode(tagged_loop)


def test_failing_encoder() -> None:
    registry = Coder()

    @registry.encoder.register("point")
    def _encode(value: Point) -> list[int]:
        raise RuntimeError("boom")

    with pytest.raises(EncodeError, match="boom") as caught:
        registry.encode([Point(1, 2)])
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_register_without_annotation_names_the_function() -> None:
    registry = Coder()

    def encode_thing(value):  # type: ignore[no-untyped-def]
        return value

    with pytest.raises(TypeError, match=r"encode_thing.*annotat"):
        registry.encoder.register("thing")(encode_thing)

    class NoAnnotation:
        def encode(self, value):  # type: ignore[no-untyped-def]
            return value

        def decode(self, value):  # type: ignore[no-untyped-def]
            return value

    with pytest.raises(TypeError, match=r"NoAnnotation\.encode.*annotat"):
        registry.register(NoAnnotation)


def test_register_without_parameter() -> None:
    registry = Coder()

    def no_parameter() -> None:
        return None

    with pytest.raises(TypeError, match=r"no_parameter.*'value'"):
        registry.encoder.register("thing")(no_parameter)


def test_register_with_unresolvable_annotation() -> None:
    registry = Coder()

    class LocalOnly:
        pass

    def encode_local(value: LocalOnly) -> None:
        return None

    with pytest.raises(TypeError, match=r"resolve the annotation 'LocalOnly' of encoder .*encode_local"):
        registry.encoder.register("local")(encode_local)


@pytest.mark.parametrize("annotation", [Any, int, str, list[int], dict[str, int], type(None), "Point | None"])
def test_register_with_unusable_annotation(annotation: Any) -> None:
    registry = Coder()

    def encode_it(value: Any) -> None:
        return None

    encode_it.__annotations__["value"] = annotation
    with pytest.raises(TypeError, match="encode_it"):
        registry.encoder.register("it")(encode_it)


def test_register_misuse() -> None:
    registry = Coder()

    class NeedsArguments:
        def __init__(self, required: int) -> None:
            self.required = required

        def encode(self, value: Point) -> None:
            return None

        def decode(self, value: Any) -> None:
            return None

    with pytest.raises(TypeError, match="register an instance instead"):
        registry.register(NeedsArguments)

    class NoDecode:
        def encode(self, value: Point) -> None:
            return None

    with pytest.raises(TypeError, match=r"NoDecode.*decode"):
        registry.register(NoDecode)

    def _encode(value: Point) -> None:
        return None

    with pytest.raises(TypeError, match=r"encoder\.register\('name'\)"):
        registry.encoder.register(_encode)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        registry.decoder.register("")
    with pytest.raises(TypeError, match="needs a function"):
        registry.decoder.register("x")(42)  # type: ignore[type-var]


UNDECODABLE: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "blank": (b" \n", "not JSON"),
    "binary": (b"\xff\xfe\x00", "not UTF-8"),
    "pickle": (pickle.dumps({"a": 1}), "not UTF-8"),
    "old-prefixed-format": (b'p{"a":1}', "not JSON"),
    "old-tagged-format": (b't{"!":["tuple",[1]]}', "not JSON"),
    "truncated": (b"{", "not JSON"),
    "python-literal": (b"{'a': 1}", "not JSON"),
    "nan": (b"[1, NaN]", "NaN, which is not JSON"),
    "infinity": (b"-Infinity", "-Infinity, which is not JSON"),
    "nan-in-tagged": (tagged(b'[{"!":["tuple",[]]},NaN]'), "NaN, which is not JSON"),
    "two-documents": (b"[1] [2]", "goes on after"),
    "trailing-garbage": (b"null garbage", "goes on after"),
    "tagged-trailing": (tagged(b"[1]") + b"x", "goes on after"),
    "too-deep": (b"[" * 100_000, "cannot decode"),
    "envelope-version-2": (b'{"!cache-core":2,"value":{"!":["future",1]}}', "version 2 of JsonSerializer's"),
    "envelope-version-0": (b'{"value":1,"!cache-core":0}', "version 0"),
    "envelope-version-text": (b'{"!cache-core":"1","value":1}', "malformed '!cache-core' envelope"),
    "envelope-version-true": (b'{"!cache-core":true,"value":1}', "malformed '!cache-core' envelope"),
    "envelope-version-float": (b'{"!cache-core":1.0,"value":1}', "malformed '!cache-core' envelope"),
    "envelope-no-value": (b'{"!cache-core":1}', "malformed '!cache-core' envelope"),
    "envelope-extra-key": (b'{"!cache-core":1,"value":1,"more":2}', "malformed '!cache-core' envelope"),
    "envelope-duplicate-version": (b'{"!cache-core":1,"value":1,"!cache-core":2}', "version 2"),
    "unknown-builtin-tag": (tagged(b'{"!":["no-such-type",1]}'), "unknown built-in type 'no-such-type'"),
    "unknown-user-tag": (tagged(b'{"!":["u:myapp.Thing",1]}'), r"type 'myapp\.Thing', which has no decoder"),
    "tag-not-list": (tagged(b'{"!":5}'), "malformed type tag"),
    "tag-too-short": (tagged(b'{"!":["tuple"]}'), "malformed type tag"),
    "tag-name-unhashable": (tagged(b'{"!":[["tuple"],[]]}'), "malformed type tag"),
    "tag-extra-keys": (tagged(b'{"!":["tuple",[]],"extra":1}'), "malformed type tag"),
    "tag-name-not-str": (tagged(b'{"!":[1,[]]}'), "malformed type tag"),
    "tag-on-the-envelope": (b'{"!cache-core":1,"value":1,"!":["tuple",[]]}', "malformed type tag"),
    "bad-float": (tagged(b'{"!":["float","1.5"]}'), "decoder for 'float' failed"),
    "bad-base64": (tagged(b'{"!":["bytes","not base64!"]}'), "decoder for 'bytes' failed"),
    "bad-date": (tagged(b'{"!":["date","2020-13-45"]}'), "decoder for 'date' failed"),
    "unhashable-key": (tagged(b'{"!":["dict",[[[1],2]]]}'), "decoder for 'dict' failed"),
    "bad-deque": (tagged(b'{"!":["deque",5]}'), "decoder for 'deque' failed"),
    "unknown-zone": (
        tagged(b'{"!":["datetime",["2020-01-01T00:00:00","No/Such_Zone",0]]}'),
        "decoder for 'datetime' failed",
    ),
}


@pytest.mark.parametrize(("stored", "problem"), UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_undecodable_data(serializer: JsonSerializer, stored: bytes, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem) as caught:
        serializer.decode(stored)
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, json.JSONDecodeError)


def test_decode_wrong_type(serializer: JsonSerializer) -> None:
    with pytest.raises(DecodeError, match="must be bytes, got int"):
        serializer.decode(42)  # type: ignore[arg-type]


def test_failing_decoder_is_wrapped() -> None:
    registry = Coder()

    @registry.encoder.register("point")
    def _encode(value: Point) -> list[int]:
        return [value.x, value.y]

    @registry.decoder.register("point")
    def _decode(value: list[int]) -> Point:
        raise LookupError("cannot rebuild")

    encoded = registry.encode(Point(1, 2))
    with pytest.raises(DecodeError, match=r"decoder for 'point' failed.*cannot rebuild") as caught:
        registry.decode(encoded)
    assert isinstance(caught.value.__cause__, LookupError)


def test_data_from_an_unregistered_type_is_undecodable_elsewhere() -> None:
    writer, reader = Coder(), Coder()

    @writer.encoder.register("point")
    def _encode(value: Point) -> list[int]:
        return [value.x, value.y]

    with pytest.raises(DecodeError, match=r"decoder\.register\('point'\)"):
        reader.decode(writer.encode(Point(1, 2)))
