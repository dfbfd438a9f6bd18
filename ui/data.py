"""The 数据 tab: the figures the documents state for one metric and area, as a chart and a table, every
point linked to the sentence that states it; and the records of the `/facts` API.

The facts were bound at index time (`rag.bind`) and are queried through `rag.facts.FactStore`; nothing here
reads a document again or computes a value. Pure functions (`fact_rows`, `table_rows`, `plot_frame`,
`csv_text`, `fact_card`, `fact_record`) turn facts into plain data and HTML and are unit-tested without a
server; `DataService` holds the loaded index; `build_data_tab` places the components in the caller's Blocks.

>>> from rag.types import Fact
>>> f = Fact("a", "a.txt", "c", "地区生产总值", "地区生产总值", "2024", "zone", 113_510_000_000.0, "元",
...          "1135.1亿元", "", "actual", "number", "高新区", "2024年,高新区地区生产总值1135.1亿元。", 9, 17)
>>> r = fact_rows([f])[0]
>>> (r.period_label, r.value_text, r.unit, r.kind_label, r.sentence_html)
('2024年', '1135.1', '亿元', '实际', '2024年,高新区地区生产总值<mark class="fig">1135.1亿元</mark>。')
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import re
import tempfile
import threading
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from rag.facts import FactStore, period_key
from rag.profile import Profile, activate, active
from rag.settings import Settings
from rag.types import Chunk, Fact
from ui import render

log = logging.getLogger("gaoxin.ui.data")

KIND_LABELS = {"actual": "实际", "target": "目标", "forecast": "预测"}
COMPUTED_LABEL = "计算"  # a value derived by code is never drawn as if a document stated it
KIND_COLORS = {"实际": "#1f6fb2", "目标": "#e07b00", "预测": "#8a5cc2", COMPUTED_LABEL: "#8c8c8c"}
HEADERS = ["序号", "时期", "数值", "单位", "类型", "范围", "指标（原文用词）", "文档", "原文", "有冲突"]
DATATYPES = ["number", "str", "str", "str", "str", "str", "str", "str", "html", "str"]
CSV_HEADERS = [
    "时期", "数值", "单位", "原文数字", "类型", "范围", "指标", "指标（原文用词）", "文档标题", "文件", "起始", "结束",
    "原文", "有冲突", "冲突来源",
]  # fmt: skip
CONFLICT_MARK = "⚠️ 有冲突"
MAX_METRIC_CHARS = 60  # a metric name is a few words; anything longer is pasted text, not a name
# Amounts are stored in their base unit (1135.1亿元 → 113510000000 元); the chart and the table show them
# in the magnitude the documents use, the same for every row of one unit so the column compares.
MAGNITUDES = {"元": ((1e8, "亿元"), (1e4, "万元")), "美元": ((1e8, "亿美元"), (1e4, "万美元"))}

EMPTY_METRIC = "请先选择或输入一个指标，例如「地区生产总值」或「GDP」。"
NO_INDEX = "⚠️ 索引不可用，请先运行 `gaoxin index build`。"
PICK_HINT = '<div class="fact-card empty">点击表格中的一行（或在图中框选时期），这里会显示该数字的原文出处。</div>'

CSS = """
#data-source .src { border: 1px solid #d08c00; border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
#data-source .src header { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 4px; }
#data-source .src-n { font-weight: bold; color: var(--body-text-color); }
#data-source .src-scope { padding: 0 4px; border-radius: 4px; background: #e8f0fe; color: #1a4fa0; }
#data-source .src-doc { font-size: 0.75em; color: var(--body-text-color-subdued); }
#data-source .fact-head { font-weight: bold; }
#data-source .conflict-note, #data-conflicts { color: #a00; }
#data-table mark.fig, #data-source mark.fig { background: #fff2b3; color: inherit; font-weight: bold; }
"""


# ---------------------------------------------------------------- choices


def metric_choices(profile: Profile, facts: Iterable[Fact] = ()) -> list[tuple[str, str]]:
    """(label, value) pairs for the metric box: the profile's metrics, their other names (label "GDP → 地区生产总值",
    value the alias itself, which `FactStore` resolves), the canonical metrics the facts carry, and the
    wording of table rows (a table row names its metric cleanly, unlike the words beside a figure in prose).

    >>> p = Profile.from_dict({"scopes": [{"id": "zone", "names": ["高新区"]}], "metrics": {"地区生产总值": ["GDP"]}})
    >>> metric_choices(p)
    [('地区生产总值', '地区生产总值'), ('GDP → 地区生产总值', 'GDP')]
    """
    out: dict[str, str] = {}
    for canon, aliases in profile.metrics:
        out.setdefault(canon, canon)
        for alias in aliases:
            if alias != canon:
                out.setdefault(alias, f"{alias} → {canon}")
    for short, full in profile.metric_synonyms:
        canon = profile.metric_of(full)
        if canon and short not in out and short.upper() not in out:  # "gdp" beside "GDP" is no other name
            out[short] = f"{short} → {canon}"
    facts = tuple(facts)
    for f in sorted(facts, key=lambda f: f.metric_id):
        if f.metric_id and f.metric_id not in out:
            out[f.metric_id] = f.metric_id
    for f in facts:
        if f.table and not f.metric_id and f.metric and f.metric not in out:
            out[f.metric] = f"{f.metric}（表格）"
    return [(label, value) for value, label in out.items()]


def scope_choices(profile: Profile) -> list[tuple[str, str]]:
    """(label, id) of every area the profile knows, narrowest first."""
    return [(s.label, s.id) for s in profile.scopes]


def resolve_scope(text: str, profile: Profile) -> str:
    """A scope id from an id, a label or a name ("高新区" → "zone"); '' for empty; ValueError when unknown."""
    text = (text or "").strip()
    if not text:
        return ""
    if text in profile.scope_ids():
        return text
    by_label = [s.id for s in profile.scopes if text == s.label or text in s.names]
    named = by_label or sorted(profile.scopes_named(text, strong_only=True))
    if len(named) == 1:
        return named[0]
    known = "、".join(f"{s.id}（{s.label}）" for s in profile.scopes)
    raise ValueError(f"不认识的范围「{text}」，可用：{known}")


def resolve_kind(text: str) -> str:
    """'actual' / 'target' / 'forecast' from either spelling ("目标" → "target"); ValueError when unknown."""
    text = (text or "").strip()
    if not text or text in KIND_LABELS:
        return text
    for kind, label in KIND_LABELS.items():
        if text in (label, label + "值"):
            return kind
    raise ValueError(f"不认识的类型「{text}」，可用：actual（实际）、target（目标）、forecast（预测）")


def canonical_metric(text: str, profile: Profile) -> str:
    """The profile's name for `text` ("GDP" → "地区生产总值"), else `text` itself."""
    return profile.metric_of(profile.expand_metrics(text)) or text


# ---------------------------------------------------------------- rows


def period_label(period: str) -> str:
    """How a period reads in Chinese: "2024" → "2024年", "2025前三季度" → "2025年前三季度"; plan periods as named.

    >>> [period_label(p) for p in ("2024", "2025前三季度", "十四五", "")]
    ['2024年', '2025年前三季度', '十四五', '未注明']
    """
    if not period:
        return "未注明"
    m = re.match(r"((?:19|20)\d{2})(.*)$", period)
    return f"{m.group(1)}年{m.group(2)}" if m else period


def magnitude(unit: str, values: Iterable[float]) -> tuple[float, str]:
    """(divisor, unit label) that shows `values` of base `unit` as the documents write them.

    >>> magnitude("元", [96_500_000_000.0, 113_510_000_000.0]), magnitude("%", [6.3])
    ((100000000.0, '亿元'), (1.0, '%'))
    """
    top = max((abs(v) for v in values), default=0.0)
    for factor, label in MAGNITUDES.get(unit, ()):
        if top >= factor:
            return factor, label
    return 1.0, unit


def format_value(value: float) -> str:
    """A value as a plain decimal, without float noise or exponent.

    >>> [format_value(v) for v in (1135.1000000000001, 1e11, 0.00001234, -0.0)]
    ['1135.1', '100000000000', '0.00001234', '0']
    """
    text = format(Decimal(f"{value:.12g}"), "f")  # 12 significant digits: more than any document writes
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("", "-0") else text


def figure_spans(sentence: str, raw: str) -> list[tuple[int, int]]:
    """Where the figure `raw` stands in `sentence` (whole numbers only: "13" never inside "1135.1")."""
    if not raw:
        return []
    spans = [m.span() for m in re.finditer(rf"(?<![\d.]){re.escape(raw)}(?!\.?\d)", sentence)]
    if spans:
        return spans[:1]
    digits = re.search(r"\d+(?:\.\d+)?", raw)  # a table cell's figure: the sentence may write its unit apart
    if digits:
        m = re.search(rf"(?<![\d.]){re.escape(digits.group(0))}(?!\.?\d)", sentence)
        if m:
            return [m.span()]
    return []


def highlight(sentence: str, raw: str) -> str:
    """Escaped `sentence` with the figure `raw` in `<mark class="fig">`."""
    return render._mark_runs(sentence, [(figure_spans(sentence, raw), '<mark class="fig">', "</mark>")])


def document_conflicts(store: FactStore, facts: Sequence[Fact]) -> dict[str, tuple[Fact, ...]]:
    """fact id → the facts of other documents that state another value for the same metric, period, area,
    kind and unit (`FactStore.conflicts`). Values inside one document are kept apart: there they are parts
    of one statement (新增97家、总量856家), not two sources disagreeing — the chat's rule too (`rag.conflict`).
    """
    out: dict[str, tuple[Fact, ...]] = {}
    for group in store.conflicts(facts):
        for f in group:
            rivals = tuple(g for g in group if g.doc != f.doc and round(g.value, 6) != round(f.value, 6))
            if rivals:
                out[f.id] = rivals
    return out


@dataclass(frozen=True)
class FactRow:
    """One row of the table and one point of the chart: a fact as shown."""

    n: int  # 1-based, the 序号 that links a clicked row back to its fact
    fact: Fact
    period_label: str
    value: float  # in `unit` (the magnitude the documents use)
    value_text: str  # qualifier kept: "突破1000"
    unit: str
    kind_label: str
    scope_label: str
    title: str
    sentence_html: str
    rivals: tuple[Fact, ...] = field(default=())


def fact_rows(
    facts: Sequence[Fact],
    conflicts: dict[str, tuple[Fact, ...]] | None = None,
    titles: dict[str, str] | None = None,
    profile: Profile | None = None,
) -> list[FactRow]:
    """Facts (in the caller's order) as rows; every value shown in the same magnitude for one base unit."""
    profile = profile or active()
    conflicts = conflicts or {}
    titles = titles or {}
    scale = {
        unit: magnitude(unit, [f.value for f in facts if f.unit == unit])
        for unit in dict.fromkeys(f.unit for f in facts)
    }
    rows = []
    for n, f in enumerate(facts, 1):
        factor, unit = scale[f.unit]
        value = f.value / factor
        rows.append(
            FactRow(
                n=n,
                fact=f,
                period_label=period_label(f.period),
                value=value,
                value_text=f"{f.qualifier}{'第' if f.figure_kind == 'rank' else ''}{format_value(value)}",
                unit=unit,
                kind_label=COMPUTED_LABEL if f.computed else KIND_LABELS.get(f.kind, f.kind),
                scope_label=profile.scope_label(f.scope) if f.scope in profile.scope_ids() else "未注明",
                title=titles.get(f.doc, "") or f.doc,
                sentence_html=highlight(f.sentence, f.raw),
                rivals=conflicts.get(f.id, ()),
            )
        )
    return rows


def table_rows(rows: Sequence[FactRow]) -> list[list[Any]]:
    """The Dataframe's rows, in `HEADERS` order (原文 is escaped HTML with the figure marked)."""
    return [
        [
            r.n, r.period_label, r.value_text, r.unit, r.kind_label, r.scope_label, r.fact.metric, r.title,
            r.sentence_html, CONFLICT_MARK if r.rivals else "",
        ]
        for r in rows
    ]  # fmt: skip


def chart_unit(rows: Sequence[FactRow]) -> str:
    """The unit the chart draws: the most frequent one (one y axis cannot mix 亿元 and %)."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.unit] = counts.get(r.unit, 0) + 1
    return max(counts, key=lambda u: (counts[u], u != "")) if counts else ""


def plot_frame(rows: Sequence[FactRow], unit: str | None = None) -> pd.DataFrame:
    """One point per fact of the chart's unit: 时期 (category, in period order), 数值, 类型 (the colour) and
    the tooltip's 原文数字 / 文档 / 有冲突 / 序号 (the row it is; 0 on the key rows below).

    Then one key row per kind with no value (never drawn): the browser fixes the colour domain from the data
    it first draws and keeps it across data updates, so every kind must be in every frame for 目标 points to
    get their colour after a metric with only 实际 ones (and the legend always shows the full key).
    """
    unit = chart_unit(rows) if unit is None else unit
    # In time order, as the x axis is (`period_order`): the first period also places the key rows.
    picked = sorted((r for r in rows if r.unit == unit), key=lambda r: period_key(r.fact.period))
    first = picked[0].period_label if picked else ""
    key = list(KIND_COLORS)
    return pd.DataFrame(
        {
            "时期": pd.Series([r.period_label for r in picked] + [first] * len(key), dtype="string"),
            "数值": pd.Series([r.value for r in picked] + [float("nan")] * len(key), dtype="float64"),
            "类型": pd.Series([r.kind_label for r in picked] + key, dtype="string"),
            "原文数字": pd.Series([r.fact.raw for r in picked] + [""] * len(key), dtype="string"),
            "文档": pd.Series([r.title for r in picked] + [""] * len(key), dtype="string"),
            "有冲突": pd.Series(["是" if r.rivals else "否" for r in picked] + [""] * len(key), dtype="string"),
            "序号": pd.Series([r.n for r in picked] + [0] * len(key), dtype="int64"),
        }
    )


def period_order(rows: Sequence[FactRow]) -> list[str]:
    """The chart's x categories in time order (a plan period after the years it ends with)."""
    periods = sorted({r.fact.period for r in rows}, key=period_key)
    return list(dict.fromkeys(period_label(p) for p in periods))


@dataclass(frozen=True)
class SeriesChart:
    """The chat's small chart of a trend answer (`Answer.series`), drawn as the 数据 tab draws its points."""

    frame: pd.DataFrame  # `plot_frame` of the points
    periods: list[str]  # the x categories, in the answer's order
    y_title: str  # 数值（亿元）
    caption: str
    metric: str  # what the 数据 tab is asked for to list every source (metric name, scope id)
    scope: str


def series_chart(
    series: Sequence[Fact], titles: dict[str, str] | None = None, profile: Profile | None = None
) -> SeriesChart | None:
    """The chart of a trend answer's points (in period order, one per period), None when there are none.

    >>> from rag.types import Fact
    >>> def f(v, p):
    ...     return Fact(p, "a.txt", "c", "地区生产总值", "地区生产总值", p, "zone", v * 1e8, "元", f"{v}亿元", "",
    ...                 "actual", "number", "高新区", f"{p}年,高新区地区生产总值{v}亿元。", 0, 0)
    >>> c = series_chart([f(965, "2021"), f(1135.1, "2024")])
    >>> c.periods, c.y_title, list(c.frame["数值"].dropna())
    (['2021年', '2024年'], '数值（亿元）', [965.0, 1135.1])
    >>> series_chart([]) is None
    True
    """
    if not series:
        return None
    profile = profile or active()
    rows = fact_rows(series, titles=titles, profile=profile)
    unit = chart_unit(rows)
    drawn = [r for r in rows if r.unit == unit]
    first = drawn[0].fact
    metric = first.metric_id or first.metric
    where = profile.scope_label(first.scope) if first.scope in profile.scope_ids() else ""
    periods = list(dict.fromkeys(r.period_label for r in drawn))
    caption = " · ".join(x for x in (metric, where, f"{len(periods)} 个时期") if x)
    return SeriesChart(
        frame=plot_frame(drawn, unit),
        periods=periods,
        y_title=f"数值（{unit}）" if unit else "数值",
        caption=caption,
        metric=metric,
        scope=first.scope if where else "",
    )


def csv_text(rows: Sequence[FactRow], metric: str = "") -> str:
    """The table as CSV: plain sentences (no markup), the figure as written, offsets into the source file."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADERS)
    for r in rows:
        f = r.fact
        rivals = "；".join(f"{g.raw}（{g.doc}）" for g in r.rivals)
        w.writerow(
            [
                r.period_label, format_value(r.value), r.unit, f.raw, r.kind_label, r.scope_label,
                f.metric_id or metric, f.metric, r.title, f.doc, f.start, f.end, f.sentence,
                "是" if r.rivals else "", rivals,
            ]
        )  # fmt: skip
    return buf.getvalue()


def conflict_note(rows: Sequence[FactRow]) -> str:
    """A Markdown note listing every disagreement of the table with both sources ('' when none)."""
    seen: set[frozenset[str]] = set()
    lines = []
    for r in rows:
        if not r.rivals:
            continue
        key = frozenset({r.fact.id, *(g.id for g in r.rivals)})
        if key in seen:
            continue
        seen.add(key)
        others = "；".join(f"《{render.esc(g.doc)}》写作 **{render.esc(g.raw)}**" for g in r.rivals)
        lines.append(
            f"- {r.period_label}（{r.scope_label}，{r.kind_label}）：《{render.esc(r.title)}》写作 "
            f"**{render.esc(r.fact.raw)}**；{others}"
        )
    return "⚠️ 以下时期各文档给出的数字不同，请核对原文：\n" + "\n".join(lines) if lines else ""


def fact_card(row: FactRow, chunk: Chunk | None = None, titles: dict[str, str] | None = None) -> str:
    """A source card for one fact, as the chat shows its passages: the passage (or the sentence, when the
    passage is unknown) with the stating sentence marked and figures in bold; then any other document's value."""
    f = row.fact
    titles = titles or {}
    if chunk is not None:
        src = render.Source(
            row.n, f.doc, chunk.title or row.title, chunk.section, chunk.text, chunk.periods, chunk.scope,
            (f.sentence,), True,
        )  # fmt: skip
    else:
        src = render.Source(row.n, f.doc, row.title, "", f.sentence, (f.period,) if f.period else (), f.scope,
                            (f.sentence,), True)  # fmt: skip
    head = (
        f'<p class="fact-head">{render.esc(row.period_label)} · {render.esc(row.scope_label)} · '
        f'{render.esc(row.kind_label)}：<mark class="fig">{render.esc(f.raw)}</mark>'
        f"（{render.esc(f.metric_id or f.metric)}）</p>"
    )
    sentence = f'<p class="fact-sentence">原文：{row.sentence_html}</p>'
    note = ""
    if row.rivals:
        items = "".join(
            f"<li>《{render.esc(titles.get(g.doc) or g.doc)}》（{render.esc(g.doc)}）："
            f"{highlight(g.sentence, g.raw)}</li>"
            for g in row.rivals
        )
        note = f'<div class="conflict-note">⚠️ 其他文档对同一时期、同一范围给出不同的数字：<ul>{items}</ul></div>'
    return f'<div class="fact-card">{head}{sentence}{render.render_source(src, anchor="fact-src")}{note}</div>'


def fact_record(
    f: Fact, title: str = "", rivals: Sequence[Fact] = (), profile: Profile | None = None
) -> dict[str, Any]:
    """One `/facts` API record (JSON-able): what the figure measures, where it stands, and any disagreement."""
    profile = profile or active()
    return {
        "id": f.id,
        "metric": f.metric_id or f.metric,
        "metric_words": f.metric,
        "period": f.period,
        "scope": f.scope,
        "scope_label": profile.scope_label(f.scope),
        "value": f.value,
        "unit": f.unit,
        "raw": f.raw,
        "qualifier": f.qualifier,
        "kind": f.kind,
        "computed": f.computed,
        "doc": f.doc,
        "title": title,
        "start": f.start,
        "end": f.end,
        "sentence": f.sentence,
        "chunk_id": f.chunk_id,
        "conflicts": [g.id for g in rivals],
    }


# ---------------------------------------------------------------- service


@dataclass(frozen=True)
class Loaded:
    """The index's facts with what the tab shows beside them."""

    store: FactStore
    chunks: dict[str, Chunk]
    titles: dict[str, str]
    by_id: dict[str, Fact]


class DataError(Exception):
    """A Chinese message for the user (bad input, no index); the tab shows it, the API raises it."""


class DataService:
    """The loaded facts for the 数据 tab and the `/facts` API, reloaded when the index's generation changes
    (an upload in 文档 makes a new one). It reads the index files only, never the embedding model."""

    def __init__(self, settings: Settings, loaded: Loaded | None = None) -> None:
        self.settings = settings
        self._loaded = loaded
        self._key: str | None = "given" if loaded is not None else None
        self._lock = threading.Lock()
        self._csv_dir: Path | None = None  # made on the first export, so idle services leave no temp dirs

    @classmethod
    def from_facts(cls, settings: Settings, facts: Iterable[Fact], chunks: Iterable[Chunk] = ()) -> DataService:
        chunks = tuple(chunks)
        titles = {c.doc: c.title for c in chunks if c.title}
        store = FactStore(facts)
        return cls(settings, Loaded(store, {c.id: c for c in chunks}, titles, {f.id: f for f in store.facts}))

    def _generation(self) -> str:
        cur = self.settings.index_dir / "CURRENT"  # the index's atomic pointer to its live generation
        return cur.read_text(encoding="utf-8").strip() if cur.is_file() else ""

    def loaded(self) -> Loaded:
        from rag import index as index_mod

        with self._lock:
            if self._key == "given" and self._loaded is not None:
                return self._loaded
            key = self._generation()
            if self._loaded is not None and key == self._key:
                return self._loaded
            if not key:
                raise DataError(NO_INDEX)
            activate(self.settings.profile)  # facts are read with the vocabulary the index was built with
            try:
                # Checksums and staleness are the chat's concern: a stale index still states what it states.
                data = index_mod.load(self.settings, verify=False, check_stale=False)
            except index_mod.IndexUnusable as e:
                raise DataError(NO_INDEX) from e
            titles = {doc: str(info.get("title") or "") for doc, info in (data.manifest.get("docs") or {}).items()}
            store = FactStore(data.facts)
            self._loaded = Loaded(store, {c.id: c for c in data.chunks}, titles, {f.id: f for f in store.facts})
            self._key = key
            return self._loaded

    # -- queries --------------------------------------------------------------
    def series_rows(self, metric: str, scope: str) -> list[FactRow]:
        """The tab's rows: one metric for one area in period order (`FactStore.series`), conflicts marked."""
        metric = clean_metric(metric)
        ld = self.loaded()
        facts = ld.store.series(metric, scope)
        return fact_rows(facts, document_conflicts(ld.store, facts), ld.titles)

    def records(self, metric: str = "", scope: str = "", period: str = "", kind: str = "") -> list[dict[str, Any]]:
        """The `/facts` API: every fact matching, in period order (as `gaoxin facts` and `rag.facts`)."""
        profile = active()
        metric = (metric or "").strip()
        if len(metric) > MAX_METRIC_CHARS:
            raise DataError(f"指标名称过长（超过 {MAX_METRIC_CHARS} 个字）。")
        try:
            scope_id, kind_id = resolve_scope(scope, profile), resolve_kind(kind)
        except ValueError as e:
            raise DataError(str(e)) from e
        ld = self.loaded()
        found = sorted(
            ld.store.select(metric, scope_id, (period or "").strip(), kind_id),
            key=lambda f: (period_key(f.period), f.doc, f.start),
        )
        rivals = document_conflicts(ld.store, found)
        return [fact_record(f, ld.titles.get(f.doc, ""), rivals.get(f.id, ()), profile) for f in found]

    def card(self, fact_id: str, n: int = 1) -> str:
        """The source card of one fact (by id), its conflicts included."""
        ld = self.loaded()
        f = ld.by_id.get(fact_id)
        if f is None:
            return PICK_HINT
        rivals = document_conflicts(ld.store, ld.store.select(f.metric_id or f.metric, f.scope, f.period))
        row = dataclasses.replace(fact_rows([f], {f.id: rivals.get(f.id, ())}, ld.titles)[0], n=n)
        return fact_card(row, ld.chunks.get(f.chunk_id), ld.titles)

    def write_csv(self, rows: Sequence[FactRow], metric: str, scope: str) -> str:
        with self._lock:
            if self._csv_dir is None:
                self._csv_dir = Path(tempfile.mkdtemp(prefix="gaoxin-facts-"))
        safe = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", f"{metric}-{scope}")[:60]
        path = self._csv_dir / f"数据-{safe}-{datetime.now():%Y%m%d-%H%M%S-%f}.csv"
        # utf-8-sig: Excel, which most staff open CSVs with, reads Chinese correctly only with a BOM.
        path.write_text(csv_text(rows, metric), encoding="utf-8-sig")
        return str(path)

    # -- UI handlers ----------------------------------------------------------
    def show(self, metric: str, scope: str) -> tuple[Any, ...]:
        """(message, plot, table, conflicts note, card, fact ids, CSV button, chart layout) for one metric and area."""
        try:
            metric = clean_metric(metric)
            if not metric:
                return _blank(EMPTY_METRIC)
            profile = active()
            scope = resolve_scope(scope, profile) or (profile.scope_ids() or ("",))[0]
            rows = self.series_rows(metric, scope)
        except (DataError, ValueError) as e:
            return _blank(f"⚠️ {e}")
        except Exception as e:  # the tab must keep working whatever the index holds
            log.error("data tab failed: %s\n%s", e, traceback.format_exc())
            return _blank(f"⚠️ 读取数据时出错（{type(e).__name__}），请稍后重试。")
        name = canonical_metric(metric, profile)
        where = profile.scope_label(scope)
        if not rows:
            return _blank(self._missing(metric, name, scope, where))
        unit = chart_unit(rows)
        frame = plot_frame(rows, unit)
        left_out = sorted({r.unit or "无单位" for r in rows if r.unit != unit})
        periods = period_order(rows)
        msg = (
            f"**{render.esc(name)}** · {render.esc(where)}：{len(rows)} 个数字，涉及 {len(periods)} 个时期"
            f"（{'、'.join(periods)}）。颜色区分实际值与目标值；点击表格中的一行查看原文。"
        )
        if left_out:
            msg += f"\n\n图中只画出单位为「{unit}」的数字；单位为「{'、'.join(left_out)}」的见表格。"
        # Only the data changes here; caption and period order follow in a second step (`redraw`): the browser
        # redraws a plot whose settings change together with its data from the old data, and leaves it blank.
        points = int(frame["数值"].notna().sum())
        caption = f"{name} · {where}" + (f"（单位：{unit}）" if unit else "") + f" · {points} 个点"
        csv_btn = gr.DownloadButton(value=self.write_csv(rows, name, where), interactive=True)
        ids = [r.fact.id for r in rows]
        plot = gr.ScatterPlot(value=frame)
        layout = {"caption": caption, "sort": period_order([r for r in rows if r.unit == unit])}
        return msg, plot, table_rows(rows), conflict_note(rows), PICK_HINT, ids, csv_btn, layout

    def _missing(self, metric: str, name: str, scope: str, where: str) -> str:
        """Why nothing is shown, and where the metric does have figures."""
        store = self.loaded().store
        elsewhere = []
        for sid in active().scope_ids():
            if sid != scope:
                n = len(store.series(metric, sid))
                if n:
                    elsewhere.append(f"{active().scope_label(sid)}（{n} 个）")
        msg = f"资料中没有找到「{render.esc(name)}」在{render.esc(where)}的数字。"
        if elsewhere:
            msg += f"可以换个范围：{'、'.join(elsewhere)}。"
        else:
            msg += "请换个指标名称，或从下拉列表中选择。"
        return msg

    def pick_row(self, ids: Sequence[str], evt: gr.SelectData) -> str:
        """The card of the clicked table row (found by its 序号, so a re-sorted table still links right)."""
        try:
            row = evt.row_value if evt.row_value is not None else None
            n = int(row[0]) if row else int(evt.index[0]) + 1
            if not 1 <= n <= len(ids):
                return PICK_HINT
            return self.card(ids[n - 1], n)
        except Exception as e:
            log.error("data row pick failed: %s\n%s", e, traceback.format_exc())
            return f'<div class="fact-card">⚠️ 无法显示出处（{render.esc(type(e).__name__)}）。</div>'

    def pick_points(self, ids: Sequence[str], evt: gr.SelectData) -> str:
        """The cards of the points in the periods brushed on the chart (a range of categories or of positions)."""
        try:
            ld = self.loaded()
            facts = [ld.by_id[i] for i in ids if i in ld.by_id]
            chosen = selected_periods(evt.index, [period_label(f.period) for f in facts])
            cards = [self.card(f.id, n) for n, f in enumerate(facts, 1) if period_label(f.period) in chosen]
            return "".join(cards) or PICK_HINT
        except Exception as e:
            log.error("data point pick failed: %s\n%s", e, traceback.format_exc())
            return f'<div class="fact-card">⚠️ 无法显示出处（{render.esc(type(e).__name__)}）。</div>'

    def metric_update(self) -> Any:
        """The metric box's choices once the facts are loaded (the profile's alone before)."""
        try:
            facts = self.loaded().store.facts
        except DataError:
            facts = ()
        return gr.Dropdown(choices=metric_choices(active(), facts))


def _blank(message: str) -> tuple[Any, ...]:
    """`DataService.show`'s outputs when there is nothing to draw: the message, everything else emptied."""
    no_csv = gr.DownloadButton(value=None, interactive=False)
    return message, gr.ScatterPlot(value=plot_frame([])), [], "", PICK_HINT, [], no_csv, {}


def clean_metric(text: Any) -> str:
    """The metric the user typed, trimmed; DataError when it cannot be a metric name."""
    text = re.sub(r"[\x00-\x1f\x7f\s]+", " ", str(text or "")).strip()
    if len(text) > MAX_METRIC_CHARS:
        raise DataError(f"指标名称过长（超过 {MAX_METRIC_CHARS} 个字），请输入一个指标名称，例如「地区生产总值」。")
    return text


def selected_periods(index: Any, labels: Sequence[str]) -> set[str]:
    """The period labels a chart selection covers: a list of categories, or a [from, to] pair of them.

    >>> sorted(selected_periods(["2021年", "2024年"], ["2021年", "2022年", "2024年"]))
    ['2021年', '2022年', '2024年']
    """
    order = list(dict.fromkeys(labels))
    picked = [x for x in (index if isinstance(index, list | tuple) else [index]) if x in order]
    if len(picked) == 2:
        a, b = sorted(order.index(x) for x in picked)
        return set(order[a : b + 1])
    return set(picked)


# ---------------------------------------------------------------- the tab


def redraw(layout: dict[str, Any] | None) -> Any:
    """The plot's caption and period order, set after its data: a changed setting makes the browser lay the
    chart out again, now around the new data (axis labels and legend sized to it). The order is explicit
    because categories otherwise sort as text (十三五 after 2025年)."""
    layout = layout or {}
    return gr.ScatterPlot(caption=layout.get("caption") or None, sort=layout.get("sort") or None)


@dataclass
class DataTab:
    """The tab's components (tests and the app reach them through this)."""

    metric: gr.Dropdown
    scope: gr.Dropdown
    message: gr.Markdown
    plot: gr.ScatterPlot
    table: gr.Dataframe
    conflicts: gr.Markdown
    card: gr.HTML
    ids: gr.State
    csv: gr.DownloadButton


def build_data_tab(svc: DataService, demo: gr.Blocks, tab: gr.Tab, default_metric: str = "") -> DataTab:
    """The 数据 tab's components and events, inside the caller's `tab`. The series is drawn when the tab is
    opened, not when the page loads: a plot updated while its tab is hidden stays blank in the browser."""
    private = {"api_visibility": "private"}
    profile = active()
    first = (profile.metrics[0][0] if profile.metrics else "") if not default_metric else default_metric
    gr.Markdown("选择一个指标和范围，查看资料中各时期的数字：图中颜色区分实际值与目标值，表格列出每个数字的原文出处。")
    with gr.Row():
        metric = gr.Dropdown(
            metric_choices(profile), value=first or None, label="指标", elem_id="data-metric", filterable=True,
            allow_custom_value=True, info="可输入名称或简称搜索，例如 GDP、高企", scale=3,
        )  # fmt: skip
        scope = gr.Dropdown(
            scope_choices(profile), value=(profile.scope_ids() or (None,))[0], label="范围", elem_id="data-scope",
            scale=2,
        )  # fmt: skip
        show = gr.Button("显示", variant="primary", elem_id="data-show", scale=1)
    message = gr.Markdown(elem_id="data-msg")
    with gr.Row():
        with gr.Column(scale=2):
            plot = gr.ScatterPlot(
                value=plot_frame([]), x="时期", y="数值", color="类型", color_map=KIND_COLORS, x_title="时期",
                y_title="数值", color_title="类型", tooltip=["原文数字", "文档", "有冲突"],
                elem_id="data-plot", label="各时期数值", show_label=True,
            )  # fmt: skip
            card = gr.HTML(PICK_HINT, elem_id="data-source", label="原文出处")
        with gr.Column(scale=3):
            table = gr.Dataframe(
                headers=HEADERS, datatype=DATATYPES, interactive=False, wrap=True, elem_id="data-table",
                column_widths=["5%", "9%", "10%", "6%", "6%", "8%", "11%", "13%", "25%", "7%"], max_height=560,
            )  # fmt: skip
            conflicts = gr.Markdown(elem_id="data-conflicts")
            csv_btn = gr.DownloadButton("导出 CSV", interactive=False, elem_id="data-csv", size="sm")
    ids = gr.State([])

    layout = gr.State({})
    outputs = [message, plot, table, conflicts, card, ids, csv_btn, layout]
    # One at a time, in order, and a choice made while the previous one is drawn is drawn after it (Gradio
    # drops it otherwise): picking an area while the tab first loads must not leave the default area shown.
    serial = {"concurrency_id": "data-tab", "concurrency_limit": 1, **private}
    triggers = [show.click, metric.input, scope.input, tab.select]
    drawn = gr.on(triggers, svc.show, [metric, scope], outputs, trigger_mode="always_last", **serial)
    drawn.then(redraw, layout, plot, queue=False, **private)
    table.select(svc.pick_row, ids, card, **serial)
    plot.select(svc.pick_points, ids, card, **serial)
    demo.load(svc.metric_update, None, metric, queue=False, **private)
    return DataTab(metric, scope, message, plot, table, conflicts, card, ids, csv_btn)
