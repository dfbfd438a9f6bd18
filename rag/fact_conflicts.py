"""Which facts disagree: facts of one metric id, period, area, kind and unit that state different values.

A plain group-by over `Fact`s, kept apart from the fact store (`rag.facts`) and from provenance
(`rag.trust`) because both need it: the store shows the groups, trust settles an upload against the
official facts of its group, and the store in turn hides what trust overrules.

>>> from rag.types import Fact
>>> def f(v, doc):
...     return Fact(doc, doc, "c", "地区生产总值", "地区生产总值", "2024", "zone", v, "元", f"{v}元", "",
...                 "actual", "number", "高新区", "", 0, 0)
>>> [[x.doc for x in g] for g in conflict_groups([f(2, "b.txt"), f(1, "a.txt"), f(1, "c.txt")])]
[['a.txt', 'c.txt', 'b.txt']]
"""

from __future__ import annotations

from collections.abc import Iterable

from rag.types import Fact


def conflict_groups(facts: Iterable[Fact]) -> list[tuple[Fact, ...]]:
    """Groups of facts with one metric id, period, area, kind and unit but different values."""
    groups: dict[tuple[str, ...], list[Fact]] = {}
    for f in facts:
        if not f.metric_id or not f.period or f.qualifier:
            continue  # only named metrics are compared: free wording is too loose to call a conflict
        groups.setdefault((f.metric_id, f.period, f.scope, f.kind, f.unit, f.figure_kind), []).append(f)
    out = []
    for group in groups.values():
        values = {round(f.value, 6) for f in group}
        if len(values) > 1:
            out.append(tuple(sorted(group, key=lambda f: (f.value, f.doc))))
    return out
