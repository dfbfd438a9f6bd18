"""Figures in Chinese text: find them, normalise them, compare them unit-aware.

Everything the verifier decides about numbers rests on this module, so amounts are
normalised to a canonical unit (亿/万/千 folded into the value) and equal amounts
compare equal however they are written:

>>> [(f.raw, f.value, f.unit, f.kind) for f in extract_figures("地区生产总值1135.1亿元,同比增长6.3%")]
[('1135.1亿元', 113510000000.0, '元', 'number'), ('6.3%', 6.3, '%', 'percent')]
>>> same_figure(extract_figures("1135.1亿元")[0], extract_figures("11351000万元")[0])
True
>>> [(f.raw, f.kind) for f in extract_figures("2024年位居第31名，＞4000家，约1/4")]
[('2024年', 'year'), ('第31名', 'rank'), ('＞4000家', 'comparison'), ('1/4', 'ratio')]

A year written without 年 before a name ("2022春运", "2022北京冬奥会") is a year, not an amount:
>>> [(f.raw, f.kind) for f in extract_figures("2022春运，2000多家")]
[('2022', 'year'), ('2000', 'number')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from rag.types import Figure

# Full-width digits and signs → ASCII, one char for one char so spans stay valid.
_FULL = str.maketrans("０１２３４５６７８９．％／，＞＜＋－：", "0123456789.%/,><+-:")

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_MAGNITUDE = {
    "万亿": Decimal(10**12),
    "千亿": Decimal(10**11),
    "百亿": Decimal(10**10),
    "亿": Decimal(10**8),
    "千万": Decimal(10**7),
    "百万": Decimal(10**6),
    "万": Decimal(10**4),
}

# Counting units, longest first so "个百分点" wins over "个". Several spellings map to one canonical unit.
_UNIT_ALIASES = {
    "个百分点": "百分点",
    "百分点": "百分点",
    "平方公里": "平方公里",
    "平方米": "平方米",
    "平米": "平方米",
    "美元": "美元",
    "元": "元",
    "公里": "公里",
    "千米": "公里",
    "米": "米",
    "亩": "亩",
    "吨": "吨",
    "GWh": "GWh",
    "MWh": "MWh",
    "兆瓦时": "MWh",
    "kWh": "千瓦时",
    "千瓦时": "千瓦时",
    "千瓦": "kW",
    "立方米": "立方米",
    "GW": "GW",
    "MW": "MW",
    "兆瓦": "MW",
    "kW": "kW",
    "nm": "nm",
    "个": "个",
    "家": "家",
    "项": "项",
    "件": "件",
    "名": "人",  # a head-count ("500名技术经纪人"); ranks are caught earlier by 第…名
    "位": "人",
    "人次": "人次",
    "人": "人",
    "台": "台",
    "套": "套",
    "次": "次",
    "倍": "倍",
    "种": "种",
    "条": "条",
    "座": "座",
    "所": "所",
    "批": "批",
    "款": "款",
    "栋": "栋",
    "层": "层",
    "户": "户",
    "辆": "辆",
    # Counters for beds, tickets, venues, vehicles, containers, land (all general Chinese, no corpus word).
    "张": "张",
    "份": "份",
    "架次": "架次",
    "架": "架",
    "艘": "艘",
    "处": "处",
    "间": "间",
    "场": "场",
    "列": "列",
    "部": "部",
    "支": "支",
    "株": "株",
    "棵": "棵",
    "标箱": "标箱",
    "吨公里": "吨公里",
    "公斤": "公斤",
    "千克": "公斤",
    "公顷": "公顷",
    # Concentrations and loudness, as environment bulletins state them.
    "微克/立方米": "微克/立方米",
    "毫克/立方米": "毫克/立方米",
    "毫克/升": "毫克/升",
    "分贝": "分贝",
    "篇": "篇",
    "届": "届",
    "期": "期",
    "岁": "岁",
    "天": "天",
    "小时": "小时",
    "分钟": "分钟",
    "秒钟": "秒",
    "秒": "秒",
    "周年": "年",
    "年": "年",
    "个月": "月",
    "月": "月",
    "日": "日",
    "大": "大",  # "两大主导产业", "三大核心要素"
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(_UNIT_ALIASES, key=len, reverse=True))
_MAG_RE = "万亿|千亿|百亿|亿|千万|百万|万"
_OP_RE = r"[<>≥≤]=?|超过|超|逾|突破|近|约|不低于|不少于|不到|低于"

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_NUM = r"[零〇一二两三四五六七八九十百千]+"

# Order matters: the first alternative that matches at a position wins.
_PATTERN = re.compile(
    rf"""
    (?P<year>(?<![\d.])(?P<y>(?:19|20)\d{{2}})(?:年|(?=\s*(?:年|[-—~至到]\s*(?:19|20)\d{{2}}\s*年))
        |(?![\d.])(?=[\u4e00-\u9fff])(?!{_UNIT_RE}|{_MAG_RE}|[多余来几个]))
    )
  | (?P<year2>(?<![\d.近约了用过多数满第])(?P<y2>[23]\d)年(?![\d来间内后的]))
  | (?P<cnyear>(?P<cy>[〇零一二三四五六七八九]{{4}})年)
  | (?P<rank>第\s*(?P<rank_n>\d+|{_CN_NUM})\s*(?P<rank_u>名|位|批|届|次|个|家)?)
  | (?P<pct_cn>百分之\s*(?P<pct_n>{_NUM}|{_CN_NUM}))
  | (?P<cnratio>(?P<den>{_CN_NUM})分之(?P<numr>{_CN_NUM}))
  | (?P<ratio>(?<![\d./])(?P<a>\d+)\s*/\s*(?P<b>\d+)(?![\d./]))
  | (?P<num>(?:(?P<op>[<>≥≤]=?)\s*)?(?<![A-Za-z0-9_.])(?P<n>{_NUM})\s*(?:个(?=亿|万))?
           (?P<mag>{_MAG_RE})?\s*(?P<unit>%|‰|{_UNIT_RE})?)
  | (?P<cn>(?<![零〇一二两三四五六七八九十百千万亿数几上])(?P<cn_n>{_CN_NUM})
           (?:个(?=亿|万))?
           (?:(?P<cn_mag>{_MAG_RE})?(?P<cn_unit>{_UNIT_RE})|(?P<cn_yi>亿)(?!级|[\u4e00-\u9fff]*?[元人件])))
    """,
    re.VERBOSE,
)
_OP_BEFORE = re.compile(rf"(?:{_OP_RE})\s*$")
_MONTH_RANGE = re.compile(r"(?<![\d.])(?:1[0-2]|[1-9])\s*月?\s*(?:[-—–~]|至|到)\s*(?:1[0-2]|[1-9])\s*月")


def normalize_digits(text: str) -> str:
    """Full-width digits and signs → ASCII (same length, so spans still index the original).

    >>> normalize_digits("１２３．５％")
    '123.5%'
    """
    return text.translate(_FULL)


def cn_to_int(s: str) -> int | None:
    """Small Chinese numerals (< 10000) → int; None when `s` is not one.

    >>> [cn_to_int(x) for x in ("十", "三十二", "两", "一百零五", "二〇三五", "千")]
    [10, 32, 2, 105, 2035, 1000]
    """
    if not s:
        return None
    if all(ch in _CN_DIGITS for ch in s):
        if len(s) == 1:
            return _CN_DIGITS[s]
        # Digit-by-digit spelling is only used for years (二〇三五); "四五" in "十四五" is a plan's name.
        return int("".join(str(_CN_DIGITS[ch]) for ch in s)) if len(s) == 4 else None
    total, digit = 0, None
    for ch in s:
        if ch in _CN_DIGITS:
            if digit:  # two digits in a row ("十四五"): a name, not a number
                return None
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _num(s: str, magnitude: str = "") -> float:
    # Decimal arithmetic so 1135.1亿 is exactly 113510000000.0, not 113509999999.99998.
    return float(Decimal(s.replace(",", "")) * _MAGNITUDE.get(magnitude, 1))


def _op_before(text: str, start: int) -> str:
    m = _OP_BEFORE.search(text[max(0, start - 4) : start])
    return m.group(0).strip() if m else ""


def extract_figures(text: str) -> list[Figure]:
    """Every figure in `text`, in order, with spans into `text`.

    >>> [(f.raw, f.value, f.unit) for f in extract_figures("年产能50万台，32个项目，近10个百分点")]
    [('50万台', 500000.0, '台'), ('32个', 32.0, '个'), ('10个百分点', 10.0, '百分点')]
    >>> [(f.raw, f.value) for f in extract_figures("突破千亿元级大关")]
    [('千亿元', 100000000000.0)]
    >>> [f.raw for f in extract_figures("2026年1—9月，完成投资139.8亿元")]
    ['2026年', '139.8亿元']
    """
    norm = normalize_digits(text)
    # "1—9月", "1到10月份": the months a figure covers, a period, not two figures.
    ranges = [(r.start(), r.end()) for r in _MONTH_RANGE.finditer(norm)]
    out: list[Figure] = []
    for m in _PATTERN.finditer(norm):
        fig = _figure(norm, m)
        if fig is not None and any(a <= fig.start < b for a, b in ranges):
            continue
        if fig is not None:
            out.append(Figure(text[fig.start : fig.end], fig.value, fig.unit, fig.start, fig.end, fig.kind, fig.op))
    return out


def _figure(text: str, m: re.Match[str]) -> Figure | None:
    g = m.groupdict()
    start, end = m.start(), m.end()
    raw = text[start:end]
    if g["year"]:
        return Figure(raw, float(g["y"]), "年", start, end, "year")
    if g["year2"]:
        # "24年" is how people type 2024年 (only 20-39: "15年" is more often a duration).
        return Figure(raw, 2000.0 + int(g["y2"]), "年", start, end, "year")
    if g["cnyear"]:
        y = cn_to_int(g["cy"])
        return Figure(raw, float(y), "年", start, end, "year") if y and 1900 <= y <= 2100 else None
    if g["rank"]:
        n = g["rank_n"]
        value = float(n) if n.isdigit() else cn_to_int(n)
        if value is None:
            return None
        if not n.isdigit() and not g["rank_u"]:
            return None  # "第一方阵", "第一时间": ordinal words, not rankings
        unit = "名" if (g["rank_u"] or "名") in ("名", "位") else g["rank_u"]
        return Figure(raw, float(value), unit, start, end, "rank")
    if g["pct_cn"]:
        n = g["pct_n"]
        value = _num(n) if n[0].isdigit() else cn_to_int(n)
        return None if value is None else Figure(raw, float(value), "%", start, end, "percent", _op_before(text, start))
    if g["cnratio"]:
        den, numr = cn_to_int(g["den"]), cn_to_int(g["numr"])
        if not den or numr is None:
            return None
        return Figure(raw, numr / den, "", start, end, "ratio")
    if g["ratio"]:
        a, b = int(g["a"]), int(g["b"])
        return Figure(raw, a / b, "", start, end, "ratio") if b else None
    if g["num"]:
        return _arabic(text, m, start, end)
    if g["cn"]:
        value = cn_to_int(g["cn_n"])
        # A lone 一 is an article far more often than a count ("一批", "一个平台"), and a lone 千/百
        # without a magnitude is idiom ("千方百计"): neither is a figure worth checking.
        if value is None or value == 1 or (g["cn_n"] in ("千", "百", "十") and not (g["cn_mag"] or g["cn_yi"])):
            return None
        if g["cn_unit"] == "位" and text[end : end + 1] == "数":
            return None  # "两位数增长": double digits, not two of anything
        # "过千亿", "破百亿": hundreds of millions named by magnitude alone, the unit left to the context.
        value = float(value * _MAGNITUDE.get(g["cn_mag"] or g["cn_yi"] or "", 1))
        unit = _UNIT_ALIASES[g["cn_unit"]] if g["cn_unit"] else ""
        return Figure(raw, float(value), unit, start, end, "number", _op_before(text, start))
    return None


def _arabic(text: str, m: re.Match[str], start: int, end: int) -> Figure | None:
    n, mag, unit = m.group("n"), m.group("mag"), m.group("unit")
    # Digits glued to Latin letters are names, not figures: 5G, A4, IEC61215, H股.
    before = text[m.start("n") - 1] if m.start("n") > 0 else ""
    after = text[end] if end < len(text) else ""
    if (before.isascii() and before.isalpha()) or (not unit and after.isascii() and after.isalpha()):
        return None
    if not unit and before in "[【［" and after in "]】］" and before and after:
        return None  # a citation marker "[1]", not a figure
    # Trailing spaces belong to nobody: shrink the span back to the last real character.
    while end > start and text[end - 1].isspace():
        end -= 1
    op = m.group("op") or _op_before(text, start)
    value = _num(n, mag or "")
    if unit in ("%", "‰"):
        return Figure(text[start:end], value, unit, start, end, "percent", op)
    canon = _UNIT_ALIASES.get(unit or "", "")
    if canon == "百分点":
        return Figure(text[start:end], value, "百分点", start, end, "percent", op)
    kind = "comparison" if m.group("op") else "number"
    return Figure(text[start:end], value, canon, start, end, kind, op)


_CLASSES = {"number": "n", "comparison": "n", "percent": "p", "year": "y", "rank": "r", "ratio": "q"}


def same_figure(a: Figure, b: Figure) -> bool:
    """Same amount in the same unit (magnitudes already folded in); a bare number matches any unit.

    >>> f = extract_figures
    >>> same_figure(f("175.1亿元")[0], f("1751000万元")[0]), same_figure(f("6.3%")[0], f("6.3个百分点")[0])
    (True, False)
    >>> same_figure(f("第31位")[0], f("第31名")[0]), same_figure(f("2024年")[0], f("2024件")[0])
    (True, False)
    >>> same_figure(f("10个车站")[0], f("10座车站")[0]), same_figure(f("10个")[0], f("10亿元")[0])
    (True, False)
    """
    if _CLASSES[a.kind] != _CLASSES[b.kind]:
        return False
    if not same_unit(a.unit, b.unit):
        return False
    return _close(a.value, b.value)


# 个 is the classifier any counted thing takes in speech: "10个车站" restates "10座车站", "3个项目" "3项项目".
_COUNT_CLASSIFIERS = frozenset("个座家项名位所条台辆部艘架栋只头匹间处种款支批届次场人件")


def same_unit(a: str, b: str) -> bool:
    """Units two figures can be compared in: equal, one unstated, or 个 for any counted thing ("600个研发人员")."""
    return a == b or not a or not b or ("个" in (a, b) and a in _COUNT_CLASSIFIERS and b in _COUNT_CLASSIFIERS)


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def find_figure(fig: Figure, candidates: Iterable[Figure]) -> list[Figure]:
    """The candidates that state the same figure as `fig`."""
    return [c for c in candidates if same_figure(fig, c)]
