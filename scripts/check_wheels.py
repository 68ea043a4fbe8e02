"""Build the five wheels, install them together in a clean venv, import them and compare versions.

Usage: ``python scripts/check_wheels.py [--dist DIR] [--sdist]``

Each package is built with ``hatch build -t wheel`` (``hatch`` must be on the PATH) into
a temporary directory, or into ``DIR`` (kept, e.g. for publishing; ``--sdist`` builds the
source distributions there too). A new venv then installs the five wheels in one ``pip``
command: our packages come from the wheel files only (``--find-links``; never an editable
install, never the index), their dependencies from the package index. Finally, in that
venv and outside the source tree, it imports every package and checks that each comes
from the venv, is typed (``py.typed``), has the version of ``cache-core``'s
``__about__.py``, that every sibling pin names that version, that the pytest plugin is
registered, and that a function cached in a SQLite file hits and expires. Exit status 0 means
all of that held; otherwise the reasons are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ABOUT = ROOT / "packages/cache-core/src/cache_core/__about__.py"
PACKAGES = {
    "cache-core": "cache_core",
    "cache-sqlite": "cache_sqlite",
    "cache-redis": "cache_redis",
    "cache-mongo": "cache_mongo",
    "cache-testing": "cache_testing",
}

# Runs inside the new venv (python -I: no PYTHONPATH, no user site, no current directory).
INSPECT = """
import importlib, importlib.metadata as metadata, json, pathlib, sys
report = {"prefix": sys.prefix, "packages": {}}
for distribution, module_name in json.loads(sys.argv[1]).items():
    module = importlib.import_module(module_name)
    files = metadata.files(distribution) or []
    report["packages"][distribution] = {
        "version": metadata.version(distribution),
        "module_version": getattr(module, "__version__", None),
        "file": module.__file__,
        "typed": (pathlib.Path(module.__file__).parent / "py.typed").is_file(),
        "requires": metadata.requires(distribution) or [],
        "editable": any(str(path).endswith(".pth") for path in files),
        "entry_points": sorted(f"{ep.group}:{ep.name}" for ep in metadata.distribution(distribution).entry_points),
    }

# One real use across packages: a function cached in a SQLite file, on a test clock.
from cache_core import cached
from cache_sqlite import SyncSqliteCache
from cache_testing import TestClock
clock, runs = TestClock(), []
with SyncSqliteCache(pathlib.Path("smoke.db").resolve(), clock=clock) as backend:
    @cached(cache=backend, ttl=60)
    def double(n):
        runs.append(n)
        return (n, n * 2)
    results = [double(21), double(21)]
    clock.advance(61)
    results.append(double(21))
report["smoke"] = results == [(21, 42)] * 3 and runs == [21, 21]
print(json.dumps(report))
"""


def source_version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', ABOUT.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        msg = f"no __version__ line in {ABOUT}"
        raise SystemExit(msg)
    return match.group(1)


def clean_environment() -> dict[str, str]:
    """The environment without what would leak the caller's Python setup into the venv.

    ``HATCH_ENV_ACTIVE`` too: the workspace's environment (``all.py3.10``, say) is unknown to
    each package's own project, whose ``hatch build`` would refuse it.
    """
    leaks = (
        *("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTEST_", "PIP_REQUIRE_VIRTUALENV"),
        "HATCH_ENV_ACTIVE",
    )
    return {name: value for name, value in os.environ.items() if not name.startswith(leaks)}


def run(command: list[str], *, cwd: Path, what: str) -> str:
    result = subprocess.run(command, cwd=cwd, env=clean_environment(), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        msg = f"{what} failed ({result.returncode}): {' '.join(command)}\n{result.stdout}\n{result.stderr}"
        raise SystemExit(msg)
    return result.stdout


def build(dist: Path, *, sdist: bool) -> list[Path]:
    """Build every package into ``dist`` (the five builds run at once); return the wheels."""
    hatch = shutil.which("hatch")
    if hatch is None:
        msg = "hatch is not on the PATH: python -m pip install 'hatch>=1.18'"
        raise SystemExit(msg)
    targets = ["-t", "wheel"] + (["-t", "sdist"] if sdist else [])
    builds = {
        name: subprocess.Popen(
            [hatch, "build", *targets, str(dist)],
            cwd=ROOT / "packages" / name,
            env=clean_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in PACKAGES
    }
    failures = []
    for name, process in builds.items():
        output, _ = process.communicate()
        if process.returncode != 0:
            failures.append(f"hatch build of {name} failed ({process.returncode}):\n{output}")
    if failures:
        raise SystemExit("\n".join(failures))
    wheels = sorted(dist.glob("*.whl"))
    names = sorted(wheel.name.split("-")[0].replace("_", "-") for wheel in wheels)
    if names != sorted(PACKAGES):
        msg = f"expected one wheel per package in {dist}, found {[wheel.name for wheel in wheels]}"
        raise SystemExit(msg)
    return wheels


def install(wheels: list[Path], environment: Path) -> Path:
    """A new venv holding the wheels and their dependencies; return its python."""
    venv.create(environment, with_pip=True, clear=True)
    python = environment / "bin" / "python"
    if not python.exists():  # Windows layout
        python = environment / "Scripts" / "python.exe"
    # The wheel files name our packages; --find-links lets the sibling pins resolve to them too.
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--find-links", str(wheels[0].parent), *map(str, wheels)]
    run(command, cwd=environment, what="pip install of the wheels")
    return python


def inspect(python: Path, workdir: Path) -> dict[str, Any]:
    """What the venv's python finds: ``{"prefix": ..., "packages": {distribution: facts}}``."""
    output = run([str(python), "-I", "-c", INSPECT, json.dumps(PACKAGES)], cwd=workdir, what="importing the packages")
    report: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return report


def problems(report: dict[str, Any], expected: str) -> list[str]:
    """What is wrong with the installed packages, as sentences; empty when all is well."""
    found = []
    prefix, packages = report["prefix"], report["packages"]
    for distribution, facts in packages.items():
        if facts["version"] != expected:
            found.append(f"{distribution} is version {facts['version']}, the source says {expected}")
        if not str(facts["file"]).startswith(prefix):
            found.append(f"{PACKAGES[distribution]} was imported from {facts['file']}, not from the venv {prefix}")
        if facts["editable"]:
            found.append(f"{distribution} is an editable install")
        if not facts["typed"]:
            found.append(f"{distribution} has no py.typed")
        for requirement in facts["requires"]:
            sibling = re.match(r"(cache-[a-z]+)\s*(.*)", str(requirement))
            if sibling and sibling.group(2).split(";")[0].strip() != f"=={expected}":
                found.append(f"{distribution} requires {requirement}, not =={expected}")
    if packages["cache-core"]["module_version"] != expected:
        found.append(f"cache_core.__version__ is {packages['cache-core']['module_version']}, not {expected}")
    if "pytest11:cache_testing" not in packages["cache-testing"]["entry_points"]:
        found.append("cache-testing does not register its pytest plugin (entry point pytest11:cache_testing)")
    if not report["smoke"]:
        found.append("a function cached with SyncSqliteCache on a TestClock did not hit, then expire")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, help="build into this directory and keep it (default: a temporary one)")
    parser.add_argument("--sdist", action="store_true", help="also build the source distributions")
    options = parser.parse_args(argv)
    expected = source_version()
    with tempfile.TemporaryDirectory(prefix="check-wheels-") as scratch:
        work = Path(scratch)
        dist = options.dist.resolve() if options.dist else work / "dist"
        dist.mkdir(parents=True, exist_ok=True)
        stale = sorted(dist.glob("cache_*"))
        if stale:
            msg = f"{dist} already holds {[path.name for path in stale]}; remove them or choose another --dist"
            raise SystemExit(msg)
        wheels = build(dist, sdist=options.sdist)
        print(f"built {', '.join(wheel.name for wheel in wheels)}")
        python = install(wheels, work / "venv")
        report = inspect(python, work)
        found = problems(report, expected)
    if found:
        print("\n".join(["the wheels do not work together:", *(f"  - {problem}" for problem in found)]))
        return 1
    print(f"ok: the five wheels install together in a clean venv, import, and are all version {expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
