"""The fact store: the facts bound at index time (`rag.bind`), queried by metric, area, period and kind.

Conflicts are a group-by: facts of one metric, period, area and kind that state different values.
A series is the facts of one metric and area in period order. Nothing here reads a document again.

>>> from rag.types import Fact
>>> def f(v, period, doc="a.txt", kind="actual"):
...     return Fact(f"{v}{period}{doc}", doc, "c", "地区生产总值", "地区生产总值", period, "zone", v * 1e8, "元",
...                 f"{v}亿元", "", kind, "number", "高新区", "", 0, 0)
>>> store = FactStore([f(965, "2021"), f(1135.1, "2024"), f(1135.1, "2024", "b.txt"), f(1200, "2024", "c.txt")])
>>> [(x.period, x.raw, x.doc) for x in store.series("GDP", "zone")]  # doctest: +NORMALIZE_WHITESPACE
[('2021', '965亿元', 'a.txt'), ('2024', '1135.1亿元', 'a.txt'), ('2024', '1135.1亿元', 'b.txt'),
 ('2024', '1200亿元', 'c.txt')]
>>> [[x.doc for x in group] for group in store.conflicts()]
[['a.txt', 'b.txt', 'c.txt']]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rag.cite import bigrams, overlap
from rag.fact_conflicts import conflict_groups
from rag.grammar import same_measure
from rag.profile import active
from rag.trust import without_overruled
from rag.types import Fact

METRIC_MATCH = 0.6  # share of the asked metric's bigrams a fact's wording must hold when no canonical id decides


def period_key(period: str) -> tuple[int, float, str]:
    """Sort key: year, then part of the year (一季度 < 上半年 < 前三季度 < full year), plan periods by their end."""
    m = re.match(r"((?:19|20)\d{2})(.*)$", period)
    if m:
        part = m.group(2)
        order = {"一季度": 1, "第一季度": 1, "上半年": 2, "二季度": 2, "前三季度": 3, "三季度": 3, "下半年": 4}
        months = re.fullmatch(r"1-(\d+)月", part)  # "1-10月": a quarter is three months
        rank = int(months.group(1)) / 3 if months else order.get(part, 5 if not part else 4)
        return int(m.group(1)), rank, part
    years = active().plan_years(period)
    return (years[1], 6, period) if years else (0, 0, period)


def one_value(facts: Sequence[Fact]) -> bool:
    """Whether `facts` state exactly one value (sources that agree, to rounding): none, or two, settle nothing."""
    return len({round(f.value, 6) for f in facts}) == 1


class FactStore:
    """Facts with the queries the answer path, the CLI and the 数据 tab need."""

    def __init__(self, facts: Iterable[Fact]) -> None:
        self.facts: tuple[Fact, ...] = tuple(facts)

    def __len__(self) -> int:
        return len(self.facts)

    def matches_metric(self, fact: Fact, metric: str) -> bool:
        """Whether `fact` measures `metric` (a canonical name, an alias, or the document's own words)."""
        if not metric:
            return True
        canon = active().metric_of(active().expand_metrics(metric))
        if canon:
            return fact.metric_id == canon or (not fact.metric_id and canon in fact.metric)
        want = bigrams(metric)
        return bool(want) and overlap(want, bigrams(fact.metric)) >= METRIC_MATCH

    def select(self, metric: str = "", scope: str = "", period: str = "", kind: str = "") -> list[Fact]:
        """Facts of `metric` (any when empty) for `scope`, `period` (a label or its year) and `kind`."""
        out = []
        for f in self.facts:
            if scope and f.scope != scope:
                continue
            if period and not (f.period == period or (period.isdigit() and f.period == period)):
                continue
            if kind and f.kind != kind:
                continue
            if self.matches_metric(f, metric):
                out.append(f)
        return out

    def series(self, metric: str, scope: str, kind: str = "") -> list[Fact]:
        """One metric for one area, in period order (all sources kept: a disagreement stays visible)."""
        picked = [f for f in self.select(metric, scope, kind=kind) if f.figure_kind != "rank" or "名" in f.raw]
        picked = without_overruled(picked)  # an upload an official source contradicts is no point of the series
        return sorted(picked, key=lambda f: (period_key(f.period), f.kind, f.doc))

    def latest(self, metric: str, scope: str) -> list[Fact]:
        """The achieved values of the latest period the documents report for `metric` in `scope`."""
        actual = [f for f in self.series(metric, scope) if f.kind == "actual" and f.period]
        # A plan period ("十四五") is no point in time: a report dated only by it is not newer than a year's.
        actual = [f for f in actual if f.period[:4].isdigit()] or actual
        if not actual:
            return []
        top = max(period_key(f.period) for f in actual)
        return [f for f in actual if period_key(f.period) == top]

    def date_latest(self, question: str, metric: str, scope: str) -> str:
        """`question` ("…现在…多少") with the latest period the documents report for its metric written in
        ("2025年…"), so every later stage asks for that period; unchanged when no fact of it is dated.

        >>> from rag.types import Fact
        >>> f = Fact("1", "a.txt", "c", "有效高新技术企业总数", "高新技术企业", "2025", "zone", 968, "家", "968家", "",
        ...          "actual", "number", "高新区", "", 0, 0)
        >>> FactStore([f]).date_latest("高新区现在有多少家高企？", "高新技术企业", "zone")
        '2025年高新区现在有多少家高企？'
        """
        latest = self.latest(metric, scope)
        if not metric or not latest:
            return question
        period = latest[0].period
        label = f"{period[:4]}年{period[4:]}" if period[:4].isdigit() else period
        return f"{label}{question}"

    def change(self, metric: str, scope: str, years: Sequence[str]) -> tuple[Fact, Fact] | None:
        """The metric's achieved amounts for two periods (years, or the same part of two years), one value each
        however many documents state it, of one canonical metric and unit; None when either has none, or several.

        >>> from rag.types import Fact
        >>> def f(v, y):
        ...     return Fact(y, "a.txt", "c", "地区生产总值", "地区生产总值", y, "zone", v * 1e8, "元", f"{v}亿元", "",
        ...                 "actual", "number", "高新区", "", 0, 0)
        >>> [x.raw for x in FactStore([f(1135.1, "2024"), f(1196.8, "2025")]).change("GDP", "zone", ("2024", "2025"))]
        ['1135.1亿元', '1196.8亿元']
        """
        found = [
            [
                f
                for f in self.select(metric, scope, period=year, kind="actual")
                if f.figure_kind == "number" and not f.qualifier and not f.table and f.unit
            ]
            for year in years
        ]
        found = [without_overruled(fs) for fs in found]  # the official value of a year, not an upload's other one
        # Only amounts in one unit are compared: a count the sentence also states ("5项") is another figure.
        for unit in {f.unit for f in found[0]} & {f.unit for f in found[1]}:
            same = [[f for f in fs if f.unit == unit] for fs in found]
            if all(one_value(fs) for fs in same):
                a, b = same[0][0], same[1][0]
                if a.metric_id == b.metric_id and same_measure(a.metric, b.metric):
                    return a, b
        return None

    def conflicts(self, facts: Sequence[Fact] | None = None) -> list[tuple[Fact, ...]]:
        """Groups of facts with one metric id, period, area, kind and unit but different values."""
        return conflict_groups(self.facts if facts is None else facts)
