"""Wrappers compiled to the decorated function's own signature.

A ``def wrapper(*args, **kwargs)`` costs about twice a plain call before it does
anything, and must then bring the arguments to one canonical form for the key.
For the common function (positional parameters only, the default key maker),
``compiled_wrapper`` writes the source of a wrapper with the same parameters
instead, so Python binds the call (defaults included) and the wrapper starts with
the arguments in canonical order. Its first step is the hot index (arguments ->
value, see ``HotIndex``). Then it builds the key and, for in-process storage with a
fixed TTL, runs the common miss itself: a key absent from the namespace dict, that no
one is computing. That is ``_State.fetch``'s (``afetch``'s) path for such a miss,
written out with the function called by its own parameters and no call of ``fetch``
between (a fifth of the cost of a miss); every other case calls ``fetch``.

Performance over tidiness: this is code generation (as ``dataclasses`` does it). The
source is built from parameter names only (identifiers Python already accepted);
defaults and helpers reach it as arguments of the factory, never as text.
"""

from __future__ import annotations

import inspect
import keyword
from asyncio import get_running_loop
from collections.abc import Callable
from threading import get_ident
from typing import Any

from ._errors import BackendError
from ._keys import MEMO_TYPES
from ._policy import MISSING

_PREFIX = "_cc_"
_NO_INDEX: dict[Any, Any] = {}  # the index of a function whose backend offers none: never written
# The keyword arguments of every compiled call: none. Never written: whatever receives it
# as ``kwargs`` (the function, a TTL function) gets a copy or a new dict.
_NO_KWARGS: dict[str, Any] = {}
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)

# A sync flight is a list, the cheapest object to make on every miss:
# [thread id of the leader, done, value, error, somebody waits]. Waiters block on the
# function's condition, which the leader notifies only when somebody waits.
# An async flight is [event loop, future], the future made by the first task that waits.
THREAD, DONE, VALUE, ERROR, WAITED = range(5)

#: ``(wrapper, rebind, count)``: ``rebind(index, space, write, seconds)`` points the
#: wrapper at another hot index and, with ``space`` not ``None``, lets it run a miss in
#: that namespace dict itself (storing with ``write`` for ``seconds``); ``count(reset)``
#: returns the hits it answered (and zeroes them when ``reset``).
Compiled = tuple[Callable[..., Any], Callable[..., None], Callable[[bool], int]]


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
    state: Any,
    key_for: Callable[[tuple[Any, ...], Any], tuple[str, Any]],
    prefix: str | None,
    outages: Any,
) -> Compiled:
    """Build the wrapper of ``fn`` for the ``_State`` ``state``.

    A call whose arguments are all of the exact types the index may hold looks them up
    in the hot index (the one argument itself, or the tuple of several: the "hot" key)
    and returns what it finds. Otherwise it takes ``(key, hot)`` from
    ``key_for(args, hot)`` (with one argument and a ``prefix``, an unhashed key, the
    key is built in place: ``prefix + repr(args)``, as the key maker would), runs a
    miss in the namespace dict itself when it may (see the module docstring) and calls
    ``state.fetch(key, args, {}, hot)`` (awaits ``state.afetch``) for everything else.
    The wrapper starts with no index and no namespace dict: ``rebind`` gives them.
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
    is_async = inspect.iscoroutinefunction(fn)
    source = _FACTORY.format(
        p=_PREFIX,
        name=fn.__name__ if _usable_name(fn.__name__, names) else f"{_PREFIX}wrapper",
        async_="async " if is_async else "",
        signature=", ".join(signature),
        lookup=_lookup(names, prefix is not None),
        miss=(_ASYNC_MISS if is_async else _SYNC_MISS).format(
            p=_PREFIX, call=", ".join(names), args=_args(names), VALUE=VALUE, ERROR=ERROR, DONE=DONE, WAITED=WAITED
        ),
    )
    # The helpers are the globals of the wrapper's own module scope, not closure cells: a
    # call copies every cell of its function into its frame, whether it uses it or not.
    helpers = {
        "state": state,
        "fn": fn,
        "flights": state.flights,
        "fetch": state.afetch if is_async else state.fetch,
        "key_for": key_for,
        "prefix": prefix,
        "outages": outages,
        "no_kwargs": _NO_KWARGS,
        "missing": MISSING,
        "types": MEMO_TYPES,
        "type": type,
        "backend_error": BackendError,
        "ident": get_ident,
        "running_loop": get_running_loop,
        "index_get": _NO_INDEX.get,
        "space": None,
        "write": None,
        "seconds": None,
    }
    scope: dict[str, Any] = {_PREFIX + name: helper for name, helper in helpers.items()}
    scope.update(defaults)
    code = compile(source, f"<cache_core wrapper of {fn.__module__}.{fn.__qualname__}>", "exec")
    exec(code, scope)  # noqa: S102 - source built from identifiers only, see the module docstring
    wrapper, count = scope[f"{_PREFIX}factory"]()

    def rebind(index: Any, space: dict[str, Any] | None, write: Callable[..., Any] | None, seconds: Any) -> None:
        # The inline miss is off (no namespace dict) while the rest changes: no call
        # starts one with the old namespace dict and the new writer.
        scope[f"{_PREFIX}space"] = None
        scope[f"{_PREFIX}index_get"] = (_NO_INDEX if index is None else index).get
        scope[f"{_PREFIX}write"], scope[f"{_PREFIX}seconds"] = write, seconds
        scope[f"{_PREFIX}space"] = space

    return wrapper, rebind, count


def _lookup(names: list[str], prefixed: bool) -> str:
    """The wrapper's source up to ``key`` and ``hot``: the hot index first."""
    p, args = _PREFIX, _args(names)
    guard = " and ".join(f"{p}type({name}) in {p}types" for name in names) or "True"
    if len(names) == 1 and prefixed:
        return f"""
        if {guard}:
            {p}value = {p}index_get({names[0]}, {p}missing)
            if {p}value is not {p}missing:
                {p}hits += 1
                return {p}value
            {p}key = f"{{{p}prefix}}({{{names[0]}!r}},)"
            {p}hot = {names[0]}
        else:
            {p}key, {p}hot = {p}key_for({args}, {names[0]})"""
    hot = names[0] if len(names) == 1 else args
    return f"""
        {p}value = {p}index_get({hot}, {p}missing)
        if {p}value is not {p}missing and {guard}:
            {p}hits += 1
            return {p}value
        {p}key, {p}hot = {p}key_for({args}, {hot})"""


_FACTORY = """
def {p}factory():
    {p}hits = 0

    {async_}def {name}({signature}):
        nonlocal {p}hits{lookup}{miss}

    def {p}count(reset):
        nonlocal {p}hits
        hits = {p}hits
        if reset:
            {p}hits = 0
        return hits

    return {name}, {p}count
"""

# A miss in the namespace dict (see _State.fetch): register the flight, call the
# function by its parameters, store, retire the flight, wake waiters if there are any.
_SYNC_MISS = """
        if {p}space is None or {p}key in {p}space:
            return {p}fetch({p}key, {args}, {p}no_kwargs, {p}hot)
        {p}state.misses += 1
        {p}flight = [{p}ident(), False, None, None, False]
        {p}running = {p}flights.setdefault({p}key, {p}flight)
        if {p}running is not {p}flight:
            return {p}state.join({p}running, {args}, {p}no_kwargs)
        try:
            {p}flight[{VALUE}] = {p}value = {p}fn({call})
            try:
                {p}write({p}key, {p}value, {p}seconds)
            except {p}backend_error as {p}exc:
                {p}state.swallow({p}exc, "put")
            else:
                if {p}outages.active:
                    {p}outages.succeeded({p}state.backend)
            return {p}value
        except BaseException as {p}exc:
            {p}flight[{ERROR}] = {p}exc
            raise
        finally:
            del {p}flights[{p}key]
            {p}flight[{DONE}] = True
            if {p}flight[{WAITED}]:
                {p}state.wake()"""

# The same in an event loop (see _State.afetch): no task may be computing the key.
_ASYNC_MISS = """
        if {p}space is None or {p}key in {p}space or {p}key in {p}flights:
            return await {p}fetch({p}key, {args}, {p}no_kwargs, {p}hot)
        {p}state.misses += 1
        {p}flight = [{p}running_loop(), None]
        {p}flights[{p}key] = {p}flight
        try:
            {p}value = await {p}fn({call})
            try:
                {p}write({p}key, {p}value, {p}seconds)
            except {p}backend_error as {p}exc:
                {p}state.swallow({p}exc, "put")
            else:
                if {p}outages.active:
                    {p}outages.succeeded({p}state.backend)
        except BaseException as {p}exc:
            if {p}flight[1] is not None:
                {p}state.afailed({p}flight, {p}exc)
            raise
        else:
            if {p}flight[1] is not None:
                {p}flight[1].set_result({p}value)
            return {p}value
        finally:
            if {p}flights.get({p}key) is {p}flight:
                del {p}flights[{p}key]"""


def _args(names: list[str]) -> str:
    """The source of the tuple of the arguments."""
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _usable_name(name: str, parameters: list[str]) -> bool:
    return (
        name.isidentifier() and not keyword.iskeyword(name) and not name.startswith(_PREFIX) and name not in parameters
    )
