"""The compiled wrappers: rendered for sample signatures, linted, run, and named in tracebacks.

Every signature shape a decorated function may have is rendered, checked by ruff the
way the rest of the code is, and called in every spelling Python allows; the cached
function must bind each call exactly as the plain function does.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import shutil
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any

import pytest
from cache_core import SyncDictCache, cached
from cache_core._wrapper import HELPER_NAMES, PREFIX, compilable, render

# Each sample: its parameter list, and calls (args, kwargs) it accepts.
SAMPLES: dict[str, tuple[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]] = {
    "no parameters": ("", [((), {})]),
    "one": ("a", [((1,), {}), ((), {"a": 1}), (([1],), {})]),
    "two with a default": ("a, b=2", [((1,), {}), ((1, 2), {}), ((1,), {"b": 2}), ((), {"a": 1, "b": [2]})]),
    "positional-only": ("a, /, b", [((1, 2), {}), ((1,), {"b": 2})]),
    "keyword-only": ("a, *, b, c=3", [((1,), {"b": 2}), ((1,), {"b": 2, "c": 3}), ((), {"a": 1, "b": {"x": 1}})]),
    "star args": ("*args", [((), {}), ((1, 2.5, "x"), {}), (([1], (2,)), {})]),
    "star kwargs": ("**kwargs", [((), {}), ((), {"a": 1, "b": 2}), ((), {"b": 2, "a": 1}), ((), {"a": [1]})]),
    "star args and kwargs": ("*args, **kwargs", [((), {}), ((1, [2]), {}), ((1,), {"a": 2}), ((), {"a": 1.5})]),
    "everything": (
        "a, /, b=2, *rest, c, d=4, **more",
        [((1,), {"c": 3}), ((1, 2, 5, 6), {"c": 3, "e": 7}), ((1,), {"b": 2, "c": 3, "d": 4})],
    ),
}


def _source(parameters: str, is_async: bool) -> str:
    body = f"{'async ' if is_async else ''}def sample({parameters}):\n    return None\n"
    namespace: dict[str, Any] = {}
    exec(body, namespace)  # noqa: S102 - the sample signatures above
    sample = namespace["sample"]
    found = compilable(sample)
    assert found is not None
    source, defaults = render("sample", found, is_async=is_async)
    # The names the factory finds in its namespace at run time, declared for the linter.
    header = "".join(f"{PREFIX}{name} = None\n" for name in HELPER_NAMES)
    header += "".join(f"{name} = None\n" for name in defaults)
    return header + source


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", list(SAMPLES))
def test_rendered_wrappers_compile_and_pass_ruff(name: str, is_async: bool, tmp_path: Path) -> None:
    source = _source(SAMPLES[name][0], is_async)
    compile(source, "<rendered>", "exec")
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed in the test environment")
    path = tmp_path / "rendered.py"
    path.write_text(source, encoding="utf-8")
    # The project's rules, minus the ones the header's stand-in assignments trip.
    config = Path(__file__).resolve().parents[3] / "pyproject.toml"
    result = subprocess.run(
        [ruff, "check", "--config", str(config), "--no-cache", "--ignore", "PLW0603,E731", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _plain_and_cached(parameters: str, is_async: bool) -> tuple[Any, Any, list[Any]]:
    runs: list[Any] = []
    body = textwrap.dedent(
        f"""
        {"async " if is_async else ""}def sample({parameters}):
            runs.append(1)
            seen = {{k: sorted(v.items()) if type(v) is dict else v for k, v in locals().items()}}
            return sorted(((k, repr(v)) for k, v in seen.items()), key=str)
        """
    )
    namespace: dict[str, Any] = {"runs": runs}
    exec(body, namespace)  # noqa: S102 - the sample signatures above
    plain = namespace["sample"]
    return plain, cached(cache=SyncDictCache())(plain), runs


async def _call(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = fn(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_spelling_binds_as_the_plain_function(name: str, is_async: bool) -> None:
    parameters, calls = SAMPLES[name]
    plain, wrapped, runs = _plain_and_cached(parameters, is_async)
    assert inspect.signature(wrapped) == inspect.signature(plain)

    async def main() -> None:
        for args, kwargs in calls:
            expected = await _call(plain, args, kwargs)
            before = len(runs)
            assert await _call(wrapped, args, kwargs) == expected
            assert await _call(wrapped, args, kwargs) == expected  # the second is a hit
            assert len(runs) - before <= 1

    asyncio.run(main())


def test_tracebacks_name_the_wrapper_and_show_its_line() -> None:
    @cached(cache=SyncDictCache())
    def fails(x: int) -> int:
        raise ValueError(x)

    with pytest.raises(ValueError, match="7") as caught:
        fails(7)
    frames = traceback.extract_tb(caught.value.__traceback__)
    wrapper_frames = [frame for frame in frames if frame.filename.startswith("<cache_core wrapper of")]
    assert wrapper_frames, [frame.filename for frame in frames]
    assert wrapper_frames[0].filename.endswith("test_tracebacks_name_the_wrapper_and_show_its_line.<locals>.fails>")
    assert wrapper_frames[0].line  # the rendered source is registered with linecache


def test_functions_that_are_not_compiled_still_bind_calls() -> None:
    """Callables that are not plain functions get the ``*args, **kwargs`` wrapper."""
    runs: list[int] = []

    class Multiplier:
        def __call__(self, x: int, factor: int = 2) -> int:
            runs.append(x)
            return x * factor

    wrapped = cached(cache=SyncDictCache())(Multiplier())
    assert [wrapped(3), wrapped(3, 2), wrapped(x=3), wrapped(3, factor=3)] == [6, 6, 6, 9]
    assert runs == [3, 3]
    assert sys.getrefcount(wrapped) > 0


def _keyword_reader(fn: Any) -> Any:
    """A decorator in the common style: it reads one argument from the keywords, if given by name."""

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("region", "-"))
        return fn(*args, **kwargs)

    @functools.wraps(fn)
    async def ainner(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("region", "-"))
        return await fn(*args, **kwargs)

    return ainner if inspect.iscoroutinefunction(fn) else inner


seen: list[str] = []


def _price(item: str, region: str = "eu") -> str:
    return f"{item}@{region}"


async def _aprice(item: str, region: str = "eu") -> str:
    return f"{item}@{region}"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "make",
    [_keyword_reader, lambda fn: functools.partial(fn, region="eu")],
    ids=["wrapped by another decorator", "functools.partial"],
)
def test_other_callables_get_hits_from_the_hot_index_and_calls_as_made(make: Any, is_async: bool) -> None:
    seen.clear()
    f = cached(cache=SyncDictCache() if not is_async else None)(make(_aprice if is_async else _price))

    def call(*args: Any, **kwargs: Any) -> Any:
        result = f(*args, **kwargs)
        return asyncio.run(result) if is_async else result

    assert call("tea") == "tea@eu"
    assert call("tea") == "tea@eu"  # the second call: answered by the wrapper, before any key
    assert f.cache_info().hits == 1
    assert call("tea", region="eu") == "tea@eu"  # another spelling: its own hot slot, the same entry
    assert f.cache_info().misses == 1
    assert call("tea", region="us") == "tea@us"
    assert call(["tea"], region="us") == "['tea']@us"  # unhashable arguments too
    if make is _keyword_reader:
        assert seen == ["-", "us", "us"]  # the decorator saw each computed call as it was made
    assert f.__code__.co_filename.startswith("<cache_core wrapper of")
