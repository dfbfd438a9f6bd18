"""Figure checking: every figure the bot states must be in a passage it cites, for the same
metric, period and scope. Code decides this, not the model.

For each figure of each answer sentence we look for the same figure (unit-aware, see
`rag.numbers.same_figure`) in the cited passages, and accept an occurrence only when (`rag.grammar`
reads each side)

* **metric** — the words next to the figure in the claim share at least half their character
  bigrams with the occurrence's own clause: a project's 计划总投资12亿元 is not the zone's
  固定资产投资12亿元;
* **period** — the years / plan periods the claim names (or else the question names) meet those
  governing the passage sentence;
* **scope** — the profile's areas (zone vs city), named in the claim or the question, meet the
  passage sentence's scope;
* **subject** — when the question names an organisation (`rag.entity`), the passage sentence
  stating the figure is about it.

Sentences with an unsupported figure, or with no valid citation, are dropped. When nothing is
left, a quote that answers the question (`rag.quote`) stands in, and failing that the refusal.

>>> from rag.types import Chunk, Hit
>>> c = Chunk(id="c", doc="d.txt", title="T", section="", start=0, end=40, scope="zone", periods=("2024",),
...           text="2024年,昆山高新区固定资产投资175.1亿元,同比增长5.6%。")
>>> v = verify("2024年高新区固定资产投资175.1亿元[1]。同比增长7.6%[1]。", [Hit(chunk=c, score=1.0)], "2024年固投多少")
>>> v.text, v.unsupported_numbers
('2024年高新区固定资产投资175.1亿元[1]。', ('7.6%',))
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.cite import (
    bigrams,
    clean_markers,
    overlap,
    resolve_citations,
    sentence_spans,
    split_claims,
    strip_markers,
    unquoted,
    with_cites,
)
from rag.entity import names, subject
from rag.frame import ASKING, Frame, as_frame, states_unit_for
from rag.grammar import (
    _IDENTIFIER,
    _SENTENCE,
    _THRESHOLD,
    METRIC_MIN_OVERLAP,
    chunk_periods,
    claim_metric,
    core,
    expand,
    governing_periods,
    is_yes_no,
    passage_context,
    passage_scopes,
    periods_in,
    same_kind_unit,
    scopes_in,
    table_cells,
)
from rag.numbers import extract_figures, same_figure
from rag.prompt import REFUSAL
from rag.quote import EXTRACTIVE_MIN_SCORE, REFUSAL_OVERRIDE_MIN_SCORE, extractive_answer
from rag.types import Chunk, Claim, ClaimCheck, Figure, FigureCheck, Hit, Verification

GROUNDING_MIN_OVERLAP = 0.4  # figure-free sentences: share of their bigrams found in the cited passage

_REFUSAL_LIKE = re.compile(r"无法回答|不能回答|无法确定|没有(?:提及|提到|相关|涉及)|未(?:提及|提到|涉及)")


def is_refusal(text: str) -> bool:
    """The refusal sentence, or a model's paraphrase of it (根据资料无法回答…), figures aside."""
    plain = strip_markers(text)
    # A cited sentence that says "未提及X" may still carry a supported figure: judge it as a claim.
    return REFUSAL.rstrip("。") in plain or (plain == text and bool(_REFUSAL_LIKE.search(plain)))


def _check_in_passage(
    fig: Figure, claim_text: str, claim_periods: set[str], claim_scopes: set[str], chunk: Chunk
) -> str:
    """'' when `chunk` supports `fig` as stated in `claim_text`, else the reason it does not."""
    date = _date_at(claim_text, fig)
    if date:
        # "2024年10月", "1月9日": a month or day is part of a date, which the passage must state whole.
        return "" if date in re.sub(r"\s", "", chunk.text) else "not_found"
    ident = _IDENTIFIER.search(claim_text[: fig.start])
    if ident and not fig.unit:
        # "IEC 61215", "ISO 9001": part of a name, not a quantity with a metric; the name must be in the passage.
        name = re.sub(r"\s", "", ident.group(0) + fig.raw)
        return "" if name in re.sub(r"\s", "", chunk.text) else "not_found"
    if chunk.kind == "table_row":
        metric = claim_metric(claim_text, fig)
        for synth, g, periods, _ in table_cells(chunk):
            if not same_figure(fig, g) or (metric and overlap(metric, passage_context(synth, g)) < METRIC_MIN_OVERLAP):
                continue
            if claim_periods and periods and not claim_periods & periods:
                return "period"
            return (
                ""
                if not claim_scopes or chunk.scope not in ("zone", "city") or chunk.scope in claim_scopes
                else "scope"
            )
    occurrences = [g for g in extract_figures(chunk.text) if same_figure(fig, g)]
    if fig.kind == "year":
        return "" if occurrences or str(int(fig.value)) in chunk_periods(chunk) else "not_found"
    if not occurrences:
        return "not_found"
    metric = claim_metric(claim_text, fig)
    reason = "metric"
    claim_threshold = bool(_THRESHOLD.match(claim_text[fig.end :]))
    for g in occurrences:
        if bool(_THRESHOLD.match(chunk.text[g.end :])) != claim_threshold:
            continue  # "10亿元以上签约项目" is a class of projects, not an amount any project was said to have
        if metric and overlap(metric, passage_context(chunk.text, g)) < METRIC_MIN_OVERLAP:
            continue
        periods = governing_periods(chunk, g.start)
        if claim_periods and periods and not (claim_periods & periods):
            reason = "period"
            continue
        scopes = passage_scopes(chunk, g.start)
        if claim_scopes and scopes and not (claim_scopes & scopes):
            reason = "scope"
            continue
        return ""
    return reason


_DATE = re.compile(r"(?:(?:19|20)\d{2}\s*年\s*)?\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")


def _date_at(text: str, fig: Figure) -> str:
    """The date (year+month, month+day) a month or day figure belongs to, whitespace removed; '' if none.

    >>> t = "2024年10月开工，1月9日上市，历时3个月"
    >>> [_date_at(t, f) for f in extract_figures(t) if f.kind != "year"]
    ['2024年10月', '1月9日', '1月9日', '']
    """
    if fig.unit not in ("月", "日") or fig.raw.endswith("个月"):
        return ""
    for m in _DATE.finditer(text):
        if m.start() <= fig.start < m.end() and ("年" in m.group(0) or "日" in m.group(0)):
            return re.sub(r"\s", "", m.group(0))
    return ""


def _derived(fig: Figure, figs: Sequence[Figure], ok: Sequence[bool]) -> bool:
    """A sum or difference of two supported figures of the same sentence (e.g. 1135.1−965=170.1亿元)."""
    backed = [f for f, good in zip(figs, ok, strict=True) if good and f is not fig]
    for i, a in enumerate(backed):
        for b in backed[i + 1 :]:
            if fig.kind == "number" and fig.unit == "年" and a.kind == b.kind == "year":
                candidates = [abs(a.value - b.value)]
            elif same_kind_unit(a, fig) and same_kind_unit(b, fig):
                candidates = [a.value + b.value, abs(a.value - b.value)]
            else:
                continue
            if any(abs(c - fig.value) <= 1e-6 * max(1.0, abs(c)) for c in candidates):
                return True
    return False


def _check_claim(
    claim: Claim,
    passages: Sequence[Hit],
    q_periods: set[str],
    q_scopes: set[str],
    yes_no: bool,
    framed: set[tuple[float, str]] = frozenset(),  # type: ignore[assignment]
    entity: str = "",
    terms: Sequence[str] = (),
) -> tuple[ClaimCheck, tuple[int, ...]]:
    """Check one sentence; returns the check and the citation numbers it should carry."""
    plain = strip_markers(claim.text)
    figs = extract_figures(plain)
    c_periods = periods_in(plain) or q_periods
    c_scopes = scopes_in(plain) or q_scopes
    cites = tuple(n for n in claim.cites if 1 <= n <= len(passages))
    checks: list[FigureCheck] = []
    ok: list[bool] = []
    extra: list[int] = []
    for f in figs:
        if (f.value, f.unit) in framed:
            checks.append(FigureCheck(raw=f.raw, supported=True, reason="framing"))
            ok.append(True)
            continue
        result = FigureCheck(raw=f.raw, supported=False, reason="uncited" if not cites else "not_found")
        reasons = []
        for n in cites:
            r = _check_in_passage(f, plain, c_periods, c_scopes, passages[n - 1].chunk)
            if not r:
                result = FigureCheck(raw=f.raw, supported=True, passage=n)
                if f.kind != "year":
                    # Another passage stating the same figure for the same metric, period and scope is a
                    # second source: cited too, so a reader sees every place the documents say it.
                    extra += [
                        m
                        for m in range(1, len(passages) + 1)
                        if m not in cites
                        and not _check_in_passage(f, plain, c_periods, c_scopes, passages[m - 1].chunk)
                    ]
                break
            reasons.append(r)
        else:
            # Small models often cite the wrong number: a figure fully backed by another given
            # passage is kept, and that passage's number is added to the sentence.
            for n in range(1, len(passages) + 1):
                if n not in cites and not _check_in_passage(f, plain, c_periods, c_scopes, passages[n - 1].chunk):
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
        if not ok[i] and checks[i].reason in ("not_found", "uncited") and _derived(f, figs, ok):
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


def verify(answer_text: str, passages: Sequence[Hit], question: str | Frame) -> Verification:
    """Check and repair a generated answer against the passages it was given (numbered 1..N).

    See the module docstring for the rules; `Verification.claims` records every decision.
    """
    fr = as_frame(question)
    question = fr.text
    text, invented = clean_markers(answer_text, len(passages))
    q_periods, q_scopes, yes_no, framed = set(fr.periods), set(fr.scopes), fr.yes_no, set(fr.framed)
    entity = subject(question, passages)
    claims = split_claims(text)
    checks: list[ClaimCheck] = []
    kept: list[str] = []
    unsupported: list[str] = []
    said_refusal = False
    for claim in claims:
        if is_refusal(claim.text):
            said_refusal = True
            checks.append(ClaimCheck(claim=claim, supported=False, reason="refusal"))
            continue
        check, cites = _check_claim(claim, passages, q_periods, q_scopes, yes_no, framed, entity, fr.names)
        checks.append(check)
        unsupported += [f.raw for f in check.figures if not f.supported]
        if check.reason == "off_period":
            unsupported += [f.raw for f in extract_figures(strip_markers(claim.text)) if f.kind == "year"]
        if check.supported:
            kept.append(with_cites(claim.text, cites))
    unsupported = list(dict.fromkeys(unsupported))

    # Kept sentences, else the refusal the model itself gave, else a verbatim quote, else the refusal.
    fallback = refused = False
    if (
        kept
        and not yes_no
        and not (states_unit_for(fr.unit, set(fr.key), "".join(kept)) and _states_amount(question, kept))
    ):
        # "年产能是多少GW？" answered without any figure in GW does not answer it, however true it is.
        said_refusal, kept = True, []
    unknown = absent_terms(question, passages)
    if unknown:
        # "宁德时代在高新区投了什么项目？": no passage names 宁德时代, so no sentence naming it is grounded.
        kept = [k for k in kept if not any(t in k for t in unknown)]
        said_refusal = said_refusal or not kept
    terms = fr.terms
    if kept and terms and not any(t in unquoted("".join(kept)) for t in terms):
        kept = []  # "“一廊”是指什么？" answered without ever naming 一廊 answers something else
    if not yes_no and _unstated_figures(fr, passages):
        # "999.9亿元是哪一年的数据？": a figure the question builds on that no passage states cannot be
        # placed, explained or quoted; the premise check answers yes/no questions that assert one.
        kept, no_quote = [], True
    else:
        no_quote = False
    if kept:
        out = "".join(kept)
    else:
        min_score = REFUSAL_OVERRIDE_MIN_SCORE if said_refusal and not unsupported else EXTRACTIVE_MIN_SCORE
        if no_quote or (yes_no and said_refusal and not unsupported):
            out = ""
        else:
            out = extractive_answer(fr, passages, min_score=min_score)
        parts = [p for p in re.split(r"(?<=[？?])", question) if p.strip()]
        if not out and not no_quote and len(parts) > 1:
            # "23名是高新区的数吗？高新区21年新增国家级人才几名？": each question is matched on its own
            # words, as the whole one's key dilutes every sentence's overlap.
            quotes = [extractive_answer(p, passages, min_score=min_score) for p in parts if not is_yes_no(p)]
            out = "".join(dict.fromkeys(q for q in quotes if q))
        fallback, refused = bool(out), not out
        out = out or REFUSAL
    return Verification(
        text=out,
        unsupported_numbers=tuple(unsupported),
        claims=tuple(checks),
        citations=() if refused else tuple(resolve_citations(out, passages)),
        invented_ids=invented,
        fallback=fallback,
        refused=refused,
    )


_ASKS_AMOUNT = re.compile(r"多少(?!年)|几[个家项件名位批次倍万亿千百]|多大|多高|多长")


def _states_amount(question: str, sentences: Sequence[str]) -> bool:
    """False when the question asks how much ("募资多少？") and the sentences state no amount at all."""
    if not _ASKS_AMOUNT.search(question):
        return True
    return any(f.kind != "year" for s in sentences for f in extract_figures(strip_markers(s)))


def _unstated_figures(fr: Frame, passages: Sequence[Hit]) -> list[str]:
    """Amounts, percentages, ranks the question names (not years, not "哪两项") that no passage states."""
    figs = fr.asserted
    if not figs:
        return []
    stated = [g for h in passages for g in extract_figures(h.chunk.text)]
    return [f.raw for f in figs if not any(same_figure(f, g) for g in stated)]


def absent_terms(question: str, passages: Sequence[Hit]) -> list[str]:
    """The question's subject (its first run of ≥ 3 characters between fillers) when the passages do not
    contain it: most of its character bigrams occur in none of them.

    >>> from rag.types import Chunk, Hit
    >>> t = "沪士电子人工智能芯片高端印制电路板扩产项目奠基开工。"
    >>> absent_terms("宁德时代在昆山高新区投了什么项目？", [Hit(Chunk("c", "d", "T", "", t, 0, len(t)), 1.0)])
    ['宁德时代']
    """
    text = "".join(re.sub(r"\s", "", h.chunk.text) for h in passages)
    grams = bigrams(text)
    # Only the run in subject position (the question's first): later runs are mostly how people ask
    # ("照材料推算", "占多大比重"), and the model rarely repeats those verbatim anyway.
    runs = re.findall(r"[\u4e00-\u9fffA-Za-z]{3,}", core(ASKING.sub(" ", question)))[:1]
    # Most of a run's bigrams missing, not the run itself: "中科可控发布" is not in "中科可控…有限公司发布".
    return [r for r in runs if overlap(bigrams(r), grams) < 0.5 and overlap(bigrams(expand(r)), grams) < 0.5]


__all__ = ["REFUSAL", "is_refusal", "verify"]
