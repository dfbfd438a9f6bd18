"""The app as its callers see it.

1. In-process: the chat handler (`ChatService.respond`) with a scripted stand-in pipeline —
   sources before the first verified text, multi-turn history, empty question, pipeline errors, feedback, drafts,
   upload validation, the trend chart shown and hidden. No models, runs in a second.
2. Live: `gradio_client.Client` against the real `gaoxin serve` subprocess — the named `ask` and
   `check` endpoints return sensible structures.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from test_ui_e2e import index_ready, live_server

from rag.settings import Settings
from rag.types import Answer, Chunk, Citation, Fact, Hit, Message, StreamEvent
from ui import render
from ui.app import MODE_EXTRACTIVE, ChatService, build_app, chart_updates, validate_upload

GDP = "2024年,昆山高新区实现地区生产总值1135.1亿元,同比增长6.3%。"
SKIP = {"__type__": "update"}  # what gr.skip() sends: "leave this output alone"


class ScriptedPipeline:
    """Stand-in with the real Pipeline's shape: yields status → hits → verified snapshots → final."""

    retriever = None

    def __init__(self, answer: str = "2024年高新区GDP为1135.1亿元[1]。", fail: bool = False) -> None:
        self.answer_text = answer
        self.fail = fail
        self.series: tuple[Fact, ...] = ()  # a trend answer's points
        self.calls: list[tuple[str, tuple[Message, ...]]] = []
        c1 = Chunk("c1", "001_x.txt", "高新区报道", "一、经济", GDP, 0, len(GDP), ("2024",), "zone")
        c2 = Chunk("c2", "002_y.txt", "昆山市报道", "二、综述", "昆山市GDP为5300亿元。", 0, 12, ("2024",), "city")
        self.hits = (Hit(c1, 0.9), Hit(c2, 0.4))

    def _answer(self, q: str) -> Answer:
        cit = Citation(1, "c1", "001_x.txt", "高新区报道", "一、经济", GDP, 0, len(GDP))
        return Answer(q, self.answer_text, False, (cit,), self.hits, series=self.series)

    def stream(self, question: str, history: Sequence[Message] = ()) -> Iterator[StreamEvent]:
        self.calls.append((question, tuple(history)))
        yield StreamEvent("status", text="正在加载模型…")
        if self.fail:
            raise RuntimeError("boom")
        yield StreamEvent("hits", hits=self.hits)
        for i in range(4, len(self.answer_text) + 4, 4):
            yield StreamEvent("verified", text=self.answer_text[:i])
        yield StreamEvent("final", answer=self._answer(question))

    def ask(self, question: str, history: Sequence[Message] = ()) -> Answer:
        return self._answer(question)

    def check(self, claim: str) -> dict:
        return {"claim": claim, "verdict": "supported", "statements": []}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm_backend="extractive")


def _run(svc: ChatService, q: str, chat=None, hist=None) -> list[tuple]:
    # Each update is copied as it is produced: the handler reuses its chat list between yields.
    gen = svc.respond(q, chat or [], hist or [], MODE_EXTRACTIVE, svc.settings.context_passages)
    return [copy.deepcopy(u) for u in gen]


# ------------------------------------------------------------------ in-process


def test_sources_arrive_before_tokens_and_answer_links_them(settings):
    pipe = ScriptedPipeline()
    svc = ChatService(settings, pipe)
    ups = _run(svc, "2024年高新区GDP？")
    first_sources = next(i for i, u in enumerate(ups) if u[1] != SKIP)
    first_token = next(i for i, u in enumerate(ups) if "▌" in u[0][-1]["content"])
    assert first_sources < first_token
    assert 'id="src-1"' in ups[first_sources][1] and "正在生成回答" in ups[first_sources][1]
    assert "正在加载模型" in ups[0][0][-1]["content"]  # first question: the lazy load is visible
    chat, sources, box, hist, last, draft, download = ups[-1][:7]
    assert '<a class="cite-link" href="#src-1">[1]</a>' in chat[-1]["content"]
    assert '<mark class="cited">' in sources and box == ""
    assert hist == [
        {"role": "user", "content": "2024年高新区GDP？"},
        {"role": "assistant", "content": "2024年高新区GDP为1135.1亿元[1]。"},
    ]
    assert last["citations"][0]["doc"] == "001_x.txt"
    assert "[^1]:" in draft
    assert Path(download.value["path"]).read_text(encoding="utf-8") == draft
    # the second question of a conversation carries the first turn
    _run(svc, "那同比增长呢？", chat, hist)
    q2, h2 = pipe.calls[-1]
    assert q2 == "那同比增长呢？" and [m.role for m in h2] == ["user", "assistant"] and "1135.1" in h2[1].content
    assert "正在加载模型" not in _run(svc, "再问一次", chat, hist)[0][0][-1]["content"]


def test_empty_question_gets_a_friendly_message_without_calling_the_pipeline(settings):
    pipe = ScriptedPipeline()
    ups = _run(ChatService(settings, pipe), " \n\t ")
    assert ups[-1][0][-1]["content"] == render.EMPTY_QUESTION
    assert pipe.calls == []


def test_pipeline_error_becomes_chinese_message_and_service_continues(settings):
    pipe = ScriptedPipeline(fail=True)
    svc = ChatService(settings, pipe)
    ups = _run(svc, "问题")
    msg = ups[-1][0][-1]["content"]
    assert "出错" in msg and "RuntimeError" in msg and "服务仍在运行" in msg
    pipe.fail = False
    assert "cite-link" in _run(svc, "问题")[-1][0][-1]["content"]


def test_question_html_is_escaped_in_chat(settings):
    ups = _run(ChatService(settings, ScriptedPipeline()), "<script>alert(1)</script>GDP？")
    user = ups[-1][0][0]["content"]
    assert "<script>" not in user and "&lt;script&gt;" in user


def test_feedback_appends_jsonl(settings):
    svc = ChatService(settings, ScriptedPipeline())
    assert "还没有" in svc.record_feedback(None, "useful")
    last = _run(svc, "GDP？")[-1][4]
    svc.record_feedback(last, "useful")
    svc.record_feedback(last, "wrong")
    recs = [json.loads(x) for x in (settings.data_dir / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["rating"] for r in recs] == ["useful", "wrong"]
    assert set(recs[0]) == {"ts", "question", "answer", "citations", "rating"}
    assert recs[0]["question"] == "GDP？" and recs[0]["citations"][0]["n"] == 1


def _point(value: float, period: str) -> Fact:
    sentence = f"{period}年,昆山高新区实现地区生产总值{value}亿元。"
    return Fact(f"f{period}", "001_x.txt", "c1", "地区生产总值", "地区生产总值", period, "zone", value * 1e8, "元",
                f"{value}亿元", "", "actual", "number", "高新区", sentence, 0, 0)  # fmt: skip


def _points(plot) -> list[tuple]:
    """(时期, 数值, 文档) of the points a plot update draws (its legend's key rows have no value)."""
    rows = [dict(zip(plot.value["columns"], r, strict=True)) for r in plot.value["data"]]
    return [(r["时期"], r["数值"], r["文档"]) for r in rows if r["数值"] is not None and r["数值"] == r["数值"]]


def test_a_trend_answer_draws_its_series_and_any_other_answer_hides_it(settings):
    pipe = ScriptedPipeline("2021年高新区GDP为965亿元[1]。2024年为1135.1亿元[1]。")
    pipe.series = (_point(965, "2021"), _point(1135.1, "2024"))
    svc = ChatService(settings, pipe)
    ups = _run(svc, "高新区GDP这几年怎么变化？")
    assert all(len(u) == 10 for u in ups)
    assert ups[0][7].visible is False  # hidden as soon as the question is asked ...
    assert all(u[7:] == (SKIP, SKIP, SKIP) for u in ups[1:-1])  # ... left alone while the answer streams ...
    plot, link, trend = ups[-1][7:]  # ... and drawn with the answer
    assert plot.visible is True and link.visible is True and trend == {"metric": "地区生产总值", "scope": "zone"}
    assert plot.sort == ["2021年", "2024年"] and plot.y_title == "数值（亿元）"
    assert _points(plot) == [("2021年", 965.0, "高新区报道"), ("2024年", 1135.1, "高新区报道")]
    assert "地区生产总值" in plot.caption and "昆山高新区" in plot.caption

    pipe.series = ()
    plot, link, trend = _run(svc, "2026年的发展重点是什么？")[-1][7:]
    assert plot.visible is False and link.visible is False and trend is None
    assert _run(svc, "   ")[-1][7].visible is False  # the latest answer (a hint) has no series either


def test_a_chart_that_cannot_be_drawn_never_loses_the_answer(settings, monkeypatch):
    from ui import data

    def broken(*_a, **_k):
        raise ValueError("bad series")

    monkeypatch.setattr(data, "series_chart", broken)
    pipe = ScriptedPipeline()
    pipe.series = (_point(965, "2021"), _point(1135.1, "2024"))
    last = _run(ChatService(settings, pipe), "高新区GDP这几年怎么变化？")[-1]
    assert "cite-link" in last[0][-1]["content"] and last[7].visible is False
    assert chart_updates(None)[0].visible is False


def test_upload_validation_rejects_before_indexing(settings, tmp_path, monkeypatch):
    from rag import index as index_mod

    calls = []
    monkeypatch.setattr(index_mod, "add_documents", lambda *a, **k: calls.append(a) or ([], []))
    assert "不是支持的格式" in validate_upload("x.exe", 10, settings)
    assert "太大" in validate_upload("x.pdf", settings.max_upload_bytes + 1, settings)
    assert "空文件" in validate_upload("x.txt", 0, settings)
    assert validate_upload("报告.DOCX", 100, settings) is None
    exe = tmp_path / "evil.exe"
    exe.write_bytes(b"MZ")
    msg, _ = ChatService(settings, ScriptedPipeline()).add_files([str(exe)])
    assert "不是支持的格式" in msg and calls == []


def test_build_app_exposes_named_endpoints(settings):
    demo = build_app(settings, ScriptedPipeline())
    names = {d.api_name for d in demo.fns.values() if d.api_visibility == "public"}
    assert {"ask", "check", "facts"} <= names
    named = ("ask", "check", "check_batch", "facts")
    assert all(d.api_visibility != "public" for d in demo.fns.values() if d.api_name not in named)


# ------------------------------------------------------------------ live server


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    if not index_ready():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    from gradio_client import Client

    with live_server(tmp_path_factory.mktemp("client-data")) as url:
        yield Client(url, verbose=False)


def test_ask_endpoint_returns_answer_and_numbered_sources(client):
    answer, sources = client.predict("昆山高新区2026年要突出哪两个方面的驱动？", api_name="/ask")
    assert isinstance(answer, str) and answer.strip()
    assert sources and all({"n", "doc", "title", "section", "text", "scope", "cited"} <= set(s) for s in sources)
    assert [s["n"] for s in sources] == sorted(s["n"] for s in sources)
    cited = {int(n) for n in render.CITE_RE.findall(answer) if n.isdigit()}
    assert cited <= {s["n"] for s in sources}  # every [n] in the text has its source
    assert any(s["doc"].endswith(".txt") for s in sources)
    empty, none = client.predict("   ", api_name="/ask")
    assert empty == render.EMPTY_QUESTION and none == []


def test_check_endpoint_returns_verdict_dict(client):
    res = client.predict("2026年是“十五五”开局之年", api_name="/check")
    assert set(res) >= {"claim", "verdict", "statements"}
    assert res["verdict"] in {"supported", "contradicted", "not_found"}
    assert isinstance(res["statements"], list)


def test_launch_binds_loopback_never_shares_and_reads_login_from_env(settings, monkeypatch):
    from ui.app import launch_kwargs

    monkeypatch.delenv("GAOXIN_USER", raising=False)
    monkeypatch.delenv("GAOXIN_PASSWORD", raising=False)
    kw = launch_kwargs(settings.model_copy(update={"port": 7999}))
    assert kw["server_name"] == "127.0.0.1" and kw["server_port"] == 7999 and kw["share"] is False
    assert kw["auth"] is None
    monkeypatch.setenv("GAOXIN_USER", "staff")
    monkeypatch.setenv("GAOXIN_PASSWORD", "s3cret")
    assert launch_kwargs(settings)["auth"] == ("staff", "s3cret")
