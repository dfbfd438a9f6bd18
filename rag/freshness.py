"""Whether the index on disk is the one the settings and documents call for, and loading it only then.

An index is made from the source files, the chunking settings (profile and trust digests included), the
text each chunk is embedded as and the embedding model; the manifest records each, and `stale_reasons`
names every difference. While a build is pending or running, the current generation keeps answering:
`load` does not call documents stale that a pending journal (`rag.journal`) names.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from rag import trust
from rag.generation import (
    FILES,
    INDEX_VERSION,
    IndexData,
    IndexUnusable,
    _chunk_from_json,
    _current_dir,
    _fact_from_json,
    _manifest_at,
    damaged_files,
    read_manifest,
)
from rag.journal import _pending_journals, _write_journal
from rag.model_cache import sha256_file
from rag.settings import Settings
from rag.types import Chunk

DOC_SUFFIXES = (".txt", ".md", ".pdf", ".docx")


# ---------------------------------------------------------------- what an index is made from


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
    from rag.model_cache import resolve_embed_model

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


# ---------------------------------------------------------------- staleness


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
