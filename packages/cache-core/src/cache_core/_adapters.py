"""``BackendAdapter``: backends written to another API, made into real backends.

Wherever a backend is taken (``cached(cache=...)``, ``Cache(...)``, assigning
``Cache.backend``, ``set_default_backend``), three ways of writing one are accepted:

1. a subclass of ``AsyncBackend``/``Backend`` that implements the storage primitives
   (``_get``, ``_put``, ``_remove``, ``_remove_expired``, ``_clear``): used as it is;
2. a subclass that overrides the public methods instead (``get`` or
   ``get_or_default``/``getOrDefault``, ``put``, and optionally ``remove``,
   ``remove_expired``, ``clear``): wrapped, so decorators go through those methods;
3. an object of any other class, sync or async, in the asyncio-caches style
   (``get(key)`` raising ``KeyError``/``ValueError``/``CacheMiss`` on a miss,
   ``put(key, value, ttl)``, optional ``remove(key)``, ``remove_expired()``, ``clear()``)
   or cachetoolz's (``get(key)`` returning ``None`` on a miss,
   ``set(key, value, expires_at: timedelta)``, ``clear(namespace)``): wrapped.

Which methods a class implements is read from the class (its methods compared with
the base class's, parameters from their signatures), never guessed from behaviour.
Everything is decided once, when the backend is adapted, into a ``Plan``; the
wrapping classes (``_async_adapter.py`` and its generated twin) only carry it out.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from ._async_backend import AsyncBackend
from ._coder import JsonSerializer
from ._policy import Entry
from ._serializers import Serializer
from ._sync_backend import Backend

PRIMITIVES: Final = ("_get", "_put", "_remove", "_remove_expired", "_clear")
_READERS: Final = ("get_or_default", "getOrDefault", "get")  # the first one present reads
_OPTIONAL: Final = ("remove", "remove_expired", "clear")

#: cachetoolz's "never expires": it passed ``timedelta(weeks=20e3)`` for ``ttl=math.inf``.
NEVER: Final = timedelta(weeks=20_000)

_NO_KWARGS: dict[str, Any] = {}  # only ever unpacked, never changed
_MANY = sys.maxsize
_ARGUMENTS: Final = {
    "get": "key",
    "get_or_default": "key, default",
    "getOrDefault": "key, default",
    "put": "key, value, ttl",
    "set": "key, value, expires_at",
}


class _Absent:
    """The default passed to a ``get_or_default``: given back, it means a miss."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Final = _Absent()


class _Shape:
    """What a method's signature accepts."""

    __slots__ = ("namespace", "positional", "required")

    def __init__(self, method: Callable[..., Any]) -> None:
        try:
            parameters = list(inspect.signature(method).parameters.values())
        except (TypeError, ValueError):  # a builtin without a signature: assume it fits
            self.positional, self.required, self.namespace = _MANY, 0, False
            return
        kinds = inspect.Parameter
        positional = [p for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
        self.positional = _MANY if any(p.kind is kinds.VAR_POSITIONAL for p in parameters) else len(positional)
        self.required = sum(p.default is kinds.empty for p in positional)
        self.namespace = any(
            p.kind is kinds.VAR_KEYWORD or (p.name == "namespace" and p.kind is not kinds.POSITIONAL_ONLY)
            for p in parameters
        )


def _escape(text: str) -> str:
    """``text`` without ``:`` (as ``%3A``; ``%`` as ``%25``), so ``namespace:key`` splits at one place."""
    return text.replace("%", "%25").replace(":", "%3A")


def _as_awaitable(method: Callable[..., Any]) -> Callable[..., Any]:
    """A coroutine function calling ``method``: a plain method of an object adapted as async."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    return call


class Plan:
    """How one adapted object is called, decided from its class and signatures.

    Attributes:
        style: ``"methods"`` (a subclass overriding the public methods),
            ``"asyncio-caches"`` or ``"cachetoolz"``.
        is_async: whether the adapter is an ``AsyncBackend``; every call of the plan
            then returns an awaitable.
        read, write, remove, remove_expired, clear, close, acquire_lock, release_lock:
            the object's methods (``None`` where it has none).
        namespaced: the object takes ``namespace=``; otherwise keys are ``namespace:key``.
    """

    __slots__ = (
        "_clear_mode",
        "_prefixes",
        "acquire_lock",
        "clear",
        "close",
        "is_async",
        "miss_errors",
        "miss_value",
        "name",
        "namespaced",
        "read",
        "read_default",
        "release_lock",
        "remove",
        "remove_expired",
        "serializer",
        "style",
        "text",
        "write",
    )

    def __init__(
        self,
        target: object,
        *,
        style: str,
        is_async: bool,
        read: str,
        write: str,
        optional: dict[str, Callable[..., Any]],
        locks: tuple[Callable[..., Any], Callable[..., Any]] | None = None,
    ) -> None:
        self.style, self.is_async = style, is_async
        self.name = type(target).__qualname__
        reader, writer = getattr(target, read), getattr(target, write)
        keyed = [reader, writer, *([optional["remove"]] if "remove" in optional else [])]
        # namespace= only if every method taking a key takes it: a key must mean the
        # same thing to the read, the write and the removal.
        self.namespaced = all(_Shape(method).namespace for method in keyed)
        self._prefixes: dict[str, str] = {}
        cachetoolz = style == "cachetoolz"
        self.text = cachetoolz  # cachetoolz backends store its coder's JSON text, a str
        self.serializer: Serializer | None = JsonSerializer() if cachetoolz else None
        if read == "get":
            self.read_default: tuple[Any, ...] = ()
            # cachetoolz: None is a miss. Otherwise a miss raises (CacheMiss is both errors).
            self.miss_errors: tuple[type[BaseException], ...] = () if cachetoolz else (KeyError, ValueError)
            self.miss_value: object = None if cachetoolz else _ABSENT
        else:
            self.read_default, self.miss_errors, self.miss_value = (_ABSENT,), (), _ABSENT

        def bind(method: Callable[..., Any] | None) -> Any:
            if method is None or not is_async or inspect.iscoroutinefunction(method):
                return method
            return _as_awaitable(method)

        self.read, self.write = bind(reader), bind(writer)
        self.remove = bind(optional.get("remove"))
        self.remove_expired = bind(optional.get("remove_expired"))
        self.clear = bind(optional.get("clear"))
        self.close = bind(optional.get("close"))
        self.acquire_lock: Any = bind(locks[0]) if locks else None
        self.release_lock: Any = bind(locks[1]) if locks else None
        self._clear_mode = self._clear_mode_of(optional.get("clear"))

    def _clear_mode_of(self, clear: Callable[..., Any] | None) -> str:
        if clear is None:
            return "none"
        shape = _Shape(clear)
        if self.namespaced:
            if shape.namespace:
                return "keyword"  # clear(namespace=ns), None meaning every namespace, as ours
            return "positional" if shape.positional >= 1 else "all"
        if shape.positional < 1:
            return "all"
        return "prefix-required" if shape.required >= 1 else "prefix"

    # -- the arguments of each call -------------------------------------------------------

    def key(self, namespace: str, key: str) -> str:
        """The key the object is given: ``key`` if it takes namespaces, else ``namespace:key``."""
        if self.namespaced:
            return key
        prefix = self._prefixes.get(namespace)
        if prefix is None:
            prefix = self._prefixes[namespace] = _escape(namespace) + ":"
        return prefix + _escape(key)

    def where(self, namespace: str) -> dict[str, Any]:
        """Keyword arguments naming the namespace, for objects that take ``namespace=``."""
        return {"namespace": namespace} if self.namespaced else _NO_KWARGS

    def expiry(self, ttl: float | None) -> Any:
        """The TTL argument of ``write``: seconds or ``None``; for cachetoolz a ``timedelta``."""
        if self.style != "cachetoolz":
            return ttl
        return NEVER if ttl is None else timedelta(seconds=ttl)

    def outgoing(self, payload: Any) -> Any:
        """The value ``write`` is given: the payload, as text for cachetoolz's style."""
        if self.text and isinstance(payload, bytes):
            try:
                return payload.decode("utf-8")
            except UnicodeDecodeError:  # bytes of a serializer= that does not write text
                return payload
        return payload

    def entry(self, found: Any) -> Entry | None:
        """The entry for what ``read`` returned, ``None`` for a miss; the object expires entries itself."""
        if found is self.miss_value:
            return None
        if self.text and isinstance(found, str):
            found = found.encode("utf-8")
        return found, None

    def clear_call(self, namespace: str | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``(args, kwargs)`` of the ``clear`` call that empties ``namespace`` (``None``: everything)."""
        mode = self._clear_mode
        if mode == "none":
            raise self.missing("clear")
        if mode == "all":  # the object has no namespaces: clearing one clears all, never too little
            return (), _NO_KWARGS
        if mode == "keyword":
            return (), {"namespace": namespace}
        if mode == "positional":
            return (namespace,), _NO_KWARGS
        if namespace is not None:
            return (_escape(namespace),), _NO_KWARGS
        if mode == "prefix-required":
            msg = f"{self.name}.clear(namespace) clears one namespace at a time: clear each one by name"
            raise NotImplementedError(msg)
        return (), _NO_KWARGS

    def missing(self, method: str) -> NotImplementedError:
        """The error of an operation that needs a method the object lacks."""
        return NotImplementedError(f"{self.name} has no {method}() method")


class BackendAdapter:
    """Makes a backend written to another API an ``AsyncBackend`` or ``Backend``.

    ``cached(cache=...)``, ``Cache(...)`` and ``set_default_backend`` call
    ``BackendAdapter.adapt`` on what they are given, so you rarely call it yourself.
    An adapted backend is an instance of ``BackendAdapter`` and of ``AsyncBackend``
    (if the object's methods are coroutine functions, or it subclasses
    ``AsyncBackend``) or ``Backend``: decorators, ``Cache``, ``cache_info``,
    ``invalidate``, ``cache_clear``, ``@cache.clear`` and fail-open all work on it.
    What the object raises, apart from a miss, becomes a ``BackendError``: logged and
    answered by calling the function, like any backend failure.

    How the object is called:

    - reads call ``get_or_default(key, default)`` or ``getOrDefault`` if it has one,
      else ``get(key)``. In the asyncio-caches style a miss raises ``KeyError``,
      ``ValueError`` or ``CacheMiss``; in cachetoolz's style ``None`` is a miss (a
      cached ``None`` still hits: ``set`` was given it as JSON text, not ``None``);
    - writes call ``put(key, value, ttl)`` with seconds or ``None``, or
      ``set(key, value, expires_at)`` with a ``timedelta`` (``timedelta(weeks=20000)``
      for no expiry, what cachetoolz passed). The object expires entries itself;
    - ``put`` gets values as they are (``cached(serializer=...)`` to store bytes);
      ``set`` gets ``JsonSerializer`` text as a ``str``, as cachetoolz's coder gave it;
    - keys are ``"namespace:key"`` (a ``:`` or ``%`` inside either written ``%3A`` or
      ``%25``), so cachetoolz's ``clear(namespace)`` finds them. An object whose
      ``get``, ``put``/``set`` and ``remove`` all take ``namespace=`` gets the key and
      the namespace instead;
    - ``clear(namespace)`` gets the namespace; a ``clear()`` without parameters
      empties the whole store whichever namespace is cleared (clearing more than asked
      is safe, leaving stale entries would not be). Without ``clear``, clearing raises
      ``BackendError``, as does ``invalidate`` without ``remove``; a zero TTL then
      stores nothing;
    - ``remove_expired()`` and ``close()`` are called if the object has them.

    Attributes:
        target: the adapted object.
        style: ``"methods"``, ``"asyncio-caches"`` or ``"cachetoolz"``.
    """

    target: object
    style: str
    _plan: Plan

    @classmethod
    def adapt(cls, backend: object) -> AsyncBackend | Backend:
        """Return ``backend`` if it implements the primitives, else an adapter over it.

        Raises:
            TypeError: ``backend`` fits none of the three ways; the message names the
                methods it lacks.
        """
        if isinstance(backend, (AsyncBackend, Backend)):
            base: type[Any] = AsyncBackend if isinstance(backend, AsyncBackend) else Backend
            if not _not_overridden(type(backend), base, PRIMITIVES):
                return backend
            plan = _methods_plan(backend, base)
        else:
            plan = _object_plan(backend)
        # Imported here: the adapter classes derive from this one.
        if plan.is_async:
            from ._async_adapter import AsyncBackendAdapter

            return AsyncBackendAdapter(backend, plan)
        from ._sync_adapter import SyncBackendAdapter

        return SyncBackendAdapter(backend, plan)

    def __repr__(self) -> str:
        state = " closed" if getattr(self, "_closed", False) else ""
        return f"<{type(self).__name__}{state} of {self.target!r}>"


def _not_overridden(cls: type[Any], base: type[Any], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if getattr(cls, name, None) is getattr(base, name)]


def _overridden(cls: type[Any], base: type[Any], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if getattr(cls, name, None) is not getattr(base, name)]


def _methods_plan(backend: AsyncBackend | Backend, base: type[Any]) -> Plan:
    """The plan of a subclass that overrides the public methods instead of the primitives."""
    cls = type(backend)
    check_backend_class(cls, base)
    read = _overridden(cls, base, _READERS)[0]
    is_async = base is AsyncBackend
    if not is_async:
        coroutines = [name for name in (read, "put") if inspect.iscoroutinefunction(getattr(backend, name))]
        if coroutines:
            listed = " and ".join(coroutines)
            msg = f"{cls.__qualname__} is a sync Backend but its {listed} are async; subclass AsyncBackend"
            raise TypeError(msg)
    optional = {name: getattr(backend, name) for name in _overridden(cls, base, _OPTIONAL)}
    optional["close"] = backend.close
    locks = None
    if not _not_overridden(cls, base, ("_acquire_lock", "_release_lock")):
        locks = (backend._acquire_lock, backend._release_lock)
    _check_arguments(backend, read, "put")
    return Plan(backend, style="methods", is_async=is_async, read=read, write="put", optional=optional, locks=locks)


def _object_plan(backend: object) -> Plan:
    """The plan of an object outside our class tree; ``TypeError`` naming what it lacks."""
    name = type(backend).__qualname__
    if isinstance(backend, type):
        msg = f"cache must be a backend instance, not the class {backend.__qualname__}: call it"
        raise TypeError(msg)

    def has(method: str) -> bool:
        return callable(getattr(backend, method, None))

    readers = [method for method in _READERS if has(method)]
    if has("put") and readers:
        style, read, write = "asyncio-caches", readers[0], "put"
    elif has("get") and has("set") and has("clear"):
        style, read, write = "cachetoolz", "get", "set"
    else:
        seed = ([] if readers else ["get"]) + ([] if has("put") else ["put"])
        toolz = [method for method in ("get", "set", "clear") if not has(method)]
        msg = (
            "cache must be a backend (an AsyncBackend or Backend instance such as DictCache()) or an object "
            "with get(key) and put(key, value, ttl) (asyncio-caches style) or with get(key), "
            f"set(key, value, expires_at) and clear(namespace) (cachetoolz style); {name} has no "
            f"{' and no '.join(seed)} for the first and no {' and no '.join(toolz)} for the second"
        )
        raise TypeError(msg)
    optional = {method: getattr(backend, method) for method in (*_OPTIONAL, "close") if has(method)}
    is_async = any(inspect.iscoroutinefunction(getattr(backend, method)) for method in (read, write))
    _check_arguments(backend, read, write)
    return Plan(backend, style=style, is_async=is_async, read=read, write=write, optional=optional)


def _check_arguments(backend: object, *methods: str) -> None:
    """``TypeError`` if a read or write method cannot take the arguments it will be given."""
    for method in methods:
        wanted = _ARGUMENTS[method]
        if _Shape(getattr(backend, method)).positional < wanted.count(",") + 1:
            msg = f"{type(backend).__qualname__}.{method} must take ({wanted}) to be used as a cache backend"
            raise TypeError(msg)


def check_backend_class(cls: type[Any], base: type[Any]) -> None:
    """``TypeError`` naming what is missing if ``cls`` implements neither the primitives nor the public methods.

    ``base`` is ``AsyncBackend`` or ``Backend``, whichever ``cls`` derives from.
    """
    primitives = _not_overridden(cls, base, PRIMITIVES)
    if not primitives:
        return
    public = [] if _overridden(cls, base, _READERS) else ["get (or get_or_default)"]
    public += _not_overridden(cls, base, ("put",))
    if not public:
        return
    msg = (
        f"{cls.__qualname__} must implement the storage primitives of {base.__name__} "
        f"(missing: {', '.join(primitives)}) or override its public methods instead "
        f"(missing: {', '.join(public)}); see 'Writing your own backend' in the docs"
    )
    raise TypeError(msg)


__all__ = ["NEVER", "PRIMITIVES", "BackendAdapter", "Plan", "check_backend_class"]
