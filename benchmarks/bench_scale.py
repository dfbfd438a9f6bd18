"""How indexing and search scale past the five seed documents.

    .venv/bin/python benchmarks/bench_scale.py [--quick] [--chunks 10000] [--ivf-n 50000] [--real-embed]

1. A synthetic corpus: seed sentences recombined into documents (headings, paragraphs), every
   figure replaced by a random one. `rag.index.build` runs on it end to end (load, clean, chunk,
   BM25 tokens, FAISS, checksums, atomic write) — build throughput in chunks/s.
2. Dense vectors. Embedding 10k chunks with e5 on 2 shared cores takes many minutes, so by default
   the build gets *proxy* vectors (hashed character bigrams, randomly projected to 384-d, unit
   length: text-dependent, clustered like real embeddings, nearly free) and the real e5 throughput
   is measured on a sample of the same chunks; the report adds the two. `--real-embed` embeds
   everything with e5 instead.
3. Search latency at 1k / 5k / 10k chunks: the real `Retriever.search` (e5 query embedding, FAISS,
   BM25, fusion, cues, windows) on the first n chunks of that index.
4. FAISS alone up to `rag.generation.IVF_THRESHOLD` (50k) chunks, where `make_faiss` switches from
   exact `IndexFlatIP` to `IndexIVFFlat`: per-query latency of both and the IVF's recall@10
   against flat, for proxy vectors and for random unit vectors (no cluster structure: worst case).
   `--quick` lowers the threshold to 5k so the IVF code path runs in seconds.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from measure import TimedEmbedder, dev_questions, parser, print_targets, summary, target, write_result

from rag import index as index_mod
from rag.settings import Settings

DIM = 384
PROXY_BUCKETS = 4096
SEARCH_TARGET_MS = 30.0
RECALL_TARGET = 0.95
_SENT = re.compile(r"[^。！？\n]{8,160}[。！？]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CN = "一二三四五六七八九十"


class ProxyEmbedder:
    """Hashed character bigrams → fixed random projection → unit vectors. Times its own work."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.proj = (rng.standard_normal((PROXY_BUCKETS, DIM)) / np.sqrt(DIM)).astype(np.float32)
        self.seconds = 0.0

    def embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        t0 = time.perf_counter()
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), 2048):  # bounded memory: the count matrix is 2048 × 4096 at most
            batch = texts[start : start + 2048]
            counts = np.zeros((len(batch), PROXY_BUCKETS), dtype=np.float32)
            for i, t in enumerate(batch):
                codes = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
                if len(codes) > 1:
                    h = (codes[:-1] * 1_000_003 + codes[1:]) % PROXY_BUCKETS
                    counts[i] = np.bincount(h, minlength=PROXY_BUCKETS)
            out[start : start + len(batch)] = np.sqrt(counts) @ self.proj  # sqrt damps repeats, like tf weighting
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        self.seconds += time.perf_counter() - t0
        return out


def seed_sentences() -> tuple[list[str], list[str]]:
    """(sentences, document titles) of the seeds, for recombination."""
    sents, titles = [], []
    for p in sorted(Settings().seeds_dir.glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        titles.append(next((ln.strip() for ln in text.splitlines() if ln.strip()), p.stem)[:40])
        sents += [m.group(0).strip() for m in _SENT.finditer(text)]
    return sents, titles


def _renumber(s: str, rng: random.Random) -> str:
    def new(m: re.Match[str]) -> str:
        old = m.group(0)
        if len(old) == 4 and old.startswith("20"):
            return str(rng.randint(2010, 2030))  # years stay years, so period cues keep working
        if "." in old:
            return f"{rng.uniform(0, 10 ** len(old.split('.')[0])):.{len(old.split('.')[1])}f}"
        return str(rng.randint(1, 10 ** len(old)))

    return _NUMBER.sub(new, s)


def write_corpus(folder: Path, n_chars: int, rng: random.Random) -> int:
    """Synthetic .txt documents of about `n_chars` characters in all; returns the document count."""
    sents, titles = seed_sentences()
    folder.mkdir(parents=True, exist_ok=True)
    written, n_docs = 0, 0
    while written < n_chars:
        parts = [f"{rng.choice(titles)}（合成{n_docs}）", ""]
        for s in range(rng.randint(3, 8)):
            parts += [f"{_CN[s]}、{rng.choice(sents).strip('。，,、 ')[:16]}", ""]
            for _ in range(rng.randint(2, 5)):
                parts += ["".join(_renumber(rng.choice(sents), rng) for _ in range(rng.randint(2, 6))), ""]
        text = "\n".join(parts)
        (folder / f"syn_{n_docs:05d}.txt").write_text(text, encoding="utf-8")
        written += len(text)
        n_docs += 1
    return n_docs


def synthetic_texts(n: int, rng: random.Random) -> list[str]:
    """`n` chunk-sized texts (about 250 characters) for the FAISS-only part: no chunker needed."""
    sents, _ = seed_sentences()
    out = []
    for _ in range(n):
        t = ""
        while len(t) < 200:
            t += _renumber(rng.choice(sents), rng)
        out.append(t[:300])
    return out


def search_latency(settings: Settings, data: index_mod.IndexData, n: int, embedder: Any, qs: list[str]) -> dict:
    """Retriever.search over the first `n` chunks (same code path as the app, smaller corpus).

    The query embedding does not depend on the corpus size, so it is also reported apart.
    """
    from rag.retrieve import Retriever

    sub = index_mod.IndexData(
        chunks=data.chunks[:n],
        vectors=data.vectors[:n],
        tokens=data.tokens[:n],
        manifest=data.manifest,
        faiss_index=index_mod.make_faiss(data.vectors[:n]),
        sources=data.sources,
    )
    timed = TimedEmbedder(embedder)
    r = Retriever(settings, embedder=timed, data=sub)
    t0 = time.perf_counter()
    r.search(qs[0], 5)  # builds the BM25 postings: a load-time cost, not per query
    setup_s = time.perf_counter() - t0
    total, rest = [], []
    for q in qs:
        before = timed.seconds
        t0 = time.perf_counter()
        r.search(q, 5)
        ms = (time.perf_counter() - t0) * 1000
        total.append(ms)
        rest.append(ms - (timed.seconds - before) * 1000)
    return {
        "chunks": n,
        "ms": summary(total),
        "without_query_embedding_ms": summary(rest),
        "setup_s": round(setup_s, 2),
    }


def faiss_part(n: int, queries: int, rng: random.Random, proxy: ProxyEmbedder) -> dict[str, Any]:
    """Flat vs the index `make_faiss` builds at n (IVF at/above the threshold): latency and recall@10."""
    import faiss

    texts = synthetic_texts(n + queries, rng)
    out: dict[str, Any] = {"n": n, "threshold": index_mod.IVF_THRESHOLD}
    kinds = {
        "proxy": proxy.embed(texts, query=False),
        "random": _unit(np.random.default_rng(1).standard_normal((n + queries, DIM)).astype(np.float32)),
    }
    for kind, vecs in kinds.items():
        base, q = np.ascontiguousarray(vecs[:n]), np.ascontiguousarray(vecs[n:])
        flat = faiss.IndexFlatIP(DIM)
        flat.add(base)
        t0 = time.perf_counter()
        approx = index_mod.make_faiss(base)
        build_s = time.perf_counter() - t0
        _, truth = flat.search(q, 10)
        _, got = approx.search(q, 10)
        recall = _recall(truth, got)
        sweep = {}
        if hasattr(approx, "nprobe"):
            default = approx.nprobe
            for nprobe in (16, 32, 64, 128, 256):
                approx.nprobe = nprobe
                _, got_p = approx.search(q, 10)
                sweep[nprobe] = {"recall_at_10": _recall(truth, got_p), "ms": _per_query_ms(approx, q[:50])["p50"]}
            approx.nprobe = default
        out[kind] = {
            "nprobe_sweep": sweep,
            "index": type(approx).__name__,
            "nlist": getattr(approx, "nlist", None),
            "nprobe": getattr(approx, "nprobe", None),
            "build_s": round(build_s, 2),
            "recall_at_10": recall,
            "flat_ms": _per_query_ms(flat, q),
            "approx_ms": _per_query_ms(approx, q),
        }
    return out


def _recall(truth: np.ndarray, got: np.ndarray) -> float:
    return round(float(np.mean([len(set(truth[i]) & set(got[i])) / truth.shape[1] for i in range(len(truth))])), 4)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _per_query_ms(idx: Any, q: np.ndarray) -> dict:
    lat = []
    for i in range(len(q)):
        t0 = time.perf_counter()
        idx.search(q[i : i + 1], 60)  # 60 = retrieve.CANDIDATES, what the app asks FAISS for
        lat.append((time.perf_counter() - t0) * 1000)
    return summary(lat, 2)


def main() -> dict[str, Any]:
    ap = parser(__doc__)
    ap.add_argument("--chunks", type=int, default=None, help="target chunks of the built corpus (10000; quick 1000)")
    ap.add_argument("--ivf-n", type=int, default=None, help="vectors for the FAISS part (default: the IVF threshold)")
    ap.add_argument("--real-embed", action="store_true", help="embed the whole corpus with e5 (slow)")
    args = ap.parse_args()
    rng = random.Random(0)
    target_chunks = args.chunks or (1000 if args.quick else 10_000)
    documented = index_mod.IVF_THRESHOLD
    ivf_n = args.ivf_n or documented  # 50k proxy vectors cost seconds, so even --quick measures the real setup
    if ivf_n < documented:
        from rag import generation

        # exercise the IVF code path at a smaller size (`make_faiss` reads the constant where it lives)
        generation.IVF_THRESHOLD = index_mod.IVF_THRESHOLD = ivf_n
    sizes = [n for n in ((300, 1000) if args.quick else (1000, 5000, 10_000)) if n <= target_chunks]

    from rag.embed import SentenceTransformerEmbedder

    e5 = SentenceTransformerEmbedder(Settings())
    e5.embed(["预热"], query=True)
    proxy = ProxyEmbedder()
    res: dict[str, Any] = {"quick": args.quick, "real_embed": args.real_embed}
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings(seeds_dir=Path(tmp) / "docs", index_dir=Path(tmp) / "index", data_dir=Path(tmp) / "data")
        # ~180 new characters per chunk with the default size/overlap (measured on the seeds: 236 chunks).
        n_docs = write_corpus(s.seeds_dir, int(target_chunks * 190), rng)
        print(f"corpus: {n_docs} synthetic documents; building the index…", flush=True)
        emb = e5 if args.real_embed else proxy
        t0 = time.perf_counter()
        m = index_mod.build(s, embedder=emb, progress=False, log=lambda _m: None)
        build_s = time.perf_counter() - t0
        data = index_mod.load(s)
        n_chunks = m["n_chunks"]
        sample = [index_mod.embed_text(c) for c in data.chunks[: 64 if args.quick else 256]]
        t0 = time.perf_counter()
        for i in range(0, len(sample), s.embed_batch_size):
            e5.embed(sample[i : i + s.embed_batch_size], query=False)
        e5_rate = len(sample) / (time.perf_counter() - t0)
        nonembed_s = build_s - (0 if args.real_embed else proxy.seconds)
        est_real_s = build_s if args.real_embed else nonembed_s + n_chunks / e5_rate
        res["build"] = {
            "docs": n_docs,
            "chunks": n_chunks,
            "chars": sum(len(t) for t in data.sources.values()),
            "build_s": round(build_s, 1),
            "vectors": "e5" if args.real_embed else "proxy",
            "proxy_embed_s": None if args.real_embed else round(proxy.seconds, 2),
            "build_without_embedding_s": round(nonembed_s, 1),
            "chunks_per_s_without_embedding": round(n_chunks / nonembed_s, 1),
            "e5_chunks_per_s": round(e5_rate, 1),
            "e5_sample": len(sample),
            "estimated_build_with_e5_s": round(est_real_s, 1),
            "estimated_chunks_per_s_with_e5": round(n_chunks / est_real_s, 1),
        }
        b = res["build"]
        print(
            f"built {n_chunks} chunks in {b['build_s']} s (without embedding {b['chunks_per_s_without_embedding']}"
            f" chunks/s); e5 {b['e5_chunks_per_s']} chunks/s → with e5 ≈ {b['estimated_build_with_e5_s']} s",
            flush=True,
        )

        qs = dev_questions(10 if args.quick else 30)
        res["search"] = []
        # The whole corpus too, unless it is about the largest size already.
        for n in [*sizes, n_chunks] if n_chunks > sizes[-1] * 1.05 else sizes:
            row = search_latency(s, data, min(n, n_chunks), e5, qs)
            res["search"].append(row)
            lat, rest = row["ms"], row["without_query_embedding_ms"]
            print(
                f"search @ {row['chunks']:>6} chunks: p50 {lat['p50']} ms  p95 {lat['p95']} ms"
                f"  (without the query embedding: p50 {rest['p50']} p95 {rest['p95']} ms)",
                flush=True,
            )

    print(f"FAISS at {ivf_n} vectors (IVF threshold {index_mod.IVF_THRESHOLD}, documented {documented})…", flush=True)
    fp = faiss_part(ivf_n, 100 if args.quick else 300, rng, proxy)
    res["faiss"] = {**fp, "documented_threshold": documented}
    for kind in ("proxy", "random"):
        k = fp[kind]
        print(
            f"  {kind:6s} {k['index']} nlist {k['nlist']} nprobe {k['nprobe']}: recall@10 {k['recall_at_10']}"
            f"  ms/query flat {k['flat_ms']['p50']} vs {k['approx_ms']['p50']}  (train+add {k['build_s']} s)",
            flush=True,
        )
        sweep = ", ".join(f"{p}: {v['recall_at_10']} ({v['ms']} ms)" for p, v in k["nprobe_sweep"].items())
        print(f"         nprobe → recall@10 (ms/query): {sweep}", flush=True)
    largest = res["search"][-1]
    targets = [
        target(f"search p50 @ {largest['chunks']} chunks", largest["ms"]["p50"], SEARCH_TARGET_MS, "ms"),
        target(f"IVF recall@10 @ {ivf_n} (proxy vectors)", fp["proxy"]["recall_at_10"], RECALL_TARGET, "", True),
    ]
    res["targets"] = targets
    print_targets(targets)
    print("wrote", write_result("scale", res, args.out))
    return res


if __name__ == "__main__":
    main()
