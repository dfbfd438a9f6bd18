"""`gaoxin eval`: dev-set metrics over the real index, over the seeds plus extra documents (`--docs`), or
over RGB items, each answered from its own passages (`--rgb`). The throwaway corpora are indexed by the
project's own indexer in temporary folders, so an evaluation never touches the user's index.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.cli_io import CliError, emit, open_retriever, read_batch, settings_for
from rag.settings import Settings


def cmd_eval(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"eval file not found: {args.file}")
    s = settings_for(args)
    if args.today:
        s = Settings(**(s.model_dump() | {"today": args.today}))
    if args.rgb:
        return _run_rgb(args, s)
    items = [obj for _, obj, err in read_batch(args.file) if obj is not None]
    with contextlib.ExitStack() as stack:
        if args.docs:
            s = corpus_with(s, [Path(d) for d in args.docs], stack)
        return _run_eval(args, items, s)


def corpus_with(s: Settings, extra: list[Path], stack: contextlib.ExitStack) -> Settings:
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
        emit({k: v for k, v in m.items() if k != "rows"})
        return 0
    m = rgb_metrics(items, answer, log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.out:
        Path(args.out).write_text(json.dumps(m, ensure_ascii=False, indent=1), encoding="utf-8")
    emit({k: v for k, v in m.items() if k != "rows"})
    return 0


def _run_eval(args: argparse.Namespace, items: list[dict[str, Any]], s: Settings) -> int:
    from rag.evaluate import retrieval_metrics

    if args.retrieval:
        r = open_retriever(s)
        m = retrieval_metrics(items, lambda q, k: r.search(q, k), k=10)
        if args.json:
            emit(m)
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
    emit(m) if args.json else print(format_answer_report(m))
    return 0
