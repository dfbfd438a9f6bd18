"""The facts layer: figures bound once at index time, read with the same grammar the verifier uses.

Staged passages test each failure class of the facts issue in general form (no seed wording); the seed
tests check every bound fact against its source span."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import text_hit

from rag.arith import derive
from rag.bind import bind, bind_chunk
from rag.chunk import chunk_document
from rag.clean import clean
from rag.dating import governing_periods
from rag.facts import FactStore
from rag.frame import frame
from rag.load import load_file
from rag.numbers import extract_figures
from rag.period import report_period
from rag.premise import check_premise
from rag.quote import extractive_answer
from rag.rewrite import rewrite
from rag.settings import ROOT, Settings
from rag.types import Chunk, Document, Fact, Hit, Message
from rag.verify import verify


def _chunk(text: str, report: str = "", scope: str = "zone") -> Chunk:
    return Chunk("c", "d.txt", "T", "", text, 0, len(text), (), scope, source=text, report=report)


# ------------------------------------------------------------ 1. periods from the document, not from passing dates


def test_a_bare_half_year_takes_the_reporting_year_not_the_last_year_mentioned():
    text = "锐联公司成立于2015年。上半年，全区实现地区生产总值587.3亿元，同比增长5.8%。"
    facts = {f.raw: f for f in bind_chunk(_chunk(text, report="2026上半年"))}
    assert facts["587.3亿元"].period == "2026上半年"


def test_an_event_date_dates_only_its_own_clause():
    text = "2025年，全区高新技术企业达968家。锐联公司成立于2015年，现有员工1460人，计划2027年建成二期。"
    c = _chunk(text)
    assert governing_periods(c, text.index("1460")) == {"2025"}
    assert {f.raw: f.period for f in bind_chunk(c)}["1460人"] == "2025"


def test_a_plan_period_mentioned_in_passing_does_not_date_the_next_sentence():
    text = "2025年，全区地区生产总值1196.8亿元，为“十四五”画上句号。上半年，一般公共预算收入41.3亿元。"
    facts = {f.raw: f for f in bind_chunk(_chunk(text, report="2026上半年"))}
    assert facts["1196.8亿元"].period == "2025"
    assert facts["41.3亿元"].period == "2026上半年"


def test_reporting_period_comes_from_title_then_lead_then_dateline():
    assert report_period("某区上半年主要经济指标", "2026年7月18日\n近日，某区2026年上半年数据出炉。") == "2026上半年"
    assert report_period("某市2025年统计公报", "2026年3月\n全市实现地区生产总值…") == "2025"
    assert report_period("某区经济运行情况", "2027年1月5日\n全区经济运行平稳。") == "2027"


def test_a_half_year_figure_never_answers_for_the_whole_year_or_another_part():
    text = "上半年，全区实现地区生产总值587.3亿元，同比增长5.8%。"
    hit = Hit(Chunk("c", "d.txt", "T", "", text, 0, len(text), ("2026上半年",), "zone", report="2026上半年"), 1.0)
    assert verify("2026年前三季度地区生产总值587.3亿元[1]。", [hit], "2026年前三季度GDP是多少？").refused
    assert verify("地区生产总值587.3亿元[1]。", [hit], "2026年GDP是多少？").refused
    kept = verify("2026年上半年地区生产总值587.3亿元[1]。", [hit], "2026年上半年GDP是多少？")
    assert not kept.refused and "587.3" in kept.text


# ------------------------------------------------------------------ 2. arithmetic over operands of one metric and kind


def test_no_sum_or_change_of_a_whole_and_its_part():
    answer = "全年完成专利授权3126件，其中发明专利授权842件[1]。"
    assert derive("专利授权比上年多了多少件？", answer) == ""
    assert derive("专利授权一共多少件？", answer) == ""


def test_no_change_between_two_sorts_of_one_kind():
    answer = "电子信息产业产值4063.5亿元[1]；装备制造产业产值2392.7亿元[1]。"
    assert derive("产值增加了多少？", answer) == ""


def test_the_same_metric_with_more_words_is_still_combined():
    answer = "2021年乐美包装增资5000万美元[1]；2023年增资1亿美元[1]。"
    assert "1.5亿美元" in derive("两次增资加起来一共多少？", answer)


# ------------------------------------------------------------------ 3. a quote must state what is asked


def test_a_fallback_quote_for_an_amount_question_states_an_amount():
    note = "地区生产总值、各产业增加值绝对数按现价计算，增长速度按可比价格计算。"
    assert extractive_answer("全市地区生产总值一共多少？", [text_hit(note, scope="city")]) == ""


def test_the_quote_prefers_the_figure_whose_own_metric_is_asked():
    row = "表 主要指标｜指标名称：研发经费投入占地区生产总值比重（%）｜2025年：4.6｜2026年目标：4.8"
    text = "2025年，全区实现地区生产总值1196.8亿元，同比增长5.4%。"
    hits = [text_hit(row, kind="table_row", periods=("2025",)), text_hit(text, periods=("2025",))]
    assert "1196.8" in extractive_answer("2025年全区GDP是多少？", hits)


# ------------------------------------------------------------------ 4. a plain-text indicator table becomes table facts


PLAIN_TABLE = """某区科技创新扶持办法

附表 主要指标

指标名称  2025年  2026年目标
研发经费投入占地区生产总值比重（%）  4.6  4.8
技术合同成交额（亿元）  18.7  21
科创载体空间（万平方米）  286  300
"""


def test_a_plain_text_table_becomes_rows_and_table_facts_with_target_and_actual():
    doc = Document("notice.txt", "notice.txt", PLAIN_TABLE, "")
    rows = [s for s in clean(doc) if s.kind == "table_row"]
    assert len(rows) == 3 and "技术合同成交额（亿元）｜2025年：18.7｜2026年目标：21" in rows[1].text
    facts = [f for f in bind(chunk_document(doc, Settings())) if f.table]
    by = {(f.metric, f.period): f for f in facts}
    assert by[("技术合同成交额", "2025")].kind == "actual" and by[("技术合同成交额", "2025")].raw == "18.7亿元"
    assert by[("技术合同成交额", "2026")].kind == "target"
    for f in facts:  # every cell's value is in the row's source span
        assert re.sub(r"[^\d.]", "", f.raw) in PLAIN_TABLE[f.start : f.end]


def test_a_target_cell_never_confirms_an_achieved_value():
    row = "表 主要指标｜指标名称：技术合同成交额（亿元）｜2025年：18.7｜2026年目标：21"
    premise = check_premise("附表上说技术合同成交额2026年已经到21亿了？", [text_hit(row, kind="table_row")])
    assert premise is not None and not premise.agrees and "18.7" in premise.sentence
    assert check_premise("技术合同成交额2026年目标是21亿吗？", [text_hit(row, kind="table_row")]).agrees


# ------------------------------------------------------------------ 5. false premises, 6. follow-ups


def test_hearsay_asked_with_a_rising_tone_is_checked_as_a_premise():
    text = "上半年，全区实现地区生产总值587.3亿元，同比增长5.8%。"
    premise = check_premise("听说全区上半年GDP破700亿了？", [text_hit(text)])
    assert premise is not None and not premise.agrees and premise.source == "587.3亿元"


def test_a_follow_up_that_only_compares_keeps_the_subject_it_follows():
    history = [Message("user", "高新区2025年专利授权多少件？"), Message("assistant", "6214件[1]。")]
    assert rewrite("比上年多多少？", history) == "高新区2025年专利授权比上年多多少？"
    assert rewrite("那比2024年底多了几家？", [Message("user", "有效高企2025年底有多少家？")]) == (
        "有效高企2025年底比2024年底多了几家？"
    )


def test_a_question_asking_two_periods_gets_a_quote_for_each():
    hits = [
        text_hit("2024年，全区有效高企总量达856家。", periods=("2024",)),
        text_hit("2025年，全区有效高企总数达到968家。", periods=("2025",)),
    ]
    f = frame("有效高企2024年底和2025年底分别是多少家？")
    assert len(f.parts) == 2
    out = verify("有效高企分别为800家和900家[1]。", hits, f).text  # the model's figures are dropped
    assert "856" in out and "968" in out


# ------------------------------------------------------------------ the store


def test_conflicts_are_a_group_by_and_series_are_in_period_order():
    text_a = "2024年，全区实现地区生产总值1135.1亿元。2021年，全区地区生产总值965亿元。"
    text_b = "2024年，全区实现地区生产总值1200亿元。"
    facts = bind_chunk(_chunk(text_a)) + bind_chunk(Chunk("c2", "e.txt", "T", "", text_b, 0, len(text_b), (), "zone"))
    store = FactStore(facts)
    assert [f.period for f in store.series("GDP", "zone")] == ["2021", "2024", "2024"]
    [group] = store.conflicts()
    assert {f.raw for f in group} == {"1135.1亿元", "1200亿元"}
    assert [f.raw for f in store.latest("地区生产总值", "zone")] == ["1135.1亿元", "1200亿元"]


@pytest.mark.parametrize("path", sorted((ROOT / "seeds").glob("*.txt")), ids=lambda p: p.name[:3])
def test_every_seed_fact_is_stated_in_its_source_span_with_its_unit(path: Path):
    doc = load_file(path)
    facts = bind(chunk_document(doc, Settings()))
    assert facts
    for f in facts:
        span = re.sub(r"\s", "", doc.text[f.start : f.end])
        if f.table:  # a row: the value is one of its cells
            assert re.sub(r"[^\d.]", "", f.raw) in re.sub(r"[^\d. ]", " ", doc.text[f.start : f.end]).split()
            continue
        figure = re.sub(r"\s", "", f.raw)
        stated = extract_figures(span)
        assert any(g.unit == f.unit and abs(g.value - f.value) < 1e-6 * max(1, abs(g.value)) for g in stated), (
            f.raw,
            span,
        )
        assert re.sub(r"^[^\d一二三四五六七八九十两]+", "", figure)[:3] in span


def test_a_sentence_that_refers_back_is_quoted_for_what_the_sentence_before_names():
    text = "6月28日，南湖智算园二期项目开工建设。该项目总投资42亿元，计划2027年建成。"
    assert "42亿元" in extractive_answer("南湖智算园二期一共要投多少钱？", [text_hit(text)])


@pytest.mark.slow
def test_now_finds_the_newest_period_across_documents_including_one_added_today(tmp_path, e5_dir):
    """`gaoxin index add` of a newer report: "现在" questions answer from its period, with no code change."""
    from rag import index as index_mod
    from rag.pipeline import Pipeline

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted((ROOT / "seeds").glob("*.txt")):
        (corpus / p.name).write_bytes(p.read_bytes())
    s = Settings(
        seeds_dir=corpus,
        index_dir=tmp_path / "i",
        data_dir=tmp_path / "d",
        llm_backend="extractive",
        today="2026-12-01",
    )
    index_mod.build(s, progress=False, log=lambda _: None)
    new = tmp_path / "zone_2026q3.txt"
    new.write_text(
        "高新区前三季度经济运行稳中有进\n\n2026年10月20日\n\n"
        "前三季度，昆山高新区有效高新技术企业总数达到1052家，新增入库科技型中小企业318家。\n",
        encoding="utf-8",
    )
    index_mod.add_documents(s, [new], progress=False, log=lambda _: None)
    a = Pipeline(s).ask("高新区现在有多少家高企？")
    assert not a.refused and "1052" in a.answer


def test_a_target_sentence_never_confirms_an_achieved_value():
    text = "到2025年，全市有效高新技术企业超4000家，高新技术产业产值占比52%。"
    premise = check_premise("全市现在有效高新技术企业已经超过4000家了吧？", [text_hit(text, scope="city")])
    assert premise is not None and not premise.agrees
    assert check_premise("全市有效高企的目标是超4000家吧？", [text_hit(text, scope="city")]).agrees


def test_a_premise_names_its_figure_by_the_noun_after_it_too():
    t = "博士后进站的，给予每人每年12万元生活补贴，最长2年；博士后出站后留区工作满3年的，再给予20万元一次性补贴。"
    wrong = check_premise("人才细则里博士后进站每年能拿20万生活补贴，对吧？", [text_hit(t)])
    assert wrong is not None and not wrong.agrees and wrong.source == "12万元"
    right = check_premise("博士后出站留区满3年能再拿20万一次性补贴吗？", [text_hit(t)])
    assert right is not None and right.agrees and right.source == "20万元"


def _table_facts(text: str, name: str) -> dict[str, Fact]:
    """The facts a document's table cells bind, by the figure as written."""
    doc = Document(name, name, text, "x")
    return {f.raw: f for c in chunk_document(doc, Settings()) for f in bind_chunk(c) if f.table}


def test_a_table_of_areas_binds_each_row_to_its_own_area_for_the_reported_period():
    """ "地区 R&D经费（亿元） 投入强度（%）" names no period in any column: each column is a metric of the row's
    area, for the year the bulletin reports on. The province's "全省" row is the province's; a prefecture the
    profile does not know is "other", never offered for an area it knows."""
    text = (
        "2025年江苏省科技经费投入统计公报\n\n江苏省统计局\n\n2026年9月25日\n\n"
        "2025年，全省科技投入保持增长。\n\n表2 分地区情况\n\n"
        "地区 R&D经费（亿元） R&D经费投入强度（%）\n全省 4586.3 3.32\n东湖市 742.6 3.89\n苏州市 1228.7 4.41\n"
    )
    by_value = _table_facts(text, "bulletin.txt")
    assert by_value["3.32%"].scope == "province" and by_value["3.32%"].period == "2025"
    assert by_value["742.6亿元"].scope == "other" and by_value["742.6亿元"].metric.startswith("东湖市R&D经费")
    assert by_value["1228.7亿元"].scope == "prefecture"
    assert by_value["3.89%"].sentence == "东湖市R&D经费投入强度3.89%"


def test_a_place_named_after_a_known_area_is_a_place_of_its_own():
    """ "昆山开发区" starts with the city's name but is another area of it; a 区镇 table row of it is "other",
    and so is a question about it, or about "花桥经济开发区" or a 镇 (the profile's place suffixes)."""
    from rag.frame import frame

    text = (
        "2026年1—10月昆山市消费品市场运行情况\n\n昆山市统计局\n\n2026年11月20日\n\n今年以来，全市消费平稳。\n\n"
        "区镇 社会消费品零售总额（亿元） 同比增长（%）\n全市 1683.5 5.2\n昆山开发区 468.9 5.1\n昆山高新区 311.4 5.8\n"
    )
    by_value = _table_facts(text, "city.txt")
    assert by_value["468.9亿元"].scope == "other" and by_value["1683.5亿元"].scope == "city"
    assert by_value["311.4亿元"].scope == "zone"
    assert frame("昆山开发区社零是多少？").scopes == {"other"}
    assert frame("花桥经济开发区的社零是多少？").scopes == {"other"}
    assert frame("周庄镇社零是多少？").scopes == {"other"}
    assert frame("昆山全市社零是多少？").scopes == {"city"}
