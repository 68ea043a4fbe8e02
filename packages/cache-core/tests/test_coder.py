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


def test_plain_values_use_the_plain_marker(serializer: JsonSerializer) -> None:
    value = {"name": "x", "n": [1, 2.5, None, True, {"deep": "é"}]}
    encoded = serializer.encode(value)
    assert encoded == 'p{"name":"x","n":[1,2.5,null,true,{"deep":"é"}]}'.encode()
    assert json.loads(encoded[1:]) == value


@pytest.mark.parametrize(
    "value",
    [(1,), {1: 1}, {"a": {"b": [b""]}}, Color.RED, 2**1990],
    ids=["tuple", "int-key", "nested-bytes", "int-subclass", "int-beyond-limit"],
)
def test_other_values_use_the_tagged_marker(serializer: JsonSerializer, value: Any) -> None:
    assert serializer.encode(value).startswith(b"t")


def test_plain_and_tagged_documents_read_plain_data_alike(serializer: JsonSerializer) -> None:
    plain = {"s": 'é\u2028"\\', "n": [0, -1, 1e300, -0.0, math.inf], "m": {"x": None, "y": False}}
    from_plain = serializer.decode(serializer.encode(plain))
    (from_tagged,) = serializer.decode(serializer.encode((plain,)))
    assert_identical(from_plain, from_tagged)
    assert_identical(plain, from_plain)


def test_int_limit_boundary(serializer: JsonSerializer) -> None:
    below = 2**1990 - 1
    assert serializer.encode(below).startswith(b"p")
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


@pytest.mark.parametrize("wrap", [bytearray, memoryview, bytes.decode], ids=["bytearray", "memoryview", "str"])
def test_decode_accepts_bytes_like_and_text(serializer: JsonSerializer, wrap: Any) -> None:
    value = {"a": (1, 2)}
    assert_identical(value, serializer.decode(wrap(serializer.encode(value))))


# The stored format is a contract: data written by this release must stay readable.
WIRE_FORMAT: dict[str, tuple[bytes, Any]] = {
    "plain": (b'p{"a":[1,2.5,null,true],"b":"\xc3\xa9"}', {"a": [1, 2.5, None, True], "b": "é"}),
    "plain-nan": (b"p[NaN,Infinity,-Infinity]", [math.nan, math.inf, -math.inf]),
    "tuple": (b't{"!":["tuple",[1,"a"]]}', (1, "a")),
    "set": (b't{"!":["set",[1]]}', {1}),
    "frozenset": (b't{"!":["frozenset",[]]}', frozenset()),
    "dict": (b't{"!":["dict",[[1,"a"],["!",2]]]}', {1: "a", "!": 2}),
    "int": (b't{"!":["int","-ff"]}', -255),
    "bytes": (b't{"!":["bytes","AP8="]}', b"\x00\xff"),
    "bytearray": (b't{"!":["bytearray","AQ=="]}', bytearray(b"\x01")),
    "uuid": (b't{"!":["uuid","00000000-0000-0000-0000-000000000001"]}', uuid.UUID(int=1)),
    "path": (b't{"!":["path","/x/y"]}', pathlib.Path("/x/y")),
    "pureposixpath": (b't{"!":["pureposixpath","/x"]}', pathlib.PurePosixPath("/x")),
    "purewindowspath": (b't{"!":["purewindowspath","C:\\\\x"]}', pathlib.PureWindowsPath("C:\\x")),
    "deque": (b't{"!":["deque",[[1,2],3]]}', deque([1, 2], maxlen=3)),
    "pattern": (b't{"!":["pattern",["a+",34]]}', re.compile("a+", re.IGNORECASE)),
    "time": (b't{"!":["time","01:02:03+05:30"]}', time(1, 2, 3, tzinfo=PLUS_0530)),
    "time-zoneinfo": (b't{"!":["time",["01:02:03","America/New_York",0]]}', time(1, 2, 3, tzinfo=NEW_YORK)),
    "date": (b't{"!":["date","2020-01-02"]}', date(2020, 1, 2)),
    "datetime": (b't{"!":["datetime","2020-01-02T03:04:05.000006"]}', datetime(2020, 1, 2, 3, 4, 5, 6)),
    "datetime-zoneinfo": (
        b't{"!":["datetime",["2021-11-07T01:30:00-05:00","America/New_York",1]]}',
        datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK),
    ),
    "timedelta": (b't{"!":["timedelta",[-1,2,3]]}', timedelta(-1, 2, 3)),
    "decimal": (b't{"!":["decimal","-1.50"]}', decimal.Decimal("-1.50")),
    "ipv4address": (b't{"!":["ipv4address","1.2.3.4"]}', ipaddress.IPv4Address("1.2.3.4")),
    "ipv4interface": (b't{"!":["ipv4interface","1.2.3.4/24"]}', ipaddress.IPv4Interface("1.2.3.4/24")),
    "ipv4network": (b't{"!":["ipv4network","1.2.3.0/24"]}', ipaddress.IPv4Network("1.2.3.0/24")),
    "ipv6address": (b't{"!":["ipv6address","::1"]}', ipaddress.IPv6Address("::1")),
    "ipv6interface": (b't{"!":["ipv6interface","::1/128"]}', ipaddress.IPv6Interface("::1/128")),
    "ipv6network": (b't{"!":["ipv6network","::/0"]}', ipaddress.IPv6Network("::/0")),
    "nested": (b't[{"!":["tuple",[{"!":["bytes",""]}]]},{"k":{"!":["set",[]]}}]', [(b"",), {"k": set()}]),
}


@pytest.mark.parametrize(("stored", "value"), WIRE_FORMAT.values(), ids=WIRE_FORMAT.keys())
def test_wire_format_version_1_stays_readable(serializer: JsonSerializer, stored: bytes, value: Any) -> None:
    assert_identical(value, serializer.decode(stored))


def test_wire_format_version_1_is_written() -> None:
    value = [(1, "a"), {1: b"\x00"}, {"!": None}]
    expected = b't[{"!":["tuple",[1,"a"]]},{"!":["dict",[[1,{"!":["bytes","AA=="]}]]]},{"!":["dict",[["!",null]]]}]'
    assert JsonSerializer(coder=Coder()).encode(value) == expected


# Registration: the cachetoolz forms, with the seed's typos (val/value) corrected.


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
    assert serializer.encode(uuid.UUID(int=7)) == b't{"!":["u:my-uuid",7]}'
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


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (pickle.dumps({"a": 1}), "not UTF-8"),
        (b'{"a": 1}', "starts with '{'"),
        (b"x[1]", "starts with 'x'"),
        (b"p", "not valid JSON"),
        (b"p{", "not valid JSON"),
        (b"p{'a': 1}", "not valid JSON"),
        (b"p[1] [2]", "goes on after"),
        (b"pnull garbage", "goes on after"),
        (b"t[1]x", "goes on after"),
        (b"p" + b"[" * 100_000, "cannot decode"),
        (b't{"!":["no-such-type",1]}', "unknown built-in type 'no-such-type'"),
        (b't{"!":["u:myapp.Thing",1]}', r"type 'myapp\.Thing', which has no decoder"),
        (b't{"!":5}', "malformed type tag"),
        (b't{"!":["tuple"]}', "malformed type tag"),
        (b't{"!":[["tuple"],[]]}', "malformed type tag"),
        (b't{"!":["tuple",[]],"extra":1}', "malformed type tag"),
        (b't{"!":[1,[]]}', "malformed type tag"),
        (b't{"!":["bytes","not base64!"]}', "decoder for 'bytes' failed"),
        (b't{"!":["date","2020-13-45"]}', "decoder for 'date' failed"),
        (b't{"!":["dict",[[[1],2]]]}', "decoder for 'dict' failed"),
        (b't{"!":["deque",5]}', "decoder for 'deque' failed"),
        (b't{"!":["datetime",["2020-01-01T00:00:00","No/Such_Zone",0]]}', "decoder for 'datetime' failed"),
    ],
    ids=[
        "empty",
        "binary",
        "pickle",
        "no-marker",
        "unknown-marker",
        "marker-only",
        "truncated",
        "python-literal",
        "two-documents",
        "trailing-garbage",
        "tagged-trailing",
        "too-deep",
        "unknown-builtin-tag",
        "unknown-user-tag",
        "tag-not-list",
        "tag-too-short",
        "tag-name-unhashable",
        "tag-extra-keys",
        "tag-name-not-str",
        "bad-base64",
        "bad-date",
        "unhashable-key",
        "bad-deque",
        "unknown-zone",
    ],
)
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
