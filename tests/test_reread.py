"""A model that declines with the answer in front of it is asked once more; what it copies is verified."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag.pipeline import Pipeline
from rag.prompt import REFUSAL
from rag.settings import Settings
from rag.types import Chunk, Hit, Message

POLICY = "第六条支持冷链物流设施建设。对新建或改扩建冷库，按冷链设备投资额的15%给予补助，最高300万元。"
NEWS = "截至10月末，东湖开发区已受理冷库建设补助等申请21件。"


class _Replies:
    """A model that says each of `replies` in turn (the last one again after that), keeping what it was asked."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls: list[list[Message]] = []

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        self.calls.append(list(messages))
        yield self.replies[min(len(self.calls), len(self.replies)) - 1]


class _Retriever:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.hits[: k or 5]


def _hits() -> list[Hit]:
    return [
        Hit(Chunk(f"c{i}", f"d{i}.txt", "文件", "", t, 0, len(t), (), "zone"), 1.0)
        for i, t in enumerate((POLICY, NEWS))
    ]


def test_a_declined_answer_is_replaced_by_the_sentence_the_model_copies_on_a_second_reading():
    model = _Replies(REFUSAL, "对新建或改扩建冷库，按冷链设备投资额的15%给予补助，最高300万元[1]。")
    a = Pipeline(Settings(), retriever=_Retriever(_hits()), generator=model).ask("盖冷库政府给多少钱？")
    assert not a.refused and "300万元" in a.answer and len(model.calls) == 2
    assert model.calls[1][-2].content == REFUSAL  # the same conversation, the refusal as the model's turn


def test_a_second_reading_that_copies_nothing_true_keeps_the_refusal():
    made_up = _Replies(REFUSAL, "新建冷库每个补助500万元[1]。")
    a = Pipeline(Settings(), retriever=_Retriever(_hits()), generator=made_up).ask("盖冷库政府给多少钱？")
    assert a.refused and "500万元" not in a.answer
    off = Pipeline(Settings(reread_refusals=False), retriever=_Retriever(_hits()), generator=_Replies(REFUSAL, POLICY))
    assert off.ask("盖冷库政府给多少钱？").refused


def test_a_policy_sentences_opening_clause_names_what_each_of_its_figures_is_for():
    """ "对新建或改扩建冷库，按…15%给予补助，最高300万元": the cap and the rate are both the cold store's subsidy,
    so the sentence answers "新建冷库能拿多少补助？" (quoted when the model declines), and not "冷藏车…".
    """
    from rag.frame import frame
    from rag.verify import verify

    got = verify(REFUSAL, _hits(), frame("新建冷库能拿多少补助？"))
    assert not got.refused and "最高300万元" in got.text
    assert verify(REFUSAL, _hits(), frame("购置冷藏车能拿多少补助？")).refused
