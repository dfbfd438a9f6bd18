"""Citation markers: parse `[n]` in model output, drop invented ids, resolve to exact source spans.

The model sees passages numbered 1..N. It may write `[1]`, `[1,2]`, `[1][2]`, `【1】`,
`［1］` or `[资料1]`; everything is normalised to `[1][2]`. A number that names no
passage (0, N+1, "1a") is removed from the text and reported, never silently kept.

>>> clean_markers("GDP 1135.1亿元[1，3]。增长6.3%【7】", n_passages=3)
('GDP 1135.1亿元[1][3]。增长6.3%', ('7',))
>>> [(c.text, c.cites) for c in split_claims("GDP 1135.1亿元。[1] 排名第31位[2]。")]
[('GDP 1135.1亿元。[1]', (1,)), ('排名第31位[2]。', (2,))]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.numbers import extract_figures, same_figure
from rag.types import Chunk, Citation, Claim, Hit

_MARKER = re.compile(r"[\[【［]\s*([^\[\]【】［］\n]{1,16}?)\s*[\]】］]")
_LABEL = re.compile(r"^(?:资料|段落|来源|文档|参考|passage|source|ref)\s*", re.IGNORECASE)
_SPLIT_IDS = re.compile(r"\s*[,，、;；]\s*|\s+")
_TERMINATORS = "。！？!?\n"
_CLAUSE_TERMINATORS = "。！？!?；;\n"


def _marker_ids(content: str) -> list[str] | None:
    """The id tokens of a bracket's content, or None when the bracket is not a citation (e.g. "[注]")."""
    if not re.search(r"\d", content):
        return None
    body = _LABEL.sub("", content.strip())
    parts = [p for p in _SPLIT_IDS.split(body) if p]
    out: list[str] = []
    for p in parts:
        m = re.fullmatch(r"(\d+)\s*[-–~]\s*(\d+)", p)
        if m and int(m.group(1)) <= int(m.group(2)) <= int(m.group(1)) + 10:
            out.extend(str(i) for i in range(int(m.group(1)), int(m.group(2)) + 1))
        else:
            out.append(_LABEL.sub("", p))
    return out


def clean_markers(text: str, n_passages: int) -> tuple[str, tuple[str, ...]]:
    """Rewrite every citation marker as `[a][b]` with only ids 1..n_passages; report the rest.

    >>> clean_markers("见[0]和[2a]与[资料2]", n_passages=2)
    ('见和与[2]', ('0', '2a'))
    """
    invented: list[str] = []

    def repl(m: re.Match[str]) -> str:
        ids = _marker_ids(m.group(1))
        if ids is None:
            return m.group(0)
        keep: list[int] = []
        for tok in ids:
            if tok.isdigit() and 1 <= int(tok) <= n_passages:
                if int(tok) not in keep:
                    keep.append(int(tok))
            else:
                invented.append(tok)
        return "".join(f"[{i}]" for i in keep)

    # Until nothing changes: removing "[5]" from "[7[5]]" leaves a new marker "[7]" to judge.
    out, prev = _MARKER.sub(repl, text), text
    while out != prev:
        prev, out = out, _MARKER.sub(repl, out)
    # "[1][1]" after normalisation (the model repeating itself) says nothing more than "[1]".
    out = re.sub(r"(\[\d+\])(?:\1)+", r"\1", out)
    return out, tuple(invented)


def marker_numbers(text: str) -> tuple[int, ...]:
    """Citation numbers in `text`, in order of first appearance (no range check)."""
    seen: list[int] = []
    for m in _MARKER.finditer(text):
        for tok in _marker_ids(m.group(1)) or ():
            if tok.isdigit() and int(tok) not in seen:
                seen.append(int(tok))
    return tuple(seen)


def strip_markers(text: str) -> str:
    """`text` without citation markers (other brackets are kept).

    >>> strip_markers("GDP 1135.1亿元[1]。[注]")
    'GDP 1135.1亿元。[注]'
    """
    return _MARKER.sub(lambda m: "" if _marker_ids(m.group(1)) is not None else m.group(0), text)


def split_claims(answer: str) -> list[Claim]:
    """Sentences of `answer` with their citation numbers.

    Markers written right after the full stop ("…6.3%。[1]") belong to that sentence,
    as small models often put them there.
    """
    claims: list[Claim] = []
    i, start, n = 0, 0, len(answer)
    while i < n:
        ch = answer[i]
        if ch in _TERMINATORS:
            j = i + 1
            while j < n and answer[j] in _TERMINATORS and answer[j] != "\n":
                j += 1
            # Swallow markers (and the spaces between them) that trail the terminator.
            while True:
                m = re.compile(r"[ \t]*").match(answer, j)
                k = m.end() if m else j
                mk = _MARKER.match(answer, k)
                if mk and _marker_ids(mk.group(1)) is not None:
                    j = mk.end()
                else:
                    break
            _add_claim(claims, answer, start, j)
            start, i = j, j
        else:
            i += 1
    _add_claim(claims, answer, start, n)
    return claims


LOOP_CHARS = 24  # a stretch this long said again is a small model's loop, not an answer saying a thing twice


def loop_end(draft: str) -> int:
    """Where a streaming `draft` that has started to repeat itself should end: after one full copy of the
    repeated stretch, at a clause boundary; -1 while it does not repeat.

    >>> d = "致辞的是甲乙丙[1]。仪式上代表管委会致辞的是甲乙丙，仪式上代表管委会致辞的是甲乙丙，仪式上代表管委会致辞"
    >>> d[: loop_end(d)], loop_end("致辞的是甲乙丙[1]。")
    ('致辞的是甲乙丙[1]。仪式上代表管委会致辞的是甲乙丙，', -1)
    """
    tail = draft[-LOOP_CHARS:]
    first = draft.find(tail)
    if len(tail) < LOOP_CHARS or first + LOOP_CHARS >= len(draft):
        return -1
    period = len(draft) - LOOP_CHARS - first
    start = first
    while start > 0 and draft[start - 1] == draft[start - 1 + period]:
        start -= 1
    end = start + period
    cut = max(draft.rfind(ch, 0, end) for ch in "。；;，,！？!?\n") + 1
    return cut if cut > 0 else end


def finished(draft: str) -> int:
    """Where the sentences of a streaming `draft` that can no longer change end (0 when none has).

    A sentence is finished once something other than its trailing markers follows its full stop:
    until then a `[n]` may still arrive after "。", and a sentence checked without it would be uncited.

    >>> finished("GDP 1135.1亿元。[1")
    0
    >>> d = "GDP 1135.1亿元。[1] 增长"
    >>> d[: finished(d)]
    'GDP 1135.1亿元。[1]'
    """
    claims = split_claims(draft)
    for claim in reversed(claims):
        rest = draft[claim.end :].lstrip()
        ended = strip_markers(claim.text).rstrip()[-1:] in _TERMINATORS or draft[claim.end : claim.end + 1] == "\n"
        if ended and rest and rest[0] not in "[【［":
            return claim.end
    return 0


def _add_claim(claims: list[Claim], answer: str, start: int, end: int) -> None:
    seg = answer[start:end]
    stripped = seg.strip()
    if not stripped or not strip_markers(stripped).strip(" \t\n。！？!?，,；;：:"):
        return
    lead = len(seg) - len(seg.lstrip())
    s = start + lead
    e = s + len(stripped)
    claims.append(Claim(text=answer[s:e], start=s, end=e, cites=marker_numbers(stripped)))


# --------------------------------------------------------------------------- spans


def sentence_spans(text: str, terminators: str = _CLAUSE_TERMINATORS) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, terminator included, surrounding blanks excluded.

    >>> t = "甲。乙；丙"
    >>> [t[s:e] for s, e in sentence_spans(t)]
    ['甲。', '乙；', '丙']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in terminators:
            spans.append((start, i + 1))
            start = i + 1
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        seg = text[s:e]
        if seg.strip(" \t\n\r\u3000。！？!?；;"):
            s2 = s + len(seg) - len(seg.lstrip())
            out.append((s2, s2 + len(seg.strip())))
    return out


_QUOTE_MARKS = re.compile(r"[“”‘’「」『』\"']")


def unquoted(text: str) -> str:
    """`text` without quote marks, which Chinese puts inside words: unquoted("“保姆”式服务") == "保姆式服务"."""
    return _QUOTE_MARKS.sub("", text)


def bigrams(text: str) -> set[str]:
    """Character bigrams of the CJK runs plus whole Latin words and numbers (the overlap currency).

    Quote marks are dropped first: Chinese puts them inside words ("“保姆”式服务" is 保姆式服务).

    >>> sorted(bigrams("GDP增长")), bigrams("“保姆”式") == bigrams("保姆式")
    (['gdp', '增长'], True)
    """
    out: set[str] = set()
    for run in re.findall(r"[\u4e00-\u9fff]+|[A-Za-z]+|\d+(?:\.\d+)?", unquoted(text)):
        if run[0] >= "\u4e00":
            if len(run) == 1:
                out.add(run)
            out.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.add(run.lower())
    return out


def overlap(query: set[str], text_grams: set[str]) -> float:
    """Share of `query` found in `text_grams` (0 when `query` is empty)."""
    return len(query & text_grams) / len(query) if query else 0.0


def word_overlap(query: set[str], text_grams: set[str]) -> float:
    """`overlap`, where a one-character word (a claim's whole metric: "奖" of "…，奖300万元") is found inside a
    longer one ("奖励"). For a claim's metric only: in a question's key a lone 投 would match every 投资.

    >>> word_overlap({"奖"}, {"给予", "奖励"}), word_overlap({"奖", "金额"}, {"奖励"})
    (1.0, 0.5)
    """
    if not query:
        return 0.0
    found = query & text_grams
    singles = {q for q in query - found if len(q) == 1 and "\u4e00" <= q <= "\u9fff"}
    if singles:
        chars = set("".join(text_grams))
        found = found | {q for q in singles if q in chars}
    return len(found) / len(query)


def source_offset(chunk: Chunk, i: int) -> int:
    """Source offset of `chunk.text[i]`.

    Approximation: chunk text is cleaned, so it can be shorter than its source span
    (joined PDF line wraps, dropped page markers). We assume the removed characters are
    spread evenly and interpolate linearly between `chunk.start` and `chunk.end`; when
    the lengths agree (plain text) this is exact, `chunk.start + i`.
    """
    n = len(chunk.text)
    if n == 0:
        return chunk.start
    width = chunk.end - chunk.start
    if width == n:
        return chunk.start + i
    return chunk.start + min(width, max(0, round(i * width / n)))


def source_span(chunk: Chunk, s: int, e: int) -> tuple[int, int]:
    """Exact source offsets of chunk.text[s:e]: cleaning drops only whitespace (and page markers) inside it,
    so the span is found again in the source with whitespace ignored. Table rows are rebuilt text: the row's
    own source span, or `source_offset`'s interpolation inside it.

    >>> t = "GDP 1135.1亿元。增长6.3%。"
    >>> c = Chunk("c", "d", "T", "", t.replace(" ", ""), 10, 10 + len(t), source=t)
    >>> source_span(c, c.text.index("增长"), len(c.text))
    (23, 30)
    """
    if chunk.kind == "table_row" or not chunk.source:
        whole = (s, e) == (0, len(chunk.text))
        return (chunk.start, chunk.end) if whole else (source_offset(chunk, s), source_offset(chunk, e))
    keep = [i for i, ch in enumerate(chunk.source) if not ch.isspace()]
    flat = "".join(chunk.source[i] for i in keep)
    want = re.sub(r"\s", "", chunk.text[s:e])
    at = flat.find(want, len(re.sub(r"\s", "", chunk.text[:s])))
    if want and at >= 0:
        return chunk.start + keep[at], chunk.start + keep[at + len(want) - 1] + 1
    head, tail = flat.find(want[:6]), flat.find(want[-6:])
    if want and 0 <= head <= tail:  # a page marker inside the sentence: anchor both ends
        return chunk.start + keep[head], chunk.start + keep[tail + len(want[-6:]) - 1] + 1
    return source_offset(chunk, s), source_offset(chunk, e)


def best_span(claim: str, chunk: Chunk) -> tuple[int, int]:
    """The chunk sentence(s) that support `claim`: (start, end) inside `chunk.text`.

    The sentence with most bigram overlap wins; following sentences are added (up to 3 in all)
    while figures of the claim are still missing from the span.
    """
    spans = sentence_spans(chunk.text) or [(0, len(chunk.text))]
    plain = strip_markers(claim)
    grams = bigrams(plain)
    figs = [f for f in extract_figures(plain) if f.kind != "year"]

    def score(span: tuple[int, int]) -> float:
        seg = chunk.text[span[0] : span[1]]
        seg_figs = extract_figures(seg)
        hit = sum(1 for f in figs if any(same_figure(f, g) for g in seg_figs))
        return 2.0 * hit + overlap(grams, bigrams(seg))

    best = max(range(len(spans)), key=lambda k: score(spans[k]))
    lo = hi = best

    def missing(lo: int, hi: int) -> int:
        seg_figs = extract_figures(chunk.text[spans[lo][0] : spans[hi][1]])
        return sum(1 for f in figs if not any(same_figure(f, g) for g in seg_figs))

    while hi - lo < 2 and missing(lo, hi):
        grew = False
        for cand in ((lo, hi + 1), (lo - 1, hi)):
            if 0 <= cand[0] and cand[1] < len(spans) and missing(*cand) < missing(lo, hi):
                lo, hi = cand
                grew = True
                break
        if not grew:
            break
    return spans[lo][0], spans[hi][1]


def make_citation(n: int, claim: str, hit: Hit) -> Citation:
    """Citation `[n]` of `claim` to passage `hit`, with the exact supporting sentence(s)."""
    c = hit.chunk
    s, e = best_span(claim, c)
    return Citation(
        n=n,
        chunk_id=c.id,
        doc=c.doc,
        title=c.title,
        section=c.section,
        text=c.text[s:e],
        start=(span := source_span(c, s, e))[0],
        end=span[1],
        tier=c.tier,
    )


def resolve_citations(answer: str, passages: Sequence[Hit]) -> list[Citation]:
    """One `Citation` per distinct (n, span) cited in `answer`; ids outside 1..len(passages) are ignored.

    Use `clean_markers` first to report invented ids.
    """
    out: list[Citation] = []
    seen: set[tuple[int, int, int]] = set()
    for claim in split_claims(answer):
        for n in claim.cites:
            if not 1 <= n <= len(passages):
                continue
            cit = make_citation(n, claim.text, passages[n - 1])
            key = (n, cit.start, cit.end)
            if key not in seen:
                seen.add(key)
                out.append(cit)
    return out


def with_cites(text: str, cites: Sequence[int]) -> str:
    """Sentence text with exactly `cites` as markers, placed before its closing punctuation."""
    body = strip_markers(text).rstrip()
    end = len(body)
    while end > 0 and body[end - 1] in "。！？!?；;":
        end -= 1
    return body[:end] + "".join(f"[{n}]" for n in cites) + body[end:]
