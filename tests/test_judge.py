"""The answerability judgement: a who/which/where/when answer stands only when the model, asked yes or no
over the sentence the answer cites, gives 是 enough probability. The pipeline tests script the verdict (what
is tested is what code does with it); the model test reads real logits from the 0.5B GGUF."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from conftest import text_hit

from rag.generate import LlamaCppGenerator, ScriptedGenerator
from rag.judge import Judge, judge, judge_messages
from rag.pipeline import Pipeline
from rag.prompt import REFUSAL, build_messages
from rag.settings import Settings
from rag.types import Hit

FILM = "《远山》由林知秋执导，影片讲述了一个山村教师的故事。"
BUDGET = "《远山》总投资3200万元，拍摄历时三年。"


class _Staged:
    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = list(hits)

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.hits


def _ask(question: str, model: ScriptedGenerator, text: str = FILM) -> tuple[str, bool]:
    hit = text_hit(text, scope="unknown", doc="p1.txt")
    a = Pipeline(Settings(), retriever=_Staged([hit]), generator=model).ask(question)
    return a.answer, a.refused


def test_a_name_the_judge_does_not_find_stated_is_refused() -> None:
    answer, refused = _ask("《远山》的导演是谁？", ScriptedGenerator("《远山》的导演是林知秋[1]。", yes=0.3))
    assert refused and answer == REFUSAL


def test_a_name_the_judge_finds_stated_stands() -> None:
    model = ScriptedGenerator("《远山》的导演是林知秋[1]。", yes=0.97)
    answer, refused = _ask("《远山》的导演是谁？", model)
    assert not refused and "林知秋" in answer
    judged = model.calls[-1][-1].content  # the judgement read the cited sentence, the question and the answer
    assert "林知秋执导" in judged and "《远山》的导演是谁？" in judged and "[1]" not in judged


def test_amounts_are_not_judged_and_models_without_a_verdict_are_not_asked() -> None:
    model = ScriptedGenerator("《远山》总投资3200万元[1]。", yes=0.0)
    answer, refused = _ask("《远山》总投资多少？", model, BUDGET)
    assert not refused and "3200万元" in answer and len(model.calls) == 1  # the answer only: no judgement
    answer, refused = _ask("《远山》的导演是谁？", ScriptedGenerator("《远山》的导演是林知秋[1]。"))
    assert not refused  # no verdict scripted: verification alone decides


def test_what_questions_are_left_to_the_rules() -> None:
    model = ScriptedGenerator("“远山计划”是指青禾区的乡村影像扶持计划[1]。", yes=0.0)
    text = "“远山计划”，即青禾区的乡村影像扶持计划。"
    answer, refused = _ask("“远山计划”是指什么？", model, text)
    assert not refused and len(model.calls) == 1  # no judgement asked
    model = ScriptedGenerator("青禾影业2007年成立，2021年上市[1]。", yes=0.0)
    answer, refused = _ask("青禾影业从成立到上市用了多少年？", model, "青禾影业2007年成立，2021年上市。")
    assert not refused and "14年" in answer and len(model.calls) == 1  # a duration: computed, not judged


def test_the_judge_can_be_turned_off() -> None:
    hit = text_hit(FILM, scope="unknown", doc="p1.txt")
    off = Settings(judge_min_yes=0.0)
    model = ScriptedGenerator("《远山》的导演是林知秋[1]。", yes=0.0)
    a = Pipeline(off, retriever=_Staged([hit]), generator=model).ask("《远山》的导演是谁？")
    assert not a.refused


@pytest.mark.slow
def test_the_model_reads_yes_more_likely_for_a_stating_sentence(settings: Settings) -> None:
    from test_generate import _gguf

    s = settings.model_copy(update={"fast": True})
    model = LlamaCppGenerator(s, model_path=_gguf(s))
    assert isinstance(model, Judge)
    q = "《远山》的导演是谁？"
    stated = judge(model, q, "《远山》的导演是林知秋。", FILM)
    unstated = judge(model, q, "《远山》的导演是林知秋。", BUDGET)
    assert 0.0 < unstated < stated < 1.0
    # The same question again: the cached prefix changes speed, not the verdict (up to batching noise).
    assert judge(model, q, "《远山》的导演是林知秋。", FILM) == pytest.approx(stated, abs=0.01)
    assert judge_messages(q, "林知秋[1]。", FILM)[1].content.count("林知秋") == 2
    # The answers' cache is put back: the next answer still finds its prompt evaluated.
    "".join(model.stream(build_messages(q, [text_hit(FILM, scope="unknown")])))
    llm = model.load()
    before = list(llm.input_ids[: llm.n_tokens])
    judge(model, q, "《远山》的导演是林知秋。", FILM)
    assert list(llm.input_ids[: llm.n_tokens]) == before


class _JudgesPerQuestion(ScriptedGenerator):
    """Finds the cited sentence to state who directed the film, and not what any other question asks."""

    def yes_probability(self, messages, yes, no) -> float:  # type: ignore[no-untyped-def]
        self.calls.append(list(messages))
        return 0.97 if "导演是谁" in messages[-1].content and "主演" not in messages[-1].content else 0.1


def test_an_answer_to_one_of_two_questions_is_judged_on_that_one() -> None:
    """ "导演是谁？主演是谁？": the cited sentence names the director only. The answer is judged per question,
    so it stands for the one it answers instead of being refused for not answering both."""
    model = _JudgesPerQuestion("《远山》的导演是林知秋[1]。")
    answer, refused = _ask("《远山》的导演是谁？主演是谁？", model)
    assert not refused and "林知秋" in answer
    answer, refused = _ask("《远山》的主演是谁？", _JudgesPerQuestion("《远山》的主演是林知秋[1]。"))
    assert refused
