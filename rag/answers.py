"""Whether an answer states what a question frame asks: the asked kind (an amount, a time, a day), the part
of a year, the unit, the metric itself and not another sort of it. Verification, quoting and excerpts
hold every sentence to these before it may stand as an answer.

>>> states_asked_metric(frame("上半年一般公共预算收入有多少？"), "上半年，一般公共预算收入41.3亿元[1]。")
True
"""

from __future__ import annotations

import re

from rag.cite import overlap, strip_markers
from rag.dating import precise_periods
from rag.frame import Frame, asked_unit, frame, question_key  # noqa: F401 (frame: the doctests)
from rag.grammar import claim_metric, metric_words, passage_context, rate_kind
from rag.numbers import extract_figures
from rag.table import other_sort


def states_asked_part(fr: Frame, answer: str) -> bool:
    """False when the question asks for part of a year (前三季度, 1—10月) and the answer dates its figures,
    but never by that part: the full-year estimate and last year's total do not answer 前三季度.

    >>> fr = frame("2026年前三季度GDP是多少？")
    >>> states_asked_part(fr, "2025年GDP 1201.3亿元，预计2026年全年1272亿元[1]。")
    False
    >>> states_asked_part(fr, "2026年1—9月，GDP 930亿元[1]。"), states_asked_part(fr, "GDP 930亿元[1]。")
    (True, True)
    """
    asked = {p for p in fr.parts if len(p) > 4 and p[:4].isdigit()}
    if not asked:
        return True
    stated = precise_periods(strip_markers(answer))
    return not stated or bool(stated & asked)


def states_asked_kind(asks: str, sentence: str) -> bool:
    """Whether `sentence` states the kind of answer asked for: an amount (a non-year figure, no calendar date)
    or a time (a year or a date). A sentence that states neither does not answer, however many words it shares.

    >>> states_asked_kind("amount", "地区生产总值、各产业增加值按现价计算。"), states_asked_kind("time", "2019年落户")
    (False, True)
    """
    figs = extract_figures(strip_markers(sentence))
    if asks == "amount":
        return any(f.kind != "year" and f.unit not in ("月", "日") for f in figs)
    if asks == "day":
        return any(f.unit == "日" for f in figs) or bool(re.search(r"\d{1,2}月\d{1,2}[日号]", sentence))
    if asks == "time":
        return any(f.kind == "year" or f.unit in ("月", "日") for f in figs)
    return True


# What a unit asked for may be written as: "多少钱" is answered in 元 or 美元, 平方公里 also as 平方千米,
# people ("多少人") also counted as 名 or 位.
_UNIT_FORMS = {"钱": "元", "平方公里": "平方公里|平方千米", "平方千米": "平方公里|平方千米", "人": "人|名|位"}


ASKED_METRIC_MIN = 0.3  # dev+probe answers: right ones ≥ 0.71, a 亿元 figure of another metric 0.11


def states_asked_unit(question: str, answer: str) -> bool:
    """False only when the question asks "多少<unit>" and the answer states no figure in that unit for the
    asked metric (the figure's clause and the question share ≥ ASKED_METRIC_MIN of either's words).

    >>> states_asked_unit("年产能具体是多少GW？", "GW级叠层组件生产基地竣工投产[1]。")
    False
    >>> states_asked_unit("获评瑞羚企业多少家？", "72家[1]")
    True
    >>> states_asked_unit("一般公共预算收入是多少亿元？", "10亿元以上签约项目6个[1]。")
    False
    """
    return states_unit_for(asked_unit(question), question_key(question), answer)


def states_unit_for(unit: str, key: set[str], answer: str) -> bool:
    """`states_asked_unit` with the question's unit and key already read (callers scoring many sentences)."""
    if not unit:
        return True
    return _states_for(unit, key, answer)


def states_asked_metric(fr: Frame, answer: str) -> bool:
    """False when a "多少" question names a metric and no figure of the answer is stated for it: the zone's
    GDP, however true, does not answer "一般公共预算收入有多少？".

    >>> states_asked_metric(frame("上半年一般公共预算收入有多少？"), "上半年，实现地区生产总值587.3亿元[1]。")
    False
    >>> states_asked_metric(frame("上半年一般公共预算收入有多少？"), "上半年，一般公共预算收入41.3亿元[1]。")
    True
    >>> states_asked_metric(frame("2025年地区生产总值是多少？"), "研发投入占地区生产总值比重3.7%[1]。")
    False
    >>> states_asked_metric(frame("规上工业增加值是多少？"), "规模以上工业总产值1850亿元[1]。")
    False
    >>> states_asked_metric(frame("夜市街区营业额是多少？"), "9月26日，夜市街区开街[1]。")
    False
    """
    if fr.asks != "amount" or fr.unit or not fr.key:
        return True
    # A share answers only a question about a share: "占地区生产总值比重3.7%" is no GDP.
    rates = bool(_ASKS_SHARE.search(fr.text))
    last = fr.metric.split()[-1] if fr.metric.split() else ""
    head = last[-2:] if len(last) > 2 else ""
    return _states_for("", set(fr.key), answer, percent=rates, head=head, whole=fr.whole)


def states_other_sort(fr: Frame, answer: str) -> bool:
    """True when every amount `answer` states for the asked head word is of another sort of what `fr` asks:
    another word before that head ("公路货运量2468万吨" for "铁路货运量是多少？"); figures of other things
    (货物周转量) do not count either way.

    >>> states_other_sort(frame("铁路货运量是多少？"), "全区完成公路货运量2468万吨[1]。")
    True
    >>> states_other_sort(frame("公路货运量是多少？"), "全区完成公路货运量2468万吨[1]。")
    False
    """
    words = [w for w in fr.metric.split() if len(w) > 2]
    if fr.asks != "amount" or not words:
        return False
    plain = strip_markers(answer)
    named = [metric_words(plain, f) for f in extract_figures(plain) if f.kind != "year" and f.unit not in ("月", "日")]
    related = [m for m in named if any(w[-2:] in m or (len(w) > 3 and w[:-1] in m) for w in words)]
    return bool(related) and all(any(other_sort(w, m) for w in words) for m in related)


# Words that ask for a share: a percentage stated as a share of something ("占…比重") answers only these.
_ASKS_SHARE = re.compile(r"比重|占比|比例|占|份额|率|百分之几|几成")


def _states_for(unit: str, key: set[str], answer: str, percent: bool = True, head: str = "", whole: str = "") -> bool:
    """Whether a figure of `answer` in `unit` is stated for the metric `key` (a share only when `percent`: the
    question asks for one). `head`: the last two characters
    of the asked metric's name, its measure word (增加值's 加值): a figure whose metric ends in another
    measure word of the same kind (总产值's 产值) is of another metric, however many words they share."""
    plain = strip_markers(answer)
    for f in extract_figures(plain):
        if f.kind == "year" or (unit and not _states_unit(unit, f.raw)):
            continue
        if f.unit in ("月", "日", "号") and not f.raw.endswith("个月"):
            continue  # "9月26日，…街区开街": a date says when, it is no amount of anything
        if f.kind == "percent" and not percent and rate_kind(plain, f) == "share":
            continue
        if unit == "钱":
            return True  # "多少钱" names no metric: any amount of money answers it
        ctx = passage_context(plain, f) | claim_metric(plain, f)
        if head and head not in ctx and any(len(g) == 2 and g[1] == head[1] for g in ctx):
            continue
        if whole and whole in metric_words(plain, f).replace(" ", ""):
            continue  # the total's figure, when a part of it is asked
        if not ctx or max(overlap(key, ctx), overlap(ctx, key)) >= ASKED_METRIC_MIN:
            return True
    return False


def _states_unit(unit: str, text: str) -> bool:
    if not unit:
        return True
    form = _UNIT_FORMS.get(unit) or re.escape(unit.lstrip("万亿"))
    # "36.14亿吨公里" is no figure in 吨: a unit read on is another unit (人次 still answers "多少人").
    return bool(re.search(r"\d[\d.,]*\s*[万亿]?(?:" + form + ")(?!公里)", strip_markers(text)))
