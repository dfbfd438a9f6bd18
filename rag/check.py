"""Fact-check a claim against the indexed sources, one atomic statement at a time.

A claim is cut into statements: a clause with its figure(s), metric, period and scope; a clause that
names no year or area of its own inherits those of the clauses before it. Hedges (听说…, …对吗？,
是不是) are dropped first. Each statement is held against the retrieved passages with the binding
rules of `rag.verify` (metric bigrams next to the figure, governing period, the zone vs its city) and the
unit-aware comparison of `rag.numbers` (1135.1亿元 = 11351000万元 ≠ 1135.1万元):

* ``supported``: a passage states the same figure for that metric, period and scope;
* ``contradicted``: it states another figure in the same unit (``reason`` "value", ``source_value``
  gives it), or the claimed figure is that of another year ("period") or of the other area ("scope");
* ``not_found``: no passage speaks to that metric for that period and scope ("absent").

A statement without figures is supported when one passage sentence restates it (bigram overlap ≥ 0.8).
Sources giving different values for one metric, period and scope are all returned as evidence with
``conflict`` set, never silently resolved. Evidence offsets index the source file (`Document.text`).

Worked example (the second clause inherits 2024 and the zone; the source says 6.3%):

>>> # r = check_claim("听说2024年X区GDP达1135.1亿元，同比增长7.3%，对吗？", Retriever(Settings()))
>>> # r["verdict"], [(s["text"], s["verdict"], s["source_value"]) for s in r["statements"]]
>>> # ('contradicted', [('2024年X区GDP达1135.1亿元', 'supported', None),
>>> #                   ('同比增长7.3%', 'contradicted', '6.3%')])
>>> parts = split_statements("听说2024年全区GDP达1135.1亿元，增长6.3%？")
>>> [(s.text, sorted(s.periods), sorted(s.scopes)) for s in parts]
[('2024年全区GDP达1135.1亿元', ['2024'], ['zone']), ('增长6.3%', ['2024'], ['zone'])]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

from rag.cite import bigrams, overlap, sentence_spans, source_span
from rag.dating import governing_periods, periods_in
from rag.grammar import claim_metric, passage_context, passage_scopes, scopes_in, strip_scopes
from rag.numbers import extract_figures, same_figure
from rag.profile import active
from rag.table import table_cells
from rag.trust import UPLOADED, overruled_facts
from rag.types import Chunk, Fact, Figure, Hit

METRIC_MIN = 0.5  # as in rag.verify: share of the claim's metric bigrams found around the passage figure
WIDE = 0.8  # a metric named earlier in the sentence binds less tightly than one in the figure's own clause
CONFLICT_MIN = 0.8  # two passage figures rival each other only when their metric contexts match both ways
RESTATE_MIN = 0.8  # statement without metric words: share of its bigrams one passage sentence must contain
TIE = 1e-6

_LEAD = re.compile(
    r"^(?:我?听说|据说|有人说|网上说|据报道|帮我核实一下|核实一下|请核实|确认一下|请问"
    # "科创规划里写的“…”": which document says it is the claim's source, not part of what it asserts
    r"|[\u4e00-\u9fff]{0,6}?(?:规划|报道|文件|材料|资料|文章|新闻|报告)(?:里|中|上)?(?:写|说|提|讲|称)(?:的|到的|道|着)?)"
    r"[，,:：\s]*"
)
_TAIL = re.compile(r"[，,\s]*(?:是这样吗|是真的吗|对不对|是不是|没错吧|对吗|是吗|对吧|吗|吧|呢)?[？?。！!\s]*$")
_MID = re.compile(r"是不是|是否")
_SENTENCE = "。！？!?；;\n"
# What may precede a year without making the clause a dated fact: "截至2020年底", "2024年，X区…".
# (Area names frame a clause too: they are blanked before this applies.)
_FRAMING = re.compile(r"截至|截止|到|至|自|从|在|于|是|[^\u4e00-\u9fff]")
_FILLER = re.compile(r"(?:说|指|讲)的是|是指|[是为的了]")


class Searcher(Protocol):
    def search(self, question: str, k: int | None = None) -> list[Hit]: ...


@dataclass(frozen=True)
class Statement:
    text: str
    context: str  # the sentence up to the statement's end: where its figures' metrics are read
    figures: tuple[Figure, ...]  # what it asserts; spans index `context`
    periods: frozenset[str]  # own, else inherited from the statements before it
    scopes: frozenset[str]
    query: str  # inherited period/scope words + the previous statement + its text


@dataclass(frozen=True)
class _Stated:
    """A figure as a passage states it, with what it is bound to."""

    fig: Figure
    raw: str  # as shown to the user, qualifier and unit included ("近100家", "6.2万人")
    context: set[str]  # metric bigrams of its clause (rag.verify.passage_context)
    wide: set[str]  # … of its sentence up to it ("…综合评价结果中，X区…位列第33位")
    grams: set[str]  # bigrams of its whole sentence, figures blanked
    periods: frozenset[str]
    scopes: frozenset[str]
    chunk: Chunk
    span: tuple[int, int]  # its sentence (or table row) in chunk.text


class _Bound(NamedTuple):
    score: float  # how well the passage figure's metric matches the claimed one
    tight: bool  # matched in its own clause
    near: float  # closeness of its sentence to the whole statement: breaks ties
    s: _Stated


def normalize_claim(sentence: str) -> str:
    """Drop hedges and question endings: "听说…是不是1135.1亿元，对吗？" → "…是1135.1亿元"."""
    return _MID.sub("是", _TAIL.sub("", _LEAD.sub("", sentence.strip()))).strip("，, ")


def _mask(text: str) -> str:
    """Figures and denominators blanked (same length, so spans hold): no 亿元/年 residue reads as a metric.

    A 、 right after a figure ends a list item ("众创空间数36个、新型研发机构5个"): it becomes a clause break,
    so the next item's metric does not take in this one's.
    """
    for f in extract_figures(text):
        sep = "，" if text[f.end : f.end + 1] == "、" else ""
        text = text[: f.start] + " " * (f.end - f.start) + sep + text[f.end + len(sep) :]
    return _without_denominators(text)


def _without_denominators(text: str) -> str:
    """`text` with areas named after 占 blanked (same length): in "占甲市比重", "占全市1/4" that area is the
    denominator, not the area the figure belongs to."""
    for a, b, _ in active().scope_mentions(text):
        if a and text[a - 1] == "占":
            text = text[:a] + " " * (b - a) + text[b:]
    return text


def _dated(f: Figure, text: str) -> bool:
    """Years and the month/day after them ("2021年12月24日") date a statement rather than assert a figure."""
    return f.kind == "year" or (f.unit in ("月", "日") and "个" not in f.raw and text[f.start - 1 : f.start] in "年月")


def _is_fact(clause: str) -> bool:
    figs = extract_figures(clause)
    if any(not _dated(f, clause) for f in figs):
        return True
    # "甲公司于2018年落户…" and "2025年是…收官之年" assert their year; "2024年，…" and "截至2020年底" only date
    # what follows.
    return bool(figs) and (
        len(_FRAMING.sub("", active().strip_scopes(clause[: figs[0].start]))) >= 2 or clause[figs[0].end :][:1] == "是"
    )


def split_statements(claim: str) -> list[Statement]:
    """Atomic statements of `claim`, each with the period and scope it speaks of (own or inherited)."""
    out: list[Statement] = []
    periods: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    for raw in re.split(f"[{_SENTENCE}]", claim):
        sent = re.sub(r"[（(]([^（()）]*)[）)]", r"，\1，", normalize_claim(raw))  # an aside is a clause too
        cuts, start, lo = [], 0, 0
        for hi in [m.end() for m in re.finditer(r"[，,]", sent)] + [len(sent)]:
            if _is_fact(sent[lo:hi]):  # figure-free clauses before it belong to it ("2024年，…")
                cuts.append((start, hi))
                start = hi
            lo = hi
        if re.search(r"[\u4e00-\u9fff]", sent[start:]):
            if cuts and scopes_in(sent[start:]) and not extract_figures(sent[start:]):
                # "…第39名，说的是甲市的排名吗？": a trailing clause that only names a scope says whose
                # figure the statement before it is, so it joins that statement.
                cuts[-1] = (cuts[-1][0], len(sent))
            else:
                cuts.append((start, len(sent)))
        prev = ""
        for a, b in cuts:
            text, context = sent[a:b].strip("，, "), sent[:b].rstrip("，, ")
            figs = [f for f in extract_figures(context) if a <= f.start < b]
            own = [f for f in figs if not _dated(f, context)] or [
                f for f in figs if f.kind == "year" and _is_fact(text)
            ]
            periods = frozenset(periods_in(text)) or periods
            scopes = frozenset(scopes_in(_without_denominators(text))) or scopes
            said = prev + text  # inherited words go into the query only when it does not say them
            words = [p + "年" if p.isdigit() else p for p in sorted(periods - periods_in(said))]
            words += [active().scope_label(s) for s in sorted(scopes - scopes_in(said))]
            out.append(Statement(text, context, tuple(own), periods, scopes, "".join(words) + said))
            prev = text
    return out


def _stated(chunk: Chunk) -> Iterator[_Stated]:
    """Every figure of a passage with its metric context, period and scope."""
    if chunk.kind == "table_row":
        # each value read as "海内外高层次人才6.2万人", for the period its column names (rag.verify.table_cells)
        for synth, g, periods, _ in table_cells(chunk):
            ctx, scopes = passage_context(_mask(synth), g), frozenset({chunk.scope} - {"unknown"})
            yield _Stated(
                g, g.raw, ctx, ctx, bigrams(_mask(synth)), frozenset(periods), scopes, chunk, (0, len(chunk.text))
            )
        return
    masked = replace(chunk, text=_mask(chunk.text))
    spans = sentence_spans(chunk.text)
    for g in extract_figures(chunk.text):
        s, e = next(((s, e) for s, e in spans if s <= g.start < e), (0, len(chunk.text)))
        lead = re.sub(r"[，,：:]", " ", masked.text[s : g.start]) + masked.text[g.start : g.end]
        wide = passage_context(lead, replace(g, start=g.start - s, end=g.end - s))
        raw = g.raw if g.kind == "comparison" or not g.op else g.op + g.raw
        periods, scopes = frozenset(governing_periods(chunk, g.start)), frozenset(passage_scopes(masked, g.start))
        grams = bigrams(masked.text[s:e])
        yield _Stated(g, raw, passage_context(masked.text, g), wide, grams, periods, scopes, chunk, (s, e))


def _comparable(a: Figure, b: Figure) -> bool:
    kinds = {"comparison": "number"}
    return kinds.get(a.kind, a.kind) == kinds.get(b.kind, b.kind) and (a.unit == b.unit or not a.unit or not b.unit)


def _meets(a: frozenset[str], b: frozenset[str]) -> bool:
    return not a or not b or bool(a & b)


def _sentence(s: _Stated) -> str:
    return s.chunk.text[s.span[0] : s.span[1]]


def _bind(st: Statement, fig: Figure, stated: Sequence[_Stated]) -> list[_Bound]:
    """Passage figures comparable to `fig` whose metric matches its metric, best first."""
    masked = _mask(st.context)
    after = re.split(r"[，,]", masked[fig.start :], maxsplit=1)[0]  # "汇聚近100家数字经济生态企业"
    metrics = [
        m for m in (claim_metric(masked, fig), claim_metric(after, replace(fig, start=0, end=len(fig.raw)))) if m
    ]
    out = []
    for s in stated:
        if metrics:
            tight = max(overlap(m, s.context) for m in metrics)
            score = tight if tight >= METRIC_MIN else WIDE * max(overlap(m, s.wide) for m in metrics)
        else:  # no metric words ("X区位居第31名"): the sentence must restate the whole statement
            tight = score = _restates(strip_scopes(st.text), s.grams)  # scope is judged apart, by _meets
        if _comparable(fig, s.fig) and score >= METRIC_MIN:
            out.append(_Bound(score, tight >= METRIC_MIN, overlap(bigrams(st.query), bigrams(_sentence(s))), s))
    return sorted(out, key=lambda b: (-b.score, -b.near))


def judge_figure(st: Statement, fig: Figure, stated: Sequence[_Stated]) -> tuple[str, str, list[_Stated]]:
    """(verdict, reason, evidence) for one claimed figure; evidence[0] decides, the rest disagree with it."""
    bound = _bind(st, fig, stated)
    periods = frozenset() if fig.kind == "year" else st.periods  # a dated fact's year is the figure itself
    exact = [b for b in bound if _meets(periods, b.s.periods) and _meets(st.scopes, b.s.scopes)]
    # Only a value in the same unit gainsays: a bare "1500" (of "1500余项") says nothing against "806家".
    differs = [b for b in exact if not same_figure(fig, b.s.fig) and b.s.fig.unit == fig.unit]
    # An official source outranks an upload (`rag.trust`): an uploaded passage never supports a figure that
    # an official one states otherwise for the same metric, period and scope; it is shown beside it instead.
    official = [d for d in differs if d.s.chunk.tier != UPLOADED]
    overruled: list[_Stated] = []
    win, verdict, reason = None, "not_found", "absent"
    for b in exact:  # the claimed figure wins unless another is bound more tightly for the same period
        if same_figure(fig, b.s.fig) and official and b.s.chunk.tier == UPLOADED:
            overruled.append(b.s)
            continue
        if same_figure(fig, b.s.fig) and not any(
            d.tight and d.score > b.score + TIE and _meets(b.s.periods, d.s.periods) for d in differs
        ):
            win, verdict, reason = b, "supported", "match"
            break
    if win is None and differs:
        win, verdict, reason = (official or differs)[0], "contradicted", "value"
    for b in bound if win is None else ():  # the very figure, but for another year or the other area
        if same_figure(fig, b.s.fig) and (_meets(st.scopes, b.s.scopes) or _meets(periods, b.s.periods)):
            win, verdict = b, "contradicted"
            reason = "period" if _meets(st.scopes, b.s.scopes) else "scope"
            break
    if win is None:
        return verdict, reason, []
    w = win.s
    rivals = [
        b.s for b in exact
        if b.score >= win.score - TIE and not same_figure(w.fig, b.s.fig) and b.s.fig.unit == w.fig.unit
        and _sentence(b.s) != _sentence(w) and _meets(w.periods, b.s.periods) and _meets(w.scopes, b.s.scopes)
        and min(overlap(w.context, b.s.context), overlap(b.s.context, w.context)) >= CONFLICT_MIN
    ]  # fmt: skip
    return verdict, reason, [w, *rivals, *(s for s in overruled if s not in rivals)]


def _evidence(chunk: Chunk, span: tuple[int, int]) -> dict[str, Any]:
    start, end = source_span(chunk, *span)
    text = chunk.text[span[0] : span[1]]
    return {
        "doc": chunk.doc, "title": chunk.title, "section": chunk.section, "text": text, "start": start, "end": end,
        "tier": chunk.tier,
    }  # fmt: skip


def _restates(text: str, grams: set[str]) -> float:
    """Share of `text`'s bigrams (figures and fillers aside) that a sentence's `grams` hold, or 0 below RESTATE_MIN
    or when a character inside a word is not the source's (首个设立在县级市 → 地级市 loses both its bigrams)."""
    runs = re.findall(r"[\u4e00-\u9fff]+", _FILLER.sub(" ", _mask(text)))
    swapped = any(
        r[i - 1 : i + 1] not in grams and r[i : i + 2] not in grams for r in runs for i in range(1, len(r) - 1)
    )
    share = overlap(bigrams(" ".join(runs)), grams)
    return 0.0 if swapped or share < RESTATE_MIN else share


def _restated(st: Statement, hits: Sequence[Hit]) -> tuple[str, list[dict[str, Any]], str | None]:
    """(verdict, evidence, source value) of a statement that asserts no figure: the passage sentence that
    restates it supports it, or contradicts it when it dates the event otherwise ("2026年1月9日…上市")."""
    best, found, dates = 0.0, None, extract_figures(st.text)
    for h in hits:
        for s, e in sentence_spans(h.chunk.text):
            sent = h.chunk.text[s:e]
            scopes = frozenset(scopes_in(_without_denominators(sent))) or frozenset({h.chunk.scope} - {"unknown"})
            # Undated, it speaks of the period it inherits; dated, its own dates are compared below.
            periods = frozenset(periods_in(sent)) or frozenset(governing_periods(h.chunk, s))
            if _meets(st.scopes, scopes) and (dates or _meets(st.periods, periods)):
                score = _restates(st.text, bigrams(_mask(sent)))
                if score > best:
                    best, found = score, (h.chunk, (s, e), extract_figures(sent))
    if found is None:
        return "not_found", [], None
    chunk, span, figs = found
    if all(any(same_figure(f, g) for g in figs) for f in dates):
        return "supported", [_evidence(chunk, span)], None
    other = _redated(dates, figs)
    return ("contradicted", [_evidence(chunk, span)], other.raw) if other else ("not_found", [], None)


def _redated(dates: Sequence[Figure], figs: Sequence[Figure]) -> Figure | None:
    """The passage's own date where a claimed one is missing from it (claimed 2月, the sentence says 1月)."""
    missing = [f for f in dates if not any(same_figure(f, g) for g in figs)]
    other = [g for g in figs if missing and _comparable(missing[0], g) and not any(same_figure(g, f) for f in dates)]
    return other[0] if other else None


def _overall(verdicts: Sequence[str]) -> str:
    if "contradicted" in verdicts:
        return "contradicted"
    return "supported" if verdicts and all(v == "supported" for v in verdicts) else "not_found"


def check_statement(st: Statement, hits: Sequence[Hit]) -> dict[str, Any]:
    """Verdict, evidence and source value for one statement against the retrieved passages."""
    stated = [s for h in hits for s in _stated(h.chunk)]
    results = [judge_figure(st, f, stated) for f in st.figures]
    # A figure that only describes ("两大主导产业", "1.71平方米的组件") is backed by its neighbour's sentence.
    backing = [_sentence(ev[0]) for v, _, ev in results if v == "supported"]
    for i, f in enumerate(st.figures):
        if results[i][0] == "not_found" and any(same_figure(f, g) for t in backing for g in extract_figures(t)):
            results[i] = ("supported", "match", [])
    verdict = _overall([v for v, _, _ in results])
    reason, w, evidence = "absent", None, []
    if verdict != "not_found":
        reason, ev = next((r, ev) for v, r, ev in results if v == verdict)
        w = ev[0] if verdict == "contradicted" else None
        evidence = [_evidence(s.chunk, s.span) for v, _, ev in results if v == verdict for s in ev]
    value = w.raw if w else None
    months = [f for f in extract_figures(st.text) if _dated(f, st.text) and f.kind != "year"]
    other = _redated(months, extract_figures(evidence[0]["text"])) if verdict == "supported" and months else None
    if other is not None:  # the right figure, but the sentence that states it dates it otherwise
        verdict, reason, value = "contradicted", "period", other.raw
    if not st.figures or (verdict == "not_found" and all(f.kind == "year" for f in st.figures)):
        verdict, evidence, value = _restated(st, hits)
        reason = {"supported": "match", "contradicted": "value"}.get(verdict, "absent")
    return {
        "text": st.text,
        "verdict": verdict,
        "reason": reason,
        "evidence": list({(e["doc"], e["start"], e["end"]): e for e in evidence}.values()),
        "source_value": value,
        "source_period": sorted(w.periods) if w and reason == "period" else None,
        "source_scope": sorted(w.scopes) if w and reason == "scope" else None,
        "conflict": any(len(ev) > 1 for v, _, ev in results if v == verdict),
        "periods": sorted(st.periods),
        "scopes": sorted(st.scopes),
    }


def check_claim(claim: str, retriever: Searcher, k: int = 8) -> dict[str, Any]:
    """Verdict per atomic statement, and overall: contradicted if any is, supported if all are, else not_found."""
    parts = split_statements(claim)
    statements = [check_statement(st, retriever.search(st.query, k)) for st in parts]
    ruled: list[tuple[Fact, tuple[Fact, ...]]] | None = None
    for i, (st, res) in enumerate(zip(parts, statements, strict=True)):
        if res["verdict"] == "supported" and res["evidence"] and all(e["tier"] == UPLOADED for e in res["evidence"]):
            # Only uploads back it, and no official passage was retrieved: the facts of the whole corpus,
            # bound at index time, may still hold an official figure that says otherwise.
            ruled = _overruled(retriever) if ruled is None else ruled
            statements[i] = _against_official(st, res, ruled)
    return {"claim": claim, "verdict": _overall([s["verdict"] for s in statements]), "statements": statements}


def _overruled(retriever: Searcher) -> list[tuple[Fact, tuple[Fact, ...]]]:
    """Uploaded facts an official fact contradicts, from the retriever's fact store ([] when it keeps none)."""
    try:
        store = retriever.facts  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # a plain searcher, or an index that cannot be read
        return []
    return overruled_facts(store.facts)


def _against_official(
    st: Statement, res: dict[str, Any], ruled: Sequence[tuple[Fact, tuple[Fact, ...]]]
) -> dict[str, Any]:
    """`res` (supported by uploads alone) turned contradicted when a figure its evidence states is one an
    official document states otherwise: the official sentence becomes the first evidence."""
    for e in res["evidence"]:
        for f, official in ruled:
            inside = f.doc == e["doc"] and e["start"] <= f.start < e["end"]
            if inside and any(abs(g.value - f.value) <= 1e-9 * max(1.0, abs(f.value)) and g.unit == f.unit
                              for g in st.figures):  # fmt: skip
                o = official[0]
                ev = {"doc": o.doc, "title": "", "section": "", "text": o.sentence, "start": o.start, "end": o.end,
                      "tier": o.tier}  # fmt: skip
                return {**res, "verdict": "contradicted", "reason": "value", "evidence": [ev, *res["evidence"]],
                        "source_value": o.raw, "conflict": True}  # fmt: skip
    return res
