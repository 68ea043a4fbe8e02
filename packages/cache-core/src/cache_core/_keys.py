"""Key makers: turn a call ``fn(*args, **kwargs)`` into a cache key.

The default, ``ReprKeyMaker``, builds ``module.qualname`` plus the ``repr`` of the
call's arguments after binding them to the signature, so ``f(1, 2)``,
``f(1, b=2)`` and ``f(a=1, b=2)`` share one key. An object whose ``repr`` is
object's default (``<X object at 0x7f..>``) never contributes its address: the
address is reused once the object dies, and a key built from it could return
a dead object's result to a new one. Such objects get an identity token that
is never reused instead, unless they define ``__cache_key__()``, whose result
then stands for the object (two objects share entries when it is equal).
"""

from __future__ import annotations

import inspect
import itertools
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ._errors import InvalidKeyError
from ._hotkeys import ADDRESS_MARK, is_named_tuple

#: What the decorator calls on every invocation: ``(args, kwargs) -> key``.
KeyFunction = Callable[["tuple[Any, ...]", "dict[str, Any]"], str]
#: A call in canonical form: ``(args, kwargs)`` bound to the signature, defaults applied.
Bound = tuple["tuple[Any, ...]", "dict[str, Any]"]


@dataclass(frozen=True)
class KeyPlan:
    """How the calls of one decorated function become keys.

    Attributes:
        key: ``(args, kwargs)`` as the caller passed them -> key.
        canonical_key: the same for a call already in canonical form (see ``binder``),
            or ``None`` when the key maker needs the call as it was made.
        hot_limit: how many calls the decorator may remember by their arguments alone
            (``HotKeys``); 0 when the key may depend on more than the argument values
            (a key maker of the user's).
    """

    key: KeyFunction
    canonical_key: KeyFunction | None = None
    hot_limit: int = 0


def key_plan(
    fn: Callable[..., Any],
    *,
    key_maker: KeyMaker | KeyMakerFunction | None,
    keygen: KeyGenerator | None,
    typed: bool,
) -> KeyPlan:
    """The key plan of a decorated ``fn`` from the decorator's options."""
    if key_maker is None and keygen is None:
        return ReprKeyMaker(typed=typed)._plan(fn)
    if isinstance(key_maker, ReprKeyMaker):
        return key_maker._plan(fn)
    return KeyPlan(key=key_function(fn, key_maker=key_maker, keygen=keygen, typed=typed))


class KeyMakerFunction(Protocol):
    """Any callable with the key maker signature is accepted as ``key_maker=``."""

    def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], /) -> str | bytes: ...


class KeyGenerator(Protocol):
    """The cachetoolz ``keygen`` signature: ``(typed, func, *args, **kwargs) -> str``."""

    def __call__(self, typed: bool, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> str: ...


def key_text(key: object) -> str:
    """The stored form of a ``str`` or ``bytes`` key: one-to-one, so two keys never share an entry.

    A ``str`` is stored as itself, unless it starts with U+FFFF (a Unicode noncharacter, the
    escape) or holds a lone surrogate, which UTF-8 storage cannot take. Those, and every
    ``bytes`` key, are stored as U+FFFF + a tag + a surrogate-free text:

    - ``"b"`` + the bytes decoded as UTF-8 (``bytes`` that are UTF-8),
    - ``"x"`` + the bytes in hex (other ``bytes``),
    - ``"s"`` + the UTF-8 of the ``str`` (surrogates passed through) in hex.

    Other types raise ``InvalidKeyError``. docs/keys.md shows the layout.
    """
    if type(key) is str:
        if key.isascii():  # the common key, stored as itself: one check, no copy
            return key
    elif isinstance(key, str):
        key = str(key)
    elif isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
        try:
            return _KEY_ESCAPE + "b" + raw.decode("utf-8")
        except UnicodeDecodeError:
            return _KEY_ESCAPE + "x" + raw.hex()
    else:
        msg = f"cache keys must be str or bytes, not {type(key).__qualname__}"
        raise InvalidKeyError(msg)
    if not key.startswith(_KEY_ESCAPE):
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (os.fsdecode() makes them from undecodable names)
            pass
        else:
            return key
    return _KEY_ESCAPE + "s" + key.encode("utf-8", "surrogatepass").hex()


#: Starts every escaped key; a noncharacter, so text from the outside world rarely holds it.
_KEY_ESCAPE = "\uffff"


class KeyMaker(ABC):
    """Computes the cache key of a call. Subclass it, or pass any callable with this signature."""

    @abstractmethod
    def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | bytes:
        """Return a key that identifies ``fn`` called with ``args`` and ``kwargs``."""

    def for_function(self, fn: Callable[..., Any]) -> KeyFunction:
        """Return the key function the decorator calls for ``fn``; override to precompute per function."""
        return _adapt(self, fn)


def _adapt(maker: KeyMakerFunction, fn: Callable[..., Any]) -> KeyFunction:
    def key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return key_text(maker(fn, args, kwargs))

    return key


def key_function(
    fn: Callable[..., Any],
    *,
    key_maker: KeyMaker | KeyMakerFunction | None,
    keygen: KeyGenerator | None,
    typed: bool,
) -> KeyFunction:
    """Choose the key function for a decorated ``fn`` from the decorator's options."""
    check_key_options(key_maker=key_maker, keygen=keygen, typed=typed)
    if keygen is not None:
        user_keygen = keygen

        def from_keygen(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            return key_text(user_keygen(typed, fn, *args, **kwargs))

        return from_keygen
    if key_maker is None:
        return ReprKeyMaker(typed=typed).for_function(fn)
    if isinstance(key_maker, KeyMaker):
        return key_maker.for_function(fn)
    return _adapt(key_maker, fn)


def check_key_options(*, key_maker: object, keygen: object, typed: bool) -> None:
    """Raise ``TypeError`` for key options that cannot work, without calling any of them."""
    if key_maker is not None and keygen is not None:
        msg = "pass either key_maker= or keygen=, not both"
        raise TypeError(msg)
    if keygen is not None and not callable(keygen):
        msg = f"keygen must be callable, not {type(keygen).__qualname__}"
        raise TypeError(msg)
    if key_maker is None:
        return
    if typed:
        msg = "typed= applies to the default key maker and to keygen=; set it on your key_maker instead"
        raise TypeError(msg)
    if not isinstance(key_maker, KeyMaker) and not callable(key_maker):
        msg = (
            "key_maker must be a KeyMaker or a callable (fn, args, kwargs) -> str | bytes, "
            f"not {type(key_maker).__qualname__}"
        )
        raise TypeError(msg)


_VALUE_TYPES: frozenset[type] = frozenset({str, bytes, int, float, complex, bool, type(None)})

_token_counter = itertools.count(1)
_tokens: dict[int, tuple[weakref.ref[Any], int]] = {}


def _identity_token(obj: object) -> int:
    """A number unique to this live object and never given to another one."""
    slot = _tokens.get(id(obj))
    if slot is not None and slot[0]() is obj:
        return slot[1]
    object_id = id(obj)

    def forget(_: weakref.ref[Any]) -> None:
        current = _tokens.get(object_id)
        if current is not None and current[0]() is None:
            del _tokens[object_id]

    try:
        ref = weakref.ref(obj, forget)
    except TypeError:
        msg = (
            f"cannot build a cache key from a {type(obj).__qualname__}: its repr is a memory address "
            f"and it does not support weak references; define __repr__ or __cache_key__ on it, "
            f"or pass key_maker="
        )
        raise InvalidKeyError(msg) from None
    token = next(_token_counter)
    _tokens[object_id] = (ref, token)
    return token


def _safe_repr(obj: object) -> str:  # noqa: PLR0911 - one return per kind of object
    """``repr`` with every address-based part replaced by something that cannot be reused.

    Equal to ``repr(obj)`` whenever that holds no address, so a call keys the same
    whichever path built its key.
    """
    kind = type(obj)
    if kind in _VALUE_TYPES:  # their repr holds no address, whatever text they contain
        return repr(obj)
    text = object.__repr__(obj) if kind.__repr__ is object.__repr__ else repr(obj)
    if ADDRESS_MARK not in text:
        return text
    if kind is tuple or kind is list:
        items = ", ".join(_safe_repr(item) for item in obj)  # type: ignore[attr-defined]
        if kind is tuple:
            return f"({items},)" if len(obj) == 1 else f"({items})"  # type: ignore[arg-type]
        return f"[{items}]"
    if kind is dict:
        return "{" + ", ".join(f"{_safe_repr(k)}: {_safe_repr(v)}" for k, v in obj.items()) + "}"  # type: ignore[attr-defined]
    if isinstance(obj, tuple) and is_named_tuple(kind):  # as its repr prints it: no weak references to take
        fields = ", ".join(f"{name}={_safe_repr(item)}" for name, item in zip(kind._fields, obj, strict=True))  # type: ignore[attr-defined]
        return f"{kind.__name__}({fields})"
    if kind is set or kind is frozenset:
        return f"{kind.__name__}({{{', '.join(sorted(_safe_repr(item) for item in obj))}}})"  # type: ignore[attr-defined]
    hook = getattr(kind, "__cache_key__", None)
    if hook is not None:
        return f"<{kind.__module__}.{kind.__qualname__}:{_safe_repr(hook(obj))}>"
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj) or inspect.ismodule(obj):
        name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
        owner = getattr(obj, "__self__", None)
        # The name stands for this one object only if it is not local (closures and lambdas
        # share a qualname) and not a builtin method bound to an instance (``[].append``).
        if "<" not in name and (owner is None or inspect.ismodule(owner) or inspect.isclass(owner)):
            return f"<{getattr(obj, '__module__', '')}.{name}>"
    return f"<{kind.__module__}.{kind.__qualname__} #{_identity_token(obj)}>"


class ReprKeyMaker(KeyMaker):
    """``module.qualname`` plus the ``repr`` of the bound arguments, optionally hashed.

    Args:
        hash: a hashlib-style constructor (``hashlib.sha256``); the argument part of
            the key becomes its hex digest. Without ``max_length`` every key is hashed.
        max_length: hash only keys longer than this (``hashlib.sha256`` if no ``hash``).
        typed: also put the argument types in the key, so arguments whose ``repr``
            agrees but whose types differ (a ``str`` subclass, an enum with a plain
            ``repr``) are cached separately. ``1``, ``1.0`` and ``True`` never share an
            entry either way: their reprs differ.
        memo_size: how many calls per decorated function are remembered by their
            argument values, so that a hit on in-process storage skips building the key
            (0 turns it off).
    """

    def __init__(
        self,
        hash: Callable[[bytes], Any] | None = None,
        *,
        max_length: int | None = None,
        typed: bool = False,
        memo_size: int = 4096,
    ) -> None:
        if hash is not None and not callable(hash):
            msg = f"hash must be a hashlib-style constructor such as hashlib.sha256, not {type(hash).__qualname__}"
            raise TypeError(msg)
        if max_length is not None and max_length < 1:
            msg = f"max_length must be a positive number of characters, got {max_length!r}"
            raise ValueError(msg)
        if max_length is not None and hash is None:
            import hashlib

            hash = hashlib.sha256
        if isinstance(memo_size, bool) or not isinstance(memo_size, int) or memo_size < 0:
            msg = f"memo_size must be a non-negative int, got {memo_size!r}"
            raise ValueError(msg)
        self.hash = hash
        self.max_length = max_length
        self.typed = typed
        self.memo_size = memo_size

    def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return self.for_function(fn)(args, kwargs)

    def __repr__(self) -> str:
        return f"ReprKeyMaker(hash={self.hash!r}, max_length={self.max_length!r}, typed={self.typed!r})"

    def for_function(self, fn: Callable[..., Any]) -> KeyFunction:
        return self._plan(fn).key

    def _plan(self, fn: Callable[..., Any]) -> KeyPlan:
        prefix = f"{getattr(fn, '__module__', None)}.{getattr(fn, '__qualname__', repr(fn))}"
        try:
            signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            signature = None
        finish = self._finisher(prefix)
        typed, mark = self.typed, ADDRESS_MARK
        bind = binder(signature)

        # Performance over tidiness: this runs on every miss (and on every hit a hot
        # index cannot answer). ``repr`` of the whole tuple is one C call; only text
        # holding an address takes the slow, object-by-object ``_safe_repr``.
        def canonical_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            text = repr(args)
            if mark in text:
                text = _safe_repr(args)
            if kwargs:
                text += "{" + ", ".join(f"{name}={_safe_repr(kwargs[name])}" for name in sorted(kwargs)) + "}"
            if typed:
                kinds = [type(value) for value in args] + [type(kwargs[name]) for name in sorted(kwargs)]
                text += ":" + ",".join(f"{kind.__module__}.{kind.__qualname__}" for kind in kinds)
            return prefix + text if finish is None else finish(text)

        def key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
            return canonical_key(*bind(args, kwargs))

        return KeyPlan(key=key, canonical_key=canonical_key, hot_limit=self.memo_size)

    def _finisher(self, prefix: str) -> Callable[[str], str] | None:
        """What makes the key of a call's text, or ``None`` for the prefix and the text as they are."""
        digest = self.hash
        limit = self.max_length
        if digest is None:
            return None
        if limit is None:
            return lambda text: f"{prefix}:{digest(text.encode('utf-8', 'surrogatepass')).hexdigest()}"

        def maybe_hashed(text: str) -> str:
            key = prefix + text
            if len(key) <= limit:
                return key
            return f"{prefix}:{digest(text.encode('utf-8', 'surrogatepass')).hexdigest()}"

        return maybe_hashed


def binder(signature: inspect.Signature | None) -> Callable[[tuple[Any, ...], dict[str, Any]], Bound]:
    """The canonical form of calls to a function of ``signature``, built once per function.

    ``(args, kwargs)`` as called -> ``(args, kwargs)`` bound: every positional parameter
    positionally, defaults applied, keyword-only and ``**kwargs`` arguments by name. A
    call that passes exactly the positional parameters and no keywords is already in
    that form; anything else binds with ``Signature.bind``, which also raises the
    ``TypeError`` of a call that does not fit.
    """
    if signature is None:
        return _as_called
    parameters = list(signature.parameters.values())
    positional = sum(p.kind in _POSITIONAL for p in parameters)
    plain = all(p.kind in _POSITIONAL for p in parameters)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Bound:
        if plain and not kwargs and len(args) == positional:
            return args, {}
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.args), bound.kwargs

    return bind


def _as_called(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Bound:
    return args, kwargs


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
