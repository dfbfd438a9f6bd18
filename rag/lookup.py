"""Figures looked up in the facts bound at index time, for a question the passages did not answer.

A figure question names one metric, one area and one period ("2026年1-9月全市GDP多少？"). The fact
store holds every figure of the whole corpus with those three bound, so when the model's answer is
dropped (or the model saw the wrong passages) the answer can still be the sentence that states it,
quoted verbatim from whichever document states it: a report added today as much as the seeds.

A fact answers only when all of these hold, else nothing is returned and the refusal stands:
- same area and same period label (a part of a year is not its whole year), an achieved value;
- the asked kind of figure: a share (比重/占比) or a rate (增速) is a percentage stated with those words,
  an amount is not a percentage, and an asked unit ("多少件") is the fact's unit;
- the question's metric words are in the clause that states the figure: most of them, and the last
  one (the head of a Chinese compound names the thing: 预算收入 is no answer for 预算支出);
- one value: sources that disagree are left to the conflict note, never settled here.

>>> from rag.types import Fact
>>> s = "同期，实现地区生产总值4127.8亿元，同比增长5.3%。"  # no area named: the profile's home area
>>> f = Fact("1", "a.txt", "c", "地区生产总值", "地区生产总值", "2026前三季度", "zone", 4127.8e8, "元",
...          "4127.8亿元", "", "actual", "number", "", s, 0, 0)
>>> from rag.frame import frame
>>> [x.raw for x in lookup(frame("2026年1到9月份的地区生产总值是多少？"), [f])]
['4127.8亿元']
>>> lookup(frame("2026年1到9月份的地区生产总值增速是多少？"), [f])
[]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.cite import bigrams, overlap
from rag.facts import one_value, period_key
from rag.frame import Frame
from rag.grammar import core, metric_core
from rag.profile import active
from rag.table import other_sort
from rag.trust import UPLOADED
from rag.types import Fact

_SHARE = re.compile(r"比重|占比")
_OPERANDS = re.compile(r"[和与及、]|加起来|加在一起")
_RATE = re.compile(r"增速|增幅|增长率|增长百分之|同比增长多少|增长了?百分之几")
METRIC_COVER = 0.6  # share of the question's metric bigrams the fact's clause must hold
HEAD_COVER = 0.5  # share of the last metric word's bigrams it must hold
SUBJECT_COVER = 0.75  # of a fact of no known area: share of each subject word's bigrams its sentence holds
EXACT_BONUS = 0.01  # a tie-break only: how much of the fact's own metric words the question holds


def lookup(fr: Frame, facts: Sequence[Fact]) -> list[Fact]:
    """The facts that state what `fr` asks (see module docstring), best first; [] when none or several values."""
    if fr.yes_no or fr.asks != "amount" or len(fr.scopes) > 1:
        return []
    if fr.operation and not (fr.operation == "sum" and not _OPERANDS.search(fr.text)):
        return []  # a change or a series is computed elsewhere; "一共引进了多少" with no operands asks a total
    scope = next(iter(fr.scopes), active().scope_ids()[0])  # no area named: the documents' home area
    found = [
        (score, f)
        for f in facts
        if (f.scope == scope or (not fr.scopes and f.scope == "unknown" and _names_subject(fr, f)))
        and (not fr.parts or f.period in fr.parts)
        and (score := fits_exactly(fr, f))
    ]
    if not found:
        return []
    if not fr.parts:  # "现在…多少": the newest period stated, when the question names none
        if not fr.latest:
            return []
        top = max(period_key(f.period) for _, f in found)
        found = [(s, f) for s, f in found if period_key(f.period) == top]
    # Same metric, area and period: an official document answers, an upload only where none speaks (`rag.trust`).
    found = [(s, f) for s, f in found if f.tier != UPLOADED] or found
    best = max(s for s, _ in found)
    picked = [f for s, f in sorted(found, key=lambda t: -t[0]) if s == best]
    if not one_value(picked) or len({f.period for f in picked}) != 1:
        return []
    return picked


def _names_subject(fr: Frame, f: Fact) -> bool:
    """A fact of no known area answers a question that names none only when its sentence names what the
    question's words before the head name ("甲公司…营收" is no answer for "乙公司…营收").

    >>> from rag.types import Fact
    >>> from rag.frame import frame
    >>> f = Fact("1", "a", "c", "总营业收入", "", "2022", "unknown", 965e8, "元", "965亿元", "", "actual", "number",
    ...          "", "2022年，甲公司实现总营收965亿元。", 0, 0)
    >>> _names_subject(frame("甲公司2022年营收多少？"), f), _names_subject(frame("乙公司2022年营收多少？"), f)
    (True, False)
    """
    words = [w for w in fr.metric.split() if len(w) > 1][:-1]
    return all(overlap(bigrams(w), bigrams(f.sentence)) >= SUBJECT_COVER for w in words)


def fits(fr: Frame, f: Fact) -> float:
    """How well achieved fact `f` states the metric `fr` asks for, in the asked kind of figure (0 when it does
    not: another head word, a goal, a percentage for an amount). Area and period are the caller's."""
    words = [w for w in fr.metric.split() if len(w) > 1]
    if not words or f.kind != "actual" or f.computed or not f.period:
        return 0.0
    if any(other_sort(w, f.metric) for w in words if len(w) > 2):
        return 0.0  # "铁路货运量" asked, "公路货运量" stated: the same head, another sort
    clause = _clause(f)
    if not _kind_fits(f, clause, bool(_SHARE.search(fr.text)), bool(_RATE.search(fr.text)), fr.unit):
        return 0.0
    have = bigrams(core(clause))
    score = overlap(bigrams(" ".join(words)), have)
    # The head is the compound's end (一般公共预算支出 → 预算支出): 预算收入 shares all else and answers nothing.
    return score if score >= METRIC_COVER and overlap(bigrams(words[-1][-4:]), have) >= HEAD_COVER else 0.0


def fits_exactly(fr: Frame, f: Fact) -> float:
    """`fits`, with a tie-break: of two facts that both hold the asked words, the one whose own metric is only
    those words is meant ("其中实物商品网络零售额" is a part of the 网络零售额 asked for, not another value of it),
    and a figure stated after "其中" is a part of the one before it."""
    score = fits(fr, f)
    if not score:
        return 0.0
    words = " ".join(w for w in fr.metric.split() if len(w) > 1)
    at = f.sentence.find(f.raw)
    part = at > 0 and "其中" in f.sentence[max(f.sentence.rfind(ch, 0, at) for ch in "。；;") + 1 : at]
    return score + EXACT_BONUS * (overlap(bigrams(core(f.metric)), bigrams(words)) - part)


def _clause(f: Fact) -> str:
    """The words that state the fact: its sentence from the clause before the figure up to the figure."""
    at = f.sentence.find(f.raw)
    if at < 0:
        return f.metric
    lo = max(f.sentence.rfind(ch, 0, at) for ch in "，,；;。：:") + 1
    # "…，同比增长6.3%": a clause of change alone is named by the clause before it.
    if lo > 0 and not metric_core(f.sentence[lo:at]):
        lo = max(f.sentence.rfind(ch, 0, lo - 1) for ch in "，,；;。：:") + 1
    return f.sentence[lo : at + len(f.raw)]


def _kind_fits(f: Fact, clause: str, share: bool, rate: bool, unit: str) -> bool:
    """The fact is the kind of figure asked: a share, a growth rate, or an amount (in the asked unit)."""
    if share or rate:
        said = re.search(r"比重|占比|占", clause) if share else re.search(r"增长|增速|增幅|下降", clause)
        return f.figure_kind == "percent" and bool(said)
    if f.figure_kind != "number":
        return False
    return not unit or unit in f.raw or unit == f.unit
