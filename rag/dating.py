"""Dating: which period the text at a position speaks of — its own clause's, one that opens its sentence,
one that opened an earlier sentence, else the document's reporting period (`rag.period.report_period`).

A baseline ("较2015年") is what a figure is compared with; an event's date ("成立于2015年") and a plan
period mentioned in passing ("为“十四五”画上句号") date nothing beyond their own clause. Years compare as
years (`governing_periods`); a year asked in part ("2026年上半年") also compares its part (`part_fits`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.grammar import _SENTENCE, clause_bounds
from rag.numbers import extract_figures
from rag.period import Mention, period_mentions
from rag.profile import active
from rag.types import Chunk, Figure


def _labels(text: str) -> list[tuple[int, str]]:
    out = [(f.start, str(int(f.value))) for f in extract_figures(text) if f.kind == "year"]
    out += [(m.start(), m.group(0)) for m in active().plan_rx.finditer(text)]
    return sorted(out)


def periods_in(text: str) -> set[str]:
    """Years and plan periods named in `text`.

    >>> sorted(periods_in("“十四五”期间，2024年及2025年前三季度"))
    ['2024', '2025', '十四五']
    """
    return {label for _, label in _labels(text)}


def precise_periods(text: str) -> set[str]:
    """Year periods named in `text` with the part of the year they name, targets aside.

    A part named once for several years ("前三季度的外资，2025年和2026年分别…", "比2025年同期…") is each
    bare year's part, unless that year is said to be whole (2024年全年).

    >>> sorted(precise_periods("2026年上半年和2025年全年，到2030年"))
    ['2025', '2026上半年']
    >>> sorted(precise_periods("前三季度的实际使用外资，2025年和2026年分别是多少"))
    ['2025前三季度', '2026前三季度']
    >>> sorted(precise_periods("跟2025年同期比，2026年1-9月多了多少"))
    ['2025前三季度', '2026前三季度']
    """
    mentions = [m for m in period_mentions(text) if not m.target]
    bare = {m.label for m in mentions if _BARE_PART.match(m.label)}
    parts = {m.label[4:] for m in mentions if m.label[:4].isdigit() and m.label[4:]} | bare
    shared = next(iter(parts)) if len(parts) == 1 and (bare or "同期" in text) else ""
    out = set()
    for m in mentions:
        if not m.label[:4].isdigit():
            continue
        whole = _WHOLE_YEAR.match(text[m.end :])
        out.add(m.label + shared if shared and m.label.isdigit() and not whole else m.label)
    return out


_BARE_PART = re.compile(r"^(?:前?[一二三四]季度|第[一二三四]季度|[上下]半年|1-\d+月)$")
_WHOLE_YEAR = re.compile(r"^\s*(?:全年|一整年|整年|全年度)")


def part_fits(asked: set[str] | frozenset[str], chunk: Chunk, pos: int) -> bool:
    """False when the passage text at `pos` is dated to another part of an asked year: a half-year figure
    does not answer for the whole year, nor 前三季度 for 上半年. Other years are `governing_periods`' to judge.

    >>> from rag.types import Chunk
    >>> t = "上半年，昆山高新区实现地区生产总值587.3亿元。"
    >>> c = Chunk("c", "d", "T", "", t, 0, len(t), report="2026上半年")
    >>> part_fits({"2026"}, c, 20), part_fits({"2026上半年"}, c, 20), part_fits({"2025"}, c, 20)
    (False, True, True)
    >>> t = "开业当天，商场销售额1860万元。"
    >>> part_fits({"2026上半年"}, Chunk("c", "d", "T", "", t, 0, len(t)), 10)
    False
    """
    wanted: dict[str, set[str]] = {}
    for a in asked:
        if a[:4].isdigit():
            wanted.setdefault(a[:4], set()).add(a[4:])
    if not wanted:
        return True
    found: dict[str, set[str]] = {}
    for m in governing_mentions(chunk, pos):
        found.setdefault(m.label[:4], set()).add(m.label[4:].removesuffix("目标"))
    if not found and any(p for parts in wanted.values() for p in parts):
        return False  # "1—10月销售额" is no figure dated by nothing (a news item's 开业首日销售额)
    for year, parts in found.items():
        named = parts - {""} or parts  # "2026年10月20日前三季度": the part, not the bare year, dates it
        if year in wanted and not named & wanted[year]:
            return False
    return True


def chunk_periods(chunk: Chunk) -> set[str]:
    out = set()
    for p in chunk.periods:
        m = re.match(r"(?:19|20)\d{2}", p)
        out.add(m.group(0) if m else p)
    return out


_BASELINE = re.compile(r"(?:较|比|相较|相比|较之)[“\"]?$")


def governing_mentions(chunk: Chunk, pos: int) -> list[Mention]:
    """The period mentions that date the passage text at `pos` (see `governing_periods`)."""
    text = chunk.text
    s_lo = max((text.rfind(ch, 0, pos) for ch in _SENTENCE), default=-1) + 1
    s_hi = min([i for i in (text.find(ch, pos) for ch in _SENTENCE) if i != -1] or [len(text)])
    c_lo, c_hi = clause_bounds(text, pos, pos)
    mentions = [m for m in _mentions(text, chunk.report) if not _BASELINE.search(text[max(0, m.start - 3) : m.start])]
    own = [m for m in mentions if s_lo <= m.start < s_hi]
    # Its own clause's period, else those named before it in its sentence, an event's date aside
    # ("成立于2015年，员工1460人": 1460 is no 2015 figure).
    in_clause = [m for m in own if c_lo <= m.start < c_hi]
    dating = [m for m in in_clause if m.start < pos] or [m for m in own if m.start < pos and not m.event]
    dating = dating or in_clause
    if dating:
        return dating
    # Else the period that opened an earlier sentence, else the document's reporting period.
    framing = [m for m in mentions if m.end <= s_lo and m.framing]
    if framing:
        return [framing[-1]]
    return [Mention(-1, -1, chunk.report, True, False)] if chunk.report else []


def governing_periods(chunk: Chunk, pos: int) -> set[str]:
    """Periods (years, plan periods) that date the passage text at `pos`: those of its own clause, else one
    that opens its sentence, else one that opened an earlier sentence, else the document's reporting
    period, else the chunk's periods.

    A baseline ("较2015年上升24个位次", "较“十二五”末") is what a figure is compared with, not its period:
    in "2020年位列第39名，较2015年上升24个位次" the 39 is 2020's rank, never 2015's. A year mentioned in
    passing ("为“十四五”画上句号", "成立于2015年") dates nothing beyond its clause.

    >>> from rag.types import Chunk
    >>> t = "2020年位列第39名，较2015年上升24个位次。"
    >>> sorted(governing_periods(Chunk("c", "d", "T", "", t, 0, len(t)), t.index("39")))
    ['2020']
    >>> t = "2025年，高企达968家。锐联芯成立于2015年，现有员工1460人。"
    >>> sorted(governing_periods(Chunk("c", "d", "T", "", t, 0, len(t)), t.index("1460")))
    ['2025']
    """
    found = governing_mentions(chunk, pos)
    if not found:
        return chunk_periods(chunk)
    return {m.label[:4] if m.label[:4].isdigit() else m.label for m in found}


@lru_cache(maxsize=4096)
def _mentions(text: str, report: str) -> tuple[Mention, ...]:
    return tuple(
        m for m in period_mentions(text, report) if m.label[:4].isdigit() or active().plan_rx.fullmatch(m.label)
    )


_DATE = re.compile(r"(?:(?:19|20)\d{2}\s*年\s*)?\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")


def date_at(text: str, fig: Figure) -> str:
    """The date (year+month, month+day) a month or day figure belongs to, whitespace removed; '' if none.

    >>> t = "2024年10月开工，1月9日上市，历时3个月"
    >>> [date_at(t, f) for f in extract_figures(t) if f.kind != "year"]
    ['2024年10月', '1月9日', '1月9日', '']
    >>> date_at("9月当月完成产值", extract_figures("9月当月完成产值")[0])
    '9月'
    """
    if fig.unit not in ("月", "日") or fig.raw.endswith("个月"):
        return ""
    for m in _DATE.finditer(text):
        if m.start() <= fig.start < m.end() and ("年" in m.group(0) or "日" in m.group(0)):
            return re.sub(r"\s", "", m.group(0))
    # A month alone ("9月当月") names a month, not a count of months: the passage must name it too.
    return re.sub(r"\s", "", fig.raw) if fig.unit == "月" else ""
