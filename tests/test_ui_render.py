"""ui/render.py: escaping, citation links, highlighting, numbering, Markdown export, fact-check card."""

from __future__ import annotations

import doctest
import re

import ui.render as render
from rag.types import Answer, Chunk, Citation, Hit
from ui.render import (
    Source,
    answer_to_api,
    answer_to_markdown,
    docs_table,
    excerpt,
    highlight_figures,
    highlight_passage,
    link_citations,
    number_sources,
    render_answer,
    render_check,
    render_source,
    render_sources,
    wrong_figure,
)

GDP = "2024年,昆山高新区实现地区生产总值1135.1亿元,同比增长6.3%。"


def _chunk(cid: str, text: str, **kw) -> Chunk:
    base = dict(
        doc="001_x.txt",
        title="高新区年度报道",
        section="一、经济",
        start=0,
        end=len(text),
        periods=("2024",),
        scope="zone",
    )
    base.update(kw)
    return Chunk(id=cid, text=text, **base)


def _answer(**kw) -> Answer:
    c1 = _chunk("c1", "前文。" + GDP + "后文。")
    c2 = _chunk("c2", "昆山市2024年GDP为5300亿元。", scope="city", doc="002_y.txt", title="昆山市报道")
    base = dict(
        question="2024年高新区GDP？",
        answer="2024年高新区GDP为1135.1亿元[1]，增长6.3%[1]。",
        refused=False,
        citations=(Citation(1, "c1", "001_x.txt", "高新区年度报道", "一、经济", GDP, 3, 3 + len(GDP)),),
        hits=(Hit(c1, 0.9), Hit(c2, 0.5)),
    )
    base.update(kw)
    return Answer(**base)


def test_doctests_pass():
    assert doctest.testmod(render).failed == 0


def test_question_and_passage_html_is_escaped():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    a = _answer(question=evil, answer=evil + "[1]")
    html = render_answer(a)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    c = _chunk("c9", "正文" + evil + "增长5%", title="<b>t</b>", section="<i>s</i>", doc="<d>.txt")
    panel = render_sources([Hit(c, 1.0)])
    assert "<script>" not in panel and "<b>t</b>" not in panel and "<i>s</i>" not in panel and "<d>" not in panel
    assert "&lt;b&gt;t&lt;/b&gt;" in panel
    md = answer_to_markdown(a)
    assert md.startswith("## ")
    card = render_check(
        {
            "claim": evil,
            "verdict": "supported",
            "statements": [
                {
                    "text": evil,
                    "verdict": "supported",
                    "evidence": [{"text": evil, "title": evil}],
                    "source_value": evil,
                }
            ],
        }
    )
    assert "<script>" not in card and "<img" not in card


def test_citation_markers_become_links_only_for_known_passages():
    html = link_citations("甲[1]乙[2]丙[1,3]", {1, 3})
    assert html.count('href="#src-1"') == 2
    assert 'href="#src-3"' in html
    assert "#src-2" not in html and "[2]" in html  # unknown passage: plain text, no dead link
    assert link_citations("a<b>[1]", None) == 'a&lt;b&gt;<a class="cite-link" href="#src-1">[1]</a>'


def test_sources_panel_has_anchors_metadata_and_highlights():
    a = _answer()
    panel = render_sources(a.hits, a.citations)
    assert 'id="src-1"' in panel and 'id="src-2"' in panel
    assert "高新区年度报道" in panel and "一、经济" in panel and '<span class="badge b-period"' in panel
    assert "高新区" in panel and "昆山市" in panel  # scope labels of both passages
    cited = re.search(r'<mark class="cited">(.*?)</mark>', panel, re.S).group(1)
    assert "1135.1亿元" in cited and "前文" not in cited
    assert '<b class="fig">1135.1亿元</b>' in panel and '<b class="fig">6.3%</b>' in panel
    assert '<b class="fig">5300亿元</b>' in panel
    assert "2024年" not in re.findall(r'<b class="fig">(.*?)</b>', panel)  # years are not figures


def test_figures_highlighting_respects_units_and_escaping():
    assert highlight_figures("2024年增长5.5%") == '2024年增长<b class="fig">5.5%</b>'
    assert highlight_figures("x<1个") == 'x&lt;<b class="fig">1个</b>'
    # overlapping cited span and figure nest properly
    h = highlight_passage("共32个项目。其他", ["共32个项目。"])
    assert h.startswith('<mark class="cited">共<b class="fig">32个</b>项目。</mark>')


def test_numbering_keeps_citation_numbers_and_fills_the_rest():
    c1, c2, c3 = (_chunk(f"c{i}", f"段落{i}") for i in (1, 2, 3))
    hits = [Hit(c1, 0.9), Hit(c2, 0.8), Hit(c3, 0.7)]
    cits = [Citation(1, "c3", "d", "T", "S", "段落3", 0, 3)]
    srcs = number_sources(hits, cits)
    # uncited hits keep their relative rank, on the numbers left free
    assert [(s.n, s.text, s.cited) for s in srcs] == [(1, "段落3", True), (2, "段落1", False), (3, "段落2", False)]
    # a citation whose chunk is not among the hits is still shown
    srcs = number_sources(hits[:1], [Citation(4, "zz", "d.txt", "T", "S", "邻近段落", 0, 4)])
    assert {s.n for s in srcs} == {1, 4}


def test_unsupported_figures_are_marked_with_a_note():
    a = _answer(answer="增长63%[1]，共13个项目。", unsupported_numbers=("63%", "13"))
    html = render_answer(a)
    assert '<mark class="bad" title="未在引用段落中找到">63%</mark>' in html
    assert '<mark class="bad" title="未在引用段落中找到">13</mark>' in html
    assert "找不到依据" in html
    # a bad "13" never lights up inside another number
    assert "<mark" not in link_citations("1135.1亿元", None, ["13"])


def test_refusal_banner_and_notice():
    a = _answer(answer="资料中未找到相关信息。", refused=True, citations=(), notice="问题过长，已截断")
    html = render_answer(a)
    assert 'class="refusal"' in html and "不作回答" in html
    assert "问题过长，已截断" in html
    assert "refusal" not in render_answer(_answer())


def test_markdown_export_has_numbered_footnotes():
    md = answer_to_markdown(_answer())
    assert "1135.1亿元[^1]，增长6.3%[^1]。" in md
    foot = [ln for ln in md.splitlines() if ln.startswith("[^1]:")]
    assert len(foot) == 1
    assert "高新区年度报道" in foot[0] and "001_x.txt" in foot[0] and "一、经济" in foot[0] and "1135.1" in foot[0]
    # a marker without citation is not turned into a dangling footnote
    assert "[^2]" not in answer_to_markdown(_answer(answer="x[2]"))


def test_api_payload_is_json_able():
    import json

    text, sources = answer_to_api(_answer())
    assert "[1]" in text
    json.dumps(sources, ensure_ascii=False)
    assert sources[0]["n"] == 1 and sources[0]["cited"] and sources[0]["quote"] == GDP
    assert sources[1]["scope"] == "city" and not sources[1]["cited"]
    assert {s["tier"] for s in sources} == {"official"}


def test_check_card_shows_verdict_and_source_value():
    res = {
        "claim": "2024年高新区GDP为1200亿元",
        "verdict": "contradicted",
        "statements": [
            {
                "text": "2024年高新区GDP为1200亿元",
                "verdict": "contradicted",
                "evidence": [{"text": GDP, "title": "高新区年度报道", "section": "一、经济"}, "纯文本证据"],
                "source_value": "1135.1亿元",
            },
        ],
    }
    html = render_check(res)
    assert "与资料不符" in html and "1135.1亿元" in html and "纯文本证据" in html and "高新区年度报道" in html
    assert "未找到" in render_check({"claim": "x", "verdict": "not_found", "statements": []})


EMOJI = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff\u2b50\u2b55\u2753-\u2755\ufe0f]")


def _verdict(verdict: str, **st) -> dict:
    """A check result with one statement (what `rag.check.check_claim` returns)."""
    base = {
        "text": "2024年高新区GDP为1235亿元",
        "verdict": verdict,
        "reason": "value",
        "evidence": [],
        "source_value": None,
    }
    base.update(st)
    return {"claim": base["text"], "verdict": verdict, "statements": [base]}


def test_check_badges_are_text_coloured_by_verdict_without_emoji():
    cases = {"supported": ("支持", "v-ok"), "contradicted": ("矛盾", "v-bad"), "not_found": ("未找到", "v-unknown")}
    for verdict, (label, cls) in cases.items():
        html = render_check(_verdict(verdict))
        badges = re.findall(r'<span class="badge (v-[a-z]+)">(.*?)</span>', html)
        assert (cls, label) in badges, (verdict, badges)
        assert f'class="check verdict-{cls[2:]}"' in html  # the card takes the verdict's colour too
        assert not EMOJI.search(html), verdict
    conflicting = render_check(_verdict("supported", conflict=True, reason="match"))
    assert '<span class="badge v-conflict">有冲突</span>' in conflicting and "不一致" in conflicting
    assert "有冲突" not in render_check(_verdict("supported"))
    assert "无法判断" in render_check({"claim": "x", "verdict": "???", "statements": []})
    # no emoji in anything else the chat shows either
    for a in (_answer(refused=True, notice="问题过长，已截断", unsupported_numbers=("63%",)), _answer()):
        assert not EMOJI.search(render_answer(a) + render_sources(a.hits, a.citations))


def test_wrong_figure_is_struck_through_next_to_the_source_figure():
    ev = [{"text": GDP, "title": "高新区年度报道", "section": "一、经济"}]
    html = render_check(_verdict("contradicted", source_value="1135.1亿元", evidence=ev))
    struck = '<del class="wrong-fig" title="与资料不符">1235亿元</del>'
    assert struck + '<span class="fix">资料为 <b class="src-fig">1135.1亿元</b>' in html
    assert html.count("<del") == 1  # the year is not a rival figure
    assert '<mark class="src-fig"><b class="fig">1135.1亿元</b></mark>' in html  # marked in the evidence too
    # never in green: a contradicted statement's figures are not shown as confirmed
    assert '<b class="fig">1235亿元</b>' not in html
    # several figures: the one of the source's kind and unit, nearest in value, is the wrong one
    assert wrong_figure("共32个项目，投资120亿元", "100亿元") == (9, 14)
    assert wrong_figure("增长6.3%", "6.3%") is None and wrong_figure("增长7%", "") is None


def test_right_figure_for_another_year_or_area_is_explained_not_struck():
    html = render_check(
        _verdict(
            "contradicted", text="2023年高新区GDP为1135.1亿元", reason="period", source_value="1135.1亿元",
            source_period=["2024"], periods=["2023"],
        )
    )  # fmt: skip
    assert "<del" not in html and "是2024年的数字，不是2023年的" in html
    html = render_check(
        _verdict(
            "contradicted", text="昆山市GDP为1135.1亿元", reason="scope", source_value="1135.1亿元",
            source_scope=["zone"], scopes=["city"],
        )
    )  # fmt: skip
    assert "<del" not in html and "是昆山高新区的数字，不是昆山市的" in html


LONG = "第一句讲背景。第二句也是背景。" + GDP + "紧随其后的一句。再往后的一句。最后一句。"


def test_source_card_shows_the_cited_sentence_first_with_one_sentence_of_context():
    c = _chunk("c1", LONG)
    card = render_source(number_sources([Hit(c, 1.0)], [Citation(1, "c1", "001_x.txt", "T", "S", GDP, 0, 1)])[0])
    excerpt_html = re.search(r'<p class="src-excerpt">(.*?)</p>', card, re.S).group(1)
    shown = re.sub(r"<[^>]+>", "", excerpt_html)
    # one sentence before, the cited one, one after; the rest only behind 展开全文
    assert shown == "…第二句也是背景。" + GDP + "紧随其后的一句。…"
    assert re.search(r'<span class="src-cited"><mark class="cited">数据显示|<mark class="cited">2024年', excerpt_html)
    assert card.index('class="src-excerpt"') < card.index("<details")  # the sentence comes before the window
    assert '<details class="src-full"><summary>展开全文</summary>' in card
    full = re.search(r'<p class="src-text">(.*?)</p>', card, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", full) == LONG
    assert '<span class="src-context">第二句也是背景。</span>' in excerpt_html
    # a passage short enough to show whole needs no toggle
    short = render_source(Source(1, "d", "T", "", "甲。" + GDP, quotes=(GDP,), cited=True))
    assert "<details" not in short and '<mark class="cited">' in short


def test_excerpt_context_is_cut_when_long_and_uncited_passages_show_their_opening():
    long_ctx = "很长" * 100 + "。"
    ex = excerpt("前。" + long_ctx + GDP + long_ctx + "后。", [GDP])
    assert [role for _, _, role in ex.parts] == ["context", "cited", "context"] and not ex.full
    card = render_source(Source(1, "d", "T", "", "前。" + long_ctx + GDP + long_ctx + "后。", quotes=(GDP,)))
    shown = re.sub(r"<[^>]+>", "", re.search(r'<p class="src-excerpt">(.*?)</p>', card, re.S).group(1))
    assert len(shown) < len(GDP) + 2 * render.CONTEXT_CHARS + 5 and GDP in shown
    assert shown.startswith("…") and shown.endswith("很长…") and shown.count("…") == 2
    # nothing cited: the opening sentence and the next one
    ex = excerpt(LONG)
    assert [(LONG[a:b], role) for a, b, role in ex.parts] == [
        ("第一句讲背景。", "lead"),
        ("第二句也是背景。", "context"),
    ]


def test_source_badges_period_scope_and_tier():
    zone = _chunk("c1", LONG, periods=("2024", "十四五"))
    card = render_sources([Hit(zone, 1.0)])
    assert '<span class="badge b-period" title="资料涉及的时期">2024年、十四五</span>' in card
    assert '<span class="badge b-scope scope-zone" title="数字的统计范围">昆山高新区</span>' in card
    assert '<span class="badge b-tier tier-official" title="资料来源">官方资料</span>' in card
    city = render_sources([Hit(_chunk("c2", LONG, scope="city"), 1.0)])
    assert ">昆山市</span>" in city
    assert "b-scope" not in render_sources([Hit(_chunk("c3", LONG, scope="unknown"), 1.0)])
    assert "b-period" not in render_sources([Hit(_chunk("c4", LONG, periods=()), 1.0)])
    # an uploaded document (Chunk.tier "uploaded") is labelled as such, in the chat's cards and the API's
    uploaded = _chunk("c1", LONG, tier="uploaded")
    assert number_sources([Hit(uploaded, 1.0)])[0].tier == "uploaded"
    card = render_sources([Hit(uploaded, 1.0)])
    assert '<span class="badge b-tier tier-uploaded" title="资料来源">用户上传</span>' in card
    assert 'class="src uploaded"' in card and "官方资料" not in card
    cited = number_sources([Hit(uploaded, 1.0)], [Citation(1, "c1", "d", "T", "S", GDP, 0, 1)])
    assert cited[0].tier == "uploaded"
    # a cited passage that is not among the hits takes the citation's own tier
    far = number_sources([], [Citation(2, "zz", "d", "T", "S", GDP, 0, 1, tier="uploaded")])
    assert far[0].tier == "uploaded"


def test_docs_table_counts_and_periods():
    manifest = {"docs": {"b.txt": {"title": "B", "n_chunks": 3}, "a.txt": {"title": "A", "n_chunks": 2}}}
    chunks = [_chunk("1", "x", doc="a.txt", periods=("2024",)), _chunk("2", "y", doc="a.txt", periods=("十四五",))]
    assert docs_table(manifest, chunks) == [["a.txt", "A", 2, "2024、十四五"], ["b.txt", "B", 3, ""]]
    assert docs_table(None) == []
