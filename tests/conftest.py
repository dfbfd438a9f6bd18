"""Shared fixtures. Tests needing fetched models skip (with the reason) only when the cache is empty;
`make test` fetches first, so in CI they run."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.settings import Settings


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
