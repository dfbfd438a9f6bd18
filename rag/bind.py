"""Bind facts: every figure a chunk states becomes a typed `Fact`, once, at index time.

A fact says what the figure measures (the document's words, and the profile's canonical metric when
it knows one), for which period and area, of which subject, and whether it is an achieved value, a
target or a forecast — read with the same grammar (`rag.grammar`) the verifier uses on answers, so
the store and the checks never disagree about a sentence. Table cells are facts directly: the column
names the period and whether the value is a target.

>>> from rag.types import Chunk
>>> t = "2024年,昆山高新区实现地区生产总值1135.1亿元,同比增长6.3%。到2027年,地区生产总值力争突破1300亿元。"
>>> c = Chunk("c1", "d.txt", "T", "", t, 0, len(t), ("2024",), "zone", source=t)
>>> [(f.metric_id, f.period, f.scope, f.raw, f.kind) for f in bind_chunk(c)]  # doctest: +NORMALIZE_WHITESPACE
[('地区生产总值', '2024', 'zone', '1135.1亿元', 'actual'),
 ('地区生产总值增速', '2024', 'zone', '6.3%', 'actual'),
 ('地区生产总值', '2027', 'zone', '突破1300亿元', 'target')]
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from rag.cite import sentence_spans, source_span
from rag.dating import governing_mentions, periods_in, precise_periods
from rag.entity import organisation_at
from rag.grammar import _IDENTIFIER, _SENTENCE, _THRESHOLD, metric_words, passage_scopes
from rag.numbers import extract_figures
from rag.profile import active
from rag.table import table_cells
from rag.types import Chunk, Fact, Figure

# What makes a figure a target or a forecast rather than an achieved value (its clause, before it).
_AIMING = re.compile(r"力争|确保|争取")
_TARGET = re.compile(r"到(?:19|20)\d{2}年|目标|力争|要达到|确保|规划|预期性|约束性|锚定|瞄准|争取")
_FORECAST = re.compile(r"预计|有望|将达|可望")
_GROWTH = re.compile(r"增长|增速|增幅|下降|提高|提升|上升|回落")
_CLAUSE = "，,；;。！？!?：:\n"
# Bump when what a fact records changes: the index manifest records it, and a build re-binds.
BIND_VERSION = "facts/8"


def fact_id(doc: str, start: int, end: int, raw: str) -> str:
    return hashlib.sha256(f"{doc}\x00{start}\x00{end}\x00{raw}".encode()).hexdigest()[:16]


def bind_chunk(chunk: Chunk) -> list[Fact]:
    """The facts `chunk` states (see module docstring); years and calendar dates are periods, not facts."""
    if chunk.kind == "table_row":
        return list(_table_facts(chunk))
    out: list[Fact] = []
    text = chunk.text
    spans = sentence_spans(text, _SENTENCE)
    for g in extract_figures(text):
        if g.kind == "year" or g.unit in ("月", "日", "期") or (_IDENTIFIER.search(text[: g.start]) and not g.unit):
            continue
        s, e = next(((s, e) for s, e in spans if s <= g.start < e), (0, len(text)))
        clause_lo = max((text.rfind(ch, s, g.start) for ch in _CLAUSE), default=-1) + 1
        lead = text[max(s, clause_lo) : g.start]
        words = metric_words(text, g)
        period, target_year = _period(chunk, g)
        # "力争全年…突破1280亿元，…占比稳定在58%以上": a verb of aiming governs every goal listed after it.
        aimed = target_year or _TARGET.search(lead) or _AIMING.search(text[s : g.start])
        kind = "target" if aimed else "forecast" if _FORECAST.search(lead) else "actual"
        scopes = passage_scopes(chunk, g.start)
        order = active().scope_ids()
        scope = min(scopes, key=lambda x: order.index(x) if x in order else len(order)) if scopes else "unknown"
        a, b = source_span(chunk, g.start, g.end)
        out.append(
            Fact(
                id=fact_id(chunk.doc, a, b, g.raw),
                doc=chunk.doc,
                chunk_id=chunk.id,
                metric=words,
                metric_id=metric_id(words, g),
                period=period,
                scope=scope,
                value=g.value,
                unit=g.unit,
                raw=(g.op + g.raw if g.op and not g.raw.startswith(g.op) else g.raw),
                qualifier=_qualifier(text, g),
                kind=kind,  # type: ignore[arg-type]
                figure_kind=g.kind,
                subject=organisation_at(text, g.start) or active().scope_label(scope),
                sentence=re.sub(r"\s*\n\s*", "", text[s:e]).strip(),
                start=a,
                end=b,
            )
        )
    return out


def bind(chunks: Iterable[Chunk]) -> list[Fact]:
    """All facts of `chunks`, each figure once (overlapping chunks state some sentences twice)."""
    seen: dict[str, Fact] = {}
    for c in chunks:
        for f in bind_chunk(c):
            seen.setdefault(f.id, f)
    return list(seen.values())


def metric_id(words: str, fig: Figure | None = None) -> str:
    """The profile's canonical metric named in `words` ('' when it knows none); a growth rate of a metric
    is that metric's 增速."""
    canon = active().metric_of(words)
    if canon and fig is not None and fig.kind == "percent" and _GROWTH.search(words):
        return canon + "增速"
    return canon


def _period(chunk: Chunk, fig: Figure) -> tuple[str, bool]:
    """The period label of a figure ("2026上半年", "2024", "十四五") and whether it is a target year."""
    found = governing_mentions(chunk, fig.start)
    if not found:
        return (chunk.periods[0] if chunk.periods else ""), False
    m = found[-1]
    return m.label.removesuffix("目标"), m.target


def is_target(chunk: Chunk, fig: Figure) -> bool:
    """Whether a passage figure is a target ("到2025年…超4000家", "力争…"), not an achieved value.

    >>> t = "到2025年，有效高新技术企业超4000家。"
    >>> is_target(_one(t), extract_figures(t)[1])
    True
    """
    text = chunk.text
    s_lo = max((text.rfind(ch, 0, fig.start) for ch in _SENTENCE), default=-1) + 1
    clause_lo = max((text.rfind(ch, s_lo, fig.start) for ch in _CLAUSE), default=-1) + 1
    return (
        _period(chunk, fig)[1]
        or bool(_TARGET.search(text[max(s_lo, clause_lo) : fig.start]))
        or bool(_AIMING.search(text[s_lo : fig.start]))
    )


def _one(text: str) -> Chunk:
    return Chunk("c", "d.txt", "T", "", text, 0, len(text), source=text)


def _qualifier(text: str, fig: Figure) -> str:
    m = _THRESHOLD.match(text[fig.end :])
    return m.group(0).strip() if m else fig.op


def _table_facts(chunk: Chunk) -> Iterable[Fact]:
    for synth, g, periods, column in table_cells(chunk):
        label = synth[: g.start]
        # "2026年1—9月" is the year's first three quarters, not the year: the column's precise period.
        years = sorted(precise_periods(column)) or sorted(p for p in periods if p.isdigit())
        sentence = f"{label}（{column}）：{g.raw}"
        if not periods_in(column):
            # A column of a metric, not of a period ("R&D经费（亿元）"): the row states the period reported on.
            years = [chunk.report] if chunk.report else sorted(p for p in chunk.periods if p.isdigit())[-1:]
            sentence = synth
        kind = "target" if "目标" in column or "预期" in column else "actual"
        scope = chunk.scope
        yield Fact(
            id=fact_id(chunk.doc, chunk.start, chunk.end, f"{column}:{g.raw}"),
            doc=chunk.doc,
            chunk_id=chunk.id,
            metric=label,
            metric_id=metric_id(label, g),
            period=years[-1] if years else column,
            scope=scope,
            value=g.value,
            unit=g.unit,
            raw=g.raw,
            qualifier=g.op,
            kind=kind,  # type: ignore[arg-type]
            figure_kind=g.kind,
            subject=active().scope_label(scope),
            sentence=sentence,
            start=chunk.start,
            end=chunk.end,
            table=True,
        )
