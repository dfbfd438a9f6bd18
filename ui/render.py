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

from rag.numbers import extract_figures, same_figure
from rag.profile import active
from rag.types import Answer, Citation, Figure, Hit

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
# Fact-check verdicts as text badges (badge text, CSS class, one-line summary). No emoji: without an emoji
# font ✅/❌/❓ render as empty boxes, and colour alone would not tell a colour-blind reader the verdict.
VERDICTS = {
    "supported": ("支持", "ok", "资料支持这一说法。"),
    "contradicted": ("矛盾", "bad", "这一说法与资料不符。"),
    "not_found": ("未找到", "unknown", "资料中没有找到可以核对的内容。"),
}
UNKNOWN_VERDICT = ("无法判断", "unknown", "无法判断这一说法。")
CONFLICT_BADGE = "有冲突"
# Source tiers (`Chunk.tier`): documents shipped with the app vs. files a user uploaded in the 文档 tab.
TIERS = {"official": ("官方资料", "official"), "uploaded": ("用户上传", "uploaded")}
# Sentences as the source cards cut them: a ；-clause is how these documents list one fact after another.
_SENTENCE_ENDS = "。！？!?；;\n"
CONTEXT_CHARS = 80  # a context sentence longer than this is cut (with …): the cited one must stay in view


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
    tier: str = "official"  # `Chunk.tier`: "official" (shipped documents) or "uploaded" (the 文档 tab)


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
                    tuple(x.text for x in cs), True, _tier(ch),
                )  # fmt: skip
    for c in citations:
        if c.chunk_id not in hit_ids and c.n not in out:
            out[c.n] = Source(c.n, c.doc, c.title, c.section, c.text, quotes=(c.text,), cited=True, tier=_tier(c))
    used = set(out)
    for rank, h in enumerate(hits, 1):
        if h.chunk.id in by_chunk:
            continue
        n = rank
        while n in used:
            n += 1
        used.add(n)
        ch = h.chunk
        out[n] = Source(n, ch.doc, ch.title, ch.section, ch.text, ch.periods, ch.scope, tier=_tier(ch))
    return [out[n] for n in sorted(out)]


def _tier(item: object) -> str:
    # `tier` is a newer field of Chunk (and maybe Citation); older objects are shipped documents.
    return str(getattr(item, "tier", "official") or "official")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text` (a ；-clause counts as one), blanks around it excluded.

    >>> t = "甲。乙；丙"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['甲。', '乙；', '丙']
    """
    out, start = [], 0
    for i, ch in enumerate(text + "\n"):
        if ch in _SENTENCE_ENDS or i == len(text):
            seg = text[start : i + 1]
            if seg.strip(" \t\r\n\u3000" + _SENTENCE_ENDS):
                a = start + len(seg) - len(seg.lstrip())
                out.append((a, a + len(seg.strip())))
            start = i + 1
    return out


@dataclass(frozen=True)
class Excerpt:
    """What a source card shows before 展开全文: sentence ranges of the passage, in order.

    `parts` = [(start, end, role)], role "cited" (a sentence the answer cites), "context" (one on either side
    of it) or "lead" (the passage's opening, when nothing in it is cited); `full`: the excerpt is the whole text.
    """

    parts: tuple[tuple[int, int, str], ...]
    full: bool


def excerpt(text: str, quotes: Sequence[str] = (), context: int = 1) -> Excerpt:
    """The cited sentence(s) of a passage with `context` sentences on each side.

    A passage with no cited span found in it shows its first sentence and the next one.

    >>> e = excerpt("甲。乙。丙丁。戊。己。", ["丙丁。"])
    >>> [(a, b, role) for a, b, role in e.parts], e.full
    ([(2, 4, 'context'), (4, 7, 'cited'), (7, 9, 'context')], False)
    """
    sents = sentence_spans(text)
    if not sents:
        return Excerpt((), True)
    spans = [sp for q in quotes for sp in quote_spans(text, q)]
    cited = {i for i, (a, b) in enumerate(sents) for s, e in spans if s < b and a < e}
    if cited:
        shown = {j for i in cited for j in range(i - context, i + context + 1) if 0 <= j < len(sents)}
        role = {i: "cited" if i in cited else "context" for i in shown}
    else:
        role = {i: "lead" if i == 0 else "context" for i in range(min(1 + context, len(sents)))}
    parts = tuple((*sents[i], role[i]) for i in sorted(role))
    return Excerpt(parts, len(parts) == len(sents))


def _excerpt_html(text: str, quotes: Sequence[str], ex: Excerpt) -> str:
    """The excerpt as HTML: cited sentences marked, context sentences dimmed (and cut when long), one `…` wherever
    the passage goes on."""
    spans = [sp for q in quotes for sp in quote_spans(text, q)]
    dots = '<span class="ellipsis">…</span>'
    out: list[str] = []
    prev_end = 0
    for k, (a, b, role) in enumerate(ex.parts):
        if role == "context" and b - a > CONTEXT_CHARS:
            # Keep the end of the sentence before the cited one and the start of the one after it.
            before = k + 1 < len(ex.parts) and ex.parts[k + 1][2] == "cited"
            a2, b2 = (b - CONTEXT_CHARS, b) if before else (a, a + CONTEXT_CHARS)
        else:
            a2, b2 = a, b
        if a2 > prev_end and text[prev_end:a2].strip():
            out.append(dots)
        local = [(max(s, a2) - a2, min(e, b2) - a2) for s, e in spans if s < b2 and a2 < e]
        seg = _mark_runs(
            text[a2:b2],
            [(local, '<mark class="cited">', "</mark>"), (figure_spans(text[a2:b2]), '<b class="fig">', "</b>")],
        )
        out.append(f'<span class="src-{role}">{seg}</span>')
        prev_end = b2
    if text[prev_end:].strip():
        out.append(dots)
    return "".join(out)


def period_text(period: str) -> str:
    """A period as it reads in Chinese: "2024" → "2024年", "2025前三季度" → "2025年前三季度", "十四五" as is.

    >>> [period_text(p) for p in ("2024", "2025前三季度", "十四五")]
    ['2024年', '2025年前三季度', '十四五']
    """
    m = re.match(r"((?:19|20)\d{2})(.*)$", period)
    return f"{m.group(1)}年{m.group(2)}" if m else period


def source_badges(s: Source) -> str:
    """Badges of a card: the periods and area its figures are counted for, and where the document comes from."""
    out = []
    if s.periods:
        shown = "、".join(period_text(p) for p in s.periods[:3]) + ("等" if len(s.periods) > 3 else "")
        out.append(f'<span class="badge b-period" title="资料涉及的时期">{esc(shown)}</span>')
    if s.scope in active().scope_ids():  # the area's name as the domain profile gives it
        label = active().scope_label(s.scope)
        out.append(f'<span class="badge b-scope scope-{esc(s.scope)}" title="数字的统计范围">{esc(label)}</span>')
    label, cls = TIERS.get(s.tier, TIERS["official"])
    out.append(f'<span class="badge b-tier tier-{cls}" title="资料来源">{esc(label)}</span>')
    return f'<span class="badges">{"".join(out)}</span>'


def render_source(s: Source, anchor: str = "src") -> str:
    """One passage as an `<article id="{anchor}-n">` card (another tab passes its own `anchor`, so the chat's
    `[n]` links never land on its cards): the cited sentence first, with a sentence of context on each side,
    then the whole passage behind 展开全文."""
    meta = [f'<span class="src-title">{esc(s.title or s.doc)}</span>']
    if s.section:
        meta.append(f'<span class="src-section">{esc(s.section)}</span>')
    ex = excerpt(s.text, s.quotes)
    body = f'<p class="src-excerpt">{_excerpt_html(s.text, s.quotes, ex)}</p>'
    if not ex.full:
        body += (
            '<details class="src-full"><summary>展开全文</summary>'
            f'<p class="src-text">{highlight_passage(s.text, s.quotes)}</p></details>'
        )
    cls = "src cited" if s.cited else "src"
    if s.tier == "uploaded":
        cls += " uploaded"
    return (
        f'<article class="{cls}" id="{esc(anchor)}-{s.n}">'
        f'<header><span class="src-n">[{s.n}]</span> {" · ".join(meta)} {source_badges(s)}</header>'
        f"{body}"
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
        parts.append(f'<div class="notice">提示：{esc(answer.notice)}</div>')
    if answer.refused:
        parts.append(f'<div class="refusal">{esc(REFUSAL_BANNER)}</div>')
    parts.append(f'<div class="answer">{link_citations(answer.answer, valid, answer.unsupported_numbers)}</div>')
    # A dropped figure is never written out again, not even in the warning: a reader who copies takes away
    # only what the sources state. Figures still in the text are marked there and named here.
    shown = [u for u in answer.unsupported_numbers if u in answer.answer]
    dropped = len(answer.unsupported_numbers) - len(shown)
    if shown:
        parts.append(
            f'<div class="bad-note">注意：以下数字在引用段落中找不到依据，已标出，请勿直接使用：'
            f'<mark class="bad">{esc("、".join(shown))}</mark></div>'
        )
    if dropped:
        parts.append(f'<div class="bad-note">注意：回答草稿中有{dropped}处数字在引用段落中找不到依据，已删除。</div>')
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
    shown = [u for u in answer.unsupported_numbers if u in answer.answer]
    if shown:
        lines += ["", "> 注意：以下数字未在来源中找到依据：" + "、".join(shown)]
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
                "tier": s.tier,  # "official" or "uploaded": API callers weigh an uploaded file as the UI does
            }
        )
    return answer.answer, sources


# ---------------------------------------------------------------- fact-check


def _evidence_html(ev: Any, source_value: str = "") -> str:
    if isinstance(ev, Mapping):
        text = str(ev.get("text") or ev.get("quote") or "")
        title = str(ev.get("title") or ev.get("doc") or "")
        section = str(ev.get("section") or "")
        head = " · ".join(esc(x) for x in (title, section) if x)
        return f'<li><span class="ev-src">{head}</span><br>{_evidence_text(text, source_value)}</li>'
    return f"<li>{_evidence_text(str(ev), source_value)}</li>"


def _evidence_text(text: str, source_value: str) -> str:
    """A source sentence with its figures in bold and the one the claim is held against marked."""
    marked = _number_spans(text, [source_value]) if source_value else []
    return _mark_runs(
        text, [(marked, '<mark class="src-fig">', "</mark>"), (figure_spans(text), '<b class="fig">', "</b>")]
    )


def _comparable(a: Figure, b: Figure) -> bool:
    """Two figures of one kind and unit (a bare number goes with any unit): one can gainsay the other."""
    kind = {"comparison": "number"}
    return kind.get(a.kind, a.kind) == kind.get(b.kind, b.kind) and (a.unit == b.unit or not a.unit or not b.unit)


def wrong_figure(text: str, source_value: str) -> tuple[int, int] | None:
    """The span of the figure in a contradicted statement that the source's `source_value` gainsays: one of the same
    kind and unit with another value (the nearest value, if the statement has several); None when the statement
    states the source's very figure (it is then wrong about the year or the area, not the number).

    >>> wrong_figure("2024年高新区GDP为1235亿元", "1135.1亿元")
    (12, 18)
    >>> wrong_figure("2023年高新区GDP为1135.1亿元", "1135.1亿元") is None
    True
    """
    src = extract_figures(source_value)
    if not src:
        return None
    figs = extract_figures(text)
    if any(same_figure(f, src[0]) for f in figs):
        return None
    rivals = [f for f in figs if _comparable(f, src[0])]
    if not rivals:
        return None
    best = min(rivals, key=lambda f: abs(f.value - src[0].value) / max(abs(f.value), abs(src[0].value), 1e-9))
    return best.start, best.end


def _badge(label: str, cls: str) -> str:
    return f'<span class="badge v-{cls}">{esc(label)}</span>'


def _scope_names(scopes: Sequence[str]) -> str:
    return "、".join(active().scope_label(s) for s in scopes)


def _statement_html(st: Mapping[str, Any]) -> str:
    label, cls, _ = VERDICTS.get(str(st.get("verdict")), UNKNOWN_VERDICT)
    text = str(st.get("text", ""))
    value = str(st.get("source_value") or "")
    reason = str(st.get("reason") or "")
    badges = _badge(label, cls) + (_badge(CONFLICT_BADGE, "conflict") if st.get("conflict") else "")
    wrong = wrong_figure(text, value) if cls == "bad" and value else None
    if wrong is not None:
        a, b = wrong
        # The wrong figure struck through in red, the source's figure right after it.
        body = (
            f"{highlight_figures(text[:a])}"
            f'<del class="wrong-fig" title="与资料不符">{esc(text[a:b])}</del>'
            f'<span class="fix">资料为 <b class="src-fig">{esc(value)}</b></span>'
            f"{highlight_figures(text[b:])}"
        )
    else:
        body = highlight_figures(text)
    head = f'<p class="stmt-head">{badges} <span class="stmt-text">{body}</span></p>'
    out = [f'<section class="stmt verdict-{cls}">{head}']
    if cls == "bad" and value:
        if reason == "period" and st.get("source_period") and st.get("periods"):
            said = "、".join(period_text(p) for p in st["source_period"])
            asked = "、".join(period_text(p) for p in st["periods"])
            why = f'资料中的 <b class="src-fig">{esc(value)}</b> 是{esc(said)}的数字，不是{esc(asked)}的。'
        elif reason == "scope" and st.get("source_scope") and st.get("scopes"):
            said, asked = _scope_names(st["source_scope"]), _scope_names(st["scopes"])
            why = f'资料中的 <b class="src-fig">{esc(value)}</b> 是{esc(said)}的数字，不是{esc(asked)}的。'
        elif wrong is None:
            why = f'资料中的数字是 <b class="src-fig">{esc(value)}</b>。'
        else:
            why = ""
        if why:
            out.append(f'<p class="source-value">{why}</p>')
    if st.get("conflict"):
        out.append('<p class="conflict-note">不同资料对此给出的数字不一致，下面列出全部来源，请核对原文。</p>')
    evidence = st.get("evidence") or ()
    if evidence:
        items = "".join(_evidence_html(e, value if cls == "bad" else "") for e in evidence)
        out.append(f'<p class="ev-head">依据：</p><ul class="evidence">{items}</ul>')
    out.append("</section>")
    return "".join(out)


def render_check(result: Mapping[str, Any]) -> str:
    """Fact-check verdict card: a verdict badge (支持 / 矛盾 / 未找到, and 有冲突 when sources disagree), then each
    statement with its badge, the wrong figure struck through next to the source's figure, and the evidence."""
    label, cls, summary = VERDICTS.get(str(result.get("verdict")), UNKNOWN_VERDICT)
    statements = list(result.get("statements") or ())
    conflict = any(st.get("conflict") for st in statements)
    badges = _badge(label, cls) + (_badge(CONFLICT_BADGE, "conflict") if conflict else "")
    out = [
        f'<div class="check verdict-{cls}">',
        f'<div class="check-head">{badges} <span class="check-summary">{esc(summary)}</span></div>',
        f'<p class="claim">说法：{esc(result.get("claim", ""))}</p>',
    ]
    if len(statements) > 1:
        out.append(f'<p class="check-count">拆成 {len(statements)} 条逐一核对：</p>')
    out += [_statement_html(st) for st in statements]
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
