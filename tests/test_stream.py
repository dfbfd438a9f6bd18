"""What a reader sees while an answer streams: only sentences `verify` accepted, never the raw draft.

The generator here is a stand-in that reads the passages it is given, as a model would, and drafts one
true sentence and one with an invented figure, both cited: the point is the order of events, which a
real model cannot make deterministic. The retriever, index, verifier and facts are the real ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pytest

from rag.cite import finished
from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.types import Message

TRUE = "1135.1亿元"
INVENTED = "1888.8亿元"  # stated by no document


class DraftingModel:
    """Cites the passage that states the zone's 2024 GDP, then adds a sentence with an invented figure."""

    def __init__(self, template: str) -> None:
        self.template = template  # "{n}" is the passage number that states TRUE

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        blocks = re.split(r"\n(?=\[\d+\]《)", messages[-1].content)
        n = next(int(b[1 : b.index("]")]) for b in blocks if b.startswith("[") and TRUE in b)
        text = self.template.format(n=n)
        for i in range(0, len(text), 3):
            yield text[i : i + 3]


@pytest.fixture(scope="module")
def retriever() -> Retriever:
    r = Retriever(Settings())
    r.warm()
    return r


def test_finished_waits_for_the_markers_after_a_full_stop():
    assert finished("高新区GDP 1135.1亿元。") == 0  # a "[1]" may still come
    assert finished("高新区GDP 1135.1亿元。[") == 0
    d = "高新区GDP 1135.1亿元。[1]同比"
    assert d[: finished(d)] == "高新区GDP 1135.1亿元。[1]"
    d = "1. 甲[1]\n2. 乙"
    assert d[: finished(d)] == "1. 甲[1]"


def test_no_snapshot_holds_a_figure_the_verifier_drops(retriever):
    model = DraftingModel(
        "2024年昆山高新区实现地区生产总值" + TRUE + "[{n}]。2024年昆山高新区工业总产值为" + INVENTED + "[{n}]。"
    )
    p = Pipeline(Settings(), retriever=retriever, generator=model)
    events = list(p.stream("2024年昆山高新区地区生产总值和工业总产值各是多少？"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "hits" and kinds[-1] == "final" and "token" not in kinds
    shown = [e.text for e in events if e.kind == "verified"]
    assert shown, "the true sentence is shown before the answer ends"
    assert all(INVENTED not in s and "1888.8" not in s for s in shown)
    assert TRUE in shown[0]
    final = events[-1].answer
    assert final is not None and TRUE in final.answer and "1888.8" not in final.answer
    t = final.timings
    assert 0 < t.first_token_ms <= t.first_verified_ms <= t.total_ms


def test_a_year_no_document_states_gets_the_nearest_period_cited_and_unflagged(retriever):
    # The model restates the 2024 figure as 2025's, as small models do when asked about a missing year.
    model = DraftingModel("2025年昆山高新区实现地区生产总值" + TRUE + "[{n}]。")
    p = Pipeline(Settings(), retriever=retriever, generator=model)
    a = p.ask("2025年全年昆山高新区GDP是多少？")
    assert a.refused  # what was asked is not stated
    assert a.answer.startswith("资料没有2025年全年")
    assert "最近一期为2024年全年" in a.answer and TRUE in a.answer
    assert a.unsupported_numbers == ()  # the nearest figure is true where it stands: never flagged
    cited = {c.n: c for c in a.citations}
    n = int(re.search(r"\[(\d+)\]", a.answer).group(1))
    assert TRUE in cited[n].text and "2024" in cited[n].text


def test_a_dropped_figure_is_never_written_out_again():
    from rag.types import Answer
    from ui.render import answer_to_markdown, render_answer

    a = Answer("q", "2024年高新区GDP为" + TRUE + "[1]。", False, unsupported_numbers=(INVENTED,))
    html, md = render_answer(a), answer_to_markdown(a)
    assert "1888.8" not in html and "1888.8" not in md
    assert "1处数字" in html and "已删除" in html  # the reader still learns something was removed


class LoopingModel(DraftingModel):
    """States the figure once, cited, then falls into a loop repeating a clause (as small models do), and
    would go on for the whole token budget; it counts what it was made to generate."""

    def __init__(self) -> None:
        super().__init__("2024年昆山高新区实现地区生产总值" + TRUE + "[{n}]。")
        self.pieces = 0

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        yield from super().stream(messages)
        while self.pieces < 400:
            self.pieces += 1
            yield "其中工业经济稳中有进，"


def test_a_model_that_loops_is_stopped_and_the_loop_is_never_shown(retriever):
    model = LoopingModel()
    a = Pipeline(Settings(), retriever=retriever, generator=model).ask("2024年昆山高新区地区生产总值是多少？")
    assert model.pieces < 10  # generation stopped once the repetition was seen, not at the token budget
    assert TRUE in a.answer and a.answer.count("工业经济稳中有进") <= 1
