"""Which periods a text speaks about (its area is `rag.scope`'s). Pure functions, used for chunks (at
indexing) and for questions (at query time), so both sides normalise the same way.

Period labels: ``"2024"`` (a year), ``"2025前三季度"`` (a year with a part of it), ``"十四五"``
(a five-year plan period), and ``"2025目标"`` next to ``"2025"`` when the year is a target
(``到2025年``, ``2025年目标值``) rather than a result.

>>> detect_periods("2024年,全区实现地区生产总值1135.1亿元")
('2024',)
>>> detect_periods("“十四五”期间,年均增长5.5%;2026年是“十五五”开局之年")
('十四五', '2026', '十五五')
>>> detect_periods("前三季度签约项目27个", context="2025年以来")
('2025前三季度',)
>>> detect_periods("X区24年固投完成了多少？")
('2024',)
>>> detect_periods("到 2025 年，全社会研发投入占 GDP 比重达到 4.5%")
('2025', '2025目标')
"""

from __future__ import annotations

import re
from typing import NamedTuple

_CN_DIGIT = {"〇": "0", "零": "0", "○": "0", "一": "1", "二": "2", "三": "3", "四": "4",
             "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}  # fmt: skip
_PLAN_CN = "一二三四五六"

# Parts of a year that are reported as periods of their own ("2025年前三季度" ≠ "2025年"). Months counted
# from January ("1-9月", "1到9月份", "一至九月") are the same periods written another way: see `part_label`.
_MONTH = r"(?:1[0-2]|[1-9]|十[一二]|[一二三四五六七八九十两])"
_PART = (
    rf"(前[一二三]季度|[一二三四]季度|第[一二三四]季度|上半年|下半年|(?:1|一)\s*月?\s*(?:[-—–~]|至|到)\s*{_MONTH}\s*月份?"
    rf"|前\s*{_MONTH}\s*个月|[Qq][1-4](?![\dA-Za-z])|{_MONTH}\s*月(?:末|底))"
)
_YEAR4 = re.compile(rf"(?<![\d.])((?:19|20)\d{{2}})(?!\d)(?:\s*年(?!代)(?:\s*度)?(?:\s*{_PART})?)?")
_YEAR_RANGE = re.compile(r"(?<![\d.])((?:19|20)\d{2})\s*[-—–~至到]\s*((?:19|20)\d{2})(?!\d)")
_YEAR_CN = re.compile(r"二[〇零○][一二三四五六七八九〇零○]{2}(?=年)")
# "24年" means 2024 only where it is not a duration: "连续6年", "近10年", "15周年" are not years.
_YEAR2 = re.compile(
    r"(?<![\d.])(?<!连续)(?<!近)(?<!过去)(?<!这)(?<!每)(?<!多)(?<!约)(?<!超)(?<!第)(?<!用)(?<!历时)(?<!经过)(?<!未来)"
    r"([0-3]\d)年(?!来|间|内|以来|以上|左右|多|的时间|期间|前|后)"
)
_PART_ALONE = re.compile(rf"(?<![\d年前第]){_PART}")
# One month reported on its own ("9月当月", "9月份"): a period, not the months up to it. A bare "9月，" is
# more often an event's date in news than a reporting period, and is left to the sentence's year.
_ONE_MONTH = re.compile(rf"(?<![\d\-—–~至到月])({_MONTH})\s*月(?:份|当月)")
_PART_THIS_YEAR = re.compile(rf"(?:今年|本年)(?:度)?{_PART}")
# Five-year plans are named 十X五 or 第十X个五年; which exist, and their years, is the profile's.
_PLAN = re.compile(rf"十([{_PLAN_CN}])五|第十([{_PLAN_CN}])个五年")
_TARGET_BEFORE = re.compile(r"(?<!截)(?<!直)(到|至)\s*$")  # "到2025年" is a target; "截至2025年" is not
_TARGET_AFTER = re.compile(r"^\s*(年\s*)?(目标|目标值|末目标|要达到|将达到|力争)")


_CN_MONTH = {c: n for n, c in enumerate("一二三四五六七八九十", 1)} | {"十一": 11, "十二": 12, "两": 2}
_CUMULATIVE = {3: "一季度", 6: "上半年", 9: "前三季度", 12: ""}


_ANY_PART = re.compile(rf"{_PART}|(?<![\d\-—–~至到])(?:{_MONTH})\s*月(?:份|当月)|当月")


def strip_parts(text: str) -> str:
    """`text` with every part of a year blanked ("前三季度", "1—9月", "9月当月"): periods, not metric words.

    >>> strip_parts("前三季度实际使用外资")
    '    实际使用外资'
    """
    return _ANY_PART.sub(lambda m: " " * len(m.group(0)), text)


def bare_part(text: str) -> re.Match[str] | None:
    """The first part of a year `text` names without a year before it ("前三季度", "1-9月"); group 1 is the part."""
    return _PART_ALONE.search(text)


def part_label(part: str) -> str:
    """The label of a part of a year: months from January are named as the quarter or half they make up.

    >>> [part_label(p) for p in ("上半年", "1到9月份", "1-10月", "一至六月", "1—12月", "前10个月", "前两个月", "Q4")]
    ['上半年', '前三季度', '1-10月', '上半年', '', '1-10月', '1-2月', '四季度']
    >>> [part_label(p) for p in ("9月末", "10月底", "12月末")]
    ['前三季度', '1-10月', '']
    """
    if re.fullmatch(r"[Qq][1-4]", part):  # "2022年Q4": the fourth quarter, as financial reports write it
        return "一二三四"[int(part[1]) - 1] + "季度"
    # "10月末": a stock at the month's end is what the report for the months up to it states.
    m = re.search(rf"({_MONTH})\s*个?月(?:份|末|底)?$", part)
    if not m or part.endswith(("季度", "半年")):
        return part
    n = int(m.group(1)) if m.group(1).isdigit() else _CN_MONTH[m.group(1)]
    return _CUMULATIVE.get(n, f"1-{n}月")


class Mention(NamedTuple):
    """A period named in text: where, its label, and how it is used."""

    start: int
    end: int
    label: str  # "2024", "2025前三季度", "十四五", "2025目标"
    framing: bool  # opens its sentence as a time adverbial ("2024年，…", "“十四五”期间，…"): it dates what follows
    target: bool  # a target year ("到2025年", "2025年目标值")
    event: bool = False  # the date of an event ("成立于2015年", "计划2027年建成"): it dates its own clause only


_SENT_END = "。！？!?\n"
_CLAUSE_END = "。！？!?\n，,；;：:"
# The date of an event, not of the figures around it: "成立于2015年", "计划2027年建成", "2019年落户".
_EVENT_BEFORE = re.compile(
    r"(?:成立|创立|创办|始建|落户|注册|建成|投产|开工|竣工)于$|(?:计划|预计|将于|拟于|有望|力争)$"
)
_EVENT_AFTER = re.compile(
    r"^(?:年)?(?:\d{1,2}月)?(?:\d{1,2}日)?(?:成立|创立|创办|建成|投产|竣工|开工|落户|落地|注册|上市|投用|启用|开业|完工)"
)
# A period that is a clause of its own ("…介绍，2025年，X区…") dates the clauses after it.
_STANDALONE = re.compile(r"^[”\"]?(?:年|年度|全年|期间|时期|以来|末|底)?[”\"]?\s*[，,]")
# What may precede a framing period at a sentence's start, and what may follow it before the clause goes on.
_FRAME_BEFORE = re.compile(r"^[\s“\"（(]*(?:在|截至|截止|到|至|于|自|从|今年|全年)?[\s“\"]*$")
# A sentence-initial period dates the sentence unless it is itself described ("“十五五”开局之年的…", "2024年的").
_NOT_FRAMING = re.compile(r"^[”\"]?(?:年|年度)?[”\"]?\s*(?:的|之|开局|收官|是)")


def period_mentions(text: str, report: str = "") -> list[Mention]:
    """Every period `text` names, in order. `report` (the document's reporting period, see `report_period`)
    dates a bare part of a year ("上半年") whose sentence names no year."""
    found: list[tuple[int, int, str, bool]] = []
    for m in _YEAR_RANGE.finditer(text):
        found += [(m.start(1), m.end(1), m.group(1), False), (m.start(2), m.end(2), m.group(2), False)]
    for m in _YEAR4.finditer(text):
        year, part = m.group(1), m.group(2)
        if "年" not in m.group(0) and not _in_range(m.start(1), text):
            continue  # a bare 4-digit number ("累计高新技术企业数 2014") is a count, not a year
        part = part_label(part) if part else ""
        found.append((m.start(), m.end(), year + part, _is_target(text, m.start(), m.end())))
    for m in _YEAR_CN.finditer(text):
        found.append((m.start(), m.end(), "".join(_CN_DIGIT[c] for c in m.group(0)), False))
    for m in _YEAR2.finditer(text):
        found.append((m.start(), m.end(), f"20{m.group(1)}", False))
    report_year = report[:4] if report[:4].isdigit() else ""
    years = sorted((a, label[:4]) for a, _, label, target in found if label[:4].isdigit() and not target)
    if report_year and report[4:]:
        # A report on part of a year is published that year: its 今年上半年 is the report's year.
        for m in _PART_THIS_YEAR.finditer(text):
            found.append((m.start(), m.end(), f"{report_year}{part_label(m.group(1))}", False))
    for m in _PART_ALONE.finditer(text):
        if text[max(0, m.start() - 6) : m.start()].rstrip().endswith("年"):
            continue  # already taken with its year
        s_lo = max((text.rfind(ch, 0, m.start()) for ch in _SENT_END), default=-1) + 1
        # Its own sentence's year, else the year the document reports on, else the last year before it.
        own = [y for a, y in years if s_lo <= a < m.start()]
        before = [y for a, y in years if a < m.start()]
        year = own[-1] if own else report_year or (before[-1] if before else "")
        part = part_label(m.group(1))
        found.append((m.start(), m.end(), f"{year}{part}" if year else part, False))
    for m in _ONE_MONTH.finditer(text):
        if any(a <= m.start() < b and label[4:] for a, b, label, _ in found):
            continue  # "1—9月份" is the first three quarters, taken above
        s_lo = max((text.rfind(ch, 0, m.start()) for ch in _SENT_END), default=-1) + 1
        own = [y for a, y in years if s_lo <= a < m.start()]
        year = own[-1] if own else report_year
        if not year:
            continue  # a month of no known year dates nothing that can be compared
        n = m.group(1)
        found.append((m.start(), m.end(), f"{year}{int(n) if n.isdigit() else _CN_MONTH[n]}月", False))
    for m in _PLAN.finditer(text):
        found.append((m.start(), m.end(), f"十{m.group(1) or m.group(2)}五", False))
    out = []
    for a, b, label, target in sorted(found, key=lambda x: x[0]):
        s_lo = max((text.rfind(ch, 0, a) for ch in _SENT_END), default=-1) + 1
        c_lo = max((text.rfind(ch, 0, a) for ch in _CLAUSE_END), default=-1) + 1
        framing = bool(_FRAME_BEFORE.match(text[s_lo:a]) and not _NOT_FRAMING.match(text[b:])) or bool(
            _FRAME_BEFORE.match(text[c_lo:a]) and _STANDALONE.match(text[b:])
        )
        # "自2019年落地…以来" dates everything since: not an event's date but the start of a period.
        since = text[max(0, a - 1) : a] in ("自", "从") or "以来" in text[b : b + 16]
        event = not since and bool(
            _EVENT_BEFORE.search(text[max(0, a - 6) : a]) or _EVENT_AFTER.match(text[b : b + 12])
        )
        out.append(Mention(a, b, label, framing, target, event))
    return out


def detect_periods(text: str, context: str = "", report: str = "") -> tuple[str, ...]:
    """Period labels mentioned in `text`, in order of first mention, without repeats; a target year
    also gives "<year>目标".

    `context` (a title, heading or the document's first paragraph) only supplies the year for a bare
    part of a year ("前三季度") when neither `text` nor `report` names one.
    """
    if not report and context and _PART_ALONE.search(text) and not re.search(r"(?:19|20)\d{2}", text):
        report = _last_year(context)
    seen: dict[str, None] = {}
    for m in period_mentions(text, report):
        seen.setdefault(m.label, None)
        if m.target:
            seen.setdefault(f"{m.label[:4]}目标", None)
    return tuple(seen)


_DATELINE = re.compile(r"^\s*((?:19|20)\d{2})\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?\s*$", re.M)


def report_period(title: str, lead: str) -> str:
    """The period a document reports on: the first period its title names, else the first its lead names
    outside a dateline (a target aside), a part of a year ("上半年") preferred to its bare year; else the
    dateline's year.

    >>> report_period("X区上半年主要经济指标稳中有进", "2026年7月18日\\n近日，全区2026年上半年数据出炉。")
    '2026上半年'
    >>> report_period("甲市2025年国民经济和社会发展统计公报", "2026年3月\\n2025年，全市实现地区生产总值…")
    '2025'
    """
    dateline = _DATELINE.search(lead)
    body = _DATELINE.sub("", lead)
    for text in (title, body):
        labels = [m.label for m in period_mentions(text) if not m.target]
        years = [x for x in labels if x[:4].isdigit()]
        part = _PART_ALONE.search(text)
        if part and not years:  # "上半年主要经济指标…": the year is the lead's, else the dateline's
            year = next((x.label[:4] for x in period_mentions(body) if x.label[:4].isdigit() and not x.target), "")
            year = year or (dateline.group(1) if dateline else "")
            return f"{year}{part_label(part.group(1))}" if year else ""
        if labels and not labels[0][:4].isdigit():
            return labels[0]  # a plan period ("“十四五”期间，…")
        if years:
            same = [x for x in years if x.startswith(years[0][:4])]
            return max(same, key=len)
    return dateline.group(1) if dateline else ""


def _in_range(pos: int, text: str) -> bool:
    return any(m.start(1) == pos or m.start(2) == pos for m in _YEAR_RANGE.finditer(text))


def _is_target(text: str, start: int, end: int) -> bool:
    return bool(_TARGET_BEFORE.search(text[max(0, start - 4) : start]) or _TARGET_AFTER.match(text[end : end + 6]))


def _last_year(text: str) -> str:
    years = re.findall(r"(?<!\d)((?:19|20)\d{2})\s*年", text)
    return years[-1] if years else ""
