"""Follow-up questions → standalone questions, by rule (no LLM call, so no latency).

>>> h = [Message("user", "2024年全区的地区生产总值是多少？"), Message("assistant", "1135.1亿元[1]。")]
>>> rewrite("那2021年呢？", h)
'2021年全区的地区生产总值是多少？'
>>> rewrite("它的增速呢？", h)
'2024年全区的地区生产总值的增速是多少？'
>>> rewrite("中科可控董事长是谁？", h)
'中科可控董事长是谁？'
>>> rewrite("比上年增长多少？", h)
'2024年全区的地区生产总值比上年增长多少？'
>>> rewrite("这家公司的董事长叫什么？", [Message("user", "甲乙生物的新基地是什么时候投产的？")])
'甲乙生物董事长叫什么？'
>>> h = [Message("user", "2026年1—10月住宿和餐饮业营业额是多少？")]
>>> rewrite("那2025年全年呢？", h), rewrite("其中餐饮业呢？", h)
('2025年全年住宿和餐饮业营业额是多少？', '2026年1—10月住宿和餐饮业营业额，其中餐饮业是多少？')
>>> rewrite("那全年目标是多少呀？", h)
'2026年全年目标住宿和餐饮业营业额是多少？'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.bm25 import words
from rag.frame import ASKING
from rag.grammar import metric_core
from rag.profile import active
from rag.types import Message

# A year with the part of it a question names ("2026年1—10月", "2025年全年"): a follow-up's period replaces it whole.
_PART = r"(?:度|前三季度|上半年|下半年|全年|[一二三四]季度|\d{1,2}\s*[—\-–~至到]\s*\d{1,2}\s*月份?|前\d{1,2}个月)?"
_YEAR = re.compile(rf"(?:19|20)\d{{2}}年{_PART}|[23]\d年(?=[^\d]|$)")
_PERIOD = re.compile(rf"^(?:(?:19|20)\d{{2}}年{_PART}|[23]\d年)$")
_PLAN_BODY = re.compile(r"^“?(.+?)”?(?:期间|时期)?$")
_WH = re.compile(r"多少|几|什么|啥|哪|谁|何时|怎么|如何")
_LEAD = re.compile(r"^(?:那么?|那|还有|另外|再问一下|请问)[，,\s]*")
_TRAIL = re.compile(r"(?:[呢吗呀啊]|(?<![什怎多这那要])么)?[？?。！!\s]*$")  # 么 of 什么 is no particle
# "它的", "其", "这个", "这家公司的": what the previous question was about. A pronoun that names a kind of
# body (公司, 企业…) points at the organisation that question named first, not at its project or product.
_PRONOUN = re.compile(
    r"^(?:它们?的?|其(?![中他余])|(?:该|这|那)(?:个|家|位|项|款|所|座|条)?(?P<kind>公司|企业|机构|单位|集团|医院|学校|项目|产品)?的?)"
)
_BODY_KINDS = ("公司", "企业", "机构", "单位", "集团", "医院", "学校")
_ASK_TAIL = re.compile(
    r"(?:(?:是|有|为|达到?|做了)?(?:多少|几)[个家项件名位人次所台种批条座亿万元美]*|是什么|是哪些?|是谁|有哪些|怎么样|如何)?"
    r"[呢吗么]?[？?。！!\s]*$"
)
# "那全年目标是多少呀？", "2026年的目标呢？": a target asked of the previous question's subject.
_TARGET = re.compile(r"^(?P<year>(?:19|20)\d{2}年)?(?:全年)?的?(?:目标|计划)值?(?:是|为)?(?:多少|几)?[呀啊]?$")
# How a follow-up compares without naming what ("比去年同期增长多少？", "那比2024年底多了几家？").
_COMPARING = re.compile(r"多出?|少|高|低|快|慢|同期|今年|去年|前年|上年|明年|本年|当年|年底|年末|全年")


def _is_follow_up(question: str) -> bool:
    q = question.strip()
    if len(q) > 16:
        return False
    return bool(_LEAD.match(q) or _PRONOUN.match(_LEAD.sub("", q)) or re.search(r"呢[？?]?\s*$", q) or _subjectless(q))


def _subjectless(question: str) -> bool:
    """No words of its own about what is asked: only periods, comparisons and question words."""
    return not metric_core(_COMPARING.sub(" ", ASKING.sub(" ", _LEAD.sub("", question)))).strip()


def _area_only(body: str) -> str:
    """The area a follow-up names when it names nothing else ("全市同期" → "全市"); '' otherwise.

    >>> _area_only("全市同期"), _area_only("全市"), _area_only("全市的专利")
    ('全市', '全市', '')
    """
    named = active().scope_mentions(body)
    if len(named) != 1:
        return ""
    a, b, _ = named[0]
    rest = re.sub(r"同期|同一时期|的|\s", "", body[:a] + body[b:])  # "同期": the previous question's period
    return "" if rest else body[a:b]


def _sibling(body: str, prev: str) -> str:
    """`prev` with its "modifier + head" words replaced by `body`, when `body` is another modifier of a head
    word `prev` has ("其他床位" for "护理型床位"); '' otherwise.

    >>> _sibling("其他床位", "新建养老机构，护理型床位每张补贴多少？")
    '新建养老机构，其他床位每张补贴多少？'
    >>> _sibling("乐美包装", "新建养老机构，护理型床位每张补贴多少？")
    ''
    """
    for n in range(min(len(body) - 1, 6), 1, -1):  # the longest word ending both: the head they share
        head = body[-n:]
        j = prev.find(head)
        if j < 0:
            continue
        mod = ""
        for tok in reversed(words(prev[:j])):  # the words right before it, up to 4 characters
            if len(mod + tok) > 4 or not re.fullmatch(r"[\u4e00-\u9fff]+", tok) or tok == "的":
                break
            if active().scope_mentions(tok):
                break
            mod = tok + mod
        own = body[:-n]
        if mod and own and own != mod and len(own) <= 4:
            return prev[: j - len(mod)] + body + prev[j + n :]
        return ""
    return ""


def rewrite(question: str, history: Sequence[Message]) -> str:
    """A standalone version of `question` given earlier turns (unchanged when it already stands alone)."""
    prev = next((m.content.strip() for m in reversed(history) if m.role == "user" and m.content.strip()), "")
    if not prev or not _is_follow_up(question):
        return question
    body = _TRAIL.sub("", _LEAD.sub("", question.strip()))
    if not body:
        return question
    prof = active()
    plan = _PLAN_BODY.match(body)
    plan_name = plan.group(1) if plan and prof.plan_rx.fullmatch(plan.group(1)) else ""
    if _PERIOD.match(body) or plan_name:  # "那2021年呢？" → the previous question about 2021
        if _PERIOD.match(body) and _YEAR.search(prev):
            return _YEAR.sub(body, prev, count=1)
        if plan_name and prof.plan_rx.search(prev):
            return prof.plan_rx.sub(plan_name, prev, count=1)
        return body + prev
    target = _TARGET.match(body)
    if target:  # "那全年目标呢？": the same thing's target for the year (the whole year, not the part asked)
        # The previous question whole, its period the year's and marked as a target ("2026年全年目标…多少标箱？"):
        # it is matched as that question was, against the target's column or sentence.
        year = _YEAR.search(prev)
        period = (target.group("year") or (year.group()[:5] if year else "")) + "全年目标"
        return _YEAR.sub(period, prev, count=1) if year else period + prev
    area = _area_only(body)
    if area:  # "那全市呢？", "那全市同期呢？" → the same question (same period) for the other area
        named = prof.scope_mentions(prev)
        if named:
            a, b, _ = named[0]
            return prev[:a] + area + prev[b:]
        return area + prev
    if _subjectless(body):  # "比去年同期增长多少？": the same subject, compared
        return f"{_ASK_TAIL.sub('', prev)}{body}？"
    if body.startswith("其中"):  # "其中餐饮业呢？": a part of what the previous question asked about
        return f"{_ASK_TAIL.sub('', prev)}，{body}是多少？"
    if not _PRONOUN.match(body):
        # "那其他床位呢？" after "…护理型床位每张补贴多少？": another sort of the same thing, asked the same way.
        # Otherwise a new subject ("那乐美包装呢？"): guessing what is asked would mislead retrieval.
        return _sibling(body, prev) or question
    pronoun = _PRONOUN.match(body)
    attr = body[pronoun.end() :]  # "它的增速" → "增速": an attribute of the previous subject
    subject = _ASK_TAIL.sub("", prev)
    wh = _WH.search(subject)
    if wh:  # "澜锐精密是做什么的？": the subject is what comes before the question
        subject = re.sub(r"[是做干搞为有的]+$", "", subject[: wh.start()])
    if pronoun.group("kind") in _BODY_KINDS:  # "这家公司的董事长": the company of "X公司的某基地…", not the base
        subject = subject.split("的", 1)[0]
    if attr and _WH.search(attr):  # "它是哪天上市的？": the follow-up says what it asks; only the subject is added
        return f"{subject}{attr}？"
    return f"{subject}的{attr}是多少？" if attr else prev
