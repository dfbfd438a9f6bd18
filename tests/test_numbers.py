"""Figures in Chinese text: units, magnitudes, ranks, comparisons, ratios, full-width digits."""

from __future__ import annotations

import pytest

from rag.numbers import cn_to_int, extract_figures, same_figure


def one(text: str):
    figs = extract_figures(text)
    assert len(figs) == 1, figs
    return figs[0]


@pytest.mark.parametrize(
    ("text", "value", "unit", "kind"),
    [
        ("1135.1亿元", 113_510_000_000.0, "元", "number"),
        ("175.1亿元", 17_510_000_000.0, "元", "number"),
        ("32个", 32.0, "个", "number"),
        ("6.3%", 6.3, "%", "percent"),
        ("5.5％", 5.5, "%", "percent"),
        ("第31位", 31.0, "名", "rank"),
        ("第31名", 31.0, "名", "rank"),
        ("＞4000家", 4000.0, "家", "comparison"),
        (">4000", 4000.0, "", "comparison"),
        ("1/4", 0.25, "", "ratio"),
        ("四分之一", 0.25, "", "ratio"),
        ("近10个百分点", 10.0, "百分点", "percent"),
        ("突破千亿元级大关", 1e11, "元", "number"),
        ("2024年", 2024.0, "年", "year"),
        ("１２３家", 123.0, "家", "number"),
        ("1,234万元", 12_340_000.0, "元", "number"),
        ("50万台", 500_000.0, "台", "number"),
        ("三十二个", 32.0, "个", "number"),
        ("两大主导产业", 2.0, "大", "number"),
        ("3.2亿美元", 320_000_000.0, "美元", "number"),
        ("139394 件", 139394.0, "件", "number"),
    ],
)
def test_single_figures(text, value, unit, kind):
    f = one(text)
    assert f.value == pytest.approx(value)
    assert (f.unit, f.kind) == (unit, kind)


def test_spans_index_the_original_text_even_with_full_width_digits():
    text = "产值１２３．５亿元，增长６．３％"
    figs = extract_figures(text)
    assert [text[f.start : f.end] for f in figs] == ["１２３．５亿元", "６．３％"]
    assert [f.raw for f in figs] == ["１２３．５亿元", "６．３％"]
    assert figs[0].value == pytest.approx(12_350_000_000.0)


def test_year_with_period_and_ranges():
    figs = extract_figures("2025年前三季度，2021-2025年，二〇三五年")
    assert [(f.value, f.kind) for f in figs] == [(2025, "year"), (2021, "year"), (2025, "year"), (2035, "year")]


def test_two_digit_year_as_people_type_it_but_not_durations():
    assert [(f.value, f.kind) for f in extract_figures("高新区24年固投")] == [(2024.0, "year")]
    assert [(f.value, f.kind) for f in extract_figures("近10年")] == [(10.0, "number")]


def test_qualifiers_are_kept():
    assert one("近10个百分点").op == "近"
    assert one("＞4000").op == ">"


def test_not_figures():
    # Names with digits, plan names, articles and idioms are not figures to check.
    assert extract_figures("5G信号覆盖，“十四五”期间，一批企业，千方百计，第一方阵") == []
    assert [f.raw for f in extract_figures("GDP 1135.1亿元[1]【2】")] == ["1135.1亿元"]  # markers are not figures


def test_wan_and_yi_compare_equal():
    assert same_figure(one("1135.1亿元"), one("11351000万元"))
    assert same_figure(one("1.5万人"), one("15000人"))
    assert not same_figure(one("1135.1亿元"), one("1135.1万元"))


def test_same_figure_is_unit_and_kind_aware():
    assert not same_figure(one("6.3%"), one("6.3个百分点"))
    assert not same_figure(one("2024年"), one("2024件"))
    # 个 is the classifier speech gives any counted thing ("10个车站" for "10座车站"); two specific
    # classifiers still count different things, and the metric check decides what a count is of.
    assert same_figure(one("32个"), one("32家")) and not same_figure(one("32家"), one("32件"))
    assert same_figure(one("第31位"), one("第31名"))
    assert same_figure(one("40亿"), one("40亿元"))  # a bare magnitude matches its unit-bearing twin
    assert not same_figure(one("1135.1亿元"), one("1136.1亿元"))


def test_chinese_numerals():
    assert [cn_to_int(s) for s in ("十", "三十二", "两", "一百零五", "十四五")] == [10, 32, 2, 105, None]


MODULES = [
    "rag.numbers",
    "rag.cite",
    "rag.verify",
    "rag.grammar",
    "rag.frame",
    "rag.answers",
    "rag.quote",
    "rag.profile",
    "rag.dating",
    "rag.table",
    "rag.bind",
    "rag.facts",
    "rag.prompt",
    "rag.rewrite",
    "rag.generate",
    "rag.arith",
    "rag.locate",
    "rag.check",
    "rag.excerpt",
    "rag.conflict",
    "rag.period",
    "rag.scope",
    "rag.ratio",
    "rag.premise",
    "rag.compose",
    "rag.query",
    "rag.chunk",
    "rag.clean",
    "rag.bm25",
    "rag.evaluate",
    "rag.complete",
    "rag.respective",
    "rag.sufficiency",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_counters_and_concentrations_are_units():
    """A count of beds or containers, a freight turnover, a concentration: each keeps its own unit, so a 吨 figure
    is never taken for a 吨公里 one, nor 500张 for a bare 500."""
    got = {
        f.raw: f.unit
        for t in ("开放床位500张", "发运2360标箱", "周转量36.14亿吨公里", "浓度28.6微克/立方米")
        for f in extract_figures(t)
    }
    assert got == {"500张": "张", "2360标箱": "标箱", "36.14亿吨公里": "吨公里", "28.6微克/立方米": "微克/立方米"}
    assert not same_figure(extract_figures("36.14亿吨公里")[0], extract_figures("36.14亿吨")[0])
