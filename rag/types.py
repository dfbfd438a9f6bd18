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

Scope = str
"""An area id of the domain profile (`rag.profile`, e.g. "zone", "city"), or "unknown": figures of one
area are never offered for another."""


@dataclass(frozen=True)
class Document:
    """A source file as read from disk (text decoded, nothing else changed)."""

    doc: str  # file name, the stable key used everywhere (e.g. "001_94ab….txt")
    path: str
    text: str
    sha256: str  # of the file's bytes; drives incremental indexing
    tier: str = "official"  # provenance (`rag.trust`): "official" or "uploaded"
    flagged: tuple[tuple[int, int, str, str], ...] = ()  # (start, end, text, pattern) of blanked instruction sentences


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
    source: str = ""  # Document.text[start:end] verbatim: citations are aligned against it, exactly
    report: str = ""  # the period its document reports on (`rag.period.report_period`): what undated figures mean
    # Provenance (`rag.trust`): "official" (curated or promoted) or "uploaded"; defaults keep old indexes readable.
    tier: str = "official"
    overruled: tuple[str, ...] = ()  # sentences near it that an official document contradicts: never evidence


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
    tier: str = "official"  # the cited document's source tier ("official" / "uploaded"), shown on its card


@dataclass(frozen=True)
class Timings:
    retrieve_ms: float = 0.0
    first_token_ms: float = 0.0
    first_verified_ms: float = 0.0  # when a reader first sees answer text (a verified sentence, else the final)
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
    series: tuple[Fact, ...] = ()  # a trend answer's points in period order, each cited (for a chart)


@dataclass(frozen=True)
class Message:
    """One chat turn, for prompts and history rewriting."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class StreamEvent:
    """What `Pipeline.stream()` yields, in order:

    "status" (e.g. 正在加载模型…) → "hits" (sources, before generation) → "verified"* → "final".

    A "verified" event's text is the whole answer so far, every sentence in it accepted by `verify`
    (a snapshot that replaces the previous one, never a delta): the model's raw tokens are never
    shown, so a figure the verifier would drop never reaches a reader, however briefly.
    """

    kind: Literal["status", "hits", "verified", "final"]
    text: str = ""
    hits: tuple[Hit, ...] = ()
    answer: Answer | None = None


FigureKind = Literal["number", "percent", "year", "rank", "ratio", "comparison"]


@dataclass(frozen=True)
class Figure:
    """A figure found in text by `rag.numbers.extract_figures`.

    `value` is normalised so that equal amounts compare equal whatever their wording:
    "1135.1亿元" and "11351000万元" both give value 113_510_000_000.0 and unit "元".
    `start`/`end` index the text the figure was extracted from (end exclusive).
    """

    raw: str
    value: float
    unit: str  # canonical unit without magnitude: "元", "%", "百分点", "个", "名" (rank), "年" …; "" when bare
    start: int
    end: int
    kind: FigureKind = "number"
    op: str = ""  # qualifier as written: ">", "<", "≥", "≤", "近", "超", "约" …


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer with the `[n]` numbers attached to it (1-based passage numbers)."""

    text: str  # the sentence as written, markers included
    start: int  # offsets into the answer text
    end: int
    cites: tuple[int, ...] = ()


@dataclass(frozen=True)
class FigureCheck:
    """Whether one figure of a claim is backed by a cited passage (and why not, when it is not)."""

    raw: str
    supported: bool
    passage: int = 0  # 1-based passage number that supports it (0 when none)
    reason: str = ""  # "", "not_found", "metric", "period", "scope", "uncited", "derived", "off_period"


@dataclass(frozen=True)
class ClaimCheck:
    claim: Claim
    supported: bool
    figures: tuple[FigureCheck, ...] = ()
    reason: str = ""  # why the claim was dropped ("" when kept)


@dataclass(frozen=True)
class Verification:
    """What `rag.verify.verify` returns: the repaired answer and the evidence for every decision."""

    text: str  # repaired answer (unsupported sentences dropped, invented ids removed)
    unsupported_numbers: tuple[str, ...] = ()
    claims: tuple[ClaimCheck, ...] = ()
    citations: tuple[Citation, ...] = ()
    invented_ids: tuple[str, ...] = ()  # marker contents removed because no such passage was given
    refused: bool = False
    fallback: bool = False  # True when `text` is an extractive quote, not the model's wording


@dataclass(frozen=True)
class PremiseCheck:
    """A figure the question asserts ("GDP达1235亿元，对吗？") held against the passages."""

    claimed: str  # the figure as the question wrote it
    agrees: bool
    source: str = ""  # the passage's figure for the same metric (when it disagrees, the correction)
    passage: int = 0  # 1-based passage number of `source`
    sentence: str = ""  # the passage sentence stating it


FactKind = Literal["actual", "target", "forecast"]


@dataclass(frozen=True)
class Fact:
    """One figure a document states, bound once at index time (`rag.bind`) to what it measures.

    `metric` is the document's own wording next to the figure; `metric_id` the profile's canonical
    metric when the profile knows it. `start`/`end` are the figure's exact offsets in the source file,
    `sentence` the cleaned sentence stating it. Computed facts (`computed=True`) list their operands.
    """

    id: str
    doc: str
    chunk_id: str
    metric: str
    metric_id: str
    period: str  # "2024", "2026上半年", "十四五", "2025目标" … ('' when nothing dates it)
    scope: str  # a profile scope id or "unknown"
    value: float  # normalised as `Figure.value` (1135.1亿元 → 113510000000.0, unit 元)
    unit: str
    raw: str  # as written, qualifier included ("超1000家")
    qualifier: str  # "", "以上", "约", "近", "超", ">" …
    kind: FactKind
    figure_kind: str  # Figure.kind: number, percent, rank, ratio, comparison
    subject: str  # the organisation the sentence is about, else the scope's label
    sentence: str
    start: int
    end: int
    table: bool = False  # read from a table row (its column names the period and kind)
    computed: bool = False
    operands: tuple[str, ...] = ()  # fact ids a computed fact was derived from
    tier: str = "official"  # its document's tier (`rag.trust`): an official fact outranks an uploaded one


@dataclass(frozen=True)
class Composed:
    """An answer code composed from bound facts (`rag.compose`); empty `text` when the facts do not answer."""

    text: str = ""
    extra: tuple[Hit, ...] = ()  # passages it cites beyond those shown, numbered after them in this order
    facts: tuple[Fact, ...] = ()  # the facts it states
    answers: bool = True  # False: it tells what the documents hold instead (the answer stays a refusal)
