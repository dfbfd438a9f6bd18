"""Fact-checking claims against the real seed index (e5 + BM25 retrieval, no LLM).

Every claim is built here from a figure read out of the seed files, then left true or falsified
(a digit, the unit, the year, the area), so the expected source value always comes from the seeds.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from rag.check import check_claim, normalize_claim, split_statements
from rag.numbers import extract_figures
from rag.retrieve import Retriever
from rag.settings import ROOT, Settings
from rag.types import Hit


def seed(prefix: str) -> str:
    return next((ROOT / "seeds").glob(prefix + "_*.txt")).read_text(encoding="utf-8")


def squeeze(text: str) -> str:
    return re.sub(r"\s", "", text)


def find(prefix: str, pattern: str) -> tuple[str, ...]:
    """Groups of `pattern` matched in a seed (whitespace squeezed out, as PDF text wraps anywhere)."""
    m = re.search(pattern, squeeze(seed(prefix)))
    assert m, f"seed {prefix} no longer says {pattern}"
    return m.groups()


GDP_2024, GROWTH_2024 = find("001", r"2024年,昆山高新区实现地区生产总值([\d.]+亿元),同比增长([\d.]+%)")
(INVEST_2024,) = find("001", r"2024年,昆山高新区固定资产投资([\d.]+亿元)")
(GDP_2021,) = find("002", r"2021年昆山高新区地区生产总值跃升至(\d+亿元)")
(TECH_DEALS_2020,) = find("004", r"2020年，全市实现技术合同交易额([\d.]+亿元)")
(RD_TARGET,) = find("004", r"到2025年，全社会研发投入占GDP比重达到([\d.]+%)")


def changed_digit(figure: str) -> str:
    """The figure with its first digit changed: 1135.1亿元 → 2135.1亿元."""
    i = next(i for i, ch in enumerate(figure) if ch.isdigit())
    return figure[:i] + str((int(figure[i]) + 1) % 10) + figure[i + 1 :]


class Fixed:
    """A retriever that always returns the same passages (to stage two sources that disagree)."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.hits


@pytest.fixture(scope="module")
def retriever() -> Retriever:
    r = Retriever(Settings())
    r.warm()
    return r


def only(result: dict) -> dict:
    assert len(result["statements"]) == 1, result["statements"]
    return result["statements"][0]


# --------------------------------------------------------------------------- splitting (no models)


def test_hedges_and_question_endings_are_dropped():
    for said in (
        f"听说2024年高新区GDP是{GDP_2024}，对吗？",
        f"2024年高新区GDP是不是{GDP_2024}？",
        f"核实一下：2024年高新区GDP是{GDP_2024}吗",
    ):
        assert normalize_claim(said) == f"2024年高新区GDP是{GDP_2024}"


def test_clauses_inherit_year_and_area_but_a_denominator_is_not_an_area():
    parts = split_statements(f"2024年昆山高新区GDP达{GDP_2024}，同比增长{GROWTH_2024}。固定资产投资{INVEST_2024}")
    assert [p.text for p in parts] == [
        f"2024年昆山高新区GDP达{GDP_2024}",
        f"同比增长{GROWTH_2024}",
        f"固定资产投资{INVEST_2024}",
    ]
    assert all(p.periods == {"2024"} and p.scopes == {"zone"} for p in parts)
    assert "2024年" in parts[2].query and "高新区" in parts[2].query  # retrieval gets the inherited words too
    share = split_statements("“十四五”期间，昆山高新区电子信息产业产值突破1000亿元，产值贡献占昆山市1/4")
    assert share[1].scopes == {"zone"}  # 占昆山市: the city is what the zone's share is taken of
    # A framing year is a period, not a figure; a year after a subject is the fact asserted.
    assert [f.raw for f in split_statements("2024年，昆山高新区新增专利授权5839件")[0].figures] == ["5839件"]
    assert [f.raw for f in split_statements("瑞博生物2007年1月成立")[0].figures] == ["2007年"]


# --------------------------------------------------------------------------- figures against the real index


def test_true_figure_is_supported_with_the_exact_source_span(retriever):
    res = check_claim(f"2024年昆山高新区地区生产总值{GDP_2024}", retriever)
    st = only(res)
    assert res["verdict"] == st["verdict"] == "supported" and st["source_value"] is None
    ev = st["evidence"][0]
    assert ev["doc"].startswith("001_") and GDP_2024 in ev["text"]
    assert squeeze(seed("001")[ev["start"] : ev["end"]]) == squeeze(ev["text"])  # offsets index the source file
    json.dumps(res, ensure_ascii=False)  # what `gaoxin check --json` prints


def test_changed_digit_is_contradicted_with_the_source_value(retriever):
    st = only(check_claim(f"2024年昆山高新区地区生产总值{changed_digit(GDP_2024)}", retriever))
    assert (st["verdict"], st["reason"], st["source_value"]) == ("contradicted", "value", GDP_2024)
    assert GDP_2024 in st["evidence"][0]["text"]


def test_units_are_compared_not_strings(retriever):
    wrong_unit = GDP_2024.replace("亿元", "万元")
    st = only(check_claim(f"2024年昆山高新区地区生产总值{wrong_unit}", retriever))
    assert (st["verdict"], st["source_value"]) == ("contradicted", GDP_2024)
    in_wan = f"{round(extract_figures(GDP_2024)[0].value / 10_000)}万元"  # the same amount, other wording
    assert only(check_claim(f"2024年昆山高新区地区生产总值{in_wan}", retriever))["verdict"] == "supported"


def test_wrong_year(retriever):
    # The sources give 2021's GDP: the claim is contradicted by that year's own figure.
    st = only(check_claim(f"2021年昆山高新区地区生产总值{GDP_2024}", retriever))
    assert (st["verdict"], st["reason"], st["source_value"]) == ("contradicted", "value", GDP_2021)
    # No source covers 2023, but the claimed figure is 2024's: contradicted, saying which year it belongs to.
    st = only(check_claim(f"2023年昆山高新区地区生产总值{GDP_2024}", retriever))
    assert (st["verdict"], st["reason"], st["source_period"]) == ("contradicted", "period", ["2024"])
    # No source covers 2023 and the figure is no year's: nothing speaks to it, so not_found (not contradicted).
    st = only(check_claim("2023年昆山高新区地区生产总值1100亿元", retriever))
    assert (st["verdict"], st["evidence"]) == ("not_found", [])


def test_city_figure_attributed_to_the_zone_and_back(retriever):
    st = only(check_claim(f"2020年昆山高新区技术合同交易额{TECH_DEALS_2020}", retriever))
    assert (st["verdict"], st["reason"], st["source_scope"]) == ("contradicted", "scope", ["city"])
    assert "全市" in st["evidence"][0]["text"]
    st = only(check_claim(f"2024年昆山市地区生产总值{GDP_2024}", retriever))
    assert (st["verdict"], st["reason"], st["source_scope"]) == ("contradicted", "scope", ["zone"])


def test_absent_metric_is_not_found(retriever):
    assert "常住人口" not in "".join(seed(p) for p in ("000", "001", "002", "003", "004"))
    res = check_claim("2024年昆山高新区常住人口50万人", retriever)
    assert res["verdict"] == "not_found" and only(res)["evidence"] == []


def test_hedged_and_question_phrasings(retriever):
    for said in (
        f"听说2024年昆山高新区GDP是不是{GDP_2024}？",
        f"核实一下：2024年高新区固定资产投资是{INVEST_2024}吗？",
    ):
        assert check_claim(said, retriever)["verdict"] == "supported", said
    st = only(check_claim(f"2024年高新区固定资产投资是{changed_digit(INVEST_2024)}，对吧？", retriever))
    assert (st["verdict"], st["source_value"]) == ("contradicted", INVEST_2024)
    assert not re.search("对吧|吗|？", st["text"])


def test_multi_statement_claim_gets_per_statement_verdicts(retriever):
    claim = f"2024年昆山高新区地区生产总值{GDP_2024}，同比增长{changed_digit(GROWTH_2024)}；固定资产投资{INVEST_2024}。"
    res = check_claim(claim, retriever)
    assert [s["verdict"] for s in res["statements"]] == ["supported", "contradicted", "supported"]
    assert res["verdict"] == "contradicted"
    assert res["statements"][1]["source_value"] == GROWTH_2024
    assert all(s["periods"] == ["2024"] and s["scopes"] == ["zone"] for s in res["statements"])


def test_plan_table_values_are_read_with_their_column_and_unit(retriever):
    st = only(check_claim(f"到2025年，昆山全社会研发投入占地区生产总值比重达到{RD_TARGET}", retriever))
    assert st["verdict"] == "supported"
    st = only(check_claim(f"到2025年，昆山全社会研发投入占地区生产总值比重达到{changed_digit(RD_TARGET)}", retriever))
    assert (st["verdict"], st["source_value"]) == ("contradicted", RD_TARGET)
    assert any(RD_TARGET.rstrip("%") in squeeze(seed("004")[e["start"] : e["end"]]) for e in st["evidence"])


# --------------------------------------------------------------------------- facts without figures, dated facts


def test_statement_without_figures_needs_a_sentence_that_restates_it(retriever):
    assert check_claim("昆山高新区是首个设立在县级市的国家高新区", retriever)["verdict"] == "supported"
    assert check_claim("昆山高新区是首个设立在地级市的国家高新区", retriever)["verdict"] == "not_found"


def test_dated_facts_compare_their_dates(retriever):
    year, month = find("000", r"瑞博生物(\d{4}年)(\d+月)成立")
    assert check_claim(f"瑞博生物{year}{month}成立", retriever)["verdict"] == "supported"
    st = only(check_claim(f"瑞博生物{int(year[:4]) + 2}年{month}成立", retriever))
    assert (st["verdict"], st["source_value"]) == ("contradicted", year)
    (listed,) = find("000", r"2026年(\d+月)9日,苏州瑞博生物")
    other = f"{int(listed[:-1]) % 12 + 1}月"
    st = only(check_claim(f"2026年{other}9日，瑞博生物在香港联合交易所主板挂牌上市", retriever))
    assert (st["verdict"], st["source_value"]) == ("contradicted", listed)


# --------------------------------------------------------------------------- sources that disagree


def test_two_sources_disagreeing_are_both_shown(retriever):
    hit = next(h for h in retriever.search(f"2024年昆山高新区地区生产总值{GDP_2024}", 5) if GDP_2024 in h.chunk.text)
    rival_value = changed_digit(GDP_2024)
    rival = replace(
        hit.chunk, id="rival", doc="rival.txt", text=hit.chunk.text.replace(GDP_2024, rival_value), source=""
    )
    two = Fixed([hit, Hit(chunk=rival, score=hit.score)])
    st = only(check_claim(f"2024年昆山高新区地区生产总值{GDP_2024}", two))
    assert st["verdict"] == "supported" and st["conflict"] is True
    assert {e["doc"] for e in st["evidence"]} == {hit.chunk.doc, "rival.txt"}
    st = only(check_claim(f"2024年昆山高新区地区生产总值{changed_digit(rival_value)}", two))
    assert st["verdict"] == "contradicted" and st["conflict"] is True and len(st["evidence"]) == 2
    # With one source only, nothing is in conflict.
    assert only(check_claim(f"2024年昆山高新区地区生产总值{GDP_2024}", Fixed([hit])))["conflict"] is False


def test_source_reference_and_scope_question_become_one_statement(retriever):
    """ "规划里写的“…第39名”，说的是昆山市的排名吗？" asks whose figure it is: the plan gives it for the zone."""
    (rank,) = find("004", r"2020年，昆山高新区在国家级高新区排名中位列(第\d+名)")
    r = check_claim(f"科创规划里写的“2020年排名{rank}”，说的是昆山市的排名吗？", retriever)
    (st,) = r["statements"]
    assert st["text"].startswith("“2020年") and st["scopes"] == ["city"]
    assert (r["verdict"], st["reason"], st["source_scope"]) == ("contradicted", "scope", ["zone"])
    assert rank in st["evidence"][0]["text"] and "昆山高新区" in st["evidence"][0]["text"]
