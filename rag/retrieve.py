"""Hybrid retrieval: dense e5 + jieba BM25, fused, with soft period/scope cues.

    question → normalize → dense top-N ∪ BM25 top-N → fused score
             → × period/scope cues → top-k (+ neighbour text when a hit is cut mid-thought)

Cues are soft: a chunk about another year is demoted, never removed, so a question
that names no year still finds everything.

>>> # Retriever(settings).search("2024年高新区GDP", k=3)  → [Hit, Hit, Hit]
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from rag import index as index_mod
from rag.bm25 import BM25, tokenize
from rag.facts import FactStore
from rag.profile import activate, active
from rag.query import asks_latest, exact_bonus, expand, normalize, resolve_relative
from rag.settings import Settings
from rag.types import Chunk, Hit

CANDIDATES = 60  # per retriever, before fusion
PERIOD_MATCH = 0.10  # bonus when the chunk reports the period the question asks about
PERIOD_MISMATCH = 0.10  # malus when the chunk reports only other years
SCOPE_MISMATCH = 0.10  # malus for a city chunk on a zone question and vice versa
RECENCY = 0.25  # "现在/最新" without a period: up to this bonus for the candidates reporting the latest years


def question_cues(question: str) -> tuple[tuple[str, ...], str]:
    """Periods and scope the question asks about (empty/unknown when it does not say).

    The end of a plan period is also where the next one starts: "“十二五”末" is reported as the baseline
    of 十三五 accounts ("十三五期间增长11.9万人，达45.6万人") and as its last year, 2015.

    >>> question_cues("“十二五”末昆山人才资源总量是多少？")
    (('十二五', '十三五', '2015'), 'city')
    """
    from rag.period import detect_periods
    from rag.scope import detect_scope

    prof = active()
    periods = list(detect_periods(question))
    for plan in re.findall(f'({prof.plan_rx.pattern})[”"」]?末', question):
        years = prof.plan_years(plan)
        following = [prof.next_plan(plan), str(years[1]) if years else ""]
        periods += [p for p in following if p and p not in periods]
    return tuple(periods), detect_scope(question)


def cue_factor(chunk: Chunk, periods: Sequence[str], scope: str) -> float:
    """Additive score adjustment for period and scope agreement (0 when the question names neither)."""
    adj = 0.0
    if periods:
        years = {p[:4] for p in periods if p[:4].isdigit()}
        named = {p for p in periods if not p[:4].isdigit()}
        c_years = {p[:4] for p in chunk.periods if p[:4].isdigit()}
        c_named = {p for p in chunk.periods if not p[:4].isdigit()}
        if (years & c_years) or (named & c_named) or any(p in chunk.periods for p in periods):
            adj += PERIOD_MATCH
        elif c_years and years and not (years & c_years):
            adj -= PERIOD_MISMATCH
    if scope != "unknown" and chunk.scope != "unknown" and scope != chunk.scope:
        adj -= SCOPE_MISMATCH
    return adj


def _reported_year(chunk: Chunk, this_year: int) -> int:
    """The latest year a chunk reports results for: targets ("到2025年") and years after `this_year` do not count."""
    targets = {p[:4] for p in chunk.periods if "目标" in p}
    years = [int(p[:4]) for p in chunk.periods if p[:4].isdigit() and p[:4] not in targets]
    return max((y for y in years if y <= this_year), default=0)


def recency(chunks: Sequence[Chunk], this_year: int) -> np.ndarray:
    """Bonus per chunk by the latest year it reports: 0 for the oldest among `chunks`, RECENCY for the newest,
    0 when undated. Years after `this_year` are plans, not reports (the plan's 2035 vision is not news).

    >>> [round(float(x), 2) for x in recency([Chunk("a", "d", "T", "", "", 0, 0, ("2021", "2035")),
    ...     Chunk("b", "d", "T", "", "", 0, 0, ("2024", "2025前三季度")), Chunk("c", "d", "T", "", "", 0, 0)], 2026)]
    [0.0, 0.25, 0.0]
    """
    years = [_reported_year(c, this_year) for c in chunks]
    dated = [y for y in years if y]
    if not dated or max(dated) == min(dated):
        return np.zeros(len(chunks), dtype=np.float32)
    lo, hi = min(dated), max(dated)
    return np.array([RECENCY * (y - lo) / (hi - lo) if y else 0.0 for y in years], dtype=np.float32)


class Retriever:
    """Loads the index and the embedder once, lazily; `search` is thread-safe."""

    def __init__(self, settings: Settings, embedder: Any = None, data: index_mod.IndexData | None = None) -> None:
        self.settings = settings
        activate(settings.profile)  # questions are read with the vocabulary the index was built with
        self._embedder = embedder
        self._data = data
        self._bm25: BM25 | None = None
        self._facts: tuple[index_mod.IndexData, FactStore] | None = None
        self._lock = threading.Lock()

    # -- lazy state -----------------------------------------------------------
    def _ensure(self) -> tuple[index_mod.IndexData, BM25, Any]:
        with self._lock:
            if self._data is None:
                self._data = index_mod.load(self.settings)
            if self._bm25 is None:
                self._bm25 = BM25(self._data.tokens)
            if self._embedder is None:
                from rag.embed import SentenceTransformerEmbedder

                self._embedder = SentenceTransformerEmbedder(self.settings)
            return self._data, self._bm25, self._embedder

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return self._ensure()[0].chunks

    @property
    def facts(self) -> FactStore:
        """The facts bound at index time (reads the index, not the embedding model)."""
        with self._lock:
            if self._data is None:
                self._data = index_mod.load(self.settings)
            if self._facts is None or self._facts[0] is not self._data:
                self._facts = (self._data, FactStore(self._data.facts))
            return self._facts[1]

    def reload(self) -> None:
        """Drop the cached index so the next search reads the current generation (the embedder stays)."""
        with self._lock:
            self._data = None
            self._bm25 = None

    def warm(self) -> None:
        """Load index and model now (servers call this at start-up)."""
        _, _, emb = self._ensure()
        emb.embed(["预热"], query=True)

    # -- search -----------------------------------------------------------------
    def search(self, question: str, k: int | None = None) -> list[Hit]:
        k = k or self.settings.top_k
        data, bm25, embedder = self._ensure()
        n = len(data.chunks)
        if n == 0 or not question.strip():
            return []
        q = resolve_relative(normalize(question), self.settings.reference_date())
        qv = np.asarray(embedder.embed([q], query=True), dtype=np.float32)
        m = min(CANDIDATES, n)
        d_scores, d_idx = data.faiss_index.search(qv, m)
        dense = np.full(n, np.nan, dtype=np.float32)
        dense[d_idx[0][d_idx[0] >= 0]] = d_scores[0][d_idx[0] >= 0]
        sparse = bm25.scores(tokenize(expand(q)))
        s_top = np.argsort(-sparse)[:m]
        cand = set(int(i) for i in d_idx[0] if i >= 0) | set(int(i) for i in s_top if sparse[i] > 0)
        if not cand:
            return []
        cand_idx = np.array(sorted(cand))
        # Dense scores outside the FAISS top-N are computed exactly: cheap, and fusion needs both parts.
        missing = cand_idx[np.isnan(dense[cand_idx])]
        if len(missing):
            dense[missing] = data.vectors[missing] @ qv[0]
        fused = self._fuse(dense[cand_idx], sparse[cand_idx])
        periods, scope = question_cues(q)
        adj = np.array(
            [cue_factor(data.chunks[i], periods, scope) + exact_bonus(q, data.chunks[i].text) for i in cand_idx],
            dtype=np.float32,
        )
        if asks_latest(q):
            adj += recency([data.chunks[i] for i in cand_idx], self.settings.reference_date().year)
        final = fused + adj
        order = np.argsort(-final)
        hits: list[Hit] = []
        used: set[int] = set()
        for j in order:
            i = int(cand_idx[j])
            if i in used:
                continue  # already inside a higher-ranked window
            lo, hi, chunk = self._window(i)
            used.update(range(lo, hi + 1))
            hits.append(Hit(chunk=chunk, score=float(final[j]), dense=float(dense[i]), sparse=float(sparse[i])))
            if len(hits) == k:
                break
        return hits

    def _window(self, i: int) -> tuple[int, int, Chunk]:
        """Small-to-big: the matched chunk widened by `settings.window` neighbours on each side.

        Small chunks match precisely; the window gives the reader the sentence before and after,
        where the second half of an answer often sits (dev set: recall@1 0.68 → 0.75).
        """
        data = self._ensure()[0]
        chunks = data.chunks
        c = chunks[i]
        if c.kind != "text" or self.settings.window == 0:
            return i, i, c

        def same(j: int) -> bool:
            return 0 <= j < len(chunks) and chunks[j].doc == c.doc and chunks[j].kind == "text"

        lo = hi = i
        for _ in range(self.settings.window):
            lo = lo - 1 if same(lo - 1) else lo
            hi = hi + 1 if same(hi + 1) else hi
        if lo == hi:
            return i, i, c
        text = chunks[lo].text
        for j in range(lo + 1, hi + 1):
            text = join_overlapping(text, chunks[j].text)
        start, end = chunks[lo].start, max(chunks[j].end for j in range(lo, hi + 1))
        source = data.sources.get(c.doc, "")[start:end]
        periods = tuple(dict.fromkeys(p for j in range(lo, hi + 1) for p in chunks[j].periods))
        return lo, hi, replace(c, text=text, source=source, start=start, end=end, periods=periods)

    def _fuse(self, dense: np.ndarray, sparse: np.ndarray) -> np.ndarray:
        # Min-max per candidate set keeps both signals on [0, 1]; BM25 is divided by its max so a
        # question with one strong lexical match keeps that margin.
        w = self.settings.dense_weight
        d = (dense - dense.min()) / max(float(dense.max() - dense.min()), 1e-6)
        s = sparse / max(float(sparse.max()), 1e-6)
        return w * d + (1 - w) * s


def join_overlapping(a: str, b: str) -> str:
    """Concatenate neighbouring chunk texts, dropping the sentences they share.

    >>> join_overlapping("甲。乙。", "乙。丙。")
    '甲。乙。丙。'
    """
    for n in range(min(len(a), len(b)), 0, -1):
        if a.endswith(b[:n]):
            return a + b[n:]
    return a + "\n" + b
