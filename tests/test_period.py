"""Period and scope detection (shared by chunks and questions)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.period import detect_periods
from rag.scope import detect_scope, doc_defaults, last_scope


@pytest.mark.parametrize(
    ("text", "context", "expected"),
    [
        ("2024年,昆山高新区实现地区生产总值1135.1亿元", "", ("2024",)),
        ("2021\n年昆山高新区地区生产总值跃升至 965亿元", "", ("2021",)),
        ("2021 年度国家高新区最新综合评价结果", "", ("2021",)),
        ("高新区24年固投完成了多少？", "", ("2024",)),
        ("21年和2022年相比", "", ("2021", "2022")),
        ("2025年前三季度，签约项目27个", "", ("2025前三季度",)),
        ("截至2025年前三季度，所有实施项目均已全部开工", "", ("2025前三季度",)),
        ("前三季度签约项目27个", "2025年以来，昆山高新区", ("2025前三季度",)),
        ("前三季度签约项目27个", "", ("前三季度",)),
        ("“十四五”期间,年均增长5.5%", "", ("十四五",)),
        ("“十四五”时期，是昆山", "", ("十四五",)),
        ("“十三五”期间，比“十二五”末增长", "", ("十三五", "十二五")),
        ("第十四个五年规划和二〇三五年远景目标纲要", "", ("十四五", "2035")),
        ("2026年是“十五五”开局之年", "", ("2026", "十五五")),
        ("若干措施(2024-2026)", "", ("2024", "2026")),
        ("到 2025 年，全社会研发投入占 GDP 比重达到 4.5%", "", ("2025", "2025目标")),
        ("｜2020年完成值：3.7｜2025年目标值：4.5", "", ("2020", "2025", "2025目标")),
    ],
)
def test_detect_periods(text: str, context: str, expected: tuple[str, ...]) -> None:
    assert detect_periods(text, context) == expected


@pytest.mark.parametrize(
    "text",
    [
        "累计高新技术企业数（家） 2014 ＞4000",  # a count, not a year
        "连续6年占昆山市比重超1/4",
        "连续 5 年排名榜首",
        "近10年来增长",
        "15周年",
        "占比相较5年前提升近10个百分点",
        "2平方米+商用大尺寸",
        "发明专利授权1518件",
    ],
)
def test_no_false_periods(text: str) -> None:
    assert detect_periods(text) == ()


def test_context_never_adds_periods_of_its_own() -> None:
    assert detect_periods("签约项目27个", context="2025年前三季度") == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年,昆山高新区固定资产投资175.1亿元", "zone"),
        ("昆山高新技术产业开发区", "zone"),
        ("全区共有江苏省工业互联网平台1家", "zone"),
        ("全市万人发明专利拥有量达72.19件", "city"),
        ("昆山全社会研发投入占GDP比重提高到3.7%", "city"),
        ("昆山市科技发展将始终坚持创新", "city"),
        ("在全国157家国家高新区中位列第33位", "unknown"),  # the national category, no place named
        ("研发投入强度达到2.0%", "unknown"),
        ("有效高企总量达856家,连续6年占昆山市比重超1/4", "city"),
    ],
)
def test_detect_scope(text: str, expected: str) -> None:
    assert detect_scope(text) == expected


def test_scope_carry_settles_ambiguous_mentions() -> None:
    mixed = "2020年，昆山高新区在国家级高新区排名中位列第39名。截至2020年底，全市累计启用科创空间422.38万平方米。"
    assert detect_scope(mixed) == "zone"
    assert detect_scope(mixed, carry="city") == "city"  # in a city plan
    company = "昆山协鑫光电材料有限公司官宣其1.71平方米的钙钛矿叠层组件稳态效率可达26.36%"
    assert detect_scope(company) == "city"
    assert detect_scope(company, carry="zone") == "zone"  # a company name does not move a zone article
    assert detect_scope("全市累计启用科创空间422.38万平方米", carry="zone") == "city"  # 全市 does


def test_last_scope_and_doc_defaults() -> None:
    assert last_scope("昆山高新区新增高企97家，占昆山市比重超1/4，") == "city"
    assert last_scope("占昆山市比重超1/4，昆山高新区新增") == "zone"
    assert last_scope("没有地名") == "unknown"
    assert doc_defaults("昆山高新区全力打造新质生产力“高新”样板\n作为昆山市科技创新的重要策源地,2024年,") == (
        ("2024",),
        "zone",
    )


LABEL = re.compile(r"^(\d{4}(目标|前[一二三]季度|第?[一二三四]季度|上半年|下半年)?|十[一二三四五六]五|前[一二三]季度)$")


@given(st.text(alphabet="2024年前三季度十四五到目标昆山高新区全市连续近 0123456789.,，。", max_size=60))
def test_labels_are_well_formed(text: str) -> None:
    for label in detect_periods(text, context="2025年"):
        assert LABEL.match(label), label
    assert detect_scope(text) in ("zone", "city", "unknown")


def test_a_generic_area_word_names_the_documents_own_area():
    """ "全市" in a prefecture's bulletin is the prefecture; in a zone's report it is the city around the zone."""
    _, bulletin = doc_defaults("苏州市2025年国民经济和社会发展统计公报\n2025年，全市实现地区生产总值27864.3亿元。")
    assert bulletin == "prefecture"
    assert detect_scope("年末全市有效高新技术企业18624家", carry="prefecture") == "prefecture"
    assert detect_scope("年末全市有效高新技术企业18624家", carry="zone") == "city"


def test_a_month_reported_alone_is_its_own_period_not_the_quarters():
    from rag.dating import part_fits
    from rag.types import Chunk

    t = "前三季度，完成规上工业总产值1364.7亿元。9月当月完成规上工业总产值163.2亿元。"
    c = Chunk("c", "d", "T", "", t, 0, len(t), report="2026前三季度")
    assert part_fits({"2026前三季度"}, c, t.index("1364.7"))
    assert not part_fits({"2026前三季度"}, c, t.index("163.2"))
