"""Tags: validation, the in-memory backend's tag versions, and failures around them.

Every backend runs the tag tests of the conformance suite (``cache_testing._tags_contract``);
these are the parts that need no server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from cache_core import Backend, BackendError, Cache, CacheMiss, DictCache, SyncDictCache, cached, cached_many
from cache_testing import FaultyBackend, NoCache, RecordingBackend, SyncFaultyBackend, SyncNoCache


@pytest.mark.parametrize(
    ("tags", "error", "match"),
    [
        (["user:{nope}"], TypeError, "'nope', not one of its parameters"),
        (["user:{}"], ValueError, "must name the arguments"),
        (["user:{0}"], ValueError, "must name the arguments"),
        (["user:{user_id"], ValueError, "not a valid str.format template"),
        ([""], ValueError, "empty"),
        ([b"user"], TypeError, "must be strings"),
        (42, TypeError, "sequence of str.format templates or a callable"),
    ],
)
def test_bad_tags_fail_at_decoration(tags: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):

        @cached(cache=SyncDictCache(), tags=tags)
        def user(user_id: int) -> int:
            return user_id


def test_templates_take_attributes_defaults_and_keywords() -> None:
    class Account:
        def __init__(self, number: int) -> None:
            self.number = number

    backend = SyncDictCache()
    runs: list[Any] = []

    @cached(cache=backend, tags=["account:{account.number}", "region:{region}", "extra:{extra[kind]}"])
    def balance(account: Account, region: str = "eu", **extra: str) -> int:
        runs.append(account.number)
        return len(runs)

    seven = Account(7)
    assert balance(seven, kind="savings") == balance(seven, kind="savings") == 1
    backend.invalidate_tags("region:us")
    assert balance(seven, kind="savings") == 1
    backend.invalidate_tags("extra:savings")
    assert balance(seven, kind="savings") == 2
    backend.invalidate_tags("account:7")
    assert balance(seven, kind="savings") == 3
    assert balance(seven, "us", kind="savings") == 4
    backend.invalidate_tags("region:eu")
    assert [balance(seven, kind="savings"), balance(seven, "us", kind="savings")] == [5, 4]


def test_tags_from_the_value_one_str_is_one_tag_and_others_are_refused() -> None:
    backend = SyncDictCache()

    @cached(cache=backend, tags=lambda fn, args, kwargs, value: f"item:{value}")
    def item(n: int) -> int:
        return n

    @cached(cache=backend, tags=lambda fn, args, kwargs, value: [value])
    def broken(n: int) -> int:
        return n

    assert item(1) == 1
    with pytest.raises(TypeError, match=r"the tags of .*broken must be strings"):
        broken(1)


def test_cached_many_and_clear_take_no_tag_callables() -> None:
    with pytest.raises(TypeError, match="cached_many takes no tags"):

        @cached_many(cache=SyncDictCache(), tags=["x"])
        def load(ids: list[int]) -> dict[int, int]:
            return {}

    with pytest.raises(TypeError, match="not a callable"):
        Cache(SyncDictCache()).clear(tags=lambda *a: ["x"])  # type: ignore[call-overload]

    with pytest.raises(TypeError, match="'nope', not one of its parameters"):

        @Cache(SyncDictCache()).clear(tags=["user:{nope}"])
        def rename(user_id: int) -> None:
            pass


def test_tagged_calls_skip_the_hot_index_and_eviction_never_revives_an_entry() -> None:
    backend = SyncDictCache(maxsize=2)
    runs: list[int] = []

    @cached(cache=backend, tags=["user:{user_id}"])
    def user(user_id: int) -> int:
        runs.append(user_id)
        return len(runs)

    assert [user(1), user(1), user(1)] == [1, 1, 1]  # the third call would be a hot-index hit
    backend.invalidate_tags("user:1")
    assert user(1) == 2
    for n in range(10, 20):  # evicts every entry; the tag versions are kept apart
        backend.put(str(n), n)
    backend.clear()
    assert user(1) == 3
    backend.invalidate_tags(*(f"user:{n}" for n in range(100)))
    assert user(1) == 4
    assert len(backend) == 1  # no tag version among the entries


def test_cache_invalidate_tags_is_done_at_once_with_a_sync_interface() -> None:
    front = Cache(DictCache())
    runs: list[int] = []

    @front(tags=["user:{user_id}"])
    def user(user_id: int) -> int:
        runs.append(user_id)
        return len(runs)

    assert user(1) == user(1) == 1
    front.invalidate_tags("user:1")  # not awaited: done already
    assert user(1) == 2

    async def later() -> None:
        await front.invalidate_tags("user:1")

    asyncio.run(later())
    assert user(1) == 3


def test_unreadable_versions_store_nothing_and_fail_open(caplog: pytest.LogCaptureFixture) -> None:
    faulty = SyncFaultyBackend(SyncDictCache())
    runs: list[int] = []

    @cached(cache=faulty, tags=["user:{user_id}"])
    def user(user_id: int) -> int:
        runs.append(user_id)
        return len(runs)

    faulty.fail("get")
    with caplog.at_level(logging.WARNING, logger="cache_core"):
        assert user(1) == 1
    faulty.heal()
    assert user(1) == 2  # nothing was stored while the versions were unknown
    assert user(1) == 2
    faulty.fail("put")
    with pytest.raises(BackendError):
        faulty.invalidate_tags("user:1")
    assert user.cache_info().errors == 2  # the read, and the versions before computing


def test_recording_backend_records_invalidations() -> None:
    async def main() -> None:
        recording = RecordingBackend(FaultyBackend(DictCache()))
        runs: list[int] = []

        @cached(cache=recording, tags=["user:{user_id}"])
        async def user(user_id: int) -> int:
            runs.append(user_id)
            return len(runs)

        assert [await user(1), await user(1)] == [1, 1]
        await recording.invalidate_tags("user:1", "user:1", "team")
        assert await user(1) == 2
        assert [op.key for op in recording.calls("invalidate_tags")] == ["user:1", "team"]
        recording.assert_hit(key_contains="user")

    asyncio.run(main())


def test_backends_overriding_the_public_methods_invalidate_through_them() -> None:
    class Shelf(Backend):
        """Overrides our public methods, not the primitives."""

        def __init__(self) -> None:
            super().__init__()
            self.items: dict[str, Any] = {}

        def get(self, key: str | bytes) -> Any:  # type: ignore[override]
            try:
                return self.items[str(key)]
            except KeyError:
                raise CacheMiss(key) from None

        def put(self, key: str | bytes, value: Any, ttl: object = None) -> None:  # type: ignore[override]
            self.items[str(key)] = value

    shelf = Shelf()
    runs: list[int] = []

    @cached(cache=shelf, tags=["user:{user_id}"])
    def user(user_id: int) -> int:
        runs.append(user_id)
        return len(runs)

    assert user(1) == user(1) == 1
    shelf.invalidate_tags("user:1")  # on the object itself, not the adapter the decorator uses
    assert user(1) == 2
    assert "__tags__:user%3A1" in shelf.items


def test_a_call_missing_an_argument_is_a_type_error() -> None:
    @cached(cache=SyncDictCache(), tags=["user:{user_id}"], key_maker=lambda fn, args, kwargs: "one key")
    def user(user_id: int, *, fresh: bool = False) -> int:
        return user_id

    assert user(1, fresh=True) == 1
    with pytest.raises(TypeError, match="user_id"):
        user()  # type: ignore[call-arg]


def test_no_cache_takes_invalidations_and_always_computes() -> None:
    runs: list[int] = []

    @cached(cache=SyncNoCache(), tags=["user:{user_id}"])
    def user(user_id: int) -> int:
        runs.append(user_id)
        return len(runs)

    assert [user(1), user(1)] == [1, 2]
    SyncNoCache().invalidate_tags("user:1")
    asyncio.run(NoCache().invalidate_tags("user:1"))
    assert Cache(NoCache()).invalidate_tags("user:1") is not None
