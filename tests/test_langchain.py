"""gaoxin inside real LCEL chains: `GaoxinRetriever` and `gaoxin_chain` over the real index and e5.

The chain answers with the extractive backend, or with a scripted generator where the point is that a
figure the "model" invents is still dropped by verification inside the chain. No LLM is loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough
from test_ui_e2e import index_ready

from rag.generate import ScriptedGenerator
from rag.integrations.langchain import GaoxinRetriever, _history, format_docs, gaoxin_chain
from rag.pipeline import Pipeline, QuestionError
from rag.retrieve import Retriever
from rag.settings import ROOT, Settings
from rag.types import Answer, Message

GDP_Q = "2024年昆山高新区地区生产总值是多少？"
GDP = "1135.1亿元"
CITATION_KEYS = {"doc", "title", "section", "start", "end", "period", "periods", "scope", "chunk_id", "score"}


def source(doc: str) -> str:
    return (ROOT / "seeds" / doc).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def retriever(e5_dir) -> Retriever:
    """One real retriever (index + e5) shared by the LangChain retriever and the chain's pipeline."""
    if not index_ready():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    return Retriever(Settings(llm_backend="extractive"))


def pipeline(retriever: Retriever, generator=None) -> Pipeline:
    return Pipeline(retriever.settings, retriever=retriever, generator=generator)


def test_import_and_construction_load_nothing():
    heavy = ("torch", "sentence_transformers", "llama_cpp", "faiss", "rag.pipeline", "rag.retrieve")
    code = (
        "import json, sys, time; t = time.perf_counter()\n"
        "from rag.integrations.langchain import GaoxinRetriever, gaoxin_chain\n"
        "GaoxinRetriever(k=3); gaoxin_chain()\n"
        f"print(json.dumps([[m for m in {heavy!r} if m in sys.modules], time.perf_counter() - t]))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    loaded, seconds = json.loads(p.stdout)
    assert loaded == [], f"loaded at import or construction: {loaded}"
    assert seconds < 10  # ~1.5 s on the shared 2-core box; the models would take far longer


def test_retriever_in_an_lcel_chain_returns_the_figure_with_its_citation_fields(retriever):
    lc = GaoxinRetriever(searcher=retriever, k=3)
    chain = RunnableParallel(docs=lc, context=lc | RunnableLambda(format_docs), question=RunnablePassthrough())
    out = chain.invoke(GDP_Q)
    docs = out["docs"]
    assert len(docs) == 3 and out["question"] == GDP_Q
    top = docs[0]
    assert GDP in top.page_content
    assert CITATION_KEYS <= set(top.metadata)
    m = top.metadata
    assert m["scope"] == "zone" and "2024" in m["periods"] and m["period"] == "2024"
    assert top.id == m["chunk_id"] and m["source"] == m["doc"]
    assert GDP in source(m["doc"])[m["start"] : m["end"]]  # the offsets index the source file itself
    assert [d.metadata["score"] for d in docs] == sorted((d.metadata["score"] for d in docs), reverse=True)
    assert out["context"].startswith("[1] ") and GDP in out["context"].split("[2] ")[0]


def test_chain_answers_with_citations_that_map_to_the_retrieved_documents(retriever):
    lc = GaoxinRetriever(searcher=retriever)
    chain = RunnableParallel(docs=lc, answer=gaoxin_chain(pipeline=pipeline(retriever)))
    out = chain.invoke(GDP_Q)
    a = out["answer"]
    assert isinstance(a, Answer) and not a.refused and GDP in a.answer and a.unsupported_numbers == ()
    by_id = {d.id: d.metadata for d in out["docs"]}
    assert a.citations
    for c in a.citations:
        m = by_id[c.chunk_id]  # every citation is a passage the LangChain retriever returned ...
        assert (m["doc"], m["title"], m["section"]) == (c.doc, c.title, c.section)
        assert m["start"] <= c.start < c.end <= m["end"]  # ... and its span lies inside that passage
    assert any(GDP in source(c.doc)[c.start : c.end] for c in a.citations)


def test_a_figure_the_model_invents_is_dropped_inside_the_chain(retriever):
    model = ScriptedGenerator("2024年昆山高新区地区生产总值为1235亿元[1]。")
    chain = {"question": RunnablePassthrough()} | gaoxin_chain(pipeline=pipeline(retriever, model))
    a = chain.invoke(GDP_Q)
    assert "1235亿元" in a.unsupported_numbers and "1235" not in a.answer
    assert model.calls, "the scripted model was asked"
    texts = (chain | RunnableLambda(lambda ans: ans.answer)).batch([GDP_Q, "2024年昆山高新区GDP"])
    assert len(texts) == 2 and all(isinstance(t, str) and "1235" not in t for t in texts)


def test_chain_rejects_what_is_not_a_question(retriever):
    chain = gaoxin_chain(pipeline=pipeline(retriever))
    with pytest.raises(QuestionError):
        chain.invoke("   ")
    with pytest.raises(TypeError):
        chain.invoke(42)


def test_history_accepts_gaoxin_dict_and_langchain_messages():
    hist = _history(
        [
            {"role": "user", "content": "2024年GDP？"},
            AIMessage(content="1135.1亿元[1]。"),
            HumanMessage(content="那2021年呢？"),
            Message(role="assistant", content="965亿元[1]。"),
        ]
    )
    assert [m.role for m in hist] == ["user", "assistant", "user", "assistant"]
    assert hist[1].content == "1135.1亿元[1]。"
    with pytest.raises(ValueError):
        _history([{"role": "robot", "content": "x"}])
