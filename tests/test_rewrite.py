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


def test_another_sort_of_the_same_thing_is_asked_the_same_way():
    """ "那其他床位呢？" after "…护理型床位每张补贴多少？": the sort is replaced, the rest of the question kept;
    a word the previous question does not end with is a new subject, left alone."""
    h = [Message("user", "东湖开发区新建养老机构，护理型床位每张补贴多少？")]
    assert rewrite("那其他床位呢？", h) == "东湖开发区新建养老机构，其他床位每张补贴多少？"
    p = [Message("user", "2024年昆山高新区发明专利授权多少件？")]
    assert rewrite("那外观设计专利呢？", p) == "2024年昆山高新区外观设计专利授权多少件？"
    assert rewrite("那乐美包装呢？", p) == "那乐美包装呢？"


def test_a_target_follow_up_asks_the_previous_question_of_the_years_target():
    h = [Message("user", "东湖开发区2026年1—10月快递业务量是多少？")]
    assert rewrite("那全年目标是多少呀？", h) == "东湖开发区2026年全年目标快递业务量是多少？"
    assert rewrite("2027年的目标呢？", h) == "东湖开发区2027年全年目标快递业务量是多少？"
