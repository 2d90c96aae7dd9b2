"""The issues' targets checked against the suite's results, and the rich tables that show both."""
from __future__ import annotations

from _measure import paired_ratio
from _rows import ENGINE_MODES, FLOOR, REFERENCE

JUDGED_AT = "1"  # targets are judged at 1 BLAS thread: at 2 threads on 2 cores identical steps differ by 25%
# (workload, row, baseline row, limit): row's median time / baseline's, same process, interleaved.
TIME_TARGETS = [
    ("seed", "autograd", REFERENCE, 1.10),
    ("seed", "custom-relu", REFERENCE, 1.15),
    ("seed", "static", REFERENCE, 0.85),
    *(("tiny", mode, "torch eager", 0.50) for mode in ENGINE_MODES),  # at least 2x faster than torch
    ("wide", "static", FLOOR, 1.02),
    ("wide", "autograd", REFERENCE, 1.00),
    ("wide", "custom-relu", REFERENCE, 1.00),
    ("mlp", "engine", REFERENCE, 1.30),
    ("mlp", "static", REFERENCE, 1.00),
    ("digits", "autograd", "torch eager", 0.50),
    ("digits", "static", REFERENCE, 1.00),
    # torch.compile's speed (the compiled mode): the plan's speed with the optimizer step in it
    ("tiny", "compiled", REFERENCE, 2.00),
    ("seed", "compiled", REFERENCE, 0.90),
    ("mlp", "compiled", REFERENCE, 0.85),
    ("digits", "compiled", REFERENCE, 1.00),
]
ZERO_ALLOC_WORKLOADS = {"seed", "tiny", "wide"}  # allocation-free steps; mlp/digits gather minibatches, feed labels
FLAT_MIN_STEPS = 1000  # fewer steps (wide, --quick) cannot tell a leak from one-off caches: no flatness verdict
STARTUP_LIMIT = 1.5  # autotrain --help / python -c "import numpy"
MODES = ("manual", "autograd", "custom-relu", "static")


def _target(name, workload, threads, row, value, limit, unit="x"):
    return {"target": name, "workload": workload, "threads": threads, "row": row, "value": value,
            "limit": limit, "unit": unit, "passed": None if value is None else value <= limit}


def time_targets(result: dict) -> list[dict]:
    """The ratio targets that apply to one (workload, threads) result; a missing row gives value None.
    Only 1-thread results are judged."""
    rows, found = result["rows"], []
    if result["threads"] != JUDGED_AT:
        return found
    for workload, row, base, limit in TIME_TARGETS:
        if workload != result["workload"] or row not in rows and row not in result["skipped"]:
            continue
        value = paired_ratio(rows[row]["samples"], rows[base]["samples"]) if row in rows and base in rows else None
        found.append(_target(f"{row} <= {limit:.2f}x {base}", workload, result["threads"], row, value, limit))
    return found


def memory_targets(workload: str, memory: dict) -> list[dict]:
    """Static allocates no arrays per steady step; no mode's traced memory grows by 1 byte/step or more
    over the steady steps (leaking even the smallest Python object per step is 16 bytes/step)."""
    found = []
    if "static" in memory and workload in ZERO_ALLOC_WORKLOADS:
        found.append(_target("static: 0 arrays allocated per step", workload, "-", "static",
                             memory["static"]["allocs_per_step"], 0, unit="arrays"))
    for mode in MODES:
        m = memory.get(mode)
        if m and m["steps"] >= FLAT_MIN_STEPS:
            found.append(_target(f"{mode}: memory flat over {m['steps']:,} steps", workload, "-", mode,
                                 m["growth_bytes"] / m["growth_steps"], 1.0, unit="B/step"))
    return found


def startup_target(startup: dict) -> dict:
    s = startup["seconds"]
    ratio = s["autotrain --help"] / s["python -c 'import numpy'"]
    return _target(f"autotrain --help <= {STARTUP_LIMIT}x import numpy", "-", "-", "cli", ratio, STARTUP_LIMIT)


def verdict(passed) -> str:
    return {True: "[green]pass[/]", False: "[red]miss[/]", None: "[yellow]n/a[/]"}[passed]


def result_table(result: dict, memory: dict, targets: list[dict]):
    """One rich Table: every row of one workload at one thread setting, its target and verdict."""
    from rich.table import Table

    flops = f"{result['flops'] / 1e6:.2f} MFLOP/step · " if result["flops"] else ""
    table = Table(title=f"{result['workload']} ({result['describe']}) · BLAS threads {result['threads']} · "
                        f"{flops}{result['timed_steps']} timed steps/row · {result.get('clock', 'wall')} time")
    for column in ("row", "ms/step", f"x {result['reference']}", "GFLOP/s", "of matmul floor", "peak MiB",
                   "growth KiB",
                   "arrays/step", "faults/step", "target", ""):
        table.add_column(column, justify="left" if column in ("row", "target") else "right")
    by_row = {t["row"]: t for t in targets if t["threads"] == result["threads"] and t["unit"] == "x"
              and t["workload"] == result["workload"]}
    for name, r in result["rows"].items():
        m, t = memory.get(name, {}), by_row.get(name)
        table.add_row(name, f"{r['seconds'] * 1e3:.4g}", _ratio(r), _fmt(r["gflops"], ".1f"),
                      _fmt(r["floor_fraction"], ".0%"), _mib(m.get("peak_bytes")), _kib(m.get("growth_bytes")),
                      _int(m.get("allocs_per_step")), _float(m.get("faults_per_step")),
                      _describe(t), verdict(t["passed"]) if t else "")
    for name, note in result["skipped"].items():
        table.add_row(name, "-", "-", "-", "-", "-", "-", "-", "-", note, "")
    return table


def targets_table(targets: list[dict]):
    """Every target, its measured value and pass/miss."""
    from rich.table import Table

    table = Table(title=f"Targets (judged at {JUDGED_AT} BLAS thread)")
    for column in ("target", "workload", "threads", "measured", "limit", ""):
        table.add_column(column, justify="left" if column == "target" else "right")
    for t in targets:
        table.add_row(t["target"], t["workload"], str(t["threads"]), _value(t["value"], t["unit"]),
                      _value(t["limit"], t["unit"]), verdict(t["passed"]))
    return table


def _describe(t) -> str:
    if not t:
        return ""
    return t["target"].split(" ", 1)[1]


def _value(v, unit) -> str:
    if v is None:
        return "-"
    if unit == "x":
        return f"{v:.3f}x"
    return f"{v:,} {unit}" if isinstance(v, int) else f"{v:,.2f} {unit}"


def _ratio(r: dict) -> str:
    """The median per-round ratio and, when rounds disagree, ± half their interquartile range."""
    if r["ratio"] is None:
        return "-"
    spread = r.get("ratio_spread") or 0
    return f"{r['ratio']:.3f}" + (f" ±{spread:.3f}" if spread >= 0.0005 else "")


def _fmt(v, spec: str) -> str:
    """``v`` formatted, or "-" where a figure does not apply (no floor row, no reference, no flop count)."""
    return "-" if v is None else format(v, spec)


def _mib(v):
    return "-" if v is None else f"{v / 2**20:.2f}"


def _kib(v):
    return "-" if v is None else f"{v / 2**10:.1f}"


def _int(v):
    return "-" if v is None else str(v)


def _float(v):
    return "-" if v is None else f"{v:.1f}"


def markdown_table(results: list[dict]) -> str:
    """Every row of every (workload, threads) result as one Markdown table: ms/step (x reference),
    one column per result; for the README."""
    columns = [(r["workload"], r["threads"]) for r in results]
    names: list[str] = []
    for r in results:
        names += [n for n in [*r["rows"], *r["skipped"]] if n not in names]
    head = "| row | " + " | ".join(f"{w}, {t} thread{'s' if t != '1' else ''}" for w, t in columns) + " |"
    lines = [head, "|---" * (len(columns) + 1) + "|"]
    for name in names:
        cells = []
        for r in results:
            row = r["rows"].get(name)
            if row is None:
                cells.append("skipped" if name in r["skipped"] else "")
                continue
            ms = row["seconds"] * 1e3
            cells.append(f"{ms:.3g} ({row['ratio']:.2f}x)" if row["ratio"] is not None else f"{ms:.3g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
