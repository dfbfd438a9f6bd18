"""Support: whether the passages a sentence cites state each of its figures for the same metric, period,
scope and subject (the checks `rag.verify` runs on every answer sentence).

A figure is supported by an occurrence of the same figure (unit-aware) whose clause names the claim's
metric, whose governing period meets the claim's (and, for a year asked in part, the same part of it),
whose area meets the claim's, and — when the question names an organisation or a quoted name — whose
sentence is about it. A month or day is checked as its whole date; "IEC 61215" as a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.cite import bigrams, overlap, sentence_spans, strip_markers, unquoted, word_overlap
from rag.dating import (
    chunk_periods,
    date_at,
    governing_mentions,
    governing_periods,
    part_fits,
    periods_in,
    precise_periods,
)
from rag.entity import names
from rag.grammar import (
    _IDENTIFIER,
    _SENTENCE,
    _THRESHOLD,
    METRIC_MIN_OVERLAP,
    claim_metric,
    clause_bounds,
    other_rate,
    passage_context,
    passage_scopes,
    scopes_in,
)
from rag.numbers import extract_figures, same_figure
from rag.period import period_mentions
from rag.ratio import derived
from rag.respective import names_own_item
from rag.table import table_cells
from rag.types import Chunk, Claim, ClaimCheck, Figure, FigureCheck, Hit

GROUNDING_MIN_OVERLAP = 0.4  # figure-free sentences: share of their bigrams found in the cited passage
BETTER_FIT = 0.2  # how much better another figure must state the asked metric to be the one meant


def _better_fit(asked: frozenset[str], text: str, g: Figure) -> bool:
    """Whether another figure of `text` in the same unit states the asked metric clearly better than `g`."""
    mine = overlap(set(asked), passage_context(text, g))
    return any(
        o.unit == g.unit and o.value != g.value and overlap(set(asked), passage_context(text, o)) > mine + BETTER_FIT
        for o in extract_figures(text)
        if o.kind == g.kind
    )


def _check_in_passage(
    fig: Figure,
    claim_text: str,
    claim_periods: set[str],
    claim_scopes: set[str],
    chunk: Chunk,
    claim_parts: frozenset[str] = frozenset(),
    asked: frozenset[str] = frozenset(),
) -> str:
    """'' when `chunk` supports `fig` as stated in `claim_text`, else the reason it does not. `asked`: bigrams
    of the metric the question asks, which a bare figure ("2024年：5839件") is taken to state."""
    date = date_at(claim_text, fig)
    if date:
        # "2024年10月", "1月9日": a month or day is part of a date, which the passage must state whole.
        return "" if date in re.sub(r"\s", "", chunk.text) else "not_found"
    if claim_text[fig.end : fig.end + 1] == "号" and not fig.unit:
        # "19号线", "3号楼": a number that names a thing, not a quantity; the passage must name it the same way.
        return "" if f"{fig.raw}号" in re.sub(r"\s", "", chunk.text) else "not_found"
    ident = _IDENTIFIER.search(claim_text[: fig.start]) or _HYPHENED.search(claim_text[: fig.start])
    if ident and not fig.unit:
        # "IEC 61215", "ISO 9001": part of a name, not a quantity with a metric; the name must be in the passage.
        name = re.sub(r"\s", "", ident.group(0) + fig.raw)
        return "" if name in re.sub(r"\s", "", chunk.text) else "not_found"
    if chunk.kind == "table_row":
        metric = claim_metric(claim_text, fig)
        for synth, g, periods, _ in table_cells(chunk):
            stated = not metric or word_overlap(metric, passage_context(synth, g)) >= METRIC_MIN_OVERLAP
            if not (same_figure(fig, g) and stated) or other_rate(claim_text, fig, synth, g):
                continue
            if claim_periods and periods and not claim_periods & periods:
                return "period"
            return "" if not claim_scopes or chunk.scope == "unknown" or chunk.scope in claim_scopes else "scope"
    if fig.kind == "rank" and fig.value == 1 and fig.unit == "次" and "首次" in chunk.text:
        return ""  # 第一次 is 首次: an occasion, stated in words
    occurrences = [g for g in extract_figures(chunk.text) if same_figure(fig, g)]
    if fig.kind == "year":
        return "" if occurrences or str(int(fig.value)) in chunk_periods(chunk) else "not_found"
    if not occurrences:
        return "not_found"
    metric = claim_metric(claim_text, fig)
    reason = "metric"
    claim_threshold = bool(_THRESHOLD.match(claim_text[fig.end :]))
    for g in occurrences:
        # "10亿元以上签约项目" is a class of projects, no amount; "占比7.4%" is not the "增长7.4%" stated.
        if bool(_THRESHOLD.match(chunk.text[g.end :])) != claim_threshold or other_rate(claim_text, fig, chunk.text, g):
            continue
        if metric and word_overlap(metric, passage_context(chunk.text, g)) < METRIC_MIN_OVERLAP:
            continue
        if not names_own_item(
            bigrams(claim_text[slice(*clause_bounds(claim_text, fig.start, fig.end))]), chunk.text, g
        ):
            continue  # "标准店奖励50万元": 50万元 is the 旗舰店's in "旗舰店、标准店，分别给予50万元、30万元"
        if not metric and asked and _better_fit(asked, chunk.text, g):
            continue  # "专利授权5839件，其中发明专利授权1518件": 5839 is no answer to 发明专利授权
        periods = governing_periods(chunk, g.start)
        if claim_periods and periods and not (claim_periods & periods):
            reason = "period"
            continue
        if not part_fits(claim_parts, chunk, g.start):
            reason = "period"  # 上半年's figure offered for the whole year, or for 前三季度
            continue
        scopes = passage_scopes(chunk, g.start)
        if claim_scopes and scopes and not (claim_scopes & scopes):
            reason = "scope"
            continue
        return ""
    return reason


# "东方-2022", "长征-5": a name joined to its number by a hyphen; the number is part of the name, not a year.
_HYPHENED = re.compile(r"[\u4e00-\u9fff]{2,}[-‐–]$")


def _asked_year(fig: Figure, q_periods: set[str], cites: Sequence[int], passages: Sequence[Hit]) -> bool:
    """A year the question names, restated by a sentence whose cited passages name no year at all (a news item
    about "2025年建成的…中心" that never says 2025): the question's frame, which nothing given contradicts."""
    return (
        str(int(fig.value)) in q_periods
        and bool(cites)
        and all(
            not chunk_periods(passages[n - 1].chunk)
            and not any(g.kind == "year" for g in extract_figures(passages[n - 1].chunk.text))
            for n in cites
        )
    )


def check_claim(
    claim: Claim,
    passages: Sequence[Hit],
    q_periods: set[str],
    q_scopes: set[str],
    yes_no: bool,
    framed: set[tuple[float, str]] = frozenset(),  # type: ignore[assignment]
    entity: str = "",
    terms: Sequence[str] = (),
    q_parts: frozenset[str] = frozenset(),
    asked: frozenset[str] = frozenset(),
) -> tuple[ClaimCheck, tuple[int, ...]]:
    """Check one sentence; returns the check and the citation numbers it should carry. `asked`: bigrams of
    the metric the question asks (see `_check_in_passage`)."""
    plain = strip_markers(claim.text)
    figs = extract_figures(plain)
    # The claim is dated as a passage is (`rag.dating`): each figure by its own clause or the period opening
    # its sentence, else by the claim's other dates — an event's ("计划2027年建成") aside — else by the question's.
    claim_chunk = Chunk("claim", "", "", "", plain, 0, len(plain))
    dated = [m for m in period_mentions(plain) if not m.event]
    whole = (
        {_coarse(m.label) for m in dated} & periods_in(plain),
        frozenset(precise_periods(plain)) if dated else q_parts,
    )
    c_scopes = scopes_in(plain) or q_scopes
    cites = tuple(n for n in claim.cites if 1 <= n <= len(passages))
    checks: list[FigureCheck] = []
    ok: list[bool] = []
    extra: list[int] = []
    for f in figs:
        if (f.value, f.unit) in framed or (f.kind == "year" and _asked_year(f, q_periods, cites, passages)):
            checks.append(FigureCheck(raw=f.raw, supported=True, reason="framing"))
            ok.append(True)
            continue
        own = governing_mentions(claim_chunk, f.start) if f.kind != "year" else []
        c_periods = {_coarse(m.label) for m in own} or whole[0] or q_periods
        c_parts = frozenset(m.label for m in own if m.label[:4].isdigit() and not m.target) or whole[1]
        result = FigureCheck(raw=f.raw, supported=False, reason="uncited" if not cites else "not_found")
        reasons = []
        for n in cites:
            r = _check_in_passage(f, plain, c_periods, c_scopes, passages[n - 1].chunk, c_parts, asked)
            if not r:
                result = FigureCheck(raw=f.raw, supported=True, passage=n)
                if f.kind != "year":
                    # Another passage stating the same figure for the same metric, period and scope is a
                    # second source: cited too, so a reader sees every place the documents say it.
                    extra += [
                        m
                        for m in range(1, len(passages) + 1)
                        if m not in cites
                        and not _check_in_passage(f, plain, c_periods, c_scopes, passages[m - 1].chunk, c_parts, asked)
                    ]
                break
            reasons.append(r)
        else:
            # Small models often cite the wrong number: a figure fully backed by another given
            # passage is kept, and that passage's number is added to the sentence.
            for n in range(1, len(passages) + 1):
                if n not in cites and not _check_in_passage(
                    f, plain, c_periods, c_scopes, passages[n - 1].chunk, c_parts, asked
                ):
                    result = FigureCheck(raw=f.raw, supported=True, passage=n, reason="recited")
                    extra.append(n)
                    break
            else:
                if reasons:
                    order = ("period", "scope", "metric", "not_found")
                    result = FigureCheck(raw=f.raw, supported=False, reason=min(reasons, key=order.index))
        checks.append(result)
        ok.append(result.supported)
    for i, f in enumerate(figs):
        if (
            not ok[i]
            and checks[i].reason in ("not_found", "uncited")
            and derived(f, [g for g, good in zip(figs, ok, strict=True) if good and g is not f])
        ):
            checks[i] = FigureCheck(raw=f.raw, supported=True, reason="derived")
    all_cites = cites + tuple(n for n in dict.fromkeys(extra) if n not in cites)
    # Keep only the citations that back something: a passage cited for a figure it does not hold is noise.
    backing = [c.passage for f, c in zip(figs, checks, strict=True) if c.passage and f.kind != "year"] + extra
    if backing:
        all_cites = tuple(n for n in all_cites if n in backing)

    reason = ""
    if not all_cites:
        # No figure to anchor it and no citation: give it the passage it plainly restates, if any.
        best = max(
            range(1, len(passages) + 1),
            default=0,
            key=lambda n: overlap(bigrams(plain), bigrams(passages[n - 1].chunk.text)),
        )
        if not figs and best and overlap(bigrams(plain), bigrams(passages[best - 1].chunk.text)) >= 0.8:
            all_cites = (best,)
        else:
            reason = "uncited"
    if not reason and not all(c.supported for c in checks):
        reason = "unsupported_figure"
    if not reason and not figs:
        grams = bigrams(plain)
        if max(overlap(grams, bigrams(passages[n - 1].chunk.text)) for n in all_cites) < GROUNDING_MIN_OVERLAP:
            reason = "not_grounded"
    if not reason and entity and entity not in plain and not _about(entity, figs, checks, passages):
        reason = "other_subject"  # a true figure of the zone is no answer to "中科可控营收多少"
    named = [t for t in terms if t in unquoted(plain)]
    if not reason and named and not _stated_with(named, figs, checks, passages, framed):
        reason = "other_subject"  # 8家 of the next sentence's list is not a count of “2020江苏省百强创新型企业”
    years = {str(int(f.value)) for f in figs if f.kind == "year"}
    q_years = {p for p in q_periods if p.isdigit()}
    if not reason and years and q_years and not (years & q_years) and not yes_no:
        reason = "off_period"
    return ClaimCheck(claim=claim, supported=not reason, figures=tuple(checks), reason=reason), all_cites


def _about(entity: str, figs: Sequence[Figure], checks: Sequence[FigureCheck], passages: Sequence[Hit]) -> bool:
    """Whether a passage states one of the claim's (non-year) figures in a sentence about `entity`;
    a claim without such figures passes (its grounding is checked by overlap)."""
    backed = [(f, c.passage) for f, c in zip(figs, checks, strict=True) if c.passage and f.kind != "year"]
    if not backed:
        return True
    for f, n in backed:
        text = passages[n - 1].chunk.text
        if any(names(text, g.start, entity) for g in extract_figures(text) if same_figure(f, g)):
            return True
    return False


def _stated_with(
    terms: Sequence[str],
    figs: Sequence[Figure],
    checks: Sequence[FigureCheck],
    passages: Sequence[Hit],
    framed: set[tuple[float, str]],
) -> bool:
    """Whether each (non-year, non-framing) figure of a claim naming a quoted term is backed by a passage
    sentence that names the term itself: a quoted name binds tighter than a subject ("其…" does not carry it)."""
    for f, c in zip(figs, checks, strict=True):
        if f.kind == "year" or not c.passage or (f.value, f.unit) in framed:
            continue
        text = passages[c.passage - 1].chunk.text
        sentences = [
            unquoted(re.sub(r"\s", "", text[s:e]))
            for s, e in sentence_spans(text, _SENTENCE)
            if any(s <= g.start < e for g in extract_figures(text) if same_figure(f, g))
        ]
        if not any(re.sub(r"\s", "", t) in sent for t in terms for sent in sentences):
            return False
    return True


def _coarse(label: str) -> str:
    """A period label as years compare: "2026上半年" → "2026"; plan periods as they are."""
    return label[:4] if label[:4].isdigit() else label
