"""Move the one version of all five distributions, and the sibling pins with it.

Usage: ``python scripts/bump.py 0.2.0`` rewrites cache-core's ``__about__.py`` (the
only version source) and every ``cache-core==X`` pin in packages/*/pyproject.toml.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABOUT = ROOT / "packages/cache-core/src/cache_core/__about__.py"
VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
PIN = re.compile(r'"cache-(core|sqlite|redis|mongo|testing)==[^"]+"')
RELEASE = re.compile(r"^\d+\.\d+\.\d+((a|b|rc)\d+)?$")


def current_version() -> str:
    match = VERSION.search(ABOUT.read_text(encoding="utf-8"))
    if match is None:
        msg = f"no __version__ line in {ABOUT}"
        raise SystemExit(msg)
    return match.group(1)


def bump(new: str) -> list[Path]:
    if not RELEASE.match(new):
        msg = f"not a release version: {new!r} (expected X.Y.Z, optionally aN/bN/rcN)"
        raise SystemExit(msg)
    ABOUT.write_text(VERSION.sub(f'__version__ = "{new}"', ABOUT.read_text(encoding="utf-8")), encoding="utf-8")
    changed = [ABOUT]
    for project in sorted(ROOT.glob("packages/*/pyproject.toml")):
        text = project.read_text(encoding="utf-8")
        updated = PIN.sub(lambda match: f'"cache-{match.group(1)}=={new}"', text)
        if updated != text:
            project.write_text(updated, encoding="utf-8")
            changed.append(project)
    return changed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    old = current_version()
    for path in bump(sys.argv[1]):
        print(f"{path.relative_to(ROOT)}: {old} -> {sys.argv[1]}")
