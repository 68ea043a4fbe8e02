"""Real ``redis-server`` processes for tests: one server, or a 3-node Redis Cluster.

Servers listen on free loopback ports, keep their files in a temporary directory
(``--save "" --appendonly no``: nothing is persisted) and are stopped afterwards.
``REDIS_URL`` / ``REDIS_CLUSTER_URL`` point tests at existing servers instead
(``external_redis_url`` / ``external_cluster_url``); fixtures flush their databases
before each test, so point them at scratch servers.

When ``redis-server`` (or ``redis-cli``, for clusters) is not installed, the helpers
call ``pytest.skip`` with the reason, or ``pytest.fail`` when the ``CI`` environment
variable is set: in CI a missing server is a failure, never a skip.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NoReturn

from ._server_process import ServerProcess

__all__ = [
    "RedisClusterProcesses",
    "RedisServerProcess",
    "external_cluster_url",
    "external_redis_url",
    "redis_command",
    "require_binary",
]

HOST = "127.0.0.1"
REDIS_URL_ENV = "REDIS_URL"
REDIS_CLUSTER_URL_ENV = "REDIS_CLUSTER_URL"


def _missing(reason: str) -> NoReturn:
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: a missing server is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str) -> str:
    """The path of ``name`` (``redis-server``, ``redis-cli``); skip the test (fail in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} is not installed (Debian: apt-get install -y redis-server), and {REDIS_URL_ENV} is not set")
    return path


def external_redis_url() -> str | None:
    """``REDIS_URL`` if set: tests then use that server instead of starting one."""
    return os.environ.get(REDIS_URL_ENV) or None


def external_cluster_url() -> str | None:
    """``REDIS_CLUSTER_URL`` if set: a node of an existing cluster to use instead of starting one."""
    return os.environ.get(REDIS_CLUSTER_URL_ENV) or None


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port(*, with_bus: bool = False, taken: set[int] | None = None) -> int:
    """A free loopback port; ``with_bus`` also needs ``port + 10000`` free (the cluster bus)."""
    taken = taken if taken is not None else set()
    for _ in range(200):
        # Ports 20000-30000 keep the cluster bus (port + 10000) in range; not a security use of random.
        port = random.randint(20000, 30000) if with_bus else random.randint(30001, 60000)  # noqa: S311
        if port in taken or port == 6379:
            continue
        if _port_is_free(port) and (not with_bus or _port_is_free(port + 10000)):
            return port
    msg = "found no free loopback port for redis-server"
    raise RuntimeError(msg)


def _read_reply(stream: socket.socket) -> bytes:
    """Read one RESP reply (simple string, error, integer or bulk string) as raw bytes."""
    buffer = b""
    while b"\r\n" not in buffer:
        chunk = stream.recv(65536)
        if not chunk:
            msg = "connection closed by redis-server"
            raise ConnectionError(msg)
        buffer += chunk
    line, _, rest = buffer.partition(b"\r\n")
    if line[:1] != b"$":
        return line
    size = int(line[1:])
    if size < 0:
        return b""
    while len(rest) < size + 2:
        chunk = stream.recv(65536)
        if not chunk:
            msg = "connection closed by redis-server"
            raise ConnectionError(msg)
        rest += chunk
    return rest[:size]


def redis_command(port: int, *args: str, host: str = HOST, timeout: float = 1.0) -> bytes:
    """Send one command over a raw socket and return its reply (no redis-py needed)."""
    request = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(part.encode())}\r\n".encode() + part.encode() + b"\r\n" for part in args
    )
    with socket.create_connection((host, port), timeout=timeout) as stream:
        stream.sendall(request)
        return _read_reply(stream)


class RedisServerProcess(ServerProcess):
    """One ``redis-server`` on a loopback port; ``kill()`` and ``restart()`` keep the port.

    Args:
        port: the port; a free one by default.
        extra_args: more ``redis-server`` options, e.g. ``("--cluster-enabled", "yes")``.
    """

    def __init__(self, *, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.binary = require_binary("redis-server")
        self._chosen_port = port is not None
        self.port = port if port is not None else _free_port()
        self.extra_args = extra_args
        self.directory = Path(tempfile.mkdtemp(prefix="cache-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING; on a taken port, try another unless one was chosen."""
        for _attempt in range(5):
            if self._spawn(timeout):
                return
            if self._chosen_port:
                break
            self.port = _free_port()
        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        msg = f"redis-server did not start on port {self.port}:\n{log}"
        raise RuntimeError(msg)

    def _spawn(self, timeout: float) -> bool:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", "redis.log",
            *self.extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, binary found by shutil.which
            command, cwd=self.directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if redis_command(self.port, "PING", timeout=0.5) == b"+PONG":
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        return False

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing answers, as with a stuck server."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo ``pause()`` (SIGCONT)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 seconds)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused server would not act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def restart(self, *, timeout: float = 10.0) -> None:
        """Stop the server if it runs and start it again on the same port (empty: nothing is persisted)."""
        self.stop()
        self._chosen_port = True
        self.start(timeout=timeout)

    def close(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class RedisClusterProcesses(ServerProcess):
    """A Redis Cluster of ``size`` primaries (no replicas) on loopback ports; ``url`` names its first node."""

    def __init__(self, *, size: int = 3, node_timeout_ms: int = 5000) -> None:
        self.cli = require_binary("redis-cli")
        taken: set[int] = set()
        self.nodes: list[RedisServerProcess] = []
        for _ in range(size):
            port = _free_port(with_bus=True, taken=taken)
            taken.add(port)
            options: tuple[str, ...] = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
            options += ("--cluster-node-timeout", str(node_timeout_ms))
            self.nodes.append(RedisServerProcess(port=port, extra_args=options))

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def running(self) -> bool:
        return all(node.running for node in self.nodes)

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the nodes, assign the slots with ``redis-cli --cluster create`` and wait for ``cluster_state:ok``."""
        for node in self.nodes:
            node.start()
        addresses = [f"{HOST}:{node.port}" for node in self.nodes]
        created = subprocess.run(  # noqa: S603 - fixed arguments, binary found by shutil.which
            [self.cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if created.returncode != 0:
            self.close()
            msg = f"redis-cli --cluster create failed:\n{created.stdout.decode(errors='replace')}"
            raise RuntimeError(msg)
        deadline = time.monotonic() + timeout
        while not all(b"cluster_state:ok" in redis_command(node.port, "CLUSTER", "INFO") for node in self.nodes):
            if time.monotonic() > deadline:
                self.close()
                msg = f"the cluster on {addresses} did not reach cluster_state:ok within {timeout}s"
                raise RuntimeError(msg)
            time.sleep(0.05)

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __repr__(self) -> str:
        return f"<RedisClusterProcesses {[node.port for node in self.nodes]}>"
