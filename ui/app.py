"""The Gradio web app: 问答 (streaming chat with sources; a trend answer's points as a chart, `ui/chat.py`),
核查 (fact-check, `ui/check.py`), 数据 (figures as a chart and a table, `ui/data.py`), 文档 (index + upload,
`ui/docs.py`). This module assembles the tabs into one Blocks, adds the named API endpoints and launches it.

Start it with `gaoxin serve` (binds 127.0.0.1:7860 by default, never shares publicly). Set
`GAOXIN_USER` and `GAOXIN_PASSWORD` to require a login.

Named API endpoints (for `gradio_client`; UI-internal events are private)::

    from gradio_client import Client
    c = Client("http://127.0.0.1:7860/")
    answer, sources = c.predict("昆山高新区2026年的发展重点是什么？", api_name="/ask")
    # answer: str with [n] markers; sources: [{"n", "doc", "title", "section", "text",
    #          "periods", "scope", "cited", "quote", "tier"}, ...] — `n` matches the [n] markers
    verdict = c.predict("2024年昆山高新区地区生产总值1135.1亿元", api_name="/check")
    # {"claim", "verdict": "supported"|"contradicted"|"not_found",
    #  "statements": [{"text", "verdict", "evidence", "source_value"}]}
    facts = c.predict("地区生产总值", "zone", "", "", api_name="/facts")   # metric, scope, period, kind
    # [{"metric", "period", "scope", "value", "unit", "raw", "kind", "doc", "title", "start", "end",
    #   "sentence", "conflicts", ...}, ...] in period order — see ui/data.py

Models load lazily: the first question shows 正在加载模型 until the pipeline is ready.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from typing import Any

import gradio as gr

from rag.batch import batch_lines, check_batch
from rag.settings import Settings
from ui import data as data_tab
from ui import render
from ui.chat import (
    CHART_LINK,
    EXAMPLES,
    MODE_EXTRACTIVE,
    MODE_FAST,
    MODE_QUALITY,
    MODES,
    ChatService,
    answer_titles,
    chart_updates,
    citations_json,
    default_mode,
    is_blank,
    keep_chart,
    mode_settings,
)
from ui.check import CHECK_EXAMPLES, build_check_tab, wire_check_tab
from ui.docs import build_docs_tab, wire_docs_tab
from ui.upload import ALLOWED_SUFFIXES, remove_temp_uploads, size_toast_js, validate_upload

__all__ = [
    "ALLOWED_SUFFIXES",
    "CHART_LINK",
    "CHECK_EXAMPLES",
    "CSS",
    "EXAMPLES",
    "HEAD_JS",
    "MAX_CHECK_BATCH",
    "MODES",
    "MODE_EXTRACTIVE",
    "MODE_FAST",
    "MODE_QUALITY",
    "ChatService",
    "answer_titles",
    "build_app",
    "chart_updates",
    "citations_json",
    "default_mode",
    "is_blank",
    "keep_chart",
    "launch_kwargs",
    "mode_settings",
    "remove_temp_uploads",
    "serve",
    "size_toast_js",
    "validate_upload",
]

log = logging.getLogger("gaoxin.ui")

MAX_CHECK_BATCH = 200  # claims per /check_batch request (~0.13 s each once e5 is loaded: under 30 s)


CSS = """
#sources .src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
#sources .src.cited { border-color: #d08c00; }
#sources .src header { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 4px; }
#sources .src-n { font-weight: bold; color: var(--body-text-color); }
#sources .src-doc { font-size: 0.75em; color: var(--body-text-color-subdued); }
#sources .src.flash { box-shadow: 0 0 0 3px #f5b400; }
#sources .src.uploaded { border-style: dashed; }
.badges { display: inline-flex; flex-wrap: wrap; gap: 4px; margin-left: 2px; vertical-align: middle; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 0.85em; line-height: 1.6;
  font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.badge.b-period { background: #f1f3f4; color: #3c4043; }
.badge.b-scope { background: #e8f0fe; color: #1a4fa0; }
.badge.tier-official { background: #e6f4ea; color: #136c2e; }
.badge.tier-uploaded { background: #fff4e5; color: #8a4b00; border-color: #f5b400; }
.src .src-excerpt { margin: 4px 0; line-height: 1.75; }
.src .src-context, .src .ellipsis { color: var(--body-text-color-subdued); }
.src details.src-full summary { cursor: pointer; color: #1a4fa0; font-size: 0.85em; margin: 2px 0; }
.src details.src-full .src-text { border-top: 1px dashed var(--border-color-primary); padding-top: 4px;
  font-size: 0.92em; }
mark.cited { background: #fff2b3; color: inherit; }
b.fig { color: #0b6e4f; }
mark.bad { background: #ffd6d6; color: #a00; text-decoration: underline wavy #a00; }
.refusal { background: #fff4e5; border-left: 4px solid #f59e0b; padding: 6px 10px; margin-bottom: 6px; }
.bad-note { color: #a00; font-size: 0.9em; margin-top: 6px; }
.notice { color: #555; font-size: 0.9em; }
a.cite-link { text-decoration: none; font-weight: bold; }
.check .claim { margin: 6px 0 8px; }
.check .check-count { color: #5f6368; margin: 4px 0; }
.check-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; font-size: 1.15em; font-weight: 600; }
.check-head .badge { font-size: 1em; padding: 2px 14px; border-radius: 14px; }
.stmt-head .badge { margin-right: 2px; }
.badge.v-ok { background: #0b6e4f; color: #fff; }
.badge.v-bad { background: #c62828; color: #fff; }
.badge.v-unknown { background: #5f6368; color: #fff; }
.badge.v-conflict { background: #f5b400; color: #3d2a00; }
.check.verdict-ok .check-summary { color: #0b6e4f; } .check.verdict-bad .check-summary { color: #c62828; }
.check .stmt { border: 1px solid var(--border-color-primary); border-left: 5px solid #5f6368; border-radius: 8px;
  padding: 8px 12px; margin: 10px 0; }
.check .stmt.verdict-ok { border-left-color: #0b6e4f; } .check .stmt.verdict-bad { border-left-color: #c62828; }
.check .stmt-head { margin: 0; line-height: 1.8; font-size: 1.05em; }
/* Figures are green only where the sources confirm them: a contradicted claim's figures are never. */
.check .stmt b.fig { color: inherit; }
.check .stmt.verdict-ok .stmt-text b.fig, .check mark.src-fig b.fig, .check b.src-fig { color: #0b6e4f; }
del.wrong-fig { color: #c62828; text-decoration: line-through 2px #c62828; font-weight: 700; }
.check .fix { margin: 0 4px; padding: 1px 6px; border-radius: 4px; background: #e6f4ea; white-space: nowrap; }
.check mark.src-fig { background: #e6f4ea; }
.check .source-value { margin: 4px 0; }
.check .conflict-note { color: #8a4b00; margin: 4px 0; }
.check .ev-head { font-size: 0.85em; color: #5f6368; margin: 6px 0 2px; }
.check .evidence { margin: 0; padding: 0; list-style: none; font-size: 0.95em; line-height: 1.7; }
.check .evidence li { border-left: 3px solid var(--border-color-primary); padding: 2px 8px; margin: 4px 0; }
.check .ev-src { font-size: 0.85em; color: #5f6368; }
/* Phones: the chat column's parts and the sources column become one list, so the sources sit directly below the
   answer (and its chart) instead of below the question box, examples, settings and draft. */
@media (max-width: 480px) {
  .row:has(> .column > #chat) { flex-direction: column; flex-wrap: nowrap; }
  .column:has(> #chat) { display: contents; }
  .column:has(> #chat) > * { order: 3; }
  .column:has(> #chat) > #chat { order: 1; }
  .column:has(> #chat) > #chat-chart, .column:has(> #chat) > #chart-link { order: 2; }
  .column:has(> #sources) { order: 2; min-width: 0 !important; }
  #sources .src { margin: 6px 0; }
  /* A phone has no width to spare for the desktop's 32 px margins, nor height for an empty 480 px chat box. */
  .gradio-container .main.app { padding: 12px 10px !important; }
  #chat { height: auto !important; min-height: 220px; max-height: 75vh; }
}
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

    def api_check_batch(claims: list[str] | str) -> list[dict[str, Any]]:
        """Fact-check many claims, one verdict each, in order: a list of claims (ids 1, 2, …), or JSONL text of
        {"id", "claim"} lines. A bad line or empty claim gives {"id", "line", "error"}; the others still run."""
        if isinstance(claims, str):
            lines = list(batch_lines(claims.encode("utf-8"), key="claim"))
        else:
            lines = [
                (i, {"id": i, "claim": c}, None) if isinstance(c, str) else (i, None, f"line {i}: not a string")
                for i, c in enumerate(claims or [], 1)
            ]
        if len(lines) > MAX_CHECK_BATCH:  # one request must not hold the checker for everyone else
            raise gr.Error(f"一次最多核查{MAX_CHECK_BATCH}条说法，本次{len(lines)}条。")
        return list(check_batch(svc.check, lines))

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
                check_tab = build_check_tab()
            with gr.Tab("数据", id="data-tab") as data_ui:
                data_ui_parts = data_tab.build_data_tab(data_svc, demo, data_ui)
            with gr.Tab("文档", id="docs-tab"):
                docs_tab = build_docs_tab(settings)

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
        wire_check_tab(check_tab, svc)
        wire_docs_tab(docs_tab, svc, demo)

        gr.api(api_ask, api_name="ask", concurrency_id="llm")
        gr.api(api_check, api_name="check", concurrency_id="llm")
        gr.api(api_check_batch, api_name="check_batch", concurrency_id="llm")
        gr.api(api_facts, api_name="facts", concurrency_id="data")
    demo.svc = svc  # tests and `serve` reach the service through the app
    return demo


def _auth() -> tuple[str, str] | None:
    user, password = os.environ.get("GAOXIN_USER"), os.environ.get("GAOXIN_PASSWORD")
    return (user, password) if user and password else None


def launch_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments of `Blocks.launch`: loopback by default, never a public share link.

    With a login configured, failed logins are throttled per client (`ui.guard`); Gradio's English
    refusals on the login and upload routes become Chinese either way.
    """
    from starlette.middleware import Middleware

    from ui.guard import Guard, LoginThrottle

    auth = _auth()
    throttle = LoginThrottle(settings.login_fail_delay, settings.login_max_delay) if auth else None
    return dict(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        auth=auth,
        auth_message=(
            f"请登录后使用高新问答。连续输错密码后，每次重试都要多等一会儿（最长 {settings.login_max_delay:g} 秒）。"
            if auth
            else None
        ),
        app_kwargs={"middleware": [Middleware(Guard, throttle=throttle, max_upload_bytes=settings.max_upload_bytes)]},
        # Gradio refuses a larger file in the browser before it is sent (its English toast is
        # rewritten by size_toast_js) and on the server while it streams, so an oversize file never
        # reaches the disk; validate_upload says the same in Chinese for API callers.
        max_file_size=settings.max_upload_bytes,
        show_error=False,  # error text stays in our Chinese messages; tracebacks go to the log only
        ssr_mode=False,  # SSR needs Node; the plain Python server is enough and has no extra process
        css=CSS + data_tab.CSS,
        head=HEAD_JS + size_toast_js(settings),
        footer_links=["api"],
    )


def serve(settings: Settings) -> None:
    """Run the web app until interrupted (what `gaoxin serve` calls)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo = build_app(settings)
    demo.svc.resume_indexing()  # an interrupted build goes on in the background; answers start at once
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=64)
    t0 = time.time()
    log.info("serving on http://%s:%d (models load on the first question)", settings.host, settings.port)
    if _auth():
        log.info(
            "login required; failed logins are answered after %g s, doubling up to %g s per client",
            settings.login_fail_delay,
            settings.login_max_delay,
        )
    demo.launch(**launch_kwargs(settings))
    log.info("stopped after %.0f s", time.time() - t0)
