"""Render the results section of docs/benchmarks.md, tables and SVG charts, from the benchmarks' JSON.

    hatch run bench:core --json docs/benchmark-results/core.json      # and shapes, redis, sqlite, mongo
    hatch run bench:render                                            # this script

Reads ``core.json``, ``shapes.json``, ``redis.json``, ``sqlite.json`` and ``mongo.json`` from
``--results`` (a missing file leaves its section saying so), writes one SVG per chart beside
them, and replaces what lies between the ``results:start`` and ``results:end`` markers of
``--page``. Every ratio shown is between contenders timed in the same run, interleaved. The
SVGs are written without a date and with a fixed id salt, so the same JSON gives the same files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"
# teal: ours; orange: a peer; grey: the floor; light teal: our other configurations, raw drivers;
# red: ours where it is slower than the peer configured alike
COLOURS = {"ours": "#00897b", "peer": "#ef6c00", "floor": "#9e9e9e", "slower": "#c62828"}


def _colour(role: str) -> str:
    return COLOURS.get(role, "#80cbc4")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "cache-benchmarks", "svg.fonttype": "none", "font.size": 9})
    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
    fig.clear()


def bars(path: Path, title: str, panels: list[tuple[str, list[tuple[str, float, str]]]], xlabel: str) -> None:
    """One horizontal bar chart per panel: (label, value, role) rows, a dashed line at 1 when ratios."""
    plt = _pyplot()
    height = sum(0.28 * len(rows) + 0.8 for _, rows in panels) + 0.4
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, height), squeeze=False)
    for ax, (subtitle, rows) in zip(axes[:, 0], panels, strict=True):
        labels = [label for label, _, _ in rows][::-1]
        values = [value for _, value, _ in rows][::-1]
        ax.barh(labels, values, color=[_colour(role) for _, _, role in rows][::-1])
        for y, value in enumerate(values):
            ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
        if xlabel.startswith("x "):
            ax.axvline(1.0, color="#424242", linestyle="--", linewidth=0.8)
        label = xlabel
        if min(values) > 0 and max(values) / min(values) > 30:  # aiocache, cashews: 100x the rest
            ax.set_xscale("log")
            label = f"{xlabel} (log scale)"
        ax.set_title(subtitle, loc="left", fontsize=9)
        ax.set_xlabel(label)
        ax.margins(x=0.15)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    _save(fig, path)
    plt.close(fig)


def _fmt(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}{suffix}"


def _versions(meta: dict[str, Any]) -> str:
    return ", ".join(f"{d} {v}" for d, v in meta.get("versions", {}).items() if v != "not installed")


def _cell(text: str) -> str:
    """Markdown table cell text: `*args`, `**kwargs` and `|` kept literal."""
    return text.replace("|", "\\|").replace("*", "\\*")


def _run_line(meta: dict[str, Any], settings: str) -> str:
    date = meta.get("date", "")
    when = f"{date}; " if date else ""
    return f"*{when}Python {meta['python']}; {_versions(meta)}; {settings}.*"


# -- sections ------------------------------------------------------------------------------------


def shapes_section(data: dict[str, Any], out: Path) -> list[str]:
    meta, hit = data["meta"], data["hit"]
    panels = []
    for mode, peer in (("sync", "cachetools"), ("async", "async-lru")):
        rows = [
            (f"{r['shape']} [{r['config']}]", r["ours_over_peer"], "ours" if r["ours_over_peer"] <= 1 else "slower")
            for r in hit
            if r["mode"] == mode and r["ours_over_peer"] is not None
        ]
        panels.append((f"{mode}: ours / {peer} configured alike (below 1 = ours faster)", rows))
    bars(out / "shapes.svg", "Hit path of every call shape: ours / the peer", panels, "x the peer's time per call")
    geo = data["geomean_ours_over_peer"]
    lines = [
        "### Every call shape (`bench:shapes`)",
        "",
        _run_line(meta, f"best of {meta['repeat']} interleaved runs per contender, {meta['warm_values']} warm values"),
        "",
        f"Geometric mean of ours / peer: sync **{geo['sync']}x**, async **{geo['async']}x**, "
        f"all **{geo['all']}x** (below 1: ours is faster).",
        "",
        "![ours / peer per call shape](benchmark-results/shapes.svg)",
        "",
        "| call shape | config | mode | floor ns | ours ns | peer ns | ours / peer | ours / floor |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in hit:
        lines.append(
            f"| {_cell(r['shape'])} | {r['config']} | {r['mode']} | {_fmt(r['floor_ns'])} | {_fmt(r['ours_ns'])} | "
            f"{_fmt(r['peer_ns'])} | {_fmt(r['ours_over_peer'], 2, 'x')} | {_fmt(r['ours_over_floor'], 2, 'x')} |"
        )
    lines += ["", "Miss + store (new keys; the cache cleared between runs):", ""]
    lines += ["| config | mode | floor ns | ours ns | peer | peer ns | ours / floor | ours / peer |"]
    lines += ["|---|---|---:|---:|---|---:|---:|---:|"]
    for m in data["miss"]:
        lines.append(
            f"| {m['config']} | {m['mode']} | {_fmt(m['floor_ns'])} | {_fmt(m['ours_ns'])} | `{m['peer']}` | "
            f"{_fmt(m['peer_ns'])} | {_fmt(m['ours_over_floor'], 2, 'x')} | {_fmt(m['ours_over_peer'], 2, 'x')} |"
        )
    if data["memory"]:
        floors = {m["config"]: m["bytes_per_entry"] for m in data["memory"] if m["role"] == "floor"}
        lines += ["", f"Memory per entry ({meta['memory_n']:,} entries, tracemalloc):", ""]
        lines += ["| config | contender | bytes / entry | x a plain dict |", "|---|---|---:|---:|"]
        for m in data["memory"]:
            ratio = m["bytes_per_entry"] / floors[m["config"]]
            lines.append(f"| {m['config']} | {_cell(m['contender'])} | {m['bytes_per_entry']:.0f} | {ratio:.2f}x |")
    return [*lines, "", *targets_table(data["targets"])]


def core_section(data: dict[str, Any], out: Path) -> list[str]:
    meta, timed = data["meta"], data["timed"]
    titles = {
        "async_hit": "async hit path",
        "sync_hit": "sync hit path",
        "async_miss": "async miss + store",
        "sync_miss": "sync miss + store",
    }
    hit_panels = [
        (f"{titles[k]}: ns per call", [(c["name"], c["best_ns"], c["role"]) for c in timed[k] if c["best_ns"]])
        for k in ("async_hit", "sync_hit")
    ]
    bars(out / "core-hit.svg", "In-memory hit path: ns per call (best run)", hit_panels, "ns per call")
    lines = [
        "### In memory against every peer (`bench:core`)",
        "",
        _run_line(meta, f"best of {meta['repeat']} interleaved runs per contender, 1000 warm keys"),
        "",
        "![in-memory hit path against the peers](benchmark-results/core-hit.svg)",
        "",
    ]
    for key, title in titles.items():
        lines += [f"{title.capitalize()}:", "", "| contender | best ns | median ns | x floor |", "|---|---:|---:|---:|"]
        for c in timed[key]:
            name = f"**{c['name']}**" if c["role"] == "ours" else c["name"]
            lines.append(f"| {name} | {_fmt(c['best_ns'])} | {_fmt(c['median_ns'])} | {_fmt(c['x_floor'], 2, 'x')} |")
        lines.append("")
    if data["memory"]:
        kinds = list(data["memory"][0]["bytes_per_entry"])
        floor = next(m for m in data["memory"] if m["role"] == "floor")["bytes_per_entry"]
        memory_panels = [
            (
                f"{kind} values: bytes per entry",
                [(m["name"], m["bytes_per_entry"][kind], m["role"]) for m in data["memory"]],
            )
            for kind in kinds
        ]
        bars(out / "core-memory.svg", "Memory per cached entry (tracemalloc)", memory_panels, "bytes per entry")
        lines += [f"Memory per entry ({meta['memory_n']:,} entries):", ""]
        lines += ["![memory per entry](benchmark-results/core-memory.svg)", ""]
        lines += ["| contender | " + " | ".join(f"{k} B / entry | x dict" for k in kinds) + " |"]
        lines += ["|---|" + "---:|---:|" * len(kinds)]
        for m in data["memory"]:
            cells = " | ".join(
                f"{m['bytes_per_entry'][k]:.0f} | {m['bytes_per_entry'][k] / floor[k]:.2f}x" for k in kinds
            )
            lines.append(f"| {m['name']} | {cells} |")
        lines.append("")
    return [*lines, *targets_table(data["targets"])]


def backend_section(data: dict[str, Any], out: Path, name: str, title: str, note: str) -> list[str]:
    """Redis, SQLite, MongoDB: the median time per call of each contender / the median of its group's floor."""
    meta, contenders = data["meta"], data["contenders"]
    unit = meta["unit"]
    groups = list(dict.fromkeys(c["group"] for c in contenders))
    panels = []
    lines = [f"### {title} (`bench:{name}`)", "", _run_line(meta, _settings(meta["settings"])), "", note, ""]
    lines += [f"![{title}](benchmark-results/{name}.svg)", ""]
    for group in groups:
        rows = [c for c in contenders if c["group"] == group]
        floor = next(c for c in rows if c["role"] == "floor")
        panels.append(
            (
                f"{group + ': ' if group else ''}median time / the floor's",
                [(c["name"], c["median"] / floor["median"], c["role"]) for c in rows],
            )
        )
        if group:
            lines += [f"{group.capitalize()}:", ""]
        lines += [f"| contender | best {unit} | median {unit} | x floor (median) |", "|---|---:|---:|---:|"]
        for c in rows:
            shown = f"**{c['name']}**" if c["role"] == "ours" else c["name"]
            ratio = c["median"] / floor["median"]
            problem = f" ({c['problem']})" if c.get("problem") else ""
            lines.append(f"| {shown}{problem} | {_fmt(c['best'], 1)} | {_fmt(c['median'], 1)} | {ratio:.2f}x |")
        lines.append("")
    bars(out / f"{name}.svg", f"{title}: time per call / the floor's (median of the runs)", panels, "x the floor")
    return lines


def _settings(settings: dict[str, Any]) -> str:
    shown = {k: v for k, v in settings.items() if k in ("repeat", "calls", "keys", "tasks", "mongod") and v}
    return ", ".join(f"{k} {v}" for k, v in shown.items())


def targets_table(targets: list[dict[str, Any]]) -> list[str]:
    lines = ["| target | measured | met |", "|---|---|---|"]
    for t in targets:
        lines.append(f"| {_cell(t['what'])} | {_cell(str(t['measured']))} | {'yes' if t['ok'] else '**no**'} |")
    return [*lines, ""]


# -- page ----------------------------------------------------------------------------------------


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()}"


def render(results: Path, page: Path, machine_text: str) -> str:
    sections: list[str] = []
    loaded: dict[str, dict[str, Any]] = {}
    for name in ("shapes", "core", "redis", "sqlite", "mongo"):
        path = results / f"{name}.json"
        if path.exists():
            loaded[name] = json.loads(path.read_text(encoding="utf-8"))
    platforms = sorted({d["meta"]["platform"] for d in loaded.values()})
    sections += [
        f"Measured on {machine_text} ({'; '.join(platforms)}). That machine is **shared and noisy**: other "
        "processes ran beside the benchmarks, which slows every contender of a run alike but makes the absolute "
        "numbers, and the ratios a little, vary from run to run. Read the ratios; run the benchmarks on your "
        "machine for your numbers. The JSON behind every table and chart is in `docs/benchmark-results/`.",
        "",
        "In the charts: teal is ours, orange a peer, grey the floor (the same work without a cache library), "
        "light teal our other configurations and the raw drivers; red marks a call shape where ours is "
        "slower than the peer.",
        "",
    ]
    notes = {
        "redis": "Wall time per awaited call, against `redis.asyncio` `GET` + `json.loads` (the floor), "
        "aiocache and cashews on the same server.",
        "sqlite": "Time per call of `get` and `put`, against raw `sqlite3` (the floor), aiosqlite and diskcache.",
        "mongo": "Time per decorated call served from MongoDB, sync and async, against a raw `find_one` "
        "plus decoding (the floor).",
    }
    titles = {"redis": "Redis hit path", "sqlite": "SQLite get and put", "mongo": "MongoDB hit path"}
    for name in ("shapes", "core", "redis", "sqlite", "mongo"):
        data = loaded.get(name)
        if data is None:
            sections += [f"### `bench:{name}`", "", "Not run for this page.", ""]
        elif name == "shapes":
            sections += shapes_section(data, results)
        elif name == "core":
            sections += core_section(data, results)
        else:
            sections += backend_section(data, results, name, titles[name], notes[name])
    text = page.read_text(encoding="utf-8")
    block = "\n".join([START, *sections, END])
    if START not in text or END not in text:
        raise SystemExit(f"{page} has no {START} ... {END} markers")
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--results", type=Path, default=ROOT / "docs" / "benchmark-results")
    parser.add_argument("--page", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--machine", default=None, help="the machine that ran them (default: this one)")
    args = parser.parse_args(argv)
    args.page.write_text(render(args.results, args.page, args.machine or machine()), encoding="utf-8")
    print(f"rendered {args.page} and the charts in {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
