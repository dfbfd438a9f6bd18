"""Build, store and load the search index (FAISS + BM25 tokens + chunk metadata).

Layout under `settings.index_dir`::

    CURRENT            name of the live generation (replaced atomically with os.replace)
    g-<stamp>/         one complete generation
        faiss.index    inner product over L2-normalised e5 vectors
        vectors.npy    the same vectors (allow_pickle=False) so unchanged docs are never re-embedded
        chunks.jsonl   one Chunk per line
        bm25.json      jieba tokens per chunk
        manifest.json  model id + hash, chunking settings, doc hashes, per-file sha256

A generation is written completely before CURRENT points at it, so a crash (even
kill -9) mid-build leaves the previous index usable. Nothing is ever pickled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    }


EMBED_TEXT_VERSION = "title+section+text/1"


def embed_text(c: Chunk) -> str:
    """What the dense model sees: the heading context helps short chunks match questions."""
    head = c.title if not c.section else f"{c.title}｜{c.section}"
    return f"{head}\n{c.text}"


def model_fingerprint(settings: Settings) -> dict[str, str]:
    """Model id and a content hash of its weights, so a foreign index is detected."""
    from rag.fetch import resolve_embed_model

    ref = resolve_embed_model(settings)
    folder = Path(ref)
    h = hashlib.sha256()
    if folder.is_dir():
        for p in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            h.update(sha256_file(p).encode())
    else:
        h.update(ref.encode())  # an HF id: its name is all we can pin without the hub
    return {"id": settings.embed_model, "hash": h.hexdigest()}


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


def _current_dir(index_dir: Path) -> Path | None:
    cur = index_dir / "CURRENT"
    if not cur.is_file():
        return None
    gen = index_dir / cur.read_text().strip()
    return gen if gen.is_dir() else None


def _chunk_to_json(c: Chunk) -> str:
    return json.dumps(dataclasses.asdict(c), ensure_ascii=False)


def _fact_from_json(line: str) -> Fact:
    d = json.loads(line)
    d["operands"] = tuple(d.get("operands", ()))
    return Fact(**d)


def _chunk_from_json(line: str) -> Chunk:
    d = json.loads(line)
    d["periods"] = tuple(d.get("periods", ()))
    return Chunk(**d)


# ---------------------------------------------------------------- status


def read_manifest(settings: Settings) -> dict[str, Any] | None:
    gen = _current_dir(settings.index_dir)
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
    reasons = []
    # A damaged file makes the index unusable however fresh its manifest: `status` must say so and
    # `build` must rebuild it rather than answer "up to date".
    if check_files:
        reasons += [
            f"index file {fn} is corrupt or truncated (checksum mismatch)"
            for fn in damaged_files(_current_dir(settings.index_dir), manifest)
        ]
    if manifest.get("version") != INDEX_VERSION:
        reasons.append(f"index format {manifest.get('version')} != {INDEX_VERSION}")
    if manifest.get("chunking") != chunking_settings(settings):
        reasons.append("chunking settings changed")
    if check_model:
        fp = model_fingerprint(settings)
        if manifest.get("model") != fp:
            reasons.append(f"built with another embedding model ({manifest.get('model', {}).get('id')})")
    want = {p.name: sha256_file(p) for p in source_files(settings)}
    have = {d: v["sha256"] for d, v in manifest.get("docs", {}).items()}
    for name in sorted(set(want) | set(have)):
        if name not in have:
            reasons.append(f"new document {name}")
        elif name not in want:
            reasons.append(f"document removed: {name}")
        elif want[name] != have[name]:
            reasons.append(f"document changed: {name}")
    return reasons


# ---------------------------------------------------------------- build


def build(
    settings: Settings,
    embedder: Any = None,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
    force: bool = False,
) -> dict[str, Any]:
    """(Re)build the index from `source_files`; unchanged documents reuse their vectors.

    Returns the new manifest. A no-op (returns the current manifest) when nothing changed.
    Documents that fail to load are reported through `log` and skipped; the rest are indexed.
    """
    from rag.chunk import chunk_document
    from rag.load import LoadError, load_file
    from rag.profile import activate

    activate(settings.profile)  # chunks are read with this profile's vocabulary

    with _lock(settings.index_dir):
        old = read_manifest(settings)
        if old is not None and not force and not stale_reasons(settings, old):
            log("index is up to date")
            return old

        fp = model_fingerprint(settings)
        reuse: dict[str, tuple[list[Chunk], np.ndarray]] = {}
        if old is not None and old.get("model") == fp and old.get("chunking") == chunking_settings(settings):
            with contextlib.suppress(IndexUnusable):
                prev = load(settings, verify=True, check_stale=False)
                by_doc: dict[str, list[int]] = {}
                for i, c in enumerate(prev.chunks):
                    by_doc.setdefault(c.doc, []).append(i)
                for doc, idx in by_doc.items():
                    reuse[doc] = ([prev.chunks[i] for i in idx], prev.vectors[idx])

        docs: list[Document] = []
        errors: list[tuple[str, str]] = []
        for path in source_files(settings):
            try:
                docs.append(load_file(path))
            except LoadError as e:
                errors.append((path.name, str(e)))
                log(f"skipped {path.name}: {e}")

        chunks: list[Chunk] = []
        vec_parts: list[np.ndarray] = []
        to_embed: list[Chunk] = []
        doc_meta: dict[str, Any] = {}
        for d in docs:
            prev_doc = old.get("docs", {}).get(d.doc) if old else None
            if d.doc in reuse and prev_doc and prev_doc.get("sha256") == d.sha256:
                cs, vs = reuse[d.doc]
                chunks += cs
                vec_parts.append(vs)
            else:
                cs = chunk_document(d, settings)
                chunks += cs
                to_embed += cs
                vec_parts.append(np.zeros((0, 0), dtype=np.float32))  # placeholder, filled below
            doc_meta[d.doc] = {"sha256": d.sha256, "n_chunks": len(cs), "title": cs[0].title if cs else d.doc}

        if to_embed:
            if embedder is None:
                from rag.embed import SentenceTransformerEmbedder

                embedder = SentenceTransformerEmbedder(settings)
            log(f"embedding {len(to_embed)} chunks from {sum(1 for p in vec_parts if p.size == 0)} document(s)")
            new_vecs = _embed_all(embedder, [embed_text(c) for c in to_embed], settings.embed_batch_size, progress)
        else:
            new_vecs = np.zeros((0, 0), dtype=np.float32)

        # Stitch reused and fresh vectors back in document order.
        vecs, cursor = [], 0
        for part, d in zip(vec_parts, docs, strict=True):
            if part.size == 0 and doc_meta[d.doc]["n_chunks"]:
                n = doc_meta[d.doc]["n_chunks"]
                vecs.append(new_vecs[cursor : cursor + n])
                cursor += n
            elif part.size:
                vecs.append(part)
        dim = next((v.shape[1] for v in vecs if v.size), 384)
        vectors = np.ascontiguousarray(np.concatenate(vecs) if vecs else np.zeros((0, dim)), dtype=np.float32)

        sources = {d.doc: d.text for d in docs}
        manifest = _write_generation(settings, chunks, vectors, fp, doc_meta, errors, sources)
        log(f"index built: {len(chunks)} chunks from {len(docs)} document(s)")
        return manifest


def _embed_all(embedder: Any, texts: Sequence[str], batch: int, progress: bool) -> np.ndarray:
    from tqdm import tqdm

    out = []
    bar = tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress)
    for i in range(0, len(texts), batch):
        out.append(np.asarray(embedder.embed(texts[i : i + batch], query=False), dtype=np.float32))
        bar.update(len(texts[i : i + batch]))
    bar.close()
    return np.concatenate(out)


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
    errors: list[tuple[str, str]],
    sources: dict[str, str],
) -> dict[str, Any]:
    import faiss

    index_dir = settings.index_dir
    name = f"g-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        faiss.write_index(make_faiss(vectors), str(tmp / "faiss.index"))
        np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(_chunk_to_json(c) + "\n")
        tokens = [tokenize(f"{c.title} {c.section} {c.text}") for c in chunks]
        (tmp / "bm25.json").write_text(json.dumps({"tokens": tokens}, ensure_ascii=False), encoding="utf-8")
        (tmp / "sources.json").write_text(json.dumps(sources, ensure_ascii=False), encoding="utf-8")
        with open(tmp / "facts.jsonl", "w", encoding="utf-8") as f:
            for fact in bind(chunks):
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
            "skipped": [{"file": f, "error": e} for f, e in errors],
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
    """Load the live generation; corrupt, stale or foreign indexes raise `IndexUnusable` with the fix."""
    import faiss

    gen = _current_dir(settings.index_dir)
    if gen is None:
        raise IndexUnusable(f"没有索引 / no index in {settings.index_dir}: run `gaoxin index build`")
    manifest = read_manifest(settings)
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
        reasons = stale_reasons(settings, manifest, check_files=not verify)
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


def add_documents(
    settings: Settings, paths: Iterable[Path], **build_kw: Any
) -> tuple[list[str], list[tuple[str, str]]]:
    """Validate and copy new documents under data_dir/docs, then rebuild incrementally.

    Returns (added names, [(name, error)]). A file that fails to load is rejected and
    never copied, so it cannot break later builds.
    """
    from rag.load import LoadError, load_file

    dest = settings.data_dir / "docs"
    dest.mkdir(parents=True, exist_ok=True)
    added, errors = [], []
    for p in paths:
        p = Path(p)
        name = safe_name(p.name)
        try:
            if p.stat().st_size > settings.max_upload_bytes:
                raise LoadError(f"文件过大 / file too large (> {settings.max_upload_bytes} bytes)")
            load_file(p)
        except (LoadError, OSError) as e:
            errors.append((p.name, str(e)))
            continue
        tmp = dest / f".{name}.part"
        shutil.copyfile(p, tmp)
        os.replace(tmp, dest / name)
        added.append(name)
    if added:
        build(settings, **build_kw)
    return added, errors


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
