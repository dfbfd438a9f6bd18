"""“分别”: a list of things, then a list of figures that belong to them in order.

Policy notices and bulletins state several figures at once: "对旗舰店、标准店、社区店，分别给予一次性奖励
50万元、30万元、15万元". The words next to 30万元 (给予一次性奖励) are the same for every figure of the list;
what 30万元 is for is the list item in the same place before 分别 (标准店). `respective_item` returns that
item with the shared words, so a figure is read for its own thing, never for its neighbour's.

>>> t = "对新开设的旗舰店、标准店、社区店，经认定的，分别给予一次性奖励50万元、30万元、15万元。"
>>> from rag.numbers import extract_figures
>>> [respective_item(t, f) for f in extract_figures(t)]
['对新开设的旗舰店 给予一次性奖励', '标准店 给予一次性奖励', '社区店 给予一次性奖励']
"""

from __future__ import annotations

import re

from rag.cite import bigrams
from rag.numbers import extract_figures
from rag.types import Figure

_SENTENCE = "。！？!?；;\n"
_CLAUSE = "，,：:"
_BRACKETS = re.compile(r"[（(][^（()）]*[）)]")  # "（含全国旗舰店）": a gloss, never a list separator
_JOINERS = re.compile(r"、|和|及|与|以及")


def respective_item(text: str, fig: Figure) -> str:
    """The thing a figure of a "分别" list is stated for, with the words the list shares ('' when `fig` is in
    no such list, or the things before 分别 are not as many as the figures after it)."""
    things, at, shared = respective_list(text, fig)
    return f"{things[at]} {shared}".strip() if things else ""


def respective_list(text: str, fig: Figure) -> tuple[list[str], int, str]:
    """(the things of `fig`'s "分别" list, the index of its own, the words they share); ([], -1, '') when none."""
    start = max((text.rfind(ch, 0, fig.start) for ch in _SENTENCE), default=-1) + 1
    k = text.rfind("分别", start, fig.start)
    if k < 0:
        return [], -1, ""
    ends = [i for i in (text.find(ch, fig.end) for ch in _SENTENCE + "，,") if i != -1]
    span = text[k + 2 : min(ends) if ends else len(text)]
    figures = [f for f in extract_figures(span) if f.unit]
    at = next((i for i, f in enumerate(figures) if k + 2 + f.start == fig.start), -1)
    if at < 0 or len(figures) < 2:
        return [], -1, ""
    shared = span[: figures[0].start].strip()
    # The things: the last clause before 分别 that lists as many of them as there are figures.
    for clause in reversed(re.split(f"[{_CLAUSE}]", _BRACKETS.sub("", text[start:k]))):
        things = [t.strip() for t in _JOINERS.split(clause) if t.strip()]
        if len(things) == len(figures):
            return things, at, shared
    return [], -1, ""


def names_own_item(said: set[str], text: str, fig: Figure) -> bool:
    """Whether words `said` of a figure (bigrams) name its own thing of a "分别" list at least as well as any
    other thing of the list (always True outside such a list): "标准店…50万元" names another's figure.

    >>> t = "对旗舰店、标准店，分别给予奖励50万元、30万元。"
    >>> [names_own_item(bigrams("标准店奖励"), t, f) for f in extract_figures(t)]
    [False, True]
    """
    things, at, _ = respective_list(text, fig)
    if not things:
        return True
    score = [len(said & bigrams(t)) for t in things]
    return score[at] == max(score)


__all__ = ["names_own_item", "respective_item", "respective_list"]
