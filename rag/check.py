"""Fact-check a claim: retrieve, then hold each asserted figure against the source's own figure.

Verdicts: "supported" (the passage states the same figure for that metric), "contradicted"
(it states another one — `source_value` gives it), "not_found" (no passage speaks to it).

>>> # check_claim("2024年昆山高新区地区生产总值1135.1亿元", retriever)["verdict"]  → 'supported'
"""

from __future__ import annotations

import re
from typing import Any

from rag.verify import check_premise

_HEDGE = re.compile(r"^(?:听说|据说|有人说|核实一下[:：]?|请问)|(?:对吗|是吗|对吧|是不是|吗)[？?。!！\s]*$")
_SPLIT = re.compile(r"[；;。！!？?\n]+")


def check_claim(claim: str, retriever: Any, k: int = 5) -> dict[str, Any]:
    """Verdict per atomic statement (one sentence/clause with a figure) and overall."""
    statements = []
    for part in _SPLIT.split(claim):
        text = _HEDGE.sub("", part.strip()).strip("，, ")
        if not text:
            continue
        hits = retriever.search(text, k)
        premise = check_premise(text + "吗？", hits)
        if premise is None:
            statements.append({"text": text, "verdict": "not_found", "evidence": [], "source_value": None})
            continue
        h = hits[premise.passage - 1].chunk
        statements.append(
            {
                "text": text,
                "verdict": "supported" if premise.agrees else "contradicted",
                "evidence": [{"doc": h.doc, "title": h.title, "section": h.section, "text": premise.sentence}],
                "source_value": premise.source,
            }
        )
    verdicts = [s["verdict"] for s in statements]
    if "contradicted" in verdicts:
        overall = "contradicted"
    elif verdicts and all(v == "supported" for v in verdicts):
        overall = "supported"
    else:
        overall = "not_found"
    return {"claim": claim, "verdict": overall, "statements": statements}
