"""Citation markers: parsing, invented-id removal, claims and exact source spans."""

from __future__ import annotations

from pathlib import Path

from rag.cite import clean_markers, marker_numbers, resolve_citations, source_offset, split_claims, strip_markers
from rag.settings import ROOT
from rag.types import Chunk, Hit


def seed_hit(prefix: str, needle: str, length: int) -> tuple[Hit, str]:
    path = next((ROOT / "seeds").glob(prefix + "_*.txt"))
    text = Path(path).read_text(encoding="utf-8")
    i = text.index(needle)
    t = text[i : i + length]
    chunk = Chunk(id="c", doc=path.name, title="T", section="", text=t, start=i, end=i + len(t))
    return Hit(chunk=chunk, score=1), text


def test_marker_forms_are_normalised():
    text, invented = clean_markers("甲[1,2]。乙【3】。丙[1][2]。丁［2］。戊[资料1]。", n_passages=3)
    assert text == "甲[1][2]。乙[3]。丙[1][2]。丁[2]。戊[1]。"
    assert invented == ()


def test_invented_ids_are_removed_and_reported():
    text, invented = clean_markers("GDP 1135.1亿元[1][4]。增长6.3%[0]。见[x1]", n_passages=2)
    assert text == "GDP 1135.1亿元[1]。增长6.3%。见"
    assert invented == ("4", "0", "x1")


def test_non_citation_brackets_stay():
    assert clean_markers("【注】见上文[1]", 1) == ("【注】见上文[1]", ())
    assert strip_markers("【注】见上文[1]") == "【注】见上文"


def test_split_claims_attaches_trailing_markers():
    claims = split_claims("2024年GDP 1135.1亿元。[1] 同比增长6.3%[1][2]。\n排名第31位[2]")
    assert [c.cites for c in claims] == [(1,), (1, 2), (2,)]
    assert claims[0].text == "2024年GDP 1135.1亿元。[1]"
    assert claims[2].text == "排名第31位[2]"
    assert marker_numbers("a[2]b[1][2]") == (2, 1)


def test_citation_span_is_the_supporting_sentence_at_exact_source_offsets():
    hit, source = seed_hit("001", "数据显示,2024年", 200)
    cits = resolve_citations("2024年规模以上工业总产值1688.3亿元[1]。", [hit])
    assert len(cits) == 1
    c = cits[0]
    assert "1688.3亿元" in c.text
    assert source[c.start : c.end] == c.text  # raw seed text: offsets are exact
    assert c.doc.startswith("001_")


def test_citation_to_unknown_passage_is_ignored():
    hit, _ = seed_hit("001", "数据显示,2024年", 200)
    assert resolve_citations("GDP 1135.1亿元[5]。", [hit]) == []


def test_source_offset_interpolates_when_cleaning_shortened_the_text():
    c = Chunk(id="c", doc="d", title="", section="", text="abcdef", start=100, end=112)
    assert [source_offset(c, i) for i in (0, 3, 6)] == [100, 106, 112]


def test_citations_into_the_cleaned_plan_have_exact_source_offsets():
    """The plan is PDF text: cleaning joins wraps and drops spaces, yet a citation's start/end must
    still cut exactly its sentence out of the source file (whitespace aside)."""
    import re

    from rag import index as index_mod
    from rag.settings import Settings

    chunks = [c for c in index_mod.load(Settings()).chunks if c.doc.startswith("004_") and c.kind != "table_row"]
    source = next((ROOT / "seeds").glob("004_*.txt")).read_text(encoding="utf-8")
    checked = 0
    for c in chunks[:40]:
        sentence = c.text[: c.text.find("。") + 1] if "。" in c.text else c.text
        cit = resolve_citations(strip_markers(sentence) + "[1]", [Hit(chunk=c, score=1.0)])[0]
        assert re.sub(r"\s", "", source[cit.start : cit.end]) == re.sub(r"\s", "", cit.text)
        checked += 1
    assert checked >= 20
