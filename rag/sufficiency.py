"""Whether an answer sentence states, from its source, what a who/which/what question asks.

Figures are checked one by one (`rag.support`). A question asking for a person, an organisation, a
place or a name ("谁…", "哪家…", "在哪举行", "叫什么") is answered by words, and a small model
fills that slot from its own memory as readily as from the passages: on news passages that never
name the answer it still names one.

What the sentence adds to the question is its *new* text: the characters no bigram of the question
covers, its figures (checked elsewhere) and the words any answer is phrased with (是, 由, 根据资料…) set
aside. The sentence answers from its source when

- some of the new text is stated in a cited passage sentence about the question's subject (one that
  shares the question's key words, or refers back with 该/其 to the one before it that does): a name
  taken from a passage about something else answers nothing;
- and no run of new text of `MAX_UNSTATED` characters or more is stated in none of the passages given:
  the name a model adds from memory, however well the rest of its sentence is grounded.

>>> src = ["《胡同儿》上映。该片由陆添执导。"]
>>> states_slot("《胡同儿》的导演是谁？", "《胡同儿》的导演是陆添。", src)
True
>>> states_slot("《胡同儿》的导演是谁？", "《胡同儿》的导演是李四。", src)
False
>>> new_text("谁枪击了安倍晋三？", "根据资料，枪击安倍晋三的是山上彻也[1]。")
['山上彻也']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.bm25 import commonness
from rag.cite import bigrams, overlap, strip_markers, unquoted
from rag.frame import ASKING, question_key
from rag.grammar import core, expand
from rag.numbers import extract_figures
from rag.types import Hit

# Words an answer is phrased with, whatever it answers: never the answer itself.
_PHRASING = re.compile(
    r"根据|依据|资料|材料|段落|文中|原文|来源|相关|信息|内容|显示|表明|提到|提及|指出|报道|介绍|据悉|据|称|答案|回答|"
    r"其中|此外|另外|同时|目前|已经|主要|包括|分别|就是|则是|即是|是|为|的|了|在|于|由|和|与|及|等|被|将|把|"
    r"其|该|此|这|那"
)
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z·]")
_REFERS_BACK = re.compile(r"[该其此这他她它]")
_THIS = re.compile(r"(?:此次|本次|这次|本届|该)([\u4e00-\u9fff]{2})")  # "this <noun of the question>"
_SENTENCE_END = "。！？!?；;\n"
SUBJECT_MIN = 0.3  # share of the question's key bigrams a passage sentence holds when it is about the subject
MAX_UNSTATED = 2  # a run of new characters this long that no cited passage states is an invented name
MIN_NAME = 2
# A subject run whose rarest word is at least this common in jieba's dictionary is a plain phrase, not a name
# ("企业" 34826, "时代" 10799; names: "男足" 21, "协鑫" 0, "网易" 159, "主教练" 669).
COMMON_WORDS = 5000


def _new_mask(question: str, plain: str, dates: bool = False) -> list[bool]:
    """Per character of `plain`: whether it is new text (see module docstring). With `dates`, the years and
    dates it states are new text too: they are what a "when" question asks."""
    q = bigrams(question)
    new = [bool(_WORD.match(ch)) or (dates and ch.isdigit()) for ch in plain]
    for i in range(len(plain) - 1):
        if plain[i : i + 2].lower() in q:
            new[i] = new[i + 1] = False
    spans = [(m.start(), m.end()) for m in _PHRASING.finditer(plain)]
    spans += [
        (f.start, f.end) for f in extract_figures(plain) if not (dates and (f.kind == "year" or f.unit in ("月", "日")))
    ]
    for start, end in spans:
        new[start:end] = [False] * (end - start)
    return new


def _runs(plain: str, mask: Sequence[bool]) -> list[str]:
    masked = "".join(ch if k else " " for ch, k in zip(plain, mask, strict=True))
    return re.findall(r"\S+", masked)


def new_text(question: str, sentence: str, dates: bool = False) -> list[str]:
    """The runs of new text in `sentence`, in order."""
    plain = unquoted(strip_markers(sentence))
    return _runs(plain, _new_mask(question, plain, dates))


# The noun a who/which question asks for: "…的导演是谁", "谁是…主演", "…冠军是哪个队", "…的主演？".
_ROLE = re.compile(
    r"([\u4e00-\u9fff]{2,4}?)(?:是|为|在)?(?:谁|哪[个家位国支所]?[\u4e00-\u9fff]?|什么人|何人)[？?。\s]*$"
    r"|^谁是.*?[》”]?([\u4e00-\u9fff]{2,3})[？?。\s]*$"
    # "…的主演？" with no question word: only a noun that names a person by what they do (an agent suffix);
    # "…的成绩", "…的原因" ask for an attribute, which any sentence about the subject may state.
    r"|的([\u4e00-\u9fff]{1,2}[演者手人长军统理席])[？?。\s]*$"
)
# How Chinese states a role with a verb instead of its noun.
_ROLE_VERBS = {
    "导演": ("执导", "导演"),
    "主演": ("领衔", "出演", "主角", "饰演主角"),
    "作者": ("著", "撰写", "创作", "作家"),
    "冠军": ("夺冠", "折桂", "问鼎", "夺得"),
    "编剧": ("编写",),
    "歌手": ("演唱", "献唱"),
}
# Nouns that name the kind of answer, not a role the answer plays: any sentence may state a place or a name
# without the word "地点" or "名字".
_KIND_NOUNS = re.compile(r"地点|地方|时间|日期|名字|名称|国家|城市|公司|机构|单位|人物|哪里|哪儿")


def asked_role(question: str) -> str:
    """The role a who/which question asks to fill ("导演", "主演", "冠军"), "" when it asks only for a kind of
    thing (a place, a date, a name).

    >>> asked_role("《胡同儿》的导演是谁？"), asked_role("谁是《远山》主演？"), asked_role("本届联赛冠军是哪个队")
    ('导演', '主演', '冠军')
    >>> asked_role("《远山》的主演？"), asked_role("音乐节举办的地点是哪里"), asked_role("谁枪击了安倍晋三？")
    ('主演', '', '')
    """
    m = _ROLE.search(question.strip())
    words = next((g for g in m.groups() if g), "") if m else ""
    role = words[-2:]  # the head noun ends a Chinese noun phrase: "联赛冠军" asks for a 冠军
    return "" if len(role) < 2 or _KIND_NOUNS.search(words) else role


def binds_role(question: str, sentence: str) -> bool:
    """Whether `sentence` names the role the question asks to fill, when it asks for one: a name from "朝澜由
    演员朱丽岚饰演" is no answer to "…的主演？", nor one from "吴宇森因身体原因退出" to "…的导演是谁？".

    >>> q = "《远山》的导演是谁？"
    >>> binds_role(q, "该片由林知秋执导。"), binds_role(q, "林知秋退出了拍摄。")
    (True, False)
    """
    role = asked_role(question)
    plain = unquoted(sentence)
    # The role said with its verb is the role: "由林知秋执导" states who 导演, "夺冠" who won the 冠军.
    return not role or any(word in plain for word in (role, *_ROLE_VERBS.get(role, ())))


def _covered(plain: str, mask: Sequence[bool], grams: set[str]) -> list[bool]:
    """Per character: new and inside a bigram of `grams` (a one-character run counts when it is a gram)."""
    out = [False] * len(plain)
    for i in range(len(plain) - 1):
        if mask[i] and plain[i : i + 2].lower() in grams:
            out[i] = True
        if mask[i + 1] and plain[i : i + 2].lower() in grams:
            out[i + 1] = True
    return out


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(f"(?<=[{_SENTENCE_END}])", text) if s.strip()]


def states_slot(
    question: str, sentence: str, sources: Sequence[str], dates: bool = False, pool: Sequence[str] = ()
) -> bool:
    """True when `sentence` answers `question` from `sources` (see module docstring); `dates` for a "when"
    question. A sentence that adds nothing to the question answers nothing. `pool`: every passage the model
    was given (default `sources`): a list one citation closes may gather its names from several of them,
    but a name none of them states came from the model's memory.

    >>> src = ["1967年，吉田茂国葬举行。", "安倍晋三的国葬于9月27日举行。"]
    >>> states_slot("安倍晋三的国葬时间？", "安倍晋三国葬于1967年举行。", src[:1], dates=True)
    False
    >>> states_slot("安倍晋三的国葬时间？", "安倍晋三国葬于9月27日举行。", src, dates=True)
    True
    """
    plain = unquoted(strip_markers(sentence))
    mask = _new_mask(question, plain, dates)
    if not any(mask):
        return False
    key = question_key(question)
    about: set[str] = set()
    for text in sources:
        prev = ""
        # "此次国葬…在威斯敏斯特教堂举办": "this funeral" of a passage about the asked one is the asked one.
        on_subject = overlap(key, bigrams(unquoted(text))) >= SUBJECT_MIN
        for s in _sentences(unquoted(text)):
            # "该片由陆添执导": about the film the sentence before names.
            said = prev + s if _REFERS_BACK.match(s.lstrip()) else s
            if (
                overlap(key, bigrams(said)) >= SUBJECT_MIN
                or (on_subject and any(m.group(1) in key for m in _THIS.finditer(s)))
            ) and binds_role(question, said):
                about |= _char_bigrams(s)
            prev = s
    # A name is two characters or more: "遭" of "安倍晋三遭枪击" restates the question, it names no one.
    if not any(len(r) >= MIN_NAME for r in _runs(plain, _covered(plain, mask, about))):
        return False
    texts = pool or sources
    anywhere = set().union(*(_char_bigrams(unquoted(t)) for t in texts)) if texts else set()
    stated = _covered(plain, mask, anywhere)
    unstated = _runs(plain, [m and not s for m, s in zip(mask, stated, strict=True)])
    return not any(len(r) >= MAX_UNSTATED for r in unstated)


def _char_bigrams(text: str) -> set[str]:
    """Every adjacent pair of characters, lower-cased (names run across scripts: "骁龙888Plus")."""
    t = text.lower()
    return {t[i : i + 2] for i in range(len(t) - 1)}


def absent_terms(question: str, passages: Sequence[Hit]) -> list[str]:
    """The question's subject (its first run of ≥ 3 characters between fillers) when the passages do not
    contain it: most of its character bigrams occur in none of them.

    >>> from rag.types import Chunk, Hit
    >>> t = "沪士电子人工智能芯片高端印制电路板扩产项目奠基开工。"
    >>> absent_terms("甲乙时代在全区投了什么项目？", [Hit(Chunk("c", "d", "T", "", t, 0, len(t)), 1.0)])
    ['甲乙时代']
    """
    text = "".join(re.sub(r"\s", "", h.chunk.text) for h in passages)
    grams = bigrams(text)
    # Only the run in subject position (the question's first): later runs are mostly how people ask
    # ("照材料推算", "占多大比重"), and the model rarely repeats those verbatim anyway.
    runs = re.findall(r"[\u4e00-\u9fffA-Za-z]{2,}", core(ASKING.sub(" ", question)))[:1]
    # Most of a run's bigrams missing, not the run itself: "中科可控发布" is not in "中科可控…有限公司发布".
    return [
        r
        for r in runs
        if overlap(bigrams(r), grams) < 0.5
        and overlap(bigrams(expand(r)), grams) < 0.5
        and not _abbreviates(r, text)
        and commonness(r) < COMMON_WORDS  # "企业通过中欧班列…": common words in subject position name no one
    ]


def _abbreviates(run: str, text: str) -> bool:
    """Whether `run` is a short form of words in `text`: its characters in order, a few apart at most
    ("男足主教练" in "男子足球队主教练", "国男足" in "中国国家男子足球队").

    >>> _abbreviates("男足主教练", "中国国家男子足球队主教练"), _abbreviates("甲乙时代", "甲方与乙方的时代")
    (True, False)
    """
    for m in re.finditer(re.escape(run[0]), text):
        end = m.end()
        for ch in run[1:]:
            nxt = text.find(ch, end, end + 3)  # the next character at most two apart
            if nxt < 0:
                break
            end = nxt + 1
        else:
            if end - m.start() < 2 * len(run):  # a short form drops at most about one character per word
                return True
    return False
