"""The shop example (examples/shop): its own test suite, then the real service over HTTP.

Two uvicorn processes serve the app against one ``redis-server`` started here (always our
own, even when ``REDIS_URL`` is set: the outage test kills one). They check that reads are cached
in Redis (shared by both processes), that writes invalidate them, and that the shop keeps
answering while Redis is down and caches again once it is back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cache_testing._mongo_server import free_port
from cache_testing._redis_server import RedisServerProcess, redis_command

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATABASE_DELAY = 0.2
CACHE_RETRY = 0.5


def clean_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}


@pytest.mark.parametrize("isolation", ["default", "all"])
def test_the_example_suite_passes(isolation: str) -> None:
    command = [sys.executable, "-m", "pytest", "examples/shop/tests", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, f"--cache-isolation={isolation}"],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\d+ passed in", result.stdout, re.MULTILINE), result.stdout  # nothing skipped or failed


class Shop:
    """One uvicorn process serving ``shop.app:app`` on a free port."""

    def __init__(self, redis_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = clean_environment() | {
            "REDIS_URL": redis_url,
            "SHOP_DATABASE_DELAY": str(DATABASE_DELAY),
            "SHOP_CACHE_RETRY": str(CACHE_RETRY),
        }
        command = [sys.executable, "-m", "uvicorn", "shop.app:app", "--app-dir", str(EXAMPLES)]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
        self.client = httpx2.Client(base_url=self.url, timeout=10)
        self.log: str | None = None

    def wait_until_serving(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"uvicorn exited with {self.process.returncode}: {self.process.stderr.read()}")  # type: ignore[union-attr]
            try:
                self.client.get("/stats")
                return
            except httpx2.TransportError:
                time.sleep(0.05)
        pytest.fail(f"the shop did not answer on {self.url} within {timeout}s")

    def get(self, path: str) -> httpx2.Response:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return response

    def close(self) -> str:
        """Stop the server (once); return what it logged."""
        if self.log is None:
            self.client.close()
            self.process.terminate()
            try:
                _, self.log = self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                _, self.log = self.process.communicate()
        return self.log


def reads(response: httpx2.Response) -> int:
    return int(response.headers["X-Database-Reads"])


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServerProcess]:
    with RedisServerProcess() as server:
        yield server


@pytest.fixture(scope="module")
def shops(redis_server: RedisServerProcess) -> Iterator[tuple[Shop, Shop]]:
    first, second = Shop(redis_server.url), Shop(redis_server.url)
    try:
        first.wait_until_serving()
        second.wait_until_serving()
        yield first, second
    finally:
        for shop in (first, second):
            shop.close()


@pytest.fixture
def shop(shops: tuple[Shop, Shop], redis_server: RedisServerProcess) -> Shop:
    redis_command(redis_server.port, "FLUSHDB")
    return shops[0]


def test_a_read_is_cached_in_redis_and_shared_by_processes(
    shop: Shop, shops: tuple[Shop, Shop], redis_server: RedisServerProcess
) -> None:
    started = time.monotonic()
    first = shop.get("/products/1")
    miss_time = time.monotonic() - started
    started = time.monotonic()
    second = shop.get("/products/1")
    hit_time = time.monotonic() - started
    assert first.json() == second.json() == {"id": 1, "name": "tea", "price_cents": 450}
    assert (reads(first), reads(second)) == (1, 0)
    assert miss_time >= DATABASE_DELAY > hit_time
    assert redis_command(redis_server.port, "EXISTS", "cache:products:shop.app.product(1,)") == b":1"
    # The other process has its own memory, but the same Redis: a hit at once.
    other = shops[1].get("/products/1")
    assert (other.json(), reads(other)) == (first.json(), 0)
    assert reads(shop.get("/products")) == 1
    assert reads(shops[1].get("/products")) == 0


def test_writes_invalidate_the_cached_reads(shop: Shop) -> None:
    assert reads(shop.get("/products/2")) == 1
    assert reads(shop.get("/products/2")) == 0
    listing = shop.get("/products")
    updated = shop.client.put("/products/2", json={"name": "espresso", "price_cents": 250})
    assert updated.status_code == 200
    after = shop.get("/products/2")
    assert (after.json(), reads(after)) == ({"id": 2, "name": "espresso", "price_cents": 250}, 1)
    created = shop.client.post("/products", json={"name": "mate", "price_cents": 390})
    assert created.status_code == 201
    new_listing = shop.get("/products")
    assert reads(new_listing) == 1
    assert len(new_listing.json()) == len(listing.json()) + 1
    assert reads(shop.get("/products")) == 0


def test_the_shop_answers_while_redis_is_down_and_caches_again_after() -> None:
    with RedisServerProcess() as redis_server:
        shop = Shop(redis_server.url)
        try:
            shop.wait_until_serving()
            assert reads(shop.get("/products/3")) == 1
            assert reads(shop.get("/products/3")) == 0

            redis_server.kill()
            started = time.monotonic()
            down = [shop.get("/products/3") for _ in range(5)]
            assert all(response.json()["name"] == "cocoa" for response in down)
            assert [reads(response) for response in down] == [1] * 5
            # Connection refused fails fast, then the breaker skips Redis: no request waits on a timeout.
            assert time.monotonic() - started < 5 * DATABASE_DELAY + 2
            assert shop.get("/stats").json()["cache"]["product"]["errors"] >= 2

            redis_server.restart()  # on the same port, empty
            deadline = time.monotonic() + 10 + CACHE_RETRY
            while reads(shop.get("/products/3")) != 0:  # the breaker lets a probe through; stored; then a hit
                assert time.monotonic() < deadline, "the shop did not cache again after Redis came back"
                time.sleep(CACHE_RETRY / 2)
            assert redis_command(redis_server.port, "EXISTS", "cache:products:shop.app.product(3,)") == b":1"
        finally:
            log = shop.close()
    # One warning when the outage starts and one when it ends, not one per request.
    assert log.count("serving uncached results") == 1, log
    assert log.count("works again") == 1, log
