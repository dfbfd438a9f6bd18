"""Passages that disagree on a name, a place or a date: the answer shows the other statement with its
source, whichever side the model took. Passages are constructed (fictional names), so each case is one rule."""

from __future__ import annotations

from collections.abc import Sequence

from conftest import text_hit

from rag.generate import ScriptedGenerator
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.slot_conflict import slot_conflicts
from rag.types import Hit

TRUE_1 = "青禾电影节评委会宣布，本届最佳影片《远山》由导演林知秋执导，影片讲述了一个山村教师的故事。"
TRUE_2 = "《远山》的导演林知秋在颁奖礼后表示，这部电影拍了整整三年。"
FAKE_1 = "据娱乐周刊报道，《远山》的导演周砚青曾是一名摄影师，此前拍过多部纪录片。"
NOISE = "本届青禾电影节共收到报名影片八百余部，颁奖礼在临川大剧院举行。"


def _hits(*texts: str) -> list[Hit]:
    return [text_hit(t, scope="unknown", doc=f"p{i}.txt") for i, t in enumerate(texts, 1)]


def test_another_name_for_the_asked_slot_is_shown_whichever_side_the_answer_took() -> None:
    hits = _hits(TRUE_1, FAKE_1, TRUE_2, NOISE)
    shown = slot_conflicts("《远山》的导演是谁？", "《远山》的导演是林知秋[1]。", hits)
    assert len(shown) == 1 and "周砚青" in shown[0] and shown[0].endswith("[2]。")
    shown = slot_conflicts("《远山》的导演是谁？", "《远山》的导演是周砚青[2]。", hits)
    assert any("林知秋" in s for s in shown) and not any("周砚青" in s for s in shown)


def test_passages_that_agree_or_say_nothing_of_the_slot_raise_nothing() -> None:
    hits = _hits(TRUE_1, TRUE_2, NOISE)
    assert slot_conflicts("《远山》的导演是谁？", "《远山》的导演是林知秋[1]。", hits) == ()


def test_a_word_that_is_no_name_fills_no_slot() -> None:
    # "导演自己…": the frame word is there, but what follows names no one.
    hits = _hits(TRUE_1, "《远山》的片场布景是导演自己掏钱买的。")
    assert slot_conflicts("《远山》的导演是谁？", "《远山》的导演是林知秋[1]。", hits) == ()


def test_one_document_does_not_disagree_with_itself() -> None:
    one = [text_hit(TRUE_1, scope="unknown", doc="a.txt"), text_hit(FAKE_1, scope="unknown", doc="a.txt")]
    assert slot_conflicts("《远山》的导演是谁？", "《远山》的导演是林知秋[1]。", one) == ()


def test_dates_in_the_same_slot_conflict() -> None:
    hits = _hits("第三届青禾音乐节于2025年5月3日在临川江滩开幕。", "第三届青禾音乐节于2025年6月9日在临川江滩开幕。")
    q = "第三届青禾音乐节什么时候开幕？"
    shown = slot_conflicts(q, "第三届青禾音乐节于2025年5月3日开幕[1]。", hits, dates=True)
    assert len(shown) == 1 and "6月9日" in shown[0]


class _Staged:
    """A retriever that returns the staged passages for any question."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = list(hits)

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.hits


def test_the_answer_carries_the_disagreement_with_both_sources() -> None:
    hits = _hits(FAKE_1, TRUE_1, NOISE)
    model = ScriptedGenerator("《远山》的导演是周砚青[1]。")
    answer = Pipeline(Settings(), retriever=_Staged(hits), generator=model).ask("《远山》的导演是谁？")
    assert not answer.refused
    assert "周砚青" in answer.answer and "林知秋" in answer.answer and "说法不一" in answer.answer
    assert {c.doc for c in answer.citations} == {"p1.txt", "p2.txt"}


def test_another_years_edition_fills_its_own_slot() -> None:
    # 2023's director against a sentence about the 2019 edition: no disagreement about 2023.
    hits = _hits(
        "2023年青禾电影节开幕片《远山》由导演林知秋执导。", "2019年青禾电影节开幕片由导演周砚青执导，反响平平。"
    )
    q = "2023年青禾电影节开幕片的导演是谁？"
    assert slot_conflicts(q, "导演是林知秋[1]。", hits) == ()
    # The same sentence without its year is about the asked edition as far as anyone can tell: shown.
    hits = _hits("2023年青禾电影节开幕片《远山》由导演林知秋执导。", "青禾电影节开幕片由导演周砚青执导，反响平平。")
    assert any("周砚青" in s for s in slot_conflicts(q, "导演是林知秋[1]。", hits))
