"""The `gaoxin` commands that use the index as it is: models, index, search, ask, check, facts, serve.

Each imports what it needs when it runs, so `gaoxin --help` and a command that loads nothing stay fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from rag.batch import check_batch
from rag.cli_io import (
    CliError,
    answer_json,
    emit,
    hit_json,
    log,
    open_retriever,
    read_batch,
    require_question,
    settings_for,
)
from rag.settings import Settings


def cmd_models(args: argparse.Namespace) -> int:
    from rag.fetch import fetch_models

    which = tuple(args.only.split(",")) if args.only else ("e5", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
    paths = fetch_models(Settings(), which=which, log=log)
    for name, path in paths.items():
        print(f"{name}\t{path}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from rag import index

    s = Settings()
    if args.action == "build":
        index.build(s, force=args.force, progress=not args.quiet, log=log)
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
        added, errors = index.add_documents(s, [Path(f) for f in args.files], progress=not args.quiet, log=log)
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
        index.build(s, force=True, progress=not args.quiet, log=log)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.pipeline import QuestionError, validate

    s = Settings()
    r = open_retriever(s)
    if args.batch:
        for _, item, err in read_batch(args.batch):
            if err:
                emit({"id": None, "error": err})
                continue
            try:
                q, notice = validate(item["question"], s.max_question_chars)
            except QuestionError as e:
                emit({"id": item.get("id"), "error": str(e)})
                continue
            hits = r.search(q, args.k)
            emit({"id": item.get("id"), "hits": [hit_json(h) for h in hits]} | ({"notice": notice} if notice else {}))
        return 0
    q, notice = validate(require_question(args.question, s), s.max_question_chars)
    hits = r.search(q, args.k)
    if args.json:
        emit({"question": q, "hits": [hit_json(h) for h in hits]} | ({"notice": notice} if notice else {}))
    else:
        if notice:
            print(notice)
        for i, h in enumerate(hits, 1):
            c = h.chunk
            print(f"[{i}] {h.score:.3f}  {c.title} › {c.section}  ({c.doc}:{c.start}-{c.end})")
            print("    " + c.text.replace("\n", " ")[:200])
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    s = settings_for(args)
    p = Pipeline(s)
    if args.batch:
        for _, item, err in read_batch(args.batch):
            if err:
                emit({"id": None, "error": err})
                continue
            try:
                a = p.ask(item["question"])
                emit({"id": item.get("id"), **answer_json(a)})
            except ValueError as e:
                emit({"id": item.get("id"), "error": str(e)})
        return 0
    q = require_question(args.question, s)
    if args.json:
        emit(answer_json(p.ask(q)))
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


def cmd_check(args: argparse.Namespace) -> int:
    from rag.pipeline import Pipeline

    s = settings_for(args)
    if args.batch:
        lines = read_batch(args.batch, key="claim")  # a missing file is reported before anything loads
        # Index and e5 load here, once, before the first line: a broken index is one clear error, not one
        # per claim. (Checking needs no LLM: it reads the sources only.)
        p = Pipeline(s, retriever=open_retriever(s))
        for row in check_batch(p.check, lines):
            emit(row)
        return 0
    claim = require_question(args.claim, s)
    res = Pipeline(s).check(claim)
    emit(res) if args.json else print(json.dumps(res, ensure_ascii=False, indent=1))
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

    store = open_retriever(Settings()).facts
    found = sorted(
        store.select(args.metric or "", args.scope or "", args.period or "", args.kind or ""),
        key=lambda f: (period_key(f.period), f.doc, f.start),
    )
    if args.json:
        emit({"n": len(found), "facts": [dataclasses.asdict(f) for f in found]})
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
