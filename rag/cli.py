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
import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rag.settings import Settings
from rag.types import Hit


class CliError(Exception):
    """A user-facing error: printed as one clear line, exit status 2."""


def hit_json(h: Hit) -> dict[str, Any]:
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


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _settings(args: argparse.Namespace) -> Settings:
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


# ------------------------------------------------------------------ commands


def cmd_models(args: argparse.Namespace) -> int:
    from rag.fetch import fetch_models

    which = tuple(args.only.split(",")) if args.only else ("e5", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
    paths = fetch_models(Settings(), which=which, log=_log)
    for name, path in paths.items():
        print(f"{name}\t{path}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from rag import index

    s = Settings()
    if args.action == "build":
        index.build(s, force=args.force, progress=not args.quiet, log=_log)
    elif args.action == "status":
        reasons = index.stale_reasons(s)
        print("fresh" if not reasons else "stale: " + "; ".join(reasons))
        prog = index.read_progress(s)
        if prog is not None and prog.running:
            print(f"索引中：{prog.done} / {prog.total} 段（{'、'.join(prog.docs) or '全部文档'}），现有索引照常回答")
        elif prog is not None:
            print("上次索引被中断：服务启动或 `gaoxin index build` 时继续（已向量化的段落不再重算）")
        pending = index.pending_docs(s)
        if pending:
            print("待索引：" + "、".join(sorted(pending)))
        for e in (index.read_manifest(s) or {}).get("skipped", ()):
            print(f"未能收录：{e.get('file')}：{e.get('error')}")
        return 0 if not reasons else 1
    elif args.action == "add":
        if not args.files:
            raise CliError("index add needs at least one FILE")
        added, errors = index.add_documents(s, [Path(f) for f in args.files], progress=not args.quiet, log=_log)
        docs = (index.read_manifest(s) or {}).get("docs", {})
        for name in added:
            print(f"added\t{name}")
            for f in docs.get(name, {}).get("flagged", []):  # sentences addressing the system: never evidence
                print(f"flagged\t{name}\t{f['text'].strip()}")
        for name, err in errors:
            print(f"rejected\t{name}\t{err}", file=sys.stderr)
        return 0 if not errors else 1
    elif args.action == "promote":
        from rag import trust

        if not args.files:
            raise CliError("index promote needs the NAME of an uploaded document (as `index add` printed it)")
        for name in args.files:
            try:
                print(f"promoted\t{trust.promote(s, name)}")
            except (OSError, ValueError) as e:
                raise CliError(str(e)) from e
        # A new generation retags the document's chunks and facts (vectors reused); the current one answers
        # meanwhile. Forced: a promotion changes no file, so the index would otherwise look up to date.
        index.build(s, force=True, progress=not args.quiet, log=_log)
    return 0


def _retriever(s: Settings):
    from rag.index import IndexUnusable
    from rag.retrieve import Retriever

    r = Retriever(s)
    try:
        r.chunks  # noqa: B018 — load now so a broken index is reported before any work
    except IndexUnusable as e:
        raise CliError(str(e)) from e
    return r


def cmd_search(args: argparse.Namespace) -> int:
    from rag.pipeline import QuestionError, validate

    s = Settings()
    r = _retriever(s)
    if args.batch:
        for _, item, err in read_batch(args.batch):
            if err:
                _emit({"id": None, "error": err})
                continue
            try:
                q, notice = validate(item["question"], s.max_question_chars)
            except QuestionError as e:
                _emit({"id": item.get("id"), "error": str(e)})
                continue
            hits = r.search(q, args.k)
            _emit({"id": item.get("id"), "hits": [hit_json(h) for h in hits]} | ({"notice": notice} if notice else {}))
        return 0
    q, notice = validate(_question(args.question, s), s.max_question_chars)
    hits = r.search(q, args.k)
    if args.json:
        _emit({"question": q, "hits": [hit_json(h) for h in hits]} | ({"notice": notice} if notice else {}))
    else:
        if notice:
            print(notice)
        for i, h in enumerate(hits, 1):
            c = h.chunk
            print(f"[{i}] {h.score:.3f}  {c.title} › {c.section}  ({c.doc}:{c.start}-{c.end})")
            print("    " + c.text.replace("\n", " ")[:200])
    return 0


def _question(q: str | None, s: Settings) -> str:
    """`q` unchanged (the pipeline truncates long ones); empty, blank or control-only is a CliError."""
    from rag.pipeline import QuestionError, validate

    try:
        validate(q, s.max_question_chars)
    except QuestionError as e:
        raise CliError(f"{e} / empty question: pass a question in quotes") from e
    assert isinstance(q, str)  # validate() rejects anything else
    return q


def answer_json(a: Any) -> dict[str, Any]:
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


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    s = _settings(args)
    p = Pipeline(s)
    if args.batch:
        for _, item, err in read_batch(args.batch):
            if err:
                _emit({"id": None, "error": err})
                continue
            try:
                a = p.ask(item["question"])
                _emit({"id": item.get("id"), **answer_json(a)})
            except ValueError as e:
                _emit({"id": item.get("id"), "error": str(e)})
        return 0
    q = _question(args.question, s)
    if args.json:
        _emit(answer_json(p.ask(q)))
        return 0
    final, printed = None, ""
    for event in p.stream(q):
        # Only verified text is printed; a terminal cannot take text back, so a snapshot that does not
        # extend what is printed waits for the final answer.
        text = event.answer.answer if event.kind == "final" and event.answer else event.text
        if event.kind in ("verified", "final") and text.startswith(printed):
            sys.stdout.write(text[len(printed) :])
            sys.stdout.flush()
            printed = text
        if event.kind == "final":
            final = event.answer
    if final is not None:
        if printed != final.answer:
            sys.stdout.write("\n\n核对后的回答：\n" + final.answer)
        sys.stdout.write("\n\n")
        if final.notice:
            print(final.notice)
        if final.unsupported_numbers:
            print("⚠ 未获来源支持的数字已移除: " + "、".join(final.unsupported_numbers))
        print("来源:" if final.citations else "相关段落:")
        if final.citations:
            for c in final.citations:
                print(f"[{c.n}] {c.title} › {c.section} ({c.doc}:{c.start}-{c.end})\n    {c.text}")
        else:
            for i, h in enumerate(final.hits[:3], 1):
                print(f"[{i}] {h.chunk.title} ({h.chunk.doc})\n    {h.chunk.text[:160]}")
    return 0


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
            _log(f"check failed on line {no}: {type(e).__name__}: {e}")
            yield {"id": item.get("id"), "line": no, "error": f"{type(e).__name__}: {e}"}
            continue
        yield {"id": item.get("id"), "line": no, **res}


def cmd_check(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    s = _settings(args)
    if args.batch:
        lines = read_batch(args.batch, key="claim")  # a missing file is reported before anything loads
        # Index and e5 load here, once, before the first line: a broken index is one clear error, not one
        # per claim. (Checking needs no LLM: it reads the sources only.)
        p = Pipeline(s, retriever=_retriever(s))
        for row in check_batch(p.check, lines):
            _emit(row)
        return 0
    claim = _question(args.claim, s)
    res = Pipeline(s).check(claim)
    _emit(res) if args.json else print(json.dumps(res, ensure_ascii=False, indent=1))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"eval file not found: {args.file}")
    s = _settings(args)
    if args.today:
        s = Settings(**(s.model_dump() | {"today": args.today}))
    if args.rgb:
        return _run_rgb(args, s)
    items = [obj for _, obj, err in read_batch(args.file) if obj is not None]
    with contextlib.ExitStack() as stack:
        if args.docs:
            s = _corpus_with(s, [Path(d) for d in args.docs], stack)
        return _run_eval(args, items, s)


def _corpus_with(s: Settings, extra: list[Path], stack: contextlib.ExitStack) -> Settings:
    """Settings for a throwaway corpus: the seeds plus `extra` documents (files or folders), indexed in a
    temporary folder by the project's own indexer, so a probe never touches the user's index."""
    import shutil
    import tempfile

    from rag import index as index_mod

    files = [p for d in extra for p in (sorted(d.iterdir()) if d.is_dir() else [d]) if p.is_file()]
    missing = [str(d) for d in extra if not d.exists()]
    if missing:
        raise CliError(f"--docs not found: {', '.join(missing)}")
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gaoxin-eval-")))
    corpus = tmp / "corpus"
    corpus.mkdir()
    for p in [*index_mod.source_files(s), *files]:
        shutil.copy2(p, corpus / p.name)
    s = Settings(**(s.model_dump() | {"seeds_dir": corpus, "index_dir": tmp / "index", "data_dir": tmp / "data"}))
    index_mod.build(s, progress=False, log=lambda line: print(line, file=sys.stderr))
    return s


@contextlib.contextmanager
def rgb_corpus(item: dict[str, Any], s: Settings, embedder: Any) -> Iterator[Settings]:
    """An RGB item's passages as the documents (p1.txt…) of a fresh corpus in a temporary folder, indexed by
    the project's own indexer with `embedder`; yields the settings that answer from it."""
    import tempfile

    from rag import index as index_mod

    with tempfile.TemporaryDirectory(prefix="gaoxin-rgb-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for k, text in enumerate(item["passages"], 1):
            (corpus / f"p{k}.txt").write_text(text, encoding="utf-8")
        st = Settings(
            **(s.model_dump() | {"seeds_dir": corpus, "index_dir": Path(tmp) / "i", "data_dir": Path(tmp) / "d"})
        )
        index_mod.build(st, embedder, progress=False, log=lambda _: None)
        yield st


def _run_rgb(args: argparse.Namespace, s: Settings) -> int:
    """Each RGB item's passages become the documents of a fresh corpus, indexed by the project's own indexer;
    the question goes through the normal answer path. The embedder and the LLM load once for all items."""
    from rag.evaluate import rgb_metrics
    from rag.pipeline import Pipeline
    from rag.retrieve import Retriever

    items = [json.loads(line) for line in Path(args.file).read_text(encoding="utf-8").splitlines() if line.strip()]
    items = items[args.skip :]
    items = items[: args.limit] if args.limit else items
    shared = Pipeline(s)
    embedder, generator = None, None
    if args.prompt_recall:
        from rag.generate import ScriptedGenerator
        from rag.prompt import REFUSAL

        # No model: a stand-in that keeps each prompt and declines, so what reaches the model is measured alone.
        generator = ScriptedGenerator(REFUSAL)

    def answer(it: dict[str, Any]) -> Any:
        nonlocal embedder, generator
        if embedder is None:
            from rag.embed import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder(s)
        with rgb_corpus(it, s, embedder) as st:
            generator = generator or shared.generator
            return Pipeline(st, Retriever(st, embedder=embedder), generator=generator).ask(it["question"])

    if args.prompt_recall:
        from rag.evaluate import prompt_recall

        m = prompt_recall(items, answer, generator.calls)
        _emit({k: v for k, v in m.items() if k != "rows"})
        return 0
    m = rgb_metrics(items, answer, log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.out:
        Path(args.out).write_text(json.dumps(m, ensure_ascii=False, indent=1), encoding="utf-8")
    _emit({k: v for k, v in m.items() if k != "rows"})
    return 0


def _run_eval(args: argparse.Namespace, items: list[dict[str, Any]], s: Settings) -> int:
    from rag.evaluate import retrieval_metrics

    if args.retrieval:
        r = _retriever(s)
        m = retrieval_metrics(items, lambda q, k: r.search(q, k), k=10)
        if args.json:
            _emit(m)
        else:
            print(f"retrieval over {m['n']} answerable items")
            for key in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr"):
                print(f"  {key:10s} {m[key]:.3f}")
            if args.verbose:
                for miss in m["misses"]:
                    print(f"  rank {miss['rank']}: {miss['id']} {miss['question']}")
        return 0
    from rag.evaluate import answer_metrics, format_answer_report
    from rag.pipeline import Pipeline

    # Progress goes to stderr, so `--json` output stays one clean document on stdout.
    m = answer_metrics(items, Pipeline(s), log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.out:
        Path(args.out).write_text(json.dumps(m, ensure_ascii=False, indent=1), encoding="utf-8")
    _emit(m) if args.json else print(format_answer_report(m))
    return 0


FACT_FIELDS = (
    "period",
    "metric_id",
    "metric",
    "scope",
    "kind",
    "raw",
    "value",
    "unit",
    "doc",
    "start",
    "end",
    "sentence",
)


def cmd_facts(args: argparse.Namespace) -> int:
    import csv

    from rag.facts import period_key

    store = _retriever(Settings()).facts
    found = sorted(
        store.select(args.metric or "", args.scope or "", args.period or "", args.kind or ""),
        key=lambda f: (period_key(f.period), f.doc, f.start),
    )
    if args.json:
        _emit({"n": len(found), "facts": [dataclasses.asdict(f) for f in found]})
    elif args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(FACT_FIELDS)
        for f in found:
            w.writerow([getattr(f, k) for k in FACT_FIELDS])
    else:
        for f in found:
            print(f"{f.period or '-':10s} {f.scope:8s} {f.kind:8s} {f.raw:14s} {f.metric_id or f.metric}  ({f.doc})")
        print(f"{len(found)} facts")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import serve

    s = Settings(host=args.host, port=args.port, fast=args.fast)
    serve(s)
    return 0


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
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
