"""``JsonSerializer`` and the registry of types it can write (cachetoolz's ``coder``).

Wire format, version 1. Backends keep these bytes in shared servers, so future
releases must keep reading them: change the tagged form only by a new version.

- The bytes are always UTF-8 JSON text (RFC 8259: no ``NaN`` or ``Infinity``),
  compact (separators ``,`` and ``:``), one document.
- A value made only of JSON's own types (``dict`` with ``str`` keys, ``list``,
  ``str``, ``int``, finite ``float``, ``bool``, ``None``) is written as exactly its
  own JSON, readable by any JSON parser, unless a ``str`` in it (a value or a key)
  holds a surrogate code point (U+D800 to U+DFFF): UTF-8 cannot hold those, and
  JSON's ``\\u`` escapes would read a high surrogate followed by a low one as the one
  character they spell in UTF-16. Such a value is written in the tagged form, each
  such ``str`` as the tag ``str``. Plain JSON carries no version: it is
  read as JSON by every release, whoever wrote it.
- Any other value is written in the tagged form, an envelope object
  ``{"!cache-core": 1, "value": document}`` (the number is the version).
  Inside ``document`` an object ``{"!": [name, payload]}`` stands for one value of
  a type JSON lacks, rebuilt by the decoder registered under ``name`` from its
  payload (decoded first); every other object is a ``dict`` with ``str`` keys.
- A user's ``dict`` can never be taken for a tag: inside a tagged document, a
  dict that has the key ``"!"`` (or a key that is not a ``str``) is written as the
  tag ``dict``. A top-level dict with the key ``"!cache-core"`` is written in the
  tagged form (its own JSON would read as an envelope), the one JSON-only value
  not written as itself.
- The writer puts ``"!cache-core"`` first, so its output starts with
  ``{"!cache-core":1,"value":``; the reader also takes the envelope with other
  key order or spacing (another program's writer). Any other version of the
  envelope, invalid JSON, an unknown tag name or a malformed tag is
  ``DecodeError``.
- Built-in names contain no ``:``. A name given to ``encoder.register`` /
  ``decoder.register`` is written as ``"u:" + name``, and ``coder.register``
  uses ``"u:" + module + "." + qualified name`` of the type.

Built-in names and their payloads (payload parts are themselves encoded values):

- ``dict``: ``[[key, value], ...]`` for a dict whose keys are not all ``str`` or
  that has the key ``"!"``;
- ``tuple``, ``set``, ``frozenset``: ``[item, ...]``;
- ``float``: ``"nan"``, ``"inf"`` or ``"-inf"`` (JSON has no such numbers);
- ``str``: the standard base64 text of the string's UTF-8 bytes, each surrogate
  code point written on its own as three bytes (Python's ``"surrogatepass"``), for a
  ``str`` that holds surrogates (a dict with such a key is written as the tag ``dict``);
- ``int``: hexadecimal text such as ``"-1f"``, for ints with ``abs(n) >= 2**1990``
  (about 600 digits: ``int``'s decimal digit limit may refuse them);
- ``bytes``, ``bytearray``: standard base64 text;
- ``deque``: ``[[item, ...], maxlen]``; ``pattern``: ``[pattern, flags]``;
- ``date``: ISO text; ``time``, ``datetime``: ISO text (with the UTC offset when
  aware), or ``[iso text, zone key, fold]`` when the tzinfo is a ``zoneinfo.ZoneInfo``
  or ``fold`` is 1 (zone key ``null`` for other tzinfos: ISO text loses ``fold``);
- ``timedelta``: ``[days, seconds, microseconds]``;
- ``decimal``, ``uuid``, ``path``, ``pureposixpath``, ``purewindowspath``,
  ``ipv4address``, ``ipv4interface``, ``ipv4network``, ``ipv6address``,
  ``ipv6interface``, ``ipv6network``: ``str(value)``.

Subclasses of a registered type use its encoder (and decode as that type) unless
they have their own; subclasses of ``str``/``int``/``float``/``list``/``dict`` are
written as the plain JSON type (as their own JSON, when nothing else needs a tag).
"""

from __future__ import annotations

import base64
import importlib
import inspect
import ipaddress
import json
import re
import reprlib
import sys
import types
import typing
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, TypeVar

from ._errors import DecodeError, EncodeError
from ._serializers import Serializer

__all__ = ["Coder", "JsonSerializer", "coder", "decoder", "encoder"]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])

_EncodeFunction = Callable[[Any], Any]
_DecodeFunction = Callable[[Any], Any]
# (name written on the wire, encode function); name None means "a subclass of a
# JSON type: convert with the function and write the result untagged".
_Entry = tuple[str | None, _EncodeFunction]

_ENVELOPE = "!cache-core"
_VERSION = 1
_VALUE = "value"
# What the writer puts before the document of a tagged value (and a "}" after it).
_TAGGED_PREFIX = f'{{"{_ENVELOPE}":{_VERSION},"{_VALUE}":'
_TAG = "!"
# In compact JSON text this marks a tag object and nothing else: every '"' inside
# a string is escaped, so no string holds it, and outside strings it opens an
# object whose first key is "!", which _to_json writes only as a tag.
_TAG_OPENING = '{"' + _TAG + '":'
_USER_PREFIX = "u:"
# int's decimal conversion refuses more than sys.get_int_max_str_digits() digits
# (640 at least); ints from 2**1990 (~600 digits) up are written in hex instead.
_INT_LIMIT = 1 << 1990
_INT_MIN = -_INT_LIMIT
_INFINITY = float("inf")
_MINUS_INFINITY = -_INFINITY
_NATIVE_TYPES = frozenset({str, int, float, bool, type(None), list, dict})

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False, allow_nan=False).encode
_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    msg = f"stored data holds {name}, which is not JSON (JsonSerializer writes nan and inf as tags)"
    raise DecodeError(msg)


# Python's json reads NaN and Infinity by default; JSON (and this format) has none.
_plain_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_loads_plain = _plain_decoder.decode
# The scanner alone skips decode()'s two whitespace regex matches: a third of the
# cost of reading a small value. Text it cannot take whole goes to _loads_plain.
_Scan = Callable[[str, int], tuple[Any, int]]
_scan_plain: _Scan = _plain_decoder.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__


def _is_plain(value: Any) -> bool:  # noqa: PLR0911 - one flat dispatch is fastest
    """Return whether ``value`` is made only of JSON's own types, so needs no tags."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is float:
        number: float = value
        return _MINUS_INFINITY < number < _INFINITY  # False for nan too
    if kind is int:
        return bool(_INT_MIN < value < _INT_LIMIT)
    if kind is list:
        return all(map(_is_plain, value))
    if kind is dict:
        for key, item in value.items():  # noqa: SIM110 - faster than all(generator)
            if type(key) is not str or not _is_plain(item):
                return False
        return True
    return False


def _type_name(kind: type) -> str:
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _callable_name(function: object) -> str:
    name = getattr(function, "__qualname__", None)
    return repr(function) if name is None else str(name)


def _check_name(name: object, registry: str) -> str:
    if not isinstance(name, str):
        msg = f"{registry}.register takes the name to register under, got {name!r}; use @{registry}.register('name')"
        raise TypeError(msg)
    if not name:
        msg = f"{registry}.register needs a non-empty name"
        raise ValueError(msg)
    return name


def _handled_types(function: Callable[..., Any]) -> tuple[type, ...]:
    """Return the types an encode function handles, from its ``value`` annotation."""
    label = _callable_name(function)
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError) as exc:
        msg = f"cannot read the signature of encoder {label}: {exc}"
        raise TypeError(msg) from exc
    parameter = parameters.get("value")
    if parameter is None:
        positional = [p for p in parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if not positional:
            msg = f"encoder {label} must take a parameter named 'value'"
            raise TypeError(msg)
        parameter = positional[0]
    annotation = parameter.annotation
    if annotation is parameter.empty:
        msg = (
            f"encoder {label} has no type annotation on its parameter "
            f"{parameter.name!r}: annotate it with the type it encodes, "
            f"e.g. def encode(value: MyType)"
        )
        raise TypeError(msg)
    if isinstance(annotation, str):
        try:
            annotation = typing.get_type_hints(function)[parameter.name]
        except Exception as exc:
            msg = (
                f"cannot resolve the annotation {annotation!r} of encoder {label} "
                f"({exc}); the type must be importable from the function's module"
            )
            raise TypeError(msg) from exc
    return _classes_in(annotation, label)


def _classes_in(annotation: object, label: str) -> tuple[type, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _classes_in(typing.get_args(annotation)[0], label)
    if origin is typing.Union or origin is types.UnionType:
        members: tuple[object, ...] = typing.get_args(annotation)
    elif origin is not None:
        members = (origin,)
    else:
        members = (annotation,)
    classes: list[type] = []
    for member in members:
        if not isinstance(member, type) or member is Any:  # Any is a class from 3.11
            msg = (
                f"the annotation {annotation!r} of encoder {label} is not a class; "
                f"annotate 'value' with the type it encodes"
            )
            raise TypeError(msg)
        if member in _NATIVE_TYPES:
            msg = (
                f"encoder {label} is annotated with {member.__qualname__}, which is "
                f"always written as plain JSON; register a subclass of it instead"
            )
            raise TypeError(msg)
        classes.append(member)
    return tuple(classes)


def _encode_bytes(value: bytes | bytearray) -> str:
    return base64.b64encode(value).decode("ascii")


def _decode_bytes(payload: str) -> bytes:
    return base64.b64decode(payload, validate=True)


def _decode_bytearray(payload: str) -> bytearray:
    return bytearray(_decode_bytes(payload))


def _encode_surrogates(value: str) -> str:
    return _encode_bytes(value.encode("utf-8", "surrogatepass"))


def _decode_surrogates(payload: str) -> str:
    return _decode_bytes(payload).decode("utf-8", "surrogatepass")


def _decode_dict(payload: list[list[Any]]) -> dict[Any, Any]:
    return dict(payload)


def _decode_big_int(payload: str) -> int:
    return int(payload, 16)


def _decode_float(payload: str) -> float:
    if payload not in ("nan", "inf", "-inf"):
        msg = f"expected 'nan', 'inf' or '-inf', got {payload!r}"
        raise ValueError(msg)
    return float(payload)


def _encode_deque(value: deque[Any]) -> list[Any]:
    return [list(value), value.maxlen]


def _decode_deque(payload: list[Any]) -> deque[Any]:
    items, maxlen = payload
    return deque(items, maxlen)


def _encode_pattern(value: re.Pattern[Any]) -> list[Any]:
    return [value.pattern, value.flags]


def _decode_pattern(payload: list[Any]) -> re.Pattern[Any]:
    pattern, flags = payload
    return re.compile(pattern, flags)


def _zone_key(zone: tzinfo | None) -> str | None:
    """Return the key of a ``zoneinfo.ZoneInfo`` (an ISO offset loses it), else None."""
    zoneinfo = sys.modules.get("zoneinfo")  # no ZoneInfo exists unless imported
    if zoneinfo is not None and isinstance(zone, zoneinfo.ZoneInfo):
        key: str | None = zone.key
        return key
    return None


def _zone(key: str) -> tzinfo:
    # Imported on first use: few values carry a ZoneInfo.
    zone: tzinfo = importlib.import_module("zoneinfo").ZoneInfo(key)
    return zone


_Moment = TypeVar("_Moment", time, datetime)


def _moment_coder(
    kind: type[_Moment],
) -> tuple[Callable[[_Moment], str | list[Any]], Callable[[str | list[Any]], _Moment]]:
    """The encoder and decoder of ``time`` or ``datetime``: ISO text, with the zone's key and the fold when set."""

    def encode(value: _Moment) -> str | list[Any]:
        key = _zone_key(value.tzinfo)
        if key is None and not value.fold:
            return kind.isoformat(value)
        return [kind.isoformat(value), key, value.fold]

    def decode(payload: str | list[Any]) -> _Moment:
        if isinstance(payload, str):
            return kind.fromisoformat(payload)
        iso, key, fold = payload
        if key is None:
            return kind.fromisoformat(iso).replace(fold=fold)
        return kind.fromisoformat(iso).replace(tzinfo=_zone(key), fold=fold)

    return encode, decode


def _encode_date(value: date) -> str:
    return date.isoformat(value)


def _encode_timedelta(value: timedelta) -> list[int]:
    return [value.days, value.seconds, value.microseconds]


def _decode_timedelta(payload: list[int]) -> timedelta:
    days, seconds, microseconds = payload
    return timedelta(days, seconds, microseconds)


# type -> (name, encode, decode); the encoders' results are encoded in turn.
_BUILTINS: dict[type, tuple[str, _EncodeFunction, _DecodeFunction]] = {
    tuple: ("tuple", list, tuple),
    set: ("set", list, set),
    frozenset: ("frozenset", list, frozenset),
    bytes: ("bytes", _encode_bytes, _decode_bytes),
    bytearray: ("bytearray", _encode_bytes, _decode_bytearray),
    uuid.UUID: ("uuid", str, uuid.UUID),
    Path: ("path", str, Path),
    PurePosixPath: ("pureposixpath", str, PurePosixPath),
    PureWindowsPath: ("purewindowspath", str, PureWindowsPath),
    deque: ("deque", _encode_deque, _decode_deque),
    re.Pattern: ("pattern", _encode_pattern, _decode_pattern),
    time: ("time", *_moment_coder(time)),
    date: ("date", _encode_date, date.fromisoformat),
    datetime: ("datetime", *_moment_coder(datetime)),
    timedelta: ("timedelta", _encode_timedelta, _decode_timedelta),
    Decimal: ("decimal", str, Decimal),
    ipaddress.IPv4Address: ("ipv4address", str, ipaddress.IPv4Address),
    ipaddress.IPv4Interface: ("ipv4interface", str, ipaddress.IPv4Interface),
    ipaddress.IPv4Network: ("ipv4network", str, ipaddress.IPv4Network),
    ipaddress.IPv6Address: ("ipv6address", str, ipaddress.IPv6Address),
    ipaddress.IPv6Interface: ("ipv6interface", str, ipaddress.IPv6Interface),
    ipaddress.IPv6Network: ("ipv6network", str, ipaddress.IPv6Network),
}
_BUILTIN_ENCODERS: dict[type, _Entry] = {
    # Subclasses of JSON's types (say an IntEnum) reach the registry: write them
    # as the exact base type. Exact instances never get here.
    str: (None, str.__str__),
    int: (None, int.__int__),
    float: (None, float.__float__),
    list: (None, list),
    dict: (None, dict),
    **{kind: (name, encode) for kind, (name, encode, _) in _BUILTINS.items()},
}
_BUILTIN_DECODERS: dict[str, _DecodeFunction] = {
    "dict": _decode_dict,
    "int": _decode_big_int,
    "float": _decode_float,
    "str": _decode_surrogates,
    **{name: decode for name, _, decode in _BUILTINS.values()},
}


class Coder:
    """The registry of types ``JsonSerializer`` can write beyond JSON's own.

    Register a class with ``encode(value: T)`` and ``decode(value)`` methods with
    ``coder.register``, or an encode function and a decode function under one name
    with ``coder.encoder.register(name)`` and ``coder.decoder.register(name)``.
    Registered types take precedence over the built-in ones; ``str``, ``int``,
    ``float``, ``bool``, ``None``, ``list`` and ``dict`` are always plain JSON.
    The module-level ``coder`` is the registry that ``JsonSerializer()`` uses.
    """

    def __init__(self) -> None:
        self._user_encoders: dict[type, tuple[str, _EncodeFunction]] = {}
        self._decoders: dict[str, _DecodeFunction] = dict(_BUILTIN_DECODERS)
        self._by_type: dict[type, _Entry] = dict(_BUILTIN_ENCODERS)
        self._inherited: weakref.WeakKeyDictionary[type, _Entry] = weakref.WeakKeyDictionary()
        tagged_decoder = json.JSONDecoder(object_hook=self._from_tag, parse_constant=_reject_constant)
        self._loads_tagged = tagged_decoder.decode
        self._scan_tagged: _Scan = tagged_decoder.scan_once  # type: ignore[attr-defined]
        self.encoder = EncoderRegistry(self)
        self.decoder = DecoderRegistry(self)

    def register(self, coder: _T) -> _T:
        """Register a coder class (instantiated with no arguments) or instance.

        Its ``encode`` method's ``value`` parameter must be annotated with the type
        it handles; ``decode`` gets back exactly what ``encode`` returned. Methods
        may be instance, static or class methods. Returns ``coder`` unchanged, so
        it works as a class decorator.
        """
        instance: Any = coder
        if isinstance(coder, type):
            try:
                instance = coder()
            except TypeError as exc:
                msg = (
                    f"cannot create {_type_name(coder)}() to register it ({exc}); "
                    f"register an instance instead: "
                    f"coder.register({coder.__name__}(...))"
                )
                raise TypeError(msg) from exc
        encode = getattr(instance, "encode", None)
        decode = getattr(instance, "decode", None)
        if not callable(encode) or not callable(decode):
            msg = f"{_type_name(type(instance))} needs encode and decode methods to be registered"
            raise TypeError(msg)
        for kind in _handled_types(encode):
            name = _USER_PREFIX + _type_name(kind)
            self._user_encoders[kind] = (name, encode)
            self._decoders[name] = decode
        self._rebuild()
        return coder

    def register_encoder(self, name: str, function: _F) -> _F:
        """Write values of the type of ``function``'s ``value`` under ``name``."""
        wire_name = _USER_PREFIX + _check_name(name, "encoder")
        for kind in _handled_types(function):
            self._user_encoders[kind] = (wire_name, function)
        self._rebuild()
        return function

    def register_decoder(self, name: str, function: _F) -> _F:
        """Read values written as ``name`` with ``function(payload)``."""
        wire_name = _USER_PREFIX + _check_name(name, "decoder")
        if not callable(function):
            msg = f"decoder.register({name!r}) needs a function, got {function!r}"
            raise TypeError(msg)
        self._decoders[wire_name] = function
        return function

    def unregister(self, kind: type) -> None:
        """Forget the encoder registered for ``kind`` and the decoder linked to it.

        Raises:
            KeyError: nothing was registered for ``kind``.
        """
        name, _ = self._user_encoders.pop(kind)
        if all(other != name for other, _ in self._user_encoders.values()):
            self._decoders.pop(name, None)
        self._rebuild()

    def _rebuild(self) -> None:
        self._by_type = {**_BUILTIN_ENCODERS, **self._user_encoders}
        self._inherited = weakref.WeakKeyDictionary()

    def encode(self, value: Any) -> bytes:
        """Return ``value`` in the wire format described in this module.

        Raises:
            EncodeError: a part of ``value`` has a type nobody registered, contains
                itself, or an encoder failed.
        """
        try:
            if _is_plain(value) and not (type(value) is dict and _ENVELOPE in value):
                document, tagged = value, False
                text = _dumps(value)
            else:
                document = self._to_json(value)
                text = _dumps(document)
                # Subclasses of JSON's types (an IntEnum, a StrEnum) convert to plain
                # JSON: such a value is written as itself when nothing needed a tag.
                tagged = _TAG_OPENING in text or (type(document) is dict and _ENVELOPE in document)
                if tagged:
                    text = _TAGGED_PREFIX + text + "}"
        except RecursionError as exc:
            msg = "cannot encode a value that contains itself or is nested too deeply"
            raise EncodeError(msg) from exc
        try:
            return text.encode()
        except UnicodeEncodeError:  # only surrogates make a str that UTF-8 refuses: the rare path
            pass
        try:
            return (_TAGGED_PREFIX + _dumps(self._to_json(value, surrogates=True)) + "}").encode()
        except UnicodeEncodeError as exc:  # a surrogate in a registered tag name
            msg = f"cannot write {_type_name(type(value))} as UTF-8 JSON: {exc}"
            raise EncodeError(msg) from exc

    def decode(self, data: bytes) -> Any:
        """Return the value ``encode`` turned into ``data``.

        Raises:
            DecodeError: ``data`` is not UTF-8 JSON, is in another version of the
                tagged form, or names a type with no registered decoder (or whose
                decoder failed).
        """
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            msg = f"stored data is not UTF-8 text, so not JsonSerializer's: {exc}"
            raise DecodeError(msg) from exc
        except AttributeError:
            text = _as_text(data)
        if text.startswith(_TAGGED_PREFIX):
            return self._decode_tagged(text)
        try:
            value, end = _scan_plain(text, 0)
        except Exception:  # _parse below says what is wrong
            end = -1
        if end != len(text):  # whitespace around the document, or an error to report
            value = _parse(_loads_plain, text)
        if type(value) is dict and _ENVELOPE in value:
            # An envelope written with other key order or spacing (or another version).
            _check_envelope(value)
            return self._decode_tagged(text)
        return value

    def _decode_tagged(self, text: str) -> Any:
        try:
            envelope, end = self._scan_tagged(text, 0)
        except Exception:  # _parse below says what is wrong
            end = -1
        if end != len(text):
            envelope = _parse(self._loads_tagged, text)
        _check_envelope(envelope)
        return envelope[_VALUE]

    def _to_json(self, value: Any, *, surrogates: bool = False) -> Any:  # noqa: PLR0911, PLR0912 - one flat dispatch is fastest
        """Return ``value`` in JSON's types, with tag objects for the other types.

        ``surrogates``: also tag each ``str`` holding surrogates (``encode`` asks for it
        only once UTF-8 refused the text, so the common path never searches strings).
        """
        kind = type(value)
        if kind is str:
            if surrogates and _SURROGATE.search(value):
                return {_TAG: ["str", _encode_surrogates(value)]}
            return value
        if kind is bool or value is None:
            return value
        if kind is float:
            if _MINUS_INFINITY < value < _INFINITY:
                return value
            return {_TAG: ["float", repr(value)]}
        if kind is int:
            if _INT_MIN < value < _INT_LIMIT:
                return value
            return {_TAG: ["int", format(value, "x")]}
        if kind is list:
            return [self._to_json(item, surrogates=surrogates) for item in value]
        if kind is dict:
            plain_keys = _TAG not in value and all(type(key) is str for key in value)
            if plain_keys and surrogates:
                plain_keys = not any(_SURROGATE.search(key) for key in value)
            if plain_keys:
                return {key: self._to_json(item, surrogates=surrogates) for key, item in value.items()}
            pairs = [
                [self._to_json(k, surrogates=surrogates), self._to_json(v, surrogates=surrogates)]
                for k, v in value.items()
            ]
            return {_TAG: ["dict", pairs]}
        name, encode = self._lookup(kind)
        try:
            payload = encode(value)
        except (EncodeError, RecursionError):
            raise
        except Exception as exc:
            msg = f"the encoder for {_type_name(kind)} failed: {exc!r}"
            raise EncodeError(msg) from exc
        if name is None:
            return self._to_json(payload, surrogates=surrogates)
        return {_TAG: [name, self._to_json(payload, surrogates=surrogates)]}

    def _lookup(self, kind: type) -> _Entry:
        entry = self._by_type.get(kind)
        if entry is not None:
            return entry
        entry = self._inherited.get(kind)
        if entry is not None:
            return entry
        for base in kind.__mro__[1:]:
            entry = self._by_type.get(base)
            if entry is not None:
                self._inherited[kind] = entry
                return entry
        msg = (
            f"cannot encode a value of type {_type_name(kind)}: JsonSerializer has no "
            f"encoder for it; register one with @coder.register (a class with "
            f"encode(value: {kind.__qualname__}) and decode(value) methods) or with "
            f"@encoder.register(name) and @decoder.register(name)"
        )
        raise EncodeError(msg)

    def _from_tag(self, obj: dict[str, Any]) -> Any:
        """Rebuild a tagged value (the ``object_hook`` of tagged documents)."""
        if _TAG not in obj:
            return obj
        try:
            name, payload = obj[_TAG]
            decode = self._decoders.get(name)
        except (TypeError, ValueError) as exc:
            raise DecodeError(_malformed_tag(obj)) from exc
        if len(obj) != 1 or not isinstance(name, str):
            raise DecodeError(_malformed_tag(obj))
        if decode is None:
            raise DecodeError(_unknown_tag(name))
        try:
            return decode(payload)
        except Exception as exc:
            msg = f"the decoder for {name.removeprefix(_USER_PREFIX)!r} failed: {exc!r}"
            raise DecodeError(msg) from exc


def _as_text(data: object) -> str:
    """Text of ``str`` or bytes-like stored data (``bytes`` is decoded inline)."""
    if isinstance(data, str):
        return data
    try:
        return memoryview(data).tobytes().decode()  # type: ignore[arg-type]
    except TypeError as exc:
        msg = f"stored data must be bytes, got {type(data).__qualname__}"
        raise DecodeError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = f"stored data is not UTF-8 text, so not JsonSerializer's: {exc}"
        raise DecodeError(msg) from exc


def _parse(loads: Callable[[str], Any], text: str) -> Any:
    """Return ``loads(text)``; anything wrong with ``text`` is a ``DecodeError``."""
    try:
        return loads(text)
    except DecodeError:
        raise
    except json.JSONDecodeError as exc:
        if not text:
            msg = "stored data is empty"
        elif exc.msg == "Extra data":
            msg = f"stored data goes on after its JSON document (at character {exc.pos})"
        else:
            msg = f"stored data is not JSON, so not JsonSerializer's: {exc}"
        raise DecodeError(msg) from exc
    except Exception as exc:  # RecursionError for data nested too deeply
        msg = f"cannot decode stored data: {exc!r}"
        raise DecodeError(msg) from exc


def _check_envelope(envelope: Any) -> None:
    """Raise ``DecodeError`` unless ``envelope`` is a tagged form this release reads."""
    version = envelope.get(_ENVELOPE) if type(envelope) is dict else None
    if type(version) is int and version != _VERSION:
        msg = (
            f"stored data is in version {version} of JsonSerializer's tagged form; "
            f"this release reads version {_VERSION} only"
        )
        raise DecodeError(msg)
    if version != _VERSION or type(version) is not int or len(envelope) != 2 or _VALUE not in envelope:
        msg = f"stored data has a malformed {_ENVELOPE!r} envelope: {reprlib.repr(envelope)}"
        raise DecodeError(msg)


def _malformed_tag(obj: dict[str, Any]) -> str:
    return f"stored data has a malformed type tag: {reprlib.repr(obj)}"


def _unknown_tag(name: str) -> str:
    if name.startswith(_USER_PREFIX):
        label = name[len(_USER_PREFIX) :]
        return (
            f"stored data holds a value of type {label!r}, which has no decoder: "
            f"register one with @decoder.register({label!r}) (or coder.register)"
        )
    return f"stored data holds a value of unknown built-in type {name!r} (written by a newer release?)"


class EncoderRegistry:
    """``encoder.register(name)``: register an encode function under ``name``."""

    __slots__ = ("_coder",)

    def __init__(self, coder: Coder) -> None:
        self._coder = coder

    def register(self, name: str) -> Callable[[_F], _F]:
        """Decorate ``def _(value: T)``, which turns a ``T`` into encodable data.

        Values of type ``T`` (and its subclasses) are written with the name, and
        read back by the decoder registered under the same name. The function
        is returned unchanged.
        """
        _check_name(name, "encoder")

        def decorate(function: _F) -> _F:
            return self._coder.register_encoder(name, function)

        return decorate


class DecoderRegistry:
    """``decoder.register(name)``: register a decode function under ``name``."""

    __slots__ = ("_coder",)

    def __init__(self, coder: Coder) -> None:
        self._coder = coder

    def register(self, name: str) -> Callable[[_F], _F]:
        """Decorate ``def _(value)``, which rebuilds a value from an encoder's result.

        The function is returned unchanged.
        """
        _check_name(name, "decoder")

        def decorate(function: _F) -> _F:
            return self._coder.register_decoder(name, function)

        return decorate


class JsonSerializer(Serializer):
    """UTF-8 JSON, with tags for other types: safe to read from a shared server.

    A value made only of JSON's types is written as exactly its own JSON, so any
    program reads it with a JSON parser. ``bytes``, ``tuple``, ``set``,
    ``frozenset``, ``deque``, ``uuid.UUID``, paths, ``re.Pattern``, ``datetime``
    types, ``Decimal``, ``ipaddress`` types, ``nan``/``inf`` and whatever ``coder``
    has registered are written in a versioned tagged form (still JSON) and come
    back with their type. Plain JSON decodes at the speed of ``json.loads``.

    Args:
        coder: the type registry to use; by default the process-wide ``coder``.
    """

    def __init__(self, *, coder: Coder | None = None) -> None:
        self.coder = _GLOBAL_CODER if coder is None else coder

    def encode(self, value: Any) -> bytes:
        """Return ``value`` as UTF-8 JSON; ``EncodeError`` names a type it can't write."""
        return self.coder.encode(value)

    def decode(self, encoded: bytes) -> Any:
        """Return the value ``encode`` wrote; ``DecodeError`` for data it can't read."""
        return self.coder.decode(encoded)


_GLOBAL_CODER = Coder()

coder = _GLOBAL_CODER
"""The process-wide registry: ``@coder.register`` a coder class (cachetoolz API)."""
encoder = coder.encoder
"""``@encoder.register(name)`` an encode function of the process-wide registry."""
decoder = coder.decoder
"""``@decoder.register(name)`` a decode function of the process-wide registry."""
