"""`ask()`: the whole data flow in one readable function.

    question → validate → rewrite (history) → retrieve → [premise check | locate] → prompt → generate
             → cite → verify → [infer | derive] → Answer

The LLM only phrases. Code decides what is supported: `verify` drops any sentence whose
figures are not in the passage it cites (for the same metric, period and scope), and falls
back to a verbatim quote — or the refusal phrase — when nothing supported is left.

>>> # from rag import ask
>>> # ask("2024年昆山高新区地区生产总值是多少？").answer
>>> # '2024年昆山高新区实现地区生产总值1135.1亿元，同比增长6.3%[1]。'
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from string import Template
from typing import Any

from rag.arith import derive, infer
from rag.cite import finished, loop_end, resolve_citations, strip_markers
from rag.combine import compare_answer, gap_answer, share_answer, sum_answer
from rag.compose import change_answer, lookup_answer, missing_parts, nearest_answer, trend_answer
from rag.facts import FactStore
from rag.frame import Frame, asked_metric, frame
from rag.grammar import is_yes_no, scopes_in
from rag.index import IndexUnusable
from rag.judge import judges, stated
from rag.locate import locate, table_cell
from rag.lookup import lookup
from rag.notes import append_note, refusal_with_nearest, with_conflicts
from rag.premise import check_premise, premise_by_check
from rag.profile import active
from rag.prompt import REFUSAL, build_messages, load_prompts, reread_messages
from rag.query import asks_latest, normalize, resolve_relative
from rag.quote import extractive_answer
from rag.retrieve import Retriever
from rag.rewrite import rewrite
from rag.settings import Settings
from rag.types import Answer, Chunk, Composed, Fact, Hit, Message, StreamEvent, Timings, Verification
from rag.verify import is_refusal, verify


class QuestionError(ValueError):
    """The question cannot be asked (empty, not text); the message is user-facing Chinese."""


def validate(question: Any, max_chars: int) -> tuple[str, str]:
    """(question to use, notice for the user). Empty → QuestionError; too long → truncated with a notice."""
    if not isinstance(question, str):
        raise QuestionError("问题必须是文本。")
    q = "".join(ch for ch in question if ch in "\n\t" or ch.isprintable()).strip()
    if not q:
        raise QuestionError("问题为空，请输入一个问题。")
    if len(q) > max_chars:
        return q[:max_chars], f"问题过长（{len(q)}字），已截取前{max_chars}字作答。"
    return q, ""


class Pipeline:
    """Holds the retriever and generator (both lazy) and answers questions.

    One generation runs at a time per process (llama.cpp contexts are not thread-safe);
    retrieval runs concurrently.
    """

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None, generator: Any = None):
        self.settings = settings or Settings()
        self.retriever = retriever or Retriever(self.settings)
        self._generator = generator
        self._gen_lock = threading.Lock()

    @property
    def generator(self) -> Any:
        if self._generator is None:
            from rag.generate import make_generator

            self._generator = make_generator(self.settings)
        return self._generator

    # ------------------------------------------------------------------ answer
    def stream(self, question: str, history: Sequence[Message] = ()) -> Iterator[StreamEvent]:
        """Yield "hits" (before generation), then "token"s, then one "final" with the verified Answer."""
        t0 = time.perf_counter()
        q, notice = validate(question, self.settings.max_question_chars)
        # The model, the verifier and the quote fallback all compare the question with the documents'
        # wording: give them the normalised form (simplified characters, half-width digits, typos fixed).
        # Relative years ("去年") mean the year they name on the day the question is asked: read so in every
        # turn before a follow-up borrows from one ("那去年全年呢？" replaces "今年1—10月" whole).
        today = self.settings.reference_date()
        past = [
            replace(m, content=resolve_relative(normalize(m.content), today)) if m.role == "user" else m
            for m in history
        ]
        standalone = rewrite(resolve_relative(normalize(q), today), past)  # built of turns already resolved
        standalone = self._date_latest(standalone)
        fr = frame(standalone)  # the question parsed once, for every stage below
        hits = tuple(self.retriever.search(standalone, max(self.settings.top_k, self.settings.context_passages)))
        t_ret = time.perf_counter()
        yield StreamEvent(kind="hits", hits=hits)
        passages = hits[: self.settings.context_passages]

        points: tuple[Fact, ...] = ()
        shown_at: float | None = None  # when the first verified sentence was shown
        stored = functools.cache(self._facts)  # the fact store and chunks by id, read once per question

        def done(text: str, refused: bool, ver: Any = None, first: float | None = None) -> StreamEvent:
            t_end = time.perf_counter()
            answer = Answer(
                question=q,
                answer=text,
                refused=refused,
                citations=tuple(ver.citations) if ver is not None else (),
                hits=hits,
                # A figure dropped from one sentence but stated by the final text (the nearest period's figure,
                # quoted with its own year) is true where it stands: it is not flagged there.
                unsupported_numbers=tuple(u for u in ver.unsupported_numbers if u not in strip_markers(text))
                if ver is not None
                else (),
                timings=Timings(
                    retrieve_ms=round((t_ret - t0) * 1000, 1),
                    first_token_ms=round(((first or t_end) - t0) * 1000, 1),
                    first_verified_ms=round(((shown_at or t_end) - t0) * 1000, 1),
                    total_ms=round((t_end - t0) * 1000, 1),
                ),
                notice=notice,
                series=points if not refused else (),
            )
            return StreamEvent(kind="final", text=text, answer=answer)

        if not passages:
            yield done(REFUSAL, True)
            return

        # A question that asserts a figure ("…是28.36%吗？") is answered by code from the source's own figure.
        premise = check_premise(standalone, passages)
        if premise is None and is_yes_no(standalone):
            premise = premise_by_check(standalone, passages, self.retriever)
        by_code = ""
        if premise is not None:
            tpl = load_prompts("premise")["premise_agrees" if premise.agrees else "premise_wrong"]
            by_code = Template(tpl).safe_substitute(
                claimed=premise.claimed,
                source=premise.source,
                sentence=premise.sentence.rstrip("。"),
                n=premise.passage,
            )
        if not by_code and fr.yes_no and (facts := stored()):
            # "A市增速比B区还快？": both areas' figures, from whichever documents state them.
            compared = compare_answer(fr, passages, *facts)
            by_code = compared.text
            passages, hits = (*passages, *compared.extra), (*hits, *compared.extra)
        # "965亿元是哪一年的数据？": each quoted figure's period is read from the passage that states it.
        # One table cell answers one indicator: "…加起来是多少？" asks for more than any cell states.
        by_code = (
            by_code or locate(standalone, passages) or (table_cell(standalone, passages) if not fr.operation else "")
        )
        if not by_code and fr.operation == "trend":
            # "这几年怎么变化": the series the facts of the whole corpus state, each point cited.
            trend = trend_answer(fr, passages, *facts) if (facts := stored()) else Composed()
            by_code, points = trend.text, trend.facts
            if by_code:
                passages, hits = (*passages, *trend.extra), (*hits, *trend.extra)
        if by_code:
            ver = verify(by_code, passages, fr)
            if not ver.refused and not ver.fallback:
                ver = with_conflicts(fr, passages, ver)  # a table cell the text contradicts shows both
                if fr.operation == "trend":
                    ver = append_note(ver, passages, "trend_note")
                yield StreamEvent(kind="verified", text=ver.text)
                yield done(ver.text, False, ver, first=time.perf_counter())
                return
        points = ()  # the model answers: no series was stated by code

        messages = build_messages(standalone, passages, history, max_passage_chars=self.settings.max_passage_chars)
        # A name or date the model gives is judged before anyone sees it (rag.judge): no sentence is shown
        # early that the judgement could take back.
        judged = judges(fr, self.settings, self.generator)
        pieces: list[str] = []
        first: float | None = None
        checked, shown = 0, ""
        with self._gen_lock:
            stream = self.generator.stream(messages)
            for piece in stream:
                if first is None:
                    first = time.perf_counter()
                pieces.append(piece)
                # Readers see a sentence only once it is finished and verified: the draft so far is checked
                # as a whole answer would be, and only the model's own accepted sentences are shown.
                draft = "".join(pieces)
                if (cut := loop_end(draft)) >= 0:
                    pieces = [draft[:cut]]  # the model repeats itself: one copy is the answer, the rest noise
                    close = getattr(stream, "close", None)
                    if close:
                        close()
                    break
                end = finished(draft)
                if end > checked and not judged:
                    checked = end
                    partial = verify(draft[:end], passages, fr)
                    if not partial.refused and not partial.fallback and partial.text != shown:
                        shown = partial.text
                        shown_at = shown_at or time.perf_counter()
                        yield StreamEvent(kind="verified", text=shown)
        drafted = "".join(pieces)
        ver = verify(drafted, passages, fr)
        # What the passages imply but never state (an earlier value, years between two events) is computed
        # by code, operands shown: it replaces a refusal and completes an answer that lists only the parts.
        inferred = infer(fr, passages)
        sources = "\n".join(h.chunk.text for h in passages)  # where a target the question names must be stated
        if not inferred and not derive(fr, ver.text, sources):
            # "2025年比2024年多了多少？" when the passages hold only one of the years: the facts of the whole
            # corpus give both, and their passages join the sources.
            facts = stored()
            said = "" if ver.refused else ver.text
            change = change_answer(fr, passages, *facts, _asked_scope(fr.scopes), said) if facts else Composed()
            if facts and not change.text:  # "B区…占A市的比重": each area's figure from its own document
                change = share_answer(fr, passages, *facts, said)
            if facts and not change.text:  # "C区和B区…加起来": each area's figure from its own row
                change = sum_answer(fr, passages, *facts, said)
            if facts and not change.text:  # "离今年的目标还差多少": the target and this year's latest figure
                change = gap_answer(fr, passages, *facts, _asked_scope(fr.scopes), said)
            inferred = change.text
            passages, hits = (*passages, *change.extra), (*hits, *change.extra)
        if ver.refused and not inferred:
            # The figure asked for, of the asked area and period, stated in any document of the corpus
            # (the passages retrieved may have missed it, or the model misread them): quoted verbatim.
            found = lookup_answer(fr, passages, *facts) if (facts := stored()) else Composed()
            inferred = found.text
            passages, hits = (*passages, *found.extra), (*hits, *found.extra)
        if ver.refused and not inferred and self.settings.reread_refusals and is_refusal(drafted):
            # The model declined with the answer in front of it (a 1.5B model often does): the sentence it
            # copies when asked once more is verified like any answer; its refusal stands otherwise.
            ver = self._reread(messages, ver, passages, fr)
        if ver.refused and not inferred:
            # "两次增资加起来一共多少？" refused or miscomputed by the model: the operands quoted, code adds them.
            quote = extractive_answer(fr, passages, max_sentences=2)
            computed = derive(fr, quote, sources) if quote else ""
            inferred = quote + computed if computed else ""
        if ver.refused and inferred:
            ver = replace(
                ver, text=inferred, refused=False, fallback=True, citations=tuple(resolve_citations(inferred, passages))
            )
        elif ver.refused:
            # "去年GDP多少？" when no document states that year: what is missing, and the nearest period's
            # figure from the facts, quoted and cited (still a refusal of what was asked).
            year = str(self.settings.reference_date().year)
            near = nearest_answer(fr, passages, *facts, current_year=year) if (facts := stored()) else Composed()
            if near.text:
                passages, hits = (*passages, *near.extra), (*hits, *near.extra)
                ver = replace(
                    ver,
                    text=near.text,
                    refused=not near.answers,
                    fallback=near.answers,
                    citations=tuple(resolve_citations(near.text, passages)),
                )
            else:
                ver = refusal_with_nearest(fr, passages, ver)
        elif judged and not stated(self.generator, self.settings, fr, ver):
            # The cited sentence does not state this name or date as the answer: refused, as the model would
            # have had it read the sentence alone.
            ver = replace(ver, text=REFUSAL, refused=True, fallback=False, citations=())
        else:
            # "全市…是多少？高新区又是多少？" answered for one area only: the other part from the facts, quoted.
            rest = missing_parts(fr, passages, *facts, ver.text) if (facts := stored()) else Composed()
            if rest.text:
                passages, hits = (*passages, *rest.extra), (*hits, *rest.extra)
                text = ver.text + rest.text
                ver = replace(ver, text=text, citations=tuple(resolve_citations(text, passages)))
            # Every retrieved passage may disagree, not only those the model read: three planted copies of a
            # falsehood can fill the prompt while the retrieved fourth states the truth.
            wider = (*passages, *(h for h in hits if h not in passages))
            noted = with_conflicts(fr, wider, ver)
            passages, ver = (wider, noted) if noted is not ver else (passages, ver)
            computed = derive(fr, ver.text, sources) or inferred
            if computed:
                ver = replace(
                    ver, text=ver.text + computed, citations=tuple(resolve_citations(ver.text + computed, passages))
                )
        yield done(ver.text, ver.refused, ver, first)

    def _reread(
        self, messages: list[Message], declined: Verification, passages: Sequence[Hit], fr: Frame
    ) -> Verification:
        """The model's second reading after it declined: its copied sentence, verified, else `declined`."""
        with self._gen_lock:
            copied = "".join(self.generator.stream(reread_messages(messages, REFUSAL)))
        ver = verify(copied, passages, fr)
        return declined if ver.refused or ver.fallback else ver

    def _facts(self) -> tuple[FactStore, dict[str, Chunk]] | None:
        """The fact store and the chunks by id; None while the index cannot be read, or for a retriever that
        keeps no facts (one a caller plugs in): then no answer is composed from facts."""
        try:
            return self.retriever.facts, {c.id: c for c in self.retriever.chunks}
        except (IndexUnusable, AttributeError):
            return None

    def _date_latest(self, question: str) -> str:
        """ "现在/目前/最新…" with no period: the newest period the documents report for the asked metric, across
        all documents (one added today too), in the asked area or else the profile's first."""
        if not asks_latest(question):
            return question
        scope = _asked_scope(scopes_in(question))
        try:
            store = self.retriever.facts
        except IndexUnusable:
            return question
        # The fact that states the asked figure, read as the question is read; else the metric's series.
        found = lookup(frame(question), store.facts)
        if found:
            period = found[0].period
            return f"{period[:4]}年{period[4:]}{question}" if period[:4].isdigit() else f"{period}{question}"
        return store.date_latest(question, asked_metric(question), scope) if scope else question

    def ask(self, question: str, history: Sequence[Message] = ()) -> Answer:
        """The verified Answer (blocking)."""
        for event in self.stream(question, history):
            if event.kind == "final" and event.answer is not None:
                return event.answer
        raise RuntimeError("pipeline ended without an answer")  # unreachable: stream always ends with "final"

    def check(self, claim: str) -> dict[str, Any]:
        from rag.check import check_claim

        q, _ = validate(claim, self.settings.max_question_chars)
        result = check_claim(resolve_relative(q, self.settings.reference_date()), self.retriever)
        return {**result, "claim": q}  # the claim as the user wrote it; its statements show the years read


def _asked_scope(scopes: set[str] | frozenset[str]) -> str:
    """The one area a question names, else the profile's first (the documents' home area); '' for several."""
    if len(scopes) > 1:
        return ""
    return next(iter(scopes), active().scope_ids()[0])


_default: Pipeline | None = None
_default_lock = threading.Lock()


def _pipeline() -> Pipeline:
    global _default
    with _default_lock:
        if _default is None:
            _default = Pipeline()
        return _default


def ask(question: str, history: Sequence[Message] = ()) -> Answer:
    """Answer `question` with the default settings (models load on first call)."""
    return _pipeline().ask(question, history)


def ask_stream(question: str, history: Sequence[Message] = ()) -> Iterator[StreamEvent]:
    """Streaming variant of `ask`."""
    return _pipeline().stream(question, history)


__all__ = ["Pipeline", "QuestionError", "ask", "ask_stream", "validate", "Hit"]
