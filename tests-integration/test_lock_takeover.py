"""A killed lock holder: its lock expires, exactly one waiting process takes it over.

A process computing a cached call under ``cached(lock=...)`` is killed while it holds the
lock. Four other processes miss the same call meanwhile: they wait out the lock's life,
then one of them takes the lock over and computes while the other three wait for its
value. The function runs once more in all, not four times. SQLite (one file) and Redis.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_testing import servers

WORKER = Path(__file__).with_name("_takeover_worker.py")


@pytest.fixture(scope="module")
def redis_location() -> Iterator[str]:
    with servers.redis_url() as url:
        yield url


def _run(kind: str, location: str, counter: Path) -> None:
    def start(mode: str) -> subprocess.Popen[str]:
        command = [sys.executable, str(WORKER), kind, location, mode, str(counter)]
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

    holder = start("hold")
    try:
        assert holder.stdout is not None
        assert json.loads(holder.stdout.readline()) == "holding"  # computing, under the lock
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    callers = [start("call") for _ in range(4)]
    results = []
    for caller in callers:
        out, _ = caller.communicate(timeout=60)
        assert caller.returncode == 0
        results.append(json.loads(out))
    assert results == ["report for monday"] * 4
    runs = counter.read_text(encoding="utf-8").split()
    assert runs == ["hold", "call"], f"{runs.count('call')} processes computed after the holder died"


@pytest.mark.slow
def test_sqlite_a_dead_holders_lock_is_taken_over_by_one_process(tmp_path: Path) -> None:
    _run("sqlite", str(tmp_path / "cache.db"), tmp_path / "runs")


@pytest.mark.slow
def test_redis_a_dead_holders_lock_is_taken_over_by_one_process(redis_location: str, tmp_path: Path) -> None:
    import redis

    redis.Redis.from_url(redis_location).flushdb()
    _run("redis", redis_location, tmp_path / "runs")
