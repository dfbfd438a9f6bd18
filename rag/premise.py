"""Premises: a figure a yes/no question asserts ("GDP达1235亿元，对吗？"), held against the passages.

The asserted figure's metric (or, for a year, what happened in it) is read from the question, the
passages' figures of the same kind with that metric, period and scope are found, and the best match
says whether the premise holds and, when not, what the source states instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rag.bind import is_target
from rag.cite import bigrams, overlap
from rag.dating import governing_periods, periods_in
from rag.grammar import (
    METRIC_MIN_OVERLAP,
    claim_metric,
    clause_bounds,
    comparable,
    head,
    is_yes_no,
    metric_core,
    passage_context,
    passage_scopes,
    rate_kind,
    scopes_in,
    sentence_at,
    year_context,
)
from rag.numbers import extract_figures, same_figure
from rag.profile import active
from rag.table import names_target, row_sentence, table_cells
from rag.types import Chunk, Figure, Hit, PremiseCheck


def check_premise(question: str, passages: Sequence[Hit]) -> PremiseCheck | None:
    """Hold a figure asserted by the question against the passages.

    Returns None when the question is not a yes/no question, or asserts no figure the passages
    speak to; otherwise whether
    they agree and, when not, the passage's own figure for that metric.
    """
    q = question.strip()
    if not is_yes_no(q):
        return None  # "965亿元和1135.1亿元分别是哪一年的？" names figures but asserts nothing
    day = _day_premise(q, passages)
    if day is not None:
        return day
    dated = _ASSERTED_DAY.search(q)  # "7月1号" is a day, not the figures 7月 and 1
    figs = [f for f in extract_figures(q) if not (dated and dated.start() <= f.start < dated.end())]
    q_periods = periods_in(q)
    q_scopes = scopes_in(q)
    # Non-year figures first: "2024年GDP达1235亿元吗" asserts the GDP, the year only frames it.
    ordered = [f for f in figs if f.kind != "year"] + [f for f in figs if f.kind == "year"]
    found: list[PremiseCheck] = []
    for fig in ordered:
        metric = _asserted_metric(q, fig) if fig.kind != "year" else year_context(q, fig)
        if not metric:
            continue
        noun = _noun_after(q, fig) if fig.kind != "year" else set()
        periods = q_periods - ({str(int(fig.value))} if fig.kind == "year" else set())
        asked_rate = rate_kind(q, fig) if fig.kind == "percent" else ""
        best: tuple[float, bool, int, Figure, Chunk] | None = None
        for n, hit in enumerate(passages, start=1):
            chunk = hit.chunk
            if chunk.kind == "table_row":
                if q_scopes and chunk.scope != "unknown" and chunk.scope not in q_scopes:
                    continue  # another area's table
                cand = _table_candidate(q, fig, metric, periods, n, chunk)
                if cand is not None and (best is None or cand[0] > best[0]):
                    best = cand
                continue
            days = _dated_days(chunk) if fig.kind == "year" else []
            for g in extract_figures(chunk.text) + days:
                if not comparable(fig, g):
                    continue
                if fig.kind == "percent" and {asked_rate, rate_kind(chunk.text, g)} == {"share", "change"}:
                    continue  # a growth rate asserted is not held against a share of the same metric
                ctx = year_context(chunk.text, g) if fig.kind == "year" else passage_context(chunk.text, g)
                if noun and noun <= ctx:
                    # "开诊，开放床位300张": the clause names the thing counted; its subject (南湖医院一期) is
                    # named earlier in the same sentence.
                    ctx = ctx | bigrams(sentence_at(chunk.text, g.start))
                score = overlap(metric, ctx)
                if score < METRIC_MIN_OVERLAP:
                    continue
                if g in days and overlap(_event(q, fig), ctx) < METRIC_MIN_OVERLAP:
                    continue  # a day of the same subject dates the asserted event only when it names that event
                if fig.kind != "year":
                    gp = governing_periods(chunk, g.start)
                    if periods and gp and not (periods & gp):
                        continue
                    gs = passage_scopes(chunk, g.start)
                    if q_scopes and gs and not (q_scopes & gs):
                        continue
                # A target ("到2025年…超4000家") never confirms a value asserted as achieved.
                agrees = same_figure(fig, g) and (not is_target(chunk, g) or names_target(q))
                cand = (score + (0.01 if agrees else 0.0), agrees, n, g, chunk)
                if best is None or cand[0] > best[0]:
                    best = cand
        if best is not None:
            _, agrees, n, g, chunk = best
            sentence = row_sentence(chunk) if chunk.kind == "table_row" else sentence_at(chunk.text, g.start)
            found.append(PremiseCheck(claimed=fig.raw, agrees=agrees, source=g.raw, passage=n, sentence=sentence))
    # One wrong figure makes the premise wrong: "1.71平方米组件效率是28.36%吗" agrees on 1.71平方米 only.
    return next((f for f in found if not f.agrees), found[0] if found else None)


_ASSERTED_DAY = re.compile(r"(?<!\d)(1[0-2]|[1-9])\s*月\s*([1-3]\d|[1-9])\s*[日号]")
_DAY = re.compile(r"(?<!\d)(1[0-2]|[1-9])月([1-3]\d|[1-9])日")  # a passage's day, its year before it or not


def _day_premise(question: str, passages: Sequence[Hit]) -> PremiseCheck | None:
    """A day the question asserts for an event ("是7月1号开始施行的吧？"), held against the day a passage gives
    the same event ("自2026年9月1日起施行"): the passage clause must name what the question says happened.

    >>> from rag.types import Chunk, Hit
    >>> t = "本办法自2026年9月1日起施行，有效期至2028年12月31日。"
    >>> p = _day_premise("那个办法是7月1号开始施行的吧？", [Hit(Chunk("c", "d", "T", "", t, 0, len(t)), 1.0)])
    >>> p.claimed, p.agrees, p.source
    ('7月1号', False, '9月1日')
    """
    m = _ASSERTED_DAY.search(question)
    if not m:
        return None
    _, hi = clause_bounds(question, m.start(), m.end())
    # "开始实施" and "起施行" say one thing: verbs compare as the profile's one word for them.
    event = bigrams(active().canonical_verbs(metric_core(question[m.end() : hi])))
    best: tuple[float, int, re.Match[str], Chunk] | None = None
    for n, hit in enumerate(passages, start=1):
        text = hit.chunk.text
        for d in _DAY.finditer(text):
            lo, end = clause_bounds(text, d.start(), d.end())
            said = overlap(event, bigrams(active().canonical_verbs(text[lo:end])))  # any word of the event will do
            score = said + overlap(bigrams(question), bigrams(sentence_at(text, d.start())))
            if said > 0 and (best is None or score > best[0]):
                best = (score, n, d, hit.chunk)
    if best is None:
        return None
    _, n, d, chunk = best
    agrees = (int(d.group(1)), int(d.group(2))) == (int(m.group(1)), int(m.group(2)))
    return PremiseCheck(m.group(0), agrees, d.group(0), n, sentence_at(chunk.text, d.start()))


def _dated_days(chunk: Chunk) -> list[Figure]:
    """Dates a passage gives without their year ("11月18日上午…开工"), as the year its reporting period
    gives them: what a "是明年才开工吧？" premise is held against. The span is the date's own."""
    text, out = chunk.text, []
    for m in _DAY.finditer(text):
        years = {p for p in governing_periods(chunk, m.start()) if p.isdigit()}
        if len(years) == 1 and not re.match(r"\s*年", text[max(0, m.start() - 2) : m.start()][-1:] or " "):
            y = next(iter(years))
            out.append(Figure(f"{y}年{m.group(0)}", float(y), "年", m.start(), m.end(), "year"))
    return out


def _event(question: str, fig: Figure) -> set[str]:
    """Bigrams of what a question says happened in the year it asserts: the words after it ("才开工")."""
    _, hi = clause_bounds(question, fig.start, fig.end)
    return bigrams(metric_core(question[fig.end : hi]))


def _asserted_metric(question: str, fig: Figure) -> set[str]:
    """Bigrams of what a question asserts a figure for: the words before it and the noun right after it
    ("每年能拿20万生活补贴": 生活补贴 names the 20万 as much as 每年能拿 does)."""
    return claim_metric(question, fig) | _noun_after(question, fig)


def _noun_after(question: str, fig: Figure) -> set[str]:
    """Bigrams of the noun right after an asserted figure ("开放了500张床位": 床位); empty when none."""
    _, hi = clause_bounds(question, fig.start, fig.end)
    after = re.split(r"[、｜\d]", question[fig.end : hi], maxsplit=1)[0]
    return bigrams(head(metric_core(after)))


def _table_candidate(
    q: str, fig: Figure, metric: set[str], periods: set[str], n: int, chunk: Chunk
) -> tuple[float, bool, int, Figure, Chunk] | None:
    """The table cell a premise speaks of: same metric and period. A target column never confirms an
    achieved value ("技术合同成交额今年已经到21亿了？" when 21 is 2026年目标): the premise is then wrong,
    and the row's achieved value is what the documents state."""
    if fig.kind == "year":
        return None
    best = None
    cells = table_cells(chunk)
    for synth, g, cperiods, column in cells:
        if not comparable(fig, g) or (periods and cperiods and not periods & cperiods):
            continue
        score = overlap(metric, passage_context(synth, g))
        if score < METRIC_MIN_OVERLAP:
            continue
        agrees = same_figure(fig, g) and (not names_target(column) or names_target(q))
        shown = g
        if same_figure(fig, g) and not agrees:
            shown = next((c[1] for c in reversed(cells) if not names_target(c[3])), g)
        cand = (score + (0.01 if agrees else 0.0), agrees, n, shown, chunk)
        if best is None or cand[0] > best[0]:
            best = cand
    return best


def premise_by_check(question: str, passages: Sequence[Hit], retriever: Any) -> PremiseCheck | None:
    """The fact-checker's verdict on the figure a yes/no question asserts, when its evidence is in `passages`.

    `check_premise` reads one clause; the checker splits statements and binds metrics on both sides
    of a figure ("汇聚了近1000家数字经济生态企业"), so it catches premises the former misses.
    """
    from rag.check import check_claim  # the checker retrieves on its own: imported only when asked

    for st in check_claim(question, retriever)["statements"]:
        if st["verdict"] not in ("supported", "contradicted") or not st["evidence"]:
            continue
        ev = st["evidence"][0]
        for n, hit in enumerate(passages, start=1):
            c = hit.chunk
            if c.doc == ev["doc"] and c.start <= ev["start"] < c.end:
                sentence = re.sub(r"\s*\n\s*", "", ev["text"]).strip()
                agrees = st["verdict"] == "supported"
                return PremiseCheck(
                    claimed="", agrees=agrees, source=st["source_value"] or "", passage=n, sentence=sentence
                )
    return None
