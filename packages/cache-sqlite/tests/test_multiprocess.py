"""Four processes write and read one file at once: nothing lost, nothing torn, no "database is locked"."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from cache_sqlite import SqliteCache, SyncSqliteCache
from cache_testing.conformance import AsyncView, run

WORKER = Path(__file__).with_name("_worker.py")


def load_worker() -> ModuleType:
    """The worker script as a module, for its value checker (tests are not importable by name)."""
    spec = importlib.util.spec_from_file_location("cache_sqlite_tests_worker", WORKER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_four_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"  # created by the workers themselves, racing
    go_file = tmp_path / "go"
    rounds = 1000
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(path), str(worker), mode, str(rounds), str(go_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker, mode in enumerate(["sync", "async", "sync", "async"])
    ]
    go_file.touch()
    reports = []
    for process in workers:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
        assert "locked" not in stderr
        reports.append(json.loads(stdout))

    check = load_worker().check
    with SyncSqliteCache(path) as cache:
        for report in reports:
            assert report["checked"] > rounds
            found = cache.get_many(report["written"])
            assert sorted(found) == sorted(report["written"])  # nothing lost
            for value in found.values():
                check(value)  # nothing torn
                assert value["worker"] == report["worker"]
        check(cache.get("hot"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
@pytest.mark.parametrize("cls", [SqliteCache, SyncSqliteCache], ids=["async", "sync"])
def test_a_forked_child_opens_its_own_connection(cls: type[SqliteCache | SyncSqliteCache], tmp_path: Path) -> None:
    """A cache used before fork() (a preloading web server, multiprocessing) keeps working in the child."""
    cache = AsyncView(cls(tmp_path / "cache.db"))
    run(lambda: cache.put("parent", 1))  # the parent's connection is open now
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        code = 1
        try:
            signal.alarm(20)  # without a fresh connection an async call would wait forever

            async def child() -> None:
                assert await cache.get("parent") == 1
                await cache.put("child", 2)
                await cache.close()

            run(child)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    async def parent() -> None:
        assert await cache.get("child") == 2  # the parent's own connection still works
        await cache.close()

    run(parent)
