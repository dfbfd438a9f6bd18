"""Cut cleaned Sections into retrieval Chunks that map back to exact source spans.

Each text Section is split into sentences (after 。！？；…, or at a paragraph break), and
sentences are packed greedily up to ``settings.chunk_size`` characters; the next chunk starts
with the last whole sentences of the previous one that fit in ``settings.chunk_overlap``.
A sentence longer than the chunk size is cut at commas (，、), then hard at the size. A table
row is always a chunk of its own. Offsets come from `Section.offsets`, never from searching the
text, so a repeated sentence can never be mapped to the wrong place.

>>> from rag.settings import Settings
>>> from rag.types import Document
>>> d = Document("a.txt", "a.txt", "标题\\n\\n一、总则\\n\\n2024年，昆山高新区实现地区生产总值1135.1亿元。", "")
>>> c = chunk_document(d, Settings(chunk_size=50, chunk_overlap=0))[0]
>>> c.section, c.text, d.text[c.start:c.end] == c.text, c.periods, c.scope
('一、总则', '2024年，昆山高新区实现地区生产总值1135.1亿元。', True, ('2024',), 'zone')
"""

from __future__ import annotations

import hashlib
import re

from rag.clean import clean, doc_lead
from rag.period import detect_periods, report_period
from rag.profile import active
from rag.scope import detect_scope, doc_defaults, last_scope
from rag.settings import Settings
from rag.table import table_row
from rag.types import Chunk, Document, Scope, Section

# Bump when chunk boundaries or metadata change: the index manifest records it and rebuilds.
CHUNKER_VERSION = "sent-pack/9"

_SENTENCE_END = re.compile(r"[。！？!?；;…]+[”’」』）)]*|\n")
_CLAUSE_END = re.compile(r"[，,、：:]")


def chunk_document(doc: Document, settings: Settings) -> list[Chunk]:
    """Clean `doc` and cut it into Chunks (see module docstring)."""
    sections = clean(doc)
    lead = doc_lead(sections)
    default_periods, default_scope = doc_defaults(lead)
    report = report_period(sections[0].title if sections else "", lead)
    chunks: list[Chunk] = []
    for sec in sections:
        spans = [(0, len(sec.text))] if sec.kind == "table_row" else _pack(sec.text, settings)
        for a, b in spans:
            chunks.append(_chunk(doc, sec, a, b, lead, default_periods, default_scope, report))
    return chunks


def chunk_id(doc: str, start: int, end: int, text: str) -> str:
    """Short stable id: the same span of the same document always gets the same id."""
    return hashlib.sha256(f"{doc}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()[:16]


def _chunk(
    doc: Document,
    sec: Section,
    a: int,
    b: int,
    lead: str,
    default_periods: tuple[str, ...],
    default_scope: Scope,
    report: str,
) -> Chunk:
    text = sec.text[a:b]
    offs = sec.offsets[a:b]
    start, end = min(offs), max(offs) + 1
    periods = detect_periods(text, context=f"{sec.title}\n{sec.path}\n{lead}", report=report) or default_periods
    # The scope in force around the chunk is the document's subject (a zone article quoting
    # "占昆山市比重" is still about the zone); without one, the last explicit mention before the
    # chunk in its section, else its heading.
    carry = default_scope
    if carry == "unknown":
        carry = last_scope(sec.text[:a])
    if carry == "unknown":
        carry = detect_scope(sec.path)
    scope = _row_scope(text, carry) if sec.kind == "table_row" else detect_scope(text, carry)
    if scope == "unknown":
        scope = carry
    return Chunk(
        id=chunk_id(doc.doc, start, end, text),
        doc=doc.doc,
        title=sec.title,
        section=sec.path,
        text=text,
        start=start,
        end=end,
        periods=periods,
        scope=scope,
        kind=sec.kind,
        source=doc.text[start:end],
        report=report,
    )


# A row named for a place ("南京市", "苏南地区") that no profile area is: its figures are that place's.
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,8}(?:省|市|县|区|州|镇|地区)")


def _row_scope(text: str, carry: Scope) -> Scope:
    """A table row's area is the one its name names ("全省", "苏州市"), else the one in force; a row of another
    place is "other", so its figures are never offered for an area the profile knows.

    >>> _row_scope("表2 分地区｜地区：东湖市｜R&D经费（亿元）：742.6", "unknown")
    'other'
    """
    name = table_row(Chunk("", "", "", "", text, 0, len(text), kind="table_row"))[0].strip()
    if _PLACE.fullmatch(name) and name not in active().scope_names():
        return "other"  # "<city>开发区", "<town>镇": a place of its own, whatever known name it starts with
    scope = detect_scope(name, carry)
    if scope != "unknown":
        return scope
    return "other" if _PLACE.fullmatch(name.strip()) else carry


def _sentences(text: str, size: int) -> list[tuple[int, int]]:
    """Sentence spans of `text` (whitespace at their edges excluded), none longer than `size`."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((pos, m.end()))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.extend(_split_long(text, a, b, size))
    return out


def _split_long(text: str, a: int, b: int, size: int) -> list[tuple[int, int]]:
    if b - a <= size:
        return [(a, b)]
    out: list[tuple[int, int]] = []
    while b - a > size:
        cut = 0
        for m in _CLAUSE_END.finditer(text, a, a + size):
            cut = m.end()
        if cut <= a + size // 3:
            cut = a + size  # no usable comma: cut hard rather than leave a sliver
        out.append((a, cut))
        a = cut
    out.append((a, b))
    return out


def _pack(text: str, settings: Settings) -> list[tuple[int, int]]:
    size, overlap = settings.chunk_size, settings.chunk_overlap
    sents = _sentences(text, size)
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(sents):
        j = i + 1
        while j < len(sents) and sents[j][1] - sents[i][0] <= size:
            j += 1
        chunks.append((sents[i][0], sents[j - 1][1]))
        if j >= len(sents):
            break
        # Overlap with whole sentences only (a cited sentence is then complete in some chunk).
        k = j
        while k - 1 > i and sents[j - 1][1] - sents[k - 1][0] <= overlap:
            k -= 1
        i = k
    return chunks
