"""Rule-based follow-up rewriting."""

from __future__ import annotations

from rag.rewrite import rewrite
from rag.types import Message

H = [Message("user", "2024年昆山高新区的地区生产总值是多少？"), Message("assistant", "1135.1亿元[1]。")]


def test_year_follow_up_replaces_the_year():
    assert rewrite("那2021年呢？", H) == "2021年昆山高新区的地区生产总值是多少？"


def test_pronoun_follow_up_keeps_the_subject():
    assert rewrite("它的增速呢？", H) == "2024年昆山高新区的地区生产总值的增速是多少？"


def test_scope_follow_up_swaps_the_scope():
    h = [Message("user", "“十三五”期间昆山全市净增了多少家高新技术企业？")]
    assert rewrite("那高新区呢？", h) == "“十三五”期间高新区净增了多少家高新技术企业？"
    assert rewrite("那十四五呢？", h) == "“十四五”期间昆山全市净增了多少家高新技术企业？"


def test_standalone_questions_and_empty_history_are_untouched():
    assert rewrite("中科可控董事长是谁？", H) == "中科可控董事长是谁？"
    assert rewrite("那2021年呢？", []) == "那2021年呢？"
    assert rewrite("那乐美包装呢？", H) == "那乐美包装呢？"  # a new subject: no guessing
