"""Query-focused excerpts: the part of each retrieved passage the model actually reads.

Retrieval returns windows of ~1000 characters (small-to-big), but every prompt token costs
~14 ms on the 1.5B model, so each passage gets a character budget. Cutting the window from its
start drops the matched chunk in its middle; instead we keep the contiguous run of sentences
around the sentence that best matches the question, growing towards the better-scoring
neighbour until the budget is spent. Contiguous, so a sentence keeps the year or subject
named just before it.

>>> t = "总体情况良好。2024年,昆山高新区实现地区生产总值1135.1亿元。另有其他内容很长很长。"
>>> excerpt(t, "2024年高新区地区生产总值是多少", 30)
'…2024年,昆山高新区实现地区生产总值1135.1亿元。…'
"""

from __future__ import annotations

from rag.cite import bigrams, overlap, sentence_spans
from rag.query import defines_bonus, exact_bonus
from rag.verify import periods_in, question_key

_SENTENCE = "。！？!?；;\n"
PERIOD_BONUS = 0.15  # a sentence naming the asked-for year/plan period beats a same-topic one from another year


def _score(sentence: str, question: str, key: set[str], periods: set[str]) -> float:
    # exact_bonus as in retrieval: a phrase the question quotes (“一廊”) or a figure it names marks the sentence
    score = overlap(key, bigrams(sentence)) + exact_bonus(question, sentence) + defines_bonus(question, sentence)
    if periods and periods & periods_in(sentence):
        score += PERIOD_BONUS
    return score


def excerpt(text: str, question: str, max_chars: int) -> str:
    """The best contiguous sentences of `text` for `question`, at most ~`max_chars` (… marks cuts)."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    spans = sentence_spans(text, _SENTENCE)
    if not spans:
        return text[:max_chars] + "…"
    key, periods = question_key(question), periods_in(question)
    scores = [_score(text[s:e], question, key, periods) for s, e in spans]
    best = max(range(len(spans)), key=lambda i: (scores[i], -i))
    lo = hi = best

    def size(a: int, b: int) -> int:
        return spans[b][1] - spans[a][0]

    if size(lo, hi) > max_chars:  # one sentence longer than the budget: keep its start
        s, _ = spans[best]
        return ("…" if s > 0 else "") + text[s : s + max_chars] + "…"
    while True:
        options = []
        if lo > 0 and size(lo - 1, hi) <= max_chars:
            options.append((scores[lo - 1], 1, lo - 1, hi))  # ties go left: the year is usually named before
        if hi + 1 < len(spans) and size(lo, hi + 1) <= max_chars:
            options.append((scores[hi + 1], 0, lo, hi + 1))
        if not options:
            break
        _, _, lo, hi = max(options)
    start, end = spans[lo][0], spans[hi][1]
    return ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")


__all__ = ["excerpt"]
