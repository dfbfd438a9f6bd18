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

import re

from rag.answers import states_unit_for
from rag.cite import bigrams, overlap, sentence_spans
from rag.dating import periods_in
from rag.frame import asked_unit, focus, question_key
from rag.numbers import extract_figures
from rag.query import defines_bonus, exact_bonus

_SENTENCE = "。！？!?；;\n"
PERIOD_BONUS = 0.15  # a sentence naming the asked-for year/plan period beats a same-topic one from another year
# What is asked for ("董事长叫啥", "多少件问题") outranks the words that only describe the subject: held-out
# questions lost 125件 and 董事长苏阳 to a sentence that merely named the campaign or the product.
FOCUS_BONUS = 0.3
UNIT_BONUS = 0.15  # the sentence states a figure in the unit asked for, for the asked metric (or a date)
_ASKS_DATE = re.compile(r"什么时候|何时|哪一?年|哪天|哪一天|几月|多会儿")


def _score(sentence: str, question: str, key: set[str], periods: set[str], wanted: set[str], unit: str) -> float:
    # exact_bonus as in retrieval: a phrase the question quotes (“一廊”) or a figure it names marks the sentence
    grams = bigrams(sentence)
    score = overlap(key, grams) + exact_bonus(question, sentence) + defines_bonus(question, sentence)
    score += FOCUS_BONUS * overlap(wanted, grams)
    if unit and states_unit_for(unit, key, sentence):
        score += UNIT_BONUS
    elif _ASKS_DATE.search(question) and any(f.kind == "year" for f in extract_figures(sentence)):
        score += UNIT_BONUS  # "什么时候建成的": the sentence that dates it
    if periods and periods & periods_in(sentence):
        score += PERIOD_BONUS
    return score


def _run(spans: list[tuple[int, int]], scores: list[float], best: int, budget: int) -> tuple[int, int] | None:
    """The contiguous sentences around `best` within `budget`, grown towards the better neighbour; None when
    `best` alone is over budget."""

    def size(a: int, b: int) -> int:
        return spans[b][1] - spans[a][0]

    lo = hi = best
    if size(lo, hi) > budget:
        return None
    while True:
        options = []
        if lo > 0 and size(lo - 1, hi) <= budget:
            options.append((scores[lo - 1], 1, lo - 1, hi))  # ties go left: the year is usually named before
        if hi + 1 < len(spans) and size(lo, hi + 1) <= budget:
            options.append((scores[hi + 1], 0, lo, hi + 1))
        if not options:
            return lo, hi
        _, _, lo, hi = max(options)


def excerpt(text: str, question: str, max_chars: int) -> str:
    """The best contiguous sentences of `text` for `question`, at most ~`max_chars` (… marks cuts).

    Contiguous, so a sentence keeps the year or subject named just before it. One more sentence may join
    from elsewhere: the best one holding what is asked for (its unit, its focus word) when the run around
    the best-matching sentence misses it — a sentence that introduces a campaign must not crowd out the
    short one that says it solved 125件.
    """
    text = text.strip()
    if len(text) <= max_chars:
        return text
    spans = sentence_spans(text, _SENTENCE)
    if not spans:
        return text[:max_chars] + "…"
    key, periods, wanted, unit = question_key(question), periods_in(question), focus(question), asked_unit(question)
    scores = [_score(text[s:e], question, key, periods, wanted, unit) for s, e in spans]
    best = max(range(len(spans)), key=lambda i: (scores[i], -i))
    pieces: list[tuple[int, int]] = []
    run = _run(spans, scores, best, max_chars)
    answers = [
        i
        for i, (a, b) in enumerate(spans)
        if (run is None or not run[0] <= i <= run[1])
        and b - a <= max_chars * 0.6
        and scores[i] >= 0.5 * scores[best]
        and ((unit and states_unit_for(unit, key, text[a:b])) or overlap(wanted, bigrams(text[a:b])) >= 0.5)
    ]
    extra = max(answers, key=lambda i: (scores[i], -i), default=None)
    if extra is not None:
        pieces.append(spans[extra])
        run = _run(spans, scores, best, max_chars - (spans[extra][1] - spans[extra][0]))
    if run is not None:
        pieces.append((spans[run[0]][0], spans[run[1]][1]))
    else:  # the best sentence alone is over budget: keep its start, its date and subject
        s = spans[best][0]
        pieces.append((s, s + max_chars - sum(b - a for a, b in pieces)))
    out, pos = "", 0
    for a, b in sorted(pieces):
        out += ("…" if a > pos and not out.endswith("…") else "") + text[a:b]
        pos = b
        if not any(b == e for _, e in spans):
            out += "…"  # cut inside a sentence
    return out + ("…" if pos < len(text) and not out.endswith("…") else "")


__all__ = ["excerpt"]
