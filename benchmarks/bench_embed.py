"""Passage embedding throughput, before (torch) and after (OpenVINO, the default), in one run.

    flock /tmp/gaoxin-model.lock .venv/bin/python benchmarks/bench_embed.py [--quick] [--repeats 3] [--recall]
        [--options]

The seeds' chunks (the exact texts the index embeds), in batches of `embed_batch_size` as
`rag.index` hands them over. Runs alternate between the two paths so a change in other load
hits both alike; the median of `--repeats` runs is reported with min/mean cosine of the new
vectors to the torch ones. `--recall` also builds a throwaway index per path and scores dev
recall@5; `--options` adds the other candidates measured (torch with length sorting, torch
bf16, torch int8 dynamic quantisation, OpenVINO in float32). Target on 2 idle cores: ≥ 50 chunks/s,
cosine ≥ 0.99. Writes benchmarks/out/embed.json for run_all.py.
"""

from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from measure import DEV, machine, parser, print_targets, target, write_result

from rag import index
from rag.embed import PASSAGE_PREFIX, SentenceTransformerEmbedder
from rag.settings import Settings

CHUNKS_PER_S_TARGET = 50.0
COSINE_TARGET = 0.99

Embed = Callable[[Sequence[str]], np.ndarray]


def seed_chunks(settings: Settings) -> list[str]:
    """What `index.build` embeds for the seeds: `embed_text` of every chunk, in document order."""
    from rag.chunk import chunk_document
    from rag.load import load_file
    from rag.profile import activate

    activate(settings.profile)
    return [index.embed_text(c) for p in index.source_files(settings) for c in chunk_document(load_file(p), settings)]


def as_index_does(embed: Embed, texts: Sequence[str], batch: int, sort: bool) -> np.ndarray:
    """Batches of `batch` texts, as `rag.build._embed_missing` sends them (sorted by length when `sort`)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i])) if sort else list(range(len(texts)))
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for i in range(0, len(order), batch):
        rows = order[i : i + batch]
        out[rows] = embed([texts[j] for j in rows])
    return out


def timed(embed: Embed, texts: Sequence[str], batch: int, sort: bool) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    v = as_index_does(embed, texts, batch, sort)
    return len(texts) / (time.perf_counter() - t0), v


def cosines(v: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    c = np.sum(v * ref, axis=1)
    return {"min": round(float(c.min()), 6), "mean": round(float(c.mean()), 6)}


def recall_at_5(settings: Settings, embedder: SentenceTransformerEmbedder) -> float:
    """dev recall@5 of an index built in a temp dir with `embedder` (the real index is never touched)."""
    import json

    from rag.evaluate import retrieval_metrics
    from rag.retrieve import Retriever

    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        s = settings.model_copy(update={"index_dir": Path(tmp) / "index", "data_dir": Path(tmp) / "data"})
        index.build(s, embedder=embedder, progress=False, log=lambda _m: None)
        r = Retriever(s, embedder=embedder)
        return float(retrieval_metrics(items, lambda q, k: r.search(q, k), k=10)["recall@5"])


def extra_options(base: SentenceTransformerEmbedder) -> dict[str, Embed]:
    """The candidates that lost, rebuilt here so their numbers can be re-measured."""
    import torch

    ref_model = base.model
    out: dict[str, Embed] = {}

    def st_encode(m: object) -> Embed:
        def f(texts: Sequence[str]) -> np.ndarray:
            v = m.encode([PASSAGE_PREFIX + t for t in texts], batch_size=len(texts), convert_to_tensor=True)  # type: ignore[attr-defined]
            v = v.float().numpy()
            return v / np.linalg.norm(v, axis=1, keepdims=True)

        return f

    bf16 = copy.deepcopy(ref_model).to(torch.bfloat16)
    out["torch bf16 weights, length-sorted"] = st_encode(bf16)
    int8 = copy.deepcopy(ref_model)
    torch.ao.quantization.quantize_dynamic(int8, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    out["torch int8 dynamic (Linear), length-sorted"] = st_encode(int8)

    from rag.embed import EMBED_THREADS, OpenVINOEngine, ensure_openvino_model

    f32 = OpenVINOEngine(ensure_openvino_model(base.settings), EMBED_THREADS, precision="f32")
    out["openvino float32 (CPUs without bf16), length-sorted"] = lambda t: f32.encode([PASSAGE_PREFIX + x for x in t])
    return out


def main() -> dict:
    ap = parser(__doc__)
    ap.add_argument("--repeats", type=int, default=None, help="runs per path (default 3, --quick 1)")
    ap.add_argument("--recall", action="store_true", help="also dev recall@5 of an index built with each path")
    ap.add_argument("--options", action="store_true", help="also the losing candidates (slow: ~2 min more)")
    args = ap.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    settings = Settings()
    texts = seed_chunks(settings)
    if args.quick:
        texts = texts[:64]
    batch = settings.embed_batch_size
    before = SentenceTransformerEmbedder(settings.model_copy(update={"embed_backend": "torch"}))
    after = SentenceTransformerEmbedder(settings.model_copy(update={"embed_backend": "openvino"}))
    load_s = {}
    for name, e in (("before", before), ("after", after)):
        t0 = time.perf_counter()
        e.embed(["预热"], query=False)  # model load (and a first export) is not throughput
        load_s[name] = round(time.perf_counter() - t0, 2)
    load_avg = os.getloadavg()

    # before: the old path exactly (torch, chunks in document order); after: the new default path.
    paths: dict[str, tuple[Embed, bool]] = {
        "before: torch float32 (old default)": (lambda t: before.embed(t, query=False), False),
        "after: openvino, length-sorted (new default)": (lambda t: after.embed(t, query=False), True),
    }
    ref = as_index_does(paths["before: torch float32 (old default)"][0], texts, batch, False)
    if args.options:
        paths |= {name: (f, True) for name, f in extra_options(before).items()}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    vecs: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for name, (f, sort) in paths.items():  # interleaved: a burst of other load hits every path alike
            rate, vecs[name] = timed(f, texts, batch, sort)
            rates[name].append(rate)
    rows = {
        name: {
            "chunks_per_s": round(statistics.median(r), 1),
            "runs": [round(x, 1) for x in r],
            "cosine_vs_torch": cosines(vecs[name], ref),
        }
        for name, r in rates.items()
    }
    b, a = rows["before: torch float32 (old default)"], rows["after: openvino, length-sorted (new default)"]
    out = {
        "quick": args.quick,
        "chunks": len(texts),
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "batch": batch,
        "repeats": repeats,
        "load_s": load_s,
        "load_average_at_start": [round(x, 2) for x in load_avg],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
        "paths": rows,
        "speedup": round(a["chunks_per_s"] / b["chunks_per_s"], 2),
    }
    targets = [
        target("embedding throughput (after)", a["chunks_per_s"], CHUNKS_PER_S_TARGET, "chunks/s", True),
        target("min cosine to the torch vectors", a["cosine_vs_torch"]["min"], COSINE_TARGET, "", True),
    ]
    if args.recall:
        out["recall@5"] = {"before": recall_at_5(settings, before), "after": recall_at_5(settings, after)}
        targets.append(
            target("dev recall@5 after / before", out["recall@5"]["after"], out["recall@5"]["before"], "", True)
        )
    out["targets"] = targets

    print(f"{len(texts)} seed chunks (mean {out['mean_chars']} chars), batches of {batch}, median of {repeats} run(s)")
    print(f"load average {out['load_average_at_start']} → {out['load_average_at_end']} (other processes skew this)")
    print(f"{'path':55s} {'chunks/s':>9s}  {'runs':22s} cosine vs torch (min / mean)")
    for name, r in rows.items():
        c = r["cosine_vs_torch"]
        runs = " ".join(f"{x:.1f}" for x in r["runs"])
        print(f"{name:55s} {r['chunks_per_s']:9.1f}  {runs:22s} {c['min']:.6f} / {c['mean']:.6f}")
    print(f"speed-up after/before: {out['speedup']}x")
    if args.recall:
        print(f"dev recall@5: before {out['recall@5']['before']:.3f}  after {out['recall@5']['after']:.3f}")
    print_targets(targets)
    write_result("embed", out, args.out)
    return out


if __name__ == "__main__":
    main()
