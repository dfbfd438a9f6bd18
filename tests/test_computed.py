"""Every value code computes ("按资料数字计算：A − B = C") combines operands of one metric and one kind.

The answers are produced for real, with the extractive backend (deterministic, no LLM), for every question
of the development set, both held-out sets and the fresh probes (their documents indexed with the seeds).
Each operand is found among the facts its cited passages state (`rag.bind`); the two must share a metric
(the profile's id, or one's wording holding the other's) and a kind (actual / target / forecast) — unless
the question itself asks how a target compares with an achieved value ("2025年目标比2020年多出几件")."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rag import index as index_mod
from rag.arith import SAME_METRIC
from rag.bind import bind_chunk
from rag.cite import bigrams, overlap
from rag.numbers import extract_figures, same_figure
from rag.pipeline import Pipeline
from rag.prompt import load_prompts
from rag.settings import ROOT, Settings

SETS = {
    "dev": (ROOT.parent / "shared" / "eval" / "dev.jsonl", None),
    "probe": (ROOT / "benchmarks" / "probe.jsonl", None),
    "probe2": (ROOT / "benchmarks" / "probe2.jsonl", None),
    "probe3": (ROOT / "benchmarks/fixtures/probe3/questions.jsonl", ROOT / "benchmarks/fixtures/probe3/docs"),
    "probe4": (ROOT / "benchmarks/fixtures/probe4/questions.jsonl", ROOT / "benchmarks/fixtures/probe4/docs"),
    "probe5": (ROOT / "benchmarks/fixtures/probe5/questions.jsonl", ROOT / "benchmarks/fixtures/probe5/docs"),
}
_EXPR = re.compile(r"(\S+?) ([+−]) (\S+?) = ")
_ASKS_TARGET = re.compile(r"目标|规划|计划")


def _pipeline(docs: Path | None, tmp: Path, e5: Path) -> Pipeline:
    if docs is None:
        return Pipeline(Settings(llm_backend="extractive", today="2026-12-01"))
    corpus = tmp / "corpus"
    corpus.mkdir()
    for p in [*sorted((ROOT / "seeds").glob("*.txt")), *sorted(docs.iterdir())]:
        shutil.copy2(p, corpus / p.name)
    s = Settings(
        llm_backend="extractive", today="2026-12-01", seeds_dir=corpus, index_dir=tmp / "i", data_dir=tmp / "d"
    )
    index_mod.build(s, progress=False, log=lambda _: None)
    return Pipeline(s)


def _same_metric(a: str, b: str) -> bool:
    ga, gb = bigrams(a), bigrams(b)
    return bool(ga and gb) and max(overlap(ga, gb), overlap(gb, ga)) >= SAME_METRIC


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETS))
def test_computed_values_combine_one_metric_and_one_kind(name, tmp_path, e5_dir):
    path, docs = SETS[name]
    if not path.is_file():
        pytest.skip(f"{path} not here")
    pipe = _pipeline(docs, tmp_path, e5_dir)
    marker = load_prompts("premise")["arithmetic"].split("$", 1)[0]
    checked = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        a = pipe.ask(item["question"])
        if marker not in a.answer:
            continue
        cited = {c.chunk_id for c in a.citations}
        facts = [f for h in a.hits if h.chunk.id in cited for f in bind_chunk(h.chunk)]
        for left, _, right in _EXPR.findall(a.answer.split(marker, 1)[1]):
            ops = []
            for raw in (left, right):
                fig = extract_figures(raw)[0]
                ops.append([f for f in facts if f.unit == fig.unit and same_figure(fig, extract_figures(f.raw)[0])])
            assert ops[0] and ops[1], (item["id"], a.answer)
            kinds_asked = bool(_ASKS_TARGET.search(item["question"]))
            assert any(
                (x.kind == y.kind or kinds_asked)
                and ((x.metric_id and x.metric_id == y.metric_id) or _same_metric(x.metric, y.metric))
                for x in ops[0]
                for y in ops[1]
            ), (item["id"], a.answer, [(f.metric, f.kind) for f in ops[0] + ops[1]])
            checked += 1
    print(f"{name}: {checked} computed values checked")
