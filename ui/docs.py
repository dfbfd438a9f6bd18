"""The 文档 tab: the documents the index holds, uploads, and the progress of a build.

Uploads are checked (`ui.upload.validate_upload`), then copied and journalled at once (`rag.index.stage_documents`)
and indexed by a `rag.index.BackgroundIndexer` in a daemon thread while the current generation keeps
answering; the tab redraws its panel every second. `DocsMixin` is the part of `ui.chat.ChatService` that
does this; `build_docs_tab` lays the tab out and `wire_docs_tab` connects its events.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.settings import Settings
from ui import render
from ui.upload import remove_temp_uploads, validate_upload

log = logging.getLogger("gaoxin.ui")


class DocsMixin:
    """The 文档 tab's half of `ui.chat.ChatService`: the background indexer, the index panel and table, uploads.

    The host class sets `settings`, `_lock`, `_file_lock`, `_retriever` (None until the chat loads one),
    `_indexer` and `_docs_cache` (both None at first), and provides `retriever()`.
    """

    settings: Settings
    _lock: threading.Lock
    _file_lock: threading.Lock
    _retriever: Any
    _indexer: Any  # rag.index.BackgroundIndexer, made on the first upload or at `serve` start-up
    _docs_cache: tuple[str, list[list[Any]], list[dict[str, Any]]] | None  # (generation, rows, skipped)
    retriever: Callable[[], Any]

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


@dataclass
class DocsTab:
    """The 文档 tab's components (`build_docs_tab`)."""

    index_panel: gr.HTML
    table: gr.Dataframe
    index_timer: gr.Timer
    docs_gen: gr.State
    files: gr.File
    add_btn: gr.Button
    upload_status: gr.Markdown


def build_docs_tab(settings: Settings) -> DocsTab:
    """The 文档 tab's components, inside the caller's tab; `wire_docs_tab` connects them."""
    gr.Markdown(f"已收录的文档。可上传 txt / md / pdf / docx（单个不超过 {settings.max_upload_bytes / 1e6:.0f} MB）。")
    # Progress of a build (chunks done / total and its documents), in this process or another
    # (`gaoxin index add`), and the files the current generation skipped, with the reason.
    index_panel = gr.HTML(elem_id="index-panel")  # filled by demo.load and the timer below
    table = gr.Dataframe(headers=["文件", "标题", "段落数", "涉及时期"], interactive=False, elem_id="docs-table")
    index_timer = gr.Timer(1.0)
    docs_gen = gr.State(None)  # the generation this browser's table shows
    # No `file_types` filter: Gradio would reject other types with an English toast; our own
    # check (validate_upload) explains the rejection in Chinese instead.
    files = gr.File(label="上传文档（txt / md / pdf / docx）", file_count="multiple", elem_id="upload")
    add_btn = gr.Button("加入索引", variant="primary", elem_id="add-docs")
    upload_status = gr.Markdown(elem_id="upload-status")
    return DocsTab(index_panel, table, index_timer, docs_gen, files, add_btn, upload_status)


def wire_docs_tab(tab: DocsTab, svc: Any, demo: gr.Blocks) -> None:
    """The 文档 tab's events: the upload button (also the `/upload` endpoint), the panel and table on page
    load, and the timer that redraws them."""
    private = {"api_visibility": "private"}
    index_panel, table, index_timer, docs_gen = tab.index_panel, tab.table, tab.index_timer, tab.docs_gen
    files, add_btn, upload_status = tab.files, tab.add_btn, tab.upload_status

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

    # Undocumented, not private: the live test (and scripts) upload through this very handler.
    add_btn.click(
        upload, files, [upload_status, table], concurrency_id="index", concurrency_limit=1,
        api_name="upload", api_visibility="undocumented",
    )  # fmt: skip
    demo.load(svc.docs_view, None, [index_panel, table], queue=False, **private)
    index_timer.tick(
        svc.docs_tick, docs_gen, [index_panel, table, docs_gen], queue=False, show_progress="hidden", **private
    )
