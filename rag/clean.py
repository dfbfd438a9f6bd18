"""Clean a decoded document into heading-aware `Section`s whose characters map back to the source.

What cleaning does, and nothing more (figures stay byte-identical to the source):

* joins line wraps inside sentences: a line that does not end a sentence continues on the next
  non-blank line, with no space between (a space only between two Latin letters, as in a wrapped
  English phrase); real paragraph breaks stay as ``"\\n"`` in `Section.text`;
* drops page markers (``— 6 —``, ``- 6 -``, ``第 6 页``) and whitespace between CJK text and
  anything else; a single space is kept between two Latin/ASCII word characters (``IEC 61215``,
  ``3.7 4.5``: two numbers never merge into one);
* tracks headings (``一、`` > ``（一）`` > ``专栏 1`` > ``1.`` > ``（1）``, markdown ``#``, and the short
  unpunctuated headings of newspaper articles) into `Section.path`, and the document title;
* turns a flattened table (``表 1 …`` caption, header cells, numbered rows spread over lines) into
  one `table_row` Section per row: ``表1 <caption>｜<name column>：<name>｜<column>：<value>…``.

Offsets: ``Section.offsets[i]`` is the index in ``doc.text`` of ``Section.text[i]``. For every
character copied from the source, ``doc.text[offsets[i]] == text[i]``. Characters cleaning adds
(the ``"\\n"`` between paragraphs, a space joining a wrapped English phrase) map to the source
whitespace they replace. In table rows, the synthesized label characters (caption, column names,
``｜``, ``：``) map to the source position of the first character of the cell they label, so
offsets never decrease and ``[offsets[0], offsets[-1] + 1)`` is exactly the row in the source.

>>> from rag.types import Document
>>> src = "标题行\\n\\n一、总则\\n\\n昆山高新区地区生产总\\n\\n — 2 — \\n\\n值 1135.1 亿元。\\n"
>>> [(s.title, s.path, s.text) for s in clean(Document("a.txt", "a.txt", src, ""))]
[('标题行', '一、总则', '昆山高新区地区生产总值1135.1亿元。')]
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass, field

from rag.types import Document, Section

PATH_SEP = " > "
ROW_SEP = "｜"
CELL_SEP = "："

_PAGE_MARKER = re.compile(r"^[—\-–－―]+\s*\d{1,4}\s*[—\-–－―]+$|^第\s*\d{1,4}\s*页(\s*[/,，]?\s*共\s*\d{1,4}\s*页)?$")
_CN_NUM = "一二三四五六七八九十百零〇"
_STRONG_HEADINGS = (
    (re.compile(r"^(#{1,6})\s+\S"), 0),  # level = number of '#'
    (re.compile(rf"^第[{_CN_NUM}\d]+[章篇]"), 1),
    (re.compile(rf"^[{_CN_NUM}]+、\S"), 1),
    (re.compile(rf"^第[{_CN_NUM}\d]+节"), 2),
    (re.compile(rf"^（[{_CN_NUM}]+）\S"), 2),
    (re.compile(r"^专栏\s*\d+"), 3),
)
_WEAK_HEADINGS = (
    (re.compile(r"^\d{1,2}\.(?!\d)\s*\S"), 4),
    (re.compile(r"^（\d{1,2}）\S"), 5),
    (re.compile(r"^\(\d{1,2}\)\S"), 5),
)
_NEWS_HEADING_LEVEL = 1
_TABLE_CAPTION = re.compile(r"^表\s*(\d+)\s*(\S.*)$")
_CLAUSE_PUNCT = re.compile(r"[，。；：！？,;:!?、]")
_SENTENCE_END = ("。", "！", "？", "!", "?", "…")
_CLOSERS = "”’」』）)】》\"'"
_FRONT_MATTER = {"前言", "目录", "序言", "引言", "序", "摘要"}
_BYLINE = re.compile(r"^▶|记者|通讯员")
_DATELINE = re.compile(r"^\s*(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?\s*$")
_VALUE = r"[＞>＜<≥≤约~]?[-+]?\d+(?:\.\d+)?%?"


@dataclass
class _Line:
    text: str  # the source line with surrounding whitespace stripped
    start: int  # index of text[0] in doc.text
    blank_before: bool  # a blank line or page marker separates it from the previous kept line


@dataclass
class _Item:
    kind: str  # "heading" | "para" | "table_row"
    level: int = 0
    heading: str = ""
    news: bool = False  # an unnumbered newspaper heading (may continue on the next line)
    md: bool = False  # a markdown '#' heading (docx headings arrive as these too)
    chars: list[tuple[str, int]] = field(default_factory=list)


def clean(doc: Document) -> list[Section]:
    """Split `doc` into cleaned Sections (text paragraphs per heading, one Section per table row)."""
    lines = _lines(doc.text)
    items = _items(lines, joinable=not doc.doc.lower().endswith(".docx"))
    if all(it.kind == "heading" for it in items):
        # Only short lines (a one-line note): they are the content, not headings of nothing.
        items = [_Item("para", chars=it.chars) for it in items]
    title, items = _take_title(items, doc.doc)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    paras: list[list[tuple[str, int]]] = []

    def flush() -> None:
        if paras:
            chars: list[tuple[str, int]] = []
            for p in paras:
                if chars:
                    chars.append(("\n", chars[-1][1] + 1))
                chars.extend(p)
            sections.append(_section(doc.doc, title, _path(stack), chars, "text"))
            paras.clear()

    for it in items:
        if it.kind == "heading":
            flush()
            while stack and stack[-1][0] >= it.level:
                stack.pop()
            stack.append((it.level, it.heading))
        elif it.kind == "para":
            chars = _squeeze(it.chars)
            if chars:
                paras.append(chars)
        else:
            flush()
            sections.append(_section(doc.doc, title, _path(stack), it.chars, "table_row"))
    flush()
    return sections


def doc_lead(sections: list[Section], limit: int = 300) -> str:
    """Title plus the first `limit` characters of text: what doc-level period/scope defaults are
    read from (a byline section alone is too short to say anything)."""
    if not sections:
        return ""
    parts: list[str] = []
    size = 0
    for s in sections:
        if s.kind == "text" and size < limit:
            parts.append(s.text[: limit - size])
            size += len(parts[-1])
    return sections[0].title + "\n" + "\n".join(parts)


# ---------------------------------------------------------------- lines → items


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    blank = False
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped and not _PAGE_MARKER.match(stripped):
            lead = len(raw) - len(raw.lstrip())
            out.append(_Line(stripped, pos + lead, blank or not out))
            blank = False
        else:
            blank = True
        pos += len(raw) + 1
    return out


def _items(lines: list[_Line], *, joinable: bool) -> list[_Item]:
    lengths = [len(ln.text) for ln in lines if len(ln.text) >= 10] or [80]
    width = statistics.median(lengths)
    # Hard-wrapped sources (PDF extractions: ~20-30 chars a line) end many lines at a ；/： that is
    # not a paragraph end; a line that fills the column continues whatever it ends with.
    hard_wrapped = sorted(lengths)[int(0.9 * (len(lengths) - 1))] <= 60
    full = 0.85 * width
    short = min(20, int(0.7 * width))

    items: list[_Item] = []
    cur: list[_Line] = []

    def flush() -> None:
        if cur:
            items.append(_Item("para", chars=_join(cur)))
            cur.clear()

    i = 0
    while i < len(lines):
        ln = lines[i]
        s = ln.text
        if _TABLE_CAPTION.match(s):
            rows, j = _parse_table(lines, i)
            if rows:
                flush()
                items.extend(rows)
                i = j
                continue
        single = not _CELL_GAP.search(s) and _single_spaced(lines, i)
        if _CELL_GAP.search(s) or single:
            # The caption is the heading just before, or the 表N line just before when it heads no numbered rows.
            cap = _TABLE_CAPTION.match(cur[0].text) if len(cur) == 1 else None
            if cap:
                caption = f"表{cap.group(1)} {_heading_text(cap.group(2))}"
            elif not cur:
                caption = next((it.heading for it in reversed(items) if it.kind == "heading"), "")
            else:
                caption = ""
            rows, j = _parse_plain_table(lines, i, caption or "表", single)
            if rows:
                flush()
                items.extend(rows)
                i = j
                continue
        level = _heading_level(s, _STRONG_HEADINGS)
        if level:
            flush()
            items.append(
                _Item("heading", level=level, heading=_heading_text(s), md=s.startswith("#"), chars=_join([ln]))
            )
            i += 1
            continue
        if _BYLINE.search(s) and len(s) <= 40:
            flush()
            items.append(_Item("para", chars=_join([ln])))  # "▶ 本报记者 …": standalone, never continued
            i += 1
            continue
        if i == 0 and len(s) <= 40 and not _ends_paragraph(s, False) and not s.endswith(("，", ",", "、")):
            # The first line of a file is its title when it is short and ends no sentence ("A：B C").
            items.append(_news_heading(ln))
            i += 1
            continue
        if cur and joinable and not _ends_paragraph(cur[-1].text, hard_wrapped and len(cur[-1].text) >= full):
            cur.append(ln)
            i += 1
            continue
        flush()
        level = _heading_level(s, _WEAK_HEADINGS) if len(s) <= 30 and not re.search(r"[。；，]", s) else 0
        if level:
            items.append(_Item("heading", level=level, heading=_heading_text(s), chars=_join([ln])))
        elif (
            len(s) <= short
            and not _CLAUSE_PUNCT.search(s)
            and re.search(r"[^\d\s.%]", s)
            # Right under a numbered heading a short line is that section's first line, not another heading.
            and not (items and items[-1].kind == "heading" and not items[-1].news)
        ):
            prev = items[-1] if items else None
            if prev is not None and prev.kind == "heading" and prev.news and not ln.blank_before:
                prev.heading += " " + _heading_text(s)  # a two-line newspaper heading
                prev.chars += _join([ln])
            else:
                items.append(_news_heading(ln))
        else:
            cur.append(ln)
        i += 1
    flush()
    return items


def _news_heading(ln: _Line) -> _Item:
    return _Item("heading", level=_NEWS_HEADING_LEVEL, heading=_heading_text(ln.text), news=True, chars=_join([ln]))


def _heading_level(s: str, patterns) -> int:
    for rx, level in patterns:
        m = rx.match(s)
        if m:
            return len(m.group(1)) if level == 0 else level
    return 0


def _heading_text(s: str) -> str:
    s = s.lstrip("#").strip()
    if re.fullmatch(r"[\u3400-\u9fff](\s+[\u3400-\u9fff])+", s):
        return re.sub(r"\s+", "", s)  # letter-spaced "前  言" → "前言"
    return re.sub(r"\s+", " ", s)  # "专栏 1  新显示" → "专栏 1 新显示"; "辉煌 奋勇" keeps its space


def _ends_paragraph(s: str, fills_column: bool) -> bool:
    """Whether a line ends its paragraph: sentence punctuation, allowing for closing quotes."""
    core = s.rstrip(_CLOSERS)
    if core.endswith(_SENTENCE_END) or _DATELINE.match(s):
        return True  # a sentence's end, or a dateline ("2026年10月20日") standing alone
    if core != s:
        return False  # 《苏州市“十四五” | 科技发展规划》: a quote closed mid-sentence
    if core.endswith(("；", "：", ";", ":")):
        return not fills_column
    return False


def _join(lines: list[_Line]) -> list[tuple[str, int]]:
    chars: list[tuple[str, int]] = []
    for ln in lines:
        if chars and _latin(chars[-1][0]) and _latin(ln.text[0]):
            chars.append((" ", chars[-1][1] + 1))  # a wrapped English phrase keeps its space
        chars.extend((c, ln.start + k) for k, c in enumerate(ln.text))
    return chars


def _latin(c: str) -> bool:
    return c.isalpha() and not _cjk(c)


def _word(c: str) -> bool:
    return (c.isascii() and (c.isalnum() or c in "%.+-/)")) or _latin(c)


def _cjk(c: str) -> bool:
    return unicodedata.east_asian_width(c) in ("W", "F")


def _squeeze(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Drop whitespace runs, except one space between two word characters (``IEC 61215``, ``3.7 4.5``)."""
    out: list[tuple[str, int]] = []
    i = 0
    n = len(chars)
    while i < n:
        c, p = chars[i]
        if c.isspace():
            j = i
            while j < n and chars[j][0].isspace():
                j += 1
            if out and j < n and _word(out[-1][0]) and _word(chars[j][0]) and chars[j][0] not in "%.)":
                out.append((" ", p))
            i = j
            continue
        out.append((c, p))
        i += 1
    return out


def _take_title(items: list[_Item], name: str) -> tuple[str, list[_Item]]:
    """The title is an unnumbered heading before any text (not 前言/目录); else the opening words."""
    for k, it in enumerate(items):
        if it.kind != "heading":
            break
        if (it.news or (it.md and it.level == 1)) and it.heading.replace(" ", "") not in _FRONT_MATTER:
            return it.heading, items[:k] + items[k + 1 :]
    first = next((it for it in items if it.kind == "para"), None)
    if first is None:
        return name, items
    text = "".join(c for c, _ in _squeeze(first.chars))
    m = re.search(r"[。！？]", text)
    sentence = text[: m.start()] if m else text
    return (sentence[:30] + "…" if len(sentence) > 30 else sentence) or name, items


def _path(stack: list[tuple[int, str]]) -> str:
    return PATH_SEP.join(h for _, h in stack)


def _section(doc: str, title: str, path: str, chars: list[tuple[str, int]], kind: str) -> Section:
    return Section(
        doc=doc,
        title=title,
        path=path,
        text="".join(c for c, _ in chars),
        offsets=tuple(p for _, p in chars),
        kind=kind,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------- flattened tables


def _parse_table(lines: list[_Line], i: int) -> tuple[list[_Item], int]:
    """Rebuild a table whose cells were extracted one run per line.

    Layout handled (004's 表 1): caption line, header cells over a few lines, then rows
    ``<n> <name…> <value> <value>`` where a long name may wrap over lines. Returns the row
    items and the index of the first line after the table; ([], i) when it does not fit.
    """
    m = _TABLE_CAPTION.match(lines[i].text)
    assert m is not None
    caption = f"表{m.group(1)} {_heading_text(m.group(2))}"
    j = i + 1
    header: list[_Line] = []
    while j < len(lines) and not re.match(r"^1(\s|$)", lines[j].text):
        header.append(lines[j])
        j += 1
        if len(header) > 8:
            return [], i
    if not header or j >= len(lines):
        return [], i
    head = " ".join(h.text for h in header)
    years = list(re.finditer(r"\d{4}\s*年", head))
    k = len(years)
    if k:
        value_cols = [re.sub(r"\s+", "", head[a.start() : b.start() if b else None]) for a, b in _pairs(years)]
        lead = head[: years[0].start()].split()
    else:
        first = re.findall(rf"\s({_VALUE})(?=\s|$)", lines[j].text)
        k = len(first)
        tokens = head.split()
        if not k or len(tokens) < k:
            return [], i
        value_cols, lead = tokens[-k:], tokens[:-k]
    name_col = lead[-1] if lead else "指标"
    # A cell may be "—" (not reported): the row is still a row, its other cells still values.
    row_rx = re.compile(rf"^(\d+)\s+(\S.*?)((?:\s+(?:{_VALUE}|{_NO_VALUE.pattern})){{{k}}})\s*$")

    items: list[_Item] = []
    n = 1
    while j < len(lines) and re.match(rf"^{n}(\s|$)", lines[j].text):
        row = [lines[j]]
        j += 1
        while j < len(lines) and len(row) < 6:
            joined = " ".join(r.text for r in row)
            if re.match(rf"^{n + 1}(\s|$)", lines[j].text) or _heading_level(lines[j].text, _STRONG_HEADINGS):
                break
            if row_rx.match(joined):
                break  # complete row and the next line starts no new row: the table ends
            row.append(lines[j])
            j += 1
        item = _table_row(row, row_rx, caption, name_col, value_cols)
        if item is None:
            return ([], i) if not items else (items, j - len(row))
        items.append(item)
        n += 1
    return items, j


_CELL_GAP = re.compile(r"\S(?:\t+|\s{2,})\S")


def _single_spaced(lines: list[_Line], i: int) -> bool:
    """Whether line `i` heads a table whose cells are apart by one space ("指标 2025年 2026年1—9月"): short
    words with no clause punctuation, over a row of as many cells, all but the first of them values."""
    head = lines[i].text.split()
    if len(head) < 3 or len(lines[i].text) > 60 or _CLAUSE_PUNCT.search(lines[i].text) or i + 1 >= len(lines):
        return False
    row = lines[i + 1].text.split()
    return len(row) == len(head) and all(_cell_ok(c, v) for c, v in zip(head[1:], row[1:], strict=True))


_NO_VALUE = re.compile(r"[—–\-/…]{1,2}")  # a cell left empty on purpose ("—": not reported)
_UNIT_HEADER = re.compile(r"(?:计量)?单位")


def _cell_ok(column: str, cell: str) -> bool:
    """Whether `cell` can sit under `column` in a table row: a value, a dash for none, or a unit in the unit
    column ("单位" over "亿千瓦时")."""
    if _UNIT_HEADER.fullmatch(column):
        return len(cell) <= 8 and not re.search(r"\d", cell)
    return bool(re.fullmatch(_VALUE, cell) or _NO_VALUE.fullmatch(cell))


def _cells(ln: _Line, single: bool = False) -> list[tuple[int, int]]:
    """(start, end) in the line of each cell of a plain-text table row (cells apart by a tab or 2+ spaces;
    by any space in a `single`-spaced table)."""
    out, pos = [], 0
    for m in re.finditer(r"\s+|$" if single else r"\t+|\s{2,}|$", ln.text):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    return out


def _parse_plain_table(lines: list[_Line], i: int, caption: str, single: bool = False) -> tuple[list[_Item], int]:
    """A plain-text indicator table: a header row of column names, then rows ``<indicator>  <value>  <value>``
    (cells apart by a tab or two spaces). Returns the row items and the next line's index; ([], i) otherwise.

    Rows come out as the 表1 rows do (``<caption>｜<name column>：<name>｜<column>：<value>…``), so their
    cells are read as facts with the column's period and kind.
    """
    head = _cells(lines[i], single)
    k = len(head) - 1
    if k < 1 or any(len(lines[i].text[a:b]) > 16 or _CLAUSE_PUNCT.search(lines[i].text[a:b]) for a, b in head):
        return [], i
    columns = [re.sub(r"\s+", "", lines[i].text[a:b]) for a, b in head]
    items: list[_Item] = []
    j = i + 1
    while j < len(lines):
        ln = lines[j]
        cells = _cells(ln, single)
        ok = len(cells) == k + 1 and all(
            _cell_ok(c, ln.text[a:b]) for c, (a, b) in zip(columns[1:], cells[1:], strict=True)
        )
        if not ok:
            break
        name = [(c, ln.start + a) for a, c in enumerate(ln.text[: cells[0][1]])]
        out = [(c, ln.start) for c in f"{caption}{ROW_SEP}{columns[0]}{CELL_SEP}"] + name
        for col, (a, b) in zip(columns[1:], cells[1:], strict=True):
            out += [(c, ln.start + a) for c in f"{ROW_SEP}{col}{CELL_SEP}"]
            out += [(ln.text[x], ln.start + x) for x in range(a, b)]
        items.append(_Item("table_row", chars=out))
        j += 1
    return (items, j) if len(items) >= 2 else ([], i)


def _pairs(ms: list[re.Match]) -> list[tuple[re.Match, re.Match | None]]:
    return [(m, ms[k + 1] if k + 1 < len(ms) else None) for k, m in enumerate(ms)]


def _table_row(
    row: list[_Line], row_rx: re.Pattern, caption: str, name_col: str, value_cols: list[str]
) -> _Item | None:
    chars: list[tuple[str, int]] = []
    for ln in row:
        if chars:
            chars.append((" ", chars[-1][1] + 1))
        chars.extend((c, ln.start + k) for k, c in enumerate(ln.text))
    joined = "".join(c for c, _ in chars)
    m = row_rx.match(joined)
    if not m:
        return None
    name = _squeeze(chars[m.start(2) : m.end(2)])
    values = [(v.start(), v.end()) for v in re.finditer(r"\S+", m.group(3))]
    base = m.start(3)

    def label(text: str, pos: int) -> list[tuple[str, int]]:
        return [(c, pos) for c in text]

    # The caption label stands on the row number, so the row's source span is the whole row ("11 海内外…").
    out = label(f"{caption}{ROW_SEP}{name_col}{CELL_SEP}", chars[m.start(1)][1])
    out += name
    for col, (a, b) in zip(value_cols, values, strict=True):
        cell = chars[base + a : base + b]
        out += label(f"{ROW_SEP}{col}{CELL_SEP}", cell[0][1]) + cell
    return _Item("table_row", chars=out)
