"""Tags (``cached(tags=...)``, ``invalidate_tags``), part of ``BackendContract``.

Tag versions are ordinary entries of the backend and a tagged entry records them in its
value, so every backend that round-trips tuples and dicts of its values supports tags;
these tests prove it for each: what an invalidation hides and what it leaves alone, an
invalidation during a computation, tags from the value, freshness and the lock together
with tags, and (for persistent backends) two instances over the same storage.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from cache_core import BackendClosedError, Cache, cached

if TYPE_CHECKING:
    from .conformance import AsyncView
    from .conformance import _Contract as Contract

_TTL = 60.0


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    result = function(*args)
    return await result if inspect.isawaitable(result) else result


def _tagged(
    cache: AsyncView, *, during: Callable[[int], Any] | None = None, backend: Any = None, **options: Any
) -> tuple[Any, list[int]]:
    """A function of ``user_id`` decorated on ``cache`` (async for async backends) that counts its runs.

    It returns ``(user_id, run number)``; ``during(user_id)`` runs inside its computation
    (awaited for async backends).
    """
    runs: list[int] = []
    counter = itertools.count(1)
    options.setdefault("namespace", "tags")
    target = cache.backend if backend is None else backend

    if cache.is_async:

        async def user(user_id: int) -> Any:
            runs.append(user_id)
            if during is not None:
                await during(user_id)
            return (user_id, next(counter))

    else:

        def user(user_id: int) -> Any:  # type: ignore[misc]
            runs.append(user_id)
            if during is not None:
                during(user_id)
            return (user_id, next(counter))

    return cached(cache=target, ttl=_TTL, **options)(user), runs


class TagsContract:
    """``cached(tags=...)`` and ``invalidate_tags`` on this backend."""

    def test_invalidation_hides_earlier_entries_only_under_its_tags(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            user, runs = _tagged(cache, tags=["user:{user_id}", "users"])
            plain, plain_runs = _tagged(cache, namespace="untagged")
            other, other_runs = _tagged(cache, namespace="other", tags=["account:{user_id}"])
            for function in (user, plain, other):
                assert await _call(function, 1) == (1, 1)
                assert await _call(function, 2) == (2, 2)
            await cache.invalidate_tags("user:1")
            assert await _call(user, 1) == (1, 3)  # hidden: computed again
            assert await _call(user, 2) == (2, 2)  # another tag: kept
            assert await _call(user, 1) == (1, 3)  # stored after the invalidation: served
            assert await _call(plain, 1) == (1, 1)
            assert await _call(other, 1) == (1, 1)
            await cache.invalidate_tags("users", "unknown")  # a tag every user entry carries
            assert [await _call(user, 1), await _call(user, 2)] == [(1, 4), (2, 5)]
            assert [await _call(user, 1), await _call(user, 2)] == [(1, 4), (2, 5)]
            assert (runs, plain_runs, other_runs) == ([1, 2, 1, 1, 2], [1, 2], [1, 2])
            await cache.invalidate_tags("account:1")
            assert await _call(other, 1) == (1, 3)
            assert await _call(user, 1) == (1, 4)

        contract.run(body)

    def test_tags_from_the_value(self, contract: Contract) -> None:
        def tags(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> list[str]:
            return [f"parity:{value[0] % 2}"]

        async def body(cache: AsyncView) -> None:
            user, runs = _tagged(cache, tags=tags)
            assert [await _call(user, n) for n in (1, 2, 3)] == [(1, 1), (2, 2), (3, 3)]
            await cache.invalidate_tags("parity:1")
            assert [await _call(user, n) for n in (1, 2, 3)] == [(1, 4), (2, 2), (3, 5)]
            assert [await _call(user, n) for n in (1, 2, 3)] == [(1, 4), (2, 2), (3, 5)]
            assert runs == [1, 2, 3, 1, 3]

        contract.run(body)

    @pytest.mark.parametrize("source", ["templates", "value"])
    def test_an_invalidation_during_the_computation_wins(self, contract: Contract, source: str) -> None:
        async def body(cache: AsyncView) -> None:
            computations = itertools.count()

            async def invalidate_async(user_id: int) -> None:
                if next(computations) == 0:
                    await cache.invalidate_tags(f"user:{user_id}")

            def invalidate_sync(user_id: int) -> None:
                if next(computations) == 0:
                    cache.backend.invalidate_tags(f"user:{user_id}")

            def from_value(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], value: Any) -> list[str]:
                return [f"user:{value[0]}"]

            tags: Any = ["user:{user_id}"] if source == "templates" else from_value
            during = invalidate_async if cache.is_async else invalidate_sync
            user, runs = _tagged(cache, tags=tags, during=during)
            assert await _call(user, 1) == (1, 1)  # computed while its tag was invalidated
            assert await _call(user, 1) == (1, 2)  # so it was not served: computed again
            assert await _call(user, 1) == (1, 2)
            assert runs == [1, 1]

        contract.run(body)

    def test_tags_with_freshness_and_refresh(self, contract: Contract) -> None:
        contract.need_clock()

        async def body(cache: AsyncView) -> None:
            user, runs = _tagged(cache, tags=["user:{user_id}"], stale_if_error=600.0)
            assert await _call(user, 1) == (1, 1)
            assert await _call(user, 1) == (1, 1)
            await cache.invalidate_tags("user:1")
            assert await _call(user, 1) == (1, 2)
            assert await _call(user.refresh, 1) == (1, 3)
            assert await _call(user, 1) == (1, 3)
            contract.clock.advance(_TTL + 1)  # past the TTL: recomputed (the function does not fail)
            assert await _call(user, 1) == (1, 4)
            assert runs == [1, 1, 1, 1]

        contract.run(body)

    def test_tags_with_the_lock(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            if not cache.backend.supports_lock:
                pytest.skip("no cross-process lock")
            user, runs = _tagged(cache, tags=["user:{user_id}"], lock=5.0)
            assert [await _call(user, 1), await _call(user, 1)] == [(1, 1), (1, 1)]
            await cache.invalidate_tags("user:1")
            assert [await _call(user, 1), await _call(user, 1)] == [(1, 2), (1, 2)]
            assert runs == [1, 1]

        contract.run(body)

    def test_cache_front_invalidates_and_clears_by_tag(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            front = Cache(cache.backend, namespace="front")
            runs: list[int] = []
            if cache.is_async:

                @front(tags=["user:{user_id}"])
                async def user(user_id: int) -> int:
                    runs.append(user_id)
                    return len(runs)

                @front.clear(tags=["user:{user_id}"])
                async def rename(user_id: int, name: str) -> str:
                    return name

            else:

                @front(tags=["user:{user_id}"])
                def user(user_id: int) -> int:
                    runs.append(user_id)
                    return len(runs)

                @front.clear(tags=["user:{user_id}"])
                def rename(user_id: int, name: str) -> str:  # type: ignore[misc]
                    return name

            assert [await _call(user, 1), await _call(user, 2)] == [1, 2]
            await front.invalidate_tags("user:1")
            assert [await _call(user, 1), await _call(user, 2)] == [3, 2]
            assert await _call(rename, 2, "Ada") == "Ada"
            assert [await _call(user, 1), await _call(user, 2)] == [3, 4]
            assert runs == [1, 2, 1, 2]

        contract.run(body)

    def test_invalidate_tags_checks_its_input(self, contract: Contract) -> None:
        async def body(cache: AsyncView) -> None:
            await cache.invalidate_tags()  # nothing to do
            with pytest.raises(TypeError):
                await cache.invalidate_tags(b"user:1")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="empty"):
                await cache.invalidate_tags("")
            await cache.close()
            with pytest.raises(BackendClosedError):
                await cache.invalidate_tags("user:1")

        contract.run(body, close=False)

    def test_instances_over_the_same_storage_agree(self, contract: Contract) -> None:
        if not getattr(self, "persistent", False):
            pytest.skip("in-process backend: nothing outlives the instance")

        async def body(cache: AsyncView) -> None:
            from .conformance import AsyncView

            second = AsyncView(contract.make())
            try:
                user, runs = _tagged(cache, tags=["user:{user_id}"])
                elsewhere, elsewhere_runs = _tagged(cache, backend=second.backend, tags=["user:{user_id}"])
                assert await _call(user, 1) == (1, 1)
                assert await _call(elsewhere, 1) == (1, 1)  # the entry the first one stored
                await second.invalidate_tags("user:1")
                assert await _call(user, 1) == (1, 2)
                await cache.invalidate_tags("user:1")
                assert await _call(elsewhere, 1) == (1, 1)  # its own counter: computed again
                assert (runs, elsewhere_runs) == ([1, 1], [1])
            finally:
                await second.close()

        contract.run(body)
