"""``Cache``: the cachetoolz front object, and ``cache``, the ready default instance."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, overload

from ._async_backend import AsyncBackend
from ._decorator import (
    AnyBackend,
    AsyncCachedFunction,
    CachedFunction,
    Decorator,
    P,
    Slot,
    _sync_view,
    check_options,
    check_sync_capable,
    decorate,
    outages,
)
from ._errors import BackendError
from ._keys import KeyGenerator, KeyMaker, KeyMakerFunction
from ._memory import DictCache
from ._policy import DEFAULT_NAMESPACE, check_namespace
from ._serializers import Serializer
from ._ttl import TTL

logger = logging.getLogger("cache_core")

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
T = TypeVar("T")

_OPTIONS = ("ttl", "namespace", "key_maker", "keygen", "typed", "serializer", "fail_open", "lock")


class Cache:
    """A backend plus default options; decorate with ``@cache`` / ``@cache(...)``.

    ``@cache.clear`` / ``@cache.clear(namespaces=[...])`` clears namespaces each time
    the decorated function returns. Assigning ``cache.backend`` re-points every
    function decorated through this object (the testing plugin uses that).

    Args:
        backend: where entries live, sync or async.
        **defaults: default ``cached`` options (``ttl``, ``namespace``, ``key_maker``,
            ``keygen``, ``typed``, ``serializer``, ``fail_open``).
    """

    def __init__(self, backend: AnyBackend, **defaults: Any) -> None:
        unknown = sorted(set(defaults) - set(_OPTIONS))
        if unknown:
            msg = f"unknown Cache option(s) {', '.join(unknown)}; expected some of {', '.join(_OPTIONS)}"
            raise TypeError(msg)
        self._slot = Slot(backend)
        self.defaults: dict[str, Any] = {
            "ttl": None,
            "namespace": DEFAULT_NAMESPACE,
            "key_maker": None,
            "keygen": None,
            "typed": False,
            "serializer": None,
            "fail_open": True,
            "lock": False,
            **defaults,
        }
        check_options(**{name: self.defaults[name] for name in _OPTIONS if name != "fail_open"})

    @property
    def backend(self) -> AnyBackend:
        """The backend; assign to move every function decorated through this object."""
        return self._slot.backend

    @backend.setter
    def backend(self, backend: AnyBackend) -> None:
        self._slot.backend = backend

    def __repr__(self) -> str:
        return f"Cache({self.backend!r})"

    @overload
    def __call__(self, fn: Callable[P, Awaitable[T]], /) -> AsyncCachedFunction[P, T]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, fn: Callable[P, R], /) -> CachedFunction[P, R]: ...
    @overload
    def __call__(
        self,
        fn: None = None,
        /,
        *,
        ttl: TTL = ...,
        namespace: str = ...,
        typed: bool = ...,
        keygen: KeyGenerator | None = ...,
        key_maker: KeyMaker | KeyMakerFunction | None = ...,
        serializer: Serializer | None = ...,
        fail_open: bool = ...,
        lock: bool | float = ...,
    ) -> Decorator: ...
    def __call__(self, fn: Any = None, /, **options: Any) -> Any:
        """Cache a function here; bare ``@cache`` or ``@cache(ttl=..., namespace=..., ...)``."""
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            msg = f"unknown cache option(s) {', '.join(unknown)}; expected some of {', '.join(_OPTIONS)}"
            raise TypeError(msg)
        settings = {**self.defaults, **options}

        def decorator(function: Any) -> Any:
            return decorate(function, slot=self._slot, **settings)

        if fn is not None:
            return decorator(fn)
        check_options(**{name: settings[name] for name in _OPTIONS if name != "fail_open"})
        return decorator

    @overload
    def clear(self, fn: F, /) -> F: ...
    @overload
    def clear(self, fn: None = None, /, *, namespaces: Sequence[str] | str = ...) -> Callable[[F], F]: ...
    def clear(self, fn: Any = None, /, *, namespaces: Sequence[str] | str = (DEFAULT_NAMESPACE,)) -> Any:
        """Decorate a function so each successful call then clears ``namespaces``.

        Bare ``@cache.clear`` clears ``"default"``. A backend failure while clearing is
        logged and swallowed unless this Cache has ``fail_open=False``.
        """
        names = [namespaces] if isinstance(namespaces, str) else list(namespaces)
        for name in names:
            check_namespace(name)

        def decorator(function: F) -> F:
            return self._clearing(function, names)  # type: ignore[return-value]

        return decorator(fn) if fn is not None else decorator

    def _clearing(self, function: Callable[..., Any], names: Iterable[str]) -> Callable[..., Any]:
        names = tuple(names)
        if isinstance(function, (classmethod, staticmethod)):
            return type(function)(self._clearing(function.__func__, names))
        fail_open = self.defaults["fail_open"]

        def failed(exc: BackendError) -> None:
            if not fail_open:
                raise exc
            outages.failed(self.backend, exc, "clear")

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def clearing_async(*args: Any, **kwargs: Any) -> Any:
                result = await function(*args, **kwargs)
                backend = self.backend
                for name in names:
                    try:
                        if isinstance(backend, AsyncBackend):
                            await backend.clear(name)
                        else:
                            backend.clear(name)
                    except BackendError as exc:
                        failed(exc)
                return result

            return clearing_async

        check_sync_capable(function, self.backend)

        @functools.wraps(function)
        def clearing(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            sync_view = _sync_view(self.backend)
            for name in names:
                try:
                    sync_view.clear(name)
                except BackendError as exc:
                    failed(exc)
            return result

        return clearing


#: The ready default: ``Cache(DictCache())``, also what ``cached`` uses without ``cache=``.
cache = Cache(DictCache())


def set_default_backend(backend: AnyBackend) -> AnyBackend:
    """Point ``cache_core.cache`` and every ``cached`` function without ``cache=`` at ``backend``.

    Returns the previous backend, so a caller (a test fixture) can restore it.
    """
    previous = cache.backend
    cache.backend = backend
    return previous


__all__ = ["AsyncCachedFunction", "Cache", "CachedFunction", "cache", "set_default_backend"]
