"""Generate each sync twin from its async source: ``_async_X.py`` -> ``_sync_X.py``.

Rules: ``await `` is dropped, ``async def/with/for`` lose ``async``, and names are
renamed on word boundaries: a default table plus the file's own lines of the form
``# unasync: AsyncName -> SyncName, other_name -> its_twin``.

Usage: ``python scripts/unasync.py`` writes the twins; ``--check`` only reports
twins that are stale (exit 1), which CI runs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RENAMES = {
    "AsyncBackend": "Backend",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "StopAsyncIteration": "StopIteration",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
}
DIRECTIVE = re.compile(r"^# unasync: (.+)$", re.MULTILINE)


def renames_for(source: str) -> dict[str, str]:
    renames = dict(DEFAULT_RENAMES)
    for line in DIRECTIVE.findall(source):
        for pair in line.split(","):
            old, _, new = pair.partition("->")
            renames[old.strip()] = new.strip()
    return renames


def unasync(source: str, origin: str) -> str:
    text = DIRECTIVE.sub("", source)
    text = re.sub(r"\bawait\s+", "", text)
    text = re.sub(r"\basync\s+(def|with|for)\b", r"\1", text)
    renames = renames_for(source)
    if renames:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True))) + r")\b")
        text = pattern.sub(lambda match: renames[match.group(1)], text)
    text = re.sub(r"\n{3,}(?=\S)", "\n\n\n", text)
    header = f"# Generated from {origin} by scripts/unasync.py. Do not edit: edit the async file and rerun.\n"
    return header + text


def pairs() -> list[tuple[Path, Path]]:
    found = []
    for source in sorted(ROOT.glob("packages/*/src/**/_async_*.py")):
        found.append((source, source.with_name(source.name.replace("_async_", "_sync_", 1))))
    return found


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for source, target in pairs():
        expected = unasync(source.read_text(encoding="utf-8"), source.name)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == expected:
            continue
        stale.append(target)
        if not check:
            target.write_text(expected, encoding="utf-8")
    if check and stale:
        for target in stale:
            print(f"stale: {target.relative_to(ROOT)} (run python scripts/unasync.py)", file=sys.stderr)
        return 1
    for target in stale:
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
