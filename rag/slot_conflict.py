"""Conflicts over what a who/which/where/when question asks: passages that fill the asked slot with
another name or date.

`rag.conflict` compares figures bound to a metric, a period and an area. A name has none of those, so
its slot is read from the words around it. The word characters just before the answer's value in the
passage that states it ("首都" in "首都是望川市", "原名" in "原名谢婉莹") frame what the value is; another
passage sentence about the question's subject that has the same frame followed by another value
("首都临海市") states the slot differently. The words just after the value frame it too ("…于5月3日在
港口开幕" against "…于6月9日在港口开幕"). Both statements are shown: which is true is the reader's call.
The code does not know, and a majority of passages is no evidence: a planted falsehood is often
repeated, and news copies news.

>>> from rag.types import Chunk, Hit
>>> def hit(i, t): return Hit(Chunk(f"c{i}", f"p{i}.txt", "T", "", t, 0, len(t)), 1.0)
>>> ps = [hit(1, "甲国的首都是望川市，人口三百万。"), hit(2, "据报道，甲国首都临海市昨日举行庆典。")]
>>> slot_conflicts("甲国的首都在哪？", "甲国的首都是望川市[1]。", ps)
('据报道，甲国首都临海市昨日举行庆典[2]。',)
>>> slot_conflicts("甲国的首都在哪？", "甲国的首都是望川市[1]。", ps[:1])
()
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from rag.cite import bigrams, overlap, sentence_spans, split_claims, unquoted
from rag.frame import question_key
from rag.sufficiency import SUBJECT_MIN, new_text
from rag.trust import label
from rag.types import Hit

FRAME_CHARS = 2  # word characters on one side of a value that frame its slot: one is too common a word
# Between a frame and its value: the words a statement is phrased with ("首都是…", "由…执导", "于…在").
_FILLER = r"[\s是为由于在：:（(“”\"'，,、的]{0,3}"
_WORD = r"[\u4e00-\u9fffA-Za-z0-9·•\-]"
_DATE = r"\d{4}年(?:\d{1,2}月(?:\d{1,2}[日号])?)?|\d{1,2}月\d{1,2}[日号]"
# A value never begins with these: "首都到访…" frames no name.
_NOT_A_START = set("的了是在于和与及或到对从把被将向为也都就还又并而但其该这那此他她它我你们个")
_SENTENCE = "。！？!?；;\n"
# A rival sentence shares half the question's key words: on RGB's noise passages (no conflict) 0.3 raised a
# false "另有说法" on 15% of answers, 0.5 on 11%, while finding 15 of 27 planted conflicts against 17.
RIVAL_SUBJECT_MIN = 0.5
MAX_LONGER = 2  # a rival value is at most this many characters longer than the answer's
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")  # with or without 年: "2023春运" names its year too


def _other_year(sentence: str, rival: str, years: set[str]) -> bool:
    """Whether the year nearest before `rival` in `sentence` (else the sentence's first year) is none of the
    question's `years`: "2015年…第73届大会在斯波坎举办" is another edition, not another answer for 2023.

    >>> _other_year("2015年春晚总导演：哈文2016年春晚总导演：吕逸涛", "吕逸涛", {"2023"})
    True
    >>> _other_year("2023年春晚总导演：于蕾", "于蕾", {"2023"}), _other_year("总导演于蕾", "于蕾", {"2023"})
    (False, False)
    """
    before = _YEAR.findall(sentence[: max(sentence.find(rival), 0)])
    year = before[-1] if before else next(iter(_YEAR.findall(sentence)), "")
    return bool(years and year) and year not in years


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    import jieba  # the segmenter BM25 already loads: names are cut where the corpus cuts them

    return tuple(jieba.lcut(text))


@lru_cache(maxsize=4096)
def _names_a_thing(value: str) -> bool:
    """Whether `value` opens with a noun, a name or a foreign word (the segmenter's tags): "自己", "到访" and
    "举行" fill no who/where slot. The tags are too rough to tell a person from a place, so they are not
    asked to."""
    import jieba.posseg

    first = next(iter(jieba.posseg.cut(value)), None)
    return first is not None and (first.flag[:1] in ("n", "s") or first.flag in ("eng", "j", "nz"))


def _frames(sentence: str, value: str) -> tuple[str, str]:
    """The `FRAME_CHARS` word characters before and after the first `value` in `sentence` (filler skipped)."""
    at = sentence.find(value)
    before = re.sub(rf"{_FILLER}$", "", sentence[:at])
    after = re.sub(rf"^{_FILLER}", "", sentence[at + len(value) :])
    left = re.search(rf"{_WORD}{{{FRAME_CHARS}}}$", before)
    right = re.match(rf"{_WORD}{{{FRAME_CHARS}}}", after)
    return (left.group(0) if left else "", right.group(0) if right else "")


def _take(text: str, value: str, dates: bool) -> str:
    """The value at the start of `text` shaped like `value`: a date for a date; else the segmenter's words
    up to the answer value's length, never through punctuation."""
    if dates:
        m = re.match(_DATE, text)
        return m.group(0) if m else ""
    run = re.match(rf"{_WORD}+", text)
    if not run or run.group(0)[0] in _NOT_A_START:
        return ""
    out = ""
    for w in _words(run.group(0)):
        if len(out) >= max(len(value) - 1, 2):
            break
        out += w
    return out if 2 <= len(out) <= len(value) + MAX_LONGER and _names_a_thing(out) else ""


def _rival(sentence: str, left: str, right: str, value: str, dates: bool) -> str:
    """Another value in the slot `left`/`right` frame in `sentence`, or ""."""
    if left:
        for m in re.finditer(re.escape(left) + _FILLER, sentence):
            if got := _take(sentence[m.end() :], value, dates):
                return got
    if right:
        for m in re.finditer(_FILLER + re.escape(right), sentence):
            head = sentence[: m.start()]
            if dates:
                got = re.search(rf"(?:{_DATE})$", head)
                if got:
                    return got.group(0)
            else:
                words = _words(re.search(rf"{_WORD}*$", head).group(0))
                got = ""
                for w in reversed(words):
                    if len(got) >= max(len(value) - 1, 2):
                        break
                    got = w + got
                if 2 <= len(got) <= len(value) + MAX_LONGER and got[0] not in _NOT_A_START and _names_a_thing(got):
                    return got
    return ""


def _values(question: str, answer: str, passages: Sequence[Hit], dates: bool) -> list[tuple[str, int, list[str]]]:
    """(value, passage number, sentences stating it) for each answer sentence's new text that a passage it
    cites states: what the answer filled the slot with, where, and every passage sentence about the subject
    that states it too (each frames the slot in its own words)."""
    key = question_key(question)
    out = []
    for claim in split_claims(answer):
        for run in new_text(question, claim.text, dates):
            if dates:
                date = re.search(_DATE, run)
                value = date.group(0) if date else run
            else:  # a name: the run's first word of two characters or more ("张艺谋担任" → 张艺谋)
                value = next((w for w in _words(run) if len(w) >= 2), "")
            cited = [n for n in claim.cites if 1 <= n <= len(passages) and value in passages[n - 1].chunk.text]
            if not value or not cited:
                continue
            stating = [
                unquoted(hit.chunk.text[s:e])
                for hit in passages
                for s, e in sentence_spans(hit.chunk.text, _SENTENCE)
                if value in hit.chunk.text[s:e] and overlap(key, bigrams(hit.chunk.text[s:e])) >= SUBJECT_MIN
            ]
            out.append((value, cited[0], stating))
    return out


def slot_conflicts(question: str, answer: str, passages: Sequence[Hit], dates: bool = False) -> tuple[str, ...]:
    """Passage sentences (quoted, with `[m]` and the tier label of an upload) about the question's subject
    that fill the slot the answer filled with another value. `dates` for a "when" question."""
    key = question_key(question)
    asked = bigrams(question)
    years = set(_YEAR.findall(question))
    quotes: list[str] = []
    for value, n, stating in _values(question, answer, passages, dates):
        frames = {_frames(sentence, value) for sentence in stating}
        for m, hit in enumerate(passages, start=1):
            if m == n or hit.chunk.doc == passages[n - 1].chunk.doc:
                continue  # one document does not disagree with itself
            text = hit.chunk.text
            for s, e in sentence_spans(text, _SENTENCE):
                other = unquoted(text[s:e])
                if value in other or overlap(key, bigrams(other)) < RIVAL_SUBJECT_MIN:
                    continue
                got = next((g for left, right in frames if (g := _rival(other, left, right, value, dates))), "")
                # A rival the question already words (总导演 for "…总导演是谁") is the subject, not a value.
                if not got or got in value or value in got or overlap(bigrams(got), asked) >= 0.5:
                    continue
                if _other_year(other, got, years):
                    continue  # another year's edition fills its own slot
                tag = label(hit.chunk.tier)
                body = re.sub(r"\s*\n\s*", "", text[s:e].strip()).rstrip("。！？!?；;")
                quote = f"{body}（{tag}）[{m}]。" if tag else f"{body}[{m}]。"
                if quote not in quotes:
                    quotes.append(quote)
    return tuple(quotes)


__all__ = ["slot_conflicts"]
