"""What a verified answer carries beside its own sentences: notes appended from `prompts/premise.yaml`, each
with its `[n]` resolved to a citation, so a reader sees every source that bears on the answer.

- other figures for the same metric, period and area (`rag.conflict.conflicts`);
- another “name” for the same thing (`rag.conflict.name_conflicts`);
- another name or date in the slot a who/which/where/when question asks (`rag.slot_conflict`);
- on a refusal for one period or area, what the documents give for another (still a refusal).

>>> from rag.types import Verification
>>> append_note(Verification(text="答案[1]。"), [], "trend_note").text.startswith("答案[1]。")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from string import Template

from rag.cite import resolve_citations
from rag.conflict import conflicts, name_conflicts
from rag.frame import Frame
from rag.prompt import load_prompts
from rag.quote import extractive_answer, nearest_other
from rag.slot_conflict import slot_conflicts
from rag.types import Hit, Verification


def append_note(ver: Verification, passages: Sequence[Hit], template: str, **values: str) -> Verification:
    """`ver` with the `prompts/premise.yaml` note `template` appended, its `[n]` resolved to citations too."""
    text = ver.text + Template(load_prompts("premise")[template]).safe_substitute(**values)
    return replace(ver, text=text, citations=tuple(resolve_citations(text, passages)))


def with_conflicts(fr: Frame, passages: Sequence[Hit], ver: Verification) -> Verification:
    """Sources that give another figure for the same metric, period and scope, another name for the same
    thing, or another name or date where the question asks who, which, where or when, are shown, not
    hidden."""
    rivals = conflicts(ver.text, passages)
    if rivals:
        ver = append_note(ver, passages, "conflict", quotes="".join(rivals))
    names = name_conflicts(ver.text, passages)
    if names:
        ver = append_note(ver, passages, "name_conflict", quotes="".join(names))
    if fr.asks in ("entity", "time", "day") and not fr.yes_no:
        said = slot_conflicts(fr.text, ver.text, passages, dates=fr.asks != "entity")
        if said:
            ver = append_note(ver, passages, "slot_conflict", quotes="".join(said))
    return ver


def refusal_with_nearest(question: Frame, passages: Sequence[Hit], ver: Verification) -> Verification:
    """A refusal for one period/scope still tells what the documents give for another (still refused); a
    sentence of the asked period and area that does not answer is labelled as related, not as another's."""
    quote = nearest_other(question, passages)
    if not quote:
        return ver
    same = quote == extractive_answer(question, passages)  # it passes the asked period and area too
    return append_note(ver, passages, "refusal_related" if same else "refusal_nearest", quote=quote)


__all__ = ["append_note", "refusal_with_nearest", "with_conflicts"]
