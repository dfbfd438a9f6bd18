"""Which area a text speaks of: a scope id of the domain profile (`rag.profile`), read from the names,
"whole X" words (全区, 全市) and weak names it holds, with the area already in force settling ties. A
title (“…”, 《…》) or a ranking (位居全市第一) names no area of the text's own figures.

>>> detect_scope("2024年,全区固定资产投资175.1亿元"), detect_scope("全市万人发明专利拥有量达72.19件")
('zone', 'city')
"""

from __future__ import annotations

import re

from rag.period import detect_periods
from rag.profile import active
from rag.types import Scope

_QUOTED = re.compile(r"《[^》]{2,}》|“[^”]{4,}”")
_RANK_BEFORE = re.compile(r"[在居列]$")
_RANK_AFTER = re.compile(r"^\S{0,8}?(?:首位|前列|领先|第[一二三四五六七八九十\d])")


def untitled(text: str) -> str:
    """`text` with titles blanked (same length): an area named inside “…” or 《…》 is part of a name.
    >>> untitled("入选“甲省百强企业”榜单")
    '入选        榜单'
    """
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def detect_scope(text: str, carry: Scope = "unknown") -> Scope:
    """The area (a scope id of the domain profile) `text` speaks of, else "unknown".

    `carry` is the scope already in force around the text (the paragraph before a chunk, the
    document's subject). It settles the ambiguous cases: a text naming several areas by name (a zone
    article comparing with the city, a city plan citing the zone's ranking) takes `carry` when it is
    one of them, else the narrowest; a bare weak name (a company called after its city) does not
    override a carried narrower scope. With no carry the narrowest area named wins.
    """
    prof = active()
    order = prof.scope_ids()
    # A generic word ("全市") names the area in force, else the one the text names first by name: in a
    # prefecture's bulletin "全市" is the prefecture, in a zone's report it is the city around the zone.
    home = carry if carry in order else prof.named_scope(text)
    # A title ("入选“江苏省百强…”榜单", "依据《江苏省…规划》") names no area of the text's figures.
    text = untitled(text)
    # "在全省县级市中处于领先", "位居全市第一": an area named to rank the text's own area is not its subject.
    strong = {
        sid
        for a, b, sid in prof.scope_mentions(text, strong_only=True, home=home)
        if carry not in order or not (_RANK_BEFORE.search(text[:a]) or _RANK_AFTER.search(text[b : b + 12]))
    }
    weak = prof.scopes_named(text, home=home) - strong
    if len(strong) > 1 and carry in strong:
        return carry
    if strong and carry in weak and all(order.index(s) > order.index(carry) for s in strong):
        return carry  # a wider area cited in a text that names its own only in passing ("落实江州市…，临川…")
    if strong:
        return min(strong, key=order.index)
    if weak:
        narrowest = min(weak, key=order.index)
        if carry in order and order.index(carry) < order.index(narrowest):
            return carry
        return narrowest
    return "unknown"


def last_scope(text: str) -> Scope:
    """The scope of the last explicit mention in `text` (what a following sentence inherits)."""
    mentions = active().scope_mentions(text, strong_only=True)
    return mentions[-1][2] if mentions else "unknown"


def doc_defaults(lead: str) -> tuple[tuple[str, ...], Scope]:
    """Document-level periods and scope, read from its title and first paragraph (see
    `rag.clean.doc_lead`); chunks that say nothing themselves inherit these."""
    return detect_periods(lead), detect_scope(lead)
