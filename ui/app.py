"""The Gradio web app: 问答 (streaming chat with sources; a trend answer's points as a chart), 核查 (fact-check),
数据 (figures as a chart and a table, `ui/data.py`), 文档 (index + upload).

Start it with `gaoxin serve` (binds 127.0.0.1:7860 by default, never shares publicly). Set
`GAOXIN_USER` and `GAOXIN_PASSWORD` to require a login.

Named API endpoints (for `gradio_client`; UI-internal events are private)::

    from gradio_client import Client
    c = Client("http://127.0.0.1:7860/")
    answer, sources = c.predict("昆山高新区2026年的发展重点是什么？", api_name="/ask")
    # answer: str with [n] markers; sources: [{"n", "doc", "title", "section", "text",
    #          "periods", "scope", "cited", "quote"}, ...] — `n` matches the [n] markers
    verdict = c.predict("2024年昆山高新区地区生产总值1135.1亿元", api_name="/check")
    # {"claim", "verdict": "supported"|"contradicted"|"not_found",
    #  "statements": [{"text", "verdict", "evidence", "source_value"}]}
    facts = c.predict("地区生产总值", "zone", "", "", api_name="/facts")   # metric, scope, period, kind
    # [{"metric", "period", "scope", "value", "unit", "raw", "kind", "doc", "title", "start", "end",
    #   "sentence", "conflicts", ...}, ...] in period order — see ui/data.py

Models load lazily: the first question shows 正在加载模型 until the pipeline is ready.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
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

log = logging.getLogger("gaoxin.ui")

MODE_QUALITY, MODE_FAST, MODE_EXTRACTIVE = "质量 1.5B", "快速 0.5B", "仅摘录"
MODES = (MODE_QUALITY, MODE_FAST, MODE_EXTRACTIVE)
ALLOWED_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
# General questions about the seed documents (deliberately not taken from the dev set).
EXAMPLES = (
    "昆山高新区2026年的发展重点是什么？",
    "昆山高新区在推动科技创新和产业创新融合方面做了哪些工作？",
    "阳澄湖两岸科创中心是什么？",
    "“十四五”期间昆山高新区取得了哪些主要成绩？",
)
LOADING = "⏳ 正在加载模型（首次提问需要加载，请稍候）…"
SEARCHING = "⏳ 正在检索资料…"
ERROR_MSG = "⚠️ 抱歉，处理这个问题时出错了（{kind}）。服务仍在运行，请稍后重试或换个问法。"

CSS = """
#sources .src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
#sources .src.cited { border-color: #d08c00; }
#sources .src header { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 4px; }
#sources .src-n { font-weight: bold; color: var(--body-text-color); }
#sources .src-scope { padding: 0 4px; border-radius: 4px; background: #e8f0fe; color: #1a4fa0; }
#sources .src-doc { font-size: 0.75em; color: var(--body-text-color-subdued); }
#sources .src.flash { box-shadow: 0 0 0 3px #f5b400; }
mark.cited { background: #fff2b3; color: inherit; }
b.fig { color: #0b6e4f; }
mark.bad { background: #ffd6d6; color: #a00; text-decoration: underline wavy #a00; }
.refusal { background: #fff4e5; border-left: 4px solid #f59e0b; padding: 6px 10px; margin-bottom: 6px; }
.bad-note { color: #a00; font-size: 0.9em; margin-top: 6px; }
.notice { color: #555; font-size: 0.9em; }
a.cite-link { text-decoration: none; font-weight: bold; }
.check .claim { color: var(--body-text-color-subdued); }
.check.verdict-ok h3 { color: #0b6e4f; } .check.verdict-bad h3 { color: #a00; }
"""

# Chatbot links may open in a new tab; `[n]` should instead scroll to its passage in the panel.
HEAD_JS = """
<script>
document.addEventListener('click', function (e) {
  const a = e.target.closest && e.target.closest('a.cite-link');
  if (!a) return;
  const el = document.getElementById(a.getAttribute('href').slice(1));
  if (!el) return;
  e.preventDefault(); e.stopPropagation();
  el.scrollIntoView({behavior: 'smooth', block: 'center'});
  el.classList.add('flash'); setTimeout(function () { el.classList.remove('flash'); }, 1500);
}, true);
</script>
"""


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


def validate_upload(name: str, size: int, settings: Settings) -> str | None:
    """A Chinese reason to reject an upload before it is parsed, or None.

    >>> validate_upload("a.exe", 10, Settings())
    '「a.exe」不是支持的格式（仅支持 txt、md、pdf、docx）。'
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        return f"「{name}」不是支持的格式（仅支持 txt、md、pdf、docx）。"
    if size > settings.max_upload_bytes:
        return f"「{name}」太大（{size / 1e6:.1f} MB），上限为 {settings.max_upload_bytes / 1e6:.1f} MB。"
    if size == 0:
        return f"「{name}」是空文件。"
    return None


def is_blank(text: Any) -> bool:
    """Nothing to answer or check: empty, whitespace or control characters only (what the pipeline rejects)."""
    from rag.pipeline import QuestionError, validate

    try:
        validate(text, 1 << 30)
    except QuestionError:
        return True
    return False


def citations_json(answer: Answer) -> list[dict[str, Any]]:
    return [
        {"n": c.n, "doc": c.doc, "title": c.title, "section": c.section, "text": c.text, "start": c.start, "end": c.end}
        for c in answer.citations
    ]


class ChatService:
    """Everything the event handlers need: lazily built pipelines per answer mode, feedback, drafts, upload.

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

    def reload_index(self) -> None:
        """Make every pipeline see a rebuilt index (the embedder stays loaded)."""
        r = self._retriever
        if r is None:
            return
        r.reload()

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

    def docs_rows(self) -> list[list[Any]]:
        from rag import index as index_mod

        manifest = index_mod.read_manifest(self.settings)
        if not manifest:
            return []
        try:
            chunks = index_mod.load(self.settings, verify=False, check_stale=False).chunks
        except Exception:  # the table still lists documents when the index cannot be read
            log.exception("index load for the documents table failed")
            chunks = ()
        return render.docs_table(manifest, chunks)

    def add_files(self, paths: Sequence[str], progress: Any = None) -> tuple[str, list[list[Any]]]:
        from rag import index as index_mod

        if not paths:
            return "请先选择要上传的文件。", self.docs_rows()
        msgs, ok = [], []
        for p in paths:
            path = Path(p)
            err = validate_upload(path.name, path.stat().st_size if path.exists() else 0, self.settings)
            if err:
                msgs.append("❌ " + err)
            else:
                ok.append(path)
        if ok:
            if progress is not None:
                progress(0.05, desc="正在解析文档并更新索引…")
            with self._file_lock:
                added, errors = index_mod.add_documents(self.settings, ok, progress=True, log=log.info)
            self.reload_index()
            msgs += [f"✅ 已加入索引：{name}" for name in added]
            msgs += [f"❌ 「{name}」未能加入：无法提取文字或格式有误（{err}）" for name, err in errors]
        return "\n\n".join(msgs), self.docs_rows()

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
                        chat[-1] = {"role": "assistant", "content": "⏳ 已找到相关资料，正在生成回答…"}
                    pending = render.render_sources(hits, pending=True)
                    yield chat, pending, "", hist, gr.skip(), gr.skip(), gr.skip(), *keep_chart()
                elif ev.kind == "token":
                    text += ev.text
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


def build_app(settings: Settings, pipeline: Any = None) -> gr.Blocks:
    """The whole web app. `pipeline` (optional) replaces the default-mode pipeline, e.g. in tests."""
    svc = ChatService(settings, pipeline)
    data_svc = data_tab.DataService(settings)

    def clear() -> tuple:
        empty = '<div class="sources empty">提问后，这里会显示回答所依据的资料段落。</div>'
        return [], empty, [], None, "", None, *chart_updates(None)

    def open_data(trend: dict[str, str] | None) -> tuple:
        """The 数据 tab, showing the charted metric and area with every source."""
        if not trend:
            return gr.skip(), gr.skip(), gr.skip()
        return gr.Tabs(selected="data-tab"), trend["metric"], trend["scope"] or gr.skip()

    def check_ui(claim: str) -> tuple[str, Any]:
        if is_blank(claim):
            return '<div class="check">请输入一条要核查的说法，例如含有数字的一句话。</div>', None
        try:
            res = svc.check(claim.strip())
        except Exception as e:
            log.error("check failed: %s\n%s", e, traceback.format_exc())
            return (
                f'<div class="check verdict-bad">⚠️ 核查时出错（{render.esc(type(e).__name__)}），请稍后重试。</div>',
                None,
            )
        return render.render_check(res), res

    def upload(files: list | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, list]:  # noqa: B008
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        try:
            return svc.add_files(paths, progress)
        except Exception as e:
            log.error("upload failed: %s\n%s", e, traceback.format_exc())
            return f"❌ 更新索引时出错（{type(e).__name__}），已有索引保持不变。", svc.docs_rows()

    def api_ask(question: str) -> tuple[str, list[dict[str, Any]]]:
        """Answer a question: (answer text with [n] markers, the numbered sources)."""
        if is_blank(question):
            return render.EMPTY_QUESTION, []
        try:
            answer = svc.ask(question)
            text, sources = render.answer_to_api(answer)
            # The notice (e.g. "question truncated") is never hidden, from API callers neither.
            return (f"{answer.notice}\n\n{text}" if answer.notice else text), sources
        except Exception as e:
            log.error("api ask failed: %s\n%s", e, traceback.format_exc())
            raise gr.Error(f"回答失败：{type(e).__name__}") from e

    def api_check(claim: str) -> dict[str, Any]:
        """Fact-check a claim: {"claim", "verdict", "statements": [...]}."""
        if is_blank(claim):
            return {"claim": claim or "", "verdict": "not_found", "statements": [], "error": "说法为空"}
        try:
            return svc.check(claim.strip())
        except Exception as e:
            log.error("api check failed: %s\n%s", e, traceback.format_exc())
            raise gr.Error(f"核查失败：{type(e).__name__}") from e

    def api_facts(metric: str, scope: str, period: str, kind: str) -> list[dict[str, Any]]:
        """The figures the documents state (metric name or alias, scope id or name, period label, kind; empty = any),
        as JSON records in period order, each with its document, offsets and sentence."""
        try:
            return data_svc.records(metric, scope, period, kind)
        except data_tab.DataError as e:
            raise gr.Error(str(e)) from e
        except Exception as e:
            log.error("api facts failed: %s\n%s", e, traceback.format_exc())
            raise gr.Error(f"读取数据失败：{type(e).__name__}") from e

    private = {"api_visibility": "private"}
    with gr.Blocks(title="高新问答", analytics_enabled=False) as demo:
        gr.Markdown(
            "## 高新问答 · 昆山高新区资料问答\n回答只依据已收录的资料，每个数字都对照原文核验；点击 [n] 查看出处。"
        )
        hist = gr.State([])
        last = gr.State(None)
        trend = gr.State(None)
        with gr.Tabs() as tabs:
            with gr.Tab("问答", id="chat-tab"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(
                            label="对话", height=480, elem_id="chat", feedback_options=None, buttons=["copy"]
                        )
                        # A trend answer's points, drawn as the 数据 tab draws them; hidden for any other answer.
                        chart = gr.ScatterPlot(
                            x="时期", y="数值", color="类型", color_map=data_tab.KIND_COLORS, x_title="时期",
                            y_title="数值", color_title="类型", tooltip=["原文数字", "文档"],
                            label="回答中的数字", elem_id="chat-chart", visible=False,
                        )  # fmt: skip
                        chart_link = gr.Button(
                            CHART_LINK, size="sm", variant="secondary", visible=False, elem_id="chart-link"
                        )
                        with gr.Row():
                            q = gr.Textbox(
                                placeholder="输入关于昆山高新区的问题，回车发送…", show_label=False, scale=5,
                                elem_id="question", max_length=settings.max_question_chars * 2,
                            )  # fmt: skip
                            send = gr.Button("提问", variant="primary", scale=1, elem_id="send")
                            new = gr.Button("新对话", scale=1, elem_id="new-chat")
                        gr.Examples(examples=[[e] for e in EXAMPLES], inputs=q, label="示例问题")
                        with gr.Row():
                            good = gr.Button("有用", size="sm", elem_id="fb-good")
                            bad = gr.Button("有误", size="sm", elem_id="fb-bad")
                        fb_status = gr.Markdown(elem_id="fb-status")
                        with gr.Accordion("设置", open=False):
                            mode = gr.Radio(
                                list(MODES),
                                value=svc.default_mode,
                                label="回答模式",
                                elem_id="mode",
                                info="质量：1.5B 模型；快速：0.5B 模型，约快 3 倍；"
                                "仅摘录：直接给出原文句子，不用大模型",
                            )
                            passages = gr.Slider(1, 8, value=settings.context_passages, step=1, label="参考段落数")
                        with gr.Accordion("导出答复草稿（Markdown，含脚注）", open=False):
                            draft = gr.Textbox(
                                label="草稿", lines=8, buttons=["copy"], elem_id="draft", interactive=False
                            )
                            download = gr.DownloadButton("下载 .md 文件", interactive=False, elem_id="draft-download")
                    with gr.Column(scale=2):
                        sources = gr.HTML(clear()[1], elem_id="sources", label="来源")
            with gr.Tab("核查", id="check-tab"):
                gr.Markdown("输入一条说法（例如稿件中的一句话），对照资料核查其中的数字是否有依据。")
                claim = gr.Textbox(label="要核查的说法", lines=2, elem_id="claim")
                check_btn = gr.Button("核查", variant="primary", elem_id="check-btn")
                verdict = gr.HTML(elem_id="verdict")
                verdict_json = gr.JSON(label="详细结果", visible=True)
            with gr.Tab("数据", id="data-tab") as data_ui:
                data_ui_parts = data_tab.build_data_tab(data_svc, demo, data_ui)
            with gr.Tab("文档", id="docs-tab"):
                gr.Markdown(
                    "已收录的文档。可上传 txt / md / pdf / docx"
                    f"（单个不超过 {settings.max_upload_bytes / 1e6:.0f} MB）。"
                )
                table = gr.Dataframe(
                    headers=["文件", "标题", "段落数", "涉及时期"], interactive=False, elem_id="docs-table"
                )
                # No `file_types` filter: Gradio would reject other types with an English toast; our own
                # check (validate_upload) explains the rejection in Chinese instead.
                files = gr.File(label="上传文档（txt / md / pdf / docx）", file_count="multiple", elem_id="upload")
                add_btn = gr.Button("加入索引", variant="primary", elem_id="add-docs")
                upload_status = gr.Markdown(elem_id="upload-status")

        chat_io = dict(
            fn=svc.respond,
            inputs=[q, chat, hist, mode, passages],
            outputs=[chat, sources, q, hist, last, draft, download, chart, chart_link, trend],
            concurrency_id="llm",
            show_progress="hidden",
            **private,
        )
        q.submit(**chat_io)
        send.click(**chat_io)
        new.click(
            clear, None, [chat, sources, hist, last, draft, download, chart, chart_link, trend], queue=False, **private
        )
        chart_link.click(open_data, trend, [tabs, data_ui_parts.metric, data_ui_parts.scope], queue=False, **private)
        good.click(lambda lst: svc.record_feedback(lst, "useful"), last, fb_status, queue=False, **private)
        bad.click(lambda lst: svc.record_feedback(lst, "wrong"), last, fb_status, queue=False, **private)
        check_btn.click(check_ui, claim, [verdict, verdict_json], concurrency_id="llm", **private)
        claim.submit(check_ui, claim, [verdict, verdict_json], concurrency_id="llm", **private)
        add_btn.click(upload, files, [upload_status, table], concurrency_id="index", concurrency_limit=1, **private)
        demo.load(svc.docs_rows, None, table, queue=False, **private)

        gr.api(api_ask, api_name="ask", concurrency_id="llm")
        gr.api(api_check, api_name="check", concurrency_id="llm")
        gr.api(api_facts, api_name="facts", concurrency_id="data")
    demo.svc = svc  # tests and `serve` reach the service through the app
    return demo


def _auth() -> tuple[str, str] | None:
    user, password = os.environ.get("GAOXIN_USER"), os.environ.get("GAOXIN_PASSWORD")
    return (user, password) if user and password else None


def launch_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments of `Blocks.launch`: loopback by default, never a public share link."""
    return dict(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        auth=_auth(),
        auth_message="请登录后使用高新问答。" if _auth() else None,
        # Hard cap well above our own limit, so ordinary oversize files get our Chinese message and
        # only absurd ones are cut off by Gradio before they fill the disk.
        max_file_size=settings.max_upload_bytes * 5,
        show_error=False,  # error text stays in our Chinese messages; tracebacks go to the log only
        ssr_mode=False,  # SSR needs Node; the plain Python server is enough and has no extra process
        css=CSS + data_tab.CSS,
        head=HEAD_JS,
        footer_links=["api"],
    )


def serve(settings: Settings) -> None:
    """Run the web app until interrupted (what `gaoxin serve` calls)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo = build_app(settings)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=64)
    t0 = time.time()
    log.info("serving on http://%s:%d (models load on the first question)", settings.host, settings.port)
    demo.launch(**launch_kwargs(settings))
    log.info("stopped after %.0f s", time.time() - t0)
