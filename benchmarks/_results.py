"""What the benchmarks share: the contenders' timings, the payload, the JSON they write with ``--json PATH``.

One record per contender: its name, role (floor, ours, peer, info...), group (the mode or the
operation it is compared within, the floor of its group being the 1.00x), best and median time
per call and every run. scripts/render_benchmarks.py draws docs/benchmarks.md from these files.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import platform
import statistics
from dataclasses import dataclass, field
from typing import Any

#: The value the Redis, MongoDB and near-cache benchmarks cache: a product record as a REST API returns it.
PAYLOAD: dict[str, Any] = {
    "id": 1234,
    "name": "Earl Grey, loose leaf",
    "price": 7.5,
    "in_stock": True,
    "tags": ["tea", "black", "bergamot"],
    "ratings": [5, 4, 5, 5, 3],
    "supplier": {"name": "Harney", "country": "US", "since": 2011},
    "description": "A classic black tea scented with oil of bergamot. " * 3,
}


@dataclass
class Timed:
    """What every contender carries: its timed runs (one number per run) and what went wrong, if anything."""

    runs: list[float] = field(default_factory=list, kw_only=True)
    problem: str = field(default="", kw_only=True)

    @property
    def best(self) -> float:
        return min(self.runs) if self.runs else math.nan

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else math.nan


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _num(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


DISTS = ["cache-core", "cache-redis", "cache-sqlite", "cache-mongo", "redis", "aiocache", "cashews"]
DISTS += ["aiosqlite", "diskcache", "pymongo"]


def write(path: str, benchmark: str, contenders: list[Any], settings: dict[str, Any], unit: str = "ns") -> None:
    """Write the contenders of one run; ``group`` is their ``mode`` or ``operation`` where they have one."""
    records = []
    for c in contenders:
        group = getattr(c, "mode", None) or getattr(c, "operation", None) or ""
        record = {"name": c.name.strip(), "role": c.role, "group": group, "best": _num(c.best)}
        record |= {"median": _num(c.median), "runs": [round(r, 3) for r in c.runs]}
        if getattr(c, "cpu", None):
            record["cpu_runs"] = [round(r, 3) for r in c.cpu]
        record |= {"tasks": getattr(c, "tasks", 1), "problem": getattr(c, "problem", "")}
        records.append(record)
    meta = {
        "benchmark": benchmark,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in DISTS},
        "unit": unit,
        "settings": {
            k: v for k, v in settings.items() if isinstance(v, (int, float, str)) and k not in ("json", "url")
        },
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"meta": meta, "contenders": records}, out, indent=2)
    print(f"results written to {path}")
