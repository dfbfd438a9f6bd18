"""The 问答 tab's service: answers streamed with their sources (a trend answer's points as a chart),
per answer mode, with feedback and a downloadable draft.

`ChatService` is what every event handler of the app reaches (`demo.svc`); its 文档 tab half is
`ui.docs.DocsMixin`. The tab's layout is assembled in `ui.app.build_app`.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import traceback
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr

from rag.settings import Settings
from rag.types import Answer, Message
from ui import data as data_tab
from ui import render
from ui.docs import DocsMixin

log = logging.getLogger("gaoxin.ui")

MODE_QUALITY, MODE_FAST, MODE_EXTRACTIVE = "质量 1.5B", "快速 0.5B", "仅摘录"
MODES = (MODE_QUALITY, MODE_FAST, MODE_EXTRACTIVE)
# General questions about the seed documents (deliberately not taken from the dev set).
EXAMPLES = (
    "昆山高新区2026年的发展重点是什么？",
    "昆山高新区在推动科技创新和产业创新融合方面做了哪些工作？",
    "阳澄湖两岸科创中心是什么？",
    "“十四五”期间昆山高新区取得了哪些主要成绩？",
)
LOADING = "⏳ 正在加载模型（首次提问需要加载，请稍候）…"
SEARCHING = "⏳ 正在检索资料…"
# Shown while the model drafts: sentences appear only once verified, so the reader waits on this, not on
# unchecked text.
TYPING = '<div class="typing" id="typing">⏳ 已找到相关资料，正在撰写并逐句核对回答…</div>'
ERROR_MSG = "⚠️ 抱歉，处理这个问题时出错了（{kind}）。服务仍在运行，请稍后重试或换个问法。"


def default_mode(settings: Settings) -> str:
    if settings.llm_backend == "extractive":
        return MODE_EXTRACTIVE
    return MODE_FAST if settings.fast else MODE_QUALITY


def mode_settings(settings: Settings, mode: str) -> Settings:
    """Settings for one answer mode; the configured backend stays for 质量 unless it is extractive."""
    if mode == MODE_EXTRACTIVE:
        return settings.model_copy(update={"llm_backend": "extractive"})
    if mode == MODE_FAST:
        return settings.model_copy(update={"llm_backend": "llamacpp", "fast": True})
    backend = "llamacpp" if settings.llm_backend == "extractive" else settings.llm_backend
    return settings.model_copy(update={"llm_backend": backend, "fast": False})


def is_blank(text: Any) -> bool:
    """Nothing to answer or check: empty, whitespace or control characters only (what the pipeline rejects)."""
    from rag.pipeline import QuestionError, validate

    try:
        validate(text, 1 << 30)
    except QuestionError:
        return True
    return False


def citations_json(answer: Answer) -> list[dict[str, Any]]:
    from rag.trust import tier_for

    return [
        {"n": c.n, "doc": c.doc, "title": c.title, "section": c.section, "text": c.text, "start": c.start, "end": c.end,
         "tier": tier_for(c.doc, answer.hits)}  # official / uploaded (rag.trust): an API client can weigh them
        for c in answer.citations
    ]  # fmt: skip


class ChatService(DocsMixin):
    """Everything the event handlers need: lazily built pipelines per answer mode, feedback, drafts, upload
    (the 文档 tab's part: `ui.docs.DocsMixin`).

    One retriever (index + embedder) is shared by all modes so switching mode never reloads it.
    """

    def __init__(self, settings: Settings, pipeline: Any = None) -> None:
        self.settings = settings
        self.default_mode = default_mode(settings)
        self._pipelines: dict[tuple[str, int], Any] = {}
        self._generators: dict[str, Any] = {}
        self._ready: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._file_lock = threading.Lock()
        self._retriever = getattr(pipeline, "retriever", None)
        if pipeline is not None:
            self._pipelines[(self.default_mode, settings.context_passages)] = pipeline
            if getattr(pipeline, "generator", None) is not None:
                self._generators[self.default_mode] = pipeline.generator
        self._draft_dir: Path | None = None  # made on the first download, so idle services leave no temp dirs
        self._indexer: Any = None  # rag.index.BackgroundIndexer, made on the first upload or at `serve` start-up
        self._docs_cache: tuple[str, list[list[Any]], list[dict[str, Any]]] | None = None  # (generation, rows, skipped)

    # -- pipelines ----------------------------------------------------------------
    def retriever(self) -> Any:
        with self._lock:
            if self._retriever is None:
                from rag.retrieve import Retriever

                self._retriever = Retriever(self.settings)
            return self._retriever

    def pipeline(self, mode: str | None = None, passages: int | None = None) -> Any:
        mode = mode if mode in MODES else self.default_mode
        passages = int(passages or self.settings.context_passages)
        key = (mode, passages)
        with self._lock:
            p = self._pipelines.get(key)
        if p is not None:
            return p
        from rag.generate import make_generator
        from rag.pipeline import Pipeline

        retriever = self.retriever()
        s = mode_settings(self.settings, mode).model_copy(update={"context_passages": passages})
        with self._lock:
            # One generator per mode (models load lazily inside it), shared by every passage count,
            # so moving the slider never loads the LLM a second time.
            generator = self._generators.get(mode)
            if generator is None:
                generator = self._generators[mode] = make_generator(s)
            p = self._pipelines.get(key)
            if p is None:
                p = self._pipelines[key] = Pipeline(s, retriever=retriever, generator=generator)
        return p

    def is_ready(self, mode: str, passages: int) -> bool:
        return (mode, int(passages)) in self._ready

    def mark_ready(self, mode: str, passages: int) -> None:
        self._ready.add((mode, int(passages)))

    # -- files ----------------------------------------------------------------------
    def record_feedback(self, last: dict[str, Any] | None, rating: str) -> str:
        if not last:
            return "还没有可以评价的回答。"
        rec = {
            "ts": datetime.now(UTC).isoformat(timespec="seconds"),
            "question": last["question"],
            "answer": last["answer"],
            "citations": last["citations"],
            "rating": rating,
        }
        path = self.settings.data_dir / "feedback.jsonl"
        with self._file_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return "已记录：有用，谢谢！" if rating == "useful" else "已记录：有误，我们会核查这条回答。"

    def write_draft(self, markdown: str) -> str:
        with self._file_lock:
            if self._draft_dir is None:
                self._draft_dir = Path(tempfile.mkdtemp(prefix="gaoxin-drafts-"))
        path = self._draft_dir / f"draft-{datetime.now():%Y%m%d-%H%M%S-%f}.md"
        path.write_text(markdown, encoding="utf-8")
        return str(path)

    # -- answering ------------------------------------------------------------------
    def respond(self, question: str, chat: list, hist: list, mode: str, passages: float) -> Iterator[tuple]:
        """The chat handler: yields (chat, sources, question box, history, last, draft, download, chart,
        chart link, trend) updates.

        Sources are shown as soon as the hits arrive, before the first token; any pipeline error
        becomes a Chinese message in the chat and the app keeps serving. The chart (`chart_updates`) is
        hidden as the question is asked and drawn with the answer only when it is a trend's series.
        """
        chat = list(chat or [])
        hist = list(hist or [])
        question = question or ""
        if is_blank(question):
            chat.append({"role": "assistant", "content": render.EMPTY_QUESTION})
            yield chat, gr.skip(), "", hist, gr.skip(), gr.skip(), gr.skip(), *chart_updates(None)
            return
        passages = int(passages or self.settings.context_passages)
        chat.append({"role": "user", "content": render.esc(question)})
        loading = not self.is_ready(mode, passages)
        chat.append({"role": "assistant", "content": LOADING if loading else SEARCHING})
        yield chat, gr.skip(), "", hist, gr.skip(), gr.skip(), gr.skip(), *chart_updates(None)
        hits: tuple = ()
        valid: set[int] = set()
        text = ""
        final: Answer | None = None
        try:
            p = self.pipeline(mode, passages)
            for ev in p.stream(question, _history(hist)):
                if ev.kind == "status":
                    chat[-1] = {"role": "assistant", "content": "⏳ " + render.esc(ev.text)}
                    yield chat, gr.skip(), "", hist, gr.skip(), gr.skip(), gr.skip(), *keep_chart()
                elif ev.kind == "hits":
                    hits = ev.hits
                    valid = {s.n for s in render.number_sources(hits)}
                    if not text:
                        chat[-1] = {"role": "assistant", "content": TYPING}
                    pending = render.render_sources(hits, pending=True)
                    yield chat, pending, "", hist, gr.skip(), gr.skip(), gr.skip(), *keep_chart()
                elif ev.kind == "verified":
                    # Each snapshot holds only sentences the verifier accepted; the model's raw draft is
                    # never on screen, so a figure it would drop is never seen, even for a moment.
                    text = ev.text
                    chat[-1] = {"role": "assistant", "content": render.render_streaming(text, valid)}
                    yield chat, gr.skip(), "", hist, gr.skip(), gr.skip(), gr.skip(), *keep_chart()
                elif ev.kind == "final" and ev.answer is not None:
                    final = ev.answer
        except Exception as e:  # the app must keep serving whatever the pipeline does
            log.error("pipeline failed: %s\n%s", e, traceback.format_exc())
            kind = (
                "索引不可用，请先运行 gaoxin index build" if type(e).__name__ == "IndexUnusable" else type(e).__name__
            )
            chat[-1] = {"role": "assistant", "content": ERROR_MSG.format(kind=render.esc(kind))}
            yield chat, gr.skip(), "", hist, gr.skip(), gr.skip(), gr.skip(), *keep_chart()
            return
        if final is None:
            chat[-1] = {"role": "assistant", "content": ERROR_MSG.format(kind="没有得到回答")}
            yield chat, gr.skip(), "", hist, gr.skip(), gr.skip(), gr.skip(), *keep_chart()
            return
        self.mark_ready(mode, passages)
        chat[-1] = {"role": "assistant", "content": render.render_answer(final)}
        hist += [{"role": "user", "content": question}, {"role": "assistant", "content": final.answer}]
        last = {"question": final.question, "answer": final.answer, "citations": citations_json(final)}
        draft = render.answer_to_markdown(final)
        sources = render.render_sources(final.hits, final.citations)
        download = gr.DownloadButton(value=self.write_draft(draft), interactive=True)
        yield chat, sources, "", hist, last, draft, download, *chart_updates(final)

    def ask(self, question: str, history: Sequence[Message] = ()) -> Answer:
        return self.pipeline().ask(question, history)

    def check(self, claim: str) -> dict[str, Any]:
        return self.pipeline().check(claim)


CHART_LINK = "在「数据」页查看全部来源"


def chart_updates(answer: Answer | None) -> tuple[Any, Any, Any]:
    """(chart, its link to the 数据 tab, the link's {"metric", "scope"}) for the latest answer: a trend answer's
    points (`Answer.series`) drawn as the 数据 tab draws them; any other answer, or none, hides the chart.

    Data, axis title, period order and caption are sent together, always to a hidden chart (the question
    hid it): the browser draws a chart it shows again from scratch, while a visible one redrawn with new
    settings and new data at once may stay blank (see `data_tab.redraw`).
    """
    chart = None
    if answer is not None and answer.series:
        try:
            chart = data_tab.series_chart(answer.series, answer_titles(answer))
        except Exception as e:  # an answer is never lost to its chart
            log.error("series chart failed: %s\n%s", e, traceback.format_exc())
    if chart is None:
        return gr.ScatterPlot(visible=False), gr.Button(visible=False), None
    plot = gr.ScatterPlot(
        value=chart.frame, y_title=chart.y_title, sort=chart.periods, caption=chart.caption, visible=True
    )
    return plot, gr.Button(visible=bool(chart.metric)), {"metric": chart.metric, "scope": chart.scope}


def keep_chart() -> tuple[Any, Any, Any]:
    """`chart_updates`' outputs left as they are (while an answer streams)."""
    return gr.skip(), gr.skip(), gr.skip()


def answer_titles(answer: Answer) -> dict[str, str]:
    """Document titles by file name, from the answer's passages (the chart's tooltip names its documents)."""
    titles = {h.chunk.doc: h.chunk.title for h in answer.hits if h.chunk.title}
    titles.update({c.doc: c.title for c in answer.citations if c.title})
    return titles


def _history(hist: Sequence[dict[str, str]] | None) -> tuple[Message, ...]:
    return tuple(Message(role=h["role"], content=h["content"]) for h in (hist or ()))
