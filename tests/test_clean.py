"""Cleaning on the real seeds: wraps joined, page markers gone, headings tracked, 表1 rebuilt,
figures untouched, and every cleaned character mapped back to its source character."""

from __future__ import annotations

import re
from functools import cache

import pytest

from rag.clean import PATH_SEP, clean
from rag.load import load_file
from rag.settings import ROOT
from rag.types import Chunk, Document, Section

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


@cache
def _seed(prefix: str) -> tuple[Document, tuple[Section, ...]]:
    path = next(p for p in SEEDS if p.name.startswith(prefix))
    doc = load_file(path)
    return doc, tuple(clean(doc))


def _all_text(prefix: str) -> str:
    return "\n".join(s.text for s in _seed(prefix)[1])


def _row_chunks(text: str) -> list[Chunk]:
    """The table rows `clean` finds in `text`, each as the table-row chunk the index would hold."""
    rows = [s for s in clean(_doc(text)) if s.kind == "table_row"]
    return [Chunk("c", "x.txt", "T", "", r.text, 0, len(r.text), kind="table_row") for r in rows]


def _doc(text: str, name: str = "x.txt") -> Document:
    return Document(doc=name, path=name, text=text, sha256="")


@pytest.mark.parametrize(
    ("wrapped", "joined"),
    [
        # 002 wraps every ~20 chars with blank lines between, inside words and numbers.
        ("“十四五”开局之年，昆山高新\n\n区不忘初心", "“十四五”开局之年，昆山高新区不忘初心、砥砺前行"),
        (
            "数据显示，2021\n年昆山高新区地区生产总值跃升至 965亿元",
            "数据显示，2021年昆山高新区地区生产总值跃升至965亿元",
        ),
        ("围绕“十四五”末进入国家高新\n\n区前 30名", "围绕“十四五”末进入国家高新区前30名的总目标冲刺拼抢"),
    ],
)
def test_002_wrapped_sentences_joined(wrapped: str, joined: str) -> None:
    doc, _ = _seed("002")
    assert wrapped in doc.text  # the source really is wrapped there
    assert joined in _all_text("002")


def test_long_line_wrap_in_news_article_joined() -> None:
    doc, _ = _seed("000")
    assert "正是在昆山高新区,中科\n\n可控实现跨越式发展" in doc.text
    assert "正是在昆山高新区,中科可控实现跨越式发展" in _all_text("000")


def test_quote_closed_mid_sentence_is_not_a_paragraph_end() -> None:
    doc, _ = _seed("004")
    assert "《苏州市“十四五”\n\n科技发展规划》" in doc.text
    assert "《苏州市“十四五”科技发展规划》" in _all_text("004")


def test_page_markers_dropped_and_sentence_rejoined_across_them() -> None:
    doc, sections = _seed("004")
    assert re.search(r"大数\n+ — 6 — \n+据和云计算", doc.text)
    text = _all_text("004")
    assert "大数据和云计算" in text
    for n in (6, 19, 26):
        assert f"— {n} —" in doc.text
        assert f"—{n}—" not in text and f"— {n} —" not in text


def test_page_marker_variants() -> None:
    src = "标题\n\n一、总则\n\n第一句没有写\n\n- 3 -\n\n完。\n\n第 4 页\n\n第二段。\n"
    (sec,) = clean(_doc(src))
    assert sec.text == "第一句没有写完。\n第二段。"


def test_figures_and_punctuation_untouched() -> None:
    """Every number of the source body appears as the same token in the cleaned text."""
    for p in SEEDS:
        doc, sections = _seed(p.name[:3])
        body = re.sub(r"[—\-]\s*\d+\s*[—\-]", " ", doc.text)  # page numbers are not figures
        body = re.sub(r"(?s)表 1 .*?(?=三、聚焦高科技)", " ", body)  # 表1's row numbers (序号) are not kept
        source_numbers = re.findall(r"\d+(?:\.\d+)?%?", body)
        cleaned = "\n".join(s.text for s in sections)
        cleaned_numbers = set(re.findall(r"\d+(?:\.\d+)?%?", cleaned))
        missing = [n for n in source_numbers if n not in cleaned_numbers]
        assert not missing, (p.name, missing[:10])
        # Punctuation is never normalised: half-width commas of 000/001 stay half-width.
        if p.name.startswith("001"):
            assert "2024年,昆山高新区实现地区生产总值1135.1亿元,同比增长6.3%" in cleaned


def test_offsets_map_every_character_back() -> None:
    for p in SEEDS:
        doc, sections = _seed(p.name[:3])
        for s in sections:
            assert len(s.offsets) == len(s.text)
            assert all(b >= a for a, b in zip(s.offsets, s.offsets[1:], strict=False)), s.path
            for c, o in zip(s.text, s.offsets, strict=True):
                if s.kind == "text":
                    # Copied characters are identical; added "\n"/" " stand on source whitespace.
                    assert doc.text[o] == c or (c in " \n" and doc.text[o].isspace()), (p.name, s.path, c, o)


def test_repeated_paragraph_maps_to_both_places() -> None:
    doc, sections = _seed("001")
    para = "作为昆山市科技创新的重要策源地和产业先导区,2024年,昆山高新区真抓实干"
    starts = [m.start() for m in re.finditer(re.escape(para), doc.text)]
    assert len(starts) == 2
    mapped = []
    for s in sections:
        for m in re.finditer(re.escape(para), s.text):
            mapped.append(s.offsets[m.start()])
    assert sorted(mapped) == starts


def test_titles() -> None:
    assert _seed("000")[1][0].title == "昆山高新区用创新与实干书写新篇章"
    assert _seed("001")[1][0].title == "昆山高新区全力打造新质生产力“高新”样板"
    assert _seed("003")[1][0].title == "昆山高新区：奋斗铸辉煌 奋勇谱新篇"
    title_004 = _seed("004")[1][0].title
    assert title_004 != "前言" and "十四五" in title_004  # no title line: the opening words stand in
    for p in SEEDS:
        sections = _seed(p.name[:3])[1]
        assert len({s.title for s in sections}) == 1


def test_heading_paths() -> None:
    _, sections = _seed("004")
    display = next(s for s in sections if s.text.startswith("深化实施“强芯亮屏”工程"))
    assert display.path == "三、聚焦高科技，开拓新蓝海，构建现代产业新格局 > （一）新显示"
    ic = next(s for s in sections if s.text.startswith("（1）IC设计。"))
    assert ic.path.split(PATH_SEP)[-2:] == ["专栏 1 新显示", "1. 半导体及集成电路"]
    aircraft = next(s for s in sections if s.path.endswith("（1）大飞机"))
    assert "2. 航空航天" in aircraft.path and "（二）新智造" in aircraft.path
    # A new top-level heading resets the path.
    after = next(s for s in sections if s.path.startswith("四、融入长三角"))
    assert "三、" not in after.path and "专栏" not in after.path
    # Headings are in the path, not in the text.
    assert not any(s.text.startswith("（一）新显示") for s in sections)


def test_two_line_newspaper_headings() -> None:
    paths = {s.path for s in _seed("002")[1]}
    assert "做大创新型产业集群 打造现代产业体系" in paths
    paths = {s.path for s in _seed("003")[1]}
    assert "工业投资提质增效 项目攻坚蓄足发展后劲" in paths
    paragraphs = [p for s in _seed("000")[1] for p in s.text.split("\n")]
    assert "提升现代化产业能级" not in paragraphs  # the heading line is not body text
    assert any(p.endswith("提升现代化产业能级。") for p in paragraphs)  # the same words in a sentence are


def _rows() -> list[Section]:
    return [s for s in _seed("004")[1] if s.kind == "table_row"]


def test_table_1_rows_readable_with_source_values() -> None:
    doc, _ = _seed("004")
    rows = _rows()
    assert len(rows) == 12
    # What the flattened source says (one cell per run of text, row 2's name wrapped over lines).
    assert "1 全社会研发投入占地区生产总值比重（%） 3.7 4.5" in doc.text
    assert "3 累计高新技术企业数（家） 2014 ＞4000" in doc.text
    assert "2 \n高新技术产业产值占规模以上工业总产值\n\n比重（%） \n47 52" in doc.text
    texts = {r.text for r in rows}
    head = "表1 “十四五”科技发展主要指标目标｜指标名称："
    assert head + "全社会研发投入占地区生产总值比重（%）｜2020年完成值：3.7｜2025年目标值：4.5" in texts
    assert head + "累计高新技术企业数（家）｜2020年完成值：2014｜2025年目标值：＞4000" in texts
    assert head + "高新技术产业产值占规模以上工业总产值比重（%）｜2020年完成值：47｜2025年目标值：52" in texts
    assert head + "研发人员（参与者）占比（%）｜2020年完成值：2.90｜2025年目标值：3.5" in texts
    assert all(r.path.endswith("（三）发展目标") for r in rows)


def test_table_row_offsets_cover_exactly_the_source_row() -> None:
    doc, _ = _seed("004")
    for r in _rows():
        span = doc.text[r.offsets[0] : r.offsets[-1] + 1]
        cells = r.text.split("｜")[1:]  # drop the caption
        content = "".join(c.split("：", 1)[1] for c in cells)
        # the span is the whole source row, row number (序号) included
        assert re.fullmatch(r"\d+" + re.escape(content), re.sub(r"\s", "", span))
        # Cell characters are source characters; label characters sit on their cell's first char.
        for c, o in zip(r.text, r.offsets, strict=True):
            assert doc.text[o] == c or doc.text[o] in content or doc.text[o].isdigit()


def test_no_table_text_leaks_into_paragraphs() -> None:
    text = "\n".join(s.text for s in _seed("004")[1] if s.kind == "text")
    assert "序号" not in text and "3.74.5" not in text


def test_hard_wrapped_semicolon_line_continues() -> None:
    # A line filling the column that ends in ； is a wrap; a short one ending in ； ends a paragraph.
    filler = "这一行文字很长用来模拟固定宽度的换行排版效果，"
    lines = [filler + "第一", filler + "第二；", "继续同一段。", "短行；", "新的一段。"] + [filler * 1 + "补充。"] * 6
    (sec,) = clean(_doc("\n\n".join(lines)))
    paras = sec.text.split("\n")
    assert paras[0].endswith("第二；继续同一段。")
    assert paras[1] == "短行；"


def test_english_wrap_keeps_a_space_and_numbers_never_merge() -> None:
    src = "标题\n\n一、概况\n\n通过 IEC 61215 和 Micro\n\nLED 认证，指标 3.7 4.5 不合并，研发占 GDP 比重 4.5%。"
    (sec,) = clean(_doc(src))
    assert sec.text == "通过IEC 61215和Micro LED认证，指标3.7 4.5不合并，研发占GDP比重4.5%。"
    assert src[sec.offsets[sec.text.index("Micro LED") + 5]] == "\n"  # the added space stands on the wrap


def test_a_single_spaced_indicator_table_becomes_rows_with_a_change_column():
    """A plain-text table whose cells are one space apart, with a "同比增长(%)" column that names no period, is
    read row by row; the change column is the change of the period column before it, in percent."""
    from rag.table import row_sentence

    text = (
        "一、总体情况\n\n前三季度，经济运行稳中有进。\n\n主要指标情况\n\n"
        "指标 2025年 2026年1—9月 同比增长(%)\n"
        "地区生产总值（亿元） 1196.8 911.4 5.8\n"
        "其中：电子信息产业产值（亿元） 1032.4 792.6 8.3\n"
        "实际使用外资（亿美元） 3.06 2.53 11.5\n"
    )
    rows = _row_chunks(text)
    assert len(rows) == 3
    chunk = rows[2]
    assert row_sentence(chunk) == (
        "2025年实际使用外资3.06亿美元；2026年1—9月实际使用外资2.53亿美元；2026年1—9月实际使用外资同比增长11.5%"
    )
    # "其中：" indents a row under the one above; it is no part of the indicator's name.
    sub = rows[1]
    assert row_sentence(sub).startswith("2025年电子信息产业产值1032.4亿元")


def test_a_sentence_with_single_spaces_is_not_a_table():
    rows = [
        s
        for s in clean(_doc("一、情况\n\n全区 实现 地区生产总值 增长\n全年 1196.8 亿元 稳定\n"))
        if s.kind == "table_row"
    ]
    assert rows == []


def test_a_table_with_a_unit_column_and_dashes_is_read_with_each_rows_unit():
    """ "指标 单位 2025年 …": the unit sits in a column of its own, and "—" marks a cell not reported; both
    are table rows, each value read in its row's unit."""
    from rag.table import row_sentence

    text = (
        "一、总体情况\n\n今年以来，能耗稳中有降。\n\n主要指标\n\n"
        "指标 单位 2025年 2026年1—10月 同比增长(%)\n"
        "全社会用电量 亿千瓦时 68.4 61.3 7.4\n"
        "能耗降幅 % 4.2 4.6 —\n"
        "充电桩数量 个 3260 4120 —\n"
    )
    rows = _row_chunks(text)
    assert len(rows) == 3
    sentences = [row_sentence(r) for r in rows]
    assert sentences[0] == (
        "2025年全社会用电量68.4亿千瓦时；2026年1—10月全社会用电量61.3亿千瓦时；2026年1—10月全社会用电量同比增长7.4%"
    )
    assert sentences[2] == "2025年充电桩数量3260个；2026年1—10月充电桩数量4120个"  # no change reported: none read


def test_a_numbered_table_reads_a_dash_cell_and_a_name_ending_in_latin_letters():
    """ "表1" rows ``<n>  <name>  <value>…``: a "—" cell (not reported) ends no table, and an indicator named
    "…的XYZ（家）" keeps its values apart from its last letters (XYZ4 would read as a code, not 4家)."""
    from rag.table import table_cells

    text = (
        "第一条 总体目标。\n\n表1  主要指标\n\n序号  指标名称  2025年  2026年目标  2028年目标\n"
        "1  XYZ主体数量（家）  126  300  1000\n"
        "2  年营业收入超千万元的XYZ（家）  4  10  30\n"
        "3  算力券发放额度（万元）  —  2000  5000\n"
        "4  带动就业人数（人）  480  1200  4000\n\n第二条 概念界定。本措施所称XYZ，是指小微经营主体。\n"
    )
    rows = _row_chunks(text)
    assert len(rows) == 4
    cells = [[(f.raw, sorted(p)) for _, f, p, _ in table_cells(r)] for r in rows]
    assert cells[1] == [("4家", ["2025"]), ("10家", ["2026"]), ("30家", ["2028"])]
    assert cells[2] == [("2000万元", ["2026"]), ("5000万元", ["2028"])]  # the dash is no value
    assert cells[3][0] == ("480人", ["2025"])


def test_a_table_under_a_caption_line_takes_the_caption_and_its_year():
    """ "表2  2026年1—10月…零售额" heads no numbered rows: it is the caption of the plain table below, whose
    "1—10月" column is of the caption's year."""
    from rag.table import table_cells

    text = (
        "二、分类情况\n\n今年以来，各类商品零售平稳。\n\n表2  2026年1—10月限额以上单位主要商品类别零售额\n\n"
        "类别 单位 1—10月 同比增长(%)\n粮油、食品类 亿元 12.6 4.8\n石油及制品类 亿元 14.1 -1.8\n\n三、下阶段工作\n"
    )
    rows = _row_chunks(text)
    assert len(rows) == 2 and rows[1].text.startswith("表2 2026年1—10月限额以上单位主要商品类别零售额｜")
    cells = table_cells(rows[1])
    assert [(f.raw, sorted(p)) for _, f, p, _ in cells] == [("14.1亿元", ["2026"]), ("1.8%", ["2026"])]
