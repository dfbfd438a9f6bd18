"""The frozen records that cross module boundaries.

Only these types travel between stages (load → clean → chunk → embed → index →
retrieve → prompt → generate → cite → verify). No LangChain, HF or FAISS object
ever leaves the module that made it.

>>> c = Chunk(id="c1", doc="a.txt", title="T", section="一、总则", text="GDP 1135.1亿元",
...           start=0, end=12, periods=("2024",), scope="zone")
>>> Hit(chunk=c, score=0.9).chunk.doc
'a.txt'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["zone", "city", "unknown"]
"""高新区 (zone) vs 昆山市 (city): figures of one are never offered for the other."""


@dataclass(frozen=True)
class Document:
    """A source file as read from disk (text decoded, nothing else changed)."""

    doc: str  # file name, the stable key used everywhere (e.g. "001_94ab….txt")
    path: str
    text: str
    sha256: str  # of the file's bytes; drives incremental indexing


@dataclass(frozen=True)
class Section:
    """A cleaned, heading-aware slice of a document.

    `text` is cleaned; `offsets[i]` is the index in the *source* text of `text[i]`,
    so every later span can be mapped back to the exact source characters.
    """

    doc: str
    title: str
    path: str  # heading path, e.g. "三、聚焦高科技… > （一）新显示"
    text: str
    offsets: tuple[int, ...]
    kind: Literal["text", "table_row"] = "text"


@dataclass(frozen=True)
class Chunk:
    """The unit of retrieval and citation."""

    id: str  # stable hash of (doc, start, end, text)
    doc: str
    title: str
    section: str
    text: str  # cleaned text (what the model reads and the user sees)
    start: int  # char offsets into Document.text (source), end exclusive
    end: int
    periods: tuple[str, ...] = ()  # "2024", "2025前三季度", "十四五", "2026" …
    scope: Scope = "unknown"
    kind: Literal["text", "table_row"] = "text"


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score (and the parts, for debugging)."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    sparse: float = 0.0


@dataclass(frozen=True)
class Citation:
    """One `[n]` of an answer, resolved to an exact source span."""

    n: int
    chunk_id: str
    doc: str
    title: str
    section: str
    text: str  # the quoted span (cleaned text of the cited sentence(s))
    start: int
    end: int


@dataclass(frozen=True)
class Timings:
    retrieve_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True)
class Answer:
    """What `rag.ask()` returns: text with `[n]` markers and the evidence behind it."""

    question: str
    answer: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    unsupported_numbers: tuple[str, ...] = ()
    timings: Timings = field(default_factory=Timings)
    notice: str = ""  # e.g. "问题过长，已截断" — shown to the user, never hidden


@dataclass(frozen=True)
class Message:
    """One chat turn, for prompts and history rewriting."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class StreamEvent:
    """What `Pipeline.stream()` yields, in order:

    "status" (e.g. 正在加载模型…) → "hits" (sources, before generation) → "token"* → "final".
    """

    kind: Literal["status", "hits", "token", "final"]
    text: str = ""
    hits: tuple[Hit, ...] = ()
    answer: Answer | None = None
