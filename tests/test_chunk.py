"""Chunks of the real seeds: exact source spans, sizes, sentence boundaries, stable ids,
table rows on their own, and the periods/scope that retrieval and verification rely on."""

from __future__ import annotations

import re
from functools import cache

import pytest

from rag.chunk import chunk_document
from rag.load import load_file
from rag.settings import ROOT, Settings
from rag.types import Chunk, Document

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
SETTINGS = Settings()
_PAGE = re.compile(r"[—\-]\s*\d+\s*[—\-]")


@cache
def _chunks(prefix: str, size: int = SETTINGS.chunk_size, overlap: int = SETTINGS.chunk_overlap):
    path = next(p for p in SEEDS if p.name.startswith(prefix))
    doc = load_file(path)
    return doc, tuple(chunk_document(doc, Settings(chunk_size=size, chunk_overlap=overlap)))


def _squash(s: str) -> str:
    return re.sub(r"\s", "", s)


def _one(prefix: str, needle: str) -> Chunk:
    found = [c for c in _chunks(prefix)[1] if needle in c.text]
    assert found, needle
    return found[0]


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_chunks_map_back_to_exact_source_spans(prefix: str) -> None:
    doc, chunks = _chunks(prefix)
    assert chunks
    for c in chunks:
        assert 0 <= c.start < c.end <= len(doc.text)
        span = doc.text[c.start : c.end]
        if c.kind == "text":
            # Same characters, only whitespace and page markers removed.
            assert _squash(_PAGE.sub("", span)) == _squash(c.text), c.id
            assert not c.text[0].isspace() and not c.text[-1].isspace()
        else:
            # A table row: every cell (after its synthesized label) is in the source row span.
            for cell in c.text.split("｜")[1:]:
                assert _squash(cell.split("：", 1)[1]) in _squash(span)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_sizes_ids_and_metadata(prefix: str) -> None:
    doc, chunks = _chunks(prefix)
    assert all(len(c.text) <= SETTINGS.chunk_size for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)
    assert all(c.doc == doc.doc and c.title == chunks[0].title for c in chunks)
    assert all(c.scope in ("zone", "city") for c in chunks)  # every seed says which area it is about
    # Ids are stable: chunking the same document again gives the same ids.
    assert [c.id for c in chunk_document(doc, SETTINGS)] == [c.id for c in chunks]


def test_chunks_end_at_sentence_ends() -> None:
    ends = [c.text[-1] for p in ("000", "001", "002", "003", "004") for c in _chunks(p)[1] if c.kind == "text"]
    at_sentence = sum(e in "。！？；…”）!?;" for e in ends)
    assert at_sentence / len(ends) > 0.95


def test_overlap_is_whole_sentences_and_can_be_switched_off() -> None:
    _, with_overlap = _chunks("004")
    shared = [
        (a, b)
        for a, b in zip(with_overlap, with_overlap[1:], strict=False)
        if a.section == b.section and a.kind == b.kind == "text" and b.start < a.end
    ]
    assert shared
    for a, b in shared:
        assert a.end - b.start <= SETTINGS.chunk_overlap + 20  # overlap stays near the setting
        assert a.text[len(a.text) - 1] in "。！？；…”）" and b.text[0] not in "，、"
    _, without = _chunks("004", overlap=0)
    for a, b in zip(without, without[1:], strict=False):
        assert b.start >= a.end


def test_smaller_chunk_size_respected() -> None:
    _, chunks = _chunks("002", size=80, overlap=10)
    assert all(len(c.text) <= 80 for c in chunks)
    assert len(chunks) > len(_chunks("002")[1])


def test_repeated_text_gets_its_own_spans() -> None:
    doc, chunks = _chunks("001")
    sentence = "努力将昆山高新区建设成为创新驱动发展示范区、新质生产力引领区、高质量发展先行区。"
    first, second = doc.text.index(sentence), doc.text.rindex(sentence)
    assert first != second  # the article repeats its opening paragraph
    places = set()
    for c in (c for c in chunks if sentence in c.text):
        pos = doc.text.index(sentence, c.start)
        assert pos + len(sentence) <= c.end  # the chunk's own span holds it
        places.add(pos)
    assert places == {first, second}


def test_table_rows_are_their_own_chunks() -> None:
    doc, chunks = _chunks("004")
    rows = [c for c in chunks if c.kind == "table_row"]
    assert len(rows) == 12
    rd = next(c for c in rows if "全社会研发投入占地区生产总值比重（%）" in c.text)
    assert rd.text.endswith("｜2020年完成值：3.7｜2025年目标值：4.5")
    assert _squash(doc.text[rd.start : rd.end]) == "1全社会研发投入占地区生产总值比重（%）3.74.5"
    assert "2020" in rd.periods and "2025目标" in rd.periods
    assert rd.scope == "city"  # the table says nothing; the plan is about 昆山 as a whole
    assert rd.section.endswith("（三）发展目标")


def test_periods_and_scope_of_known_chunks() -> None:
    gdp = _one("001", "1135.1亿元")
    assert "2024" in gdp.periods and gdp.scope == "zone"
    signed = _one("003", "签约项目27个")
    assert "2025前三季度" in signed.periods and signed.scope == "zone"
    growth = _one("000", "年均增长5.5%")
    assert "十四五" in growth.periods and growth.scope == "zone"
    target = _one("004", "全社会研发投入占GDP比重达到4.5%")
    assert "2025目标" in target.periods and target.scope == "city"
    base = _one("004", "万人发明专利拥有量达72.19件")
    assert "2020" in base.periods and "十三五" in base.periods and base.scope == "city"
    # A company name with 昆山 in it does not turn a zone article's chunk into a city one.
    perovskite = _one("001", "昆山协鑫光电材料有限公司官宣")
    assert perovskite.scope == "zone"


def test_chunk_without_own_period_inherits_the_document_default() -> None:
    _, chunks = _chunks("001")
    quiet = [c for c in chunks if not re.search(r"20\d\d|十[一二三四五六]五", c.text)]
    assert quiet
    assert all(c.periods == ("2024",) for c in quiet)


def test_section_and_text_stay_separate() -> None:
    _, chunks = _chunks("004")
    c = _one("004", "深化实施“强芯亮屏”工程")
    assert c.section == "三、聚焦高科技，开拓新蓝海，构建现代产业新格局 > （一）新显示"
    assert c.text.startswith("深化实施“强芯亮屏”工程")


def test_tiny_document() -> None:
    doc = Document("t.txt", "t.txt", "只有一句话，没有标题也没有句号", "")
    (c,) = chunk_document(doc, SETTINGS)
    assert doc.text[c.start : c.end] == c.text == "只有一句话，没有标题也没有句号"
