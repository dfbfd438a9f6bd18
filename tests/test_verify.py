"""The figure checker: supported figures pass; changed digits, units, years, metrics and scopes do not."""

from __future__ import annotations

import pytest
from conftest import seed_hit, text_hit

from rag.frame import frame
from rag.premise import check_premise
from rag.prompt import REFUSAL
from rag.quote import extractive_answer
from rag.settings import ROOT
from rag.types import Chunk, Hit
from rag.verify import verify


@pytest.fixture(scope="module")
def gdp() -> Hit:  # "数据显示,2024年,昆山高新区实现地区生产总值1135.1亿元,同比增长6.3%;规模以上工业总产值1688.3亿元…"
    return seed_hit("001", "数据显示,2024年", 200, periods=("2024",))


@pytest.fixture(scope="module")
def inv() -> Hit:  # "2024年,昆山高新区固定资产投资175.1亿元,…新签约投资亿元以上项目32个,总投资额185.3亿元…"
    return seed_hit("001", "2024年,昆山高新区固定资产投资", 160, periods=("2024",))


@pytest.fixture(scope="module")
def project() -> Hit:  # "2025年前三季度，签约项目27个，计划总投资额156.1亿元…"
    return seed_hit("003", "2025年前三季度，签约项目27个", 80, periods=("2025",))


@pytest.fixture(scope="module")
def city() -> Hit:  # the city plan: "昆山全社会研发投入占GDP比重…提高到3.7%"
    return seed_hit("004", "“十三五”期间，昆山全社会研发投入", 400, scope="city", periods=("十三五",))


Q_GDP = "2024年昆山高新区的地区生产总值是多少？"


def test_supported_figures_pass_untouched(gdp):
    answer = "2024年，昆山高新区实现地区生产总值1135.1亿元，同比增长6.3%[1]。"
    v = verify(answer, [gdp], Q_GDP)
    assert v.text == answer
    assert v.unsupported_numbers == ()
    assert not v.fallback and not v.refused
    assert v.citations and "1135.1亿元" in v.citations[0].text


def test_abbreviation_and_growth_clause_bind_to_the_right_metric(gdp):
    v = verify("2024年昆山高新区GDP为1135.1亿元，同比增长6.3%[1]。", [gdp], Q_GDP)
    assert v.unsupported_numbers == ()


@pytest.mark.parametrize(
    ("answer", "bad"),
    [
        ("2024年，昆山高新区实现地区生产总值1136.1亿元[1]。", "1136.1亿元"),  # changed digit
        ("2024年，昆山高新区实现地区生产总值1135.1万元[1]。", "1135.1万元"),  # wrong unit
        ("2024年，昆山高新区规模以上工业总产值1135.1亿元[1]。", "1135.1亿元"),  # other metric, same passage
        ("2024年，昆山高新区地区生产总值同比增长4.4%[1]。", "4.4%"),  # another metric's growth
    ],
)
def test_unsupported_figure_drops_the_sentence(gdp, answer, bad):
    v = verify(answer + "高新区位居第31名[1]。", [gdp], Q_GDP)
    assert bad in v.unsupported_numbers
    assert v.text == "高新区位居第31名[1]。"  # repair keeps only the supported sentence


def test_wrong_year_is_unsupported(gdp):
    q = "2023年昆山高新区地区生产总值是多少？"
    for answer in ("2023年，昆山高新区实现地区生产总值1135.1亿元[1]。", "昆山高新区实现地区生产总值1135.1亿元[1]。"):
        v = verify(answer, [gdp], q)
        assert "1135.1亿元" in v.unsupported_numbers
        assert v.refused and v.text == REFUSAL  # no 2023 sentence to quote either


def test_answer_year_other_than_the_question_year_is_flagged(gdp):
    v = verify("2024年，昆山高新区实现地区生产总值1135.1亿元[1]。", [gdp], "2023年昆山高新区地区生产总值是多少？")
    assert "2024年" in v.unsupported_numbers
    assert v.refused


def test_project_investment_is_not_the_zones_fixed_asset_investment(inv, project):
    v = verify("2025年前三季度高新区固定资产投资156.1亿元[2]。", [inv, project], "高新区固投多少？")
    assert "156.1亿元" in v.unsupported_numbers
    assert v.claims[0].figures[-1].reason == "metric"
    v = verify("2024年高新区固定资产投资185.3亿元[1]。", [inv], "高新区固投多少？")
    assert "185.3亿元" in v.unsupported_numbers


def test_city_figure_offered_for_the_zone_is_unsupported(city):
    v = verify("高新区全社会研发投入占GDP比重提高到3.7%[1]。", [city], "高新区研发投入占GDP比重是多少？")
    assert v.unsupported_numbers == ("3.7%",)
    assert v.claims[0].figures[0].reason == "scope"
    ok = verify("“十三五”期间，昆山全社会研发投入占GDP比重提高到3.7%[1]。", [city], "昆山研发投入占比多少？")
    assert ok.unsupported_numbers == () and not ok.fallback


def test_invented_ids_removed_and_wrong_citation_repaired(gdp, inv):
    v = verify("2024年，昆山高新区实现地区生产总值1135.1亿元[2][7]。", [gdp, inv], Q_GDP)
    assert v.invented_ids == ("7",)
    # [1] is what backs the figure (and the change it states with it)
    assert v.text == "2024年，昆山高新区实现地区生产总值1135.1亿元，同比增长6.3%[1]。"
    assert v.claims[0].figures[1].reason == "recited"


def test_uncited_figure_free_sentence_is_dropped(gdp):
    v = verify("高新区发展很好。2024年，昆山高新区实现地区生产总值1135.1亿元[1]。", [gdp], Q_GDP)
    assert v.text == "2024年，昆山高新区实现地区生产总值1135.1亿元，同比增长6.3%[1]。"
    assert v.claims[0].reason == "uncited"


def test_fallback_quotes_the_best_passage_sentence(gdp, inv):
    v = verify("2024年高新区固定资产投资1751亿元[2]。", [gdp, inv], "2024年高新区固投完成了多少？")
    assert v.fallback
    assert "175.1亿元" in v.text and v.text.endswith("[2]。")
    assert v.citations[0].n == 2


def test_refusal_is_kept_when_the_passages_do_not_answer(gdp):
    v = verify(REFUSAL, [gdp], "宁德时代在昆山高新区投了什么项目？")
    assert v.refused and v.text == REFUSAL and not v.citations


def test_refusal_of_a_plainly_answered_question_is_overridden_by_a_quote(gdp):
    """Small models over-refuse; a passage sentence holding the whole question is quoted instead."""
    v = verify(REFUSAL, [gdp], Q_GDP)
    assert not v.refused and v.fallback
    assert "1135.1亿元" in v.text and v.text.endswith("[1]。") and v.citations[0].n == 1
    # …but never for another year than the one asked, and never for a yes/no question.
    assert verify(REFUSAL, [gdp], "2023年昆山高新区地区生产总值是多少？").refused
    assert verify(REFUSAL, [gdp], "2024年昆山高新区地区生产总值是1135.1亿元吗？").refused


def test_derived_difference_of_two_supported_figures(gdp, inv):
    answer = "2024年高新区固定资产投资175.1亿元，其中工业投资55.6亿元，非工业投资119.5亿元[2]。"
    v = verify(answer, [gdp, inv], "2024年高新区固投多少？")
    assert v.unsupported_numbers == ()
    assert v.claims[0].figures[-1].reason == "derived"


def test_premise_contradicted_returns_source_figure(gdp):
    p = check_premise("2024年昆山高新区GDP达1235亿元，对吗？", [gdp])
    assert p is not None and not p.agrees
    assert p.source == "1135.1亿元" and p.passage == 1
    ok = check_premise("2024年昆山高新区GDP是1135.1亿元吧？", [gdp])
    assert ok is not None and ok.agrees


def test_premise_about_a_year():
    hit = seed_hit("000", "中科可控于2018年落户", 100)
    p = check_premise("中科可控是2020年落户昆山高新区的吧？", [hit])
    assert p is not None and (p.agrees, p.source) == (False, "2018年")


def test_no_premise_when_question_states_no_figure(gdp):
    assert check_premise("昆山高新区GDP是多少？", [gdp]) is None


def test_extractive_answer_respects_the_question_year(gdp, inv):
    assert "175.1亿元" in extractive_answer("2024年高新区固投完成了多少？", [gdp, inv])
    assert extractive_answer("2023年高新区固投完成了多少？", [gdp, inv]) == ""


def test_premise_needs_a_yes_no_question(gdp):
    assert check_premise("1135.1亿元是高新区哪一年的地区生产总值？", [gdp]) is None


@pytest.mark.parametrize("question", ["2024年昆山高新区GDP达1235亿元，对吗？", "2024年昆山高新区GDP是1135.1亿元吧？"])
def test_premise_answers_from_prompts_pass_the_checker(gdp, question):
    from string import Template

    from rag.prompt import load_prompts

    p = check_premise(question, [gdp])
    assert p is not None
    tpl = load_prompts("premise")["premise_agrees" if p.agrees else "premise_wrong"]
    text = Template(tpl).substitute(claimed=p.claimed, source=p.source, sentence=p.sentence.rstrip("。"), n=p.passage)
    v = verify(text, [gdp], question)
    assert v.text == text and not v.fallback
    assert "1235" not in v.text  # a contradicted figure never reaches the answer


def test_scope_named_after_the_figure_is_commentary_not_subject():
    text = "2025年前三季度，实际使用外资2.27亿美元，同比增长13.3%，彰显出昆山市对外开放高地的强劲韧性。"
    hit = text_hit(text, periods=("2025前三季度",))
    answer = "2025年前三季度，昆山高新区实际使用外资2.27亿美元，同比增长13.3%[1]。"
    v = verify(answer, [hit], "2025年前三季度，昆山高新区实际使用外资多少？")
    assert v.text == answer and v.unsupported_numbers == ()


def test_next_list_item_does_not_lend_its_metric():
    hit = seed_hit("001", "新增科创承载空间超20万平方米", 60, periods=("2024",))
    v = verify("昆山高新区的科创承载空间总量超20万平方米[1]。", [hit], "昆山高新区的科创承载空间总量有多大？")
    assert "20万平方米" in v.unsupported_numbers
    ok = verify("昆山高新区新增科创承载空间超20万平方米[1]。", [hit], "昆山高新区新增了多少科创承载空间？")
    assert ok.unsupported_numbers == ()


def test_nearest_other_shows_the_year_the_documents_do_cover(gdp):
    """2023 is not in the documents: the answer stays refused, but the 2024 figure is offered with its source."""
    from rag.quote import nearest_other

    quote = nearest_other("2023年昆山高新区地区生产总值是多少？", [gdp])
    assert "2024" in quote and "1135.1亿元" in quote and quote.endswith("[1]。")
    assert extractive_answer("2023年昆山高新区地区生产总值是多少？", [gdp]) == ""  # strict: never another year
    assert nearest_other("地区生产总值是多少？", [gdp]) == ""  # no period or scope asked: nothing to add
    assert nearest_other("2023年宁德时代的营收是多少？", [gdp]) == ""  # another metric altogether


def test_an_answer_without_the_asked_unit_does_not_answer(gdp):
    """ "多少亿元" answered with no figure in 亿元 is not an answer, however true its sentence is."""
    v = verify("2024年昆山高新区经济运行稳中有进[1]。", [gdp], "2024年昆山高新区地区生产总值是多少亿元？")
    assert "1135.1亿元" in v.text and v.fallback  # the quote that does state it stands in


def test_arithmetic_the_question_asks_for_is_computed_from_stated_figures():
    from rag.arith import derive

    answer = "2021年昆山高新区地区生产总值965亿元[1]。2024年地区生产总值1135.1亿元，同比增长6.3%[2]。"
    assert derive("从2021年到2024年，昆山高新区GDP增加了多少亿元？", answer).endswith("= 170.1亿元。")
    assert derive("2024年昆山高新区GDP是多少？", answer) == ""  # no total or change asked
    assert derive("一共多少？", "只有一个数字965亿元[1]。") == ""  # nothing to combine
    # Two figures of one unit but different metrics are never combined (GDP − 工业总产值 means nothing).
    only_2021 = "2021年昆山高新区地区生产总值跃升至965亿元，工业总产值迈上1720亿元新台阶[1]。"
    assert derive("从2021年到2024年，昆山高新区GDP增加了多少亿元？", only_2021) == ""
    # A metric named once and implied after (增资 … 增资) still pairs; phase names (二期, 三期) are not amounts.
    phases = "2021年，乐美包装增资5000万美元用于二期建设；2023年，增资1亿美元用于三期项目建设[1]。"
    assert derive("两次增资加起来一共多少？", phases).endswith("5000万美元 + 1亿美元 = 1.5亿美元。")


def test_premise_with_one_right_and_one_wrong_figure_is_wrong():
    """Agreeing on the descriptor (1.71平方米) must not confirm the asserted figure (28.36% vs 26.36%)."""
    h = seed_hit("001", "昆山协鑫光电材料有限公司官宣其1.71平方米", 60, periods=("2024",))
    p = check_premise("核实一下：协鑫光电1.71平方米钙钛矿叠层组件稳态效率是28.36%吗？", [h])
    assert p is not None and not p.agrees and p.source == "26.36%"


def test_a_count_the_question_presupposes_is_not_an_unsupported_figure():
    """ "哪两项…" frames the question: an answer naming both items may say 两项 without a passage saying it."""
    h = seed_hit("000", "2平方米+商用大尺寸钙钛矿晶硅叠层组件", 120, periods=("2026",))
    q = "协鑫光电的组件通过了哪两项IEC标准认证？"
    v = verify("通过了IEC 61215和IEC 61730两项标准认证[1]。", [h], q)
    assert not v.refused and "61215" in v.text and v.unsupported_numbers == ()
    # The same count is checked as usual when the question does not presuppose it.
    assert (
        "两项" in verify("通过了IEC 61215和IEC 61730两项标准认证[1]。", [h], "组件通过了什么认证？").unsupported_numbers
    )


def test_a_baseline_year_does_not_become_a_metric_word():
    """ "较2015年上升24个位次": the metric of 24个 is 位次, not the 年 left over from the year."""
    path = next((ROOT / "seeds").glob("004_*.txt"))
    plan = "".join(path.read_text(encoding="utf-8").split())  # the plan's PDF text, wraps and spaces squeezed out
    i = plan.index("2020年，昆山高新区在国家级高新区排名中位列")
    chunk = Chunk(
        id="004:rank",
        doc=path.name,
        title="T",
        section="",
        text=plan[i : i + 60],
        start=i,
        end=i + 60,
        periods=("2020",),
        scope="city",
    )
    h = Hit(chunk=chunk, score=1.0)
    v = verify("2020年，昆山高新区在国家级高新区排名中位列第39名，较2015年上升24个位次[1]。", [h], "排名多少？")
    assert not v.refused and v.unsupported_numbers == ()


def test_a_figure_about_another_subject_does_not_answer_a_question_about_an_organisation():
    """ "中科可控营收多少" is not answered by the zone's 数字经济营业收入, though the figure is true and cited."""
    zone = seed_hit("001", "2024年,昆山高新区数字经济营业收入", 40, periods=("2024",))
    org = seed_hit("001", "中科可控信息产业有限公司发布", 60, periods=("2024",))
    answer = "2024年,昆山高新区数字经济营业收入突破40亿元[1]。"
    assert verify(answer, [zone, org], "中科可控一年营收有多少亿元？").refused
    # The same sentence still answers the question about the zone, and a question naming the organisation
    # is still answered from a sentence about it.
    assert not verify(answer, [zone, org], "2024年高新区数字经济营业收入是多少？").refused
    v = verify("中科可控发布首款国产全球模式气象一体机[2]。", [zone, org], "中科可控发布了什么产品？")
    assert not v.refused and "气象一体机" in v.text


def test_a_second_passage_stating_the_same_figure_is_cited_too(gdp):
    """Corroboration: every given passage that backs the figure (same metric, period, scope) is cited."""
    twin = text_hit("2024年，昆山高新区实现地区生产总值1135.1亿元。", periods=("2024",), doc="x.txt", score=0.5)
    other_year = text_hit("2023年，昆山高新区实现地区生产总值1135.1亿元。", periods=("2023",), doc="y.txt", score=0.4)
    v = verify("2024年昆山高新区地区生产总值1135.1亿元[1]。", [gdp, other_year, twin], "2024年高新区GDP是多少？")
    assert v.text.endswith("[1][3]。") and {c.n for c in v.citations} == {1, 3}


def test_an_answer_that_never_names_the_quoted_term_falls_back_to_the_sentence_defining_it():
    path = next((ROOT / "seeds").glob("004_*.txt"))
    plan = "".join(path.read_text(encoding="utf-8").split())
    i = plan.index("坚持创新在全市现代化建设")
    text = plan[i : plan.index("“一港”", i)]
    chunk = Chunk(
        id="004:terms",
        doc=path.name,
        title="T",
        section="",
        text=text,
        start=i,
        end=i + len(text),
        periods=("十四五",),
        scope="city",
    )
    preface = Hit(
        chunk=Chunk(
            id="004:pre",
            doc=path.name,
            title="T",
            section="",
            start=0,
            end=30,
            scope="city",
            periods=("十四五",),
            text="依据《江苏省“十四五”科技创新规划》，制定本规划。",
        ),
        score=0.5,
    )
    q = "昆山科技创新规划里说的“一廊”是指什么？"
    v = verify("依据《江苏省“十四五”科技创新规划》，制定本规划[2]。", [Hit(chunk=chunk, score=1.0), preface], q)
    assert v.fallback and v.text.startswith("“一廊”，即") and v.text.endswith("[1]。")
    # An answer that names the term stands.
    ok = verify("“一廊”，即夏驾河科创走廊[1]。", [Hit(chunk=chunk, score=1.0), preface], q)
    assert not ok.fallback and ok.text == "“一廊”，即夏驾河科创走廊[1]。"


def test_a_standard_number_is_checked_as_a_name_not_as_a_quantity():
    h = seed_hit("000", "2平方米+商用大尺寸钙钛矿晶硅叠层组件", 120, periods=("2026",))
    q = "协鑫光电的组件通过了什么认证？"
    v = verify("协鑫光电的组件通过了IEC 61215和IEC 61730标准认证[1]。", [h], q)
    assert not v.refused and not v.fallback and "IEC 61730" in v.text
    assert "61731" in verify("协鑫光电的组件通过了IEC 61215和IEC 61731标准认证[1]。", [h], q).unsupported_numbers


def test_a_quoted_term_matches_the_source_whatever_its_quote_marks():
    """“保姆式”服务 in the question is “保姆”式服务 in the report: the same term."""
    h = seed_hit("001", "2024年以来,创新实施", 120)
    q = "高新区的“保姆式”服务2.0升级版覆盖了多少家重点企业？"
    v = verify("根据现有资料无法回答该问题。", [h], q)  # the model refused; the passage plainly answers
    assert not v.refused and "806家" in v.text


def test_a_plan_table_row_backs_a_figure_with_the_unit_and_year_of_its_column():
    row = "表1 “十四五”科技发展主要指标目标｜指标名称：海内外高层次人才（万人）｜2020年完成值：4.5｜2025年目标值：6.2"
    table = text_hit(row, scope="city", periods=("2020", "2025"), kind="table_row")
    q = "到2025年海内外高层次人才目标是多少？"
    assert verify("到2025年，海内外高层次人才目标6.2万人[1]。", [table], q).text.endswith("[1]。")
    assert (
        "6.2万人"
        in verify("2020年海内外高层次人才6.2万人[1]。", [table], "2020年海内外高层次人才多少？").unsupported_numbers
    )
    assert "4.5万" in verify("到2025年，海内外高层次人才目标4.5万人[1]。", [table], q).unsupported_numbers[0]


def test_a_date_is_checked_whole():
    park = text_hit("“2024年10月，昆山高端装备总部产业园正式开工建设，规划建筑面积近33万平方米。", periods=("2024",))
    q = "昆山高端装备总部产业园什么时候开工的？"
    ok = verify("2024年10月，昆山高端装备总部产业园正式开工建设[1]。", [park], q)
    assert ok.text.startswith("2024年10月") and not ok.unsupported_numbers and not ok.fallback
    wrong = verify("2024年11月，昆山高端装备总部产业园正式开工建设[1]。", [park], q)
    assert "11月" in wrong.unsupported_numbers and "2024年11月" not in wrong.text


def test_an_asked_unit_must_be_stated_for_the_asked_metric(project):
    # The passage has 亿元 figures, none for 一般公共预算收入: a true 亿元 sentence does not answer it.
    q = "2025年前三季度昆山高新区一般公共预算收入是多少亿元？"
    v = verify("2025年前三季度，签约项目27个，计划总投资额156.1亿元[1]。", [project], q)
    assert "156.1亿元" not in v.text
    # The same sentence answers the question it is about.
    q2 = "2025年前三季度昆山高新区签约项目计划总投资额是多少亿元？"
    assert "156.1亿元" in verify("2025年前三季度，签约项目27个，计划总投资额156.1亿元[1]。", [project], q2).text


def test_an_asked_amount_needs_an_amount():
    ipo = seed_hit("000", "2026年1月9日", 80, periods=("2026",))
    v = verify("瑞博生物于2026年1月9日在香港联合交易所主板挂牌上市[1]。", [ipo], "瑞博生物港股IPO一共募资了多少钱？")
    assert v.refused and v.text == REFUSAL


def test_a_year_premise_reads_the_subject_from_the_whole_sentence():
    gcl = seed_hit("000", "在这份初心驱使下", 120, periods=("2019",))  # "自2019年落地昆山高新区以来,协鑫光电建成…"
    wrong = check_premise("协鑫光电是2021年才落户昆山高新区的吧？", [gcl])
    assert wrong is not None and not wrong.agrees and wrong.source == "2019年"
    right = check_premise("协鑫光电是2019年落户昆山高新区的吗？", [gcl])
    assert right is not None and right.agrees


def test_a_name_no_passage_mentions_is_not_answered_from_what_they_do_mention():
    hs = seed_hit("001", "2024年,昆山高新区数字经济营业收入", 40, periods=("2024",))
    v = verify("宁德时代在昆山高新区的数字经济营业收入突破40亿元[1]。", [hs], "宁德时代在昆山高新区投了什么项目？")
    assert v.refused and "宁德时代" not in v.text
    # The subject the passage does name passes, though the question words it differently ("中科可控发布").
    org = seed_hit("001", "中科可控信息产业有限公司发布", 60, periods=("2024",))
    assert not verify("中科可控发布首款国产全球模式气象一体机[1]。", [org], "中科可控发布了什么产品？").refused


def test_a_figure_the_question_builds_on_must_be_in_the_passages(inv):
    assert verify("2024年,昆山高新区固定资产投资175.1亿元[1]。", [inv], "固定资产投资999.9亿元是哪一年的数据？").refused
    assert not verify(
        "2024年,昆山高新区固定资产投资175.1亿元[1]。", [inv], "固定资产投资175.1亿元是哪一年的数据？"
    ).refused


def test_a_threshold_class_is_not_an_amount(project):
    # "计划总投资额156.1亿元，10亿元以上签约项目6个": no project was said to cost 10亿元.
    q = "某扩产项目总投资多少钱？"
    v = verify("该扩产项目总投资约10亿元[1]。", [project], q)
    assert "10亿元" in v.unsupported_numbers and "总投资约10亿元" not in v.text
    ok = verify("2025年前三季度，10亿元以上签约项目6个[1]。", [project], "2025年前三季度10亿元以上签约项目有几个？")
    assert "6个" in ok.text and not ok.unsupported_numbers


def test_a_two_part_question_is_quoted_part_by_part():
    """The model refuses; the whole question's words dilute every sentence, its second question's do not."""
    city = text_hit("“十三五”期间，全市培育国家级双创领军人才23名。", scope="city", periods=("十三五",))
    talent = text_hit("2021年，昆山高新区新增“头雁人才”2名、国家级人才7名、各类人才项目100个。", periods=("2021",))
    q = "“十三五”培育的23名国家级双创领军人才是高新区的数吗？高新区2021年新增国家级人才几名？"
    v = verify(REFUSAL, [city, talent], q)
    assert not v.refused and "国家级人才7名" in v.text and v.text.endswith("[2]。")
    assert verify(REFUSAL, [city, talent], "高新区2021年新增国家级人才几名？").text == v.text


def test_a_quoted_name_binds_the_figure_to_its_own_sentence():
    lists = text_hit(
        "龙腾光电、好孩子儿童用品、丘钛微电子、国显光电4家企业入选“2020江苏省百强创新型企业”榜单。"
        "震雄铜业、京东尚信等8家企业被列入“2020江苏省民营企业创新100强”榜单。",
        scope="city",
    )
    q = "哪几家昆山企业上了“2020江苏省百强创新型企业”榜？"
    wrong = verify("震雄铜业、京东尚信等8家企业被列入“2020江苏省百强创新型企业”榜单[1]。", [lists], q)
    assert "震雄铜业" not in wrong.text
    right = verify(
        "龙腾光电、好孩子儿童用品、丘钛微电子、国显光电4家企业入选“2020江苏省百强创新型企业”榜单[1]。", [lists], q
    )
    assert "龙腾光电" in right.text and not right.fallback


def test_an_asserted_growth_rate_is_held_against_the_growth_not_a_share():
    """ "GDP增速是6.2%吗？": the 5.6% growth (its metric named before "按可比价格计算") answers it, not the
    share of GDP that R&D spending is."""
    gdp = text_hit("全年全市实现地区生产总值27864.3亿元，按可比价格计算，比上年增长5.6%。", scope="prefecture")
    share = text_hit("全年全社会研发投入占地区生产总值比重达到4.26%。", scope="prefecture")
    found = check_premise("苏州市2025年地区生产总值增速是6.2%吗？", [share, gdp])
    assert found is not None and not found.agrees and found.source == "5.6%"


def test_a_whole_year_figure_does_not_answer_a_part_of_the_year():
    hit = text_hit("2025年全区实现地区生产总值1201.3亿元；预计2026年全年实现地区生产总值1272亿元左右。")
    ver = verify(
        "2025年地区生产总值1201.3亿元，预计2026年全年1272亿元[1]。", [hit], "2026年前三季度高新区地区生产总值是多少？"
    )
    assert ver.refused or "1272" not in ver.text


def test_a_percentage_does_not_answer_an_amount_of_another_kind():
    hit = text_hit("2020年全社会研发投入占地区生产总值比重3.7%。", scope="city")
    ver = verify("2020年研发投入占地区生产总值比重3.7%[1]。", [hit], "昆山市2020年地区生产总值是多少？")
    assert ver.refused or "3.7%" not in ver.text


def test_a_table_cell_answers_its_own_part_of_the_year_with_its_change_and_unit():
    from rag.locate import table_cell

    row = text_hit(
        "主要指标情况｜指标：规上营利性服务业营业收入（亿元）｜2025年：132.5｜2026年1—9月：101.2｜同比增长(%)：11.5",
        kind="table_row",
    )
    q = "2026年前三季度高新区规上营利性服务业营业收入是多少？"
    assert table_cell(q, [row]) == "表中“规上营利性服务业营业收入（亿元）”的2026年1—9月为101.2亿元，同比增长11.5%[1]。"
    assert table_cell("2026年高新区规上营利性服务业营业收入是多少？", [row]) == ""  # 1—9月 is not the year


def test_the_totals_figure_does_not_answer_for_a_part_of_it():
    """A follow-up "其中出口多少？" is rewritten "…进出口总额中出口多少？": the total and its growth are no answer."""
    from rag.answers import states_asked_metric
    from rag.frame import frame

    fr = frame("2026年前三季度外贸进出口总额中出口多少？")
    assert not states_asked_metric(fr, "前三季度，全区完成外贸进出口总额83.9亿美元，同比增长11.6%[1]。")
    assert states_asked_metric(fr, "其中，出口54.7亿美元，同比增长13.1%[1]。")


def test_an_asserted_year_is_held_against_a_day_the_report_dates():
    """ "…是2027年才开工吧？" against "11月18日上午，…开工仪式…" in a 2026 report: wrong, and the day is the source;
    a day on which something else happened says nothing of the asserted event."""
    t = "11月18日上午，甲乙光电智能制造基地项目开工仪式举行。3月5日，甲乙光电举行新品发布会。"
    hit = Hit(Chunk("c", "news.txt", "T", "", t, 0, len(t), ("2026",), "zone", report="2026"), 1.0)
    found = check_premise("甲乙光电制造基地是2027年才开工吧？", [hit])
    assert found is not None and not found.agrees and found.source == "2026年11月18日"
    assert check_premise("甲乙光电是2025年成立的吧？", [hit]) is None


def test_a_target_column_answers_only_a_question_about_targets():
    """A policy's indicator table holds the achieved year and the targets: "有多少" is not answered with a
    target, "目标是多少" is, and a question about part of a year is answered by neither."""
    from rag.locate import table_cell

    t = "表1 主要指标｜指标名称：绿电交易电量（亿千瓦时）｜2025年：4.36｜2026年目标：5.5｜2028年目标：8"
    row = text_hit(t, kind="table_row")
    target = "表中“绿电交易电量（亿千瓦时）”的2028年目标为8亿千瓦时[1]。"
    assert table_cell("绿电交易电量2028年目标是多少？", [row]) == target
    assert table_cell("2026年绿电交易电量有多少？", [row]) == ""
    assert table_cell("2026年1—10月绿电交易电量有多少？", [row]) == ""
    achieved = "表中“绿电交易电量（亿千瓦时）”的2025年为4.36亿千瓦时[1]。"
    assert table_cell("2025年绿电交易电量有多少？", [row]) == achieved


def test_an_uncited_figure_sentence_stands_only_when_one_passage_states_it():
    """Small models put the marker at the end of a paragraph, or leave it out: a sentence without one is
    checked against each passage and cited to the one that states its figures for the same metric."""
    noise = text_hit("交通运输部门做好疫情防控各项工作。")
    fact = text_hit("2023年春运首日全国铁路、公路、水路、民航共发送旅客3473.6万人次。")
    q = "2023年春运首日旅客发送量是多少？"
    v = verify("2023年春运首日全国共发送旅客3473.6万人次。交通运输部门做好疫情防控[1]。", [noise, fact], q)
    assert not v.refused and "3473.6万人次[2]" in v.text
    wrong = verify("2023年春运首日全国共发送旅客3500万人次。", [noise, fact], q)
    assert "3500万人次" in wrong.unsupported_numbers and "3500" not in wrong.text
    other = text_hit("2023年春运首日全国铁路发送旅客300万人次。")  # the figure, but of another metric
    assert "3473.6" not in verify("2023年春运首日全国铁路发送旅客3473.6万人次。", [noise, other], q).text


def test_a_word_is_not_read_as_the_filler_inside_it():
    """共 (as in 共计) and 有 (as in 有…家) are fillers, but 公共 and 有效 are words of the indicator's name."""
    from rag.locate import table_cell

    t = "表1 主要指标｜指标名称：公共充电桩（个）｜2025年：3260｜2028年目标：6000"
    row = text_hit(t, kind="table_row")
    want = "表中“公共充电桩（个）”的2028年目标为6000个[1]。"
    assert table_cell("政策指标表里，公共充电桩2028年目标是多少个？", [row]) == want


def test_a_share_is_never_backed_by_a_growth_rate_of_the_same_value():
    """ "占全市的比重为7.4%" cited to "同比增长7.4%": the same digits, another measure; the sentence is dropped."""
    hit = text_hit("前三季度，全区新登记民营经营主体9326户，同比增长7.4%，占全市新登记总量的15.9%。")
    q = "前三季度高新区新登记民营经营主体占全市的比重是多少？"
    wrong = verify("前三季度高新区新登记民营经营主体占全市的比重为7.4%[1]。", [hit], q)
    assert "7.4%" in wrong.unsupported_numbers and "比重为7.4%" not in wrong.text
    right = verify("前三季度高新区新登记民营经营主体占全市的比重为15.9%[1]。", [hit], q)
    assert not right.refused and "15.9%" in right.text


def test_a_figure_of_a_respectively_list_is_read_for_its_own_thing():
    """ "对旗舰店、标准店、社区店，分别给予…50万元、30万元、15万元": 30万元 is the 标准店's; the 旗舰店's
    50万元 said of the 标准店 is dropped, whatever words the three share."""
    hit = text_hit(
        "对新开设的旗舰店、标准店、社区店，经认定且正常经营满6个月的，分别给予一次性奖励50万元、30万元、15万元。"
    )
    q = "开一家标准店能拿多少奖励？"
    right = verify("标准店可获一次性奖励30万元[1]。", [hit], q)
    assert not right.refused and "30万元" in right.text
    wrong = verify("标准店可获一次性奖励50万元[1]。", [hit], q)
    assert "50万元" in wrong.unsupported_numbers and "标准店可获一次性奖励50万元" not in wrong.text


def test_a_day_premise_reads_the_event_in_any_of_its_verbs():
    """ "是从1月1日开始实施的吧？" against "自2026年8月1日起施行": the profile's verb synonyms make one event."""
    hit = text_hit("第十二条 本措施自2026年8月1日起施行，有效期至2027年12月31日。")
    found = check_premise("那个措施是从2026年1月1日开始实施的吧？", [hit])
    assert found is not None and not found.agrees and found.source == "8月1日"
    agreed = check_premise("那个措施是8月1日开始执行的吗？", [hit])
    assert agreed is not None and agreed.agrees


def test_a_numbered_table_row_is_read_whatever_fillers_its_name_holds():
    """ "限额以上商贸企业": 以上 is a filler of questions, and the indicator's name is read the same way."""
    from rag.locate import table_cell

    t = "表1 主要指标｜指标名称：限额以上商贸企业（家）｜2025年：486｜2026年目标：530｜2027年目标：580"
    row = text_hit(t, kind="table_row")
    want = "表中“限额以上商贸企业（家）”的2027年目标为580家[1]。"
    assert table_cell("措施的指标表里，2027年限额以上商贸企业的目标是多少家？", [row]) == want


def test_a_year_the_question_names_stands_where_the_passage_names_no_year():
    """ "2025年建成投用的…中心位于哪个岛上？": a news item that never says a year does not contradict the
    question's year the answer restates; a passage of another year does."""
    q = "2025年建成投用的国家级海带良种繁育中心位于哪个岛上？"
    undated = text_hit("国家级海带良种繁育中心在杉屿正式建成投用，年育苗能力达到三亿株。", scope="unknown")
    assert "杉屿" in verify("2025年建成投用的繁育中心位于杉屿[1]。", [undated], q).text
    dated = text_hit("2024年，国家级海带良种繁育中心在杉屿开工建设。", scope="unknown")
    assert verify("2025年建成投用的繁育中心位于杉屿[1]。", [dated], q).refused


def test_a_count_asserted_with_its_noun_after_it_is_held_against_the_passage():
    """ "是不是开放了500张床位？": 是不是 stands before the claim, the counter 张 is a unit, and the subject named
    earlier in the passage's sentence (甲医院一期正式开诊，开放床位300张) is the one asserted about."""
    hit = text_hit("6月28日，甲医院一期正式开诊，开放床位300张，区域医疗服务短板进一步补齐。")
    wrong = check_premise("甲医院一期是不是开放了500张床位？", [hit])
    assert wrong is not None and not wrong.agrees and wrong.source == "300张"
    heard = check_premise("听说甲医院一期开放了300张床位？", [hit])
    assert heard is not None and heard.agrees
    assert check_premise("甲医院一期是不是开放了500个门诊诊室？", [hit]) is None  # another thing counted


def test_another_sort_of_the_asked_thing_is_no_answer_and_no_fallback():
    """ "铁路货运量是多少吨？" over a passage stating only 公路货运量 (and 吨公里, which is no 吨): the model's
    sentence is dropped and no quote replaces the refusal; the same passage answers "公路货运量"."""
    hit = text_hit("2026年1—10月，全区完成公路货运量2468万吨，同比增长4.2%；货物周转量36.14亿吨公里，同比增长5.1%。")
    rail = frame("2026年1—10月铁路货运量是多少吨？")
    assert verify("2026年1—10月，全区完成公路货运量2468万吨[1]。", [hit], rail).refused
    assert verify(REFUSAL, [hit], rail).refused
    road = verify(REFUSAL, [hit], frame("2026年1—10月公路货运量是多少吨？"))
    assert not road.refused and "2468万吨" in road.text


def test_common_words_in_subject_position_are_no_name_the_passages_must_contain():
    """ "…企业通过中欧班列一共发了多少标箱？" over a table row that never says 企业: the answer from the row stands;
    an unknown name in the same place ("甲乙时代…") still makes the answer ungrounded."""
    row = text_hit("表1 主要指标｜指标：中欧班列发运量（标箱）｜2025年：2360｜2026年1—10月：2218", kind="table_row")
    q = "2025年东湖开发区企业通过中欧班列一共发了多少标箱？"
    assert not verify("2025年企业通过中欧班列一共发运2360标箱[1]。", [row], frame(q)).refused
    named = "2025年甲乙时代通过中欧班列一共发了多少标箱？"
    assert verify("2025年甲乙时代通过中欧班列一共发运2360标箱[1]。", [row], frame(named)).refused
