"""Figure checking: every figure the bot states must be in a passage it cites, for the same
metric, period and scope. Code decides this, not the model.

For each figure of each answer sentence we look for the same figure (unit-aware, see
`rag.numbers.same_figure`) in the cited passages, and accept an occurrence only when

* **metric** — the words just before the figure in the claim (its metric, e.g. 固定资产投资)
  share at least half their character bigrams with the occurrence's own clause (and the
  clause before it when that one only says 同比增长): a project's 计划总投资12亿元 is not
  the zone's 固定资产投资12亿元;
* **period** — the years / plan periods (十四五) the claim names (or else the question
  names) meet those governing the passage sentence (its own, else the nearest before it,
  else the chunk's periods);
* **scope** — 高新区 (zone) vs 昆山市/全市 (city), named in the claim (or the question),
  meets the passage sentence's scope (else the chunk's);
* **subject** — when the question names an organisation (`rag.entity`), the passage sentence
  stating the figure is about it: the zone's 营业收入 is no answer to "中科可控营收多少".

Sentences with an unsupported figure, or with no valid citation, are dropped. When
nothing is left, an extractive quote of the best passage sentence stands in, and
failing that the refusal sentence.

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
)
from rag.entity import names, subject
from rag.numbers import extract_figures, same_figure
from rag.prompt import REFUSAL
from rag.query import defines_bonus, exact_bonus, quoted_names, quoted_terms
from rag.types import Chunk, Claim, ClaimCheck, Figure, FigureCheck, Hit, PremiseCheck, Verification

METRIC_MIN_OVERLAP = 0.5  # share of the claim's metric bigrams the passage clause must contain
GROUNDING_MIN_OVERLAP = 0.4  # figure-free sentences: share of their bigrams found in the cited passage
EXTRACTIVE_MIN_SCORE = 0.35  # fallback quote: share of the question's key bigrams in the sentence
# A small model refuses questions its passages plainly answer (dev set: 1 in 4 answerable items with
# the 1.5B model). When one passage sentence, of the asked period and scope, holds this much of the
# question's key (plus 0.1 for a figure when one is asked for), code quotes it instead of refusing.
# Unanswerable dev items peak at 0.63, answerable ones are mostly above 0.7.
REFUSAL_OVERRIDE_MIN_SCORE = 0.7
# A sentence stating the asked unit for the asked metric gains this × the share of the question's focus
# ("多少个学位" → 学位) it names: held-out "新增学位3660个" scored 0.6 on words alone after the model refused.
FOCUS_WEIGHT = 0.2
METRIC_WINDOW = 6  # CJK characters of metric read next to a figure

# Synonyms the model (or the user) uses for the documents' wording; appended, so both match.
SYNONYMS = {
    "GDP": "地区生产总值",
    "gdp": "地区生产总值",
    "固投": "固定资产投资",
    "规上": "规模以上",
    "营收": "营业收入",
    "高企": "高新技术企业",
    "研发投入": "研发经费",
}

_ZONE = re.compile(r"昆山高新区|(?<!国家)(?<!国家级)(?<!省级)(?<!全国)(?<!各)高新区|全区|本区")
# "昆山市商务局", "昆山市人才科创发展服务中心" name a city body, not the area a figure is counted for.
_CITY = re.compile(r"昆山市(?![\u4e00-\u9fff]{0,8}?(?:局|委|政府|办公室|中心|研究院))|昆山全市|全昆山|全市|本市")
_PLAN = re.compile(r"十[一二三四五]五")
_CLAUSE = "，,；;。！？!?：:\n"
_THRESHOLD = re.compile(r"\s*(?:及)?(?:以上|以下)")
_IDENTIFIER = re.compile(r"[A-Za-z]{2,}[ /-]?$")  # "IEC 61215", "GB/T": the number is part of a standard's name
_SENTENCE = "。！？!?\n"
# Words that carry no metric: verbs of stating, particles, qualifiers. Removed before bigrams.
_FILLER_WORDS = (
    "实现了 实现 完成了 完成 达到了 达到 分别为 分别是 分别 约为 约 共有 共计 共 累计 总计 其中 已经 已 将 "
    "为 是 有 达 到 至 了 的 在 中 位居 位列 居于 居 排名 排在 排 超过 突破 近 "
    "逾 全年 当年 年度 年底 年末 末 截至 截止 以来 期间 同期 左右 以上 大约 大概 多少 几 吗 呢 "
    "吧 对吗 是否 请问 目前 现在 其 该 这 和 与 及"
).split()
# Words that say "how it changed", not "what": a clause made only of these borrows the metric before it.
_GROWTH_WORDS = (
    "同比 环比 年均 较上年 比上年 较 比 增长 增幅 增速 下降 降低 提升 提高 增加 减少 上升 占比 比重 占"
).split()


def _alternation(words: Sequence[str]) -> re.Pattern[str]:
    # Longest first: regex alternation takes the first alternative that matches, so "比重" must precede "比".
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


# "有" is filler in 共有/拥有 but part of the metric in 有效 (有效高企, 有效发明专利).
_FILLERS = re.compile(_alternation(_FILLER_WORDS).pattern.replace("|有|", "|有(?!效)|"))
_GROWTH = _alternation(_GROWTH_WORDS)
_YES_NO = re.compile(r"(吗|吧|么|对不对|是不是|是否|没有?|是这样|对吧)[？?。！!\s]*$")


# --------------------------------------------------------------------------- context helpers


def _expand(text: str) -> str:
    for short, full in SYNONYMS.items():
        if short in text and full not in text:
            text = text.replace(short, full)
    return text


def _core(text: str) -> str:
    """Metric words only: no scope names, figures, fillers or punctuation (each removal leaves a gap)."""
    text = _expand(text)
    # Figures go first, whole: stripping digits first would leave their units ("较2015年" → "年") as metric words.
    for f in extract_figures(text):
        text = text[: f.start] + " " * (f.end - f.start) + text[f.end :]
    text = _ZONE.sub(" ", text)
    text = _CITY.sub(" ", text)
    text = _PLAN.sub(" ", text)
    text = re.sub(r"[\d.,%／/]+|[^\u4e00-\u9fffA-Za-z]", " ", text)
    return _FILLERS.sub(" ", text)


def _is_weak(core: str) -> bool:
    return not _GROWTH.sub(" ", core).strip()


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max((text.rfind(ch, 0, start) for ch in _CLAUSE), default=-1) + 1
    hi_candidates = [i for i in (text.find(ch, end) for ch in _CLAUSE) if i != -1]
    return lo, min(hi_candidates) if hi_candidates else len(text)


def _tail(core: str, n: int = METRIC_WINDOW) -> str:
    """The last `n` CJK characters of `core` (gaps kept, so no bigram spans a removed word)."""
    count, i = 0, len(core)
    while i > 0 and count < n:
        i -= 1
        if "\u4e00" <= core[i] <= "\u9fff":
            count += 1
    return core[i:]


def _head(core: str, n: int = METRIC_WINDOW) -> str:
    count, i = 0, 0
    while i < len(core) and count < n:
        if "\u4e00" <= core[i] <= "\u9fff":
            count += 1
        i += 1
    return core[:i]


def claim_metric(text: str, fig: Figure) -> set[str]:
    """Bigrams of the metric a figure is stated for, read from the words next to it.

    >>> sorted(claim_metric("2024年高新区GDP同比增长6.3%", extract_figures("2024年高新区GDP同比增长6.3%")[1]))
    ['产总', '区生', '地区', '总值', '生产']
    """
    lo, hi = _clause_bounds(text, fig.start, fig.end)
    prefix = _GROWTH.sub(" ", _core(text[lo : fig.start]))
    if prefix.strip():
        return bigrams(_tail(prefix))
    # As in `passage_context`: words after a figure name it only up to the next list item, figure or
    # table cell ("｜2025年目标值" names the next cell, not this one).
    suffix = _GROWTH.sub(" ", _core(re.split(r"[、｜\d]", text[fig.end : hi], maxsplit=1)[0]))
    if suffix.strip():
        return bigrams(_head(suffix))
    if lo > 0:  # "…1135.1亿元，同比增长6.3%": the metric is the previous clause's
        plo, _ = _clause_bounds(text, lo - 1, lo - 1)
        prev = _GROWTH.sub(" ", _core(text[plo : lo - 1]))
        return bigrams(_tail(prev))
    return set()


def passage_context(text: str, fig: Figure) -> set[str]:
    """Bigrams of the clause around a passage figure (plus the clause before when this one is only 同比增长…)."""
    lo, hi = _clause_bounds(text, fig.start, fig.end)
    prefix = _core(text[lo : fig.start])
    # The words after a figure name it only up to the next list item or figure:
    # in "新增…超20万平方米、总量突破270万平方米", 总量 belongs to 270万, not to 20万.
    suffix = re.split(r"[、\d]", text[fig.end : hi], maxsplit=1)[0]
    ctx = prefix + " " + _core(suffix)
    # Only a clause named by neither side borrows the one before ("…，同比增长6.3%"); in
    # "计划总投资额156.1亿元，10亿元以上签约项目6个" the 10亿元 is named by what follows it.
    if _is_weak(prefix) and _is_weak(_core(_THRESHOLD.sub("", suffix))) and lo > 0:
        plo, _ = _clause_bounds(text, lo - 1, lo - 1)
        ctx = _core(text[plo : lo - 1]) + " " + ctx
    return bigrams(ctx)


def _labels(text: str) -> list[tuple[int, str]]:
    out = [(f.start, str(int(f.value))) for f in extract_figures(text) if f.kind == "year"]
    out += [(m.start(), m.group(0)) for m in _PLAN.finditer(text)]
    return sorted(out)


def periods_in(text: str) -> set[str]:
    """Years and plan periods named in `text`.

    >>> sorted(periods_in("“十四五”期间，2024年及2025年前三季度"))
    ['2024', '2025', '十四五']
    """
    return {label for _, label in _labels(text)}


def _chunk_periods(chunk: Chunk) -> set[str]:
    out = set()
    for p in chunk.periods:
        m = re.match(r"(?:19|20)\d{2}", p)
        out.add(m.group(0) if m else p)
    return out


_BASELINE = re.compile(r"(?:较|比|相较|相比|较之)[“\"]?$")


def governing_periods(chunk: Chunk, pos: int) -> set[str]:
    """Periods that govern the passage text at `pos`: those named before it in its sentence (else after
    it), else the nearest earlier sentence's, else the chunk's.

    A baseline ("较2015年上升24个位次", "较“十二五”末") is what a figure is compared with, not its period:
    in "2020年位列第39名，较2015年上升24个位次" the 39 is 2020's rank, never 2015's.

    >>> from rag.types import Chunk
    >>> t = "2020年位列第39名，较2015年上升24个位次。"
    >>> sorted(governing_periods(Chunk("c", "d", "T", "", t, 0, len(t)), t.index("39")))
    ['2020']
    """
    text = chunk.text
    s_lo = max((text.rfind(ch, 0, pos) for ch in _SENTENCE), default=-1) + 1
    s_hi = min([i for i in (text.find(ch, pos) for ch in _SENTENCE) if i != -1] or [len(text)])
    labels = _labels(text)
    own = [(p, lab) for p, lab in labels if s_lo <= p < s_hi and not _BASELINE.search(text[max(0, p - 3) : p])]
    before = {lab for p, lab in own if p < pos}
    if before:
        return before
    if own:
        return {lab for _, lab in own}
    before = [lab for p, lab in labels if p < s_lo]
    if before:
        return {before[-1]}
    return _chunk_periods(chunk)


def scopes_in(text: str) -> set[str]:
    """'zone' and/or 'city' as named in `text`.

    >>> sorted(scopes_in("昆山高新区电子信息产业占全市比重")), sorted(scopes_in("国家高新区综合评价"))
    (['city', 'zone'], [])
    """
    out = set()
    if _ZONE.search(text):
        out.add("zone")
    if _CITY.search(text):
        out.add("city")
    return out


def strip_scopes(text: str) -> str:
    """`text` without the names of the zone or the city (scope is compared apart from the metric).

    >>> strip_scopes("说的是昆山市的排名")
    '说的是 的排名'
    """
    return _CITY.sub(" ", _ZONE.sub(" ", text))


def passage_scopes(chunk: Chunk, pos: int) -> set[str]:
    """Scope of the passage figure at `pos`: named earlier in its sentence, else the chunk's, else the last named."""
    text = chunk.text
    s_lo = max((text.rfind(ch, 0, pos) for ch in _SENTENCE), default=-1) + 1
    # Only what precedes the figure names its subject; a trailing "…彰显出昆山市的韧性" is commentary.
    own = scopes_in(text[s_lo:pos])
    if own:
        return own
    if chunk.scope in ("zone", "city"):
        return {chunk.scope}
    last = None
    for rx, name in ((_ZONE, "zone"), (_CITY, "city")):
        for m in rx.finditer(text, 0, s_lo):
            if last is None or m.start() > last[0]:
                last = (m.start(), name)
    return {last[1]} if last else set()


def is_yes_no(question: str) -> bool:
    """True for questions that ask to confirm a statement (…吗？ / …对吧？ / 核实…)."""
    return bool(_YES_NO.search(question.strip())) or "核实" in question or "确认" in question


_REFUSAL_LIKE = re.compile(r"无法回答|不能回答|无法确定|没有(?:提及|提到|相关|涉及)|未(?:提及|提到|涉及)")


def is_refusal(text: str) -> bool:
    """The refusal sentence, or a model's paraphrase of it (根据资料无法回答…), figures aside."""
    plain = strip_markers(text)
    # A cited sentence that says "未提及X" may still carry a supported figure: judge it as a claim.
    return REFUSAL.rstrip("。") in plain or (plain == text and bool(_REFUSAL_LIKE.search(plain)))


# --------------------------------------------------------------------------- figure checks


def table_row(chunk: Chunk) -> tuple[str, list[tuple[str, str]]]:
    """A table row's indicator name (unit in brackets) and its (column, value) cells.

    >>> t = "表1 指标｜指标名称：孵化器数（个）｜2020年完成值：140"
    >>> table_row(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))
    ('孵化器数（个）', [('2020年完成值', '140')])
    """
    cells = chunk.text.split("｜")
    name = cells[1].split("：", 1)[-1] if len(cells) > 2 else ""
    return name, [(column, value) for column, _, value in (cell.rpartition("：") for cell in cells[2:])]


def indicator_label(name: str) -> str:
    """An indicator name without its bracketed unit: "孵化器数（个）" → "孵化器数"."""
    return re.sub(r"[（(][^（()）]*[）)]", "", name)


def table_cells(chunk: Chunk) -> list[tuple[str, Figure, set[str], str]]:
    """A table row's values as sentences: (text, its figure, the column's periods, the column's name).

    "表1 …｜指标名称：海内外高层次人才（万人）｜2020年完成值：4.5｜2025年目标值：6.2" has the value 6.2
    read as "海内外高层次人才6.2万人", for 2025 (the unit sits in the indicator's name, the year in the column's).

    >>> t = "表1 指标｜指标名称：海内外高层次人才（万人）｜2020年完成值：4.5｜2025年目标值：6.2"
    >>> [(s, f.raw, sorted(p)) for s, f, p, _ in table_cells(Chunk("c", "d", "T", "", t, 0, len(t), kind="table_row"))]
    [('海内外高层次人才4.5万人', '4.5万人', ['2020']), ('海内外高层次人才6.2万人', '6.2万人', ['2025'])]
    """
    name, cells = table_row(chunk)
    unit = re.search(r"[（(]([^（()）]*)[）)]$", name)
    label = indicator_label(name)
    out = []
    for column, value in cells:
        synth = label + value + (unit.group(1) if unit else "")
        for g in [g for g in extract_figures(synth) if g.start >= len(label)][:1]:
            out.append((synth, g, periods_in(column), column))
    return out


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
        return "" if occurrences or str(int(fig.value)) in _chunk_periods(chunk) else "not_found"
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


def same_kind_unit(a: Figure, b: Figure) -> bool:
    return a.kind == b.kind and a.unit == b.unit and a.kind in ("number", "percent")


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


def _with_cites(text: str, cites: Sequence[int]) -> str:
    """Sentence text with exactly `cites` as markers, placed before its closing punctuation."""
    body = strip_markers(text).rstrip()
    end = len(body)
    while end > 0 and body[end - 1] in "。！？!?；;":
        end -= 1
    return body[:end] + "".join(f"[{n}]" for n in cites) + body[end:]


def verify(answer_text: str, passages: Sequence[Hit], question: str) -> Verification:
    """Check and repair a generated answer against the passages it was given (numbered 1..N).

    See the module docstring for the rules; `Verification.claims` records every decision.
    """
    text, invented = clean_markers(answer_text, len(passages))
    q_periods = periods_in(question)
    q_scopes = scopes_in(question)
    yes_no = is_yes_no(question)
    framed = framed_counts(question)
    entity = subject(question, passages)
    q_terms = quoted_names(question)
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
        check, cites = _check_claim(claim, passages, q_periods, q_scopes, yes_no, framed, entity, q_terms)
        checks.append(check)
        unsupported += [f.raw for f in check.figures if not f.supported]
        if check.reason == "off_period":
            unsupported += [f.raw for f in extract_figures(strip_markers(claim.text)) if f.kind == "year"]
        if check.supported:
            kept.append(_with_cites(claim.text, cites))
    unsupported = list(dict.fromkeys(unsupported))

    # Kept sentences, else the refusal the model itself gave, else a verbatim quote, else the refusal.
    fallback = refused = False
    if kept and not yes_no and not (states_asked_unit(question, "".join(kept)) and _states_amount(question, kept)):
        # "年产能是多少GW？" answered without any figure in GW does not answer it, however true it is.
        said_refusal, kept = True, []
    unknown = absent_terms(question, passages)
    if unknown:
        # "宁德时代在高新区投了什么项目？": no passage names 宁德时代, so no sentence naming it is grounded.
        kept = [k for k in kept if not any(t in k for t in unknown)]
        said_refusal = said_refusal or not kept
    terms = quoted_terms(question)
    if kept and terms and not any(t in unquoted("".join(kept)) for t in terms):
        kept = []  # "“一廊”是指什么？" answered without ever naming 一廊 answers something else
    if not yes_no and _unstated_figures(question, passages, framed):
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
            out = extractive_answer(question, passages, min_score=min_score)
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


_ASKED_UNIT = re.compile(
    r"多少(?:个)?(GW|MW|万台|台|万人|人|家|个|项|件|亿美元|万美元|亿元|万元|万平方米|平方米|平方公里|平方千米|钱)"
)
# What a unit asked for may be written as: "多少钱" is answered in 元 or 美元, 平方公里 also as 平方千米.
_UNIT_FORMS = {"钱": "元", "平方公里": "平方公里|平方千米", "平方千米": "平方公里|平方千米"}
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
    plain = strip_markers(answer)
    for f in extract_figures(plain):
        if not _states_unit(unit, f.raw):
            continue
        ctx = passage_context(plain, f) | claim_metric(plain, f)
        if not ctx or max(overlap(key, ctx), overlap(ctx, key)) >= ASKED_METRIC_MIN:
            return True
    return False


_ASKS_AMOUNT = re.compile(r"多少(?!年)|几[个家项件名位批次倍万亿千百]|多大|多高|多长")


def _states_amount(question: str, sentences: Sequence[str]) -> bool:
    """False when the question asks how much ("募资多少？") and the sentences state no amount at all."""
    if not _ASKS_AMOUNT.search(question):
        return True
    return any(f.kind != "year" for s in sentences for f in extract_figures(strip_markers(s)))


def asked_unit(question: str) -> str:
    """The unit of a "多少<unit>" question ('' when it asks for none)."""
    m = _ASKED_UNIT.search(question)
    return m.group(1) if m else ""


def _states_unit(unit: str, text: str) -> bool:
    if not unit:
        return True
    form = _UNIT_FORMS.get(unit) or re.escape(unit.lstrip("万亿"))
    return bool(re.search(r"\d[\d.,]*\s*[万亿]?(?:" + form + ")", strip_markers(text)))


# --------------------------------------------------------------------------- extractive


# How people ask, not what they ask about: question words with their measure word ("多少个", "几家"),
# colloquial fillers ("搞的那个", "叫啥"). Removed from the question's key so they never count as overlap.
_ASKING = re.compile(
    r"(?:多少|几)[个家项件名位人次所台种批条座]?|叫啥|叫什么|是啥|是谁|(?:是)?(?:个)?什么|啥|"
    r"哪(?:几|一)?[个家些里位项件年天种]?|谁|"
    r"那个|这个|那些|这些|搞|弄|最后|一下|到底|究竟|具体|听说|据说|那会儿|那时候|怎么样|怎么|如何|咋"
)


def question_key(question: str) -> set[str]:
    """Bigrams of what the question is about (no scope names, years, question words or colloquial fillers).

    >>> sorted(question_key("高新区2021年办民生实事，新增了多少个学位？"))
    ['办民', '学位', '实事', '新增', '民生', '生实']
    """
    return bigrams(_core(_ASKING.sub(" ", question)))


def _unstated_figures(question: str, passages: Sequence[Hit], framed: set[tuple[float, str]]) -> list[str]:
    """Amounts, percentages, ranks the question names (not years, not "哪两项") that no passage states."""
    figs = [f for f in extract_figures(question) if f.kind != "year" and (f.value, f.unit) not in framed]
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
    runs = re.findall(r"[\u4e00-\u9fffA-Za-z]{3,}", _core(_ASKING.sub(" ", question)))[:1]
    # Most of a run's bigrams missing, not the run itself: "中科可控发布" is not in "中科可控…有限公司发布".
    return [r for r in runs if overlap(bigrams(r), grams) < 0.5 and overlap(bigrams(_expand(r)), grams) < 0.5]


def focus(question: str) -> set[str]:
    """Bigrams of what is asked for: the words just before the question word ("董事长叫啥" → 董事长), or just
    after it when the question opens with it ("哪几家企业…"). Empty when there is no question word.

    >>> sorted(focus("做数字微流控核酸检测仪的液滴逻辑，董事长叫啥？"))
    ['事长', '董事']
    >>> sorted(focus("高新区2021年办民生实事，新增了多少个学位？"))
    ['学位']
    """
    m = _ASKING.search(question)
    while m and m.group(0) in ("那个", "这个", "那些", "这些", "搞", "弄", "最后", "一下", "听说", "据说"):
        m = _ASKING.search(question, m.end())
    if not m:
        return set()
    # "多少个学位", "什么模式": the noun after the question word; "董事长叫啥", "GDP是多少": the words before it.
    lo, hi = _clause_bounds(question, m.start(), m.end())
    after = _head(_core(_ASKING.sub(" ", question[m.end() : hi])), 4).strip()
    if after:
        return bigrams(after)
    return bigrams(_tail(_core(question[lo : m.start()]), 3).strip())


def extractive_answer(
    question: str,
    passages: Sequence[Hit],
    max_sentences: int = 1,
    strict: bool = True,
    min_score: float = EXTRACTIVE_MIN_SCORE,
) -> str:
    """The passage sentence(s) that best match the question, quoted verbatim with `[n]`; '' when none fits.

    Sentences about another year than the question's, or another scope, are never quoted — unless
    `strict` is False, which `nearest_other` uses to show what the documents say instead.
    """
    key = question_key(question)
    q_periods = periods_in(question) if strict else set()
    q_scopes = scopes_in(question) if strict else set()
    wants_figure = bool(re.search(r"多少|几|多大|多高|比重|比例|排名|第几|增长|增速", question))
    unit = asked_unit(question)
    wanted = focus(question)
    entity = subject(question, passages)
    terms = quoted_terms(question)
    scored: list[tuple[float, int, str]] = []
    for n, hit in enumerate(passages, start=1):
        chunk = hit.chunk
        for s, e in sentence_spans(chunk.text, _SENTENCE):
            sent = chunk.text[s:e]
            if q_periods and not (q_periods & (periods_in(sent) or governing_periods(chunk, s))):
                continue
            scopes = passage_scopes(chunk, s)
            if q_scopes and scopes and not (q_scopes & scopes):
                continue
            if (unit and not states_unit_for(unit, key, sent)) or (entity and not names(chunk.text, s, entity)):
                continue
            if terms and not any(t in unquoted(sent) for t in terms):
                continue  # the question quotes a term: only a sentence naming it can answer
            # The threshold counts word overlap and a definition of the quoted term; exact matches
            # (figures, long shared runs) only rank, so they never turn a refusal into a quote.
            score = overlap(key, bigrams(sent)) + defines_bonus(question, sent)
            if wants_figure and any(f.kind != "year" for f in extract_figures(sent)):
                score += 0.1
            if unit:  # it states the asked unit for the asked metric (checked above): what is asked weighs more
                score += FOCUS_WEIGHT * overlap(wanted, bigrams(sent))
            if score >= min_score:
                scored.append((score + exact_bonus(question, sent), n, sent))
    scored.sort(key=lambda t: -t[0])
    out = []
    for _, n, sent in scored[:max_sentences]:
        out.append(_with_cites(sent if sent[-1] in "。！？!?" else sent + "。", [n]))
    return "".join(out)


def nearest_other(question: str, passages: Sequence[Hit]) -> str:
    """For a refused question that names a period or scope: the best sentence about the same metric for
    another period or scope, quoted with `[n]` ('' when there is none), so the user learns what the
    documents do cover — 2023 asked, 2021 and 2024 given; 高新区 asked, only 全市 given.

    >>> from rag.types import Chunk, Hit
    >>> t = "2024年,昆山高新区实现地区生产总值1135.1亿元。"
    >>> c = Chunk("c", "d.txt", "T", "", t, 0, len(t), ("2024",), "zone")
    >>> nearest_other("2023年昆山高新区地区生产总值是多少？", [Hit(c, 1.0)])
    '2024年,昆山高新区实现地区生产总值1135.1亿元[1]。'
    """
    if not (periods_in(question) or scopes_in(question)):
        return ""
    quote = extractive_answer(question, passages, strict=False)
    if not quote or not any(f.kind != "year" for f in extract_figures(strip_markers(quote))):
        return ""  # only a sentence with the asked-for kind of figure is worth showing
    return quote


# --------------------------------------------------------------------------- premises


def check_premise(question: str, passages: Sequence[Hit]) -> PremiseCheck | None:
    """Hold a figure asserted by the question against the passages.

    Returns None when the question is not a yes/no question, or asserts no figure the passages
    speak to; otherwise whether
    they agree and, when not, the passage's own figure for that metric.
    """
    q = question.strip()
    if not is_yes_no(q):
        return None  # "965亿元和1135.1亿元分别是哪一年的？" names figures but asserts nothing
    figs = extract_figures(q)
    q_periods = periods_in(q)
    q_scopes = scopes_in(q)
    # Non-year figures first: "2024年GDP达1235亿元吗" asserts the GDP, the year only frames it.
    ordered = [f for f in figs if f.kind != "year"] + [f for f in figs if f.kind == "year"]
    found: list[PremiseCheck] = []
    for fig in ordered:
        metric = claim_metric(q, fig) if fig.kind != "year" else _year_context(q, fig)
        if not metric:
            continue
        periods = q_periods - ({str(int(fig.value))} if fig.kind == "year" else set())
        best: tuple[float, bool, int, Figure, Chunk] | None = None
        for n, hit in enumerate(passages, start=1):
            chunk = hit.chunk
            for g in extract_figures(chunk.text):
                if not comparable(fig, g):
                    continue
                ctx = _year_context(chunk.text, g) if fig.kind == "year" else passage_context(chunk.text, g)
                score = overlap(metric, ctx)
                if score < METRIC_MIN_OVERLAP:
                    continue
                if fig.kind != "year":
                    gp = governing_periods(chunk, g.start)
                    if periods and gp and not (periods & gp):
                        continue
                    gs = passage_scopes(chunk, g.start)
                    if q_scopes and gs and not (q_scopes & gs):
                        continue
                agrees = same_figure(fig, g)
                cand = (score + (0.01 if agrees else 0.0), agrees, n, g, chunk)
                if best is None or cand[0] > best[0]:
                    best = cand
        if best is not None:
            _, agrees, n, g, chunk = best
            found.append(
                PremiseCheck(
                    claimed=fig.raw, agrees=agrees, source=g.raw, passage=n, sentence=_sentence_at(chunk.text, g.start)
                )
            )
    # One wrong figure makes the premise wrong: "1.71平方米组件效率是28.36%吗" agrees on 1.71平方米 only.
    return next((f for f in found if not f.agrees), found[0] if found else None)


def comparable(a: Figure, b: Figure) -> bool:
    """Same kind of figure (amount, percentage, year, rank, ratio) in compatible units."""
    classes = {"number": "n", "comparison": "n", "percent": "p", "year": "y", "rank": "r", "ratio": "q"}
    if classes[a.kind] != classes[b.kind]:
        return False
    return a.unit == b.unit or not a.unit or not b.unit


def _year_context(text: str, fig: Figure) -> set[str]:
    """Bigrams of what happened in a year: its clause (中科可控…落户), or its whole sentence when that names
    no other year, as the subject often sits in another clause ("自2019年落地昆山高新区以来,协鑫光电建成…")."""
    lo, hi = _clause_bounds(text, fig.start, fig.end)
    s_lo = max((text.rfind(ch, 0, fig.start) for ch in _SENTENCE), default=-1) + 1
    s_hi = min([i for i in (text.find(ch, fig.end) for ch in _SENTENCE) if i != -1] or [len(text)])
    if sum(f.kind == "year" for f in extract_figures(text[s_lo:s_hi])) == 1:
        lo, hi = s_lo, s_hi
    return bigrams(_expand_verbs(_core(text[lo : fig.start]) + " " + _core(text[fig.end : hi])))


# Verbs the documents use interchangeably for a company's arrival: compared as one word.
_ARRIVAL = re.compile(r"落地|入驻|落户|扎根")


def _expand_verbs(text: str) -> str:
    return _ARRIVAL.sub("落户", text)


def _sentence_at(text: str, pos: int) -> str:
    for s, e in sentence_spans(text, _SENTENCE):
        if s <= pos < e:
            return text[s:e]
    return ""


__all__ = [
    "REFUSAL",
    "check_premise",
    "extractive_answer",
    "nearest_other",
    "verify",
]
