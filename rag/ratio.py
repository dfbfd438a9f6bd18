"""Two computations a question names by its wording, done by code on figures the sources state.

* `share`: "A占B的比例是多少？" when the answer states A and B but no share: A ÷ B, in per cent.
* `gap`: "离40亿元的目标还差多少？" when the answer states the achieved figure and the question the target:
  target − achieved. The question's figure is used only when a source states it too, so a target the user
  misremembers is never computed with.

>>> share("发明专利授权占专利授权总量的比例是多少？", "专利授权2874件，其中发明专利授权836件[1]。")
'按资料数字计算：836件 ÷ 2874件 = 29.1%。'
>>> gap("上半年技术合同成交额离40亿元的目标还差多少？", "上半年技术合同成交额19.7亿元[1]。", "全年达到40亿元")
'按资料数字计算：40亿元 − 19.7亿元 = 20.3亿元。'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from string import Template

from rag.cite import bigrams, overlap, strip_markers
from rag.grammar import claim_metric, same_kind_unit
from rag.numbers import extract_figures
from rag.prompt import load_prompts
from rag.table import names_target
from rag.types import Fact, Figure

_MAGNITUDES = ((1e8, "亿"), (1e4, "万"))


def format_value(value: float, like: Figure | Fact) -> str:
    """`value` in the magnitude style of the figures it came from (亿 / 万 / plain)."""
    unit = like.unit
    for size, word in _MAGNITUDES:
        # A difference stays in its operands' magnitude down to a hundredth of it (2.61亿 − 2.27亿 = 0.34亿),
        # so it reads against the figures it came from.
        if word in like.raw and abs(value) >= size / 100:
            return f"{round(value / size, 6):.10g}{word}{unit}"
    # Operands written without a magnitude ("94382元") give a result without one: 42455元, as a reader
    # checks it against them (not 4.2455万元).
    return f"{value:.10g}{unit}"


# "A占B的比例/比重", "A在B中占比": the part is named before 占, the whole after it.
_SHARE = re.compile(
    r"(?P<part>[^，,。？?；;]{2,24}?)占(?P<whole>[^，,。？?；;]{2,24}?)的?(?:比例|比重|百分比|份额|多少成|几成)"
)
# "还差多少", "有多大缺口": a gap, which runs from what is achieved to a target.
ASKS_GAP = re.compile(r"还差|差距|缺口|差多少|差几")


def _amounts(text: str) -> list[Figure]:
    return [f for f in extract_figures(text) if f.kind == "number" and f.unit and re.search(r"\d", f.raw)]


def _expression(expression: str) -> str:
    return Template(load_prompts("premise")["arithmetic"]).substitute(expression=expression)


def derived(fig: Figure, backed: Sequence[Figure]) -> bool:
    """Whether `fig` is the sum or difference of two of the `backed` figures (1135.1 − 965 = 170.1亿元), or a
    number of years between two of their years.

    >>> from rag.numbers import extract_figures
    >>> a, b, c = extract_figures("1135.1亿元 965亿元 170.1亿元")
    >>> derived(c, [a, b]), derived(c, [a])
    (True, False)
    """
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


def share_sides(question: str) -> tuple[str, str] | None:
    """The words naming the part and the whole of a share the question asks ("A占B的比重"), or None.

    >>> share_sides("东湖区1—10月产值占西岭市的比重是多少？")
    ('东湖区1—10月产值', '西岭市')
    """
    m = _SHARE.search(question)
    return (m.group("part"), m.group("whole")) if m else None


def share(question: str, answer: str) -> str:
    """The part's share of the whole the question names, from two figures of one unit in `answer`; '' when
    the question asks no share, the answer already states one, or its figures do not fit."""
    m = _SHARE.search(question)
    plain = strip_markers(answer)
    if not m or any(f.kind == "percent" for f in extract_figures(plain)):
        return ""
    part_key, whole_key = bigrams(m.group("part")), bigrams(m.group("whole"))
    best: tuple[float, Figure, Figure] | None = None
    figs = _amounts(plain)
    for a in figs:
        for b in figs:
            if a is b or a.unit != b.unit or not 0 < a.value < b.value:
                continue
            pa, pb = overlap(part_key, claim_metric(plain, a)), overlap(whole_key, claim_metric(plain, b))
            if min(pa, pb) == 0:
                continue  # each operand must be named by its side of 占
            if best is None or pa + pb > best[0]:
                best = (pa + pb, a, b)
    if best is None:
        return ""
    _, a, b = best
    return _expression(f"{a.raw} ÷ {b.raw} = {round(a.value / b.value * 100, 1):g}%")


def gap(question: str, answer: str, sources: str) -> str:
    """Target − achieved, for a question that names the target's figure; '' when it asks no gap, the target is
    stated by no source, or the answer states no achieved figure in its unit."""
    if not (ASKS_GAP.search(question) and names_target(question)):
        return ""
    plain = strip_markers(answer)
    stated = {(f.value, f.unit) for f in _amounts(sources)}
    targets = [f for f in _amounts(question) if (f.value, f.unit) in stated]
    key = bigrams(question)
    for t in targets:
        done = [f for f in _amounts(plain) if f.unit == t.unit and 0 < f.value < t.value]
        if done:
            a = max(done, key=lambda f: overlap(key, claim_metric(plain, f)))
            return _expression(f"{t.raw} − {a.raw} = {format_value(t.value - a.value, a)}")
    return ""
