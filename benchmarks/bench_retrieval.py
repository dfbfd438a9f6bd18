"""Index build time for the seeds and per-query retrieval latency (models warm).

    .venv/bin/python benchmarks/bench_retrieval.py [--repeats 3]

Targets on 2 cores: build ≤ 30 s, search p50 ≤ 30 ms. Prints medians and ratios to target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from rag import index
from rag.embed import SentenceTransformerEmbedder
from rag.retrieve import Retriever
from rag.settings import ROOT, Settings

DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
QUESTIONS = [
    "2024年昆山高新区地区生产总值是多少",
    "高新区有多少家高新技术企业",
    "昆山市十四五科技创新规划的主要目标",
    "瑞博生物什么时候上市",
    "营商环境服务品牌叫什么",
]


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    base = Settings()
    emb = SentenceTransformerEmbedder(base)
    emb.embed(["预热"], query=False)  # model load is not part of build time
    builds = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            s = Settings(index_dir=Path(tmp) / "index", data_dir=Path(tmp) / "data")
            t0 = time.perf_counter()
            m = index.build(s, embedder=emb, progress=False, log=lambda _m: None)
            builds.append(time.perf_counter() - t0)
    r = Retriever(base, embedder=emb)
    r.warm()
    qs = QUESTIONS
    if DEV.is_file():
        qs = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    lat = []
    for q in qs * 3:
        t0 = time.perf_counter()
        r.search(q, 5)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    out = {
        "chunks": m["n_chunks"],
        "build_s_median": round(statistics.median(builds), 2),
        "build_ratio_to_30s": round(statistics.median(builds) / 30, 2),
        "search_ms_p50": round(lat[len(lat) // 2], 1),
        "search_ms_p95": round(lat[int(0.95 * (len(lat) - 1))], 1),
        "search_ratio_to_30ms": round(lat[len(lat) // 2] / 30, 2),
        "queries": len(lat),
    }
    for k, v in out.items():
        print(f"{k:24s} {v}")
    return out


if __name__ == "__main__":
    main()
