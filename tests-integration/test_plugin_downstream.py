"""The pytest plugin works in someone else's project: a fresh venv, only our wheels' sources installed."""

from __future__ import annotations

import os
import subprocess
import textwrap
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

APP = '''
"""A downstream application that caches with cache_core."""
import itertools
from cache_core import Cache, cache, cached, DictCache

calls = itertools.count(1)
reports = Cache(DictCache(), namespace="reports", ttl=3600)

@cached(ttl=3600)
def exchange_rate(currency):
    return (currency, next(calls))

@cache
async def profile(user_id):
    return {"id": user_id, "call": next(calls)}

@reports
def monthly(month):
    return (month, next(calls))
'''

TESTS = """
import pytest
from cache_core import cached
import app


def test_1_fills_the_cache():
    assert app.exchange_rate("EUR") == app.exchange_rate("EUR")
    assert app.exchange_rate.cache_info().hits == 1


def test_2_starts_empty_again():
    before = app.exchange_rate.cache_info().misses
    app.exchange_rate("EUR")
    assert app.exchange_rate.cache_info().misses == before + 1


async def test_3_async_function_on_the_default_instance():
    import asyncio
    first = await app.profile(7)
    assert await app.profile(7) == first


def test_4_clock_expires_an_hour_in_no_time(cache_clock, memory_cache):
    runs = []

    @cached(cache=memory_cache, ttl=3600)
    def rate(x):
        runs.append(x)
        return x

    rate(1); rate(1)
    cache_clock.advance(3601)
    rate(1)
    assert runs == [1, 1]


@pytest.mark.no_cache
def test_5_marker_disables_every_cache():
    assert app.exchange_rate("USD") != app.exchange_rate("USD")
    assert app.monthly(1) != app.monthly(1)


def test_6_fixture_disables(cache_disabled):
    assert app.monthly(2) != app.monthly(2)


def test_7_recording(recording_cache):
    @cached(cache=recording_cache, ttl=60)
    def f(x):
        return x * 2

    f(21)
    recording_cache.assert_put(ttl=60, value=42)
"""


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_plugin_in_a_downstream_project(tmp_path: Path) -> None:
    project = tmp_path / "downstream"
    (project / "tests").mkdir(parents=True)
    (project / "app.py").write_text(APP, encoding="utf-8")
    (project / "tests" / "test_app.py").write_text(TESTS, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.pytest.ini_options]
            pythonpath = ["."]
            """
        ),
        encoding="utf-8",
    )
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    quiet = ["-q", "--disable-pip-version-check"]
    installed = run(python, "-m", "pip", "install", *quiet, "hatchling", "pytest", "pytest-asyncio", cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    ours = run(
        python, "-m", "pip", "install", *quiet, "--no-build-isolation", "--no-deps",
        ROOT / "packages/cache-core", ROOT / "packages/cache-testing", cwd=tmp_path,
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "PYTHON", "VIRTUAL_ENV"))}
    result = run(
        python, "-m", "pytest", "-p", "asyncio", "-o", "asyncio_mode=auto", "-v", "tests", cwd=project, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout, result.stdout
    # The plugin can be switched off: then no fixtures, and the cache leaks between tests.
    off = run(
        python,
        "-m",
        "pytest",
        "-p",
        "no:cache_testing",
        "-p",
        "asyncio",
        "-o",
        "asyncio_mode=auto",
        "tests",
        cwd=project,
        env=env,
    )
    assert off.returncode != 0
    assert "fixture 'cache_clock' not found" in off.stdout
