"""The cache-testing pytest plugin, loaded automatically (``pytest11`` entry point).

Fixtures:
    cache_clock: a ``TestClock``.
    memory_cache: a fresh ``DictCache`` on ``cache_clock``.
    recording_cache: a ``RecordingBackend`` over ``memory_cache``.
    cache_disabled: every decorated function runs uncached for this test.

Isolation (on by default): each test starts with a fresh in-memory backend behind
``cache_core.cache`` and ``cached`` without ``cache=``, restored afterwards, so no value
leaks between tests. ``--cache-isolation=all`` gives every decorated function (also those
with their own backend) a fresh in-memory backend per test; ``=off`` turns isolation off.

Disabling: ``@pytest.mark.no_cache`` or the ``cache_disabled`` fixture for one test,
``--no-caching`` for the session. Turn the plugin off with ``-p no:cache_testing``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cache_core import DictCache
from cache_core._decorator import Slot
from cache_core._front import cache as default_front

from ._async_fakes import RecordingBackend
from ._clock import TestClock
from ._nocache import NoCache

_ISOLATION_MODES = ("default", "all", "off")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cache-testing", "cache-testing (cache_core decorators)")
    group.addoption(
        "--cache-isolation",
        choices=_ISOLATION_MODES,
        default=None,
        help="fresh in-memory backend per test for: default (cache_core.cache and cached without cache=), "
        "all (every decorated function), off",
    )
    group.addoption("--no-caching", action="store_true", default=False, help="run every cached function uncached")
    parser.addini("cache_isolation", "default | all | off (see --cache-isolation)", default="default")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_cache: run every cached function uncached in this test")
    mode = config.getoption("--cache-isolation") or config.getini("cache_isolation")
    if mode not in _ISOLATION_MODES:
        msg = f"cache_isolation must be one of {', '.join(_ISOLATION_MODES)}, not {mode!r}"
        raise pytest.UsageError(msg)


def _swap(slots: list[Slot], make: Callable[[], Any]) -> Callable[[], None]:
    """Point each slot at a new backend; return how to restore them."""
    previous = [(slot, slot.backend) for slot in slots]
    for slot in slots:
        slot.backend = make()

    def restore() -> None:
        for slot, backend in previous:
            slot.backend = backend

    return restore


def _slots(everything: bool) -> list[Slot]:
    return list(Slot.instances) if everything else [default_front._slot]


@pytest.fixture(autouse=True)
def _cache_testing_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    config = request.config
    mode = config.getoption("--cache-isolation") or config.getini("cache_isolation")
    disabled = config.getoption("--no-caching") or request.node.get_closest_marker("no_cache") is not None
    if disabled:
        restore = _swap(_slots(everything=True), NoCache)
    elif mode == "off":
        restore = None
    else:
        restore = _swap(_slots(everything=mode == "all"), DictCache)
    try:
        yield
    finally:
        if restore is not None:
            restore()


@pytest.fixture
def cache_clock() -> TestClock:
    """Virtual time: ``cache_clock.advance(3600)`` expires a one-hour TTL at once."""
    return TestClock()


@pytest.fixture
def memory_cache(cache_clock: TestClock) -> Iterator[DictCache]:
    """A fresh in-memory backend on ``cache_clock``; usable from sync and async functions."""
    backend = DictCache(clock=cache_clock)
    yield backend
    backend.nonblocking.close()


@pytest.fixture
def recording_cache(memory_cache: DictCache) -> RecordingBackend:
    """Records every operation on ``memory_cache``: ``recording_cache.assert_put(ttl=60)``."""
    return RecordingBackend(memory_cache)


@pytest.fixture
def cache_disabled() -> Iterator[None]:
    """Every decorated function (defaults included) runs uncached during the test."""
    restore = _swap(_slots(everything=True), NoCache)
    try:
        yield
    finally:
        restore()
