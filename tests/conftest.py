"""Shared fixtures. Tests needing fetched models skip (with the reason) only when the cache is empty;
`make test` fetches first, so in CI they run."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.settings import Settings
from rag.types import Chunk, Hit


def seed_hit(prefix: str, needle: str, length: int, scope: str = "zone", periods=("2024",), title: str = "T") -> Hit:
    """`length` characters of seed `prefix` from `needle` on, at their real source offsets."""
    from rag.settings import ROOT

    path = next((ROOT / "seeds").glob(prefix + "_*.txt"))
    text = Path(path).read_text(encoding="utf-8")
    i = text.index(needle)
    t = text[i : i + length]
    if prefix == "004":  # the plan is PDF text: join its hard line wraps as the cleaner does
        t = t.replace("\n", "")
    chunk = Chunk(
        id=f"{prefix}:{i}",
        doc=path.name,
        title=title,
        section="",
        text=t,
        start=i,
        end=i + length,
        periods=periods,
        scope=scope,
    )
    return Hit(chunk=chunk, score=1.0)


def text_hit(
    text: str,
    scope: str = "zone",
    periods: tuple[str, ...] = (),
    doc: str = "t.txt",
    score: float = 1.0,
    kind: str = "text",
) -> Hit:
    """A retrieved passage made of `text` alone (offsets 0..len), for tests that stage what the documents say."""
    chunk = Chunk(
        id=f"{doc}:{text[:12]}",
        doc=doc,
        title="T",
        section="",
        text=text,
        start=0,
        end=len(text),
        periods=periods,
        scope=scope,
        kind=kind,
    )
    return Hit(chunk=chunk, score=score)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def e5_dir(settings: Settings) -> Path:
    """The converted sentence-transformers folder; skips if `gaoxin models fetch` has not run."""
    from rag.fetch import E5_NAME

    folder = settings.models_dir / E5_NAME
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"{folder} missing: run `gaoxin models fetch` (make test does)")
    return folder
