"""Which period (and whose) a figure is: questions that quote figures and ask when they were.

"965亿元和1135.1亿元分别是哪一年的数据？" is answered by code, not the model: each quoted figure is
looked up in the passages (unit-aware), bound by its metric to the question, and its governing period
is read as `rag.verify` reads it (a baseline "较2015年" is not the figure's year). Every figure must be
found, or the question goes to the model as usual.

>>> from rag.types import Chunk, Hit
>>> t = "2021年高新区地区生产总值965亿元。2024年,高新区地区生产总值1135.1亿元,同比增长6.3%。"
>>> h = Hit(Chunk("c", "d.txt", "T", "", t, 0, len(t)), 1.0)
>>> locate("高新区GDP 965亿元和1135.1亿元分别是哪一年的数据？", [h])
'965亿元是2021年的数据：2021年高新区地区生产总值965亿元[1]。1135.1亿元是2024年的数据：2024年,高新区地区生产总值1135.1亿元,同比增长6.3%[1]。'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from string import Template

from rag.cite import bigrams, overlap, sentence_spans
from rag.dating import governing_periods, periods_in, precise_periods
from rag.frame import part_of, question_key, without_periods
from rag.grammar import core, metric_core, passage_context
from rag.numbers import extract_figures, same_figure
from rag.prompt import load_prompts
from rag.table import indicator_label, names_target, other_sort, table_cells, table_row
from rag.types import Figure, Hit

_ASKS_WHEN = re.compile(r"哪一?年|哪个年份|什么时候|何时|哪个时期|哪一?年度")
_SENTENCE = "。！？!?；;\n"


def _label(period: str) -> str:
    return f"{period}年" if period.isdigit() else f"“{period}”期间" if "五" in period else period


def _find(fig: Figure, key: set[str], passages: Sequence[Hit]) -> tuple[float, int, str, str] | None:
    """(metric score, passage number, period label, sentence) of the best passage occurrence of `fig`."""
    best = None
    for n, hit in enumerate(passages, start=1):
        text = hit.chunk.text
        for g in extract_figures(text):
            if not same_figure(fig, g):
                continue
            periods = governing_periods(hit.chunk, g.start)
            if len(periods) != 1:  # no single period to name
                continue
            score = overlap(key, passage_context(text, g)) if key else 0.0
            s, e = next((s, e) for s, e in sentence_spans(text, _SENTENCE) if s <= g.start < e)
            sentence = re.sub(r"\s*\n\s*", "", text[s:e]).rstrip("。；;！？!? ")
            cand = (score, -n, _label(next(iter(periods))), sentence)
            if best is None or cand[:2] > best[:2]:
                best = cand
    return None if best is None else (best[0], -best[1], best[2], best[3])


def locate(question: str, passages: Sequence[Hit]) -> str:
    """'<figure>是<period>的数据：<sentence>[n]。' for every figure the question quotes, or '' when it
    does not ask when, quotes no figure, or one of them is not in the passages."""
    if not _ASKS_WHEN.search(question):
        return ""
    figs = [f for f in extract_figures(question) if f.kind != "year"]
    if not figs:
        return ""
    key = question_key(question)
    tpl = Template(load_prompts("premise")["located"])
    parts = []
    for f in figs:
        found = _find(f, key, passages)
        if found is None:
            return ""
        _, n, period, sentence = found
        parts.append(tpl.substitute(figure=f.raw, period=period, sentence=sentence, n=n))
    return "".join(parts)


TABLE_MIN_OVERLAP = 0.6  # share of the indicator name's bigrams the question must hold


_SHARE_ASKED = re.compile(r"比重|占比|比例")


def table_cell(question: str, passages: Sequence[Hit]) -> str:
    """A plan table's value for the indicator and year the question asks, read from the row by code.

    "孵化器和众创空间数2025年的目标值是多少？" → the 2025 column of that row, with the column's own name
    (目标值 vs 完成值) so a target is never read as an achieved value. '' when the question names no
    single column year, or no given row is clearly its indicator.

    >>> from rag.types import Chunk, Hit
    >>> t = "表1 指标｜指标名称：孵化器和众创空间数（个）｜2020年完成值：140｜2025年目标值：176"
    >>> h = Hit(Chunk("c", "d.txt", "T", "", t, 0, len(t), kind="table_row"), 1.0)
    >>> table_cell("孵化器和众创空间数2025年的目标值是多少？", [h])
    '表中“孵化器和众创空间数（个）”的2025年目标值为176个[1]。'
    >>> table_cell("孵化器和众创空间数2023年是多少？", [h])
    ''
    """
    years = {p for p in periods_in(question) if p.isdigit()}
    if len(years) != 1:
        return ""
    share = _SHARE_ASKED.search(question)
    whole = part_of(question)
    key = question_key(question)
    asked = precise_periods(question)
    asked_words = metric_core(without_periods(question)).split()
    best: tuple[float, str] | None = None
    for n, hit in enumerate(passages, start=1):
        if hit.chunk.kind != "table_row":
            continue
        name = table_row(hit.chunk)[0]
        # Read as the question is read (fillers such as 以上 dropped from both): "限额以上商贸企业" is whole.
        named = bigrams(core(indicator_label(name)))
        score = overlap(named, key)
        if score < TABLE_MIN_OVERLAP or (share and share.group(0) not in name):
            continue  # "…占全市的比重多少？" is no cell of the indicator whose share is asked
        if whole and overlap(named, bigrams(whole)) >= TABLE_MIN_OVERLAP:
            continue  # "X，其中Y是多少？": X's own row states the total, not the part asked
        if any(other_sort(w, indicator_label(name)) for w in asked_words if len(w) > 2):
            continue  # "铁路货运量" is asked, the row is "公路货运量": another sort of the same thing
        label, cells = indicator_label(name), table_cells(hit.chunk)
        for column in dict.fromkeys(c for _, _, _, c in cells):
            if not periods_in(column) & years:
                continue
            own = precise_periods(column)
            if (own or any(len(p) > 4 for p in asked)) and not own & asked:
                continue  # the 1—9月 column does not answer for the whole year, nor the year's for 1—9月
            if names_target(column) != names_target(question):
                continue  # a target answers only a question about targets, and only a target does
            # The cell with its unit ("140个"), then the columns that state its change ("同比增长7.4%").
            said = [synth[len(label) :] for synth, _, _, c in cells if c == column]
            text = Template(load_prompts("premise")["table_cell"]).substitute(
                name=name, column=column, value="，".join(said), n=n
            )
            if best is None or score > best[0]:
                best = (score, text)
    return best[1] if best else ""


__all__ = ["locate", "table_cell"]
