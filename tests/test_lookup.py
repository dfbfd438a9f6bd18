"""Figures looked up in the bound facts: one metric, one area, one period; the head word decides."""

from __future__ import annotations

from test_facts import _chunk

from rag.bind import bind_chunk
from rag.dating import precise_periods
from rag.frame import frame
from rag.lookup import lookup
from rag.period import part_label, period_mentions

REPORT = (
    "2026年前三季度，高新区实现地区生产总值938.4亿元，同比增长6.1%；"
    "高新技术产业产值占规模以上工业总产值比重达58.3%。"
    "同期，昆山市实现地区生产总值4127.8亿元；一般公共预算收入320.5亿元。"
    "第四季度，高新区将全力冲刺，力争全年地区生产总值突破1280亿元，高新技术产业产值占比稳定在58%以上。"
)


def _facts() -> list:
    return bind_chunk(_chunk(REPORT, report="2026前三季度"))


def _raw(question: str) -> list[str]:
    return [f.raw for f in lookup(frame(question), _facts())]


def test_months_from_january_are_the_quarter_or_half_they_make_up():
    labels = [part_label(p) for p in ("1-3月", "1到6月份", "一至九月", "1—10月")]
    assert labels == ["一季度", "上半年", "前三季度", "1-10月"]
    assert [m.label for m in period_mentions("2026年1到9月份，全市")] == ["2026前三季度"]


def test_a_part_named_once_is_each_bare_years_part_unless_the_year_is_whole():
    assert precise_periods("前三季度的外资，2025年和2026年分别是多少") == {"2025前三季度", "2026前三季度"}
    assert precise_periods("2024年全年和2026年前三季度各是多少") == {"2024", "2026前三季度"}


def test_the_asked_area_period_and_metric_pick_one_fact():
    assert _raw("2026年1到9月份，整个昆山市的地区生产总值是多少？") == ["4127.8亿元"]
    assert _raw("2026年前三季度高新区地区生产总值是多少？") == ["938.4亿元"]
    assert _raw("2026年前三季度高新区高新技术产业产值占比是多少？") == ["58.3%"]


def test_no_fact_answers_another_head_word_another_period_or_a_goal():
    assert _raw("2026年前三季度昆山市一般公共预算支出是多少？") == []  # 收入 is stated, 支出 is asked
    assert _raw("2026年高新区全年地区生产总值是多少？") == []  # only the goal (力争…突破) is for the whole year
    assert _raw("2026年第三季度高新区地区生产总值是多少？") == []  # one quarter is not the first three
    assert _raw("2026年前三季度高新区地区生产总值增速是多少？") == ["6.1%"]


def test_an_aiming_verb_makes_every_goal_after_it_a_target():
    kinds = {f.raw: f.kind for f in _facts()}
    assert kinds["突破1280亿元"] == "target" and kinds["58%"] == "target" and kinds["58.3%"] == "actual"


def test_a_bare_figure_is_no_answer_when_the_passage_states_the_asked_metric_for_another():
    from conftest import text_hit

    from rag.verify import verify

    hit = text_hit("2024年，昆山高新区完成专利授权5839件，其中发明专利授权1518件。")
    q = "2024年高新区发明专利授权量是多少件？"
    dropped = verify("2024年：5839件[1]。", [hit], frame(q))
    assert "5839件" in dropped.unsupported_numbers and "2024年：5839件" not in dropped.text
    kept = verify("2024年：1518件[1]。", [hit], frame(q))
    assert not kept.refused and "1518件" in kept.text


def test_a_follow_up_naming_only_another_area_asks_the_same_for_it():
    from rag.rewrite import rewrite
    from rag.types import Message

    h = [Message("user", "高新区2026年前三季度实际使用外资是多少？"), Message("assistant", "2.61亿美元[1]。")]
    assert rewrite("那昆山全市同期呢？", h) == "昆山全市2026年前三季度实际使用外资是多少？"
    assert rewrite("那昆山市的专利呢？", h) == "那昆山市的专利呢？"
    h2 = [Message("user", "澜锐精密是做什么的？"), Message("assistant", "…[1]。")]
    assert rewrite("它是哪天上市的？在哪个板？", h2) == "澜锐精密是哪天上市的？在哪个板？"


def test_which_day_is_answered_only_by_a_sentence_with_a_day():
    from rag.answers import states_asked_kind

    assert frame("它是哪天上市的？").asks == "day"
    assert not states_asked_kind("day", "该企业成立于2012年，2019年迁入昆山高新区。")
    assert states_asked_kind("day", "6月18日，该公司在深交所创业板上市。")


def test_the_part_of_a_two_area_question_an_answer_left_out_is_quoted_from_the_facts():
    from rag.compose import missing_parts
    from rag.facts import FactStore

    chunk = _chunk(REPORT, report="2026前三季度")
    facts = FactStore(bind_chunk(chunk))
    fr = frame("2026年前三季度全市的地区生产总值是多少？高新区又是多少？")
    rest = missing_parts(fr, (), facts, {chunk.id: chunk}, "昆山市实现地区生产总值4127.8亿元[1]。")
    assert "938.4亿元" in rest.text and "4127.8" not in rest.text
    assert missing_parts(fr, (), facts, {chunk.id: chunk}, "4127.8亿元[1]；938.4亿元[1]。").text == ""


def test_months_counted_from_now_back_are_a_part_of_the_year_too():
    assert [m.label for m in period_mentions("2026年前10个月，全市")] == ["20261-10月"]
    assert part_label("前两个月") == "1-2月"


def test_an_area_asked_in_mu_is_answered_only_by_a_sentence_stating_mu():
    from conftest import text_hit

    from rag.quote import extractive_answer

    q = frame("该封装设备总部项目占地多少亩？")
    assert frame("占地多少亩？").unit == "亩"
    assert extractive_answer(q, [text_hit("封装设备总部项目开工，项目总投资22亿元，预计年产值35亿元。")]) == ""
    assert "120亩" in extractive_answer(q, [text_hit("封装设备总部项目占地120亩，总投资22亿元。")])


def test_a_share_of_one_area_in_another_is_computed_from_each_areas_own_figure():
    """ "高新区…占全市的比重": neither document states it; the zone's and the city's GDP of the same period are
    looked up, quoted, and divided. A part figure of a narrower metric is never taken for either."""
    from rag.combine import share_answer
    from rag.facts import FactStore

    facts = _facts()
    chunks = {f.chunk_id: _chunk(REPORT, report="2026前三季度") for f in facts}
    got = share_answer(frame("2026年前三季度高新区地区生产总值占全市的比重是多少？"), (), FactStore(facts), chunks)
    assert "938.4亿元 ÷ 4127.8亿元 = 22.7%" in got.text
    assert [f.raw for f in got.facts] == ["938.4亿元", "4127.8亿元"]
    said = share_answer(
        frame("2026年前三季度高新区地区生产总值占全市的比重是多少？"), (), FactStore(facts), chunks, "占比为22.7%"
    )
    assert said.text == ""  # the answer states a percentage already


def test_a_gap_to_this_years_target_runs_from_the_latest_figure_achieved_that_year():
    """ "离2026年的目标还差多少": 2026's target (突破1280亿元) minus the latest 2026 figure (前三季度 938.4亿元);
    a figure the question names that no document sets as the target gives no gap."""
    from rag.combine import gap_answer
    from rag.facts import FactStore

    facts = _facts()
    chunks = {f.chunk_id: _chunk(REPORT, report="2026前三季度") for f in facts}
    got = gap_answer(frame("高新区地区生产总值离2026年的目标还差多少？"), (), FactStore(facts), chunks, "zone")
    assert "突破1280亿元 − 938.4亿元 = 341.6亿元" in got.text
    other = gap_answer(frame("高新区地区生产总值离2026年1500亿的目标还差多少？"), (), FactStore(facts), chunks, "zone")
    assert other.text == ""


def test_a_sum_of_two_areas_takes_each_from_its_own_table_row():
    """ "开发区和高新区…加起来": a table by area has a row per place; a place the profile does not know (东湖开发区)
    is found by the name the question gives it, the nearest full name first (东湖开发区 before 西岭经济开发区)."""
    from dataclasses import replace

    from rag.combine import sum_answer
    from rag.facts import FactStore
    from rag.types import Chunk

    rows = [
        ("东湖开发区", "other", "468.9"),
        ("昆山高新区", "zone", "311.4"),
        ("西岭经济开发区", "other", "212.6"),
    ]
    facts, chunks = [], {}
    for i, (name, scope, value) in enumerate(rows):
        t = f"表2 2026年1—10月各区镇社会消费品零售总额｜区镇：{name}｜社会消费品零售总额（亿元）：{value}"
        chunk = replace(
            Chunk(f"r{i}", "b.txt", "T", "", t, 0, len(t), (), scope, kind="table_row"), report="20261-10月"
        )
        bound = bind_chunk(chunk)
        facts += bound
        chunks[chunk.id] = chunk
    q = frame("开发区和高新区2026年1—10月社会消费品零售总额加起来一共多少？")
    got = sum_answer(q, (), FactStore(facts), chunks)
    assert "468.9亿元 + 311.4亿元 = 780.3亿元" in got.text, got.text


def test_a_comparison_of_two_areas_is_answered_from_each_areas_figure():
    """ "2026年高新区地区生产总值比全市多吗？": both figures of the same period, quoted, and the verdict."""
    from rag.combine import compare_answer
    from rag.facts import FactStore

    facts = _facts()
    chunks = {f.chunk_id: _chunk(REPORT, report="2026前三季度") for f in facts}
    more = compare_answer(frame("2026年高新区地区生产总值比全市多吗？"), (), FactStore(facts), chunks)
    assert more.text.startswith("不对") and "938.4亿元" in more.text and "4127.8亿元" in more.text
    less = compare_answer(frame("2026年高新区地区生产总值比全市少吧？"), (), FactStore(facts), chunks)
    assert less.text.startswith("是的")


def test_a_growth_rate_in_the_answer_does_not_stop_a_share_being_computed():
    from rag.combine import share_answer
    from rag.facts import FactStore

    facts = _facts()
    chunks = {f.chunk_id: _chunk(REPORT, report="2026前三季度") for f in facts}
    q = frame("2026年前三季度高新区地区生产总值占全市的比重是多少？")
    said = "2026年前三季度，高新区实现地区生产总值938.4亿元，同比增长6.1%[1]。"
    got = share_answer(q, (), FactStore(facts), chunks, said)
    assert "938.4亿元 ÷ 4127.8亿元 = 22.7%" in got.text and "同比增长6.1%；" not in got.text


def test_a_share_of_other_sides_in_the_answer_does_not_stop_the_asked_share():
    """The answer quotes "高新技术产业产值占…比重达58.3%" (a share of other sides): the asked share of the zone's
    GDP in the city's is still computed; a share the answer states already (22.7% ≈ 22.72%) is not repeated."""
    from rag.combine import share_answer
    from rag.facts import FactStore

    facts = _facts()
    chunks = {f.chunk_id: _chunk(REPORT, report="2026前三季度") for f in facts}
    q = frame("2026年前三季度高新区地区生产总值占全市的比重是多少？")
    other = "高新区实现地区生产总值938.4亿元；高新技术产业产值占规模以上工业总产值比重达58.3%[1]。"
    assert "= 22.7%" in share_answer(q, (), FactStore(facts), chunks, other).text
    same = "高新区地区生产总值938.4亿元，占全市的22.73%[1]。"
    assert share_answer(q, (), FactStore(facts), chunks, same).text == ""


def test_a_total_asked_with_one_subject_is_a_lookup_not_a_sum():
    """ "一共有多少家" with one subject and one period asks the stated total; with the things it adds named
    ("和", "两次", two years) it asks for a sum."""
    assert frame("2026年前三季度高新区地区生产总值一共多少？").operation == ""
    assert _raw("2026年前三季度高新区地区生产总值一共多少？") == ["938.4亿元"]
    assert frame("高新区和全市的地区生产总值一共多少？").operation == "sum"
    assert frame("两次增资一共多少？").operation == "sum"
    assert frame("2025年和2026年地区生产总值总共多少？").operation == "sum"
    assert frame("地区生产总值加起来多少？").operation == "sum"


def test_a_document_of_no_known_area_answers_a_question_that_names_none_about_its_subject():
    """News about a company (no area of the profile): "甲公司2022年全年营收多少？" finds the year's figure, not
    the fourth quarter's ("2022年Q4营收"), and another company's question finds nothing."""
    text = "甲公司发布财报，2022年Q4营收为254亿元，同比增长4%；2022年总营收为965亿元，同比增长10%。"
    facts = bind_chunk(_chunk(text, scope="unknown"))
    assert [f.raw for f in lookup(frame("甲公司2022年全年营收多少？"), facts)] == ["965亿元"]
    assert [f.raw for f in lookup(frame("甲公司2022年四季度营收多少？"), facts)] == ["254亿元"]
    assert lookup(frame("乙公司2022年全年营收多少？"), facts) == []


def test_one_metric_in_two_periods_of_different_years_is_summed_from_each_periods_fact():
    """ "2025年全年加上2026年1—10月…一共多少": each period's figure is looked up and quoted, then added; a
    year and a part of the same year overlap and are not added."""
    from rag.combine import sum_answer
    from rag.facts import FactStore

    text = "2025年，东湖开发区公交客运量2186万人次。2026年1—10月，东湖开发区公交客运量1942万人次，同比增长8.3%。"
    chunk = _chunk(text, report="20261-10月")
    facts = bind_chunk(chunk)
    store, chunks = FactStore(facts), {chunk.id: chunk}
    got = sum_answer(frame("2025年全年加上2026年1—10月，公交客运量一共多少？"), (), store, chunks)
    assert "2186万人次 + 1942万人次 = 4128万人次" in got.text, got.text
    same_year = sum_answer(frame("2026年全年加上2026年1—10月，公交客运量一共多少？"), (), store, chunks)
    assert same_year.text == ""


def test_another_sort_of_the_asked_thing_answers_neither_from_a_table_nor_from_a_sentence():
    """ "铁路货运量" asked; the documents state only "公路货运量" (the same head, another sort): no table cell and
    no fact answers it, while "公路货运量" itself is found both ways."""
    from conftest import text_hit

    from rag.locate import table_cell

    row = text_hit("表1 主要指标｜指标：公路货运量（万吨）｜2025年：2846｜2026年1—10月：2468", kind="table_row")
    assert table_cell("2026年1—10月铁路货运量是多少吨？", [row]) == ""
    assert "2468万吨" in table_cell("2026年1—10月公路货运量是多少吨？", [row])
    facts = bind_chunk(_chunk("2026年1—10月，全区完成公路货运量2468万吨，同比增长4.2%。"))
    assert lookup(frame("2026年1—10月铁路货运量是多少？"), facts) == []
    assert [f.raw for f in lookup(frame("2026年1—10月公路货运量是多少？"), facts)] == ["2468万吨"]
