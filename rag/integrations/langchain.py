"""gaoxin inside LangChain: a retriever that returns cited `Document`s, and a Runnable that answers.

* `GaoxinRetriever` is a `langchain_core.retrievers.BaseRetriever` over gaoxin's hybrid search (dense e5 +
  jieba BM25, period/scope cues, small-to-big windows). Each `Document` is one passage; its metadata
  carries what a citation needs: ``doc`` (file name, also as LangChain's usual ``source``), ``title``,
  ``section``, ``start``/``end`` (character offsets into the source file), ``period`` and ``periods``,
  ``report`` (the period the document reports on), ``scope``, ``chunk_id``, ``kind`` and ``score``.
* `gaoxin_chain()` is a Runnable: a question (``str``, or ``{"question": ..., "history": [...]}``) in, the
  verified `rag.types.Answer` out (every figure checked against the passage it cites, as in `rag.ask`).

Nothing loads on import or construction: the index, e5 and the LLM load on the first ``invoke``.
LangChain objects stay in this module; what gaoxin's own code sees are `rag.types` records.

Worked example (models load on the first invoke, so these lines are not run as doctests):

>>> # from langchain_core.runnables import RunnableLambda, RunnableParallel
>>> # from rag.integrations.langchain import GaoxinRetriever, format_docs, gaoxin_chain
>>> # retriever = GaoxinRetriever(k=3)
>>> # doc = retriever.invoke("2024年地区生产总值是多少？")[0]
>>> # doc.metadata["doc"], doc.metadata["start"], doc.metadata["periods"], doc.metadata["scope"]
>>> # ('001_….txt', 412, ['2024'], 'zone')
>>> # chain = RunnableParallel(context=retriever | RunnableLambda(format_docs), answer=gaoxin_chain())
>>> # out = chain.invoke("2024年地区生产总值是多少？")
>>> # out["answer"].answer, out["answer"].citations[0].doc
>>> # ('2024年实现地区生产总值1135.1亿元，同比增长6.3%[1]。', '001_….txt')
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import Field, PrivateAttr

from rag.settings import Settings
from rag.types import Answer, Hit, Message

if TYPE_CHECKING:  # the pipeline pulls in the whole engine: imported when the chain first runs
    from rag.pipeline import Pipeline

# LangChain message types (`BaseMessage.type`) → gaoxin's chat roles, so a LangChain chat history can be
# passed as `history` unchanged.
_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant", "system": "system"}


def hit_metadata(hit: Hit) -> dict[str, Any]:
    """The citation fields of a retrieved passage, as plain JSON values (LangChain serialises metadata).

    ``period`` is the first period the passage states, else the period its document reports on, so a
    caller that wants one label always gets one; ``periods`` keeps them all.

    >>> from rag.types import Chunk
    >>> c = Chunk(id="c1", doc="001_a.txt", title="年度报道", section="一、经济", text="GDP 1135.1亿元",
    ...           start=10, end=22, periods=("2024",), scope="zone", report="2024")
    >>> m = hit_metadata(Hit(chunk=c, score=0.91234))
    >>> m["doc"], m["start"], m["end"], m["period"], m["periods"], m["scope"], m["chunk_id"], m["score"]
    ('001_a.txt', 10, 22, '2024', ['2024'], 'zone', 'c1', 0.9123)
    """
    c = hit.chunk
    return {
        "doc": c.doc,
        "source": c.doc,  # the key LangChain loaders and prompt helpers look for
        "title": c.title,
        "section": c.section,
        "start": c.start,
        "end": c.end,
        "period": c.periods[0] if c.periods else c.report,
        "periods": list(c.periods),
        "report": c.report,
        "scope": c.scope,
        "chunk_id": c.id,
        "kind": c.kind,
        "score": round(hit.score, 4),
    }


def hit_to_document(hit: Hit) -> Document:
    """One retrieved passage as a LangChain `Document` (its text, its citation metadata, the chunk id as id)."""
    return Document(page_content=hit.chunk.text, metadata=hit_metadata(hit), id=hit.chunk.id)


def format_docs(docs: Sequence[Document]) -> str:
    """Numbered passages for a prompt, in gaoxin's citation style (``[n]`` = the n-th document).

    >>> d = Document(page_content="GDP 1135.1亿元。", metadata={"title": "年度报道", "section": "一、经济"})
    >>> format_docs([d])
    '[1] 年度报道 › 一、经济\\nGDP 1135.1亿元。'
    """
    parts = []
    for n, d in enumerate(docs, 1):
        head = " › ".join(x for x in (d.metadata.get("title", ""), d.metadata.get("section", "")) if x)
        parts.append(f"[{n}] {head}\n{d.page_content}" if head else f"[{n}] {d.page_content}")
    return "\n\n".join(parts)


class GaoxinRetriever(BaseRetriever):
    """gaoxin's hybrid search as a LangChain retriever.

    ``searcher`` is anything with ``search(question, k) -> list[Hit]`` (a `rag.retrieve.Retriever`, e.g. a
    pipeline's, to share its loaded e5); by default one is made from ``settings`` on the first query.

    >>> r = GaoxinRetriever(k=3)  # nothing is loaded yet
    >>> r.k
    3
    >>> # r.invoke("2024年固定资产投资")[0].metadata["scope"]
    >>> # 'zone'
    """

    settings: Settings | None = None
    k: int | None = Field(default=None, ge=1, le=50, description="passages per query (default: settings.top_k)")
    searcher: Any = None
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _search(self) -> Any:
        # Made on first use, not in __init__: building a chain must not read the index or load e5.
        with self._lock:
            if self.searcher is None:
                from rag.retrieve import Retriever

                self.searcher = Retriever(self.settings or Settings())
            return self.searcher

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self._search().search(query, self.k)]


def _history(items: Any) -> tuple[Message, ...]:
    """gaoxin `Message`s from Messages, ``{"role", "content"}`` dicts or LangChain messages (``.type``)."""
    out = []
    for m in items or ():
        if isinstance(m, Message):
            out.append(m)
            continue
        role = m.get("role") if isinstance(m, Mapping) else getattr(m, "type", None)
        content = m.get("content") if isinstance(m, Mapping) else getattr(m, "content", None)
        if role not in _ROLES or not isinstance(content, str):
            raise ValueError(f"history item needs a role (user/assistant/system) and text content: {m!r}")
        out.append(Message(role=_ROLES[role], content=content))
    return tuple(out)


def _question(inp: str | Mapping[str, Any]) -> tuple[Any, tuple[Message, ...]]:
    if isinstance(inp, str):
        return inp, ()
    if isinstance(inp, Mapping) and "question" in inp:
        # The question is passed on as given: `Pipeline.ask` validates it (empty → QuestionError, in Chinese).
        return inp["question"], _history(inp.get("history"))
    raise TypeError(f"gaoxin_chain takes a question string or {{'question': ...}}, got {type(inp).__name__}")


def gaoxin_chain(
    settings: Settings | None = None, *, pipeline: Pipeline | None = None
) -> Runnable[str | Mapping[str, Any], Answer]:
    """A Runnable: question (``str`` or ``{"question", "history"?}``) → the verified `rag.types.Answer`.

    ``pipeline`` (optional) is used as is, e.g. one with a scripted generator in tests; otherwise a
    `rag.pipeline.Pipeline(settings)` is made on the first invoke. Its `ask` already retrieves, generates,
    cites and verifies; the Runnable adds LangChain's composition (``|``, ``batch``, ``ainvoke``, callbacks).

    >>> chain = gaoxin_chain(Settings(llm_backend="extractive"))  # nothing is loaded yet
    >>> chain.get_name()
    'gaoxin_chain'
    >>> # a = chain.invoke({"question": "那2021年呢？", "history": [
    >>> #     {"role": "user", "content": "2024年GDP是多少？"},
    >>> #     {"role": "assistant", "content": "2024年地区生产总值1135.1亿元[1]。"}]})
    >>> # a.answer, [(c.doc, c.start, c.end) for c in a.citations]
    """
    lock = threading.Lock()
    made: list[Pipeline] = [pipeline] if pipeline is not None else []

    def get() -> Pipeline:
        with lock:  # one pipeline per chain, even when `batch` runs the first invokes in parallel
            if not made:
                from rag.pipeline import Pipeline

                made.append(Pipeline(settings))
            return made[0]

    def ask(inp: str | Mapping[str, Any]) -> Answer:
        question, history = _question(inp)
        return get().ask(question, history)

    return RunnableLambda(ask, name="gaoxin_chain")


__all__ = ["GaoxinRetriever", "format_docs", "gaoxin_chain", "hit_metadata", "hit_to_document"]
