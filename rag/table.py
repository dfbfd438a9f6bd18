"""Table rows as data: a row's indicator, its cells with their columns, and the sentence each cell states.

Rows come from `rag.clean` as ``<caption>｜<name column>：<name>｜<column>：<value>…`` (a 表1 of a plan, or a
plain-text indicator table of a notice). A cell is read as "<indicator><value><unit>" for the period its
column names; a column of targets (目标, 预期) holds no achieved value.
"""

from __future__ import annotations

import re

from rag.dating import periods_in
from rag.numbers import extract_figures
from rag.period import bare_part
from rag.types import Chunk, Figure


def table_row(chunk: Chunk) -> tuple[str, list[tuple[str, str]]]:
    """A table row's indicator name (unit in brackets) and its (column, value) cells.

    >>> t = "表1 指标｜指标名称：孵化器数（个）｜2020年完成值：140"
    >>> table_row(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))
    ('孵化器数（个）', [('2020年完成值', '140')])
    """
    cells = chunk.text.split("｜")
    name = cells[1].split("：", 1)[-1] if len(cells) > 2 else ""
    return name, [(column, value) for column, _, value in (cell.rpartition("：") for cell in cells[2:])]


def indicator_label(name: str) -> str:
    """An indicator name without its bracketed unit, nor the "其中：" that indents a row under the one above:
    "孵化器数（个）" → "孵化器数", "其中：电子信息产业产值（亿元）" → "电子信息产业产值"."""
    return re.sub(r"^\s*其中\s*[：:]\s*|[（(][^（()）]*[）)]", "", name)


def _spaced(lead: str) -> str:
    """A name that ends in a letter or digit ("…的OPC") is kept apart from its value: "OPC4家" reads as a code."""
    return lead + " " if lead[-1:].isascii() and lead[-1:].isalnum() else lead


def table_cells(chunk: Chunk) -> list[tuple[str, Figure, set[str], str]]:
    """A table row's values as sentences: (text, its figure, the column's periods, the column's name).

    "表1 …｜指标名称：海内外高层次人才（万人）｜2020年完成值：4.5｜2025年目标值：6.2" has the value 6.2
    read as "海内外高层次人才6.2万人", for 2025 (the unit sits in the indicator's name, the year in the column's).

    >>> t = "表1 指标｜指标名称：海内外高层次人才（万人）｜2020年完成值：4.5｜2025年目标值：6.2"
    >>> [(s, f.raw, sorted(p)) for s, f, p, _ in table_cells(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))]
    [('海内外高层次人才4.5万人', '4.5万人', ['2020']), ('海内外高层次人才6.2万人', '6.2万人', ['2025'])]

    A column that names no period ("同比增长(%)") is the change of the period column before it:
    >>> t = "主要指标｜指标：实际使用外资（亿美元）｜2026年1—9月：2.53｜同比增长(%)：11.5"
    >>> [(s, c) for s, _, _, c in table_cells(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))]
    [('实际使用外资2.53亿美元', '2026年1—9月'), ('实际使用外资同比增长11.5%', '2026年1—9月')]

    A column that names a part of a year alone takes the year from the table's caption:
    >>> t = "表2 2026年1—10月分类零售额｜类别：粮油类｜单位：亿元｜1—10月：12.6｜同比增长(%)：4.8"
    >>> [(s, sorted(p)) for s, _, p, _ in table_cells(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))]
    [('粮油类12.6亿元', ['2026']), ('粮油类同比增长4.8%', ['2026'])]

    A table whose columns are metrics has the row's subject in front of each:
    >>> t = "表2 分地区｜地区：东湖市｜R&D经费（亿元）：742.6｜R&D经费投入强度（%）：3.89"
    >>> [s for s, _, _, _ in table_cells(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))]
    ['东湖市R&D经费742.6亿元', '东湖市R&D经费投入强度3.89%']
    >>> t = "表2 分区镇｜区镇：西岭镇｜零售总额（亿元）：98.3｜同比增长（%）：4.2"
    >>> [s for s, _, _, _ in table_cells(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))]
    ['西岭镇零售总额98.3亿元', '西岭镇零售总额同比增长4.2%']
    """
    name, cells = table_row(chunk)
    # The unit sits in the indicator's brackets ("实际使用外资（亿美元）") or in a column of its own (单位：亿元).
    unit = next((v.strip() for c, v in cells if _UNIT_COLUMN.fullmatch(c.strip())), "")
    cells = [(c, v) for c, v in cells if not _UNIT_COLUMN.fullmatch(c.strip())]
    unit = unit or (m.group(1) if (m := _UNIT.search(name)) else "")
    label = indicator_label(name)
    # "表2 2026年1—10月…零售额" over a column "1—10月": the part of the year the caption dates.
    year = m.group(0) if (m := re.search(r"(?:19|20)\d{2}年", chunk.text.split("｜", 1)[0])) else ""
    dated = [(periods_in(c) or (periods_in(year + c) if year and bare_part(c) else set()), c, v) for c, v in cells]
    out = []
    last: tuple[set[str], str] = (set(), "")
    # No column names a period ("地区 R&D经费（亿元） 投入强度（%）"): each column is a metric of the row's
    # subject, for the period the document reports on.
    by_metric = not any(periods for periods, _, _ in dated)
    measured = ""  # by metric: the last metric column, whose change a "同比增长（%）" column states
    for periods, column, value in dated:
        own = m.group(1) if (m := _UNIT.search(column)) else ""
        if by_metric:
            changes = bool(_CHANGE_COLUMN.match(column))
            measured = measured if changes else indicator_label(column)
            lead = _spaced(label + (measured if changes else "") + indicator_label(column))
            synth = lead + value + (own or unit)
        elif periods or not last[1]:
            last = (periods, column)
            lead = _spaced(label)
            synth = lead + value + unit
        else:
            # "同比增长(%)" after "2026年1—9月": the change of that period's value, in the column's own unit.
            lead = _spaced(label + indicator_label(column))
            synth = lead + value + (own or unit)
            periods, column = last
        for g in [g for g in extract_figures(synth) if g.start >= len(lead)][:1]:
            out.append((synth, g, periods, column))
    return out


_UNIT_COLUMN = re.compile(r"(?:计量)?单位")
_CHANGE_COLUMN = re.compile(r"(?:同比|环比|比上年)?(?:增长|增速|增幅|下降|降幅)")
_UNIT = re.compile(r"[（(]([^（()）]*)[）)]$")


_TARGET = re.compile(r"目标|预期|规划|计划|力争|要达到|争取")


def names_target(text: str) -> bool:
    """Whether a table column ("2025年目标值") or a question ("…目标是多少", "力争达到…吗") speaks of a
    target, not of an achieved value: the one vocabulary both are read with."""
    return bool(_TARGET.search(text))


def without_target_words(text: str) -> str:
    """`text` with the words that make a figure a target dropped: "力争 地区生产总值" measures 地区生产总值."""
    return " ".join(_TARGET.sub(" ", text).split())


def row_sentence(chunk: Chunk) -> str:
    """A table row as a sentence a reader (and the verifier) reads: each value with its column, the
    indicator and its unit, in place of the row's raw cells.

    >>> t = "表 主要指标｜指标名称：技术合同成交额（亿元）｜2025年：18.7｜2026年目标：21"
    >>> row_sentence(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))
    '2025年技术合同成交额18.7亿元；2026年目标技术合同成交额21亿元'
    """
    return "；".join(f"{column}{synth}" for synth, _, _, column in table_cells(chunk))


# Measure words that end one metric's name as well as another ("专利授权量", "专利授权数"): no other thing.
_MEASURES = "量数额值率总计"


def other_sort(asked: str, indicator: str) -> bool:
    """Whether an indicator names another sort of the thing a question's word asks for: they share the
    word's end (the head of a Chinese compound) but differ right before it ("铁路货运量" asked, "公路货运量"
    stated). An indicator that is the head alone, or the word whole, is no other sort.

    >>> other_sort("铁路货运量", "公路货运量"), other_sort("货运量", "公路货运量"), other_sort("铁路货运量", "货运量")
    (True, False, False)
    >>> other_sort("医疗卫生机构诊疗人次", "医疗卫生机构诊疗人次"), other_sort("户籍人口", "常住人口")
    (False, True)
    >>> other_sort("公共充电桩", "建成公共充电站"), other_sort("专利授权量", "专利授权数")
    (True, False)
    >>> other_sort("充电桩", "充电站")  # a stem of two characters is too short to tell
    False
    """
    stem, last = asked[:-1], asked[-1]
    at = indicator.find(stem) if len(stem) >= 3 else -1
    after = indicator[at + len(stem)] if 0 <= at < len(indicator) - len(stem) else ""
    if re.match(r"[\u4e00-\u9fff]", after) and after != last and not {after, last} & set(_MEASURES):
        return True  # "公共充电桩" asked, "公共充电站" stated: the same words before another head noun
    for n in range(len(asked) - 1, 1, -1):  # the longest end of the asked word the indicator holds
        at = indicator.find(asked[-n:])
        if at < 0:
            continue
        before = indicator[at - 1] if at > 0 else ""
        return bool(re.match(r"[\u4e00-\u9fff]", before)) and before != asked[-n - 1] and asked[:-n] not in indicator
    return False
