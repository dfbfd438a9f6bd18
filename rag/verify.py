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

A sentence answering who / which / where / what must state its answer from a cited passage, about the
asked subject (`rag.sufficiency`): names are checked as figures are.

Sentences with an unsupported figure, or with no valid citation, are dropped. When nothing is
left, a quote that answers the question (`rag.quote`) stands in, and failing that the refusal.

>>> from rag.types import Chunk, Hit
>>> c = Chunk(id="c", doc="d.txt", title="T", section="", start=0, end=40, scope="zone", periods=("2024",),
...           text="2024年,全区固定资产投资175.1亿元,同比增长5.6%。")
>>> v = verify("2024年全区固定资产投资175.1亿元[1]。同比增长7.6%[1]。", [Hit(chunk=c, score=1.0)], "2024年固投多少")
>>> v.text, v.unsupported_numbers
('2024年全区固定资产投资175.1亿元，同比增长5.6%[1]。', ('7.6%',))

The model's 7.6% is dropped; the change its source states with the figure is said in its place (`rag.complete`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from itertools import islice

from rag.answers import states_asked_kind, states_asked_metric, states_asked_part, states_other_sort, states_unit_for
from rag.cite import (
    bigrams,
    clean_markers,
    resolve_citations,
    split_claims,
    strip_markers,
    unquoted,
    with_cites,
)
from rag.complete import with_change
from rag.conflict import overrule
from rag.entity import subject
from rag.frame import Frame, as_frame, asked_questions, split_frame, sub_questions
from rag.grammar import is_yes_no
from rag.numbers import extract_figures, same_figure
from rag.prompt import REFUSAL
from rag.quote import EXTRACTIVE_MIN_SCORE, REFUSAL_OVERRIDE_MIN_SCORE, extractive_answer, sourced_quote
from rag.sufficiency import absent_terms, binds_role, new_text, states_slot
from rag.support import check_claim
from rag.types import Claim, ClaimCheck, Hit, Verification

_REFUSAL_LIKE = re.compile(r"无法回答|不能回答|无法确定|没有(?:提及|提到|相关|涉及)|未(?:提及|提到|涉及)")


def is_refusal(text: str) -> bool:
    """The refusal sentence, or a model's paraphrase of it (根据资料无法回答…), figures aside."""
    plain = strip_markers(text)
    # A cited sentence that says "未提及X" may still carry a supported figure: judge it as a claim.
    return REFUSAL.rstrip("。") in plain or (plain == text and bool(_REFUSAL_LIKE.search(plain)))


def verify(answer_text: str, passages: Sequence[Hit], question: str | Frame) -> Verification:
    """Check and repair a generated answer against the passages it was given (numbered 1..N).

    See the module docstring for the rules; `Verification.claims` records every decision.
    """
    fr = as_frame(question)
    question = fr.text
    # An upload's sentence that an official source contradicts is no evidence, nor a quote (`rag.trust`).
    passages = overrule(passages)
    text, invented = clean_markers(answer_text, len(passages))
    q_periods, q_scopes, yes_no, framed = set(fr.periods), set(fr.scopes), fr.yes_no, set(fr.framed)
    entity = subject(question, passages)
    claims = split_claims(text)
    checks: list[ClaimCheck] = []
    kept: list[str] = []
    unsupported: list[str] = []
    said_refusal = False
    pool = [h.chunk.text for h in passages]  # what a name in the answer may come from (`rag.sufficiency`)
    asked = frozenset() if yes_no else frozenset(bigrams(fr.metric))
    parts = frozenset() if yes_no else fr.parts
    asked_each = asked_questions(fr)

    def run(c: Claim) -> tuple[ClaimCheck, tuple[int, ...]]:
        return check_claim(c, passages, q_periods, q_scopes, yes_no, framed, entity, fr.names, parts, asked)

    for claim in claims:
        if is_refusal(claim.text):
            said_refusal = True
            checks.append(ClaimCheck(claim=claim, supported=False, reason="refusal"))
            continue
        check, cites = run(claim)
        if not claim.cites and check.figures and not check.supported:
            # A figure sentence the model left uncited (its marker comes later, or never): it stands when one
            # passage states every figure in it for the same metric, period and area, cited to that passage.
            tried = (run(replace(claim, cites=(n,))) for n in range(1, len(passages) + 1))
            check, cites = next((t for t in tried if t[0].supported), (check, cites))
        if _dated_by_source(fr, check, cites, pool):  # "2022年考研" began 2021年12月25日, as its source says
            check = replace(check, supported=True, reason="")
        checks.append(check)
        unsupported += [f.raw for f in check.figures if not f.supported]
        if check.reason == "off_period":
            unsupported += [f.raw for f in extract_figures(strip_markers(claim.text)) if f.kind == "year"]
        if _asks_words(fr, check) and (check.supported or _names_only(check)):
            # "谁/哪家/在哪/何时": the name or date the sentence gives must be in a cited passage, about the
            # asked subject (a model names someone from memory as readily as from the passages). Cited under
            # the wrong number, it is cited under the passage that states it, as a figure is.
            dates = fr.asks in ("time", "day")

            def states(n: int, claim: Claim = claim, dates: bool = dates) -> bool:
                # "导演是谁？主演是谁？": a sentence answering one of the questions answers that one.
                return any(states_slot(q, claim.text, [pool[n - 1]], dates, pool) for q in asked_each)

            # The cited passages first; only when none states it, the first other passage that does.
            others = (n for n in range(1, len(pool) + 1) if n not in cites and states(n))
            stated = [n for n in cites if states(n)] or list(islice(others, 1))
            check = replace(check, supported=bool(stated), reason="" if stated else "no_slot")
            checks[-1], cites = check, tuple(stated)
        if check.supported:
            sentence = with_cites(claim.text, cites)
            # "GDP是多少？" answered with the figure alone: the change its source states with it is said too.
            kept.append(with_change(sentence, passages) if fr.asks == "amount" and not yes_no else sentence)
    unsupported = list(dict.fromkeys(unsupported))

    # Kept sentences, else the refusal the model itself gave, else a verbatim quote, else the refusal.
    fallback = refused = False
    if kept and not yes_no and not (states_unit_for(fr.unit, set(fr.key), "".join(kept)) and _states_amount(fr, kept)):
        # "年产能是多少GW？" answered without any figure in GW does not answer it, however true it is.
        said_refusal, kept = True, []
    if kept and not yes_no and not states_asked_metric(fr, "".join(kept)):
        said_refusal, kept = True, []  # true figures of another metric answer another question
    if kept and not yes_no and states_other_sort(fr, "".join(kept)):
        said_refusal, kept = True, []  # 公路货运量 stated for 铁路货运量: another sort of the thing asked
    if kept and not yes_no and not states_asked_part(fr, "".join(kept)):
        said_refusal, kept = True, []  # the whole year's and last year's figures do not answer 前三季度
    if kept and not yes_no and fr.asks in ("time", "day") and not states_asked_kind(fr.asks, "".join(kept)):
        said_refusal, kept = True, []  # "发售日期" answered with a month, "何时" with no date at all
    unknown = absent_terms(question, passages)
    if unknown:
        # "甲乙时代在全区投了什么项目？": no passage names 甲乙时代, so no sentence naming it is grounded.
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
        if not yes_no:
            # "全市和全区分别是多少？" answered for one of them: the other's quote completes it.
            each = [extractive_answer(f, passages) for f in split_frame(fr)]
            out += "".join(dict.fromkeys(q for q in each if q and not _shares_figure(q, out)))
            # "…收入多少？税收占比多少？" answered for one question: the other's quote completes it.
            for sub in sub_questions(fr):
                if sub.asks == "amount" and not states_asked_metric(sub, out):
                    quote = extractive_answer(sub, passages)
                    out += quote if quote and not _shares_figure(quote, out) else ""
    else:
        min_score = REFUSAL_OVERRIDE_MIN_SCORE if said_refusal and not unsupported else EXTRACTIVE_MIN_SCORE
        if no_quote or (yes_no and said_refusal and not unsupported):
            out = ""
        else:
            # "2024年底和2025年底分别是多少？": one quote for each period (or area) asked, else one for all.
            each = [extractive_answer(f, passages, min_score=min_score) for f in split_frame(fr)]
            out = "".join(dict.fromkeys(q for q in each if q)) or extractive_answer(fr, passages, min_score=min_score)
            # The model found the figures but said them for another period: its source sentence, in its own words.
            dropped = (c.claim.text for c in checks if {f.reason for f in c.figures if not f.supported} == {"period"})
            out = next((q for c in dropped if (q := sourced_quote(fr, c, passages))), "") or out
        parts = [p for p in re.split(r"(?<=[？?])", question) if p.strip()]
        if not out and not no_quote and len(parts) > 1:
            # "23名是全区的数吗？全区21年新增国家级人才几名？": each question is matched on its own
            # words, as the whole one's key dilutes every sentence's overlap.
            quotes = [extractive_answer(p, passages, min_score=min_score) for p in parts if not is_yes_no(p)]
            out = "".join(dict.fromkeys(q for q in quotes if q))
        if out and not yes_no and not _quote_answers(fr, checks, out):
            # Words shared with a "谁/哪家/在哪" question do not make a sentence name the answer (the quote of
            # "安倍晋三遇袭" for "谁枪击了安倍晋三"): a quote stands only for the answer the model gave, found
            # stated in it; when the model declined, its refusal stands. A "when" quote must date the subject.
            out = ""
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


def _dated_by_source(fr: Frame, check: ClaimCheck, cites: Sequence[int], pool: Sequence[str]) -> bool:
    """Years and dates alone, off the question's years, all stated by a passage that speaks of the asked year
    too: the year names an edition or a title ("2021年美网冠军"), not another period's figure."""
    years = [p for p in fr.periods if p.isdigit()]
    dates_only = all(f.supported and _is_date(f.raw) for f in check.figures)
    off = check.reason == "off_period" and fr.asks != "amount" and dates_only
    return off and any(any(y in p for y in years) and all(f.raw in p for f in check.figures) for p in pool)


def _asks_words(fr: Frame, check: ClaimCheck) -> bool:
    """A who/which/what/when question this sentence answers in words or dates, not with a checked amount."""
    if fr.yes_no or fr.asks not in ("entity", "time", "day"):
        return False
    # A checked figure answers an entity question ("…是韩国[1]" has none); one the question itself states
    # ("KF-21") does not.
    answer_figures = [f for f in check.figures if not _is_date(f.raw) and f.raw not in fr.text]
    return fr.asks != "entity" or not any(f.supported and f.passage for f in answer_figures)


def _is_date(raw: str) -> bool:
    return bool(re.fullmatch(r"\d{4}年?|\d{1,2}[月日号]", raw))


def _names_only(check: ClaimCheck) -> bool:
    """A sentence dropped only for its citation or wording, with no figure to check: its name may be stated."""
    return check.reason in ("uncited", "not_grounded") and not check.figures


_DEFINES = re.compile(r"是指|指的是|是什么|什么意思|含义|指什么")


def _quote_answers(fr: Frame, checks: Sequence[ClaimCheck], quote: str) -> bool:
    """Whether a fallback `quote` answers a who/which/what/when question: it states what a dropped sentence
    of the model answered (its new text); for "when", it dates the asked subject itself; for a quoted term,
    it names that term."""
    if fr.asks not in ("entity", "time", "day"):
        return True  # amounts: the quote's figure was chosen for the asked metric, unit and period
    if not binds_role(fr.text, quote):
        return False  # the name a supporting actress's sentence gives is no answer to "…的主演？"
    dates = fr.asks != "entity"
    if dates and states_slot(fr.text, quote, [strip_markers(quote)], dates=True):
        return True
    if fr.terms and _DEFINES.search(fr.text) and any(t in unquoted(quote) for t in fr.terms):
        return True  # "“一廊”是指什么？": the sentence that names the quoted term is where it is defined
    dropped = [c.claim.text for c in checks if not c.supported and c.reason != "refusal"]
    pieces = [p for text in dropped for p in new_text(fr.text, text, dates)]
    return any(p in unquoted(quote) for p in pieces)


def _shares_figure(quote: str, answer: str) -> bool:
    """Whether the answer already states one of the quote's (non-year) figures."""
    stated = [f for f in extract_figures(strip_markers(answer)) if f.kind != "year"]
    return any(same_figure(q, f) for q in extract_figures(strip_markers(quote)) if q.kind != "year" for f in stated)


def _states_amount(fr: Frame, sentences: Sequence[str]) -> bool:
    """False when the question asks how much ("募资多少？") and the sentences state no amount at all."""
    if fr.asks != "amount":
        return True
    return any(f.kind != "year" for s in sentences for f in extract_figures(strip_markers(s)))


def _unstated_figures(fr: Frame, passages: Sequence[Hit]) -> list[str]:
    """Amounts, percentages, ranks the question names (not years, not "哪两项") that no passage states."""
    figs = fr.asserted
    if not figs:
        return []
    stated = [g for h in passages for g in extract_figures(h.chunk.text)]
    return [f.raw for f in figs if not any(same_figure(f, g) for g in stated)]


__all__ = ["REFUSAL", "is_refusal", "verify"]
