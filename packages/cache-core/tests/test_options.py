"""The decorator options are declared once: cached, Cache and @cache take the same names."""

from __future__ import annotations

import inspect

import pytest
from cache_core import Cache, CacheOptions, DictCache, Options, cached
from cache_core._options import OPTION_NAMES


def test_the_typed_options_and_the_validated_ones_agree() -> None:
    assert set(Options.__annotations__) == OPTION_NAMES
    documented = inspect.getdoc(Options) or ""
    for name in OPTION_NAMES:
        assert f"{name}:" in documented, f"Options' docstring does not describe {name}"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"ttl": -1}, ValueError),
        ({"namespace": ""}, ValueError),
        ({"lock": 0}, ValueError),
        ({"fail_open": "yes"}, TypeError),
        ({"serializer": object()}, TypeError),
        ({"key_maker": lambda fn, a, k: "k", "keygen": lambda typed, fn: "k"}, TypeError),
        ({"tll": 60}, TypeError),
    ],
)
def test_bad_options_fail_alike_everywhere(options: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        cached(**options)  # type: ignore[call-overload]
    with pytest.raises(error):
        Cache(DictCache(), **options)  # type: ignore[arg-type]
    with pytest.raises(error):
        Cache(DictCache())(**options)  # type: ignore[call-overload]


def test_a_front_objects_defaults_are_its_functions_defaults() -> None:
    front = Cache(DictCache(), ttl=60, namespace="users")
    assert front.options == CacheOptions(ttl=60, namespace="users")
    assert front.defaults["namespace"] == "users"
    narrowed = CacheOptions.of({"namespace": "orders"}, base=front.options)
    assert (narrowed.ttl, narrowed.namespace) == (60, "orders")
