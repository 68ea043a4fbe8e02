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
    AsyncBackend,
    Backend,
    BackendClosedError,
    CacheMiss,
    EncodeError,
    InvalidKeyError,
    InvalidTTLError,
    cached,
)

from ._clock import TestClock
from ._samples import SAMPLE_VALUES, same_value

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


class BackendContract:
    """Tests of the whole ``AsyncBackend``/``Backend`` contract. Subclass and provide ``backend_factory``."""

    #: Two backends from the factory share storage (files and servers): persistence is tested.
    persistent: ClassVar[bool] = False
    #: The factory accepts ``clock=``, and the backend expires entries by it.
    supports_clock: ClassVar[bool] = True
    #: Size of the "large value" test, in bytes.
    large_value_bytes: ClassVar[int] = 2_000_000

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
            assert await cache.get("bytes-key") == 5

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

    def run(self, body: Callable[[AsyncView], Awaitable[None]], *, use_clock: bool = True, close: bool = True) -> None:
        async def main() -> None:
            view = AsyncView(self.make(use_clock=use_clock))
            try:
                await view.clear()
                await body(view)
            finally:
                if close:
                    await view.close()

        run(main)


__all__ = ["AsyncView", "BackendContract", "BackendFactory", "run"]
