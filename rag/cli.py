"""`gaoxin` command line. JSON output is a contract other tools rely on — keep keys stable.

gaoxin models fetch                     fetch + verify + convert models (no-op when cached)
gaoxin index build [--force]            (re)build the index from seeds/ (+ added docs)
gaoxin index add FILE...                add documents incrementally
gaoxin index status                     is the index fresh?
gaoxin index promote NAME...            make uploaded documents official (rebuilds, reusing vectors)
gaoxin search "问题" -k 5 --json         hybrid search
gaoxin search --batch Q.jsonl --json    one JSON line per {"id","question"}
gaoxin ask "问题" [--json] [--fast] [--backend B] [--batch Q.jsonl]
gaoxin check "说法" --json               fact-check a claim
gaoxin check --batch C.jsonl --json     one verdict line per {"id","claim"}; e5 loads once
gaoxin facts [--metric M] [--scope S] [--period P] [--json|--csv]   the figures the documents state
gaoxin eval FILE.jsonl [--retrieval]    dev-set metrics
gaoxin serve [--host H] [--port P]      the Gradio chat
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

# The commands live in modules of their own (`rag.cli_commands`, `rag.cli_eval`, shared pieces in `rag.cli_io`
# and `rag.batch`); their public names stay importable from here, where scripts and tests import them.
from rag.batch import batch_lines, check_batch
from rag.cli_commands import (
    FACT_FIELDS,
    cmd_ask,
    cmd_check,
    cmd_facts,
    cmd_index,
    cmd_models,
    cmd_search,
    cmd_serve,
)
from rag.cli_eval import cmd_eval, corpus_with, rgb_corpus
from rag.cli_io import CliError, answer_json, hit_json, read_batch
from rag.generation import IndexUnusable


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="gaoxin", description="高新问答 — cited, figure-checked answers from your documents"
    )
    sub = ap.add_subparsers(dest="cmd", required=True)

    m = sub.add_parser("models", help="fetch and verify models")
    m.add_argument("action", choices=["fetch"])
    m.add_argument("--only", help="comma list: e5,qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    m.set_defaults(fn=cmd_models)

    i = sub.add_parser("index", help="build / add / status / promote (an upload to official)")
    i.add_argument("action", choices=["build", "add", "status", "promote"])
    i.add_argument("files", nargs="*")
    i.add_argument("--force", action="store_true", help="rebuild even if fresh")
    i.add_argument("--quiet", action="store_true", help="no progress bar")
    i.set_defaults(fn=cmd_index)

    se = sub.add_parser("search", help="hybrid search")
    se.add_argument("question", nargs="?")
    se.add_argument("-k", type=int, default=5)
    se.add_argument("--json", action="store_true")
    se.add_argument("--batch", help="JSONL file of {id, question}")
    se.set_defaults(fn=cmd_search)

    for name, fn in (("ask", cmd_ask), ("check", cmd_check)):
        a = sub.add_parser(name, help="answer a question" if name == "ask" else "fact-check a claim")
        a.add_argument("claim" if name == "check" else "question", nargs="?")
        a.add_argument("--json", action="store_true")
        a.add_argument("--fast", action="store_true", help="0.5B model")
        a.add_argument("--backend", choices=["llamacpp", "transformers", "openai", "extractive"])
        a.add_argument("--model", help="GGUF path, HF folder/id or served model name")
        a.add_argument("--passages", type=int, help="passages in the prompt")
        a.add_argument("--batch", help="JSONL file of {id, question}" if name == "ask" else "JSONL file of {id, claim}")
        a.set_defaults(fn=fn)

    fa = sub.add_parser("facts", help="the figures the documents state, bound at index time")
    fa.add_argument("--metric", help="metric name, alias or wording (e.g. 地区生产总值, GDP)")
    fa.add_argument("--scope", help="scope id of the domain profile (e.g. zone, city)")
    fa.add_argument("--period", help="period label (e.g. 2024, 2026上半年, a plan period)")
    fa.add_argument("--kind", choices=["actual", "target", "forecast"])
    out = fa.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true")
    fa.set_defaults(fn=cmd_facts)

    e = sub.add_parser("eval", help="dev-set metrics")
    e.add_argument("file")
    e.add_argument("--retrieval", action="store_true", help="retrieval metrics only")
    e.add_argument("--json", action="store_true")
    e.add_argument("-v", "--verbose", action="store_true")
    e.add_argument("--fast", action="store_true")
    e.add_argument("--backend", choices=["llamacpp", "transformers", "openai", "extractive"])
    e.add_argument("--model")
    e.add_argument("--passages", type=int)
    e.add_argument(
        "--docs", nargs="+", help="extra documents (files or folders) indexed with the seeds in a temp index"
    )
    e.add_argument("--today", help="YYYY-MM-DD the questions are asked on (relative years)")
    e.add_argument("--out", help="also write the full metrics, per item, to this JSON file")
    e.add_argument("--rgb", action="store_true", help="FILE is an RGB split: each item's passages are its corpus")
    e.add_argument("--limit", type=int, help="only the first N items")
    e.add_argument("--skip", type=int, default=0, help="with --rgb: leave out the first N items (then --limit)")
    e.add_argument(
        "--prompt-recall",
        action="store_true",
        help="with --rgb: no model; the share of items whose answer survives retrieval and excerpts into the prompt",
    )
    e.set_defaults(fn=cmd_eval)

    sv = sub.add_parser("serve", help="web chat on http://127.0.0.1:7860")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=7860)
    sv.add_argument("--fast", action="store_true")
    sv.set_defaults(fn=cmd_serve)
    return ap


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse gives `files` its (empty) share as soon as an option follows `add`, so in
    # `index add --quiet a.txt b.txt` the files come back unparsed: they are still the files.
    if extra and args.cmd == "index" and not any(x.startswith("-") for x in extra):
        args.files += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.fn(args)
    except CliError as e:
        print(f"gaoxin: error: {e}", file=sys.stderr)
        return 2
    except ValidationError as e:  # a bad GAOXIN_* variable or option value: say which, without a traceback
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}" for err in e.errors())
        print(f"gaoxin: error: invalid setting ({problems}); check the GAOXIN_* environment variables", file=sys.stderr)
        return 2
    except IndexUnusable as e:  # missing, stale or foreign: the message says which command fixes it
        print(f"gaoxin: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


__all__ = [
    "FACT_FIELDS",
    "CliError",
    "answer_json",
    "batch_lines",
    "build_parser",
    "check_batch",
    "cmd_ask",
    "cmd_check",
    "cmd_eval",
    "cmd_facts",
    "cmd_index",
    "cmd_models",
    "cmd_search",
    "cmd_serve",
    "corpus_with",
    "hit_json",
    "main",
    "read_batch",
    "rgb_corpus",
]


if __name__ == "__main__":
    raise SystemExit(main())
