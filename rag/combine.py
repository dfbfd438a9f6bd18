"""Answers computed from facts that two documents state, each quoted with its source, then the computation.

Four questions ask for what no document states, from two figures that documents do:
- `share_answer`: "B区…占A市的比重" — the zone's figure in its report over the city's in the city bulletin;
- `sum_answer`: "C区和B区…加起来" — each area's figure (a place the profile does not know, by its table row);
- `gap_answer`: "离今年的目标还差多少" — the year's target minus the latest figure achieved that year;
- `compare_answer`: "A市增速比B区还快？" — both areas' figures of one period, and the verdict.

Each takes its operands only when one value is stated for each, of the same metric, unit and period; the
operands are quoted (with `[n]`) so the reader checks them, then `按资料数字计算：a ÷ b = …`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from string import Template

from rag.cite import strip_markers
from rag.compose import Sources, computed_answer
from rag.facts import FactStore, one_value, period_key
from rag.frame import ASKING, SUM, Frame, frame, without_periods
from rag.grammar import metric_core, same_measure
from rag.lookup import fits_exactly, lookup
from rag.numbers import extract_figures
from rag.profile import active
from rag.prompt import load_prompts
from rag.ratio import ASKS_GAP, format_value, share_sides
from rag.table import names_target, without_target_words
from rag.types import Chunk, Composed, Fact, Hit


def share_answer(
    fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk], answer: str = ""
) -> Composed:
    """ "A占B的比重" where A and B are two areas ("B区…占A市的比重"): each area's figure of the asked metric and
    period, from whichever documents state them, quoted (those `answer` does not state yet) with the division.
    Empty when the answer states a share already, or either figure is not stated once."""
    sides = share_sides(fr.text)
    if not sides:
        return Composed()
    part, whole = frame(sides[0]), frame(sides[1])
    if len(part.scopes) != 1 or len(whole.scopes) != 1 or part.scopes == whole.scopes:
        return Composed()
    metric = part.metric or whole.metric
    found = []
    for scopes in (part.scopes, whole.scopes):
        # The figure itself, not a share or rate of it: the question's own words ask for the percentage.
        each = replace(fr, text=metric, metric=metric, scopes=scopes, operation="", asks="amount", unit="")
        hits = [f for f in lookup(each, store.facts) if f.chunk_id in chunks]
        if not hits:
            return Composed()
        found.append(hits)
    a, b = found[0][0], found[1][0]
    if a.unit != b.unit or not 0 < a.value < b.value:
        return Composed()
    value = round(a.value / b.value * 100, 1)
    plain = strip_markers(answer)
    # The answer states this share already; a share of other sides ("社区占全区的39.7%") or a growth rate
    # beside a figure is not it.
    if any(f.kind == "percent" and abs(f.value - value) < SHARE_SAID for f in extract_figures(plain)):
        return Composed()
    expression = f"{a.raw} ÷ {b.raw} = {value:g}%"
    return computed_answer(found, expression, passages, chunks, answer)


SHARE_SAID = 0.15  # percentage points: a stated share rounded otherwise (18.39% for 18.4%) is the same share

_BEFORE_GAP = re.compile(r"[离距]")  # "网络零售额离…目标还差多少": the metric is named before 离


def gap_answer(
    fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk], scope: str, answer: str = ""
) -> Composed:
    """ "离今年110亿的目标还差多少": the asked year's target (the question's figure, or the target a document
    sets for that year) minus the latest figure achieved in that year, both of the asked area and metric, quoted
    with the subtraction. Empty when either is not stated once, or the target is already met."""
    years = sorted(p for p in fr.periods if p.isdigit())
    cut = _BEFORE_GAP.search(fr.text)
    if not (ASKS_GAP.search(fr.text) and names_target(fr.text)) or len(years) != 1 or not cut or not scope:
        return Composed()
    metric = _words(fr.text[: cut.start()])
    each = replace(fr, text=metric, metric=metric, scopes=frozenset({scope}), operation="", asks="amount", unit="")
    stated = _best_by_period(each, store.facts, chunks, lambda f: f.scope == scope and f.period[:4] == years[0])
    if not stated:
        return Composed()
    done = stated[max(stated, key=period_key)]
    asked = [g.value for g in extract_figures(fr.text) if g.kind == "number" and g.unit in ("", done[0].unit)]
    targets = [
        f
        for f in store.facts
        if f.scope == scope
        and f.kind == "target"
        and f.period[:4] == years[0]
        and f.unit == done[0].unit
        and f.chunk_id in chunks
        and same_measure(without_target_words(f.metric), metric)
        and (not asked or f.value in asked)
    ]
    if not (one_value(done) and one_value(targets)) or targets[0].value <= done[0].value:
        return Composed()
    a, t = done[0], targets[0]
    expression = f"{t.raw} − {a.raw} = {format_value(t.value - a.value, a)}"
    return computed_answer([done, targets], expression, passages, chunks, answer)


# "C区和B区2026年…加起来": two areas named before the period or the metric they are asked for.
_TWO_AREAS = re.compile(r"([\u4e00-\u9fff]{2,10}?)(?:和|与|及|跟|、)([\u4e00-\u9fff]{2,10}?)(?=(?:19|20)\d{2}|的)")


def sum_answer(
    fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk], answer: str = ""
) -> Composed:
    """ "C区和B区…加起来一共多少": each named area's figure of the asked metric and period (a place the
    profile does not know by its table row), quoted with the sum. Empty unless each area has
    exactly one value."""
    two = _TWO_AREAS.search(fr.text)
    if fr.operation != "sum" or not fr.parts:
        return Composed()
    if not two:
        return _sum_of_periods(fr, passages, store, chunks, answer)
    metric = _words(ASKING.sub(" ", SUM.sub(" ", without_periods(fr.text[two.end() :]))))
    each = replace(fr, text=metric, metric=metric, scopes=frozenset(), operation="", asks="amount", unit="")
    stated = [
        (s, f) for f in store.facts if f.period in fr.parts and f.chunk_id in chunks and (s := fits_exactly(each, f))
    ]
    operands: list[list[Fact]] = []
    for name in two.groups():
        mine = _of_area(name, [f for _, f in stated])
        if not one_value(mine):
            return Composed()
        operands.append(mine)
    return _added(operands, passages, chunks, answer)


def _sum_of_periods(
    fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk], answer: str
) -> Composed:
    """ "去年全年加上今年1—10月…一共多少": one metric of one area in two periods of different years (a year and
    a part of it overlap, and are never added), each looked up as its own question, quoted with the sum."""
    years = {p[:4] for p in fr.parts}
    if len(fr.parts) != 2 or len(years) != 2 or len(fr.scopes) > 1:
        return Composed()
    metric = _words(ASKING.sub(" ", SUM.sub(" ", without_periods(fr.text))))
    operands: list[list[Fact]] = []
    for period in sorted(fr.parts, key=period_key):
        one = {"parts": frozenset({period}), "periods": frozenset({period[:4]})}
        each = replace(fr, text=metric, metric=metric, operation="", asks="amount", unit="", **one)
        found = [f for f in lookup(each, store.facts) if f.chunk_id in chunks]
        if not found:
            return Composed()
        operands.append(found)
    return _added(operands, passages, chunks, answer)


def _added(operands: list[list[Fact]], passages: Sequence[Hit], chunks: Mapping[str, Chunk], answer: str) -> Composed:
    """The two operands (each its facts, the first quoted) added, in one unit; empty for two units."""
    a, b = operands[0][0], operands[1][0]
    if a.unit != b.unit:
        return Composed()
    expression = f"{a.raw} + {b.raw} = {format_value(a.value + b.value, a)}"
    return computed_answer(operands, expression, passages, chunks, answer)


def _words(text: str) -> str:
    """The metric words of `text` as facts are matched by them: no single characters ("按10月末的数" → 数)."""
    return " ".join(w for w in metric_core(text).split() if len(w) > 1)


def _best_by_period(
    each: Frame, facts: Sequence[Fact], chunks: Mapping[str, Chunk], keep: Callable[[Fact], bool]
) -> dict[str, list[Fact]]:
    """The facts `keep` admits that state `each` best (the metric itself before a narrower one, 实物商品网络零售额
    for 网络零售额), by period."""
    scored = [(s, f) for f in facts if keep(f) and f.chunk_id in chunks and (s := fits_exactly(each, f))]
    best = max((s for s, _ in scored), default=0.0)
    periods: dict[str, list[Fact]] = {}
    for s, f in scored:
        if s == best:
            periods.setdefault(f.period, []).append(f)
    return periods


# "今年A市增速比B区还快？": A比B (还/更) 快/高/多… — which way the question says they compare.
_COMPARE = re.compile(
    r"(?P<a>[^，,。？?]{2,30}?)比(?P<b>[^，,。？?]{2,12}?)(?:还|更|要)?(?P<way>快|高|多|大|慢|低|少|小)"
)
_UP = "快高多大"


def compare_answer(fr: Frame, passages: Sequence[Hit], store: FactStore, chunks: Mapping[str, Chunk]) -> Composed:
    """A yes/no question comparing two areas ("听说A市增速比B区还快？"): each area's figure of the asked
    metric for the same latest period of the asked year, quoted, with the verdict. Empty unless both are
    stated once for that period."""
    m = _COMPARE.search(fr.text)
    if not m or not fr.yes_no or len(fr.periods) != 1:
        return Composed()
    a, b = frame(m.group("a")), frame(m.group("b"))
    if len(a.scopes) != 1 or len(b.scopes) != 1 or a.scopes == b.scopes:
        return Composed()
    metric = _words(a.metric or b.metric)  # "零售额增速" measures 零售额; 增速 says which figure of it
    # "增速比…快": a rate is compared; the words that ask for one stay in the text `fits` reads.
    each = replace(fr, text=m.group("a"), metric=metric, operation="", asks="amount", unit="", yes_no=False)
    year = next(iter(fr.periods))
    by_period = [
        _best_by_period(
            replace(each, scopes=scopes), store.facts, chunks, lambda f, s=scopes: f.scope in s and f.period[:4] == year
        )
        for scopes in (a.scopes, b.scopes)
    ]
    # The latest period both areas state (a month's own figure is not the months up to it).
    common = set(by_period[0]) & set(by_period[1])
    if not common:
        return Composed()
    period = max(common, key=period_key)
    found = [by_period[0][period], by_period[1][period]]
    if not all(one_value(fs) for fs in found):
        return Composed()
    x, y = found[0][0], found[1][0]
    if x.unit != y.unit or x.value == y.value:
        return Composed()
    src = Sources(passages, chunks)
    quotes = "；".join(src.quote(fs, end="")[0] for fs in found)
    agrees = (x.value > y.value) == (m.group("way") in _UP)
    verdict = load_prompts("premise")["compare_agrees" if agrees else "compare_wrong"]
    return Composed(Template(verdict).substitute(quotes=quotes), tuple(src.extra), (x, y))


def _of_area(name: str, facts: Sequence[Fact]) -> list[Fact]:
    """The facts of the area `name` names: a profile area by its scope; another place by the facts of "other"
    places whose sentence names it, the one whose full name adds least to `name` ("开发区" is 东湖开发区 before
    西岭经济开发区)."""
    known = active().scope_mentions(name)
    if known and known[0][1] - known[0][0] == len(name):
        return [f for f in facts if f.scope == known[0][2]]
    places: dict[str, list[Fact]] = {}
    for f in facts:
        at = f.sentence.find(name) if f.scope == "other" else -1
        if at >= 0:
            full = re.search(r"[\u4e00-\u9fff]*$", f.sentence[:at]).group(0) + name
            places.setdefault(full, []).append(f)
    if not places:
        return []
    shortest = min(len(p) for p in places)
    nearest = [p for p in places if len(p) == shortest]
    return places[nearest[0]] if len(nearest) == 1 else []


__all__ = ["compare_answer", "gap_answer", "share_answer", "sum_answer"]
