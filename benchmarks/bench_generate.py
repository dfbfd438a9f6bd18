"""Answer latency per backend — our pipeline next to llama.cpp called directly on the same prompt.

    .venv/bin/python benchmarks/bench_generate.py [--quick] [--backends 1.5b,0.5b,extractive] [--questions N]

Backends: llama.cpp 1.5B (default settings), llama.cpp 0.5B (`Settings(fast=True)`), extractive.
Each runs in its own subprocess, so peak RSS (ru_maxrss) belongs to that backend alone. In a child,
`Pipeline(settings)` is warmed (index, embedder, GGUF load, one untimed question); then per question:

* pipeline: `Pipeline.stream()` — time to first token and total from `Answer.timings`; a thin
  wrapper around the pipeline's generator timestamps the pieces it yields (prefill, decode tok/s)
  and keeps the messages it was sent.
* raw: the same `llama_cpp.Llama` object (so the same path, n_ctx, n_threads, n_batch) streams
  `create_chat_completion` greedily on messages rebuilt with `rag.prompt.build_messages` from the
  same hits — checked equal to what the pipeline sent, and the generated text compared.

Both sides start from the same KV cache (system prompt only) and alternate who goes first, so
background load on the shared cores hits both alike. ratio pipeline/raw ≈ 1 means our wrapper
costs nothing per token.

Tokens are counted by re-tokenising the generated text with the model's own tokenizer, the same
way for pipeline and raw. Targets: first token p50 ≤ 3 s, whole answer ≤ 12 s, RSS ≤ 2.5 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from measure import dev_questions, parser, peak_rss_mb, print_targets, summary, target, write_result

FIRST_TOKEN_TARGET_S = 3.0
TOTAL_TARGET_S = 12.0
RSS_TARGET_MB = 2.5 * 1024
BACKENDS = {
    "1.5b": {"label": "llama.cpp 1.5B", "settings": {}},
    "0.5b": {"label": "llama.cpp 0.5B (fast)", "settings": {"fast": True}},
    "extractive": {"label": "extractive", "settings": {"llm_backend": "extractive"}},
}
# Not from the dev set: the untimed question that loads everything and fills llama.cpp's prefix cache.
WARMUP = "昆山高新区的主要产业有哪些？"
CHILD_TIMEOUT_S = 1500


class TimedGenerator:
    """Wraps the pipeline's generator: keeps the messages it was given and when each piece came."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    def stream(self, messages: Sequence[Any]) -> Iterator[str]:
        call: dict[str, Any] = {"messages": list(messages), "t_call": time.perf_counter(), "times": [], "text": ""}
        self.calls.append(call)
        for piece in self.inner.stream(messages):
            call["times"].append(time.perf_counter())
            call["text"] += piece
            yield piece


def _count_tokens(llm: Any, text: str) -> int:
    return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0


def _gen_stats(t_call: float, times: Sequence[float], n_tok: int) -> dict[str, float | int | None]:
    """Prefill (call → first piece), decode rate (tokens after the first / first → last piece)."""
    if not times:
        return {"tokens": 0, "gen_first_ms": None, "gen_total_ms": None, "decode_tok_s": None}
    decode_s = times[-1] - times[0]
    return {
        "tokens": n_tok,
        "gen_first_ms": round((times[0] - t_call) * 1000, 1),
        "gen_total_ms": round((times[-1] - t_call) * 1000, 1),
        "decode_tok_s": round((n_tok - 1) / decode_s, 2) if n_tok > 1 and decode_s > 0 else None,
    }


def run_child(key: str, questions: list[str], alt_threads: int = 0) -> dict[str, Any]:
    """Everything measured for one backend, in this (fresh) process."""
    from rag.pipeline import Pipeline, validate
    from rag.prompt import build_messages
    from rag.rewrite import rewrite
    from rag.settings import Settings

    settings = Settings(**BACKENDS[key]["settings"])
    rss_start = peak_rss_mb()
    pipe = Pipeline(settings)
    t0 = time.perf_counter()
    pipe.retriever.warm()
    warm_retriever_s = time.perf_counter() - t0
    rss_steps = {"start": rss_start, "index+embedder": peak_rss_mb()}  # peak so far after each step
    llm = None
    t0 = time.perf_counter()
    if settings.llm_backend == "llamacpp":
        llm = pipe.generator.load()
    load_llm_s = time.perf_counter() - t0
    rss_steps["llm loaded"] = peak_rss_mb()
    timed = TimedGenerator(pipe.generator)
    pipe._generator = timed  # the pipeline's own generator, observed from outside
    t0 = time.perf_counter()
    warm_answer = pipe.ask(WARMUP)
    warmup_ms = (time.perf_counter() - t0) * 1000
    rss_steps["first answer"] = peak_rss_mb()

    system = [{"role": m.role, "content": m.content} for m in timed.calls[0]["messages"][:1]] if timed.calls else []

    def prime() -> None:
        # Every measured call starts from the same KV cache: the fixed system prompt only (as in
        # service, where the previous answer shares just that prefix). Costs a few tokens.
        if llm is not None and system:
            llm.create_chat_completion(messages=system, max_tokens=1, temperature=0.0, seed=0)

    rows: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    for i, q in enumerate(questions):
        # The exact prompt the pipeline will send, captured by a dry run (a generator that yields nothing),
        # so raw gets it before the pipeline's own turn; also rebuilt with build_messages on the same hits.
        messages = _captured_messages(pipe, timed, q)
        standalone = rewrite(validate(q, settings.max_question_chars)[0], ())
        hits = pipe.retriever.search(standalone, max(settings.top_k, settings.context_passages))
        rebuilt = build_messages(
            standalone, hits[: settings.context_passages], max_passage_chars=settings.max_passage_chars
        )
        needs_llm = messages is not None  # None: answered by code (premise check), no LLM to compare
        messages = messages if messages is not None else rebuilt
        as_dicts = [{"role": m.role, "content": m.content} for m in messages]
        # Alternate who goes first, so a change in background load hits both sides alike.
        order = ("raw", "pipeline") if i % 2 == 0 else ("pipeline", "raw")
        for side in order:
            prime()
            if side == "raw":
                if llm is not None and needs_llm:
                    # Content tokens only (the chat template adds a few); the system part is cached.
                    prompt_tokens = sum(_count_tokens(llm, m["content"]) for m in as_dicts)
                    done = _raw_completion(llm, settings, as_dicts)
                    raw.append({"question": q, "prompt_tokens": prompt_tokens, **done})
                continue
            row = _pipeline_question(pipe, timed, q, llm)
            row["messages_match_pipeline"] = (not row["llm_called"]) or timed.calls[0]["messages"] == messages
            row["build_messages_match"] = rebuilt == messages
            if row["llm_called"]:
                row["messages"] = as_dicts
            rows.append(row)
        if raw and raw[-1]["question"] == q and "text" in raw[-1]:
            raw[-1]["same_text"] = raw[-1].pop("text") == rows[-1].get("raw_text")
    rss_peak = peak_rss_mb()  # before the extra model below
    alt: list[dict[str, Any]] = []
    if llm is not None and alt_threads and alt_threads != settings.n_threads:
        alt = _alt_threads(llm.model_path, settings, alt_threads, rows, system)
    return {
        "backend": key,
        "label": BACKENDS[key]["label"],
        "alt_threads": alt_threads if alt else None,
        "raw_alt_threads": alt,
        "model": Path(llm.model_path).name if llm is not None else None,
        "n_threads": settings.n_threads,
        "n_ctx": settings.n_ctx,
        "max_tokens": settings.max_tokens,
        "rss_start_mb": rss_start,
        "rss_peak_mb": rss_peak,
        "rss_steps_mb": rss_steps,
        "warm_retriever_s": round(warm_retriever_s, 2),
        "load_llm_s": round(load_llm_s, 2),
        "warmup_answer_ms": round(warmup_ms, 1),
        "warmup_refused": warm_answer.refused,
        "pipeline": rows,
        "raw": raw,
    }


def _alt_threads(
    path: str, settings: Any, n_threads: int, rows: list[dict[str, Any]], system: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Raw llama.cpp again with another thread count, on the same prompts (a second `Llama`)."""
    from llama_cpp import Llama

    llm = Llama(model_path=path, n_ctx=settings.n_ctx, n_threads=n_threads, n_batch=512, seed=0, verbose=False)
    sys_msgs = system
    out = []
    llm.create_chat_completion(messages=sys_msgs, max_tokens=1, temperature=0.0, seed=0)
    for r in rows:
        if not r.get("messages"):
            continue
        llm.create_chat_completion(messages=sys_msgs, max_tokens=1, temperature=0.0, seed=0)
        res = _raw_completion(llm, settings, r["messages"])
        res["same_text"] = res.pop("text") == r["raw_text"]
        out.append({"question": r["question"], **res})
    return out


class _Capture:
    """A generator that records the messages it is given and yields nothing."""

    def __init__(self) -> None:
        self.messages: list[Any] | None = None

    def stream(self, messages: Sequence[Any]) -> Iterator[str]:
        self.messages = list(messages)
        return iter(())


def _captured_messages(pipe: Any, timed: TimedGenerator, q: str) -> list[Any] | None:
    capture = _Capture()
    pipe._generator = capture
    try:
        for _ in pipe.stream(q):
            pass
    finally:
        pipe._generator = timed
    return capture.messages


def _pipeline_question(pipe: Any, timed: TimedGenerator, q: str, llm: Any) -> dict[str, Any]:
    timed.calls.clear()
    final = None
    for ev in pipe.stream(q):
        if ev.kind == "final":
            final = ev.answer
    assert final is not None
    row: dict[str, Any] = {
        "question": q,
        "retrieve_ms": final.timings.retrieve_ms,
        "first_token_ms": final.timings.first_token_ms,
        "total_ms": final.timings.total_ms,
        "refused": final.refused,
        "llm_called": bool(timed.calls),
        "answer": final.answer,
    }
    if timed.calls:
        call = timed.calls[0]
        n_tok = _count_tokens(llm, call["text"]) if llm is not None else len(call["times"])
        row.update(_gen_stats(call["t_call"], call["times"], n_tok))
        row["raw_text"] = call["text"]
    return row


def _raw_completion(llm: Any, settings: Any, messages: list[dict[str, str]]) -> dict[str, Any]:
    """llama.cpp alone: `Llama.create_chat_completion`, streamed, greedy, on the given messages."""
    t_call = time.perf_counter()
    times: list[float] = []
    text = ""
    for chunk in llm.create_chat_completion(
        messages=messages, stream=True, temperature=settings.temperature, max_tokens=settings.max_tokens, seed=0
    ):
        piece = chunk["choices"][0].get("delta", {}).get("content")
        if piece:
            times.append(time.perf_counter())
            text += piece
    return {**_gen_stats(t_call, times, _count_tokens(llm, text)), "text": text}


def _median(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return summary(vals, 2)["p50"] if vals else None


def aggregate(child: dict[str, Any]) -> dict[str, Any]:
    """Medians and p95s of one backend, plus the pipeline/raw ratios."""
    rows = child["pipeline"]
    gen_rows = [r for r in rows if r["llm_called"]]
    agg: dict[str, Any] = {
        "retrieve_ms": summary([r["retrieve_ms"] for r in rows]),
        "first_token_ms": summary([r["first_token_ms"] for r in rows]),
        "total_ms": summary([r["total_ms"] for r in rows]),
        "tokens": summary([r["tokens"] for r in gen_rows], 0) if gen_rows else {"n": 0},
        "decode_tok_s": _median(gen_rows, "decode_tok_s"),
        "gen_first_ms": _median(gen_rows, "gen_first_ms"),
        "answers_refused": sum(r["refused"] for r in rows),
        "messages_match": all(r.get("messages_match_pipeline", True) for r in rows),
        "build_messages_match": all(r.get("build_messages_match", True) for r in rows if r["llm_called"]),
    }
    raw = child["raw"]
    if raw:
        agg["prompt_tokens"] = _median(raw, "prompt_tokens")
        agg["raw_decode_tok_s"] = _median(raw, "decode_tok_s")
        agg["raw_first_ms"] = _median(raw, "gen_first_ms")
        agg["raw_total_ms"] = _median(raw, "gen_total_ms")
        agg["raw_same_text"] = sum(r["same_text"] for r in raw)
        if agg["decode_tok_s"] and agg["raw_decode_tok_s"]:
            agg["tok_s_ratio"] = round(agg["decode_tok_s"] / agg["raw_decode_tok_s"], 3)
        if agg["gen_first_ms"] and agg["raw_first_ms"]:
            agg["prefill_ratio"] = round(agg["gen_first_ms"] / agg["raw_first_ms"], 3)
        alt = child.get("raw_alt_threads") or []
        if alt:
            agg["alt_threads"] = child["alt_threads"]
            agg["alt_decode_tok_s"] = _median(alt, "decode_tok_s")
            agg["alt_first_ms"] = _median(alt, "gen_first_ms")
            agg["alt_total_ms"] = _median(alt, "gen_total_ms")
        agg["total_ratio"] = round(agg["total_ms"]["p50"] / agg["raw_total_ms"], 3) if agg["raw_total_ms"] else None
    return agg


def main() -> dict[str, Any]:
    ap = parser(__doc__)
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset of " + ",".join(BACKENDS))
    ap.add_argument("--questions", type=int, default=None, help="dev questions per backend (default 6, --quick 2)")
    ap.add_argument(
        "--alt-threads",
        type=int,
        default=1,
        help="also run raw llama.cpp with this many threads on the same prompts (0: skip; default 1)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    n_q = args.questions or (2 if args.quick else 6)
    questions = dev_questions(n_q)
    if args.child:
        result = run_child(args.child, questions, args.alt_threads)
        args.child_out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return {}

    results: dict[str, Any] = {}
    targets = []
    for key in [k.strip() for k in args.backends.split(",") if k.strip()]:
        if key not in BACKENDS:
            raise SystemExit(f"unknown backend {key!r}; choose from {', '.join(BACKENDS)}")
        print(f"== {BACKENDS[key]['label']}: {len(questions)} questions", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "child.json"
            cmd = [sys.executable, __file__, "--child", key, "--child-out", str(out), "--questions", str(n_q)]
            cmd += ["--alt-threads", str(args.alt_threads)]
            t0 = time.perf_counter()
            try:
                proc = subprocess.run(cmd, timeout=CHILD_TIMEOUT_S, capture_output=True, text=True)
            except subprocess.TimeoutExpired:
                results[key] = {"label": BACKENDS[key]["label"], "error": f"timed out after {CHILD_TIMEOUT_S} s"}
                print("   timed out", flush=True)
                continue
            if proc.returncode != 0 or not out.is_file():
                results[key] = {"label": BACKENDS[key]["label"], "error": proc.stderr[-2000:]}
                print(f"   failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}", flush=True)
                continue
            child = json.loads(out.read_text(encoding="utf-8"))
        child["wall_s"] = round(time.perf_counter() - t0, 1)
        child["summary"] = agg = aggregate(child)
        results[key] = child
        label = BACKENDS[key]["label"]
        print(
            f"   load {child['load_llm_s']} s  first token p50 {agg['first_token_ms']['p50']} ms"
            f"  total p50 {agg['total_ms']['p50']} ms (p95 {agg['total_ms']['p95']})"
            f"  retrieve p50 {agg['retrieve_ms']['p50']} ms  peak RSS {child['rss_peak_mb']} MB",
            flush=True,
        )
        if child["raw"]:
            print(
                f"   decode tok/s pipeline {agg['decode_tok_s']} vs raw {agg['raw_decode_tok_s']}"
                f" (ratio {agg.get('tok_s_ratio')}); prefill ms {agg['gen_first_ms']} vs {agg['raw_first_ms']}"
                f" (ratio {agg.get('prefill_ratio')}); same text {agg['raw_same_text']}/{len(child['raw'])}",
                flush=True,
            )
        if agg.get("alt_threads"):
            print(
                f"   raw with n_threads={agg['alt_threads']}: decode tok/s {agg['alt_decode_tok_s']},"
                f" prefill ms {agg['alt_first_ms']}, generation ms {agg['alt_total_ms']}"
                f" (n_threads={child['n_threads']}: {agg['raw_decode_tok_s']}, {agg['raw_first_ms']},"
                f" {agg['raw_total_ms']})",
                flush=True,
            )
        targets += [
            target(f"{label}: first token p50", agg["first_token_ms"]["p50"] / 1000, FIRST_TOKEN_TARGET_S, "s"),
            target(f"{label}: whole answer p50", agg["total_ms"]["p50"] / 1000, TOTAL_TARGET_S, "s"),
            target(f"{label}: peak RSS", child["rss_peak_mb"], RSS_TARGET_MB, "MB"),
        ]
        if agg.get("tok_s_ratio"):
            targets.append(target(f"{label}: decode tok/s pipeline/raw", agg["tok_s_ratio"], 1.0, "x", near=0.1))
    print_targets(targets)
    res = {"quick": args.quick, "questions": questions, "backends": results, "targets": targets}
    print("wrote", write_result("generate", res, args.out))
    failed = [k for k, v in results.items() if "error" in v]
    if failed:
        raise SystemExit(f"backends failed: {', '.join(failed)}")
    return res


if __name__ == "__main__":
    main()
