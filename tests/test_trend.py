"""Trend questions answer with the series the facts state: every point cited, periods in order, no year filled in."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.bind import bind
from rag.chunk import chunk_document
from rag.frame import frame
from rag.load import load_file
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.settings import ROOT, Settings
from rag.trend import series

QUESTION = "高新区GDP这几年怎么变化？"
NEW_DOC = ROOT / "tests" / "fixtures" / "trend" / "zone_2025_review.txt"


@pytest.fixture(scope="module")
def seed_facts() -> tuple:
    s = Settings()
    if not (s.index_dir / "CURRENT").is_file():
        pytest.skip("index not built (make index)")
    return Retriever(s).facts.facts


def test_the_seed_series_has_every_stated_year_in_order(seed_facts):
    line = series(frame(QUESTION), seed_facts)
    years = [f.period for f in line]
    assert len(years) >= 2 and years == sorted(years)
    assert all(f.scope == "zone" and f.kind == "actual" and f.figure_kind == "number" for f in line)


def test_a_document_added_today_joins_the_series_without_code_change(seed_facts):
    s = Settings()
    doc = load_file(Path(NEW_DOC))
    added = bind(chunk_document(doc, s))
    line = series(frame(QUESTION), (*seed_facts, *added))
    assert "2025" in [f.period for f in line]
    assert [f.raw for f in line if f.period == "2025"] == ["1188.8亿元"]
    assert len(line) == len(series(frame(QUESTION), seed_facts)) + 1


def test_the_chat_answers_a_trend_with_each_point_cited_and_verified(seed_facts):
    s = Settings(llm_backend="extractive")
    a = Pipeline(s).ask(QUESTION)
    assert not a.refused
    points = series(frame(QUESTION), seed_facts)
    for f in points:
        assert f.raw in a.answer and f"{f.period}年" in a.answer
    # every figure stated is in the passage its marker cites
    cited = {c.doc for c in a.citations}
    assert {f.doc for f in points} <= cited
    assert "不作推算" in a.answer
    assert [f.raw for f in a.series] == [f.raw for f in points]  # the points, for the chat's chart
