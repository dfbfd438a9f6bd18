"""Answer metrics computed on staged answers: what counts as correct, cited, refused and unsupported."""

from __future__ import annotations

from rag.evaluate import answer_metrics
from rag.types import Answer, Chunk, Citation, Hit

ROW_SOURCE = "11 海内外高层次人才（万人） 4.5 6.2"
ROW = "表1 指标｜指标名称：海内外高层次人才（万人）｜2020年完成值：4.5｜2025年目标值：6.2"
TEXT = "到2025年，海内外高层次人才6.2万人。"


def hit(cid: str, text: str, source: str = "") -> Hit:
    return Hit(Chunk(cid, "p.txt", "T", "", text, 0, len(source or text), source=source or text), 1.0)


class Staged:
    """Plays a pipeline whose answers are given: the metrics, not the model, are under test."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers

    def ask(self, question: str) -> Answer:
        return self.answers[question]


def cite(n: int, h: Hit) -> Citation:
    return Citation(n, h.chunk.id, "p.txt", "T", "", h.chunk.text, 0, 1)


def test_correct_cited_refused_and_unsupported_are_counted():
    text, row = hit("a", TEXT), hit("b", ROW, ROW_SOURCE)
    items = [
        {
            "id": "1",
            "question": "q1",
            "must_include": ["6.2"],
            "evidence": [TEXT.rstrip("。"), ROW_SOURCE],
            "category": "figure",
            "answerable": True,
        },
        {
            "id": "2",
            "question": "q2",
            "must_include": ["6.2"],
            "evidence": [ROW_SOURCE],
            "category": "figure",
            "answerable": True,
        },
        {
            "id": "3",
            "question": "q3",
            "must_include": [],
            "evidence": [],
            "category": "unanswerable",
            "answerable": False,
        },
    ]
    answers = {
        # cites the text and the table row: covers both evidence strings, the row's in its source form
        "q1": Answer("q1", "海内外高层次人才6.2万人[1][2]。", False, (cite(1, text), cite(2, row)), (text, row)),
        # right figure, but only the text is cited while the evidence is the row; and 7.1万人 is in no passage
        "q2": Answer("q2", "6.2万人[1]，另有7.1万人[1]。", False, (cite(1, text),), (text, row)),
        "q3": Answer("q3", "根据现有资料无法回答该问题。", True, (), (text,)),
    }
    m = answer_metrics(items, Staged(answers))
    assert m["answer_accuracy"] == 1.0 and m["refusal_rate_unanswerable"] == 1.0
    assert m["citation_precision"] == 0.5  # q1 covered, q2 not
    assert m["unsupported_shown"] == 1 and m["rows"][1]["unsupported_shown"] == ["7.1万人"]


def test_rgb_answers_are_compared_as_the_protocol_says():
    from rag.evaluate import rgb_found

    assert rgb_found("苹果由史蒂夫·乔布斯[1]创立。", [["史蒂夫·乔布斯", "乔布斯"]])
    assert rgb_found("１月１７日 开始[2]", ["1月17日"])  # NFKC, markers and spaces removed
    assert not rgb_found("在新加坡举办。", "日本")
    assert not rgb_found("日本", ["日本", "东京"])  # every top-level element must occur
