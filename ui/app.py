"""The Gradio web app: 问答 (streaming chat with sources; a trend answer's points as a chart), 核查 (fact-check),
数据 (figures as a chart and a table, `ui/data.py`), 文档 (index + upload).

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
# Shown while the model drafts: sentences appear only once verified, so the reader waits on this, not on
# unchecked text.
TYPING = '<div class="typing" id="typing">⏳ 已找到相关资料，正在撰写并逐句核对回答…</div>'
MAX_CHECK_BATCH = 200  # claims per /check_batch request (~0.13 s each once e5 is loaded: under 30 s)
ERROR_MSG = "⚠️ 抱歉，处理这个问题时出错了（{kind}）。服务仍在运行，请稍后重试或换个问法。"

# Claims for the 核查 tab: one the sources contradict (the GDP figure), one they support.
CHECK_EXAMPLES = (
    "2024年昆山高新区地区生产总值1235亿元，同比增长6.3%",
    "2024年昆山高新区地区生产总值1135.1亿元",
)

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
        return f"「{name}」太大（{size / 1e6:.1f} MB），单个文件不超过 {settings.max_upload_bytes / 1e6:g} MB，已拒绝。"
    if size == 0:
        return f"「{name}」是空文件，已拒绝。"
    return None


def remove_temp_uploads(paths: Sequence[str]) -> int:
    """Delete Gradio's temporary copies of uploaded files (and their emptied folders); returns how many.

    Only files inside Gradio's upload folder are touched, never a path elsewhere (a caller's own
    file, a document already copied into the corpus). Called once an upload is handled, accepted or
    rejected: the corpus keeps its own copy, and a rejected file must not linger on the server.
    """
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder()).resolve()
    removed = 0
    for p in paths:
        try:
            path = Path(p).resolve()
            if root not in path.parents or not path.is_file():
                continue
            path.unlink()
            removed += 1
            parent = path.parent
            while parent != root and root in parent.parents and not any(parent.iterdir()):
                parent.rmdir()  # Gradio keeps each upload in its own hash-named folder
                parent = parent.parent
        except OSError:
            log.warning("could not remove a temporary upload", exc_info=True)
    return removed


def size_toast_js(settings: Settings) -> str:
    """Page script turning Gradio's English upload-size toast ("File(s) exceed the maximum allowed size
    of … MB: "a.pdf"") into Chinese. Gradio checks `max_file_size` in the browser before anything is
    sent and has no i18n key for that message, so the toast's text is rewritten as it appears."""
    limit = f"{settings.max_upload_bytes / 1e6:g} MB"
    return """
<script>
(function () {
  const RE = /File\\(s\\) exceed the maximum allowed size of [^:]*:\\s*(.*)$/;
  const TITLES = {Error: '错误', Warning: '警告', Info: '提示', Success: '成功'};  // toast titles are not localised
  function fix(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const m = RE.exec(n.nodeValue);
      if (m) n.nodeValue = '文件过大，未上传：' + m[1].replace(/"/g, '') + '（单个文件不超过 LIMIT）。';
      const title = n.parentElement && n.parentElement.closest('.toast-title');
      if (title && TITLES[n.nodeValue.trim()]) n.nodeValue = TITLES[n.nodeValue.trim()];
    }
  }
  new MutationObserver(function (muts) {
    for (const mu of muts) {
      for (const node of mu.addedNodes) fix(node.nodeType === 1 ? node : node.parentNode || document.body);
      if (mu.type === 'characterData' && mu.target.parentNode) fix(mu.target.parentNode);
    }
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
})();
</script>
""".replace("LIMIT", limit)


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

    def reload_index(self, generation: str = "") -> None:
        """Make every pipeline see the current generation (the embedder stays loaded).

        Called from the indexer's threads when CURRENT changes (a build here or in another process). The new
        generation is read right away, in that thread: questions meanwhile wait a moment on the retriever's
        lock instead of loading it themselves, and a generation that cannot be read is logged, never
        raised into a question.
        """
        from rag import index as index_mod

        r = self._retriever
        if r is None:
            return  # nothing loaded yet: the first question reads the current generation
        try:
            index_mod.load(self.settings)  # a generation that cannot serve must not replace one that can
        except index_mod.IndexUnusable as e:
            log.error("new index generation %s not used: %s", generation, e)
            return
        r.reload()
        try:
            r.chunks  # noqa: B018 — load now, not in the next question
        except Exception:
            log.exception("reading the new index generation %s failed", generation)
        log.info("now answering from index generation %s", generation or "(current)")

    def indexer(self) -> Any:
        """The background indexer: builds new generations while this one answers, and notices new ones."""
        from rag import index as index_mod

        with self._lock:
            if self._indexer is None:
                # The server's loaded e5 is lent to the builder (no second copy in memory); None until loaded.
                self._indexer = index_mod.BackgroundIndexer(
                    self.settings,
                    on_switch=self.reload_index,
                    embedder=lambda: getattr(self._retriever, "_embedder", None),
                    log=log.info,
                )
                self._indexer.watch()
            return self._indexer

    def resume_indexing(self) -> None:
        """At start-up: go on with a build that was interrupted (kill -9) or documents added while stopped,
        in the background; the current generation answers meanwhile."""
        from rag import index as index_mod

        idx = self.indexer()
        if index_mod.read_manifest(self.settings) is None:
            idx.request()
            return
        # Documents or chunking changed: journalled, so the current generation answers during the rebuild. Any
        # other reason (another embedding model) needs the rebuild too; questions wait for it then.
        behind = index_mod.mark_pending(self.settings) or bool(index_mod.stale_reasons(self.settings))
        if behind:
            log.info("index behind its documents or settings: building in the background once the chat is ready")

        def warm_then_build() -> None:
            # The chat's index and embedder load first, uncontended, so the first question is answered at once;
            # a resumed build then borrows that embedder instead of loading a second one.
            try:
                self.retriever().warm()
            except Exception:
                log.exception("warming the chat at start-up failed")
            if behind:
                idx.request()

        threading.Thread(target=warm_then_build, name="gaoxin-warm", daemon=True).start()

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

    def _docs(self) -> tuple[list[list[Any]], list[dict[str, Any]]]:
        """(table rows, skipped files) of the current generation, read once per generation: the 文档 tab
        polls every second and a large index takes a second to read."""
        from rag import index as index_mod

        gen = index_mod.current_generation(self.settings)
        cached = self._docs_cache
        if cached is not None and cached[0] == gen:
            return cached[1], cached[2]
        manifest = index_mod.read_manifest(self.settings)
        if not manifest:
            return [], []
        try:
            chunks = index_mod.load(self.settings, verify=False, check_stale=False).chunks
        except Exception:  # the table still lists documents when the index cannot be read
            log.exception("index load for the documents table failed")
            chunks = ()
        rows = render.docs_table(manifest, chunks)
        skipped = list(manifest.get("skipped") or [])
        self._docs_cache = (gen, rows, skipped)
        return rows, skipped

    def docs_rows(self) -> list[list[Any]]:
        return self._docs()[0]

    def index_panel(self) -> str:
        """HTML for the 文档 tab: the running build's progress bar (chunks done / total, its documents),
        an interrupted one, or the last failure; and the files the current generation could not read."""
        from rag import index as index_mod

        parts = []
        prog = index_mod.read_progress(self.settings)
        idx = self._indexer
        if prog is not None and prog.running:
            names = "、".join(render.esc(d) for d in prog.docs[:5]) + (" 等" if len(prog.docs) > 5 else "")
            stage = {"parsing": "正在解析文档", "embedding": "正在向量化", "writing": "正在写入新索引"}.get(
                prog.state, "正在索引"
            )
            count = f"{prog.done} / {prog.total} 段" if prog.total else ""
            parts.append(
                f'<div class="index-progress" data-done="{prog.done}" data-total="{prog.total}">'
                f"⏳ {stage}{('：' + names) if names else ''}　{count}<br>"
                f'<progress value="{prog.done}" max="{max(prog.total, 1)}" style="width:100%"></progress>'
                "<br><small>索引期间照常回答问题（使用现有资料），完成后自动切换到新索引。</small></div>"
            )
        elif idx is not None and idx.busy:
            parts.append('<div class="index-progress">⏳ 正在准备索引…</div>')
        elif prog is not None:
            parts.append(
                '<div class="index-progress">⚠️ 上次索引未完成（索引进程曾中断）；服务重启时自动继续，'
                "已完成的部分不再重算，现有资料照常回答。</div>"
            )
        pending = index_mod.pending_docs(self.settings)
        if pending and not parts:
            parts.append(f'<div class="index-progress">⏳ 等待索引：{render.esc("、".join(sorted(pending)))}</div>')
        if idx is not None and idx.last_error:
            parts.append(f'<div class="index-error">⚠️ {render.esc(idx.last_error)}</div>')
        skipped = self._docs()[1]
        if skipped:
            items = "".join(
                f"<li>{render.esc(str(e.get('file', '')))}：{render.esc(str(e.get('error', '')))}</li>" for e in skipped
            )
            parts.append(f'<div class="skipped-docs">未能收录的文件（已跳过，不影响其他文档）：<ul>{items}</ul></div>')
        return ("".join(parts) or '<div class="index-progress idle">✅ 索引已是最新。</div>') + self._trust_panel()

    def _trust_panel(self) -> str:
        """The 文档 tab's list of sentences that are never evidence (instructions to the system) and uploaded
        figures an official document contradicts (`rag.trust.document_rows`), read once per generation."""
        from rag import index as index_mod
        from rag.trust import document_rows, message

        gen = index_mod.current_generation(self.settings)
        cached = getattr(self, "_trust_cache", None)
        if cached is None or cached[0] != gen:
            cached = self._trust_cache = (gen, document_rows(index_mod.read_manifest(self.settings)))
        items = "".join(
            f"<li>{render.esc(title)}（{render.esc(tier)}）：{render.esc(note)}</li>"
            for _, title, tier, note in cached[1]
        )
        return f'<div class="trust-notes">{render.esc(message("heading"))}：<ul>{items}</ul></div>' if items else ""

    def docs_view(self) -> tuple[str, list[list[Any]]]:
        """(index panel, documents table) for the 文档 tab."""
        return self.index_panel(), self.docs_rows()

    def docs_tick(self, seen: str | None) -> tuple[str, Any, str]:
        """The 文档 tab's timer: the panel every tick; the table only when the generation changed since
        this browser last drew it (`seen`), so it does not flicker while nothing happens."""
        from rag import index as index_mod

        gen = index_mod.current_generation(self.settings)
        table = self.docs_rows() if gen != seen else gr.skip()
        return self.index_panel(), table, gen

    def add_files(
        self, paths: Sequence[str], progress: Any = None, *, wait: bool = False
    ) -> tuple[str, list[list[Any]]]:
        """Check, copy and journal the uploads now, then index them in the background (the 文档 tab shows
        progress); questions are answered from the current generation until the switch. `wait=True` blocks
        until the new generation is live (tests, benchmarks)."""
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
                progress(0.05, desc="正在检查文档…")
            with self._file_lock:
                added, errors = index_mod.stage_documents(self.settings, ok)
            if added:
                idx = self.indexer()
                idx.request()
                if wait:
                    idx.wait()
                    idx.check_switch()  # the switch is seen now, not at the watcher's next poll
            queued = "⏳ 已收到「{}」，正在后台建立索引；期间照常回答问题，完成后自动生效。"
            msgs += [f"✅ 已加入索引：{name}" if wait else queued.format(name) for name in added]
            msgs += [f"❌ 「{name}」未能加入：{err}" for name, err in errors]
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
                f'<div class="check verdict-bad"><div class="check-head"><span class="badge v-bad">出错</span>'
                f"核查时出错（{render.esc(type(e).__name__)}），请稍后重试。</div></div>",
                None,
            )
        return render.render_check(res), res

    def upload(files: list | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, list]:  # noqa: B008
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        # A file still listed in the upload box after an earlier click was handled then, and its
        # temporary copy removed: say so, rather than calling it empty.
        gone = [f"❌ 「{Path(p).name}」已处理过（临时文件已删除）；如需再次加入，请重新选择该文件。"
                for p in paths if not Path(p).exists()]  # fmt: skip
        paths = [p for p in paths if Path(p).exists()]
        try:
            if gone and not paths:
                return "\n\n".join(gone), svc.docs_rows()
            msg, *rest = svc.add_files(paths, progress)
            return ("\n\n".join([*gone, msg]), *rest)
        except Exception as e:
            # The log keeps the details; the message names no exception class and no server path.
            log.error("upload failed: %s\n%s", e, traceback.format_exc())
            return "❌ 更新索引时出错，已有索引保持不变。请稍后重试，或联系管理员查看服务器日志。", svc.docs_rows()
        finally:
            # add_files has copied what it accepted into the corpus by now; no temporary copy stays.
            remove_temp_uploads(paths)

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
        from rag.cli import batch_lines, check_batch

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
                gr.Markdown(
                    "输入一条说法（例如稿件中的一句话），对照资料逐条核查其中的数字。结论分为："
                    "**支持**、**矛盾**（错误的数字划掉，旁边给出资料中的数字）、**未找到**；"
                    "不同资料的数字不一致时另标 **有冲突**。"
                )
                claim = gr.Textbox(
                    label="要核查的说法", lines=2, elem_id="claim", placeholder="例如：2024年昆山高新区地区生产总值……"
                )
                check_btn = gr.Button("核查", variant="primary", elem_id="check-btn")
                gr.Examples(examples=[[c] for c in CHECK_EXAMPLES], inputs=claim, label="示例说法")
                verdict = gr.HTML(elem_id="verdict")
                # Citizens read the card above; the raw result (English keys) is for developers only.
                with gr.Accordion("开发者/API", open=False, elem_id="check-dev"):
                    gr.Markdown("接口 `/check` 返回的原始结果（JSON），供开发者调试和对接使用。")
                    verdict_json = gr.JSON(label="原始结果", elem_id="verdict-json")
            with gr.Tab("数据", id="data-tab") as data_ui:
                data_ui_parts = data_tab.build_data_tab(data_svc, demo, data_ui)
            with gr.Tab("文档", id="docs-tab"):
                gr.Markdown(
                    "已收录的文档。可上传 txt / md / pdf / docx"
                    f"（单个不超过 {settings.max_upload_bytes / 1e6:.0f} MB）。"
                )
                # Progress of a build (chunks done / total and its documents), in this process or another
                # (`gaoxin index add`), and the files the current generation skipped, with the reason.
                index_panel = gr.HTML(elem_id="index-panel")  # filled by demo.load and the timer below
                table = gr.Dataframe(
                    headers=["文件", "标题", "段落数", "涉及时期"], interactive=False, elem_id="docs-table"
                )
                index_timer = gr.Timer(1.0)
                docs_gen = gr.State(None)  # the generation this browser's table shows
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
        # Undocumented, not private: the live test (and scripts) upload through this very handler.
        add_btn.click(
            upload, files, [upload_status, table], concurrency_id="index", concurrency_limit=1,
            api_name="upload", api_visibility="undocumented",
        )  # fmt: skip
        demo.load(svc.docs_view, None, [index_panel, table], queue=False, **private)
        index_timer.tick(
            svc.docs_tick, docs_gen, [index_panel, table, docs_gen], queue=False, show_progress="hidden", **private
        )

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
