"""Bringing documents in while the index keeps answering: uploads validated and staged, and the
background indexer that builds new generations and notices those another process switched to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.build import _zh_reason, build
from rag.generation import current_generation
from rag.journal import _write_journal
from rag.model_cache import sha256_file
from rag.settings import Settings


def stage_documents(settings: Settings, paths: Iterable[Path]) -> tuple[list[str], list[tuple[str, str]]]:
    """Validate new documents and copy them under data_dir/docs, without building.

    Returns (added names, [(name, Chinese reason)]). A file that fails to load is rejected and never
    copied, so it cannot break later builds. The accepted ones are journalled under pending/ *before*
    they are copied, so the current generation keeps answering until a build brings them in.
    """
    from rag.load import LoadError, load_file

    dest = settings.data_dir / "docs"
    ok: list[tuple[Path, str, str]] = []  # (source, safe name, sha256)
    errors: list[tuple[str, str]] = []
    for p in paths:
        p = Path(p)
        try:
            if p.stat().st_size > settings.max_upload_bytes:
                limit = f"{settings.max_upload_bytes / 1e6:g} MB"
                raise LoadError(p.name, f"文件过大（上限 {limit}）", f"file too large (> {limit})")
            load_file(p, settings)
            ok.append((p, safe_name(p.name), sha256_file(p)))
        except LoadError as e:
            errors.append((p.name, _zh_reason(e)))
        except OSError:
            errors.append((p.name, "无法读取文件"))
    if ok:
        _write_journal(settings, {name: sha for _, name, sha in ok})
        dest.mkdir(parents=True, exist_ok=True)
        for src, name, _ in ok:
            tmp = dest / f".{name}.part"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest / name)
    return [name for _, name, _ in ok], errors


def add_documents(
    settings: Settings, paths: Iterable[Path], **build_kw: Any
) -> tuple[list[str], list[tuple[str, str]]]:
    """`stage_documents`, then build (incrementally: only their new chunks are embedded).

    Returns (added names, [(name, Chinese reason)]).
    """
    added, errors = stage_documents(settings, paths)
    if added:
        build(settings, **build_kw)
    return added, errors


class _LentEmbedder:
    """Asks for the server's embedder only when the first batch is embedded (the chat may have loaded it by
    then), and loads its own only if there is still none: never two copies when one will do."""

    def __init__(self, lend: Callable[[], Any], settings: Settings) -> None:
        self.lend, self.settings, self._own = lend, settings, None

    def embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        e = self.lend() or self._own
        if e is None:
            from rag.embed import SentenceTransformerEmbedder

            e = self._own = SentenceTransformerEmbedder(self.settings)
        return e.embed(texts, query=query)


class BackgroundIndexer:
    """Builds new generations in a daemon thread while the current one keeps answering, and watches CURRENT
    so a generation another process switched to (`gaoxin index add`) is noticed too.

    `request()` asks for a build; requests made while one runs coalesce into one more build afterwards
    (it picks up every document staged meanwhile). `on_switch(generation)` runs in the worker or the
    watcher thread whenever CURRENT names a new generation; `embedder()` lends the server's loaded
    model, so indexing does not load a second copy.
    """

    def __init__(
        self,
        settings: Settings,
        on_switch: Callable[[str], None],
        embedder: Callable[[], Any] | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.on_switch = on_switch
        self.embedder = embedder or (lambda: None)
        self.log = log
        self.last_error = ""  # Chinese, for the 文档 tab; empty after a successful build
        self._wanted = threading.Event()
        self._cv = threading.Condition()
        self._busy = False
        self._worker: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._seen = current_generation(settings)
        self._stop = threading.Event()

    @property
    def busy(self) -> bool:
        return self._busy or self._wanted.is_set()

    def request(self) -> None:
        with self._cv:
            self._wanted.set()
            if self._worker is None:  # the worker clears it under this lock as it exits: no request is lost
                self._worker = threading.Thread(target=self._run, name="gaoxin-indexer", daemon=True)
                self._worker.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no build is wanted or running (tests, benchmarks); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.busy:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def watch(self, interval: float = 1.0) -> None:
        """Poll CURRENT every `interval` seconds (a read of a few bytes) in a daemon thread."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, args=(interval,), name="gaoxin-watch", daemon=True)
            self._watcher.start()

    def stop(self) -> None:
        self._stop.set()

    def check_switch(self) -> None:
        """Call `on_switch` if CURRENT names a generation not seen yet (the watcher does this every second)."""
        gen = current_generation(self.settings)
        with self._cv:
            if not gen or gen == self._seen:
                return
            self._seen = gen
        try:
            self.on_switch(gen)
        except Exception as e:  # the old generation keeps answering; the next change retries
            self.log(f"reload after switch to {gen} failed: {type(e).__name__}: {e}")

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.check_switch()

    def _run(self) -> None:
        while True:
            with self._cv:
                if not self._wanted.is_set() or self._stop.is_set():
                    self._worker = None
                    return
                self._wanted.clear()
                self._busy = True
            with contextlib.suppress(OSError, AttributeError):
                # Linux nice is per thread: questions get the CPU first, indexing takes what is left.
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            try:
                build(self.settings, _LentEmbedder(self.embedder, self.settings), progress=False, log=self.log)
                self.last_error = ""
            except Exception as e:  # never raised into the server; pending journals keep the docs for a retry
                self.last_error = f"索引更新失败（{type(e).__name__}），已有索引照常回答；重启服务后会自动重试。"
                self.log(f"background build failed: {type(e).__name__}: {e}")
            finally:
                self._busy = False
            self.check_switch()


def safe_name(name: str) -> str:
    """A file name with no directory parts or odd characters (no path traversal).

    >>> safe_name("../../etc/passwd.txt")
    'passwd.txt'
    """
    import re
    import unicodedata

    base = os.path.basename(name.replace("\\", "/"))
    base = unicodedata.normalize("NFC", base)
    base = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", base).lstrip(".")
    return base[:120] or "document.txt"
