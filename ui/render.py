"""Pure HTML / Markdown rendering for the chat UI (no Gradio, no I/O — unit-tested on its own).

Everything that comes from a document, a question or a model is HTML-escaped *before* any
markup is added, so a passage or question containing `<script>` shows up as text.

>>> link_citations("GDP 1135.1亿元[1]。", {1})
'GDP 1135.1亿元<a class="cite-link" href="#src-1">[1]</a>。'
>>> highlight_figures("增长6.3%，共32个项目")
'增长<b class="fig">6.3%</b>，共<b class="fig">32个</b>项目'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.profile import active
from rag.types import Answer, Citation, Hit

# Units that make a number a *figure* worth highlighting. Years/months/days are left out on purpose:
# "2024年" in every sentence would drown the figures a reader actually checks.
_UNITS = (
    "个百分点|百分点|%|％|‰|亿美元|万美元|美元|亿元|万元|千元|元|万平方米|平方米|平方公里|万亩|亩|公顷|"
    "万吨|吨|GW|MW|GWh|MWh|kW|吉瓦|兆瓦|千瓦|万千瓦|万台|台|万套|套|万件|件|万人次|万人|人次|人|名|位|"
    "家|个|项|所|倍|条|座|款|批|届|支|万|亿"
)
FIGURE_RE = re.compile(rf"(?<![\d.])\d+(?:[.,]\d+)*\s*(?:{_UNITS})")
# "[1]", "[1,2]", "[1、2]" — whatever cite.py leaves in the text.
CITE_RE = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")

REFUSAL_BANNER = "资料中没有找到能可靠回答这个问题的依据，因此不作回答。可以换个问法，或在「文档」页补充资料。"
EMPTY_QUESTION = "请先输入一个问题，例如：昆山高新区2026年的发展重点是什么？"
VERDICT_LABELS = {
    "supported": ("✅", "有依据", "ok"),
    "contradicted": ("❌", "与资料不符", "bad"),
    "not_found": ("❓", "资料中未找到", "unknown"),
}


def esc(text: object) -> str:
    """HTML-escape anything (quotes too, since some of it lands in attributes)."""
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------- span markup


def _mark_runs(text: str, layers: Sequence[tuple[Iterable[tuple[int, int]], str, str]]) -> str:
    """Escape `text` and wrap character ranges, one tag per layer.

    `layers` = [(ranges, open_tag, close_tag), ...]; outer layers first. Overlapping ranges of
    different layers nest correctly because tags are re-opened per run of equal flags.
    """
    n = len(text)
    flags = [[False] * n for _ in layers]
    for li, (ranges, _, _) in enumerate(layers):
        for a, b in ranges:
            for i in range(max(a, 0), min(b, n)):
                flags[li][i] = True
    out: list[str] = []
    open_: list[int] = []  # layer indices currently open, outermost first
    i = 0
    while i < n:
        want = [li for li in range(len(layers)) if flags[li][i]]
        j = i
        while j < n and [li for li in range(len(layers)) if flags[li][j]] == want:
            j += 1
        # Keep the common outer prefix open (so a cited span stays one <mark>), close and reopen the rest.
        keep = 0
        while keep < min(len(open_), len(want)) and open_[keep] == want[keep]:
            keep += 1
        out.extend(layers[li][2] for li in reversed(open_[keep:]))
        out.extend(layers[li][1] for li in want[keep:])
        open_ = want
        out.append(esc(text[i:j]))
        i = j
    out.extend(layers[li][2] for li in reversed(open_))
    return "".join(out)


def figure_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of numbers-with-units in `text`."""
    return [m.span() for m in FIGURE_RE.finditer(text)]


def highlight_figures(text: str) -> str:
    """Escaped `text` with every figure wrapped in `<b class="fig">`."""
    return _mark_runs(text, [(figure_spans(text), '<b class="fig">', "</b>")])


def quote_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Where the cited `quote` lies inside a passage's `text`.

    The quote normally is a verbatim slice of the chunk; when it is not (e.g. it spans two
    chunks) each of its sentences is looked up on its own, so the reader still sees the part
    that is in this passage.

    >>> quote_spans("甲。乙丙。丁。", "乙丙。")
    [(2, 5)]
    """
    quote = quote.strip()
    if not quote:
        return []
    at = text.find(quote)
    if at >= 0:
        return [(at, at + len(quote))]
    spans = []
    for part in re.split(r"(?<=[。！？；;!?\n])", quote):
        part = part.strip()
        if len(part) >= 6:  # short fragments would match by accident
            at = text.find(part)
            if at >= 0:
                spans.append((at, at + len(part)))
    return spans


def highlight_passage(text: str, quotes: Sequence[str] = ()) -> str:
    """Escaped passage with the cited span(s) in `<mark class="cited">` and figures in `<b class="fig">`."""
    spans = [s for q in quotes for s in quote_spans(text, q)]
    return _mark_runs(
        text,
        [(spans, '<mark class="cited">', "</mark>"), (figure_spans(text), '<b class="fig">', "</b>")],
    )


# ---------------------------------------------------------------- sources panel


@dataclass(frozen=True)
class Source:
    """One numbered entry of the sources panel (a retrieved or cited passage)."""

    n: int
    doc: str
    title: str
    section: str
    text: str
    periods: tuple[str, ...] = ()
    scope: str = "unknown"
    quotes: tuple[str, ...] = ()  # cited spans inside `text`
    cited: bool = False


def number_sources(hits: Sequence[Hit], citations: Sequence[Citation] = ()) -> list[Source]:
    """Number passages so that `[n]` in the answer and `#src-n` in the panel agree.

    A cited chunk keeps its citation number; other hits keep their rank where that number is
    free and take the next free number otherwise. A citation whose chunk is not among the hits
    (e.g. a neighbour chunk) is shown from the citation itself.

    >>> from rag.types import Chunk
    >>> h = [Hit(Chunk("a", "d", "T", "S", "甲", 0, 1), 1.0), Hit(Chunk("b", "d", "T", "S", "乙", 1, 2), 0.5)]
    >>> [(s.n, s.text) for s in number_sources(h, [Citation(1, "b", "d", "T", "S", "乙", 1, 2)])]
    [(1, '乙'), (2, '甲')]
    """
    by_chunk: dict[str, list[Citation]] = {}
    for c in citations:
        by_chunk.setdefault(c.chunk_id, []).append(c)
    out: dict[int, Source] = {}
    hit_ids = {h.chunk.id for h in hits}
    for h in hits:
        ch = h.chunk
        cs = by_chunk.get(ch.id, [])
        for c in cs:
            if c.n not in out:
                out[c.n] = Source(
                    c.n, ch.doc, ch.title, ch.section, ch.text, ch.periods, ch.scope,
                    tuple(x.text for x in cs), True,
                )  # fmt: skip
    for c in citations:
        if c.chunk_id not in hit_ids and c.n not in out:
            out[c.n] = Source(c.n, c.doc, c.title, c.section, c.text, quotes=(c.text,), cited=True)
    used = set(out)
    for rank, h in enumerate(hits, 1):
        if h.chunk.id in by_chunk:
            continue
        n = rank
        while n in used:
            n += 1
        used.add(n)
        ch = h.chunk
        out[n] = Source(n, ch.doc, ch.title, ch.section, ch.text, ch.periods, ch.scope)
    return [out[n] for n in sorted(out)]


def render_source(s: Source, anchor: str = "src") -> str:
    """One passage as an `<article id="{anchor}-n">` card (another tab passes its own `anchor`, so the chat's
    `[n]` links never land on its cards)."""
    meta = [f'<span class="src-title">{esc(s.title or s.doc)}</span>']
    if s.section:
        meta.append(f'<span class="src-section">{esc(s.section)}</span>')
    if s.periods:
        meta.append(f'<span class="src-period">时期：{esc("、".join(s.periods))}</span>')
    if s.scope in active().scope_ids():  # the area's name as the domain profile gives it
        meta.append(f'<span class="src-scope scope-{esc(s.scope)}">{esc(active().scope_label(s.scope))}</span>')
    cls = "src cited" if s.cited else "src"
    return (
        f'<article class="{cls}" id="{esc(anchor)}-{s.n}">'
        f'<header><span class="src-n">[{s.n}]</span> {" · ".join(meta)}</header>'
        f'<p class="src-text">{highlight_passage(s.text, s.quotes)}</p>'
        f'<footer class="src-doc">{esc(s.doc)}</footer>'
        "</article>"
    )


def render_sources(hits: Sequence[Hit], citations: Sequence[Citation] = (), *, pending: bool = False) -> str:
    """The sources panel: every passage the answer may rest on, cited ones marked.

    `pending` (hits arrived, answer still streaming) only changes the heading.
    """
    sources = number_sources(hits, citations)
    if not sources:
        return '<div class="sources empty">暂无来源段落。</div>'
    if pending:
        head = f"检索到 {len(sources)} 段相关资料（正在生成回答…）"
    elif citations:
        head = f"回答引用了 {len({c.n for c in citations})} 段资料（高亮为引用原文，加粗为数字）"
    else:
        head = f"相关资料 {len(sources)} 段（回答未引用）"
    return f'<div class="sources"><h4>{esc(head)}</h4>' + "".join(render_source(s) for s in sources) + "</div>"


# ---------------------------------------------------------------- answer text


def _number_spans(text: str, numbers: Iterable[str]) -> list[tuple[int, int]]:
    spans = []
    for num in {x.strip() for x in numbers if x and x.strip()}:
        # Whole numbers only: "13" must not light up inside "1135.1".
        for m in re.finditer(rf"(?<![\d.]){re.escape(num)}(?!\.?\d)", text):
            spans.append(m.span())
    return spans


def link_citations(text: str, valid: Iterable[int] | None = None, bad_numbers: Sequence[str] = ()) -> str:
    """Escaped answer text: `[n]` → link to `#src-n`; unsupported figures → `<mark class="bad">`.

    Markers whose number is not in `valid` (when given) stay plain text, so a link never
    points at a passage that is not on the page.

    >>> link_citations("增长9%[7]", {1}, ["9%"])
    '增长<mark class="bad" title="未在引用段落中找到">9%</mark>[7]'
    """
    allowed = None if valid is None else set(valid)
    out: list[str] = []
    pos = 0
    for m in CITE_RE.finditer(text):
        out.append(_mark_bad(text[pos : m.start()], bad_numbers))
        nums = [int(x) for x in re.findall(r"\d+", m.group(1))]
        if allowed is not None and not any(n in allowed for n in nums):
            out.append(esc(m.group(0)))
        else:
            out.append(
                "".join(
                    f'<a class="cite-link" href="#src-{n}">[{n}]</a>'
                    if allowed is None or n in allowed
                    else esc(f"[{n}]")
                    for n in nums
                )
            )
        pos = m.end()
    out.append(_mark_bad(text[pos:], bad_numbers))
    return "".join(out)


def _mark_bad(text: str, bad_numbers: Sequence[str]) -> str:
    spans = _number_spans(text, bad_numbers)
    return _mark_runs(text, [(spans, '<mark class="bad" title="未在引用段落中找到">', "</mark>")])


def render_answer(answer: Answer, valid: Iterable[int] | None = None) -> str:
    """The assistant's chat bubble: linked answer, refusal banner, figure warning, notice."""
    if valid is None:
        valid = {s.n for s in number_sources(answer.hits, answer.citations)}
    parts = []
    if answer.notice:
        parts.append(f'<div class="notice">ℹ️ {esc(answer.notice)}</div>')
    if answer.refused:
        parts.append(f'<div class="refusal">⚠️ {esc(REFUSAL_BANNER)}</div>')
    parts.append(f'<div class="answer">{link_citations(answer.answer, valid, answer.unsupported_numbers)}</div>')
    if answer.unsupported_numbers:
        nums = "、".join(answer.unsupported_numbers)
        parts.append(
            f'<div class="bad-note">⚠️ 以下数字在引用段落中找不到依据，已标出或删除，请勿直接使用：'
            f'<mark class="bad">{esc(nums)}</mark></div>'
        )
    return "\n".join(parts)


def render_streaming(text: str, valid: Iterable[int] | None = None) -> str:
    """Partial answer while tokens arrive (links work already; a cursor shows it is still going)."""
    return f'<div class="answer">{link_citations(text, valid)} ▌</div>'


# ---------------------------------------------------------------- staff export


def _md_inline(text: str) -> str:
    # Footnote text is one line; escaping `[`/`]` stops a quote from forming links or footnote refs.
    return re.sub(r"\s+", " ", text).replace("[", "\\[").replace("]", "\\]").strip()


def answer_to_markdown(answer: Answer) -> str:
    """A Markdown draft for staff: answer with `[^n]` footnotes (document, section, quote).

    >>> from rag.types import Citation
    >>> a = Answer("问", "GDP 1135.1亿元[1]。", False, (Citation(1, "c", "d.txt", "T", "S", "原文", 0, 2),))
    >>> print(answer_to_markdown(a))
    ## 问
    <BLANKLINE>
    GDP 1135.1亿元[^1]。
    <BLANKLINE>
    [^1]: 《T》（d.txt），S：“原文”
    """
    cited = {c.n: c for c in answer.citations}
    body = CITE_RE.sub(
        lambda m: "".join(f"[^{n}]" if int(n) in cited else f"[{n}]" for n in re.findall(r"\d+", m.group(1))),
        answer.answer.strip(),
    )
    lines = [f"## {_md_inline(answer.question)}", "", body]
    if answer.refused:
        lines += ["", f"> {REFUSAL_BANNER}"]
    if answer.unsupported_numbers:
        lines += ["", "> 注意：以下数字未在来源中找到依据：" + "、".join(answer.unsupported_numbers)]
    if cited:
        lines.append("")
        for n in sorted(cited):
            c = cited[n]
            where = f"《{_md_inline(c.title or c.doc)}》（{_md_inline(c.doc)}）"
            if c.section:
                where += f"，{_md_inline(c.section)}"
            lines.append(f"[^{n}]: {where}：“{_md_inline(c.text)}”")
    return "\n".join(lines)


def answer_to_api(answer: Answer) -> tuple[str, list[dict[str, Any]]]:
    """(answer text with `[n]` markers, sources as JSON-able dicts) — the `ask` API's result."""
    sources = []
    for s in number_sources(answer.hits, answer.citations):
        quote = next((c.text for c in answer.citations if c.n == s.n), "")
        sources.append(
            {
                "n": s.n,
                "doc": s.doc,
                "title": s.title,
                "section": s.section,
                "text": s.text,
                "periods": list(s.periods),
                "scope": s.scope,
                "cited": s.cited,
                "quote": quote,
            }
        )
    return answer.answer, sources


# ---------------------------------------------------------------- fact-check


def _evidence_html(ev: Any) -> str:
    if isinstance(ev, Mapping):
        text = str(ev.get("text") or ev.get("quote") or "")
        title = str(ev.get("title") or ev.get("doc") or "")
        section = str(ev.get("section") or "")
        head = " · ".join(esc(x) for x in (title, section) if x)
        return f'<li><span class="ev-src">{head}</span><br>{highlight_figures(text)}</li>'
    return f"<li>{highlight_figures(str(ev))}</li>"


def render_check(result: Mapping[str, Any]) -> str:
    """Fact-check verdict card: overall verdict, then each statement with evidence and the source's figure."""
    icon, label, cls = VERDICT_LABELS.get(str(result.get("verdict")), ("❔", "无法判断", "unknown"))
    out = [
        f'<div class="check verdict-{cls}">',
        f"<h3>{icon} {esc(label)}</h3>",
        f'<p class="claim">说法：{esc(result.get("claim", ""))}</p>',
    ]
    for st in result.get("statements") or ():
        s_icon, s_label, s_cls = VERDICT_LABELS.get(str(st.get("verdict")), ("❔", "无法判断", "unknown"))
        out.append(
            f'<section class="stmt verdict-{s_cls}"><p>{s_icon} {highlight_figures(str(st.get("text", "")))}'
            f"（{esc(s_label)}）</p>"
        )
        if st.get("source_value"):
            out.append(f'<p class="source-value">资料中的数字：<b class="fig">{esc(st["source_value"])}</b></p>')
        evidence = st.get("evidence") or ()
        if evidence:
            out.append('<ul class="evidence">' + "".join(_evidence_html(e) for e in evidence) + "</ul>")
        out.append("</section>")
    out.append("</div>")
    return "".join(out)


# ---------------------------------------------------------------- documents table


def docs_table(manifest: Mapping[str, Any] | None, chunks: Sequence[Any] = ()) -> list[list[Any]]:
    """Rows [文件, 标题, 段落数, 涉及时期] for the documents tab (periods gathered from the chunks)."""
    periods: dict[str, set[str]] = {}
    for c in chunks:
        periods.setdefault(c.doc, set()).update(c.periods)
    rows = []
    for doc, info in sorted(((manifest or {}).get("docs") or {}).items()):
        ps = sorted(periods.get(doc, ()))
        rows.append([doc, info.get("title", ""), int(info.get("n_chunks", 0)), "、".join(ps)])
    return rows
