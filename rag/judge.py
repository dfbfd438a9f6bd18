"""Answerability: does the cited sentence state the answer a who/which/where/when question was given?

`rag.sufficiency` checks this by rule (the answer's words are stated in a sentence about the subject, in
the role the question asks for). Rules miss what a reader sees at once: "日本警方当场逮捕开枪的男子" names
a country but not where the shooting happened; "他的国葬于1967年举行" dates another man's funeral. The
local model reads that better than it writes: asked yes or no over the cited sentence alone, its
probability of "是" is read from the next-token logits (no text is generated, so nothing is parsed).

Measured on RGB's development split (60 items, `benchmarks/bench_judge.py`): true answers over noisy
passages had P(是) 0.72–0.98 (median 0.94); wrong answers over passages that do not hold the answer
0.58–0.96 (median 0.88). `Settings.judge_min_yes` (0.90) is the line between them. Measured again on
items 151–175 of each file (never used before): true answers median 0.946 (n=24), wrong ones 0.783 (n=11);
0.90 keeps 17 of 24 true and rejects 11 of 11 wrong, 0.85 keeps 18 and rejects 9, so the line stays.
A judgement costs one forward pass over its prompt, about 2–3 s on 2 cores; the model's cache is restored
after it, so the next answer still finds its system prompt evaluated.

>>> from rag.generate import ScriptedGenerator
>>> judge(ScriptedGenerator("", yes=0.95), "谁执导了《远山》？", "林知秋[1]。", "该片由林知秋执导。")
0.95
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from string import Template
from typing import Protocol, runtime_checkable

from rag.cite import strip_markers
from rag.frame import Frame, asked_questions
from rag.prompt import load_prompts
from rag.settings import Settings
from rag.types import Message, Verification

MAX_EVIDENCE_CHARS = 400  # the cited sentences (as measured); more only slows the read (~14 ms a token)


@runtime_checkable
class Judge(Protocol):
    """A model that gives the probability of `yes` (against `no`) as its next token after `messages`."""

    def yes_probability(self, messages: Sequence[Message], yes: str, no: str) -> float: ...


def judge_messages(question: str, answer: str, evidence: str) -> list[Message]:
    """The checker's system message, then the yes/no question over the evidence."""
    p = load_prompts("judge")
    user = Template(p["question"]).substitute(
        evidence=evidence[:MAX_EVIDENCE_CHARS], question=question, answer=strip_markers(answer)
    )
    return [Message(role="system", content=p["system"].strip()), Message(role="user", content=user)]


def judge(model: Judge, question: str, answer: str, evidence: str) -> float:
    """P(yes) that `evidence` states `answer` to `question`."""
    p = load_prompts("judge")
    messages = judge_messages(question, answer, evidence)
    return model.yes_probability(messages, p["yes_word"].strip(), p["no_word"].strip())


# "…是指什么", "…叫什么": a definition or a name is stated in so many ways that the yes/no reading is as
# likely to miss a right one ("“一廊”即夏驾河科创走廊") as to catch a wrong one; rules check those.
# "用了多少年", "多久": a duration code computes from two dates (rag.arith), which no single cited sentence
# states either.
_WHAT = re.compile(r"什么(?!时候)|啥(?!时候)|多少年|几年|多久|多长时间")


def judges(fr: Frame, settings: Settings, model: object) -> bool:
    """Whether an answer to `fr` is judged: who/which/where/when, by a model that can judge, when enabled."""
    return (
        fr.asks in ("entity", "time", "day")
        and not fr.yes_no
        and not _WHAT.search(fr.text)
        and settings.judge_min_yes > 0
        and isinstance(model, Judge)
    )


def stated(model: Judge, settings: Settings, fr: Frame, ver: Verification) -> bool:
    """The judgement: P(是) that the cited sentences state the answer, against `Settings.judge_min_yes`."""
    evidence = "".join(dict.fromkeys(c.text for c in ver.citations))
    if not evidence:
        return True  # nothing cited to judge by: verification already decided
    # "哪家公司建设的？负责人是谁？": an answer to one of the questions is judged on that one (its other part
    # is verified by code like any sentence), not refused for not answering both.
    questions = asked_questions(fr)
    try:
        return any(judge(model, q, ver.text, evidence) >= settings.judge_min_yes for q in questions)
    except NotImplementedError:
        return True  # a model that gives no judgement (a scripted one without a verdict)


__all__ = ["Judge", "judge", "judge_messages", "judges", "stated"]
