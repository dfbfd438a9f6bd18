"""Refusals the quote can rescue: when the model declines, does the passage sentence that best fits the
question (of the asked period and area, stating the asked kind of figure) answer it? The local model
judges yes or no over that sentence alone (`rag.judge`); this measures how well its P(是) separates quotes
that hold the answer from quotes that do not, on a question set whose items say which is which.

    .venv/bin/python benchmarks/bench_rescue.py ../shared/eval/dev.jsonl
    .venv/bin/python benchmarks/bench_rescue.py benchmarks/fixtures/probe8/questions.jsonl \
        --docs benchmarks/fixtures/probe8/docs --today 2026-12-01

Each item without history and not a yes/no question is retrieved as the pipeline retrieves it; its quote
(`rag.quote.extractive_answer`, strict) is judged. A quote is right when the item is answerable and the
quote states every `must_include` string; otherwise it is wrong. Prints the P(是) of each, then for each
threshold how many right quotes it keeps and wrong ones it rejects.

Measured (1.5B, 2026-12-02), and why refused answers are not rescued this way: on dev, right quotes had
P(是) median 0.89 (n=29) and wrong ones 0.78 (n=8), so 0.90 keeps 13/29 right and rejects 8/8 wrong; on a
probe with new documents (probe8) right quotes had a median of 0.78 (n=18), wrong ones 0.70 (n=10): 0.85
keeps 5/18 right. The quotes a refusal would need are the ones it scores lowest; about 3 s per judgement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
from pathlib import Path

from rag.cite import strip_markers
from rag.cli import corpus_with
from rag.evaluate import mentions
from rag.frame import frame
from rag.judge import judge
from rag.pipeline import Pipeline
from rag.query import normalize, resolve_relative
from rag.quote import extractive_answer
from rag.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--docs", nargs="*", type=Path, default=[])
    ap.add_argument("--today", default="")
    args = ap.parse_args()
    s = Settings(**({"today": args.today} if args.today else {}))
    right: list[float] = []
    wrong: list[float] = []
    with contextlib.ExitStack() as stack:
        if args.docs:
            s = corpus_with(s, args.docs, stack)
        p = Pipeline(s)
        for line in args.file.read_text(encoding="utf-8").splitlines():
            it = json.loads(line)
            if it.get("history"):
                continue
            q = p._date_latest(resolve_relative(normalize(it["question"]), s.reference_date()))
            fr = frame(q)
            if fr.yes_no:
                continue
            hits = p.retriever.search(q, max(s.top_k, s.context_passages))[: s.context_passages]
            quote = extractive_answer(fr, hits)
            if not quote:
                continue
            yes = judge(p.generator, q, quote, strip_markers(quote))
            ok = it.get("answerable", True) and all(mentions(quote, m) for m in it.get("must_include", []))
            (right if ok else wrong).append(yes)
            print(f"{'R' if ok else 'W'} {yes:.3f} {it['id']} {quote[:50]!r}", flush=True)
    print(f"right quotes: {len(right)}, P(是) median {statistics.median(right or [0]):.3f}")
    print(f"wrong quotes: {len(wrong)}, P(是) median {statistics.median(wrong or [0]):.3f}")
    for th in (0.80, 0.85, 0.90, 0.93, 0.95, 0.97):
        keep = sum(y >= th for y in right)
        reject = sum(y < th for y in wrong)
        print(f"at {th:.2f}: keeps {keep}/{len(right)} right, rejects {reject}/{len(wrong)} wrong")


if __name__ == "__main__":
    main()
