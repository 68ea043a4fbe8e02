"""Every ```python block in docs/ runs, so the documentation cannot drift from the code.

Each block is run as its own module (a fresh namespace registered in ``sys.modules``,
so pickling and annotations behave as in a file), in a temporary working directory;
top-level ``await`` is allowed and runs in a new event loop. The cache-testing plugin
gives every block a fresh default backend.

An HTML comment on the line before a block changes how it runs:

- ``<!-- docs-test: needs=redis -->``: ``redis://localhost:6379/0`` in the block is
  replaced by a real server's URL (started here, or ``REDIS_URL``), flushed before and after.
  Likewise ``needs=redis-cluster`` (``redis://localhost:7000/0``, a 3-node cluster or
  ``REDIS_CLUSTER_URL``) and ``needs=mongo`` (``mongodb://localhost:27017``, a
  ``mongod`` or ``MONGODB_URL``; the databases the block creates are dropped afterwards).
- ``<!-- docs-test: pytest -->``: the block is a test module; it is run by pytest in
  a subprocess (with the cache-testing plugin, as a user's suite would) and must pass.

A block titled with a file name (```` ```python title="my_backend.py" ````,
```` ```ini title="pytest.ini" ````) is also written to that file in the working
directory of every later block of the same page, which may import or use it.

Other fenced blocks must name a language that is not Python (``bash``, ``text``,
``toml``, ...), so no Python example escapes the test by a missing or misspelt tag.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import logging
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cache_core import coder

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

RUN = "python"
NOT_PYTHON = frozenset({"", "bash", "console", "text", "toml", "ini", "yaml", "json", "sql", "diff"})
#: The URL a block of each kind writes, replaced by the real server's.
PLACEHOLDERS = {
    "redis": "redis://localhost:6379/0",
    "redis-cluster": "redis://localhost:7000/0",
    "mongo": "mongodb://localhost:27017",
}
OPTION = re.compile(r"^\s*<!--\s*docs-test:(?P<options>[^>]*)-->\s*$")
TITLE = re.compile(r'title="(?P<title>[^"]*)"')
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    options: dict[str, str] = field(default_factory=dict)  # from a docs-test comment
    info: str = ""  # the fence's info string: language and attributes such as title="..."

    @property
    def label(self) -> str:
        return f"{self.page.relative_to(DOCS).as_posix()}:{self.line}"

    @property
    def file_name(self) -> str | None:
        """The file name in the block's title (``app.py``, ``pytest.ini``), if it is one."""
        found = TITLE.search(self.info)
        title = found["title"] if found else ""
        return title if re.fullmatch(r"\w[\w-]*\.\w+", title) else None


def parse_options(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for word in text.split():
        name, _, value = word.partition("=")
        options[name] = value
    return options


def fenced_blocks(page: Path) -> Iterator[Block]:
    """The fenced blocks of a Markdown page, dedented (blocks may sit in tabs and admonitions)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE_OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"]
        language = info.split()[0].lower() if info else ""
        previous = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = OPTION.match(previous)
        options = parse_options(marker["options"]) if marker else {}
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            line = lines[end]
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            end += 1
        else:
            pytest.fail(f"{page}:{index + 1}: code block is never closed")
        yield Block(page, index + 1, language, "\n".join(body) + "\n", options, info)
        index = end + 1


def all_blocks() -> list[Block]:
    return [block for page in sorted(DOCS.rglob("*.md")) for block in fenced_blocks(page)]


BLOCKS = all_blocks()
PYTHON_BLOCKS = [block for block in BLOCKS if block.language == RUN]


def test_docs_have_python_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 40, f"only {len(PYTHON_BLOCKS)} python blocks found under {DOCS}"


@pytest.mark.parametrize("block", BLOCKS, ids=[block.label for block in BLOCKS])
def test_every_block_is_python_or_clearly_not(block: Block) -> None:
    assert block.language == RUN or block.language in NOT_PYTHON, (
        f"{block.label}: unknown code block language {block.language!r}; "
        f"write ```python (executed by this test) or one of {sorted(NOT_PYTHON - {''})}"
    )
    unknown = set(block.options) - {"needs", "pytest"}
    assert not unknown, f"{block.label}: unknown docs-test option(s) {sorted(unknown)}"
    if block.options:
        assert block.language == RUN, f"{block.label}: docs-test options apply to python blocks only"
    needs = block.options.get("needs")
    if needs is not None:
        assert needs in PLACEHOLDERS, f"{block.label}: needs={needs!r}; expected one of {sorted(PLACEHOLDERS)}"


# -- servers, started only when a block needs them ------------------------------------------


@pytest.fixture(scope="session")
def docs_redis_url() -> Iterator[str]:
    from cache_testing.servers import redis_url

    with redis_url() as url:
        yield url


@pytest.fixture(scope="session")
def docs_redis_cluster_url() -> Iterator[str]:
    from cache_testing.servers import redis_cluster_url

    with redis_cluster_url() as url:
        yield url


@pytest.fixture(scope="session")
def docs_mongo_url() -> Iterator[str]:
    from cache_testing.servers import mongodb_url

    with mongodb_url() as url:
        yield url


def flush_redis(url: str) -> None:
    import redis

    with redis.Redis.from_url(url) as client:
        client.flushdb()


def flush_redis_cluster(url: str) -> None:
    import redis.cluster

    client: redis.cluster.RedisCluster = redis.cluster.RedisCluster.from_url(url)
    try:
        client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    finally:
        client.close()


def mongo_databases(url: str, *, drop_all_but: set[str] | None = None) -> set[str]:
    """The database names on the server; with ``drop_all_but``, first drop every other one."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=5000)
    with client:
        names = set(client.list_database_names())
        if drop_all_but is not None:
            for name in names - drop_all_but:
                client.drop_database(name)
        return set(client.list_database_names())


@pytest.fixture
def server_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The URL of the server the block needs (cleaned before and after it), or ``None``."""
    block: Block = request.node.callspec.params["block"]
    needs = block.options.get("needs")
    if needs is None:
        yield None
    elif needs == "redis":
        url = request.getfixturevalue("docs_redis_url")
        flush_redis(url)
        yield url
        flush_redis(url)
    elif needs == "redis-cluster":
        url = request.getfixturevalue("docs_redis_cluster_url")
        flush_redis_cluster(url)
        yield url
        flush_redis_cluster(url)
    else:
        url = request.getfixturevalue("docs_mongo_url")
        existing = mongo_databases(url)
        yield url
        mongo_databases(url, drop_all_but=existing)  # only what the block created: MONGODB_URL may be shared


# -- running a block --------------------------------------------------------------------------


@pytest.fixture
def global_coder_restored() -> Iterator[None]:
    """A block's ``coder.register(...)`` must not leak into later blocks or other tests."""
    encoders = dict(coder._user_encoders)
    decoders = dict(coder._decoders)
    yield
    coder._user_encoders.clear()
    coder._user_encoders.update(encoders)
    coder._decoders.clear()
    coder._decoders.update(decoders)
    coder._rebuild()


def source_for(block: Block, url: str | None) -> str:
    needs = block.options.get("needs")
    if needs is None:
        return block.code
    placeholder = PLACEHOLDERS[needs]
    assert placeholder in block.code, f"{block.label}: needs={needs} but the block never mentions {placeholder}"
    return block.code.replace(placeholder, url or placeholder)


def run_module(block: Block, source: str) -> None:
    name = "docs_" + re.sub(r"\W", "_", block.label)
    module = types.ModuleType(name)
    module.__file__ = str(block.page)
    sys.modules[name] = module
    try:
        # Blank lines first, so tracebacks point at the page's own line numbers.
        padded = "\n" * block.line + source
        code = compile(padded, str(block.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        result = eval(code, module.__dict__)  # noqa: S307 - running our own documentation is the point
        if inspect.iscoroutine(result):
            asyncio.run(result)
    finally:
        del sys.modules[name]


def run_pytest_module(block: Block, source: str, directory: Path) -> None:
    stem = re.sub(r"\W", "_", block.page.stem)
    test_file = directory / (block.file_name or f"test_{stem}_{block.line}.py")
    test_file.write_text(source, encoding="utf-8")
    outcome = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file.name],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = outcome.stdout + outcome.stderr
    assert outcome.returncode == 0, f"{block.label}: the example test suite failed:\n{report}"
    assert " passed" in report, f"{block.label}: pytest collected no tests:\n{report}"


@pytest.fixture
def library_logger_restored() -> Iterator[None]:
    """A block that configures the ``cache_core`` logger must not change what later tests see."""
    logger = logging.getLogger("cache_core")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("global_coder_restored", "library_logger_restored")
@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[block.label for block in PYTHON_BLOCKS])
def test_python_block_runs(
    block: Block, server_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = source_for(block, server_url)
    monkeypatch.chdir(tmp_path)
    modules = write_earlier_files(block, tmp_path, server_url)
    try:
        if "pytest" in block.options:
            run_pytest_module(block, source, tmp_path)
        else:
            monkeypatch.syspath_prepend(str(tmp_path))
            run_module(block, source)
    finally:
        for name in modules:
            sys.modules.pop(name, None)


def write_earlier_files(block: Block, directory: Path, server_url: str | None) -> list[str]:
    """Write the file-titled blocks above ``block`` on its page; return the modules among them."""
    modules = []
    for earlier in BLOCKS:
        if earlier.page == block.page and earlier.line < block.line and earlier.file_name is not None:
            same_server = earlier.options.get("needs") == block.options.get("needs")
            source = source_for(earlier, server_url if same_server else None)
            (directory / earlier.file_name).write_text(source, encoding="utf-8")
            if earlier.file_name.endswith(".py"):
                modules.append(earlier.file_name.removesuffix(".py"))
    importlib.invalidate_caches()
    return modules
