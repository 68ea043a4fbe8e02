"""CI's benchmark guard: the in-memory call-shape matrix in quick mode, failing on a clear regression.

Run it with ``hatch run bench:guard`` (``.ci/run`` does). It runs ``bench_shapes.py`` in quick
mode (the call-shape matrix, sync and async, against the floor and the peers; miss + store;
memory per entry) and exits 1 when a ratio breaks its guard. Unlike the benchmarks themselves
it is a check, not a report.

Only ratios are guarded, each between contenders timed in the same run, interleaved, so a
busy machine slows all of them alike. The guards are not the benchmarks' targets: they sit
well above what main measured when they were set (the table in docs/benchmarks.md), so that
only a clear regression fails CI on a shared, noisy machine, never the noise. A ratio is
measured again in a fresh run, up to ``--attempts`` runs in all, when it breaks its guard, and
fails only if it breaks it in every run. Wrong results (a hit that ran the function body, a
value that differs from the plain function's, an exception) fail at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bench_shapes

# ours / the peer configured alike, every row that has a peer (the benchmark's target: 1.0)
GUARD_ROW_OVER_PEER = 2.5
# geometric mean of ours / peer over the rows, per mode (target: 0.5)
GUARD_GEOMEAN = 0.8
# the hit path of one int argument / the floor: unbounded (target 1.5), with a TTL or bound (target 2)
GUARD_HIT_UNBOUNDED = 5.0
GUARD_HIT_BOUNDED = 8.0
# miss + store / the peer's miss + store, configured alike
GUARD_MISS_OVER_PEER = 2.5
# bytes per entry / a plain dict's (target 1.5); tracemalloc counts are steady, so these are tight
GUARD_MEMORY = {"-": 1.5, "ttl": 2.3, "maxsize": 2.7}


def checks(results: dict[str, Any]) -> Iterator[tuple[str, float | None, float]]:
    """Every guarded ratio of one run as (what, measured, guard); None when it could not be measured."""
    for r in results["hit"]:
        what = f"{r['mode']} hit {r['shape']} [{r['config']}]"
        if r["peer"] is not None:
            yield f"{what}: ours/peer", r["ours_over_peer"], GUARD_ROW_OVER_PEER
        if r["shape"] == "1 int arg" and r["config"] != "typed":
            guard = GUARD_HIT_UNBOUNDED if r["config"] == "-" else GUARD_HIT_BOUNDED
            yield f"{what}: ours/floor", r["ours_over_floor"], guard
    for mode in ("sync", "async"):
        yield f"{mode} geomean ours/peer", results["geomean_ours_over_peer"][mode], GUARD_GEOMEAN
    for m in results["miss"]:
        yield f"{m['mode']} miss+store [{m['config']}]: ours/peer", m["ours_over_peer"], GUARD_MISS_OVER_PEER
    floors = {m["config"]: m["bytes_per_entry"] for m in results["memory"] if m["role"] == "floor"}
    for m in results["memory"]:
        if m["role"] == "ours":
            ratio = m["bytes_per_entry"] / floors[m["config"]]
            guard = GUARD_MEMORY[m["config"].split("=")[0]]
            yield f"memory [{m['config']}] {m['contender'].split()[0]}: ours/dict", ratio, guard


def problems(results: dict[str, Any]) -> list[str]:
    """Wrong results anywhere in the run: these fail without a second run."""
    found = [f"{r['mode']} {r['shape']} [{r['config']}]: {r['problems']}" for r in results["hit"] if r["problems"]]
    found += [f"{m['mode']} miss+store [{m['config']}]: {m['problems']}" for m in results["miss"] if m["problems"]]
    found += [f"memory [{m['config']}] {m['contender']}: {m['problem']}" for m in results["memory"] if m["problem"]]
    return found


def measure(repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "shapes.json")
        bench_shapes.main(["--quick", "--repeat", str(repeat), "--json", str(path)])
        results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=3, help="runs at most, while a ratio breaks its guard (3)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per contender in each run (5)")
    args = parser.parse_args(argv)

    best: dict[str, tuple[float | None, float]] = {}
    for attempt in range(1, args.attempts + 1):
        results = measure(args.repeat)
        wrong = problems(results)
        if wrong:
            print("\nGUARD: FAIL, wrong results:\n  " + "\n  ".join(wrong))
            return 1
        for what, ratio, guard in checks(results):
            kept = best.get(what, (None, guard))[0]
            if ratio is not None and (kept is None or ratio < kept):
                kept = ratio
            best[what] = (kept, guard)
        broken = {what: v for what, v in best.items() if v[0] is None or v[0] > v[1]}
        within = len(best) - len(broken)
        print(f"\nGUARD (run {attempt} of at most {args.attempts}): {within} of {len(best)} ratios within their guards")
        for what, (ratio, guard) in broken.items():
            shown = "not measured" if ratio is None else f"{ratio:.2f}x"
            print(f"  over its guard: {what} = {shown} (guard {guard:g}x)")
        if not broken:
            print("GUARD: PASS")
            return 0
    print("GUARD: FAIL, ratios over their guards in every run (above)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
