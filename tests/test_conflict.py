"""Conflicting sources are surfaced, never silently resolved; look-alikes from other years are not conflicts."""

from __future__ import annotations

from rag.conflict import conflicts
from rag.generate import ScriptedGenerator
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Chunk, Hit

GDP_2024 = "数据显示,2024年,昆山高新区实现地区生产总值1135.1亿元,同比增长6.3%。"
GDP_2021 = "数据显示，2021年昆山高新区地区生产总值跃升至965亿元，工业总产值迈上1720亿元新台阶。"
# The same sentence as a second report might misprint it: same metric, period and scope, another figure.
GDP_2024_OTHER = "数据显示,2024年,昆山高新区实现地区生产总值1153.1亿元,同比增长6.3%。"


def hit(text: str, doc: str, periods: tuple[str, ...], scope: str = "zone") -> Hit:
    return Hit(Chunk(doc, doc, "报道", "", text, 0, len(text), periods, scope), 1.0)


def test_a_different_figure_for_the_same_metric_period_and_scope_is_a_conflict():
    hits = [hit(GDP_2024, "a.txt", ("2024",)), hit(GDP_2024_OTHER, "b.txt", ("2024",))]
    out = conflicts("2024年高新区地区生产总值1135.1亿元[1]。", hits)
    assert len(out) == 1 and "1153.1亿元" in out[0] and out[0].endswith("[2]。")


def test_other_years_growth_rates_and_the_same_figure_are_not_conflicts():
    hits = [hit(GDP_2024, "a.txt", ("2024",)), hit(GDP_2021, "b.txt", ("2021",)), hit(GDP_2024, "c.txt", ("2024",))]
    assert conflicts("2024年高新区地区生产总值1135.1亿元[1]。", hits) == ()
    assert conflicts("2024年高新区地区生产总值同比增长6.3%[1]。", hits) == ()
    assert conflicts("根据现有资料无法回答该问题。", hits) == ()


class _Retriever:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.hits[: k or 5]


def test_the_answer_shows_both_sources():
    hits = [hit(GDP_2024, "a.txt", ("2024",)), hit(GDP_2024_OTHER, "b.txt", ("2024",))]
    model = ScriptedGenerator("2024年高新区GDP为1135.1亿元[1]。")
    p = Pipeline(Settings(), retriever=_Retriever(hits), generator=model)
    a = p.ask("2024年昆山高新区GDP是多少？")
    assert (
        not a.refused
        and "1135.1亿元，同比增长6.3%[1]" in a.answer
        and "1153.1亿元" in a.answer
        and a.answer.endswith("[2]。")
    )
    assert {c.n for c in a.citations} == {1, 2}


def test_two_names_for_one_brand_in_the_seed_reports_are_shown_and_nothing_else_is():
    """Scan every “name”+noun of the seed index against all chunks: the 营商环境 brand renamed between the
    2021 and 2024 reports is the one rename found (both ways); plan periods (“十四五”开局之年) are not names."""
    import re

    from rag import index as index_mod
    from rag.conflict import _heads, name_conflicts

    hits = [Hit(c, 1.0) for c in index_mod.load(Settings()).chunks]
    found = {}
    for h in hits:
        for name, head, _ in _heads(h.chunk.text):
            out = name_conflicts(f"“{name}”{head}[1]。", hits)
            if out:
                found[name] = {m for q in out for m in re.findall(r"“([^”]+)”营商环境", q)}
    assert len(found) == 2, found
    (a, b) = sorted(found)
    assert found[a] == {b} and found[b] == {a} and a.endswith("高兴办") and b.endswith("高兴办")


def test_a_table_row_is_read_with_its_columns_units_and_targets() -> None:
    """A plan's row "2025年：362.8｜2026年目标：385" agrees with a report's 362.8亿元 for 2025 (its cells are 亿元,
    and a target is no other value of what was achieved); a row giving 360.1 for 2025 disagrees."""
    from rag.conflict import conflicts
    from rag.types import Chunk, Hit

    said = "2025年，全区实现社会消费品零售总额362.8亿元，同比增长5.4%。"
    report = Hit(Chunk("b", "z.txt", "T", "", said, 0, len(said), ("2025",), "zone", report="2026"), 1.0)

    def row(text: str) -> Hit:
        return Hit(Chunk("c", "p.txt", "T", "", text, 0, len(text), ("2026",), "zone", kind="table_row"), 1.0)

    answer = "2025年社会消费品零售总额为362.8亿元[1]。"
    agrees = row("表1 指标｜指标名称：社会消费品零售总额（亿元）｜2025年：362.8｜2026年目标：385｜2027年目标：410")
    assert conflicts(answer, [report, agrees]) == ()
    differs = row("表1 指标｜指标名称：社会消费品零售总额（亿元）｜2025年：360.1｜2026年目标：385")
    shown = conflicts(answer, [report, differs])
    assert len(shown) == 1 and "360.1" in shown[0] and shown[0].endswith("[2]。")
