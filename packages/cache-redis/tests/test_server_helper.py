"""The redis-server helper of cache_testing: skip without the binary, fail instead under CI; restart keeps the port."""

from __future__ import annotations

import pytest
from cache_testing._redis_server import RedisServerProcess, redis_command


def test_missing_redis_server_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        RedisServerProcess()


def test_missing_redis_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        RedisServerProcess()


def test_kill_pause_and_restart_on_the_same_port(own_redis: RedisServerProcess) -> None:
    port = own_redis.port
    assert redis_command(port, "SET", "k", "v") == b"+OK"
    own_redis.kill()
    assert not own_redis.running
    with pytest.raises(OSError):
        redis_command(port, "PING")
    own_redis.restart()
    assert own_redis.port == port
    assert redis_command(port, "PING") == b"+PONG"
    assert redis_command(port, "GET", "k") == b""  # nothing persisted
    own_redis.pause()
    with pytest.raises(TimeoutError):
        redis_command(port, "PING", timeout=0.2)
    own_redis.resume()
    assert redis_command(port, "PING") == b"+PONG"
