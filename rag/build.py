"""The build: documents → chunks → vectors → a new generation, switched to atomically.

Vectors are reused by text hash (`_vkey`) from the current generation and from an interrupted build's
`partial/<model>/` shards (written every few seconds while embedding), so only new text is embedded and a
killed build resumes where it stopped. One build at a time: it holds the writer lock of `rag.generation`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag import trust
from rag.freshness import (
    EMBED_TEXT_VERSION,
    chunking_settings,
    embed_text,
    load,
    mark_pending,
    model_fingerprint,
    source_files,
    stale_reasons,
)
from rag.generation import IndexUnusable, _discard_leftovers, _lock, _write_generation, read_manifest
from rag.journal import BuildProgress, _finish_journals, _Progress
from rag.model_cache import sha256_file
from rag.settings import Settings
from rag.types import Chunk, Document


def build(
    settings: Settings,
    embedder: Any = None,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
    force: bool = False,
    on_progress: Callable[[BuildProgress], None] | None = None,
) -> dict[str, Any]:
    """(Re)build the index from `source_files` into a new generation, then switch to it atomically.

    Returns the new manifest; a no-op (returns the current manifest) when nothing changed. Vectors are
    reused by text hash (`_vkey`) from the current generation and from an interrupted build's
    `partial/` shards, so only new text is embedded and a killed build resumes where it stopped.
    A document that fails to load or chunk is skipped (name, Chinese reason and sha256 in
    `manifest["skipped"]`); the rest are indexed. Progress goes to PROGRESS.json and `on_progress`.
    """
    from rag.profile import activate

    activate(settings.profile)  # chunks are read with this profile's vocabulary

    with _lock(settings.index_dir):
        _discard_leftovers(settings.index_dir)
        old = read_manifest(settings)
        if old is not None and not force and not stale_reasons(settings, old):
            _finish_journals(settings, old)  # a build in another process may have brought them in already
            log("index is up to date")
            return old
        if old is not None:
            mark_pending(settings)  # questions meanwhile (and after a kill -9) keep the current generation
        bar = _Progress(settings.index_dir, on_progress)
        try:
            manifest = _build_locked(settings, old, embedder, progress, log, bar)
        finally:
            bar.clear()
        _finish_journals(settings, manifest)
        shutil.rmtree(settings.index_dir / "partial", ignore_errors=True)  # every vector is in the generation now
        return manifest


def _build_locked(
    settings: Settings,
    old: dict[str, Any] | None,
    embedder: Any,
    progress: bool,
    log: Callable[[str], None],
    bar: _Progress,
) -> dict[str, Any]:
    from rag.chunk import chunk_document

    fp = model_fingerprint(settings)
    same_chunking = old is not None and old.get("chunking") == chunking_settings(settings)
    stored: dict[str, np.ndarray] = {}  # _vkey → vector, this model only
    reuse: dict[str, tuple[list[Chunk], np.ndarray]] = {}
    if old is not None and old.get("model") == fp:
        with contextlib.suppress(IndexUnusable):
            prev = load(settings, verify=True, check_stale=False)
            by_doc: dict[str, list[int]] = {}
            for i, c in enumerate(prev.chunks):
                by_doc.setdefault(c.doc, []).append(i)
                stored[_vkey(c)] = prev.vectors[i]
            if same_chunking:  # unchanged documents keep their chunks too, not only their vectors
                for doc, idx in by_doc.items():
                    reuse[doc] = ([prev.chunks[i] for i in idx], prev.vectors[idx])
    resumed = _read_partial(settings.index_dir, fp)
    stored.update(resumed)

    docs, errors = _load_docs(settings, bar)
    chunks: list[Chunk] = []
    parts: list[np.ndarray | None] = []  # per kept document: reused vectors, or None (looked up / embedded below)
    fresh: list[Chunk] = []
    doc_meta: dict[str, Any] = {}
    kept: list[Document] = []
    for d in docs:
        prev_doc = old.get("docs", {}).get(d.doc) if old else None
        if d.doc in reuse and prev_doc and prev_doc.get("sha256") == d.sha256:
            cs, vs = reuse[d.doc]
            parts.append(vs)
        else:
            try:
                cs = chunk_document(d, settings)
            except Exception as e:  # one document's failure must not take the index down
                errors.append((d.doc, f"无法切分该文档（{type(e).__name__}）", d.sha256))
                log(f"skipped {d.doc}: chunking failed: {type(e).__name__}: {e}")
                continue
            parts.append(None)
            fresh += cs
        kept.append(d)
        chunks += cs
        doc_meta[d.doc] = {"sha256": d.sha256, "n_chunks": len(cs), "title": cs[0].title if cs else d.doc}
        doc_meta[d.doc] |= trust.doc_meta(d)

    keys = [_vkey(c) for c in fresh]
    todo = list(dict.fromkeys(k for k in keys if k not in stored))  # identical texts are embedded once
    per_key: dict[str, int] = {}
    for k in keys:
        per_key[k] = per_key.get(k, 0) + 1
    # The documents this build brings in: those with text to embed, else those whose file changed.
    missing = set(todo)
    changed = list(dict.fromkeys(c.doc for c, k in zip(fresh, keys, strict=True) if k in missing)) or [
        d.doc for d in kept if (old or {}).get("docs", {}).get(d.doc, {}).get("sha256") != d.sha256
    ]
    bar.set("embedding", done=len(keys) - sum(per_key[k] for k in todo), total=len(keys), docs=changed)
    if todo:
        if embedder is None:
            from rag.embed import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder(settings)
        n_docs = len({c.doc for c, k in zip(fresh, keys, strict=True) if k not in stored})
        note = f" ({len(resumed)} vectors resumed from an interrupted build)" if resumed else ""
        log(f"embedding {len(todo)} chunks from {n_docs} document(s){note}")
        texts = {k: embed_text(c) for c, k in zip(fresh, keys, strict=True)}
        _embed_missing(settings, embedder, todo, texts, stored, fp, progress, bar, per_key)

    vecs: list[np.ndarray] = []
    cursor = 0
    for part, d in zip(parts, kept, strict=True):
        n = doc_meta[d.doc]["n_chunks"]
        if part is not None:
            vecs.append(part)
        elif n:
            vecs.append(np.stack([stored[k] for k in keys[cursor : cursor + n]]))
            cursor += n
    dim = next((v.shape[1] for v in vecs if v.size), 384)
    vectors = np.ascontiguousarray(np.concatenate(vecs) if vecs else np.zeros((0, dim)), dtype=np.float32)

    bar.set("writing", done=len(keys), total=len(keys))
    sources = {d.doc: d.text for d in kept}
    chunking = chunking_settings(settings)
    manifest = _write_generation(settings, chunks, vectors, fp, doc_meta, errors, sources, chunking)
    log(f"index built: {len(chunks)} chunks from {len(kept)} document(s)")
    return manifest


def _load_docs(settings: Settings, bar: _Progress) -> tuple[list[Document], list[tuple[str, str, str]]]:
    """Every source file as a Document; a file that cannot be read becomes (name, Chinese reason, sha256)."""
    from rag.load import LoadError, load_file

    docs: list[Document] = []
    errors: list[tuple[str, str, str]] = []
    for path in source_files(settings):
        bar.set("parsing")
        try:
            docs.append(trust.screen(load_file(path, settings), settings))  # tier; instructions blanked
        except LoadError as e:
            errors.append((path.name, _zh_reason(e), _sha_or_empty(path)))
        except Exception as e:  # a parser crash on one file must not take the index down
            errors.append((path.name, f"无法读取该文件（{type(e).__name__}）", _sha_or_empty(path)))
    return docs, errors


def _zh_reason(e: Exception) -> str:
    """The Chinese reason of a LoadError, without file name or path (shown to users)."""
    zh = getattr(e, "zh", None)
    if zh:
        return str(zh)
    from rag.load import chinese_reason

    return chinese_reason(str(e))


def _sha_or_empty(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return ""


def _embed_missing(
    settings: Settings,
    embedder: Any,
    todo: list[str],
    texts: dict[str, str],
    stored: dict[str, np.ndarray],
    fp: dict[str, str],
    progress: bool,
    bar: _Progress,
    per_key: dict[str, int],
) -> None:
    """Embed the texts of `todo` keys into `stored`, checkpointing to partial/ every few seconds."""
    from tqdm import tqdm

    batch = settings.embed_batch_size
    todo = sorted(todo, key=lambda k: len(texts[k]))  # similar lengths per batch: little padding
    tq = tqdm(total=len(todo), desc="embedding", unit="chunk", disable=not progress)
    unsaved: list[str] = []
    last_save = time.monotonic()
    try:
        for i in range(0, len(todo), batch):
            ks = todo[i : i + batch]
            out = np.asarray(embedder.embed([texts[k] for k in ks], query=False), dtype=np.float32)
            stored.update(zip(ks, out, strict=True))
            unsaved += ks
            tq.update(len(ks))
            bar.set(done=bar.done + sum(per_key[k] for k in ks))
            if time.monotonic() - last_save > 5 or len(unsaved) >= 512:
                _write_partial(settings.index_dir, fp, unsaved, np.stack([stored[k] for k in unsaved]))
                unsaved, last_save = [], time.monotonic()
    except BaseException:
        if unsaved:  # a crash we see (not a kill -9) keeps everything embedded so far for the retry
            _write_partial(settings.index_dir, fp, unsaved, np.stack([stored[k] for k in unsaved]))
        raise
    finally:
        tq.close()


# ---------------------------------------------------------------- stored vectors (reuse and resume)


def _vkey(c: Chunk) -> str:
    """What a vector depends on besides the model: the exact text the model saw."""
    return hashlib.sha256(f"{EMBED_TEXT_VERSION}\0{embed_text(c)}".encode()).hexdigest()


def _partial_dir(index_dir: Path, fp: dict[str, str]) -> Path:
    return index_dir / "partial" / fp["hash"][:16]


def _read_partial(index_dir: Path, fp: dict[str, str]) -> dict[str, np.ndarray]:
    """Vectors an interrupted build embedded (this model only); a torn shard is skipped, never fatal."""
    out: dict[str, np.ndarray] = {}
    folder = _partial_dir(index_dir, fp)
    if folder.is_dir():
        for p in sorted(folder.glob("*.npz")):
            try:
                with np.load(p, allow_pickle=False) as z:
                    keys, vecs = z["keys"], z["vectors"]
                out.update(zip((k.decode() for k in keys), vecs, strict=True))
            except (OSError, ValueError, KeyError):
                continue
    return out


def _write_partial(index_dir: Path, fp: dict[str, str], keys: Sequence[str], vecs: np.ndarray) -> None:
    folder = _partial_dir(index_dir, fp)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{os.getpid()}"
    tmp = folder / f".{name}.npz"
    np.savez(tmp, keys=np.array([k.encode() for k in keys], dtype="S64"), vectors=vecs)
    os.replace(tmp, folder / f"{name}.npz")  # a kill -9 leaves a whole shard or none
