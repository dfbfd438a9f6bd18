"""Answers code composes from the facts bound at index time (`rag.bind`), for the whole corpus.

Each function takes the question's `Frame`, the passages already shown, the fact store and the chunks
by id, and returns a `Composed`: the text (each figure cited `[n]`, numbered after the shown passages),
the passages it adds (a fact's chunk the retriever missed), and the facts it rests on. Empty when the
facts do not answer; the caller then keeps its own path.

- `lookup_answer`: each part of a figure question (one metric, area, period) quoted from its sentence;
- `change_answer`: a change between two periods, operands quoted, the difference computed;
- `trend_answer`: a metric's series, one cited sentence per period;
- `missing_parts`: the parts of a two-part question ("A地…是多少？B地又是多少？") a verified answer left out;
- `nearest_answer`: for a period the documents lack, what is missing and the nearest period's figure.

>>> from rag.types import Chunk, Fact
>>> s = "2024年，实现地区生产总值1135.1亿元。"
>>> c = Chunk("c1", "a.txt", "T", "", s, 0, len(s))
>>> f = Fact("f", "a.txt", "c1", "地区生产总值", "地区生产总值", "2024", "zone", 1135.1e8, "元", "1135.1亿元", "",
...          "actual", "number", "", s, 0, 0)
>>> from rag.facts import FactStore
>>> from rag.frame import frame
>>> lookup_answer(frame("2024年地区生产总值多少？"), (), FactStore([f]), {"c1": c}).text
'2024年，实现地区生产总值1135.1亿元[1]。'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from string import Template

from rag.facts import FactStore, one_value, period_key
from rag.frame import Frame, split_frame
from rag.lookup import fits, lookup
from rag.profile import active
from rag.prompt import load_prompts
from rag.ratio import format_value
from rag.trend import series
from rag.types import Chunk, Composed, Fact, Hit


class Sources:
    """The passages shown so far, and those a composed answer adds, numbered as the reader sees them."""

    def __init__(self, passages: Sequence[Hit], chunks: Mapping[str, Chunk]) -> None:
        self.listed = [h.chunk.id for h in passages]
        self.chunks = chunks
        self.extra: list[Hit] = []

    def number(self, f: Fact) -> int:
        """The `[n]` of the passage stating `f`, added after the shown ones when it is new."""
        if f.chunk_id not in self.listed:
            self.extra.append(Hit(chunk=self.chunks[f.chunk_id], score=0.0))
            self.listed.append(f.chunk_id)
        return self.listed.index(f.chunk_id) + 1

    def quote(self, found: Sequence[Fact], end: str = "。") -> tuple[str, Fact]:
        """The sentence stating one of `found` (the one whose passage is already shown, when one is), with its
        `[n]`; and that fact."""
        fact = next((f for f in found if f.chunk_id in self.listed), found[0])
        return f"{fact.sentence.rstrip('。；;，,')}[{self.number(fact)}]{end}", fact


def lookup_answer(fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk]) -> Composed:
    """The sentences stating what each part of the question asks (`rag.lookup`); empty unless every part is."""
    src = Sources(passages, chunks)
    quotes: list[str] = []
    used: list[Fact] = []
    for part in split_frame(fr) or [fr]:
        found = [f for f in lookup(part, store.facts) if f.chunk_id in chunks]
        if not found:
            return Composed()
        quote, fact = src.quote(found)
        if quote not in quotes:
            quotes.append(quote)
            used.append(fact)
    return Composed("".join(quotes), tuple(src.extra), tuple(used))


def change_answer(
    fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk], scope: str, answer: str = ""
) -> Composed:
    """A change between two periods the question asks for (`FactStore.change`): the operands `answer` does not
    state yet, quoted with their sources, and the computation."""
    # Two periods, each with its part of the year when the question names one ("比去年同期…前三季度").
    years = sorted(fr.parts) if len(fr.parts) == 2 else sorted(p for p in fr.periods if p.isdigit())
    if fr.operation != "diff" or len(years) != 2 or not scope:
        return Composed()
    pair = store.change(fr.metric, scope, years)
    if pair is None or any(f.chunk_id not in chunks for f in pair):
        return Composed()
    a, b = pair
    expression = f"{b.raw} − {a.raw} = {format_value(b.value - a.value, a if '亿' in a.raw else b)}"
    return computed_answer([[a], [b]], expression, passages, chunks, answer)


def computed_answer(
    operands: Sequence[Sequence[Fact]],
    expression: str,
    passages: Sequence[Hit],
    chunks: Mapping[str, Chunk],
    answer: str,
) -> Composed:
    """Each operand's sentence (one of its facts) the answer does not state yet, quoted with its `[n]`, then
    the computation `按资料数字计算：<expression>。`; the facts used are each operand's first."""
    src = Sources(passages, chunks)
    quotes = [src.quote(fs, end="")[0] for fs in operands if fs[0].raw not in answer]
    computed = Template(load_prompts("premise")["arithmetic"]).substitute(expression=expression)
    return Composed(
        ("；".join(quotes) + "。" if quotes else "") + computed, tuple(src.extra), tuple(fs[0] for fs in operands)
    )


def trend_answer(fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk]) -> Composed:
    """The asked metric's series for the asked area (`rag.trend`), one sentence per period so each is verified
    against its own source; empty for fewer than two periods."""
    line = [f for f in series(fr, store.facts) if f.chunk_id in chunks]
    if len(line) < 2:
        return Composed()
    src = Sources(passages, chunks)
    what = active().scope_label(line[0].scope) + (line[0].metric_id or fr.metric.split()[0])
    tpl = Template(load_prompts("premise")["trend_point"])
    text = "".join(
        tpl.substitute(period=f"{f.period[:4]}年{f.period[4:]}", what=what, value=f.raw, n=src.number(f)) for f in line
    )
    return Composed(text, tuple(src.extra), tuple(line))


def missing_parts(
    fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk], answer: str
) -> Composed:
    """For a question about several periods or areas together: the stated facts of the parts `answer` does
    not give yet, quoted; empty when it gives every part or the facts do not state the missing ones."""
    parts = split_frame(fr)
    if not parts:
        return Composed()
    src = Sources(passages, chunks)
    quotes: list[str] = []
    used: list[Fact] = []
    for part in parts:
        found = [f for f in lookup(part, store.facts) if f.chunk_id in chunks]
        if not found or any(f.raw in answer for f in found):
            continue
        quote, fact = src.quote(found)
        quotes.append(quote)
        used.append(fact)
    return Composed("".join(quotes), tuple(src.extra), tuple(used))


def nearest_answer(
    fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk], current_year: str = ""
) -> Composed:
    """A figure question for a period no document states: what is missing, then the same metric and area for
    the nearest period stated (the same part of the year first, the latest before the asked one first), quoted
    with its source; a refusal of what was asked. Empty when the asked period is stated, or no other is.

    `current_year`: a whole year not over yet ("今年…多少" asked in December) is answered by its latest part
    stated ("2026年1—10月"), said as that part: the answer to date, not a refusal.

    >>> from rag.types import Chunk, Fact
    >>> s = "2024年，实现地区生产总值1135.1亿元。"
    >>> c = Chunk("c1", "a.txt", "T", "", s, 0, len(s))
    >>> f = Fact("f", "a.txt", "c1", "地区生产总值", "地区生产总值", "2024", "zone", 1135.1e8, "元", "1135.1亿元", "",
    ...          "actual", "number", "", s, 0, 0)
    >>> from rag.frame import frame
    >>> nearest_answer(frame("2025年地区生产总值多少？"), (), FactStore([f]), {"c1": c}).text
    '资料没有2025年全年的地区生产总值数据；最近一期为2024年全年：2024年，实现地区生产总值1135.1亿元[1]。'
    >>> s2 = "2025年前三季度，实现地区生产总值880.2亿元。"
    >>> c2 = Chunk("c2", "b.txt", "T", "", s2, 0, len(s2))
    >>> from dataclasses import replace
    >>> f2 = replace(f, id="f2", chunk_id="c2", period="2025前三季度", value=880.2e8, raw="880.2亿元", sentence=s2)
    >>> a = nearest_answer(frame("2025年地区生产总值多少？"), (), FactStore([f, f2]), {"c1": c, "c2": c2}, "2025")
    >>> a.text, a.answers
    ('2025年全年尚未结束，资料中最新的是2025年前三季度的数据：2025年前三季度，实现地区生产总值880.2亿元[1]。', True)
    """
    if len(fr.parts) != 1 or fr.operation or fr.yes_no or fr.asks != "amount" or len(fr.scopes) > 1:
        return Composed()
    asked = next(iter(fr.parts))
    scope = next(iter(fr.scopes), active().scope_ids()[0])
    scored = [(s, f) for f in store.facts if f.scope == scope and f.chunk_id in chunks and (s := fits(fr, f))]
    if not scored or any(f.period == asked for _, f in scored):
        return Composed()  # stated for the asked period: not this answer's case
    best = max(s for s, _ in scored)
    by_period: dict[str, list[Fact]] = {}
    for s, f in scored:
        if s == best and f.period[:4].isdigit():
            by_period.setdefault(f.period, []).append(f)
    # One value per period (sources that disagree are the conflict note's), then the nearest: the same part
    # of the year, then the latest period before the asked one, then the earliest after it.
    single = {p: fs for p, fs in by_period.items() if one_value(fs)}
    if not single:
        return Composed()
    key = period_key(asked)
    to_date = [p for p in single if asked == current_year and p.startswith(asked) and p != asked]
    period = (
        max(to_date, key=period_key)
        if to_date
        else min(
            single,
            key=lambda p: (p[4:] != asked[4:], period_key(p) > key, abs(int(p[:4]) - int(asked[:4]))),
        )
    )
    src = Sources(passages, chunks)
    quote, _ = src.quote(single[period])
    text = Template(load_prompts("premise")["year_to_date" if to_date else "nearest_period"]).substitute(
        asked=_period_label(asked), what=_metric_name(fr), period=_period_label(period), quote=quote
    )
    return Composed(text, tuple(src.extra), (single[period][0],), answers=bool(to_date))


def _metric_name(fr: Frame) -> str:
    """The asked metric as the question writes it, Latin letters included: "全社会R&D经费" → "R&D经费", not "D经费"."""
    last = fr.metric.split()[-1]
    at = fr.text.find(last)
    if at < 0:
        return last
    m = re.search(r"[A-Za-z&＆.]*$", fr.text[:at])
    return fr.text[at - len(m.group(0)) : at] + last if m else last


def _period_label(period: str) -> str:
    """ "2025" → "2025年全年", "2026上半年" → "2026年上半年"."""
    return f"{period[:4]}年{period[4:] or '全年'}"
