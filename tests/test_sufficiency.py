"""Names, places and organisations are checked as figures are: the answer a sentence gives to "谁/哪家/在哪"
must be stated in a cited passage, about the asked subject; a model's refusal is never replaced by a quote
that only shares the question's words. Passages are constructed (no corpus), so each case is one rule."""

from __future__ import annotations

from conftest import text_hit

from rag.numbers import extract_figures
from rag.prompt import REFUSAL
from rag.sufficiency import new_text, states_slot
from rag.verify import verify

SHOOTING = "2022年7月8日，日本前首相安倍晋三在奈良市街头演讲时遭枪击，送医后不治身亡。"
SUSPECT = "警方当场逮捕了枪击安倍晋三的嫌疑人山上彻也。"
FILM = "《胡同儿》正式上映。该片由陆添执导，讲述了北京胡同里的故事。"
OTHER_FILM = "电影《沙丘》由丹尼斯·维伦纽瓦执导。"
EXPO = "第五届数字经济博览会由江苏省政府主办，在南京国际展览中心举行。"


def test_the_answer_is_what_the_sentence_adds_to_the_question():
    assert new_text("谁执导了《胡同儿》？", "《胡同儿》由陆添执导[1]。") == ["陆添"]
    assert new_text("谁枪击了安倍晋三？", "安倍晋三遭枪击[1]。") == ["遭"]
    assert not states_slot("谁枪击了安倍晋三？", "安倍晋三遭枪击[1]。", [SHOOTING])  # restates the question


def test_a_name_must_be_stated_about_the_asked_subject():
    assert states_slot("《胡同儿》的导演是谁？", "《胡同儿》的导演是陆添。", [FILM])
    assert not states_slot("《胡同儿》的导演是谁？", "《胡同儿》的导演是李明。", [FILM])  # named by no passage
    # Stated, but about another film: a name from a sentence about something else answers nothing.
    assert not states_slot("《胡同儿》的导演是谁？", "《胡同儿》的导演是丹尼斯·维伦纽瓦。", [FILM + OTHER_FILM])


def test_a_person_the_model_names_from_memory_is_dropped_and_refused():
    hits = [text_hit(SHOOTING, scope="unknown", periods=("2022",))]
    v = verify("2022年7月8日，安倍晋三在奈良市街头演讲时遭山上彻也枪击[1]。", hits, "谁枪击了安倍晋三？")
    assert v.refused and "山上彻也" not in v.text
    assert v.claims[0].reason == "no_slot"  # every other word is grounded: only the name is not


def test_a_person_the_passages_name_is_kept():
    hits = [text_hit(SHOOTING + SUSPECT, scope="unknown", periods=("2022",))]
    v = verify("枪击安倍晋三的是山上彻也[1]。", hits, "谁枪击了安倍晋三？")
    assert not v.refused and "山上彻也[1]" in v.text


def test_organisations_and_places_are_checked_too():
    hits = [text_hit(EXPO, scope="unknown", periods=())]
    q_org, q_place = "第五届数字经济博览会由谁主办？", "第五届数字经济博览会在哪里举行？"
    assert not verify("由江苏省政府主办[1]。", hits, q_org).refused
    assert verify("由浙江省政府主办[1]。", hits, q_org).refused
    assert not verify("在南京国际展览中心举行[1]。", hits, q_place).refused
    assert verify("在上海国家会展中心举行[1]。", hits, q_place).refused


def test_a_model_refusal_is_not_replaced_by_a_quote_that_names_no_answer():
    # The passage shares every word of the question and still does not say who.
    hits = [text_hit(SHOOTING, scope="unknown", periods=("2022",))]
    v = verify(REFUSAL, hits, "谁枪击了安倍晋三？")
    assert v.refused and not v.fallback


def test_a_quote_stands_for_the_answer_the_model_gave_under_the_wrong_number():
    hits = [text_hit(OTHER_FILM, scope="unknown", periods=()), text_hit(FILM, scope="unknown", periods=())]
    v = verify("《胡同儿》的导演是陆添[1]。", hits, "《胡同儿》的导演是谁？")
    assert not v.refused and "陆添" in v.text and "[2]" in v.text


def test_dates_with_a_bare_year_before_a_name_are_years():
    # "2022春运": a year written without 年 is a period, so a correct date is not dropped as an unknown figure.
    assert [f.kind for f in extract_figures("2022春运")] == ["year"]
    hit = text_hit("2022年春运自1月17日开始，至2月25日结束，共40天。", scope="unknown", periods=("2022",))
    v = verify("2022春运从1月17日开始[1]。", [hit], "2022春运什么时候开始？")
    assert not v.refused and "1月17日" in v.text


def test_a_date_must_date_the_asked_subject():
    other = text_hit("1967年10月31日，日本为前首相吉田茂举行国葬。", scope="unknown", periods=("1967",))
    right = text_hit("日本政府决定于9月27日为安倍晋三举行国葬。", scope="unknown", periods=())
    q = "安倍晋三的国葬时间？"  # a noun phrase asks for what it names: here a time
    assert verify("安倍晋三的国葬时间是1967年[1]。", [other], q).refused
    v = verify("安倍晋三的国葬定于9月27日[1]。", [other, right], q)
    assert not v.refused and "9月27日[2]" in v.text


def test_noun_phrase_questions_ask_for_what_they_name():
    from rag.frame import asked_kind

    assert asked_kind("KF-21战斗机研发国家") == "entity"
    assert asked_kind("艾尔登法环发售日期") == "day"
    assert asked_kind("请介绍高新区的主导产业") == ""  # a request, not a slot to fill


def test_a_figure_the_question_names_does_not_answer_it():
    # "KF-21": the 21 is part of the name asked about, so the sentence's answer is its words, and they must
    # be stated. (A small model, asked about news it has no passage for, answered with the home zone's name.)
    hit = text_hit("KF-21战斗机于2022年7月19日完成首飞。", scope="unknown", periods=("2022",))
    assert verify("KF-21战斗机研发国家是昆山高新区[1]。", [hit], "KF-21战斗机研发国家").refused


def test_what_questions_ending_in_me_are_not_yes_no():
    from rag.grammar import is_yes_no

    assert not is_yes_no("小米MIX4的处理器是什么") and is_yes_no("这项政策今年还有么")


def test_a_quote_naming_a_quoted_title_answers_only_what_it_is():
    praise = text_hit("短剧《胡同儿》以精良的制作讲好百姓故事，收获大量好评。", scope="unknown")
    assert verify(REFUSAL, [praise], "《胡同儿》的导演是谁？").refused  # names the title, not its director
    term = text_hit("“一廊”，即夏驾河科创走廊。", scope="unknown")
    assert not verify(REFUSAL, [term], "“一廊”是指什么？").refused  # a definition is what is asked


def test_a_name_must_fill_the_role_the_question_asks_for():
    # Stated about the film, but as a supporting actress, or as a director who left: no answer to 主演 / 导演.
    cast = text_hit("《远山》中，配角朝澜由演员朱晓岚饰演，她的表现不错。", scope="unknown")
    assert verify("《远山》的主演是朱晓岚[1]。", [cast], "《远山》的主演？").refused
    left = text_hit("由于吴森因身体原因退出，《远山》于2019年重新立项。", scope="unknown")
    assert verify("《远山》的导演是吴森[1]。", [left], "《远山》的导演是谁？").refused
    # The role said with another word of the same root ("执导", "领衔主演") is the role.
    film = text_hit("《远山》由林知秋执导，周砚青领衔主演。", scope="unknown")
    assert not verify("《远山》的导演是林知秋[1]。", [film], "《远山》的导演是谁？").refused
    assert not verify("《远山》的主演是周砚青[1]。", [film], "《远山》的主演？").refused
    # An attribute ("成绩", "原因") is no role: any sentence about the subject may state it.
    match = text_hit("林一在青禾公开赛第三轮逆转获胜，晋级八强。", scope="unknown")
    assert not verify("林一晋级八强[1]。", [match], "林一在青禾公开赛的成绩").refused


def test_a_day_question_is_not_answered_with_a_month():
    sales = text_hit("发售一周后，《远山》游戏在2022年2月的月销量排名第一。", scope="unknown", periods=("2022",))
    assert verify("2022年2月[1]", [sales], "《远山》游戏发售日期").refused
    day = text_hit("《远山》游戏于2022年2月25日正式发售。", scope="unknown", periods=("2022",))
    assert not verify("2022年2月25日[1]", [day], "《远山》游戏发售日期").refused
