"""What a build in progress writes down for everyone else: pending journals and PROGRESS.json.

`pending/*.json` names the documents a build has been asked to bring in, written *before* they are
copied, so a question asked meanwhile (or after a kill -9) is answered from the current generation
instead of failing as "stale"; a journal is deleted once a generation satisfies it. `PROGRESS.json` is
the running build's state (chunks done / total, its documents), read in any process by the 文档 tab and
`gaoxin index status`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.generation import _lock_held, _write_json_atomic
from rag.settings import Settings

# ---------------------------------------------------------------- pending builds


def _pending_journals(index_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    folder = index_dir / "pending"
    if folder.is_dir():
        for p in sorted(folder.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                out.append((p, json.loads(p.read_text(encoding="utf-8"))))
    return out


def pending_docs(settings: Settings) -> dict[str, str]:
    """Documents (name → sha256) that a build has been asked to bring in and has not yet switched to."""
    docs: dict[str, str] = {}
    for _, j in _pending_journals(settings.index_dir):
        docs.update(j.get("docs", {}))
    return docs


def _write_journal(settings: Settings, docs: dict[str, str], chunking: dict[str, Any] | None = None) -> Path:
    """Record what a build is about to bring in, *before* the files appear, so a question asked meanwhile
    (or after a kill -9) is answered from the current generation instead of failing as "stale"."""
    folder = settings.index_dir / "pending"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}-{os.getpid()}.json"
    _write_json_atomic(path, {"docs": docs, "chunking": chunking, "pid": os.getpid(), "created": time.time()})
    return path


def _finish_journals(settings: Settings, manifest: dict[str, Any]) -> None:
    """Delete the pending journals this generation satisfies; those for documents staged later stay."""
    have = {d: v.get("sha256") for d, v in manifest.get("docs", {}).items()}
    have.update({e["file"]: e.get("sha256") for e in manifest.get("skipped", ())})
    for path, j in _pending_journals(settings.index_dir):
        docs_ok = all((have.get(d) == sha) if sha else d not in have for d, sha in j.get("docs", {}).items())
        chunking_ok = j.get("chunking") in (None, manifest.get("chunking"))
        if docs_ok and chunking_ok:
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (settings.index_dir / "pending").rmdir()  # only when empty: nothing is pending


# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class BuildProgress:
    """A build's state as the builder last wrote it (any process): shown by the 文档 tab and `index status`."""

    state: str  # "parsing" (loading + chunking), "embedding", "writing"
    done: int  # chunks with a vector (reused or embedded)
    total: int  # chunks that need one
    docs: tuple[str, ...]  # documents this build adds or changes
    running: bool  # False: the builder died (kill -9); the next start-up or build resumes it
    started: float
    updated: float


def read_progress(settings: Settings) -> BuildProgress | None:
    path = settings.index_dir / "PROGRESS.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return BuildProgress(
        state=str(d.get("state", "")),
        done=int(d.get("done", 0)),
        total=int(d.get("total", 0)),
        docs=tuple(d.get("docs", ())),
        running=_lock_held(settings.index_dir),
        started=float(d.get("started", 0)),
        updated=float(d.get("updated", 0)),
    )


class _Progress:
    """Writes PROGRESS.json (atomically, at most every 0.3 s unless the state changes) and calls `on_progress`."""

    def __init__(self, index_dir: Path, on_progress: Callable[[BuildProgress], None] | None) -> None:
        self.path = index_dir / "PROGRESS.json"
        self.on_progress = on_progress
        self.started = time.time()
        self.state, self.done, self.total, self.docs = "parsing", 0, 0, ()
        self._last = 0.0

    def set(self, state: str | None = None, done: int | None = None, total: int | None = None,
            docs: Sequence[str] | None = None) -> None:  # fmt: skip
        changed = state is not None and state != self.state
        self.state = state or self.state
        self.done = self.done if done is None else done
        self.total = self.total if total is None else total
        self.docs = self.docs if docs is None else tuple(docs)
        now = time.time()
        if not changed and now - self._last < 0.3 and self.done < self.total:
            return
        self._last = now
        rec = {"state": self.state, "done": self.done, "total": self.total, "docs": list(self.docs),
               "pid": os.getpid(), "started": self.started, "updated": now}  # fmt: skip
        with contextlib.suppress(OSError):
            _write_json_atomic(self.path, rec)
        if self.on_progress is not None:
            self.on_progress(BuildProgress(self.state, self.done, self.total, self.docs, True, self.started, now))

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
