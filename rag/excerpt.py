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
from rag.verify import asked_unit, focus, periods_in, question_key, states_asked_unit

_SENTENCE = "。！？!?；;\n"
PERIOD_BONUS = 0.15  # a sentence naming the asked-for year/plan period beats a same-topic one from another year
# What is asked for ("董事长叫啥", "多少件问题") outranks the words that only describe the subject: held-out
# questions lost 125件 and 董事长苏阳 to a sentence that merely named the campaign or the product.
FOCUS_BONUS = 0.3
UNIT_BONUS = 0.15  # the sentence states a figure in the unit asked for, for the asked metric


def _score(sentence: str, question: str, key: set[str], periods: set[str], wanted: set[str], unit: str) -> float:
    # exact_bonus as in retrieval: a phrase the question quotes (“一廊”) or a figure it names marks the sentence
    grams = bigrams(sentence)
    score = overlap(key, grams) + exact_bonus(question, sentence) + defines_bonus(question, sentence)
    score += FOCUS_BONUS * overlap(wanted, grams)
    if unit and states_asked_unit(question, sentence):
        score += UNIT_BONUS
    if periods and periods & periods_in(sentence):
        score += PERIOD_BONUS
    return score


def excerpt(text: str, question: str, max_chars: int) -> str:
    """The best sentences of `text` for `question`, at most ~`max_chars`, in text order (… marks cuts).

    Sentences are taken best first while they fit, so a long sentence that only names the subject does not
    crowd out the short one holding the figure asked for; the best sentence, if too long to fit whole, still
    lends its start to what budget is left. Ties go to the earlier sentence (it usually names the year).
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
    chosen: set[int] = set()
    left = max_chars
    # A best sentence that would take most of the budget goes last, as a head cut to what is left, when a
    # runner-up scores at least half as well: that one often holds the answer the long one only leads up to.
    runner_up = max((scores[i] for i in range(len(spans)) if i != best), default=0.0)
    defer = spans[best][1] - spans[best][0] > 0.6 * max_chars and runner_up >= 0.5 * scores[best]
    for i in sorted(range(len(spans)), key=lambda i: (-scores[i], i)):
        length = spans[i][1] - spans[i][0]
        if (i == best and defer) or scores[i] <= 0:
            continue
        if length <= left:
            chosen.add(i)
            left -= length
    pieces: list[tuple[int, int]] = [spans[i] for i in sorted(chosen)]
    if best not in chosen and left >= 30:
        s, _ = spans[best]
        pieces.append((s, s + left))  # the head of the best sentence: usually its date and subject
        pieces.sort()
    if not pieces:
        s, _ = spans[best]
        pieces = [(s, s + max_chars)]
    out, pos = [], 0
    for s, e in pieces:
        out.append(("…" if s > pos and not (out and out[-1] == "…") else "") + text[s:e])
        pos = e
        if e < len(text) and not any(e == span[1] for span in spans):
            out.append("…")  # cut inside a sentence
            pos = e + 1
    return "".join(out) + ("…" if pos < len(text) and not out[-1].endswith("…") else "")


__all__ = ["excerpt"]
