"""What every `gaoxin` command shares: the user-facing error, batch files, the JSON printed, and the
settings, retriever and question built from the options. JSON output is a contract other tools rely on —
keep keys stable.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.batch import batch_lines
from rag.settings import Settings
from rag.types import Hit

if TYPE_CHECKING:
    from rag.retrieve import Retriever


class CliError(Exception):
    """A user-facing error: printed as one clear line, exit status 2."""


def hit_json(h: Hit) -> dict[str, Any]:
    """A retrieved passage as the CLI prints it."""
    c = h.chunk
    return {
        "doc": c.doc,
        "title": c.title,
        "section": c.section,
        "text": c.text,
        "start": c.start,
        "end": c.end,
        "score": round(h.score, 4),
        "chunk_id": c.id,
        "periods": list(c.periods),
        "scope": c.scope,
        "tier": c.tier,
    }


def read_batch(path: str, key: str = "question") -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, item or None, error or None); a malformed line never stops the batch."""
    p = Path(path)
    if not p.is_file():
        raise CliError(f"batch file not found: {path}")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise CliError(f"cannot read batch file {path}: {e}") from e
    return batch_lines(data, key)


def log(msg: str) -> None:
    """Progress and diagnostics go to stderr, so stdout stays the command's output (often JSON)."""
    print(msg, file=sys.stderr)


def emit(obj: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed: a batch's reader sees each row as soon as it is done."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def settings_for(args: argparse.Namespace) -> Settings:
    """Settings with the model options of `ask`, `check` and `eval` (`--fast`, `--backend`, …) applied."""
    over: dict[str, Any] = {}
    if getattr(args, "fast", False):
        over["fast"] = True
    if getattr(args, "backend", None):
        over["llm_backend"] = args.backend
    if getattr(args, "model", None):
        over["llm_model"] = args.model
    if getattr(args, "passages", None):
        over["context_passages"] = args.passages
    return Settings(**over)


def open_retriever(s: Settings) -> Retriever:
    """The retriever over the current index, loaded now: a broken index is one `CliError`, before any work."""
    from rag.index import IndexUnusable
    from rag.retrieve import Retriever

    r = Retriever(s)
    try:
        r.chunks  # noqa: B018 — load now so a broken index is reported before any work
    except IndexUnusable as e:
        raise CliError(str(e)) from e
    return r


def require_question(q: str | None, s: Settings) -> str:
    """`q` unchanged (the pipeline truncates long ones); empty, blank or control-only is a CliError."""
    from rag.pipeline import QuestionError, validate

    try:
        validate(q, s.max_question_chars)
    except QuestionError as e:
        raise CliError(f"{e} / empty question: pass a question in quotes") from e
    assert isinstance(q, str)  # validate() rejects anything else
    return q


def answer_json(a: Any) -> dict[str, Any]:
    """An `Answer` as `gaoxin ask --json` prints it."""
    from rag.trust import tier_for

    d = {
        "question": a.question,
        "answer": a.answer,
        "refused": a.refused,
        "citations": [
            {k: v for k, v in dataclasses.asdict(c).items() if k != "chunk_id"}
            | {"chunk_id": c.chunk_id, "tier": tier_for(c.doc, a.hits)}  # official / uploaded (rag.trust)
            for c in a.citations
        ],
        "hits": [hit_json(h) for h in a.hits],
        "unsupported_numbers": list(a.unsupported_numbers),
        "timings": dataclasses.asdict(a.timings),
    }
    if a.notice:
        d["notice"] = a.notice
    if getattr(a, "series", ()):
        d["series"] = [dataclasses.asdict(f) for f in a.series]  # a trend answer's points, each with its source
    return d
