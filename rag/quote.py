"""Quotes that answer: the passage sentence that states what the question asks, verbatim, with `[n]`.

Used when the model's answer is dropped or when the extractive backend answers. A quote must be
about the asked period and scope, state the asked unit for the asked metric, name the asked
organisation and any quoted term; among those, the sentence sharing most of the question's key words
wins (an asked figure and the asked focus weigh in). `nearest_other` relaxes period and scope to tell
what the documents say instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answers import states_asked_kind, states_asked_metric, states_asked_part, states_other_sort, states_unit_for
from rag.cite import bigrams, overlap, sentence_spans, strip_markers, unquoted, with_cites
from rag.dating import governing_periods, part_fits, periods_in
from rag.entity import names, subject
from rag.frame import Frame, as_frame
from rag.grammar import _SENTENCE, passage_context, passage_scopes
from rag.numbers import extract_figures, same_figure
from rag.query import defines_bonus, exact_bonus
from rag.table import names_target, row_sentence, table_cells
from rag.types import Chunk, Figure, Hit

_REFERS_BACK = re.compile(r"(?:该|其|此|这一?|上述)(?:项目|公司|企业|园区|基地|平台|设备|产品|中心|机构|工程)?")
_WANTS_FIGURE = re.compile(r"多少|几|多大|多高|比重|比例|排名|第几|增长|增速")

EXTRACTIVE_MIN_SCORE = 0.35  # fallback quote: share of the question's key bigrams in the sentence
# A small model refuses questions its passages plainly answer (dev set: 1 in 4 answerable items with
# the 1.5B model). When one passage sentence, of the asked period and scope, holds this much of the
# question's key (plus 0.1 for a figure when one is asked for), code quotes it instead of refusing.
# Unanswerable dev items peak at 0.63, answerable ones are mostly above 0.7.
REFUSAL_OVERRIDE_MIN_SCORE = 0.7
# A sentence stating the asked unit for the asked metric gains this × the share of the question's focus
# ("多少个学位" → 学位) it names: held-out "新增学位3660个" scored 0.6 on words alone after the model refused.
FOCUS_WEIGHT = 0.2
METRIC_PRECISION_WEIGHT = 0.2  # × the share of a quoted figure's metric words the question names


def extractive_answer(
    question: str | Frame,
    passages: Sequence[Hit],
    max_sentences: int = 1,
    strict: bool = True,
    min_score: float = EXTRACTIVE_MIN_SCORE,
    stating: Sequence[Figure] = (),
) -> str:
    """The passage sentence(s) that best match the question, quoted verbatim with `[n]`; '' when none fits.
    With `stating`, only a sentence stating each of those figures is a candidate.

    Sentences about another year than the question's, or another scope, are never quoted — unless
    `strict` is False, which `nearest_other` uses to show what the documents say instead.
    """
    fr = as_frame(question)
    question = fr.text
    key = set(fr.key)
    q_periods = set(fr.periods) if strict else set()
    q_scopes = set(fr.scopes) if strict else set()
    wants_figure = bool(_WANTS_FIGURE.search(question))
    unit = fr.unit
    wanted = set(fr.focus)
    entity = subject(question, passages)
    terms = fr.terms
    scored: list[tuple[float, int, str]] = []
    for n, hit in enumerate(passages, start=1):
        chunk = hit.chunk
        prev = ""
        for s, e in sentence_spans(chunk.text, _SENTENCE):
            sent, before, prev = chunk.text[s:e], prev, chunk.text[s:e]
            if sent.rstrip().endswith(("？", "?")):
                continue  # a question in a Q&A passage ("问…有多少个？") answers nothing
            if stating and not all(any(same_figure(f, g) for g in extract_figures(sent)) for f in stating):
                continue
            if q_periods and not (q_periods & (periods_in(sent) or governing_periods(chunk, s))):
                continue
            if strict and not part_fits(fr.parts, chunk, _first_figure(sent, s)):
                continue  # 上半年's sentence is no answer for the whole year
            if strict and chunk.kind == "table_row" and not _row_answers(fr, chunk):
                continue  # a plan's row of targets is no answer to what was achieved, nor the reverse
            scopes = passage_scopes(chunk, s)
            if q_scopes and scopes and not (q_scopes & scopes):
                continue
            if (unit and not states_unit_for(unit, key, sent)) or (entity and not names(chunk.text, s, entity)):
                continue
            if terms and not any(t in unquoted(sent) for t in terms):
                continue  # the question quotes a term: only a sentence naming it can answer
            said = (row_sentence(chunk) or sent) if chunk.kind == "table_row" else sent  # a row, as it reads
            if strict and not states_asked_kind(fr.asks, said):
                continue  # "多少" answered by a sentence with no amount answers nothing
            if strict and not (states_asked_part(fr, said) and states_asked_metric(fr, said)):
                continue  # the whole year's figure for 前三季度, a share for an amount: the bar answers meet
            if strict and states_other_sort(fr, said):
                continue  # 公路货运量 for 铁路货运量: another sort of the thing asked
            # The threshold counts word overlap and a definition of the quoted term; exact matches
            # (figures, long shared runs) only rank, so they never turn a refusal into a quote.
            # "该项目总投资42亿元": a sentence that refers back is about what the sentence before it names.
            words = bigrams(before + sent) if _REFERS_BACK.match(sent.lstrip()) else bigrams(sent)
            score = overlap(key, words) + defines_bonus(question, sent)
            figs = [f for f in extract_figures(sent) if f.kind != "year"]
            if wants_figure and figs:
                score += 0.1
                # The figure's own metric is what is asked, not a larger one that contains its words
                # (研发经费投入占地区生产总值比重 is no answer to "地区生产总值是多少"): only ranks.
                bonus = METRIC_PRECISION_WEIGHT * max(overlap(passage_context(sent, f), key) for f in figs)
            if unit:  # it states the asked unit for the asked metric (checked above): what is asked weighs more
                score += FOCUS_WEIGHT * overlap(wanted, bigrams(sent))
            if score >= min_score:
                # A table row is quoted as the sentence it states, not as its raw cells.
                shown = row_sentence(chunk) if chunk.kind == "table_row" else sent
                scored.append(
                    (score + exact_bonus(question, sent) + (bonus if wants_figure and figs else 0.0), n, shown or sent)
                )
    scored.sort(key=lambda t: -t[0])
    out = []
    for _, n, sent in scored[:max_sentences]:
        out.append(with_cites(sent if sent[-1] in "。！？!?" else sent + "。", [n]))
    return "".join(out)


def sourced_quote(question: str | Frame, claim: str, passages: Sequence[Hit]) -> str:
    """The passage sentence that states every figure of a model sentence the verifier dropped, quoted
    verbatim with `[n]` in its own words ("甲园区总投资16.8亿元" said as "投资16.8亿元" of another subject);
    held to every test a fallback quote meets but the overlap threshold, since the model found it. ''
    when none does.

    >>> from rag.types import Chunk, Hit
    >>> t = "2026年，全区实施节能技改项目38个，完成投资9.46亿元。对项目给予补助。"
    >>> hits = [Hit(Chunk("c", "d", "T", "", t, 0, len(t)), 1.0)]
    >>> sourced_quote("2026年节能技改项目搞了几个？", "今年节能技改项目搞了38个。", hits)
    '2026年，全区实施节能技改项目38个，完成投资9.46亿元[1]。'
    """
    said = tuple(f for f in extract_figures(strip_markers(claim)) if f.kind != "year")
    return extractive_answer(question, passages, min_score=0.0, stating=said) if said else ""


def nearest_other(question: str | Frame, passages: Sequence[Hit]) -> str:
    """For a refused question that names a period or scope: the best sentence about the same metric for
    another period or scope, quoted with `[n]` ('' when there is none), so the user learns what the
    documents do cover — 2023 asked, 2021 and 2024 given; 高新区 asked, only 全市 given.

    >>> from rag.types import Chunk, Hit
    >>> t = "2024年,昆山高新区实现地区生产总值1135.1亿元。"
    >>> c = Chunk("c", "d.txt", "T", "", t, 0, len(t), ("2024",), "zone")
    >>> nearest_other("2023年昆山高新区地区生产总值是多少？", [Hit(c, 1.0)])
    '2024年,昆山高新区实现地区生产总值1135.1亿元[1]。'
    """
    fr = as_frame(question)
    if not (fr.periods or fr.scopes):
        return ""
    quote = extractive_answer(fr, passages, strict=False)
    if not quote or not any(f.kind != "year" for f in extract_figures(strip_markers(quote))):
        return ""  # only a sentence with the asked-for kind of figure is worth showing
    return quote


def _row_answers(fr: Frame, chunk: Chunk) -> bool:
    """Whether a table row has a cell of the asked kind (a target only for a question about targets) for
    the asked year, when it asks one."""
    asked = names_target(fr.text)
    cells = table_cells(chunk)
    return not cells or any(
        names_target(c) == asked and (not fr.periods or periods & set(fr.periods)) for _, _, periods, c in cells
    )


def _first_figure(sent: str, offset: int) -> int:
    """Position (in the chunk) of the sentence's first non-year figure, where its period is read; else its start."""
    return offset + next((f.start for f in extract_figures(sent) if f.kind != "year"), 0)
