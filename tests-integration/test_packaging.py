"""All five distributions share one version, and every sibling pin names it."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTIONS = ["cache-core", "cache-sqlite", "cache-redis", "cache-mongo", "cache-testing"]


def source_version() -> str:
    text = (ROOT / "packages/cache-core/src/cache_core/__about__.py").read_text(encoding="utf-8")
    match = re.search(r'__version__ = "([^"]+)"', text)
    assert match is not None
    return match.group(1)


def test_every_distribution_reads_the_one_version_source() -> None:
    for name in DISTRIBUTIONS:
        project = tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text(encoding="utf-8"))
        assert project["project"]["dynamic"] == ["version"], name
        path = (ROOT / "packages" / name / project["tool"]["hatch"]["version"]["path"]).resolve()
        assert path == (ROOT / "packages/cache-core/src/cache_core/__about__.py").resolve(), name


def test_sibling_pins_match_the_version() -> None:
    expected = source_version()
    for name in DISTRIBUTIONS:
        project = tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text(encoding="utf-8"))
        requirements = project["project"]["dependencies"] + [
            requirement
            for extra in project["project"].get("optional-dependencies", {}).values()
            for requirement in extra
        ]
        for requirement in requirements:
            if requirement.startswith("cache-"):
                assert requirement.endswith(f"=={expected}"), f"{name} pins {requirement}, version is {expected}"


def test_installed_metadata_agrees() -> None:
    expected = source_version()
    assert {name: version(name) for name in DISTRIBUTIONS} == dict.fromkeys(DISTRIBUTIONS, expected)


def test_bump_moves_version_and_pins(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for relative in ["scripts/bump.py", "packages/cache-core/src/cache_core/__about__.py"] + [
        f"packages/{name}/pyproject.toml" for name in DISTRIBUTIONS
    ]:
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_text((ROOT / relative).read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run([sys.executable, str(copy / "scripts/bump.py"), "9.8.7"], check=True, capture_output=True)
    assert '__version__ = "9.8.7"' in (copy / "packages/cache-core/src/cache_core/__about__.py").read_text()
    for name in DISTRIBUTIONS[1:]:
        assert '"cache-core==9.8.7"' in (copy / "packages" / name / "pyproject.toml").read_text(), name
