"""The backend conformance suite: one set of tests every backend must pass.

Subclass ``BackendContract`` in a test module and provide the ``backend_factory``
fixture: a callable ``(**options) -> backend`` (options may include ``clock=``).
Each test makes its own backends and closes them. Tests are plain pytest
functions that run an async body in a fresh event loop, so they need no asyncio
plugin; sync backends are driven through ``AsyncView``, and concurrency tests run
them from threads.

    class TestMyBackend(BackendContract):
        persistent = True          # two backends from the factory share storage

        @pytest.fixture
        def backend_factory(self, tmp_path):
            return lambda **options: MyBackend(tmp_path / "db", **options)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from cache_core import (
    MAX_TTL,
    AsyncBackend,
    Backend,
    BackendClosedError,
    CacheMiss,
    CircuitBreaker,
    EncodeError,
    InvalidKeyError,
    InvalidTTLError,
    ValueTooLargeError,
    cached,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._clock import TestClock
from ._freshness_contract import FreshnessContract
from ._lock_contract import LockContract
from ._samples import SAMPLE_VALUES, same_value
from ._tags_contract import TagsContract

BackendFactory = Callable[..., Any]


class AsyncView:
    """The async API over either kind of backend, so one test body serves both."""

    def __init__(self, backend: AsyncBackend | Backend) -> None:
        self.backend = backend
        self.is_async = isinstance(backend, AsyncBackend)

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.backend, name)(*args, **kwargs)
        return await result if self.is_async else result

    async def get(self, key: Any, **kwargs: Any) -> Any:
        return await self._call("get", key, **kwargs)

    async def get_or_default(self, key: Any, default: Any = None, **kwargs: Any) -> Any:
        return await self._call("get_or_default", key, default, **kwargs)

    async def getOrDefault(self, key: Any, default: Any = None, **kwargs: Any) -> Any:  # noqa: N802
        return await self._call("getOrDefault", key, default, **kwargs)

    async def put(self, key: Any, value: Any, ttl: Any = None, **kwargs: Any) -> None:
        await self._call("put", key, value, ttl, **kwargs)

    async def remove(self, key: Any, **kwargs: Any) -> bool:
        return bool(await self._call("remove", key, **kwargs))

    async def remove_expired(self) -> int:
        return int(await self._call("remove_expired"))

    async def clear(self, namespace: str | None = None) -> None:
        await self._call("clear", namespace)

    async def get_many(self, keys: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
        return dict(await self._call("get_many", keys, **kwargs))

    async def put_many(
        self, items: Mapping[Any, Any] | Iterable[tuple[Any, Any]], ttl: Any = None, **kwargs: Any
    ) -> None:
        await self._call("put_many", items, ttl, **kwargs)

    async def close(self) -> None:
        await self._call("close")

    async def invalidate_tags(self, *tags: str) -> None:
        await self._call("invalidate_tags", *tags)

    async def in_threads(self, calls: list[Callable[[], Any]]) -> list[Any]:
        """Run calls concurrently: as tasks for async backends, on threads for sync ones."""
        if self.is_async:
            return list(await asyncio.gather(*(call() for call in calls)))
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(calls))) as pool:

            def blocking(call: Callable[[], Any]) -> Any:
                return asyncio.run(call())

            return list(await asyncio.gather(*(loop.run_in_executor(pool, blocking, call) for call in calls)))


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``body()`` in a new event loop (no asyncio plugin needed)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(body())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


# -- inputs of the bad-input tests (their block is at the end of BackendContract) ---------------

#: Pairs of keys that must never share an entry: bytes against the str an escape or a decoding
#: would give, a lone surrogate against its escaped form, and so on.
_ALIAS_PAIRS: list[tuple[Any, Any]] = [
    (b"\xff", "hex:ff"),
    (b"abc", "abc"),
    (b"", ""),
    (b"caf\xc3\xa9", "caf\u00e9"),
    (b"\xff", "\uffffxff"),
    (b"abc", "\uffffbabc"),
    (b"\xef\xbf\xbf", "\uffff"),
    ("\ud800", "\uffffseda080"),
    ("\ud800", b"\xed\xa0\x80"),
    ("\udcff", "\udcfe"),
]
_ALIAS_IDS = [f"{first!r}-{second!r}" for first, second in _ALIAS_PAIRS]
_BAD_TTLS: list[Any] = [10**20, 10**400, -(10**400), 1e308, -math.inf, MAX_TTL + 1, timedelta.max, (1, 10**20), True]
_BAD_TTL_IDS = ["1e20", "1e400", "-1e400", "1e308", "-inf", "max+1", "timedelta.max", "jitter-1e20", "bool"]

_SENTINEL_KEY = "fuzz-sentinel"
_SENTINEL: Any = {"kept": [1, (2, 3)], "b": b"\x00"}
_NEIGHBOUR = "fuzz-neighbour"
_ABSENT: Any = object()

_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
_CHARS = st.one_of(st.characters(), _SURROGATES, st.sampled_from(["\uffff", "\x00", ":", "%", "*", "$", "."]))
_KEYS = st.one_of(
    st.text(_CHARS, max_size=12),
    st.binary(max_size=12),
    st.sampled_from(["hex:ff", "\uffffb", "\uffffxff", "\uffffs", "default", _NEIGHBOUR]),
    st.builds(lambda tail: "\uffff" + tail, st.text(_CHARS, max_size=6)),
)
_NAMESPACES = st.one_of(st.just("default"), st.text(_CHARS, max_size=8))
# Text with surrogates alone and paired ("\ud800\udc00": two code points, never the character they spell in UTF-16).
_SURROGATE_PAIRS = st.builds(
    lambda high, low: chr(high) + chr(low), st.integers(0xD800, 0xDBFF), st.integers(0xDC00, 0xDFFF)
)
_VALUE_TEXT = st.lists(st.one_of(_CHARS, _SURROGATE_PAIRS), max_size=10).map("".join)
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _VALUE_TEXT | st.binary(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_VALUE_TEXT, children, max_size=4),
    max_leaves=12,
)
_VALUES = st.one_of(st.sampled_from(sorted(SAMPLE_VALUES)).map(SAMPLE_VALUES.__getitem__), _JSONISH)
_SECONDS = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(),
    st.sampled_from([0, 0.0, -0.0, 5e-324, 1e-9, 0.5, 60, MAX_TTL, MAX_TTL + 1, 1e308, 10**400, -(10**400)]),
    st.timedeltas(),
)
_TTLS = st.one_of(st.none(), st.booleans(), _SECONDS, st.tuples(_SECONDS, _SECONDS), st.just("60"))


def _seconds(ttl: Any) -> float | None:
    """The seconds ``put`` must accept for a fixed TTL; ``None`` when it must refuse it (math.inf: forever)."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float, timedelta)):
        return None
    if isinstance(ttl, int) and not 0 <= ttl <= MAX_TTL:
        return None
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    return seconds if seconds == math.inf or 0 <= seconds <= MAX_TTL else None


def _ttl_outcome(ttl: Any) -> str:
    """What ``put`` with ``ttl`` must do: "error", "removed", "maybe" (a TTL under a second) or "kept"."""
    if ttl is None:
        return "kept"
    if isinstance(ttl, tuple):
        low, high = (_seconds(item) for item in ttl) if len(ttl) == 2 else (None, None)
        if low is None or high is None or math.inf in (low, high) or low > high:
            return "error"
        return "removed" if high == 0 else "maybe" if low < 1 else "kept"
    seconds = _seconds(ttl)
    if seconds is None:
        return "error"
    return "removed" if seconds == 0 else "maybe" if seconds < 1 else "kept"


def _good_namespace(namespace: Any) -> bool:
    return bool(namespace) and not any(0xD800 <= ord(char) <= 0xDFFF for char in namespace)


async def _fuzz_one(cache: AsyncView, key: Any, namespace: Any, value: Any, ttl: Any) -> None:
    outcome, good_namespace = _ttl_outcome(ttl), _good_namespace(namespace)
    expected: tuple[type[Exception], ...] = ((InvalidTTLError,) if outcome == "error" else ()) + (
        () if good_namespace else (InvalidKeyError,)
    )
    neighbour = good_namespace and key != _NEIGHBOUR
    if good_namespace:
        await cache.put(key, "previous", namespace=namespace)
    if neighbour:
        await cache.put(_NEIGHBOUR, "neighbour", namespace=namespace)
    if expected:
        with pytest.raises(expected):
            await cache.put(key, value, ttl, namespace=namespace)
    else:  # valid input: any error fails the test
        await cache.put(key, value, ttl, namespace=namespace)
    if good_namespace:
        got = await cache.get_or_default(key, _ABSENT, namespace=namespace)
        if expected:
            assert got == "previous"
        elif outcome == "removed":
            assert got is _ABSENT
        elif outcome == "maybe":
            assert got is _ABSENT or same_value(got, value)
        else:
            assert same_value(got, value), f"{got!r} != {value!r}"
            assert same_value((await cache.get_many([key], namespace=namespace))[key], value)
        if neighbour:
            assert await cache.get(_NEIGHBOUR, namespace=namespace) == "neighbour"
    else:
        with pytest.raises(InvalidKeyError):
            await cache.get(key, namespace=namespace)
    if key == _SENTINEL_KEY and namespace == "default":
        await cache.put(_SENTINEL_KEY, _SENTINEL)
    assert same_value(await cache.get(_SENTINEL_KEY), _SENTINEL)
    assert _Contract.breaker_closed(cache)


class BackendContract(LockContract, FreshnessContract, TagsContract):
    """Tests of the whole ``AsyncBackend``/``Backend`` contract. Subclass and provide ``backend_factory``."""

    #: Two backends from the factory share storage (files and servers): persistence is tested.
    persistent: ClassVar[bool] = False
    #: The factory accepts ``clock=``, and the backend expires entries by it.
    supports_clock: ClassVar[bool] = True
    #: Size of the "large value" test, in bytes.
    large_value_bytes: ClassVar[int] = 2_000_000
    #: Examples of each hypothesis test: modest, so the suite stays fast on server backends.
    fuzz_examples: ClassVar[int] = 50

    @pytest.fixture
    def backend_factory(self) -> BackendFactory:
        msg = f"{type(self).__name__} must override the backend_factory fixture"
        raise NotImplementedError(msg)

    # -- helpers -------------------------------------------------------------------------

    @pytest.fixture
    def contract(self, backend_factory: BackendFactory) -> _Contract:
        return _Contract(backend_factory, supports_clock=self.supports_clock)

    # -- misses and basic storage --------------------------------------------------------

    def test_miss_raises_cache_miss_which_is_key_and_value_error(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            with pytest.raises(CacheMiss) as caught:
                await cache.get("absent")
            assert isinstance(caught.value, KeyError)
            assert isinstance(caught.value, ValueError)
            assert await cache.get_or_default("absent") is None
            assert await cache.get_or_default("absent", "fallback") == "fallback"
            assert await cache.getOrDefault("absent", 3) == 3

        contract.run(body)

    def test_put_then_get_and_overwrite(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", "first")
            assert await cache.get("k") == "first"
            await cache.put("k", {"second": [1, 2]})
            assert await cache.get("k") == {"second": [1, 2]}
            await cache.put(b"bytes-key", 5)
            assert await cache.get(b"bytes-key") == 5

        contract.run(body)

    def test_none_and_falsy_values_are_hits(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            falsy: list[Any] = [None, 0, "", [], {}, False]
            for index, value in enumerate(falsy):
                await cache.put(f"k{index}", value)
                assert await cache.get(f"k{index}") == value
                assert await cache.get_or_default(f"k{index}", "default") == value

        contract.run(body)

    @pytest.mark.parametrize("name", sorted(SAMPLE_VALUES))
    def test_every_coder_type_round_trips(self, contract: _Contract, name: str) -> None:
        value = SAMPLE_VALUES[name]

        async def body(cache: AsyncView) -> None:
            await cache.put("value", value)
            assert same_value(await cache.get("value"), value)
            await cache.put_many({"many": value})
            assert same_value((await cache.get_many(["many"]))["many"], value)

        contract.run(body)

    # -- TTL -------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "ttl", [3600, 3600.5, timedelta(hours=1), (3000, 3600)], ids=["int", "float", "timedelta", "jitter"]
    )
    def test_ttl_forms_expire_by_the_clock(self, contract: _Contract, ttl: Any) -> None:
        contract.need_clock()

        async def body(cache: AsyncView) -> None:
            await cache.put("k", "v", ttl)
            await cache.put("forever", "v")
            contract.clock.advance(2999)
            assert await cache.get("k") == "v"
            contract.clock.advance(602)
            with pytest.raises(CacheMiss):
                await cache.get("k")
            assert await cache.get_or_default("k") is None
            assert await cache.get("forever") == "v"

        contract.run(body)

    @pytest.mark.parametrize("ttl", [None, math.inf])
    def test_no_ttl_never_expires(self, contract: _Contract, ttl: Any) -> None:
        contract.need_clock()

        async def body(cache: AsyncView) -> None:
            await cache.put("k", "v", ttl)
            contract.clock.advance(10 * 365 * 86400)
            assert await cache.get("k") == "v"

        contract.run(body)

    def test_expiry_in_real_time(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("short", "v", 0.3)
            assert await cache.get("short") == "v"
            await asyncio.sleep(0.6)
            with pytest.raises(CacheMiss):
                await cache.get("short")

        contract.run(body, use_clock=False)

    def test_zero_ttl_keeps_nothing(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", "old")
            await cache.put("k", "new", 0)
            with pytest.raises(CacheMiss):
                await cache.get("k")

        contract.run(body)

    @pytest.mark.parametrize(
        "ttl", [-1, float("nan"), (10, 5), "60", [1, 2]], ids=["negative", "nan", "min>max", "str", "list"]
    )
    def test_bad_ttl_is_rejected_and_changes_nothing(self, contract: _Contract, ttl: Any) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", "kept")
            with pytest.raises(InvalidTTLError):
                await cache.put("k", "replaced", ttl)
            with pytest.raises(InvalidTTLError):
                await cache.put_many({"k": "replaced", "other": 1}, ttl)
            assert await cache.get("k") == "kept"
            assert await cache.get_or_default("other") is None

        contract.run(body)

    # -- remove, remove_expired, clear ---------------------------------------------------

    def test_remove_reports_whether_an_entry_existed(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", 1)
            await cache.put("other", 2)
            assert await cache.remove("k") is True
            assert await cache.remove("k") is False
            with pytest.raises(CacheMiss):
                await cache.get("k")
            assert await cache.get("other") == 2

        contract.run(body)

    def test_remove_expired_deletes_only_expired_entries(self, contract: _Contract) -> None:
        contract.need_clock()

        async def body(cache: AsyncView) -> None:
            await cache.put("soon", 1, 10)
            await cache.put("later", 2, 1000)
            await cache.put("never", 3)
            await cache.put("other-namespace", 4, 10, namespace="other")
            contract.clock.advance(11)
            assert await cache.remove_expired() == 2
            assert await cache.remove_expired() == 0
            assert await cache.get("later") == 2
            assert await cache.get("never") == 3

        contract.run(body)

    def test_namespaces_are_independent(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", "a", namespace="a")
            await cache.put("k", "b", namespace="b")
            await cache.put("k", "default")
            assert await cache.get("k", namespace="a") == "a"
            assert await cache.get("k", namespace="b") == "b"
            assert await cache.get("k") == "default"
            await cache.remove("k", namespace="a")
            assert await cache.get("k", namespace="b") == "b"

        contract.run(body)

    def test_clear_one_namespace_leaves_the_others(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put_many({f"k{i}": i for i in range(50)}, namespace="doomed")
            await cache.put_many({f"k{i}": i for i in range(50)}, namespace="kept")
            await cache.put("k1", "default")
            await cache.clear("doomed")
            assert await cache.get_many([f"k{i}" for i in range(50)], namespace="doomed") == {}
            assert await cache.get_many([f"k{i}" for i in range(50)], namespace="kept") == {
                f"k{i}": i for i in range(50)
            }
            assert await cache.get("k1") == "default"
            await cache.put("k1", "again", namespace="doomed")
            assert await cache.get("k1", namespace="doomed") == "again"

        contract.run(body)

    def test_clear_everything(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", 1, namespace="a")
            await cache.put("k", 2)
            await cache.clear()
            assert await cache.get_or_default("k", namespace="a") is None
            assert await cache.get_or_default("k") is None

        contract.run(body)

    # -- batches -------------------------------------------------------------------------

    def test_get_many_returns_only_live_hits(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put_many({"a": 1, "b": None, "c": [3]})
            assert await cache.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": None, "c": [3]}
            assert await cache.get_many([]) == {}
            await cache.put_many([("d", 4), ("e", 5)])
            assert await cache.get_many(["d", "e"]) == {"d": 4, "e": 5}

        contract.run(body)

    def test_put_many_with_ttl_expires_together(self, contract: _Contract) -> None:
        contract.need_clock()

        async def body(cache: AsyncView) -> None:
            await cache.put_many({"a": 1, "b": 2}, 60)
            contract.clock.advance(61)
            assert await cache.get_many(["a", "b"]) == {}

        contract.run(body)

    def test_put_many_with_one_bad_value_stores_nothing(self, contract: _Contract) -> None:
        if contract.stores_objects():
            pytest.skip("this backend stores objects without encoding them, so no value is unencodable")

        async def body(cache: AsyncView) -> None:
            await cache.put("a", "old")
            with pytest.raises(EncodeError) as caught:
                await cache.put_many({"a": "new", "bad": _Unencodable(), "c": 3})
            assert "_Unencodable" in str(caught.value)
            with pytest.raises(EncodeError):
                await cache.put("a", _Unencodable())
            assert isinstance(caught.value, TypeError)
            assert await cache.get("a") == "old"
            assert await cache.get_many(["bad", "c"]) == {}

        contract.run(body)

    # -- keys ------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "key",
        [
            "ключ-🔑",
            "x" * 10_000,
            "",
            "with spaces\nand\tnewlines",
            "colon:star*?[brackets]{}",
            "nul\x00char",
            "default",
        ],
        ids=["unicode", "very-long", "empty", "whitespace", "glob-chars", "nul", "namespace-name"],
    )
    def test_unusual_keys(self, contract: _Contract, key: str) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put(key, "value")
            await cache.put(key + "-sibling", "sibling")
            assert await cache.get(key) == "value"
            assert await cache.get_many([key]) == {key: "value"}
            assert await cache.remove(key) is True
            assert await cache.get(key + "-sibling") == "sibling"

        contract.run(body)

    @pytest.mark.parametrize("key", [1, None, 1.5, ("t",)], ids=["int", "none", "float", "tuple"])
    def test_non_string_keys_are_rejected(self, contract: _Contract, key: Any) -> None:
        async def body(cache: AsyncView) -> None:
            with pytest.raises(InvalidKeyError):
                await cache.put(key, 1)
            with pytest.raises(InvalidKeyError):
                await cache.get(key)

        contract.run(body)

    def test_large_values(self, contract: _Contract) -> None:
        size = self.large_value_bytes

        async def body(cache: AsyncView) -> None:
            text = "λ" * (size // 2)
            blob = bytes(range(256)) * (size // 256)
            await cache.put("text", text)
            await cache.put("blob", blob)
            assert await cache.get("text") == text
            assert await cache.get("blob") == blob

        contract.run(body)

    # -- concurrency -----------------------------------------------------------------------

    def test_concurrent_writers_to_one_key_leave_one_whole_value(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            values = [{"writer": n, "payload": "x" * 1000 * (n % 5 + 1)} for n in range(40)]

            def writer(value: dict[str, Any]) -> Callable[[], Awaitable[None]]:
                return lambda: cache.put("contended", value)

            await cache.in_threads([writer(value) for value in values])
            assert await cache.get("contended") in values

        contract.run(body)

    def test_concurrent_writers_to_many_keys_lose_nothing(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            def writer(n: int) -> Callable[[], Awaitable[None]]:
                async def write() -> None:
                    for i in range(10):
                        await cache.put(f"w{n}-{i}", [n, i])

                return write

            await cache.in_threads([writer(n) for n in range(16)])
            found = await cache.get_many([f"w{n}-{i}" for n in range(16) for i in range(10)])
            assert found == {f"w{n}-{i}": [n, i] for n in range(16) for i in range(10)}

        contract.run(body)

    # -- lifecycle -------------------------------------------------------------------------

    def test_closed_backend_raises_on_every_operation(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", 1)
            await cache.close()
            await cache.close()  # closing twice is fine
            operations: list[Callable[[], Awaitable[Any]]] = [
                lambda: cache.get("k"),
                lambda: cache.get_or_default("k"),
                lambda: cache.put("k", 2),
                lambda: cache.remove("k"),
                cache.remove_expired,
                cache.clear,
                lambda: cache.get_many(["k"]),
                lambda: cache.put_many({"k": 3}),
            ]
            for operation in operations:
                with pytest.raises(BackendClosedError):
                    await operation()

        contract.run(body, close=False)

    def test_context_manager_closes(self, contract: _Contract) -> None:
        async def body() -> None:
            backend = contract.make()
            if isinstance(backend, AsyncBackend):
                async with backend as entered:
                    assert entered is backend
                    await backend.put("k", 1)
            else:
                with backend as entered:
                    assert entered is backend
                    backend.put("k", 1)
            with pytest.raises(BackendClosedError):
                await AsyncView(backend).get("k")

        run(body)

    def test_entries_persist_across_instances(self, contract: _Contract) -> None:
        if not self.persistent:
            pytest.skip("in-process backend: nothing outlives the instance")

        async def body() -> None:
            first = AsyncView(contract.make())
            await first.put("survivor", {"v": (1, 2)}, namespace="ns")
            await first.close()
            second = AsyncView(contract.make())
            try:
                assert await second.get("survivor", namespace="ns") == {"v": (1, 2)}
            finally:
                await second.close()

        run(body)

    # -- through the decorator -------------------------------------------------------------

    def test_decorated_functions_cache_here(self, contract: _Contract) -> None:
        async def body(cache: AsyncView) -> None:
            calls: list[int] = []

            @cached(cache=cache.backend, namespace="decorated", ttl=600)
            async def triple(x: int) -> int:
                calls.append(x)
                return 3 * x

            assert [await triple(2), await triple(2), await triple(3)] == [6, 6, 9]
            assert calls == [2, 3]
            assert triple.cache_info().hits == 1
            assert await triple.invalidate(2) is True
            assert await triple(2) == 6
            assert calls == [2, 3, 2]
            if not cache.is_async:

                @cached(cache=cache.backend, namespace="decorated-sync")
                def double(x: int) -> int:
                    calls.append(-x)
                    return 2 * x

                assert [double(4), double(4)] == [8, 8]
                assert calls.count(-4) == 1

        contract.run(body)

    # -- bad input is the caller's fault, never the storage's --------------------------------
    # A bad key, namespace, TTL or value raises a typed error at the call, before any I/O: no
    # other entry changes and the circuit breaker (failures=1 here, so one miscount opens it)
    # stays closed. A bytes key and a str key never share an entry.

    @pytest.mark.parametrize(("first", "second"), _ALIAS_PAIRS, ids=_ALIAS_IDS)
    def test_bytes_and_str_keys_never_share_an_entry(self, contract: _Contract, first: Any, second: Any) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put(first, "first")
            await cache.put(second, "second")
            assert await cache.get(first) == "first"
            assert await cache.get(second) == "second"
            assert await cache.get_many([first, second]) == {first: "first", second: "second"}
            await cache.put_many([(second, "second again")])
            assert await cache.get(first) == "first"
            assert await cache.remove(first) is True
            assert await cache.get(second) == "second again"

        contract.run(body)

    @pytest.mark.parametrize("ttl", _BAD_TTLS, ids=_BAD_TTL_IDS)
    def test_out_of_range_ttls_are_typed_errors_that_spare_the_breaker(self, contract: _Contract, ttl: Any) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", "kept")
            for _ in range(3):
                with pytest.raises(InvalidTTLError):
                    await cache.put("k", "replaced", ttl)
                with pytest.raises(InvalidTTLError):
                    await cache.put_many({"k": "replaced", "other": 1}, ttl)
            assert await cache.get("k") == "kept"
            assert await cache.get_or_default("other") is None
            assert contract.breaker_closed(cache)

        contract.run(body, breaker=True)

    @pytest.mark.parametrize("ttl", [MAX_TTL, float(MAX_TTL), timedelta(seconds=MAX_TTL)], ids=["int", "float", "td"])
    def test_the_longest_ttl_is_kept(self, contract: _Contract, ttl: Any) -> None:
        contract.need_clock()

        async def body(cache: AsyncView) -> None:
            await cache.put("k", "v", ttl)
            contract.clock.advance(100 * 365 * 86400)
            assert await cache.get("k") == "v"

        contract.run(body)

    @pytest.mark.parametrize("namespace", ["\ud800", "name\udfff", "", 5], ids=["surrogate", "end", "empty", "int"])
    def test_bad_namespaces_are_invalid_key_errors(self, contract: _Contract, namespace: Any) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.put("k", "kept")
            calls: list[Callable[[], Awaitable[Any]]] = [
                lambda: cache.get("k", namespace=namespace),
                lambda: cache.get_or_default("k", namespace=namespace),
                lambda: cache.put("k", "v", namespace=namespace),
                lambda: cache.get_many(["k"], namespace=namespace),
                lambda: cache.put_many({"k": "v"}, namespace=namespace),
                lambda: cache.remove("k", namespace=namespace),
                lambda: cache.clear(namespace),
            ]
            for call in calls:
                with pytest.raises(InvalidKeyError):
                    await call()
            assert await cache.get("k") == "kept"
            assert contract.breaker_closed(cache)

        contract.run(body, breaker=True)

    def test_entries_over_the_declared_size_limit_are_rejected(self, contract: _Contract) -> None:
        """At ``max_entry_bytes`` an entry round-trips; a byte more raises ``ValueTooLargeError`` (limits <= 64 MiB)."""
        probe = contract.make()
        limit, key_limit, serializer = probe.max_entry_bytes, probe.max_key_bytes, probe.serializer
        run(AsyncView(probe).close)
        if limit is None or limit > 64 << 20 or serializer is None:
            pytest.skip("no entry size limit small enough to test here")
        overhead = len(serializer.encode("a" * 1000)) - 1000

        def text_of(size: int) -> str:  # a str whose encoded form takes exactly ``size`` bytes
            text = "a" * (size - overhead)
            assert len(serializer.encode(text)) == size
            return text

        async def body(cache: AsyncView) -> None:
            fitting = text_of(limit - len("default") - len("big"))
            await cache.put("big", "old")
            with pytest.raises(ValueTooLargeError) as caught:
                await cache.put("big", fitting + "a")
            assert isinstance(caught.value, EncodeError)
            with pytest.raises(ValueTooLargeError):
                await cache.put_many({"small": 1, "big": fitting + "a"})
            assert await cache.get("big") == "old"
            assert await cache.get_or_default("small") is None
            await cache.put("big", fitting)
            assert await cache.get("big") == fitting
            if key_limit is not None:
                longest = "k" * (key_limit - len("default"))
                await cache.put(longest, "v")
                assert await cache.get(longest) == "v"
                with pytest.raises(InvalidKeyError):
                    await cache.put(longest + "k", "v")
            assert contract.breaker_closed(cache)

        contract.run(body, breaker=True)

    def test_fuzzed_input_round_trips_or_fails_typed(self, contract: _Contract) -> None:
        """Any key, namespace, value and TTL: an exact round trip, or a typed error at the call."""
        backend = contract.make()
        backend.breaker = CircuitBreaker(failures=1, reset_after=3600)
        cache = AsyncView(backend)
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(cache.clear())
            loop.run_until_complete(cache.put(_SENTINEL_KEY, _SENTINEL))

            @settings(
                max_examples=self.fuzz_examples,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(key=_KEYS, namespace=_NAMESPACES, value=_VALUES, ttl=_TTLS)
            def check(key: Any, namespace: Any, value: Any, ttl: Any) -> None:
                loop.run_until_complete(_fuzz_one(cache, key, namespace, value, ttl))

            check()
        finally:
            loop.run_until_complete(cache.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


class _Unencodable:
    """A type no serializer of ours knows."""

    def __reduce__(self) -> Any:
        msg = "_Unencodable refuses to be pickled"
        raise TypeError(msg)


class _Contract:
    """Makes and closes backends for one test."""

    def __init__(self, factory: BackendFactory, *, supports_clock: bool) -> None:
        self.factory = factory
        self.supports_clock = supports_clock
        self.clock = TestClock()

    def need_clock(self) -> None:
        if not self.supports_clock:
            pytest.skip("backend does not take clock=; expiry is covered by test_expiry_in_real_time")

    def make(self, *, use_clock: bool = True) -> AsyncBackend | Backend:
        options = {"clock": self.clock} if use_clock and self.supports_clock else {}
        backend = self.factory(**options)
        if not isinstance(backend, (AsyncBackend, Backend)):
            msg = f"backend_factory returned {type(backend).__qualname__}, not an AsyncBackend or Backend"
            raise TypeError(msg)
        return backend

    def stores_objects(self) -> bool:
        backend = self.make()
        try:
            return backend.serializer is None
        finally:
            run(AsyncView(backend).close)

    @staticmethod
    def breaker_closed(cache: AsyncView) -> bool:
        breaker = cache.backend.breaker
        return breaker is not None and not breaker.is_open

    def run(
        self,
        body: Callable[[AsyncView], Awaitable[None]],
        *,
        use_clock: bool = True,
        close: bool = True,
        breaker: bool = False,
    ) -> None:
        """Run ``body`` on a fresh, cleared backend; ``breaker``: with a breaker that opens at one failure."""

        async def main() -> None:
            view = AsyncView(self.make(use_clock=use_clock))
            if breaker:
                view.backend.breaker = CircuitBreaker(failures=1, reset_after=3600)
            try:
                await view.clear()
                await body(view)
            finally:
                if close:
                    await view.close()

        run(main)


__all__ = ["AsyncView", "BackendContract", "BackendFactory", "run"]
