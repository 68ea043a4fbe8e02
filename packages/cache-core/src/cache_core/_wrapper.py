"""The wrapper a caller calls: compiled to the function's own signature when it can be.

A ``def wrapper(*args, **kwargs)`` costs about twice a plain call before it does
anything, and the arguments must then be bound to the signature to build the key. For
a plain Python function with the default key maker, ``render`` writes the source of a
wrapper with the function's own parameters instead (defaults, keyword-only, ``*args``
and ``**kwargs`` included), so Python binds the call and the wrapper starts with the
arguments in canonical form. It does one thing before it hands the call to the caller
(``fetch``, the one call path): answer a hit from the hot index (hot key ->
entry, see ``_hotkeys`` and ``HotIndex``), checking the entry's expiry and LRU order.
Every miss, and every call the index cannot answer, goes to the caller.

Performance over tidiness: this is code generation (as ``dataclasses`` does it). The
source is built from parameter names only (identifiers Python already accepted);
defaults and helpers reach it as globals of its own namespace, never as text. The
source is registered with ``linecache`` under the name the traceback shows, and the
tests render it for sample signatures, run it and lint it.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import linecache
from collections.abc import Callable
from typing import Any

from ._hotkeys import NOT_HOT, SIMPLE, hot_call, hot_component, hot_values, known_component
from ._keys import KeyPlan
from ._memory import NEVER, HotIndex, Stored
from ._policy import MISSING

PREFIX = "_cc_"
_NO_INDEX: dict[Any, Any] = {}  # the index of a binding without one: never written
_P = inspect.Parameter

#: ``count(reset)``: the hits a compiled wrapper answered (zeroed when ``reset``).
Count = Callable[[bool], int]


def compilable(fn: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """The parameters of ``fn`` if a wrapper can be compiled for it, else ``None``.

    Only plain Python functions that wrap nothing else (their signature is their own).
    """
    if not inspect.isfunction(fn) or hasattr(fn, "__wrapped__") or "__signature__" in fn.__dict__:
        return None
    parameters = list(inspect.signature(fn).parameters.values())
    if any(p.name.startswith(PREFIX) for p in parameters):
        return None
    return parameters


def render(name: str, parameters: list[inspect.Parameter], *, is_async: bool) -> tuple[str, dict[str, Any]]:
    """The source of the factory of a wrapper named ``name``, and the defaults it refers to."""
    p = PREFIX
    signature, defaults = _signature(parameters)
    fixed = [q.name for q in parameters if q.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD)]
    positional = [q.name for q in parameters if q.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
    keyword_only = [q.name for q in parameters if q.kind is _P.KEYWORD_ONLY]
    star = next((q.name for q in parameters if q.kind is _P.VAR_POSITIONAL), None)
    double_star = next((q.name for q in parameters if q.kind is _P.VAR_KEYWORD), None)
    # *args and **kwargs are new objects on every call: passed on as they are when they are all there is.
    args = star if star and not positional else _tuple([*positional, *([f"*{star}"] if star else [])])
    named = [f"{k!r}: {k}" for k in keyword_only] + ([f"**{double_star}"] if double_star else [])
    kwargs = double_star if double_star and not keyword_only else "{" + ", ".join(named) + "}"
    if double_star:
        hot = f"{p}args = {args}\n        {p}kwargs = {kwargs}\n        {p}hot = {p}hot_call({p}args, {p}kwargs)"
        if star and not positional and not keyword_only:  # (*args, **kwargs): most calls pass no keywords
            hot = (
                f"{p}args = {star}\n        {p}kwargs = {double_star}\n        if {double_star}:\n"
                f"            {p}hot = {p}hot_call({star}, {double_star})\n        else:\n"
                + _star_hot(star, "            ")
            )
        args, kwargs = f"{p}args", f"{p}kwargs"
    elif star:  # a fixed number of keyword-only arguments follows the positional ones
        every = _tuple([*positional, f"*{star}", *keyword_only])
        hot = f"{p}hot = {p}values({every})"
        if not positional and not keyword_only:  # the arguments are the hot key, checked inline
            hot = _star_hot(star, "        ").lstrip()
    elif not fixed:
        hot = f"{p}hot = ()"
    elif len(fixed) == 1:
        one = fixed[0]
        hot = f"{p}hot = {one} if {p}type({one}) in {p}simple else {p}known({p}type({one}), {p}component)({one})"
    else:
        checks = [f"{p}type({n}) in {p}simple" for n in fixed]
        hot = f"{p}hot = {_tuple(fixed)} if {' and '.join(checks)} else {p}values({_tuple(fixed)})"
        if len(hot) > 110:  # one check per line, within the line length the tests lint with
            guard = "\n            and ".join(checks)
            hot = (
                f"if (\n            {guard}\n        ):\n            {p}hot = {_tuple(fixed)}\n"
                f"        else:\n            {p}hot = {p}values({_tuple(fixed)})"
            )
    bind = "" if double_star else f"{p}args = {args}\n        {p}kwargs = {kwargs}\n        "
    source = _FACTORY.format(
        bind=bind,
        p=p,
        name=name,
        async_="async " if is_async else "",
        await_="await " if is_async else "",
        signature=signature,
        hot=hot,
        args=args,
        kwargs=kwargs,
    )
    return source, defaults


def _star_hot(star: str, indent: str) -> str:
    """The source that makes ``*star`` the hot key when each of its values is simple.

    Performance over tidiness: for the few arguments calls pass, a loop costs half of
    ``SIMPLE.issuperset(map(type, star))``.
    """
    p = PREFIX
    return (
        f"{indent}{p}hot = {star}\n"
        f"{indent}for {p}value in {star}:\n"
        f"{indent}    if {p}type({p}value) not in {p}simple:\n"
        f"{indent}        {p}hot = {p}values({star})\n"
        f"{indent}        break"
    )


_FACTORY = """
def {p}factory():
    {p}hits = 0

    {async_}def {name}({signature}):
        nonlocal {p}hits
        {hot}
        {p}entry = {p}index_get({p}hot, {p}missing)
        if {p}entry is not {p}missing:
            if {p}type({p}entry) is not {p}stored:
                {p}hits += 1
                return {p}entry
            {p}expires_at = {p}entry.expires_at
            if {p}expires_at is {p}never or {p}expires_at > {p}now():
                if {p}touch is not None:
                    {p}touch({p}entry)
                {p}hits += 1
                return {p}entry.value
        {bind}return {await_}{p}fetch({p}key({p}args, {p}kwargs), {p}hot, {p}args, {p}kwargs)

    def {p}count(reset):
        nonlocal {p}hits
        hits = {p}hits
        if reset:
            {p}hits = 0
        return hits

    return {name}, {p}count
"""


class Compiled:
    """A compiled wrapper, its hit counter, and how to point it at another binding's hot index."""

    __slots__ = ("count", "scope", "wrapper")

    def __init__(
        self, fn: Callable[..., Any], parameters: list[inspect.Parameter], key: Any, fetch: Any, *, is_async: bool
    ) -> None:
        fn_name = getattr(fn, "__name__", "")
        name = fn_name if _usable_name(fn_name, parameters) else f"{PREFIX}wrapper"
        source, defaults = render(name, parameters, is_async=is_async)
        where = f"{getattr(fn, '__module__', None)}.{getattr(fn, '__qualname__', fn_name or type(fn).__qualname__)}"
        filename = f"<cache_core wrapper of {where}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        # The helpers are the globals of the wrapper's own namespace, not closure cells: a
        # call copies every cell of its function into its frame, whether it uses it or not.
        helpers = _helpers(key, fetch)
        self.scope: dict[str, Any] = {PREFIX + name: helper for name, helper in helpers.items()}
        self.scope.update(defaults)
        exec(compile(source, filename, "exec"), self.scope)  # noqa: S102 - source built from identifiers only
        self.wrapper, self.count = self.scope[f"{PREFIX}factory"]()

    def point_at(self, index: HotIndex | None) -> None:
        """Answer hits from ``index`` from now on (``None``: none; every call goes to the caller)."""
        scope = self.scope
        scope[f"{PREFIX}index_get"] = _NO_INDEX.get  # no hit answered while the rest changes
        if index is not None:
            scope[f"{PREFIX}now"], scope[f"{PREFIX}touch"] = index.now, index.touch
            scope[f"{PREFIX}index_get"] = index.get


def _helpers(key: Any, fetch: Any) -> dict[str, Any]:
    """The globals a rendered wrapper reads, by name without the prefix (``point_at`` sets the last three)."""
    return {
        "key": key,
        "fetch": fetch,
        "missing": MISSING,
        "stored": Stored,
        "never": NEVER,
        "simple": SIMPLE,
        "type": type,
        "component": hot_component,
        "known": known_component,
        "values": hot_values,
        "hot_call": hot_call,
        "index_get": _NO_INDEX.get,
        "now": None,
        "touch": None,
    }


#: The names of those globals.
HELPER_NAMES: tuple[str, ...] = tuple(_helpers(None, None))


#: The parameters of the wrapper of a callable whose own signature cannot be rendered.
_AS_CALLED = [_P("args", _P.VAR_POSITIONAL), _P("kwargs", _P.VAR_KEYWORD)]


def compile_wrapper(fn: Callable[..., Any], keys: KeyPlan, fetch: Any, *, is_async: bool) -> Compiled | None:
    """A ``Compiled`` wrapper of ``fn``; what its index misses goes to ``fetch(key, hot, args, kwargs)``.

    ``fetch`` is the caller's. A plain function gets a wrapper with its own parameters, so
    calls arrive in canonical form (``keys.canonical_key``). Any other callable (one
    wrapped by another decorator, a ``functools.partial``, an object with ``__call__``)
    gets ``(*args, **kwargs)``: the call is passed on as it was made and keyed with
    ``keys.key``, which binds it; its hot key is the arguments as given. ``None`` when
    the key may depend on more than the argument values (no hot index, no wrapper here).
    """
    if keys.canonical_key is None:
        return None
    parameters = compilable(fn)
    if parameters is None:
        compiled = Compiled(fn, _AS_CALLED, keys.key, fetch, is_async=is_async)
    else:
        compiled = Compiled(fn, parameters, keys.canonical_key, fetch, is_async=is_async)
    functools.update_wrapper(compiled.wrapper, fn)
    return compiled


def plain_wrapper(fn: Callable[..., Any], call: Any, *, is_async: bool) -> Callable[..., Any]:
    """The wrapper of any other callable: ``*args, **kwargs`` handed to ``call(args, kwargs)``."""
    if is_async:

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return await call(args, kwargs)

        return functools.wraps(fn)(async_wrapper)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return call(args, kwargs)

    return functools.wraps(fn)(wrapper)


def _signature(parameters: list[inspect.Parameter]) -> tuple[str, dict[str, Any]]:
    """The parameter list of the wrapper (no annotations; defaults as globals)."""
    parts: list[str] = []
    defaults: dict[str, Any] = {}
    for position, parameter in enumerate(parameters):
        kind = parameter.kind
        if kind is _P.KEYWORD_ONLY and not any(q.kind is _P.VAR_POSITIONAL for q in parameters) and "*" not in parts:
            parts.append("*")
        if kind is _P.VAR_POSITIONAL:
            text = f"*{parameter.name}"
        elif kind is _P.VAR_KEYWORD:
            text = f"**{parameter.name}"
        elif parameter.default is _P.empty:
            text = parameter.name
        else:
            default = f"{PREFIX}default_{position}"
            defaults[default] = parameter.default
            text = f"{parameter.name}={default}"
        parts.append(text)
        last_positional_only = kind is _P.POSITIONAL_ONLY and (
            position + 1 == len(parameters) or parameters[position + 1].kind is not _P.POSITIONAL_ONLY
        )
        if last_positional_only:
            parts.append("/")
    return ", ".join(parts), defaults


def _tuple(items: list[str]) -> str:
    """The source of a tuple of ``items``."""
    if len(items) == 1:
        return f"({items[0]},)"
    return f"({', '.join(items)})"


def _usable_name(name: str, parameters: list[inspect.Parameter]) -> bool:
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith(PREFIX)
        and name not in {p.name for p in parameters}
    )


__all__ = ["NOT_HOT", "Compiled", "compile_wrapper", "plain_wrapper", "render"]
