"""Property tests (hypothesis): cleaning, chunking, citation parsing and figure checking never crash
on arbitrary text, keep their offsets honest, and never let a figure through that no cited passage holds.

No models: every property runs on pure-Python stages, so the whole file takes seconds.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.chunk import chunk_document
from rag.cite import clean_markers, marker_numbers, resolve_citations, split_claims, strip_markers
from rag.clean import clean
from rag.numbers import extract_figures, same_figure
from rag.prompt import REFUSAL
from rag.settings import Settings
from rag.types import Chunk, Document, Hit
from rag.verify import verify

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces that steer the cleaner into its special cases (headings, page markers, tables, wraps),
# mixed with arbitrary unicode: control characters, CJK, full-width digits, odd whitespace.
_FRAGMENTS = (
    "\n", "\n\n", "\r\n", " ", "\t", "\u3000", "\x00", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u200b", "\ufeff",
    "一、总则\n", "（一）新显示\n", "专栏 1 产业\n", "1. 目标\n", "（1）措施\n", "(2)任务\n", "# 标题\n",
    "第三章 规划\n", "— 6 —\n", "- 12 -\n", "第 3 页\n",
    "表 1 主要指标\n序号 指标 2020年 2025年\n1 地区生产总值 965 1500\n2 研发投入 3.5 4\n",
    "昆山高新区", "地区生产总值", "1135.1亿元", "同比增长6.3%", "２０２４年", "１２３．５％", "第31名", "约1/4",
    "。", "，", "；", "：", "！", "？", "“", "”", "《", "》", "…", "▶ 本报记者 张三\n", "IEC 61215", "3.7 4.5",
    "🚀", "😀", "\U0001f3ed", "é", "ß", "Ω", "العربية", "עברית", "\u202e", "<script>", "[1]", "【2】",
)  # fmt: skip
_FUZZ_TEXT = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12)), max_size=40).map("".join)


def _doc(text: str, name: str = "fuzz.txt") -> Document:
    return Document(doc=name, path=name, text=text, sha256="")


# --------------------------------------------------------------------------- clean


@FUZZ
@given(text=_FUZZ_TEXT, docx=st.booleans())
@example(text="表 1 指标\n序号 名称 2024年\n1 地区生产总值 1135.1\n", docx=False)
@example(text="\x00\x01\x02", docx=False)
@example(text="一、\n\n（一）\n", docx=False)
def test_clean_offsets_map_back_to_the_source(text: str, docx: bool) -> None:
    doc = _doc(text, "fuzz.docx" if docx else "fuzz.txt")
    sections = clean(doc)
    for sec in sections:
        assert sec.doc == doc.doc and isinstance(sec.title, str) and isinstance(sec.path, str)
        assert sec.text, "an empty section is noise for the chunker"
        assert len(sec.offsets) == len(sec.text)
        assert all(0 <= o < len(text) for o in sec.offsets)
        offs = sec.offsets
        if sec.kind == "text":
            # Source order is kept and no character is mapped twice.
            assert all(a < b for a, b in zip(offs, offs[1:], strict=False)), sec
            for ch, o in zip(sec.text, offs, strict=True):
                # A copied character is the source character; an added one stands on the whitespace it replaces.
                assert ch == text[o] or (ch in " \n" and text[o].isspace()), (ch, o, text[o])
        else:
            assert all(a <= b for a, b in zip(offs, offs[1:], strict=False)), sec


@FUZZ
@given(body=st.text(alphabet="0123456789０１２３４５６７８９.．%％亿元万年", min_size=1, max_size=20))
def test_clean_keeps_figures_byte_identical(body: str) -> None:
    # Full-width digits are never normalised by cleaning: the quote must be the source, as written.
    text = f"昆山高新区\n\n一、总则\n\n全年实现{body}。\n"
    joined = "".join(s.text for s in clean(_doc(text)))
    assert body in joined


# --------------------------------------------------------------------------- chunk


def _subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(ch in it for ch in needle)


@FUZZ
@given(
    text=_FUZZ_TEXT,
    size=st.integers(min_value=50, max_value=300),
    overlap=st.integers(min_value=0, max_value=80),
)
def test_chunks_are_exact_source_spans(text: str, size: int, overlap: int) -> None:
    doc = _doc(text)
    chunks = chunk_document(doc, Settings(chunk_size=size, chunk_overlap=overlap))
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text), c
        assert c.source == text[c.start : c.end]
        assert c.text and c.doc == doc.doc
        assert c.scope in ("zone", "city", "unknown")
        if c.kind == "text":
            # Cleaning only removes or replaces whitespace (and page markers): every visible character
            # of the chunk is in its source span, in order.
            visible = "".join(ch for ch in c.text if not ch.isspace())
            assert _subsequence(visible, c.source), c


# --------------------------------------------------------------------------- cite

_MARKER_SOUP = st.lists(
    st.sampled_from(
        ["[", "]", "【", "】", "［", "］", "1", "2", "3", "7", "0", "12", ",", "，", "、", "-", "~", " ", "\n",
         "资料", "passage", "a", "x1", "GDP", "1135.1亿元", "。", "！", "注", "[1]", "[2,3]", "【4】", "[资料2]"]
    ),
    max_size=40,
).map("".join)  # fmt: skip


def _hits(n: int) -> list[Hit]:
    text = "2024年，昆山高新区实现地区生产总值1135.1亿元，同比增长6.3%。规模以上工业总产值1688.3亿元。"
    return [
        Hit(Chunk(id=f"c{i}", doc="d.txt", title="T", section="", text=text, start=0, end=len(text)), 1.0)
        for i in range(n)
    ]


@FUZZ
@given(soup=_MARKER_SOUP, n=st.integers(min_value=0, max_value=4))
def test_marker_soup_never_raises_and_resolves_only_real_passages(soup: str, n: int) -> None:
    cleaned, invented = clean_markers(soup, n_passages=n)
    assert all(isinstance(t, str) for t in invented)
    strip_markers(soup)
    for claim in split_claims(soup):
        assert 0 <= claim.start <= claim.end <= len(soup) and soup[claim.start : claim.end] == claim.text
    passages = _hits(n)
    for cit in resolve_citations(soup, passages):
        assert 1 <= cit.n <= n
        assert cit.text in passages[cit.n - 1].chunk.text


@FUZZ
@given(soup=_MARKER_SOUP, n=st.integers(min_value=0, max_value=4))
@example(soup="[7[5]]", n=3)
def test_cleaned_text_keeps_no_invented_marker(soup: str, n: int) -> None:
    cleaned, _ = clean_markers(soup, n_passages=n)
    # Whatever the soup, only passage numbers 1..n survive as markers in the text.
    assert set(marker_numbers(cleaned)) <= set(range(1, n + 1)), (soup, cleaned)


# --------------------------------------------------------------------------- verify

_METRICS = ("地区生产总值", "固定资产投资", "规模以上工业总产值", "实际使用外资", "高新技术企业数量")
_UNITS = ("亿元", "万元", "亿美元", "个", "家", "%")
_VALUES = ("1135.1", "175.1", "6.3", "32", "185.3", "11351000", "1688.3", "2.27", "13.3", "5.6")
_YEARS = ("2023", "2024", "2025")


@st.composite
def _passage(draw: st.DrawFn) -> str:
    sentences = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        year, metric = draw(st.sampled_from(_YEARS)), draw(st.sampled_from(_METRICS))
        value, unit = draw(st.sampled_from(_VALUES)), draw(st.sampled_from(_UNITS))
        growth = draw(st.sampled_from(_VALUES))
        sentences.append(f"{year}年，昆山高新区{metric}{value}{unit}，同比增长{growth}%。")
    return "".join(sentences)


def _passage_hit(text: str, n: int) -> Hit:
    chunk = Chunk(id=f"p{n}", doc=f"d{n}.txt", title="T", section="", text=text, start=0, end=len(text),
                  periods=(), scope="zone")  # fmt: skip
    return Hit(chunk=chunk, score=1.0)


def _held_by(fig, passage: str) -> bool:
    return any(same_figure(fig, g) for g in extract_figures(passage))


def _derived(fig, others) -> bool:
    # The verifier accepts a sum or difference of two backed figures of the same sentence (documented).
    vals = [g.value for g in others if g is not fig and g.kind == fig.kind and g.unit == fig.unit]
    return any(
        abs(c - fig.value) <= 1e-6 * max(1.0, abs(c))
        for i, a in enumerate(vals)
        for b in vals[i + 1 :]
        for c in (a + b, abs(a - b))
    )


def _assert_every_kept_figure_is_in_a_cited_passage(text: str, passages: list[str]) -> None:
    for claim in split_claims(text):
        figs = [f for f in extract_figures(strip_markers(claim.text)) if f.kind != "year"]
        assert all(1 <= n <= len(passages) for n in claim.cites), claim
        for f in figs:
            held = any(_held_by(f, passages[n - 1]) for n in claim.cites)
            assert held or _derived(f, figs), (f.raw, claim.text, passages)


@FUZZ
@given(
    p1=_passage(),
    p2=_passage(),
    year=st.sampled_from(_YEARS),
    metric=st.sampled_from(_METRICS),
    value=st.one_of(st.sampled_from(_VALUES), st.decimals(0, 100000, places=1).map(str)),
    unit=st.sampled_from(_UNITS),
    copied=st.booleans(),
)
def test_verify_never_accepts_a_figure_no_passage_holds(p1, p2, year, metric, value, unit, copied) -> None:
    claimed = f"{value}{unit}"
    fig = next(f for f in extract_figures(claimed) if f.kind != "year")
    # Half the time the sentence also restates a real figure of passage 1: the invented one still must go.
    real = next((f.raw for f in extract_figures(p1) if f.kind != "year"), "") if copied else ""
    extra = f"，其中{real}来自资料" if real else ""
    answer = f"{year}年昆山高新区{metric}{claimed}{extra}[1]。"
    question = f"{year}年昆山高新区{metric}是多少？"
    v = verify(answer, [_passage_hit(p1, 1), _passage_hit(p2, 2)], question)
    _assert_every_kept_figure_is_in_a_cited_passage(v.text, [p1, p2])
    if not _held_by(fig, p1) and not _held_by(fig, p2):
        shown = [f for f in extract_figures(strip_markers(v.text)) if f.kind != "year"]
        assert not any(same_figure(fig, f) for f in shown) or _derived(fig, shown), (answer, v.text)
        assert fig.raw in v.unsupported_numbers or v.refused or v.fallback, (answer, v)
    if v.refused:
        assert v.text.startswith(REFUSAL)


@FUZZ
@given(answer=_MARKER_SOUP, p1=_passage(), n_passages=st.integers(min_value=0, max_value=3), q=_FUZZ_TEXT)
def test_verify_never_raises_on_soup(answer: str, p1: str, n_passages: int, q: str) -> None:
    passages = [p1] * n_passages
    v = verify(answer, [_passage_hit(p, i + 1) for i, p in enumerate(passages)], q)
    assert isinstance(v.text, str) and v.text
    assert all(1 <= c.n <= n_passages for c in v.citations)
    assert set(marker_numbers(v.text)) <= set(range(1, n_passages + 1)), (answer, v.text)
    _assert_every_kept_figure_is_in_a_cited_passage(v.text, passages)


def test_figure_oracle_is_not_vacuous() -> None:
    # The helpers above must be able to say "no": a figure in no passage is caught.
    p = "2024年，昆山高新区地区生产总值1135.1亿元，同比增长6.3%。"
    fig = extract_figures("9999.9亿元")[0]
    assert not _held_by(fig, p) and _held_by(extract_figures("11351000万元")[0], p)
    with pytest.raises(AssertionError):
        _assert_every_kept_figure_is_in_a_cited_passage("高新区GDP为9999.9亿元[1]。", [p])
    assert re.search(r"\d", REFUSAL) is None  # the refusal states no figure of its own
