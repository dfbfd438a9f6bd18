"""Build, store and load the search index (FAISS + BM25 tokens + chunk metadata).

Layout under `settings.index_dir`::

    CURRENT            name of the live generation (replaced atomically with os.replace)
    g-<stamp>/         one complete generation
        faiss.index    inner product over L2-normalised e5 vectors
        vectors.npy    the same vectors (allow_pickle=False) so unchanged docs are never re-embedded
        chunks.jsonl   one Chunk per line
        bm25.json      jieba tokens per chunk
        manifest.json  model id + hash, chunking settings, doc hashes, per-file sha256

    pending/*.json     documents a build has been asked to bring in (written before they are copied)
    partial/<model>/   vectors embedded by an unfinished build, by text hash (a restart resumes from them)
    PROGRESS.json      the running build's state: chunks done / total, its documents

A generation is written completely before CURRENT points at it, so a crash (even
kill -9) mid-build leaves the previous index usable. While a build is pending or running, the
current generation keeps answering: `load` does not call documents stale that a pending journal
names. Nothing is ever pickled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag import trust
from rag.bind import bind
from rag.bm25 import tokenize
from rag.fetch import sha256_file
from rag.settings import Settings
from rag.types import Chunk, Document, Fact

INDEX_VERSION = 3
FILES = ("faiss.index", "vectors.npy", "chunks.jsonl", "bm25.json", "sources.json", "facts.jsonl")
# Above this many chunks an exact flat search stops being "free"; switch to IVF (recall measured in benchmarks/).
IVF_THRESHOLD = 50_000
DOC_SUFFIXES = (".txt", ".md", ".pdf", ".docx")


class IndexUnusable(RuntimeError):
    """The index is missing, stale, foreign or corrupt; the message says how to fix it."""


@dataclass(frozen=True)
class IndexData:
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray
    tokens: tuple[tuple[str, ...], ...]
    manifest: dict[str, Any]
    faiss_index: Any
    sources: dict[str, str]  # doc → Document.text, so any span (a widened window too) is quoted exactly
    facts: tuple[Fact, ...] = ()  # every figure the documents state, bound at build time (`rag.bind`)


# ---------------------------------------------------------------- helpers


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_files(settings: Settings) -> list[Path]:
    """Seeds plus documents added with `gaoxin index add` (copied under data_dir/docs)."""
    out: list[Path] = []
    for folder in (settings.seeds_dir, settings.data_dir / "docs"):
        if folder.is_dir():
            out += sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)
    return out


def chunking_settings(settings: Settings) -> dict[str, Any]:
    from rag import bind as bind_mod
    from rag import chunk as chunk_mod
    from rag import profile

    return {
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "chunker": getattr(chunk_mod, "CHUNKER_VERSION", "1"),
        "embed_text": EMBED_TEXT_VERSION,
        "bind": getattr(bind_mod, "BIND_VERSION", "1"),
        # Chunk scopes and periods are read with the profile's vocabulary: another profile, another index.
        "profile": profile.load(settings.profile).digest,
        "trust": trust.digest(settings),  # instruction sentences are blanked before chunking (`rag.trust`)
    }


EMBED_TEXT_VERSION = "title+section+text/1"


def embed_text(c: Chunk) -> str:
    """What the dense model sees: the heading context helps short chunks match questions."""
    head = c.title if not c.section else f"{c.title}｜{c.section}"
    return f"{head}\n{c.text}"


_FP_CACHE: dict[tuple[Any, ...], dict[str, str]] = {}


def model_fingerprint(settings: Settings) -> dict[str, str]:
    """Model id and a content hash of its weights, so a foreign index is detected.

    Cached per process by the weight files' size and mtime: every `load` checks it, and hashing
    the weights each time cost ~0.5 s per reload of a serving index.
    """
    from rag.fetch import resolve_embed_model

    ref = resolve_embed_model(settings)
    folder = Path(ref)
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")) if folder.is_dir() else []
    key = (settings.embed_model, ref, *((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    key += (settings.embed_backend,)
    if key in _FP_CACHE:
        return dict(_FP_CACHE[key])
    h = hashlib.sha256()
    if folder.is_dir():
        for p in files:
            h.update(sha256_file(p).encode())
    else:
        h.update(ref.encode())  # an HF id: its name is all we can pin without the hub
    extra: dict[str, str] = {}
    if settings.embed_backend != "torch":  # its vectors differ slightly (cos ≥ 0.9999): never mixed with torch's
        h.update(f"\0backend={settings.embed_backend}".encode())
        extra = {"backend": settings.embed_backend}
    _FP_CACHE[key] = {"id": settings.embed_model, "hash": h.hexdigest(), **extra}
    return dict(_FP_CACHE[key])


@contextlib.contextmanager
def _lock(index_dir: Path) -> Iterator[None]:
    # One writer at a time: two `index add` runs must not interleave generations.
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _lock_held(index_dir: Path) -> bool:
    """Whether a build (in any process, this one included) holds the writer lock right now."""
    if not (index_dir / ".lock").is_file():
        return False
    with open(index_dir / ".lock", "a") as f:
        try:
            # flock locks belong to the open file, so this probe conflicts with a builder in our own process too.
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def _current_dir(index_dir: Path) -> Path | None:
    cur = index_dir / "CURRENT"
    if not cur.is_file():
        return None
    gen = index_dir / cur.read_text().strip()
    return gen if gen.is_dir() else None


def current_generation(settings: Settings) -> str:
    """Name of the live generation ("" when there is none): a cheap read that servers poll to notice a
    generation another process (`gaoxin index add`) switched to."""
    with contextlib.suppress(OSError):
        return (settings.index_dir / "CURRENT").read_text().strip()
    return ""


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- pending builds and progress


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


def mark_pending(settings: Settings) -> bool:
    """Journal what a build would change now (documents added/changed, chunking settings); True when there is
    anything. A server calls this at start-up before resuming an interrupted build in the background."""
    manifest = read_manifest(settings)
    if manifest is None:
        return False
    items = _stale_items(settings, manifest, check_model=False, check_files=False)
    docs = {d: sha or "" for kind, _, d, sha in items if kind == "doc" and d}  # "": being removed
    chunking = chunking_settings(settings) if any(kind == "chunking" for kind, *_ in items) else None
    if not docs and chunking is None:
        return bool(items)
    _write_journal(settings, docs, chunking)
    return True


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


def _chunk_to_json(c: Chunk) -> str:
    return json.dumps(dataclasses.asdict(c), ensure_ascii=False)


def _fact_from_json(line: str) -> Fact:
    d = json.loads(line)
    d["operands"] = tuple(d.get("operands", ()))
    return Fact(**d)


def _chunk_from_json(line: str) -> Chunk:
    d = json.loads(line)
    d["periods"] = tuple(d.get("periods", ()))
    d["overruled"] = tuple(d.get("overruled", ()))
    return Chunk(**d)


# ---------------------------------------------------------------- status


def read_manifest(settings: Settings) -> dict[str, Any] | None:
    return _manifest_at(_current_dir(settings.index_dir))


def _manifest_at(gen: Path | None) -> dict[str, Any] | None:
    if gen is None or not (gen / "manifest.json").is_file():
        return None
    try:
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: bad JSON, or a truncation that cut a UTF-8 character in two
        return None


def damaged_files(gen: Path | None, manifest: dict[str, Any]) -> list[str]:
    """Index files of generation `gen` that are missing or whose sha256 differs from the manifest's."""
    return [
        fn
        for fn, want in manifest.get("files", {}).items()
        if gen is None or not (gen / fn).is_file() or sha256_file(gen / fn) != want
    ]


def stale_reasons(
    settings: Settings,
    manifest: dict[str, Any] | None = None,
    *,
    check_model: bool = True,
    check_files: bool = True,
) -> list[str]:
    """Why the index on disk does not match settings + documents (empty list = fresh).

    `check_files=False` skips hashing the index files, for a caller that has just verified them.
    """
    manifest = manifest if manifest is not None else read_manifest(settings)
    if manifest is None:
        return ["index missing (run `gaoxin index build`)"]
    return [msg for _, msg, _, _ in _stale_items(settings, manifest, check_model=check_model, check_files=check_files)]


def _stale_items(
    settings: Settings,
    manifest: dict[str, Any],
    *,
    check_model: bool = True,
    check_files: bool = True,
    gen: Path | None = None,
) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, message, document, its sha256 now) for each reason the index is stale.

    kind: "file" | "format" | "chunking" | "model" | "doc". A file skipped by the last build (recorded
    with its sha256 in `manifest["skipped"]`) is not new: one unreadable file must not make the index stale.
    """
    items: list[tuple[str, str, str | None, str | None]] = []
    # A damaged file makes the index unusable however fresh its manifest: `status` must say so and
    # `build` must rebuild it rather than answer "up to date".
    if check_files:
        gen = gen if gen is not None else _current_dir(settings.index_dir)
        items += [
            ("file", f"index file {fn} is corrupt or truncated (checksum mismatch)", None, None)
            for fn in damaged_files(gen, manifest)
        ]
    if manifest.get("version") != INDEX_VERSION:
        items.append(("format", f"index format {manifest.get('version')} != {INDEX_VERSION}", None, None))
    if manifest.get("chunking") != chunking_settings(settings):
        items.append(("chunking", "chunking settings changed", None, None))
    if check_model:
        fp = model_fingerprint(settings)
        if manifest.get("model") != fp:
            items.append(
                ("model", f"built with another embedding model ({manifest.get('model', {}).get('id')})", None, None)
            )
    want = {p.name: sha256_file(p) for p in source_files(settings)}
    have = {d: v["sha256"] for d, v in manifest.get("docs", {}).items()}
    have.update({s["file"]: s["sha256"] for s in manifest.get("skipped", ()) if s.get("sha256")})
    for name in sorted(set(want) | set(have)):
        if name not in have:
            items.append(("doc", f"new document {name}", name, want[name]))
        elif name not in want:
            items.append(("doc", f"document removed: {name}", name, None))
        elif want[name] != have[name]:
            items.append(("doc", f"document changed: {name}", name, want[name]))
    return items


def _covered(item: tuple[str, str, str | None, str | None], journals: list[dict[str, Any]], chunking: Any) -> bool:
    """Whether a pending build journal already accounts for this reason (the index is then behind, not broken)."""
    kind, _, doc, sha = item
    if kind == "doc":
        return any(j.get("docs", {}).get(doc) == (sha or "") for j in journals)
    if kind == "chunking":
        return any(j.get("chunking") == chunking for j in journals)
    return False


# ---------------------------------------------------------------- build


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
    manifest = _write_generation(settings, chunks, vectors, fp, doc_meta, errors, sources)
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


def _discard_leftovers(index_dir: Path) -> None:
    """What a killed builder left (called under the lock, so no live builder owns any of it)."""
    for p in index_dir.glob(".tmp-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".CURRENT.*"):
        p.unlink(missing_ok=True)


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


def make_faiss(vectors: np.ndarray) -> Any:
    import faiss

    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 384
    if len(vectors) >= IVF_THRESHOLD:
        nlist = int(4 * np.sqrt(len(vectors)))
        quant = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quant, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        # nlist/4 lists probed: recall@10 ≥ 0.95 vs flat at the 50k threshold (16 lists: 0.83,
        # nlist/8: 0.94) for ~1 ms per query, still 20× faster than flat search there.
        index.nprobe = max(16, nlist // 4)
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def _write_generation(
    settings: Settings,
    chunks: list[Chunk],
    vectors: np.ndarray,
    fp: dict[str, str],
    doc_meta: dict[str, Any],
    errors: list[tuple[str, str, str]],
    sources: dict[str, str],
) -> dict[str, Any]:
    import faiss

    index_dir = settings.index_dir
    name = f"g-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        chunks, facts = trust.apply(chunks, bind(chunks), doc_meta)  # tiers; what official sources overrule
        faiss.write_index(make_faiss(vectors), str(tmp / "faiss.index"))
        np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(_chunk_to_json(c) + "\n")
        tokens = [tokenize(f"{c.title} {c.section} {c.text}") for c in chunks]
        (tmp / "bm25.json").write_text(json.dumps({"tokens": tokens}, ensure_ascii=False), encoding="utf-8")
        (tmp / "sources.json").write_text(json.dumps(sources, ensure_ascii=False), encoding="utf-8")
        with open(tmp / "facts.jsonl", "w", encoding="utf-8") as f:
            for fact in facts:
                f.write(json.dumps(dataclasses.asdict(fact), ensure_ascii=False) + "\n")
        manifest = {
            "version": INDEX_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "model": fp,
            "dim": int(vectors.shape[1]) if vectors.size else 384,
            "chunking": chunking_settings(settings),
            "n_chunks": len(chunks),
            "faiss": "ivf" if len(vectors) >= IVF_THRESHOLD else "flat",
            "docs": doc_meta,
            # Files that could not be read: name, Chinese reason, sha256 (so they are not "new" to stale_reasons).
            "skipped": [{"file": f, "error": e, "sha256": sha} for f, e, sha in errors],
            "files": {fn: sha256_file(tmp / fn) for fn in FILES},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for fn in [*FILES, "manifest.json"]:
            _fsync(tmp / fn)
        os.rename(tmp, index_dir / name)
        cur_tmp = index_dir / f".CURRENT.{os.getpid()}"
        cur_tmp.write_text(name)
        _fsync(cur_tmp)
        os.replace(cur_tmp, index_dir / "CURRENT")  # the single atomic switch
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _gc(index_dir, keep=name)
    return manifest


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _gc(index_dir: Path, keep: str) -> None:
    for p in index_dir.iterdir():
        if p.is_dir() and p.name != keep and (p.name.startswith("g-") or p.name.startswith(".tmp-")):
            shutil.rmtree(p, ignore_errors=True)


# ---------------------------------------------------------------- load


def load(settings: Settings, *, verify: bool = True, check_stale: bool = True) -> IndexData:
    """Load the live generation; corrupt, stale or foreign indexes raise `IndexUnusable` with the fix.

    Documents a pending build journal names (being indexed now, or by a build a kill -9 interrupted and
    start-up resumes) do not make it stale: the current generation answers until the switch.
    """
    for attempt in range(3):
        gen = _current_dir(settings.index_dir)
        try:
            return _load_generation(settings, gen, verify=verify, check_stale=check_stale)
        except IndexUnusable:
            # A writer in another process switched CURRENT and removed this generation while we read it:
            # read the new one instead of failing the question.
            if attempt < 2 and _current_dir(settings.index_dir) != gen:
                continue
            raise
    raise AssertionError("unreachable")


def _load_generation(settings: Settings, gen: Path | None, *, verify: bool, check_stale: bool) -> IndexData:
    import faiss

    if gen is None:
        raise IndexUnusable(f"没有索引 / no index in {settings.index_dir}: run `gaoxin index build`")
    manifest = _manifest_at(gen)
    if manifest is None:
        raise IndexUnusable(f"index manifest unreadable in {gen}: run `gaoxin index build --force`")
    if manifest.get("version") != INDEX_VERSION or set(manifest.get("files", {})) != set(FILES):
        raise IndexUnusable(
            f"index format {manifest.get('version')} is not {INDEX_VERSION}: run `gaoxin index build --force`"
        )
    bad = damaged_files(gen, manifest) if verify else []
    if bad:
        raise IndexUnusable(
            f"index file {bad[0]} is corrupt or truncated (checksum mismatch): run `gaoxin index build --force`"
        )
    if check_stale:
        journals = [j for _, j in _pending_journals(settings.index_dir)]
        chunking = chunking_settings(settings)
        reasons = [
            msg
            for item in _stale_items(settings, manifest, check_files=not verify, gen=gen)
            if not _covered(item, journals, chunking)
            for msg in [item[1]]
        ]
        if reasons:
            raise IndexUnusable("index is stale: " + "; ".join(reasons) + " — run `gaoxin index build`")
    try:
        chunks = tuple(
            _chunk_from_json(line) for line in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line
        )
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        tokens = tuple(tuple(t) for t in json.loads((gen / "bm25.json").read_text(encoding="utf-8"))["tokens"])
        index = faiss.read_index(str(gen / "faiss.index"))
        sources = json.loads((gen / "sources.json").read_text(encoding="utf-8"))
        facts = tuple(
            _fact_from_json(line) for line in (gen / "facts.jsonl").read_text(encoding="utf-8").splitlines() if line
        )
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:
        raise IndexUnusable(f"index in {gen} cannot be read ({e}): run `gaoxin index build --force`") from e
    if not (len(chunks) == len(vectors) == len(tokens) == index.ntotal):
        raise IndexUnusable("index parts disagree in size: run `gaoxin index build --force`")
    return IndexData(
        chunks=chunks,
        vectors=vectors,
        tokens=tokens,
        manifest=manifest,
        faiss_index=index,
        sources=sources,
        facts=facts,
    )


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
