"""The 数据 tab and the `/facts` API as their users see them.

1. Pure functions over every fact of the seeds (the live index): each value shown occurs in its cited source
   span with the same unit, and its period and scope are ones its sentence (or passage) states; the 地区生产总值
   series of 昆山高新区 has every period the facts have; conflicts, CSV, source cards, bad input.
2. `gradio_client` against the real `gaoxin serve` subprocess (extractive backend: no LLM): `/facts`.
3. Real Chromium (Playwright, Debian /usr/bin/chromium): open 数据, choose 地区生产总值 and 高新区, see every period
   in the chart and the table, click a row and a point, read the source sentence, export the CSV; the page
   fetches nothing from outside the loopback server. GAOXIN_SCREENSHOT=1 refreshes docs/data_tab.png.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from test_ui_e2e import browser, index_ready, live_server, save_screenshot  # noqa: F401 (browser: the shared Chromium fixture)

from rag.facts import FactStore
from rag.numbers import extract_figures
from rag.profile import active
from rag.settings import Settings
from rag.types import Fact
from ui import data
from ui.app import build_app

GDP, ZONE = "地区生产总值", "zone"


@pytest.fixture(scope="module")
def index_data():
    if not index_ready():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    from rag import index as index_mod

    return index_mod.load(Settings(), verify=False, check_stale=False)


@pytest.fixture(scope="module")
def svc(index_data) -> data.DataService:
    return data.DataService.from_facts(Settings(), index_data.facts, index_data.chunks)


def _expected_gdp_periods(index_data) -> set[str]:
    """Every period the documents state the zone's 地区生产总值 for (read from the facts, not from the tab)."""
    return {f.period for f in index_data.facts if f.metric_id == GDP and f.scope == ZONE and f.period}


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _span_states(span: str, fact: Fact) -> bool:
    """Whether the source span states `fact`'s value in its unit. A table row writes its unit once, in the
    row's header ("技术合同成交额（亿元） 105.22 120"); prose may be wrapped across lines ("95亿美\\n\\n元")."""
    if fact.table:
        units = re.findall(r"[（(]([^（）()]+)[）)]", span)  # the header's last bracket: 研发人员（参与者）占比（%）
        cells = re.findall(r"[＞>≥<＜≤]?\d+(?:\.\d+)?", span)
        figs = [g for c in cells for g in extract_figures(c + (units[-1] if units else ""))]
    else:
        figs = extract_figures(re.sub(r"\s*\n\s*", "", span))
    return any(_same(g.value, fact.value) and g.unit == fact.unit for g in figs)


def _series_of_every_fact(store: FactStore) -> list[data.FactRow]:
    """Every fact as the tab shows it: grouped by metric and area, as a user picks them."""
    groups: dict[tuple[str, str], list[Fact]] = {}
    for f in store.facts:
        groups.setdefault((f.metric_id or f.metric, f.scope), []).append(f)
    return [r for facts in groups.values() for r in data.fact_rows(facts)]


# ------------------------------------------------------------------ pure functions, real seed facts


def test_every_value_shown_occurs_in_its_cited_source_span_with_the_same_unit(index_data):
    rows = _series_of_every_fact(FactStore(index_data.facts))
    assert len(rows) == len(index_data.facts) > 100
    for r in rows:
        f = r.fact
        # What the table shows (value in its magnitude, and unit) is the fact's value and unit ...
        shown = extract_figures(r.value_text[len(f.qualifier) :] + r.unit)
        assert any(_same(g.value, f.value) and g.unit == f.unit for g in shown), (r.value_text, r.unit, f)
        # ... and the source file states it at the cited offsets.
        span = index_data.sources[f.doc][f.start : f.end]
        assert _span_states(span, f), (span, f.raw, f.doc)
        # The 原文 column marks that figure in the stating sentence.
        marked = re.findall(r'<mark class="fig">(.*?)</mark>', r.sentence_html)
        assert marked and re.sub(r"\D", "", marked[0]) in re.sub(r"\D", "", f.raw), (marked, f.raw)


def test_no_row_has_a_scope_or_period_its_sentence_does_not_support(index_data):
    chunks = {c.id: c for c in index_data.chunks}
    profile = active()
    for r in _series_of_every_fact(FactStore(index_data.facts)):
        f, c = r.fact, chunks[r.fact.chunk_id]
        year = re.match(r"\d{4}", f.period)
        # A period is written in the sentence, or is one its passage states or reports on (a figure dated by
        # the sentence that opened its paragraph, or by the document's reporting period).
        stated = (year and year.group(0) in f.sentence) or f.period in f.sentence
        assert not f.period or stated or f.period in c.periods or f.period == c.report, (f.period, f.sentence)
        named = profile.scopes_named(f.sentence)
        assert f.scope == "unknown" or not named or f.scope in named or f.scope == c.scope, (f.scope, f.sentence)
        assert r.scope_label == profile.scope_label(f.scope)


def test_gdp_zone_series_has_every_period_the_facts_have(svc, index_data):
    expected = _expected_gdp_periods(index_data)
    assert {"2021", "2024"} <= expected  # the seeds state these years for the zone
    rows = svc.series_rows(GDP, ZONE)
    assert {r.fact.period for r in rows} == expected
    assert [r.fact.id for r in svc.series_rows("GDP", ZONE)] == [r.fact.id for r in rows]  # an alias, same series
    frame = data.plot_frame(rows)
    points = frame[frame["数值"].notna()]
    assert set(points["时期"]) == {data.period_label(p) for p in expected}
    assert len(points) == len(rows) and set(points["类型"]) == {"实际"}
    assert list(dict.fromkeys(points["时期"])) == data.period_order(rows)  # time order: 2021年 … 十四五
    assert set(frame["类型"]) >= set(data.KIND_COLORS)  # the key rows fix every kind's colour
    by_period = {r.fact.period: r for r in rows}
    assert (by_period["2024"].value_text, by_period["2024"].unit) == ("1135.1", "亿元")
    table = data.table_rows(rows)
    assert [len(t) for t in table] == [len(data.HEADERS)] * len(rows)
    assert all("<mark" in t[data.HEADERS.index("原文")] for t in table)


def test_the_chat_chart_of_the_seed_gdp_trend_has_one_point_per_period_in_order(index_data):
    from rag.frame import frame
    from rag.trend import series

    line = series(frame("高新区GDP这几年怎么变化？"), index_data.facts)  # what Answer.series carries
    chart = data.series_chart(line)
    assert chart.periods == [data.period_label(f.period) for f in line] and {"2021年", "2024年"} <= set(chart.periods)
    drawn = chart.frame[chart.frame["数值"].notna()]
    assert list(drawn["时期"]) == chart.periods and list(drawn["类型"]) == ["实际"] * len(line)
    assert all(_same(v * 1e8, f.value) for v, f in zip(drawn["数值"], line, strict=True))
    assert list(drawn["原文数字"]) == [f.raw for f in line]
    assert chart.y_title == "数值（亿元）" and (chart.metric, chart.scope) == (GDP, ZONE)
    assert chart.caption == f"{GDP} · 昆山高新区 · {len(line)} 个时期"
    assert set(chart.frame["类型"]) == set(data.KIND_COLORS)  # the full key, as the 数据 tab's chart
    assert data.series_chart(()) is None


def test_show_returns_message_chart_table_and_csv(svc):
    msg, plot, table, note, card, ids, csv_btn, layout = svc.show(GDP, ZONE)
    assert "地区生产总值" in msg and "昆山高新区" in msg
    assert len(table) == len(ids) and table[0][0] == 1
    assert layout["sort"] == data.period_order(svc.series_rows(GDP, ZONE))  # the x axis in time order
    assert "亿元" in layout["caption"]
    with open(csv_btn.value["path"], encoding="utf-8-sig", newline="") as fh:  # the BOM is for Excel
        rows = list(csv.reader(fh))
    assert rows[0] == data.CSV_HEADERS and len(rows) == len(table) + 1
    assert all("<" not in r[data.CSV_HEADERS.index("原文")] for r in rows[1:])  # plain sentences, no markup


def test_csv_keeps_offsets_and_figures_as_written(svc, index_data):
    rows = svc.series_rows(GDP, ZONE)
    parsed = list(csv.DictReader(io.StringIO(data.csv_text(rows, GDP))))
    for r, rec in zip(rows, parsed, strict=True):
        f = r.fact
        assert rec["原文数字"] == f.raw and rec["文件"] == f.doc and rec["原文"] == f.sentence
        assert (int(rec["起始"]), int(rec["结束"])) == (f.start, f.end)


def test_clicked_row_shows_its_source_passage_card(svc):
    _, _, table, _, _, ids, _, _ = svc.show(GDP, ZONE)
    n = next(t[0] for t in table if t[1] == "2024年")
    evt = data.gr.SelectData(None, {"index": [n - 1, 8], "value": "", "row_value": table[n - 1]})
    card = svc.pick_row(ids, evt)
    assert 'id="fact-src-' in card and 'id="src-' not in card  # the chat's [n] links never land here
    assert "1135.1亿元" in card and '<mark class="cited">' in card and "实际" in card
    # A brushed range of periods on the chart shows the cards of every point in it.
    cards = svc.pick_points(ids, data.gr.SelectData(None, {"index": ["2021年", "2024年"], "value": None}))
    assert "965亿元" in cards and "1135.1亿元" in cards


def _fact(value: float, doc: str, period: str = "2024", kind: str = "actual", metric: str = GDP) -> Fact:
    raw = f"{value:g}亿元"
    sentence = f"{period}年，高新区{metric}{raw}。"
    return Fact(
        f"{doc}{value}{period}{kind}", doc, "c", metric, metric, period, ZONE, value * 1e8, "元", raw, "", kind,
        "number", "高新区", sentence, 0, len(raw),
    )  # fmt: skip


def test_documents_that_disagree_are_marked_with_both_sources():
    facts = [
        _fact(1135.1, "a.txt"),
        _fact(1200, "b.txt"),
        _fact(965, "a.txt", "2021"),
        _fact(1300, "c.txt", "2025", "target"),
    ]
    svc = data.DataService.from_facts(Settings(), facts)
    rows = svc.series_rows(GDP, ZONE)
    marked = {r.fact.doc: r for r in rows if r.rivals}
    assert set(marked) == {"a.txt", "b.txt"} and marked["a.txt"].fact.period == "2024"
    assert [g.doc for g in marked["a.txt"].rivals] == ["b.txt"]
    note = data.conflict_note(rows)
    assert note.count("\n- ") == 1 and "1135.1亿元" in note and "1200亿元" in note
    card = svc.card(marked["a.txt"].fact.id)
    assert "其他文档" in card and "b.txt" in card and "1200亿元" in card
    assert [t[-1] for t in data.table_rows(rows)].count(data.CONFLICT_MARK) == 2
    frame = data.plot_frame(rows)
    assert set(frame[frame["数值"].notna()]["类型"]) == {"实际", "目标"}  # targets drawn in their own colour
    # Two values in one document are parts of one statement (新增 vs 总量), not a disagreement.
    same_doc = data.DataService.from_facts(Settings(), [_fact(97, "a.txt"), _fact(856, "a.txt")])
    assert not any(r.rivals for r in same_doc.series_rows(GDP, ZONE))


def test_bad_input_gets_a_chinese_message_never_an_exception(svc, tmp_path):
    assert svc.show("", ZONE)[0] == data.EMPTY_METRIC
    assert svc.show(None, ZONE)[0] == data.EMPTY_METRIC
    assert "资料中没有找到" in svc.show("火星人口", ZONE)[0]
    assert "过长" in svc.show("GDP" * 100, ZONE)[0]
    assert "不认识的范围" in svc.show(GDP, "火星")[0]
    assert "<script>" not in svc.show("<script>alert(1)</script>", ZONE)[0]
    assert svc.show("\x00\x1f", ZONE)[0] == data.EMPTY_METRIC
    no_index = data.DataService(Settings(index_dir=tmp_path / "none"))
    assert "索引不可用" in no_index.show(GDP, ZONE)[0]
    with pytest.raises(data.DataError, match="不认识的类型"):
        svc.records(GDP, ZONE, kind="猜测")
    out_of_range = data.gr.SelectData(None, {"index": [5, 0], "value": "", "row_value": [6]})
    assert svc.pick_row([], out_of_range) == data.PICK_HINT


def test_choices_cover_profile_names_synonyms_and_metrics_in_the_facts(index_data):
    choices = dict((v, label) for label, v in data.metric_choices(active(), index_data.facts))
    assert choices[GDP] == GDP and choices["GDP"] == "GDP → 地区生产总值" and "gdp" not in choices
    assert "高企" in choices and "地区生产总值增速" in choices  # a metric only the facts know
    assert [sid for _, sid in data.scope_choices(active())] == list(active().scope_ids())
    assert data.resolve_scope("高新区", active()) == ZONE and data.resolve_scope("昆山市", active()) == "city"
    assert data.resolve_kind("目标") == "target"


def test_records_are_json_fact_records_in_period_order(svc):
    recs = svc.records(GDP, "高新区")
    assert recs and [r["period"] for r in recs] == [r.fact.period for r in svc.series_rows(GDP, ZONE)]
    need = {"doc", "title", "start", "end", "sentence", "period", "scope", "value", "unit", "kind", "raw", "conflicts"}
    assert all(need <= set(r) for r in recs)
    assert all(r["raw"] in r["sentence"] and r["title"] for r in recs)
    assert [r["raw"] for r in svc.records("GDP", ZONE, "2024", "实际")] == ["1135.1亿元"]
    assert len(svc.records()) == len(svc.loaded().store)


def test_app_exposes_facts_endpoint_and_keeps_the_tab_private():
    from test_ui_client import ScriptedPipeline

    demo = build_app(Settings(llm_backend="extractive"), ScriptedPipeline())
    public = {d.api_name for d in demo.fns.values() if d.api_visibility == "public"}
    assert public == {"ask", "check", "check_batch", "facts"}


def test_doctests_pass():
    import doctest

    assert doctest.testmod(data).failed == 0


# ------------------------------------------------------------------ live server: gradio_client and Chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not index_ready():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    with live_server(tmp_path_factory.mktemp("data-tab")) as url:
        yield url


def test_facts_endpoint_lists_the_zone_gdp_with_sources(server, index_data):
    from gradio_client import Client

    client = Client(server, verbose=False)
    recs = client.predict(GDP, ZONE, "", "", api_name="/facts")
    assert {r["period"] for r in recs} == _expected_gdp_periods(index_data)
    for r in recs:
        assert r["scope"] == ZONE and r["metric"] == GDP and r["raw"] in r["sentence"]
        fact = next(f for f in index_data.facts if f.id == r["id"])
        assert _span_states(index_data.sources[r["doc"]][r["start"] : r["end"]], fact)
    assert [r["value"] for r in client.predict("GDP", "高新区", "2024", "actual", api_name="/facts")] == [1.1351e11]
    assert len(client.predict("", "", "", "", api_name="/facts")) == len(index_data.facts)
    with pytest.raises(Exception, match="不认识的范围"):
        client.predict(GDP, "火星", "", "", api_name="/facts")


def _choose(page, box: str, typed: str, option: str) -> None:
    """Pick `option` in a dropdown after typing `typed` into its search box, as a user does."""
    field = page.locator(f"{box} input")
    field.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.type(typed)
    page.keyboard.press("ArrowDown")  # typed CJK text sends no key events; this one filters the list
    page.locator("ul[role=listbox] li", has_text=re.compile(rf"^\W*{re.escape(option)}$")).first.click()


def test_data_tab_charts_every_period_and_links_points_to_sources(browser, server, index_data, tmp_path):  # noqa: F811
    labels = {data.period_label(p) for p in _expected_gdp_periods(index_data)}
    svc_rows = data.DataService.from_facts(Settings(), index_data.facts).series_rows(GDP, ZONE)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True)
    outside: list[str] = []

    def loopback_only(route):  # the chart's library is bundled: nothing may be fetched from the network
        if route.request.url.startswith(server.rstrip("/")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", loopback_only)
    page = ctx.new_page()
    page.goto(server)
    page.get_by_role("tab", name="数据").click()
    page.locator("#data-plot svg").first.wait_for(timeout=60_000)
    # Another area first, so choosing 地区生产总值 and 高新区 is a real change of the chart.
    _choose(page, "#data-scope", "昆山市", "昆山市")
    page.get_by_text("地区生产总值 · 昆山市").first.wait_for(timeout=30_000)
    _choose(page, "#data-metric", "地区生产总值", "地区生产总值")
    _choose(page, "#data-scope", "昆山高新区", "昆山高新区")
    page.locator("#data-msg").get_by_text("昆山高新区").wait_for(timeout=30_000)
    page.wait_for_function(
        "n => document.querySelectorAll('#data-plot svg path[aria-roledescription=point]').length >= n",
        arg=len(svc_rows),
        timeout=30_000,
    )
    # The table lists every period the documents state ...
    table = page.locator("#data-table")
    rows = table.locator("[role=row]:has([role=gridcell])")  # the grid is virtual: rows carry ARIA roles
    cells = [
        c.strip() for c in rows.evaluate_all("rs => rs.map(r => r.querySelectorAll('[role=gridcell]')[1].innerText)")
    ]
    assert set(cells) == labels and len(cells) == len(svc_rows), cells
    # ... and so does the chart: an svg with one point per fact, every period on its axis, Chinese labels.
    svg_text = page.locator("#data-plot svg").first.evaluate("s => s.textContent")
    assert all(lab in svg_text for lab in labels) and "实际" in svg_text and "目标" in svg_text
    points = page.locator("#data-plot svg path[aria-roledescription=point]")
    assert points.count() == len(svc_rows)
    point_labels = points.evaluate_all("ps => ps.map(p => p.getAttribute('aria-label'))")
    assert {re.search(r"时期: ([^;]+)", lab).group(1) for lab in point_labels} == labels
    page.get_by_text("单位：亿元").first.wait_for(timeout=10_000)  # the caption, set after the data

    # Clicking a row shows its source passage with the stating sentence.
    row_2024 = next(r for r in svc_rows if r.fact.period == "2024")
    rows.nth(cells.index("2024年")).locator("[role=gridcell]").nth(2).click()
    card = page.locator("#data-source")
    card.get_by_text("1135.1亿元").first.wait_for(timeout=20_000)
    assert row_2024.fact.sentence in card.inner_text()
    assert card.locator("article.src mark.cited").count() >= 1

    # Brushing across a point on the chart shows its source too.
    row_2021 = next(r for r in svc_rows if r.fact.period == "2021")
    target = points.nth(next(i for i, lab in enumerate(point_labels) if "2021年" in lab))
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 10, y)
    page.mouse.down()
    page.mouse.move(x + 10, y, steps=5)
    page.mouse.up()
    card.get_by_text(row_2021.fact.raw).first.wait_for(timeout=20_000)
    assert row_2021.fact.sentence in card.inner_text() and "1135.1亿元" not in card.inner_text()

    # The table exports as CSV.
    with page.expect_download(timeout=20_000) as dl:
        page.locator("#data-csv").click()
    exported = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8-sig"))))
    assert exported[0] == data.CSV_HEADERS and {r[0] for r in exported[1:]} == labels

    save_screenshot(page, tmp_path / "data_tab.png", "data_tab.png")
    assert not outside, outside
    ctx.close()
