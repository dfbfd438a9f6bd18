"""Trend questions ("GDP这几年怎么变化？", "从2021年到现在…") answered with the series the documents state.

Each point is a fact bound at index time (`rag.bind`): the asked metric (read as `rag.lookup.fits` reads
it), the asked area, an achieved value for a year or a part of one, in period order, each with its own
source. A year no document states is absent, never interpolated; a period whose sources disagree is
left out of the line and shown by the conflict note. A document added today joins the series with no
code change: it only adds facts.

>>> from rag.types import Fact
>>> def f(v, period):
...     s = f"{period}年，实现地区生产总值{v}亿元。"
...     return Fact(period, "a.txt", "c", "地区生产总值", "地区生产总值", period, "zone", v * 1e8, "元", f"{v}亿元",
...                 "", "actual", "number", "", s, 0, 0)
>>> from rag.frame import frame
>>> [x.raw for x in series(frame("GDP这几年怎么变化？"), [f(1135.1, "2024"), f(965, "2021")])]
['965亿元', '1135.1亿元']
>>> series(frame("GDP这几年怎么变化？"), [f(965, "2021")])  # one point is not a trend
[]
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.facts import one_value, period_key
from rag.frame import Frame
from rag.lookup import fits
from rag.profile import active
from rag.types import Fact

MIN_POINTS = 2


def series(fr: Frame, facts: Sequence[Fact]) -> list[Fact]:
    """The points answering trend question `fr`, one per period in period order; [] for fewer than two."""
    if fr.operation != "trend" or len(fr.scopes) > 1:
        return []
    scope = next(iter(fr.scopes), active().scope_ids()[0])
    years = sorted(int(p) for p in fr.periods if p.isdigit())
    # "从2021年到现在": the series starts (and, with a second year, ends) where the question says.
    lo, hi = (years[0], years[-1] if len(years) > 1 else 9999) if years else (0, 9999)
    scored = [
        (score, f)
        for f in facts
        if f.scope == scope and f.period[:4].isdigit() and lo <= int(f.period[:4]) <= hi
        and (score := fits(fr, f))
    ]  # fmt: skip
    if not scored:
        return []
    # One metric: the wording that fits best (GDP's 增速 is another line than its amount) and one unit.
    best = max(s for s, _ in scored)
    points = [f for s, f in scored if s == best]
    unit = max({f.unit for f in points}, key=lambda u: sum(f.unit == u for f in points))
    by_period: dict[str, list[Fact]] = {}
    for f in points:
        if f.unit == unit:
            by_period.setdefault(f.period, []).append(f)
    line = [fs[0] for fs in by_period.values() if one_value(fs)]
    line.sort(key=lambda f: period_key(f.period))
    return line if len(line) >= MIN_POINTS else []
