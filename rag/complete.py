"""Completing a verified sentence with what its source states in the same breath: the change a figure is
reported with.

Reports state a figure and its change together ("实现地区生产总值4215.3亿元，按可比价格计算，同比增长5.7%"),
and a reader asking for the figure expects both; a small model often copies the first half only. The change
is taken verbatim from the clause that follows the same figure in the passage that backs it, so nothing is
added that the source does not say right there.

>>> from rag.types import Chunk, Hit
>>> t = "前三季度，全市实现地区生产总值4215.3亿元，按可比价格计算，同比增长5.7%。"
>>> hits = [Hit(Chunk("c", "d.txt", "T", "", t, 0, len(t)), 1.0)]
>>> with_change("全市地区生产总值为4215.3亿元[1]。", hits)
'全市地区生产总值为4215.3亿元，同比增长5.7%[1]。'
>>> with_change("全市地区生产总值4215.3亿元，同比增长5.7%[1]。", hits)
'全市地区生产总值4215.3亿元，同比增长5.7%[1]。'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.cite import strip_markers
from rag.numbers import extract_figures, same_figure
from rag.types import Hit

# What follows a figure in its source when it states the figure's change: a computation note may sit between.
_CHANGE_AFTER = re.compile(
    r"^\s*(?:左右)?\s*[，,]\s*(?:按(?:可比价格|可比价|现价)计算\s*[，,]\s*)?"
    r"((?:同比|比上年|较上年)(?:增长|下降|增加|减少)\s*\d+(?:\.\d+)?\s*%)"
)


def with_change(sentence: str, passages: Sequence[Hit]) -> str:
    """`sentence` with each amount's reported change inserted after it, when the sentence omits it and a cited
    passage states it right after the same figure; the sentence unchanged otherwise."""
    cited = [int(n) for n in re.findall(r"\[(\d+)\]", sentence) if 1 <= int(n) <= len(passages)]
    plain = strip_markers(sentence)
    if "%" in plain or not cited:
        return sentence  # a sentence that states a rate already says how the figure changed
    for fig in (f for f in extract_figures(plain) if f.kind == "number" and f.unit):
        for n in cited:
            text = passages[n - 1].chunk.text
            for g in extract_figures(text):
                m = _CHANGE_AFTER.match(text[g.end :]) if same_figure(fig, g) else None
                if m:
                    at = sentence.find(fig.raw)
                    return sentence[: at + len(fig.raw)] + "，" + m.group(1) + sentence[at + len(fig.raw) :]
    return sentence


__all__ = ["with_change"]
