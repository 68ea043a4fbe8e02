"""What ``RedisCache`` and ``SyncRedisCache`` decide without talking to Redis.

Key layout, value framing, the Lua scripts, TTL to milliseconds, client options and
URL checks. The two backends (``_async_redis.py`` and its generated twin
``_sync_redis.py``) only move bytes between these decisions and redis-py.

Key layout (see the README): an entry lives at ``<prefix>:<namespace>:<key>``, its
lock at ``<prefix>-lock:<namespace>:<key>``; in the namespace ``%`` and ``:`` are
escaped as ``%25`` and ``%3A``, so the first ``:`` after the prefix ends it. No hash
tags: a namespace spreads over every node of a cluster.

Entry layout, version 1: a Redis string, a 40-byte ASCII header line, then the
serializer's payload as is (JSON text with the default serializer)::

    cache-redis/1 <expires_at, or "never", space-padded to 25 bytes>\n<payload>

The header marks the key as ours (other keys under the prefix are skipped) and names the
layout's version; ``expires_at`` is the instant on the backend's clock, as Python's
``repr`` of the float. Other programs read the payload with ``GETRANGE key 40 -1`` (or
by dropping the first line). Redis also expires the key itself (``PX``). A hit is one
``GET``: a single string reply is the cheapest thing redis-py parses (a HASH read with
``HMGET`` cost the client ~15 µs more per hit, a Lua read ~8 µs).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, Final

from cache_core import BackendError, CircuitBreaker, EncodeError, Entry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Driver exceptions mapped to ``BackendTimeoutError``.
TIMEOUT_ERRORS: Final = (RedisTimeoutError, TimeoutError, asyncio.TimeoutError)
#: Keys per SCAN call and per UNLINK: each call stays short, so the server never stalls.
SCAN_COUNT: Final = 500
#: TTLs above this are kept by the expiry instant alone (Redis rejects PX that overflow).
_LONGEST_PX: Final = 2**50

#: The first bytes of every entry we write: the layout and its version.
MARKER: Final = b"cache-redis/1 "
#: What ``clear`` and ``remove`` recognise as ours: any version of the layout.
MARKER_FAMILY: Final = b"cache-redis/"
#: Marker, expiry field, newline: the payload starts here.
HEADER_SIZE: Final = 40
_FIELD: Final = slice(len(MARKER), HEADER_SIZE - 1)
_NEVER: Final = b"never".ljust(_FIELD.stop - _FIELD.start)
_NEVER_HEADER: Final = MARKER + _NEVER + b"\n"

#: KEYS[1] = lock, ARGV[1] = token: delete the lock only if the token still holds it.
RELEASE_LOCK: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
#: Ours: a string starting with the marker family whose header line ends where every version's does.
_IS_OURS: Final = f"""
local function ours(key, family)
  if redis.call('TYPE', key).ok ~= 'string' then return false end
  local head = redis.call('GETRANGE', key, 0, {HEADER_SIZE - 1})
  return string.sub(head, 1, #family) == family and string.sub(head, {HEADER_SIZE}) == '\\n'
end
"""
#: KEYS[1] = entry, ARGV[1] = marker family: delete the key only if it is one of our entries.
REMOVE_IF_OURS: Final = (
    _IS_OURS
    + """
if ours(KEYS[1], ARGV[1]) then return redis.call('UNLINK', KEYS[1]) end
return 0
"""
)
#: KEYS[1] = entry, ARGV[1] = marker family, ARGV[2] = now: delete our entry if its expiry instant has passed.
REMOVE_IF_EXPIRED: Final = (
    _IS_OURS
    + f"""
if ours(KEYS[1], ARGV[1]) then
  local head = redis.call('GETRANGE', KEYS[1], 0, {HEADER_SIZE - 1})
  if string.sub(head, 1, {len(MARKER)}) == '{MARKER.decode()}' then
    local at = tonumber(string.sub(head, {_FIELD.start + 1}, {_FIELD.stop}))
    if at and at <= tonumber(ARGV[2]) then
      redis.call('UNLINK', KEYS[1])
      return 1
    end
  end
end
return 0
"""
)


def frame(payload: bytes, expires_at: float | None) -> bytes:
    """The stored bytes: the header line, then the payload."""
    try:
        if expires_at is None:
            return _NEVER_HEADER + payload
        return MARKER + repr(float(expires_at)).encode().ljust(_FIELD.stop - _FIELD.start) + b"\n" + payload
    except TypeError:
        msg = f"the serializer returned {type(payload).__qualname__}; RedisCache stores bytes"
        raise EncodeError(msg) from None


def unframe(raw: Any) -> Entry | None:
    """``(payload, expires_at)`` from a ``GET`` reply; ``None`` for no key or a value that is not our entry."""
    if raw is None or not raw.startswith(MARKER) or raw[HEADER_SIZE - 1 : HEADER_SIZE] != b"\n":
        return None
    field = raw[_FIELD]
    if field == _NEVER:
        return raw[HEADER_SIZE:], None
    try:
        return raw[HEADER_SIZE:], float(field)
    except ValueError:
        return None


def is_foreign(exc: BaseException) -> bool:
    """Whether a read failed only because the key holds another type (another program's key): a miss."""
    return isinstance(exc, ResponseError) and str(exc).startswith("WRONGTYPE")


def milliseconds(ttl: float | None) -> int | None:
    """``PX`` for a TTL: rounded up, at least 1 ms; ``None`` (no server expiry) for none or an enormous one."""
    if ttl is None:
        return None
    if not ttl * 1000 < _LONGEST_PX:  # also inf and 1e308, whose ceil would overflow
        return None
    return max(1, math.ceil(ttl * 1000))


def lock_milliseconds(ttl: float) -> int:
    """``PX`` for a lock: a lock must always expire."""
    if not (isinstance(ttl, (int, float)) and 0 < ttl < _LONGEST_PX / 1000):
        msg = f"lock ttl must be a positive number of seconds, got {ttl!r}"
        raise ValueError(msg)
    return max(1, math.ceil(ttl * 1000))


def new_token() -> str:
    """A random lock token: only its holder can release the lock."""
    return secrets.token_hex(16)


def _glob_escape(text: bytes) -> bytes:
    for special in (b"\\", b"*", b"?", b"[", b"]"):
        text = text.replace(special, b"\\" + special)
    return text


class KeyLayout:
    """Redis key names for entries and locks under ``prefix``."""

    __slots__ = ("_heads", "_lock_heads", "prefix")

    def __init__(self, prefix: str) -> None:
        if not isinstance(prefix, str) or not prefix:
            msg = f"prefix must be a non-empty str, got {prefix!r}"
            raise ValueError(msg)
        self.prefix = prefix
        self._heads: dict[str, bytes] = {}
        self._lock_heads: dict[str, bytes] = {}

    def _head(self, namespace: str, lock: bool = False) -> bytes:
        heads = self._lock_heads if lock else self._heads
        if len(heads) > 4096:  # namespaces made on the fly: don't grow without bound
            heads.clear()
        escaped = namespace.replace("%", "%25").replace(":", "%3A")
        head = heads[namespace] = f"{self.prefix}{'-lock' if lock else ''}:{escaped}:".encode("utf-8", "surrogatepass")
        return head

    def entry(self, namespace: str, key: str) -> bytes:
        head = self._heads.get(namespace) or self._head(namespace)
        return head + key.encode("utf-8", "surrogatepass")

    def lock(self, namespace: str, key: str) -> bytes:
        head = self._lock_heads.get(namespace) or self._head(namespace, lock=True)
        return head + key.encode("utf-8", "surrogatepass")

    def pattern(self, namespace: str | None) -> bytes:
        """The SCAN ``MATCH`` pattern for a namespace's entries, or for every entry."""
        if namespace is None:
            return _glob_escape(f"{self.prefix}:".encode("utf-8", "surrogatepass")) + b"*"
        return _glob_escape(self._head(namespace)) + b"*"


class ReadCoalescer:
    """Concurrent GETs of one key share a single round trip (async backends).

    A stampede of callers on a cold key then costs one GET instead of one pooled
    connection each (redis-py's default pool raises ``MaxConnectionsError`` past 100).
    The sync backend uses ``DirectReads`` instead: it has no event loop to share on.

    One per event loop (the backend keeps them in a ``LoopLocal``): a waiting read is a
    future of its own loop, never awaited from another.
    """

    __slots__ = ("_execute", "_waiting")

    def __init__(self, execute: Callable[..., Awaitable[Any]]) -> None:
        self._execute = execute
        self._waiting: dict[bytes, list[asyncio.Future[Any]] | None] = {}

    async def get(self, name: bytes) -> Any:
        waiting = self._waiting
        if name in waiting:
            return await self._follow(name)
        waiting[name] = None
        try:
            raw = await self._execute("GET", name)
        except BaseException as exc:
            for future in waiting.pop(name, None) or ():
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):  # the leader was cancelled: followers fetch themselves
                    future.set_result(_RETRY)
                else:
                    future.set_exception(exc)
            raise
        for future in waiting.pop(name, None) or ():
            if not future.done():
                future.set_result(raw)
        return raw

    async def _follow(self, name: bytes) -> Any:
        future = asyncio.get_running_loop().create_future()
        followers = self._waiting[name]
        if followers is None:
            self._waiting[name] = [future]
        else:
            followers.append(future)
        raw = await future
        return await self.get(name) if raw is _RETRY else raw


_RETRY: Final = object()


class DirectReads:
    """The sync twin of ``ReadCoalescer``: every read goes straight to Redis."""

    __slots__ = ("_execute",)

    def __init__(self, execute: Callable[..., Any]) -> None:
        self._execute = execute

    def get(self, name: bytes) -> Any:
        return self._execute("GET", name)


class Link:
    """A client and the reads made through it: one per event loop (async), one for all (sync)."""

    __slots__ = ("client", "reads")

    def __init__(self, client: Any, reads: type[ReadCoalescer | DirectReads]) -> None:
        self.client = client
        self.reads = reads(client.execute_command)


def make_breaker(breaker: CircuitBreaker | bool | None) -> CircuitBreaker | None:
    """``True``: a default ``CircuitBreaker``; ``False``/``None``: none; or the one given."""
    if breaker is True:
        return CircuitBreaker()
    if breaker is False or breaker is None:
        return None
    return breaker


def redact(url: str) -> str:
    """``url`` without its password, for messages and reprs."""
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rpartition("@")[2]
        user = f"{parts.username}:***@" if parts.username else ":***@"
        return urllib.parse.urlunsplit(parts._replace(netloc=user + netloc))
    except ValueError:
        return "<unparsable URL>"


def connect(
    url: Any, redis_kwargs: dict[str, Any], *, timeout: float | None, cluster: bool, classes: tuple[type[Any], ...]
) -> tuple[Any, bool, str]:
    """``(client, owned, label)`` for what a backend was given; ``classes`` are the driver's
    ``(Redis, RedisCluster, ConnectionPool, Retry)``, async or sync."""
    redis_class, cluster_class, pool_class, retry_class = classes
    if isinstance(url, str):
        options = url_options(url, redis_kwargs, timeout=timeout, retry_class=retry_class)
        try:
            client = (cluster_class if cluster else redis_class).from_url(url, **options)
        except ValueError as exc:
            msg = f"bad Redis URL {redact(url)!r}: {exc}"
            raise ValueError(msg) from None
        except (RedisError, RedisClusterException) as exc:  # redis-py's sync RedisCluster connects at once
            msg = f"cannot reach Redis at {redact(url)!r}: {exc}"
            raise BackendError(msg) from exc
        check_decoding(client.get_encoder().decode_responses)  # also set by the URL's query
        return client, True, redact(url)
    if redis_kwargs or cluster:
        msg = f"redis keyword arguments and cluster= only apply to a URL, not to {type(url).__name__}"
        raise TypeError(msg)
    if isinstance(url, pool_class):
        client = redis_class(connection_pool=url)
    elif isinstance(url, (redis_class, cluster_class)):
        client = url
    else:
        where = redis_class.__module__.rpartition(".")[0]
        msg = f"expected a Redis URL, or a {where} Redis, RedisCluster or ConnectionPool, "
        msg += f"not {type(url).__module__}.{type(url).__qualname__}"
        raise TypeError(msg)
    check_decoding(client.get_encoder().decode_responses)
    return client, False, describe(client)


def url_options(
    url: str, redis_kwargs: dict[str, Any], *, timeout: float | None, retry_class: type[Any]
) -> dict[str, Any]:
    """Check ``url`` and return the keyword arguments for ``from_url``: ours as defaults, the caller's win."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in ("redis", "rediss", "unix"):
        msg = f"bad Redis URL {redact(url)!r}: it must start with redis://, rediss:// or unix://"
        raise ValueError(msg)
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        msg = f"timeout must be a positive number of seconds or None, got {timeout!r}"
        raise ValueError(msg)
    options = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # One immediate retry on a broken connection (say, pooled across a server restart);
        # never on a timeout, so a slow server costs one timeout, not redis-py's ten retries.
        "retry": retry_class(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }
    options.update(redis_kwargs)
    return options


def check_decoding(decode_responses: bool) -> None:
    if decode_responses:
        msg = "RedisCache needs a client with decode_responses=False: it stores bytes (text is the serializer's job)"
        raise ValueError(msg)


def describe(client: Any) -> str:
    """A label for reprs: the server address, never a password."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", None)
    if kwargs is not None:
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"{where}/{kwargs.get('db', 0)}"
    nodes = getattr(client, "startup_nodes", None) or []
    return "cluster " + ",".join(f"{node.host}:{node.port}" for node in nodes[:3])
