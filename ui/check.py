"""The 核查 tab: a claim held against the sources statement by statement (`rag.check`), shown as a card
(`render.render_check`) and, for developers, as the raw JSON of the `/check` endpoint."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ui import render
from ui.chat import is_blank

log = logging.getLogger("gaoxin.ui")

# Claims for the 核查 tab: one the sources contradict (the GDP figure), one they support.
CHECK_EXAMPLES = (
    "2024年昆山高新区地区生产总值1235亿元，同比增长6.3%",
    "2024年昆山高新区地区生产总值1135.1亿元",
)


@dataclass
class CheckTab:
    """The 核查 tab's components (`build_check_tab`)."""

    claim: gr.Textbox
    check_btn: gr.Button
    verdict: gr.HTML
    verdict_json: gr.JSON


def build_check_tab() -> CheckTab:
    """The 核查 tab's components, inside the caller's tab; `wire_check_tab` connects them."""
    gr.Markdown(
        "输入一条说法（例如稿件中的一句话），对照资料逐条核查其中的数字。结论分为："
        "**支持**、**矛盾**（错误的数字划掉，旁边给出资料中的数字）、**未找到**；"
        "不同资料的数字不一致时另标 **有冲突**。"
    )
    claim = gr.Textbox(
        label="要核查的说法", lines=2, elem_id="claim", placeholder="例如：2024年昆山高新区地区生产总值……"
    )
    check_btn = gr.Button("核查", variant="primary", elem_id="check-btn")
    gr.Examples(examples=[[c] for c in CHECK_EXAMPLES], inputs=claim, label="示例说法")
    verdict = gr.HTML(elem_id="verdict")
    # Citizens read the card above; the raw result (English keys) is for developers only.
    with gr.Accordion("开发者/API", open=False, elem_id="check-dev"):
        gr.Markdown("接口 `/check` 返回的原始结果（JSON），供开发者调试和对接使用。")
        verdict_json = gr.JSON(label="原始结果", elem_id="verdict-json")
    return CheckTab(claim, check_btn, verdict, verdict_json)


def wire_check_tab(tab: CheckTab, svc: Any) -> None:
    """The 核查 tab's events: the button and Enter in the claim box check the claim."""
    private = {"api_visibility": "private"}
    claim, check_btn, verdict, verdict_json = tab.claim, tab.check_btn, tab.verdict, tab.verdict_json

    def check_ui(claim: str) -> tuple[str, Any]:
        if is_blank(claim):
            return '<div class="check">请输入一条要核查的说法，例如含有数字的一句话。</div>', None
        try:
            res = svc.check(claim.strip())
        except Exception as e:
            log.error("check failed: %s\n%s", e, traceback.format_exc())
            return (
                f'<div class="check verdict-bad"><div class="check-head"><span class="badge v-bad">出错</span>'
                f"核查时出错（{render.esc(type(e).__name__)}），请稍后重试。</div></div>",
                None,
            )
        return render.render_check(res), res

    check_btn.click(check_ui, claim, [verdict, verdict_json], concurrency_id="llm", **private)
    claim.submit(check_ui, claim, [verdict, verdict_json], concurrency_id="llm", **private)
