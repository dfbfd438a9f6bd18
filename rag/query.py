"""Question normalisation before retrieval: the same text the documents would use.

Traditional → simplified, full-width → half-width letters/digits, and the common typos of place
names that the domain profile lists (`typos`), so "X區ＧＤＰ" searches like "X区GDP".

>>> normalize("X區２０２４年ＧＤＰ是多少？")
'X区2024年GDP是多少？'
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from rag.numbers import extract_figures
from rag.period import bare_part, part_label
from rag.profile import active

_cc = None


def _t2s(text: str) -> str:
    global _cc
    if _cc is None:
        from opencc import OpenCC

        _cc = OpenCC("t2s")
    return _cc.convert(text)


def _half_width(text: str) -> str:
    # Only letters, digits and a few symbols: Chinese punctuation is kept as the documents use it.
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A or ch in "．％＋－／":
            out.append(unicodedata.normalize("NFKC", ch))
        elif ch == "\u3000":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")


def normalize(question: str) -> str:
    """Normalise a question for retrieval (pure; safe on any input)."""
    q = _CTRL.sub("", question)
    q = _half_width(_t2s(q))
    # Misspelt place names (pinyin homophones) are the profile's: genuine input errors only.
    q = active().fix_typos(q)
    # "24年" → "2024年": 2-digit years are how people type, 4-digit how documents write.
    q = re.sub(r"(?<![\d.])([12]\d)年", lambda m: f"20{m.group(1)}年", q)
    # "第一次突破" is how people say it, "首次突破" how documents do (a first occasion is no ranking).
    q = q.replace("第一次", "首次")
    return re.sub(r"\s+", " ", q).strip()


# Relative years, read against the date the question is asked (Settings.today): a user asking in 2026
# about "去年" means 2025, whatever year the documents were written in.
_RELATIVE = re.compile(r"(今年|去年|前年|明年)(?:度)?")
_OFFSET = {"今年": 0, "去年": -1, "前年": -2, "明年": 1}
# "截至9月底": a month's end with no year is the latest one that has passed.
_MONTH_END = re.compile(r"(?<![\d年])(1[0-2]|[1-9])\s*月(?:底|末)")
_LATEST = re.compile(r"最新|现在|目前|如今|当前|眼下|最近")


def resolve_relative(question: str, today: date) -> str:
    """`question` with relative years written out as the year they mean on `today`. A part of a year the
    question names with no year at all ("1-9月规上工业总产值多少？") is the latest one that has ended.

    >>> resolve_relative("去年X区GDP多少？今年前三季度呢？", date(2026, 11, 24))
    '2025年X区GDP多少？2026年前三季度呢？'
    >>> resolve_relative("1-9月GDP多少？", date(2026, 11, 24)), resolve_relative("前三季度GDP多少？", date(2026, 8, 1))
    ('2026年1-9月GDP多少？', '2025年前三季度GDP多少？')
    >>> resolve_relative("截至9月底有多少户？", date(2026, 12, 1)), resolve_relative("11月末呢？", date(2026, 11, 20))
    ('截至2026年9月底有多少户？', '2025年11月末呢？')
    """
    out = _RELATIVE.sub(lambda m: f"{today.year + _OFFSET[m.group(1)]}年", question)
    if re.search(r"(?:19|20)\d{2}|十[一二三四五六]五", out):
        return out
    if end := _MONTH_END.search(out):
        year = today.year if today.month > int(end.group(1)) else today.year - 1
        return f"{out[: end.start()]}{year}年{out[end.start() :]}"
    m = bare_part(out)
    if not m:
        return out
    # The months the part runs to: it has ended this year once that month is over.
    label = part_label(m.group(1))
    ends = {"一季度": 3, "上半年": 6, "二季度": 6, "前三季度": 9, "三季度": 9}.get(label)
    if ends is None:
        last = re.search(r"(\d+)月$", label)
        ends = int(last.group(1)) if last else 12
    year = today.year if today.month > ends else today.year - 1
    return f"{out[: m.start()]}{year}年{out[m.start() :]}"


def asks_latest(question: str) -> bool:
    """Whether the question asks for the current value ("现在", "最新") without naming a period.

    >>> asks_latest("科创承载空间现在总量有多大？"), asks_latest("2021年现在的排名？")
    (True, False)
    """
    return (
        bool(_LATEST.search(question))
        and not re.search(r"(?:19|20)\d{2}", question)
        and not (active().plan_rx.search(question))
    )


def expand(question: str) -> str:
    """`question` plus the documents' wording for abbreviations it uses (for lexical search).

    >>> expand("X区固投多少")
    'X区固投多少 固定资产投资'
    """
    # Appended, not substituted, so both forms match: the documents themselves write "规上工业" and "GDP".
    # A verb as the profile's one word for it too ("开始实施" → 施行, as "自…起施行" is written).
    verbs = active().canonical_verbs(question)
    return " ".join([question, *active().metric_expansions(question), *([verbs] if verbs != question else [])])


PHRASE_BONUS = 0.15  # the chunk contains a phrase the question quotes (“一轴”, 2+2+3)
NUMBER_BONUS = 0.20  # per non-year number of the question found verbatim in the chunk (max 2)
LCS_BONUS = 0.03  # per character of the longest shared CJK run beyond 3 (max 0.15)

_QUOTED = re.compile(r"[“\"「『《]([^”\"」』》]{1,30})[”\"」』》]")
_PLAN_SUFFIX = "(?:期间|时期|末)?"
_NUM = re.compile(r"\d+(?:\.\d+)?")
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def quoted_phrases(question: str) -> list[str]:
    """Phrases the question quotes, plan periods aside (nearly every plan chunk quotes “十四五”).

    >>> quoted_phrases("规划里“十四五”期间的“一轴”是指什么")
    ['一轴']
    """
    plan = re.compile(f"(?:{active().plan_rx.pattern}){_PLAN_SUFFIX}")
    return [p for p in _QUOTED.findall(question) if not plan.fullmatch(p)]


def quoted_terms(question: str) -> list[str]:
    """Quoted phrases that name something (“一轴”), not quoted claims with figures (“2020年排名第39名”).

    >>> quoted_terms("规划里写的“2020年排名第39名”和“一轴”是什么")
    ['一轴']
    """
    return [p for p in quoted_phrases(question) if len(p) <= TERM_CHARS and not re.search(r"\d", p)]


def quoted_names(question: str) -> list[str]:
    """Quoted names, titles included (“一轴”, “2020甲省百强创新型企业”), not quoted claims with figures.

    >>> quoted_names("“2020甲省百强创新型企业”和“2020年排名第39名”")
    ['2020甲省百强创新型企业']
    """
    return [
        p
        for p in quoted_phrases(question)
        if len(p) <= 20 and not any(f.kind != "year" and f.unit for f in extract_figures(p))
    ]


TERM_CHARS = 10  # a quoted term is short; longer quotes are claims or titles
DEFINES_BONUS = 0.5  # a sentence that quotes the term the question quotes defines it (“一轴”，即…)


def defines_bonus(question: str, sentence: str) -> float:
    """DEFINES_BONUS when `sentence` writes a term the question quotes in quotes too, else 0.

    >>> defines_bonus("“一轴”是指什么", "“一轴”，即禾溪科创走廊。"), defines_bonus("“一轴”是指什么", "依托一轴一园")
    (0.5, 0.0)
    """
    return DEFINES_BONUS if any(f"“{p}”" in sentence for p in quoted_phrases(question)) else 0.0


def exact_bonus(question: str, text: str) -> float:
    """Bonus for verbatim overlap that bag-of-words scores miss: quoted phrases, figures, long shared runs.

    >>> exact_bonus("“一轴”是指什么", "“一轴”，即禾溪科创走廊") > exact_bonus("“一轴”是指什么", "一园一港")
    True
    """
    bonus = 0.0
    quoted = quoted_phrases(question)
    if any(p in text for p in quoted):
        bonus += PHRASE_BONUS
    if any(f"“{p}”" in text or f'"{p}"' in text for p in quoted):
        bonus += PHRASE_BONUS  # quoted there too: the text defines or names it (“一轴”，即…), not just mentions it
    nums = [n for n in _NUM.findall(question) if not (len(n) == 4 and n.startswith(("19", "20")))]
    bonus += NUMBER_BONUS * min(2, sum(1 for n in set(nums) if n in text))
    best = 0
    for run in _CJK.findall(question):
        for i in range(len(run)):
            # grow the substring while it still occurs in the chunk (runs are short: questions)
            j = i + best + 1
            while j <= len(run) and run[i:j] in text:
                best = j - i
                j += 1
    return bonus + min(0.15, LCS_BONUS * max(0, best - 3))
