"""Every call shape, with random arguments, gives what the plain function gives, computed once.

Each example draws a call shape (positional, keyword, keyword-only, defaults, positional-only,
``*args``, ``**kwargs``, methods, classmethods and staticmethods in either decorator order),
a pool of argument values of many types (ints, floats with -0.0/nan/inf, str, bytes, None,
bools, tuples, lists, dicts, frozensets, frozen dataclasses, objects with the default repr,
an ``int`` subclass), a backend configuration and a sequence of calls spelled in random
ways, with the clock moving between them. The same sequence runs through the plain
function and the decorated one, next to a model of the documented contract (docs/keys.md):

* a call's key is its arguments bound to the signature, defaults applied: positional
  and keyword spellings of one call are the same call, and so is omitting a default;
* arguments share an entry exactly when their reprs agree (``1``, ``1.0`` and ``True``
  never do; equal values that print differently never do), objects with the default repr
  by identity; ``typed=True`` also separates the types of the arguments;
* an entry lives ``ttl`` seconds; with ``maxsize`` the least recently used one goes first.

Required, after every call: the decorated result is the model's (the plain function's own
result on a miss, the first result stored under that key on a hit), the body ran exactly
when the model misses, and at the end ``cache_info`` counts those hits and misses.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cache_core import Cache, DictCache, PickleSerializer, SyncDictCache, cached
from cache_sqlite import SqliteCache, SyncSqliteCache
from cache_testing import TestClock
from hypothesis import given, note, settings
from hypothesis import strategies as st

TTL = 60.0
ADVANCES = (7.0, 31.0, 61.0)  # no run of these sums to exactly TTL: no call lands on an expiry instant
MAXSIZE = 3


# -- argument values -------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    x: int
    label: str


class Plain:
    """The default ``object.__repr__``: keys must tell instances apart by identity."""


class UserId(int):
    """Prints like an ``int``: shares the int's entry unless ``typed=True``."""


def shown(value: Any) -> str:
    """The model's repr: ``repr`` with objects of the default repr named by identity."""
    if isinstance(value, Plain):
        return f"<Plain #{id(value)}>"
    if type(value) is list:
        return "[" + ", ".join(map(shown, value)) + "]"
    if type(value) is tuple:
        return "(" + ", ".join(map(shown, value)) + ("," if len(value) == 1 else "") + ")"
    if type(value) is dict:
        return "{" + ", ".join(f"{shown(k)}: {shown(v)}" for k, v in value.items()) + "}"
    return repr(value)


scalars = st.one_of(
    st.integers(),
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1.0, 0.5]),
    st.floats(),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.none(),
    st.booleans(),
)
hashables = st.one_of(scalars, st.builds(Point, st.integers(-3, 3), st.text(max_size=3)))
nested = st.recursive(
    st.one_of(hashables, st.builds(Plain)),
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), inner, max_size=3),
        st.frozensets(st.one_of(st.integers(-5, 5), st.text(max_size=2)), max_size=3),
    ),
    max_leaves=5,
)
#: Top-level argument values; ``UserId`` only here (``typed`` separates top-level types).
values = st.one_of(nested, st.integers(-3, 3).map(UserId))


# -- the call shapes, built once plain and once decorated, from the same source -----------------


@dataclass
class Body:
    """What every shape's body does: count the run and describe all of its arguments."""

    runs: int = 0

    def __call__(self, /, **named: Any) -> str:
        self.runs += 1
        return "; ".join(f"{name}={type(value).__qualname__}:{shown(value)}" for name, value in named.items())


def sync_shapes(decorate: Callable[[Any], Any], body: Body) -> dict[str, Any]:
    """One function per call shape, each decorated with ``decorate`` (the identity gives the plain ones)."""

    @decorate
    def one(a: Any) -> str:
        return body(a=a)

    @decorate
    def two(a: Any, b: Any) -> str:
        return body(a=a, b=b)

    @decorate
    def defaults(a: Any, b: Any = 0, c: Any = None) -> str:
        return body(a=a, b=b, c=c)

    @decorate
    def keyword_only(a: Any, *, b: Any, c: Any = "c") -> str:
        return body(a=a, b=b, c=c)

    @decorate
    def star_args(a: Any, *rest: Any) -> str:
        return body(a=a, rest=rest)

    @decorate
    def star_kwargs(a: Any = None, **options: Any) -> str:
        return body(a=a, options=dict(sorted(options.items())))

    @decorate
    def everything(a: Any, /, b: Any = 1, *rest: Any, c: Any, d: Any = None, **options: Any) -> str:
        return body(a=a, b=b, rest=rest, c=c, d=d, options=dict(sorted(options.items())))

    @dataclass(frozen=True)
    class Owner:
        n: int

        @decorate
        def method(self, a: Any, b: Any = 0) -> str:
            return body(self=self, a=a, b=b)

        @classmethod
        @decorate
        def factory(cls, a: Any) -> str:
            return body(cls=cls.__qualname__, a=a)

        @decorate
        @classmethod
        def factory_outside(cls, a: Any, *, b: Any = None) -> str:
            return body(cls=cls.__qualname__, a=a, b=b)

        @staticmethod
        @decorate
        def helper(a: Any, b: Any = 0) -> str:
            return body(a=a, b=b)

        @decorate
        @staticmethod
        def helper_outside(a: Any, *rest: Any) -> str:
            return body(a=a, rest=rest)

    functions = (one, two, defaults, keyword_only, star_args, star_kwargs, everything)
    return {**{fn.__name__: fn for fn in functions}, "Owner": Owner}


def async_shapes(decorate: Callable[[Any], Any], body: Body) -> dict[str, Any]:
    """One function per call shape, each decorated with ``decorate`` (the identity gives the plain ones)."""

    @decorate
    async def one(a: Any) -> str:
        return body(a=a)

    @decorate
    async def two(a: Any, b: Any) -> str:
        return body(a=a, b=b)

    @decorate
    async def defaults(a: Any, b: Any = 0, c: Any = None) -> str:
        return body(a=a, b=b, c=c)

    @decorate
    async def keyword_only(a: Any, *, b: Any, c: Any = "c") -> str:
        return body(a=a, b=b, c=c)

    @decorate
    async def star_args(a: Any, *rest: Any) -> str:
        return body(a=a, rest=rest)

    @decorate
    async def star_kwargs(a: Any = None, **options: Any) -> str:
        return body(a=a, options=dict(sorted(options.items())))

    @decorate
    async def everything(a: Any, /, b: Any = 1, *rest: Any, c: Any, d: Any = None, **options: Any) -> str:
        return body(a=a, b=b, rest=rest, c=c, d=d, options=dict(sorted(options.items())))

    @dataclass(frozen=True)
    class Owner:
        n: int

        @decorate
        async def method(self, a: Any, b: Any = 0) -> str:
            return body(self=self, a=a, b=b)

        @classmethod
        @decorate
        async def factory(cls, a: Any) -> str:
            return body(cls=cls.__qualname__, a=a)

        @decorate
        @classmethod
        async def factory_outside(cls, a: Any, *, b: Any = None) -> str:
            return body(cls=cls.__qualname__, a=a, b=b)

        @staticmethod
        @decorate
        async def helper(a: Any, b: Any = 0) -> str:
            return body(a=a, b=b)

        @decorate
        @staticmethod
        async def helper_outside(a: Any, *rest: Any) -> str:
            return body(a=a, rest=rest)

    functions = (one, two, defaults, keyword_only, star_args, star_kwargs, everything)
    return {**{fn.__name__: fn for fn in functions}, "Owner": Owner}


def _identity(fn: Any) -> Any:
    return fn


_PROTOTYPE = sync_shapes(_identity, Body())
_OWNER = _PROTOTYPE["Owner"]


@dataclass(frozen=True)
class Shape:
    """A call shape: which function of a build to call, and what it receives before its arguments."""

    name: str
    receiver: str = ""  # "self": an Owner instance; "cls": the Owner class; "": nothing

    def target(self, build: dict[str, Any], owners: list[Any], owner: int) -> Any:
        if self.receiver == "self":
            return getattr(owners[owner], self.name)
        if self.name in build:
            return build[self.name]
        return getattr(build["Owner"], self.name)

    def signature(self) -> inspect.Signature:
        """The signature a caller sees (``self`` and ``cls`` already bound)."""
        return inspect.signature(self.target(_PROTOTYPE, [_OWNER(0)], 0))


SHAPES = [
    *(Shape(name) for name in ("one", "two", "defaults", "keyword_only", "star_args", "star_kwargs", "everything")),
    Shape("method", "self"),
    Shape("factory", "cls"),
    Shape("factory_outside", "cls"),
    Shape("helper"),
    Shape("helper_outside"),
]


# -- plans: what an example does ---------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    backend: str  # "DictCache", "SyncDictCache" or "sqlite"
    ttl: float | None
    maxsize: int | None
    typed: bool
    front: bool  # decorate through Cache(backend, ...) rather than cached(cache=backend, ...)


@dataclass(frozen=True)
class Call:
    owner: int  # which Owner instance, for methods: Owner(0), Owner(1) or another Owner(0)
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        spelled = [shown(a) for a in self.args] + [f"{k}={shown(v)}" for k, v in self.kwargs.items()]
        return f"call({', '.join(spelled)}; owner {self.owner})"


@dataclass(frozen=True)
class Advance:
    seconds: float


POSITIONAL_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@st.composite
def calls(draw: st.DrawFn, signature: inspect.Signature, pool: list[Any]) -> Call:
    """One call of ``signature`` with arguments from ``pool``, spelled at random.

    Parameters with a default are omitted or passed (sometimes as their default), positional
    ones positionally or by keyword; keyword arguments come in random order.
    """
    parameters = list(signature.parameters.values())
    args: list[Any] = []
    kwargs: dict[str, Any] = {}

    def value(parameter: inspect.Parameter) -> Any:
        has_default = parameter.default is not inspect.Parameter.empty
        return draw(st.sampled_from([*pool, parameter.default] if has_default else pool))

    def omitted(parameter: inspect.Parameter) -> bool:
        return parameter.default is not inspect.Parameter.empty and draw(st.booleans())

    positional = True  # still passing positionally
    for parameter in (p for p in parameters if p.kind in POSITIONAL_KINDS):
        if omitted(parameter):
            positional = False
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY or (positional and draw(st.booleans())):
            args.append(value(parameter))
        else:
            positional = False
            kwargs[parameter.name] = value(parameter)
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL and positional:
            args.extend(value(parameter) for _ in range(draw(st.integers(0, 2))))
        elif parameter.kind is inspect.Parameter.KEYWORD_ONLY and not omitted(parameter):
            kwargs[parameter.name] = value(parameter)
        elif parameter.kind is inspect.Parameter.VAR_KEYWORD:  # any name no parameter takes by keyword
            taken = {p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
            for name in draw(st.lists(st.sampled_from(["a", "x", "y"]), unique=True, max_size=2)):
                if name not in taken:
                    kwargs[name] = value(parameter)
    order = draw(st.permutations(list(kwargs)))
    return Call(draw(st.integers(0, 2)), tuple(args), {name: kwargs[name] for name in order})


@st.composite
def plans(draw: st.DrawFn, backends: list[str]) -> tuple[Config, Shape, list[Call | Advance]]:
    backend = draw(st.sampled_from(backends))
    limit = draw(st.sampled_from(["none", "ttl"] if backend == "sqlite" else ["none", "ttl", "maxsize"]))
    config = Config(
        backend=backend,
        ttl=TTL if limit == "ttl" else None,
        maxsize=MAXSIZE if limit == "maxsize" else None,
        typed=draw(st.booleans()),
        front=draw(st.booleans()),
    )
    shape = draw(st.sampled_from(SHAPES))
    pool = draw(st.lists(values, min_size=1, max_size=4))
    step = calls(shape.signature(), pool)
    if config.ttl is not None:
        step = st.one_of(step, st.sampled_from(ADVANCES).map(Advance))
    return config, shape, draw(st.lists(step, min_size=1, max_size=12))


# -- the model of the documented contract -------------------------------------------------------


@dataclass
class Model:
    """Entries by canonical key: the result first stored, its expiry, LRU order with a bound."""

    config: Config
    shape: Shape
    now: float
    entries: OrderedDict[tuple[Any, ...], tuple[str, float]] = field(default_factory=OrderedDict)
    hits: int = 0
    misses: int = 0

    def key(self, call: Call, owner: Any) -> tuple[Any, ...]:
        bound = self.shape.signature().bind(*call.args, **call.kwargs)
        bound.apply_defaults()
        receiver = {"self": [owner], "cls": ["<the class>"], "": []}[self.shape.receiver]
        positional = [*receiver, *bound.args]
        keywords = sorted(bound.kwargs.items())
        key: tuple[Any, ...] = (tuple(map(shown, positional)), tuple((k, shown(v)) for k, v in keywords))
        if self.config.typed:
            key += (tuple(type(v) for v in positional), tuple(type(v) for _, v in keywords))
        return key

    def call(self, key: tuple[Any, ...], plain_result: str) -> tuple[str, bool]:
        """The result a cached call must give, and whether it is a hit."""
        found = self.entries.get(key)
        if found is not None and found[1] > self.now:
            self.entries.move_to_end(key)
            self.hits += 1
            return found[0], True
        self.misses += 1
        self.entries[key] = (plain_result, self.now + (self.config.ttl or math.inf))
        self.entries.move_to_end(key)
        if self.config.maxsize is not None and len(self.entries) > self.config.maxsize:
            self.entries.popitem(last=False)
        return plain_result, False


# -- running a plan -----------------------------------------------------------------------------


class Runner:
    """Runs what a call returned to its end: a value as is, a coroutine on the example's event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __call__(self, result: Any) -> Any:
        return self.loop.run_until_complete(result) if inspect.isawaitable(result) else result

    def close(self) -> None:
        self.loop.close()


_files = itertools.count()


def make_backend(config: Config, mode: str, clock: TestClock, directory: Path) -> Any:
    if config.backend == "DictCache":
        return DictCache(maxsize=config.maxsize, clock=clock)
    if config.backend == "SyncDictCache":
        return SyncDictCache(maxsize=config.maxsize, clock=clock)
    path = directory / f"shapes-{next(_files)}.db"
    sqlite = SqliteCache if mode == "async" else SyncSqliteCache
    return sqlite(path, serializer=PickleSerializer(), clock=clock)


def check(plan: tuple[Config, Shape, list[Call | Advance]], mode: str, directory: Path) -> None:
    config, shape, steps = plan
    clock = TestClock(start=1_000_000.0)
    run = Runner()
    backend = make_backend(config, mode, clock, directory)
    try:
        options: dict[str, Any] = {}
        if config.ttl is not None:
            options["ttl"] = config.ttl
        if config.typed:
            options["typed"] = True
        decorate = Cache(backend, **options) if config.front else cached(cache=backend, **options)
        shapes = async_shapes if mode == "async" else sync_shapes
        plain, body = shapes(_identity, Body()), Body()
        decorated = shapes(decorate, body)
        plain_owners = [plain["Owner"](n) for n in (0, 1, 0)]
        decorated_owners = [decorated["Owner"](n) for n in (0, 1, 0)]
        model = Model(config, shape, clock.now())
        for number, step in enumerate(steps):
            if isinstance(step, Advance):
                model.now = clock.advance(step.seconds)
                continue
            expected_plain = run(shape.target(plain, plain_owners, step.owner)(*step.args, **step.kwargs))
            runs = body.runs
            got = run(shape.target(decorated, decorated_owners, step.owner)(*step.args, **step.kwargs))
            want, hit = model.call(model.key(step, plain_owners[step.owner]), expected_plain)
            assert got == want, f"step {number}: {step!r} returned {got!r}, expected {want!r}"
            ran = body.runs - runs
            assert ran == (0 if hit else 1), f"step {number}: {step!r} ran the function {ran} times ({hit=})"
        # cache_info belongs to the function: a method's is read on the class, not an instance.
        owner = decorated["Owner"] if shape.receiver == "self" else None
        function = getattr(owner, shape.name) if owner else shape.target(decorated, decorated_owners, 0)
        counters = function.cache_info()
        calls_made = sum(isinstance(step, Call) for step in steps)
        assert counters.hits + counters.misses == calls_made, counters
        assert (counters.hits, counters.misses, counters.errors) == (model.hits, model.misses, 0), counters
        if config.ttl is None and config.maxsize is None:  # nothing expires or leaves: one run per distinct call
            assert counters.misses == body.runs == len(model.entries), counters
    finally:
        run(backend.close())
        run.close()


IN_MEMORY = settings(max_examples=100, deadline=None)
ON_FILE = settings(max_examples=50, deadline=None)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("call-shapes")


@pytest.mark.parametrize("mode", ["sync", "async"])
@IN_MEMORY
@given(plan=plans(["DictCache", "SyncDictCache"]))
def test_in_memory_calls_match_the_plain_function(
    mode: str, plan: tuple[Config, Shape, list[Call | Advance]], directory: Path
) -> None:
    note(f"{mode} {plan[0]} {plan[1].name}")
    check(plan, mode, directory)


@pytest.mark.parametrize("mode", ["sync", "async"])
@ON_FILE
@given(plan=plans(["sqlite"]))
def test_sqlite_calls_match_the_plain_function(
    mode: str, plan: tuple[Config, Shape, list[Call | Advance]], directory: Path
) -> None:
    note(f"{mode} {plan[0]} {plan[1].name}")
    check(plan, mode, directory)
