"""What every benchmark script shares: percentiles, target ratios, peak RSS, the JSON result file.

Each script writes one JSON result (default ``benchmarks/out/<name>.json``, git-ignored) with a
``targets`` list that `run_all.py` turns into the "ratio to target" table, plus its own tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


class TimedEmbedder:
    """Passes through to `inner`, adding up the time spent embedding (to split it off search latency)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self.inner.embed(texts, query=query)
        finally:
            self.seconds += time.perf_counter() - t0


def parser(description: str | None) -> argparse.ArgumentParser:
    """Argument parser with the options every benchmark takes (`--quick`, `--out`)."""
    ap = argparse.ArgumentParser(description=(description or "").strip().splitlines()[0] if description else None)
    ap.add_argument("--quick", action="store_true", help="smoke run: a fraction of the work, same code path")
    ap.add_argument("--out", type=Path, default=None, help="where to write the JSON result")
    return ap


def summary(values: Sequence[float], digits: int = 1) -> dict[str, float | int]:
    """n, median (p50), p95, mean, min, max of `values` (linear interpolation, like numpy)."""
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=float)
    return {
        "n": len(a),
        "p50": round(float(np.percentile(a, 50)), digits),
        "p95": round(float(np.percentile(a, 95)), digits),
        "mean": round(float(a.mean()), digits),
        "min": round(float(a.min()), digits),
        "max": round(float(a.max()), digits),
    }


def target(
    metric: str, value: float | None, limit: float, unit: str, higher_is_better: bool = False, *, near: float = 0.0
) -> dict:
    """One row of the targets table; `ratio` is value/limit, so ≤ 1 meets a "≤" target (≥ 1 for "≥").

    With `near`, the target is "≈ limit": met when the ratio is within ±near of 1.
    """
    op = "≈" if near else "≥" if higher_is_better else "≤"
    if value is None:
        return {"metric": metric, "value": None, "target": limit, "unit": unit, "op": op, "ratio": None, "ok": None}
    ratio = value / limit if limit else float("nan")
    ok = abs(ratio - 1) <= near if near else ratio >= 1 if higher_is_better else ratio <= 1
    return {
        "metric": metric,
        "value": round(float(value), 3),
        "target": limit,
        "unit": unit,
        "op": op,
        "ratio": round(float(ratio), 2),
        "ok": bool(ok),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict[str, Any]:
    """Context a reader needs to judge the numbers: cores and how busy the machine was."""
    return {
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def dev_questions(n: int | None = None) -> list[str]:
    """`n` dev-set questions spread evenly over the file (every category), or all of them."""
    if not DEV.is_file():
        raise SystemExit(f"dev set not found: {DEV}")
    qs = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    if n is None or n >= len(qs):
        return qs
    step = len(qs) / n
    return [qs[int(i * step)] for i in range(n)]


def write_result(name: str, result: dict[str, Any], out: Path | None) -> Path:
    path = out or OUT_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"name": name, "machine": machine(), **result}
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def fmt(v: Any) -> str:
    """A number for a table: thousands with no decimals, tens with one, small values with 3 significant digits."""
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, float | int):
        return str(v)
    if v != v or v in (float("inf"), float("-inf")):  # nan / inf
        return str(v)
    if isinstance(v, int) or abs(v) >= 1000 or float(v).is_integer():
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def print_targets(rows: Sequence[dict]) -> None:
    for r in rows:
        if r["value"] is None:
            print(f"  {r['metric']:38s} n/a")
            continue
        flag = "ok" if r["ok"] else "MISS"
        print(
            f"  {r['metric']:40s} {fmt(r['value']):>9s} {r['unit']:3s} target {r['op']} {fmt(r['target']):<6s}"
            f" ratio {fmt(r['ratio']):>5s} {flag}"
        )
