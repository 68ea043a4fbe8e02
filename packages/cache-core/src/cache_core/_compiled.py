"""Wrappers compiled to the decorated function's own signature.

A ``def wrapper(*args, **kwargs)`` costs about twice a plain call before it does
anything, and must then bring the arguments to one canonical form for the key.
For the common function (positional parameters only, the default key maker),
``compiled_wrapper`` writes the source of a wrapper with the same parameters
instead, so Python binds the call (defaults included) and the wrapper starts with
the arguments in canonical order. Its first step is the hot index (arguments ->
value, see ``HotIndex``); everything else is the ordinary path, ``slow``.

Performance over tidiness: this is code generation (as ``dataclasses`` does it). The
source is built from parameter names only (identifiers Python already accepted);
defaults and helpers reach it as arguments of the factory, never as text.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable
from typing import Any

from ._keys import MEMO_TYPES
from ._policy import MISSING

_PREFIX = "_cc_"
_NO_INDEX: dict[Any, Any] = {}  # the index of a function whose backend offers none: never written
# The keyword arguments of every compiled call: none. Never written: whatever receives it
# as ``kwargs`` (the function, a TTL function) gets a copy or a new dict.
_NO_KWARGS: dict[str, Any] = {}
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

#: ``(wrapper, rebind, count)``: rebind(index) points the wrapper at another hot index;
#: count(reset) returns the hits it answered (and zeroes them when ``reset``).
Compiled = tuple[Callable[..., Any], Callable[[Any], None], Callable[[bool], int]]


def positional_parameters(fn: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """The parameters of ``fn`` if a wrapper can be compiled for it, else ``None``.

    Only plain Python functions whose parameters are all positional (no ``*args``,
    ``**kwargs`` or keyword-only ones), and not wrappers of something else.
    """
    if not inspect.isfunction(fn) or hasattr(fn, "__wrapped__") or "__signature__" in fn.__dict__:
        return None
    parameters = list(inspect.signature(fn).parameters.values())
    if any(p.kind not in _POSITIONAL or p.name.startswith(_PREFIX) for p in parameters):
        return None
    return parameters


def compile_wrapper(
    fn: Callable[..., Any],
    parameters: list[inspect.Parameter],
    *,
    is_async: bool,
    index: Any,
    fetch: Callable[[str, tuple[Any, ...], dict[str, Any], Any], Any],
    key_for: Callable[[tuple[Any, ...], Any], tuple[str, Any]],
    prefix: str | None,
) -> Compiled:
    """Build the wrapper of ``fn``.

    A call whose arguments are all of the exact types the index may hold looks them up
    in ``index`` (the one argument itself, or the tuple of several: the "hot" key) and
    returns what it finds. Otherwise it returns ``fetch(key, args, {}, hot)`` (awaited
    for ``async def``), with ``args`` the canonical tuple and ``(key, hot)`` from
    ``key_for(args, hot)``; with one argument and a ``prefix`` (an unhashed key), the key
    is built in place: ``prefix + repr(args)``, as the key maker would.
    """
    names = [p.name for p in parameters]
    signature: list[str] = []
    defaults: dict[str, Any] = {}
    for position, parameter in enumerate(parameters):
        if parameter.default is inspect.Parameter.empty:
            signature.append(parameter.name)
        else:
            default = f"{_PREFIX}default_{position}"
            defaults[default] = parameter.default
            signature.append(f"{parameter.name}={default}")
        last_positional_only = parameter.kind is inspect.Parameter.POSITIONAL_ONLY and (
            position + 1 == len(parameters) or parameters[position + 1].kind is not inspect.Parameter.POSITIONAL_ONLY
        )
        if last_positional_only:
            signature.append("/")
    args = f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"
    hot = names[0] if len(names) == 1 else args
    guard = " and ".join(f"{_PREFIX}type({name}) in {_PREFIX}types" for name in names) or "True"
    name = fn.__name__ if _usable_name(fn.__name__, names) else f"{_PREFIX}wrapper"
    wait = "await " if is_async else ""
    if len(names) == 1 and prefix is not None:
        body = f"""
        if {guard}:
            {_PREFIX}value = {_PREFIX}index_get({hot}, {_PREFIX}missing)
            if {_PREFIX}value is not {_PREFIX}missing:
                {_PREFIX}hits += 1
                return {_PREFIX}value
            return {wait}{_PREFIX}fetch(f"{{{_PREFIX}prefix}}({{{hot}!r}},)", {args}, {_PREFIX}no_kwargs, {hot})
        {_PREFIX}key, {_PREFIX}hot = {_PREFIX}key_for({args}, {hot})
        return {wait}{_PREFIX}fetch({_PREFIX}key, {args}, {_PREFIX}no_kwargs, {_PREFIX}hot)"""
    else:
        body = f"""
        {_PREFIX}value = {_PREFIX}index_get({hot}, {_PREFIX}missing)
        if {_PREFIX}value is not {_PREFIX}missing and {guard}:
            {_PREFIX}hits += 1
            return {_PREFIX}value
        {_PREFIX}key, {_PREFIX}hot = {_PREFIX}key_for({args}, {hot})
        return {wait}{_PREFIX}fetch({_PREFIX}key, {args}, {_PREFIX}no_kwargs, {_PREFIX}hot)"""
    helpers = ["index_get", "fetch", "key_for", "prefix", "missing", "types", "type"]
    source = f"""
def {_PREFIX}factory({", ".join([*(_PREFIX + helper for helper in helpers), *defaults])}):
    {_PREFIX}hits = 0

    {"async " if is_async else ""}def {name}({", ".join(signature)}):
        nonlocal {_PREFIX}hits{body}

    def {_PREFIX}rebind(index):
        nonlocal {_PREFIX}index_get
        {_PREFIX}index_get = ({_PREFIX}no_index if index is None else index).get

    def {_PREFIX}count(reset):
        nonlocal {_PREFIX}hits
        hits = {_PREFIX}hits
        if reset:
            {_PREFIX}hits = 0
        return hits

    return {name}, {_PREFIX}rebind, {_PREFIX}count
"""
    scope: dict[str, Any] = {f"{_PREFIX}no_index": _NO_INDEX, f"{_PREFIX}no_kwargs": _NO_KWARGS}
    code = compile(source, f"<cache_core wrapper of {fn.__module__}.{fn.__qualname__}>", "exec")
    exec(code, scope)  # noqa: S102 - source built from identifiers only, see the module docstring
    index_get = (_NO_INDEX if index is None else index).get
    factory = scope[f"{_PREFIX}factory"]
    compiled: Compiled = factory(index_get, fetch, key_for, prefix, MISSING, MEMO_TYPES, type, *defaults.values())
    return compiled


def _usable_name(name: str, parameters: list[str]) -> bool:
    return (
        name.isidentifier() and not keyword.iskeyword(name) and not name.startswith(_PREFIX) and name not in parameters
    )
