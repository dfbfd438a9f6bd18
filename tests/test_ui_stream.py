"""Verified streaming, as a reader sees it: the real app on loopback, driven by headless Chromium.

The page's chat is recorded every 50 ms (a MutationObserver records every change too) while an answer
streams. The model is a scripted stand-in (determinism is the point): it drafts a true, cited sentence
and then one with an invented figure, slowly, as a model would. The index, retriever, verifier and
the Gradio server are the real ones. No recorded state of the page may contain the invented figure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from test_stream import INVENTED, TRUE, DraftingModel
from test_ui_e2e import CHROMIUM, CHROMIUM_ARGS, free_port, index_ready

from rag.pipeline import Pipeline
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.types import Message
from ui.app import build_app, launch_kwargs

RECORD_JS = """() => {
    window.__snaps = [];
    const chat = document.querySelector('#chat');
    const snap = () => window.__snaps.push([performance.now(), chat.innerText]);
    new MutationObserver(snap).observe(chat, {subtree: true, childList: true, characterData: true});
    window.__timer = setInterval(snap, 50);
}"""


class SlowDraftingModel(DraftingModel):
    """The drafting stand-in at about 12 pieces a second, so the draft is on its way for several seconds."""

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        for piece in super().stream(messages):
            time.sleep(0.08)
            yield piece


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    if not index_ready():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium missing: apt-get install chromium (make test does)")
    s = Settings(data_dir=tmp_path_factory.mktemp("stream-data"), port=free_port())
    model = SlowDraftingModel(
        "2024年昆山高新区实现地区生产总值" + TRUE + "[{n}]。据统计，2024年昆山高新区工业总产值为" + INVENTED + "[{n}]。"
    )
    r = Retriever(s)
    r.warm()
    app = build_app(s, pipeline=Pipeline(s, retriever=r, generator=model))
    kw = {**launch_kwargs(s), "auth": None, "auth_message": None, "prevent_thread_lock": True, "quiet": True}
    app.launch(**kw)
    try:
        yield f"http://127.0.0.1:{s.port}/"
    finally:
        app.close()


def test_the_chat_never_shows_a_figure_the_verifier_drops(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.goto(app_url)
            box = page.locator("#question textarea")
            box.wait_for(timeout=60_000)
            page.evaluate(RECORD_JS)
            box.fill("2024年昆山高新区地区生产总值和工业总产值各是多少？")
            box.press("Enter")
            page.wait_for_function(
                """() => { const b = document.querySelectorAll('#chat [data-testid="bot"]');
                           return b.length && document.querySelector('#chat a.cite-link')
                                  && !b[b.length - 1].innerText.includes('⏳')
                                  && !b[b.length - 1].innerText.includes('▌'); }""",
                timeout=120_000,
            )
            page.wait_for_timeout(300)
            snaps = page.evaluate("() => { clearInterval(window.__timer); return window.__snaps; }")
        finally:
            browser.close()
    texts = [t for _, t in snaps]
    gaps = [b - a for (a, _), (b, _) in zip(snaps, snaps[1:], strict=False)]
    # Recorded every 50 ms over the whole answer (a busy machine may delay a tick), and on every DOM change.
    assert len(texts) > 40 and sorted(gaps)[int(0.95 * len(gaps))] <= 100
    assert not [t for t in texts if "1888.8" in t]
    with_true = [i for i, t in enumerate(texts) if TRUE in t]
    typing = [i for i, t in enumerate(texts) if "逐句核对" in t]
    assert typing and with_true and typing[0] < with_true[0]  # the typing line first, then verified text
    assert "1888.8" not in texts[-1] and TRUE in texts[-1]
