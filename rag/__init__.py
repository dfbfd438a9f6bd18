"""gaoxin (高新问答): local, cited, figure-checked answers from a place's documents.

>>> # import rag
>>> # a = rag.ask("2024年昆山高新区地区生产总值是多少？")
>>> # a.answer, a.citations[0].text
"""

from __future__ import annotations

from typing import Any


def ask(question: str, history: Any = ()) -> Any:
    """Answer a question (see `rag.pipeline.ask`); imported lazily so `import rag` stays cheap."""
    from rag.pipeline import ask as _ask

    return _ask(question, history)


def ask_stream(question: str, history: Any = ()) -> Any:
    from rag.pipeline import ask_stream as _s

    return _s(question, history)


def check(claim: str) -> dict[str, Any]:
    """Fact-check a claim (see `rag.check`)."""
    from rag.pipeline import _pipeline

    return _pipeline().check(claim)


def facts(metric: str = "", scope: str = "", period: str = "", kind: str = "") -> list[Any]:
    """The figures the documents state, as typed `rag.types.Fact` records (bound at index time), filtered by
    metric (a name, an alias or the documents' words), scope id, period label and kind; in period order.

    >>> # [(f.period, f.raw) for f in rag.facts("地区生产总值", scope="zone")]
    """
    from rag.facts import period_key
    from rag.pipeline import _pipeline

    store = _pipeline().retriever.facts
    found = store.select(metric, scope, period, kind)
    return sorted(found, key=lambda f: (period_key(f.period), f.doc, f.start))
