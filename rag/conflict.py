"""Conflicts: the passages state the same metric, for the same period and scope, with different figures —
or call the same thing by different names ("“高新事·高兴办”营商环境品牌" in 2021, "“昆如意·高兴办”营商环境
服务品牌" in 2024).

A journalist must see both rather than have one picked silently. After `verify`, every figure an
answer kept is traced to its occurrence in the passage that backs it; any *other* passage sentence
whose figure is comparable (same kind and unit), whose metric words match both ways, and whose
period and scope are the same, in another document, is a conflicting source. Figures with a qualifier (突破, ＞, 近…)
are bounds, not values, and never conflict.

>>> from rag.types import Chunk, Hit
>>> a = "2020年,全市孵化器和众创空间数140个。"
>>> b = "2020年,全市孵化器和众创空间数138个。"
>>> hits = [Hit(Chunk("a", "d.txt", "T", "", a, 0, len(a), ("2020",), "city"), 1.0),
...         Hit(Chunk("b", "e.txt", "T", "", b, 0, len(b), ("2020",), "city"), 0.9)]
>>> conflicts("全市2020年孵化器和众创空间数140个[1]。", hits)
('2020年,全市孵化器和众创空间数138个[2]。',)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.bind import is_target
from rag.cite import bigrams, overlap, sentence_spans, split_claims, strip_markers
from rag.dating import governing_periods
from rag.grammar import comparable, passage_context, passage_scopes
from rag.numbers import extract_figures, same_figure
from rag.profile import active
from rag.table import names_target, table_cells
from rag.trust import UPLOADED, label
from rag.types import Chunk, Figure, Hit

DATE_UNITS = ("月", "日", "号")  # parts of a date say when, not how much: two events on two days never conflict
MIN_METRIC_OVERLAP = 0.6  # stricter than verification: a false "conflict" would mislead as much as a wrong figure
_SENTENCE = "。！？!?\n"


def _sentence(text: str, pos: int) -> tuple[int, int]:
    for s, e in sentence_spans(text, _SENTENCE):
        if s <= pos < e:
            return s, e
    return 0, len(text)


def _anchor(fig: Figure, passages: Sequence[Hit], cites: Sequence[int]) -> tuple[int, Figure] | None:
    """The cited passage occurrence that states `fig` (first cited passage that has it)."""
    for n in cites:
        if 1 <= n <= len(passages):
            for g in extract_figures(passages[n - 1].chunk.text):
                if same_figure(fig, g):
                    return n, g
    return None


def _rivals(n: int, g: Figure, passages: Sequence[Hit]) -> list[tuple[int, str]]:
    chunk: Chunk = passages[n - 1].chunk
    periods = governing_periods(chunk, g.start)
    scopes = passage_scopes(chunk, g.start)
    if len(periods) != 1 or not scopes:
        return []  # a row of targets and baselines, or no stated scope: too ambiguous to call a conflict
    ctx = passage_context(chunk.text, g)
    s0, e0 = _sentence(chunk.text, g.start)
    own = chunk.text[s0:e0]
    target = is_target(chunk, g)
    out = []
    for m, hit in enumerate(passages, start=1):
        other = hit.chunk
        if other.doc == chunk.doc:
            continue  # one report states two figures of one wording for two subjects (a project, a class of them)
        for h, text, sent, cell in _statements(other):
            if h.op or same_figure(g, h) or not comparable(g, h):
                continue
            if sent == own or any(sent == t for _, t in out):
                continue
            hctx = passage_context(text, h)
            if min(overlap(ctx, hctx), overlap(hctx, ctx)) < MIN_METRIC_OVERLAP:
                continue
            # Dated, placed and kinded only now (the costly reads): a cell by its column, in the row's area.
            if cell is None:
                h_periods, at, h_target = governing_periods(other, h.start), h.start, is_target(other, h)
            else:
                h_periods, at, h_target = cell[0], 0, names_target(cell[1])
            if h_periods != periods or passage_scopes(other, at) != scopes:
                continue
            if h_target != target:
                continue  # a target (a plan's 2026年目标 cell) is no other value of what was achieved
            out.append((m, sent))
    return out


def _statements(chunk: Chunk) -> list[tuple[Figure, str, str, tuple[set[str], str] | None]]:
    """Each figure a passage states: (figure, the text it is read in, the sentence quoted, and for a table
    cell its column's periods and name). A row's cells are read with their column's unit ("2025年：362.8" is
    362.8亿元 of 2025, not a bare 362.8), the whole row quoted."""
    if chunk.kind == "table_row":
        return [(h, synth, chunk.text, (p, c)) for synth, h, p, c in table_cells(chunk)]
    out = []
    for h in extract_figures(chunk.text):
        s, e = _sentence(chunk.text, h.start)
        out.append((h, chunk.text, chunk.text[s:e], None))
    return out


def conflicts(answer: str, passages: Sequence[Hit]) -> tuple[str, ...]:
    """Passage sentences (quoted, with `[m]`) that give another figure for a figure `answer` states."""
    quotes: list[str] = []
    for claim in split_claims(answer):
        for fig in extract_figures(strip_markers(claim.text)):
            if fig.kind == "year" or fig.op or fig.unit in DATE_UNITS:
                continue
            anchor = _anchor(fig, passages, claim.cites)
            if anchor is None or anchor[1].op:
                continue
            for m, sent in _rivals(*anchor, passages):
                body = sent.rstrip("。！？!?\n")
                # An upload's figure is shown as what it is: the reader weighs it against the official one.
                tag = label(passages[m - 1].chunk.tier)
                quote = f"{body}（{tag}）[{m}]。" if tag else f"{body}[{m}]。"
                if quote not in quotes:
                    quotes.append(quote)
    return tuple(quotes)


# ---------------------------------------------------------------------------------------- overrule


def overrule(passages: Sequence[Hit]) -> tuple[Hit, ...]:
    """`passages` (same numbering) with each uploaded passage's overruled sentences blanked: those an
    official document contradicts, either as bound at index time for the whole corpus (`Chunk.overruled`)
    or as stated by an official passage given here (another figure, same metric, period and scope, the
    rules of `conflicts`). Verification and the fallback quote read these, so an upload never supports a
    figure an official source gainsays; the conflict note still quotes it, from the passages as given.

    >>> from rag.types import Chunk, Hit
    >>> a = "2020年,全市孵化器和众创空间数140个。"
    >>> b = "2020年,全市孵化器和众创空间数138个。另有新建园区3个。"
    >>> hits = [Hit(Chunk("a", "d.txt", "T", "", a, 0, len(a), ("2020",), "city"), 1.0),
    ...         Hit(Chunk("b", "e.txt", "T", "", b, 0, len(b), ("2020",), "city", tier="uploaded"), 0.9)]
    >>> [h.chunk.text.strip() for h in overrule(hits)]
    ['2020年,全市孵化器和众创空间数140个。', '另有新建园区3个。']
    """
    out = list(passages)
    for n, hit in enumerate(passages, start=1):
        chunk = hit.chunk
        if chunk.tier != UPLOADED:
            continue
        spans = [_sentence(chunk.text, pos) for pos in _ruled_at(n, passages)]
        if chunk.kind == "table_row" and spans:
            spans = [(0, len(chunk.text))]  # a row is one statement: its cells cannot be split from it
        if spans:
            text = list(chunk.text)
            for s, e in spans:
                text[s:e] = [ch if ch == "\n" else " " for ch in text[s:e]]
            out[n - 1] = replace(hit, chunk=replace(chunk, text="".join(text)))
    return tuple(out)


def _ruled_at(n: int, passages: Sequence[Hit]) -> list[int]:
    """Positions in passage `n` (an upload) of the figures an official source states otherwise."""
    chunk = passages[n - 1].chunk
    said = {_flat(s) for s in chunk.overruled}
    out = []
    for s, e in sentence_spans(chunk.text, _SENTENCE):
        if said and any(_flat(chunk.text[s:e]) in x or x in _flat(chunk.text[s:e]) for x in said if len(x) > 4):
            out.append(s)
    for g in extract_figures(chunk.text):
        if g.kind == "year" or g.op or g.unit in DATE_UNITS:
            continue
        rivals = [m for m, _ in _rivals(n, g, passages) if passages[m - 1].chunk.tier != UPLOADED]
        if rivals and not _confirmed(n, g, passages):
            out.append(g.start)
    return out


def _confirmed(n: int, g: Figure, passages: Sequence[Hit]) -> bool:
    """Whether an official passage states the upload's figure `g` too, for the same metric: then the
    official sources disagree among themselves and the upload is one side of that, not overruled."""
    ctx = passage_context(passages[n - 1].chunk.text, g)
    for hit in passages:
        if hit.chunk.tier == UPLOADED:
            continue
        for h in extract_figures(hit.chunk.text):
            hctx = passage_context(hit.chunk.text, h)
            if same_figure(g, h) and min(overlap(ctx, hctx), overlap(hctx, ctx)) >= MIN_METRIC_OVERLAP:
                return True
    return False


def _flat(text: str) -> str:
    return re.sub(r"\s", "", text).rstrip("。！？!?；;")


# ------------------------------------------------------------------------------------------- names

NAME_MIN_OVERLAP = 0.75  # the two head nouns (品牌, 营商环境服务品牌) share most of their bigrams
# the head noun stops at a particle: "“高新事·高兴办”营商环境品牌的一项…" → 营商环境品牌
_NAMED = re.compile(r"“([^“”]{2,20})”([^\W\d_的是和与及为在了等]{3,10})")


def _heads(text: str) -> list[tuple[str, str, int]]:
    """(name, head noun, position) of each “name”+noun in `text` ("“昆如意·高兴办”营商环境服务品牌")."""
    # Plan periods (“十四五”开局之年) are dates, not names.
    return [
        (m.group(1), m.group(2), m.start()) for m in _NAMED.finditer(text) if not active().plan_rx.fullmatch(m.group(1))
    ]


def _same_head(a: str, b: str) -> bool:
    """Head nouns of one kind of thing: 营商环境品牌 ~ 营商环境服务品牌, but not 服务品牌 ~ 营商服务品牌
    (a talent brand is not a business-service brand): same leading word, most bigrams shared."""
    ab, ba = overlap(bigrams(a), bigrams(b)), overlap(bigrams(b), bigrams(a))
    return a[:2] == b[:2] and max(ab, ba) >= NAME_MIN_OVERLAP and min(ab, ba) >= 0.5


def name_conflicts(answer: str, passages: Sequence[Hit]) -> tuple[str, ...]:
    """Passage sentences (quoted, with their period and `[m]`) naming with another “name” the thing the answer
    names: same head noun, different quoted name. Both are shown; which one is current is the reader's call.

    >>> from rag.types import Chunk, Hit
    >>> a, b = "2021年,打造“高新事·高兴办”营商环境品牌。", "2024年,擦亮“昆如意·高兴办”营商环境服务品牌。"
    >>> hits = [Hit(Chunk("a", "d.txt", "T", "", a, 0, len(a), ("2021",), "zone"), 1.0),
    ...         Hit(Chunk("b", "e.txt", "T", "", b, 0, len(b), ("2024",), "zone"), 0.9)]
    >>> name_conflicts("2021年打造的是“高新事·高兴办”营商环境品牌[1]。", hits)
    ('2024年,擦亮“昆如意·高兴办”营商环境服务品牌[2]。',)
    """
    said = _heads(strip_markers(answer))
    quotes: list[str] = []
    for m, hit in enumerate(passages, start=1):
        text = hit.chunk.text
        for name, head, pos in _heads(text):
            if any(name == n for n, _, _ in said) or any(f"“{name}”" in q for q in quotes):
                continue  # the answer's own name, or one already shown
            if not any(_same_head(h, head) for _, h, _ in said):
                continue
            s, e = _sentence(text, pos)
            body = re.sub(r"\s*\n\s*", "", text[s:e]).rstrip("。！？!?\n")
            periods = governing_periods(hit.chunk, pos)
            label = next(iter(periods)) if len(periods) == 1 else ""
            lead = f"（{label}年）" if label.isdigit() and label not in body else ""
            quote = f"{lead}{body}[{m}]。"
            if quote not in quotes:
                quotes.append(quote)
    return tuple(quotes)


__all__ = ["conflicts", "name_conflicts", "overrule"]
