"""Conflicts: the passages state the same metric, for the same period and scope, with different figures.

A journalist must see both rather than have one picked silently. After `verify`, every figure an
answer kept is traced to its occurrence in the passage that backs it; any *other* passage sentence
whose figure is comparable (same kind and unit), whose metric words match both ways, and whose
period and scope are the same, is a conflicting source. Figures with a qualifier (突破, ＞, 近…)
are bounds, not values, and never conflict.

>>> from rag.types import Chunk, Hit
>>> a = "2020年,全市孵化器和众创空间数140个。"
>>> b = "2020年,全市孵化器和众创空间数138个。"
>>> hits = [Hit(Chunk("a", "d.txt", "T", "", a, 0, len(a), ("2020",), "city"), 1.0),
...         Hit(Chunk("b", "e.txt", "T", "", b, 0, len(b), ("2020",), "city"), 0.9)]
>>> conflicts("全市2020年孵化器和众创空间数140个[1]。", hits)
('2020年,全市孵化器和众创空间数138个[2]。',)
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.cite import overlap, sentence_spans, split_claims, strip_markers
from rag.numbers import extract_figures, same_figure
from rag.types import Chunk, Figure, Hit
from rag.verify import comparable, governing_periods, passage_context, passage_scopes

DATE_UNITS = ("月", "日", "号")  # parts of a date say when, not how much: two events on two days never conflict
MIN_METRIC_OVERLAP = 0.6  # stricter than verification: a false "conflict" would mislead as much as a wrong figure
_SENTENCE = "。！？!?\n"


def _sentence(text: str, pos: int) -> tuple[int, int]:
    for s, e in sentence_spans(text, _SENTENCE):
        if s <= pos < e:
            return s, e
    return 0, len(text)


def _anchor(fig: Figure, passages: Sequence[Hit], cites: Sequence[int]) -> tuple[int, Figure] | None:
    """The cited passage occurrence that states `fig` (first cited passage that has it)."""
    for n in cites:
        if 1 <= n <= len(passages):
            for g in extract_figures(passages[n - 1].chunk.text):
                if same_figure(fig, g):
                    return n, g
    return None


def _rivals(n: int, g: Figure, passages: Sequence[Hit]) -> list[tuple[int, str]]:
    chunk: Chunk = passages[n - 1].chunk
    periods = governing_periods(chunk, g.start)
    scopes = passage_scopes(chunk, g.start)
    if len(periods) != 1 or not scopes:
        return []  # a row of targets and baselines, or no stated scope: too ambiguous to call a conflict
    ctx = passage_context(chunk.text, g)
    s0, e0 = _sentence(chunk.text, g.start)
    own = chunk.text[s0:e0]
    out = []
    for m, hit in enumerate(passages, start=1):
        other = hit.chunk
        for h in extract_figures(other.text):
            if h.op or same_figure(g, h) or not comparable(g, h):
                continue
            s, e = _sentence(other.text, h.start)
            sent = other.text[s:e]
            if sent == own or any(sent == t for _, t in out):
                continue
            hctx = passage_context(other.text, h)
            if min(overlap(ctx, hctx), overlap(hctx, ctx)) < MIN_METRIC_OVERLAP:
                continue
            if governing_periods(other, h.start) != periods or passage_scopes(other, h.start) != scopes:
                continue
            out.append((m, sent))
    return out


def conflicts(answer: str, passages: Sequence[Hit]) -> tuple[str, ...]:
    """Passage sentences (quoted, with `[m]`) that give another figure for a figure `answer` states."""
    quotes: list[str] = []
    for claim in split_claims(answer):
        for fig in extract_figures(strip_markers(claim.text)):
            if fig.kind == "year" or fig.op or fig.unit in DATE_UNITS:
                continue
            anchor = _anchor(fig, passages, claim.cites)
            if anchor is None or anchor[1].op:
                continue
            for m, sent in _rivals(*anchor, passages):
                body = sent.rstrip("。！？!?\n")
                quote = f"{body}[{m}]。"
                if quote not in quotes:
                    quotes.append(quote)
    return tuple(quotes)


__all__ = ["conflicts"]
