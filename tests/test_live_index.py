"""Index while serving: a new generation is built in the background while the current one answers.

In-process (a deterministic stand-in embedder, seconds): unreadable files are skipped with a Chinese reason
and never make the index stale; staged documents never fail a question; only new text is embedded; an
interrupted build resumes from its partial vectors; the background indexer switches and notices another
writer's generation.

Live (the real `gaoxin serve` in a subprocess with the extractive backend, driven by gradio_client): while a
~1 MB document is being indexed — uploaded through the UI's upload handler, or added by `gaoxin index add`
in another process — five concurrent `/ask` calls all answer with the seeds' figure; after a kill -9 of the
indexer mid-index and a restart, the chat answers at once and the build resumes in the background.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag import index
from rag.settings import ROOT, Settings

SEEDS = ROOT / "seeds"
QUESTION = "2024年昆山高新区地区生产总值是多少？"
FIGURE = "1135.1"  # what the seeds state (001_…: 2024年，昆山高新区实现地区生产总值1135.1亿元)
TINY_Q = "青柳测试园2025年接待游客多少万人次？"
TINY_DOC = "# 青柳测试园简介\n\n2025年，青柳测试园接待游客8.8万人次，同比增长12%。\n"
STARTUP_S = 180


# ---------------------------------------------------------------- helpers


def big_document(path: Path, n_bytes: int = 1_000_000, seed: int = 1, place: str = "青柳测试园") -> Path:
    """~`n_bytes` of varied Chinese text in sections about a fictional place (`bench_index.synthetic_document`,
    the document the benchmark times): every chunk different, no figure the seeds' questions could pick up."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_index import synthetic_document

    return synthetic_document(path, n_bytes, seed, place)


class FakeEmbedder:
    """Unit vectors from each text's hash (same text, same vector); counts what it embeds; can fail mid-way."""

    def __init__(self, fail_after_batches: int | None = None) -> None:
        self.texts: list[str] = []
        self.batches = 0
        self.fail_after = fail_after_batches

    def embed(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise RuntimeError("embedder stopped (simulated crash)")
        self.batches += 1
        self.texts += list(texts)
        rows = []
        for t in texts:
            rng = np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:12], 16))
            v = rng.standard_normal(384).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def _small(tmp_path: Path, n_docs: int = 2) -> Settings:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for p in sorted(SEEDS.glob("*.txt"), key=lambda p: p.stat().st_size)[:n_docs]:
        shutil.copy(p, seeds / p.name)
    return Settings(seeds_dir=seeds, index_dir=tmp_path / "index", data_dir=tmp_path / "data", embed_batch_size=8)


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- in-process


def test_unreadable_file_is_skipped_with_chinese_reason_and_never_makes_the_index_stale(tmp_path):
    from ui.app import ChatService

    s = _small(tmp_path)
    (s.seeds_dir / "坏文件.txt").write_bytes(b"\x00\x01\x02\x03" * 64)
    manifest = index.build(s, FakeEmbedder(), progress=False, log=_quiet)
    [skipped] = manifest["skipped"]
    assert skipped["file"] == "坏文件.txt" and skipped["sha256"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in skipped["error"]) and str(tmp_path) not in skipped["error"]
    assert index.stale_reasons(s) == []  # the same unreadable file is known, not "new"
    assert len(index.load(s).chunks) == manifest["n_chunks"] > 0
    env = dict(os.environ, GAOXIN_SEEDS_DIR=str(s.seeds_dir), GAOXIN_INDEX_DIR=str(s.index_dir),
               GAOXIN_DATA_DIR=str(s.data_dir))  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "index", "status"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("fresh"), out.stdout + out.stderr
    assert f"未能收录：坏文件.txt：{skipped['error']}" in out.stdout
    panel = ChatService(s).index_panel()
    assert "坏文件.txt" in panel and skipped["error"] in panel
    # and a changed unreadable file is a change like any other
    (s.seeds_dir / "坏文件.txt").write_bytes(b"\x00" * 10)
    assert index.stale_reasons(s) == ["document changed: 坏文件.txt"]


def test_add_embeds_only_new_text_and_a_staged_document_never_fails_a_question(tmp_path):
    s = _small(tmp_path)
    index.build(s, FakeEmbedder(), progress=False, log=_quiet)
    before = index.load(s)
    new = tmp_path / "青柳.md"
    new.write_text(TINY_DOC, encoding="utf-8")
    added, errors = index.stage_documents(s, [new])
    assert added == ["青柳.md"] and errors == []
    # Copied but not yet built: the index is behind, and still answers.
    assert index.stale_reasons(s) == ["new document 青柳.md"]
    assert index.pending_docs(s) == {"青柳.md": hashlib.sha256(new.read_bytes()).hexdigest()}
    assert [c.id for c in index.load(s).chunks] == [c.id for c in before.chunks]
    emb = FakeEmbedder()
    index.build(s, emb, progress=False, log=_quiet)
    after = index.load(s)
    new_chunks = [c for c in after.chunks if c.doc == "青柳.md"]
    assert new_chunks and len(emb.texts) == len({index.embed_text(c) for c in new_chunks})
    assert index.pending_docs(s) == {} and index.stale_reasons(s) == []
    old = {c.id: before.vectors[i] for i, c in enumerate(before.chunks)}
    assert all((after.vectors[i] == old[c.id]).all() for i, c in enumerate(after.chunks) if c.doc != "青柳.md")
    # A changed document: its unchanged chunks keep their vectors (keyed by text hash), only new text is embedded.
    doc = sorted(s.seeds_dir.iterdir())[0]
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\n附：青柳测试园另行统计的补充说明一段。\n", encoding="utf-8")
    emb = FakeEmbedder()
    index.build(s, emb, progress=False, log=_quiet)
    n_doc = sum(c.doc == doc.name for c in index.load(s).chunks)
    assert 0 < len(emb.texts) < n_doc


def test_interrupted_build_resumes_from_its_partial_vectors(tmp_path):
    s = _small(tmp_path)
    index.build(s, FakeEmbedder(), progress=False, log=_quiet)
    gen = index.current_generation(s)
    big = big_document(tmp_path / "big.md", 40_000)
    index.stage_documents(s, [big])
    crash = FakeEmbedder(fail_after_batches=5)
    with pytest.raises(RuntimeError, match="simulated crash"):
        index.build(s, crash, progress=False, log=_quiet)
    assert index.current_generation(s) == gen and len(index.load(s).chunks) > 0  # still answering
    assert list((s.index_dir / "partial").rglob("*.npz"))
    logs: list[str] = []
    rest = FakeEmbedder()
    index.build(s, rest, progress=False, log=logs.append)
    n_big = sum(c.doc == "big.md" for c in index.load(s).chunks)
    assert len(crash.texts) == 5 * s.embed_batch_size
    assert len(rest.texts) == n_big - len(crash.texts), (len(rest.texts), n_big)
    assert any("resumed" in m for m in logs)
    assert not (s.index_dir / "partial").exists() and not (s.index_dir / "PROGRESS.json").exists()


def test_background_indexer_switches_and_notices_another_writer(tmp_path):
    s = _small(tmp_path)
    index.build(s, FakeEmbedder(), progress=False, log=_quiet)
    seen: list[str] = []
    idx = index.BackgroundIndexer(s, on_switch=seen.append, embedder=FakeEmbedder, log=_quiet)
    idx.watch(0.05)
    try:
        new = tmp_path / "青柳.md"
        new.write_text(TINY_DOC, encoding="utf-8")
        index.stage_documents(s, [new])
        idx.request()
        assert idx.wait(60)
        idx.check_switch()
        assert seen == [index.current_generation(s)]
        assert "青柳.md" in index.read_manifest(s)["docs"]
        # Another writer (here: a direct build, as `gaoxin index add` in another process does) is noticed too.
        other = tmp_path / "其他.md"
        other.write_text("# 其他\n\n2025年，某园区新增绿地3公顷。\n", encoding="utf-8")
        index.add_documents(s, [other], embedder=FakeEmbedder(), progress=False, log=_quiet)
        deadline = time.time() + 10
        while len(seen) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert seen[-1] == index.current_generation(s) and len(seen) == 2
    finally:
        idx.stop()


# ---------------------------------------------------------------- live server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python -m rag.cli serve` (extractive) on a free loopback port over the given index and data dirs."""

    def __init__(self, s: Settings, log_path: Path) -> None:
        self.s, self.log_path = s, log_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = _env(s)
        env.update(GAOXIN_LLM_BACKEND="extractive", GRADIO_ANALYTICS_ENABLED="False", NO_PROXY="127.0.0.1,localhost")
        env.pop("GAOXIN_USER", None)
        env.pop("GAOXIN_PASSWORD", None)
        self._log = log_path.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.t_start = time.time()

    def wait_up(self) -> None:
        deadline = time.time() + STARTUP_S
        while True:
            assert self.proc.poll() is None, f"server exited:\n{self.log()[-3000:]}"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return
            assert time.time() < deadline, f"server not up after {STARTUP_S}s:\n{self.log()[-3000:]}"
            time.sleep(0.3)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._log.close()


def _env(s: Settings) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        GAOXIN_SEEDS_DIR=str(s.seeds_dir),
        GAOXIN_INDEX_DIR=str(s.index_dir),
        GAOXIN_DATA_DIR=str(s.data_dir),
    )


def _ask(url: str, question: str = QUESTION) -> str:
    from gradio_client import Client

    answer, _sources = Client(url, verbose=False).predict(question, api_name="/ask")
    return answer


def _five_concurrent_asks(s: Settings, url: str, gen0: str) -> list[tuple[str, bool]]:
    """Five `/ask` calls at once; each answer with whether the old generation was still live when it came."""

    def one(_: int) -> tuple[str, bool]:
        a = _ask(url)
        return a, index.current_generation(s) == gen0

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        out = list(pool.map(one, range(5)))
    print(f"\n5 concurrent /ask while indexing: all answered in {time.time() - t0:.1f} s")
    return out


def _wait_embedding(s: Settings, proc: subprocess.Popen, timeout: float = 240) -> index.BuildProgress:
    """Until a build is embedding and has checkpointed partial vectors (so a kill -9 leaves something to resume)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        prog = index.read_progress(s)
        shards = list((s.index_dir / "partial").rglob("*.npz")) if (s.index_dir / "partial").is_dir() else []
        if prog and prog.running and prog.state == "embedding" and prog.done > 0 and shards:
            return prog
        assert proc.poll() is None, "the indexer exited before it was killed"
        time.sleep(0.2)
    pytest.fail("the build never started embedding")


def _assert_answers(answers: Sequence[tuple[str, bool]]) -> None:
    for a, _ in answers:
        assert FIGURE in a and "无法回答" not in a and "出错" not in a, a
    assert answers[0][1], "the indexing had finished before the first answer: nothing was shown"


@pytest.fixture(scope="module")
def fresh_index(tmp_path_factory) -> Path:
    """A copy of the checkout's index, brought up to date (vectors reused): never the checkout's own."""
    main = Settings()
    if not (main.index_dir / "CURRENT").is_file():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    base = tmp_path_factory.mktemp("live-base")
    gen = main.index_dir / (main.index_dir / "CURRENT").read_text().strip()
    (base / "index").mkdir()
    shutil.copytree(gen, base / "index" / gen.name)
    (base / "index" / "CURRENT").write_text(gen.name)
    index.build(Settings(index_dir=base / "index", data_dir=base / "data"), progress=False, log=_quiet)
    return base / "index"


def _sandbox(fresh_index: Path, tmp_path: Path) -> Settings:
    shutil.copytree(fresh_index, tmp_path / "index")
    return Settings(index_dir=tmp_path / "index", data_dir=tmp_path / "data")


def _restart_and_ask(s: Settings, tmp_path: Path, name: str) -> tuple[Server, float, str]:
    srv = Server(s, tmp_path / f"{name}.log")
    srv.wait_up()
    t0 = time.time()
    answer = _ask(srv.url)
    return srv, time.time() - t0, answer


def test_live_upload_keeps_answering_while_indexing_and_after_kill_9(fresh_index, tmp_path):
    from gradio_client import Client, handle_file

    s = _sandbox(fresh_index, tmp_path)
    big = big_document(tmp_path / "上传大文档.md", seed=2)
    srv = Server(s, tmp_path / "s1.log")
    servers = [srv]
    try:
        srv.wait_up()
        assert FIGURE in _ask(srv.url)  # the embedder is loaded (and lent to the indexer)
        gen0 = index.current_generation(s)
        status, _table = Client(srv.url, verbose=False).predict([handle_file(str(big))], api_name="/upload")
        assert "上传大文档.md" in status and "后台" in status, status
        prog = _wait_embedding(s, srv.proc)
        assert prog.docs == ("上传大文档.md",) and prog.total > 1000
        _assert_answers(_five_concurrent_asks(s, srv.url, gen0))
        prog = index.read_progress(s)
        assert prog is not None and prog.running and prog.done < prog.total  # still indexing: kill it now
        srv.kill9()
        assert index.current_generation(s) == gen0 and "上传大文档.md" in index.pending_docs(s)

        srv, secs, answer = _restart_and_ask(s, tmp_path, "s2")
        servers.append(srv)
        assert FIGURE in answer and "无法回答" not in answer, answer
        assert secs < 60, f"first answer after restart took {secs:.0f} s"
        # The interrupted build goes on in the background, from the vectors it had checkpointed.
        deadline = time.time() + 60
        while "resumed from an interrupted build" not in srv.log() and time.time() < deadline:
            time.sleep(0.5)
        assert "resumed from an interrupted build" in srv.log(), srv.log()[-2000:]
        print(f"\nupload path: first answer {secs:.1f} s after restart; progress at kill {prog.done}/{prog.total}")
    finally:
        for x in servers:
            x.kill9()


def test_live_index_add_from_another_process_keeps_answering_and_survives_kill_9(fresh_index, tmp_path):
    s = _sandbox(fresh_index, tmp_path)
    env = _env(s)
    srv = Server(s, tmp_path / "s1.log")
    servers = [srv]
    proc = None
    try:
        srv.wait_up()
        assert FIGURE in _ask(srv.url)
        # A generation another process builds is noticed and answered from, without a restart.
        tiny = tmp_path / "青柳.md"
        tiny.write_text(TINY_DOC, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "rag.cli", "index", "add", str(tiny), "--quiet"], cwd=ROOT, env=env,
                       check=True, capture_output=True)  # fmt: skip
        deadline = time.time() + 30
        while "8.8" not in (a := _ask(srv.url, TINY_Q)) and time.time() < deadline:
            time.sleep(1)
        assert "8.8" in a, a

        gen0 = index.current_generation(s)
        big = big_document(tmp_path / "命令行大文档.md", seed=3)
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "index", "add", str(big), "--quiet"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        prog = _wait_embedding(s, proc)
        assert prog.docs == ("命令行大文档.md",)
        _assert_answers(_five_concurrent_asks(s, srv.url, gen0))
        prog = index.read_progress(s)
        assert prog is not None and prog.running and prog.done < prog.total
        proc.send_signal(signal.SIGKILL)  # the indexer, mid-index
        proc.wait()
        # What the killed build leaves: a progress file no live builder owns, its document journalled as pending.
        prog_after = index.read_progress(s)
        assert prog_after is not None and not prog_after.running and "命令行大文档.md" in index.pending_docs(s)
        from ui.app import ChatService

        assert "上次索引未完成" in ChatService(s).index_panel()
        out = subprocess.run([sys.executable, "-m", "rag.cli", "index", "status"], cwd=ROOT, env=env,
                             capture_output=True, text=True)  # fmt: skip
        assert "上次索引被中断" in out.stdout and "待索引：命令行大文档.md" in out.stdout, out.stdout
        assert FIGURE in _ask(srv.url)  # the server never noticed anything amiss
        srv.stop()

        srv, secs, answer = _restart_and_ask(s, tmp_path, "s2")
        servers.append(srv)
        assert FIGURE in answer and "无法回答" not in answer, answer
        assert secs < 60, f"first answer after restart took {secs:.0f} s"
        assert "8.8" in _ask(srv.url, TINY_Q)
        print(f"\nindex-add path: first answer {secs:.1f} s after restart; progress at kill {prog.done}/{prog.total}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for x in servers:
            x.kill9()
