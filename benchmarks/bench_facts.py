"""How long listing every figure the seeds state takes: the facts behind `gaoxin facts`, `rag.facts()`, the
`/facts` API and the 数据 tab.

    .venv/bin/python benchmarks/bench_facts.py [--quick] [--repeats 50]

Target: listing all facts of the seeds ≤ 50 ms. Timed with the fact store loaded (what a running server
does on every request) and with the load included (what one `gaoxin facts` run does: read the index files
and checksum them, build the `FactStore`). Prints medians and ratios to target; writes benchmarks/out/facts.json.
Needs a built index (`gaoxin index build`); no model is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from measure import parser, print_targets, summary, target, write_result

from rag import index as index_mod
from rag.facts import FactStore, period_key
from rag.settings import Settings
from ui.data import DataService

LIST_TARGET_MS = 50.0


def timed(fn: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    """Milliseconds of each of `repeats` calls (after one untimed warm-up call) and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, out


def list_all(store: FactStore) -> list:
    """Every fact in period order, as `gaoxin facts` (no filter) lists them."""
    return sorted(store.select(), key=lambda f: (period_key(f.period), f.doc, f.start))


def main() -> dict:
    ap = parser(__doc__)
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per case (default 50, --quick 10)")
    args = ap.parse_args()
    repeats = args.repeats or (10 if args.quick else 50)
    settings = Settings()
    # Staleness is not checked: it compares the index with the code, which may be mid-edit; the files are
    # read (and, in the first load-included case, checksummed) either way.
    data = index_mod.load(settings, check_stale=False)
    store = FactStore(data.facts)
    svc = DataService.from_facts(settings, data.facts, data.chunks)

    cases: dict[str, Callable[[], object]] = {
        "list all facts (store loaded)": lambda: list_all(store),
        "/facts records, all facts (store loaded)": lambda: svc.records(),
        "数据 tab rows, 地区生产总值 · zone (store loaded)": lambda: svc.series_rows("地区生产总值", "zone"),
        "list all facts (load included: checksummed index)": lambda: list_all(
            FactStore(index_mod.load(settings, check_stale=False).facts)
        ),
        "list all facts (load included: unverified, as the tab)": lambda: list_all(
            FactStore(index_mod.load(settings, verify=False, check_stale=False).facts)
        ),
    }
    results = {}
    for name, fn in cases.items():
        # Loading reads every index file (FAISS, vectors, chunks): a tenth of the repeats says enough.
        n = max(3, repeats // 10) if "load included" in name else repeats
        times, out = timed(fn, n)
        results[name] = {"ms": summary(times, 2), "items": len(out)}  # type: ignore[arg-type]

    print(f"{len(store)} facts in {len(data.manifest.get('docs') or {})} documents; medians of timed calls:")
    for name, r in results.items():
        print(
            f"  {name:58s} {r['ms']['p50']:8.2f} ms  (p95 {r['ms']['p95']:.2f}, n={r['ms']['n']}, {r['items']} items)"
        )
    targets = [
        target("list all facts, store loaded (median)", results["list all facts (store loaded)"]["ms"]["p50"],
               LIST_TARGET_MS, "ms"),
        target("/facts records, store loaded (median)",
               results["/facts records, all facts (store loaded)"]["ms"]["p50"], LIST_TARGET_MS, "ms"),
        target("list all facts, load included (median)",
               results["list all facts (load included: checksummed index)"]["ms"]["p50"], LIST_TARGET_MS, "ms"),
    ]  # fmt: skip
    print("ratio to target (≤ 1 meets it):")
    print_targets(targets)
    out = {"quick": args.quick, "facts": len(store), "cases": results, "targets": targets}
    path = write_result("facts", out, args.out)
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
