"""Prompt templates come from prompts/answer.yaml; the refusal phrase is one shared constant."""

from __future__ import annotations

import yaml

from rag.prompt import PROMPTS_DIR, REFUSAL, build_messages, parse_prompt
from rag.settings import ROOT
from rag.types import Chunk, Hit, Message


def hit(text: str, title="标题", section="一、总则", periods=("2024",)) -> Hit:
    return Hit(
        chunk=Chunk(
            id=text[:4], doc="d.txt", title=title, section=section, text=text, start=0, end=len(text), periods=periods
        ),
        score=1.0,
    )


def test_refusal_constant_is_the_yaml_phrase():
    data = yaml.safe_load((PROMPTS_DIR / "answer.yaml").read_text(encoding="utf-8"))
    assert REFUSAL == data["refusal"].strip() == "根据现有资料无法回答该问题。"


def test_messages_number_passages_and_carry_rules():
    hits = [hit("GDP 1135.1亿元。"), hit("固投175.1亿元。", title="另一篇", section="", periods=())]
    msgs = build_messages("2024年GDP是多少？", hits, history=[Message("user", "之前的问题")])
    assert [m.role for m in msgs] == ["system", "user"]
    assert REFUSAL in msgs[0].content and "[1]" in msgs[0].content
    user = msgs[1].content
    assert "[1]《标题》（2024）\nGDP 1135.1亿元。" in user  # the section path stays in citations, not the prompt
    assert "[2]《另一篇》\n固投175.1亿元。" in user
    assert user.rstrip().endswith("2024年GDP是多少？")
    assert "之前的问题" not in user  # history reaches the model only via the rewritten question


def test_long_titles_are_cut_in_the_prompt():
    long = "昆山高新区用创新与实干书写高质量发展新篇章"
    user = build_messages("问题", [hit("甲。", title=long)])[1].content
    assert f"《{long[:12]}…》" in user and long not in user


def test_system_prompt_is_identical_across_questions():
    # llama.cpp reuses the KV cache of a shared prefix: the system prompt must not vary.
    a = build_messages("问题一", [hit("甲。")])[0]
    b = build_messages("问题二", [hit("乙。"), hit("丙。")])[0]
    assert a == b


def test_parse_prompt_round_trip():
    hits = [hit("第一段。\n第二行。"), hit("另一段。")]
    q, passages = parse_prompt(build_messages("问什么？", hits))
    assert q == "问什么？"
    assert passages == {1: "第一段。\n第二行。", 2: "另一段。"}


def test_passage_truncation():
    msgs = build_messages("q", [hit("甲" * 50)], max_passage_chars=10)
    assert "甲" * 10 + "…" in msgs[1].content and "甲" * 11 not in msgs[1].content


def test_excerpt_keeps_the_sentence_that_defines_a_quoted_phrase():
    """A long sentence sharing many words with the question must not crowd out the one defining its “term”."""
    from rag.excerpt import excerpt

    plan = "".join((next((ROOT / "seeds").glob("004_*.txt"))).read_text(encoding="utf-8").split())
    text = plan[plan.index("坚持创新在全市现代化建设") : plan.index("“一港”")]  # the real plan passage
    out = excerpt(text, "昆山科技创新规划里说的“一廊”是指什么？", 120)
    assert "“一廊”，即夏驾河科创走廊" in out and "阳澄湖" not in out.split("夏驾河")[0]
    # Without the quote marks the question names no term, and the best word overlap wins as before.
    assert "“一廊”，即" not in excerpt(text, "昆山科技创新规划的重大创新载体有哪些？", 120)
