"""End-to-end: the real `gaoxin serve` in a subprocess, driven by headless Debian Chromium (Playwright).

The server runs with the extractive backend (real index, real embedder, no LLM) so answers are
fast and deterministic. Set GAOXIN_SCREENSHOT=1 to refresh the README's screenshots in docs/: the chat on a desktop
(chat_desktop.png, also screenshot.png) and on a 375 px phone (chat_375.png), and the 核查 tab (check_tab.png).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import ROOT, Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# About the seeds, deliberately not a dev-set question.
QUESTION = "2026年昆山高新区将聚焦哪几个维度攻坚发力？"
TREND = "高新区GDP这几年怎么变化？"  # answered by code from the facts: Answer.series, drawn under the chat
# A claim the seeds contradict (the 2024 GDP is 1135.1亿元) joined to one they support.
WRONG_CLAIM = "2024年昆山高新区地区生产总值1235亿元，同比增长6.3%"
PHONE = {"width": 375, "height": 812}
# Emoji render as empty boxes without an emoji font: none may appear in answers, sources or verdicts.
EMOJI_JS = "t => /\\p{Extended_Pictographic}/u.test(t)"
STARTUP_S = 180
ANSWER_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def index_ready() -> bool:
    return (Settings().index_dir / "CURRENT").is_file()


@contextlib.contextmanager
def live_server(data_dir: Path, **env_extra: str) -> Iterator[str]:
    """Run `python -m rag.cli serve` on a free loopback port; yield its URL; always terminate it."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        GAOXIN_LLM_BACKEND="extractive",
        GAOXIN_DATA_DIR=str(data_dir),
        GRADIO_ANALYTICS_ENABLED="False",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.pop("GAOXIN_USER", None)
    env.pop("GAOXIN_PASSWORD", None)
    env.update(env_extra)
    log_path = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_up(proc, url, log_path)
            yield url
        finally:
            stop(proc)


def wait_until_up(proc: subprocess.Popen, url: str, log_path: Path, timeout_s: float = STARTUP_S) -> None:
    """Return once `url` answers 200; raise with the server log's tail if it exits or `timeout_s` passes."""
    deadline = time.time() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline:
            raise RuntimeError(f"server not up after {timeout_s}s:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a test server, killing it if it does not exit within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not index_ready():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    data_dir = tmp_path_factory.mktemp("ui-data")
    with live_server(data_dir) as url:
        yield url, data_dir


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium missing: apt-get install chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = ctx.new_page()
    pg.goto(server[0])
    pg.locator("#question textarea").wait_for(timeout=60_000)
    yield pg
    ctx.close()


def save_screenshot(page, shot: Path, readme_name: str, *also: str, height: int | None = None) -> None:
    """A full-page screenshot that shows something (not a blank page); with GAOXIN_SCREENSHOT=1 it also
    refreshes docs/`readme_name` (and docs/`also`…) for the README. `height` keeps only the page's top (CSS px)."""
    if height is None:
        page.screenshot(path=str(shot), full_page=True)
    else:
        width = page.viewport_size["width"]
        page.screenshot(path=str(shot), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    assert shot.stat().st_size > 10_000
    if os.environ.get("GAOXIN_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        for name in (readme_name, *also):
            shutil.copy(shot, ROOT / "docs" / name)


def _ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def _wait_answer_done(page, n_bot: int) -> None:
    """Wait until the n-th assistant message exists and is no longer loading/streaming."""
    page.wait_for_function(
        """n => {
            const bots = document.querySelectorAll('#chat [data-testid="bot"]');
            if (bots.length < n) return false;
            const last = bots[bots.length - 1], t = last.innerText;
            return t.length > 0 && !t.includes('⏳') && !t.includes('▌') && !last.querySelector('.typing');
        }""",
        arg=n_bot,
        timeout=ANSWER_S * 1000,
    )


def test_question_streams_cited_answer_with_sources(page, server, tmp_path):
    t0 = time.time()
    _ask(page, QUESTION)
    # Sources are filled (from the hits) at the latest when the answer is done.
    _wait_answer_done(page, 1)
    elapsed = time.time() - t0
    link = page.locator("#chat a.cite-link").first
    link.wait_for(state="visible", timeout=10_000)
    href = link.get_attribute("href")
    assert href and href.startswith("#src-")
    passage = page.locator(f"#sources {href}")
    assert passage.is_visible()
    text = passage.inner_text()
    assert "维度" in text or "产创城人文" in text, text  # the passage that answers the question
    assert page.locator("#sources article.src.cited mark.cited").count() >= 1
    assert_cards_lead_with_the_cited_sentence(page)
    assert not page.evaluate(EMOJI_JS, page.locator('#chat [data-testid="bot"]').last.inner_text())
    save_screenshot(page, tmp_path / "chat.png", "chat_desktop.png", "screenshot.png")
    link.click()  # scrolls to the passage, stays on the page
    page.wait_for_timeout(800)
    assert len(page.context.pages) == 1
    assert passage.is_visible()
    # draft export is filled with footnotes
    page.get_by_text("导出答复草稿").click()
    draft = page.locator("#draft textarea")
    draft.wait_for(state="visible")
    assert "[^" in draft.input_value()
    print(f"answer in {elapsed:.1f}s")

    # feedback lands in data_dir/feedback.jsonl
    page.locator("#fb-good").click()
    page.get_by_text("已记录").wait_for(timeout=10_000)
    recs = [json.loads(x) for x in (server[1] / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert recs[-1]["rating"] == "useful" and recs[-1]["question"] == QUESTION and recs[-1]["citations"]


def test_script_in_question_is_text_and_empty_question_is_friendly(page):
    _ask(page, "   ")
    page.get_by_text("请先输入一个问题").wait_for(timeout=20_000)
    evil = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">高新区有哪些产业？'
    _ask(page, evil)
    _wait_answer_done(page, 2)
    assert page.locator('#chat [data-testid="bot"]').count() == 2
    assert page.locator('#chat [data-testid="user"]').count() == 1  # the empty question added no user turn
    assert page.evaluate("window.__xss === undefined")
    assert "<script>window.__xss=1</script>" in page.locator("#chat").inner_text()


def test_documents_tab_lists_seeds_and_rejects_bad_upload(page, server, tmp_path):
    data_dir = server[1]
    page.get_by_role("tab", name="文档").click()
    seeds = sorted(p.name for p in (ROOT / "seeds").glob("*.txt"))
    page.wait_for_function(
        # The tab renders its table a moment after the click: until then there is none to read (null), so wait.
        "names => names.every(n => (document.querySelector('#docs-table')?.innerText || '').includes(n))",
        arg=seeds,
        timeout=30_000,
    )
    empty = tmp_path / "空白.txt"
    empty.write_bytes(b"")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00")
    page.locator("#upload input[type=file]").set_input_files([str(empty), str(exe)])
    page.wait_for_timeout(1500)
    page.locator("#add-docs").click()
    status = page.locator("#upload-status")
    status.get_by_text("空文件").wait_for(timeout=30_000)
    assert "不是支持的格式" in status.inner_text()
    assert not (data_dir / "docs").exists() or not any((data_dir / "docs").iterdir())  # nothing was indexed


def test_trend_answer_shows_its_points_as_a_chart_and_the_next_answer_hides_it(page):
    from rag import index as index_mod
    from rag.frame import frame
    from rag.trend import series
    from ui.data import period_label

    facts = index_mod.load(Settings(), verify=False, check_stale=False).facts
    labels = [period_label(f.period) for f in series(frame(TREND), facts)]  # what the answer's series holds
    assert {"2021年", "2024年"} <= set(labels)
    chart, link = page.locator("#chat-chart"), page.locator("#chart-link")
    assert chart.count() == 0 and link.count() == 0  # nothing to draw before a trend is asked

    _ask(page, TREND)
    _wait_answer_done(page, 1)
    answer = page.locator('#chat [data-testid="bot"]').last.inner_text()
    assert all(lab in answer for lab in labels), answer
    points = chart.locator("svg path[aria-roledescription=point]")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat-chart svg path[aria-roledescription=point]').length === n",
        arg=len(labels),
        timeout=30_000,
    )
    point_labels = points.evaluate_all("ps => ps.map(p => p.getAttribute('aria-label'))")
    drawn = [re.search(r"时期: ([^;]+)", lab).group(1) for lab in point_labels]
    xs = [points.nth(i).bounding_box()["x"] for i in range(points.count())]
    assert [p for _, p in sorted(zip(xs, drawn, strict=True))] == labels  # one point per period, left to right
    svg_text = chart.locator("svg").first.evaluate("s => s.textContent")
    assert "时期" in svg_text and "数值（亿元）" in svg_text and "实际" in svg_text

    link.click()  # the 数据 tab lists every source of the charted metric and area
    page.locator("#data-msg").get_by_text("地区生产总值").first.wait_for(timeout=30_000)
    assert "昆山高新区" in page.locator("#data-msg").inner_text()

    page.get_by_role("tab", name="问答").click()
    _ask(page, QUESTION)
    _wait_answer_done(page, 2)
    chart.wait_for(state="hidden", timeout=10_000)
    assert not link.is_visible()


def assert_cards_lead_with_the_cited_sentence(page) -> None:
    """The cited card: badges (period, area, tier), then the cited sentence with a sentence of context on each side,
    and the whole passage only behind a closed 展开全文 that opens on a click."""
    card = page.locator("#sources article.src.cited").first
    badges = card.locator("header .badge")
    texts = badges.all_inner_texts()
    assert "官方资料" in texts and "昆山高新区" in texts, texts  # tier and area (the seeds are the zone's)
    assert card.locator(".badge.b-period").inner_text().strip()
    # the first thing under the header is the excerpt, and it holds the cited sentence
    first = card.evaluate("a => a.querySelector('header').nextElementSibling.className")
    assert first == "src-excerpt"
    excerpt = card.locator(".src-excerpt")
    assert excerpt.locator("mark.cited").first.is_visible()
    roles = excerpt.evaluate("p => [...p.children].map(c => c.className).filter(c => c.startsWith('src-'))")
    assert "src-cited" in roles and roles.count("src-context") <= 2, roles
    full = card.locator("details.src-full")
    assert full.count() == 1 and not full.evaluate("d => d.open")
    assert not card.locator(".src-text").is_visible()  # the window stays folded
    assert len(excerpt.inner_text()) < len(card.locator(".src-text").text_content())
    full.locator("summary").click()
    card.locator(".src-text").wait_for(state="visible", timeout=5_000)
    assert "展开全文" in full.locator("summary").inner_text()
    full.locator("summary").click()  # folded again for the screenshot
    assert not page.evaluate(EMOJI_JS, page.locator("#sources").inner_text())


def _context(browser, viewport: dict[str, int], scale: float = 1):
    return browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=scale)


def test_on_a_phone_the_sources_sit_directly_below_the_answer(browser, server, tmp_path):
    ctx = _context(browser, PHONE, scale=2)  # a phone's pixel density, and a sharp README image
    try:
        page = ctx.new_page()
        page.goto(server[0])
        page.locator("#question textarea").wait_for(timeout=60_000)
        _ask(page, QUESTION)
        _wait_answer_done(page, 1)
        page.locator("#sources article.src.cited").first.wait_for(timeout=10_000)
        chat, sources = page.locator("#chat").bounding_box(), page.locator("#sources").bounding_box()
        answer = page.locator('#chat [data-testid="bot"]').last.bounding_box()
        question = page.locator("#question").bounding_box()
        chat_bottom = chat["y"] + chat["height"]
        # below the chat, with nothing between them (the question box, examples and settings come after)
        assert chat_bottom - 1 <= sources["y"] <= chat_bottom + 40, (chat, sources)
        assert answer["y"] + answer["height"] <= sources["y"]
        assert question["y"] > sources["y"]
        assert sources["x"] >= 0 and sources["x"] + sources["width"] <= PHONE["width"]  # no sideways scrolling
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert_cards_lead_with_the_cited_sentence(page)
        save_screenshot(page, tmp_path / "chat_375.png", "chat_375.png", height=1240)
    finally:
        ctx.close()


def test_check_tab_shows_text_badges_and_strikes_the_wrong_figure(page, tmp_path):
    page.get_by_role("tab", name="核查").click()
    page.locator("#claim textarea").fill(WRONG_CLAIM)
    page.locator("#check-btn").click()
    verdict = page.locator("#verdict")
    verdict.locator(".check-head").wait_for(timeout=ANSWER_S * 1000)
    # fully drawn: Gradio fades a pending output, and the screenshot must not catch it half-faded
    page.wait_for_function(
        """() => { for (let e = document.querySelector('#verdict .check'); e; e = e.parentElement)
                     if (parseFloat(getComputedStyle(e).opacity) < 1) return false;
                   return true; }""",
        timeout=10_000,
    )
    assert verdict.locator(".check-head .badge").all_inner_texts() == ["矛盾"]
    stmt_badges = verdict.locator(".stmt-head .badge").all_inner_texts()
    assert stmt_badges == ["矛盾", "支持"], stmt_badges
    assert not page.evaluate(EMOJI_JS, verdict.inner_text())
    colours = verdict.locator(".badge").evaluate_all("bs => bs.map(b => getComputedStyle(b).backgroundColor)")
    assert colours[0] == "rgb(198, 40, 40)" and colours[-1] == "rgb(11, 110, 79)", colours  # red 矛盾, green 支持
    # the wrong figure: red, struck through, the source's figure right next to it
    wrong = verdict.locator("del.wrong-fig")
    assert wrong.count() == 1 and wrong.inner_text() == "1235亿元"
    style = wrong.evaluate("d => [getComputedStyle(d).color, getComputedStyle(d).textDecorationLine]")
    assert style == ["rgb(198, 40, 40)", "line-through"], style
    assert wrong.evaluate("d => d.nextElementSibling.className") == "fix"
    assert "1135.1亿元" in verdict.locator(".fix").inner_text()
    assert "1135.1亿元" in verdict.locator(".evidence").first.inner_text()
    # the raw JSON waits, folded, under 开发者/API
    raw = page.locator("#verdict-json")
    assert not raw.is_visible()
    save_screenshot(page, tmp_path / "check_tab.png", "check_tab.png")
    page.get_by_text("开发者/API").click()
    raw.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("() => (document.querySelector('#verdict-json')?.innerText || '').includes('contradicted')")
