"""The grammar of stated figures: how Chinese text names the metric, period and scope of a number.

Pure functions over text, used on both sides — passages (at index time, `rag.bind`; at answer time,
`rag.verify`) and claims — so both read a figure the same way. Place names, synonyms and plan
periods come from the domain profile (`rag.profile`), never from this module.

* **metric** — the words just before a figure (its clause, fillers and scope names removed), else
  just after it, else the clause before when this one only says 同比增长: `claim_metric`,
  `passage_context`;
* **period** — the years / plan periods governing a position: named before it in its sentence,
  else after it, else the nearest earlier sentence's, else the chunk's (`governing_periods`);
* **scope** — the profile's areas named before a figure in its sentence, else the chunk's
  (`passage_scopes`).

>>> from rag.numbers import extract_figures
>>> t = "2024年,全区固定资产投资175.1亿元,同比增长5.6%。"
>>> [f.raw for f in extract_figures(t)], sorted(passage_context(t, extract_figures(t)[1]))
(['2024年', '175.1亿元', '5.6%'], ['产投', '固定', '定资', '投资', '资产'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.cite import bigrams, sentence_spans
from rag.numbers import extract_figures, same_unit
from rag.period import strip_parts
from rag.profile import active
from rag.respective import respective_item
from rag.scope import untitled
from rag.types import Chunk, Figure

METRIC_MIN_OVERLAP = 0.5  # share of the claim's metric bigrams the passage clause must contain

METRIC_WINDOW = 6  # CJK characters of metric read next to a figure

_CLAUSE = "，,；;。！？!?：:\n"
_THRESHOLD = re.compile(r"\s*(?:及)?(?:以上|以下)")
_IDENTIFIER = re.compile(r"[A-Za-z]{2,}[ /-]?$")  # "IEC 61215", "GB/T": the number is part of a standard's name
_SENTENCE = "。！？!?\n"

_FILLER_WORDS = (
    "实现了 实现 完成了 完成 达到了 达到 分别为 分别是 分别 约为 约 共有 共计 共 累计 总计 其中 已经 已 将 "
    "一共 总共 加起来 加在一起 加上 "
    "为 是 有 达 到 至 了 的 在 中 位居 位列 居于 居 排名 排在 排 超过 突破 近 "
    "逾 全年 当年 年度 年底 年末 末 截至 截止 以来 期间 同期 左右 以上 大约 大概 多少 几 吗 呢 "
    "吧 对吗 是否 是不是 有没有 请问 核实 目前 现在 其 该 这 和 与 及 整个 一整年 整年"
).split()
# Words that say "how it changed", not "what": a clause made only of these borrows the metric before it.
_GROWTH_WORDS = (
    "同比 环比 年均 较上年 比上年 较 比 增长 增幅 增速 下降 降低 提升 提高 增加 减少 上升 占比 比重 占"
).split()


def _alternation(words: Sequence[str]) -> re.Pattern[str]:
    # Longest first: regex alternation takes the first alternative that matches, so "比重" must precede "比".
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


# "有" is filler in 共有/拥有 but part of the metric in 有效 (有效高企, 有效发明专利).
# "有效" and "公共" are words, not the fillers 有 and 共.
_FILLERS = re.compile(_alternation(_FILLER_WORDS).pattern.replace("|有|", "|有(?!效)|").replace("|共|", "|(?<!公)共|"))
# "增加值" (value added) is a metric, not the verb 增加.
_GROWTH = re.compile(_alternation(_GROWTH_WORDS).pattern.replace("增加", "增加(?!值)"))
# "…了么" asks yes or no; "…是什么" / "怎么" end in 么 and ask what or how.
_YES_NO = re.compile(r"(吗|吧|(?<![什怎这那多])么|对不对|是不是|是否|没有?|是这样|对吧)[？?。！!\s]*$")
_ASKS_WHETHER = re.compile(r"是不是|是否")
_HEARSAY = re.compile(r"^(?:我?听说|据说|有人说|网上说|传言|听人说)")
_RISING = re.compile(r"[了啦][？?]\s*$")
_WH = re.compile(r"多少|几|什么|啥|哪|谁|怎么|如何|怎样|为什么|为何|何时|多大|多高|多长|多久")


# --------------------------------------------------------------------------- context helpers


def expand(text: str) -> str:
    """`text` with the profile's abbreviations written as the documents write them (GDP → 地区生产总值)."""
    return active().expand_metrics(text)


def core(text: str) -> str:
    """Metric words only: no scope names, figures, fillers or punctuation (each removal leaves a gap)."""
    text = expand(text)
    # Figures go first, whole: stripping digits first would leave their units ("较2015年" → "年") as metric words.
    for f in extract_figures(text):
        text = text[: f.start] + " " * (f.end - f.start) + text[f.end :]
    text = active().strip_scopes(text, strong_only=True)
    text = active().plan_rx.sub(" ", text)
    text = strip_parts(text)  # "前三季度实际使用外资": the period is compared apart from the metric
    text = re.sub(r"[\d.,%／/]+|[^\u4e00-\u9fffA-Za-z]", " ", text)
    return _FILLERS.sub(" ", text)


def metric_core(text: str) -> str:
    """What of `text` names a metric: no scopes, figures, fillers, or words of change (增长, 同比).

    >>> metric_core("2024年比上年增长了多少"), metric_core("全区GDP增速")
    ('', '地区生产总值')
    """
    return " ".join(_GROWTH.sub(" ", core(text)).split())


# "…给予补助，最高300万元": a cap names no metric of its own; its clause borrows the one before, as a change does.
_CAP = re.compile(r"最高|最多|不超过|上限为?|封顶")


def _is_weak(core: str) -> bool:
    return not _GROWTH.sub(" ", _CAP.sub(" ", core)).strip()


# "按可比价格计算", "按现价计算": how a figure was computed, no metric; a clause borrowing its metric skips it.
_QUALIFIER = re.compile(r"\s*按[\u4e00-\u9fff]{1,8}(?:计算|口径|计)\s*")


def _previous_clause(text: str, lo: int) -> tuple[int, int]:
    """Bounds of the clause before the one starting at `lo`, a computation qualifier skipped.

    >>> t = "实现地区生产总值27864.3亿元，按可比价格计算，比上年增长5.6%"
    >>> a, b = _previous_clause(t, t.index("比上年")); t[a:b]
    '实现地区生产总值27864.3亿元'
    """
    plo, _ = clause_bounds(text, lo - 1, lo - 1)
    if plo > 0 and _QUALIFIER.fullmatch(text[plo : lo - 1]):
        return _previous_clause(text, plo)
    return plo, lo - 1


_SHARE = re.compile(r"比重|占比|比例|[\u4e00-\u9fff]率")
_CHANGE = re.compile(r"增长|增速|增幅|下降|降幅|回落|上升|提高|提升")


def rate_kind(text: str, fig: Figure) -> str:
    """What a percentage measures, read in its clause: "share" (比重, 占比, a 率), "change" (增长, 增速), or ''.

    >>> t = "研发投入占地区生产总值比重达到4.26%，地区生产总值增长5.6%"
    >>> [rate_kind(t, f) for f in extract_figures(t)]
    ['share', 'change']
    """
    lo, _ = clause_bounds(text, fig.start, fig.end)
    before = text[lo : fig.start]
    if re.search(r"增长率|增速|增幅|降幅", before):
        return "change"  # a rate of change, though it ends in 率
    if re.search(r"[到至]\s*$", before):
        # "占GDP比重较上期增长0.75个百分点，提高到3.7%": the level reached, a share when its sentence names one.
        s_lo = max((text.rfind(ch, 0, fig.start) for ch in _SENTENCE), default=-1) + 1
        return "share" if _SHARE.search(text[s_lo : fig.start]) else ""
    return "share" if _SHARE.search(before) else "change" if _CHANGE.search(before) else ""


def other_rate(claim: str, fig: Figure, text: str, g: Figure) -> bool:
    """Whether a percentage said as a share is stated by `text` as a change, or the other way round.

    >>> c, t = "占全市比重7.4%", "同比增长7.4%"
    >>> other_rate(c, extract_figures(c)[0], t, extract_figures(t)[0])
    True
    """
    return fig.kind == "percent" and {rate_kind(claim, fig), rate_kind(text, g)} == {"share", "change"}


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max((text.rfind(ch, 0, start) for ch in _CLAUSE), default=-1) + 1
    hi_candidates = [i for i in (text.find(ch, end) for ch in _CLAUSE) if i != -1]
    return lo, min(hi_candidates) if hi_candidates else len(text)


def tail(core: str, n: int = METRIC_WINDOW) -> str:
    """The last `n` CJK characters of `core` (gaps kept, so no bigram spans a removed word)."""
    count, i = 0, len(core)
    while i > 0 and count < n:
        i -= 1
        if "\u4e00" <= core[i] <= "\u9fff":
            count += 1
    return core[i:]


def head(core: str, n: int = METRIC_WINDOW) -> str:
    count, i = 0, 0
    while i < len(core) and count < n:
        if "\u4e00" <= core[i] <= "\u9fff":
            count += 1
        i += 1
    return core[:i]


def claim_metric(text: str, fig: Figure) -> set[str]:
    """Bigrams of the metric a figure is stated for, read from the words next to it.

    >>> sorted(claim_metric("2024年全区GDP同比增长6.3%", extract_figures("2024年全区GDP同比增长6.3%")[1]))
    ['产总', '区生', '地区', '总值', '生产']
    """
    lo, hi = clause_bounds(text, fig.start, fig.end)
    prefix = _GROWTH.sub(" ", core(text[lo : fig.start]))
    if prefix.strip():
        return bigrams(tail(prefix))
    # As in `passage_context`: words after a figure name it only up to the next list item, figure or
    # table cell ("｜2025年目标值" names the next cell, not this one).
    suffix = _GROWTH.sub(" ", core(re.split(r"[、｜\d]", text[fig.end : hi], maxsplit=1)[0]))
    if suffix.strip():
        return bigrams(head(suffix))
    if lo > 0:  # "…1135.1亿元，同比增长6.3%": the metric is the previous clause's
        plo, phi = _previous_clause(text, lo)
        prev = _GROWTH.sub(" ", core(text[plo:phi]))
        return bigrams(tail(prev))
    return set()


def passage_context(text: str, fig: Figure) -> set[str]:
    """Bigrams of the clause around a passage figure (plus the clause before when this one is only 同比增长…);
    in a "分别" list, of the thing the figure is stated for (`rag.respective`)."""
    if item := respective_item(text, fig):
        return bigrams(core(item))
    lo, hi = clause_bounds(text, fig.start, fig.end)
    # "投入强度（与地区生产总值之比）为3.32%": a bracketed gloss explains the metric; it is not what is measured.
    prefix = core(_GLOSS.sub(" ", text[lo : fig.start]))
    # The words after a figure name it only up to the next list item or figure:
    # in "新增…超20万平方米、总量突破270万平方米", 总量 belongs to 270万, not to 20万.
    suffix = re.split(r"[、\d]", text[fig.end : hi], maxsplit=1)[0]
    ctx = prefix + " " + core(suffix)
    # Only a clause named by neither side borrows the one before ("…，同比增长6.3%"); in
    # "计划总投资额156.1亿元，10亿元以上签约项目6个" the 10亿元 is named by what follows it.
    if _is_weak(prefix) and _is_weak(core(_THRESHOLD.sub("", suffix))) and lo > 0:
        plo, phi = _previous_clause(text, lo)
        ctx = core(text[plo:phi]) + " " + ctx
    return bigrams(ctx + " " + core(_topic(text, lo)))


# "对新建或改扩建冷库，按投资额的15%给予补助，最高300万元": a policy sentence opens with what every figure in it
# is granted for.
_TOPIC = re.compile(r"对([^，,。；;：:]{2,40})[，,]")


def _topic(text: str, lo: int) -> str:
    """The "对…，" clause that opens the sentence a clause starting at `lo` belongs to; '' when none does."""
    start = max((text.rfind(ch, 0, lo) for ch in _SENTENCE), default=-1) + 1
    m = _TOPIC.match(text, start + len(text[start:lo]) - len(text[start:lo].lstrip()))
    return m.group(1) if m and m.end() <= lo else ""


_GLOSS = re.compile(r"[（(][^（()）]*[\u4e00-\u9fff]{2}[^（()）]*[）)]")


def metric_words(text: str, fig: Figure) -> str:
    """The words that name what a passage figure measures, readable (as `passage_context` reads them).

    >>> t = "2024年,全区实现地区生产总值1135.1亿元,同比增长6.3%。"
    >>> [metric_words(t, f) for f in extract_figures(t)[1:]]
    ['地区生产总值', '地区生产总值 同比增长']
    >>> t = "研发经费投入强度（与地区生产总值之比）为3.1%"
    >>> metric_words(t, extract_figures(t)[0])
    '研发经费投入强度'
    """
    if item := respective_item(text, fig):
        return " ".join(core(item).split())
    lo, hi = clause_bounds(text, fig.start, fig.end)
    # "投入强度（与地区生产总值之比）为3.32%": a bracketed gloss explains the metric; it is not what is measured.
    prefix = core(_GLOSS.sub(" ", text[lo : fig.start]))
    suffix = re.split(r"[、｜\d]", text[fig.end : hi], maxsplit=1)[0]
    words = tail(prefix, 20)  # "高新技术产业产值占规模以上工业总产值比重": shares are named at length
    if _is_weak(prefix) and _is_weak(core(_THRESHOLD.sub("", suffix))) and lo > 0:
        plo, phi = _previous_clause(text, lo)
        words = tail(core(text[plo:phi]), 10) + " " + words
    if not _GROWTH.sub(" ", words).strip():
        words += " " + head(core(suffix))
    return " ".join(words.split())


def same_measure(a: str, b: str) -> bool:
    """Whether two metric wordings (`metric_words`) name one measure: they share a run of at least two
    characters, and what qualifies that run in front is the same. A qualifier in front narrows the measure
    (储能领域发明专利授权 is a part of 发明专利授权; 新增高企 a flow, not the stock of 高企); words after it
    (跃升至) only say how it moved.

    >>> same_measure("储能领域发明专利授权", "发明专利授权"), same_measure("地区生产总值 跃升至", "地区生产总值")
    (False, True)
    """
    from difflib import SequenceMatcher

    x, y = "".join(a.split()), "".join(b.split())
    m = SequenceMatcher(None, x, y, autojunk=False).find_longest_match(0, len(x), 0, len(y))
    return m.size >= 2 and x[: m.a] == y[: m.b]


def scopes_in(text: str, home: str = "") -> set[str]:
    """Scope ids (from the domain profile) named in `text`; a name the profile's `not_after` words make a
    category (国家…: any national zone) names none.

    >>> sorted(scopes_in("全区电子信息产业占全市比重"))
    ['city', 'zone']
    """
    # Strong names only: a bare city name inside another name ("临川数字港", 临川 a weak name) is no scope.
    return active().scopes_named(text, strong_only=True, home=home)


def strip_scopes(text: str) -> str:
    """`text` without the names of any scope (scope is compared apart from the metric).

    >>> strip_scopes("说的是全市的排名")
    '说的是 的排名'
    """
    return active().strip_scopes(text, strong_only=True)


def passage_scopes(chunk: Chunk, pos: int) -> set[str]:
    """Scope of the passage figure at `pos`: named earlier in its sentence, else the chunk's, else the last named."""
    text = chunk.text
    s_lo = max((text.rfind(ch, 0, pos) for ch in _SENTENCE), default=-1) + 1
    # Only what precedes the figure names its subject; a trailing "…彰显出甲市的韧性" is commentary.
    own = scopes_in(untitled(text[s_lo:pos]), home=chunk.scope)  # "全市" in a prefecture's bulletin is the prefecture
    if own:
        return own
    if chunk.scope != "unknown":
        return {chunk.scope}
    before = active().scope_mentions(text[:s_lo], strong_only=True)
    return {before[-1][2]} if before else set()


def is_yes_no(question: str) -> bool:
    """True for questions that ask to confirm a statement (…吗？ / …对吧？ / 核实…), and for hearsay or a
    statement asked with a rising 了？ that holds no question word ("听说…破700亿了？").

    >>> is_yes_no("听说X区GDP破700亿了？"), is_yes_no("去年GDP是多少了？"), is_yes_no("甲公司是2021年落户的吧")
    (True, False, True)
    >>> is_yes_no("小米MIX4的处理器是什么"), is_yes_no("甲医院是不是开放了500张床位？")
    (False, True)
    """
    q = question.strip()
    if _YES_NO.search(q) or "核实" in q or "确认" in q:
        return True
    if _ASKS_WHETHER.search(q) and not _WH.search(q):
        return True  # "南湖医院是不是开放了500张床位？": the question word stands before what it asserts
    return bool((_HEARSAY.match(q) or _RISING.search(q)) and not _WH.search(q))


def same_kind_unit(a: Figure, b: Figure) -> bool:
    return a.kind == b.kind and a.unit == b.unit and a.kind in ("number", "percent")


def comparable(a: Figure, b: Figure) -> bool:
    """Same kind of figure (amount, percentage, year, rank, ratio) in compatible units."""
    classes = {"number": "n", "comparison": "n", "percent": "p", "year": "y", "rank": "r", "ratio": "q"}
    if classes[a.kind] != classes[b.kind]:
        return False
    return same_unit(a.unit, b.unit)


def year_context(text: str, fig: Figure) -> set[str]:
    """Bigrams of what happened in a year: its clause (甲公司…落户), or its whole sentence when that names
    no other year, as the subject often sits in another clause ("自2019年落地X区以来,乙公司建成…")."""
    lo, hi = clause_bounds(text, fig.start, fig.end)
    s_lo = max((text.rfind(ch, 0, fig.start) for ch in _SENTENCE), default=-1) + 1
    s_hi = min([i for i in (text.find(ch, fig.end) for ch in _SENTENCE) if i != -1] or [len(text)])
    if sum(f.kind == "year" for f in extract_figures(text[s_lo:s_hi])) <= 1:  # a date of no year stated: 0
        lo, hi = s_lo, s_hi
    return bigrams(_expand_verbs(core(text[lo : fig.start]) + " " + core(text[fig.end : hi])))


def _expand_verbs(text: str) -> str:
    # Verbs the documents use interchangeably (the profile's verb synonyms) compare as one word.
    return active().canonical_verbs(text)


def sentence_at(text: str, pos: int) -> str:
    for s, e in sentence_spans(text, _SENTENCE):
        if s <= pos < e:
            return text[s:e]
    return ""
