"""Prompt building: numbered passages + the question, from the templates in `prompts/answer.yaml`.

The wording lives in YAML (string.Template `$vars`), never in Python. `REFUSAL` is the
exact sentence the bot says when the passages do not answer; code and tests share it.

>>> from rag.types import Chunk, Hit
>>> c = Chunk(id="c1", doc="a.txt", title="高新区年报", section="", text="GDP 1135.1亿元。", start=0, end=13,
...           periods=("2024",))
>>> msgs = build_messages("2024年GDP是多少？", [Hit(chunk=c, score=1.0)])
>>> [m.role for m in msgs]
['system', 'user']
>>> print(msgs[1].content)
资料：
[1]《高新区年报》（2024）
GDP 1135.1亿元。
<BLANKLINE>
问题：2024年GDP是多少？
>>> parse_prompt(msgs)
('2024年GDP是多少？', {1: 'GDP 1135.1亿元。'})
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from string import Template

import yaml

from rag.settings import ROOT
from rag.types import Hit, Message

PROMPTS_DIR = ROOT / "prompts"


@cache
def load_prompts(name: str = "answer") -> dict[str, str]:
    """The templates of `prompts/<name>.yaml` (read once; prompts are data shipped with the code)."""
    data = yaml.safe_load(Path(PROMPTS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"prompts/{name}.yaml must be a mapping of template names to strings")
    return {k: str(v) for k, v in data.items()}


REFUSAL: str = load_prompts()["refusal"].strip()
"""The exact refusal sentence, e.g. 根据现有资料无法回答该问题。"""


def _period_label(periods: Sequence[str]) -> str:
    return f"（{'、'.join(periods[:2])}）" if periods else ""


def format_passage(n: int, hit: Hit, max_chars: int | None = None) -> str:
    """Passage `n` as the model sees it: header line (title, section, period) then the text."""
    c = hit.chunk
    text = c.text.strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars] + "…"
    section = f" {c.section}" if c.section else ""
    return Template(load_prompts()["passage"]).substitute(
        n=n, title=c.title, section=section, period=_period_label(c.periods), text=text
    )


def build_messages(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Message] = (),
    max_passage_chars: int | None = None,
) -> list[Message]:
    """System + user messages for `question` over `hits` (numbered 1..len(hits), in order).

    `history` is deliberately not sent: follow-ups are rewritten into standalone questions
    first (`rag.rewrite`), which keeps the prompt short and its system prefix cacheable.
    """
    del history  # see docstring: history reaches the model only through the rewritten question
    p = load_prompts()
    system = Template(p["system"]).substitute(refusal=REFUSAL)
    passages = "\n\n".join(format_passage(i, h, max_passage_chars) for i, h in enumerate(hits, start=1))
    user = Template(p["user"]).substitute(passages=passages, question=question.strip())
    return [Message(role="system", content=system), Message(role="user", content=user)]


def _template_regex(template: str, groups: dict[str, str]) -> re.Pattern[str]:
    """A regex matching what `template` renders to, with named groups for the given variables."""
    parts = re.split(r"(\$\{?\w+\}?)", template)
    out = []
    for part in parts:
        m = re.fullmatch(r"\$\{?(\w+)\}?", part)
        if m:
            out.append(f"(?P<{m.group(1)}>{groups[m.group(1)]})" if m.group(1) in groups else ".*?")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out), re.DOTALL)


def parse_prompt(messages: Sequence[Message]) -> tuple[str, dict[int, str]]:
    """(question, {n: passage text}) back from messages made by `build_messages`.

    Lets backends without an LLM (the extractive one) work from the same messages.
    """
    user = next((m.content for m in reversed(messages) if m.role == "user"), "")
    p = load_prompts()
    m = _template_regex(p["user"], {"passages": ".*", "question": ".*"}).fullmatch(user)
    if not m:
        return user.strip(), {}
    header = p["passage"].split("\n", 1)[0]
    head_re = _template_regex(header, {"n": r"\d+"})
    passages: dict[int, str] = {}
    lines = m.group("passages").split("\n")
    current: int | None = None
    for line in lines:
        hm = head_re.fullmatch(line)
        if hm:
            current = int(hm.group("n"))
            passages[current] = ""
        elif current is not None:
            passages[current] = (passages[current] + "\n" + line) if passages[current] else line
    return m.group("question").strip(), {k: v.strip() for k, v in passages.items()}
