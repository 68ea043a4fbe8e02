"""``Cache``: the cachetoolz front object, and ``cache``, the ready default instance."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._async_backend import AsyncBackend
from ._decorator import DEFAULT_SLOT, AnyBackend, AsyncCachedFunction, CachedFunction, Decorator, P, Slot, decorate
from ._errors import BackendError
from ._options import OPTION_NAMES, CacheOptions, Options
from ._plan import check_sync_capable
from ._policy import DEFAULT_NAMESPACE, check_namespace
from ._storage import sync_view
from ._tags import TagPlan, check_tag_names, check_tags_option, tag_plan

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger("cache_core")

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
T = TypeVar("T")


class Cache:
    """A backend plus default options; decorate with ``@cache`` / ``@cache(...)``.

    ``@cache.clear`` / ``@cache.clear(namespaces=[...])`` clears namespaces each time
    the decorated function returns; ``@cache.clear(tags=[...])`` invalidates tags
    (templates filled with its arguments). ``cache.invalidate_tags(*tags)`` invalidates
    tags now. Assigning ``cache.backend`` re-points every
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

    def invalidate_tags(self, *tags: str) -> Awaitable[None]:
        """Make every entry stored so far under any of ``tags`` a miss, in every process.

        With a backend that has a sync interface (sync backends, ``DictCache``) it is done
        when this returns, and the result may be awaited or ignored; with an async-only
        backend (``RedisCache``, ...) await the result.
        """
        names = check_tag_names(tags)
        backend = self.backend
        view = sync_view(backend)
        if view is None:
            return backend.invalidate_tags(*names)  # type: ignore[return-value]  # async: a coroutine
        view.invalidate_tags(*names)
        return _DONE

    @overload
    def clear(self, fn: F, /) -> F: ...
    @overload
    def clear(
        self, fn: None = None, /, *, namespaces: Sequence[str] | str | None = ..., tags: Sequence[str] | str = ...
    ) -> Callable[[F], F]: ...
    def clear(
        self, fn: Any = None, /, *, namespaces: Sequence[str] | str | None = None, tags: Sequence[str] | str = ()
    ) -> Any:
        """Decorate a function so each successful call then clears ``namespaces`` and invalidates ``tags``.

        Bare ``@cache.clear`` clears ``"default"``; with ``tags`` only, no namespace is
        cleared. ``tags`` are ``str.format`` templates filled with the decorated
        function's arguments by name (``"user:{user_id}"``). A backend failure while
        clearing is logged and swallowed unless this Cache has ``fail_open=False``.
        """
        if namespaces is None:
            namespaces = () if tags else (DEFAULT_NAMESPACE,)
        names = [namespaces] if isinstance(namespaces, str) else list(namespaces)
        for name in names:
            check_namespace(name)
        templates = check_tags_option(tags) if tags else None
        if templates is not None and not isinstance(templates, tuple):
            msg = "cache.clear(tags=...) takes str.format templates, not a callable"
            raise TypeError(msg)

        def decorator(function: F) -> F:
            return self._clearing(function, names, templates)  # type: ignore[return-value]

        return decorator(fn) if fn is not None else decorator

    def _clearing(
        self, function: Callable[..., Any], names: Iterable[str], templates: tuple[str, ...] | None
    ) -> Callable[..., Any]:
        names = tuple(names)
        if isinstance(function, (classmethod, staticmethod)):
            return type(function)(self._clearing(function.__func__, names, templates))
        fail_open = self.options.fail_open
        plan: TagPlan | None = tag_plan(function, templates)

        def failed(exc: BackendError, where: str) -> None:
            if not fail_open:
                raise exc
            self.backend.outage.failed(exc, where)

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
                        failed(exc, "clear")
                if plan is not None:
                    try:
                        if isinstance(backend, AsyncBackend):
                            await backend.invalidate_tags(*plan.names(args, kwargs))
                        else:
                            backend.invalidate_tags(*plan.names(args, kwargs))
                    except BackendError as exc:
                        failed(exc, "invalidate_tags")
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
                    failed(exc, "clear")
            if plan is not None:
                try:
                    view.invalidate_tags(*plan.names(args, kwargs))  # type: ignore[union-attr]  # as above
                except BackendError as exc:
                    failed(exc, "invalidate_tags")
            return result

        return clearing


class _Done:
    """An awaitable that is already done: what ``Cache.invalidate_tags`` returns when it ran at once."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        yield from ()


_DONE = _Done()


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
