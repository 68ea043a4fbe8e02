"""The pytest plugin, exercised in inner pytest runs (pytester)."""

from __future__ import annotations

import pytest

CACHED_MODULE = """
import itertools
from cache_core import cache, cached, DictCache

counter = itertools.count()

@cached
def default_cached(x):
    return next(counter)

@cache
def front_cached(x):
    return next(counter)

own_backend = DictCache()

@cached(cache=own_backend)
def own_cached(x):
    return next(counter)
"""


def test_each_test_starts_with_an_empty_default_cache(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=CACHED_MODULE)
    pytester.makepyfile(
        test_isolation="""
        import app

        def test_first():
            assert app.default_cached(1) == app.default_cached(1)
            app.front_cached(1)
            assert app.default_cached.cache_info().hits == 1

        def test_second_sees_nothing_cached_by_the_first():
            before = app.default_cached.cache_info().misses
            app.default_cached(1)
            assert app.default_cached.cache_info().misses == before + 1
            app.front_cached(1)
            assert app.front_cached.cache_info().misses == 2
        """
    )
    pytester.runpytest("-p", "no:asyncio").assert_outcomes(passed=2)


def test_isolation_all_covers_functions_with_their_own_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=CACHED_MODULE)
    pytester.makepyfile(
        test_all="""
        import app

        def test_fill():
            app.own_cached(1)

        def test_empty_again():
            first = app.own_cached(1)
            assert app.own_cached(1) == first
            assert len(app.own_backend) == 0  # the module's own backend was never touched
        """
    )
    pytester.runpytest("-p", "no:asyncio", "--cache-isolation=all").assert_outcomes(passed=2)
    result = pytester.runpytest("-p", "no:asyncio", "--cache-isolation=off")
    result.assert_outcomes(passed=1, failed=1)


def test_disabling_for_one_test_and_for_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=CACHED_MODULE)
    pytester.makepyfile(
        test_disable="""
        import pytest
        import app

        @pytest.mark.no_cache
        def test_marker_disables_everything():
            assert app.default_cached(1) != app.default_cached(1)
            assert app.front_cached(1) != app.front_cached(1)
            assert app.own_cached(1) != app.own_cached(1)

        def test_fixture_disables(cache_disabled):
            assert app.default_cached(2) != app.default_cached(2)

        def test_enabled_again():
            assert app.default_cached(3) == app.default_cached(3)
            assert app.own_cached(3) == app.own_cached(3)
        """
    )
    pytester.runpytest("-p", "no:asyncio").assert_outcomes(passed=3)
    pytester.runpytest("-p", "no:asyncio", "--no-caching").assert_outcomes(passed=2, failed=1)


def test_fixtures_clock_memory_and_recording(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixtures="""
        from cache_core import cached

        def test_clock_expires_an_hour_at_once(cache_clock, memory_cache):
            runs = []

            @cached(cache=memory_cache, ttl=3600)
            def slow(x):
                runs.append(x)
                return x

            slow(1); slow(1)
            cache_clock.advance(3601)
            slow(1)
            assert runs == [1, 1]

        def test_recording(recording_cache):
            @cached(cache=recording_cache, ttl=60)
            def f(x):
                return x

            f(1)
            recording_cache.assert_put(ttl=60, value=1)
        """
    )
    pytester.runpytest("-p", "no:asyncio").assert_outcomes(passed=2)


def test_bad_isolation_setting_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncache_isolation = sometimes\n")
    pytester.makepyfile(test_x="def test_x(): pass")
    result = pytester.runpytest("-p", "no:asyncio")
    result.stderr.fnmatch_lines(["*cache_isolation must be one of default, all, off*"])
