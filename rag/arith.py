"""Arithmetic the question asks for, done by code on figures the verified answer already states.

Small models list the parts ("2021年965亿元…2024年1135.1亿元") but do not add or subtract them
reliably. When the question asks for a total (加起来, 一共, 合计) or a change (增加了多少, 相差),
the two stated figures of the same unit whose metric best matches the question are combined here,
and the sentence shows its operands so a reader can redo it.

>>> derive("从2021到2024年GDP增加了多少亿元？", "2021年地区生产总值965亿元[1]。2024年地区生产总值1135.1亿元[2]。")
'按资料数字计算：1135.1亿元 − 965亿元 = 170.1亿元。'
>>> derive("两次增资加起来一共多少？", "2021年增资5000万美元[1]；2023年增资1亿美元[1]。")
'按资料数字计算：5000万美元 + 1亿美元 = 1.5亿美元。'
"""

from __future__ import annotations

import re
from string import Template

from rag.cite import overlap, strip_markers
from rag.numbers import extract_figures
from rag.prompt import load_prompts
from rag.types import Figure
from rag.verify import claim_metric, question_key

_SUM = re.compile(r"加起来|加在一起|一共|合计|总共|共计|总和")
_DIFF = re.compile(r"增加了?多少|增长了?多少|多了多少|少了多少|减少了?多少|相差|差了?多少|差距")
_MAGNITUDES = ((1e8, "亿"), (1e4, "万"))


def _format(value: float, like: Figure) -> str:
    """`value` in the magnitude style of the figures it came from (亿 / 万 / plain)."""
    unit = like.unit
    for size, word in _MAGNITUDES:
        if word in like.raw and abs(value) >= size:
            return f"{value / size:.10g}{word}{unit}"
    for size, word in _MAGNITUDES:
        if abs(value) >= size and unit in ("元", "美元", "人", "平方米"):
            return f"{value / size:.10g}{word}{unit}"
    return f"{value:.10g}{unit}"


def derive(question: str, answer: str) -> str:
    """The computation sentence for `question` from figures in `answer`, or '' when none is asked or possible."""
    op = "+" if _SUM.search(question) else "−" if _DIFF.search(question) else ""
    if not op:
        return ""
    plain = strip_markers(answer)
    key = question_key(question)
    figs = [f for f in extract_figures(plain) if f.kind == "number" and f.unit and not f.op]
    best: tuple[float, Figure, Figure] | None = None
    for i, a in enumerate(figs):
        for b in figs[i + 1 :]:
            if a.unit != b.unit or a.value == b.value:
                continue
            score = overlap(key, claim_metric(plain, a)) + overlap(key, claim_metric(plain, b))
            if best is None or score > best[0]:
                best = (score, a, b)
    if best is None:
        return ""
    _, a, b = best
    if op == "−" and a.value < b.value:
        a, b = b, a
    value = a.value + b.value if op == "+" else a.value - b.value
    expr = f"{a.raw} {op} {b.raw} = {_format(value, a if '亿' in a.raw else b)}"
    return Template(load_prompts("premise")["arithmetic"]).substitute(expression=expr)


__all__ = ["derive"]
