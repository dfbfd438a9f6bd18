"""Which periods and which area (高新区 or 昆山市) a text speaks about. Pure functions, used for
chunks (at indexing) and for questions (at query time), so both sides normalise the same way.

Period labels: ``"2024"`` (a year), ``"2025前三季度"`` (a year with a part of it), ``"十四五"``
(a five-year plan period), and ``"2025目标"`` next to ``"2025"`` when the year is a target
(``到2025年``, ``2025年目标值``) rather than a result.

>>> detect_periods("2024年,昆山高新区实现地区生产总值1135.1亿元")
('2024',)
>>> detect_periods("“十四五”期间,年均增长5.5%;2026年是“十五五”开局之年")
('十四五', '2026', '十五五')
>>> detect_periods("前三季度签约项目27个", context="2025年以来")
('2025前三季度',)
>>> detect_periods("高新区24年固投完成了多少？")
('2024',)
>>> detect_periods("到 2025 年，全社会研发投入占 GDP 比重达到 4.5%")
('2025', '2025目标')
>>> detect_scope("2024年,昆山高新区固定资产投资175.1亿元"), detect_scope("全市万人发明专利拥有量达72.19件")
('zone', 'city')
"""

from __future__ import annotations

import re

from rag.types import Scope

_CN_DIGIT = {"〇": "0", "零": "0", "○": "0", "一": "1", "二": "2", "三": "3", "四": "4",
             "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}  # fmt: skip
_PLAN_CN = "一二三四五六"

# Parts of a year that are reported as periods of their own ("2025年前三季度" ≠ "2025年").
_PART = r"(前[一二三]季度|[一二三四]季度|第[一二三四]季度|上半年|下半年)"
_YEAR4 = re.compile(rf"(?<![\d.])((?:19|20)\d{{2}})(?!\d)(?:\s*年(?!代)(?:\s*度)?(?:\s*{_PART})?)?")
_YEAR_RANGE = re.compile(r"(?<![\d.])((?:19|20)\d{2})\s*[-—–~至到]\s*((?:19|20)\d{2})(?!\d)")
_YEAR_CN = re.compile(r"二[〇零○][一二三四五六七八九〇零○]{2}(?=年)")
# "24年" means 2024 only where it is not a duration: "连续6年", "近10年", "15周年" are not years.
_YEAR2 = re.compile(
    r"(?<![\d.])(?<!连续)(?<!近)(?<!过去)(?<!这)(?<!每)(?<!多)(?<!约)(?<!超)(?<!第)(?<!用)(?<!历时)(?<!经过)(?<!未来)"
    r"([0-3]\d)年(?!来|间|内|以来|以上|左右|多|的时间|期间|前|后)"
)
_PART_ALONE = re.compile(rf"(?<![\d年前第]){_PART}")
_PLAN = re.compile(rf"十([{_PLAN_CN}])五|第十([{_PLAN_CN}])个五年")
_TARGET_BEFORE = re.compile(r"(?<!截)(?<!直)(到|至)\s*$")  # "到2025年" is a target; "截至2025年" is not
_TARGET_AFTER = re.compile(r"^\s*(年\s*)?(目标|目标值|末目标|要达到|将达到|力争)")

# "全区" is how zone articles say "the whole zone"; "国家高新区" alone is the national category.
_ZONE = re.compile(r"(?<!国家)(?<!国家级)(?<!省)(?<!省级)(?<!全国)高新区|高新技术产业开发区|全区")
# "昆山市委、市政府" names the city's government, not an area a figure belongs to.
_CITY_STRONG = re.compile(r"昆山市(?!委|政府)|全市")
_CITY = re.compile(r"昆山市(?!委|政府)|全市|昆山(?!高新区|高新技术产业开发区|市委|市政府)")


def detect_periods(text: str, context: str = "") -> tuple[str, ...]:
    """Period labels mentioned in `text`, in order of first mention, without repeats.

    `context` (a title, heading or the document's first paragraph) only supplies the year for
    a bare part of a year ("前三季度") when `text` names none.
    """
    found: list[tuple[float, str]] = []
    for m in _YEAR_RANGE.finditer(text):
        found += [(m.start(1), m.group(1)), (m.start(2), m.group(2))]
    for m in _YEAR4.finditer(text):
        year, part = m.group(1), m.group(2)
        if "年" not in m.group(0) and not _in_range(m.start(1), text):
            continue  # a bare 4-digit number ("累计高新技术企业数 2014") is a count, not a year
        found.append((m.start(), year + part if part else year))
        if _is_target(text, m.start(), m.end()):
            found.append((m.start() + 0.5, f"{year}目标"))
    for m in _YEAR_CN.finditer(text):
        found.append((m.start(), "".join(_CN_DIGIT[c] for c in m.group(0))))
    for m in _YEAR2.finditer(text):
        found.append((m.start(), f"20{m.group(1)}"))
    years_here = [label for _, label in found if label[:4].isdigit()]
    for m in _PART_ALONE.finditer(text):
        if text[max(0, m.start() - 6) : m.start()].rstrip().endswith("年"):
            continue  # already taken with its year
        year = _last_year(text[: m.start()]) or (years_here[-1][:4] if years_here else _last_year(context))
        found.append((m.start(), f"{year}{m.group(1)}" if year else m.group(1)))
    for m in _PLAN.finditer(text):
        found.append((m.start(), f"十{m.group(1) or m.group(2)}五"))
    seen: dict[str, None] = {}
    for _, label in sorted(found, key=lambda x: x[0]):
        seen.setdefault(label, None)
    return tuple(seen)


def detect_scope(text: str, carry: Scope = "unknown") -> Scope:
    """Scope: "zone" when the text names 高新区 (not a generic 国家高新区 / 省高新区) or 全区, "city" when it
    names 昆山市 / 全市 / 昆山 only, else "unknown".

    `carry` is the scope already in force around the text (the paragraph before a chunk, the
    document's subject). It settles the two ambiguous cases: a text naming both (a zone article
    comparing with 昆山市, a city plan citing 高新区's ranking) takes `carry`; a bare 昆山 (a company
    name like 昆山协鑫…, "(昆山)创新中心") does not override a carried "zone". With no carry the
    rules above apply as stated.
    """
    zone = bool(_ZONE.search(text))
    strong_city = bool(_CITY_STRONG.search(text))
    weak_city = bool(_CITY.search(text))
    if zone and strong_city and carry != "unknown":
        return carry
    if zone:
        return "zone"
    if strong_city:
        return "city"
    if weak_city:
        return "zone" if carry == "zone" else "city"
    return "unknown"


def last_scope(text: str) -> Scope:
    """The scope of the last explicit mention in `text` (what a following sentence inherits)."""
    last: tuple[int, Scope] = (-1, "unknown")
    for rx, scope in ((_ZONE, "zone"), (_CITY_STRONG, "city")):
        for m in rx.finditer(text):
            if m.start() > last[0]:
                last = (m.start(), scope)  # type: ignore[assignment]
    return last[1]


def doc_defaults(lead: str) -> tuple[tuple[str, ...], Scope]:
    """Document-level periods and scope, read from its title and first paragraph (see
    `rag.clean.doc_lead`); chunks that say nothing themselves inherit these."""
    return detect_periods(lead), detect_scope(lead)


def _in_range(pos: int, text: str) -> bool:
    return any(m.start(1) == pos or m.start(2) == pos for m in _YEAR_RANGE.finditer(text))


def _is_target(text: str, start: int, end: int) -> bool:
    return bool(_TARGET_BEFORE.search(text[max(0, start - 4) : start]) or _TARGET_AFTER.match(text[end : end + 6]))


def _last_year(text: str) -> str:
    years = re.findall(r"(?<!\d)((?:19|20)\d{2})\s*年", text)
    return years[-1] if years else ""
