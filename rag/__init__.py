"""gaoxin (高新问答): local, cited, figure-checked answers about 昆山高新区.

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
