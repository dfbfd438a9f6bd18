"""Index build time for the seeds and per-query retrieval latency (models warm).

    .venv/bin/python benchmarks/bench_retrieval.py [--quick] [--repeats 3]

Targets on 2 cores: build ≤ 30 s, search p50 ≤ 30 ms. Prints medians and ratios to target;
writes benchmarks/out/retrieval.json for run_all.py.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from measure import TimedEmbedder, dev_questions, parser, print_targets, summary, target, write_result

from rag import index
from rag.embed import SentenceTransformerEmbedder
from rag.retrieve import Retriever
from rag.settings import Settings

BUILD_TARGET_S = 30.0
SEARCH_TARGET_MS = 30.0


def main() -> dict:
    ap = parser(__doc__)
    ap.add_argument("--repeats", type=int, default=None, help="index builds (default 3, --quick 1)")
    args = ap.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    base = Settings()
    emb = SentenceTransformerEmbedder(base)
    t0 = time.perf_counter()
    emb.embed(["预热"], query=False)  # model load is not part of build time
    load_s = time.perf_counter() - t0
    builds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            s = Settings(index_dir=Path(tmp) / "index", data_dir=Path(tmp) / "data")
            t0 = time.perf_counter()
            m = index.build(s, embedder=emb, progress=False, log=lambda _m: None)
            builds.append(time.perf_counter() - t0)
    timed = TimedEmbedder(emb)
    r = Retriever(base, embedder=timed)
    r.warm()
    qs = dev_questions(10 if args.quick else None)
    rounds = 1 if args.quick else 3
    r.search(qs[0], 5)  # first search builds jieba's dictionary: a one-off, not per-query latency
    lat, embed_ms = [], []
    for q in qs * rounds:
        before = timed.seconds
        t0 = time.perf_counter()
        r.search(q, 5)
        lat.append((time.perf_counter() - t0) * 1000)
        embed_ms.append((timed.seconds - before) * 1000)
    build_s = statistics.median(builds)
    search = summary(lat)
    targets = [
        target("index build on seeds (median)", build_s, BUILD_TARGET_S, "s"),
        target("search latency p50", search["p50"], SEARCH_TARGET_MS, "ms"),
    ]
    out = {
        "quick": args.quick,
        "chunks": m["n_chunks"],
        "embedder_load_s": round(load_s, 2),
        "build_s": [round(b, 2) for b in builds],
        "build_s_median": round(build_s, 2),
        "build_chunks_per_s": round(m["n_chunks"] / build_s, 1),
        "search_ms": search,
        # The query embedding is most of a search; on busy cores it is also what varies most.
        "query_embedding_ms": summary(embed_ms),
        "search_without_embedding_ms": summary([a - b for a, b in zip(lat, embed_ms, strict=True)]),
        "targets": targets,
    }
    print(f"chunks {out['chunks']}  builds {out['build_s']} s  ({out['build_chunks_per_s']} chunks/s)")
    print(f"search ms over {search['n']} queries: p50 {search['p50']}  p95 {search['p95']}  max {search['max']}")
    emb_ms, rest = out["query_embedding_ms"], out["search_without_embedding_ms"]
    print(f"  of which query embedding p50 {emb_ms['p50']} ms; the rest p50 {rest['p50']} p95 {rest['p95']} ms")
    print_targets(targets)
    print("wrote", write_result("retrieval", out, args.out))
    return out


if __name__ == "__main__":
    main()
