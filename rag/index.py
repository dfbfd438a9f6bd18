"""The search index (FAISS + BM25 tokens + chunk metadata + facts): the public API of the index stage.

The stage is split along its seams, one module each; this one re-exports their public names, so callers
keep writing `from rag import index` / `index.build(...)`:

    rag/generation.py  one generation on disk: layout, manifest, checksums, FAISS, the atomic switch
    rag/freshness.py   what an index is made from, why the one on disk is stale, `load`
    rag/journal.py     what a running build writes for everyone else: pending journals, PROGRESS.json
    rag/build.py       the build: vectors reused by text hash, a killed build resumed, only new text embedded
    rag/indexer.py     uploads validated and staged, `add_documents`, the `BackgroundIndexer`

A generation is written completely before CURRENT points at it, so a crash (even kill -9) mid-build
leaves the previous index usable. While a build is pending or running, the current generation keeps
answering: `load` does not call documents stale that a pending journal names. Nothing is ever pickled.

Module constants are re-exported by value: to change one (`IVF_THRESHOLD` in a benchmark), set it on
the module that defines it (`rag.generation`).
"""

from __future__ import annotations

from rag.build import build
from rag.freshness import (
    DOC_SUFFIXES,
    EMBED_TEXT_VERSION,
    chunking_settings,
    embed_text,
    load,
    mark_pending,
    model_fingerprint,
    source_files,
    stale_reasons,
)
from rag.generation import (
    FILES,
    INDEX_VERSION,
    IVF_THRESHOLD,
    IndexData,
    IndexUnusable,
    current_generation,
    damaged_files,
    make_faiss,
    read_manifest,
    sha256_bytes,
)
from rag.indexer import BackgroundIndexer, add_documents, safe_name, stage_documents
from rag.journal import BuildProgress, pending_docs, read_progress

__all__ = [
    "DOC_SUFFIXES",
    "EMBED_TEXT_VERSION",
    "FILES",
    "INDEX_VERSION",
    "IVF_THRESHOLD",
    "BackgroundIndexer",
    "BuildProgress",
    "IndexData",
    "IndexUnusable",
    "add_documents",
    "build",
    "chunking_settings",
    "current_generation",
    "damaged_files",
    "embed_text",
    "load",
    "make_faiss",
    "mark_pending",
    "model_fingerprint",
    "pending_docs",
    "read_manifest",
    "read_progress",
    "safe_name",
    "sha256_bytes",
    "source_files",
    "stage_documents",
    "stale_reasons",
]
