"""JSONL batches: one item a line, a bad line an error of its own, never the end of the batch.

Shared by the CLI (`gaoxin search/ask/check --batch`) and the web API's `/check_batch`, so both take the
same input and give the same rows; kept out of `rag.cli` so the UI need not import the CLI (which imports
the UI to serve it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def batch_lines(data: bytes, key: str = "question") -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """`read_batch` on bytes already read (an uploaded JSONL text): each item must have a string `key`.

    >>> [(n, err) for n, _, err in batch_lines(b'{"id": 1, "claim": "x"}\\nnope\\n{"id": 3}', key="claim")]
    [(1, None), (2, 'line 2: invalid JSON (Expecting value)'), (3, "line 3: expected an object with a string 'claim'")]
    """
    # Lines are split on b"\n" and decoded one by one: one non-UTF-8 line is that line's error, not the
    # whole batch's, and a U+2028 inside a JSON string (legal JSON) does not split its line.
    for no, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8-sig" if no == 1 else "utf-8")
        except UnicodeDecodeError as e:
            yield no, None, f"line {no}: not UTF-8 (byte {e.start}: {e.reason})"
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield no, None, f"line {no}: invalid JSON ({e.msg})"
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get(key), str):
            yield no, None, f"line {no}: expected an object with a string '{key}'"
            continue
        yield no, obj, None


def check_batch(
    check: Callable[[str], dict[str, Any]], lines: Iterable[tuple[int, dict[str, Any] | None, str | None]]
) -> Iterator[dict[str, Any]]:
    """One verdict per `{"id", "claim"}` line (`batch_lines(..., key="claim")`), in input order; a bad line or
    a claim that fails gives `{"id", "line", "error"}` and the batch goes on. Shared by the CLI and `/check_batch`.

    >>> lines = batch_lines(b'{"id": "a", "claim": "x"}\\n{"id": "b", "claim": " "}\\n[1]', key="claim")
    >>> def check(claim):
    ...     if not claim.strip():
    ...         raise ValueError("问题为空")
    ...     return {"claim": claim, "verdict": "not_found", "statements": []}
    >>> [(r["id"], r["line"], r.get("verdict") or r["error"]) for r in check_batch(check, lines)]
    [('a', 1, 'not_found'), ('b', 2, '问题为空'), (None, 3, "line 3: expected an object with a string 'claim'")]
    """
    for no, item, err in lines:
        if item is None:
            yield {"id": None, "line": no, "error": err}
            continue
        try:
            res = check(item["claim"])
        except ValueError as e:  # QuestionError (empty claim): its message is already user-facing
            yield {"id": item.get("id"), "line": no, "error": str(e)}
            continue
        except Exception as e:  # noqa: BLE001 — one claim that breaks the checker must not cost the others
            print(f"check failed on line {no}: {type(e).__name__}: {e}", file=sys.stderr)
            yield {"id": item.get("id"), "line": no, "error": f"{type(e).__name__}: {e}"}
            continue
        yield {"id": item.get("id"), "line": no, **res}
