"""The answerability judgement (`rag.judge`): how well P(是) separates right answers from wrong ones, and
what it costs.

    .venv/bin/python benchmarks/bench_judge.py [--limit N] [--skip K]

Each RGB development item (`../shared/eval/rgb-dev/`, noise 0.4 and noise 1.0) is indexed as its own corpus
and asked through the normal pipeline with the judgement off; the model is then asked to judge the final
answer over the sentences it cites. Prints the P(是) medians of true and of wrong answers, for each
threshold how many true answers it keeps and wrong ones it rejects, and the judgement's latency median.
Measured for `Settings.judge_min_yes` (see `rag/judge.py`'s docstring for the numbers).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from rag.cite import bigrams, overlap
from rag.cli import rgb_corpus
from rag.embed import SentenceTransformerEmbedder
from rag.evaluate import rgb_found
from rag.judge import judge
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.settings import ROOT, Settings

RGB = ROOT.parent / "shared" / "eval" / "rgb-dev"
FILES = ("zh_refine_noise0.4.jsonl", "zh_refine_noise1.0.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=30, help="items per file")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first K items of each file")
    args = ap.parse_args()
    s = Settings(judge_min_yes=0.0)
    generator = Pipeline(s).generator
    embedder = SentenceTransformerEmbedder(s)
    right: list[float] = []
    wrong: list[float] = []
    costs: list[float] = []
    for name in FILES:
        lines = (RGB / name).read_text(encoding="utf-8").splitlines()
        for line in lines[args.skip : args.skip + args.limit]:
            it = json.loads(line)
            with rgb_corpus(it, s, embedder) as st:
                a = Pipeline(st, Retriever(st, embedder=embedder), generator=generator).ask(it["question"])
            evidence = "".join(dict.fromkeys(c.text for c in a.citations))
            if a.refused or not evidence:
                continue
            t0 = time.perf_counter()
            p = judge(generator, it["question"], a.answer, evidence)
            costs.append(time.perf_counter() - t0)
            true = it.get("answerable", True) and rgb_found(a.answer, it["answer"])
            (right if true else wrong).append(p)
            # How much of the question the cited sentences restate: a second signal beside P(是).
            cover = overlap(bigrams(it["question"]), bigrams(evidence))
            print(f"{'T' if true else 'F'} {p:.3f} cover {cover:.2f} {it['id']} {a.answer[:40]!r}", flush=True)
    print(f"true answers: {len(right)}, P(是) median {statistics.median(right or [0]):.3f}")
    print(f"wrong answers: {len(wrong)}, P(是) median {statistics.median(wrong or [0]):.3f}")
    for th in (0.6, 0.7, 0.8, 0.85, 0.88, 0.90, 0.92, 0.94):
        kept = sum(p >= th for p in right)
        rejected = sum(p < th for p in wrong)
        print(f"  threshold {th:.2f}: keeps {kept}/{len(right)} true, rejects {rejected}/{len(wrong)} wrong")
    print(f"judgement latency median {statistics.median(costs or [0]):.2f} s")


if __name__ == "__main__":
    main()
