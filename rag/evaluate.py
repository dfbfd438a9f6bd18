"""Measure retrieval and answers on a JSONL question set (schema of shared/eval/dev.jsonl).

Retrieval: an item counts as found at k when *all* its `evidence` strings are covered
by the concatenated top-k chunk texts (whitespace ignored); MRR uses the first rank
at which that happens.

>>> covered(["地区生产总值 1135.1亿元"], ["2024年,地区生产总值1135.1亿元,同比增长"])
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rag.numbers import extract_figures, same_figure
from rag.types import Hit, Message

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    return _WS.sub("", text)


def mentions(text: str, must: str) -> bool:
    """`must` occurs in `text` (whitespace ignored); a figure also counts as stated in another notation of
    the same value and unit: a reader takes "1.2万人" for "12000人".

    >>> mentions("目标为1.2万人[1]。", "12000"), mentions("目标为12000人", "1.2万"), mentions("1200人", "12000")
    (True, True, False)
    """
    if squash(must) in squash(text):
        return True
    wanted = extract_figures(must)
    if len(wanted) != 1 or wanted[0].kind not in ("number", "comparison") or wanted[0].raw != squash(must):
        return False
    return any(same_figure(wanted[0], g) for g in extract_figures(text))


def covered(evidence: Sequence[str], texts: Sequence[str]) -> bool:
    """Every evidence string occurs in one of `texts` (whitespace ignored)."""
    joined = [squash(t) for t in texts]
    return all(any(squash(e) in t for t in joined) for e in evidence)


def first_covering_rank(evidence: Sequence[str], hits: Sequence[Hit]) -> int | None:
    for r in range(1, len(hits) + 1):
        # Evidence is quoted verbatim from the source file; a hit covers it in its cleaned text or
        # in the exact source span it stands for (table rows are rebuilt, their source is not).
        if covered(evidence, [t for h in hits[:r] for t in (h.chunk.text, h.chunk.source)]):
            return r
    return None


def retrieval_metrics(
    items: Iterable[dict[str, Any]], search: Callable[[str, int], Sequence[Hit]], k: int = 10
) -> dict[str, Any]:
    """recall@1/3/5/10 and MRR over answerable items with evidence; misses listed for inspection."""
    ranks: list[int | None] = []
    misses = []
    for it in items:
        if not it.get("answerable", True) or not it.get("evidence"):
            continue
        hits = search(it["question"], k)
        r = first_covering_rank(it["evidence"], hits)
        ranks.append(r)
        if r is None or r > 1:
            misses.append({"id": it.get("id"), "rank": r, "question": it["question"]})
    n = max(len(ranks), 1)
    out: dict[str, Any] = {"n": len(ranks)}
    for at in (1, 3, 5, 10):
        out[f"recall@{at}"] = round(sum(1 for r in ranks if r is not None and r <= at) / n, 3)
    out["mrr"] = round(sum(1 / r for r in ranks if r) / n, 3)
    out["misses"] = misses
    return out


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def stated_figures_outside_citations(answer: Any) -> list[str]:
    """Figures in the final answer text that no cited passage contains (independent of verify.py)."""

    from rag.numbers import extract_figures, find_figure
    from rag.prompt import load_prompts
    from rag.table import row_sentence

    cited = {c.chunk_id for c in answer.citations}
    # A table row's values carry the unit its indicator's name gives ("技术合同成交额（亿元）｜2025年：18.7").
    texts = [
        squash(row_sentence(h.chunk) if h.chunk.kind == "table_row" else h.chunk.text)
        for h in answer.hits
        if h.chunk.id in cited
    ]
    # A computation sentence (rag.arith) shows its operands and labels its result as computed, not quoted.
    body = answer.answer
    for name in ("arithmetic", "inference"):
        body = body.split(load_prompts("premise")[name].split("$", 1)[0], 1)[0]
    # Unit-aware, so "1/4" or "1135.1亿元" written as "11351000万元" are found; a raw match also counts.
    cited_figures = [f for t in texts for f in extract_figures(t)]
    # A passage's year may be stated by its document rather than its own text: "前三季度，…" under the title
    # "2026年前三季度经济运行情况" is 2026's (the periods bound at index time from title, dateline and lead).
    years = {p[:4] for h in answer.hits if h.chunk.id in cited for p in h.chunk.periods if p[:4].isdigit()}
    return [
        f.raw
        for f in extract_figures(body)
        if not any(squash(f.raw) in t for t in texts)
        and not find_figure(f, cited_figures)
        and not (f.kind == "year" and str(int(f.value)) in years)
    ]


def _history(pipeline: Any, earlier: Sequence[str]) -> tuple[Message, ...]:
    """The chat before a follow-up: each earlier question asked in turn, with the answer it got."""
    turns: list[Message] = []
    for q in earlier:
        a = pipeline.ask(q, tuple(turns)) if turns else pipeline.ask(q)
        turns += [Message(role="user", content=q), Message(role="assistant", content=a.answer)]
    return tuple(turns)


def answer_metrics(
    items: Sequence[dict[str, Any]], pipeline: Any, log: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Answer accuracy, refusal behaviour, citation precision, unsupported figures, latency — per category."""
    rows = []
    for i, it in enumerate(items, 1):
        history = _history(pipeline, it.get("history") or ())
        a = pipeline.ask(it["question"], history) if history else pipeline.ask(it["question"])
        answerable = it.get("answerable", True)
        text = squash(a.answer)
        correct = answerable and not a.refused and all(mentions(text, m) for m in it.get("must_include", []))
        cited_ids = {c.chunk_id for c in a.citations}
        # As for retrieval recall: evidence is quoted from the source file, so a cited passage covers it in
        # its cleaned text or in the exact source span it stands for (table rows are rebuilt, their source not).
        cited_texts = [t for h in a.hits if h.chunk.id in cited_ids for t in (h.chunk.text, h.chunk.source) if t]
        cite_ok = covered(it.get("evidence", []), cited_texts) if (answerable and cited_texts) else None
        rows.append(
            {
                "id": it.get("id"),
                "category": it.get("category", "?"),
                "answerable": answerable,
                "refused": a.refused,
                "correct": correct,
                "cite_ok": cite_ok,
                "unsupported_removed": len(a.unsupported_numbers),
                "unsupported_shown": stated_figures_outside_citations(a) if not a.refused else [],
                "total_ms": a.timings.total_ms,
                "first_token_ms": a.timings.first_token_ms,
                "answer": a.answer,
            }
        )
        if log is not None:
            flag = "✓" if (correct or (not answerable and a.refused)) else "✗"
            log(f"[{i}/{len(items)}] {flag} {it.get('id')} {a.timings.total_ms / 1000:.1f}s {a.answer[:60]!r}")
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    cites = [r["cite_ok"] for r in ans if r["cite_ok"] is not None]
    cats: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        cats.setdefault(r["category"], []).append(r)
    return {
        "n": len(rows),
        "answer_accuracy": round(sum(r["correct"] for r in ans) / max(len(ans), 1), 3),
        "refusal_rate_unanswerable": round(sum(r["refused"] for r in una) / max(len(una), 1), 3),
        "false_refusal_rate": round(sum(r["refused"] for r in ans) / max(len(ans), 1), 3),
        "citation_precision": round(sum(cites) / max(len(cites), 1), 3),
        "unsupported_removed": sum(r["unsupported_removed"] for r in rows),
        "unsupported_shown": sum(len(r["unsupported_shown"]) for r in rows),
        "latency_p50_s": round(_pct([r["total_ms"] for r in rows], 0.5) / 1000, 2),
        "latency_p95_s": round(_pct([r["total_ms"] for r in rows], 0.95) / 1000, 2),
        "first_token_p50_s": round(_pct([r["first_token_ms"] for r in rows], 0.5) / 1000, 2),
        "per_category": {
            c: round(
                sum((r["correct"] if r["answerable"] else r["refused"]) for r in rs) / len(rs),
                3,
            )
            for c, rs in sorted(cats.items())
        },
        "rows": rows,
    }


def format_answer_report(m: dict[str, Any]) -> str:
    lines = [f"answers over {m['n']} items"]
    for key in (
        "answer_accuracy",
        "refusal_rate_unanswerable",
        "false_refusal_rate",
        "citation_precision",
        "unsupported_removed",
        "unsupported_shown",
        "latency_p50_s",
        "latency_p95_s",
        "first_token_p50_s",
    ):
        lines.append(f"  {key:28s} {m[key]}")
    lines.append("  per category:")
    for c, v in m["per_category"].items():
        lines.append(f"    {c:22s} {v:.3f}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ RGB


def rgb_norm(text: str) -> str:
    """As the RGB protocol compares: NFKC, no spaces, no `[n]` markers."""
    import unicodedata

    return re.sub(r"\[\d+\]|\s", "", unicodedata.normalize("NFKC", text))


def rgb_found(answer: str, expected: Any) -> bool:
    """Every top-level element of `expected` occurs in `answer`; an inner list is alternatives."""
    items = expected if isinstance(expected, list) else [expected]
    text = rgb_norm(answer)
    return all(any(rgb_norm(str(alt)) in text for alt in (it if isinstance(it, list) else [it])) for it in items)


def rgb_metrics(
    items: Sequence[dict[str, Any]], answer: Callable[[dict[str, Any]], Any], log: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """RGB development-split metrics: accuracy where passages hold the answer, rejection where none does,
    and for conflicting passages whether the disagreement is shown or the fake value is stated alone."""
    rows = []
    for i, it in enumerate(items, 1):
        a = answer(it)
        true = rgb_found(a.answer, it["answer"])
        fake = bool(it.get("fake_answer")) and rgb_found(a.answer, it["fake_answer"])
        both = bool(it.get("correct_passages")) and bool(it.get("counterfactual_passages"))
        rows.append(
            {"id": it["id"], "refused": a.refused, "true": true, "fake": fake, "both": both,
             "total_ms": a.timings.total_ms, "answer": a.answer}
        )  # fmt: skip
        if log is not None:
            log(f"[{i}/{len(items)}] {'R' if a.refused else 'T' if true else 'F' if fake else '-'} {it['id']} "
                f"{a.timings.total_ms / 1000:.1f}s {a.answer[:50]!r}")  # fmt: skip
    n = max(len(rows), 1)
    conflicting = [r for r in rows if r["both"]]
    return {
        "n": len(rows),
        "accuracy": round(sum(r["true"] and not r["refused"] for r in rows) / n, 3),
        "rejection": round(sum(r["refused"] for r in rows) / n, 3),
        "conflicting_items": len(conflicting),
        "conflict_shown_or_true": round(sum(r["true"] for r in conflicting) / max(len(conflicting), 1), 3),
        # The README's failure: where passages of both kinds were given, the fake value stated without the true.
        "fake_alone_conflicting": round(
            sum(r["fake"] and not r["true"] for r in conflicting) / max(len(conflicting), 1), 3
        ),
        # Over every item, including those whose passages all state the fake value (answering from them is
        # what grounded means there): kept for comparison with earlier reports.
        "fake_alone": round(sum(r["fake"] and not r["true"] for r in rows) / n, 3),
        "latency_p50_s": round(_pct([r["total_ms"] for r in rows], 0.5) / 1000, 2),
        "rows": rows,
    }


def prompt_recall(
    items: Sequence[dict[str, Any]], answer: Callable[[dict[str, Any]], Any], calls: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    """Excerpt recall: the share of RGB items whose answer (`rgb_found`) is still in the prompt the model is
    sent, after retrieval and excerpting. `calls` is the recording generator's list of prompts; an item that
    code answered without the model (no new prompt) is counted apart, as `by_code`."""
    rows = []
    for it in items:
        before = len(calls)
        answer(it)
        prompt = calls[-1][-1].content if len(calls) > before else None
        in_passages = any(rgb_found(p, it["answer"]) for p in it["passages"])
        rows.append({"id": it["id"], "by_code": prompt is None, "in_passages": in_passages,
                     "in_prompt": prompt is not None and rgb_found(prompt, it["answer"])})  # fmt: skip
    asked = [r for r in rows if not r["by_code"] and r["in_passages"]]
    return {
        "n": len(rows),
        "by_code": sum(r["by_code"] for r in rows),
        "prompt_recall": round(sum(r["in_prompt"] for r in asked) / max(len(asked), 1), 3),
        "rows": rows,
    }
