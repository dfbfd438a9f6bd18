"""The question frame: what a question asks, parsed once (`frame`), read by every resolver.

A question is read for its periods and scopes (from the domain profile), whether it asks to confirm
a statement, the unit it asks in ("多少亿元"), the words of what it is about (`question_key`) and of
what it asks for (`focus`), quoted names, the figures it asserts, and the operation it asks for
(a total, a change, a series). Resolvers take the `Frame`; nothing re-parses the question.

>>> f = frame("2024年高新区新增了多少家高企？比上年多多少？")
>>> sorted(f.periods), sorted(f.scopes), f.unit, f.operation
(['2024'], ['zone'], '家', 'diff')
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from rag.cite import bigrams
from rag.dating import periods_in, precise_periods
from rag.grammar import (
    clause_bounds,
    core,
    head,
    is_yes_no,
    metric_core,
    tail,
)
from rag.numbers import extract_figures
from rag.period import period_mentions
from rag.profile import active
from rag.query import asks_latest, quoted_names, quoted_terms
from rag.scope import untitled
from rag.types import Figure

SUM = re.compile(r"加起来|加在一起|加上|一共|合计|总共|共计|总和|之和")
# "一共有多少家" asks one stated total; it asks for a sum only beside the operands it adds up
# ("两次增资…一共", "A和B一共"). The explicit words always ask for one.
_SUM_EXPLICIT = re.compile(r"加起来|加在一起|加上|合计|总和|之和")
_OPERANDS_NAMED = re.compile(r"[和与及、]|[两二三四五六七八九十][次项笔批轮年个家所]|各|分别")
DIFF = re.compile(
    r"净?增加了?(?:多少|几)|净?增长了?(?:多少|几)|净增了?(?:多少|几)|多出?了?(?:多少|几)|少了?(?:多少|几)|"
    r"减少了?(?:多少|几)|相差|差了?(?:多少|几)|差距"
)
_TREND = re.compile(r"这几年|近几年|历年|逐年|变化|走势|趋势|怎么变|从(?:19|20)\d{2}年?(?:到|至)")


@dataclass(frozen=True)
class Frame:
    """One question, parsed once (see module docstring)."""

    text: str  # the standalone question (normalised, relative years written out)
    periods: frozenset[str]
    parts: frozenset[str]  # the years it names with the part of the year ("2026上半年"; "2025" is the whole year)
    scopes: frozenset[str]
    yes_no: bool
    unit: str  # the unit a "多少<unit>" question asks in ('' when none)
    key: frozenset[str]  # bigrams of what the question is about
    focus: frozenset[str]  # bigrams of what it asks for
    framed: frozenset[tuple[float, str]]  # counts it presupposes (哪两项)
    terms: tuple[str, ...]  # short quoted terms (“一廊”)
    names: tuple[str, ...]  # quoted names and titles
    asserted: tuple[Figure, ...]  # non-year figures the question states
    operation: str  # "sum" | "diff" | "trend" | ""
    asks: str  # the kind of answer asked: "amount" (多少), "time" (何时), "day", "entity" (谁, 哪家) or ""
    latest: bool  # 现在/最新 with no period named
    metric: str  # the words naming what is measured (no scopes, figures, question words or words of change)
    whole: str = ""  # "进出口总额中出口多少": the total the asked metric is a part of, whose figure is no answer


def frame(question: str) -> Frame:
    """Parse `question` once into a `Frame`."""
    framed = framed_counts(question)
    return Frame(
        text=question,
        periods=frozenset(periods_in(question)),
        parts=frozenset(precise_periods(question)),
        scopes=frozenset(asked_scopes(question)),
        yes_no=is_yes_no(question),
        unit=asked_unit(question),
        key=frozenset(question_key(question)),
        focus=frozenset(focus(question)),
        framed=frozenset(framed),
        terms=tuple(quoted_terms(question)),
        names=tuple(quoted_names(question)),
        asserted=tuple(f for f in extract_figures(question) if f.kind != "year" and (f.value, f.unit) not in framed),
        operation=operation(question),
        asks=asked_kind(question),
        latest=asks_latest(question),
        metric=asked_metric(question),
        whole=part_of(question),
    )


# "其中出口多少", "进出口总额中出口多少": a part of a total is asked; the total's own figure answers nothing.
_PART_OF = re.compile(r"([\u4e00-\u9fff]{2,}?(?:总额|总量|总数|总值|总产值|合计|总计|收入|产值))(?:当)?中|其中")


def part_of(question: str) -> str:
    """The metric words of the total a question asks a part of ('' when it asks no part; "其中" names it only
    in the sentence before, which a follow-up's rewrite puts in front).

    >>> part_of("2026年前三季度外贸进出口总额中出口多少？"), part_of("其中出口多少？"), part_of("出口多少？")
    ('外贸进出口总额', '', '')
    >>> part_of("2026年住宿和餐饮业营业额，其中餐饮业是多少？")
    '住宿餐饮业营业额'
    """
    text = without_periods(question)
    m = _PART_OF.search(text)
    if m and m.group(1):
        return metric_core(m.group(1)).replace(" ", "")
    if m:  # "X，其中Y多少": the total is the clause before 其中
        lo = max(text.rfind(ch, 0, m.start()) for ch in "。？?！!") + 1
        return metric_core(text[lo : m.start()]).replace(" ", "")
    return ""


def asked_metric(question: str) -> str:
    """The words of the question that name a metric, as the fact store matches them.

    >>> asked_metric("2025年高新区GDP比2024年多了多少亿？")
    '地区生产总值 多 亿'
    """
    return metric_core(ASKING.sub(" ", _TREND.sub(" ", without_periods(question))))


def without_periods(text: str) -> str:
    """`text` with the periods it names blanked ("1到9月份" leaves no "份" to be read as a metric word).

    >>> without_periods("2026年1到9月份的产值").strip()
    '的产值'
    """
    for m in period_mentions(text):
        text = text[: m.start] + " " * (m.end - m.start) + text[m.end :]
    return text


def as_frame(question: str | Frame) -> Frame:
    """`question` as a Frame (callers holding a frame pass it through; plain strings are parsed here)."""
    return question if isinstance(question, Frame) else frame(question)


_TOGETHER = re.compile(r"分别|各自|各是|各为|各有|各多少|和|与|及|又是|又有|又为")
# "哪几家" asks which ones (names), not how many: only a bare 几 counts.
_ASKS_AMOUNT = re.compile(r"多少(?!年)|(?<!哪)几[个家项件名位批次倍万亿千百]|多大|多高|多长")
_ASKS_DAY = re.compile(r"哪一?天|几号|几月几[日号]|哪一?日")
# Who, which, where, what: a person, organisation, place or name (after the time and day questions above).
_ASKS_ENTITY = re.compile(r"谁|哪(?!一?年|一?天|一?日|个月)|什么|(?<![如为])何(?![时以])|啥")
# Any other way of asking (how, why, yes/no, a request): what the answer is cannot be told from the words.
_ASKING_ANYHOW = re.compile(
    r"怎|如何|为什么|为何|吗|呢|是否|能否|可否|有没有|多|几|介绍|说说|讲讲|概括|总结|列举|简述|解释"
)
_NAMES_DAY = re.compile(r"日期[？?。\s]*$")
# A noun phrase that names a quantity asks how much ("春运首日旅客发送量", "国考实际参考人数", "经济增速"); one
# that names a reason or purpose asks why, which no name or date answers ("退赛原因", "飞艇的用途").
_NAMES_AMOUNT = re.compile(r"(?:[量数额率速]|人次|收入|奖金|票房|规模|总值|产值|价格|金额|成本)[？?。\s]*$")
_NAMES_REASON = re.compile(r"(?:原因|理由|缘由|用途|目的|意义|影响)[？?。\s]*$")
_NAMES_TIME = re.compile(r"(?:时间|年份|时候)[？?。\s]*$")
_ASKS_TIME = re.compile(r"什么时候|啥时候|何时|哪一?年|哪一?天|几月|几号|哪个月|多少年")


def split_frame(fr: Frame) -> list[Frame]:
    """One frame per period, or per area, a question asks about together ("2024年底和2025年底分别…",
    "全市和高新区…"); [] when it asks about one.

    >>> [sorted(f.parts) for f in split_frame(frame("高企2024年和2025年分别是多少家？"))]
    [['2024'], ['2025']]
    """
    if not _TOGETHER.search(fr.text) or "占" in fr.text:
        return []  # "占全市比重", "较2015年": a second period or area that is a baseline, not a second question
    if len(fr.parts) > 1:
        return [replace(fr, parts=frozenset({p}), periods=frozenset({p[:4]})) for p in sorted(fr.parts)]
    if len(fr.scopes) > 1:
        return [replace(fr, scopes=frozenset({s})) for s in sorted(fr.scopes)]
    return []


@functools.lru_cache(maxsize=64)
def sub_questions(fr: Frame) -> tuple[Frame, ...]:
    """One frame per question of a several-question message ("…收入多少？税收占比多少？"), each with the
    period and area the message names when it names none itself; () for one question.

    >>> [(f.metric, sorted(f.parts)) for f in sub_questions(frame("2026年1—9月收入多少？税收占比多少？"))]
    [('收入', ['2026前三季度']), ('税收', ['2026前三季度'])]
    """
    # Cached: the verifier runs on every finished sentence of a streamed answer, with the same frame.
    texts = [t for t in re.split(r"(?<=[？?])", fr.text) if t.strip(" ？?")]
    if len(texts) < 2:
        return ()
    out = []
    for t in texts:
        sub = frame(t)
        out.append(
            replace(
                sub,
                periods=sub.periods or fr.periods,
                parts=sub.parts or fr.parts,
                scopes=sub.scopes or fr.scopes,
            )
        )
    return tuple(out)


def asked_questions(fr: Frame) -> list[str]:
    """Each question a message asks, as text: an answer to any one of them answers that one.

    >>> asked_questions(frame("导演是谁？主演是谁？")), asked_questions(frame("导演是谁？"))
    (['导演是谁？', '主演是谁？'], ['导演是谁？'])
    """
    return [sub.text for sub in sub_questions(fr)] or [fr.text]


def asked_kind(question: str) -> str:
    """ "amount" when the question asks how much or how many, "day" which day, "time" when, "entity" who, which,
    where or what, else "".

    >>> asked_kind("募资多少？"), asked_kind("什么时候建成的？"), asked_kind("董事长是谁？"), asked_kind("如何申请？")
    ('amount', 'time', 'entity', '')
    >>> asked_kind("KF-21战斗机研发国家"), asked_kind("安倍晋三的国葬时间？"), asked_kind("艾尔登法环发售日期")
    ('entity', 'time', 'day')
    >>> asked_kind("春运首日旅客发送量"), asked_kind("那场比赛的退赛原因")
    ('amount', '')
    """
    if _ASKS_AMOUNT.search(question):
        return "amount"
    if _ASKS_DAY.search(question):
        return "day"  # a year alone does not say which day
    if _ASKS_TIME.search(question):
        return "time"
    if _ASKS_ENTITY.search(question):
        return "entity"
    if _ASKING_ANYHOW.search(question):
        return ""
    # A noun phrase asks for what it names: "艾尔登法环发售日期", "安倍晋三中枪事件发生的地点".
    if _NAMES_AMOUNT.search(question):
        return "amount"
    if _NAMES_REASON.search(question):
        return ""
    if _NAMES_DAY.search(question):
        return "day"
    return "time" if _NAMES_TIME.search(question) else "entity"


def operation(question: str) -> str:
    """What arithmetic or shape of answer the question asks for: "sum", "diff", "trend" or ""."""
    if _SUM_EXPLICIT.search(question) or (SUM.search(question) and _sums_operands(question)):
        return "sum"
    if DIFF.search(question):
        return "diff"
    return "trend" if _TREND.search(question) else ""


def _sums_operands(question: str) -> bool:
    """Whether "一共/总共" adds things the question names: two of them, or two years.

    >>> _sums_operands("两次增资一共多少？"), _sums_operands("去年年底一共有多少家医疗卫生机构？")
    (True, False)
    """
    years = {m.group() for m in re.finditer(r"(?:19|20)\d{2}", question)}
    return bool(_OPERANDS_NAMED.search(question)) or len(years) > 1


# "昆山全市（不是高新区）": an area the question sets aside is not one it asks about.
_SET_ASIDE = re.compile(r"(?:不是|并非|而非|不含|不包括|除了?|非)[\s（(“]*$")


def asked_scopes(question: str) -> set[str]:
    """The areas (profile scope ids) a question asks about; "other" for a place the profile does not know.

    >>> sorted(asked_scopes("昆山全市（不是高新区）用电量多少？")), sorted(asked_scopes("东湖市用电量多少？"))
    (['city'], ['other'])
    """
    prof = active()
    question = untitled(question)  # "上了“2020江苏省百强…”榜": an area inside a title is part of a name
    mentions = prof.scope_mentions(question, strong_only=True)
    named = {sid for a, _, sid in mentions if not _SET_ASIDE.search(question[:a])}
    if named or mentions:
        return named
    return {"other"} if prof.other_place(question) else set()


def framed_counts(question: str) -> set[tuple[float, str]]:
    """Counts the question presupposes ("哪两项" → (2, 项)): an answer that repeats them asserts nothing new.

    >>> framed_counts("通过了哪两项IEC标准认证？")
    {(2.0, '项')}
    """
    # "哪两项", and counts written in Chinese numerals ("两次增资", "三大产业"): the question's own framing.
    return {
        (f.value, f.unit)
        for f in extract_figures(question)
        if f.kind == "number" and (question[: f.start].endswith("哪") or not re.search(r"\d", f.raw))
    }


_ASKED_UNIT = re.compile(
    r"多少(?:个)?(GW|MW|万台|台|万人次|人次|万人|人|家|个|项|件|亿美元|万美元|亿元|万元|万平方米|平方米|平方公里|平方千米|钱|"
    r"亩|公顷|万吨|吨|套|辆|架|万千瓦|千瓦|兆瓦|公里|千米|立方米)"
)


def asked_unit(question: str) -> str:
    """The unit of a "多少<unit>" question ('' when it asks for none)."""
    m = _ASKED_UNIT.search(question)
    return m.group(1) if m else ""


# How people ask, not what they ask about: question words with their measure word ("多少个", "几家"),
# colloquial fillers ("搞的那个", "叫啥"). Removed from the question's key so they never count as overlap.
ASKING = re.compile(
    r"(?:多少|几)(?:[个家项件名位次所台种批条座]|人(?![才员口]))?|叫啥|叫什么|是啥|是谁|(?:是)?(?:个)?什么|啥|"
    r"哪(?:几|一)?[个家些里位项件年天种]?|谁|"
    r"那个|这个|那些|这些|搞|弄|最后|一下|到底|究竟|具体|听说|据说|那会儿|那时候|怎么样|怎么|如何|咋|"
    # A noun phrase ends with the slot it asks for ("考研开始日期", "中枪事件发生的地点"): not the subject.
    r"的?(?:日期|时间|地点)(?=[？?。\s]*$)"
)


def question_key(question: str) -> set[str]:
    """Bigrams of what the question is about (no scope names, years, question words or colloquial fillers).

    >>> sorted(question_key("高新区2021年办民生实事，新增了多少个学位？"))
    ['办民', '学位', '实事', '新增', '民生', '生实']
    >>> sorted(question_key("2022年考研开始日期"))  # the slot a noun phrase asks for is no word of the subject
    ['开始', '研开', '考研']
    """
    return bigrams(core(ASKING.sub(" ", question)))


def focus(question: str) -> set[str]:
    """Bigrams of what is asked for: the words just before the question word ("董事长叫啥" → 董事长), or just
    after it when the question opens with it ("哪几家企业…"). Empty when there is no question word.

    >>> sorted(focus("做数字微流控核酸检测仪的液滴逻辑，董事长叫啥？"))
    ['事长', '董事']
    >>> sorted(focus("高新区2021年办民生实事，新增了多少个学位？"))
    ['学位']
    """
    m = ASKING.search(question)
    while m and m.group(0) in ("那个", "这个", "那些", "这些", "搞", "弄", "最后", "一下", "听说", "据说"):
        m = ASKING.search(question, m.end())
    if not m:
        return set()
    # "多少个学位", "什么模式": the noun after the question word; "董事长叫啥", "GDP是多少": the words before it.
    lo, hi = clause_bounds(question, m.start(), m.end())
    after = head(core(ASKING.sub(" ", question[m.end() : hi])), 4).strip()
    if after:
        return bigrams(after)
    return bigrams(tail(core(question[lo : m.start()]), 3).strip())
