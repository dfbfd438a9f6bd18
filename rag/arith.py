"""Arithmetic the question asks for, done by code on figures the documents state.

Small models list the parts ("2021年965亿元…2024年1135.1亿元") but do not add or subtract them
reliably. Two cases are computed here, each shown with its operands so a reader can redo it:

* `derive`: a total (加起来, 一共, 合计) or a change (增加了多少, 相差) of two figures the verified
  answer states, the pair whose metric best matches the question.
* `infer`: a value the passages imply but never state: an earlier value from a later one and the
  change since ("十三五期间增长11.9万人，达45.6万人" → 十二五末 33.7万人; "第39名，较2015年上升24个位次"
  → 2015年 第63名), or the years between two dated events ("2007年1月成立" … "2026年1月上市" → 19年).

>>> derive("从2021到2024年GDP增加了多少亿元？", "2021年地区生产总值965亿元[1]。2024年地区生产总值1135.1亿元[2]。")
'按资料数字计算：1135.1亿元 − 965亿元 = 170.1亿元。'
>>> derive("两次增资加起来一共多少？", "2021年增资5000万美元[1]；2023年增资1亿美元[1]。")
'按资料数字计算：5000万美元 + 1亿美元 = 1.5亿美元。'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from string import Template

from rag.bind import is_target
from rag.cite import bigrams, overlap, sentence_spans, strip_markers
from rag.dating import governing_mentions, governing_periods, periods_in, precise_periods
from rag.frame import DIFF as _DIFF
from rag.frame import Frame, as_frame, question_key
from rag.grammar import claim_metric, metric_words, passage_context, passage_scopes, same_measure, scopes_in
from rag.numbers import extract_figures
from rag.profile import active
from rag.prompt import load_prompts
from rag.ratio import ASKS_GAP, format_value, gap, share
from rag.table import table_cells
from rag.types import Chunk, Figure, Hit

# Share of one figure's metric bigrams the other's must hold to combine them: one names the same thing with
# more words (乐美包装增资 ⊃ 增资: 1.0); two sorts of one kind (电子信息产业产值 vs 装备制造产业产值: 0.43,
# 完成专利授权 vs 发明专利授权: 0.6) are different metrics, and no sum or change of them is asked for.
SAME_METRIC = 0.8
_OF_WHICH_PART = re.compile(r"^[^。；;！？!?]*?其中")  # the second figure is a part of the first


def derive(question: str | Frame, answer: str, sources: str = "") -> str:
    """The computation sentence for `question` from figures in `answer` (and a target of the question that
    `sources` state), or '' when none is asked or possible."""
    fr = as_frame(question)  # the caller's parse, when it has one: a question is parsed once
    question = fr.text
    by_wording = share(question, answer) or gap(question, answer, sources)
    if by_wording:
        return by_wording
    op = "+" if fr.operation == "sum" else "−" if _DIFF.search(question) else ""
    if not op:
        return ""
    plain = strip_markers(answer)
    key = question_key(question)
    # Amounts are written in digits; "二期"/"三期" are names of phases, not quantities to add.
    figs = [f for f in extract_figures(plain) if f.kind == "number" and f.unit and not f.op and re.search(r"\d", f.raw)]
    # A question that names its period takes operands of that period only: 2025's total and 2026's 1—9月
    # figure of the same indicator add up to nothing.
    if fr.parts or fr.periods:
        dated = Chunk("answer", "", "", "", plain, 0, len(plain))
        figs = [f for f in figs if _in_periods(fr, {m.label for m in governing_mentions(dated, f.start)})]
    if op == "−" and ASKS_GAP.search(question):
        # "还差多少": a gap runs from what is achieved to a target; two targets (2026's and 2028's) have none.
        said = Chunk("answer", "", "", "", plain, 0, len(plain))
        if sum(not is_target(said, f) for f in figs) == 0:
            return ""
    best: tuple[float, Figure, Figure] | None = None
    for i, a in enumerate(figs):
        for b in figs[i + 1 :]:
            if a.unit != b.unit or a.value == b.value:
                continue
            if _OF_WHICH_PART.search(plain[a.end : b.start]):
                continue  # "3126件，其中发明专利842件": a whole and its part are never added or subtracted
            ma, mb = claim_metric(plain, a), claim_metric(plain, b)
            same = max(overlap(ma, mb), overlap(mb, ma)) >= SAME_METRIC
            if not same and not (op == "+" and _named_parts(question, metric_words(plain, a), metric_words(plain, b))):
                continue  # GDP 965亿元 and 工业总产值 1720亿元 share a unit, not a metric: no sum or change of them
            score = overlap(key, ma) + overlap(key, mb)
            if best is None or score > best[0]:
                best = (score, a, b)
    if best is None:
        return ""
    _, a, b = best
    if op == "−" and a.value < b.value:
        a, b = b, a
    value = a.value + b.value if op == "+" else a.value - b.value
    expr = f"{a.raw} {op} {b.raw} = {format_value(value, a if '亿' in a.raw else b)}"
    return Template(load_prompts("premise")["arithmetic"]).substitute(expression=expr)


def _named_parts(question: str, a: str, b: str) -> bool:
    """Whether two metrics are one measure of two things the question names: 电子信息产业产值 and
    装备制造产业产值 for "电子信息和装备制造…产值加起来". Their shared ending is the measure; what precedes it
    in each must be a word of the question, and differ.

    >>> _named_parts("电子信息和装备制造产值加起来多少", "电子信息产业产值", "装备制造产业产值")
    True
    >>> _named_parts("产值加起来多少", "地区生产总值", "工业总产值")
    False
    >>> _named_parts("企业和高校的经费加起来", "分主体看 各类企业R D经费", "高校R D经费")
    True
    """
    n = 0
    while n < min(len(a), len(b)) and a[len(a) - 1 - n] == b[len(b) - 1 - n]:
        n += 1
    heads = tuple((x[: len(x) - n].split() or [""])[-1] for x in (a, b))
    # "各类企业R&D经费" answers "企业和高等学校…加起来": a head is named when the question holds its ending.
    named = [next((h[i:] for i in range(len(h) - 1) if h[i:] in question), "") for h in heads]
    return n >= 2 and all(named) and named[0] != named[1]


def _in_periods(fr: Frame, labels: set[str]) -> bool:
    """Whether a figure dated by `labels` (none: undated) is of a period the question asks: a part it names
    ("2026前三季度"), or a year it asks whole.

    >>> from rag.frame import frame
    >>> _in_periods(frame("2026年前三季度两项加起来多少"), {"2025"})
    False
    >>> _in_periods(frame("2021年到2024年增加多少"), {"2024"})
    True
    """
    labels = {label.removesuffix("目标") for label in labels if label[:4].isdigit()}
    if not labels or labels & fr.parts:
        return True
    years = {p for p in fr.periods if p.isdigit()}
    whole = {y for y in years if not any(p[:4] == y and p[4:] for p in fr.parts)}
    return bool(labels & whole)


# ----------------------------------------------------------------------------------------- infer

INFER_MIN_OVERLAP = 0.5  # share of the passage metric's bigrams the question must contain
_ASKS_INFERENCE = re.compile(r"推算|倒推|推断|估算|算一下|计算|推出")
# Asking for a plan period's end or a company's first year is asking for a baseline the documents imply.
_ASKS_EARLIER = re.compile(r"五[”\"]?末|刚成立|成立时|成立那|起步时")
_ELAPSED = re.compile(
    r"从(?P<a>[^，,。？?]{1,10}?)到(?P<b>[^，,。？?]{1,14}?)[，,]?(?:用了|花了|经过|历时|相隔|隔了|共)?(?:大概|大约|约)?(?:多少|几)年"
)
_RANK_SHIFT = re.compile(r"较(\d{4})年(上升|提升|前进|提高|下降|后退|下滑)$")
_RISE = ("上升", "提升", "前进", "提高")
_GROWTH_TO = re.compile(r"(增长|增加|净增|提高|提升)$")
_REACH = re.compile(r"^[，,、]?(?:达到|达|至|到|(?:提高|提升|上升|增长|增)[到至])$")

_TIMES = re.compile(r"[，,]?是(?P<when>[^，,。；;]{0,14}?)的(?P<n>\d+(?:\.\d+)?)倍")


def _plans() -> list[str]:
    """The profile's plan periods in order: what a plan period grew from is the end of the one before it."""
    return [p for p, _, _ in sorted(active().plan_periods, key=lambda t: t[1])]


def _num(value: float) -> str:
    return f"{value:.10g}"


def _clauses(text: str) -> list[tuple[int, int]]:
    return sentence_spans(text, "。；;！？!?\n")


def _quote(text: str, span: tuple[int, int], n: int) -> str:
    quote = re.sub(r"\s*\n\s*", "", text[span[0] : span[1]]).rstrip("。；;，, ")
    if quote.startswith("“") and "”" not in quote:
        quote = quote[1:]  # the clause opens a quotation it does not close: the mark alone would mislead
    return quote + f"[{n}]"


def _rank_shift(sent: str, figs: Sequence[Figure], question: str) -> tuple[Figure, str, str] | None:
    """The rank before a stated shift.

    "位列第39名，较2015年上升24个位次" → (the 24个 figure, "2015年", "39 + 24 = 63，即第63名").
    """
    if not re.search(r"第几|名次|位次|排名|排第", question):
        return None
    for f in figs:
        shift = _RANK_SHIFT.search(sent[: f.start][-12:])
        rank = next((g for g in reversed(figs) if g.kind == "rank" and g.end <= f.start), None)
        if f.kind == "number" and shift and rank:
            sign = 1 if shift.group(2) in _RISE else -1
            value = _num(rank.value + sign * f.value)
            op = "+" if sign > 0 else "−"
            return (
                f,
                f"{shift.group(1)}年",
                f"{_num(rank.value)} {op} {_num(f.value)} = {value}，即第{value}{rank.unit}",
            )
    return None


def _growth_to(sent: str, figs: Sequence[Figure], plans: set[str]) -> tuple[Figure, str, str] | None:
    """The value a plan period grew from.

    "十三五期间…增长11.9万人，达45.6万人" → (the 11.9万人 figure, "“十二五”末", "45.6万人 − 11.9万人 = 33.7万人").
    """
    for a, b in zip(figs, figs[1:], strict=False):
        if not (_GROWTH_TO.search(sent[: a.start]) and _REACH.match(sent[a.end : b.start])):
            continue
        since = re.search(f'较[“"]?({active().plan_rx.pattern})[”"]?末', sent[: a.start])
        order = _plans()
        # The plan named as the baseline ("较“十二五”末增长…") wins; else the one before the sentence's latest plan.
        earlier = [since.group(1)] if since else [order[order.index(p) - 1] for p in plans if p in order[1:]]
        if not earlier:
            continue
        target = f"“{max(earlier, key=order.index)}”末"
        if a.kind == b.kind == "number" and a.unit == b.unit:
            return a, target, f"{b.raw} − {a.raw} = {format_value(b.value - a.value, b)}"
        if a.unit == "百分点" and b.kind == "percent":  # "增长0.75个百分点，提高到3.7%"
            return a, target, f"{b.raw} − {a.raw} = {_num(round(b.value - a.value, 6))}%"
    return None


def _times(sent: str, figs: Sequence[Figure]) -> tuple[Figure, str, str] | None:
    """The value a stated multiple was taken of.

    "2021年销售额5000万元，是2016年刚成立时的50倍" → (the 50 figure, "2016年", "5000万元 ÷ 50 = 100万元").
    """
    m = _TIMES.search(sent)
    year = re.search(r"((?:19|20)\d{2})年", m.group("when")) if m else None
    if not m or not year:
        return None
    base = next((f for f in reversed(figs) if f.end <= m.start() and f.kind == "number" and f.unit), None)
    times = next((f for f in figs if f.start == m.start("n")), None)
    n = float(m.group("n"))
    if base is None or times is None or n <= 0:
        return None
    return times, f"{year.group(1)}年", f"{base.raw} ÷ {m.group('n')} = {format_value(base.value / n, base)}"


def _baselines(question: str, passages: Sequence[Hit]) -> list[tuple[float, str]]:
    """(score, sentence) for each earlier value the passages imply for the question's period."""
    q_periods = periods_in(question)
    # a year asks for the plan period ending then: "2015年" is "十二五末"
    q_labels = {f"{p}年" for p in q_periods if p.isdigit()} | {
        f"“{plan}”末" for plan, _, end in active().plan_periods if plan in q_periods or str(end) in q_periods
    }
    q_scopes, key = scopes_in(question), question_key(question)
    out: list[tuple[float, str]] = []
    for n, hit in enumerate(passages, start=1):
        text = hit.chunk.text
        for span in _clauses(text):
            sent = text[span[0] : span[1]]
            figs = extract_figures(sent)
            if not figs:
                continue
            plans = periods_in(sent) | governing_periods(hit.chunk, span[0] + figs[0].start)
            found = _rank_shift(sent, figs, question) or _growth_to(sent, figs, plans) or _times(sent, figs)
            if found is None or found[1] not in q_labels:
                continue
            fig, target, expr = found
            scopes = passage_scopes(hit.chunk, span[0] + fig.start)
            if q_scopes and scopes and not (q_scopes & scopes):
                continue
            head = sent[: fig.start]
            metric = question_key(re.split(r"[，,]较", head)[0]) or bigrams(head)
            score = overlap(metric, key)
            if score >= INFER_MIN_OVERLAP:
                out.append((score, _render(_quote(text, _clause_of(text, span, fig), n), target, expr)))
    return out


def _clause_of(text: str, span: tuple[int, int], fig: Figure) -> tuple[int, int]:
    """The sentence `span` cut after the clause holding `fig` (the quote ends where the operands do)."""
    end = span[0] + fig.end
    stops = [i for i in (text.find(ch, end, span[1]) for ch in "，,；;。") if i != -1]
    nxt = min(stops) if stops else span[1]
    # keep the clause that states the reached value too ("增长11.9万人，达45.6万人")
    stops2 = [i for i in (text.find(ch, nxt + 1, span[1]) for ch in "，,；;。") if i != -1]
    if re.match(r"[，,]?(?:达到|达|至|到|(?:提高|提升|上升|增长|增)[到至])", text[nxt : nxt + 4]):
        nxt = min(stops2) if stops2 else span[1]
    return span[0], nxt


def _render(quotes: str, target: str, expression: str) -> str:
    return Template(load_prompts("premise")["inference"]).substitute(
        quotes=quotes, target=target, expression=expression
    )


def _event_date(passages: Sequence[Hit], subject: str, verb: str) -> tuple[int, int, str] | None:
    """(year, month or 0, quoted clause) of the passage clause that dates `subject`'s `verb` event."""
    for n, hit in enumerate(passages, start=1):
        text = hit.chunk.text
        for span in _clauses(text):
            sent = text[span[0] : span[1]]
            if verb not in sent or (subject and subject not in sent):
                continue
            years = [f for f in extract_figures(sent) if f.kind == "year" and f.start < sent.index(verb)]
            if not years:
                continue
            y = years[-1]
            month = re.match(r"(\d{1,2})月", sent[y.end :])
            return (
                int(y.value),
                int(month.group(1)) if month else 0,
                _quote(text, (span[0], span[0] + sent.index(verb) + len(verb)), n),
            )
    return None


def _elapsed(question: str, passages: Sequence[Hit]) -> str:
    m = _ELAPSED.search(question)
    if not m:
        return ""
    subject = re.sub(r"[^\u4e00-\u9fffA-Za-z]", "", question[: m.start()])
    verbs = [re.sub(r"[^\u4e00-\u9fff]", "", m.group(g))[-2:] for g in ("a", "b")]
    if not all(verbs):
        return ""
    dates = [_event_date(passages, subject, v) for v in verbs]
    if None in dates:
        return ""
    (y1, m1, q1), (y2, m2, q2) = dates  # type: ignore[misc]
    months = (y2 - y1) * 12 + (m2 - m1 if m1 and m2 else 0)
    if months <= 0:
        return ""
    years, rest = divmod(months, 12)
    span = f"{years}年" + (f"{rest}个月" if rest else "")
    return _render(f"{q1}，{q2}", "两者相隔", f"{y2} − {y1}，即{span}")


def _change(fr: Frame, passages: Sequence[Hit]) -> str:
    """ "从2021年到2024年GDP增加了多少？": each year's figure for the asked metric, from the passages, subtracted."""
    question = fr.text
    years = sorted({p for p in periods_in(question) if p.isdigit()})
    if not _DIFF.search(question) or len(years) != 2:
        return ""
    # The metric is what changed, not the change: "净增" in "净增加了多少" must not pick the 净增79家 figure.
    # What follows the change question is another question ("…多出几件？大概涨了百分之多少"): not the metric.
    asked = question[: _DIFF.search(question).end()]  # type: ignore[union-attr]
    key, q_scopes = question_key(_DIFF.sub(" ", asked)), scopes_in(question)
    # Both operands cover the same part of their year, the asked one when the question names it: a
    # 1—9月 total minus last year's whole-year total is no change of anything.
    asked_part = next((p[4:] for p in fr.parts if p[:4].isdigit() and p[4:]), "")
    found: dict[str, tuple[float, Figure, str, str]] = {}
    for n, hit in enumerate(passages, start=1):
        if hit.chunk.kind == "table_row":
            # A plan table: each year's column read as "指标名 value unit" (its target or achieved value).
            for synth, g, periods, column in table_cells(hit.chunk):
                year = periods & set(years)
                score = overlap(key, passage_context(synth, g))
                part = next((p[4:] for p in precise_periods(column)), "")
                if part != asked_part:
                    continue
                if len(year) == 1 and g.unit and score >= INFER_MIN_OVERLAP and not synth[: g.start].endswith("增长"):
                    y = next(iter(year))
                    if score > found.get(y, (0.0,))[0]:
                        found[y] = (score, g, f"{synth[: g.start]}{column}{g.raw}[{n}]", metric_words(synth, g))
            continue
        text = hit.chunk.text
        for g in extract_figures(text):
            if g.kind != "number" or not g.unit or g.op or g.unit in ("年", "月", "日"):
                continue
            # A passage joined from neighbouring chunks may carry several periods; one asked year must govern.
            periods = governing_periods(hit.chunk, g.start) & set(years)
            scopes = passage_scopes(hit.chunk, g.start)
            if len(periods) != 1 or (q_scopes and scopes and not q_scopes & scopes):
                continue
            part = next((m.label[4:] for m in governing_mentions(hit.chunk, g.start) if m.label[:4].isdigit()), "")
            if part.removesuffix("目标") != asked_part:
                continue
            score = overlap(key, passage_context(text, g))
            span = next((s, e) for s, e in _clauses(text) if s <= g.start < e)
            year = next(iter(periods))
            if score >= INFER_MIN_OVERLAP and score > found.get(year, (0.0,))[0]:
                found[year] = (
                    score,
                    g,
                    _quote(text, _clause_of(text, span, replace(g, start=g.start - span[0], end=g.end - span[0])), n),
                    metric_words(text, g),
                )
    if len(found) != 2:
        return ""
    (_, a, qa, ma), (_, b, qb, mb) = found[years[0]], found[years[1]]
    if a.unit != b.unit or not same_measure(ma, mb):
        return ""  # 储能领域发明专利授权 of one year and 发明专利授权 of another are no change of one measure
    return _render(
        f"{qa}，{qb}", f"{years[0]}年至{years[1]}年的变化", f"{b.raw} − {a.raw} = {format_value(b.value - a.value, b)}"
    )


_EXCEPT = re.compile(r"不算|除了|除去|之外|以外|其余|剩下")
_OF_WHICH = re.compile(r"^[，,]\s*其中")


def _remainder(question: str, passages: Sequence[Hit]) -> str:
    """ "不算A类高端人才的还有多少人？" from "外国专家达1847人，其中A类高端人才646人": the total less the part."""
    if not _EXCEPT.search(question):
        return ""
    key = question_key(question)
    for n, hit in enumerate(passages, start=1):
        text = hit.chunk.text
        figs = [f for f in extract_figures(text) if f.kind == "number" and f.unit and not f.op]
        for total, part in zip(figs, figs[1:], strict=False):
            between = text[total.end : part.start]
            if total.unit != part.unit or not _OF_WHICH.match(between) or part.value >= total.value:
                continue
            label, whole = bigrams(_OF_WHICH.sub("", between)), passage_context(text, total)
            if overlap(label, key) < INFER_MIN_OVERLAP or overlap(whole, key) < INFER_MIN_OVERLAP:
                continue
            span = next((s, e) for s, e in _clauses(text) if s <= part.start < e)
            quote = _quote(text, (span[0], part.end), n)
            return _render(
                quote, "其余部分", f"{total.raw} − {part.raw} = {format_value(total.value - part.value, total)}"
            )
    return ""


def infer(question: str | Frame, passages: Sequence[Hit]) -> str:
    """The sentence computing what the question asks from what the passages state, or '' when none applies.

    Elapsed time is inferred whenever the question asks "从…到…多少年"; earlier values only when the question
    asks for a computation (推算, 估算…), as a direct answer should win when the documents have one.
    """
    fr = as_frame(question)
    question = fr.text
    elapsed = _elapsed(question, passages) or _change(fr, passages) or _remainder(question, passages)
    if elapsed or not (_ASKS_INFERENCE.search(question) or _ASKS_EARLIER.search(question)):
        return elapsed
    found = _baselines(question, passages)
    return max(found)[1] if found else ""


__all__ = ["derive", "infer"]
