"""Computations the question asks for: totals/changes of stated figures (derive) and values the passages
imply but never state (infer). Operands are read from the passages; the expected results are computed here."""

from __future__ import annotations

import re

import pytest
from conftest import text_hit

from rag.arith import infer
from rag.generate import ScriptedGenerator
from rag.pipeline import Pipeline
from rag.prompt import REFUSAL
from rag.retrieve import Retriever
from rag.settings import ROOT, Settings
from rag.types import Hit


def hit(text: str, scope: str = "zone", periods: tuple[str, ...] = ()) -> Hit:
    return text_hit(text, scope, periods)


RANKS = hit("2022年，甲区在全省开发区排名中位列第12名，较2018年上升5个位次，创历史新高。", periods=("2022",))
TALENT = hit("“十四五”期间，全区研发人员增长2.5万人，达10.3万人；研发投入增长8.1亿元，达30亿元。", periods=("十四五",))
GROWTH = hit(
    "2021年丙公司实现销售额5000万元，是2016年刚成立时的50倍。“十三五”期间，全市研发投入占比较“十二五”末增长0.75个百分点，"
    "提高到3.7%。",
    scope="city",
    periods=("2021", "十三五"),
)
EVENTS = [
    hit("乙公司2010年3月成立，专注新材料。", periods=("2010",)),
    hit("2021年3月18日,乙公司成功在科创板上市,成为当年首家上市企业。", periods=("2021",)),
]


def test_an_earlier_rank_is_the_stated_rank_plus_the_places_it_rose():
    text = infer("据此推算，2018年甲区在全省开发区中排第几名？", [RANKS])
    assert "12 + 5 = 17" in text and text.endswith("第17名。") and "[1]" in text
    assert infer("据此推算，2019年甲区在全省开发区中排第几名？", [RANKS]) == ""  # no shift stated from 2019


def test_the_start_of_a_plan_period_is_what_it_reached_minus_what_it_grew():
    text = infer("推算一下“十三五”末全区研发人员有多少万人？", [TALENT])
    assert "10.3万人 − 2.5万人 = 7.8万人" in text and "“十三五”末" in text
    # The metric binds: 研发投入 gets its own operands, not the head count's.
    assert "30亿元 − 8.1亿元 = 21.9亿元" in infer("推算2020年全区研发投入是多少亿元？", [TALENT])
    # Asking for a plan period's end is asking for that baseline, "推算" or not; asking for 2020 directly is
    # not, since the documents may state a year's value elsewhere.
    assert "7.8万人" in infer("“十三五”末全区研发人员有多少万人？", [TALENT])
    assert infer("2020年全区研发投入是多少亿元？", [TALENT]) == ""
    # The other scope's figure does not answer a city question.
    assert infer("推算“十三五”末昆山全市研发人员有多少万人？", [TALENT]) == ""


def test_a_stated_multiple_gives_the_earlier_value_and_a_named_baseline_plan_wins():
    text = infer("丙公司2016年刚成立那年销售额多少？", [GROWTH])
    assert "5000万元 ÷ 50 = 100万元" in text and "2016年" in text and "[1]" in text
    assert infer("丙公司2017年销售额多少？", [GROWTH]) == ""  # the multiple is of 2016, not 2017
    pct = infer("“十二五”末全市研发投入占比是多少？", [GROWTH])
    # "较“十二五”末增长0.75个百分点，提高到3.7%": percentage points come off a percentage.
    assert "3.7% − 0.75个百分点 = 2.95%" in pct and "“十二五”末" in pct


def test_a_change_between_a_plan_tables_columns():
    row = text_hit(
        "表1 指标｜指标名称：年新增发明专利数（件）｜2020年完成值：520｜2025年目标值：600",
        scope="city",
        periods=("2020", "2025", "2025目标"),
        kind="table_row",
    )
    text = infer("规划表里年新增发明专利数2025年目标比2020年多出几件？", [row])
    assert "600件 − 520件 = 80件" in text and "2025年目标值" in text and "[1]" in text
    assert infer("规划表里孵化器数量2025年目标比2020年多出几个？", [row]) == ""  # another indicator
    # A second question after the change question does not dilute its metric.
    two = infer("规划表里年新增发明专利数2025年目标比2020年多出几件？大概涨了百分之多少？", [row])
    assert "= 80件" in two


def test_the_rest_of_a_total_after_the_part_it_names():
    experts = hit("截至2020年底，全市外国专家达1847人，其中A类高端人才646人，获得外专项目超150个。", "city", ("2020",))
    text = infer("2020年底全市外国专家里，不算A类高端人才的还有多少人？", [experts])
    assert "1847人 − 646人 = 1201人" in text and "[1]" in text
    assert infer("2020年底全市外国专家有多少人？", [experts]) == ""  # nothing excluded: the total is stated
    assert infer("不算B类人才的外国专家还有多少人？", [experts]) == ""  # the part the question names is not stated


def test_years_between_two_dated_events_of_the_same_subject():
    text = infer("乙公司从成立到上市用了多少年？", EVENTS)
    assert "2021 − 2010" in text and text.endswith("即11年。")
    assert "[1]" in text and "[2]" in text
    assert infer("丙公司从成立到上市用了多少年？", EVENTS) == ""  # another subject: nothing to compute


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    r = Retriever(Settings())
    r.warm()
    return Pipeline(Settings(), retriever=r, generator=ScriptedGenerator(REFUSAL))


def test_a_refusal_is_replaced_by_the_inference_from_the_seed_plan(pipe):
    plan = "".join((next((ROOT / "seeds").glob("004_*.txt"))).read_text(encoding="utf-8").split())
    grew, reached = re.search(r"全市人才资源总量增长([\d.]+)万人，达([\d.]+)万人", plan).groups()
    expected = f"{float(reached) - float(grew):.10g}万人"
    a = pipe.ask("请根据规划推算，“十二五”末昆山全市人才资源总量约为多少万人？")
    assert not a.refused and a.answer.endswith(f"= {expected}。")
    assert a.citations and "人才资源总量" in a.citations[0].text


def test_a_quoted_figure_is_answered_with_the_period_its_source_states(pipe):
    """ "…175.1亿元是哪一年的？" is answered by code from the sentence that states it, before any model runs."""
    report = (next((ROOT / "seeds").glob("001_*.txt"))).read_text(encoding="utf-8")
    year, invest = re.search(r"(\d{4})年,昆山高新区固定资产投资([\d.]+亿元)", report).groups()
    a = pipe.ask(f"昆山高新区固定资产投资{invest}是哪一年的数据？")
    assert not a.refused and a.answer.startswith(f"{invest}是{year}年的数据：")
    assert a.citations[0].text.count(invest) == 1
    # A figure the documents do not state is not given a year: the question goes to the model (here: refuses).
    assert pipe.ask("昆山高新区固定资产投资999.9亿元是哪一年的数据？").refused


def test_a_change_between_two_years_is_computed_from_each_years_passage():
    """The answer may state only one year; the change is read from the passages, metric and year bound."""
    hits = [
        hit("2024年,甲区实现地区生产总值1135.1亿元,同比增长6.3%。", periods=("2024",)),
        hit("2021年甲区地区生产总值965亿元，工业总产值1720亿元。", periods=("2021",)),
    ]
    text = infer("从2021年到2024年，甲区GDP增加了多少亿元？", hits)
    assert "1135.1亿元 − 965亿元 = 170.1亿元" in text and "[1]" in text and "[2]" in text
    assert "1720" not in text.split("由此")[1]  # 工业总产值 is another metric
    assert infer("从2021年到2023年，甲区GDP增加了多少亿元？", hits) == ""  # no 2023 figure
    assert infer("2024年甲区GDP是多少？", hits) == ""  # no change asked


def test_a_change_is_never_computed_between_a_measure_and_a_narrower_one():
    from conftest import text_hit

    from rag.arith import infer
    from rag.grammar import same_measure

    whole = text_hit("2024年，昆山高新区完成专利授权5839件，其中发明专利授权1518件。", periods=("2024",))
    part = text_hit("2025年，昆山高新区储能领域发明专利授权64件。", periods=("2025",), doc="u.txt")
    assert infer("高新区2025年的发明专利授权比2024年多了多少件？", [whole, part]) == ""
    assert not same_measure("新增高新技术企业", "高新技术企业") and same_measure("实际使用外资", "实际使用外资")


def test_a_change_takes_both_operands_for_the_same_part_of_their_years():
    """ "比去年同期多多少" over a 1—9月 figure: last year's whole-year total is no operand, the same months are."""
    q = "2026年前三季度实际使用外资比2025年同期多了多少亿美元？"
    whole = text_hit("2025年，全区实际使用外资3.06亿美元。", periods=("2025",))
    now = text_hit("2026年1—9月，全区实际使用外资2.53亿美元，同比增长11.5%。", periods=("2026",))
    assert infer(q, [whole, now]) == ""
    same = text_hit("2025年1—9月，全区实际使用外资2.27亿美元。", periods=("2025",))
    assert infer(q, [whole, now, same]).endswith("2.53亿美元 − 2.27亿美元 = 0.26亿美元。")


def test_a_sum_takes_the_asked_periods_operands_of_each_named_thing():
    from rag.arith import derive

    answer = (
        "2025年电子信息产业产值1032.4亿元；2026年1—9月电子信息产业产值792.6亿元[1]。"
        "2025年装备制造产业产值618.7亿元；2026年1—9月装备制造产业产值463.9亿元[2]。"
    )
    q = "2026年前三季度电子信息和装备制造两大产业产值加起来是多少？"
    assert derive(q, answer).endswith("792.6亿元 + 463.9亿元 = 1256.5亿元。")
    assert derive("地区生产总值和工业总产值加起来是多少？", "地区生产总值965亿元，工业总产值1720亿元。") == ""
