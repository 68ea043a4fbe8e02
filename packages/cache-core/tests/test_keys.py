"""ReprKeyMaker: one key per distinct call, never an object's memory address."""

from __future__ import annotations

import gc
import hashlib
from typing import Any

import pytest
from cache_core import DictCache, InvalidKeyError, KeyMaker, ReprKeyMaker, cached


def point(x: int, y: int = 2, *, z: int = 3) -> None: ...


def single(x: Any) -> None: ...


def variadic(a: int, *rest: int, **options: int) -> None: ...


def key(fn: Any, *args: Any, **kwargs: Any) -> str:
    return ReprKeyMaker()(fn, args, kwargs)


# -- call shapes ----------------------------------------------------------------------------------


def test_positional_keyword_and_default_arguments_give_one_key() -> None:
    keys = {
        key(point, 1, 2),
        key(point, 1, y=2),
        key(point, x=1, y=2),
        key(point, y=2, x=1),
        key(point, 1),
        key(point, 1, 2, z=3),
        key(point, 1, z=3),
    }
    assert len(keys) == 1
    assert keys.pop().startswith(f"{__name__}.point(1, 2")


def test_different_arguments_give_different_keys() -> None:
    keys = [
        key(point, 1, 2),
        key(point, 2, 1),
        key(point, 1, 3),
        key(point, 1, 2, z=4),
        key(point, "1", 2),
        key(variadic, 1),
        key(variadic, 1, 2),
        key(variadic, 1, x=2),
        key(variadic, 1, y=2),
    ]
    assert len(set(keys)) == len(keys)


def test_keyword_order_does_not_matter() -> None:
    assert key(variadic, 1, c=2, d=3) == key(variadic, 1, d=3, c=2)
    assert key(variadic, 1, 2, 3) != key(variadic, 1, 2)


def test_decorated_function_shares_entries_across_call_shapes() -> None:
    calls = []

    @cached
    def area(width: int, height: int = 1) -> int:
        calls.append((width, height))
        return width * height

    assert area(3, 1) == area(3) == area(3, height=1) == area(width=3, height=1) == area(height=1, width=3) == 3
    assert calls == [(3, 1)]


def test_key_names_module_and_qualified_name() -> None:
    class Shop:
        def price(self, item: str) -> None: ...

    text = key(Shop.price, "own repr", "tea")
    assert text == f"{__name__}.{Shop.price.__qualname__}('own repr', 'tea')"
    assert key(point, 1, 2) != ReprKeyMaker()(variadic, (1, 2), {})


def test_typed_separates_equal_reprs() -> None:
    class Text(str):
        pass

    typed = ReprKeyMaker(typed=True)
    assert typed(point, ("a",), {}) != typed(point, (Text("a"),), {})
    assert typed(point, ("a",), {}) == typed(point, (), {"x": "a"})
    assert key(point, "a") == key(point, Text("a"))


# -- hashing --------------------------------------------------------------------------------------


def test_hash_replaces_the_arguments_by_their_digest() -> None:
    hashed = ReprKeyMaker(hash=hashlib.sha256)
    text = hashed(point, (1, 2), {})
    prefix = f"{__name__}.point"
    assert text == f"{prefix}:{hashlib.sha256(key(point, 1, 2)[len(prefix) :].encode()).hexdigest()}"
    assert text == hashed(point, (), {"x": 1, "y": 2})
    assert text == ReprKeyMaker(hash=hashlib.sha256)(point, (1, 2), {})
    assert text != hashed(point, (2, 1), {})
    assert ReprKeyMaker(hash=hashlib.md5)(point, (1, 2), {}) != text


def test_max_length_hashes_only_long_keys() -> None:
    maker = ReprKeyMaker(max_length=60)
    short = maker(point, (1, 2), {})
    assert short == key(point, 1, 2)
    long_a = maker(point, ("a" * 100, 2), {})
    long_b = maker(point, ("a" * 99 + "b", 2), {})
    assert long_a != long_b
    assert "aaaa" not in long_a
    assert len(long_a) == len(f"{__name__}.point:") + 64  # sha256 by default
    assert len(ReprKeyMaker(hash=hashlib.md5, max_length=60)(point, ("a" * 100,), {})) < len(long_a)


def test_hashed_keys_work_in_decorated_functions() -> None:
    backend = DictCache()
    calls = []

    @cached(cache=backend, key_maker=ReprKeyMaker(hash=hashlib.sha256))
    def echo(text: str) -> str:
        calls.append(text)
        return text

    assert echo("x" * 10_000) == "x" * 10_000
    assert echo("x" * 10_000) == "x" * 10_000
    assert calls == ["x" * 10_000]
    stored = ReprKeyMaker(hash=hashlib.sha256)(echo.__wrapped__, ("x" * 10_000,), {})
    assert len(stored) < 200
    assert backend.nonblocking.get(stored) == "x" * 10_000


@pytest.mark.parametrize(
    ("options", "error"),
    [({"hash": "sha256"}, TypeError), ({"max_length": 0}, ValueError), ({"max_length": -5}, ValueError)],
)
def test_bad_options(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        ReprKeyMaker(**options)


def test_repr_key_maker_is_a_key_maker() -> None:
    assert isinstance(ReprKeyMaker(), KeyMaker)
    assert "sha256" in repr(ReprKeyMaker(hash=hashlib.sha256))


# -- objects as arguments -------------------------------------------------------------------------


class Plain:
    """Default ``object.__repr__``: a memory address."""

    def __init__(self, label: str) -> None:
        self.label = label

    @cached
    def describe(self) -> str:
        return self.label


class Tagged:
    """Default repr, no ``__dict__``, too big for pymalloc: a new one takes a dead one's memory."""

    __slots__ = ("__weakref__", "label", *(f"_padding{n}" for n in range(80)))

    def __init__(self, label: str) -> None:
        self.label = label

    @cached
    def describe(self) -> str:
        return self.label


class Named:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def __repr__(self) -> str:
        return f"Named({self.name!r})"

    @cached
    def greet(self) -> str:
        self.calls += 1
        return f"hello {self.name} #{id(self)}"


class Keyed:
    def __init__(self, ident: int, noise: str = "") -> None:
        self.ident = ident
        self.noise = noise

    def __cache_key__(self) -> int:
        return self.ident

    @cached
    def load(self) -> str:
        return f"{self.ident}/{self.noise}"


class Slotted:
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


def test_default_repr_instances_never_share_entries() -> None:
    first, second = Plain("first"), Plain("second")
    assert first.describe() == "first"
    assert second.describe() == "second"
    assert first.describe() == "first"
    assert Plain.describe.cache_info().hits == 1
    assert " at 0x" not in key(point, first)
    assert key(point, first) != key(point, second)
    assert key(point, first) == key(point, first)


def test_reused_address_never_returns_the_dead_objects_result() -> None:
    labels = [f"new {n}" for n in range(10_000)]
    newcomers: list[Any] = [None] * len(labels)
    dead = Tagged("dead")
    assert dead.describe() == "dead"
    dead_key, dead_address = key(point, dead), id(dead)
    del dead
    gc.collect()
    reused = None
    for n, label in enumerate(labels):  # allocate nothing but the objects until the address comes back
        newcomers[n] = Tagged(label)
        if id(newcomers[n]) == dead_address:
            reused = newcomers[n]
            break
    assert reused is not None, "the dead object's address was not reused; the test proves nothing"
    assert reused.describe() == reused.label
    assert key(point, reused) != dead_key
    for obj in newcomers[:n]:
        assert obj.describe() == obj.label


def test_equal_custom_repr_shares_entries() -> None:
    first, twin, other = Named("ann"), Named("ann"), Named("bob")
    assert first.greet() == twin.greet()
    assert other.greet() != first.greet()
    assert (first.calls, twin.calls, other.calls) == (1, 0, 1)


def test_cache_key_hook_decides_for_default_repr_objects() -> None:
    assert Keyed(1, "first").load() == "1/first"
    assert Keyed(1, "second").load() == "1/first"
    assert Keyed(2, "third").load() == "2/third"
    assert key(point, Keyed(1)) == key(point, Keyed(1))
    assert key(point, Keyed(1)) != key(point, Keyed(2))


def test_default_repr_objects_inside_containers() -> None:
    a, b = Plain("a"), Plain("b")
    for wrap in (lambda o: [o], lambda o: (o,), lambda o: {"k": o}, lambda o: {o}, lambda o: [1, (o, {2: o})]):
        assert key(point, wrap(a)) == key(point, wrap(a))
        assert key(point, wrap(a)) != key(point, wrap(b))
        assert " at 0x" not in key(point, wrap(a))


def test_non_weakrefable_default_repr_object_is_an_invalid_key() -> None:
    calls = []

    @cached
    def use(obj: Any) -> int:
        calls.append(obj)
        return 1

    with pytest.raises(InvalidKeyError, match="Slotted") as raised:
        use(Slotted(1))
    assert isinstance(raised.value, TypeError)
    assert "__cache_key__" in str(raised.value)
    assert calls == []


def test_module_level_functions_and_classes_key_by_name() -> None:
    assert key(single, point) == f"{__name__}.single(<{__name__}.point>,)"
    assert key(single, Plain) == f"{__name__}.single(<class '{__name__}.Plain'>,)"
    assert key(single, len) == f"{__name__}.single(<built-in function len>,)"
    assert key(single, dict.fromkeys) == key(single, dict.fromkeys)


def test_different_closures_and_lambdas_never_share_entries() -> None:
    def adder(n: int) -> Any:
        def add(x: int) -> int:
            return x + n

        return add

    @cached
    def apply(fn: Any, x: int) -> int:
        return int(fn(x))

    assert apply(adder(1), 10) == 11
    assert apply(adder(2), 10) == 12
    assert apply(lambda x: x * 2, 10) == 20
    assert apply(lambda x: x * 3, 10) == 30
    one = adder(1)
    assert key(point, one) == key(point, one)
    first: list[int] = []
    second: list[int] = []
    assert key(point, first.append) != key(point, second.append)


def test_a_call_gets_the_same_key_whatever_ran_before() -> None:
    @cached
    def warmed(x: object) -> str:
        return type(x).__name__

    @cached
    def fresh(x: object) -> str:
        return type(x).__name__

    warmed(1)
    assert [warmed(value) for value in (True, 1.0)] == [fresh(value) for value in (True, 1.0)]


def test_plain_values_that_look_like_addresses_are_ordinary_arguments() -> None:
    runs: list[object] = []

    @cached
    def echo(value: object) -> object:
        runs.append(value)
        return value

    text = "<Foo object at 0x7f00>"
    assert echo(text) == echo(text) == text
    assert echo((text, 1)) == echo((text, 1))
    assert echo(b"at 0x1") == echo(b"at 0x1")
    assert runs == [text, (text, 1), b"at 0x1"]
