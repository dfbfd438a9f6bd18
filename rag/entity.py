"""The organisation a question is about, so a figure of another subject never answers it.

"中科可控一年营收有多少亿元？" must not be answered with the zone's 数字经济营业收入, however true
that figure is. The subject is found without a name list: it is the longest run of the question that
is part of an organisation's full name in the passages ("中科可控" of "中科可控信息产业有限公司"),
once place and trade words are set aside. A sentence answers about it only when it, or the sentence
before it, names it.

>>> from rag.types import Chunk, Hit
>>> t = "中科可控信息产业有限公司发布首款国产气象一体机。2024年,昆山高新区数字经济营业收入突破40亿元。"
>>> hits = [Hit(Chunk("c", "d.txt", "T", "", t, 0, len(t)), 1.0)]
>>> subject("中科可控一年营收有多少亿元？", hits), subject("高新区数字经济营业收入是多少？", hits)
('中科可控', '')
>>> names(t, t.index("40亿元"), "中科可控"), names(t, t.index("气象"), "中科可控")
(False, True)
>>> names("中科可控落户高新区。其年产能50万台。", 12, "中科可控")
True
>>> names("液滴逻辑公司研发了检测仪。\\n该设备可在45分钟内完成检测。", 20, "液滴逻辑")
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.profile import active
from rag.types import Hit

_ORG = re.compile(r"[\u4e00-\u9fff]{2,20}?(?:股份有限公司|有限责任公司|有限公司|集团|研究院|研究所)")
# Words any organisation name may hold: a question sharing only these with a name is not about that one.
# Place names come from the domain profile; these are the trade words of any company's name.
_TRADE_WORDS = (
    "股份 有限 公司 集团 研究院 研究所 科技 技术 信息 产业 智能 材料 新材料 生物 电子 装备 数字 创新 光电 医疗 "
    "检测 器材 精密 加工 能源 先进"
).split()


def _generic() -> re.Pattern[str]:
    prof = active()
    words = [*prof.scope_names(), *prof.places, *_TRADE_WORDS]
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


_SENTENCE = "。！？!?\n"


def _longest_shared(a: str, b: str) -> str:
    best = ""
    for i in range(len(a)):
        j = i + len(best) + 1
        while j <= len(a) and a[i:j] in b:
            best = a[i:j]
            j += 1
    return best


def subject(question: str, passages: Sequence[Hit]) -> str:
    """The organisation the question names, as the question writes it; '' when it names none."""
    best = ""
    generic = _generic()
    for hit in passages:
        for full in set(_ORG.findall(hit.chunk.text)):
            shared = _longest_shared(question, full)
            if len(shared) >= 3 and len(generic.sub("", shared)) >= 2 and len(shared) > len(best):
                best = shared
    return best


def organisation_at(text: str, pos: int) -> str:
    """The organisation named last before `pos` in its sentence ('' when none): whose figure it is.

    >>> organisation_at("锐联芯科技有限公司成立于2015年，员工1460人。", 19)
    '锐联芯科技有限公司'
    """
    lo = max((text.rfind(ch, 0, pos) for ch in _SENTENCE), default=-1) + 1
    found = _ORG.findall(text[lo:pos])
    return found[-1] if found else ""


def names(text: str, pos: int, name: str) -> bool:
    """Whether the sentence of `text` holding `pos` names `name`, or, when it names no subject of its own
    ("其三期项目…"), the sentence before it does."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch in _SENTENCE]
    cur = max(s for s in starts if s <= pos)
    # The sentence before, skipping empty ones ("。\n" ends a sentence twice).
    prev = max((s for s in starts if s < cur and text[s:cur].strip(_SENTENCE + " ")), default=0)
    ends = [i for i in (text.find(ch, pos) for ch in _SENTENCE) if i != -1]
    sentence = text[cur : min(ends) if ends else len(text)]
    own_subject = bool(active().scope_mentions(sentence, strong_only=True) or _ORG.search(sentence))
    return name in sentence or (not own_subject and name in text[prev:cur])


__all__ = ["names", "subject"]
