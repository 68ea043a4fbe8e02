"""Release: the five wheels build, install together in a clean venv and agree on one version.

Runs ``scripts/check_wheels.py`` the way ``.github/workflows/release.yml`` does (into a
kept ``--dist`` with source distributions), and checks what it reports on broken installs.
"""

from __future__ import annotations

import copy
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_wheels.py"
CHECK_WHEELS = runpy.run_path(str(SCRIPT))
PACKAGES: dict[str, str] = CHECK_WHEELS["PACKAGES"]


@pytest.mark.slow
def test_the_wheels_install_together_in_a_clean_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dist", str(dist), "--sdist"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version = CHECK_WHEELS["source_version"]()
    assert f"all version {version}" in result.stdout
    stems = {name.replace("-", "_") for name in PACKAGES}
    assert {path.name for path in dist.glob("*.whl")} == {f"{stem}-{version}-py3-none-any.whl" for stem in stems}
    assert {path.name for path in dist.glob("*.tar.gz")} == {f"{stem}-{version}.tar.gz" for stem in stems}
    # A second run into the same directory refuses to mix old and new files.
    again = subprocess.run(
        [sys.executable, str(SCRIPT), "--dist", str(dist)], env=environment, capture_output=True, text=True, check=False
    )
    assert again.returncode != 0
    assert "already holds" in again.stderr


def healthy_report(version: str) -> dict[str, Any]:
    """What the script's inspection prints for a good install of ``version``."""
    prefix = "/tmp/venv"
    packages: dict[str, Any] = {}
    for distribution, module in PACKAGES.items():
        packages[distribution] = {
            "version": version,
            "module_version": version if distribution == "cache-core" else None,
            "file": f"{prefix}/lib/python3.12/site-packages/{module}/__init__.py",
            "typed": True,
            "requires": [] if distribution == "cache-core" else [f"cache-core=={version}"],
            "editable": False,
            "entry_points": ["pytest11:cache_testing"] if distribution == "cache-testing" else [],
        }
    return {"prefix": prefix, "packages": packages, "smoke": True}


def test_a_good_install_has_no_problems() -> None:
    assert CHECK_WHEELS["problems"](healthy_report("1.2.3"), "1.2.3") == []


def test_every_kind_of_broken_install_is_reported() -> None:
    report = copy.deepcopy(healthy_report("1.2.3"))
    packages = report["packages"]
    packages["cache-redis"]["version"] = "1.2.2"
    packages["cache-sqlite"]["file"] = "/work/main/packages/cache-sqlite/src/cache_sqlite/__init__.py"
    packages["cache-mongo"]["editable"] = True
    packages["cache-mongo"]["requires"] = ["cache-core>=1.0", "pymongo>=4.9"]
    packages["cache-testing"]["typed"] = False
    packages["cache-testing"]["entry_points"] = []
    packages["cache-core"]["module_version"] = "0.0.0"
    report["smoke"] = False
    found = "\n".join(CHECK_WHEELS["problems"](report, "1.2.3"))
    assert "cache-redis is version 1.2.2, the source says 1.2.3" in found
    assert "cache_sqlite was imported from /work/main/packages" in found
    assert "cache-mongo is an editable install" in found
    assert "cache-mongo requires cache-core>=1.0, not ==1.2.3" in found
    assert "pymongo" not in found
    assert "cache-testing has no py.typed" in found
    assert "pytest plugin" in found
    assert "cache_core.__version__ is 0.0.0" in found
    assert "did not hit, then expire" in found
    assert len(found.splitlines()) == 8
