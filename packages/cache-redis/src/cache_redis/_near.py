"""The near cache: decoded entries kept in process memory, kept true by Redis client tracking.

``NearCache`` holds up to ``size`` entries as ``cache_core`` ``Stored`` objects (LRU, each
with its expiry instant), so the decorators' hot indexes serve them without a call into
the backend. An entry is never changed in place: when Redis says its key changed, it is
killed (``expires_at = DEAD``) and taken out, and every hot index holding it reads it as
expired from then on.

``Tracker`` keeps the invalidation channel open: one RESP2 connection per Redis server
(per primary on a cluster) that turns on broadcast tracking of our key prefix, redirected
to itself, and subscribes to ``__redis__:invalidate``. A daemon thread reads them all,
for the sync and the async backend alike: it serves every event loop the backend is used
from and keeps listening while a loop is busy. While any connection is down the near
cache is empty and refuses entries; the thread reconnects with growing pauses.

The race it closes: a read that started before an invalidation must not keep its (old)
value after it. Every invalidation takes a sequence number; a read takes a ticket (the
number current when it starts) and its result is kept only if no invalidation of its key,
and no flush, came after the ticket.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import re
import socket
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

import redis.connection
from cache_core import MISSING, TAG_NAMESPACE
from cache_core._memory import DEAD, NEVER, HotIndex, Stored

logger = logging.getLogger("cache_redis")

#: Seconds of silence on a tracking connection before it is pinged; as long again without an answer: down.
PING_INTERVAL: Final = 1.0
#: Pauses between attempts to re-establish tracking: from the first to the longest, doubling.
RETRY_FIRST: Final = 0.05
RETRY_LONGEST: Final = 2.0
#: Invalidated keys remembered for reads in flight; past this, the memory starts over (reads in flight are not kept).
_RECENT_LIMIT: Final = 10_000
_CHANNEL: Final = b"__redis__:invalidate"
_UNESCAPE: Final = re.compile("%(25|3A)")
_UNESCAPED: Final = {"25": "%", "3A": ":"}

#: Near caches by (server label, prefix): a write through any backend of this process
#: drops the copies of every near cache over the same keys at once, before Redis's message.
_GROUPS: dict[tuple[str, str], weakref.WeakSet[NearCache]] = {}
_GROUPS_LOCK = threading.Lock()


def near_group(label: str, prefix: str) -> weakref.WeakSet[NearCache]:
    """The near caches of this process over ``prefix`` on the server named ``label``."""
    with _GROUPS_LOCK:
        return _GROUPS.setdefault((label, prefix), weakref.WeakSet())


def check_size(size: object) -> int | None:
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        msg = f"near_cache must be None or a positive int (the most entries kept in memory), got {size!r}"
        raise ValueError(msg)
    return size


class NearCache:
    """Up to ``size`` decoded entries, LRU, kept only while tracking is live (see the module docstring)."""

    def __init__(self, size: int, now: Callable[[], float], prefix: str) -> None:
        self.size = size
        self.now = now
        self.head = f"{prefix}:".encode("utf-8", "surrogatepass")
        self.live = False
        self._spaces: dict[str, dict[str, Stored]] = {}
        self._order: OrderedDict[Stored, None] = OrderedDict()
        self._move = self._order.move_to_end
        self._lock = threading.Lock()
        self._sequence = 0
        self._floor = 0
        self._recent: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self._order)

    def wait_live(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for tracking to be live; whether it is."""
        deadline = time.monotonic() + timeout
        while not self.live and time.monotonic() < deadline:
            time.sleep(0.002)
        return self.live

    def _space(self, namespace: str) -> dict[str, Stored]:
        space = self._spaces.get(namespace)
        if space is None:
            with self._lock:
                space = self._spaces.setdefault(namespace, {})
        return space

    def touch(self, entry: Stored) -> None:
        """Mark ``entry`` as just used (LRU order); a no-op if it was taken out meanwhile."""
        try:
            self._move(entry)
        except KeyError:  # taken out by the listener thread since the caller checked it
            pass

    def get(self, namespace: str, key: str) -> Any:
        """The value held for ``key``, or ``MISSING``."""
        space = self._spaces.get(namespace)
        entry = None if space is None else space.get(key)
        if entry is None:
            return MISSING
        expires_at = entry.expires_at
        if expires_at is not NEVER and expires_at <= self.now():
            return MISSING
        self.touch(entry)
        return entry.value

    def versions(self, tags: list[str], names: list[str]) -> dict[str, str] | None:
        """``{tag: version}`` for tags whose versions (stored under ``names``) are all held, else ``None``."""
        space = self._spaces.get(TAG_NAMESPACE)
        if space is None:
            return None if tags else {}
        versions = {}
        for tag, name in zip(tags, names, strict=True):
            entry = space.get(name)
            if entry is None or entry.expires_at is DEAD:
                return None
            versions[tag] = entry.value
        return versions

    def hot_index(self, namespace: str, limit: int) -> HotIndex:
        """A ``HotIndex`` over ``namespace`` for one decorated function.

        Speed over strict LRU: its hits do not reorder the LRU (a touch costs a third of
        a hit), so an entry read only through hot indexes ages from its last read
        through the backend.
        """
        return HotIndex(self._space(namespace), limit, self.now, None)

    def ticket(self) -> int | None:
        """Take before reading Redis; ``None`` while tracking is down (nothing read now may be kept)."""
        return self._sequence if self.live else None

    def keep(self, ticket: int, namespace: str, key: str, value: Any, expires_at: float | None) -> None:
        """Hold ``value``, read under ``ticket``, unless ``key`` was invalidated (or all flushed) since."""
        space = self._space(namespace)
        lock = self._lock
        lock.acquire()
        try:
            if not self.live or ticket < self._floor or self._recent.get((namespace, key), -1) > ticket:
                return
            entry = Stored(value, NEVER if expires_at is None else expires_at, namespace, key)
            old = space.get(key)
            space[key] = entry
            order = self._order
            if old is not None:
                old.kill()
                order.pop(old, None)
            order[entry] = None
            while len(order) > self.size:
                evicted = order.popitem(last=False)[0]
                evicted.kill()
                evicted_space = self._spaces.get(evicted.namespace)
                if evicted_space is not None and evicted_space.get(evicted.key) is evicted:
                    del evicted_space[evicted.key]
        finally:
            lock.release()

    def invalidate(self, namespace: str, key: str) -> None:
        """``key`` changed: drop its entry and refuse reads of it already in flight."""
        with self._lock:
            self._sequence += 1
            recent = self._recent
            if len(recent) >= _RECENT_LIMIT:
                recent.clear()
                self._floor = self._sequence
            recent[(namespace, key)] = self._sequence
            space = self._spaces.get(namespace)
            entry = None if space is None else space.pop(key, None)
            if entry is not None:
                entry.kill()
                self._order.pop(entry, None)

    def invalidate_name(self, name: bytes) -> None:
        """A Redis key name changed (an invalidation message)."""
        if not name.startswith(self.head):
            return
        escaped, colon, key = name[len(self.head) :].partition(b":")
        if not colon:
            return
        try:
            namespace = _UNESCAPE.sub(lambda match: _UNESCAPED[match.group(1)], escaped.decode("utf-8"))
            text = key.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return
        self.invalidate(namespace, text)

    def flush(self, namespace: str | None = None) -> None:
        """Drop every entry (of ``namespace``, or all) and refuse every read in flight."""
        with self._lock:
            self._sequence += 1
            self._floor = self._sequence
            self._recent.clear()
            names = list(self._spaces) if namespace is None else [namespace]
            order = self._order
            for name in names:
                space = self._spaces.get(name)
                if not space:
                    continue
                for entry in space.values():
                    entry.kill()
                    order.pop(entry, None)
                space.clear()

    def resume(self) -> None:
        """Tracking is live (again): entries may be kept from reads that start from now on."""
        with self._lock:
            self._sequence += 1
            self._floor = self._sequence
            self.live = True

    def reset_in_child(self) -> None:
        """In a process just forked: nothing here can be vouched for until its own tracking is on."""
        self._lock = threading.Lock()
        self.suspend()

    def suspend(self) -> None:
        """Tracking is down: drop everything and keep nothing until ``resume``."""
        self.live = False
        self.flush()


def _restart_in_child() -> None:
    global _GROUPS_LOCK, _TRACKERS_LOCK
    _GROUPS_LOCK, _TRACKERS_LOCK = threading.Lock(), threading.Lock()
    for tracker in list(_TRACKERS):
        tracker.restart_in_child()


#: Every live tracker: a child process (``fork``) starts its own.
_TRACKERS: weakref.WeakSet[Tracker] = weakref.WeakSet()
_TRACKERS_LOCK = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)


def forget(group: Iterable[NearCache], namespace: str, key: str) -> None:
    """This process wrote or removed ``key``: every near cache of the group drops it now."""
    for near in list(group):
        near.invalidate(namespace, key)


def forget_all(group: Iterable[NearCache], namespace: str | None) -> None:
    for near in list(group):
        near.flush(namespace)


# -- the listener -----------------------------------------------------------------------------

#: Options of a driver connection that the listener's own connections take over.
_CARRIED: Final = frozenset(
    (
        "host",
        "port",
        "path",
        "username",
        "password",
        "credential_provider",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "client_name",
        "ssl_keyfile",
        "ssl_certfile",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_data",
        "ssl_ca_path",
        "ssl_check_hostname",
        "ssl_password",
        "ssl_min_version",
        "ssl_ciphers",
    )
)

Connect = Callable[[], redis.connection.AbstractConnection]


def _accepted(connection_class: type[Any]) -> set[str]:
    names: set[str] = set()
    for klass in connection_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    return names


def _connector(class_name: str, options: dict[str, Any]) -> Callable[..., redis.connection.AbstractConnection]:
    """``connect(**where)``: a new sync RESP2 connection with the client's options (auth, TLS, timeouts)."""
    connection_class: type[Any] = getattr(redis.connection, class_name, redis.connection.Connection)
    if not isinstance(connection_class, type) or not issubclass(connection_class, redis.connection.AbstractConnection):
        connection_class = redis.connection.Connection
    accepted = _CARRIED & _accepted(connection_class)
    carried = {name: value for name, value in options.items() if name in accepted}

    def connect(**where: Any) -> redis.connection.AbstractConnection:
        connection: redis.connection.AbstractConnection = connection_class(**{**carried, **where, "protocol": 2})
        return connection

    return connect


def endpoints_of(client: Any) -> Callable[[], list[Connect]]:
    """How to reach every server whose keys the near cache holds: ``() -> [connect, ...]``.

    A single server: its one address. A cluster: its primaries, asked of any known node
    (``CLUSTER NODES``) each time tracking is (re-)established.
    """
    nodes_manager = getattr(client, "nodes_manager", None)
    if nodes_manager is None:
        pool = client.connection_pool
        connect = _connector(pool.connection_class.__name__, dict(pool.connection_kwargs))
        return lambda: [connect]
    options = dict(client.get_connection_kwargs())
    class_name = getattr(options.get("connection_class"), "__name__", "Connection")
    if options.get("ssl"):
        class_name = "SSLConnection"
    connect_to = _connector(class_name, options)

    def primaries() -> list[Connect]:
        seeds: list[tuple[str, int]] = []
        for nodes in (getattr(nodes_manager, "nodes_cache", {}), getattr(nodes_manager, "startup_nodes", {})):
            with contextlib.suppress(RuntimeError):  # changed size: another thread refreshing it
                seeds.extend((node.host, int(node.port)) for node in list(dict(nodes).values()))
        found = cluster_primaries(seeds, connect_to)
        return [_bound(connect_to, host, port) for host, port in found]

    return primaries


def _bound(connect_to: Callable[..., Any], host: str, port: int) -> Connect:
    return lambda: connect_to(host=host, port=port)


def cluster_primaries(seeds: list[tuple[str, int]], connect_to: Callable[..., Any]) -> list[tuple[str, int]]:
    """The ``(host, port)`` of every primary that serves slots, from the first seed that answers."""
    failure: Exception | None = None
    for host, port in dict.fromkeys(seeds):
        connection = connect_to(host=host, port=port)
        try:
            connection.connect()
            connection.send_command("CLUSTER", "NODES")
            text = connection.read_response()
        except Exception as exc:
            failure = exc
            continue
        finally:
            connection.disconnect()
        found = []
        for line in (text.decode() if isinstance(text, bytes) else str(text)).splitlines():
            fields = line.split()
            if len(fields) < 8 or "master" not in fields[2].split(","):
                continue
            if {"fail", "noaddr", "handshake"} & set(fields[2].split(",")) or len(fields) < 9:
                continue  # a primary without slots serves no keys
            address = fields[1].split("@")[0]
            node_host, _, node_port = address.rpartition(":")
            found.append((node_host or host, int(node_port)))
        if found:
            return found
    msg = f"no cluster node answered CLUSTER NODES: {failure!r}"
    raise ConnectionError(msg)


class Tracker:
    """The daemon threads that keep client tracking on for a ``NearCache`` (see the module docstring).

    A supervising thread connects and turns tracking on (one connection per server),
    then one reader thread per connection waits in a blocking ``recv`` and handles
    whatever arrived with the GIL taken once: a thread woken from I/O may wait a whole
    switch interval (5 ms) for a busy main thread, so each extra system call would add
    that much to the time a write elsewhere takes to reach this process. The first reader
    to see its connection fail empties the near cache itself, then the supervisor
    reconnects.
    """

    def __init__(self, near: NearCache, endpoints: Callable[[], list[Connect]], name: str) -> None:
        self.near = near
        self.name = name
        self._endpoints = endpoints
        self.established = 0  # how many times tracking was (re-)established
        self._start()
        with _TRACKERS_LOCK:
            _TRACKERS.add(self)

    def _start(self) -> None:
        self._stopped = threading.Event()
        self._failed = threading.Event()
        self.sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def restart_in_child(self) -> None:
        """After ``fork``: the parent's threads did not come along, and its connections stay its own."""
        self.near.reset_in_child()
        if not self._stopped.is_set():
            self._start()

    def stop(self) -> None:
        """End the threads (the near cache is emptied); safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._failed.set()
        _shut(self.sockets)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.near.suspend()

    def _run(self) -> None:
        pause, reported = RETRY_FIRST, False
        while not self._stopped.is_set():
            connections: list[redis.connection.AbstractConnection] = []
            try:
                for connect in self._endpoints():
                    connection = connect()
                    connections.append(connection)
                readers = [_Reader(connection, self.near.head) for connection in connections]
            except Exception as exc:
                _close(connections)
                if not reported:
                    logger.warning("near cache: cannot turn on Redis client tracking (%r); retrying", exc)
                    reported = True
                self._stopped.wait(pause)
                pause = min(pause * 2, RETRY_LONGEST)
                continue
            self._failed.clear()
            self.sockets = [reader.sock for reader in readers]
            if self._stopped.is_set():
                _close(connections)
                break
            self.established += 1
            self.near.resume()
            if reported:
                logger.warning("near cache: Redis client tracking is back on")
            pause, reported = RETRY_FIRST, False
            threads = [
                threading.Thread(target=self._read, args=(reader,), name=f"{self.name} reader", daemon=True)
                for reader in readers
            ]
            for thread in threads:
                thread.start()
            self._failed.wait()
            self.near.suspend()
            _shut(self.sockets)
            for thread in threads:
                thread.join(timeout=5)
            self.sockets = []
            _close(connections)
            if not self._stopped.is_set():
                reported = True
                self._stopped.wait(RETRY_FIRST)

    def _read(self, reader: _Reader) -> None:
        try:
            reader.listen(self.near, self._failed)
        except Exception as exc:
            self.near.suspend()  # first, before anything else can be served
            if not self._failed.is_set():
                logger.warning("near cache: the invalidation connection dropped (%r); bypassed until it is back", exc)
        finally:
            self._failed.set()


_PING: Final = b"*1\r\n$4\r\nPING\r\n"


class _Reader:
    """One tracking connection, read by hand: RESP2 parsed from the socket's bytes."""

    def __init__(self, connection: redis.connection.AbstractConnection, head: bytes) -> None:
        self.buffer = bytearray()
        connection.connect()  # type: ignore[no-untyped-call]  # redis-py does the handshake: TLS, AUTH, SELECT
        sock = connection._sock
        if sock is None:
            msg = "redis-py connected without a socket"
            raise ConnectionError(msg)
        self.sock: socket.socket = sock
        sock.settimeout(PING_INTERVAL / 2)
        sock.sendall(_command(b"CLIENT", b"ID"))
        client_id = self._reply()
        track = (b"CLIENT", b"TRACKING", b"ON", b"REDIRECT", str(client_id).encode(), b"BCAST", b"PREFIX", head)
        sock.sendall(_command(*track) + _command(b"SUBSCRIBE", _CHANNEL))
        self._reply()
        self._reply()

    def _reply(self) -> Any:
        deadline = time.monotonic() + 5
        while True:
            replies = parse(self.buffer, limit=1)
            if replies:
                if isinstance(replies[0], Exception):
                    raise replies[0]
                return replies[0]
            if time.monotonic() > deadline:
                msg = "no answer while turning tracking on"
                raise ConnectionError(msg)
            with contextlib.suppress(TimeoutError):
                self._receive()

    def _receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            msg = "closed by the server"
            raise ConnectionError(msg)
        self.buffer += data

    def listen(self, near: NearCache, failed: threading.Event) -> None:
        heard, pinged = time.monotonic(), 0.0
        while not failed.is_set():
            try:
                self._receive()
            except TimeoutError:
                now = time.monotonic()
                if pinged and now - pinged > PING_INTERVAL:
                    msg = f"no answer to PING in {PING_INTERVAL} s"
                    raise ConnectionError(msg) from None
                if not pinged and now - heard > PING_INTERVAL:
                    self.sock.sendall(_PING)
                    pinged = now
                continue
            heard, pinged = time.monotonic(), 0.0
            for message in parse(self.buffer):
                _handle(near, message)


def _command(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


class _IncompleteError(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


def parse(buffer: bytearray, limit: int = 0) -> list[Any]:
    """The complete RESP2 replies at the start of ``buffer`` (taken out of it); errors as exceptions."""
    replies: list[Any] = []
    position = 0
    try:
        while position < len(buffer) and not (limit and len(replies) >= limit):
            value, position = _parse_one(buffer, position)
            replies.append(value)
            del buffer[:position]
            position = 0
    except _IncompleteError:
        pass
    return replies


def _parse_one(buffer: bytearray, position: int) -> tuple[Any, int]:  # noqa: PLR0911 - one return per reply type
    end = buffer.find(b"\r\n", position)
    if end < 0:
        raise _IncompleteError
    kind, line, after = buffer[position : position + 1], bytes(buffer[position + 1 : end]), end + 2
    if kind == b"+":
        return line, after
    if kind == b"-":
        return ConnectionError(line.decode(errors="replace")), after
    if kind == b":":
        return int(line), after
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, after
        if len(buffer) < after + size + 2:
            raise _IncompleteError
        return bytes(buffer[after : after + size]), after + size + 2
    if kind == b"*":
        count = int(line)
        if count < 0:
            return None, after
        items = []
        for _ in range(count):
            item, after = _parse_one(buffer, after)
            items.append(item)
        return items, after
    msg = f"unexpected reply from Redis: {bytes(buffer[position:end])!r}"
    raise ConnectionError(msg)


def _handle(near: NearCache, message: Any) -> None:
    if not isinstance(message, list) or len(message) < 3 or message[0] != b"message":
        return  # subscribe confirmations, PING answers
    names = message[2]
    if names is None:  # FLUSHDB / FLUSHALL
        near.flush()
        return
    for name in names:
        near.invalidate_name(name)


def _shut(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _close(connections: list[redis.connection.AbstractConnection]) -> None:
    for connection in connections:
        with contextlib.suppress(Exception):
            connection.disconnect()  # type: ignore[no-untyped-call]
