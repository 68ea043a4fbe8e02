"""``Cache``: the cachetoolz front object, and ``cache``, the ready default instance."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._async_backend import AsyncBackend
from ._decorator import DEFAULT_SLOT, AnyBackend, AsyncCachedFunction, CachedFunction, Decorator, P, Slot, decorate
from ._errors import BackendError
from ._options import OPTION_NAMES, CacheOptions, Options
from ._plan import check_sync_capable
from ._policy import DEFAULT_NAMESPACE, check_namespace
from ._storage import sync_view

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger("cache_core")

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
T = TypeVar("T")


class Cache:
    """A backend plus default options; decorate with ``@cache`` / ``@cache(...)``.

    ``@cache.clear`` / ``@cache.clear(namespaces=[...])`` clears namespaces each time
    the decorated function returns. Assigning ``cache.backend`` re-points every
    function decorated through this object (the testing plugin uses that).

    Args:
        backend: where entries live, sync or async.
        **defaults: default options of the functions decorated here (``ttl``,
            ``namespace``, ``key_maker``, ``keygen``, ``typed``, ``serializer``,
            ``fail_open``, ``lock``: see ``cache_core.Options``).
    """

    def __init__(self, backend: AnyBackend, **defaults: Unpack[Options]) -> None:
        self._slot = Slot(backend)
        self.options = CacheOptions.of(defaults, what="Cache")

    @classmethod
    def _over(cls, slot: Slot) -> Cache:
        """A ``Cache`` over an existing slot (the default one)."""
        front = cls.__new__(cls)
        front._slot, front.options = slot, CacheOptions()
        return front

    @property
    def defaults(self) -> dict[str, Any]:
        """The default options, by name."""
        return {name: getattr(self.options, name) for name in sorted(OPTION_NAMES)}

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
    def __call__(self, fn: None = None, /, **options: Unpack[Options]) -> Decorator: ...
    def __call__(self, fn: Any = None, /, **options: Any) -> Any:
        """Cache a function here; bare ``@cache`` or ``@cache(ttl=..., namespace=..., ...)``."""
        settings = CacheOptions.of(options, base=self.options)

        def decorator(function: Any) -> Any:
            return decorate(function, slot=self._slot, options=settings)

        return decorator if fn is None else decorator(fn)

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
        fail_open = self.options.fail_open

        def failed(exc: BackendError) -> None:
            if not fail_open:
                raise exc
            self.backend.outage.failed(exc, "clear")

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
            view = sync_view(self.backend)
            for name in names:
                try:
                    view.clear(name)  # type: ignore[union-attr]  # checked by check_sync_capable
                except BackendError as exc:
                    failed(exc)
            return result

        return clearing


#: The ready default: ``Cache(DictCache())``, also what ``cached`` uses without ``cache=``.
cache = Cache._over(DEFAULT_SLOT)


def set_default_backend(backend: AnyBackend) -> AnyBackend:
    """Point ``cache_core.cache`` and every ``cached`` function without ``cache=`` at ``backend``.

    Returns the previous backend, so a caller (a test fixture) can restore it.
    """
    previous = cache.backend
    cache.backend = backend
    return previous


__all__ = ["AsyncCachedFunction", "Cache", "CachedFunction", "cache", "set_default_backend"]
