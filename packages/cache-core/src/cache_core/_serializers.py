"""Serializers turn values into bytes for backends that store outside the process."""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from typing import Any

from ._errors import DecodeError, EncodeError


def check_serializer(serializer: object) -> None:
    """Raise ``TypeError`` unless ``serializer`` is ``None`` or has ``encode`` and ``decode``."""
    if serializer is not None and not (
        callable(getattr(serializer, "encode", None)) and callable(getattr(serializer, "decode", None))
    ):
        msg = f"serializer must have encode() and decode() methods, not {type(serializer).__qualname__}"
        raise TypeError(msg)


class Serializer(ABC):
    """Turns a value into ``bytes`` and back.

    ``encode`` raises ``EncodeError`` (a ``TypeError``) naming the type it cannot
    handle; ``decode`` raises ``DecodeError`` (a ``ValueError``) for bytes it cannot
    read. Backends treat undecodable stored data as a miss.
    """

    @abstractmethod
    def encode(self, value: Any) -> bytes:
        """Return ``value`` as bytes."""

    @abstractmethod
    def decode(self, encoded: bytes) -> Any:
        """Return the value that ``encode`` turned into ``encoded``."""


class PickleSerializer(Serializer):
    """Pickle: handles most Python objects.

    Only use it with storage nobody untrusted can write to: unpickling runs code
    chosen by whoever wrote the bytes. Out-of-process backends default to
    ``JsonSerializer`` for that reason.
    """

    def __init__(self, *, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def encode(self, value: Any) -> bytes:
        try:
            return pickle.dumps(value, protocol=self.protocol)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            msg = f"cannot pickle value of type {type(value).__qualname__}: {exc}"
            raise EncodeError(msg) from exc

    def decode(self, encoded: bytes) -> Any:
        try:
            return pickle.loads(encoded)  # noqa: S301 - documented trust requirement
        except Exception as exc:
            msg = f"cannot unpickle stored data: {exc}"
            raise DecodeError(msg) from exc
