"""Verified streaming: when a reader first sees text, next to when the model's first token came.

    .venv/bin/python benchmarks/bench_stream.py [--quick] [--fast] [--questions N]

Runs `Pipeline.stream()` with the real model on dev-set questions (warmed first on a question not in
the set). A thin wrapper around the generator timestamps every piece, so for each "verified" event
we know when the model finished the sentence it newly shows (the piece holding its last character);
the lag between the two is the cost of verifying as we go: waiting for the next piece (a `[n]` may
still follow a full stop) plus `verify` on the draft so far. The last sentence is shown with the final
answer: its lag runs from the model's last piece to the final event (verification and any answer the
facts compose).

Prints medians of time to first token, time to first verified text, and the per-sentence lag.
Target: lag p50 ≤ 1 s (a verified sentence appears within 1 s of the model finishing it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from measure import dev_questions, parser, print_targets, summary, target, write_result

from rag.cite import finished
from rag.pipeline import Pipeline
from rag.settings import Settings

LAG_TARGET_S = 1.0
WARMUP = "昆山高新区的主要产业有哪些？"  # not a dev-set question: loads the models, fills the prefix cache


class PieceClock:
    """Wraps the generator: the draft so far and when each of its characters arrived."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.draft = ""
        self.arrived: list[float] = []  # per character of `draft`

    def stream(self, messages: Sequence[Any]) -> Iterator[str]:
        self.draft, self.arrived = "", []
        for piece in self.inner.stream(messages):
            now = time.perf_counter()
            self.draft += piece
            self.arrived += [now] * len(piece)
            yield piece


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--fast", action="store_true", help="the 0.5B model instead of the default 1.5B")
    ap.add_argument("--questions", type=int, default=None)
    args = ap.parse_args()
    s = Settings(fast=args.fast)
    p = Pipeline(s)
    clock = PieceClock(p.generator)
    p._generator = clock  # the same model, timed
    p.ask(WARMUP)
    first_token, first_verified, lags, total, shown_early = [], [], [], [], 0
    qs = dev_questions(args.questions or (4 if args.quick else 12))
    for q in qs:
        answer = None
        for ev in p.stream(q):
            if ev.kind == "verified" and clock.arrived:
                end = finished(clock.draft)  # the sentences this snapshot was checked on end here
                lags.append(time.perf_counter() - clock.arrived[max(end - 1, 0)])
                shown_early += 1
            elif ev.kind == "final":
                answer = ev.answer
                if clock.arrived:  # the last sentence is shown with the final answer, once the model has stopped
                    lags.append(time.perf_counter() - clock.arrived[-1])
        assert answer is not None
        t = answer.timings
        first_token.append(t.first_token_ms / 1000)
        first_verified.append(t.first_verified_ms / 1000)
        total.append(t.total_ms / 1000)
        print(f"{t.first_token_ms / 1000:6.2f}s {t.first_verified_ms / 1000:6.2f}s {t.total_ms / 1000:6.2f}s  {q}")
    lag = summary(lags, 3)
    result = {
        "model": "0.5B" if args.fast else "1.5B",
        "first_token_s": summary(first_token, 2),
        "first_verified_s": summary(first_verified, 2),
        "total_s": summary(total, 2),
        "sentence_lag_s": lag,
        "verified_events": shown_early,
    }
    print()
    for k in ("first_token_s", "first_verified_s", "total_s", "sentence_lag_s"):
        print(f"  {k:18s} {result[k]}")
    rows = [target("verified sentence lag p50", lag.get("p50"), LAG_TARGET_S, "s")]
    print_targets(rows)
    print("→", write_result("stream", {**result, "targets": rows}, args.out))


if __name__ == "__main__":
    main()
