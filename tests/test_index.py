"""Index build/load: manifest staleness, incremental reuse, atomic generations, integrity checks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import index
from rag.fetch import sha256_file
from rag.settings import ROOT, Settings

SEEDS = ROOT / "seeds"


def _small_settings(tmp_path: Path, n_docs: int = 2) -> Settings:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    # The two shortest real seeds keep embedding time to seconds.
    for p in sorted(SEEDS.glob("*.txt"), key=lambda p: p.stat().st_size)[:n_docs]:
        shutil.copy(p, seeds / p.name)
    return Settings(seeds_dir=seeds, index_dir=tmp_path / "index", data_dir=tmp_path / "data")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    s = _small_settings(tmp_path_factory.mktemp("idx"))
    manifest = index.build(s, progress=False, log=lambda m: None)
    return s, manifest


def test_build_writes_manifest_and_parts(built):
    s, manifest = built
    assert manifest["n_chunks"] > 5
    assert set(manifest["files"]) == set(index.FILES)
    assert manifest["model"]["id"] == s.embed_model and len(manifest["model"]["hash"]) == 64
    assert {d["sha256"] for d in manifest["docs"].values()} == {sha256_file(p) for p in index.source_files(s)}
    data = index.load(s)
    assert len(data.chunks) == data.faiss_index.ntotal == len(data.vectors) == manifest["n_chunks"]
    # vectors are L2-normalised so inner product is cosine
    norms = (data.vectors**2).sum(1) ** 0.5
    assert abs(float(norms.min()) - 1) < 1e-3 and abs(float(norms.max()) - 1) < 1e-3
    assert not list(s.index_dir.glob("*.pkl")) and not list(s.index_dir.rglob("*.pickle"))


def test_rebuild_is_noop_when_fresh(built):
    s, manifest = built
    logs: list[str] = []
    again = index.build(s, progress=False, log=logs.append)
    assert again["created"] == manifest["created"]
    assert any("up to date" in m for m in logs)


def test_changed_seed_makes_index_stale_and_incremental_rebuild_reuses_vectors(tmp_path):
    s = _small_settings(tmp_path)
    index.build(s, progress=False, log=lambda m: None)
    before = index.load(s)
    target = sorted(s.seeds_dir.iterdir())[0]
    target.write_text(target.read_text(encoding="utf-8") + "\n新增段落：测试用的附加句子。\n", encoding="utf-8")
    reasons = index.stale_reasons(s)
    assert reasons == [f"document changed: {target.name}"]
    with pytest.raises(index.IndexUnusable, match="stale"):
        index.load(s)
    logs: list[str] = []
    index.build(s, progress=False, log=logs.append)
    after = index.load(s)
    # only the changed document was embedded again
    other = [c for c in after.chunks if c.doc != target.name]
    assert other and any("from 1 document" in m for m in logs)
    old_vecs = {c.id: before.vectors[i] for i, c in enumerate(before.chunks)}
    for i, c in enumerate(after.chunks):
        if c.doc != target.name:
            assert (old_vecs[c.id] == after.vectors[i]).all()


def test_foreign_model_is_refused(built, tmp_path):
    s, _ = built
    copy = tmp_path / "index"
    shutil.copytree(s.index_dir, copy)
    s2 = Settings(seeds_dir=s.seeds_dir, index_dir=copy, data_dir=s.data_dir)
    gen = copy / (copy / "CURRENT").read_text().strip()
    m = json.loads((gen / "manifest.json").read_text())
    m["model"] = {"id": "bge-small-zh", "hash": "0" * 64}
    (gen / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(index.IndexUnusable, match="another embedding model"):
        index.load(s2)


def test_corrupt_file_is_detected(built, tmp_path):
    s, _ = built
    copy = tmp_path / "index"
    shutil.copytree(s.index_dir, copy)
    s2 = Settings(seeds_dir=s.seeds_dir, index_dir=copy, data_dir=s.data_dir)
    gen = copy / (copy / "CURRENT").read_text().strip()
    data = (gen / "vectors.npy").read_bytes()
    (gen / "vectors.npy").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(index.IndexUnusable, match="corrupt or truncated.*index build --force"):
        index.load(s2)


def test_missing_index_message(tmp_path):
    s = Settings(seeds_dir=SEEDS, index_dir=tmp_path / "none", data_dir=tmp_path / "d")
    with pytest.raises(index.IndexUnusable, match="gaoxin index build"):
        index.load(s)


def test_kill_9_during_build_leaves_previous_index_usable(tmp_path):
    s = _small_settings(tmp_path, n_docs=3)
    index.build(s, progress=False, log=lambda m: None)
    before = index.load(s)
    env = dict(
        os.environ,
        GAOXIN_SEEDS_DIR=str(s.seeds_dir),
        GAOXIN_INDEX_DIR=str(s.index_dir),
        GAOXIN_DATA_DIR=str(s.data_dir),
        PYTHONUNBUFFERED="1",
    )
    for delay in (0.0, 2.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "index", "build", "--force"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Wait until the rebuild is really under way (embedding started), then kill -9.
        deadline = time.time() + 120
        for line in proc.stderr:
            if "embedding" in line or time.time() > deadline:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = index.load(s)
        assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    # and the next build cleans up whatever the killed one left behind
    index.build(s, progress=False, log=lambda m: None, force=True)
    assert not list(s.index_dir.glob(".tmp-*"))
    assert len(list(s.index_dir.glob("g-*"))) == 1


def test_add_documents_rejects_bad_files_and_indexes_good_ones(built, tmp_path):
    s0, _ = built
    s = Settings(seeds_dir=s0.seeds_dir, index_dir=tmp_path / "index", data_dir=tmp_path / "data")
    shutil.copytree(s0.index_dir, s.index_dir)
    good = tmp_path / "新文件.md"
    good.write_text("# 测试文档\n\n2024年，测试园区实现营业收入12.5亿元，同比增长8.1%。\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n", encoding="utf-8")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    added, errors = index.add_documents(s, [good, empty, binary], progress=False, log=lambda m: None)
    assert added == ["新文件.md"]
    assert {name for name, _ in errors} == {"empty.txt", "blob.txt"}
    data = index.load(s)
    assert any("12.5亿元" in c.text for c in data.chunks)
    assert not (s.data_dir / "docs" / "empty.txt").exists()


def test_safe_name_blocks_traversal():
    assert index.safe_name("../../etc/passwd") == "passwd"
    assert index.safe_name("..\\..\\win.ini") == "win.ini"
    assert "/" not in index.safe_name("a/b/c.txt")
    assert index.safe_name("报告 2024.docx") == "报告_2024.docx"
